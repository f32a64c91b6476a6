// SPDX-License-Identifier: BSD-2-Clause
/*
 * file.c - file data: an array of 4 KiB blocks per file, NULL for a hole.
 *
 * Bytes past EOF in the last block are always zero, so that growing a
 * file (truncate up, a write past EOF) never shows stale data.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "memfs.h"

#define BLK(off)	((off) >> MEMFS_BLOCK_SHIFT)
#define BOFF(off)	((off) & (MEMFS_BLOCK_SIZE - 1))

static int get_reg(struct memfs_sb *m, uint64_t ino, bool write,
		   struct memfs_inode **out)
{
	struct memfs_inode *in = memfs_iget(m, ino);

	if (!in)
		return -ESTALE;
	if (S_ISDIR(in->attr.mode))
		return -EISDIR;
	if (!S_ISREG(in->attr.mode))
		return -EINVAL;
	if (write && m->readonly)
		return -EROFS;
	*out = in;
	return 0;
}

/* Block i of the file, allocated (zeroed) if it is a hole. */
static int get_block(struct memfs_sb *m, struct memfs_inode *in, uint64_t i,
		     uint8_t **out)
{
	if (i >= in->nblk) {
		uint64_t n = in->nblk ? in->nblk * 2 : 16;
		uint8_t **t;

		if (n <= i)
			n = i + 1;
		if (n > BLK(MEMFS_MAX_FILE_SIZE))
			n = BLK(MEMFS_MAX_FILE_SIZE);
		t = realloc(in->blk, n * sizeof(*t));
		if (!t)
			return -ENOMEM;
		memset(t + in->nblk, 0, (n - in->nblk) * sizeof(*t));
		in->blk = t;
		in->nblk = n;
	}
	if (!in->blk[i]) {
		if (m->blocks >= m->max_blocks)
			return -ENOSPC;
		in->blk[i] = calloc(1, MEMFS_BLOCK_SIZE);
		if (!in->blk[i])
			return -ENOMEM;
		m->blocks++;
		in->attr.blocks += MEMFS_BLOCK_SIZE / 512;
	}
	*out = in->blk[i];
	return 0;
}

static uint8_t *block_at(const struct memfs_inode *in, uint64_t i)
{
	return i < in->nblk ? in->blk[i] : NULL;
}

static void free_block(struct memfs_sb *m, struct memfs_inode *in, uint64_t i)
{
	if (i < in->nblk && in->blk[i]) {
		free(in->blk[i]);
		in->blk[i] = NULL;
		m->blocks--;
		in->attr.blocks -= MEMFS_BLOCK_SIZE / 512;
	}
}

/* Zero [off, end) where blocks exist; holes already read as zeros. */
static void zero_range(struct memfs_inode *in, uint64_t off, uint64_t end)
{
	while (off < end) {
		uint64_t n = MEMFS_BLOCK_SIZE - BOFF(off);
		uint8_t *b = block_at(in, BLK(off));

		if (n > end - off)
			n = end - off;
		if (b)
			memset(b + BOFF(off), 0, n);
		off += n;
	}
}

void memfs_free_blocks(struct memfs_sb *m, struct memfs_inode *in,
		       uint64_t from)
{
	for (uint64_t i = from; i < in->nblk; i++)
		free_block(m, in, i);
}

int memfs_truncate(struct memfs_sb *m, struct memfs_inode *in, uint64_t size)
{
	uint64_t keep = BLK(size + MEMFS_BLOCK_SIZE - 1);

	/* blocks past the new EOF go, fallocated ones too (as on ext4) */
	memfs_free_blocks(m, in, keep);
	if (size < in->attr.size)
		zero_range(in, size, keep << MEMFS_BLOCK_SHIFT);
	if (keep < in->nblk && keep) {
		uint8_t **t = realloc(in->blk, keep * sizeof(*t));

		if (t)
			in->blk = t;
		in->nblk = keep;
	} else if (!keep) {
		free(in->blk);
		in->blk = NULL;
		in->nblk = 0;
	}
	in->attr.size = size;
	return 0;
}

ssize_t memfs_read(struct zus_sb *zsb, uint64_t ino, void *buf, size_t len,
		   uint64_t off)
{
	struct memfs_sb *m = memfs_lock(zsb);
	struct memfs_inode *in;
	size_t done = 0;
	int err = get_reg(m, ino, false, &in);

	if (err) {
		memfs_unlock(m);
		return err;
	}
	if (off >= in->attr.size)
		len = 0;
	else if (len > in->attr.size - off)
		len = in->attr.size - off;
	/* atime is the host's business: it calls setattr if it wants one */
	while (done < len) {
		uint64_t pos = off + done;
		size_t n = MEMFS_BLOCK_SIZE - BOFF(pos);
		const uint8_t *b = block_at(in, BLK(pos));

		if (n > len - done)
			n = len - done;
		if (b)
			memcpy((char *)buf + done, b + BOFF(pos), n);
		else
			memset((char *)buf + done, 0, n);
		done += n;
	}
	memfs_unlock(m);
	return (ssize_t)done;
}

ssize_t memfs_write(struct zus_sb *zsb, uint64_t ino, const void *buf,
		    size_t len, uint64_t off)
{
	struct memfs_sb *m = memfs_lock(zsb);
	struct memfs_inode *in;
	size_t done = 0;
	int err = get_reg(m, ino, true, &in);

	if (!err && off >= MEMFS_MAX_FILE_SIZE && len)
		err = -EFBIG;
	if (err)
		goto out;
	if (len > MEMFS_MAX_FILE_SIZE - off)
		len = MEMFS_MAX_FILE_SIZE - off;
	while (done < len) {
		uint64_t pos = off + done;
		size_t n = MEMFS_BLOCK_SIZE - BOFF(pos);
		uint8_t *b;

		err = get_block(m, in, BLK(pos), &b);
		if (err)
			break;
		if (n > len - done)
			n = len - done;
		memcpy(b + BOFF(pos), (const char *)buf + done, n);
		done += n;
	}
	if (done) {
		err = 0;	/* a short write, not a failure */
		if (off + done > in->attr.size)
			in->attr.size = off + done;
		memfs_touch(in, true);
	}
out:
	memfs_unlock(m);
	return err ? err : (ssize_t)done;
}

int memfs_fallocate(struct zus_sb *zsb, uint64_t ino, int mode, uint64_t off,
		    uint64_t len)
{
	struct memfs_sb *m = memfs_lock(zsb);
	bool keep_size = mode & ZUS_FALLOC_KEEP_SIZE, grew;
	struct memfs_inode *in;
	uint64_t end = off + len, i;
	uint8_t *b;
	int err = get_reg(m, ino, true, &in);

	if (!err && !len)
		err = -EINVAL;
	else if (!err && (end < off || end > MEMFS_MAX_FILE_SIZE))
		err = -EFBIG;
	if (err)
		goto out;
	switch (mode & ~ZUS_FALLOC_KEEP_SIZE) {
	case 0:
	case ZUS_FALLOC_ZERO_RANGE:
		if (mode & ZUS_FALLOC_ZERO_RANGE)
			zero_range(in, off, end);
		for (i = BLK(off); !err && i <= BLK(end - 1); i++)
			err = get_block(m, in, i, &b);
		/* what could be allocated stays, as on ext4 */
		grew = !keep_size && end > in->attr.size;
		if (grew)
			in->attr.size = end;
		memfs_touch(in, grew || (mode & ZUS_FALLOC_ZERO_RANGE));
		break;
	case ZUS_FALLOC_PUNCH_HOLE:
		if (!keep_size) {
			err = -EOPNOTSUPP;	/* the kernel's rule */
			break;
		}
		/* partial blocks at either end are zeroed, whole ones freed */
		zero_range(in, off, end);
		for (i = BLK(off + MEMFS_BLOCK_SIZE - 1); i < BLK(end); i++)
			free_block(m, in, i);
		memfs_touch(in, true);
		break;
	default:
		err = -EOPNOTSUPP;	/* COLLAPSE_RANGE, INSERT_RANGE, ... */
	}
out:
	memfs_unlock(m);
	return err;
}

int memfs_lseek(struct zus_sb *zsb, uint64_t ino, uint64_t off, int whence,
		uint64_t *result)
{
	struct memfs_sb *m = memfs_lock(zsb);
	struct memfs_inode *in;
	uint64_t i, end;
	int err = get_reg(m, ino, false, &in);

	if (!err && whence != ZUS_SEEK_DATA && whence != ZUS_SEEK_HOLE)
		err = -EINVAL;
	if (!err && off >= in->attr.size)
		err = -ENXIO;
	if (err)
		goto out;
	end = BLK(in->attr.size + MEMFS_BLOCK_SIZE - 1);
	for (i = BLK(off); i < end; i++)
		if (!block_at(in, i) == (whence == ZUS_SEEK_HOLE))
			break;
	if (i == end) {
		/* no more data; the hole past the data starts at EOF */
		if (whence == ZUS_SEEK_DATA)
			err = -ENXIO;
		else
			*result = in->attr.size;
	} else {
		*result = i << MEMFS_BLOCK_SHIFT > off ? i << MEMFS_BLOCK_SHIFT : off;
	}
out:
	memfs_unlock(m);
	return err;
}
