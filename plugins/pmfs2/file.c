// SPDX-License-Identifier: BSD-2-Clause
/*
 * file.c - regular file data: read, write, get_extents, fallocate (with
 * collapse and insert range), lseek, truncate.
 *
 * Invariant: bytes past i_size inside mapped blocks are zero.  New blocks
 * are zero-filled around the data written into them; an extending write
 * logs a ZERO record so a rolled-back extend leaves nothing past EOF.
 * Overwrites of mapped blocks inside i_size need no transaction.
 */
#include <limits.h>
#include <string.h>

#include "pmfs2.h"

#define BMASK	((uint64_t)PMFS2_BLOCK_SIZE - 1)

static_assert(offsetof(struct pmfs2_inode, ctime) ==
	      offsetof(struct pmfs2_inode, mtime) + 8 &&
	      offsetof(struct pmfs2_inode, mtime) % 64 <= 48,
	      "mtime and ctime share a cache line");

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static int reg_check(const struct pmfs2_inode *pi, int other)
{
	if (S_ISREG(pi->mode))
		return 0;
	return S_ISDIR(pi->mode) ? -EISDIR : other;
}

static uint64_t lblks_of(uint64_t size)
{
	return (size + BMASK) >> PMFS2_BLOCK_SHIFT;
}

int pmfs2_truncate(struct pmfs2_sbi *sbi, struct pmfs2_tx *tx,
		   struct pmfs2_inode *pi, uint64_t size)
{
	uint64_t blk, next;
	int err;

	err = pmfs2_tx_log(tx, pi, sizeof(*pi));
	if (err || size >= pi->size) {
		if (!err)
			pi->size = size;	/* bytes past EOF are zero */
		return err;
	}
	if (size & BMASK) {
		char *p;

		err = pmfs2_bmap_lookup_w(sbi, pi, size >> PMFS2_BLOCK_SHIFT,
					  0, &blk);
		if (err)
			return err;
		if (blk) {
			p = (char *)pmfs2_blk(sbi, blk) + (size & BMASK);
			err = pmfs2_tx_log(tx, p, PMFS2_BLOCK_SIZE -
					   (size & BMASK));
			if (err)
				return err;
			memset(p, 0, PMFS2_BLOCK_SIZE - (size & BMASK));
		}
	}
	/* blocks past the new EOF are trimmed after commit, outside it */
	err = pmfs2_bmap_next(sbi, pi, lblks_of(size), PMFS2_MAX_LBLKS, true,
			      &next);
	if (err)
		return err;
	if (next < PMFS2_MAX_LBLKS)
		pi->flags |= PMFS2_IF_TRUNC_PENDING;
	pi->size = size;
	return 0;
}

/*
 * A read leaves atime alone: the host decides, under the mount's options,
 * and sets it with a setattr (ZUS_SET_KEEP_CTIME): zuf.ko's file_accessed,
 * or zusd/atime.h over FUSE and in-process.  This read also serves zuf's map
 * mode (tier data, pages the kernel cannot reach directly), where an update
 * here would come on top of the kernel's and ignore noatime.
 */
ssize_t pmfs2_read(struct zus_sb *zsb, uint64_t ino, void *buf, size_t len,
		   uint64_t off)
{
	struct pmfs2_sbi *sbi = PMFS2_SBI(zsb);
	struct pmfs2_inode *pi;
	char *dst = buf;
	ssize_t done = 0;
	uint64_t end;
	int err;

	pmfs2_ilock(sbi, ino, false);
	err = pmfs2_iget(sbi, ino, &pi);
	if (!err)
		err = reg_check(pi, -EINVAL);
	if (err)
		goto out;
	if (off >= pi->size || !len)
		goto out;
	end = off + min_u64(len, pi->size - off);
	if (end - off > SSIZE_MAX)
		end = off + SSIZE_MAX;
	pmfs2_tier_touch(sbi, ino, off >> PMFS2_BLOCK_SHIFT,
			 ((end - 1) >> PMFS2_BLOCK_SHIFT) -
			 (off >> PMFS2_BLOCK_SHIFT) + 1);
	while (off < end) {
		uint64_t boff = off & BMASK, n = min_u64(PMFS2_BLOCK_SIZE - boff,
							 end - off), blk;

		err = pmfs2_bmap_lookup_ptr(sbi, pi, off >> PMFS2_BLOCK_SHIFT,
					    &blk);
		if (err)
			break;
		if (blk & PMFS2_PTR_TIER) {
			/* cold data: a run of tier blocks in one I/O */
			err = pmfs2_tier_read(sbi, ino, pi, off, end, dst, &n);
			if (err)
				break;
		} else if (blk) {
			memcpy(dst, (char *)pmfs2_blk(sbi, blk) + boff, n);
		} else {
			memset(dst, 0, n);
		}
		dst += n;
		off += n;
		done += (ssize_t)n;
	}
out:
	pmfs2_iunlock(sbi, ino);
	return done ? done : err;
}

/* Copy into block blk at boff; a new block gets zeroes around the data. */
static void fill_block(struct pmfs2_sbi *sbi, uint64_t blk, bool isnew,
		       uint64_t boff, const char *src, uint64_t n)
{
	char *b = pmfs2_blk(sbi, blk);

	if (isnew && boff)
		zus_pmem_memset_nt(sbi->pm, b, 0, boff);
	zus_pmem_memcpy_nt(sbi->pm, b + boff, src, n);
	if (isnew && boff + n < PMFS2_BLOCK_SIZE)
		zus_pmem_memset_nt(sbi->pm, b + boff + n, 0,
				   PMFS2_BLOCK_SIZE - boff - n);
}

static void copy_blocks(struct pmfs2_sbi *sbi, const uint64_t *blks,
			const bool *isnew, const char *src, uint64_t n,
			uint64_t pos)
{
	for (unsigned int i = 0; n; i++) {
		uint64_t boff = pos & BMASK;
		uint64_t c = min_u64(PMFS2_BLOCK_SIZE - boff, n);

		fill_block(sbi, blks[i], isnew[i], boff, src, c);
		src += c;
		pos += c;
		n -= c;
	}
}

/* One chunk of at most PMFS2_TX_MAX_BLOCKS blocks. */
static int write_chunk(struct pmfs2_sbi *sbi, uint64_t ino,
		       struct pmfs2_inode *pi, const char *src, uint64_t n,
		       uint64_t pos)
{
	uint64_t blks[PMFS2_TX_MAX_BLOCKS];
	bool isnew[PMFS2_TX_MAX_BLOCKS];
	uint64_t first = pos >> PMFS2_BLOCK_SHIFT;
	uint64_t nb = ((pos + n - 1) >> PMFS2_BLOCK_SHIFT) - first + 1;
	uint64_t end = pos + n, size = pi->size;
	struct pmfs2_tx *tx;
	bool holes = false;
	int64_t now;
	int err;

	for (uint64_t i = 0; i < nb; i++) {
		/* tier data comes back to pmem before it is written */
		err = pmfs2_bmap_lookup_w(sbi, pi, first + i, ino, &blks[i]);
		if (err)
			return err;
		isnew[i] = false;
		holes |= !blks[i];
	}
	if (!holes && end <= size) {
		/* overwrite: data, then the times in atomic stores (one
		 * cache line: one flush, one fence) */
		copy_blocks(sbi, blks, isnew, src, n, pos);
		zus_pmem_fence(sbi->pm);
		now = pmfs2_now();
		zus_pmem_store64(&pi->mtime, (uint64_t)now);
		zus_pmem_store64(&pi->ctime, (uint64_t)now);
		zus_pmem_persist(sbi->pm, &pi->mtime, 2 * sizeof(pi->mtime));
		return 0;
	}
	tx = pmfs2_tx_begin(sbi);
	err = 0;
	if (end > size)
		err = pmfs2_tx_log_zero(tx, ino, pos > size ? pos : size, end);
	if (!err)
		err = pmfs2_tx_log(tx, pi, sizeof(*pi));
	/* allocate everything first: ENOSPC leaves no data written */
	for (uint64_t i = 0; i < nb && !err; i++)
		if (!blks[i])
			err = pmfs2_bmap_map(tx, pi, first + i, 0, &blks[i],
					     &isnew[i]);
	if (!err) {
		copy_blocks(sbi, blks, isnew, src, n, pos);
		if (end > size)
			pi->size = end;
		pi->mtime = pi->ctime = pmfs2_now();
	}
	return pmfs2_tx_end(tx, err);
}

ssize_t pmfs2_write(struct zus_sb *zsb, uint64_t ino, const void *buf,
		    size_t len, uint64_t off)
{
	struct pmfs2_sbi *sbi = PMFS2_SBI(zsb);
	const char *src = buf;
	struct pmfs2_inode *pi;
	ssize_t done = 0;
	int err;

	if (pmfs2_ro(sbi))
		return -EROFS;
	if (len > SSIZE_MAX)
		len = SSIZE_MAX;
	pmfs2_ilock(sbi, ino, true);
	err = pmfs2_iget(sbi, ino, &pi);
	if (!err)
		err = reg_check(pi, -EINVAL);
	if (!err && len && (off >= PMFS2_MAX_FILE_SIZE ||
			    len > PMFS2_MAX_FILE_SIZE - off))
		err = -EFBIG;
	while (!err && (size_t)done < len) {
		uint64_t room = ((uint64_t)PMFS2_TX_MAX_BLOCKS <<
				 PMFS2_BLOCK_SHIFT) - (off & BMASK);
		uint64_t n = min_u64(len - (size_t)done, room);

		err = pmfs2_tier_prepare_write(sbi, ino, pi, off, n);
		if (!err)
			err = write_chunk(sbi, ino, pi, src, n, off);
		/* pmem full: move cold data to the tier, then retry */
		if (err == -ENOSPC && sbi->tier &&
		    !pmfs2_tier_make_room(sbi, ino, PMFS2_TX_MAX_BLOCKS +
					  2 * PMFS2_MAX_HEIGHT))
			err = write_chunk(sbi, ino, pi, src, n, off);
		/* nearly full: write what fits, as a short write */
		while (err == -ENOSPC && n > PMFS2_BLOCK_SIZE - (off & BMASK)) {
			uint64_t head = PMFS2_BLOCK_SIZE - (off & BMASK);

			n = head + (((n - head) / 2) & ~BMASK);
			err = write_chunk(sbi, ino, pi, src, n, off);
		}
		if (err)
			break;
		src += n;
		off += n;
		done += (ssize_t)n;
	}
	pmfs2_iunlock(sbi, ino);
	pmfs2_tier_kick(sbi);
	return done ? done : err;
}

static bool special_off(uint64_t poff)
{
	return poff == ZUS_EXTENT_HOLE || poff == ZUS_EXTENT_MAPPED;
}

/* Does [foff, +len) at poff continue extent p? */
static bool extends(const struct zus_extent *p, uint64_t foff, uint64_t poff)
{
	if (p->file_off + p->len != foff)
		return false;
	if (special_off(p->pmem_off) || special_off(poff))
		return p->pmem_off == poff;
	return p->pmem_off + p->len == poff;
}

/* Append a piece, merging it into the last extent; false when full. */
static bool add_extent(struct zus_extent *ext, unsigned int *cnt,
		       unsigned int cap, uint64_t foff, uint64_t poff,
		       uint64_t len)
{
	if (*cnt && extends(&ext[*cnt - 1], foff, poff)) {
		ext[*cnt - 1].len += len;
		return true;
	}
	if (*cnt == cap)
		return false;
	ext[(*cnt)++] = (struct zus_extent){ foff, poff, len };
	return true;
}

static int extents(struct pmfs2_sbi *sbi, struct pmfs2_tx *tx,
		   struct pmfs2_inode *pi, uint64_t pos, uint64_t end,
		   struct zus_extent *ext, unsigned int cap, unsigned int *cnt)
{
	unsigned int allocated = 0;
	int err;

	while (pos < end) {
		uint64_t lblk = pos >> PMFS2_BLOCK_SHIFT, boff = pos & BMASK;
		uint64_t n = min_u64(PMFS2_BLOCK_SIZE - boff, end - pos);
		uint64_t blk, poff;
		bool isnew;

		/* writes: tier data was promoted by the caller (or here);
		 * reads: tier data is served in map mode */
		if (tx)
			err = pmfs2_bmap_lookup_w(sbi, pi, lblk, 0, &blk);
		else
			err = pmfs2_bmap_lookup_ptr(sbi, pi, lblk, &blk);
		if (err)
			return err;
		if (!blk && tx) {
			if (allocated == PMFS2_TX_MAX_BLOCKS)
				break;
			err = pmfs2_bmap_map(tx, pi, lblk, PMFS2_MAP_ZERO,
					     &blk, &isnew);
			if (err)
				return err;
			allocated++;
		}
		if (!blk) {
			uint64_t next, e;

			/* a hole: jump to the next mapped block at once */
			err = pmfs2_bmap_next(sbi, pi, lblk + 1,
					      lblks_of(end), true, &next);
			if (err)
				return err;
			e = min_u64(next << PMFS2_BLOCK_SHIFT, end);
			n = e - pos;
			poff = ZUS_EXTENT_HOLE;
		} else if (blk & PMFS2_PTR_TIER) {
			poff = ZUS_EXTENT_MAPPED;
		} else {
			poff = (blk << PMFS2_BLOCK_SHIFT) + boff;
		}
		if (!add_extent(ext, cnt, cap, pos, poff, n))
			break;
		pos += n;
	}
	return 0;
}

/*
 * A direct write past EOF (zuf's direct mode): the kernel copies the data
 * into the blocks returned here, then sends the new size (SETATTR).  A power
 * cut in between would leave data past EOF.  So before any block is handed
 * out, mark the inode TRUNC_PENDING ("whatever lies past size is not the
 * file's"): the SETATTR that grows the size clears it in its transaction,
 * and if it never comes, mount recovery or evict trims the blocks past EOF
 * and zeroes the tail of the last one (pmfs2_finish_trunc).  One 8-byte
 * store (mode and flags), durable before the reply.
 */
static void extend_guard(struct pmfs2_sbi *sbi, struct pmfs2_inode *pi)
{
	uint64_t v = (uint64_t)(pi->flags | PMFS2_IF_TRUNC_PENDING) << 32 |
		     pi->mode;

	pmfs2_store_persist(sbi, pi, v);
}

int pmfs2_get_extents(struct zus_sb *zsb, uint64_t ino, uint64_t off,
		      uint64_t len, unsigned int flags, struct zus_extent *ext,
		      unsigned int *n)
{
	struct pmfs2_sbi *sbi = PMFS2_SBI(zsb);
	bool wr = flags & ZUS_GE_WRITE;
	bool promote = flags & ZUS_GE_PROMOTE;
	struct pmfs2_inode *pi;
	struct pmfs2_tx *tx = NULL;
	unsigned int cap = *n, cnt = 0;
	int err;

	*n = 0;
	if (!cap || (flags & ~(ZUS_GE_WRITE | ZUS_GE_PROMOTE)))
		return -EINVAL;
	if (promote && pmfs2_ro(sbi))
		return -EROFS;	/* no promotion: the kernel cannot map it */
	if (wr && pmfs2_ro(sbi))
		return -EROFS;
	if (off >= PMFS2_MAX_FILE_SIZE)
		return wr ? -EFBIG : 0;
	if (len > PMFS2_MAX_FILE_SIZE - off) {
		if (wr)
			return -EFBIG;
		len = PMFS2_MAX_FILE_SIZE - off;
	}
	pmfs2_ilock(sbi, ino, wr || promote);
	err = pmfs2_iget(sbi, ino, &pi);
	if (!err)
		err = reg_check(pi, -EINVAL);
	if (err)
		goto out;
	/* the kernel asks for what it touches: count the first chunk */
	pmfs2_tier_touch(sbi, ino, off >> PMFS2_BLOCK_SHIFT, len ? 1 : 0);
	if (wr) {
		if (off + len > pi->size &&
		    !(pi->flags & PMFS2_IF_TRUNC_PENDING))
			extend_guard(sbi, pi);
		/* bring tier data back and make room, outside the tx */
		err = pmfs2_tier_prepare_write(sbi, ino, pi, off,
			min_u64(len, (uint64_t)PMFS2_TX_MAX_BLOCKS <<
				PMFS2_BLOCK_SHIFT));
		if (err)
			goto out;
		tx = pmfs2_tx_begin(sbi);
	} else if (promote) {
		/* a DAX fault: the kernel maps pmem; holes stay holes */
		err = pmfs2_tier_prepare_write(sbi, ino, pi, off,
			min_u64(len, (uint64_t)PMFS2_TX_MAX_BLOCKS <<
				PMFS2_BLOCK_SHIFT));
		if (err)
			goto out;
	}
	err = extents(sbi, tx, pi, off, off + len, ext, cap, &cnt);
	if (tx)
		err = pmfs2_tx_end(tx, err);
	if (!err)
		*n = cnt;
out:
	pmfs2_iunlock(sbi, ino);
	return err;
}

/* Blocks that are holes in [from, to), counted run by run. */
static int count_holes(struct pmfs2_sbi *sbi, const struct pmfs2_inode *pi,
		       uint64_t from, uint64_t to, uint64_t *holes)
{
	int err;

	*holes = 0;
	while (from < to) {
		uint64_t h, d;

		err = pmfs2_bmap_next(sbi, pi, from, to, false, &h);
		if (err || h >= to)
			return err;
		err = pmfs2_bmap_next(sbi, pi, h, to, true, &d);
		if (err)
			return err;
		*holes += d - h;
		from = d;
	}
	return 0;
}

/* Allocate zeroed blocks over [off, off+len), a transaction per chunk. */
static int alloc_range(struct pmfs2_sbi *sbi, struct pmfs2_inode *pi,
		       uint64_t off, uint64_t len, bool keep)
{
	uint64_t lblk = off >> PMFS2_BLOCK_SHIFT, end = lblks_of(off + len);
	uint64_t holes, bfree, ifree;
	int err;

	err = count_holes(sbi, pi, lblk, end, &holes);
	if (err)
		return err;
	pmfs2_alloc_counts(sbi, &bfree, &ifree);
	if (sbi->tier) {
		uint64_t tblocks, tfree;

		/* cold data can move to the tier to make room */
		pmfs2_tier_space(sbi, &tblocks, &tfree);
		bfree += tfree;
	}
	/* data plus worst-case index blocks: fail before doing anything */
	if (holes + holes / (PMFS2_PTRS_PER_BLOCK - 1) + PMFS2_MAX_HEIGHT + 1 >
	    bfree)
		return -ENOSPC;
	for (;;) {
		struct pmfs2_tx *tx;
		unsigned int n = 0;

		if (sbi->tier)
			(void)pmfs2_tier_make_room(sbi, pmfs2_ino_of(sbi, pi),
						   2 * PMFS2_TX_MAX_BLOCKS);
		tx = pmfs2_tx_begin(sbi);
		err = pmfs2_tx_log(tx, pi, sizeof(*pi));
		while (!err && n < PMFS2_TX_MAX_BLOCKS) {
			uint64_t blk;
			bool isnew;

			err = pmfs2_bmap_next(sbi, pi, lblk, end, false, &lblk);
			if (err || lblk >= end)
				break;
			err = pmfs2_bmap_map(tx, pi, lblk, PMFS2_MAP_ZERO,
					     &blk, &isnew);
			n++;
		}
		if (!err) {
			if (lblk >= end && !keep && off + len > pi->size) {
				pi->size = off + len;
				pi->mtime = pmfs2_now();
			}
			pi->ctime = pmfs2_now();
		}
		err = pmfs2_tx_end(tx, err);
		if (err || lblk >= end)
			return err;
	}
}

static int punch_range(struct pmfs2_sbi *sbi, struct pmfs2_inode *pi,
		       uint64_t off, uint64_t len)
{
	uint64_t end = off + len;
	uint64_t first = lblks_of(off), last = end >> PMFS2_BLOCK_SHIFT;
	int err;

	/* partial blocks at the edges are zeroed in place (data) */
	err = pmfs2_zero_mapped(sbi, pi, off,
				min_u64(end, first << PMFS2_BLOCK_SHIFT));
	if (!err && last >= first)
		err = pmfs2_zero_mapped(sbi, pi, last << PMFS2_BLOCK_SHIFT,
					end);
	zus_pmem_fence(sbi->pm);
	while (!err) {
		struct pmfs2_tx *tx = pmfs2_tx_begin(sbi);
		uint64_t next = last;

		if (first < last)
			err = pmfs2_bmap_punch(tx, pi, first, last,
					       PMFS2_TX_MAX_BLOCKS, &next);
		if (!err && next >= last) {
			/* the inode may not be logged yet: nothing was punched */
			err = pmfs2_tx_log(tx, pi, sizeof(*pi));
			if (!err)
				pi->mtime = pi->ctime = pmfs2_now();
		}
		err = pmfs2_tx_end(tx, err);
		if (next >= last)
			break;
		first = next;
	}
	return err;
}

/*
 * Collapse range (ext4's rules): [off, off + len) goes, everything after it
 * moves down by len; insert range: everything from off moves up by len,
 * leaving a hole.  Whole blocks only, so data is never copied: block
 * pointers move (tier pointers too), in a new map built copy-on-write
 * (pmfs2_bmap_shift), and one transaction switches the inode to it with
 * the new size and times.  A power cut leaves the file before or after,
 * whatever its size: until the commit the new index blocks are referenced
 * by nothing (mount rebuilds free space from the maps), after it the old
 * ones are not.  The journal holds one inode record.
 */
static int shift_range(struct pmfs2_sbi *sbi, struct pmfs2_inode *pi,
		       uint64_t off, uint64_t len, bool insert)
{
	uint64_t a = off >> PMFS2_BLOCK_SHIFT, n = len >> PMFS2_BLOCK_SHIFT;
	struct pmfs2_shift sh = { 0 };
	bool committed = false;
	struct pmfs2_tx *tx;
	int err;

	if (insert) {
		if (len > PMFS2_MAX_FILE_SIZE - pi->size)
			return -EFBIG;
		if (off >= pi->size)
			return -EINVAL;
	} else if (off + len >= pi->size) {
		return -EINVAL;	/* that would be a truncate */
	}
	err = pmfs2_bmap_shift(sbi, pi, a, n, insert, true, &sh);
	/* room for the new index blocks: other files' cold data may move
	 * (not ours: its lock is held, so the migrator skips it) */
	if (!err && sh.built && sbi->tier)
		(void)pmfs2_tier_make_room(sbi, 0, sh.built);
	if (!err)
		err = pmfs2_bmap_shift(sbi, pi, a, n, insert, false, &sh);
	if (err)
		goto out;
	tx = pmfs2_tx_begin(sbi);
	err = pmfs2_tx_log(tx, pi, sizeof(*pi));
	for (size_t i = 0; !err && i < sh.frees.n; i++)
		err = pmfs2_tx_defer_free(tx, sh.frees.v[i]);
	if (!err) {
		pi->map = sh.map;
		pi->blocks = (uint64_t)((int64_t)pi->blocks + sh.dblocks);
		pi->size = insert ? pi->size + len : pi->size - len;
		pi->mtime = pi->ctime = pmfs2_now();
	}
	err = pmfs2_tx_end(tx, err);
	committed = !err;
out:
	pmfs2_bmap_shift_done(sbi, &sh, committed);
	return err;
}

int pmfs2_fallocate(struct zus_sb *zsb, uint64_t ino, int mode, uint64_t off,
		    uint64_t len)
{
	struct pmfs2_sbi *sbi = PMFS2_SBI(zsb);
	bool keep = mode & ZUS_FALLOC_KEEP_SIZE;
	int shift = mode & (ZUS_FALLOC_COLLAPSE_RANGE |
			    ZUS_FALLOC_INSERT_RANGE);
	struct pmfs2_inode *pi;
	int err;

	/* in the order of vfs_fallocate's checks, then ext4's */
	if (!len)
		return -EINVAL;
	if (mode & ~(ZUS_FALLOC_KEEP_SIZE | ZUS_FALLOC_PUNCH_HOLE |
		     ZUS_FALLOC_ZERO_RANGE | ZUS_FALLOC_COLLAPSE_RANGE |
		     ZUS_FALLOC_INSERT_RANGE))
		return -EOPNOTSUPP;
	if ((mode & ZUS_FALLOC_PUNCH_HOLE) &&
	    (!keep || (mode & ZUS_FALLOC_ZERO_RANGE)))
		return -EOPNOTSUPP;
	/* collapse and insert come alone */
	if (shift && mode != ZUS_FALLOC_COLLAPSE_RANGE &&
	    mode != ZUS_FALLOC_INSERT_RANGE)
		return -EINVAL;
	if (off >= PMFS2_MAX_FILE_SIZE || len > PMFS2_MAX_FILE_SIZE - off)
		return -EFBIG;
	if (shift && ((off | len) & BMASK))
		return -EINVAL;
	if (pmfs2_ro(sbi))
		return -EROFS;
	pmfs2_ilock(sbi, ino, true);
	err = pmfs2_iget(sbi, ino, &pi);
	if (!err)
		err = reg_check(pi, -ENODEV);
	if (err)
		goto out;
	if (shift) {
		err = shift_range(sbi, pi, off, len,
				  mode == ZUS_FALLOC_INSERT_RANGE);
	} else if (mode & ZUS_FALLOC_PUNCH_HOLE) {
		err = punch_range(sbi, pi, off, len);
	} else {
		if (mode & ZUS_FALLOC_ZERO_RANGE) {
			err = pmfs2_zero_mapped(sbi, pi, off, off + len);
			zus_pmem_fence(sbi->pm);
		}
		if (!err)
			err = alloc_range(sbi, pi, off, len, keep);
	}
out:
	pmfs2_iunlock(sbi, ino);
	return err;
}

int pmfs2_lseek(struct zus_sb *zsb, uint64_t ino, uint64_t off, int whence,
		uint64_t *result)
{
	struct pmfs2_sbi *sbi = PMFS2_SBI(zsb);
	struct pmfs2_inode *pi;
	uint64_t lim, at;
	int err;

	if (whence != ZUS_SEEK_DATA && whence != ZUS_SEEK_HOLE)
		return -EINVAL;
	pmfs2_ilock(sbi, ino, false);
	err = pmfs2_iget(sbi, ino, &pi);
	if (!err)
		err = reg_check(pi, -EINVAL);
	if (err)
		goto out;
	if (off >= pi->size) {
		err = -ENXIO;
		goto out;
	}
	lim = lblks_of(pi->size);
	err = pmfs2_bmap_next(sbi, pi, off >> PMFS2_BLOCK_SHIFT, lim,
			      whence == ZUS_SEEK_DATA, &at);
	if (err)
		goto out;
	if (at >= lim) {
		if (whence == ZUS_SEEK_DATA)
			err = -ENXIO;
		else
			*result = pi->size;	/* the implicit hole at EOF */
		goto out;
	}
	at <<= PMFS2_BLOCK_SHIFT;
	*result = min_u64(at > off ? at : off, pi->size);
out:
	pmfs2_iunlock(sbi, ino);
	return err;
}

int pmfs2_fsync(struct zus_sb *zsb, uint64_t ino, bool datasync)
{
	struct pmfs2_sbi *sbi = PMFS2_SBI(zsb);
	struct pmfs2_inode *pi;
	int err;

	/* every op is durable when it returns: nothing left to write */
	pmfs2_ilock(sbi, ino, false);
	err = pmfs2_iget(sbi, ino, &pi);
	pmfs2_iunlock(sbi, ino);
	zus_pmem_fence(sbi->pm);
	return err;
}
