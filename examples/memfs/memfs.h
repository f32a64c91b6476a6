/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * memfs.h - an example zufs filesystem plugin that keeps everything in
 * memory, built against the installed SDK alone (<zufs/zus.h>).
 *
 * Inodes live in a table indexed by inode number: a handle the host holds
 * is that number, never a pointer.  One mutex serialises every operation;
 * the host calls from several threads.  Nothing survives the unmount.
 */
#ifndef MEMFS_H
#define MEMFS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <zufs/zus.h>

#define MEMFS_BLOCK_SHIFT	12
#define MEMFS_BLOCK_SIZE	(1u << MEMFS_BLOCK_SHIFT)
#define MEMFS_ROOT_INO		1
#define MEMFS_LINK_MAX		65000
/* a file's block table is one array: keep it small */
#define MEMFS_MAX_FILE_SIZE	(16ull << 30)

struct memfs_dirent {
	char *name;		/* NULL: a free slot */
	size_t len;
	uint64_t ino;
};

struct memfs_xattr {
	char *name;
	void *value;
	size_t size;
};

struct memfs_inode {
	struct zus_attr attr;	/* what getattr returns, kept current */
	uint64_t parent;	/* directories: for ".." */
	uint8_t **blk;		/* regular files: block i, or NULL for a hole */
	uint64_t nblk;
	/* directories: slots never move, so slot i is readdir cookie i + 3 */
	struct memfs_dirent *ents;
	size_t nents, nlive;
	char *target;		/* symlinks */
	struct memfs_xattr *xattrs;
	size_t nxattrs;
};

struct memfs_sb {
	pthread_mutex_t lock;		/* held by every operation */
	struct zus_sb *zsb;
	struct memfs_inode **inodes;	/* by inode number; NULL: free */
	uint64_t ninodes;		/* entries in inodes */
	uint64_t files, max_files;
	uint64_t blocks, max_blocks;	/* data blocks in use, capacity */
	uint64_t next_gen;
	bool readonly;
};

static inline struct memfs_sb *memfs_lock(struct zus_sb *zsb)
{
	struct memfs_sb *m = zsb->fs_private;

	pthread_mutex_lock(&m->lock);
	return m;
}

static inline void memfs_unlock(struct memfs_sb *m)
{
	pthread_mutex_unlock(&m->lock);
}

static inline unsigned int memfs_dtype(uint32_t mode)
{
	return (mode & S_IFMT) >> 12;	/* DT_* are S_IF* >> 12 */
}

/* super.c */
void memfs_log(struct memfs_sb *m, int prio, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* inode.c */
void memfs_now(struct zus_time *t);
void memfs_touch(struct memfs_inode *in, bool mtime);
struct memfs_inode *memfs_iget(struct memfs_sb *m, uint64_t ino);
int memfs_new_inode(struct memfs_sb *m, uint32_t mode,
		    const struct zus_creds *cr, struct memfs_inode **out);
void memfs_free_inode(struct memfs_sb *m, struct memfs_inode *in);
int memfs_getattr(struct zus_sb *zsb, uint64_t ino, struct zus_attr *out);
int memfs_setattr(struct zus_sb *zsb, uint64_t ino,
		  const struct zus_setattr *sa, struct zus_attr *out);
void memfs_evict(struct zus_sb *zsb, uint64_t ino);

/* dir.c */
int memfs_lookup(struct zus_sb *zsb, uint64_t dir, const char *name,
		 size_t len, struct zus_attr *out);
int memfs_create(struct zus_sb *zsb, uint64_t dir, const char *name,
		 size_t len, uint32_t mode, uint32_t rdev,
		 const struct zus_creds *cr, struct zus_attr *out);
int memfs_mkdir(struct zus_sb *zsb, uint64_t dir, const char *name,
		size_t len, uint32_t mode, const struct zus_creds *cr,
		struct zus_attr *out);
int memfs_symlink(struct zus_sb *zsb, uint64_t dir, const char *name,
		  size_t len, const char *target, const struct zus_creds *cr,
		  struct zus_attr *out);
int memfs_link(struct zus_sb *zsb, uint64_t ino, uint64_t dir,
	       const char *name, size_t len, struct zus_attr *out);
int memfs_unlink(struct zus_sb *zsb, uint64_t dir, const char *name,
		 size_t len);
int memfs_rmdir(struct zus_sb *zsb, uint64_t dir, const char *name,
		size_t len);
int memfs_rename(struct zus_sb *zsb, uint64_t olddir, const char *oldname,
		 size_t oldlen, uint64_t newdir, const char *newname,
		 size_t newlen, unsigned int flags);
int memfs_tmpfile(struct zus_sb *zsb, uint64_t dir, uint32_t mode,
		  const struct zus_creds *cr, struct zus_attr *out);
int memfs_readlink(struct zus_sb *zsb, uint64_t ino, char *buf, size_t size,
		   size_t *len);
int memfs_readdir(struct zus_sb *zsb, uint64_t dir, uint64_t cookie,
		  zus_filldir_t emit, void *ctx);

/* file.c */
void memfs_free_blocks(struct memfs_sb *m, struct memfs_inode *in,
		       uint64_t from);
int memfs_truncate(struct memfs_sb *m, struct memfs_inode *in, uint64_t size);
ssize_t memfs_read(struct zus_sb *zsb, uint64_t ino, void *buf, size_t len,
		   uint64_t off);
ssize_t memfs_write(struct zus_sb *zsb, uint64_t ino, const void *buf,
		    size_t len, uint64_t off);
int memfs_fallocate(struct zus_sb *zsb, uint64_t ino, int mode, uint64_t off,
		    uint64_t len);
int memfs_lseek(struct zus_sb *zsb, uint64_t ino, uint64_t off, int whence,
		uint64_t *result);

/* xattr.c */
void memfs_free_xattrs(struct memfs_inode *in);
ssize_t memfs_getxattr(struct zus_sb *zsb, uint64_t ino, const char *name,
		       void *value, size_t size);
int memfs_setxattr(struct zus_sb *zsb, uint64_t ino, const char *name,
		   const void *value, size_t size, int flags);
ssize_t memfs_listxattr(struct zus_sb *zsb, uint64_t ino, char *list,
			size_t size);
int memfs_removexattr(struct zus_sb *zsb, uint64_t ino, const char *name);

#endif /* MEMFS_H */
