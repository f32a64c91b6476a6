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
#include <linux/delay.h>
#include <linux/fiemap.h>

#include "zuf.h"

/* ---- the per-inode extent cache -------------------------------------- */

static bool zuf_ext_on_pmem(const struct zufs_extent *e)
{
	return e->pmem_off != ZUFS_EXTENT_HOLE &&
	       e->pmem_off != ZUFS_EXTENT_MAPPED;
}

/* Done with a pmem extent from the cache (see zuf_inode_info.ext_users). */
static void zuf_ext_put(struct zuf_inode_info *zi)
{
	if (atomic_dec_and_test(&zi->ext_users))
		wake_up_var(&zi->ext_users);
}

/* The cached extent containing @pos, or NULL.  ext_lock held. */
static struct zufs_extent *zuf_ext_at(struct zuf_inode_info *zi, u64 pos)
{
	u32 i;

	for (i = 0; zi->ext && i < zi->ext_n; i++) {
		struct zufs_extent *e = &zi->ext[i];

		if (pos >= e->file_off && pos - e->file_off < e->len)
			return e;
	}
	return NULL;
}

/* Drop the cached extents that overlap [lo, hi); the count left.  Locked. */
static u32 zuf_ext_drop(struct zuf_inode_info *zi, u64 lo, u64 hi)
{
	u32 i, n = 0;

	for (i = 0; zi->ext && i < zi->ext_n; i++) {
		struct zufs_extent *e = &zi->ext[i];

		if (e->file_off < hi && e->file_off + e->len > lo)
			continue;
		zi->ext[n++] = *e;
	}
	zi->ext_n = n;
	return n;
}

/*
 * A cached extent containing @pos; for a write it must be on pmem.  A pmem
 * extent is returned with a use counted (*held): taken under ext_lock, so
 * an invalidation either dropped it first or waits for the use to end.
 */
static bool zuf_ext_find(struct zuf_inode_info *zi, u64 pos, bool write,
			 struct zufs_extent *out, bool *held)
{
	struct zufs_extent *e;
	bool found = false;

	spin_lock(&zi->ext_lock);
	e = zuf_ext_at(zi, pos);
	if (e && (!write || zuf_ext_on_pmem(e))) {
		*out = *e;
		found = true;
		if (zuf_ext_on_pmem(e)) {
			atomic_inc(&zi->ext_users);
			*held = true;
		}
	}
	spin_unlock(&zi->ext_lock);
	return found;
}

/* Bytes from @pos that the cache knows to be off pmem (0: not known). */
static u64 zuf_ext_mapped_len(struct zuf_inode_info *zi, u64 pos)
{
	struct zufs_extent *e;
	u64 len = 0;

	spin_lock(&zi->ext_lock);
	e = zuf_ext_at(zi, pos);
	if (e && e->pmem_off == ZUFS_EXTENT_MAPPED)
		len = e->file_off + e->len - pos;
	spin_unlock(&zi->ext_lock);
	return len;
}

void zuf_ext_invalidate(struct inode *inode, u64 off, u64 len)
{
	struct zuf_inode_info *zi = ZUF_I(inode);
	u64 end = len ? off + len : U64_MAX;

	if (end < off)
		end = U64_MAX;
	spin_lock(&zi->ext_lock);
	zi->ext_gen++;
	zi->inv[zi->ext_gen % ZUF_INV_RING].lo = off;
	zi->inv[zi->ext_gen % ZUF_INV_RING].hi = end;
	zuf_ext_drop(zi, off, end);
	spin_unlock(&zi->ext_lock);
}

/*
 * Did no invalidation since @gen touch [lo, hi)?  Then a reply asked for
 * before them still holds (the server invalidates after it stops handing
 * out an extent).  ext_lock held.
 */
static bool zuf_ext_gen_ok(struct zuf_inode_info *zi, u64 gen, u64 lo, u64 hi)
{
	u64 g;

	if (zi->ext_gen - gen > ZUF_INV_RING)
		return false;
	for (g = gen + 1; g <= zi->ext_gen; g++)
		if (zi->inv[g % ZUF_INV_RING].lo < hi &&
		    zi->inv[g % ZUF_INV_RING].hi > lo)
			return false;
	return true;
}

struct zuf_ge_ctx {
	struct inode *inode;
	u64 pos;
	u32 flags;		/* ZUFS_GE_* asked */
	u64 gen;
	/* out: the extent at pos, if usable (pmem: with a use counted) */
	struct zufs_extent first;
	bool got, held;
	/* the reply's extents, copied before they are checked (heap: 768 B) */
	struct zufs_extent *snap;
};

/* Check the extents of a GET_EXTENTS reply in place and cache them. */
static int zuf_ge_parse(struct zuf_call *call, const void *buf)
{
	const struct zufs_get_extents *ge = buf;
	struct zuf_ge_ctx *ctx = call->priv;
	struct inode *inode = ctx->inode;
	struct zuf_inode_info *zi = ZUF_I(inode);
	struct zuf_sb_info *sbi = ZUF_SB(inode->i_sb);
	struct zuf_pmem *pm = sbi->pmem;
	struct zufs_extent *got = ctx->snap;
	u32 n = READ_ONCE(ge->n), i, k, keep;
	u64 prev_end = 0, lo, hi;
	bool mapped_ok = (sbi->features & ZUFS_FEATURE_EXT_MAPPED) &&
			 (sbi->features & ZUFS_FEATURE_MAP);

	BUILD_BUG_ON(ZUF_EXT_CACHE < ZUFS_MAX_EXTENTS);
	if (!n || n > ZUFS_MAX_EXTENTS)
		return zuf_bad_reply("get_extents %lu: %u extents",
				     inode->i_ino, n);
	for (i = 0; i < n; i++) {
		struct zufs_extent *e = &got[i];
		bool hole, mapped;

		memcpy(e, &ge->ext[i], sizeof(*e));
		hole = e->pmem_off == ZUFS_EXTENT_HOLE;
		mapped = e->pmem_off == ZUFS_EXTENT_MAPPED;
		if (!e->len || !PAGE_ALIGNED(e->file_off) ||
		    !PAGE_ALIGNED(e->len) ||
		    e->file_off + e->len < e->file_off ||
		    e->file_off + e->len > (u64)inode->i_sb->s_maxbytes + PAGE_SIZE ||
		    (i && e->file_off < prev_end) ||
		    (mapped && !mapped_ok) ||
		    (!hole && !mapped && (!PAGE_ALIGNED(e->pmem_off) ||
					  e->pmem_off >= pm->size ||
					  e->len > pm->size - e->pmem_off)))
			goto bad;
		/* a write gets pmem (or, refused a promotion, map mode) */
		if (!i && (ctx->pos < e->file_off ||
			   ctx->pos - e->file_off >= e->len ||
			   ((ctx->flags & ZUFS_GE_WRITE) && hole) ||
			   ((ctx->flags & ZUFS_GE_PROMOTE) && mapped)))
			goto bad;
		prev_end = e->file_off + e->len;
	}

	/* the reply first, then the older extents it does not overlap */
	lo = got[0].file_off;
	hi = prev_end;
	spin_lock(&zi->ext_lock);
	if (zuf_ext_gen_ok(zi, ctx->gen, lo, hi)) {
		ctx->first = got[0];
		ctx->got = true;
		if (zuf_ext_on_pmem(&got[0])) {
			atomic_inc(&zi->ext_users);
			ctx->held = true;
		}
		k = zuf_ext_drop(zi, lo, hi);
		if (zi->ext) {
			keep = min_t(u32, k, ZUF_EXT_CACHE - n);
			memmove(zi->ext + n, zi->ext, keep * sizeof(*zi->ext));
			memcpy(zi->ext, got, n * sizeof(*zi->ext));
			zi->ext_n = n + keep;
		}
	} else if (got[0].pmem_off == ZUFS_EXTENT_MAPPED) {
		/* no address in it: usable even if already stale */
		ctx->first = got[0];
		ctx->got = true;
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

/* Ask the server; ctx->got: ctx->first is the extent at pos, usable. */
static int zuf_get_extents(struct inode *inode, u64 pos, u64 len, u32 flags,
			   struct zuf_ge_ctx *ctx)
{
	struct zuf_sb_info *sbi = ZUF_SB(inode->i_sb);
	struct zuf_inode_info *zi = ZUF_I(inode);
	struct zuf_call call = {};
	struct {
		struct zufs_hdr hdr;
		u64 ino, offset, len;
		u32 flags, n;
		u64 size;
	} ge;
	int ret;

	BUILD_BUG_ON(sizeof(ge) != offsetof(struct zufs_get_extents, ext));
	memset(ctx, 0, sizeof(*ctx));
	ctx->snap = kmalloc_array(ZUFS_MAX_EXTENTS, sizeof(*ctx->snap), GFP_NOFS);
	if (!ctx->snap)
		return -ENOMEM;
	ctx->inode = inode;
	ctx->pos = pos;
	ctx->flags = flags;
	zuf_ext_alloc(zi);
	spin_lock(&zi->ext_lock);
	ctx->gen = zi->ext_gen;
	spin_unlock(&zi->ext_lock);

	zuf_hdr_init(&ge.hdr, ZUFS_OP_GET_EXTENTS, sbi);
	ge.ino = inode->i_ino;
	ge.offset = pos;
	ge.len = len;
	ge.flags = flags;
	ge.n = 0;
	ge.size = 0;
	call.sbi = sbi;
	call.cmd = &ge.hdr;
	call.in_len = sizeof(ge);
	call.out_len = sizeof(ge);
	call.parse = zuf_ge_parse;
	call.priv = ctx;
	ret = zuf_dispatch(&call);
	kfree(ctx->snap);
	ctx->snap = NULL;
	if (ret && ctx->held) {
		/* parsed, then failed after all */
		zuf_ext_put(zi);
		ctx->held = false;
		ctx->got = false;
	}
	return ret;
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

/*
 * The extent at pos, for an iomap of flags: from the cache or the server.
 * Off-pmem (MAPPED) data: a read or write gets -ZUF_EMAPPED and its caller
 * serves the range in map mode; a write first asks the server to bring
 * the data back (ZUFS_GE_WRITE promotes) and falls back only if it will
 * not; a fault, which must map pmem, asks with ZUFS_GE_PROMOTE.
 *
 * A fault runs under the DAX entry lock and invalidate_lock, which
 * ZU_IOC_INVALIDATE waits for, so there it must not ask the server (which
 * may be the one invalidating): !may_ask gives -ZUF_ERETRY when the cache
 * cannot answer, and zuf_fault_fill() asks outside those locks.
 */
static int zuf_ext_lookup(struct inode *inode, loff_t pos, loff_t length,
			  unsigned int flags, bool may_ask,
			  struct zufs_extent *e, bool *held, bool *fresh)
{
	struct zuf_inode_info *zi = ZUF_I(inode);
	bool write = flags & (IOMAP_WRITE | IOMAP_ZERO);
	bool fault = flags & IOMAP_FAULT;
	loff_t isize = i_size_read(inode);
	struct zuf_ge_ctx ctx;
	bool looked = false, promote = false, extend;
	int tries, ret;

	*fresh = false;
	if (zuf_is_shutdown(inode->i_sb))
		return -EIO;
	/*
	 * A fault never extends the file (the DAX code checked pos against
	 * i_size): do not make the server guard a write past EOF for it.
	 */
	if (fault && pos < isize && length > isize - pos)
		length = isize - pos;
	/*
	 * A write past EOF always asks the server, even for blocks it has
	 * cached: the server must know that data goes past EOF before the
	 * new size arrives, to undo it after a crash (it then allocates or
	 * looks up, and guards).
	 */
	extend = write && !fault && length > isize - pos;
	for (tries = 0; tries < 5; tries++) {
		u32 geflags = write ? ZUFS_GE_WRITE : 0;
		u64 len = length;

		*held = false;
		if (!(extend && !*fresh) && !promote &&
		    zuf_ext_find(zi, pos, write, e, held))
			goto found;
		if (!may_ask)
			return -ZUF_ERETRY;
		/*
		 * Look ahead: one reply can then serve many calls.  A write
		 * inside the file first looks (allocating nothing) for
		 * blocks already there; only a hole makes it allocate, and
		 * then just the range written.
		 */
		if (promote) {
			geflags |= ZUFS_GE_PROMOTE;
		} else if (!looked && !extend && (!write || pos < isize)) {
			looked = true;
			geflags = 0;
			len = zuf_ge_window(inode, pos, length);
		}
		ret = zuf_get_extents(inode, pos, len, geflags, &ctx);
		if (ret)
			return ret;
		*fresh = true;
		if (!ctx.got)
			continue;	/* raced an invalidation: again */
		*e = ctx.first;
		*held = ctx.held;
found:
		if (write && e->pmem_off == ZUFS_EXTENT_HOLE)
			continue;	/* looked ahead: now allocate */
		if (e->pmem_off != ZUFS_EXTENT_MAPPED)
			return 0;
		if (fault && !may_ask)
			return -ZUF_ERETRY;
		if (fault)
			promote = true;
		else if (!write || (geflags & ZUFS_GE_WRITE))
			return -ZUF_EMAPPED;	/* a read, or a refused write */
	}
	zuf_err_rl("inode %lu @%lld: extents keep being invalidated\n",
		   inode->i_ino, pos);
	return -EIO;
}

/* A fault found no usable extent in the cache: ask, outside its locks. */
int zuf_fault_fill(struct inode *inode, loff_t pos, loff_t length,
		   bool write)
{
	struct zufs_extent e;
	bool held, fresh;
	int ret;

	atomic64_inc(&zuf_nr_fault_fills);
	ret = zuf_ext_lookup(inode, pos, length,
			     IOMAP_FAULT | (write ? IOMAP_WRITE : 0), true,
			     &e, &held, &fresh);
	if (!ret && held)
		zuf_ext_put(ZUF_I(inode));
	return ret;
}

static int zuf_iomap_begin(struct inode *inode, loff_t pos, loff_t length,
			   unsigned int flags, struct iomap *iomap,
			   struct iomap *srcmap)
{
	struct zuf_sb_info *sbi = ZUF_SB(inode->i_sb);
	bool write = flags & (IOMAP_WRITE | IOMAP_ZERO);
	bool fault = flags & IOMAP_FAULT;
	struct zufs_extent e;
	bool held, fresh;
	int ret;

	if (!sbi->pmem)
		return -EIO;
	ret = zuf_ext_lookup(inode, pos, length, flags, !fault, &e, &held,
			     &fresh);
	if (ret)
		return ret;
	iomap->offset = e.file_off;
	iomap->length = e.len;
	iomap->flags = 0;
	iomap->bdev = inode->i_sb->s_bdev;
	iomap->dax_dev = sbi->pmem->dax_dev;
	iomap->private = held ? ZUF_I(inode) : NULL;
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
		if (write && fresh && !fault &&
		    mapping_mapped(inode->i_mapping))
			iomap->flags |= IOMAP_F_NEW;
	}
	return 0;
}

static int zuf_iomap_end(struct inode *inode, loff_t pos, loff_t length,
			 ssize_t written, unsigned int flags,
			 struct iomap *iomap)
{
	if (iomap->private)
		zuf_ext_put(iomap->private);
	return 0;
}

const struct iomap_ops zuf_iomap_ops = {
	.iomap_begin	= zuf_iomap_begin,
	.iomap_end	= zuf_iomap_end,
};

/*
 * dax_layout_busy_page_range() looks only at files some VMA maps, but a
 * page pinned through an earlier mapping (vmsplice, O_DIRECT in flight)
 * outlives its VMA.  When nothing maps the file, look at its DAX entries
 * directly: value entries holding the pfn above four flag bits, 2 MiB
 * ones flagged PMD (the encoding of fs/dax.c).
 */
#define ZUF_DAX_SHIFT		4
#define ZUF_DAX_PMD		(1UL << 1)
#define ZUF_DAX_NO_PFN		((1UL << 2) | (1UL << 3))	/* zero, empty */

static struct page *zuf_dax_pinned_page(struct address_space *mapping,
					loff_t start, loff_t end)
{
	pgoff_t last = end == LLONG_MAX ? ULONG_MAX : end >> PAGE_SHIFT;
	XA_STATE(xas, &mapping->i_pages, start >> PAGE_SHIFT);
	struct page *busy = NULL;
	unsigned int scanned = 0;
	void *entry;

	xas_lock_irq(&xas);
	xas_for_each(&xas, entry, last) {
		unsigned long v, pfn, i, n;

		if (!xa_is_value(entry))
			continue;
		v = xa_to_value(entry);
		if (v & ZUF_DAX_NO_PFN)
			continue;
		pfn = v >> ZUF_DAX_SHIFT;
		n = (v & ZUF_DAX_PMD) ? PMD_SIZE >> PAGE_SHIFT : 1;
		for (i = 0; i < n && !busy; i++)
			if (page_ref_count(pfn_to_page(pfn + i)) > 1)
				busy = pfn_to_page(pfn + i);
		if (busy)
			break;
		if (++scanned % 4096 == 0) {
			xas_pause(&xas);
			xas_unlock_irq(&xas);
			cond_resched();
			xas_lock_irq(&xas);
		}
	}
	xas_unlock_irq(&xas);
	return busy;
}

/* A pinned page of [start, end] of the file's DAX mappings, or NULL. */
static struct page *zuf_dax_busy_page(struct inode *inode, loff_t start,
				      loff_t end)
{
	struct page *page;

	page = dax_layout_busy_page_range(inode->i_mapping, start, end);
	if (!page && !mapping_mapped(inode->i_mapping))
		page = zuf_dax_pinned_page(inode->i_mapping, start, end);
	return page;
}

/*
 * Before the server frees or moves the blocks of [start, end] (inclusive):
 * wait until no page of the file's DAX mappings there is still pinned (by
 * O_DIRECT, vmsplice, io_uring...), as ext4_break_layouts() does: the range
 * is unmapped, and the last put of a pinned page wakes us.
 * invalidate_lock held for write, dropped while sleeping so that the pin
 * holder can make progress.
 */
static void zuf_wait_dax_page(struct inode *inode)
{
	filemap_invalidate_unlock(inode->i_mapping);
	schedule();
	filemap_invalidate_lock(inode->i_mapping);
}

int zuf_break_layouts(struct inode *inode, loff_t start, loff_t end)
{
	struct page *page;
	int ret;

	if (!IS_DAX(inode))
		return 0;
	do {
		page = zuf_dax_busy_page(inode, start, end);
		if (!page)
			return 0;
		ret = ___wait_var_event(&page->_refcount,
					page_ref_count(page) == 1,
					TASK_INTERRUPTIBLE, 0, 0,
					zuf_wait_dax_page(inode));
	} while (!ret);
	return ret;
}

/* The same for the server's invalidation: bounded, the lock kept. */
static int zuf_break_layouts_bounded(struct inode *inode, loff_t start,
				     loff_t end)
{
	long left = ZUF_INV_WAIT;
	struct page *page;

	while (left > 0) {
		page = zuf_dax_busy_page(inode, start, end);
		if (!page)
			return 0;
		left = wait_var_event_timeout(&page->_refcount,
					      page_ref_count(page) == 1, left);
	}
	return -EBUSY;
}

struct zuf_inval_put {
	struct work_struct work;
	struct inode *inode;
	struct super_block *sb;
};

static void zuf_inval_put_fn(struct work_struct *work)
{
	struct zuf_inval_put *p = container_of(work, struct zuf_inval_put,
					       work);

	iput(p->inode);
	if (p->sb)
		deactivate_super(p->sb);
	kfree(p);
}

/*
 * Server -> kernel: forget the cached extents and the DAX mappings (PTEs and
 * the mapping's DAX entries, which tie pmem pages to this file) of a range,
 * and return once no copy or fault can still use an old extent.
 *
 * The server may call this holding its own inode locks, from a thread that
 * serves a call of ours: nothing here may wait for the server.  So no
 * ilookup() (it waits for an inode being evicted, and eviction calls the
 * server), no i_rwsem, invalidate_lock only by trylock (setattr and
 * fallocate hold it across a call), and the last iput()/deactivate_super(),
 * which may call the server, is left to a worker.  Faults hold
 * invalidate_lock but never call the server under it (zuf_fault_fill);
 * read/write users of a cached extent never call the server between
 * iomap_begin and iomap_end, though a copy that faults on a zuf mapping
 * might, hence the bounded waits and -EBUSY.
 */
static int zuf_invalidate_inode(struct inode *inode, u64 off, u64 len)
{
	struct address_space *mapping = inode->i_mapping;
	struct zuf_inode_info *zi = ZUF_I(inode);
	loff_t start = off & PAGE_MASK, end = LLONG_MAX;
	int i, ret = 0;

	if (len && len <= (u64)LLONG_MAX - off)
		end = PAGE_ALIGN(off + len) - 1;
	for (i = 0; !down_write_trylock(&mapping->invalidate_lock); i++) {
		if (i >= ZUF_INV_TRIES)
			return -EBUSY;
		usleep_range(1000, 2000);
	}
	zuf_ext_invalidate(inode, off, len);
	if (!wait_var_event_timeout(&zi->ext_users,
				    !atomic_read(&zi->ext_users),
				    ZUF_INV_WAIT)) {
		zuf_err_rl("invalidate %lu: extents still in use\n",
			   inode->i_ino);
		ret = -EBUSY;
	}
	if (IS_DAX(inode) && !ret) {
		ret = zuf_break_layouts_bounded(inode, start, end);
		if (ret)
			zuf_err_rl("invalidate %lu: pages still pinned\n",
				   inode->i_ino);
	}
	if (IS_DAX(inode) && !ret) {
		unmap_mapping_range(mapping, start, end - start + 1, 1);
		/* stores made through the PTEs, then the entries */
		filemap_write_and_wait_range(mapping, start, end);
		truncate_inode_pages_range(mapping, start, end);
	}
	up_write(&mapping->invalidate_lock);
	return ret;
}

int zuf_invalidate(struct zufs_ioc_invalidate *inv)
{
	struct zuf_inval_put *p;
	struct super_block *sb;
	struct inode *inode = NULL;
	int ret = 0;

	if (inv->offset > (u64)LLONG_MAX || inv->len > (u64)LLONG_MAX)
		return -EINVAL;
	p = kzalloc(sizeof(*p), GFP_KERNEL);
	if (!p)
		return -ENOMEM;
	sb = zuf_sb_grab(inv->sb_id);
	if (!sb) {
		kfree(p);
		return -ENOENT;
	}
	if (inv->ino <= ULONG_MAX) {
		rcu_read_lock();
		inode = find_inode_by_ino_rcu(sb, inv->ino);
		if (inode)
			inode = igrab(inode);	/* NULL if being freed */
		rcu_read_unlock();
	}
	if (inode && S_ISREG(inode->i_mode)) {
		ret = zuf_invalidate_inode(inode, inv->offset, inv->len);
		atomic64_inc(&zuf_nr_invalidations);
	}
	/*
	 * Drop our references here unless one of them is the last one: a
	 * last iput or deactivate_super may call the server, which may be
	 * the caller.  A deferred iput keeps the superblock active until it
	 * has run, so the inode never outlives its mount.
	 */
	if (inode && atomic_add_unless(&inode->i_count, -1, 1))
		inode = NULL;
	if (!inode && atomic_add_unless(&sb->s_active, -1, 1))
		sb = NULL;
	if (!inode && !sb) {
		kfree(p);
		return ret;
	}
	p->inode = inode;
	p->sb = sb;
	INIT_WORK(&p->work, zuf_inval_put_fn);
	queue_work(zuf_wq, &p->work);
	return ret;
}

/* ---- map mode ------------------------------------------------------- */

/*
 * One map-mode call: the server reads or fills the channel's window (kernel
 * pages), the kernel copies between it and the application.  Copies run
 * with page faults disabled: the channel is held, and a fault on a zuf
 * mapping would need another channel; the caller faults the pages in first
 * and goes round again on a short copy.
 */
struct zuf_rw_ctx {
	struct iov_iter *iter;
	bool write;
	size_t len;		/* bytes asked (read), put in the window (write) */
	size_t copied;		/* read: bytes copied to the application */
};

static int zuf_rw_prep(struct zuf_call *call, void *window)
{
	struct zufs_rw *rw = container_of(call->cmd, struct zufs_rw, hdr);
	struct zuf_rw_ctx *ctx = call->priv;
	size_t n = min_t(size_t, iov_iter_count(ctx->iter),
			 ZUFS_CHAN_WINDOW_SIZE);

	if (ctx->write) {
		/* a copy of the iterator: a resent command copies again */
		struct iov_iter from = *ctx->iter;

		pagefault_disable();
		n = copy_from_iter(window, n, &from);
		pagefault_enable();
		if (!n)
			return -EFAULT;
	}
	ctx->len = n;
	rw->len = n;
	rw->window_off = 0;
	return 0;
}

static int zuf_rw_parse(struct zuf_call *call, const void *buf)
{
	struct zufs_rw *rw = container_of(call->cmd, struct zufs_rw, hdr);
	struct zuf_rw_ctx *ctx = call->priv;

	/* rw is the kernel's copy of the reply: read once */
	if (rw->done > ctx->len)
		return zuf_bad_reply("%s %llu: done %llu of %zu",
				     ctx->write ? "write" : "read", rw->ino,
				     rw->done, ctx->len);
	if (!ctx->write && rw->done) {
		pagefault_disable();
		ctx->copied = copy_to_iter(call->window, rw->done, ctx->iter);
		pagefault_enable();
	}
	return 0;
}

/* Fault in the application's buffer: false if none of it can be. */
static bool zuf_rw_fault_in(struct iov_iter *iter, bool write)
{
	size_t n = min_t(size_t, iov_iter_count(iter), ZUFS_CHAN_WINDOW_SIZE);

	if (!user_backed_iter(iter))
		return true;
	if (write)
		return fault_in_iov_iter_readable(iter, n) < n;
	return fault_in_iov_iter_writeable(iter, n) < n;
}

static ssize_t zuf_rw_map(struct kiocb *iocb, struct iov_iter *iter,
			  bool write)
{
	struct inode *inode = file_inode(iocb->ki_filp);
	struct zuf_sb_info *sbi = ZUF_SB(inode->i_sb);
	unsigned int stuck = 0;
	ssize_t total = 0;
	int ret = 0;

	if (!(sbi->features & ZUFS_FEATURE_MAP))
		return -EOPNOTSUPP;
	while (iov_iter_count(iter)) {
		struct zuf_rw_ctx ctx = { .iter = iter, .write = write };
		struct zuf_call call = {};
		struct zufs_rw rw = {};
		u64 pos = iocb->ki_pos;
		size_t moved;

		if (!zuf_rw_fault_in(iter, write)) {
			ret = -EFAULT;
			break;
		}
		zuf_hdr_init(&rw.hdr, write ? ZUFS_OP_WRITE : ZUFS_OP_READ,
			     sbi);
		rw.ino = inode->i_ino;
		rw.offset = pos;
		call.sbi = sbi;
		call.cmd = &rw.hdr;
		call.in_len = sizeof(rw);
		call.out_len = sizeof(rw);
		call.prep = zuf_rw_prep;
		call.parse = zuf_rw_parse;
		call.priv = &ctx;
		ret = zuf_dispatch(&call);
		if (ret == -EFAULT && write) {
			/* the pages went away again between fault-in and copy */
			ret = 0;
			if (++stuck > 2) {
				ret = -EFAULT;
				break;
			}
			continue;
		}
		if (!ret && write &&
		    (rw.new_size < pos + rw.done ||
		     rw.new_size > (u64)inode->i_sb->s_maxbytes))
			ret = zuf_bad_reply("write %lu: done %llu size %llu",
					    inode->i_ino, rw.done,
					    rw.new_size);
		if (ret)
			break;
		if (write) {
			iov_iter_advance(iter, rw.done);
			moved = rw.done;
			if (rw.new_size != i_size_read(inode))
				zuf_set_isize(inode, rw.new_size);
		} else {
			moved = ctx.copied;
		}
		iocb->ki_pos += moved;
		total += moved;
		if (rw.done < ctx.len)
			break;		/* EOF, or the server wrote less */
		if (moved < rw.done) {
			/* a short copy to the application: fault in, again */
			if (!moved && ++stuck > 2) {
				ret = -EFAULT;
				break;
			}
			continue;
		}
		stuck = 0;
	}
	return total ? total : ret;
}

/* ---- read / write ----------------------------------------------------- */

/* Map mode for the off-pmem range at ki_pos, as far as it is known to go. */
static ssize_t zuf_rw_mapped(struct kiocb *iocb, struct iov_iter *iter,
			     bool write)
{
	struct inode *inode = file_inode(iocb->ki_filp);
	size_t count = iov_iter_count(iter);
	u64 len = zuf_ext_mapped_len(ZUF_I(inode), iocb->ki_pos);
	ssize_t ret;

	/* forgotten meanwhile: a map-mode call serves pmem data too */
	if (!len)
		len = ZUFS_CHAN_WINDOW_SIZE;
	if (len >= count)
		return zuf_rw_map(iocb, iter, write);
	iov_iter_truncate(iter, len);
	ret = zuf_rw_map(iocb, iter, write);
	iov_iter_reexpand(iter, iov_iter_count(iter) + count - len);
	return ret;
}

/*
 * DAX (direct mode) where the data is on pmem, map mode where it is not:
 * dax_iomap_rw() stops at an off-pmem range (ZUF_EMAPPED), which then goes
 * through the server, and so on.
 */
static ssize_t zuf_rw_dax(struct kiocb *iocb, struct iov_iter *iter,
			  bool write)
{
	ssize_t total = 0, ret = 0;

	while (iov_iter_count(iter)) {
		ret = dax_iomap_rw(iocb, iter, &zuf_iomap_ops);
		if (ret > 0) {
			total += ret;
			continue;	/* short: EOF, a fault, or off pmem */
		}
		if (ret != -ZUF_EMAPPED)
			break;
		atomic64_inc(&zuf_nr_map_fallbacks);
		ret = zuf_rw_mapped(iocb, iter, write);
		if (ret <= 0)
			break;
		total += ret;
	}
	return total ? total : ret;
}

static ssize_t zuf_read_iter(struct kiocb *iocb, struct iov_iter *to)
{
	struct inode *inode = file_inode(iocb->ki_filp);
	ssize_t ret;

	if (zuf_is_shutdown(inode->i_sb))
		return -EIO;
	if (!iov_iter_count(to))
		return 0;
	inode_lock_shared(inode);
	if (IS_DAX(inode))
		ret = zuf_rw_dax(iocb, to, false);
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

	if (zuf_is_shutdown(inode->i_sb))
		return -EIO;
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
		ret = zuf_rw_dax(iocb, from, true);
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

static int zuf_file_open(struct inode *inode, struct file *file)
{
	if (zuf_is_shutdown(inode->i_sb))
		return -EIO;
	return generic_file_open(inode, file);
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

	if (zuf_is_shutdown(inode->i_sb))
		return -EIO;
	/* DAX: write back the CPU caches of application mmap stores */
	ret = file_write_and_wait_range(file, start, end);
	if (!ret && !datasync)
		ret = zuf_write_lazy_times(inode, 0);
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

#define ZUF_FALLOC_SHIFT	(FALLOC_FL_COLLAPSE_RANGE | FALLOC_FL_INSERT_RANGE)

/* The size rules of collapse and insert (ext4's); inode locked. */
static int zuf_shift_check(struct inode *inode, int mode, loff_t offset,
			   loff_t len)
{
	loff_t size = i_size_read(inode);

	if ((offset | len) & (i_blocksize(inode) - 1))
		return -EINVAL;
	if (mode & FALLOC_FL_COLLAPSE_RANGE)
		return offset + len >= size ? -EINVAL : 0;
	if (offset >= size)
		return -EINVAL;
	return inode_newsize_ok(inode, size + len);
}

static long zuf_fallocate(struct file *file, int mode, loff_t offset,
			  loff_t len)
{
	struct inode *inode = file_inode(file);
	struct zuf_sb_info *sbi = ZUF_SB(inode->i_sb);
	struct zuf_call call = {};
	struct zufs_fallocate fa = {};
	struct zufs_attr a;
	bool shift = mode & ZUF_FALLOC_SHIFT;
	bool unmap = shift ||
		     (mode & (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE));
	/* a shift moves every block from offset to EOF */
	loff_t last = shift ? LLONG_MAX : offset + len - 1;
	int ret;

	if (zuf_is_shutdown(inode->i_sb))
		return -EIO;
	if (mode & ~(FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE |
		     FALLOC_FL_ZERO_RANGE | ZUF_FALLOC_SHIFT))
		return -EOPNOTSUPP;
	if (!S_ISREG(inode->i_mode))
		return -ENODEV;

	inode_lock(inode);
	if (shift)
		ret = zuf_shift_check(inode, mode, offset, len);
	else
		ret = inode_newsize_ok(inode, offset + len);
	if (ret)
		goto out;
	ret = file_modified(file);
	if (ret)
		goto out;
	if (unmap) {
		filemap_invalidate_lock(inode->i_mapping);
		ret = zuf_break_layouts(inode, offset, last);
		/* DAX: stores made through mappings reach pmem before a move */
		if (!ret && shift)
			ret = filemap_write_and_wait_range(inode->i_mapping,
							   offset, LLONG_MAX);
		if (ret) {
			filemap_invalidate_unlock(inode->i_mapping);
			goto out;
		}
		truncate_pagecache_range(inode, offset, last);
	}
	zuf_ext_invalidate(inode, offset, shift ? 0 : len);
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
	ret = zuf_getattr_ino(inode->i_sb, inode->i_ino, &a, NULL);
	if (!ret && inode_wrong_type(inode, a.mode))
		ret = zuf_bad_reply("inode %lu changed type", inode->i_ino);
	if (!ret)
		zuf_update_inode(inode, &a, 0);
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

/* ---- FIEMAP: the server's extents, as filefrag and cp see them --------- */

static int zuf_fiemap_fill(struct fiemap_extent_info *fi,
			   const struct zufs_extent *x, u32 flags)
{
	if (!x->len)
		return 0;
	return fiemap_fill_next_extent(fi, x->file_off, x->pmem_off, x->len,
				       flags);
}

/*
 * Extents come through the extent cache (GET_EXTENTS where it has none),
 * so every one was checked against the device.  Data off pmem (on a tier
 * device) has no address on this device: FIEMAP_EXTENT_UNKNOWN.  As
 * iomap_fiemap(), the last extent reported is flagged LAST.
 */
static int zuf_fiemap(struct inode *inode, struct fiemap_extent_info *fi,
		      u64 start, u64 len)
{
	struct zufs_extent cur = {}, e;
	u32 cur_flags = 0;
	u64 pos, end;
	int ret;

	if (!IS_DAX(inode) || !ZUF_SB(inode->i_sb)->pmem)
		return -EOPNOTSUPP;	/* map mode: no extents to show */
	ret = fiemap_prep(inode, fi, start, &len, FIEMAP_FLAG_SYNC);
	if (ret)
		return ret;
	inode_lock_shared(inode);
	end = round_up(i_size_read(inode), PAGE_SIZE);
	if (start < end && len < end - start)
		end = round_up(start + len, PAGE_SIZE);
	for (pos = round_down(start, PAGE_SIZE); pos < end; ) {
		bool held = false, fresh;
		u32 flags = 0;
		u64 n, phys;

		if (fatal_signal_pending(current)) {
			ret = -EINTR;
			break;
		}
		ret = zuf_ext_lookup(inode, pos, end - pos, 0, true, &e, &held,
				     &fresh);
		if (held)
			zuf_ext_put(ZUF_I(inode));
		if (ret == -ZUF_EMAPPED) {
			flags = FIEMAP_EXTENT_UNKNOWN;
			ret = 0;
		}
		if (ret)
			break;
		n = min(e.file_off + e.len, end) - pos;
		if (e.pmem_off != ZUFS_EXTENT_HOLE) {
			phys = flags ? 0 : e.pmem_off + (pos - e.file_off);
			if (cur.len && cur_flags == flags &&
			    cur.file_off + cur.len == pos &&
			    (flags || cur.pmem_off + cur.len == phys)) {
				cur.len += n;
			} else {
				ret = zuf_fiemap_fill(fi, &cur, cur_flags);
				if (ret)
					break;
				cur.file_off = pos;
				cur.pmem_off = phys;
				cur.len = n;
				cur_flags = flags;
			}
		}
		pos += n;
		cond_resched();
	}
	if (!ret)
		ret = zuf_fiemap_fill(fi, &cur, cur_flags | FIEMAP_EXTENT_LAST);
	inode_unlock_shared(inode);
	return ret < 0 ? ret : 0;
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
	.open		= zuf_file_open,
	.fsync		= zuf_fsync,
	.fallocate	= zuf_fallocate,
	.splice_read	= generic_file_splice_read,
	.splice_write	= iter_file_splice_write,
	.unlocked_ioctl	= zuf_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
};

const struct inode_operations zuf_file_iops = {
	.getattr	= zuf_getattr,
	.setattr	= zuf_setattr,
	.listxattr	= zuf_listxattr,
	.get_acl	= zuf_get_acl,
	.set_acl	= zuf_set_acl,
	.update_time	= zuf_update_time,
	.fiemap		= zuf_fiemap,
};
