// SPDX-License-Identifier: BSD-2-Clause
/*
 * check.c - fsck for pmfs2: verify every on-pmem invariant and, in repair
 * mode, fix what can be fixed.
 *
 * The image is hostile input.  The superblock is validated before anything
 * else is read; every block number is range-checked before it is turned
 * into an address; every length is checked against what contains it; every
 * loop is bounded by a size taken from the validated superblock (a block
 * reached twice is refused, so map walks visit each block at most once);
 * recursion is bounded by the map height (at most PMFS2_MAX_HEIGHT).
 *
 * Passes:
 *   1. superblocks (primary, backup, restore the primary from the backup)
 *   2. journal head; roll back an interrupted transaction (repair)
 *   -  the clock: can times be checked against it (superblock times)
 *   3. inodes: type, flags, sizes, symlinks, block maps (bitmap of used
 *      blocks: no block twice), blocks count, bytes past EOF, directory index
 *      structure, xattr blocks and ACLs, timestamps
 *   4. directory entries: names, hashes, buckets, uniqueness, targets,
 *      types; builds the list of links (edges)
 *   5. links: directory hard links, parent pointers, orphans, connectivity
 *      from the root (reconnect to /lost+found), link counts
 *
 * Progress (opts->progress) counts e2fsck's way (pmfs2_lib.h): 3 is its
 * pass 1 (inodes), 4 its pass 2 (directories), 5 its passes 3
 * (connectivity) and 4 (link counts), and the final counts of used inodes
 * and blocks its pass 5.
 *
 * Repairs are crash-safe: a repair that changes more than one aligned
 * word is an undo-journal transaction in the filesystem's own journal
 * (pmfs2_format.h; see "repair transactions" below), so a crash in the
 * middle of one leaves it rolled back by the next mount or check, never
 * half made.  Single aligned stores (a pointer, a count, a time) are
 * atomic and made directly where every intermediate state is valid (a
 * pending truncate is trimmed one pointer at a time, as the plugin does).
 * Three repairs cannot use the journal and are ordered instead: the
 * superblocks (each checksummed, the primary made durable before the
 * backup), the journal head itself (its magic is stored last) and the
 * roll back of an interrupted transaction (idempotent until it clears
 * active_tid).  A check interrupted after some repairs committed finds
 * the rest on the next run.
 */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>

#include "pmfs2_lib.h"

/* ---- context ---------------------------------------------------------- */

/* per-inode state (ino_state[]) */
#define IS_USED		0x01	/* in use after pass 3 */
#define IS_DIR		0x02
#define IS_DIR_OK	0x04	/* directory index is sound: parse entries */
#define IS_REACHED	0x08
#define IS_FREED	0x10	/* freed by this check */
#define IS_ORPHAN_Q	0x20

struct edge {
	uint64_t parent;
	uint64_t child;
	uint64_t bucket_blk;	/* pmem block of the bucket holding the entry */
	uint32_t off;		/* byte offset of the entry in the bucket */
	uint8_t is_dir;
	uint8_t removed;
	uint8_t added;		/* made by this check (lost+found) */
	uint8_t pending;	/* to be deleted from its bucket */
};

struct tier_ref {
	uint64_t blk;
	uint64_t ino;
	uint64_t slot_off;	/* pmem offset of the pointer */
};

struct lblk_ent {
	uint64_t lblk;
	uint64_t slot_off;	/* pmem offset of the pointer (or the map) */
	uint64_t ptr;
};

/* a repair transaction (see "repair transactions") */
struct ftx {
	unsigned int depth;	/* nested begins; commits at 0 */
	bool started;		/* seq, the first record and active_tid written */
	bool failed;		/* a record did not fit, or the repair failed */
	uint64_t tid;
	uint64_t pos;		/* journal byte of the next record */
	uint64_t *logged;	/* pmem offset, length pairs already logged */
	size_t nlogged, cap_logged;
	uint64_t *fresh;	/* blocks allocated by this transaction */
	size_t nfresh, cap_fresh;
};

struct chk {
	const struct zus_pmem *pm;
	const struct pmfs2_check_opts *o;
	struct pmfs2_check_result *r;
	struct pmfs2_super s;
	bool repair;
	uint64_t nblocks;		/* pmfs2_data_end(&s) */
	uint64_t ninodes;		/* s.inode_count */
	uint8_t *bmap;			/* used pmem blocks */
	uint64_t alloc_cursor;
	uint8_t *ist;			/* ino_state */
	uint32_t *nlinks;		/* counted links */
	uint32_t *in_edge;		/* dirs: index+1 of the kept incoming edge */
	struct edge *edges;
	size_t nedges, cap_edges;
	struct tier_ref *trefs;
	size_t ntrefs, cap_trefs;
	struct lblk_ent *lb;		/* scratch: one inode's mapped blocks */
	size_t nlb, cap_lb;
	bool lb_overflow;
	uint64_t lost_found;		/* 0: not found / created yet */
	bool lf_failed;
	bool sb_dirty;
	int oom;
	struct ftx tx;
	int64_t now;			/* ns since the epoch */
	int64_t fudge;			/* ns a time may be ahead of now */
	bool check_times;		/* the clock can be trusted */
	/* progress of the current pass */
	unsigned int prog_pass;
	uint64_t prog_max, prog_step, prog_next;
};

/* INFO is shown with -v only; WARN always, but is not a problem */
enum fixability { UNFIXABLE, FIXABLE, INFO, WARN };

static void vreport(struct chk *c, enum fixability f, const char *fmt,
		    va_list ap) __attribute__((format(printf, 3, 0)));

static void vreport(struct chk *c, enum fixability f, const char *fmt,
		    va_list ap)
{
	char msg[512];
	const char *tail = "";
	int n;

	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	if (n < 0)
		msg[0] = 0;
	if (f == INFO || f == WARN) {
		if (c->o && (c->o->verbose || f == WARN) && c->o->report)
			c->o->report(c->o->ctx, msg);
		return;
	}
	c->r->errors++;
	if (f == FIXABLE && c->repair) {
		c->r->fixed++;
		tail = ": fixed";
	} else if (f == UNFIXABLE) {
		c->r->unfixable++;
		tail = ": cannot fix";
	}
	if (c->o && c->o->report) {
		char line[600];

		snprintf(line, sizeof(line), "%s%s", msg, tail);
		c->o->report(c->o->ctx, line);
	}
}

/* Report a problem; returns true when the caller must now repair it. */
static bool problem(struct chk *c, enum fixability f, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static bool problem(struct chk *c, enum fixability f, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(c, f, fmt, ap);
	va_end(ap);
	return f == FIXABLE && c->repair;
}

static void info(struct chk *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void info(struct chk *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(c, INFO, fmt, ap);
	va_end(ap);
}

static void warn(struct chk *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void warn(struct chk *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(c, WARN, fmt, ap);
	va_end(ap);
}

static void persist(struct chk *c, const void *p, size_t len)
{
	zus_pmem_persist(c->pm, p, len);
}

static inline bool bit_test(const uint8_t *m, uint64_t b)
{
	return m[b >> 3] & (1u << (b & 7));
}

static inline void bit_set(uint8_t *m, uint64_t b)
{
	m[b >> 3] |= (uint8_t)(1u << (b & 7));
}

static inline void bit_clear(uint8_t *m, uint64_t b)
{
	m[b >> 3] &= (uint8_t)~(1u << (b & 7));
}

static void *grow(struct chk *c, void *arr, size_t *cap, size_t elem)
{
	size_t ncap = *cap ? *cap * 2 : 256;
	void *n;

	if (ncap > SIZE_MAX / elem) {
		c->oom = 1;
		return NULL;
	}
	n = realloc(arr, ncap * elem);
	if (!n) {
		c->oom = 1;
		return NULL;
	}
	*cap = ncap;
	return n;
}

static struct pmfs2_inode *ino_at(struct chk *c, uint64_t ino)
{
	return pmfs2_inode_at(c->pm, &c->s, ino);
}

static void *blk_addr(struct chk *c, uint64_t blk)
{
	return pmfs2_block(c->pm, blk);
}

static void *off_addr(struct chk *c, uint64_t off)
{
	return zus_pmem_addr(c->pm, off);
}

/* ---- repair transactions ----------------------------------------------
 *
 * The protocol of pmfs2_format.h, written by the checker itself (the
 * plugin's journal.c needs a mounted filesystem).  Every write of a repair
 * goes through wr()/store64()/store32(): inside a transaction the old
 * bytes are appended to the journal and made durable first, then the
 * range is changed in place and flushed; commit fences all of it, then
 * clears active_tid.  A crash before that point leaves active_tid set, and
 * the next mount or check rolls the repair back.
 *
 * Begin differs from the plugin's lazy head on purpose: seq = tid is
 * durable before the first record is written, and active_tid only after
 * it, so a record left by a transaction that never started can never
 * carry the tid of a later one.
 *
 * Ranges are logged whole cache lines at a time (fewer, larger records,
 * and a line logged once covers every later store to it); blocks this
 * transaction allocated need no undo: rolled back, nothing points at them,
 * and free space is not stored.  A transaction that does not fit in the
 * journal is rolled back and its repair reported as not made.
 */

static struct pmfs2_journal_head *jhead(struct chk *c)
{
	return blk_addr(c, c->s.journal_start);
}

static bool vec_add(struct chk *c, uint64_t **v, size_t *n, size_t *cap,
		    uint64_t x)
{
	if (*n == *cap) {
		uint64_t *nv = grow(c, *v, cap, sizeof(*nv));

		if (!nv)
			return false;
		*v = nv;
	}
	(*v)[(*n)++] = x;
	return true;
}

static void tx_begin(struct chk *c)
{
	struct ftx *t = &c->tx;

	if (t->depth++)
		return;
	t->started = false;
	t->failed = false;
	t->pos = PMFS2_JREC_START;
	t->nlogged = 0;
	t->nfresh = 0;
}

static bool tx_in_fresh(struct chk *c, uint64_t off, uint64_t len)
{
	uint64_t b = off >> PMFS2_BLOCK_SHIFT;

	if ((off + len - 1) >> PMFS2_BLOCK_SHIFT != b)
		return false;
	for (size_t i = 0; i < c->tx.nfresh; i++)
		if (c->tx.fresh[i] == b)
			return true;
	return false;
}

static bool tx_in_logged(struct chk *c, uint64_t off, uint64_t len)
{
	const uint64_t *v = c->tx.logged;

	/* newest first: repeated stores hit the recent ranges */
	for (size_t i = c->tx.nlogged; i >= 2; i -= 2)
		if (off >= v[i - 2] && off + len <= v[i - 2] + v[i - 1])
			return true;
	return false;
}

/* Append an UNDO record of pmem [off, off + len); false if it cannot. */
static bool tx_append(struct chk *c, uint64_t off, uint32_t len)
{
	struct ftx *t = &c->tx;
	struct pmfs2_journal_head *jh = jhead(c);
	uint64_t jsize = c->s.journal_blocks << PMFS2_BLOCK_SHIFT;
	uint64_t need = sizeof(struct pmfs2_jrec) + ((len + 7ull) & ~7ull);
	struct pmfs2_jrec rec = { .off = off, .len = len,
				  .type = PMFS2_JREC_UNDO };
	const void *old = off_addr(c, off);
	char *dst;
	uint32_t crc;

	if (t->pos + need > jsize)
		return false;
	if (!vec_add(c, &t->logged, &t->nlogged, &t->cap_logged, off) ||
	    !vec_add(c, &t->logged, &t->nlogged, &t->cap_logged, len))
		return false;
	if (!t->started) {
		t->tid = jh->seq + 1;
		if (!t->tid)
			t->tid = 1;
		zus_pmem_store64(&jh->seq, t->tid);
		persist(c, &jh->seq, sizeof(jh->seq));
	}
	rec.tid = t->tid;
	crc = pmfs2_crc32c(~0u, &rec, sizeof(rec));
	rec.csum = ~pmfs2_crc32c(crc, old, len);
	dst = (char *)jh + t->pos;
	zus_pmem_memcpy_nt(c->pm, dst, &rec, sizeof(rec));
	zus_pmem_memcpy_nt(c->pm, dst + sizeof(rec), old, len);
	zus_pmem_fence(c->pm);
	t->pos += need;
	if (!t->started) {
		zus_pmem_store64(&jh->active_tid, t->tid);
		persist(c, &jh->active_tid, sizeof(jh->active_tid));
		t->started = true;
	}
	return true;
}

/*
 * Make the old bytes of [p, p + len) recoverable before they are changed.
 * Outside a transaction this is the caller's single atomic store: true.
 * False when the transaction failed: the caller must not write.
 */
static bool tx_log(struct chk *c, const void *p, size_t len)
{
	uint64_t off, end;

	if (!c->tx.depth)
		return true;
	if (c->tx.failed)
		return false;
	if (!len)
		return true;
	off = zus_pmem_off(c->pm, p) & ~(uint64_t)(ZUS_CACHELINE - 1);
	end = (zus_pmem_off(c->pm, p) + len + ZUS_CACHELINE - 1) &
	      ~(uint64_t)(ZUS_CACHELINE - 1);
	if (tx_in_fresh(c, off, end - off) || tx_in_logged(c, off, end - off))
		return true;
	for (uint64_t o = off; o < end;) {
		/* one record per block at most: records stay small */
		uint64_t bend = (o | (PMFS2_BLOCK_SIZE - 1)) + 1;
		uint64_t n = (bend < end ? bend : end) - o;

		if (!tx_in_fresh(c, o, n) && !tx_in_logged(c, o, n) &&
		    !tx_append(c, o, (uint32_t)n)) {
			c->tx.failed = true;
			return false;
		}
		o += n;
	}
	return true;
}

/*
 * End a transaction: commit it, or with err (or a failed transaction)
 * roll it back.  Nested ends only pass err on.  Returns err, -ENOBUFS when
 * the repair did not fit in the journal, or 0.
 */
static int tx_end(struct chk *c, int err)
{
	struct ftx *t = &c->tx;
	struct pmfs2_journal_head *jh = jhead(c);

	if (err)
		t->failed = true;
	if (--t->depth)
		return err;
	if (t->failed) {
		if (t->started) {
			struct pmfs2_recover_info ri;

			pmfs2_journal_recover(c->pm, &c->s, &ri, NULL, 0);
		}
		return err ? err : -ENOBUFS;
	}
	/* every change was flushed as it was made: order them all before
	 * the commit point */
	zus_pmem_fence(c->pm);
	if (t->started) {
		zus_pmem_store64(&jh->active_tid, 0);
		persist(c, &jh->active_tid, sizeof(jh->active_tid));
	}
	return 0;
}

static const char *repair_err(int err)
{
	return err == -ENOBUFS ? "the repair does not fit in the journal" :
	       strerror(-err);
}

/* Write len bytes from src (may overlap dst) to pmem dst, journaled. */
static void wr(struct chk *c, void *dst, const void *src, size_t len)
{
	tx_begin(c);
	if (tx_log(c, dst, len)) {
		memmove(dst, src, len);
		zus_pmem_flush(c->pm, dst, len);
	}
	tx_end(c, 0);
}

static void wr_zero(struct chk *c, void *dst, size_t len)
{
	tx_begin(c);
	if (tx_log(c, dst, len)) {
		memset(dst, 0, len);
		zus_pmem_flush(c->pm, dst, len);
	}
	tx_end(c, 0);
}

/* An aligned store: atomic on its own, journaled inside a transaction. */
static void store64(struct chk *c, uint64_t *p, uint64_t v)
{
	if (!tx_log(c, p, sizeof(*p)))
		return;
	zus_pmem_store64(p, v);
	if (c->tx.depth)
		zus_pmem_flush(c->pm, p, sizeof(*p));
	else
		persist(c, p, sizeof(*p));
}

static void store32(struct chk *c, uint32_t *p, uint32_t v)
{
	if (!tx_log(c, p, sizeof(*p)))
		return;
	__atomic_store_n(p, v, __ATOMIC_RELEASE);
	if (c->tx.depth)
		zus_pmem_flush(c->pm, p, sizeof(*p));
	else
		persist(c, p, sizeof(*p));
}

/* ---- block allocation (repairs only) --------------------------------- */

static uint64_t alloc_block(struct chk *c)
{
	uint64_t b;

	if (c->alloc_cursor < c->s.data_start)
		c->alloc_cursor = c->s.data_start;
	for (b = c->alloc_cursor; b < c->nblocks; b++) {
		if (!bit_test(c->bmap, b)) {
			void *p = blk_addr(c, b);

			/* a block this transaction allocated needs no undo */
			if (c->tx.depth &&
			    !vec_add(c, &c->tx.fresh, &c->tx.nfresh,
				     &c->tx.cap_fresh, b))
				return 0;
			bit_set(c->bmap, b);
			c->alloc_cursor = b + 1;
			zus_pmem_memset_nt(c->pm, p, 0, PMFS2_BLOCK_SIZE);
			zus_pmem_fence(c->pm);
			return b;
		}
	}
	return 0;
}

/* ---- progress --------------------------------------------------------- */

#define PROGRESS_CALLS	1000	/* about as many calls a pass, at most */

/* Out of memory, the check stops: so does its progress, unfinished. */
static void progress_begin(struct chk *c, unsigned int pass, uint64_t max)
{
	if (!c->o->progress || c->oom)
		return;
	c->prog_pass = pass;
	c->prog_max = max ? max : 1;
	c->prog_step = c->prog_max / PROGRESS_CALLS + 1;
	c->prog_next = c->prog_step;
	c->o->progress(c->o->ctx, pass, 0, c->prog_max);
}

/* done: items of the pass finished, never less than at the last call */
static inline void progress(struct chk *c, uint64_t done)
{
	/* the end is progress_end's: it comes once, after the pass's tail */
	if (c->o->progress && done >= c->prog_next && done < c->prog_max &&
	    !c->oom) {
		c->prog_next = done + c->prog_step;
		c->o->progress(c->o->ctx, c->prog_pass, done, c->prog_max);
	}
}

static void progress_end(struct chk *c)
{
	if (c->o->progress && !c->oom)
		c->o->progress(c->o->ctx, c->prog_pass, c->prog_max,
			       c->prog_max);
}

const char *pmfs2_check_pass_name(unsigned int pass)
{
	static const char *const names[] = {
		[PMFS2_PASS_INODES] = "checking inodes, block maps and sizes",
		[PMFS2_PASS_DIRS] = "checking directory entries",
		[PMFS2_PASS_CONNECT] = "checking directory connectivity",
		[PMFS2_PASS_LINKS] = "checking link counts",
		[PMFS2_PASS_SUMMARY] = "counting used inodes and blocks",
	};

	return pass >= PMFS2_PASS_INODES && pass <= PMFS2_PASS_LAST ?
	       names[pass] : "";
}

/* ---- pass 1: superblocks ---------------------------------------------- */

/* Fields the backup must share with the primary. */
static bool same_static(const struct pmfs2_super *a,
			const struct pmfs2_super *b)
{
	return a->magic == b->magic &&
	       a->version_major == b->version_major &&
	       a->feature_incompat == b->feature_incompat &&
	       a->total_blocks == b->total_blocks &&
	       a->journal_start == b->journal_start &&
	       a->journal_blocks == b->journal_blocks &&
	       a->itable_start == b->itable_start &&
	       a->itable_blocks == b->itable_blocks &&
	       a->inode_count == b->inode_count &&
	       a->data_start == b->data_start &&
	       a->hash_seed[0] == b->hash_seed[0] &&
	       a->hash_seed[1] == b->hash_seed[1] &&
	       !memcmp(a->uuid, b->uuid, sizeof(a->uuid)) &&
	       a->ndevs == b->ndevs &&
	       !memcmp(a->devs, b->devs, sizeof(a->devs));
}

static int check_super(struct chk *c)
{
	struct pmfs2_super prim, back;
	char perr[256], berr[256];
	int pret, bret;

	if (c->pm->size < 2 * (uint64_t)PMFS2_BLOCK_SIZE) {
		problem(c, UNFIXABLE,
			"device of %llu bytes is too small to hold pmfs2 (not a pmfs2 filesystem, or a truncated image)",
			(unsigned long long)c->pm->size);
		return -EINVAL;
	}
	memcpy(&prim, blk_addr(c, PMFS2_SB_BLOCK), sizeof(prim));
	pret = pmfs2_super_validate(&prim, c->pm->size, perr, sizeof(perr));
	if (!pret) {
		bret = pmfs2_super_load_at(c->pm, pmfs2_sb_backup_block(&prim),
					   &back, berr, sizeof(berr));
	} else if (c->o->backup_block) {
		bret = pmfs2_super_load_at(c->pm, c->o->backup_block, &back,
					   berr, sizeof(berr));
	} else {
		/* a filesystem filling its device, or one of the old layout */
		bret = pmfs2_super_load_at(c->pm, c->pm->size / PMFS2_BLOCK_SIZE - 1,
					   &back, berr, sizeof(berr));
		if (bret)
			bret = pmfs2_super_load_at(c->pm, PMFS2_SB_BACKUP_BLOCK,
						   &back, berr, sizeof(berr));
	}

	if (pret == -EOPNOTSUPP) {
		problem(c, UNFIXABLE, "primary superblock: %s", perr);
		return -EOPNOTSUPP;
	}
	if (pret && bret) {
		if (pret == -EINVAL && bret == -EINVAL) {
			problem(c, UNFIXABLE,
				"not a pmfs2 filesystem (no valid superblock, primary nor backup%s)",
				c->o->backup_block ? " at the block given" :
				"; one smaller than its device has its backup in its last block: give it with -b");
			return -EINVAL;
		}
		problem(c, UNFIXABLE, "primary superblock: %s", perr);
		problem(c, UNFIXABLE, "backup superblock: %s%s", berr,
			c->o->backup_block ? "" :
			" (a filesystem smaller than its device: give its last block with -b)");
		return bret == -EOPNOTSUPP ? -EOPNOTSUPP : -EUCLEAN;
	}
	if (pret) {
		c->s = back;
		if (problem(c, FIXABLE,
			    "primary superblock damaged (%s); the backup is good",
			    perr))
			pmfs2_super_write(c->pm, &c->s, false);
		return 0;
	}
	c->s = prim;
	if (bret) {
		if (problem(c, FIXABLE, "backup superblock damaged: %s", berr))
			pmfs2_super_write(c->pm, &c->s, true);
	} else if (!same_static(&prim, &back)) {
		if (problem(c, FIXABLE,
			    "backup superblock geometry differs from the primary"))
			pmfs2_super_write(c->pm, &c->s, true);
	}
	if (c->s.state == PMFS2_STATE_ERROR)
		info(c, "superblock state: errors were detected while mounted");
	else if (c->s.state == PMFS2_STATE_MOUNTED)
		info(c, "superblock state: mounted or not cleanly unmounted");
	return 0;
}

/* ---- pass 2: journal -------------------------------------------------- */

static void check_journal(struct chk *c)
{
	struct pmfs2_journal_head *jh = blk_addr(c, c->s.journal_start);
	struct pmfs2_recover_info ri;
	char err[512];
	int ret;

	if (jh->magic != PMFS2_JOURNAL_MAGIC) {
		if (problem(c, FIXABLE,
			    "journal head has bad magic 0x%llx (journal contents lost)",
			    (unsigned long long)jh->magic)) {
			uint64_t seq = jh->seq;
			char *recs = (char *)jh + PMFS2_JREC_START;

			/* stale records must never match a future tid:
			 * zero them, and keep seq at least where it was */
			zus_pmem_memset_nt(c->pm, recs, 0,
					   (c->s.journal_blocks <<
					    PMFS2_BLOCK_SHIFT) -
					   PMFS2_JREC_START);
			zus_pmem_fence(c->pm);
			jh->active_tid = 0;
			jh->seq = seq;
			memset(jh->reserved, 0, sizeof(jh->reserved));
			persist(c, jh, sizeof(*jh));
			jh->magic = PMFS2_JOURNAL_MAGIC;
			persist(c, jh, sizeof(*jh));
		}
		return;
	}
	if (!jh->active_tid)
		return;
	if (!problem(c, FIXABLE,
		     "journal holds uncommitted transaction %llu (rolled back at mount)",
		     (unsigned long long)jh->active_tid)) {
		/* check what a mount would see, not a half-made change */
		if (c->o->private_copy) {
			ret = pmfs2_journal_recover(c->pm, &c->s, &ri, err,
						    sizeof(err));
			info(c, "journal: transaction %llu rolled back in memory only (%u undo, %u zero records)",
			     (unsigned long long)ri.tid, ri.undone,
			     ri.zeroed);
			if (ret)
				problem(c, FIXABLE, "journal: %s", err);
		}
		return;
	}
	ret = pmfs2_journal_recover(c->pm, &c->s, &ri, err, sizeof(err));
	c->r->recovered_journal = true;
	info(c, "journal: rolled back transaction %llu (%u undo, %u zero records)",
	     (unsigned long long)ri.tid, ri.undone, ri.zeroed);
	if (ret)
		problem(c, FIXABLE, "journal: %s", err);
}

/* ---- pass 3: inodes and block maps ------------------------------------ */

struct walk {
	struct chk *c;
	uint64_t ino;
	struct pmfs2_inode *inode;
	uint64_t blocks;	/* counted */
	uint64_t eof_blk;	/* first logical block entirely past EOF */
	bool trim;		/* repair a pending truncate */
	bool regular;
	bool collect;		/* fill c->lb with the data blocks */
	bool bad;
};

static bool tier_ptr_ok(const struct pmfs2_super *s, uint64_t ptr)
{
	uint64_t blk = ptr & PMFS2_PTR_BLOCK_MASK;

	if (!(s->feature_incompat & PMFS2_FEATURE_INCOMPAT_TIER))
		return false;
	/* tier block 0 holds the tier header (pmfs2_tier_format.h) */
	if (blk < 1)
		return false;
	for (uint32_t i = 1; i < s->ndevs && i < PMFS2_MAX_DEVS; i++)
		if (s->devs[i].role == PMFS2_DEV_TIER &&
		    blk < s->devs[i].size >> PMFS2_BLOCK_SHIFT)
			return true;
	return false;
}

static bool block_is_zero(const void *p, size_t from)
{
	const uint8_t *b = p;

	for (size_t i = from; i < PMFS2_BLOCK_SIZE; i++)
		if (b[i])
			return false;
	return true;
}

/*
 * A data block of a regular file: bytes past EOF must be zero (the last
 * block from size on, and any preallocated block past it).
 */
static void check_data_block(struct walk *w, uint64_t lblk, uint64_t blk)
{
	struct chk *c = w->c;
	uint64_t size = w->inode->size;
	uint64_t bstart = lblk << PMFS2_BLOCK_SHIFT;
	size_t from;
	char *p;

	if (!w->regular || bstart + PMFS2_BLOCK_SIZE <= size)
		return;
	from = size > bstart ? (size_t)(size - bstart) : 0;
	p = blk_addr(c, blk);
	if (block_is_zero(p, from))
		return;
	if (problem(c, FIXABLE,
		    "inode %llu: logical block %llu holds data past EOF (size %llu)",
		    (unsigned long long)w->ino, (unsigned long long)lblk,
		    (unsigned long long)size))
		wr_zero(c, p + from, PMFS2_BLOCK_SIZE - from);
}

static void lb_add(struct walk *w, uint64_t lblk, uint64_t slot_off,
		   uint64_t ptr)
{
	struct chk *c = w->c;

	if (!w->collect || c->lb_overflow)
		return;
	if (c->nlb == c->cap_lb) {
		struct lblk_ent *n = grow(c, c->lb, &c->cap_lb, sizeof(*n));

		if (!n) {
			c->lb_overflow = true;
			return;
		}
		c->lb = n;
	}
	c->lb[c->nlb++] = (struct lblk_ent){ lblk, slot_off, ptr };
}

/*
 * Claim pmem block blk for the walk's inode.  Returns false (after
 * reporting) if it is outside the data area or already claimed.
 */
static bool claim(struct walk *w, uint64_t blk, const char *what,
		  uint64_t lblk)
{
	struct chk *c = w->c;

	if (!pmfs2_data_block_ok(&c->s, blk)) {
		problem(c, FIXABLE,
			"inode %llu: %s pointer for logical block %llu is block %llu, outside the data area %llu..%llu",
			(unsigned long long)w->ino, what,
			(unsigned long long)lblk, (unsigned long long)blk,
			(unsigned long long)c->s.data_start,
			(unsigned long long)c->nblocks - 1);
		return false;
	}
	if (bit_test(c->bmap, blk)) {
		problem(c, FIXABLE,
			"inode %llu: %s block %llu (logical %llu) is already used by another inode or structure",
			(unsigned long long)w->ino, what,
			(unsigned long long)blk, (unsigned long long)lblk);
		return false;
	}
	bit_set(c->bmap, blk);
	return true;
}

static void tier_ref_add(struct chk *c, uint64_t blk, uint64_t ino,
			 uint64_t slot_off)
{
	if (c->ntrefs == c->cap_trefs) {
		struct tier_ref *n = grow(c, c->trefs, &c->cap_trefs,
					  sizeof(*n));

		if (!n)
			return;
		c->trefs = n;
	}
	c->trefs[c->ntrefs++] = (struct tier_ref){ blk, ino, slot_off };
}

/* Returns true if the slot must be cleared. */
static bool walk_data(struct walk *w, uint64_t lblk, uint64_t ptr,
		      uint64_t slot_off)
{
	struct chk *c = w->c;

	if (w->trim && lblk >= w->eof_blk)
		return true;
	if (ptr & PMFS2_PTR_TIER) {
		if ((ptr & ~(PMFS2_PTR_TIER | PMFS2_PTR_BLOCK_MASK)) ||
		    !tier_ptr_ok(&c->s, ptr)) {
			w->bad = true;
			return problem(c, FIXABLE,
				       "inode %llu: logical block %llu has an invalid tier pointer 0x%llx",
				       (unsigned long long)w->ino,
				       (unsigned long long)lblk,
				       (unsigned long long)ptr);
		}
		tier_ref_add(c, ptr & PMFS2_PTR_BLOCK_MASK, w->ino, slot_off);
		w->blocks++;
		lb_add(w, lblk, slot_off, ptr);
		return false;
	}
	if (ptr & ~PMFS2_PTR_BLOCK_MASK) {
		w->bad = true;
		return problem(c, FIXABLE,
			       "inode %llu: logical block %llu has an invalid pointer 0x%llx",
			       (unsigned long long)w->ino,
			       (unsigned long long)lblk,
			       (unsigned long long)ptr);
	}
	if (!claim(w, ptr, "data", lblk)) {
		w->bad = true;
		return c->repair;
	}
	w->blocks++;
	check_data_block(w, lblk, ptr);
	lb_add(w, lblk, slot_off, ptr);
	return false;
}

/* Walk the index block idx_blk (already claimed) at level >= 1. */
static void walk_index(struct walk *w, uint64_t idx_blk, unsigned int level,
		       uint64_t first)
{
	struct chk *c = w->c;
	uint64_t *idx = blk_addr(c, idx_blk);
	uint64_t span = 1ull << (PMFS2_PTR_SHIFT * (level - 1));

	for (unsigned int i = 0; i < PMFS2_PTRS_PER_BLOCK; i++) {
		uint64_t p = __atomic_load_n(&idx[i], __ATOMIC_ACQUIRE);
		uint64_t lblk = first + i * span;
		uint64_t slot_off = zus_pmem_off(c->pm, &idx[i]);
		bool clear = false;

		if (!p)
			continue;
		if (level == 1) {
			clear = walk_data(w, lblk, p, slot_off);
		} else if (w->trim && lblk >= w->eof_blk) {
			clear = true;	/* whole subtree past EOF */
		} else if ((p & ~PMFS2_PTR_BLOCK_MASK) ||
			   !claim(w, p, "index", lblk)) {
			if (p & ~PMFS2_PTR_BLOCK_MASK)
				problem(c, FIXABLE,
					"inode %llu: index pointer 0x%llx for logical block %llu is not a pmem block",
					(unsigned long long)w->ino,
					(unsigned long long)p,
					(unsigned long long)lblk);
			w->bad = true;
			clear = c->repair;
		} else {
			w->blocks++;
			walk_index(w, p, level - 1, lblk);
		}
		if (clear && c->repair)
			store64(c, &idx[i], 0);
	}
}

static void walk_map(struct walk *w)
{
	struct chk *c = w->c;
	struct pmfs2_inode *in = w->inode;
	uint64_t map = __atomic_load_n(&in->map, __ATOMIC_ACQUIRE);
	unsigned int height = map & PMFS2_MAP_HEIGHT_MASK;
	uint64_t root = map >> PMFS2_MAP_HEIGHT_BITS;
	uint64_t map_off = zus_pmem_off(c->pm, &in->map);

	if (!map)
		return;
	if (height > PMFS2_MAX_HEIGHT) {
		w->bad = true;
		if (problem(c, FIXABLE,
			    "inode %llu: block map height %u exceeds %u (all its blocks are lost)",
			    (unsigned long long)w->ino, height,
			    PMFS2_MAX_HEIGHT))
			store64(c, &in->map, 0);
		return;
	}
	if (height == 0) {
		if (walk_data(w, 0, root, map_off) && c->repair)
			store64(c, &in->map, 0);
		return;
	}
	if (w->trim && w->eof_blk == 0) {
		store64(c, &in->map, 0);
		return;
	}
	if (!claim(w, root, "map root", 0)) {
		w->bad = true;
		if (c->repair)
			store64(c, &in->map, 0);
		return;
	}
	w->blocks++;
	walk_index(w, root, height, 0);
}

/* ---- POSIX ACLs and xattr blocks ------------------------------------- */

#define ACL_XATTR_VERSION	2
#define ACL_USER_OBJ		0x01
#define ACL_USER		0x02
#define ACL_GROUP_OBJ		0x04
#define ACL_GROUP		0x08
#define ACL_MASK		0x10
#define ACL_OTHER		0x20

/* posix_acl_xattr v2: u32 version, then { u16 tag, u16 perm, u32 id }[] */
static const char *acl_invalid(const uint8_t *v, size_t len)
{
	uint32_t ver;
	size_t n;
	unsigned int seen = 0;
	uint16_t prev_tag = 0;
	uint32_t prev_id = 0;
	bool have_named = false;

	if (len < 4 || (len - 4) % 8)
		return "bad length";
	memcpy(&ver, v, 4);
	if (ver != ACL_XATTR_VERSION)
		return "not version 2";
	n = (len - 4) / 8;
	if (!n)
		return "no entries";
	for (size_t i = 0; i < n; i++) {
		const uint8_t *e = v + 4 + i * 8;
		uint16_t tag, perm;
		uint32_t id;

		memcpy(&tag, e, 2);
		memcpy(&perm, e + 2, 2);
		memcpy(&id, e + 4, 4);
		if (perm & ~7u)
			return "bad permission bits";
		if (i && tag < prev_tag)
			return "entries out of order";
		switch (tag) {
		case ACL_USER_OBJ:
		case ACL_GROUP_OBJ:
		case ACL_MASK:
		case ACL_OTHER:
			if (seen & tag)
				return "duplicate entry";
			seen |= tag;
			break;
		case ACL_USER:
		case ACL_GROUP:
			if (tag == prev_tag && id <= prev_id)
				return "named entries not sorted or duplicated";
			have_named = true;
			break;
		default:
			return "unknown tag";
		}
		prev_tag = tag;
		prev_id = id;
	}
	if (!(seen & ACL_USER_OBJ) || !(seen & ACL_GROUP_OBJ) ||
	    !(seen & ACL_OTHER))
		return "missing owner, group or other entry";
	if (have_named && !(seen & ACL_MASK))
		return "named entries without a mask";
	return NULL;
}

static void check_xattr(struct chk *c, uint64_t ino, struct pmfs2_inode *in,
			uint64_t *blocks)
{
	uint64_t xb = in->xattr_block;
	uint8_t buf[PMFS2_BLOCK_SIZE];
	struct pmfs2_xattr_head h;
	uint8_t *blk;
	size_t off, out = sizeof(h);
	unsigned int count = 0;
	bool changed = false;

	if (!xb)
		return;
	if (!pmfs2_data_block_ok(&c->s, xb) || bit_test(c->bmap, xb)) {
		if (problem(c, FIXABLE,
			    "inode %llu: xattr block %llu is %s (its xattrs are dropped)",
			    (unsigned long long)ino, (unsigned long long)xb,
			    pmfs2_data_block_ok(&c->s, xb) ?
			    "already used elsewhere" : "outside the data area"))
			store64(c, &in->xattr_block, 0);
		else
			(*blocks)++;
		return;
	}
	bit_set(c->bmap, xb);
	blk = blk_addr(c, xb);
	memcpy(&h, blk, sizeof(h));
	if (h.magic != PMFS2_XATTR_MAGIC || h.used > PMFS2_XATTR_SPACE) {
		if (problem(c, FIXABLE,
			    "inode %llu: xattr block %llu has a bad header (magic 0x%x, used %u)",
			    (unsigned long long)ino, (unsigned long long)xb,
			    h.magic, h.used)) {
			store64(c, &in->xattr_block, 0);
			bit_clear(c->bmap, xb);
		}
		if (!c->repair)
			(*blocks)++;
		return;
	}
	(*blocks)++;
	memcpy(buf, blk, sizeof(h));
	for (off = sizeof(h); off < sizeof(h) + h.used;) {
		struct pmfs2_xattr_entry e;
		size_t esz = 0, left = sizeof(h) + h.used - off;
		const char *why = NULL;

		if (left < sizeof(e)) {
			why = "truncated entry";
		} else {
			memcpy(&e, blk + off, sizeof(e));
			esz = PMFS2_XENTRY_SIZE(e.name_len, e.value_len);
			if (esz > left)
				why = "entry runs past the block";
		}
		if (why) {
			if (problem(c, FIXABLE,
				    "inode %llu: xattr block %llu: %s at byte %zu (the rest is dropped)",
				    (unsigned long long)ino,
				    (unsigned long long)xb, why, off))
				changed = true;
			break;
		}
		const char *name = (const char *)blk + off + sizeof(e);
		const uint8_t *val = (const uint8_t *)name + e.name_len;

		if (e.index < PMFS2_XATTR_USER ||
		    e.index > PMFS2_XATTR_POSIX_ACL_DEFAULT)
			why = "unknown name index";
		else if (e.index >= PMFS2_XATTR_POSIX_ACL_ACCESS && e.name_len)
			why = "ACL entry with a name";
		else if (e.index < PMFS2_XATTR_POSIX_ACL_ACCESS && !e.name_len)
			why = "empty name";
		else if (memchr(name, 0, e.name_len))
			why = "NUL in the name";
		else if (e.index >= PMFS2_XATTR_POSIX_ACL_ACCESS &&
			 (why = acl_invalid(val, e.value_len)) != NULL)
			;
		else if (e.index == PMFS2_XATTR_POSIX_ACL_DEFAULT &&
			 !S_ISDIR(in->mode))
			why = "default ACL on a non-directory";
		if (!why) {
			/* unique (index, name) among the kept entries */
			for (size_t k = sizeof(h); k < out;) {
				struct pmfs2_xattr_entry ke;

				memcpy(&ke, buf + k, sizeof(ke));
				if (ke.index == e.index &&
				    ke.name_len == e.name_len &&
				    !memcmp(buf + k + sizeof(ke), name,
					    e.name_len)) {
					why = "duplicate name";
					break;
				}
				k += PMFS2_XENTRY_SIZE(ke.name_len,
						       ke.value_len);
			}
		}
		if (why) {
			if (problem(c, FIXABLE,
				    "inode %llu: xattr block %llu: %s at byte %zu (entry dropped)",
				    (unsigned long long)ino,
				    (unsigned long long)xb, why, off))
				changed = true;
		} else {
			memcpy(buf + out, blk + off, esz);
			out += esz;
			count++;
		}
		off += esz;
	}
	if (!changed && count != h.count) {
		if (problem(c, FIXABLE,
			    "inode %llu: xattr block %llu counts %u entries, holds %u",
			    (unsigned long long)ino, (unsigned long long)xb,
			    h.count, count))
			changed = true;
	}
	if (changed && c->repair) {
		struct pmfs2_xattr_head nh = h;

		nh.count = (uint16_t)count;
		nh.used = (uint16_t)(out - sizeof(h));
		memcpy(buf, &nh, sizeof(nh));
		memset(buf + out, 0, sizeof(buf) - out);
		wr(c, blk, buf, sizeof(buf));
	}
}

/* ---- directory index structure --------------------------------------- */

struct dirinfo {
	struct pmfs2_dir_head head;
	uint64_t head_blk;
	struct bucket_info {
		uint64_t blk;
		uint32_t first;		/* first array index */
		uint32_t refs;		/* array entries naming it */
		uint16_t ld;
	} *b;
};

static int lb_cmp(const void *a, const void *b)
{
	const struct lblk_ent *x = a, *y = b;

	return x->lblk < y->lblk ? -1 : x->lblk > y->lblk;
}

static void lb_sort(struct chk *c)
{
	if (c->nlb > 1)
		qsort(c->lb, c->nlb, sizeof(*c->lb), lb_cmp);
}

/* pmem block of logical block lblk in the collected map, 0 if unmapped */
static const struct lblk_ent *lb_find(struct chk *c, uint64_t lblk)
{
	struct lblk_ent key = { .lblk = lblk };

	if (!c->nlb)
		return NULL;
	return bsearch(&key, c->lb, c->nlb, sizeof(key), lb_cmp);
}

static uint64_t lb_pmem(struct chk *c, uint64_t lblk)
{
	const struct lblk_ent *e = lb_find(c, lblk);

	if (!e || (e->ptr & PMFS2_PTR_TIER))
		return 0;
	return e->ptr;
}

/* Byte position of entry i of the bucket array of depth d. */
static uint64_t arr_pos(unsigned int d, uint64_t i)
{
	return (((1ull << d) - 1) + i) * 4;
}

/* Read array entry via the collected map; false if unmapped. */
static bool arr_get_lb(struct chk *c, uint64_t head_blk, unsigned int d,
		       uint64_t i, uint32_t *v)
{
	uint64_t pos = arr_pos(d, i);
	const char *p;

	if (pos < PMFS2_DIR_INLINE_ARRAY_BYTES) {
		p = (const char *)blk_addr(c, head_blk) +
		    sizeof(struct pmfs2_dir_head) + pos;
	} else {
		uint64_t a = pos - PMFS2_DIR_INLINE_ARRAY_BYTES;
		uint64_t blk = lb_pmem(c, PMFS2_DIR_ARRAY_LBLK +
				       (a >> PMFS2_BLOCK_SHIFT));

		if (!blk)
			return false;
		p = (const char *)blk_addr(c, blk) +
		    (a & (PMFS2_BLOCK_SIZE - 1));
	}
	memcpy(v, p, 4);
	return true;
}

static uint64_t array_lblks(unsigned int d)
{
	uint64_t end = arr_pos(d, 1ull << d);

	if (end <= PMFS2_DIR_INLINE_ARRAY_BYTES)
		return 0;
	return (end - PMFS2_DIR_INLINE_ARRAY_BYTES + PMFS2_BLOCK_SIZE - 1) >>
	       PMFS2_BLOCK_SHIFT;
}

static void dir_reset(struct chk *c, uint64_t ino, struct pmfs2_inode *in,
		      uint64_t *blocks)
{
	/* the index is unusable: make the directory empty; what it named
	 * becomes unreachable and goes to lost+found */
	tx_begin(c);
	store64(c, &in->map, 0);
	store64(c, &in->size, 0);
	tx_end(c, 0);
	*blocks = 0;	/* the xattr block is counted after */
	(void)ino;
}

/*
 * Check the index of directory ino whose mapped blocks are in c->lb.
 * Returns true if it is sound (entries can be parsed).
 */
static bool check_dir_index(struct chk *c, uint64_t ino,
			    struct pmfs2_inode *in, uint64_t *blocks,
			    uint64_t *nbuckets)
{
	struct pmfs2_dir_head h;
	struct bucket_info *bi = NULL;
	uint64_t head_blk, n;
	const char *why = NULL;
	char whybuf[160];
	bool ok = false;

	*nbuckets = 0;
	if (!in->map)
		return true;	/* empty */
	if (c->lb_overflow) {
		problem(c, UNFIXABLE,
			"directory %llu: out of memory checking its index",
			(unsigned long long)ino);
		return false;
	}
	lb_sort(c);
	head_blk = lb_pmem(c, 0);
	if (!head_blk) {
		why = "has no head block";
		goto bad;
	}
	memcpy(&h, blk_addr(c, head_blk), sizeof(h));
	if (h.magic != PMFS2_DIR_MAGIC) {
		snprintf(whybuf, sizeof(whybuf), "head has bad magic 0x%x",
			 h.magic);
		why = whybuf;
		goto bad;
	}
	if (h.global_depth > PMFS2_DIR_MAX_DEPTH || h.nbuckets < 1 ||
	    h.nbuckets > (1ull << h.global_depth)) {
		snprintf(whybuf, sizeof(whybuf),
			 "head has global depth %u with %u buckets",
			 h.global_depth, h.nbuckets);
		why = whybuf;
		goto bad;
	}
	bi = calloc(h.nbuckets, sizeof(*bi));
	if (!bi) {
		c->oom = 1;
		return false;
	}
	for (uint32_t b = 0; b < h.nbuckets; b++) {
		struct pmfs2_bucket_head bh;

		bi[b].blk = lb_pmem(c, 1 + (uint64_t)b);
		if (!bi[b].blk) {
			snprintf(whybuf, sizeof(whybuf),
				 "bucket %u is not mapped", b);
			why = whybuf;
			goto bad;
		}
		memcpy(&bh, blk_addr(c, bi[b].blk), sizeof(bh));
		if (bh.magic != PMFS2_BUCKET_MAGIC ||
		    bh.local_depth > h.global_depth ||
		    bh.used > PMFS2_BUCKET_SPACE) {
			snprintf(whybuf, sizeof(whybuf),
				 "bucket %u has a bad header (magic 0x%x, local depth %u, used %u)",
				 b, bh.magic, bh.local_depth, bh.used);
			why = whybuf;
			goto bad;
		}
		bi[b].ld = bh.local_depth;
		bi[b].first = UINT32_MAX;
	}
	n = 1ull << h.global_depth;
	for (uint64_t i = 0; i < n; i++) {
		uint32_t b;

		if (!arr_get_lb(c, head_blk, h.global_depth, i, &b)) {
			snprintf(whybuf, sizeof(whybuf),
				 "bucket array block for entry %llu is not mapped",
				 (unsigned long long)i);
			why = whybuf;
			goto bad;
		}
		if (b >= h.nbuckets) {
			snprintf(whybuf, sizeof(whybuf),
				 "bucket array entry %llu names bucket %u of %u",
				 (unsigned long long)i, b, h.nbuckets);
			why = whybuf;
			goto bad;
		}
		if (bi[b].first == UINT32_MAX)
			bi[b].first = (uint32_t)i;
		bi[b].refs++;
	}
	for (uint32_t b = 0; b < h.nbuckets; b++) {
		uint64_t run = 1ull << (h.global_depth - bi[b].ld);

		if (bi[b].refs != run || bi[b].first % run) {
			snprintf(whybuf, sizeof(whybuf),
				 "bucket %u (local depth %u) is named by %u array entries from %u, expected an aligned run of %llu",
				 b, bi[b].ld, bi[b].refs,
				 bi[b].first == UINT32_MAX ? 0 : bi[b].first,
				 (unsigned long long)run);
			why = whybuf;
			goto bad;
		}
		/* refs == run and aligned: the run must be all b */
		for (uint64_t i = bi[b].first; i < bi[b].first + run; i++) {
			uint32_t v = UINT32_MAX;

			arr_get_lb(c, head_blk, h.global_depth, i, &v);
			if (v != b) {
				snprintf(whybuf, sizeof(whybuf),
					 "bucket %u's array entries are not contiguous",
					 b);
				why = whybuf;
				goto bad;
			}
		}
	}
	ok = true;
	*nbuckets = h.nbuckets;

	/* mapped blocks the index does not use */
	for (size_t i = 0; i < c->nlb; i++) {
		uint64_t l = c->lb[i].lblk;

		if (l == 0 || (l >= 1 && l <= h.nbuckets))
			continue;
		if (l >= PMFS2_DIR_ARRAY_LBLK &&
		    l < PMFS2_DIR_ARRAY_LBLK + array_lblks(PMFS2_DIR_MAX_DEPTH))
			continue;	/* current or older bucket arrays */
		if (problem(c, FIXABLE,
			    "directory %llu: logical block %llu is mapped but not part of the index",
			    (unsigned long long)ino, (unsigned long long)l)) {
			uint64_t *slot = off_addr(c, c->lb[i].slot_off);

			/* the count is fixed after the walk, with the rest */
			store64(c, slot, 0);
			if (!(c->lb[i].ptr & PMFS2_PTR_TIER))
				bit_clear(c->bmap, c->lb[i].ptr);
			(*blocks)--;
		}
	}
	free(bi);
	return ok;
bad:
	free(bi);
	if (problem(c, FIXABLE,
		    "directory %llu: index %s (the directory is emptied; its entries go to lost+found)",
		    (unsigned long long)ino, why))
		dir_reset(c, ino, in, blocks);
	return false;
}

/* ---- pass 3 driver ----------------------------------------------------- */

static void free_inode(struct chk *c, uint64_t ino)
{
	wr_zero(c, ino_at(c, ino), sizeof(struct pmfs2_inode));
	c->ist[ino] = IS_FREED;
}

/* An empty directory under the root (or the root itself), made durable. */
static void init_dir(struct chk *c, struct pmfs2_inode *in, uint32_t perm)
{
	struct pmfs2_inode n = {
		.mode = S_IFDIR | perm, .nlink = 2, .parent = PMFS2_ROOT_INO,
		.atime = c->now, .mtime = c->now, .ctime = c->now,
		.btime = c->now,
	};

	if (getrandom(&n.generation, sizeof(n.generation), 0) < 0)
		n.generation = (uint64_t)c->now;
	wr(c, in, &n, sizeof(n));
}

static bool mode_valid(uint32_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFREG: case S_IFDIR: case S_IFLNK: case S_IFCHR:
	case S_IFBLK: case S_IFIFO: case S_IFSOCK:
		return (mode & ~(uint32_t)(S_IFMT | 07777)) == 0;
	default:
		return false;
	}
}

#define PMFS2_MAX_FILE_SIZE	(1ull << (PMFS2_BLOCK_SHIFT + \
				 PMFS2_PTR_SHIFT * PMFS2_MAX_HEIGHT))

static void check_symlink(struct chk *c, uint64_t ino, struct pmfs2_inode *in)
{
	const char *why = NULL;

	if (in->size == 0 || in->size >= PMFS2_BLOCK_SIZE) {
		why = "has an invalid target length";
	} else if (in->size < PMFS2_INLINE_SIZE) {
		if (memchr(in->inline_data, 0, in->size))
			why = "target holds a NUL byte";
		else if (c->nlb)
			why = "is inline but maps blocks";
	} else {
		uint64_t blk = lb_pmem(c, 0);

		if (!blk || c->nlb != 1)
			why = "target block is missing";
		else if (memchr(blk_addr(c, blk), 0, in->size))
			why = "target holds a NUL byte";
	}
	if (why && problem(c, FIXABLE,
			   "symlink %llu %s (the symlink is removed)",
			   (unsigned long long)ino, why))
		free_inode(c, ino);
}

/* ---- timestamps ---------------------------------------------------------
 *
 * Times are signed nanoseconds since the epoch, one word each: every value
 * is a valid instant (1677..2262), there is no nanosecond field that could
 * be out of range.  What can be wrong is a time that cannot have happened:
 *
 *   - ctime and btime come from the clock (no system call sets them; a
 *     host passes the kernel's clock in ZUS_SET_CTIME), so one more than
 *     time_fudge (24 h, as e2fsck's accept_time_fudge) ahead of now is
 *     damage or a clock that was wrong: it is set to now (btime to its
 *     ctime if that is earlier);
 *   - a ctime before the inode's creation (btime) is odd, but the plugin
 *     API lets a host set any past ctime (ZUS_SET_CTIME, which the unit
 *     tests use), so it is shown with -v and left alone;
 *   - atime and mtime may be set to any time by utimensat(2) (touch -d,
 *     tar, cp -p): future ones are shown with -v and left alone, and an
 *     mtime before btime is normal (a restored file).
 *
 * The checks run only when the clock can be trusted (check_clock): a
 * wrong clock must not rewrite every recent inode's times (FreeBSD's fsck
 * did that once when a dead RTC battery put its clock years back).
 */

#define NSEC		1000000000LL
#define DEF_TIME_FUDGE	(86400 * NSEC)
/* no pmfs2 filesystem was made before 2020: a clock saying so is wrong
 * (e2fsck distrusts a clock before 2010 the same way) */
#define CLOCK_SANE_MIN	(1577836800 * NSEC)
/* more inodes than this from the future are the clock's doing, not damage */
#define FUTURE_MASS	16

static const char *fmt_time(int64_t ns, char *buf, size_t len)
{
	int64_t sec = ns / NSEC, rem = ns % NSEC;
	time_t t;
	struct tm tm;
	size_t n;

	if (rem < 0) {
		rem += NSEC;
		sec--;
	}
	t = (time_t)sec;
	if (!gmtime_r(&t, &tm) ||
	    !(n = strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm))) {
		snprintf(buf, len, "%lld ns since the epoch", (long long)ns);
		return buf;
	}
	snprintf(buf + n, len - n, ".%09lld UTC", (long long)rem);
	return buf;
}

static const char *fmt_span(int64_t ns, char *buf, size_t len)
{
	if (ns % (3600 * NSEC) == 0)
		snprintf(buf, len, "%lld hours", (long long)(ns / (3600 * NSEC)));
	else
		snprintf(buf, len, "%lld.%09lld s", (long long)(ns / NSEC),
			 (long long)(ns % NSEC));
	return buf;
}

/* a string for the duration of the statement that uses it */
#define TS(ns)		fmt_time((ns), (char[64]){ 0 }, 64)
#define SPAN(ns)	fmt_span((ns), (char[48]){ 0 }, 48)

/* Is a later than b by more than d (d >= 0)?  Without overflow. */
static bool later_by(int64_t a, int64_t b, int64_t d)
{
	return a > b && (uint64_t)a - (uint64_t)b > (uint64_t)d;
}

/*
 * Can times be checked against the clock?  Not with broken_clock, nor
 * with a clock before 2020; the superblock's times in the future are
 * repaired as e2fsck does, but they say the clock and the filesystem
 * disagree, so inode times are left for a later run; and many inodes
 * from the future mean the clock is behind, not that they are damaged.
 */
static void check_clock(struct chk *c)
{
	static const struct {
		const char *what;
		size_t off;
	} sbt[] = {
		{ "creation time", offsetof(struct pmfs2_super, mkfs_time) },
		{ "last mount time", offsetof(struct pmfs2_super, mount_time) },
		{ "last write time", offsetof(struct pmfs2_super, write_time) },
	};
	uint64_t nfuture = 0, first = 0;
	bool sb_future = false;

	c->now = c->o->now ? c->o->now : pmfs2_now();
	c->fudge = !c->o->time_fudge ? DEF_TIME_FUDGE :
		   c->o->time_fudge < 0 ? 0 : c->o->time_fudge;
	if (c->o->broken_clock) {
		info(c, "time checks skipped: the clock is not trusted (broken clock)");
		return;
	}
	if (!c->o->trust_clock && c->now < CLOCK_SANE_MIN) {
		warn(c, "the system clock says %s, before any pmfs2 filesystem was made: time checks skipped (set the clock, or give the time in PMFS2_FSCK_TIME)",
		     TS(c->now));
		return;
	}
	for (size_t i = 0; i < sizeof(sbt) / sizeof(sbt[0]); i++) {
		int64_t *t = (int64_t *)((char *)&c->s + sbt[i].off);

		if (!later_by(*t, c->now, c->fudge))
			continue;
		sb_future = true;
		if (problem(c, FIXABLE,
			    "superblock: %s %s is in the future (now %s, more than %s ahead): set to now (the clock was wrong then, or is now: if it is now, set it, or run with --broken-clock)",
			    sbt[i].what, TS(*t), TS(c->now), SPAN(c->fudge))) {
			*t = c->now;
			c->sb_dirty = true;
		}
	}
	if (c->sb_dirty) {
		/* checksummed: a torn write leaves the backup in charge */
		pmfs2_super_write(c->pm, &c->s, false);
		c->sb_dirty = false;
	}
	if (sb_future) {
		warn(c, "the clock and the superblock disagree: inode times are not checked this time");
		return;
	}
	for (uint64_t ino = PMFS2_ROOT_INO; ino < c->ninodes; ino++) {
		const struct pmfs2_inode *in = ino_at(c, ino);

		if (!in->mode || !mode_valid(in->mode))
			continue;
		if (later_by(in->ctime, c->now, c->fudge) ||
		    later_by(in->btime, c->now, c->fudge))
			if (!nfuture++)
				first = ino;
	}
	if (nfuture > FUTURE_MASS && !c->o->trust_clock) {
		const struct pmfs2_inode *in = ino_at(c, first);

		warn(c, "%llu inodes changed or were made in the future (the first: inode %llu, ctime %s, btime %s; now %s): the clock is behind, not the inodes: inode times are not checked (if the clock is right, give the time in PMFS2_FSCK_TIME to repair them)",
		     (unsigned long long)nfuture, (unsigned long long)first,
		     TS(in->ctime), TS(in->btime), TS(c->now));
		return;
	}
	c->check_times = true;
}

static void check_inode_times(struct chk *c, uint64_t ino,
			      struct pmfs2_inode *in)
{
	int64_t ct = in->ctime, bt = in->btime;

	if (!c->check_times)
		return;
	/* ct and bt follow each repair, made or not, so that -n reports what
	 * -y repairs */
	if (later_by(ct, c->now, c->fudge)) {
		if (problem(c, FIXABLE,
			    "inode %llu: ctime %s is in the future (now %s, more than %s ahead): set to now",
			    (unsigned long long)ino, TS(ct), TS(c->now),
			    SPAN(c->fudge)))
			store64(c, (uint64_t *)&in->ctime, (uint64_t)c->now);
		ct = c->now;
	}
	if (later_by(bt, c->now, c->fudge)) {
		int64_t nb = ct < c->now ? ct : c->now;

		if (problem(c, FIXABLE,
			    "inode %llu: creation time (btime) %s is in the future (now %s, more than %s ahead): set to %s",
			    (unsigned long long)ino, TS(bt), TS(c->now),
			    SPAN(c->fudge), TS(nb)))
			store64(c, (uint64_t *)&in->btime, (uint64_t)nb);
		bt = nb;
	}
	if (later_by(bt, ct, c->fudge))
		info(c, "inode %llu: ctime %s is before its creation time (btime %s): left alone (a host may set a ctime)",
		     (unsigned long long)ino, TS(ct), TS(bt));
	if (later_by(in->mtime, c->now, c->fudge))
		info(c, "inode %llu: mtime %s is in the future: left alone (utimensat may set any time)",
		     (unsigned long long)ino, TS(in->mtime));
	if (later_by(in->atime, c->now, c->fudge))
		info(c, "inode %llu: atime %s is in the future: left alone (utimensat may set any time)",
		     (unsigned long long)ino, TS(in->atime));
}

static void check_inode(struct chk *c, uint64_t ino)
{
	struct pmfs2_inode *in = ino_at(c, ino);
	struct walk w = { .c = c, .ino = ino, .inode = in };
	uint32_t mode = in->mode;
	uint64_t blocks;

	if (ino == PMFS2_ROOT_INO && (!S_ISDIR(mode) || !mode_valid(mode))) {
		if (problem(c, FIXABLE,
			    "root inode has mode 0%o, not a directory (a new empty root is made)",
			    mode)) {
			init_dir(c, in, 0755);
			mode = in->mode;
		} else {
			return;
		}
	}
	if (!mode)
		return;
	if (!mode_valid(mode)) {
		if (problem(c, FIXABLE, "inode %llu has invalid mode 0%o (freed)",
			    (unsigned long long)ino, mode))
			free_inode(c, ino);
		return;
	}
	c->ist[ino] = IS_USED | (S_ISDIR(mode) ? IS_DIR : 0);
	if (in->flags & ~PMFS2_IF_TRUNC_PENDING) {
		if (problem(c, FIXABLE, "inode %llu has unknown flags 0x%x",
			    (unsigned long long)ino, in->flags))
			store32(c, &in->flags,
				in->flags & PMFS2_IF_TRUNC_PENDING);
	}
	if (!S_ISDIR(mode) && in->parent) {
		if (problem(c, FIXABLE,
			    "inode %llu is not a directory but has parent %llu",
			    (unsigned long long)ino,
			    (unsigned long long)in->parent))
			store64(c, &in->parent, 0);
	}
	if (S_ISREG(mode) && in->size > PMFS2_MAX_FILE_SIZE) {
		if (problem(c, FIXABLE,
			    "inode %llu: size %llu exceeds the largest file",
			    (unsigned long long)ino,
			    (unsigned long long)in->size))
			store64(c, &in->size, PMFS2_MAX_FILE_SIZE);
	}
	if ((S_ISCHR(mode) || S_ISBLK(mode) || S_ISFIFO(mode) ||
	     S_ISSOCK(mode)) && (in->map || in->size)) {
		if (problem(c, FIXABLE,
			    "special inode %llu has size %llu and block map 0x%llx",
			    (unsigned long long)ino,
			    (unsigned long long)in->size,
			    (unsigned long long)in->map)) {
			tx_begin(c);
			store64(c, &in->map, 0);
			store64(c, &in->size, 0);
			tx_end(c, 0);
		}
	}

	w.regular = S_ISREG(mode);
	w.collect = S_ISDIR(mode) || S_ISLNK(mode);
	w.eof_blk = (in->size + PMFS2_BLOCK_SIZE - 1) >> PMFS2_BLOCK_SHIFT;
	if (in->flags & PMFS2_IF_TRUNC_PENDING) {
		if (!S_ISREG(mode)) {
			if (problem(c, FIXABLE,
				    "inode %llu: truncate pending on a non-regular file",
				    (unsigned long long)ino))
				store32(c, &in->flags, 0);
		} else if (problem(c, FIXABLE,
				   "inode %llu: truncate to %llu bytes is pending",
				   (unsigned long long)ino,
				   (unsigned long long)in->size)) {
			w.trim = true;
		}
	}
	c->nlb = 0;
	c->lb_overflow = false;
	walk_map(&w);
	if (w.trim)
		store32(c, &in->flags, in->flags & ~PMFS2_IF_TRUNC_PENDING);
	blocks = w.blocks;

	if (S_ISDIR(mode)) {
		uint64_t nb = 0, want;

		/* a damaged index is emptied in repair mode (map 0) */
		if (check_dir_index(c, ino, in, &blocks, &nb) || c->repair) {
			c->ist[ino] |= IS_DIR_OK;
			/* the size tells the index blocks: head + buckets */
			want = in->map ? (1 + nb) << PMFS2_BLOCK_SHIFT : 0;
			if (in->size != want &&
			    problem(c, FIXABLE,
				    "directory %llu: size %llu, should be %llu",
				    (unsigned long long)ino,
				    (unsigned long long)in->size,
				    (unsigned long long)want))
				store64(c, &in->size, want);
		}
		if (ino == PMFS2_ROOT_INO && in->parent != PMFS2_ROOT_INO &&
		    problem(c, FIXABLE, "root directory's parent is %llu",
			    (unsigned long long)in->parent))
			store64(c, &in->parent, PMFS2_ROOT_INO);
	} else if (S_ISLNK(mode)) {
		lb_sort(c);
		check_symlink(c, ino, in);
		if (!(c->ist[ino] & IS_USED))
			return;
	}
	if (c->ist[ino] & IS_USED)
		check_xattr(c, ino, in, &blocks);
	/* a damaged map that was not repaired has no meaningful count */
	if (in->blocks != blocks && (c->repair || !w.bad) &&
	    problem(c, FIXABLE, "inode %llu: blocks count %llu, should be %llu",
		    (unsigned long long)ino, (unsigned long long)in->blocks,
		    (unsigned long long)blocks))
		store64(c, &in->blocks, blocks);
	if (c->ist[ino] & IS_USED)
		check_inode_times(c, ino, in);
}

static int tref_cmp(const void *a, const void *b)
{
	const struct tier_ref *x = a, *y = b;

	if (x->blk != y->blk)
		return x->blk < y->blk ? -1 : 1;
	return x->slot_off < y->slot_off ? -1 : x->slot_off > y->slot_off;
}

static void check_tier_refs(struct chk *c)
{
	if (c->ntrefs < 2)
		return;
	qsort(c->trefs, c->ntrefs, sizeof(*c->trefs), tref_cmp);
	for (size_t i = 1; i < c->ntrefs; i++) {
		struct tier_ref *t = &c->trefs[i];
		struct pmfs2_inode *in;

		if (t->blk != c->trefs[i - 1].blk)
			continue;
		if (!problem(c, FIXABLE,
			     "inode %llu: tier block %llu is also used by inode %llu",
			     (unsigned long long)t->ino,
			     (unsigned long long)t->blk,
			     (unsigned long long)c->trefs[i - 1].ino))
			continue;
		tx_begin(c);
		store64(c, off_addr(c, t->slot_off), 0);
		in = ino_at(c, t->ino);
		if (in && in->blocks)
			store64(c, &in->blocks, in->blocks - 1);
		tx_end(c, 0);
	}
}

/* ---- directory operations used by repairs ---------------------------- */

/* Set logical block lblk of inode in to pmem block blk, growing the map. */
static int map_set(struct chk *c, struct pmfs2_inode *in, uint64_t lblk,
		   uint64_t blk)
{
	uint64_t map = in->map;
	unsigned int h = map & PMFS2_MAP_HEIGHT_MASK;
	uint64_t node;

	if (!map && lblk == 0) {
		store64(c, &in->map, blk << PMFS2_MAP_HEIGHT_BITS);
		return 0;
	}
	/* grow until lblk is covered */
	while (!map || (h < PMFS2_MAX_HEIGHT &&
			(lblk >> (PMFS2_PTR_SHIFT * h)) != 0)) {
		uint64_t nb;
		uint64_t *idx;

		if (map && h >= PMFS2_MAX_HEIGHT)
			return -EFBIG;
		nb = alloc_block(c);
		if (!nb)
			return -ENOSPC;
		idx = blk_addr(c, nb);
		if (map)
			store64(c, &idx[0], map >> PMFS2_MAP_HEIGHT_BITS);
		h = map ? h + 1 : 1;
		map = (nb << PMFS2_MAP_HEIGHT_BITS) | h;
		store64(c, &in->map, map);
		store64(c, &in->blocks, in->blocks + 1);
	}
	node = map >> PMFS2_MAP_HEIGHT_BITS;
	for (unsigned int level = h; level >= 1; level--) {
		uint64_t *idx = blk_addr(c, node);
		unsigned int slot = (lblk >> (PMFS2_PTR_SHIFT * (level - 1))) &
				    (PMFS2_PTRS_PER_BLOCK - 1);

		if (level == 1) {
			store64(c, &idx[slot], blk);
			return 0;
		}
		if (!idx[slot]) {
			uint64_t nb = alloc_block(c);

			if (!nb)
				return -ENOSPC;
			store64(c, &idx[slot], nb);
			store64(c, &in->blocks, in->blocks + 1);
		}
		node = idx[slot];
		if (!pmfs2_data_block_ok(&c->s, node))
			return -EUCLEAN;
	}
	return -EUCLEAN;
}

static uint64_t map_get(struct chk *c, const struct pmfs2_inode *in,
			uint64_t lblk)
{
	uint64_t p = 0;

	if (pmfs2_bmap_get(c->pm, &c->s, in->map, lblk, &p) ||
	    (p & PMFS2_PTR_TIER))
		return 0;
	return p;
}

static uint32_t *arr_slot(struct chk *c, struct pmfs2_inode *in,
			  uint64_t head_blk, unsigned int d, uint64_t i,
			  bool alloc)
{
	uint64_t pos = arr_pos(d, i), a, lblk, blk;

	if (pos < PMFS2_DIR_INLINE_ARRAY_BYTES)
		return (uint32_t *)((char *)blk_addr(c, head_blk) +
				    sizeof(struct pmfs2_dir_head) + pos);
	a = pos - PMFS2_DIR_INLINE_ARRAY_BYTES;
	lblk = PMFS2_DIR_ARRAY_LBLK + (a >> PMFS2_BLOCK_SHIFT);
	blk = map_get(c, in, lblk);
	if (!blk && alloc) {
		blk = alloc_block(c);
		if (!blk || map_set(c, in, lblk, blk))
			return NULL;
		store64(c, &in->blocks, in->blocks + 1);
	}
	if (!blk)
		return NULL;
	return (uint32_t *)((char *)blk_addr(c, blk) +
			    (a & (PMFS2_BLOCK_SIZE - 1)));
}

/* Find name in a sound directory: returns the child ino or 0. */
static uint64_t dir_lookup(struct chk *c, struct pmfs2_inode *in,
			   const char *name, size_t len)
{
	uint64_t head_blk = map_get(c, in, 0), h, bblk;
	struct pmfs2_dir_head dh;
	struct pmfs2_bucket_head bh;
	uint32_t *slot, b;
	const uint8_t *bk;

	if (!head_blk)
		return 0;
	memcpy(&dh, blk_addr(c, head_blk), sizeof(dh));
	if (dh.magic != PMFS2_DIR_MAGIC || dh.global_depth > PMFS2_DIR_MAX_DEPTH)
		return 0;
	h = pmfs2_name_hash(&c->s, name, len);
	slot = arr_slot(c, in, head_blk, dh.global_depth,
			dh.global_depth ? h >> (PMFS2_DIR_HASH_BITS -
						dh.global_depth) : 0, false);
	if (!slot)
		return 0;
	b = *slot;
	if (b >= dh.nbuckets)
		return 0;
	bblk = map_get(c, in, 1 + (uint64_t)b);
	if (!bblk)
		return 0;
	bk = blk_addr(c, bblk);
	memcpy(&bh, bk, sizeof(bh));
	if (bh.magic != PMFS2_BUCKET_MAGIC || bh.used > PMFS2_BUCKET_SPACE)
		return 0;
	for (size_t off = sizeof(bh); off + 18 <= sizeof(bh) + bh.used;) {
		const struct pmfs2_dirent *d = (const void *)(bk + off);
		size_t sz = PMFS2_DIRENT_SIZE(d->name_len);

		if (!d->name_len || off + sz > sizeof(bh) + bh.used)
			break;
		if (d->name_len == len && d->hash == h &&
		    !memcmp(d->name, name, len))
			return d->ino;
		off += sz;
	}
	return 0;
}

/* Rewrite bucket blk with the entries of `ents` (already packed). */
static void bucket_write(struct chk *c, uint64_t blk, uint16_t ld,
			 const uint8_t *ents, size_t used, unsigned int count)
{
	uint8_t buf[PMFS2_BLOCK_SIZE];
	struct pmfs2_bucket_head bh = {
		.magic = PMFS2_BUCKET_MAGIC, .local_depth = ld,
		.count = (uint16_t)count, .used = (uint16_t)used,
	};

	memcpy(buf, &bh, sizeof(bh));
	if (used)
		memcpy(buf + sizeof(bh), ents, used);
	memset(buf + sizeof(bh) + used, 0, PMFS2_BUCKET_SPACE - used);
	wr(c, blk_addr(c, blk), buf, sizeof(buf));
}

static int dir_init_index(struct chk *c, struct pmfs2_inode *in)
{
	uint64_t hb = alloc_block(c), bb;
	struct pmfs2_dir_head dh = { .magic = PMFS2_DIR_MAGIC, .nbuckets = 1 };

	if (!hb)
		return -ENOSPC;
	bb = alloc_block(c);
	if (!bb)
		return -ENOSPC;
	bucket_write(c, bb, 0, NULL, 0, 0);
	wr(c, blk_addr(c, hb), &dh, sizeof(dh));	/* array[0] = 0 */
	if (map_set(c, in, 0, hb) || map_set(c, in, 1, bb))
		return -ENOSPC;
	store64(c, &in->blocks, in->blocks + 2);
	return 0;
}

/*
 * Insert name -> child into directory in (a sound index), splitting buckets
 * and doubling the array as needed.  Returns 0 or -errno.
 */
static int dir_insert(struct chk *c, struct pmfs2_inode *in, const char *name,
		      size_t len, uint64_t child, uint8_t dtype)
{
	uint64_t h = pmfs2_name_hash(&c->s, name, len);
	size_t esz = PMFS2_DIRENT_SIZE(len);
	uint8_t tmp[2][PMFS2_BUCKET_SPACE];

	if (!in->map) {
		int ret = dir_init_index(c, in);

		if (ret)
			return ret;
	}
	for (int iter = 0; iter < 2 * PMFS2_DIR_MAX_DEPTH + 4; iter++) {
		uint64_t head_blk = map_get(c, in, 0), bblk, idx;
		struct pmfs2_dir_head *dh;
		struct pmfs2_bucket_head bh;
		uint32_t *slot, b;
		uint8_t *bk;

		if (!head_blk)
			return -EUCLEAN;
		dh = blk_addr(c, head_blk);
		if (dh->global_depth > PMFS2_DIR_MAX_DEPTH)
			return -EUCLEAN;
		idx = dh->global_depth ?
		      h >> (PMFS2_DIR_HASH_BITS - dh->global_depth) : 0;
		slot = arr_slot(c, in, head_blk, dh->global_depth, idx, false);
		if (!slot || *slot >= dh->nbuckets)
			return -EUCLEAN;
		b = *slot;
		bblk = map_get(c, in, 1 + (uint64_t)b);
		if (!bblk)
			return -EUCLEAN;
		bk = blk_addr(c, bblk);
		memcpy(&bh, bk, sizeof(bh));
		if (bh.used > PMFS2_BUCKET_SPACE ||
		    bh.local_depth > dh->global_depth)
			return -EUCLEAN;

		if (bh.used + esz <= PMFS2_BUCKET_SPACE) {
			uint64_t ebuf[PMFS2_DIRENT_SIZE(PMFS2_NAME_MAX) / 8];
			struct pmfs2_dirent *d = (void *)ebuf;

			if (len > PMFS2_NAME_MAX)
				return -ENAMETOOLONG;
			memset(ebuf, 0, sizeof(ebuf));
			d->ino = child;
			d->hash = h;
			d->name_len = (uint8_t)len;
			d->type = dtype;
			memcpy(d->name, name, len);
			wr(c, bk + sizeof(bh) + bh.used, ebuf, esz);
			bh.count++;
			bh.used = (uint16_t)(bh.used + esz);
			wr(c, bk, &bh, sizeof(bh));
			store64(c, &dh->nentries, dh->nentries + 1);
			store64(c, &in->size,
				(1 + (uint64_t)dh->nbuckets) <<
				PMFS2_BLOCK_SHIFT);
			return 0;
		}
		if (bh.local_depth == dh->global_depth) {
			unsigned int gd = dh->global_depth;

			if (gd >= PMFS2_DIR_MAX_DEPTH)
				return -ENOSPC;
			/* write the next depth's array fresh, then commit */
			for (uint64_t i = 0; i < (2ull << gd); i++) {
				uint32_t *src = arr_slot(c, in, head_blk, gd,
							 i >> 1, false);
				uint32_t *dst = arr_slot(c, in, head_blk,
							 gd + 1, i, true);

				if (!src || !dst)
					return -ENOSPC;
				store32(c, dst, *src);
			}
			dh = blk_addr(c, head_blk);
			store32(c, &dh->global_depth, gd + 1);
			continue;
		}
		/* split bucket b (local depth ld < gd) into b and nb */
		{
			unsigned int ld = bh.local_depth, gd = dh->global_depth;
			uint32_t nb = dh->nbuckets;
			uint64_t nblk = alloc_block(c);
			size_t used[2] = { 0, 0 };
			unsigned int cnt[2] = { 0, 0 };

			if (!nblk || nb + 1ull > (1ull << PMFS2_DIR_MAX_DEPTH))
				return -ENOSPC;
			for (size_t off = sizeof(bh);
			     off + 18 <= sizeof(bh) + bh.used;) {
				const struct pmfs2_dirent *d =
					(const void *)(bk + off);
				size_t sz = PMFS2_DIRENT_SIZE(d->name_len);
				int side;

				if (off + sz > sizeof(bh) + bh.used)
					break;
				side = (d->hash >> (PMFS2_DIR_HASH_BITS - ld -
						    1)) & 1;
				memcpy(tmp[side] + used[side], d, sz);
				used[side] += sz;
				cnt[side]++;
				off += sz;
			}
			bucket_write(c, nblk, (uint16_t)(ld + 1), tmp[1],
				     used[1], cnt[1]);
			if (map_set(c, in, 1 + (uint64_t)nb, nblk))
				return -ENOSPC;
			store64(c, &in->blocks, in->blocks + 1);
			store32(c, &dh->nbuckets, nb + 1);
			for (uint64_t i = 0; i < (1ull << gd); i++) {
				uint32_t *s = arr_slot(c, in, head_blk, gd, i,
						       false);

				if (s && *s == b &&
				    ((i >> (gd - ld - 1)) & 1))
					store32(c, s, nb);
			}
			bucket_write(c, bblk, (uint16_t)(ld + 1), tmp[0],
				     used[0], cnt[0]);
		}
	}
	return -ENOSPC;
}

/* ---- pass 4: directory entries ----------------------------------------- */

static int add_edge(struct chk *c, uint64_t parent, uint64_t child,
		    uint64_t bucket_blk, uint32_t off, bool is_dir, bool added)
{
	if (c->nedges >= UINT32_MAX - 1) {
		c->oom = 1;
		return -ENOMEM;
	}
	if (c->nedges == c->cap_edges) {
		struct edge *n = grow(c, c->edges, &c->cap_edges, sizeof(*n));

		if (!n)
			return -ENOMEM;
		c->edges = n;
	}
	c->edges[c->nedges++] = (struct edge){
		.parent = parent, .child = child, .bucket_blk = bucket_blk,
		.off = off, .is_dir = is_dir, .added = added,
	};
	return 0;
}

static unsigned int dtype_of(uint32_t mode)
{
	return (mode & S_IFMT) >> 12;
}

static void check_dir_entries(struct chk *c, uint64_t ino)
{
	struct pmfs2_inode *in = ino_at(c, ino);
	uint64_t head_blk, total = 0;
	struct pmfs2_dir_head dh;
	uint8_t kept[PMFS2_BUCKET_SPACE];

	if (!in->map)
		return;
	head_blk = map_get(c, in, 0);
	if (!head_blk)
		return;
	memcpy(&dh, blk_addr(c, head_blk), sizeof(dh));
	if (dh.magic != PMFS2_DIR_MAGIC || dh.global_depth > PMFS2_DIR_MAX_DEPTH ||
	    dh.nbuckets > (1ull << dh.global_depth))
		return;	/* reported in pass 3 */

	for (uint64_t i = 0; i < (1ull << dh.global_depth);) {
		uint32_t *slot = arr_slot(c, in, head_blk, dh.global_depth, i,
					  false);
		struct pmfs2_bucket_head bh;
		uint64_t bblk, prefix;
		uint8_t *bk;
		size_t off, kused = 0;
		unsigned int kcount = 0;
		bool changed = false;
		uint32_t b;

		if (!slot)
			return;
		b = *slot;
		if (b >= dh.nbuckets)
			return;
		bblk = map_get(c, in, 1 + (uint64_t)b);
		if (!bblk)
			return;
		bk = blk_addr(c, bblk);
		memcpy(&bh, bk, sizeof(bh));
		if (bh.local_depth > dh.global_depth ||
		    bh.used > PMFS2_BUCKET_SPACE)
			return;
		prefix = i >> (dh.global_depth - bh.local_depth);
		/* next run */
		i = (prefix + 1) << (dh.global_depth - bh.local_depth);

		for (off = sizeof(bh); off < sizeof(bh) + bh.used;) {
			struct pmfs2_dirent d;
			const char *name;
			size_t sz, left = sizeof(bh) + bh.used - off;
			const char *why = NULL;
			struct pmfs2_inode *child;
			uint64_t hh;
			uint8_t dt;

			if (left < 18) {
				why = "truncated entry";
				sz = left;
			} else {
				memcpy(&d, bk + off, 18);
				sz = PMFS2_DIRENT_SIZE(d.name_len);
				if (sz > left)
					why = "entry runs past the bucket";
			}
			if (why) {
				if (problem(c, FIXABLE,
					    "directory %llu, bucket %u: %s at byte %zu (the rest of the bucket is dropped)",
					    (unsigned long long)ino, b, why,
					    off))
					changed = true;
				break;
			}
			name = (const char *)bk + off + 18;
			hh = pmfs2_name_hash(&c->s, name, d.name_len);
			if (!d.name_len)
				why = "has an empty name";
			else if (memchr(name, '/', d.name_len) ||
				 memchr(name, 0, d.name_len))
				why = "has '/' or NUL in its name";
			else if ((d.name_len == 1 && name[0] == '.') ||
				 (d.name_len == 2 && name[0] == '.' &&
				  name[1] == '.'))
				why = "is named \".\" or \"..\"";
			else if (bh.local_depth &&
				 (hh >> (PMFS2_DIR_HASH_BITS -
					 bh.local_depth)) != prefix)
				why = "is in the wrong bucket for its hash";
			else if (d.ino < 1 || d.ino >= c->ninodes)
				why = "names an inode number out of range";
			else if (!(c->ist[d.ino] & IS_USED))
				why = "names a free inode";
			else if (d.ino == PMFS2_ROOT_INO || d.ino == ino)
				why = "links the root or the directory itself";
			if (!why) {
				for (size_t k = 0; k < kused;) {
					const struct pmfs2_dirent *kd =
						(const void *)(kept + k);

					if (kd->name_len == d.name_len &&
					    !memcmp(kd->name, name,
						    d.name_len)) {
						why = "duplicates a name";
						break;
					}
					k += PMFS2_DIRENT_SIZE(kd->name_len);
				}
			}
			if (why) {
				if (problem(c, FIXABLE,
					    "directory %llu: entry \"%.*s\" -> %llu %s (removed)",
					    (unsigned long long)ino,
					    (int)d.name_len, name,
					    (unsigned long long)d.ino, why))
					changed = true;
				off += sz;
				continue;
			}
			memcpy(kept + kused, bk + off, sz);
			if (d.hash != hh &&
			    problem(c, FIXABLE,
				    "directory %llu: entry \"%.*s\" has hash 0x%llx, should be 0x%llx",
				    (unsigned long long)ino, (int)d.name_len,
				    name, (unsigned long long)d.hash,
				    (unsigned long long)hh)) {
				memcpy(kept + kused + 8, &hh, 8);
				changed = true;
			}
			child = ino_at(c, d.ino);
			dt = (uint8_t)dtype_of(child->mode);
			if (d.type != dt &&
			    problem(c, FIXABLE,
				    "directory %llu: entry \"%.*s\" has type %u, inode %llu is type %u",
				    (unsigned long long)ino, (int)d.name_len,
				    name, d.type, (unsigned long long)d.ino,
				    dt)) {
				kept[kused + 17] = dt;
				changed = true;
			}
			add_edge(c, ino, d.ino, bblk,
				 (uint32_t)(sizeof(bh) + kused),
				 S_ISDIR(child->mode), false);
			kused += sz;
			kcount++;
			off += sz;
		}
		if (!changed && kcount != bh.count &&
		    problem(c, FIXABLE,
			    "directory %llu, bucket %u: count %u, holds %u entries",
			    (unsigned long long)ino, b, bh.count, kcount))
			changed = true;
		if (changed && c->repair)
			bucket_write(c, bblk, bh.local_depth, kept, kused,
				     kcount);
		total += kcount;
	}
	if (dh.nentries != total &&
	    problem(c, FIXABLE, "directory %llu: head counts %llu entries, holds %llu",
		    (unsigned long long)ino, (unsigned long long)dh.nentries,
		    (unsigned long long)total)) {
		struct pmfs2_dir_head *p = blk_addr(c, head_blk);

		store64(c, &p->nentries, total);
	}
}

/*
 * Names removed in pass 5 are first marked (edge->pending) and then deleted
 * in one batch per bucket, highest offset first, so recorded offsets stay
 * valid.  A batch is flushed before anything is inserted into a directory.
 */
static void remove_edge_entry(struct chk *c, struct edge *e)
{
	e->removed = 1;
	if (c->repair && !e->added)
		e->pending = 1;
}

static int pending_cmp(const void *a, const void *b)
{
	const struct edge *x = *(struct edge *const *)a;
	const struct edge *y = *(struct edge *const *)b;

	if (x->bucket_blk != y->bucket_blk)
		return x->bucket_blk < y->bucket_blk ? -1 : 1;
	return x->off > y->off ? -1 : x->off < y->off;	/* descending */
}

static void flush_removals(struct chk *c)
{
	struct edge **v;
	size_t n = 0;

	for (size_t i = 0; i < c->nedges; i++)
		n += c->edges[i].pending;
	if (!n)
		return;
	v = malloc(n * sizeof(*v));
	if (!v) {
		c->oom = 1;
		return;
	}
	n = 0;
	for (size_t i = 0; i < c->nedges; i++)
		if (c->edges[i].pending)
			v[n++] = &c->edges[i];
	qsort(v, n, sizeof(*v), pending_cmp);
	for (size_t i = 0; i < n; i++) {
		struct edge *e = v[i];
		uint8_t *bk = blk_addr(c, e->bucket_blk);
		struct pmfs2_bucket_head bh;
		const struct pmfs2_dirent *d;
		struct pmfs2_inode *pin;
		uint64_t head_blk;
		size_t sz, end;

		e->pending = 0;
		memcpy(&bh, bk, sizeof(bh));
		end = sizeof(bh) + bh.used;
		if (bh.used > PMFS2_BUCKET_SPACE || e->off + 18 > end)
			continue;
		d = (const void *)(bk + e->off);
		sz = PMFS2_DIRENT_SIZE(d->name_len);
		if (d->ino != e->child || e->off + sz > end)
			continue;
		/* the entry and the head's count go together */
		tx_begin(c);
		wr(c, bk + e->off, bk + e->off + sz, end - e->off - sz);
		wr_zero(c, bk + end - sz, sz);
		bh.used = (uint16_t)(bh.used - sz);
		bh.count--;
		wr(c, bk, &bh, sizeof(bh));
		pin = ino_at(c, e->parent);
		head_blk = pin ? map_get(c, pin, 0) : 0;
		if (head_blk) {
			struct pmfs2_dir_head *dh = blk_addr(c, head_blk);

			if (dh->nentries)
				store64(c, &dh->nentries, dh->nentries - 1);
		}
		tx_end(c, 0);
	}
	free(v);
}

/* ---- pass 5: links, connectivity, counts ------------------------------ */

static int edge_parent_cmp(const void *a, const void *b, void *arg)
{
	const struct edge *e = arg;
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	if (e[x].parent != e[y].parent)
		return e[x].parent < e[y].parent ? -1 : 1;
	return x < y ? -1 : x > y;
}

/* Resolve directory hard links and parent pointers. */
static void resolve_dir_links(struct chk *c)
{
	for (size_t i = 0; i < c->nedges; i++) {
		struct edge *e = &c->edges[i], *drop = e;
		uint64_t ch = e->child;
		struct pmfs2_inode *cin;
		uint32_t k;

		if (!e->is_dir || e->removed)
			continue;
		cin = ino_at(c, ch);
		k = c->in_edge[ch];
		if (!k) {
			c->in_edge[ch] = (uint32_t)i + 1;
			continue;
		}
		/* a second name for a directory: keep the one the parent
		 * pointer agrees with */
		if (c->edges[k - 1].parent != cin->parent &&
		    e->parent == cin->parent) {
			drop = &c->edges[k - 1];
			c->in_edge[ch] = (uint32_t)i + 1;
		}
		if (problem(c, FIXABLE,
			    "directory %llu has a second name in directory %llu (removed)",
			    (unsigned long long)ch,
			    (unsigned long long)drop->parent))
			remove_edge_entry(c, drop);
		else
			drop->removed = 1;
	}
}

static void fix_dir_parent(struct chk *c, uint64_t ino, uint64_t parent)
{
	struct pmfs2_inode *in = ino_at(c, ino);

	if (in->parent != parent &&
	    problem(c, FIXABLE, "directory %llu: parent is %llu, should be %llu",
		    (unsigned long long)ino, (unsigned long long)in->parent,
		    (unsigned long long)parent))
		store64(c, &in->parent, parent);
}

static int lost_found(struct chk *c)
{
	static const char lf[] = "lost+found";
	struct pmfs2_inode *root = ino_at(c, PMFS2_ROOT_INO), *in;
	uint64_t ino;
	int ret;

	if (c->lost_found)
		return 0;
	if (c->lf_failed)
		return -ENOSPC;
	ino = dir_lookup(c, root, lf, sizeof(lf) - 1);
	if (ino && ino < c->ninodes && (c->ist[ino] & IS_USED) &&
	    (c->ist[ino] & IS_DIR) && (c->ist[ino] & IS_DIR_OK)) {
		c->lost_found = ino;
		return 0;
	}
	if (ino) {
		c->lf_failed = true;
		problem(c, UNFIXABLE,
			"/lost+found exists but is not a usable directory: rename it so fsck can create one");
		return -EEXIST;
	}
	for (ino = PMFS2_ROOT_INO + 1; ino < c->ninodes; ino++)
		if (!(c->ist[ino] & IS_USED) && !ino_at(c, ino)->mode)
			break;
	if (ino >= c->ninodes) {
		c->lf_failed = true;
		problem(c, UNFIXABLE, "no free inode to create /lost+found");
		return -ENOSPC;
	}
	in = ino_at(c, ino);
	/* the inode, its name and the root's count for its "..": one
	 * transaction, so a crash leaves no nameless directory behind */
	tx_begin(c);
	init_dir(c, in, 0700);
	ret = dir_insert(c, root, lf, sizeof(lf) - 1, ino, DT_DIR);
	if (!ret && root->nlink < UINT32_MAX)
		store32(c, &root->nlink, root->nlink + 1);
	ret = tx_end(c, ret);
	if (ret) {
		c->lf_failed = true;
		problem(c, UNFIXABLE, "cannot create /lost+found: %s",
			repair_err(ret));
		return ret;
	}
	c->ist[ino] = IS_USED | IS_DIR | IS_DIR_OK | IS_REACHED;
	add_edge(c, PMFS2_ROOT_INO, ino, 0, 0, true, true);
	c->in_edge[ino] = (uint32_t)c->nedges;
	c->lost_found = ino;
	info(c, "created /lost+found (inode %llu)", (unsigned long long)ino);
	return 0;
}

static int reconnect(struct chk *c, uint64_t ino)
{
	struct pmfs2_inode *in = ino_at(c, ino), *lf;
	char name[32];
	bool is_dir = S_ISDIR(in->mode);
	int ret;

	ret = lost_found(c);
	if (ret)
		return ret;
	lf = ino_at(c, c->lost_found);
	snprintf(name, sizeof(name), "#%llu", (unsigned long long)ino);
	for (unsigned int n = 1; dir_lookup(c, lf, name, strlen(name)); n++) {
		if (n > 100)
			return -EEXIST;
		snprintf(name, sizeof(name), "#%llu.%u",
			 (unsigned long long)ino, n);
	}
	/* the name, the parent pointer and lost+found's count for the
	 * directory's "..": one transaction */
	tx_begin(c);
	ret = dir_insert(c, lf, name, strlen(name), ino,
			 (uint8_t)dtype_of(in->mode));
	if (!ret && is_dir) {
		store64(c, &in->parent, c->lost_found);
		if (lf->nlink < UINT32_MAX)
			store32(c, &lf->nlink, lf->nlink + 1);
	}
	ret = tx_end(c, ret);
	if (ret)
		return ret;
	add_edge(c, c->lost_found, ino, 0, 0, is_dir, true);
	if (is_dir)
		c->in_edge[ino] = (uint32_t)c->nedges;
	return 0;
}

static void unreachable(struct chk *c, uint64_t ino, const char *what)
{
	int ret;

	if (!c->repair) {
		problem(c, FIXABLE,
			"%s %llu is not reachable from the root (would move to /lost+found)",
			what, (unsigned long long)ino);
		return;
	}
	ret = reconnect(c, ino);
	if (ret)
		problem(c, UNFIXABLE,
			"%s %llu is not reachable from the root; reconnecting it to /lost+found failed: %s",
			what, (unsigned long long)ino, repair_err(ret));
	else
		problem(c, FIXABLE,
			"%s %llu is not reachable from the root (moved to /lost+found)",
			what, (unsigned long long)ino);
}

struct vec64 {
	uint64_t *v;
	size_t n, cap;
};

static bool vec_push(struct chk *c, struct vec64 *q, uint64_t x)
{
	if (q->n == q->cap) {
		uint64_t *n = grow(c, q->v, &q->cap, sizeof(*n));

		if (!n)
			return false;
		q->v = n;
	}
	q->v[q->n++] = x;
	return true;
}

struct bfs {
	uint32_t *order;	/* edge indices sorted by parent */
	struct vec64 queue;	/* directories to visit */
};

/* first index in order[] of edges from parent p */
static size_t bfs_first(struct chk *c, struct bfs *b, size_t n, uint64_t p)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (c->edges[b->order[mid]].parent < p)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void bfs_from(struct chk *c, struct bfs *b, size_t norder,
		     uint64_t start)
{
	size_t head = 0;

	if (c->ist[start] & IS_REACHED)
		return;
	c->ist[start] |= IS_REACHED;
	b->queue.n = 0;
	if (!vec_push(c, &b->queue, start))
		return;
	while (head < b->queue.n) {
		uint64_t d = b->queue.v[head++];

		for (size_t k = bfs_first(c, b, norder, d); k < norder; k++) {
			struct edge *e = &c->edges[b->order[k]];

			if (e->parent != d)
				break;
			if (e->removed || (c->ist[e->child] & IS_REACHED))
				continue;
			if (e->is_dir &&
			    c->in_edge[e->child] != b->order[k] + 1)
				continue;
			c->ist[e->child] |= IS_REACHED;
			if (e->is_dir && !vec_push(c, &b->queue, e->child))
				return;
		}
	}
}

static void check_links(struct chk *c)
{
	struct bfs b = { 0 };
	size_t norder = c->nedges;
	uint32_t *incount = c->nlinks;	/* free until link counting */
	struct vec64 stack = { 0 };
	uint32_t *stamp, climb = 0;

	progress_begin(c, PMFS2_PASS_CONNECT,
		       c->ninodes - PMFS2_ROOT_INO - 1);
	resolve_dir_links(c);
	flush_removals(c);	/* before anything is inserted */

	/* directories named once: the parent pointer follows the name */
	for (size_t i = 0; i < c->nedges; i++) {
		struct edge *e = &c->edges[i];

		if (e->is_dir && !e->removed &&
		    c->in_edge[e->child] == i + 1)
			fix_dir_parent(c, e->child, e->parent);
	}

	/* orphans: in use, no links at all, no names: free them (and what
	 * only they named may become orphaned in turn) */
	memset(incount, 0, c->ninodes * sizeof(*incount));
	b.order = malloc((norder ? norder : 1) * sizeof(*b.order));
	if (!b.order) {
		c->oom = 1;
		goto out;
	}
	for (size_t i = 0; i < c->nedges; i++)
		if (!c->edges[i].removed)
			incount[c->edges[i].child]++;
	for (uint64_t ino = PMFS2_ROOT_INO + 1; ino < c->ninodes; ino++)
		if ((c->ist[ino] & IS_USED) && !incount[ino] &&
		    !ino_at(c, ino)->nlink) {
			c->ist[ino] |= IS_ORPHAN_Q;
			if (!vec_push(c, &stack, ino))
				goto out;
		}
	for (size_t i = 0; i < norder; i++)
		b.order[i] = (uint32_t)i;
	if (norder > 1)
		qsort_r(b.order, norder, sizeof(*b.order), edge_parent_cmp,
			c->edges);
	while (stack.n) {
		uint64_t ino = stack.v[--stack.n];

		if (!problem(c, FIXABLE,
			     "inode %llu is an orphan (no links, no names; freed)",
			     (unsigned long long)ino)) {
			c->ist[ino] |= IS_REACHED;	/* don't reconnect */
			continue;
		}
		if (c->ist[ino] & IS_DIR) {
			for (size_t k = bfs_first(c, &b, norder, ino);
			     k < norder; k++) {
				struct edge *e = &c->edges[b.order[k]];

				if (e->parent != ino)
					break;
				if (e->removed)
					continue;
				e->removed = 1;
				if (!--incount[e->child] &&
				    (c->ist[e->child] & IS_USED) &&
				    !(c->ist[e->child] & IS_ORPHAN_Q) &&
				    !ino_at(c, e->child)->nlink) {
					c->ist[e->child] |= IS_ORPHAN_Q;
					if (!vec_push(c, &stack, e->child))
						goto out;
				}
			}
		}
		free_inode(c, ino);
	}

	/* connectivity: reconnect the top of each unreachable tree (or cut a
	 * loop of directories), then any unreachable non-directory */
	flush_removals(c);
	bfs_from(c, &b, norder, PMFS2_ROOT_INO);
	stamp = c->nlinks;	/* free until link counting */
	memset(stamp, 0, c->ninodes * sizeof(*stamp));
	for (uint64_t ino = PMFS2_ROOT_INO + 1; ino < c->ninodes; ino++) {
		uint64_t top = ino;
		bool cut = false;

		progress(c, ino - PMFS2_ROOT_INO - 1);
		if ((c->ist[ino] & (IS_USED | IS_DIR | IS_REACHED)) !=
		    (IS_USED | IS_DIR))
			continue;
		climb++;
		for (uint64_t steps = 0; steps < c->ninodes; steps++) {
			uint32_t k = c->in_edge[top];
			uint64_t p;

			stamp[top] = climb;
			if (!k || c->edges[k - 1].removed)
				break;		/* the top of the tree */
			p = c->edges[k - 1].parent;
			if ((c->ist[p] & IS_REACHED) || !(c->ist[p] & IS_USED)) {
				cut = true;	/* cannot be: drop the name */
				break;
			}
			if (stamp[p] == climb) {
				top = p;	/* a loop: cut it at p */
				cut = true;
				break;
			}
			top = p;
		}
		if (cut) {
			struct edge *e = &c->edges[c->in_edge[top] - 1];

			if (problem(c, FIXABLE,
				    "directory %llu is in a loop of directories not connected to the root (its name in %llu is removed)",
				    (unsigned long long)top,
				    (unsigned long long)e->parent))
				remove_edge_entry(c, e);
			else
				e->removed = 1;
			c->in_edge[top] = 0;
		}
		unreachable(c, top, "directory");
		bfs_from(c, &b, norder, top);
	}
	for (uint64_t ino = PMFS2_ROOT_INO + 1; ino < c->ninodes; ino++) {
		if ((c->ist[ino] & (IS_USED | IS_REACHED)) != IS_USED)
			continue;
		c->ist[ino] |= IS_REACHED;
		unreachable(c, ino, "inode");
	}
	flush_removals(c);
	progress_end(c);

	/* link counts */
	progress_begin(c, PMFS2_PASS_LINKS, c->ninodes - PMFS2_ROOT_INO);
	memset(c->nlinks, 0, c->ninodes * sizeof(*c->nlinks));
	for (size_t i = 0; i < c->nedges; i++) {
		struct edge *e = &c->edges[i];

		if (e->removed || !(c->ist[e->child] & IS_USED))
			continue;
		if (e->is_dir) {
			if (c->in_edge[e->child] != i + 1)
				continue;
			c->nlinks[e->parent]++;	/* its ".." */
		} else {
			c->nlinks[e->child]++;
		}
	}
	for (uint64_t ino = PMFS2_ROOT_INO; ino < c->ninodes; ino++) {
		struct pmfs2_inode *in;
		uint64_t want;

		progress(c, ino - PMFS2_ROOT_INO);
		if (!(c->ist[ino] & IS_USED))
			continue;
		in = ino_at(c, ino);
		want = (c->ist[ino] & IS_DIR) ? 2ull + c->nlinks[ino] :
						c->nlinks[ino];
		if (!want || want > UINT32_MAX)
			continue;	/* unreconnected; reported above */
		if (in->nlink != want &&
		    problem(c, FIXABLE, "inode %llu: link count %u, should be %llu",
			    (unsigned long long)ino, in->nlink,
			    (unsigned long long)want))
			store32(c, &in->nlink, (uint32_t)want);
	}
	progress_end(c);
out:
	free(stack.v);
	free(b.order);
	free(b.queue.v);
}

/* ---- driver ------------------------------------------------------------ */

int pmfs2_check(const struct zus_pmem *pm, const struct pmfs2_check_opts *o,
		struct pmfs2_check_result *r)
{
	static const struct pmfs2_check_opts defaults;
	struct chk *c;
	uint64_t ndirs = 0, nino;
	int ret;

	if (!r)
		return -EINVAL;
	memset(r, 0, sizeof(*r));
	if (!pm || !pm->base)
		return -EINVAL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->pm = pm;
	c->o = o ? o : &defaults;
	c->r = r;
	c->repair = c->o->repair;

	ret = check_super(c);
	if (ret)
		goto out;
	c->nblocks = pmfs2_data_end(&c->s);
	c->ninodes = c->s.inode_count;
	check_journal(c);
	check_clock(c);

	c->bmap = calloc((c->nblocks + 7) / 8, 1);
	c->ist = calloc(c->ninodes, 1);
	c->nlinks = calloc(c->ninodes, sizeof(*c->nlinks));
	c->in_edge = calloc(c->ninodes, sizeof(*c->in_edge));
	if (!c->bmap || !c->ist || !c->nlinks || !c->in_edge) {
		ret = -ENOMEM;
		goto out;
	}
	for (uint64_t b = 0; b < c->s.data_start; b++)
		bit_set(c->bmap, b);

	nino = c->ninodes - PMFS2_ROOT_INO;
	progress_begin(c, PMFS2_PASS_INODES, nino);
	for (uint64_t ino = PMFS2_ROOT_INO; ino < c->ninodes && !c->oom;
	     ino++) {
		check_inode(c, ino);
		progress(c, ino - PMFS2_ROOT_INO + 1);
	}
	check_tier_refs(c);
	if (c->oom) {
		ret = -ENOMEM;
		goto out;
	}
	progress_end(c);

	for (uint64_t ino = PMFS2_ROOT_INO; ino < c->ninodes; ino++)
		if ((c->ist[ino] & (IS_USED | IS_DIR | IS_DIR_OK)) ==
		    (IS_USED | IS_DIR | IS_DIR_OK))
			ndirs++;
	progress_begin(c, PMFS2_PASS_DIRS, ndirs);
	for (uint64_t ino = PMFS2_ROOT_INO, done = 0;
	     ino < c->ninodes && !c->oom; ino++)
		if ((c->ist[ino] & (IS_USED | IS_DIR | IS_DIR_OK)) ==
		    (IS_USED | IS_DIR | IS_DIR_OK)) {
			check_dir_entries(c, ino);
			progress(c, ++done);
		}
	if (c->oom) {
		ret = -ENOMEM;
		goto out;
	}
	progress_end(c);
	check_links(c);
	if (c->oom) {
		ret = -ENOMEM;
		goto out;
	}

	progress_begin(c, PMFS2_PASS_SUMMARY, nino + c->nblocks);
	for (uint64_t ino = PMFS2_ROOT_INO; ino < c->ninodes; ino++) {
		const struct pmfs2_inode *in;

		progress(c, ino - PMFS2_ROOT_INO);
		if (!(c->ist[ino] & IS_USED))
			continue;
		in = ino_at(c, ino);
		r->inodes_used++;
		if (S_ISDIR(in->mode))
			r->dirs++;
		else if (S_ISREG(in->mode))
			r->files++;
		else if (S_ISLNK(in->mode))
			r->symlinks++;
		else
			r->others++;
	}
	for (uint64_t b = 0; b < c->nblocks; b++) {
		progress(c, nino + b);
		if (bit_test(c->bmap, b))
			r->blocks_used++;
	}
	progress_end(c);
	/* past the data area: the backup superblock */
	r->blocks_used += c->s.total_blocks - c->nblocks;
	r->blocks_free = c->s.total_blocks - r->blocks_used;

	/* all fixed: the filesystem is consistent again */
	if (c->repair && r->errors == r->fixed &&
	    c->s.state == PMFS2_STATE_ERROR) {
		struct pmfs2_super s;

		memcpy(&s, blk_addr(c, PMFS2_SB_BLOCK), sizeof(s));
		if (!pmfs2_super_validate(&s, pm->size, NULL, 0)) {
			s.state = PMFS2_STATE_CLEAN;
			/* never back: a wrong clock must not hide a later
			 * write from the next check */
			if (c->now > s.write_time)
				s.write_time = c->now;
			pmfs2_super_write(pm, &s, false);
		}
	}
	ret = 0;
out:
	free(c->bmap);
	free(c->ist);
	free(c->nlinks);
	free(c->in_edge);
	free(c->edges);
	free(c->trefs);
	free(c->lb);
	free(c->tx.logged);
	free(c->tx.fresh);
	free(c);
	return ret;
}
