/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pmfs2_tier.h - tiering inside pmfs2 (tier.c, hotness.c); internal.
 *
 * pmem is the front, one tier device (NVMe, via a zus_tier_backend) the
 * capacity behind it.  Only regular-file data blocks below an index block
 * move: index, directory, symlink and xattr blocks and height-0 roots stay
 * on pmem.  A data pointer is either a pmem block or PMFS2_PTR_TIER | tier
 * block (tier block 0 is the device header, never handed out).
 *
 * Migration (pmem -> tier), per batch: copy the cold blocks into a staging
 * buffer under the inode's read lock; write the batch to the tier (submit
 * returns when it is durable); under the write lock, tell the host
 * (zus_invalidate: a kernel extent cache or DAX mapping lets go of the
 * blocks), then for each block whose pointer and content are unchanged,
 * store ptr = T | PMFS2_PTR_TIER (8-byte atomic) and flush; fence; only then
 * free the pmem blocks.  A block changed meanwhile is left alone and its
 * tier copy freed; so is every block of an inode the host cannot let go of.
 * A DAX fault asks get_extents with ZUS_GE_PROMOTE: promoted like a write.
 *
 * Promotion (tier -> pmem) under the write lock: read the tier blocks,
 * copy them into new pmem blocks, fence, store the pmem pointers, fence,
 * then free the tier blocks.  Writes to tiered data promote first (copy on
 * write to pmem): the write then lands on pmem like any other, direct-mode
 * extents stay pmem extents, and a power cut leaves old or new blocks,
 * never a torn tier block.
 *
 * Free tier space is a DRAM bitmap rebuilt at mount from every tier pointer,
 * like pmem's; a tier block referenced twice is corruption.
 */
#ifndef PMFS2_TIER_H
#define PMFS2_TIER_H

#include <stdbool.h>
#include <stdint.h>

struct pmfs2_sbi;
struct pmfs2_inode;
struct zus_sb;
struct zus_tier_status;

/* Hotness is kept per 2 MiB logical chunk of a file. */
#define PMFS2_HOT_CHUNK_SHIFT	9
#define PMFS2_TIER_DEF_LOW	10	/* % of pmem data blocks free */
#define PMFS2_TIER_DEF_HIGH	20
#define PMFS2_TIER_BATCH	512	/* blocks per migration I/O batch */

/* ---- tier.c: mount / umount ---- */
/* After the allocators exist, before the inode scan: find, check and
 * attach the tier (refusing a missing or foreign one) with sbi->opts. */
int pmfs2_tier_init(struct pmfs2_sbi *sbi);
/* After the scan: start the migrator thread (unless tier_thread=0). */
int pmfs2_tier_start(struct pmfs2_sbi *sbi);
/* The migrator thread stops (after the migration it is doing). */
void pmfs2_tier_stop(struct pmfs2_sbi *sbi);
/* Remount: new watermarks; the migrator stopped, no transaction open. */
void pmfs2_tier_set_marks(struct pmfs2_sbi *sbi, unsigned int low_pct,
			  unsigned int high_pct);
void pmfs2_tier_fini(struct pmfs2_sbi *sbi);
/* Mount scan: a tier block referenced by an inode (-EUCLEAN if twice). */
int pmfs2_tier_mark(struct pmfs2_sbi *sbi, uint64_t tblk);
void pmfs2_tier_free(struct pmfs2_sbi *sbi, uint64_t tblk);
/* Tier data blocks: total and free (0, 0 without a tier). */
void pmfs2_tier_space(struct pmfs2_sbi *sbi, uint64_t *total, uint64_t *bfree);

/* ---- tier.c: data path ---- */
/* Read from off (< end) what the tier holds, starting with the tier block
 * at off: at most one run of consecutive tier blocks.  *n: bytes read. */
int pmfs2_tier_read(struct pmfs2_sbi *sbi, uint64_t ino,
		    const struct pmfs2_inode *pi, uint64_t off, uint64_t end,
		    char *dst, uint64_t *n);
/* The pmem block of lblk, promoting it first if it is on the tier.  The
 * caller holds ino's write lock; held: the inode whose blocks a migration
 * this triggers may move (0: none). */
int pmfs2_bmap_lookup_w(struct pmfs2_sbi *sbi, struct pmfs2_inode *pi,
			uint64_t lblk, uint64_t held, uint64_t *blk);
/* Before writing [off, off + len) of ino (write lock held, no transaction
 * open): promote tiered blocks in it and make room on pmem. */
int pmfs2_tier_prepare_write(struct pmfs2_sbi *sbi, uint64_t ino,
			     struct pmfs2_inode *pi, uint64_t off,
			     uint64_t len);
/* Migrate until `need` pmem blocks are free; held: an inode whose write
 * lock the caller holds (0: none).  0, or -ENOSPC when it cannot. */
int pmfs2_tier_make_room(struct pmfs2_sbi *sbi, uint64_t held,
			 uint64_t need);
/* Record an access of lblk..lblk+n-1 of ino (reads and writes). */
void pmfs2_tier_touch(struct pmfs2_sbi *sbi, uint64_t ino, uint64_t lblk,
		      uint64_t n);
/* Wake the migrator if free pmem fell below the low watermark. */
void pmfs2_tier_kick(struct pmfs2_sbi *sbi);

/* zus_fs_ops.tier_status */
int pmfs2_tier_status(struct zus_sb *zsb, struct zus_tier_status *st);

/* ---- tier.c: synchronous control (tests, benchmarks) ---- */
/* One migrator round in the caller's thread: queued promotions, then
 * migration back to the high watermark if below the low one. */
int pmfs2_tier_run(struct pmfs2_sbi *sbi);
/* Migrate up to n of the coldest pmem data blocks now; returns how many
 * moved, or -errno. */
int64_t pmfs2_tier_migrate(struct pmfs2_sbi *sbi, uint64_t n);

/* ---- hotness.c: per-chunk access counts with exponential decay ---- */
struct pmfs2_hot;
int pmfs2_hot_init(struct pmfs2_hot **h, unsigned int nbuckets_log2);
void pmfs2_hot_fini(struct pmfs2_hot *h);
/* Add weight accesses; returns the new temperature. */
uint32_t pmfs2_hot_touch(struct pmfs2_hot *h, uint64_t ino, uint64_t chunk,
			 uint32_t weight);
uint32_t pmfs2_hot_temp(struct pmfs2_hot *h, uint64_t ino, uint64_t chunk);
/* Forget a chunk (it moved to the tier: cold by definition). */
void pmfs2_hot_forget(struct pmfs2_hot *h, uint64_t ino, uint64_t chunk);
/* Halve every temperature (lazily: one epoch step). */
void pmfs2_hot_decay(struct pmfs2_hot *h);

#endif /* PMFS2_TIER_H */
