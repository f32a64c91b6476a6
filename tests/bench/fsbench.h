/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fsbench.h - the backends of fsbench.
 *
 * fsbench.c holds the workload (the same code for every target); a backend
 * says how a target opens, reads, writes, stats and removes files:
 *   fsbench-sys.c     system calls in a directory (tmpfs, a FUSE mount, ...)
 *   fsbench-inproc.c  pmfs2 through the in-process host (zusd/inproc.h),
 *                     linked into fsbench-inproc only
 * One process may drive several targets, so that a figure is measured on
 * each of them within moments (see fsbench.c).
 *
 * Paths given to a backend are relative ("fsbench.123/f42"): to the target
 * directory for syscalls, to the root of the mount in-process.  Every call
 * returns 0 (or an fd / a byte count) on success and a negative errno on
 * failure.  Data calls are made from several threads at once.
 */
#ifndef FSBENCH_H
#define FSBENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

/* fsb_backend.open flag: bypass the page cache where the target can
 * (O_DIRECT); not a real open(2) flag */
#define FSB_DIRECT	0x40000000

struct fsb_target_info {
	char io_mode[32];	/* "O_DIRECT", "buffered", "no page cache" */
	char note[256];		/* why, or what is worth printing */
};

struct fsb_backend {
	const char *name;	/* "syscall", "inproc" */
	/*
	 * Prepare the target named by spec (a directory; in-process: an image
	 * file or "memfd:MIB"), probe what it supports, fill *info and set
	 * *priv.  On failure: -errno, a message in info->note.
	 */
	int (*setup)(const char *spec, struct fsb_target_info *info, void **priv);
	void (*teardown)(void *priv);
	int (*open)(void *priv, const char *path, int flags, mode_t mode);
	int (*close)(void *priv, int fd);
	ssize_t (*pread)(void *priv, int fd, void *buf, size_t len, off_t off);
	ssize_t (*pwrite)(void *priv, int fd, const void *buf, size_t len,
			  off_t off);
	int (*stat)(void *priv, const char *path, struct stat *st);
	int (*unlink)(void *priv, const char *path);
	int (*mkdir)(void *priv, const char *path, mode_t mode);
	int (*rmdir)(void *priv, const char *path);
};

extern const struct fsb_backend fsb_sys_backend;
#ifdef FSBENCH_INPROC
extern const struct fsb_backend fsb_inproc_backend;
#endif

#endif /* FSBENCH_H */
