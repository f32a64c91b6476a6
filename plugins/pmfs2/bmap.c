// SPDX-License-Identifier: BSD-2-Clause
/*
 * bmap.c - the radix block map: lookup, allocation in a transaction,
 * hole/data search, punch (in a transaction) and trim (atomic stores).
 *
 * Growing the height puts the old root in slot 0 of a new root and switches
 * the inode's map in one store; every pointer read from pmem is checked
 * before it is followed.
 */
#include <string.h>

#include "pmfs2.h"

/* Check an index pointer read from pmem (index blocks never live on a tier). */
static int index_ok(struct pmfs2_sbi *sbi, uint64_t v)
{
	if (v & ~PMFS2_PTR_BLOCK_MASK || !pmfs2_data_block_ok(&sbi->s, v))
		return pmfs2_corrupt(sbi, "bad index block pointer %#llx",
				     (unsigned long long)v);
	return 0;
}

static int data_ok(struct pmfs2_sbi *sbi, uint64_t v)
{
	if (v & PMFS2_PTR_TIER) {
		if (!(sbi->s.feature_incompat & PMFS2_FEATURE_INCOMPAT_TIER))
			return pmfs2_corrupt(sbi, "tier pointer %#llx without the tier feature",
					     (unsigned long long)v);
		if (v & ~(PMFS2_PTR_TIER | PMFS2_PTR_BLOCK_MASK))
			return pmfs2_corrupt(sbi, "bad tier pointer %#llx",
					     (unsigned long long)v);
		return 0;
	}
	return index_ok(sbi, v);
}

static int root_ok(struct pmfs2_sbi *sbi, uint64_t map)
{
	if (pmfs2_map_height(map) > PMFS2_MAX_HEIGHT)
		return pmfs2_corrupt(sbi, "map height %u too large",
				     pmfs2_map_height(map));
	return index_ok(sbi, pmfs2_map_block(map));
}

int pmfs2_bmap_lookup_ptr(struct pmfs2_sbi *sbi, const struct pmfs2_inode *pi,
			  uint64_t lblk, uint64_t *out)
{
	uint64_t map = pi->map, ptr = 0;
	int err;

	*out = 0;
	if (!map)
		return 0;
	if (pmfs2_map_height(map) <= PMFS2_MAX_HEIGHT &&
	    lblk >= pmfs2_map_span(pmfs2_map_height(map)))
		return 0;
	err = pmfs2_bmap_get(sbi->pm, &sbi->s, map, lblk, &ptr);
	if (err)
		return pmfs2_corrupt(sbi, "block map %#llx unreadable (%d)",
				     (unsigned long long)map, err);
	if (!ptr)
		return 0;
	err = data_ok(sbi, ptr);
	if (err)
		return err;
	*out = ptr;
	return 0;
}

int pmfs2_bmap_lookup(struct pmfs2_sbi *sbi, const struct pmfs2_inode *pi,
		      uint64_t lblk, uint64_t *blk)
{
	int err = pmfs2_bmap_lookup_ptr(sbi, pi, lblk, blk);

	if (!err && (*blk & PMFS2_PTR_TIER)) {
		*blk = 0;
		/* only regular file data lives on a tier (file.c knows) */
		return pmfs2_corrupt(sbi, "logical block %llu of a %s is on the tier",
				     (unsigned long long)lblk,
				     S_ISREG(pi->mode) ? "file" : "non-file");
	}
	return err;
}

int pmfs2_bmap_slot(struct pmfs2_sbi *sbi, const struct pmfs2_inode *pi,
		    uint64_t lblk, uint64_t **slot)
{
	uint64_t map = __atomic_load_n(&pi->map, __ATOMIC_ACQUIRE), v;
	unsigned int level;
	int err;

	*slot = NULL;
	if (!map || !pmfs2_map_height(map))
		return 0;
	err = root_ok(sbi, map);
	if (err)
		return err;
	level = pmfs2_map_height(map);
	if (lblk >= pmfs2_map_span(level))
		return 0;
	v = pmfs2_map_block(map);
	for (; level; level--) {
		unsigned int idx = (lblk >> (PMFS2_PTR_SHIFT * (level - 1))) &
				   (PMFS2_PTRS_PER_BLOCK - 1);
		uint64_t *tbl = pmfs2_blk(sbi, v);

		if (level == 1) {
			*slot = &tbl[idx];
			return 0;
		}
		v = __atomic_load_n(&tbl[idx], __ATOMIC_ACQUIRE);
		if (!v)
			return 0;
		err = index_ok(sbi, v);
		if (err)
			return err;
	}
	return 0;
}

static int new_zeroed(struct pmfs2_tx *tx, uint64_t *blk)
{
	int err = pmfs2_new_block(tx, blk);

	if (!err)
		zus_pmem_memset_nt(tx->sbi->pm, pmfs2_blk(tx->sbi, *blk), 0,
				   PMFS2_BLOCK_SIZE);
	return err;
}

/* Set *slot (in an index block) inside tx. */
static int set_slot(struct pmfs2_tx *tx, uint64_t *slot, uint64_t v)
{
	int err = pmfs2_tx_log(tx, slot, sizeof(*slot));

	if (!err)
		zus_pmem_store64(slot, v);
	return err;
}

/* Make the root cover lblk: new roots above the old one. */
static int bmap_grow(struct pmfs2_tx *tx, struct pmfs2_inode *pi,
		     uint64_t lblk)
{
	uint64_t map = pi->map, n;
	unsigned int h;
	int err;

	if (!map) {
		if (!lblk)
			return 0;	/* caller maps block 0 as a height-0 root */
		for (h = 1; lblk >= pmfs2_map_span(h); h++)
			;
		err = new_zeroed(tx, &n);
		if (err)
			return err;
		pi->map = n << PMFS2_MAP_HEIGHT_BITS | h;
		pi->blocks++;
		return 0;
	}
	for (h = pmfs2_map_height(map); lblk >= pmfs2_map_span(h); h++) {
		uint64_t *tbl;

		err = new_zeroed(tx, &n);
		if (err)
			return err;
		tbl = pmfs2_blk(tx->sbi, n);
		tbl[0] = pmfs2_map_block(pi->map);
		zus_pmem_flush(tx->sbi->pm, tbl, 8);
		pi->map = n << PMFS2_MAP_HEIGHT_BITS | (h + 1);
		pi->blocks++;
	}
	return 0;
}

int pmfs2_bmap_map(struct pmfs2_tx *tx, struct pmfs2_inode *pi, uint64_t lblk,
		   unsigned int flags, uint64_t *blk, bool *isnew)
{
	struct pmfs2_sbi *sbi = tx->sbi;
	uint64_t *tbl, v;
	unsigned int level;
	int err;

	*isnew = false;
	if (lblk >= PMFS2_MAX_LBLKS)
		return -EFBIG;
	if (pi->map) {
		err = root_ok(sbi, pi->map);
		if (err)
			return err;
	}
	err = pmfs2_tx_log(tx, pi, sizeof(*pi));
	if (err)
		return err;
	if (!pi->map && !lblk) {
		err = pmfs2_new_block(tx, blk);
		if (err)
			return err;
		if (flags & PMFS2_MAP_ZERO)
			zus_pmem_memset_nt(sbi->pm, pmfs2_blk(sbi, *blk), 0,
					   PMFS2_BLOCK_SIZE);
		pi->map = *blk << PMFS2_MAP_HEIGHT_BITS;
		pi->blocks++;
		*isnew = true;
		return 0;
	}
	err = bmap_grow(tx, pi, lblk);
	if (err)
		return err;
	level = pmfs2_map_height(pi->map);
	v = pmfs2_map_block(pi->map);
	if (!level) {
		*blk = v;
		return 0;
	}
	for (; level; level--) {
		unsigned int idx = (lblk >> (PMFS2_PTR_SHIFT * (level - 1))) &
				   (PMFS2_PTRS_PER_BLOCK - 1);

		tbl = pmfs2_blk(sbi, v);
		v = tbl[idx];
		if (v) {
			err = level > 1 ? index_ok(sbi, v) : data_ok(sbi, v);
			if (err)
				return err;
			if (v & PMFS2_PTR_TIER)
				return -EOPNOTSUPP;
			continue;
		}
		if (level > 1) {
			err = new_zeroed(tx, &v);
		} else {
			err = pmfs2_new_block(tx, &v);
			if (!err && (flags & PMFS2_MAP_ZERO))
				zus_pmem_memset_nt(sbi->pm, pmfs2_blk(sbi, v),
						   0, PMFS2_BLOCK_SIZE);
			*isnew = !err;
		}
		if (!err)
			err = set_slot(tx, &tbl[idx], v);
		if (err)
			return err;
		pi->blocks++;
	}
	*blk = v;
	return 0;
}

struct next_ctx {
	struct pmfs2_sbi *sbi;
	uint64_t from, limit;
	bool data;
	uint64_t out;
};

/* Search the subtree of ptr (level 0: a data block) covering base... */
static int next_rec(struct next_ctx *c, uint64_t ptr, unsigned int level,
		    uint64_t base)
{
	const uint64_t *tbl;
	uint64_t cs, i;

	if (!level) {
		if (!c->data)
			return 0;
		c->out = base > c->from ? base : c->from;
		return 1;
	}
	tbl = pmfs2_blk(c->sbi, ptr);
	cs = pmfs2_map_span(level - 1);
	i = c->from > base ? (c->from - base) / cs : 0;
	for (; i < PMFS2_PTRS_PER_BLOCK; i++) {
		uint64_t cbase = base + i * cs, v = tbl[i];
		int r;

		if (cbase >= c->limit)
			break;
		if (!v) {
			if (c->data)
				continue;
			c->out = cbase > c->from ? cbase : c->from;
			return 1;
		}
		r = level > 1 ? index_ok(c->sbi, v) : data_ok(c->sbi, v);
		if (!r)
			r = next_rec(c, v, level - 1, cbase);
		if (r)
			return r;
	}
	return 0;
}

int pmfs2_bmap_next(struct pmfs2_sbi *sbi, const struct pmfs2_inode *pi,
		    uint64_t from, uint64_t limit, bool data, uint64_t *out)
{
	struct next_ctx c = { .sbi = sbi, .from = from, .limit = limit,
			      .data = data, .out = limit };
	uint64_t map = pi->map, span;
	unsigned int h;
	int r;

	*out = limit;
	if (from >= limit)
		return 0;
	if (!map) {
		if (!data)
			*out = from;
		return 0;
	}
	r = root_ok(sbi, map);
	if (r)
		return r;
	h = pmfs2_map_height(map);
	span = pmfs2_map_span(h);
	if (from < span) {
		r = next_rec(&c, pmfs2_map_block(map), h, 0);
		if (r < 0)
			return r;
		if (r) {
			*out = c.out;
			return 0;
		}
	}
	/* everything past the root's span is a hole */
	if (!data)
		*out = from > span ? from : (span < limit ? span : limit);
	return 0;
}

struct punch_ctx {
	struct pmfs2_sbi *sbi;
	struct pmfs2_tx *tx;		/* NULL: trim with atomic stores */
	uint64_t from, to;
	uint64_t budget;
	uint64_t freed;
	bool stopped;
	uint64_t resume;
	struct pmfs2_vec pending;	/* trim: cleared, not yet fenced */
};

static int release_pending(struct punch_ctx *c)
{
	zus_pmem_fence(c->sbi->pm);
	/* tier blocks (PMFS2_PTR_TIER set) go back to the tier's allocator */
	for (size_t i = 0; i < c->pending.n; i++)
		pmfs2_free_block(c->sbi, c->pending.v[i]);
	c->pending.n = 0;
	return 0;
}

/* Drop the reference at slot to block v (pmem, or tier with the flag:
 * pmfs2_free_block routes it). */
static int clear_ref(struct punch_ctx *c, uint64_t *slot, uint64_t v)
{
	int err;

	c->freed++;
	if (c->tx) {
		err = set_slot(c->tx, slot, 0);
		if (!err)
			err = pmfs2_tx_defer_free(c->tx, v);
		return err;
	}
	zus_pmem_store64(slot, 0);
	zus_pmem_flush(c->sbi->pm, slot, 8);
	err = pmfs2_vec_push(&c->pending, v);
	if (err) {
		/* cannot remember it: leak until the next mount, stay safe */
		zus_pmem_fence(c->sbi->pm);
		return 0;
	}
	if (c->pending.n >= 1024)
		return release_pending(c);
	return 0;
}

static int punch_rec(struct punch_ctx *c, uint64_t ptr, unsigned int level,
		     uint64_t base)
{
	uint64_t *tbl = pmfs2_blk(c->sbi, ptr);
	uint64_t cs = pmfs2_map_span(level - 1);
	uint64_t i = c->from > base ? (c->from - base) / cs : 0;
	int err;

	for (; i < PMFS2_PTRS_PER_BLOCK; i++) {
		uint64_t cbase = base + i * cs, v = tbl[i];

		if (cbase >= c->to)
			break;
		if (!v)
			continue;
		if (c->freed >= c->budget) {
			c->stopped = true;
			c->resume = cbase > c->from ? cbase : c->from;
			return 0;
		}
		err = level > 1 ? index_ok(c->sbi, v) : data_ok(c->sbi, v);
		if (err)
			return err;
		if (level > 1) {
			err = punch_rec(c, v, level - 1, cbase);
			if (err || c->stopped)
				return err;
			/* a child wholly inside the range is now empty */
			if (cbase < c->from || cbase + cs > c->to)
				continue;
		}
		err = clear_ref(c, &tbl[i], v);
		if (err)
			return err;
	}
	return 0;
}

static int punch(struct punch_ctx *c, struct pmfs2_inode *pi)
{
	uint64_t map = pi->map, root;
	unsigned int h;
	int err;

	if (!map)
		return 0;
	err = root_ok(c->sbi, map);
	if (err)
		return err;
	h = pmfs2_map_height(map);
	root = pmfs2_map_block(map);
	if (h) {
		err = punch_rec(c, root, h, 0);
		if (err || c->stopped)
			return err;
	}
	if (c->from || c->to < pmfs2_map_span(h))
		return 0;
	c->freed++;
	if (c->tx) {
		err = pmfs2_tx_log(c->tx, pi, sizeof(*pi));
		if (!err) {
			pi->map = 0;
			err = pmfs2_tx_defer_free(c->tx, root);
		}
		return err;
	}
	pmfs2_store_persist(c->sbi, &pi->map, 0);
	/* on ENOMEM the root leaks until the next mount: safe */
	(void)pmfs2_vec_push(&c->pending, root);
	return 0;
}

int pmfs2_bmap_punch(struct pmfs2_tx *tx, struct pmfs2_inode *pi,
		     uint64_t from, uint64_t to, unsigned int budget,
		     uint64_t *next)
{
	struct punch_ctx c = { .sbi = tx->sbi, .tx = tx, .from = from,
			       .to = to, .budget = budget };
	int err;

	err = pmfs2_tx_log(tx, pi, sizeof(*pi));
	if (!err)
		err = punch(&c, pi);
	if (!err) {
		pi->blocks = pi->blocks > c.freed ? pi->blocks - c.freed : 0;
		*next = c.stopped ? c.resume : to;
	}
	return err;
}

int pmfs2_bmap_trim(struct pmfs2_sbi *sbi, struct pmfs2_inode *pi,
		    uint64_t from, bool recount)
{
	struct punch_ctx c = { .sbi = sbi, .from = from, .to = UINT64_MAX,
			       .budget = UINT64_MAX };
	uint64_t n;
	int err;

	err = punch(&c, pi);
	release_pending(&c);
	pmfs2_vec_free(&c.pending);
	if (err)
		return err;
	n = pi->blocks > c.freed ? pi->blocks - c.freed : 0;
	/* an interrupted trim left blocks stale: recount at mount */
	if (recount) {
		err = pmfs2_bmap_count(sbi, pi, &n);
		if (err)
			return err;
		if (pi->xattr_block)
			n++;
	}
	pmfs2_store_persist(sbi, &pi->blocks, n);
	return 0;
}

int pmfs2_zero_mapped(struct pmfs2_sbi *sbi, const struct pmfs2_inode *pi,
		      uint64_t from, uint64_t to)
{
	uint64_t lblk = from >> PMFS2_BLOCK_SHIFT, end, blk;
	int err;

	if (from >= to)
		return 0;
	end = ((to - 1) >> PMFS2_BLOCK_SHIFT) + 1;
	for (;;) {
		uint64_t s, e;

		err = pmfs2_bmap_next(sbi, pi, lblk, end, true, &lblk);
		if (err || lblk >= end)
			return err;
		/* tier data is promoted first: zeroing happens on pmem */
		err = pmfs2_bmap_lookup_w(sbi, (struct pmfs2_inode *)pi, lblk,
					  0, &blk);
		if (err)
			return err;
		s = lblk << PMFS2_BLOCK_SHIFT;
		e = s + PMFS2_BLOCK_SIZE;
		if (s < from)
			s = from;
		if (e > to)
			e = to;
		if (blk)
			zus_pmem_memset_nt(sbi->pm,
					   (char *)pmfs2_blk(sbi, blk) +
					   (s & (PMFS2_BLOCK_SIZE - 1)),
					   0, e - s);
		lblk++;
	}
}

static int count_cb(void *ctx, uint64_t lblk, uint64_t ptr, int level)
{
	uint64_t *n = ctx;

	(*n)++;
	return 0;
}

int pmfs2_bmap_count(struct pmfs2_sbi *sbi, const struct pmfs2_inode *pi,
		     uint64_t *n)
{
	int err;

	*n = 0;
	if (!pi->map)
		return 0;
	err = pmfs2_bmap_walk(sbi->pm, &sbi->s, pi->map, count_cb, n);
	if (err)
		return pmfs2_corrupt(sbi, "block map %#llx unreadable (%d)",
				     (unsigned long long)pi->map, err);
	return 0;
}
