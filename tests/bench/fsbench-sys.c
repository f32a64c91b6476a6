// SPDX-License-Identifier: BSD-2-Clause
/*
 * fsbench-sys.c - the system call backend of fsbench: the workload runs in a
 * directory (tmpfs, pmfs2 over FUSE, anything mounted), every path relative
 * to an fd of that directory (openat, fstatat, ...).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "fsbench.h"

/* the backend signature has a target every call does not need */
#define UNUSED	__attribute__((unused))

struct sys_target {
	int dirfd;
	bool direct;	/* O_DIRECT works here */
};

static int neg_errno(long r)
{
	return r < 0 ? -errno : (int)r;
}

/* Can files here be opened with O_DIRECT, and does a 4 KiB aligned
 * write + read through such an fd work? */
static bool probe_direct(int dirfd, char *why, size_t len)
{
	char name[64];
	void *buf;
	bool ok = false;
	int fd;

	snprintf(name, sizeof(name), ".fsbench-probe.%ld", (long)getpid());
	fd = openat(dirfd, name, O_CREAT | O_EXCL | O_RDWR | O_DIRECT, 0600);
	if (fd < 0) {
		snprintf(why, len, "O_DIRECT open: %s", strerror(errno));
		unlinkat(dirfd, name, 0);
		return false;
	}
	buf = aligned_alloc(4096, 4096);
	if (buf) {
		memset(buf, 0x5a, 4096);
		if (pwrite(fd, buf, 4096, 0) != 4096)
			snprintf(why, len, "O_DIRECT write: %s", strerror(errno));
		else if (pread(fd, buf, 4096, 0) != 4096)
			snprintf(why, len, "O_DIRECT read: %s", strerror(errno));
		else
			ok = true;
		free(buf);
	}
	close(fd);
	unlinkat(dirfd, name, 0);
	return ok;
}

static int sys_setup(const char *spec, struct fsb_target_info *info,
		     void **priv)
{
	struct sys_target *t = calloc(1, sizeof(*t));
	struct statfs sf;
	char why[128] = "";
	int e;

	if (!t)
		return -ENOMEM;
	t->dirfd = open(spec, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (t->dirfd < 0) {
		e = errno;
		snprintf(info->note, sizeof(info->note), "%.200s: %s", spec,
			 strerror(e));
		free(t);
		return -e;
	}
	t->direct = probe_direct(t->dirfd, why, sizeof(why));
	if (t->direct) {
		snprintf(info->io_mode, sizeof(info->io_mode), "O_DIRECT");
		if (fstatfs(t->dirfd, &sf) == 0)
			snprintf(info->note, sizeof(info->note), "f_type 0x%lx",
				 (unsigned long)sf.f_type);
	} else {
		snprintf(info->io_mode, sizeof(info->io_mode), "buffered");
		snprintf(info->note, sizeof(info->note),
			 "no O_DIRECT (%s): data I/O is buffered", why);
	}
	*priv = t;
	return 0;
}

static void sys_teardown(void *priv)
{
	struct sys_target *t = priv;

	close(t->dirfd);
	free(t);
}

static int sys_open(void *priv, const char *path, int flags, mode_t mode)
{
	struct sys_target *t = priv;

	if (flags & FSB_DIRECT) {
		flags &= ~FSB_DIRECT;
		if (t->direct)
			flags |= O_DIRECT;
	}
	return neg_errno(openat(t->dirfd, path, flags | O_CLOEXEC, mode));
}

static int sys_close(void *priv UNUSED, int fd)
{
	return neg_errno(close(fd));
}

static ssize_t sys_pread(void *priv UNUSED, int fd, void *buf, size_t len,
			 off_t off)
{
	ssize_t n = pread(fd, buf, len, off);

	return n < 0 ? -errno : n;
}

static ssize_t sys_pwrite(void *priv UNUSED, int fd, const void *buf,
			  size_t len, off_t off)
{
	ssize_t n = pwrite(fd, buf, len, off);

	return n < 0 ? -errno : n;
}

static int sys_stat(void *priv, const char *path, struct stat *st)
{
	return neg_errno(fstatat(((struct sys_target *)priv)->dirfd, path, st, 0));
}

static int sys_unlink(void *priv, const char *path)
{
	return neg_errno(unlinkat(((struct sys_target *)priv)->dirfd, path, 0));
}

static int sys_mkdir(void *priv, const char *path, mode_t mode)
{
	return neg_errno(mkdirat(((struct sys_target *)priv)->dirfd, path, mode));
}

static int sys_rmdir(void *priv, const char *path)
{
	return neg_errno(unlinkat(((struct sys_target *)priv)->dirfd, path,
				  AT_REMOVEDIR));
}

const struct fsb_backend fsb_sys_backend = {
	.name = "syscall",
	.setup = sys_setup,
	.teardown = sys_teardown,
	.open = sys_open,
	.close = sys_close,
	.pread = sys_pread,
	.pwrite = sys_pwrite,
	.stat = sys_stat,
	.unlink = sys_unlink,
	.mkdir = sys_mkdir,
	.rmdir = sys_rmdir,
};
