// SPDX-License-Identifier: BSD-2-Clause
/*
 * sync.c - the "sync" tier backend: pread/pwrite, then one fdatasync per
 * batch that wrote (a write is durable when submit returns).  Thread-safe
 * without locks: positional I/O on a shared fd.  A buffer that O_DIRECT
 * cannot use is bounced through aligned memory.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tier_backend.h"

struct sync_ctx {
	int fd;
	bool own_fd;
	uint64_t size;
	struct zus_tier_counters cnt;
};

static int sync_attach(struct zus_tier_dev *dev, unsigned int qd, void **ctx)
{
	struct sync_ctx *c = calloc(1, sizeof(*c));
	int err;

	if (!c)
		return -ENOMEM;
	err = zus_tier_open(dev, &c->fd, &c->own_fd, &c->size);
	if (err) {
		free(c);
		return err;
	}
	*ctx = c;
	return 0;
}

static void sync_detach(void *ctx)
{
	struct sync_ctx *c = ctx;

	if (!c)
		return;
	if (c->own_fd)
		close(c->fd);
	free(c);
}

/* All of len bytes at off, or -errno (a read past the end is -EIO). */
static int rw_full(int fd, bool wr, char *buf, size_t len, uint64_t off)
{
	while (len) {
		ssize_t n = wr ? pwrite(fd, buf, len, (off_t)off) :
				 pread(fd, buf, len, (off_t)off);

		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -errno;
		}
		if (!n)
			return -EIO;
		buf += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

static int sync_one(struct sync_ctx *c, struct zus_tier_io *io)
{
	bool wr = io->op == ZUS_TIER_WRITE;
	void *b;
	int err;

	err = rw_full(c->fd, wr, io->buf, io->len, io->dev_off);
	if (err != -EINVAL)
		return err;
	/* O_DIRECT refused this buffer (e.g. pmem mapping): bounce it */
	if (posix_memalign(&b, ZUS_TIER_ALIGN, io->len))
		return -ENOMEM;
	if (wr)
		memcpy(b, io->buf, io->len);
	err = rw_full(c->fd, wr, b, io->len, io->dev_off);
	if (!err && !wr)
		memcpy(io->buf, b, io->len);
	free(b);
	return err;
}

static int sync_submit(void *ctx, struct zus_tier_io *ios, unsigned int n)
{
	struct sync_ctx *c = ctx;
	bool wrote = false;
	int ret = 0;

	for (unsigned int i = 0; i < n; i++) {
		struct zus_tier_io *io = &ios[i];

		io->result = zus_tier_io_check(io, c->size);
		if (!io->result) {
			zus_tier_qd_add(&c->cnt, 1);
			io->result = sync_one(c, io);
			zus_tier_qd_add(&c->cnt, -1);
		}
		if (!io->result) {
			zus_tier_count_io(&c->cnt, io);
			wrote |= io->op == ZUS_TIER_WRITE;
		} else if (!ret) {
			ret = io->result;
		}
	}
	if (wrote && fdatasync(c->fd) < 0) {
		int e = -errno;

		for (unsigned int i = 0; i < n; i++)
			if (ios[i].op == ZUS_TIER_WRITE && !ios[i].result)
				ios[i].result = e;
		ret = e;
	}
	return ret;
}

static int sync_flush(void *ctx)
{
	struct sync_ctx *c = ctx;

	return fdatasync(c->fd) < 0 ? -errno : 0;
}

static void sync_stats(void *ctx, struct zus_tier_stats *st)
{
	struct sync_ctx *c = ctx;

	zus_tier_counters_get(&c->cnt, st);
}

const struct zus_tier_backend zus_tier_sync_backend = {
	.name	= "sync",
	.attach	= sync_attach,
	.detach	= sync_detach,
	.submit	= sync_submit,
	.flush	= sync_flush,
	.stats	= sync_stats,
};
