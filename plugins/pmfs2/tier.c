// SPDX-License-Identifier: BSD-2-Clause
/*
 * tier.c - pmfs2 tiering: the tier device at mount, the tier allocator,
 * cold reads, promotion, migration and the migrator thread.  The protocol
 * and its crash-consistency argument are in pmfs2_tier.h.
 *
 * Locking.  The migrator never blocks on an inode lock: it holds run_lock
 * (one migration pass at a time) while writers that need room wait for
 * run_lock holding their own inode's write lock, so it only try-locks
 * inodes and skips (or gives up on) busy ones.  A writer that drives
 * migration itself passes its inode as `held`: blocks of that inode (and of
 * inodes sharing its lock stripe) are then moved without locking.  tlock
 * guards the tier bitmap, q_lock the promotion queue and thread control.
 */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pmfs2.h"
#include "pmfs2_tier_format.h"

#define BSIZE		((uint64_t)PMFS2_BLOCK_SIZE)
#define PQ_MAX		64		/* queued promotion requests */
#define PROMOTE_TEMP	4		/* cold reads of a chunk before promotion */
#define MAX_SWEEPS	40		/* decay steps before giving up */
#define LOCK_TRIES	200
#define HOT_BUCKETS_LOG2 14		/* 64 Ki entries, 1 MiB */
#define DECAY_NS	(5 * PMFS2_NSEC)

struct pq_ent {
	uint64_t ino, chunk;
};

struct pmfs2_tier {
	struct pmfs2_sbi *sbi;
	const struct zus_tier_backend *be;
	void *bectx;
	struct zus_tier_dev *dev;
	unsigned int devidx;		/* slot in the superblock's devs[] */
	uint64_t nblocks;		/* tier blocks, header included */

	pthread_mutex_t tlock;
	uint64_t *bmap;			/* bit per tier block: in use */
	uint64_t free;
	uint64_t hint;

	unsigned int low_pct, high_pct, qd;
	bool use_thread;
	uint64_t data_blocks;		/* pmem data area, blocks */
	uint64_t low_blocks, high_blocks, reserve;

	struct pmfs2_hot *hot;

	pthread_mutex_t run_lock;	/* one migration pass at a time */
	uint64_t cur_ino, cur_lblk;	/* scan cursor (run_lock) */
	char *stage;			/* PMFS2_TIER_BATCH blocks (run_lock) */
	bool stage_be;			/* from the backend's pool */

	pthread_mutex_t q_lock;
	pthread_cond_t q_cond;
	struct pq_ent pq[PQ_MAX];
	unsigned int npq;
	bool stop, kicked, thread_on;
	pthread_t thread;
	int64_t last_decay;

	/* statistics (atomics) */
	uint64_t migrations, migrated_bytes, promotions, promoted_bytes;
	uint64_t cold_reads, cold_read_bytes, migrate_ns;
	uint64_t inval_busy;		/* flips skipped: host still used blocks */
	uint32_t migrating;
	bool bounce_reads;		/* the host's buffers refuse DMA */
};

static void stat_add(uint64_t *c, uint64_t v)
{
	__atomic_add_fetch(c, v, __ATOMIC_RELAXED);
}

static uint64_t stat_get(const uint64_t *c)
{
	return __atomic_load_n(c, __ATOMIC_RELAXED);
}

static int64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * PMFS2_NSEC + ts.tv_nsec;
}

static void uuid_str(const uint8_t u[16], char out[37])
{
	static const char hx[] = "0123456789abcdef";
	unsigned int o = 0;

	for (unsigned int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hx[u[i] >> 4];
		out[o++] = hx[u[i] & 15];
	}
	out[o] = 0;
}

static uint64_t pmem_free(struct pmfs2_sbi *sbi)
{
	uint64_t bfree, ifree;

	pmfs2_alloc_counts(sbi, &bfree, &ifree);
	return bfree;
}

/* ---- buffers ------------------------------------------------------------- */

static void *buf_get(struct pmfs2_tier *t, size_t len, bool *from_be)
{
	void *p = NULL;

	*from_be = false;
	if (t->be->buf_alloc) {
		p = t->be->buf_alloc(t->bectx, len);
		if (p) {
			*from_be = true;
			return p;
		}
	}
	if (posix_memalign(&p, PMFS2_BLOCK_SIZE, len))
		return NULL;
	return p;
}

static void buf_put(struct pmfs2_tier *t, void *p, bool from_be)
{
	if (!p)
		return;
	if (from_be)
		t->be->buf_free(t->bectx, p);
	else
		free(p);
}

/* ---- the tier allocator -------------------------------------------------- */

static bool tblk_ok(const struct pmfs2_tier *t, uint64_t tblk)
{
	return tblk >= PMFS2_TIER_FIRST_BLOCK && tblk < t->nblocks;
}

int pmfs2_tier_mark(struct pmfs2_sbi *sbi, uint64_t tblk)
{
	struct pmfs2_tier *t = sbi->tier;

	if (!t)
		return pmfs2_corrupt(sbi, "tier block %llu but no tier attached",
				     (unsigned long long)tblk);
	if (!tblk_ok(t, tblk))
		return pmfs2_corrupt(sbi, "tier block %llu outside the tier (%llu blocks)",
				     (unsigned long long)tblk,
				     (unsigned long long)t->nblocks);
	if (pmfs2_test_bit(t->bmap, tblk))
		return pmfs2_corrupt(sbi, "tier block %llu referenced twice",
				     (unsigned long long)tblk);
	pmfs2_set_bit(t->bmap, tblk);
	t->free--;
	return 0;
}

void pmfs2_tier_free(struct pmfs2_sbi *sbi, uint64_t tblk)
{
	struct pmfs2_tier *t = sbi->tier;

	if (!t) {
		pmfs2_corrupt(sbi, "freeing tier block %llu without a tier",
			      (unsigned long long)tblk);
		return;
	}
	pthread_mutex_lock(&t->tlock);
	if (!tblk_ok(t, tblk) || !pmfs2_test_bit(t->bmap, tblk)) {
		pthread_mutex_unlock(&t->tlock);
		pmfs2_corrupt(sbi, "freeing free tier block %llu",
			      (unsigned long long)tblk);
		return;
	}
	pmfs2_clear_bit(t->bmap, tblk);
	t->free++;
	pthread_mutex_unlock(&t->tlock);
}

/* Next-fit: consecutive calls return consecutive blocks where free. */
static int tier_alloc(struct pmfs2_tier *t, uint64_t *tblk)
{
	uint64_t nw = (t->nblocks + 63) / 64, w, word;

	pthread_mutex_lock(&t->tlock);
	if (!t->free) {
		pthread_mutex_unlock(&t->tlock);
		return -ENOSPC;
	}
	w = (t->hint >> 6) % nw;
	word = t->bmap[w] | ((1ull << (t->hint & 63)) - 1);
	for (uint64_t i = 0; i <= nw; i++) {
		if (~word) {
			uint64_t b = w * 64 + (uint64_t)__builtin_ctzll(~word);

			if (b < t->nblocks) {
				pmfs2_set_bit(t->bmap, b);
				t->free--;
				t->hint = b + 1 < t->nblocks ? b + 1 :
					  PMFS2_TIER_FIRST_BLOCK;
				pthread_mutex_unlock(&t->tlock);
				*tblk = b;
				return 0;
			}
		}
		w = (w + 1) % nw;
		word = t->bmap[w];
	}
	pthread_mutex_unlock(&t->tlock);
	return -ENOSPC;
}

void pmfs2_tier_space(struct pmfs2_sbi *sbi, uint64_t *total, uint64_t *bfree)
{
	struct pmfs2_tier *t = sbi->tier;

	*total = *bfree = 0;
	if (!t)
		return;
	pthread_mutex_lock(&t->tlock);
	*total = t->nblocks - PMFS2_TIER_FIRST_BLOCK;
	*bfree = t->free;
	pthread_mutex_unlock(&t->tlock);
}

/* ---- tier I/O ------------------------------------------------------------- */

/* Submit, reporting the first failing I/O. */
static int tier_submit(struct pmfs2_tier *t, struct zus_tier_io *ios,
		       unsigned int n)
{
	int err = t->be->submit(t->bectx, ios, n);

	for (unsigned int i = 0; !err && i < n; i++)
		err = ios[i].result;
	if (err)
		pmfs2_msg(t->sbi, ZUS_LOG_ERR,
			  "tier %s: I/O failed (%d) at byte %llu",
			  t->dev->path ? t->dev->path : "(tier)", err,
			  (unsigned long long)ios[0].dev_off);
	return err;
}

/* Largest single tier I/O: bigger runs are split so that the backend can
 * keep several in flight. */
#define IO_MAX		(256u << 10)

/* Build ios for k blocks: tier blocks tb[i] <-> buf + i * BSIZE, merging
 * runs of consecutive tier blocks.  Returns the number of ios. */
static unsigned int build_ios(struct zus_tier_io *ios, const uint64_t *tb,
			      unsigned int k, char *buf, uint32_t op)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < k; i++) {
		if (n && ios[n - 1].dev_off + ios[n - 1].len == tb[i] * BSIZE &&
		    ios[n - 1].len < IO_MAX) {
			ios[n - 1].len += (uint32_t)BSIZE;
			continue;
		}
		ios[n++] = (struct zus_tier_io){
			.dev_off = tb[i] * BSIZE, .buf = buf + i * BSIZE,
			.len = (uint32_t)BSIZE, .op = op,
		};
	}
	return n;
}

/* ---- hotness and the promotion queue ------------------------------------ */

void pmfs2_tier_touch(struct pmfs2_sbi *sbi, uint64_t ino, uint64_t lblk,
		      uint64_t n)
{
	struct pmfs2_tier *t = sbi->tier;

	if (!t || !n)
		return;
	for (uint64_t c = lblk >> PMFS2_HOT_CHUNK_SHIFT;
	     c <= (lblk + n - 1) >> PMFS2_HOT_CHUNK_SHIFT; c++)
		pmfs2_hot_touch(t->hot, ino, c, 1);
}

static void queue_promotion(struct pmfs2_tier *t, uint64_t ino,
			    uint64_t chunk)
{
	pthread_mutex_lock(&t->q_lock);
	for (unsigned int i = 0; i < t->npq; i++) {
		if (t->pq[i].ino == ino && t->pq[i].chunk == chunk) {
			pthread_mutex_unlock(&t->q_lock);
			return;
		}
	}
	if (t->npq < PQ_MAX) {
		t->pq[t->npq++] = (struct pq_ent){ ino, chunk };
		t->kicked = true;
		pthread_cond_signal(&t->q_cond);
	}
	pthread_mutex_unlock(&t->q_lock);
}

void pmfs2_tier_kick(struct pmfs2_sbi *sbi)
{
	struct pmfs2_tier *t = sbi->tier;

	if (!t || !t->thread_on || pmem_free(sbi) >= t->low_blocks)
		return;
	pthread_mutex_lock(&t->q_lock);
	t->kicked = true;
	pthread_cond_signal(&t->q_cond);
	pthread_mutex_unlock(&t->q_lock);
}

/* ---- cold reads ------------------------------------------------------------ */

#define READ_RUN	64	/* blocks per cold read I/O */

int pmfs2_tier_read(struct pmfs2_sbi *sbi, uint64_t ino,
		    const struct pmfs2_inode *pi, uint64_t off, uint64_t end,
		    char *dst, uint64_t *n)
{
	struct pmfs2_tier *t = sbi->tier;
	uint64_t lblk = off >> PMFS2_BLOCK_SHIFT, boff = off & (BSIZE - 1);
	uint64_t tb[READ_RUN], bytes;
	struct zus_tier_io io[READ_RUN * BSIZE / IO_MAX + 1];
	unsigned int nio;
	unsigned int k = 0;
	bool from_be;
	char *buf;
	int err;

	*n = 0;
	if (!t)
		return pmfs2_corrupt(sbi, "inode %llu: tier data but no tier",
				     (unsigned long long)ino);
	while (k < READ_RUN && ((lblk + k) << PMFS2_BLOCK_SHIFT) < end) {
		uint64_t ptr;

		err = pmfs2_bmap_lookup_ptr(sbi, pi, lblk + k, &ptr);
		if (err)
			return err;
		if (!(ptr & PMFS2_PTR_TIER))
			break;
		ptr &= PMFS2_PTR_BLOCK_MASK;
		if (!tblk_ok(t, ptr))
			return pmfs2_corrupt(sbi, "inode %llu: tier block %llu out of range",
					     (unsigned long long)ino,
					     (unsigned long long)ptr);
		if (k && ptr != tb[k - 1] + 1)
			break;
		tb[k++] = ptr;
	}
	if (!k)
		return -EIO;	/* the caller saw a tier pointer: raced */
	bytes = ((lblk + k) << PMFS2_BLOCK_SHIFT) - off;
	if (off + bytes > end)
		bytes = end - off;
	err = -EFAULT;
	if (!boff && bytes == k * BSIZE && !((uintptr_t)dst & (BSIZE - 1)) &&
	    !__atomic_load_n(&t->bounce_reads, __ATOMIC_RELAXED)) {
		/* straight into the caller's buffer */
		nio = build_ios(io, tb, k, dst, ZUS_TIER_READ);
		err = t->be->submit(t->bectx, io, nio);
		for (unsigned int i = 0; !err && i < nio; i++)
			err = io[i].result;
		/*
		 * zuf's data window is a PFN mapping of the application's
		 * pages: O_DIRECT cannot target it.  Bounce from now on.
		 */
		if (err == -EFAULT)
			__atomic_store_n(&t->bounce_reads, true,
					 __ATOMIC_RELAXED);
		else if (err)
			err = tier_submit(t, io, nio);	/* again, logged */
	}
	if (err == -EFAULT) {
		buf = buf_get(t, k * BSIZE, &from_be);
		if (!buf)
			return -ENOMEM;
		nio = build_ios(io, tb, k, buf, ZUS_TIER_READ);
		err = tier_submit(t, io, nio);
		if (!err)
			memcpy(dst, buf + boff, bytes);
		buf_put(t, buf, from_be);
	}
	if (err)
		return err;
	*n = bytes;
	stat_add(&t->cold_reads, 1);
	stat_add(&t->cold_read_bytes, bytes);
	for (uint64_t c = lblk >> PMFS2_HOT_CHUNK_SHIFT;
	     c <= (lblk + k - 1) >> PMFS2_HOT_CHUNK_SHIFT; c++)
		if (pmfs2_hot_temp(t->hot, ino, c) >= PROMOTE_TEMP)
			queue_promotion(t, ino, c);
	return 0;
}

/* ---- promotion ------------------------------------------------------------- */

/*
 * Bring the tier blocks among [first, first + nb) of ino back to pmem.  The
 * caller holds ino's write lock.  *done: blocks promoted.
 */
static int promote_range(struct pmfs2_tier *t, uint64_t ino,
			 struct pmfs2_inode *pi, uint64_t first, uint64_t nb,
			 uint64_t held, uint64_t *done)
{
	struct pmfs2_sbi *sbi = t->sbi;
	uint64_t *slot[PMFS2_TIER_BATCH];
	uint64_t tb[PMFS2_TIER_BATCH], pb[PMFS2_TIER_BATCH];
	struct zus_tier_io ios[PMFS2_TIER_BATCH];
	uint64_t lblk = first, end = first + nb;
	int err = 0;

	*done = 0;
	while (!err && lblk < end) {
		unsigned int k = 0, nio;
		bool from_be;
		char *buf;

		/* a batch of tier pointers, each with a fresh pmem block */
		for (; lblk < end && k < PMFS2_TIER_BATCH; lblk++) {
			uint64_t *s, v, b;

			err = pmfs2_bmap_next(sbi, pi, lblk, end, true, &lblk);
			if (err || lblk >= end)
				break;
			err = pmfs2_bmap_slot(sbi, pi, lblk, &s);
			if (err)
				break;
			v = s ? __atomic_load_n(s, __ATOMIC_ACQUIRE) : 0;
			if (!(v & PMFS2_PTR_TIER))
				continue;
			v &= PMFS2_PTR_BLOCK_MASK;
			if (!tblk_ok(t, v)) {
				err = pmfs2_corrupt(sbi, "inode %llu: tier block %llu out of range",
						    (unsigned long long)ino,
						    (unsigned long long)v);
				break;
			}
			err = pmfs2_alloc_block_notx(sbi, &b);
			if (err == -ENOSPC && held != UINT64_MAX &&
			    !pmfs2_tier_make_room(sbi, held, 1))
				err = pmfs2_alloc_block_notx(sbi, &b);
			if (err)
				break;
			slot[k] = s;
			tb[k] = v;
			pb[k++] = b;
		}
		if (!k)
			break;
		buf = buf_get(t, k * BSIZE, &from_be);
		if (!buf) {
			err = -ENOMEM;
		} else {
			nio = build_ios(ios, tb, k, buf, ZUS_TIER_READ);
			err = tier_submit(t, ios, nio);
		}
		if (err) {
			buf_put(t, buf, from_be);
			for (unsigned int i = 0; i < k; i++)
				pmfs2_free_block(sbi, pb[i]);
			break;
		}
		/* data durable on pmem, then the pointers, then free */
		for (unsigned int i = 0; i < k; i++)
			zus_pmem_memcpy_nt(sbi->pm, pmfs2_blk(sbi, pb[i]),
					   buf + i * BSIZE, BSIZE);
		zus_pmem_fence(sbi->pm);
		buf_put(t, buf, from_be);
		for (unsigned int i = 0; i < k; i++) {
			zus_pmem_store64(slot[i], pb[i]);
			zus_pmem_flush(sbi->pm, slot[i], 8);
		}
		zus_pmem_fence(sbi->pm);
		for (unsigned int i = 0; i < k; i++)
			pmfs2_tier_free(sbi, tb[i]);
		*done += k;
		stat_add(&t->promotions, 1);
		stat_add(&t->promoted_bytes, k * BSIZE);
	}
	return err;
}

int pmfs2_bmap_lookup_w(struct pmfs2_sbi *sbi, struct pmfs2_inode *pi,
			uint64_t lblk, uint64_t held, uint64_t *blk)
{
	uint64_t ptr, done;
	int err;

	err = pmfs2_bmap_lookup_ptr(sbi, pi, lblk, &ptr);
	if (err || !(ptr & PMFS2_PTR_TIER)) {
		*blk = err ? 0 : ptr;
		return err;
	}
	*blk = 0;
	if (!sbi->tier)
		return pmfs2_corrupt(sbi, "tier pointer but no tier attached");
	err = promote_range(sbi->tier, pmfs2_ino_of(sbi, pi), pi, lblk, 1,
			    held, &done);
	if (!err)
		err = pmfs2_bmap_lookup_ptr(sbi, pi, lblk, &ptr);
	if (!err && (ptr & PMFS2_PTR_TIER))
		err = -EIO;
	if (!err)
		*blk = ptr;
	return err;
}

int pmfs2_tier_prepare_write(struct pmfs2_sbi *sbi, uint64_t ino,
			     struct pmfs2_inode *pi, uint64_t off,
			     uint64_t len)
{
	struct pmfs2_tier *t = sbi->tier;
	uint64_t first = off >> PMFS2_BLOCK_SHIFT, nb, done;
	int err;

	if (!t || !len)
		return 0;
	nb = ((off + len - 1) >> PMFS2_BLOCK_SHIFT) - first + 1;
	pmfs2_tier_touch(sbi, ino, first, nb);
	err = promote_range(t, ino, pi, first, nb, ino, &done);
	if (err)
		return err;
	/* the data blocks plus worst-case index blocks */
	(void)pmfs2_tier_make_room(sbi, ino, nb + 2 * PMFS2_MAX_HEIGHT);
	return 0;
}

/* ---- migration ------------------------------------------------------------- */

struct cand {
	uint64_t ino, lblk, pblk, tblk;
};

struct mig {
	struct pmfs2_tier *t;
	uint64_t held;			/* inode whose stripe we hold, or 0 */
	uint32_t thresh;		/* hottest chunk temperature moved */
	unsigned int k;
	struct cand c[PMFS2_TIER_BATCH];
	bool wrapped;
};

static pthread_rwlock_t *stripe(struct pmfs2_sbi *sbi, uint64_t ino)
{
	return &sbi->ilock[ino % PMFS2_ILOCK_STRIPES];
}

static bool held_stripe(struct mig *m, uint64_t ino)
{
	return m->held &&
	       ino % PMFS2_ILOCK_STRIPES == m->held % PMFS2_ILOCK_STRIPES;
}

static bool try_lock(struct mig *m, uint64_t ino, bool wr)
{
	pthread_rwlock_t *l = stripe(m->t->sbi, ino);

	if (held_stripe(m, ino))
		return true;
	for (unsigned int i = 0; i < (wr ? LOCK_TRIES : 1); i++) {
		if (!(wr ? pthread_rwlock_trywrlock(l) :
		      pthread_rwlock_tryrdlock(l)))
			return true;
		sched_yield();
	}
	return false;
}

static void unlock(struct mig *m, uint64_t ino)
{
	if (!held_stripe(m, ino))
		pthread_rwlock_unlock(stripe(m->t->sbi, ino));
}

/* A regular file whose data may be on the tier (height >= 1). */
static bool migratable(const struct pmfs2_inode *pi)
{
	uint64_t map = __atomic_load_n(&pi->map, __ATOMIC_RELAXED);

	return S_ISREG(__atomic_load_n(&pi->mode, __ATOMIC_RELAXED)) &&
	       map && pmfs2_map_height(map) >= 1 &&
	       pmfs2_map_height(map) <= PMFS2_MAX_HEIGHT;
}

/* Collect cold pmem blocks of ino from lblk on, under its read lock. */
static int collect_inode(struct mig *m, uint64_t ino, struct pmfs2_inode *pi,
			 uint64_t *lblk)
{
	struct pmfs2_tier *t = m->t;
	struct pmfs2_sbi *sbi = t->sbi;
	uint64_t span = pmfs2_map_span(pmfs2_map_height(pi->map));
	uint64_t chunk = UINT64_MAX;
	bool cold = false;
	int err;

	while (m->k < PMFS2_TIER_BATCH) {
		uint64_t l, ptr;

		err = pmfs2_bmap_next(sbi, pi, *lblk, span, true, &l);
		if (err)
			return err;
		if (l >= span) {
			*lblk = span;
			return 0;
		}
		if (l >> PMFS2_HOT_CHUNK_SHIFT != chunk) {
			chunk = l >> PMFS2_HOT_CHUNK_SHIFT;
			cold = pmfs2_hot_temp(t->hot, ino, chunk) <= m->thresh;
		}
		if (!cold) {
			*lblk = (chunk + 1) << PMFS2_HOT_CHUNK_SHIFT;
			continue;
		}
		*lblk = l + 1;
		err = pmfs2_bmap_lookup_ptr(sbi, pi, l, &ptr);
		if (err)
			return err;
		if (!ptr || (ptr & PMFS2_PTR_TIER))
			continue;
		memcpy(t->stage + m->k * BSIZE, pmfs2_blk(sbi, ptr), BSIZE);
		m->c[m->k++] = (struct cand){ .ino = ino, .lblk = l,
					      .pblk = ptr };
	}
	return 0;
}

/* Fill m->c from the scan cursor; one full turn over the inodes at most. */
static int collect(struct mig *m)
{
	struct pmfs2_tier *t = m->t;
	struct pmfs2_sbi *sbi = t->sbi;
	uint64_t count = sbi->s.inode_count;
	int err = 0;

	for (uint64_t visited = 0; visited < count && m->k < PMFS2_TIER_BATCH;
	     visited++) {
		uint64_t ino = t->cur_ino;
		struct pmfs2_inode *pi;

		if (ino < 1 || ino >= count) {
			t->cur_ino = 1;
			t->cur_lblk = 0;
			m->wrapped = true;
			continue;
		}
		pi = pmfs2_inode_at(sbi->pm, &sbi->s, ino);
		if (pi && migratable(pi) && try_lock(m, ino, false)) {
			if (migratable(pi))
				err = collect_inode(m, ino, pi, &t->cur_lblk);
			unlock(m, ino);
			if (err)
				return err;
			if (m->k >= PMFS2_TIER_BATCH)
				return 0;	/* resume inside this inode */
		}
		t->cur_ino = ino + 1;
		t->cur_lblk = 0;
	}
	return 0;
}

/*
 * Flip the candidates of one inode, c[from..to), under its write lock.
 *
 * The host's extent cache (zuf: the kernel copies to and from pmem blocks
 * it got from get_extents, and maps them into applications) must let go
 * of the old blocks before they are freed, and a store through it must not
 * land in a block after its content was compared.  So, with the write lock
 * held (get_extents cannot hand the blocks out again meanwhile):
 * zus_invalidate() first (the host drops the extents, zaps DAX mappings and
 * waits until no copy or fault still uses them), then compare and flip;
 * the caller frees the pmem blocks only after that.  Nothing can write a
 * block after the compare, and no host user is left when it is freed and
 * reallocated to another file.  The host never waits for a plugin call in
 * zus_invalidate, so holding the lock is safe.  If it cannot get rid of a
 * user (-EBUSY), nothing of the inode moves this time.
 */
static void flip_inode(struct mig *m, unsigned int from, unsigned int to,
		       bool *flipped)
{
	struct pmfs2_tier *t = m->t;
	struct pmfs2_sbi *sbi = t->sbi;
	uint64_t ino = m->c[from].ino;
	struct pmfs2_inode *pi = pmfs2_inode_at(sbi->pm, &sbi->s, ino);
	uint64_t lo = UINT64_MAX, hi = 0;
	bool any = false;

	if (!pi || !try_lock(m, ino, true))
		return;
	for (unsigned int i = from; i < to; i++) {
		lo = m->c[i].lblk < lo ? m->c[i].lblk : lo;
		hi = m->c[i].lblk + 1 > hi ? m->c[i].lblk + 1 : hi;
	}
	if (zus_invalidate(sbi->zsb, ino, lo << PMFS2_BLOCK_SHIFT,
			   (hi - lo) << PMFS2_BLOCK_SHIFT)) {
		stat_add(&t->inval_busy, 1);
		unlock(m, ino);
		return;
	}
	if (!pmfs2_ro(sbi) && migratable(pi)) {
		for (unsigned int i = from; i < to; i++) {
			struct cand *c = &m->c[i];
			uint64_t *s;
			bool fresh;

			if (pmfs2_bmap_slot(sbi, pi, c->lblk, &s) || !s ||
			    __atomic_load_n(s, __ATOMIC_ACQUIRE) != c->pblk)
				continue;
			pthread_mutex_lock(&sbi->alloc_lock);
			fresh = pmfs2_test_bit(sbi->txnew, c->pblk);
			pthread_mutex_unlock(&sbi->alloc_lock);
			if (fresh || memcmp(pmfs2_blk(sbi, c->pblk),
					    t->stage + i * BSIZE, BSIZE))
				continue;	/* rewritten meanwhile */
			zus_pmem_store64(s, c->tblk | PMFS2_PTR_TIER);
			zus_pmem_flush(sbi->pm, s, 8);
			flipped[i] = any = true;
		}
		if (any)
			zus_pmem_fence(sbi->pm);
	}
	unlock(m, ino);
}

/* One batch: collect, write to the tier, flip, free.  Returns blocks moved. */
static int64_t migrate_batch(struct mig *m)
{
	struct pmfs2_tier *t = m->t;
	struct pmfs2_sbi *sbi = t->sbi;
	struct zus_tier_io ios[PMFS2_TIER_BATCH];
	uint64_t tb[PMFS2_TIER_BATCH];
	bool flipped[PMFS2_TIER_BATCH] = { false };
	unsigned int k, nio, moved = 0;
	int64_t t0 = mono_ns();
	int err;

	m->k = 0;
	err = collect(m);
	if (err)
		return err;
	k = m->k;
	if (!k)
		return 0;
	for (unsigned int i = 0; i < k; i++) {
		err = tier_alloc(t, &m->c[i].tblk);
		if (err) {
			while (i--)
				pmfs2_tier_free(sbi, m->c[i].tblk);
			return err;
		}
		tb[i] = m->c[i].tblk;
	}
	nio = build_ios(ios, tb, k, t->stage, ZUS_TIER_WRITE);
	err = tier_submit(t, ios, nio);
	if (err) {
		for (unsigned int i = 0; i < k; i++)
			pmfs2_tier_free(sbi, tb[i]);
		return err;
	}
	/* the tier copy is durable: flip, inode by inode */
	for (unsigned int i = 0; i < k;) {
		unsigned int j = i + 1;

		while (j < k && m->c[j].ino == m->c[i].ino)
			j++;
		flip_inode(m, i, j, flipped);
		i = j;
	}
	/* the flips are durable: free the pmem copies (or the unused tier
	 * copies of blocks that changed meanwhile) */
	for (unsigned int i = 0; i < k; i++) {
		if (flipped[i]) {
			pmfs2_free_block(sbi, m->c[i].pblk);
			pmfs2_hot_forget(t->hot, m->c[i].ino,
					 m->c[i].lblk >> PMFS2_HOT_CHUNK_SHIFT);
			moved++;
		} else {
			pmfs2_tier_free(sbi, tb[i]);
		}
	}
	for (unsigned int i = 0; i < nio; i++) {
		bool any = false;

		/* one extent per merged I/O that moved at least a block */
		for (unsigned int b = 0; b < k; b++)
			if (flipped[b] && tb[b] * BSIZE >= ios[i].dev_off &&
			    tb[b] * BSIZE < ios[i].dev_off + ios[i].len)
				any = true;
		if (any)
			stat_add(&t->migrations, 1);
	}
	stat_add(&t->migrated_bytes, moved * BSIZE);
	stat_add(&t->migrate_ns, (uint64_t)(mono_ns() - t0));
	return moved;
}

/*
 * Migrate until `goal` pmem blocks are free or `budget` blocks moved; the
 * caller holds run_lock.  Colder chunks go first: a full turn over the
 * inodes that finds too little makes everything colder (decay) and allows
 * hotter chunks, until anything goes.
 */
static int64_t migrate(struct pmfs2_tier *t, uint64_t held, uint64_t goal,
		       uint64_t budget)
{
	struct mig *m = calloc(1, sizeof(*m));
	unsigned int sweeps = 0;
	int64_t total = 0, n;

	if (!m)
		return -ENOMEM;
	m->t = t;
	m->held = held;
	__atomic_store_n(&t->migrating, 1, __ATOMIC_RELAXED);
	while ((uint64_t)total < budget && pmem_free(t->sbi) < goal &&
	       !pmfs2_ro(t->sbi)) {
		m->wrapped = false;
		n = migrate_batch(m);
		if (n < 0) {
			if (!total)
				total = n;
			break;
		}
		total += n;
		if (m->wrapped && !n) {
			if (++sweeps > MAX_SWEEPS)
				break;
			pmfs2_hot_decay(t->hot);
			m->thresh = m->thresh ? m->thresh * 2 : 1;
			if (sweeps > MAX_SWEEPS / 2)
				m->thresh = UINT32_MAX;
		}
	}
	__atomic_store_n(&t->migrating, 0, __ATOMIC_RELAXED);
	free(m);
	return total;
}

int pmfs2_tier_make_room(struct pmfs2_sbi *sbi, uint64_t held, uint64_t need)
{
	struct pmfs2_tier *t = sbi->tier;
	uint64_t goal;

	if (!t || pmfs2_ro(sbi))
		return -ENOSPC;
	need += t->reserve;
	if (pmem_free(sbi) >= need)
		return 0;
	/* without the thread, refill to the low watermark in one go */
	goal = t->thread_on ? need : (need > t->low_blocks ? need :
				      t->low_blocks);
	pthread_mutex_lock(&t->run_lock);
	if (pmem_free(sbi) < need)
		(void)migrate(t, held, goal, UINT64_MAX);
	pthread_mutex_unlock(&t->run_lock);
	return pmem_free(sbi) >= need - t->reserve ? 0 : -ENOSPC;
}

int64_t pmfs2_tier_migrate(struct pmfs2_sbi *sbi, uint64_t n)
{
	struct pmfs2_tier *t = sbi->tier;
	int64_t r;

	if (!t)
		return -ENODEV;
	if (pmfs2_ro(sbi))
		return -EROFS;
	pthread_mutex_lock(&t->run_lock);
	r = migrate(t, 0, UINT64_MAX, n);
	pthread_mutex_unlock(&t->run_lock);
	return r;
}

/* ---- the migrator ---------------------------------------------------------- */

static void run_promotions(struct pmfs2_tier *t)
{
	struct pmfs2_sbi *sbi = t->sbi;

	for (;;) {
		uint64_t span = 1ull << PMFS2_HOT_CHUNK_SHIFT, done;
		struct mig m = { .t = t };
		struct pmfs2_inode *pi;
		struct pq_ent e;

		pthread_mutex_lock(&t->q_lock);
		if (!t->npq) {
			pthread_mutex_unlock(&t->q_lock);
			return;
		}
		e = t->pq[0];
		memmove(&t->pq[0], &t->pq[1], --t->npq * sizeof(t->pq[0]));
		pthread_mutex_unlock(&t->q_lock);
		/* never promote into the low watermark: it would thrash */
		if (pmfs2_ro(sbi) ||
		    pmem_free(sbi) < t->low_blocks + span + t->reserve)
			continue;
		pi = pmfs2_inode_at(sbi->pm, &sbi->s, e.ino);
		if (!pi || !try_lock(&m, e.ino, true))
			continue;
		done = 0;
		if (migratable(pi)) {
			/* held = UINT64_MAX: never migrate to make room */
			(void)promote_range(t, e.ino, pi,
					    e.chunk << PMFS2_HOT_CHUNK_SHIFT,
					    span, UINT64_MAX, &done);
			/* keep it hot for a while */
			if (done)
				pmfs2_hot_touch(t->hot, e.ino, e.chunk,
						PROMOTE_TEMP);
		}
		unlock(&m, e.ino);
		/*
		 * The host may remember the chunk as off pmem (no address,
		 * served through read/write): let it see the new pmem blocks.
		 * Not needed for safety (the tier blocks are no host's), so
		 * after the unlock.
		 */
		if (done)
			(void)zus_invalidate(sbi->zsb, e.ino,
					     (e.chunk << PMFS2_HOT_CHUNK_SHIFT)
					     << PMFS2_BLOCK_SHIFT,
					     span << PMFS2_BLOCK_SHIFT);
	}
}

int pmfs2_tier_run(struct pmfs2_sbi *sbi)
{
	struct pmfs2_tier *t = sbi->tier;
	int64_t n = 0;

	if (!t)
		return -ENODEV;
	if (pmfs2_ro(sbi))
		return 0;
	run_promotions(t);
	pthread_mutex_lock(&t->run_lock);
	if (pmem_free(sbi) < t->low_blocks)
		n = migrate(t, 0, t->high_blocks, UINT64_MAX);
	pthread_mutex_unlock(&t->run_lock);
	return n < 0 ? (int)n : 0;
}

static void *migrator(void *arg)
{
	struct pmfs2_tier *t = arg;

	pthread_mutex_lock(&t->q_lock);
	while (!t->stop) {
		struct timespec ts;
		int64_t now;

		if (!t->kicked) {
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += 1;
			pthread_cond_timedwait(&t->q_cond, &t->q_lock, &ts);
		}
		t->kicked = false;
		if (t->stop)
			break;
		pthread_mutex_unlock(&t->q_lock);
		now = mono_ns();
		if (now - t->last_decay >= DECAY_NS) {
			pmfs2_hot_decay(t->hot);
			t->last_decay = now;
		}
		(void)pmfs2_tier_run(t->sbi);
		pthread_mutex_lock(&t->q_lock);
	}
	pthread_mutex_unlock(&t->q_lock);
	return NULL;
}

/* ---- status ---------------------------------------------------------------- */

int pmfs2_tier_status(struct zus_sb *zsb, struct zus_tier_status *st)
{
	struct pmfs2_sbi *sbi = PMFS2_SBI(zsb);
	struct pmfs2_tier *t = sbi->tier;
	uint64_t total, bfree, ns;

	memset(st, 0, sizeof(*st));
	st->pmem_bytes = (pmfs2_data_end(&sbi->s) - sbi->s.data_start) * BSIZE;
	st->pmem_free_bytes = pmem_free(sbi) * BSIZE;
	if (!t)
		return -ENODEV;
	snprintf(st->backend, sizeof(st->backend), "%s", t->be->name);
	st->ntier = 1;
	st->low_pct = t->low_pct;
	st->high_pct = t->high_pct;
	st->migrating = __atomic_load_n(&t->migrating, __ATOMIC_RELAXED);
	pmfs2_tier_space(sbi, &total, &bfree);
	st->tier_bytes = total * BSIZE;
	st->tier_free_bytes = bfree * BSIZE;
	st->migrations = stat_get(&t->migrations);
	st->migrated_bytes = stat_get(&t->migrated_bytes);
	st->promotions = stat_get(&t->promotions);
	st->promoted_bytes = stat_get(&t->promoted_bytes);
	st->cold_reads = stat_get(&t->cold_reads);
	st->cold_read_bytes = stat_get(&t->cold_read_bytes);
	ns = stat_get(&t->migrate_ns);
	st->migrate_ns = ns;
	st->migrate_bytes_per_sec = ns ? (uint64_t)((double)st->migrated_bytes *
						    1e9 / (double)ns) : 0;
	if (t->be->stats)
		t->be->stats(t->bectx, &st->io);
	return 0;
}

/* ---- mount ----------------------------------------------------------------- */

/* Attach dev and check its header against devs[idx]; 0 if it is ours. */
static int probe(struct pmfs2_tier *t, struct zus_tier_dev *dev,
		 unsigned int idx, void **ctx)
{
	struct pmfs2_sbi *sbi = t->sbi;
	const struct pmfs2_devent *de = &sbi->s.devs[idx];
	struct pmfs2_tier_header *h;
	struct zus_tier_io io;
	char want[37], got_fs[37], got_dev[37], fs[37];
	const char *path = dev->path ? dev->path : "(tier)";
	int err;

	*ctx = NULL;
	err = t->be->attach(dev, t->qd, ctx);
	if (err) {
		pmfs2_msg(sbi, ZUS_LOG_ERR, "tier %s: cannot attach with backend %s: %s",
			  path, t->be->name, strerror(-err));
		return err;
	}
	if (posix_memalign((void **)&h, PMFS2_BLOCK_SIZE, BSIZE)) {
		err = -ENOMEM;
		goto fail;
	}
	io = (struct zus_tier_io){ .dev_off = 0, .buf = h, .len = BSIZE,
				   .op = ZUS_TIER_READ };
	err = t->be->submit(*ctx, &io, 1);
	if (!err)
		err = io.result;
	if (err) {
		pmfs2_msg(sbi, ZUS_LOG_ERR, "tier %s: cannot read its header: %s",
			  path, strerror(-err));
		free(h);
		goto fail;
	}
	err = pmfs2_tier_header_check(h, &sbi->s, idx);
	uuid_str(de->uuid, want);
	uuid_str(sbi->s.uuid, fs);
	uuid_str(h->fs_uuid, got_fs);
	uuid_str(h->dev_uuid, got_dev);
	if (err == -EINVAL)
		pmfs2_msg(sbi, ZUS_LOG_ERR,
			  "tier %s is not a pmfs2 tier (expected tier UUID %s)",
			  path, want);
	else if (err == -EUCLEAN)
		pmfs2_msg(sbi, ZUS_LOG_ERR,
			  "tier %s: damaged header (expected tier UUID %s)",
			  path, want);
	else if (err)
		pmfs2_msg(sbi, ZUS_LOG_ERR,
			  "tier %s is foreign: it belongs to filesystem %s as device %s; expected filesystem %s, tier UUID %s",
			  path, got_fs, got_dev, fs, want);
	free(h);
	if (err)
		goto fail;
	/* the device must really hold the size the superblock records */
	if (de->size >= 2 * BSIZE) {
		char *b;

		if (posix_memalign((void **)&b, PMFS2_BLOCK_SIZE, BSIZE)) {
			err = -ENOMEM;
			goto fail;
		}
		io = (struct zus_tier_io){
			.dev_off = (de->size / BSIZE - 1) * BSIZE, .buf = b,
			.len = BSIZE, .op = ZUS_TIER_READ };
		err = t->be->submit(*ctx, &io, 1);
		if (!err)
			err = io.result;
		free(b);
		if (err) {
			pmfs2_msg(sbi, ZUS_LOG_ERR,
				  "tier %s (UUID %s) is smaller than the %llu bytes recorded",
				  path, want, (unsigned long long)de->size);
			err = -ENOSPC;
			goto fail;
		}
	}
	return 0;
fail:
	t->be->detach(*ctx);
	*ctx = NULL;
	return err;
}

static void tier_free_all(struct pmfs2_tier *t)
{
	if (t->stage)
		buf_put(t, t->stage, t->stage_be);
	if (t->bectx)
		t->be->detach(t->bectx);
	pmfs2_hot_fini(t->hot);
	free(t->bmap);
	pthread_mutex_destroy(&t->tlock);
	pthread_mutex_destroy(&t->run_lock);
	pthread_mutex_destroy(&t->q_lock);
	pthread_cond_destroy(&t->q_cond);
	free(t);
}

int pmfs2_tier_init(struct pmfs2_sbi *sbi)
{
	struct zus_sb *zsb = sbi->zsb;
	const struct pmfs2_super *s = &sbi->s;
	unsigned int idx = 0, ntier = 0, foreign = 0;
	struct pmfs2_tier *t;
	char want[37], hint[64] = "";
	int err;

	for (unsigned int i = 1; i < s->ndevs && i < PMFS2_MAX_DEVS; i++) {
		if (s->devs[i].role == PMFS2_DEV_TIER) {
			ntier++;
			if (!idx)
				idx = i;
		}
	}
	if (!(s->feature_incompat & PMFS2_FEATURE_INCOMPAT_TIER) || !ntier) {
		if (zsb->ntier)
			pmfs2_msg(sbi, ZUS_LOG_NOTICE,
				  "%u tier devices given but the filesystem has no tier: ignored",
				  zsb->ntier);
		return 0;
	}
	uuid_str(s->devs[idx].uuid, want);
	if (s->devs[idx].hint[0])
		snprintf(hint, sizeof(hint), ", mkfs path %.40s",
			 s->devs[idx].hint);
	if (ntier > 1) {
		pmfs2_msg(sbi, ZUS_LOG_ERR,
			  "%u tier devices recorded: this version serves one", ntier);
		return -EOPNOTSUPP;
	}
	if (s->devs[idx].size < 2 * BSIZE ||
	    (s->devs[idx].size >> PMFS2_BLOCK_SHIFT) > PMFS2_PTR_BLOCK_MASK)
		return pmfs2_corrupt(sbi, "tier device size %llu out of range",
				     (unsigned long long)s->devs[idx].size);
	if (!zsb->tier_backend) {
		pmfs2_msg(sbi, ZUS_LOG_ERR,
			  "the filesystem has a tier (UUID %s%s) but no tier backend is loaded",
			  want, hint);
		return -ENODEV;
	}
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->sbi = sbi;
	t->be = zsb->tier_backend;
	t->devidx = idx;
	t->low_pct = sbi->opts.tier_low;
	t->high_pct = sbi->opts.tier_high;
	t->use_thread = sbi->opts.tier_thread;
	t->qd = sbi->opts.tier_qd;
	pthread_mutex_init(&t->tlock, NULL);
	pthread_mutex_init(&t->run_lock, NULL);
	pthread_mutex_init(&t->q_lock, NULL);
	pthread_cond_init(&t->q_cond, NULL);
	for (unsigned int j = 0; j < zsb->ntier && !t->bectx; j++) {
		err = probe(t, &zsb->tier[j], idx, &t->bectx);
		if (!err)
			t->dev = &zsb->tier[j];
		else if (err == -ESTALE)
			foreign++;
	}
	if (!t->bectx) {
		pmfs2_msg(sbi, ZUS_LOG_ERR,
			  "tier device with UUID %s%s not found among the %u tier device(s) given: mount refused",
			  want, hint, zsb->ntier);
		err = foreign ? -ESTALE : -ENODEV;
		goto fail;
	}
	t->nblocks = s->devs[idx].size >> PMFS2_BLOCK_SHIFT;
	t->bmap = calloc((t->nblocks + 63) / 64, 8);
	err = -ENOMEM;
	if (!t->bmap)
		goto fail;
	for (uint64_t b = 0; b < PMFS2_TIER_FIRST_BLOCK; b++)
		pmfs2_set_bit(t->bmap, b);
	for (uint64_t b = t->nblocks; b < (t->nblocks + 63) / 64 * 64; b++)
		pmfs2_set_bit(t->bmap, b);
	t->free = t->nblocks - PMFS2_TIER_FIRST_BLOCK;
	t->hint = PMFS2_TIER_FIRST_BLOCK;
	err = pmfs2_hot_init(&t->hot, HOT_BUCKETS_LOG2);
	if (err)
		goto fail;
	t->stage = buf_get(t, PMFS2_TIER_BATCH * BSIZE, &t->stage_be);
	if (!t->stage) {
		err = -ENOMEM;
		goto fail;
	}
	t->data_blocks = pmfs2_data_end(s) - s->data_start;
	t->low_blocks = t->data_blocks * t->low_pct / 100;
	t->high_blocks = t->data_blocks * t->high_pct / 100;
	/* pmem kept for metadata: index, directory and xattr blocks */
	t->reserve = t->data_blocks / 100 + 2 * PMFS2_MAX_HEIGHT;
	t->cur_ino = 1;
	t->last_decay = mono_ns();
	sbi->tier = t;
	pmfs2_msg(sbi, ZUS_LOG_INFO,
		  "tier %s (UUID %s): %llu MiB via %s, watermarks %u%%/%u%%",
		  t->dev->path ? t->dev->path : "(tier)", want,
		  (unsigned long long)(t->nblocks >> 8), t->be->name,
		  t->low_pct, t->high_pct);
	return 0;
fail:
	tier_free_all(t);
	return err;
}

int pmfs2_tier_start(struct pmfs2_sbi *sbi)
{
	struct pmfs2_tier *t = sbi->tier;
	int err;

	if (!t || !t->use_thread || t->thread_on || sbi->ro)
		return 0;
	pthread_mutex_lock(&t->q_lock);
	t->stop = false;	/* a remount may restart a stopped migrator */
	pthread_mutex_unlock(&t->q_lock);
	err = pthread_create(&t->thread, NULL, migrator, t);
	if (err) {
		pmfs2_msg(sbi, ZUS_LOG_ERR, "cannot start the migrator: %s",
			  strerror(err));
		return -err;
	}
	t->thread_on = true;
	return 0;
}

void pmfs2_tier_stop(struct pmfs2_sbi *sbi)
{
	struct pmfs2_tier *t = sbi->tier;

	if (!t || !t->thread_on)
		return;
	pthread_mutex_lock(&t->q_lock);
	t->stop = true;
	pthread_cond_signal(&t->q_cond);
	pthread_mutex_unlock(&t->q_lock);
	pthread_join(t->thread, NULL);
	t->thread_on = false;
}

void pmfs2_tier_set_marks(struct pmfs2_sbi *sbi, unsigned int low_pct,
			  unsigned int high_pct)
{
	struct pmfs2_tier *t = sbi->tier;

	if (!t || (t->low_pct == low_pct && t->high_pct == high_pct))
		return;
	t->low_pct = low_pct;
	t->high_pct = high_pct;
	t->low_blocks = t->data_blocks * low_pct / 100;
	t->high_blocks = t->data_blocks * high_pct / 100;
	pmfs2_msg(sbi, ZUS_LOG_INFO, "tier watermarks now %u%%/%u%%",
		  low_pct, high_pct);
}

void pmfs2_tier_fini(struct pmfs2_sbi *sbi)
{
	struct pmfs2_tier *t = sbi->tier;

	if (!t)
		return;
	pmfs2_tier_stop(sbi);
	sbi->tier = NULL;
	tier_free_all(t);
}
