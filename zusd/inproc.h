/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * inproc.h - the in-process host: mounts a filesystem type of a loaded plugin
 * on a struct zus_pmem and offers a path-based, POSIX-like API on top of the
 * plugin SDK (the same entry points zusd calls for the kernel and FUSE).
 *
 * The host does what the VFS would: path resolution (".", "..", symlinks,
 * ELOOP after 40 links, ENAMETOOLONG), the kernel's errno precedence,
 * permission checks for a non-root caller (root bypasses, as with
 * CAP_DAC_OVERRIDE), sticky directories, protected hard links, setgid
 * directories and umask, suid/sgid clearing on chown, and open-file
 * reference counting: ops->evict is called when the last reference to an
 * inode goes away (last close, or the name removal when nothing holds it).
 *
 * Every function returns 0 (or a count / fd) on success and a negative errno
 * on failure; errno itself is not used.  Paths are relative to the root of
 * the mount ("/a/b" and "a/b" are the same).  All functions are thread-safe:
 * namespace changes are serialised, data calls run in parallel.
 */
#ifndef ZUSD_INPROC_H
#define ZUSD_INPROC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <zufs/zus.h>

struct zus_inproc;

struct zus_inproc_opts {
	const char *dev_path;		/* for messages; may be NULL */
	/* mount options; may be NULL.  The atime ones (noatime, nodiratime,
	 * relatime, strictatime, ...) are the host's, as they are the VFS's:
	 * a read that returns data and a readdir move atime by those rules
	 * (zusd/atime.h; default relatime); the plugin gets the others */
	const char *options;
	bool readonly;
	/* log sink; NULL: messages at or above ZUS_LOG_WARNING to stderr */
	void (*log)(void *ctx, int prio, const char *msg);
	void *log_ctx;
	/* tier devices and the backend that moves data to them (a tier
	 * plugin's, see tier_host.h); the array must outlive the mount */
	unsigned int ntier;
	struct zus_tier_dev *tier;
	const struct zus_tier_backend *tier_backend;
};

/* Mount fst on pm (the mapping must outlive the mount). */
int zus_inproc_mount(const struct zus_fs_type *fst, const struct zus_pmem *pm,
		     const struct zus_inproc_opts *o, struct zus_inproc **out);
/* Close whatever is still open (evicting as needed) and unmount. */
void zus_inproc_umount(struct zus_inproc *h);
struct zus_sb *zus_inproc_sb(struct zus_inproc *h);

/* The caller's credentials for permission checks and new inodes; uid 0
 * (the default) is root and bypasses permission checks. */
void zus_inproc_set_creds(struct zus_inproc *h, uint32_t uid, uint32_t gid);
/* Returns the previous umask (default 022). */
mode_t zus_inproc_umask(struct zus_inproc *h, mode_t mask);

/* Files.  flags: O_RDONLY/O_WRONLY/O_RDWR, O_CREAT, O_EXCL, O_TRUNC,
 * O_APPEND, O_DIRECTORY, O_NOFOLLOW, O_TMPFILE (path names a directory). */
int zus_inproc_open(struct zus_inproc *h, const char *path, int flags,
		    mode_t mode);
int zus_inproc_close(struct zus_inproc *h, int fd);
ssize_t zus_inproc_pread(struct zus_inproc *h, int fd, void *buf, size_t len,
			 off_t off);
/* With O_APPEND the data goes to the end whatever off says (as Linux). */
ssize_t zus_inproc_pwrite(struct zus_inproc *h, int fd, const void *buf,
			  size_t len, off_t off);
/* read/write at the file position */
ssize_t zus_inproc_read(struct zus_inproc *h, int fd, void *buf, size_t len);
ssize_t zus_inproc_write(struct zus_inproc *h, int fd, const void *buf,
			 size_t len);
/* whence: SEEK_SET, SEEK_CUR, SEEK_END, SEEK_DATA, SEEK_HOLE */
off_t zus_inproc_lseek(struct zus_inproc *h, int fd, off_t off, int whence);
int zus_inproc_fstat(struct zus_inproc *h, int fd, struct stat *st);
int zus_inproc_ftruncate(struct zus_inproc *h, int fd, off_t len);
int zus_inproc_fallocate(struct zus_inproc *h, int fd, int mode, off_t off,
			 off_t len);
int zus_inproc_fsync(struct zus_inproc *h, int fd, bool datasync);
/* linkat(fd, "", newpath, AT_EMPTY_PATH): names an O_TMPFILE file */
int zus_inproc_linkfd(struct zus_inproc *h, int fd, const char *newpath);
/* The inode number behind fd (tests). */
uint64_t zus_inproc_fd_ino(struct zus_inproc *h, int fd);

/* Names */
int zus_inproc_mkdir(struct zus_inproc *h, const char *path, mode_t mode);
int zus_inproc_mknod(struct zus_inproc *h, const char *path, mode_t mode,
		     dev_t rdev);
int zus_inproc_rmdir(struct zus_inproc *h, const char *path);
int zus_inproc_unlink(struct zus_inproc *h, const char *path);
/* flags: RENAME_NOREPLACE / RENAME_EXCHANGE (ZUS_RENAME_*) */
int zus_inproc_rename(struct zus_inproc *h, const char *oldpath,
		      const char *newpath, unsigned int flags);
int zus_inproc_link(struct zus_inproc *h, const char *oldpath,
		    const char *newpath);
int zus_inproc_symlink(struct zus_inproc *h, const char *target,
		       const char *linkpath);
/* Returns the length of the target (not NUL-terminated, truncated to size) */
ssize_t zus_inproc_readlink(struct zus_inproc *h, const char *path, char *buf,
			    size_t size);

/* Attributes */
int zus_inproc_stat(struct zus_inproc *h, const char *path, struct stat *st);
int zus_inproc_lstat(struct zus_inproc *h, const char *path, struct stat *st);
int zus_inproc_chmod(struct zus_inproc *h, const char *path, mode_t mode);
/* (uint32_t)-1 leaves that id unchanged; follow = false is lchown */
int zus_inproc_chown(struct zus_inproc *h, const char *path, uint32_t uid,
		     uint32_t gid, bool follow);
/* ts[2] = { atime, mtime }, tv_nsec may be UTIME_NOW / UTIME_OMIT; ts NULL
 * means both now.  follow = false acts on a symlink itself. */
int zus_inproc_utimens(struct zus_inproc *h, const char *path,
		       const struct timespec ts[2], bool follow);
int zus_inproc_truncate(struct zus_inproc *h, const char *path, off_t len);

/* Directories */
struct zus_inproc_dir;
struct zus_inproc_dirent {
	uint64_t ino;
	unsigned int type;		/* DT_* */
	uint64_t next;			/* cookie after this entry (telldir) */
	char name[ZUS_NAME_MAX + 1];
};
int zus_inproc_opendir(struct zus_inproc *h, const char *path,
		       struct zus_inproc_dir **dp);
/* 1: *de filled; 0: end of directory; < 0: error */
int zus_inproc_readdir(struct zus_inproc_dir *d, struct zus_inproc_dirent *de);
void zus_inproc_seekdir(struct zus_inproc_dir *d, uint64_t cookie);
void zus_inproc_closedir(struct zus_inproc_dir *d);

/* Extended attributes (path followed, as getxattr(2) etc.) */
ssize_t zus_inproc_getxattr(struct zus_inproc *h, const char *path,
			    const char *name, void *value, size_t size);
int zus_inproc_setxattr(struct zus_inproc *h, const char *path,
			const char *name, const void *value, size_t size,
			int flags);
ssize_t zus_inproc_listxattr(struct zus_inproc *h, const char *path,
			     char *list, size_t size);
int zus_inproc_removexattr(struct zus_inproc *h, const char *path,
			   const char *name);

/* Whole filesystem */
int zus_inproc_statfs(struct zus_inproc *h, struct zus_statfs *st);
int zus_inproc_sync(struct zus_inproc *h);

#endif /* ZUSD_INPROC_H */
