// SPDX-License-Identifier: BSD-2-Clause
/*
 * pmem_map.c - mapping a device or file as a mount's pmem (see pmem_map.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pmem_map.h"
#include "errmsg.h"

#ifndef MAP_SHARED_VALIDATE
#define MAP_SHARED_VALIDATE 0x03
#endif
#ifndef MAP_SYNC
#define MAP_SYNC 0x80000
#endif

/* Map fd whole: MAP_SYNC first (real DAX), then plain MAP_SHARED. */
static int map_fd(struct zus_pmem_map *m, uint64_t size, const char *what,
		  char *err, size_t errlen)
{
	int prot = PROT_READ | (m->readonly ? 0 : PROT_WRITE);
	void *p;

	if (size != (size_t)size) {
		zus_set_err(err, errlen, "%s: too large to map", what);
		return -EFBIG;
	}
	p = mmap(NULL, size, prot, MAP_SHARED_VALIDATE | MAP_SYNC, m->fd, 0);
	if (p != MAP_FAILED) {
		m->dax = true;
	} else {
		p = mmap(NULL, size, prot, MAP_SHARED, m->fd, 0);
		if (p == MAP_FAILED) {
			int e = errno;

			zus_set_err(err, errlen, "%s: mmap of %llu bytes failed: %s",
				what, (unsigned long long)size, strerror(e));
			return -e;
		}
		m->dax = false;
	}
	m->pmem.base = p;
	m->pmem.size = size;
	m->pmem.hooks = NULL;
	m->pmem.hooks_ctx = NULL;
	return 0;
}

int zus_pmem_map_open(const char *path, bool readonly, struct zus_pmem_map *m,
		      char *err, size_t errlen)
{
	struct stat st;
	uint64_t size;
	int ret;

	memset(m, 0, sizeof(*m));
	m->fd = -1;
	m->readonly = readonly;
	m->fd = open(path, (readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (m->fd < 0) {
		ret = -errno;
		zus_set_err(err, errlen, "%s: cannot open: %s", path,
			strerror(-ret));
		return ret;
	}
	if (fstat(m->fd, &st)) {
		ret = -errno;
		zus_set_err(err, errlen, "%s: cannot stat: %s", path,
			strerror(-ret));
		goto fail;
	}
	if (S_ISBLK(st.st_mode)) {
		if (ioctl(m->fd, BLKGETSIZE64, &size)) {
			ret = -errno;
			zus_set_err(err, errlen, "%s: BLKGETSIZE64: %s", path,
				strerror(-ret));
			goto fail;
		}
		m->is_blockdev = true;
	} else if (S_ISREG(st.st_mode)) {
		size = (uint64_t)st.st_size;
	} else {
		zus_set_err(err, errlen,
			"%s: not a regular file or a block device", path);
		ret = -ENODEV;
		goto fail;
	}
	if (size < 2 * 4096) {
		zus_set_err(err, errlen, "%s: too small (%llu bytes) to hold a filesystem",
			path, (unsigned long long)size);
		ret = -ENOSPC;
		goto fail;
	}
	ret = map_fd(m, size, path, err, errlen);
	if (ret)
		goto fail;
	return 0;
fail:
	close(m->fd);
	m->fd = -1;
	return ret;
}

int zus_pmem_map_memfd(uint64_t size, struct zus_pmem_map *m, char *err,
		       size_t errlen)
{
	int ret;

	memset(m, 0, sizeof(*m));
	m->fd = memfd_create("zus-pmem", MFD_CLOEXEC);
	if (m->fd < 0) {
		ret = -errno;
		zus_set_err(err, errlen, "memfd_create: %s", strerror(-ret));
		return ret;
	}
	if (ftruncate(m->fd, (off_t)size)) {
		ret = -errno;
		zus_set_err(err, errlen, "memfd: cannot size to %llu bytes: %s",
			(unsigned long long)size, strerror(-ret));
		goto fail;
	}
	ret = map_fd(m, size, "memfd", err, errlen);
	if (ret)
		goto fail;
	return 0;
fail:
	close(m->fd);
	m->fd = -1;
	return ret;
}

int zus_pmem_map_sync(struct zus_pmem_map *m)
{
	if (!m->pmem.base || m->readonly || m->dax)
		return 0;
	if (msync(m->pmem.base, m->pmem.size, MS_SYNC))
		return -errno;
	return 0;
}

void zus_pmem_map_close(struct zus_pmem_map *m)
{
	if (m->pmem.base) {
		zus_pmem_map_sync(m);
		munmap(m->pmem.base, m->pmem.size);
		m->pmem.base = NULL;
	}
	if (m->fd >= 0)
		close(m->fd);
	m->fd = -1;
}
