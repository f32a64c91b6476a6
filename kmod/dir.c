// SPDX-License-Identifier: GPL-2.0
/*
 * Reading directories.  The server emits ".", ".." and the entries
 * as packed struct zufs_dirent records; the position is its cookie.
 */
#include <linux/slab.h>
#include <linux/mm.h>
#include <linux/sched/signal.h>

#include "zuf.h"

/*
 * Replies one readdir may take: a server that answers "more" for ever to
 * a consumer that never fills (an in-kernel one) must not loop the kernel.
 * 2^20 replies are far more than any directory has entries.
 */
#define ZUF_READDIR_MAX_ROUNDS	(1u << 20)

static u32 zuf_readdir_len(const struct zufs_hdr *h)
{
	return container_of(h, struct zufs_readdir, hdr)->bytes;
}

static bool zuf_dirent_name_ok(const char *name, unsigned int len)
{
	if (!len || len > ZUFS_NAME_MAX || memchr(name, '/', len) ||
	    memchr(name, '\0', len))
		return false;
	return true;
}

/* Emit the checked records of one reply; returns -EIO on a bad one. */
static int zuf_emit(struct file *file, struct dir_context *ctx,
		    const void *buf, u32 bytes, bool *full, u32 *nemitted)
{
	u32 off = 0;

	while (off < bytes) {
		struct zufs_dirent de;
		const char *name;
		u32 reclen;

		if (bytes - off < sizeof(de))
			return zuf_bad_reply("readdir: truncated record");
		memcpy(&de, buf + off, sizeof(de));
		reclen = ZUFS_DIRENT_SIZE(de.name_len);
		if (reclen > bytes - off)
			return zuf_bad_reply("readdir: record past the end");
		name = buf + off + sizeof(de);
		if (!de.ino || !de.next || de.next > (u64)LLONG_MAX ||
		    !zuf_dirent_name_ok(name, de.name_len) || de.type > 15)
			return zuf_bad_reply("readdir %lu: bad entry",
					     file_inode(file)->i_ino);
		if (!dir_emit(ctx, name, de.name_len, de.ino, de.type)) {
			*full = true;
			return 0;
		}
		ctx->pos = de.next;
		(*nemitted)++;
		off += reclen;
	}
	return 0;
}

static int zuf_iterate(struct file *file, struct dir_context *ctx)
{
	struct inode *dir = file_inode(file);
	struct zuf_sb_info *sbi = ZUF_SB(dir->i_sb);
	struct zufs_readdir rd;
	unsigned int rounds = 0;
	bool full = false;
	void *buf;
	int ret = 0;

	if (zuf_is_shutdown(dir->i_sb))
		return -EIO;
	buf = kvmalloc(ZUFS_PAYLOAD_MAX, GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	while (!full) {
		struct zuf_call call = {};
		u32 n = 0;
		loff_t pos = ctx->pos;

		zuf_hdr_init(&rd.hdr, ZUFS_OP_READDIR, sbi);
		rd.dir = dir->i_ino;
		rd.cookie = pos;
		rd.bytes = 0;
		rd.more = 0;
		call.sbi = sbi;
		call.cmd = &rd.hdr;
		call.in_len = sizeof(rd);
		call.out_len = sizeof(rd);
		call.pl_out = buf;
		call.pl_out_max = ZUFS_PAYLOAD_MAX;
		call.pl_out_len = zuf_readdir_len;
		ret = zuf_dispatch(&call);
		if (ret)
			break;
		ret = zuf_emit(file, ctx, buf, rd.bytes, &full, &n);
		if (ret || full || !rd.more)
			break;
		if (!n) {
			ret = zuf_bad_reply("readdir %lu: no progress",
					    dir->i_ino);
			break;
		}
		if (++rounds >= ZUF_READDIR_MAX_ROUNDS) {
			ret = zuf_bad_reply("readdir %lu: no end", dir->i_ino);
			break;
		}
		if (fatal_signal_pending(current)) {
			ret = -EINTR;
			break;
		}
		cond_resched();
	}
	kvfree(buf);
	return ret;
}

static int zuf_dir_open(struct inode *inode, struct file *file)
{
	return zuf_is_shutdown(inode->i_sb) ? -EIO : 0;
}

/* operations are synchronous: only lazytime's times may be left */
static int zuf_dir_fsync(struct file *file, loff_t start, loff_t end,
			 int datasync)
{
	struct inode *inode = file_inode(file);

	if (zuf_is_shutdown(inode->i_sb))
		return -EIO;
	return datasync ? 0 : zuf_write_lazy_times(inode, 0);
}

const struct file_operations zuf_dir_fops = {
	.open		= zuf_dir_open,
	.llseek		= generic_file_llseek,
	.read		= generic_read_dir,
	.iterate_shared	= zuf_iterate,
	.fsync		= zuf_dir_fsync,
	.unlocked_ioctl	= zuf_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
};
