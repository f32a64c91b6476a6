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

/*
 * Collapse and insert range: a new map is built beside the old one, in
 * blocks no inode references, and the caller switches the inode to it in
 * one transaction.  Whole subtrees below the range are shared (they stay
 * where they are); everything the new map does not take over is freed after
 * the switch commits.  Before it, the new blocks are unreachable (a crash
 * frees them: free space is rebuilt at mount); after it, the old ones.
 */
struct shift_ctx {
	struct pmfs2_sbi *sbi;
	const struct pmfs2_inode *pi;
	struct pmfs2_shift *sh;
	uint64_t a, n;		/* the range, in blocks */
	bool insert;
	bool dry;		/* count the index blocks only */
	unsigned int oh, nh;	/* old and new heights */
	uint64_t oroot;
	uint64_t nend;		/* new lblks from here on are holes */
	uint64_t cleaf;		/* old leaf looked up last (lblk >> 9) */
	const uint64_t *ctbl;	/* its pointers; NULL: none */
};

/* The old map's pointer for lblk l (a leaf cache: lookups run in order). */
static int old_ptr(struct shift_ctx *c, uint64_t l, uint64_t *v)
{
	int err;

	*v = 0;
	if (!c->oh) {
		if (!l)
			*v = c->oroot;
		return 0;
	}
	if (l >= pmfs2_map_span(c->oh))
		return 0;
	if (l >> PMFS2_PTR_SHIFT != c->cleaf) {
		uint64_t b = c->oroot;

		c->ctbl = NULL;
		c->cleaf = l >> PMFS2_PTR_SHIFT;
		for (unsigned int level = c->oh; level > 1; level--) {
			unsigned int idx = (l >> (PMFS2_PTR_SHIFT * (level - 1))) &
					   (PMFS2_PTRS_PER_BLOCK - 1);

			b = ((const uint64_t *)pmfs2_blk(c->sbi, b))[idx];
			if (!b)
				return 0;
			err = index_ok(c->sbi, b);
			if (err) {
				c->cleaf = UINT64_MAX;
				return err;
			}
		}
		c->ctbl = pmfs2_blk(c->sbi, b);
	}
	if (c->ctbl)
		*v = c->ctbl[l & (PMFS2_PTRS_PER_BLOCK - 1)];
	return *v ? data_ok(c->sbi, *v) : 0;
}

/* The old index block at (level, base), 1 <= level <= oh; 0: none. */
static int old_node(struct shift_ctx *c, unsigned int level, uint64_t base,
		    uint64_t *v)
{
	uint64_t b = c->oroot;
	int err;

	*v = 0;
	if (base >= pmfs2_map_span(c->oh))
		return 0;
	for (unsigned int l = c->oh; l > level; l--) {
		unsigned int idx = (base >> (PMFS2_PTR_SHIFT * (l - 1))) &
				   (PMFS2_PTRS_PER_BLOCK - 1);

		b = ((const uint64_t *)pmfs2_blk(c->sbi, b))[idx];
		if (!b)
			return 0;
		err = index_ok(c->sbi, b);
		if (err)
			return err;
	}
	*v = b;
	return 0;
}

/* Where new lblk l comes from; false: an inserted hole. */
static bool shift_src(const struct shift_ctx *c, uint64_t l, uint64_t *s)
{
	if (l < c->a)
		*s = l;
	else if (!c->insert)
		*s = l + c->n;
	else if (l < c->a + c->n)
		return false;
	else
		*s = l - c->n;
	return true;
}

/* Does any old block land in new lblks [x, y)? */
static int src_has_data(struct shift_ctx *c, uint64_t x, uint64_t y,
			bool *any)
{
	uint64_t lo[2], hi[2], o;
	unsigned int k = 0;
	int err;

	*any = false;
	if (x < c->a) {
		lo[k] = x;
		hi[k++] = y < c->a ? y : c->a;
	}
	if (y > c->a) {
		uint64_t s = x > c->a ? x : c->a;

		if (!c->insert) {
			lo[k] = s + c->n;
			hi[k++] = y + c->n;
		} else if (y > c->a + c->n) {
			lo[k] = (s > c->a + c->n ? s : c->a + c->n) - c->n;
			hi[k++] = y - c->n;
		}
	}
	for (unsigned int i = 0; i < k; i++) {
		err = pmfs2_bmap_next(c->sbi, c->pi, lo[i], hi[i], true, &o);
		if (err)
			return err;
		if (o < hi[i]) {
			*any = true;
			break;
		}
	}
	return 0;
}

/* An old subtree wholly below the range, taken over as it is. */
static bool shareable(const struct shift_ctx *c, unsigned int level,
		      uint64_t base)
{
	return level >= 1 && level <= c->oh && level < c->nh &&
	       base + pmfs2_map_span(level) <= c->a;
}

/* Build the new index block at (level >= 1, base); *out 0: all holes. */
static int shift_build(struct shift_ctx *c, unsigned int level, uint64_t base,
		       uint64_t *out)
{
	uint64_t tbl[PMFS2_PTRS_PER_BLOCK], cs = pmfs2_map_span(level - 1), b;
	bool any = false;
	int err = 0;

	*out = 0;
	memset(tbl, 0, sizeof(tbl));
	for (unsigned int i = 0; i < PMFS2_PTRS_PER_BLOCK; i++) {
		uint64_t cb = base + i * cs, s;
		bool d;

		if (cb >= c->nend)
			break;
		if (level == 1) {
			if (shift_src(c, cb, &s))
				err = old_ptr(c, s, &tbl[i]);
		} else if (shareable(c, level - 1, cb)) {
			err = old_node(c, level - 1, cb, &tbl[i]);
		} else if (cb < c->a) {
			/* across the start of the range: shared parts inside */
			err = shift_build(c, level - 1, cb, &tbl[i]);
		} else {
			err = src_has_data(c, cb, cb + cs, &d);
			if (!err && d)
				err = shift_build(c, level - 1, cb, &tbl[i]);
		}
		if (err)
			return err;
		any |= tbl[i] != 0;
	}
	if (!any)
		return 0;
	c->sh->built++;
	if (c->dry) {
		*out = 1;	/* any non-zero value: counted, not made */
		return 0;
	}
	err = pmfs2_vec_push(&c->sh->fresh, 0);
	if (err)
		return err;
	c->sh->fresh.n--;
	err = pmfs2_alloc_block_notx(c->sbi, &b);
	if (err)
		return err;
	c->sh->fresh.v[c->sh->fresh.n++] = b;
	zus_pmem_memcpy_nt(c->sbi->pm, pmfs2_blk(c->sbi, b), tbl, sizeof(tbl));
	*out = b;
	return 0;
}

static int shift_drop(struct shift_ctx *c, uint64_t v)
{
	c->sh->dblocks--;
	return pmfs2_vec_push(&c->sh->frees, v);
}

/* Collect what the new map does not take over from old node (level, base). */
static int shift_free(struct shift_ctx *c, uint64_t blk, unsigned int level,
		      uint64_t base)
{
	const uint64_t *tbl = pmfs2_blk(c->sbi, blk);
	uint64_t cs = pmfs2_map_span(level - 1);
	int err;

	if (shareable(c, level, base))
		return 0;
	err = shift_drop(c, blk);
	for (unsigned int i = 0; !err && i < PMFS2_PTRS_PER_BLOCK; i++) {
		uint64_t v = tbl[i], cb = base + i * cs;

		if (!v)
			continue;
		if (level > 1) {
			err = index_ok(c->sbi, v);
			if (!err)
				err = shift_free(c, v, level - 1, cb);
		} else if (!c->insert && cb >= c->a && cb < c->a + c->n) {
			err = data_ok(c->sbi, v);
			if (!err)
				err = shift_drop(c, v);	/* collapsed */
		}
	}
	return err;
}

/* The last mapped lblk of the subtree blk (level >= 1) at base: 1 found. */
static int last_rec(struct pmfs2_sbi *sbi, uint64_t blk, unsigned int level,
		    uint64_t base, uint64_t *out)
{
	const uint64_t *tbl = pmfs2_blk(sbi, blk);
	uint64_t cs = pmfs2_map_span(level - 1);
	int r;

	for (unsigned int i = PMFS2_PTRS_PER_BLOCK; i-- > 0;) {
		uint64_t v = tbl[i];

		if (!v)
			continue;
		if (level == 1) {
			*out = base + i;
			return 1;
		}
		r = index_ok(sbi, v);
		if (!r)
			r = last_rec(sbi, v, level - 1, base + i * cs, out);
		if (r)
			return r;
	}
	return 0;
}

int pmfs2_bmap_shift(struct pmfs2_sbi *sbi, const struct pmfs2_inode *pi,
		     uint64_t a, uint64_t n, bool insert, bool dry,
		     struct pmfs2_shift *sh)
{
	struct shift_ctx c = { .sbi = sbi, .pi = pi, .sh = sh, .a = a, .n = n,
			       .insert = insert, .dry = dry,
			       .cleaf = UINT64_MAX };
	uint64_t map = pi->map, last = 0, root = 0;
	unsigned int h;
	int err;

	sh->map = map;
	sh->dblocks = 0;
	sh->built = 0;
	if (!map || !n)
		return 0;
	err = root_ok(sbi, map);
	if (err)
		return err;
	c.oh = pmfs2_map_height(map);
	c.oroot = pmfs2_map_block(map);
	if (c.oh) {
		err = last_rec(sbi, c.oroot, c.oh, 0, &last);
		if (err < 0)
			return err;
		if (!err)
			return 0;	/* an empty tree: nothing moves */
	}
	if (last < a)
		return 0;	/* nothing at or past the range */
	if (insert) {
		if (last + n >= PMFS2_MAX_LBLKS)
			return -EFBIG;
		c.nend = last + n + 1;
	} else {
		c.nend = last >= a + n ? last - n + 1 : a;
	}
	if (c.nend) {
		for (h = 1; pmfs2_map_span(h) < c.nend; h++)
			;
		c.nh = h > c.oh ? h : c.oh;
		err = shift_build(&c, c.nh, 0, &root);
		if (err)
			return err;
	}
	sh->map = root ? root << PMFS2_MAP_HEIGHT_BITS | c.nh : 0;
	sh->dblocks = (int64_t)sh->built;
	if (dry)
		return 0;
	/* the new map is durable before the transaction that publishes it */
	zus_pmem_fence(sbi->pm);
	if (!c.oh)
		return insert ? 0 : shift_drop(&c, c.oroot);	/* a == 0 */
	return shift_free(&c, c.oroot, c.oh, 0);
}

void pmfs2_bmap_shift_done(struct pmfs2_sbi *sbi, struct pmfs2_shift *sh,
			   bool committed)
{
	if (!committed)
		for (size_t i = 0; i < sh->fresh.n; i++)
			pmfs2_free_block(sbi, sh->fresh.v[i]);
	pmfs2_vec_free(&sh->fresh);
	pmfs2_vec_free(&sh->frees);
}
