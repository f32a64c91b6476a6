/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * model.h - an in-memory reference filesystem with Linux semantics (as root):
 * the oracle the model and crash tests compare pmfs2 against.  Every call
 * returns what the same call of the in-process host (zusd/inproc.h) must
 * return, errno included.
 */
#ifndef TESTS_MODEL_H
#define TESTS_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

struct mxattr {
	char *name;
	unsigned char *val;
	size_t len;
};

struct mdirent;

struct mnode {
	uint64_t id;			/* creation order, 1 = root */
	uint32_t mode;
	uint32_t nlink;
	uint32_t uid, gid;
	unsigned int opens;
	bool tmpfile;			/* O_TMPFILE, never linked */
	/* regular file */
	unsigned char *data;
	uint64_t size, cap;
	/* symlink */
	char *target;
	/* directory */
	struct mdirent *ents;
	size_t nents, entcap;
	struct mnode *parent;
	/* xattrs */
	struct mxattr *xa;
	size_t nxa;
	/* times the model knows (set by utimens, lost on change) */
	bool atime_known, mtime_known;
	struct timespec atime, mtime;
};

struct mdirent {
	char *name;
	struct mnode *node;
};

#define MODEL_MAX_HANDLES 16

struct mhandle {
	struct mnode *node;
	int flags;
	bool used;
};

struct model {
	struct mnode *root;
	struct mnode **nodes;		/* by id; NULL once freed */
	size_t nnodes, nodecap;
	uint64_t live;			/* inodes in use */
	uint64_t data_bytes;		/* sum of file sizes */
	struct mhandle h[MODEL_MAX_HANDLES];
	mode_t umask;
};

struct mstat {
	uint64_t id;
	uint32_t mode, nlink, uid, gid;
	uint64_t size;
};

struct model *model_new(uint32_t root_mode);
void model_free(struct model *m);
struct mnode *model_node(const struct model *m, uint64_t id);
/* Sorted entry index of name in dir, or -1 */
long model_dir_find(const struct mnode *dir, const char *name);

/* Calls; the same signatures and results as zus_inproc_* */
int model_open(struct model *m, const char *path, int flags, mode_t mode);
int model_close(struct model *m, int hd);
ssize_t model_pread(struct model *m, int hd, void *buf, size_t len, off_t off);
ssize_t model_pwrite(struct model *m, int hd, const void *buf, size_t len,
		     off_t off);
int model_fstat(struct model *m, int hd, struct mstat *st);
int model_ftruncate(struct model *m, int hd, off_t len);
int model_fallocate(struct model *m, int hd, int mode, off_t off, off_t len);
int model_linkfd(struct model *m, int hd, const char *newpath);
int model_mkdir(struct model *m, const char *path, mode_t mode);
int model_rmdir(struct model *m, const char *path);
int model_unlink(struct model *m, const char *path);
int model_rename(struct model *m, const char *oldpath, const char *newpath,
		 unsigned int flags);
int model_link(struct model *m, const char *oldpath, const char *newpath);
int model_symlink(struct model *m, const char *target, const char *linkpath);
ssize_t model_readlink(struct model *m, const char *path, char *buf,
		       size_t size);
int model_stat(struct model *m, const char *path, struct mstat *st,
	       bool follow);
int model_chmod(struct model *m, const char *path, mode_t mode);
int model_utimens(struct model *m, const char *path,
		  const struct timespec ts[2], bool follow);
int model_truncate(struct model *m, const char *path, off_t len);
ssize_t model_getxattr(struct model *m, const char *path, const char *name,
		       void *value, size_t size);
int model_setxattr(struct model *m, const char *path, const char *name,
		   const void *value, size_t size, int flags);
ssize_t model_listxattr(struct model *m, const char *path, char *list,
			size_t size);
int model_removexattr(struct model *m, const char *path, const char *name);

/* A read of a file or directory through a path (atime may change). */
void model_touch_atime(struct model *m, struct mnode *n);

#endif /* TESTS_MODEL_H */
