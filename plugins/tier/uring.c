// SPDX-License-Identifier: BSD-2-Clause
/*
 * uring.c - the "uring" tier backend: io_uring on an O_DIRECT fd.
 *
 * Registered buffers.  We do NOT register the pmem mapping: a DAX mapping
 * of a whole pmem device is tens of GiB, registration pins (and accounts
 * against RLIMIT_MEMLOCK) every page, and fsdax pages cannot take long-term
 * pins at all.  Instead each attach owns a small pool of aligned DRAM
 * staging buffers (ZUS_URING_SLOTS x ZUS_URING_SLOT bytes) registered as
 * fixed buffers with every ring; the filesystem copies pmem into a slot
 * (buf_alloc) and the write is READ/WRITE_FIXED, no pinning per I/O.  Any
 * other aligned buffer (the application's buffer for a cold read straight
 * into it) goes through plain IORING_OP_READ/WRITE.  When registration is
 * refused (memlock limit) the pool is still used, unregistered.
 *
 * Concurrency: ZUS_URING_RINGS rings, each under its own mutex; a submitter
 * takes the first free ring (trylock), else waits on one.  One submit call
 * keeps at most queue_depth I/Os in flight, reaps completions as they come,
 * resubmits the rest of short transfers and, if it wrote anything, ends with
 * one IORING_OP_FSYNC(DATASYNC) after all writes completed: submit returns
 * only when the batch is durable.  Only features of Linux 5.6+ are used.
 */
#include <errno.h>
#include <liburing.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "tier_backend.h"

#define ZUS_URING_RINGS	2
#define ZUS_URING_SLOTS	4
#define ZUS_URING_SLOT	(2u << 20)

struct uring_ring {
	pthread_mutex_t lock;
	struct io_uring ring;
	bool registered;
};

struct uring_ctx {
	int fd;
	bool own_fd;
	uint64_t size;
	unsigned int qd;
	unsigned int nrings;
	struct uring_ring rings[ZUS_URING_RINGS];
	unsigned int next_ring;
	char *pool;
	pthread_mutex_t pool_lock;
	bool slot_used[ZUS_URING_SLOTS];
	struct zus_tier_counters cnt;
};

static void uring_detach(void *ctx)
{
	struct uring_ctx *c = ctx;

	if (!c)
		return;
	for (unsigned int i = 0; i < c->nrings; i++) {
		io_uring_queue_exit(&c->rings[i].ring);
		pthread_mutex_destroy(&c->rings[i].lock);
	}
	pthread_mutex_destroy(&c->pool_lock);
	free(c->pool);
	if (c->own_fd)
		close(c->fd);
	free(c);
}

static int uring_attach(struct zus_tier_dev *dev, unsigned int qd, void **ctx)
{
	struct iovec iov[ZUS_URING_SLOTS];
	struct uring_ctx *c;
	int err;

	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	pthread_mutex_init(&c->pool_lock, NULL);
	c->qd = qd ? qd : ZUS_TIER_DEF_QD;
	if (c->qd > ZUS_TIER_MAX_QD)
		c->qd = ZUS_TIER_MAX_QD;
	err = zus_tier_open(dev, &c->fd, &c->own_fd, &c->size);
	if (err) {
		pthread_mutex_destroy(&c->pool_lock);
		free(c);
		return err;
	}
	if (posix_memalign((void **)&c->pool, ZUS_TIER_ALIGN,
			   (size_t)ZUS_URING_SLOTS * ZUS_URING_SLOT)) {
		c->pool = NULL;
		err = -ENOMEM;
		goto fail;
	}
	memset(c->pool, 0, (size_t)ZUS_URING_SLOTS * ZUS_URING_SLOT);
	for (unsigned int i = 0; i < ZUS_URING_SLOTS; i++) {
		iov[i].iov_base = c->pool + (size_t)i * ZUS_URING_SLOT;
		iov[i].iov_len = ZUS_URING_SLOT;
	}
	for (unsigned int i = 0; i < ZUS_URING_RINGS; i++) {
		struct uring_ring *r = &c->rings[i];

		/* room for a full window plus the fsync */
		err = io_uring_queue_init(c->qd + 1, &r->ring, 0);
		if (err < 0)
			goto fail;
		pthread_mutex_init(&r->lock, NULL);
		c->nrings++;
		r->registered = io_uring_register_buffers(&r->ring, iov,
							  ZUS_URING_SLOTS) == 0;
	}
	*ctx = c;
	return 0;
fail:
	uring_detach(c);
	return err;
}

static struct uring_ring *ring_get(struct uring_ctx *c)
{
	unsigned int start = __atomic_fetch_add(&c->next_ring, 1,
						__ATOMIC_RELAXED) % c->nrings;

	for (unsigned int i = 0; i < c->nrings; i++) {
		struct uring_ring *r = &c->rings[(start + i) % c->nrings];

		if (!pthread_mutex_trylock(&r->lock))
			return r;
	}
	pthread_mutex_lock(&c->rings[start].lock);
	return &c->rings[start];
}

/* The registered slot holding [buf, buf + len), or -1. */
static int slot_of(const struct uring_ctx *c, const void *buf, size_t len)
{
	uintptr_t p = (uintptr_t)buf, base = (uintptr_t)c->pool;
	size_t s;

	if (p < base || p >= base + (size_t)ZUS_URING_SLOTS * ZUS_URING_SLOT)
		return -1;
	s = (p - base) / ZUS_URING_SLOT;
	if (p + len > base + (s + 1) * ZUS_URING_SLOT)
		return -1;
	return (int)s;
}

/* Queue the rest of ios[i] (done bytes already transferred). */
static void prep_io(struct uring_ctx *c, struct uring_ring *r,
		    struct io_uring_sqe *sqe, const struct zus_tier_io *io,
		    uint32_t done, uint64_t tag)
{
	char *buf = (char *)io->buf + done;
	unsigned int len = io->len - done;
	uint64_t off = io->dev_off + done;
	int slot = r->registered ? slot_of(c, io->buf, io->len) : -1;

	if (io->op == ZUS_TIER_WRITE) {
		if (slot >= 0)
			io_uring_prep_write_fixed(sqe, c->fd, buf, len, off, slot);
		else
			io_uring_prep_write(sqe, c->fd, buf, len, off);
	} else {
		if (slot >= 0)
			io_uring_prep_read_fixed(sqe, c->fd, buf, len, off, slot);
		else
			io_uring_prep_read(sqe, c->fd, buf, len, off);
	}
	io_uring_sqe_set_data64(sqe, tag);
}

#define FSYNC_TAG	UINT64_MAX

/* Run ios[0..n) (n <= ZUS_TIER_MAX_QD) to completion on r. */
static int run_window(struct uring_ctx *c, struct uring_ring *r,
		      struct zus_tier_io *ios, unsigned int n)
{
	uint32_t done[ZUS_TIER_MAX_QD];
	unsigned int next = 0, inflight = 0;
	int ret = 0;

	while (next < n || inflight) {
		struct io_uring_cqe *cqe;
		unsigned int head, seen = 0;

		while (next < n && inflight < c->qd) {
			struct io_uring_sqe *sqe = io_uring_get_sqe(&r->ring);

			if (!sqe)
				break;
			done[next] = 0;
			prep_io(c, r, sqe, &ios[next], 0, next);
			next++;
			inflight++;
			zus_tier_qd_add(&c->cnt, 1);
		}
		ret = io_uring_submit_and_wait(&r->ring, 1);
		if (ret < 0 && ret != -EINTR && ret != -EAGAIN &&
		    ret != -EBUSY)
			break;
		ret = 0;
		io_uring_for_each_cqe(&r->ring, head, cqe) {
			uint64_t i = io_uring_cqe_get_data64(cqe);
			struct zus_tier_io *io;
			int res = cqe->res;

			seen++;
			if (i >= n)
				continue;
			io = &ios[i];
			if (res == -EAGAIN || res == -EINTR || res > 0) {
				if (res > 0)
					done[i] += (uint32_t)res;
				if (done[i] < io->len) {
					struct io_uring_sqe *sqe =
						io_uring_get_sqe(&r->ring);

					if (sqe) {
						prep_io(c, r, sqe, io, done[i],
							i);
						continue;
					}
					res = -EBUSY;
				}
			} else if (!res) {
				res = -EIO;	/* past the end of the file */
			}
			inflight--;
			zus_tier_qd_add(&c->cnt, -1);
			io->result = res < 0 ? res : 0;
			if (!io->result)
				zus_tier_count_io(&c->cnt, io);
		}
		io_uring_cq_advance(&r->ring, seen);
	}
	if (ret < 0) {
		/* the ring failed under us: drain what is in flight */
		while (inflight) {
			struct io_uring_cqe *cqe;

			if (io_uring_wait_cqe(&r->ring, &cqe))
				break;
			io_uring_cqe_seen(&r->ring, cqe);
			inflight--;
			zus_tier_qd_add(&c->cnt, -1);
		}
		for (unsigned int i = 0; i < n; i++)
			if (!ios[i].result)
				ios[i].result = ret;
	}
	return ret;
}

static int do_fsync(struct uring_ctx *c, struct uring_ring *r)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&r->ring);
	struct io_uring_cqe *cqe;
	int ret;

	if (!sqe)
		return fdatasync(c->fd) < 0 ? -errno : 0;
	io_uring_prep_fsync(sqe, c->fd, IORING_FSYNC_DATASYNC);
	io_uring_sqe_set_data64(sqe, FSYNC_TAG);
	ret = io_uring_submit_and_wait(&r->ring, 1);
	if (ret < 0)
		return fdatasync(c->fd) < 0 ? -errno : 0;
	ret = io_uring_wait_cqe(&r->ring, &cqe);
	if (ret < 0)
		return ret;
	ret = cqe->res;
	io_uring_cqe_seen(&r->ring, cqe);
	return ret < 0 ? ret : 0;
}

static int uring_submit(void *ctx, struct zus_tier_io *ios, unsigned int n)
{
	struct uring_ctx *c = ctx;
	struct uring_ring *r;
	bool wrote = false;
	int ret = 0;

	for (unsigned int i = 0; i < n; i++) {
		/* a bad I/O fails alone; 1 marks "not yet run" */
		ios[i].result = zus_tier_io_check(&ios[i], c->size) ? -EINVAL : 1;
	}
	r = ring_get(c);
	for (unsigned int base = 0; base < n;) {
		unsigned int w = 0;

		/* a window of valid I/Os, at most ZUS_TIER_MAX_QD */
		while (base < n && ios[base].result != 1)
			base++;
		while (base + w < n && w < ZUS_TIER_MAX_QD &&
		       ios[base + w].result == 1)
			w++;
		if (!w)
			break;
		for (unsigned int i = 0; i < w; i++)
			ios[base + i].result = 0;
		run_window(c, r, ios + base, w);
		base += w;
	}
	for (unsigned int i = 0; i < n; i++) {
		if (ios[i].result && !ret)
			ret = ios[i].result;
		wrote |= !ios[i].result && ios[i].op == ZUS_TIER_WRITE;
	}
	if (wrote) {
		int e = do_fsync(c, r);

		if (e) {
			for (unsigned int i = 0; i < n; i++)
				if (ios[i].op == ZUS_TIER_WRITE &&
				    !ios[i].result)
					ios[i].result = e;
			if (!ret)
				ret = e;
		}
	}
	pthread_mutex_unlock(&r->lock);
	return ret;
}

static int uring_flush(void *ctx)
{
	struct uring_ctx *c = ctx;
	struct uring_ring *r = ring_get(c);
	int ret = do_fsync(c, r);

	pthread_mutex_unlock(&r->lock);
	return ret;
}

static void uring_stats(void *ctx, struct zus_tier_stats *st)
{
	struct uring_ctx *c = ctx;

	zus_tier_counters_get(&c->cnt, st);
}

static void *uring_buf_alloc(void *ctx, size_t len)
{
	struct uring_ctx *c = ctx;
	void *p = NULL;

	if (len > ZUS_URING_SLOT)
		return NULL;
	pthread_mutex_lock(&c->pool_lock);
	for (unsigned int i = 0; i < ZUS_URING_SLOTS; i++) {
		if (!c->slot_used[i]) {
			c->slot_used[i] = true;
			p = c->pool + (size_t)i * ZUS_URING_SLOT;
			break;
		}
	}
	pthread_mutex_unlock(&c->pool_lock);
	return p;
}

static void uring_buf_free(void *ctx, void *buf)
{
	struct uring_ctx *c = ctx;
	int s = slot_of(c, buf, 1);

	if (s < 0 || (char *)buf != c->pool + (size_t)s * ZUS_URING_SLOT)
		return;
	pthread_mutex_lock(&c->pool_lock);
	c->slot_used[s] = false;
	pthread_mutex_unlock(&c->pool_lock);
}

const struct zus_tier_backend zus_tier_uring_backend = {
	.name		= "uring",
	.attach		= uring_attach,
	.detach		= uring_detach,
	.submit		= uring_submit,
	.flush		= uring_flush,
	.stats		= uring_stats,
	.buf_alloc	= uring_buf_alloc,
	.buf_free	= uring_buf_free,
};
