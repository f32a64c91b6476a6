// SPDX-License-Identifier: BSD-2-Clause
/*
 * common.c - what the tier backends share: argument checks, opening a
 * device or file, counters.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tier_backend.h"

int zus_tier_io_check(const struct zus_tier_io *io, uint64_t size)
{
	if (io->op != ZUS_TIER_READ && io->op != ZUS_TIER_WRITE)
		return -EINVAL;
	if (!io->len || io->len % ZUS_TIER_ALIGN ||
	    io->dev_off % ZUS_TIER_ALIGN ||
	    (uintptr_t)io->buf % ZUS_TIER_ALIGN)
		return -EINVAL;
	if (io->dev_off > size || io->len > size - io->dev_off)
		return -EINVAL;
	return 0;
}

int zus_tier_open(const struct zus_tier_dev *dev, int *fd, bool *own,
		  uint64_t *size)
{
	struct stat st;
	uint64_t bytes = 0;
	int f = dev->fd;

	*own = false;
	if (f < 0) {
		if (!dev->path)
			return -EINVAL;
		f = open(dev->path, O_RDWR | O_DIRECT | O_CLOEXEC);
		if (f < 0 && errno == EINVAL)	/* no O_DIRECT here (tmpfs) */
			f = open(dev->path, O_RDWR | O_CLOEXEC);
		if (f < 0)
			return -errno;
		*own = true;
	}
	if (fstat(f, &st) < 0)
		goto fail;
	if (S_ISBLK(st.st_mode)) {
		if (ioctl(f, BLKGETSIZE64, &bytes) < 0)
			goto fail;
	} else if (S_ISREG(st.st_mode)) {
		bytes = (uint64_t)st.st_size;
	} else {
		errno = ENODEV;
		goto fail;
	}
	if (dev->size && dev->size <= bytes)
		bytes = dev->size;
	else if (dev->size) {
		errno = ENOSPC;		/* smaller than it claims to be */
		goto fail;
	}
	*size = bytes & ~(uint64_t)(ZUS_TIER_ALIGN - 1);
	*fd = f;
	return 0;
fail:
	{
		int e = errno;

		if (*own)
			close(f);
		*own = false;
		return -e;
	}
}

void zus_tier_count_io(struct zus_tier_counters *c,
		       const struct zus_tier_io *io)
{
	if (io->op == ZUS_TIER_WRITE) {
		__atomic_add_fetch(&c->writes, 1, __ATOMIC_RELAXED);
		__atomic_add_fetch(&c->write_bytes, io->len, __ATOMIC_RELAXED);
	} else {
		__atomic_add_fetch(&c->reads, 1, __ATOMIC_RELAXED);
		__atomic_add_fetch(&c->read_bytes, io->len, __ATOMIC_RELAXED);
	}
}

void zus_tier_qd_add(struct zus_tier_counters *c, int delta)
{
	uint32_t q = __atomic_add_fetch(&c->qd, (uint32_t)delta,
					__ATOMIC_RELAXED);
	uint32_t m = __atomic_load_n(&c->max_qd, __ATOMIC_RELAXED);

	while (delta > 0 && q > m &&
	       !__atomic_compare_exchange_n(&c->max_qd, &m, q, false,
					    __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
}

void zus_tier_counters_get(struct zus_tier_counters *c,
			   struct zus_tier_stats *st)
{
	st->reads = __atomic_load_n(&c->reads, __ATOMIC_RELAXED);
	st->writes = __atomic_load_n(&c->writes, __ATOMIC_RELAXED);
	st->read_bytes = __atomic_load_n(&c->read_bytes, __ATOMIC_RELAXED);
	st->write_bytes = __atomic_load_n(&c->write_bytes, __ATOMIC_RELAXED);
	st->queue_depth = __atomic_load_n(&c->qd, __ATOMIC_RELAXED);
	st->max_queue_depth = __atomic_load_n(&c->max_qd, __ATOMIC_RELAXED);
}
