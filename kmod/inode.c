// SPDX-License-Identifier: GPL-2.0
/*
 * Inodes of served filesystems: attributes from the server
 * (checked), getattr / setattr / update_time, eviction.
 */
#include <linux/fs.h>
#include <linux/slab.h>
#include <linux/cred.h>
#include <linux/uidgid.h>
#include <linux/posix_acl.h>
#include <linux/dax.h>
#include <linux/iversion.h>
#include <linux/hash.h>
#include <linux/workqueue.h>

#include "zuf.h"

/* An errno a server may return: a plain userspace errno. */
int zuf_errno_ok(int err)
{
	return err < 0 && err >= -133;
}

void zuf_hdr_init(struct zufs_hdr *hdr, u32 op, struct zuf_sb_info *sbi)
{
	memset(hdr, 0, sizeof(*hdr));
	hdr->op = op;
	hdr->sb_id = sbi ? sbi->sb_id : 0;
	hdr->uid = from_kuid(&init_user_ns, current_fsuid());
	hdr->gid = from_kgid(&init_user_ns, current_fsgid());
}

static bool zuf_time_ok(const struct zufs_time *t)
{
	return t->nsec < NSEC_PER_SEC;
}

/* Check the attributes the server returned for inode @ino (0: any). */
int zuf_check_attr(struct super_block *sb, const struct zufs_attr *a,
		   u64 ino)
{
	umode_t type = a->mode & S_IFMT;

	if (!a->ino || (ino && a->ino != ino))
		return zuf_bad_reply("attr of inode %llu for inode %llu",
				     a->ino, ino);
	if (a->mode & ~(S_IFMT | 07777))
		return zuf_bad_reply("inode %llu: mode %#o", a->ino, a->mode);
	switch (type) {
	case S_IFREG: case S_IFDIR: case S_IFLNK: case S_IFCHR:
	case S_IFBLK: case S_IFIFO: case S_IFSOCK:
		break;
	default:
		return zuf_bad_reply("inode %llu: mode %#o", a->ino, a->mode);
	}
	if (a->size > (u64)sb->s_maxbytes ||
	    (type == S_IFLNK && (!a->size || a->size >= PATH_MAX)))
		return zuf_bad_reply("inode %llu: size %llu", a->ino, a->size);
	if (!zuf_time_ok(&a->atime) || !zuf_time_ok(&a->mtime) ||
	    !zuf_time_ok(&a->ctime) || !zuf_time_ok(&a->btime))
		return zuf_bad_reply("inode %llu: bad time", a->ino);
	if (a->uid == (u32)-1 || a->gid == (u32)-1)
		return zuf_bad_reply("inode %llu: uid/gid -1", a->ino);
	return 0;
}

static struct timespec64 zuf_ts(const struct zufs_time *t)
{
	return (struct timespec64){ .tv_sec = t->sec, .tv_nsec = t->nsec };
}

/*
 * Attribute versions, as fuse's attr_version: every change the kernel makes
 * to an inode's attributes (a reply applied, a new i_size) takes a new
 * number from one counter.  A reply to a call that ran without the inode
 * lock (GETATTR, LOOKUP) carries the counter's value from before it was
 * sent; if the inode changed since, the reply is older than what the inode
 * holds and is not applied (a GETATTR racing an extending write must not
 * move i_size back).
 */
static atomic64_t zuf_attr_version = ATOMIC64_INIT(1);

u64 zuf_attr_ver(void)
{
	return atomic64_read(&zuf_attr_version);
}

/* Set i_size after the server made it so (write, fallocate). */
void zuf_set_isize(struct inode *inode, loff_t size)
{
	struct zuf_inode_info *zi = ZUF_I(inode);

	spin_lock(&zi->attr_lock);
	zi->attr_version = atomic64_inc_return(&zuf_attr_version);
	i_size_write(inode, size);
	spin_unlock(&zi->attr_lock);
}

/*
 * Apply checked attributes to the inode (its type never changes).  @ver:
 * zuf_attr_ver() from before the call was sent, or 0 for the reply of a
 * call made under the inode lock (it saw every earlier change).
 */
void zuf_update_inode(struct inode *inode, const struct zufs_attr *a, u64 ver)
{
	struct zuf_inode_info *zi = ZUF_I(inode);

	spin_lock(&zi->attr_lock);
	if (ver && zi->attr_version > ver) {
		spin_unlock(&zi->attr_lock);
		return;		/* older than what the inode holds */
	}
	zi->attr_version = atomic64_inc_return(&zuf_attr_version);
	inode->i_mode = (inode->i_mode & S_IFMT) | (a->mode & 07777);
	set_nlink(inode, a->nlink);
	i_uid_write(inode, a->uid);
	i_gid_write(inode, a->gid);
	if (!S_ISREG(inode->i_mode) || i_size_read(inode) != a->size)
		i_size_write(inode, a->size);
	inode->i_blocks = a->blocks;
	/* lazytime: a time changed here and not yet sent is the newer */
	if (!(zi->lazy_times & S_ATIME))
		inode->i_atime = zuf_ts(&a->atime);
	if (!(zi->lazy_times & S_MTIME))
		inode->i_mtime = zuf_ts(&a->mtime);
	if (!(zi->lazy_times & S_CTIME))
		inode->i_ctime = zuf_ts(&a->ctime);
	spin_unlock(&zi->attr_lock);
}

static void zuf_set_ops(struct inode *inode, const struct zufs_attr *a)
{
	struct zuf_sb_info *sbi = ZUF_SB(inode->i_sb);

	switch (inode->i_mode & S_IFMT) {
	case S_IFREG:
		inode->i_op = &zuf_file_iops;
		inode->i_fop = &zuf_file_fops;
		inode->i_mapping->a_ops = &zuf_aops;
		if (sbi->features & ZUFS_FEATURE_DIRECT)
			inode->i_flags |= S_DAX;
		break;
	case S_IFDIR:
		inode->i_op = &zuf_dir_iops;
		inode->i_fop = &zuf_dir_fops;
		break;
	case S_IFLNK:
		inode->i_op = &zuf_symlink_iops;
		inode_nohighmem(inode);
		break;
	default:
		inode->i_op = &zuf_special_iops;
		init_special_inode(inode, inode->i_mode,
				   new_decode_dev(a->rdev));
		break;
	}
}

/*
 * The inode of checked attributes @a: cached or new; @ver as for
 * zuf_update_inode().  @must_be_new: the server just made this inode
 * (create): an inode the kernel already has under that number means the
 * server handed out a number in use, and the call fails rather than alias
 * two files.
 */
struct inode *zuf_iget(struct super_block *sb, const struct zufs_attr *a,
		       u64 ver, bool must_be_new)
{
	struct inode *inode;

	inode = iget_locked(sb, a->ino);
	if (!inode)
		return ERR_PTR(-ENOMEM);
	if (!(inode->i_state & I_NEW) && must_be_new) {
		iput(inode);
		return ERR_PTR(zuf_bad_reply("new inode %llu is in use",
					     a->ino));
	}
	if (!(inode->i_state & I_NEW)) {
		if (inode_wrong_type(inode, a->mode)) {
			iput(inode);
			return ERR_PTR(zuf_bad_reply("inode %llu changed type",
						     a->ino));
		}
		if (inode->i_generation != (u32)a->generation) {
			iput(inode);
			return ERR_PTR(zuf_bad_reply("inode %llu: stale generation",
						     a->ino));
		}
		zuf_update_inode(inode, a, ver);
		return inode;
	}
	/* an eviction of an earlier inode of that number goes first */
	zuf_evict_flush(ZUF_SB(sb), a->ino);
	inode->i_mode = a->mode & S_IFMT;
	inode->i_generation = a->generation;
	inode->i_blkbits = PAGE_SHIFT;
	zuf_update_inode(inode, a, 0);
	zuf_set_ops(inode, a);
	unlock_new_inode(inode);
	return inode;
}

/* GETATTR; *ver (if not NULL): zuf_attr_ver() from before it was sent. */
int zuf_getattr_ino(struct super_block *sb, u64 ino, struct zufs_attr *out,
		    u64 *ver)
{
	struct zuf_call call = {};
	struct zufs_getattr ga;
	int ret;

	if (ver)
		*ver = zuf_attr_ver();
	zuf_hdr_init(&ga.hdr, ZUFS_OP_GETATTR, ZUF_SB(sb));
	ga.ino = ino;
	memset(&ga.attr, 0, sizeof(ga.attr));
	call.sbi = ZUF_SB(sb);
	call.cmd = &ga.hdr;
	call.in_len = sizeof(ga);
	call.out_len = sizeof(ga);
	ret = zuf_dispatch(&call);
	if (ret)
		return ret;
	ret = zuf_check_attr(sb, &ga.attr, ino);
	if (ret)
		return ret;
	*out = ga.attr;
	return 0;
}

int zuf_getattr(struct user_namespace *mnt_userns, const struct path *path,
		struct kstat *stat, u32 request_mask, unsigned int flags)
{
	struct inode *inode = d_inode(path->dentry);
	struct zufs_attr a;
	u64 ver;
	int ret;

	/* the server is the truth; AT_STATX_DONT_SYNC takes the cache */
	if ((flags & AT_STATX_SYNC_TYPE) != AT_STATX_DONT_SYNC) {
		ret = zuf_getattr_ino(inode->i_sb, inode->i_ino, &a, &ver);
		if (ret)
			return ret;
		if (inode_wrong_type(inode, a.mode))
			return zuf_bad_reply("inode %lu changed type",
					     inode->i_ino);
		zuf_update_inode(inode, &a, ver);
		if (request_mask & STATX_BTIME) {
			stat->btime = zuf_ts(&a.btime);
			stat->result_mask |= STATX_BTIME;
		}
	}
	generic_fillattr(mnt_userns, inode, stat);
	stat->blksize = PAGE_SIZE;
	return 0;
}

static void zuf_time_set(struct zufs_time *t, const struct timespec64 *ts)
{
	t->sec = ts->tv_sec;
	t->nsec = ts->tv_nsec;
	t->__pad = 0;
}

static int zuf_setattr_call(struct inode *inode, struct zufs_setattr *sa,
			    unsigned int call_flags)
{
	struct zuf_sb_info *sbi = ZUF_SB(inode->i_sb);
	struct zuf_call call = {};
	int ret;

	zuf_hdr_init(&sa->hdr, ZUFS_OP_SETATTR, sbi);
	sa->ino = inode->i_ino;
	call.sbi = sbi;
	call.cmd = &sa->hdr;
	call.in_len = sizeof(*sa);
	call.out_len = sizeof(*sa);
	call.flags = call_flags;
	ret = zuf_dispatch(&call);
	if (ret)
		return ret;
	ret = zuf_check_attr(inode->i_sb, &sa->attr, inode->i_ino);
	if (ret)
		return ret;
	if (inode_wrong_type(inode, sa->attr.mode))
		return zuf_bad_reply("inode %lu changed type", inode->i_ino);
	zuf_update_inode(inode, &sa->attr, 0);
	return 0;
}

/*
 * lazytime: the times kept in memory go with the inode's next SETATTR,
 * whatever it is for (as ext4 writes them with the next inode update);
 * @sa's own times win.  Returns what was taken, to put back on failure.
 */
static unsigned int zuf_take_lazy_times(struct inode *inode,
					struct zufs_setattr *sa)
{
	struct zuf_inode_info *zi = ZUF_I(inode);
	unsigned int lazy;

	spin_lock(&zi->attr_lock);
	lazy = zi->lazy_times;
	zi->lazy_times = 0;
	if ((lazy & S_ATIME) &&
	    !(sa->valid & (ZUFS_SA_ATIME | ZUFS_SA_ATIME_NOW))) {
		sa->valid |= ZUFS_SA_ATIME;
		zuf_time_set(&sa->atime, &inode->i_atime);
	}
	if ((lazy & S_MTIME) &&
	    !(sa->valid & (ZUFS_SA_MTIME | ZUFS_SA_MTIME_NOW))) {
		sa->valid |= ZUFS_SA_MTIME;
		zuf_time_set(&sa->mtime, &inode->i_mtime);
	}
	if ((lazy & S_CTIME) && !(sa->valid & ZUFS_SA_CTIME)) {
		sa->valid &= ~ZUFS_SA_KEEP_CTIME;
		sa->valid |= ZUFS_SA_CTIME;
		zuf_time_set(&sa->ctime, &inode->i_ctime);
	}
	spin_unlock(&zi->attr_lock);
	return lazy;
}

/* The call failed: the times stay in memory, for a later writeback. */
static void zuf_put_back_lazy_times(struct inode *inode, unsigned int lazy)
{
	struct zuf_inode_info *zi = ZUF_I(inode);

	if (!lazy || zuf_is_shutdown(inode->i_sb))
		return;
	spin_lock(&zi->attr_lock);
	zi->lazy_times |= lazy;
	spin_unlock(&zi->attr_lock);
	__mark_inode_dirty(inode, I_DIRTY_TIME);
}

/*
 * One SETATTR of an inode at a time: a writeback of lazy times (no inode
 * lock) must not reach the server after a utimensat that followed it.
 */
static int zuf_send_setattr(struct inode *inode, struct zufs_setattr *sa)
{
	struct zuf_inode_info *zi = ZUF_I(inode);
	unsigned int lazy;
	int ret;

	mutex_lock(&zi->setattr_lock);
	lazy = zuf_take_lazy_times(inode, sa);
	ret = zuf_setattr_call(inode, sa, 0);
	if (ret)
		zuf_put_back_lazy_times(inode, lazy);
	mutex_unlock(&zi->setattr_lock);
	return ret;
}

/* The server sets ctime to now unless told to keep it (or what it is). */
static void zuf_keep_ctime(struct inode *inode, struct zufs_setattr *sa)
{
	if (READ_ONCE(zuf_root->granted) & ZUFS_FEATURE_KEEP_CTIME) {
		sa->valid |= ZUFS_SA_KEEP_CTIME;
	} else {
		sa->valid |= ZUFS_SA_CTIME;
		zuf_time_set(&sa->ctime, &inode->i_ctime);
	}
}

/*
 * Send the times lazytime kept in memory (fsync, writeback, iput, sync,
 * umount).  @call_flags: ZUF_CALL_NOWAIT_SRV from writeback, which
 * retries later, so that no flusher waits out a server restart.
 */
int zuf_write_lazy_times(struct inode *inode, unsigned int call_flags)
{
	struct zuf_inode_info *zi = ZUF_I(inode);
	struct zufs_setattr sa = {};
	unsigned int lazy;
	int ret;

	if (!READ_ONCE(zi->lazy_times))
		return 0;
	if (zuf_is_shutdown(inode->i_sb)) {
		/* nothing more reaches the filesystem */
		spin_lock(&zi->attr_lock);
		zi->lazy_times = 0;
		spin_unlock(&zi->attr_lock);
		return -EIO;
	}
	mutex_lock(&zi->setattr_lock);
	zuf_keep_ctime(inode, &sa);
	lazy = zuf_take_lazy_times(inode, &sa);
	ret = lazy ? zuf_setattr_call(inode, &sa, call_flags) : 0;
	if (ret)
		zuf_put_back_lazy_times(inode, lazy);
	mutex_unlock(&zi->setattr_lock);
	return ret;
}

/* A new mode from an ACL: no ACL rewrite (see zuf_setattr). */
int zuf_set_mode(struct inode *inode, umode_t mode)
{
	struct zufs_setattr sa = {};
	struct timespec64 now;

	sa.valid = ZUFS_SA_MODE | ZUFS_SA_CTIME;
	sa.mode = mode & 07777;
	now = current_time(inode);
	zuf_time_set(&sa.ctime, &now);
	return zuf_send_setattr(inode, &sa);
}

/* Set i_size after a write grew the file. */
int zuf_set_size(struct inode *inode, loff_t size)
{
	struct zufs_setattr sa = {};

	sa.valid = ZUFS_SA_SIZE;
	sa.size = size;
	return zuf_send_setattr(inode, &sa);
}

/* lazytime: the new times stay in memory (see zuf_write_lazy_times) */
static int zuf_update_time_lazy(struct inode *inode, struct timespec64 *time,
				int flags)
{
	struct zuf_inode_info *zi = ZUF_I(inode);

	if (zuf_is_shutdown(inode->i_sb))
		return -EIO;
	spin_lock(&zi->attr_lock);
	zi->attr_version = atomic64_inc_return(&zuf_attr_version);
	if (flags & S_ATIME)
		inode->i_atime = *time;
	if (flags & S_MTIME)
		inode->i_mtime = *time;
	if (flags & S_CTIME)
		inode->i_ctime = *time;
	zi->lazy_times |= flags & (S_ATIME | S_MTIME | S_CTIME);
	spin_unlock(&zi->attr_lock);
	__mark_inode_dirty(inode, I_DIRTY_TIME);
	return 0;
}

int zuf_update_time(struct inode *inode, struct timespec64 *time, int flags)
{
	struct zufs_setattr sa = {};

	if (!(flags & (S_ATIME | S_MTIME | S_CTIME)))
		return 0;
	if (inode->i_sb->s_flags & SB_LAZYTIME)
		return zuf_update_time_lazy(inode, time, flags);
	if (flags & S_ATIME) {
		sa.valid |= ZUFS_SA_ATIME;
		zuf_time_set(&sa.atime, time);
	}
	if (flags & S_MTIME) {
		sa.valid |= ZUFS_SA_MTIME;
		zuf_time_set(&sa.mtime, time);
	}
	if (flags & S_CTIME) {
		sa.valid |= ZUFS_SA_CTIME;
		zuf_time_set(&sa.ctime, time);
	}
	/*
	 * An access (file_accessed on read or mmap) must not move ctime.  A
	 * server without KEEP_CTIME is told the inode's own ctime instead:
	 * racy against a chmod, but a read no longer moves ctime there either.
	 */
	if (!(flags & S_CTIME))
		zuf_keep_ctime(inode, &sa);
	return zuf_send_setattr(inode, &sa);
}

int zuf_setattr(struct user_namespace *mnt_userns, struct dentry *dentry,
		struct iattr *attr)
{
	struct inode *inode = d_inode(dentry);
	unsigned int ia = attr->ia_valid;
	struct zufs_setattr sa = {};
	int ret;

	if (zuf_is_shutdown(inode->i_sb))
		return -EIO;
	ret = setattr_prepare(mnt_userns, dentry, attr);
	if (ret)
		return ret;

	if (ia & ATTR_MODE) {
		sa.valid |= ZUFS_SA_MODE;
		sa.mode = attr->ia_mode & 07777;
	}
	if (ia & ATTR_UID) {
		sa.valid |= ZUFS_SA_UID;
		sa.uid = from_kuid(&init_user_ns,
				   from_vfsuid(mnt_userns, i_user_ns(inode),
					       attr->ia_vfsuid));
	}
	if (ia & ATTR_GID) {
		sa.valid |= ZUFS_SA_GID;
		sa.gid = from_kgid(&init_user_ns,
				   from_vfsgid(mnt_userns, i_user_ns(inode),
					       attr->ia_vfsgid));
	}
	if (ia & ATTR_SIZE) {
		if (!S_ISREG(inode->i_mode))
			return -EINVAL;
		sa.valid |= ZUFS_SA_SIZE;
		sa.size = attr->ia_size;
	}
	if (ia & ATTR_ATIME) {
		sa.valid |= (ia & ATTR_ATIME_SET) ? ZUFS_SA_ATIME :
						    ZUFS_SA_ATIME_NOW;
		zuf_time_set(&sa.atime, &attr->ia_atime);
	}
	if (ia & ATTR_MTIME) {
		sa.valid |= (ia & ATTR_MTIME_SET) ? ZUFS_SA_MTIME :
						    ZUFS_SA_MTIME_NOW;
		zuf_time_set(&sa.mtime, &attr->ia_mtime);
	}
	if (ia & ATTR_CTIME) {
		sa.valid |= ZUFS_SA_CTIME;
		zuf_time_set(&sa.ctime, &attr->ia_ctime);
	}

	if (ia & ATTR_SIZE && attr->ia_size < i_size_read(inode)) {
		/*
		 * No application may touch the blocks the server frees: no
		 * mapping (faults wait on invalidate_lock), and no page of a
		 * mapping still pinned by O_DIRECT or vmsplice (wait for them).
		 */
		filemap_invalidate_lock(inode->i_mapping);
		ret = zuf_break_layouts(inode, attr->ia_size, LLONG_MAX);
		if (ret) {
			filemap_invalidate_unlock(inode->i_mapping);
			return ret;
		}
		truncate_pagecache(inode, attr->ia_size);
		zuf_ext_invalidate(inode, attr->ia_size, 0);
		ret = zuf_send_setattr(inode, &sa);
		filemap_invalidate_unlock(inode->i_mapping);
	} else {
		ret = zuf_send_setattr(inode, &sa);
		if (!ret && (ia & ATTR_SIZE))
			zuf_ext_invalidate(inode, 0, 0);
	}
	if (ret)
		return ret;
	if (ia & ATTR_MODE) {
		ret = posix_acl_chmod(mnt_userns, inode, inode->i_mode);
		if (ret)
			return ret;
	}
	return 0;
}

/* ---- eviction: told to the server asynchronously, as fuse's FORGET -- */

struct zuf_evict_work {
	struct work_struct work;
	struct zuf_sb_info *sbi;
	u64 ino;
};

static atomic_t *zuf_evict_slot(struct zuf_sb_info *sbi, u64 ino)
{
	return &sbi->evicts_of[hash_64(ino, ZUF_EVICT_HASH_BITS)];
}

/* best effort: the plugin reclaims orphans at the next mount */
static void zuf_evict_send(struct zuf_sb_info *sbi, u64 ino)
{
	struct zuf_call call = {};
	struct zufs_getattr ev;

	zuf_hdr_init(&ev.hdr, ZUFS_OP_EVICT, sbi);
	ev.hdr.uid = 0;
	ev.hdr.gid = 0;
	ev.ino = ino;
	memset(&ev.attr, 0, sizeof(ev.attr));
	call.sbi = sbi;
	call.cmd = &ev.hdr;
	call.in_len = sizeof(ev);
	call.out_len = sizeof(ev.hdr);
	call.flags = ZUF_CALL_NOWAIT_SRV;
	zuf_dispatch(&call);
}

static void zuf_evict_fn(struct work_struct *work)
{
	struct zuf_evict_work *ew = container_of(work, struct zuf_evict_work,
						 work);
	struct zuf_sb_info *sbi = ew->sbi;

	zuf_evict_send(sbi, ew->ino);
	atomic_dec(zuf_evict_slot(sbi, ew->ino));
	kfree(ew);
}

/*
 * An inode of @ino is about to be used again: an eviction of an earlier one
 * still queued must reach the server first.
 */
void zuf_evict_flush(struct zuf_sb_info *sbi, u64 ino)
{
	if (sbi->evict_wq && atomic_read(zuf_evict_slot(sbi, ino)))
		flush_workqueue(sbi->evict_wq);
}

/*
 * Eviction runs from memory reclaim too: it must not wait for the server.
 * The EVICT goes to a worker; only when no memory is left for that is it
 * sent from here (it then waits no longer than a call for a server).
 */
void zuf_evict_inode(struct inode *inode)
{
	struct zuf_sb_info *sbi = ZUF_SB(inode->i_sb);
	struct zuf_evict_work *ew;
	u64 ino = inode->i_ino;

	truncate_inode_pages_final(&inode->i_data);
	clear_inode(inode);

	ew = sbi->evict_wq ? kmalloc(sizeof(*ew), GFP_NOFS | __GFP_NOWARN) :
			     NULL;
	if (!ew) {
		zuf_evict_send(sbi, ino);
		return;
	}
	INIT_WORK(&ew->work, zuf_evict_fn);
	ew->sbi = sbi;
	ew->ino = ino;
	atomic_inc(zuf_evict_slot(sbi, ino));
	queue_work(sbi->evict_wq, &ew->work);
}

const struct inode_operations zuf_special_iops = {
	.getattr	= zuf_getattr,
	.setattr	= zuf_setattr,
	.listxattr	= zuf_listxattr,
	.get_acl	= zuf_get_acl,
	.set_acl	= zuf_set_acl,
	.update_time	= zuf_update_time,
};
