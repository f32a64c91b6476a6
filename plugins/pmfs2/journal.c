// SPDX-License-Identifier: BSD-2-Clause
/*
 * journal.c - undo-journal transactions (protocol in pmfs2_format.h).
 *
 * One transaction at a time (tx_lock).  The head is written lazily with the
 * first record: a head without records and records without a head both
 * recover to nothing, so one fence covers both -- provided no later
 * transaction takes the tid of such a record (see pmfs2_journal_init).
 */
#include <stdlib.h>
#include <string.h>

#include "pmfs2.h"

int pmfs2_vec_push(struct pmfs2_vec *v, uint64_t x)
{
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 64;
		uint64_t *nv = realloc(v->v, cap * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		v->v = nv;
		v->cap = cap;
	}
	v->v[v->n++] = x;
	return 0;
}

void pmfs2_vec_free(struct pmfs2_vec *v)
{
	free(v->v);
	v->v = NULL;
	v->n = v->cap = 0;
}

static inline uint64_t tid_next(uint64_t tid)
{
	return tid + 1 ? tid + 1 : 1;	/* 0 means "no transaction" */
}

/*
 * One fence makes a transaction's first record (at PMFS2_JREC_START) and
 * seq durable together, so a cut before it can leave that record, tid
 * seq + 1, without seq.  Recovery rightly ignores it (active_tid is 0), but
 * the next transaction would take seq + 1 again, and a cut of that one
 * which keeps its head but not its first record would make recovery replay
 * the stale record under the same tid, crc good: old bytes over changes
 * committed since (times an overwrite stores directly, pointers moved by
 * the tier migrator...).
 *
 * Every other record carries a tid <= the durable seq: records after the
 * first are appended after that fence, and fsck makes seq durable before
 * its first record.  So the record at PMFS2_JREC_START is the only one
 * that can carry a tid not yet handed out, and only seq + 1: when it does,
 * advance seq past it, durably, before any transaction.  That costs one
 * load per mount and a store and fence only after such a cut; nothing per
 * transaction.  It is done on a read-only mount too (which also rolls back
 * an interrupted transaction): a remount read-write takes no other path.
 */
int pmfs2_journal_init(struct pmfs2_sbi *sbi)
{
	struct pmfs2_journal_head *jh;
	const struct pmfs2_jrec *first;
	uint64_t next;

	jh = pmfs2_blk(sbi, sbi->s.journal_start);
	if (jh->magic != PMFS2_JOURNAL_MAGIC)
		return pmfs2_corrupt(sbi, "bad journal magic %#llx",
				     (unsigned long long)jh->magic);
	if (jh->active_tid)
		return pmfs2_corrupt(sbi, "journal still active after recovery");
	sbi->jhead = jh;
	sbi->jarea = (char *)jh;
	sbi->jsize = sbi->s.journal_blocks << PMFS2_BLOCK_SHIFT;
	sbi->tx.sbi = sbi;
	first = (const void *)(sbi->jarea + PMFS2_JREC_START);
	next = tid_next(jh->seq);
	if (__atomic_load_n(&first->tid, __ATOMIC_RELAXED) == next) {
		pmfs2_store_persist(sbi, &jh->seq, next);
		pmfs2_msg(sbi, ZUS_LOG_INFO,
			  "journal: transaction %llu was cut before it started: tid skipped",
			  (unsigned long long)next);
	}
	return 0;
}

void pmfs2_journal_fini(struct pmfs2_sbi *sbi)
{
	struct pmfs2_tx *tx = &sbi->tx;

	pmfs2_vec_free(&tx->recs);
	pmfs2_vec_free(&tx->logged);
	pmfs2_vec_free(&tx->fresh);
	pmfs2_vec_free(&tx->allocs);
	pmfs2_vec_free(&tx->frees);
	pmfs2_vec_free(&tx->iallocs);
}

struct pmfs2_tx *pmfs2_tx_begin(struct pmfs2_sbi *sbi)
{
	struct pmfs2_tx *tx = &sbi->tx;

	pthread_mutex_lock(&sbi->tx_lock);
	tx->tid = tid_next(sbi->jhead->seq);
	tx->started = false;
	tx->pos = PMFS2_JREC_START;
	tx->recs.n = tx->logged.n = tx->fresh.n = 0;
	tx->allocs.n = tx->frees.n = tx->iallocs.n = 0;
	return tx;
}

static bool range_in(const struct pmfs2_vec *v, uint64_t off, uint64_t len)
{
	/* newest first: repeated logging hits the recent ranges */
	for (size_t i = v->n; i >= 2; i -= 2) {
		uint64_t o = v->v[i - 2], l = v->v[i - 1];

		if (off >= o && off + len <= o + l)
			return true;
	}
	return false;
}

static bool range_is_new(struct pmfs2_sbi *sbi, uint64_t off, uint64_t len)
{
	uint64_t b = off >> PMFS2_BLOCK_SHIFT;
	uint64_t e = (off + len - 1) >> PMFS2_BLOCK_SHIFT;

	for (; b <= e; b++)
		if (!pmfs2_block_is_new(sbi, b))
			return false;
	return true;
}

static int tx_append(struct pmfs2_tx *tx, uint32_t type, uint64_t off,
		     const void *data, uint32_t len)
{
	struct pmfs2_sbi *sbi = tx->sbi;
	struct pmfs2_jrec rec = {
		.tid = tx->tid, .off = off, .len = len, .type = type,
	};
	uint64_t need = sizeof(rec) + ((len + 7u) & ~7u);
	char *dst = sbi->jarea + tx->pos;
	uint32_t crc;
	int err;

	if (tx->pos + need > sbi->jsize) {
		pmfs2_msg(sbi, ZUS_LOG_WARNING,
			  "journal full (%llu bytes): transaction refused",
			  (unsigned long long)sbi->jsize);
		return -ENOSPC;
	}
	err = pmfs2_vec_push(&tx->recs, tx->pos);
	if (err)
		return err;
	crc = pmfs2_crc32c(~0u, &rec, sizeof(rec));
	rec.csum = ~pmfs2_crc32c(crc, data, len);
	zus_pmem_memcpy_nt(sbi->pm, dst, &rec, sizeof(rec));
	zus_pmem_memcpy_nt(sbi->pm, dst + sizeof(rec), data, len);
	if (!tx->started) {
		zus_pmem_store64(&sbi->jhead->seq, tx->tid);
		zus_pmem_store64(&sbi->jhead->active_tid, tx->tid);
		zus_pmem_flush(sbi->pm, sbi->jhead, sizeof(*sbi->jhead));
		tx->started = true;
	}
	zus_pmem_fence(sbi->pm);
	tx->pos += need;
	return 0;
}

int pmfs2_tx_log(struct pmfs2_tx *tx, const void *addr, size_t len)
{
	struct pmfs2_sbi *sbi = tx->sbi;
	uint64_t off = zus_pmem_off(sbi->pm, addr);
	int err;

	if (!len)
		return 0;
	if (range_in(&tx->logged, off, len) || range_in(&tx->fresh, off, len))
		return 0;
	/* a block allocated by this tx is unreachable if it rolls back: no
	 * undo, but commit must still flush what is changed in it */
	if (range_is_new(sbi, off, len))
		return pmfs2_tx_fresh(tx, addr, len);
	if (len > sbi->jsize)
		return -ENOSPC;
	err = tx_append(tx, PMFS2_JREC_UNDO, off, addr, (uint32_t)len);
	if (!err) {
		err = pmfs2_vec_push(&tx->logged, off);
		if (!err)
			err = pmfs2_vec_push(&tx->logged, len);
	}
	return err;
}

int pmfs2_tx_log_zero(struct pmfs2_tx *tx, uint64_t ino, uint64_t from,
		      uint64_t to)
{
	struct pmfs2_jzero z = { .ino = ino, .from = from, .to = to };

	return tx_append(tx, PMFS2_JREC_ZERO, 0, &z, sizeof(z));
}

int pmfs2_tx_fresh(struct pmfs2_tx *tx, const void *addr, size_t len)
{
	int err = pmfs2_vec_push(&tx->fresh, zus_pmem_off(tx->sbi->pm, addr));

	return err ? err : pmfs2_vec_push(&tx->fresh, len);
}

int pmfs2_tx_defer_free(struct pmfs2_tx *tx, uint64_t blk)
{
	return pmfs2_vec_push(&tx->frees, blk);
}

static void flush_ranges(struct pmfs2_sbi *sbi, const struct pmfs2_vec *v)
{
	for (size_t i = 0; i + 1 < v->n; i += 2)
		zus_pmem_flush(sbi->pm, zus_pmem_addr(sbi->pm, v->v[i]),
			       v->v[i + 1]);
}

static void tx_finish(struct pmfs2_tx *tx)
{
	struct pmfs2_sbi *sbi = tx->sbi;

	for (size_t i = 0; i < tx->allocs.n; i++)
		pmfs2_forget_new(sbi, tx->allocs.v[i]);
	pthread_mutex_unlock(&sbi->tx_lock);
}

static int tx_commit(struct pmfs2_tx *tx)
{
	struct pmfs2_sbi *sbi = tx->sbi;

	/* New blocks were flushed by their writers; this fence orders them
	 * and every logged change before the commit point. */
	flush_ranges(sbi, &tx->logged);
	flush_ranges(sbi, &tx->fresh);
	zus_pmem_fence(sbi->pm);
	if (tx->started)
		pmfs2_store_persist(sbi, &sbi->jhead->active_tid, 0);
	for (size_t i = 0; i < tx->frees.n; i++)
		pmfs2_free_block(sbi, tx->frees.v[i]);
	tx_finish(tx);
	return 0;
}

/* Same rollback as pmfs2_journal_recover, from the records we wrote. */
static void tx_abort(struct pmfs2_tx *tx)
{
	struct pmfs2_sbi *sbi = tx->sbi;
	const struct zus_pmem *pm = sbi->pm;

	for (size_t i = tx->recs.n; i-- > 0;) {
		struct pmfs2_jrec *r = (void *)(sbi->jarea + tx->recs.v[i]);
		void *dst;

		if (r->type != PMFS2_JREC_UNDO)
			continue;
		dst = zus_pmem_addr(pm, r->off);
		memcpy(dst, r + 1, r->len);
		zus_pmem_flush(pm, dst, r->len);
	}
	for (size_t i = 0; i < tx->recs.n; i++) {
		struct pmfs2_jrec *r = (void *)(sbi->jarea + tx->recs.v[i]);
		struct pmfs2_jzero z;
		struct pmfs2_inode *pi;

		if (r->type != PMFS2_JREC_ZERO)
			continue;
		memcpy(&z, r + 1, sizeof(z));
		pi = pmfs2_inode_at(pm, &sbi->s, z.ino);
		if (pi && pi->mode)
			pmfs2_zero_mapped(sbi, pi, z.from, z.to);
	}
	zus_pmem_fence(pm);
	if (tx->started)
		pmfs2_store_persist(sbi, &sbi->jhead->active_tid, 0);
	for (size_t i = 0; i < tx->allocs.n; i++)
		pmfs2_free_block(sbi, tx->allocs.v[i]);
	for (size_t i = 0; i < tx->iallocs.n; i++)
		pmfs2_free_ino(sbi, tx->iallocs.v[i]);
	tx_finish(tx);
}

int pmfs2_tx_end(struct pmfs2_tx *tx, int err)
{
	if (err) {
		tx_abort(tx);
		return err;
	}
	return tx_commit(tx);
}
