// SPDX-License-Identifier: BSD-2-Clause
/*
 * dir.c - the extendible-hash directory index (layout in pmfs2_format.h).
 *
 * A lookup reads the head, one array slot and one bucket: no scan.  A full
 * bucket splits in two (one new bucket, half of its array slots retargeted);
 * when its local depth equals the global depth the array doubles first into
 * fresh space, so the live array is never rewritten in place.  Buckets are
 * never merged: empty ones stay until the directory is removed.
 */
#include <stdlib.h>
#include <string.h>

#include "pmfs2.h"

#define HEAD_SIZE	sizeof(struct pmfs2_dir_head)
#define BHEAD_SIZE	sizeof(struct pmfs2_bucket_head)

struct dirx {
	struct pmfs2_sbi *sbi;
	struct pmfs2_inode *dir;
	uint64_t ino;
	struct pmfs2_dir_head *h;
	uint32_t gd, nb;
};

static int dir_block(struct dirx *d, uint64_t lblk, void **p)
{
	uint64_t blk;
	int err = pmfs2_bmap_lookup(d->sbi, d->dir, lblk, &blk);

	if (err)
		return err;
	if (!blk)
		return pmfs2_corrupt(d->sbi, "directory %llu: block %llu missing",
				     (unsigned long long)d->ino,
				     (unsigned long long)lblk);
	*p = pmfs2_blk(d->sbi, blk);
	return 0;
}

/* 1: empty directory without an index; 0: head loaded; <0: error. */
static int dir_open(struct dirx *d, struct pmfs2_sbi *sbi,
		    const struct pmfs2_inode *dir)
{
	void *p;
	int err;

	d->sbi = sbi;
	d->dir = (struct pmfs2_inode *)dir;
	d->ino = pmfs2_ino_of(sbi, dir);
	d->h = NULL;
	if (!dir->map)
		return 1;
	err = dir_block(d, 0, &p);
	if (err)
		return err;
	d->h = p;
	d->gd = d->h->global_depth;
	d->nb = d->h->nbuckets;
	if (d->h->magic != PMFS2_DIR_MAGIC || d->gd > PMFS2_DIR_MAX_DEPTH ||
	    !d->nb || d->nb > (1u << d->gd))
		return pmfs2_corrupt(sbi, "directory %llu: bad head (magic %#x depth %u buckets %u)",
				     (unsigned long long)d->ino, d->h->magic,
				     d->gd, d->nb);
	return 0;
}

/* Slots [idx, idx + *run) of the depth's array, contiguous in one block. */
static int slot_run(struct dirx *d, unsigned int depth, uint64_t idx,
		    uint32_t **p, uint64_t *run)
{
	uint64_t pos = ((1ull << depth) - 1 + idx) * 4, left = (1ull << depth) - idx;
	void *blk;
	int err;

	if (pos < PMFS2_DIR_INLINE_ARRAY_BYTES) {
		*p = (uint32_t *)((char *)d->h + HEAD_SIZE + pos);
		*run = (PMFS2_DIR_INLINE_ARRAY_BYTES - pos) / 4;
	} else {
		pos -= PMFS2_DIR_INLINE_ARRAY_BYTES;
		err = dir_block(d, PMFS2_DIR_ARRAY_LBLK +
				(pos >> PMFS2_BLOCK_SHIFT), &blk);
		if (err)
			return err;
		*p = (uint32_t *)((char *)blk + (pos & (PMFS2_BLOCK_SIZE - 1)));
		*run = (PMFS2_BLOCK_SIZE - (pos & (PMFS2_BLOCK_SIZE - 1))) / 4;
	}
	if (*run > left)
		*run = left;
	return 0;
}

static int bucket_of(struct dirx *d, uint64_t idx, uint32_t *b,
		     struct pmfs2_bucket_head **bh)
{
	uint32_t *p;
	uint64_t run;
	void *blk;
	int err;

	err = slot_run(d, d->gd, idx, &p, &run);
	if (err)
		return err;
	*b = *p;
	if (*b >= d->nb)
		return pmfs2_corrupt(d->sbi, "directory %llu: slot %llu names bucket %u of %u",
				     (unsigned long long)d->ino,
				     (unsigned long long)idx, *b, d->nb);
	err = dir_block(d, 1 + (uint64_t)*b, &blk);
	if (err)
		return err;
	*bh = blk;
	if ((*bh)->magic != PMFS2_BUCKET_MAGIC ||
	    (*bh)->local_depth > d->gd || (*bh)->used > PMFS2_BUCKET_SPACE)
		return pmfs2_corrupt(d->sbi, "directory %llu: bad bucket %u",
				     (unsigned long long)d->ino, *b);
	return 0;
}

static uint64_t hash_idx(const struct dirx *d, uint64_t hash)
{
	return d->gd ? hash >> (PMFS2_DIR_HASH_BITS - d->gd) : 0;
}

/* Next entry of a bucket at *off (bytes after the head): 1, 0 at the end. */
static int next_entry(struct dirx *d, struct pmfs2_bucket_head *bh,
		      uint64_t idx, uint32_t *off, struct pmfs2_dirent **e)
{
	uint32_t used = bh->used, sz;
	unsigned int ld = bh->local_depth;
	struct pmfs2_dirent *de;

	if (*off >= used)
		return 0;
	de = (struct pmfs2_dirent *)((char *)(bh + 1) + *off);
	if (used - *off < 18 || !de->name_len ||
	    (sz = PMFS2_DIRENT_SIZE(de->name_len)) > used - *off ||
	    de->hash >> PMFS2_DIR_HASH_BITS ||
	    (ld && (de->hash >> (PMFS2_DIR_HASH_BITS - ld)) !=
		   (idx >> (d->gd - ld))) ||
	    memchr(de->name, '/', de->name_len) ||
	    memchr(de->name, 0, de->name_len))
		return pmfs2_corrupt(d->sbi, "directory %llu: bad entry at %u",
				     (unsigned long long)d->ino, *off);
	*off += sz;
	*e = de;
	return 1;
}

static int find(struct dirx *d, const char *name, size_t len, uint64_t hash,
		struct pmfs2_bucket_head **bhp, struct pmfs2_dirent **ep)
{
	uint64_t idx = hash_idx(d, hash);
	struct pmfs2_bucket_head *bh;
	struct pmfs2_dirent *e;
	uint32_t b, off = 0;
	int r;

	r = bucket_of(d, idx, &b, &bh);
	if (r)
		return r;
	while ((r = next_entry(d, bh, idx, &off, &e)) > 0) {
		if (e->hash == hash && e->name_len == len &&
		    !memcmp(e->name, name, len)) {
			*bhp = bh;
			*ep = e;
			return 0;
		}
	}
	return r ? r : -ENOENT;
}

int pmfs2_dir_lookup(struct pmfs2_sbi *sbi, const struct pmfs2_inode *dir,
		     const char *name, size_t len, uint64_t *ino)
{
	struct pmfs2_bucket_head *bh;
	struct pmfs2_dirent *e;
	struct dirx d;
	int r;

	r = dir_open(&d, sbi, dir);
	if (r)
		return r > 0 ? -ENOENT : r;
	r = find(&d, name, len, pmfs2_name_hash(&sbi->s, name, len), &bh, &e);
	if (!r)
		*ino = e->ino;
	return r;
}

/* The directory's size tells its index blocks: head and buckets. */
static void dir_set_size(struct dirx *d)
{
	d->dir->size = d->h ? (1 + (uint64_t)d->nb) << PMFS2_BLOCK_SHIFT : 0;
}

static int new_dir_block(struct pmfs2_tx *tx, struct dirx *d, uint64_t lblk,
			 void **p)
{
	uint64_t blk;
	bool isnew;
	int err;

	err = pmfs2_bmap_map(tx, d->dir, lblk, PMFS2_MAP_ZERO, &blk, &isnew);
	if (err)
		return err;
	if (!isnew)
		return pmfs2_corrupt(d->sbi, "directory %llu: block %llu already mapped",
				     (unsigned long long)d->ino,
				     (unsigned long long)lblk);
	*p = pmfs2_blk(d->sbi, blk);
	return 0;
}

static void init_bucket(struct pmfs2_sbi *sbi, struct pmfs2_bucket_head *bh,
			unsigned int ld, const char *ents, uint32_t used,
			uint32_t count)
{
	struct pmfs2_bucket_head n = {
		.magic = PMFS2_BUCKET_MAGIC, .local_depth = (uint16_t)ld,
		.count = (uint16_t)count, .used = (uint16_t)used,
	};

	if (used)
		memcpy(bh + 1, ents, used);
	memcpy(bh, &n, sizeof(n));
	zus_pmem_flush(sbi->pm, bh, BHEAD_SIZE + used);
}

static int dir_init(struct pmfs2_tx *tx, struct dirx *d)
{
	struct pmfs2_dir_head n = { .magic = PMFS2_DIR_MAGIC, .nbuckets = 1 };
	void *head, *bucket;
	int err;

	err = new_dir_block(tx, d, 0, &head);
	if (!err)
		err = new_dir_block(tx, d, 1, &bucket);
	if (err)
		return err;
	memcpy(head, &n, sizeof(n));	/* array slot 0 = bucket 0: zeroed */
	zus_pmem_flush(d->sbi->pm, head, HEAD_SIZE + 4);
	init_bucket(d->sbi, bucket, 0, NULL, 0, 0);
	d->h = head;
	d->gd = 0;
	d->nb = 1;
	return 0;
}

/* Write the array of depth gd+1 into unused space, then switch to it. */
static int dir_double(struct pmfs2_tx *tx, struct dirx *d)
{
	unsigned int nd = d->gd + 1;
	uint64_t n = 1ull << nd, i = 0, run;
	uint32_t *dst, *src = NULL;
	uint64_t srun = 0, sj = 0;
	int err;

	/* map the blocks the new array needs */
	if (((1ull << nd) - 1) * 4 >= PMFS2_DIR_INLINE_ARRAY_BYTES) {
		uint64_t first = ((1ull << nd) - 1) * 4 -
				 PMFS2_DIR_INLINE_ARRAY_BYTES;
		uint64_t last = first + n * 4 - 1;

		for (uint64_t l = first >> PMFS2_BLOCK_SHIFT;
		     l <= last >> PMFS2_BLOCK_SHIFT; l++) {
			uint64_t blk;
			bool isnew;

			err = pmfs2_bmap_map(tx, d->dir,
					     PMFS2_DIR_ARRAY_LBLK + l,
					     PMFS2_MAP_ZERO, &blk, &isnew);
			if (err)
				return err;
		}
	}
	while (i < n) {
		err = slot_run(d, nd, i, &dst, &run);
		if (!err)
			err = pmfs2_tx_fresh(tx, dst, run * 4);
		if (err)
			return err;
		for (uint64_t k = 0; k < run; k++, i++) {
			uint64_t j = i >> 1;

			if (!src || j < sj || j >= sj + srun) {
				err = slot_run(d, d->gd, j, &src, &srun);
				if (err)
					return err;
				sj = j;
			}
			dst[k] = src[j - sj];
		}
	}
	err = pmfs2_tx_log(tx, d->h, HEAD_SIZE);
	if (err)
		return err;
	d->h->global_depth = nd;
	d->gd = nd;
	return 0;
}

/* Split the bucket found through slot idx into itself and a new one. */
static int dir_split(struct pmfs2_tx *tx, struct dirx *d, uint64_t idx,
		     struct pmfs2_bucket_head *bh)
{
	static __thread char keep[PMFS2_BUCKET_SPACE], move[PMFS2_BUCKET_SPACE];
	unsigned int ld = bh->local_depth, shift = d->gd - ld;
	uint32_t kused = 0, mused = 0, kcnt = 0, mcnt = 0, off = 0, nbno = d->nb;
	uint64_t first, half, done = 0;
	struct pmfs2_dirent *e;
	void *nbh;
	int r;

	while ((r = next_entry(d, bh, idx, &off, &e)) > 0) {
		uint32_t sz = PMFS2_DIRENT_SIZE(e->name_len);

		if ((e->hash >> (PMFS2_DIR_HASH_BITS - 1 - ld)) & 1) {
			memcpy(move + mused, e, sz);
			mused += sz;
			mcnt++;
		} else {
			memcpy(keep + kused, e, sz);
			kused += sz;
			kcnt++;
		}
	}
	if (r)
		return r;
	r = new_dir_block(tx, d, 1 + (uint64_t)nbno, &nbh);
	if (r)
		return r;
	init_bucket(d->sbi, nbh, ld + 1, move, mused, mcnt);
	r = pmfs2_tx_log(tx, bh, BHEAD_SIZE + bh->used);
	if (r)
		return r;
	init_bucket(d->sbi, bh, ld + 1, keep, kused, kcnt);
	/* the upper half of b's slots now names the new bucket */
	half = 1ull << (shift - 1);
	first = ((idx >> shift) << shift) + half;
	while (done < half) {
		uint32_t *p;
		uint64_t run;

		r = slot_run(d, d->gd, first + done, &p, &run);
		if (run > half - done)
			run = half - done;
		if (!r)
			r = pmfs2_tx_log(tx, p, run * 4);
		if (r)
			return r;
		for (uint64_t k = 0; k < run; k++)
			p[k] = nbno;
		done += run;
	}
	r = pmfs2_tx_log(tx, d->h, HEAD_SIZE);
	if (r)
		return r;
	d->h->nbuckets = ++d->nb;
	return 0;
}

int pmfs2_dir_add(struct pmfs2_tx *tx, struct pmfs2_inode *dir,
		  const char *name, size_t len, uint64_t ino,
		  unsigned int dtype)
{
	struct pmfs2_sbi *sbi = tx->sbi;
	uint64_t hash = pmfs2_name_hash(&sbi->s, name, len);
	uint32_t sz = PMFS2_DIRENT_SIZE(len);
	struct pmfs2_bucket_head *bh;
	struct pmfs2_dirent *e;
	struct dirx d;
	int r;

	r = pmfs2_tx_log(tx, dir, sizeof(*dir));
	if (r)
		return r;
	r = dir_open(&d, sbi, dir);
	if (r > 0)
		r = dir_init(tx, &d);
	if (r)
		return r;
	for (;;) {
		uint64_t idx = hash_idx(&d, hash);
		uint32_t b;

		r = bucket_of(&d, idx, &b, &bh);
		if (r)
			return r;
		if (bh->used + sz <= PMFS2_BUCKET_SPACE)
			break;
		if (bh->local_depth == d.gd) {
			if (d.gd == PMFS2_DIR_MAX_DEPTH)
				return -ENOSPC;
			r = dir_double(tx, &d);
		} else {
			r = dir_split(tx, &d, idx, bh);
		}
		if (r)
			return r;
	}
	/* the bytes past `used` are free: written unlogged, then published */
	e = (struct pmfs2_dirent *)((char *)(bh + 1) + bh->used);
	memset(e, 0, sz);
	e->ino = ino;
	e->hash = hash;
	e->name_len = (uint8_t)len;
	e->type = (uint8_t)dtype;
	memcpy(e->name, name, len);
	zus_pmem_flush(sbi->pm, e, sz);
	r = pmfs2_tx_log(tx, bh, BHEAD_SIZE);
	if (!r)
		r = pmfs2_tx_log(tx, d.h, HEAD_SIZE);
	if (r)
		return r;
	bh->used += sz;
	bh->count++;
	d.h->nentries++;
	dir_set_size(&d);
	return 0;
}

int pmfs2_dir_remove(struct pmfs2_tx *tx, struct pmfs2_inode *dir,
		     const char *name, size_t len)
{
	struct pmfs2_sbi *sbi = tx->sbi;
	struct pmfs2_bucket_head *bh;
	struct pmfs2_dirent *e;
	uint32_t off, sz;
	struct dirx d;
	int r;

	r = dir_open(&d, sbi, dir);
	if (r)
		return r > 0 ? -ENOENT : r;
	r = find(&d, name, len, pmfs2_name_hash(&sbi->s, name, len), &bh, &e);
	if (r)
		return r;
	off = (uint32_t)((char *)e - (char *)(bh + 1));
	sz = PMFS2_DIRENT_SIZE(e->name_len);
	r = pmfs2_tx_log(tx, bh, BHEAD_SIZE + bh->used);
	if (!r)
		r = pmfs2_tx_log(tx, d.h, HEAD_SIZE);
	if (!r)
		r = pmfs2_tx_log(tx, dir, sizeof(*dir));
	if (r)
		return r;
	memmove(e, (char *)e + sz, bh->used - off - sz);
	bh->used -= sz;
	if (bh->count)
		bh->count--;
	if (d.h->nentries)
		d.h->nentries--;
	return 0;
}

int pmfs2_dir_retarget(struct pmfs2_tx *tx, struct pmfs2_inode *dir,
		       const char *name, size_t len, uint64_t ino,
		       unsigned int dtype)
{
	struct pmfs2_bucket_head *bh;
	struct pmfs2_dirent *e;
	struct dirx d;
	int r;

	r = dir_open(&d, tx->sbi, dir);
	if (r)
		return r > 0 ? -ENOENT : r;
	r = find(&d, name, len, pmfs2_name_hash(&tx->sbi->s, name, len), &bh,
		 &e);
	if (!r)
		r = pmfs2_tx_log(tx, e, offsetof(struct pmfs2_dirent, name));
	if (r)
		return r;
	e->ino = ino;
	e->type = (uint8_t)dtype;
	return 0;
}

/* Entries, counted bucket by bucket and cross-checked with the head. */
int pmfs2_dir_count(struct pmfs2_sbi *sbi, const struct pmfs2_inode *dir,
		    uint64_t *n)
{
	uint64_t idx = 0;
	struct dirx d;
	int r;

	*n = 0;
	r = dir_open(&d, sbi, dir);
	if (r)
		return r > 0 ? 0 : r;
	while (idx < (1ull << d.gd)) {
		struct pmfs2_bucket_head *bh;
		uint32_t b;

		r = bucket_of(&d, idx, &b, &bh);
		if (r)
			return r;
		*n += bh->count;
		idx = ((idx >> (d.gd - bh->local_depth)) + 1) <<
		      (d.gd - bh->local_depth);
	}
	if (*n != d.h->nentries)
		return pmfs2_corrupt(sbi, "directory %llu: %llu entries, head says %llu",
				     (unsigned long long)d.ino,
				     (unsigned long long)*n,
				     (unsigned long long)d.h->nentries);
	return 0;
}

static int cmp_hash(const void *a, const void *b)
{
	const struct pmfs2_dirbuf_ent *x = a, *y = b;

	return x->hash < y->hash ? -1 : x->hash > y->hash;
}

int pmfs2_dir_read_bucket(struct pmfs2_sbi *sbi, const struct pmfs2_inode *dir,
			  uint64_t start, struct pmfs2_dirbuf *out,
			  uint64_t *next)
{
	struct pmfs2_bucket_head *bh;
	struct pmfs2_dirent *e;
	uint64_t idx, span;
	uint32_t b, off = 0;
	struct dirx d;
	int r;

	out->n = 0;
	*next = 1ull << PMFS2_DIR_HASH_BITS;
	r = dir_open(&d, sbi, dir);
	if (r)
		return r > 0 ? 0 : r;
	idx = hash_idx(&d, start);
	r = bucket_of(&d, idx, &b, &bh);
	if (r)
		return r;
	while ((r = next_entry(&d, bh, idx, &off, &e)) > 0) {
		struct pmfs2_dirbuf_ent *o;

		if (e->hash < start)
			continue;
		if (out->n == PMFS2_DIRBUF_MAX)
			return pmfs2_corrupt(sbi, "directory %llu: bucket %u overfull",
					     (unsigned long long)d.ino, b);
		if (!e->ino || e->ino >= sbi->s.inode_count)
			return pmfs2_corrupt(sbi, "directory %llu: entry names inode %llu",
					     (unsigned long long)d.ino,
					     (unsigned long long)e->ino);
		o = &out->e[out->n++];
		o->ino = e->ino;
		o->hash = e->hash;
		o->type = e->type;
		o->len = e->name_len;
		memcpy(o->name, e->name, e->name_len);
	}
	if (r)
		return r;
	qsort(out->e, out->n, sizeof(out->e[0]), cmp_hash);
	/* the bucket covers an aligned run of slots: resume after it */
	span = d.gd - bh->local_depth;
	idx = ((idx >> span) + 1) << span;
	if (idx < (1ull << d.gd))
		*next = idx << (PMFS2_DIR_HASH_BITS - d.gd);
	return 0;
}
