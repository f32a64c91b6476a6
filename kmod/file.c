// SPDX-License-Identifier: GPL-2.0
/*
 * File data.  Buffered and O_DIRECT I/O are the same here: there
 * is no page cache.
 *
 * direct mode: the server returns the pmem extents of a range
 * (ZUFS_OP_GET_EXTENTS); the kernel checks them against the device, caches
 * them per inode and copies once between the application and pmem through
 * the DAX iomap path (non-temporal, flushed copies).  The server drops
 * cached extents with ZU_IOC_INVALIDATE when it moves or frees blocks.
 *
 * map mode: the application pages are mapped into the channel's window and
 * the server reads or fills them in place (ZUFS_OP_READ / ZUFS_OP_WRITE).
 */
#include <linux/slab.h>
#include <linux/uio.h>
#include <linux/dax.h>
#include <linux/iomap.h>
#include <linux/falloc.h>
#include <linux/pagemap.h>
#include <linux/writeback.h>
#include <linux/mman.h>

#include "zuf.h"

/* ---- the per-inode extent cache -------------------------------------- */

/* A cached extent containing @pos; for a write it must be allocated. */
static bool zuf_ext_find(struct zuf_inode_info *zi, u64 pos, bool write,
			 struct zufs_extent *out)
{
	bool found = false;
	u32 i;

	spin_lock(&zi->ext_lock);
	for (i = 0; zi->ext && i < zi->ext_n; i++) {
		struct zufs_extent *e = &zi->ext[i];

		if (pos < e->file_off || pos - e->file_off >= e->len)
			continue;
		if (write && e->pmem_off == ZUFS_EXTENT_HOLE)
			break;
		*out = *e;
		found = true;
		break;
	}
	spin_unlock(&zi->ext_lock);
	return found;
}

void zuf_ext_invalidate(struct inode *inode, u64 off, u64 len)
{
	struct zuf_inode_info *zi = ZUF_I(inode);
	u64 end = len ? off + len : U64_MAX;
	u32 i, n = 0;

	if (end < off)
		end = U64_MAX;
	spin_lock(&zi->ext_lock);
	zi->ext_gen++;
	for (i = 0; zi->ext && i < zi->ext_n; i++) {
		struct zufs_extent *e = &zi->ext[i];

		if (e->file_off < end && e->file_off + e->len > off)
			continue;	/* overlaps: dropped */
		zi->ext[n++] = *e;
	}
	zi->ext_n = n;
	spin_unlock(&zi->ext_lock);
}

struct zuf_ge_ctx {
	struct inode *inode;
	u64 pos;
	bool write;
	u64 gen;
};

/* Check the extents of a GET_EXTENTS reply in place and cache them. */
static int zuf_ge_parse(struct zuf_call *call, const void *buf)
{
	const struct zufs_get_extents *ge = buf;
	struct zuf_ge_ctx *ctx = call->priv;
	struct inode *inode = ctx->inode;
	struct zuf_inode_info *zi = ZUF_I(inode);
	struct zuf_pmem *pm = ZUF_SB(inode->i_sb)->pmem;
	struct zufs_extent got[ZUFS_MAX_EXTENTS];
	u32 n = READ_ONCE(ge->n), i, k, keep;
	u64 prev_end = 0, lo, hi;

	BUILD_BUG_ON(ZUF_EXT_CACHE < ZUFS_MAX_EXTENTS);
	if (!n || n > ZUFS_MAX_EXTENTS)
		return zuf_bad_reply("get_extents %lu: %u extents",
				     inode->i_ino, n);
	for (i = 0; i < n; i++) {
		struct zufs_extent *e = &got[i];
		bool hole;

		memcpy(e, &ge->ext[i], sizeof(*e));
		hole = e->pmem_off == ZUFS_EXTENT_HOLE;
		if (!e->len || !PAGE_ALIGNED(e->file_off) ||
		    !PAGE_ALIGNED(e->len) ||
		    e->file_off + e->len < e->file_off ||
		    e->file_off + e->len > (u64)inode->i_sb->s_maxbytes + PAGE_SIZE ||
		    (i && e->file_off < prev_end) ||
		    (!hole && (!PAGE_ALIGNED(e->pmem_off) ||
			       e->pmem_off >= pm->size ||
			       e->len > pm->size - e->pmem_off)))
			goto bad;
		if (!i && (ctx->pos < e->file_off ||
			   ctx->pos - e->file_off >= e->len ||
			   (ctx->write && hole)))
			goto bad;
		prev_end = e->file_off + e->len;
	}

	/* the reply first, then the older extents it does not overlap */
	lo = got[0].file_off;
	hi = prev_end;
	spin_lock(&zi->ext_lock);
	if (zi->ext && zi->ext_gen == ctx->gen) {
		for (i = 0, k = 0; i < zi->ext_n; i++) {
			struct zufs_extent *e = &zi->ext[i];

			if (e->file_off < hi && e->file_off + e->len > lo)
				continue;
			zi->ext[k++] = *e;
		}
		keep = min_t(u32, k, ZUF_EXT_CACHE - n);
		memmove(zi->ext + n, zi->ext, keep * sizeof(*zi->ext));
		memcpy(zi->ext, got, n * sizeof(*zi->ext));
		zi->ext_n = n + keep;
	}
	spin_unlock(&zi->ext_lock);
	return 0;
bad:
	return zuf_bad_reply("get_extents %lu @%llu: extent %u of %u out of range",
			     inode->i_ino, ctx->pos, i, n);
}

/* The inode's extent cache, allocated at its first use (none: no cache). */
static void zuf_ext_alloc(struct zuf_inode_info *zi)
{
	struct zufs_extent *ext;

	if (READ_ONCE(zi->ext))
		return;
	ext = kmalloc_array(ZUF_EXT_CACHE, sizeof(*ext),
			    GFP_NOFS | __GFP_NOWARN);
	if (!ext)
		return;
	spin_lock(&zi->ext_lock);
	if (!zi->ext) {
		zi->ext = ext;
		ext = NULL;
	}
	spin_unlock(&zi->ext_lock);
	kfree(ext);
}

static int zuf_get_extents(struct inode *inode, u64 pos, u64 len, bool write)
{
	struct zuf_sb_info *sbi = ZUF_SB(inode->i_sb);
	struct zuf_inode_info *zi = ZUF_I(inode);
	struct zuf_ge_ctx ctx = { .inode = inode, .pos = pos, .write = write };
	struct zuf_call call = {};
	struct {
		struct zufs_hdr hdr;
		u64 ino, offset, len;
		u32 flags, n;
		u64 size;
	} ge;

	BUILD_BUG_ON(sizeof(ge) != offsetof(struct zufs_get_extents, ext));
	zuf_ext_alloc(zi);
	spin_lock(&zi->ext_lock);
	ctx.gen = zi->ext_gen;
	spin_unlock(&zi->ext_lock);

	zuf_hdr_init(&ge.hdr, ZUFS_OP_GET_EXTENTS, sbi);
	ge.ino = inode->i_ino;
	ge.offset = pos;
	ge.len = len;
	ge.flags = write ? ZUFS_GE_WRITE : 0;
	ge.n = 0;
	ge.size = 0;
	call.sbi = sbi;
	call.cmd = &ge.hdr;
	call.in_len = sizeof(ge);
	call.out_len = sizeof(ge);
	call.parse = zuf_ge_parse;
	call.priv = &ctx;
	return zuf_dispatch(&call);
}

/* How much to ask about at pos: at least length, up to the window or EOF. */
static u64 zuf_ge_window(struct inode *inode, loff_t pos, loff_t length)
{
	loff_t end = round_up(i_size_read(inode), PAGE_SIZE);
	u64 want = ZUF_GE_WINDOW;

	if (pos < end && want > end - pos)
		want = end - pos;
	if (want < length)
		want = length;
	if (want > inode->i_sb->s_maxbytes - pos)
		want = inode->i_sb->s_maxbytes - pos;
	return want;
}

static int zuf_iomap_begin(struct inode *inode, loff_t pos, loff_t length,
			   unsigned int flags, struct iomap *iomap,
			   struct iomap *srcmap)
{
	struct zuf_sb_info *sbi = ZUF_SB(inode->i_sb);
	bool write = flags & (IOMAP_WRITE | IOMAP_ZERO);
	loff_t isize = i_size_read(inode);
	struct zufs_extent e;
	bool fresh = false, looked = false, extend;
	int tries, ret;

	if (!sbi->pmem)
		return -EIO;
	/*
	 * A fault never extends the file (the DAX code checked pos against
	 * i_size): do not make the server guard a write past EOF for it.
	 */
	if ((flags & IOMAP_FAULT) && pos < isize && length > isize - pos)
		length = isize - pos;
	/*
	 * A write past EOF always asks the server, even for blocks it has
	 * cached: the server must know that data goes past EOF before the
	 * new size arrives, to undo it after a crash (it then allocates or
	 * looks up, and guards).
	 */
	extend = write && !(flags & IOMAP_FAULT) && length > isize - pos;
	for (tries = 0; tries < 5; tries++) {
		if (!(extend && !fresh) &&
		    zuf_ext_find(ZUF_I(inode), pos, write, &e))
			goto found;
		/*
		 * Look ahead: one reply can then serve many calls.  A write
		 * inside the file first looks (allocating nothing) for
		 * blocks already there; only a hole makes it allocate, and
		 * then just the range written.
		 */
		if (!looked && !extend && (!write || pos < isize)) {
			looked = true;
			ret = zuf_get_extents(inode, pos,
					      zuf_ge_window(inode, pos, length),
					      false);
		} else {
			ret = zuf_get_extents(inode, pos, length, write);
		}
		if (ret)
			return ret;
		fresh = true;
	}
	zuf_err_rl("inode %lu @%lld: extents keep being invalidated\n",
		   inode->i_ino, pos);
	return -EIO;

found:
	iomap->offset = e.file_off;
	iomap->length = e.len;
	iomap->flags = 0;
	iomap->bdev = inode->i_sb->s_bdev;
	iomap->dax_dev = sbi->pmem->dax_dev;
	if (e.pmem_off == ZUFS_EXTENT_HOLE) {
		iomap->type = IOMAP_HOLE;
		iomap->addr = IOMAP_NULL_ADDR;
	} else {
		iomap->type = IOMAP_MAPPED;
		iomap->addr = sbi->pmem->part_off + e.pmem_off;
		/*
		 * The server may just have filled a hole that a read fault
		 * mapped to the zero page: write(2) must tear that down to
		 * be seen through mmap (a fault replaces it by itself).  The
		 * reply does not say which blocks are new: any fresh extent
		 * of a mapped file may be.
		 */
		if (write && fresh && !(flags & IOMAP_FAULT) &&
		    mapping_mapped(inode->i_mapping))
			iomap->flags |= IOMAP_F_NEW;
	}
	return 0;
}

const struct iomap_ops zuf_iomap_ops = {
	.iomap_begin	= zuf_iomap_begin,
};

/* Server -> kernel: forget the cached extents (and DAX mappings) of a range. */
int zuf_invalidate(struct zufs_ioc_invalidate *inv)
{
	struct super_block *sb;
	struct inode *inode;
	loff_t off = inv->offset;

	if (inv->offset > (u64)LLONG_MAX || inv->len > (u64)LLONG_MAX)
		return -EINVAL;
	sb = zuf_sb_grab(inv->sb_id);
	if (!sb)
		return -ENOENT;
	inode = ilookup(sb, inv->ino);
	if (inode) {
		zuf_ext_invalidate(inode, inv->offset, inv->len);
		if (IS_DAX(inode) && mapping_mapped(inode->i_mapping))
			unmap_mapping_range(inode->i_mapping, off & PAGE_MASK,
					    inv->len ? PAGE_ALIGN(inv->len +
						(off & ~PAGE_MASK)) : 0, 1);
		iput(inode);
	}
	deactivate_super(sb);
	return 0;
}

/* ---- map mode ------------------------------------------------------- */

static void zuf_rw_prep(struct zuf_call *call)
{
	struct zufs_rw *rw = container_of(call->cmd, struct zufs_rw, hdr);

	rw->len = call->iter_got;
	rw->window_off = call->window_off;
}

static ssize_t zuf_rw_map(struct kiocb *iocb, struct iov_iter *iter,
			  bool write)
{
	struct inode *inode = file_inode(iocb->ki_filp);
	struct zuf_sb_info *sbi = ZUF_SB(inode->i_sb);
	ssize_t total = 0;
	int ret = 0;

	if (!(sbi->features & ZUFS_FEATURE_MAP))
		return -EOPNOTSUPP;
	while (iov_iter_count(iter)) {
		struct zuf_call call = {};
		struct zufs_rw rw = {};
		u64 pos = iocb->ki_pos;

		zuf_hdr_init(&rw.hdr, write ? ZUFS_OP_WRITE : ZUFS_OP_READ,
			     sbi);
		rw.ino = inode->i_ino;
		rw.offset = pos;
		call.sbi = sbi;
		call.cmd = &rw.hdr;
		call.in_len = sizeof(rw);
		call.out_len = sizeof(rw);
		call.iter = iter;
		call.iter_len = iov_iter_count(iter);
		call.iter_to_server = write;
		call.prep = zuf_rw_prep;
		ret = zuf_dispatch(&call);
		if (!ret && (rw.done > call.iter_got ||
			     (write && (rw.new_size < pos + rw.done ||
					rw.new_size > (u64)inode->i_sb->s_maxbytes))))
			ret = zuf_bad_reply("%s %lu: done %llu of %zu size %llu",
					    write ? "write" : "read",
					    inode->i_ino, rw.done,
					    call.iter_got, rw.new_size);
		if (ret) {
			iov_iter_revert(iter, call.iter_got);
			break;
		}
		iov_iter_revert(iter, call.iter_got - rw.done);
		iocb->ki_pos += rw.done;
		total += rw.done;
		if (write && rw.new_size != i_size_read(inode))
			i_size_write(inode, rw.new_size);
		if (rw.done < call.iter_got)
			break;
	}
	return total ? total : ret;
}

/* ---- read / write ----------------------------------------------------- */

static ssize_t zuf_read_iter(struct kiocb *iocb, struct iov_iter *to)
{
	struct inode *inode = file_inode(iocb->ki_filp);
	ssize_t ret;

	if (!iov_iter_count(to))
		return 0;
	inode_lock_shared(inode);
	if (IS_DAX(inode))
		ret = dax_iomap_rw(iocb, to, &zuf_iomap_ops);
	else
		ret = zuf_rw_map(iocb, to, false);
	inode_unlock_shared(inode);
	file_accessed(iocb->ki_filp);
	return ret;
}

static ssize_t zuf_write_iter(struct kiocb *iocb, struct iov_iter *from)
{
	struct file *file = iocb->ki_filp;
	struct inode *inode = file_inode(file);
	ssize_t ret;
	int err;

	inode_lock(inode);
	ret = generic_write_checks(iocb, from);
	if (ret <= 0)
		goto out;
	ret = file_remove_privs(file);
	if (ret)
		goto out;
	ret = file_update_time(file);
	if (ret)
		goto out;
	if (IS_DAX(inode)) {
		ret = dax_iomap_rw(iocb, from, &zuf_iomap_ops);
		if (ret > 0 && iocb->ki_pos > i_size_read(inode)) {
			/* the data is on pmem; only the size is news */
			err = zuf_set_size(inode, iocb->ki_pos);
			if (err)
				ret = err;
		}
	} else {
		ret = zuf_rw_map(iocb, from, true);
	}
out:
	inode_unlock(inode);
	if (ret > 0)
		ret = generic_write_sync(iocb, ret);
	return ret;
}

/* ---- fsync, fallocate, llseek ------------------------------------------ */

static int zuf_fsync(struct file *file, loff_t start, loff_t end,
		     int datasync)
{
	struct inode *inode = file_inode(file);
	struct zuf_sb_info *sbi = ZUF_SB(inode->i_sb);
	struct zuf_call call = {};
	struct zufs_fsync fs = {};
	int ret;

	/* DAX: write back the CPU caches of application mmap stores */
	ret = file_write_and_wait_range(file, start, end);
	if (ret)
		return ret;
	zuf_hdr_init(&fs.hdr, ZUFS_OP_FSYNC, sbi);
	fs.ino = inode->i_ino;
	fs.datasync = !!datasync;
	call.sbi = sbi;
	call.cmd = &fs.hdr;
	call.in_len = sizeof(fs);
	call.out_len = sizeof(fs.hdr);
	return zuf_dispatch(&call);
}

static long zuf_fallocate(struct file *file, int mode, loff_t offset,
			  loff_t len)
{
	struct inode *inode = file_inode(file);
	struct zuf_sb_info *sbi = ZUF_SB(inode->i_sb);
	struct zuf_call call = {};
	struct zufs_fallocate fa = {};
	struct zufs_attr a;
	bool unmap = mode & (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE);
	int ret;

	if (mode & ~(FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE |
		     FALLOC_FL_ZERO_RANGE))
		return -EOPNOTSUPP;
	if (!S_ISREG(inode->i_mode))
		return -ENODEV;

	inode_lock(inode);
	ret = inode_newsize_ok(inode, offset + len);
	if (ret)
		goto out;
	ret = file_modified(file);
	if (ret)
		goto out;
	if (unmap) {
		filemap_invalidate_lock(inode->i_mapping);
		truncate_pagecache_range(inode, offset, offset + len - 1);
	}
	zuf_ext_invalidate(inode, offset, len);
	zuf_hdr_init(&fa.hdr, ZUFS_OP_FALLOCATE, sbi);
	fa.ino = inode->i_ino;
	fa.offset = offset;
	fa.len = len;
	fa.mode = mode;
	call.sbi = sbi;
	call.cmd = &fa.hdr;
	call.in_len = sizeof(fa);
	call.out_len = sizeof(fa.hdr);
	ret = zuf_dispatch(&call);
	if (unmap)
		filemap_invalidate_unlock(inode->i_mapping);
	if (ret)
		goto out;
	ret = zuf_getattr_ino(inode->i_sb, inode->i_ino, &a);
	if (!ret && inode_wrong_type(inode, a.mode))
		ret = zuf_bad_reply("inode %lu changed type", inode->i_ino);
	if (!ret)
		zuf_update_inode(inode, &a);
out:
	inode_unlock(inode);
	return ret;
}

static loff_t zuf_llseek(struct file *file, loff_t offset, int whence)
{
	struct inode *inode = file_inode(file);
	struct zuf_sb_info *sbi = ZUF_SB(inode->i_sb);
	struct zuf_call call = {};
	struct zufs_llseek ls = {};
	loff_t size;
	int ret;

	if (whence != SEEK_DATA && whence != SEEK_HOLE)
		return generic_file_llseek(file, offset, whence);

	inode_lock_shared(inode);
	size = i_size_read(inode);
	if (offset < 0 || offset >= size) {
		inode_unlock_shared(inode);
		return -ENXIO;
	}
	zuf_hdr_init(&ls.hdr, ZUFS_OP_LLSEEK, sbi);
	ls.ino = inode->i_ino;
	ls.offset = offset;
	ls.whence = whence;
	call.sbi = sbi;
	call.cmd = &ls.hdr;
	call.in_len = sizeof(ls);
	call.out_len = sizeof(ls);
	ret = zuf_dispatch(&call);
	inode_unlock_shared(inode);
	if (ret == -EOPNOTSUPP)	/* no sparse map: all of it is data */
		return generic_file_llseek_size(file, offset, whence,
						inode->i_sb->s_maxbytes, size);
	if (ret)
		return ret;
	if (ls.offset < offset || ls.offset > size ||
	    (whence == SEEK_DATA && ls.offset == size))
		return zuf_bad_reply("llseek %lu: %llu from %lld (size %lld)",
				     inode->i_ino, ls.offset, offset, size);
	return vfs_setpos(file, ls.offset, inode->i_sb->s_maxbytes);
}

/* ---- address space: DAX write-back of mmap stores only ------------------ */

static int zuf_writepages(struct address_space *mapping,
			  struct writeback_control *wbc)
{
	struct zuf_sb_info *sbi = ZUF_SB(mapping->host->i_sb);

	if (!IS_DAX(mapping->host) || !sbi->pmem)
		return 0;
	return dax_writeback_mapping_range(mapping, sbi->pmem->dax_dev, wbc);
}

const struct address_space_operations zuf_aops = {
	.writepages	= zuf_writepages,
	.direct_IO	= noop_direct_IO,
	.dirty_folio	= noop_dirty_folio,
};

const struct file_operations zuf_file_fops = {
	.llseek		= zuf_llseek,
	.read_iter	= zuf_read_iter,
	.write_iter	= zuf_write_iter,
	.mmap		= zuf_file_mmap,
	.mmap_supported_flags = MAP_SYNC,
	.open		= generic_file_open,
	.fsync		= zuf_fsync,
	.fallocate	= zuf_fallocate,
	.splice_read	= generic_file_splice_read,
	.splice_write	= iter_file_splice_write,
};

const struct inode_operations zuf_file_iops = {
	.getattr	= zuf_getattr,
	.setattr	= zuf_setattr,
	.listxattr	= zuf_listxattr,
	.get_acl	= zuf_get_acl,
	.set_acl	= zuf_set_acl,
	.update_time	= zuf_update_time,
};
