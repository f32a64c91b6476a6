// SPDX-License-Identifier: BSD-2-Clause
/*
 * balloc.c - DRAM block and inode allocators, rebuilt at every mount.
 *
 * Next-fit over 64-bit words: allocation is O(1) amortized, and a block
 * freed by a transaction returns only after that transaction committed.
 */
#include <stdlib.h>

#include "pmfs2.h"

int pmfs2_alloc_init(struct pmfs2_sbi *sbi)
{
	uint64_t nb = pmfs2_data_end(&sbi->s), ni = sbi->s.inode_count;
	size_t bw = (nb + 63) / 64, iw = (ni + 63) / 64;

	sbi->bmap = calloc(bw, 8);
	sbi->txnew = calloc(bw, 8);
	sbi->imap = calloc(iw, 8);
	sbi->linkable = calloc(iw, 8);
	if (!sbi->bmap || !sbi->txnew || !sbi->imap || !sbi->linkable)
		return -ENOMEM;
	for (uint64_t b = 0; b < sbi->s.data_start; b++)
		pmfs2_set_bit(sbi->bmap, b);
	/* bits past the data area stay set: the word scan never returns them */
	for (uint64_t b = nb; b < bw * 64; b++)
		pmfs2_set_bit(sbi->bmap, b);
	sbi->free_blocks = nb - sbi->s.data_start;
	sbi->bhint = sbi->s.data_start;
	pmfs2_set_bit(sbi->imap, 0);
	for (uint64_t i = ni; i < iw * 64; i++)
		pmfs2_set_bit(sbi->imap, i);
	sbi->free_inodes = ni - 1;
	sbi->ihint = 1;
	return 0;
}

void pmfs2_alloc_fini(struct pmfs2_sbi *sbi)
{
	free(sbi->bmap);
	free(sbi->txnew);
	free(sbi->imap);
	free(sbi->linkable);
	sbi->bmap = sbi->txnew = sbi->imap = sbi->linkable = NULL;
}

/* Mount: a block referenced by an inode; -EUCLEAN if referenced twice. */
int pmfs2_mark_block(struct pmfs2_sbi *sbi, uint64_t blk)
{
	if (!pmfs2_data_block_ok(&sbi->s, blk))
		return pmfs2_corrupt(sbi, "block %llu outside the data area",
				     (unsigned long long)blk);
	if (pmfs2_test_bit(sbi->bmap, blk))
		return pmfs2_corrupt(sbi, "block %llu referenced twice",
				     (unsigned long long)blk);
	pmfs2_set_bit(sbi->bmap, blk);
	sbi->free_blocks--;
	return 0;
}

void pmfs2_mark_inode(struct pmfs2_sbi *sbi, uint64_t ino)
{
	pmfs2_set_bit(sbi->imap, ino);
	sbi->free_inodes--;
}

/* Find a clear bit at or after hint, wrapping; nbits > 0, one exists. */
static uint64_t find_clear(const uint64_t *map, uint64_t nbits, uint64_t hint)
{
	size_t nw = (nbits + 63) / 64, w = (hint >> 6) % nw;
	uint64_t word = map[w] | ((1ull << (hint & 63)) - 1);

	for (size_t i = 0; i <= nw; i++) {
		if (~word)
			return (uint64_t)w * 64 + (uint64_t)__builtin_ctzll(~word);
		w = (w + 1) % nw;
		word = map[w];
	}
	return UINT64_MAX;
}

/* Take a free block; txnew marks it as allocated by the open tx. */
static int alloc_one(struct pmfs2_sbi *sbi, bool txnew, uint64_t *blk)
{
	uint64_t b;

	pthread_mutex_lock(&sbi->alloc_lock);
	if (!sbi->free_blocks) {
		pthread_mutex_unlock(&sbi->alloc_lock);
		return -ENOSPC;
	}
	b = find_clear(sbi->bmap, pmfs2_data_end(&sbi->s), sbi->bhint);
	if (b == UINT64_MAX || b >= pmfs2_data_end(&sbi->s)) {
		pthread_mutex_unlock(&sbi->alloc_lock);
		return -ENOSPC;
	}
	pmfs2_set_bit(sbi->bmap, b);
	if (txnew)
		pmfs2_set_bit(sbi->txnew, b);
	sbi->free_blocks--;
	sbi->bhint = b + 1 < pmfs2_data_end(&sbi->s) ? b + 1 : sbi->s.data_start;
	pthread_mutex_unlock(&sbi->alloc_lock);
	*blk = b;
	return 0;
}

int pmfs2_new_block(struct pmfs2_tx *tx, uint64_t *blk)
{
	struct pmfs2_sbi *sbi = tx->sbi;
	uint64_t b;
	int err;

	/* record first so that a failed push cannot leak the block */
	err = pmfs2_vec_push(&tx->allocs, 0);
	if (err)
		return err;
	tx->allocs.n--;
	err = alloc_one(sbi, true, &b);
	/* pmem full: move cold data to the tier (never blocks on inodes
	 * this thread holds: those are skipped) */
	if (err == -ENOSPC && sbi->tier && !pmfs2_tier_make_room(sbi, 0, 1))
		err = alloc_one(sbi, true, &b);
	if (err)
		return err;
	tx->allocs.v[tx->allocs.n++] = b;
	*blk = b;
	return 0;
}

int pmfs2_alloc_block_notx(struct pmfs2_sbi *sbi, uint64_t *blk)
{
	return alloc_one(sbi, false, blk);
}

void pmfs2_free_block(struct pmfs2_sbi *sbi, uint64_t blk)
{
	if (blk & PMFS2_PTR_TIER) {
		pmfs2_tier_free(sbi, blk & PMFS2_PTR_BLOCK_MASK);
		return;
	}
	pthread_mutex_lock(&sbi->alloc_lock);
	if (blk < sbi->s.data_start || blk >= pmfs2_data_end(&sbi->s) ||
	    !pmfs2_test_bit(sbi->bmap, blk)) {
		pthread_mutex_unlock(&sbi->alloc_lock);
		pmfs2_corrupt(sbi, "freeing free block %llu",
			      (unsigned long long)blk);
		return;
	}
	pmfs2_clear_bit(sbi->bmap, blk);
	sbi->free_blocks++;
	pthread_mutex_unlock(&sbi->alloc_lock);
}

/* Only the thread holding tx_lock sets or tests txnew bits. */
bool pmfs2_block_is_new(struct pmfs2_sbi *sbi, uint64_t blk)
{
	return blk < pmfs2_data_end(&sbi->s) && pmfs2_test_bit(sbi->txnew, blk);
}

void pmfs2_forget_new(struct pmfs2_sbi *sbi, uint64_t blk)
{
	pthread_mutex_lock(&sbi->alloc_lock);
	pmfs2_clear_bit(sbi->txnew, blk);
	pthread_mutex_unlock(&sbi->alloc_lock);
}

int pmfs2_new_ino(struct pmfs2_tx *tx, uint64_t *ino)
{
	struct pmfs2_sbi *sbi = tx->sbi;
	uint64_t i;
	int err;

	err = pmfs2_vec_push(&tx->iallocs, 0);
	if (err)
		return err;
	tx->iallocs.n--;
	pthread_mutex_lock(&sbi->alloc_lock);
	if (!sbi->free_inodes) {
		pthread_mutex_unlock(&sbi->alloc_lock);
		return -ENOSPC;
	}
	i = find_clear(sbi->imap, sbi->s.inode_count, sbi->ihint);
	if (i == UINT64_MAX || i >= sbi->s.inode_count) {
		pthread_mutex_unlock(&sbi->alloc_lock);
		return -ENOSPC;
	}
	pmfs2_set_bit(sbi->imap, i);
	sbi->free_inodes--;
	sbi->ihint = i + 1 < sbi->s.inode_count ? i + 1 : 1;
	pthread_mutex_unlock(&sbi->alloc_lock);
	tx->iallocs.v[tx->iallocs.n++] = i;
	*ino = i;
	return 0;
}

void pmfs2_free_ino(struct pmfs2_sbi *sbi, uint64_t ino)
{
	pthread_mutex_lock(&sbi->alloc_lock);
	if (ino && ino < sbi->s.inode_count &&
	    pmfs2_test_bit(sbi->imap, ino)) {
		pmfs2_clear_bit(sbi->imap, ino);
		pmfs2_clear_bit(sbi->linkable, ino);
		sbi->free_inodes++;
	}
	pthread_mutex_unlock(&sbi->alloc_lock);
}

void pmfs2_set_linkable(struct pmfs2_sbi *sbi, uint64_t ino, bool on)
{
	pthread_mutex_lock(&sbi->alloc_lock);
	if (on)
		pmfs2_set_bit(sbi->linkable, ino);
	else
		pmfs2_clear_bit(sbi->linkable, ino);
	pthread_mutex_unlock(&sbi->alloc_lock);
}

bool pmfs2_is_linkable(struct pmfs2_sbi *sbi, uint64_t ino)
{
	bool on;

	pthread_mutex_lock(&sbi->alloc_lock);
	on = pmfs2_test_bit(sbi->linkable, ino);
	pthread_mutex_unlock(&sbi->alloc_lock);
	return on;
}

void pmfs2_alloc_counts(struct pmfs2_sbi *sbi, uint64_t *bfree,
			uint64_t *ifree)
{
	pthread_mutex_lock(&sbi->alloc_lock);
	*bfree = sbi->free_blocks;
	*ifree = sbi->free_inodes;
	pthread_mutex_unlock(&sbi->alloc_lock);
}
