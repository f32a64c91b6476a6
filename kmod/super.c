// SPDX-License-Identifier: GPL-2.0
/*
 * The zuf-root control filesystem, the filesystem types a server
 * registers, and mounting / unmounting the filesystems it serves.
 *
 * A mount survives its server: when the server dies, calls wait (with a
 * timeout) for a new one; when a new server's mount thread attaches, every
 * mount is sent to it again with ZUFS_M_REATTACH.
 */
#include <linux/module.h>
#include <linux/init.h>
#include <linux/slab.h>
#include <linux/fs_context.h>
#include <linux/fs_parser.h>
#include <linux/blkdev.h>
#include <linux/dax.h>
#include <linux/statfs.h>
#include <linux/seq_file.h>
#include <linux/sysfs.h>
#include <linux/kobject.h>
#include <linux/workqueue.h>
#include <linux/lockdep.h>

#include "zuf.h"

unsigned int zuf_timeout_s = 60;
module_param_named(timeout, zuf_timeout_s, uint, 0644);
MODULE_PARM_DESC(timeout, "Seconds a call waits for a server reply");
unsigned int zuf_restart_s = 30;
module_param_named(restart_timeout, zuf_restart_s, uint, 0644);
MODULE_PARM_DESC(restart_timeout, "Seconds a call waits for a (re)started server");
unsigned int zuf_spin_ns = 2000;
module_param_named(spin_ns, zuf_spin_ns, uint, 0644);
MODULE_PARM_DESC(spin_ns, "Nanoseconds to spin for a reply before sleeping");

struct zuf_root *zuf_root;

static DEFINE_MUTEX(zuf_fs_lock);	/* zuf_fs_types */
static LIST_HEAD(zuf_fs_types);
static DEFINE_MUTEX(zuf_sbs_lock);	/* zuf_sbs */
static LIST_HEAD(zuf_sbs);
static DEFINE_SPINLOCK(zuf_pmem_lock);
static DEFINE_IDR(zuf_pmem_idr);
static atomic64_t zuf_sb_ids = ATOMIC64_INIT(0);

/* ---- pmem handles --------------------------------------------------- */

static void zuf_pmem_free(struct kref *ref)
{
	struct zuf_pmem *pm = container_of(ref, struct zuf_pmem, ref);

	fs_put_dax(pm->dax_dev, NULL);
	kfree(pm);
}

struct zuf_pmem *zuf_pmem_get(u32 id)
{
	struct zuf_pmem *pm;

	spin_lock(&zuf_pmem_lock);
	pm = idr_find(&zuf_pmem_idr, id);
	if (pm)
		kref_get(&pm->ref);
	spin_unlock(&zuf_pmem_lock);
	return pm;
}

void zuf_pmem_put(struct zuf_pmem *pm)
{
	if (pm)
		kref_put(&pm->ref, zuf_pmem_free);
}

static int zuf_pmem_open(struct zuf_sb_info *sbi, struct super_block *sb)
{
	struct zuf_pmem *pm;
	int id;

	pm = kzalloc(sizeof(*pm), GFP_KERNEL);
	if (!pm)
		return -ENOMEM;
	kref_init(&pm->ref);
	pm->dax_dev = fs_dax_get_by_bdev(sb->s_bdev, &pm->part_off, NULL,
					 NULL);
	if (!pm->dax_dev) {
		kfree(pm);
		pr_err("zuf: %s: %pg does not support DAX (fsdax namespace needed)\n",
		       sbi->zft->name, sb->s_bdev);
		return -EINVAL;
	}
	pm->size = bdev_nr_bytes(sb->s_bdev) & PAGE_MASK;
	idr_preload(GFP_KERNEL);
	spin_lock(&zuf_pmem_lock);
	id = idr_alloc(&zuf_pmem_idr, pm, 1, INT_MAX, GFP_NOWAIT);
	spin_unlock(&zuf_pmem_lock);
	idr_preload_end();
	if (id < 0) {
		zuf_pmem_put(pm);
		return id;
	}
	pm->id = id;
	sbi->pmem = pm;
	return 0;
}

static void zuf_pmem_close(struct zuf_sb_info *sbi)
{
	struct zuf_pmem *pm = sbi->pmem;

	if (!pm)
		return;
	spin_lock(&zuf_pmem_lock);
	idr_remove(&zuf_pmem_idr, pm->id);
	spin_unlock(&zuf_pmem_lock);
	sbi->pmem = NULL;
	zuf_pmem_put(pm);
}

/* ---- mount-thread commands ------------------------------------------ */

/*
 * One command on the mount thread's channel at a time.  The wait for it is
 * killable: a hung mount thread must not leave statfs, sync, mount and
 * umount of every zuf mount in D state.
 */
static int zuf_mount_dispatch(struct zuf_call *call)
{
	int ret;

	ret = mutex_lock_killable(&zuf_root->mount_lock);
	if (ret)
		return ret;
	ret = zuf_dispatch(call);
	mutex_unlock(&zuf_root->mount_lock);
	return ret;
}

static int zuf_send_mount(struct zuf_sb_info *sbi, u32 extra, u32 callflags)
{
	struct zuf_root *zr = zuf_root;
	struct zufs_mount *m;
	struct zuf_call call = {};
	u64 allowed;
	int ret;

	m = kzalloc(sizeof(*m), GFP_KERNEL);
	if (!m)
		return -ENOMEM;
	zuf_hdr_init(&m->hdr, ZUFS_OP_MOUNT, sbi);
	strscpy(m->fstype, sbi->zft->name, sizeof(m->fstype));
	m->flags = sbi->mflags | extra;
	if (sbi->pmem) {
		m->pmem_id = sbi->pmem->id;
		m->pmem_size = sbi->pmem->size;
	}
	if (extra & ZUFS_M_REATTACH)
		m->root_ino = sbi->root_ino;
	strscpy(m->options, sbi->options ?: "", sizeof(m->options));
	strscpy(m->dev_path, sbi->dev_path ?: "", sizeof(m->dev_path));

	call.cmd = &m->hdr;
	call.in_len = sizeof(*m);
	call.out_len = sizeof(*m);
	call.flags = ZUF_CALL_MOUNT | callflags;
	ret = zuf_mount_dispatch(&call);
	if (ret)
		goto out;

	allowed = sbi->zft->features & READ_ONCE(zr->granted);
	if (!m->root_ino || (m->features & ~allowed)) {
		ret = zuf_bad_reply("mount: root %llu features %#llx (allowed %#llx)",
				    m->root_ino, m->features, allowed);
		goto out;
	}
	if ((m->features & ZUFS_FEATURE_DIRECT) && !sbi->pmem) {
		ret = zuf_bad_reply("mount: direct mode without pmem");
		goto out;
	}
	if (extra & ZUFS_M_REATTACH) {
		if (m->root_ino != sbi->root_ino ||
		    m->features != sbi->features)
			ret = zuf_bad_reply("reattach: root %llu features %#llx changed",
					    m->root_ino, m->features);
		goto out;
	}
	sbi->root_ino = m->root_ino;
	sbi->features = m->features;
out:
	kfree(m);
	return ret;
}

static int zuf_send_simple_mount_op(struct zuf_sb_info *sbi, u32 op,
				    u32 flags)
{
	struct zuf_call call = {};
	struct zufs_hdr h;

	zuf_hdr_init(&h, op, sbi);
	call.cmd = &h;
	call.in_len = sizeof(h);
	call.out_len = sizeof(h);
	call.flags = ZUF_CALL_MOUNT | flags;
	return zuf_mount_dispatch(&call);
}

static int zuf_send_remount(struct zuf_sb_info *sbi, u32 mflags,
			    const char *options)
{
	struct zuf_call call = {};
	struct zufs_mount *m;
	int ret;

	m = kzalloc(sizeof(*m), GFP_KERNEL);
	if (!m)
		return -ENOMEM;
	zuf_hdr_init(&m->hdr, ZUFS_OP_REMOUNT, sbi);
	strscpy(m->fstype, sbi->zft->name, sizeof(m->fstype));
	m->flags = mflags;
	strscpy(m->options, options ?: "", sizeof(m->options));
	strscpy(m->dev_path, sbi->dev_path ?: "", sizeof(m->dev_path));
	call.sbi = sbi;
	call.cmd = &m->hdr;
	call.in_len = sizeof(*m);
	call.out_len = sizeof(m->hdr);
	call.flags = ZUF_CALL_MOUNT;
	ret = zuf_mount_dispatch(&call);
	kfree(m);
	return ret;
}

/*
 * STATFS or SYNC of one mount: on a channel of its own where the server
 * serves them there (a slow one then holds up no other mount), else on the
 * mount thread's.
 */
static int zuf_sb_dispatch(struct zuf_call *call)
{
	if (READ_ONCE(zuf_root->granted) & ZUFS_FEATURE_CHAN_STATFS)
		return zuf_dispatch(call);
	call->flags |= ZUF_CALL_MOUNT;
	return zuf_mount_dispatch(call);
}

/*
 * The next mount the server of @gen has not been offered, with an active
 * reference: a mount being unmounted (s_active 0) is never offered, and an
 * offered one cannot be unmounted until the offer is answered, so the
 * server never keeps a mount the kernel has dropped.
 */
static struct zuf_sb_info *zuf_next_to_reattach(u64 gen)
{
	struct zuf_sb_info *sbi, *found = NULL;

	mutex_lock(&zuf_sbs_lock);
	list_for_each_entry(sbi, &zuf_sbs, list) {
		if (sbi->attached_gen == gen || sbi->reattach_gen == gen)
			continue;
		sbi->reattach_gen = gen;
		if (zuf_sbi_is_shutdown(sbi))
			continue;	/* it stays without a server */
		if (!atomic_inc_not_zero(&sbi->sb->s_active))
			continue;
		found = sbi;
		break;
	}
	mutex_unlock(&zuf_sbs_lock);
	return found;
}

/*
 * A new server's mount thread is there: give it every mount again, one at
 * a time, with no global lock held across the round trips.
 */
void zuf_reattach_all(struct work_struct *work)
{
	struct zuf_root *zr = zuf_root;
	u64 gen = READ_ONCE(zr->server_gen);
	struct zuf_sb_info *sbi;
	int ret;

	while ((sbi = zuf_next_to_reattach(gen))) {
		ret = zuf_send_mount(sbi, ZUFS_M_REATTACH,
				     ZUF_CALL_REATTACH | ZUF_CALL_NOWAIT_SRV);
		if (ret) {
			pr_err("zuf: %s (%s): reattach to the new server failed: %d\n",
			       sbi->zft->name, sbi->dev_path ?: "none", ret);
		} else {
			WRITE_ONCE(sbi->attached_gen, gen);
			zuf_info("%s (%s) reattached to server %llu\n",
				 sbi->zft->name, sbi->dev_path ?: "none", gen);
		}
		wake_up_all(&zr->server_wq);
		deactivate_super(sbi->sb);
	}
	wake_up_all(&zr->server_wq);
}

/* The live superblock of a mount, with an active reference. */
struct super_block *zuf_sb_grab(zufs_sb_id sb_id)
{
	struct super_block *sb = NULL;
	struct zuf_sb_info *sbi;

	mutex_lock(&zuf_sbs_lock);
	list_for_each_entry(sbi, &zuf_sbs, list) {
		if (sbi->sb_id != sb_id)
			continue;
		if (atomic_inc_not_zero(&sbi->sb->s_active))
			sb = sbi->sb;
		break;
	}
	mutex_unlock(&zuf_sbs_lock);
	return sb;
}

void zuf_server_attached(struct zuf_root *zr)
{
	queue_work(system_long_wq, &zr->reattach_work);
}

/* ---- super operations ----------------------------------------------- */

static int zuf_statfs(struct dentry *dentry, struct kstatfs *buf)
{
	struct zuf_sb_info *sbi = ZUF_SB(dentry->d_sb);
	struct zuf_call call = {};
	struct zufs_statfs st = {};
	int ret;

	zuf_hdr_init(&st.hdr, ZUFS_OP_STATFS, sbi);
	call.sbi = sbi;
	call.cmd = &st.hdr;
	call.in_len = sizeof(st);
	call.out_len = sizeof(st);
	ret = zuf_sb_dispatch(&call);
	if (ret)
		return ret;
	if (st.bsize < 512 || st.bsize > SZ_1M || !is_power_of_2(st.bsize) ||
	    st.bfree > st.blocks || st.bavail > st.bfree ||
	    st.ffree > st.files || !st.namelen || st.namelen > NAME_MAX)
		return zuf_bad_reply("statfs: bsize %llu blocks %llu/%llu/%llu files %llu/%llu",
				     st.bsize, st.blocks, st.bfree, st.bavail,
				     st.files, st.ffree);
	buf->f_type = dentry->d_sb->s_magic;
	buf->f_bsize = st.bsize;
	buf->f_blocks = st.blocks;
	buf->f_bfree = st.bfree;
	buf->f_bavail = st.bavail;
	buf->f_files = st.files;
	buf->f_ffree = st.ffree;
	buf->f_namelen = st.namelen;
	buf->f_fsid = u64_to_fsid(st.fsid);
	buf->f_frsize = st.bsize;
	return 0;
}

static int zuf_sync_fs(struct super_block *sb, int wait)
{
	struct zuf_sb_info *sbi = ZUF_SB(sb);
	struct zuf_call call = {};
	struct zufs_hdr h;

	if (!wait)
		return 0;
	/* operations are synchronous; SYNC lets the plugin flush its own */
	zuf_hdr_init(&h, ZUFS_OP_SYNC, sbi);
	call.sbi = sbi;
	call.cmd = &h;
	call.in_len = sizeof(h);
	call.out_len = sizeof(h);
	call.flags = ZUF_CALL_NOWAIT_SRV;
	return zuf_sb_dispatch(&call);
}

/* Unmap every DAX mapping of @sb: the next fault sees the shutdown. */
static void zuf_unmap_all(struct super_block *sb)
{
	struct inode *inode, *toput = NULL;

	spin_lock(&sb->s_inode_list_lock);
	list_for_each_entry(inode, &sb->s_inodes, i_sb_list) {
		spin_lock(&inode->i_lock);
		if ((inode->i_state & (I_FREEING | I_WILL_FREE | I_NEW)) ||
		    !mapping_mapped(inode->i_mapping)) {
			spin_unlock(&inode->i_lock);
			continue;
		}
		__iget(inode);
		spin_unlock(&inode->i_lock);
		spin_unlock(&sb->s_inode_list_lock);
		/* a fault in flight maps before this, or fails after it */
		filemap_invalidate_lock(inode->i_mapping);
		unmap_mapping_range(inode->i_mapping, 0, 0, 1);
		filemap_invalidate_unlock(inode->i_mapping);
		iput(toput);
		toput = inode;
		cond_resched();
		spin_lock(&sb->s_inode_list_lock);
	}
	spin_unlock(&sb->s_inode_list_lock);
	iput(toput);
}

/**
 * zuf_shutdown - stop a mount in its tracks (FS_IOC_SHUTDOWN)
 * @sb: the mount
 * @flags: ZUF_GOING_FLAGS_*: DEFAULT syncs everything first (frozen, so
 *	nothing slips in between), LOGFLUSH has the server flush its own
 *	state, NOLOGFLUSH stops at once, as a power cut would
 *
 * From then on every operation fails with -EIO and nothing more is written
 * to the device: mappings are torn down (a fault gets SIGBUS) and the
 * server is told, to stop writing too (it keeps the state a crash leaves:
 * the next mount recovers).  The mount is not offered to a new server.
 * umount works.
 */
int zuf_shutdown(struct super_block *sb, u32 flags)
{
	struct zuf_sb_info *sbi = ZUF_SB(sb);
	static const char * const how[] = { "sync", "server flush", "now" };
	int ret;

	if (flags > ZUF_GOING_FLAGS_NOLOGFLUSH)
		return -EINVAL;
	if (zuf_is_shutdown(sb))
		return 0;
	/* DEFAULT: writers drained and data synced before the bit is set */
	if (flags == ZUF_GOING_FLAGS_DEFAULT) {
		ret = freeze_super(sb);
		if (ret)
			return ret;
	} else if (flags == ZUF_GOING_FLAGS_LOGFLUSH) {
		zuf_sync_fs(sb, 1);
	}
	ret = test_and_set_bit(ZUF_SB_SHUTDOWN, &sbi->sflags);
	if (flags == ZUF_GOING_FLAGS_DEFAULT)
		thaw_super(sb);
	if (ret)
		return 0;	/* a racing shutdown got there first */
	zuf_info("%s (%s): shut down (%s)\n", sbi->zft->name,
		 sbi->dev_path ?: "none", how[flags]);
	zuf_unmap_all(sb);
	ret = zuf_send_remount(sbi, sbi->mflags | ZUFS_M_RDONLY |
			       ZUFS_M_SHUTDOWN, sbi->options);
	if (ret)
		zuf_warn("%s (%s): the server was not told of the shutdown: %d\n",
			 sbi->zft->name, sbi->dev_path ?: "none", ret);
	return 0;
}

static void zuf_put_super(struct super_block *sb)
{
	struct zuf_sb_info *sbi = ZUF_SB(sb);
	int ret;

	/* the EVICTs of evict_inodes() go before the UMOUNT */
	if (sbi->evict_wq)
		flush_workqueue(sbi->evict_wq);
	if (sbi->attached_gen != READ_ONCE(zuf_root->server_gen))
		return;	/* a new server never knew this mount */
	ret = zuf_send_simple_mount_op(sbi, ZUFS_OP_UMOUNT,
				       ZUF_CALL_NOWAIT_SRV);
	if (ret)
		pr_warn("zuf: %s (%s): server umount failed: %d\n",
			sbi->zft->name, sbi->dev_path ?: "none", ret);
}

static int zuf_show_options(struct seq_file *m, struct dentry *root)
{
	struct zuf_sb_info *sbi = ZUF_SB(root->d_sb);

	if (sbi->options && sbi->options[0]) {
		seq_putc(m, ',');
		seq_escape(m, sbi->options, " \t\n\\");
	}
	return 0;
}

static struct inode *zuf_alloc_inode(struct super_block *sb)
{
	struct zuf_inode_info *zi;

	zi = alloc_inode_sb(sb, zuf_inode_cachep, GFP_KERNEL);
	if (!zi)
		return NULL;
	spin_lock_init(&zi->ext_lock);
	spin_lock_init(&zi->attr_lock);
	zi->attr_version = 0;
	zi->lazy_times = 0;
	mutex_init(&zi->setattr_lock);
	zi->ext_n = 0;
	zi->ext_gen = 0;
	zi->ext = NULL;
	atomic_set(&zi->ext_users, 0);
	return &zi->vfs;
}

static void zuf_free_inode(struct inode *inode)
{
	if (S_ISLNK(inode->i_mode))
		kfree(inode->i_link);
	kfree(ZUF_I(inode)->ext);
	kmem_cache_free(zuf_inode_cachep, ZUF_I(inode));
}

/* lazytime's times (zuf_write_lazy_times): writeback, sync, final iput */
static int zuf_write_inode(struct inode *inode, struct writeback_control *wbc)
{
	return zuf_write_lazy_times(inode, ZUF_CALL_NOWAIT_SRV);
}

static const struct super_operations zuf_sops = {
	.alloc_inode	= zuf_alloc_inode,
	.free_inode	= zuf_free_inode,
	.write_inode	= zuf_write_inode,
	.evict_inode	= zuf_evict_inode,
	.put_super	= zuf_put_super,
	.sync_fs	= zuf_sync_fs,
	.statfs		= zuf_statfs,
	.show_options	= zuf_show_options,
};

/* ---- mounting a served filesystem ------------------------------------ */

struct zuf_fs_ctx {
	char *options;			/* comma separated, for the server */
	size_t len;
};

static int zuf_parse_param(struct fs_context *fc, struct fs_parameter *param)
{
	struct zuf_fs_ctx *ctx = fc->fs_private;
	size_t klen, vlen = 0, need;
	char *p;

	if (!strcmp(param->key, "source"))
		return -ENOPARAM;
	if (param->type != fs_value_is_flag && param->type != fs_value_is_string)
		return invalf(fc, "%s: bad value for '%s'", fc->fs_type->name,
			      param->key);
	klen = strlen(param->key);
	if (param->type == fs_value_is_string)
		vlen = strlen(param->string) + 1;
	need = ctx->len + (ctx->len ? 1 : 0) + klen + vlen + 1;
	if (need > sizeof_field(struct zufs_mount, options))
		return invalf(fc, "%s: mount options too long", fc->fs_type->name);
	p = krealloc(ctx->options, need, GFP_KERNEL);
	if (!p)
		return -ENOMEM;
	ctx->options = p;
	p += ctx->len;
	if (ctx->len)
		*p++ = ',';
	memcpy(p, param->key, klen);
	p += klen;
	if (vlen) {
		*p++ = '=';
		memcpy(p, param->string, vlen - 1);
		p += vlen - 1;
	}
	*p = '\0';
	ctx->len = p - ctx->options;
	return 0;
}

static int zuf_fill_super(struct super_block *sb, struct fs_context *fc)
{
	struct zuf_fs_type *zft = container_of(fc->fs_type, struct zuf_fs_type,
					       vfs);
	struct zuf_fs_ctx *ctx = fc->fs_private;
	struct zuf_sb_info *sbi;
	struct zufs_attr attr;
	struct inode *root;
	u64 gen;
	int ret;

	sbi = kzalloc(sizeof(*sbi), GFP_KERNEL);
	if (!sbi)
		return -ENOMEM;
	INIT_LIST_HEAD(&sbi->list);
	sbi->sb = sb;
	sbi->zft = zft;
	sbi->sb_id = atomic64_inc_return(&zuf_sb_ids);
	sbi->options = ctx->options;
	ctx->options = NULL;
	sbi->dev_path = kstrdup(fc->source ?: "none", GFP_KERNEL);
	sb->s_fs_info = sbi;
	if (!sbi->dev_path)
		return -ENOMEM;
	sbi->evict_wq = alloc_workqueue("zuf-evict-%llu", WQ_MEM_RECLAIM, 0,
					sbi->sb_id);
	if (!sbi->evict_wq)
		return -ENOMEM;
	if (sb_rdonly(sb))
		sbi->mflags |= ZUFS_M_RDONLY;

	sb->s_magic = zft->magic;
	sb->s_op = &zuf_sops;
	sb->s_xattr = zuf_xattr_handlers;
	sb->s_maxbytes = MAX_LFS_FILESIZE;
	sb->s_time_gran = 1;
	sb->s_blocksize = PAGE_SIZE;
	sb->s_blocksize_bits = PAGE_SHIFT;

	if (!(zft->flags & ZUFS_REGFS_NODEV)) {
		ret = zuf_pmem_open(sbi, sb);
		if (ret)
			return ret;
	}

	gen = READ_ONCE(zuf_root->server_gen);
	ret = zuf_send_mount(sbi, 0, 0);
	if (ret) {
		errorf(fc, "%s: the server refused the mount: %d", zft->name,
		       ret);
		return ret;
	}
	sbi->attached_gen = gen;
	if (sbi->features & ZUFS_FEATURE_ACL)
		sb->s_flags |= SB_POSIXACL;
	if (sbi->features & ZUFS_FEATURE_DAX_MMAP)
		sb->s_flags |= SB_NOSEC;

	ret = zuf_getattr_ino(sb, sbi->root_ino, &attr, NULL);
	if (!ret && !S_ISDIR(attr.mode))
		ret = zuf_bad_reply("root %llu is not a directory",
				    sbi->root_ino);
	if (ret)
		goto fail_umount;
	root = zuf_iget(sb, &attr, 0, false);
	if (IS_ERR(root)) {
		ret = PTR_ERR(root);
		goto fail_umount;
	}
	sb->s_root = d_make_root(root);
	if (!sb->s_root) {
		ret = -ENOMEM;
		goto fail_umount;
	}

	mutex_lock(&zuf_sbs_lock);
	list_add_tail(&sbi->list, &zuf_sbs);
	mutex_unlock(&zuf_sbs_lock);
	if (gen != READ_ONCE(zuf_root->server_gen))
		zuf_server_attached(zuf_root);
	return 0;

fail_umount:
	zuf_send_simple_mount_op(sbi, ZUFS_OP_UMOUNT, ZUF_CALL_NOWAIT_SRV);
	return ret;
}

static int zuf_get_tree(struct fs_context *fc)
{
	struct zuf_fs_type *zft = container_of(fc->fs_type, struct zuf_fs_type,
					       vfs);

	if (zft->flags & ZUFS_REGFS_NODEV)
		return get_tree_nodev(fc, zuf_fill_super);
	return get_tree_bdev(fc, zuf_fill_super);
}

/* the length of the key of the option at opt (n bytes): up to its '=' */
static size_t zuf_opt_key_len(const char *opt, size_t n)
{
	const char *eq = memchr(opt, '=', n);

	return eq ? eq - opt : n;
}

/* Does the comma separated list opts name the key of klen bytes at key? */
static bool zuf_opts_have_key(const char *opts, const char *key, size_t klen)
{
	while (opts && *opts) {
		size_t n = strcspn(opts, ",");

		if (zuf_opt_key_len(opts, n) == klen && !memcmp(opts, key, klen))
			return true;
		opts += n;
		if (*opts == ',')
			opts++;
	}
	return false;
}

static int zuf_opts_append(char *out, size_t *len, size_t max,
			   const char *opt, size_t n)
{
	size_t need = *len + (*len ? 1 : 0) + n + 1;

	if (need > max)
		return -EINVAL;
	if (*len)
		out[(*len)++] = ',';
	memcpy(out + *len, opt, n);
	*len += n;
	out[*len] = '\0';
	return 0;
}

/*
 * A remount's options over the mounted ones, as ext4 keeps what a remount
 * does not name: each key given replaces the old one, the others stay.
 * The result is what /proc/mounts shows and what a restarted server gets
 * at re-attach: a remount of the watermarks alone must not lose tier=.
 */
static char *zuf_merge_options(struct fs_context *fc, const char *old,
			       const char *upd)
{
	size_t max = sizeof_field(struct zufs_mount, options), len = 0;
	const char *lists[2] = { old, upd };
	char *out;
	int i;

	out = kzalloc(max, GFP_KERNEL);
	if (!out)
		return ERR_PTR(-ENOMEM);
	for (i = 0; i < 2; i++) {
		const char *o = lists[i];

		while (o && *o) {
			size_t n = strcspn(o, ",");

			if (n && (i || !zuf_opts_have_key(upd, o,
					zuf_opt_key_len(o, n))) &&
			    zuf_opts_append(out, &len, max, o, n)) {
				kfree(out);
				return ERR_PTR(invalf(fc, "%s: mount options too long",
						      fc->fs_type->name));
			}
			o += n;
			if (*o == ',')
				o++;
		}
	}
	return out;
}

static int zuf_reconfigure(struct fs_context *fc)
{
	struct super_block *sb = fc->root->d_sb;
	struct zuf_sb_info *sbi = ZUF_SB(sb);
	struct zuf_fs_ctx *ctx = fc->fs_private;
	char *opts = NULL;
	int ret;

	if (zuf_is_shutdown(sb))
		return -EIO;
	if (ctx->options) {
		opts = zuf_merge_options(fc, sbi->options, ctx->options);
		if (IS_ERR(opts))
			return PTR_ERR(opts);
	}
	sync_filesystem(sb);
	ret = zuf_send_remount(sbi, (fc->sb_flags & SB_RDONLY) ?
			       ZUFS_M_RDONLY : 0, opts ?: sbi->options);
	if (ret) {
		kfree(opts);
		return ret;
	}
	sbi->mflags = (fc->sb_flags & SB_RDONLY) ? ZUFS_M_RDONLY : 0;
	if (opts) {
		kfree(sbi->options);
		sbi->options = opts;
	}
	return 0;
}

static void zuf_free_fc(struct fs_context *fc)
{
	struct zuf_fs_ctx *ctx = fc->fs_private;

	if (ctx) {
		kfree(ctx->options);
		kfree(ctx);
	}
}

static const struct fs_context_operations zuf_context_ops = {
	.parse_param	= zuf_parse_param,
	.get_tree	= zuf_get_tree,
	.reconfigure	= zuf_reconfigure,
	.free		= zuf_free_fc,
};

static int zuf_init_fs_context(struct fs_context *fc)
{
	struct zuf_fs_ctx *ctx = kzalloc(sizeof(*ctx), GFP_KERNEL);

	if (!ctx)
		return -ENOMEM;
	fc->fs_private = ctx;
	fc->ops = &zuf_context_ops;
	return 0;
}

static void zuf_kill_sb(struct super_block *sb)
{
	struct zuf_fs_type *zft = container_of(sb->s_type, struct zuf_fs_type,
					       vfs);
	struct zuf_sb_info *sbi = ZUF_SB(sb);

	if (zft->flags & ZUFS_REGFS_NODEV)
		kill_anon_super(sb);
	else
		kill_block_super(sb);
	if (!sbi)
		return;
	mutex_lock(&zuf_sbs_lock);
	list_del_init(&sbi->list);
	mutex_unlock(&zuf_sbs_lock);
	zuf_pmem_close(sbi);
	if (sbi->evict_wq)
		destroy_workqueue(sbi->evict_wq);
	kfree(sbi->options);
	kfree(sbi->dev_path);
	kfree(sbi);
}

/* ---- filesystem types the server registers --------------------------- */

static bool zuf_fstype_name_ok(const char *name)
{
	size_t i, len = strnlen(name, ZUFS_FSTYPE_MAX);

	if (!len || len == ZUFS_FSTYPE_MAX)
		return false;
	for (i = 0; i < len; i++)
		if (!isalnum(name[i]) && name[i] != '_' && name[i] != '-' &&
		    name[i] != '.')
			return false;
	return true;
}

/*
 * A file_system_type's lock classes must be static or registered: ours are
 * allocated when a server registers the type.
 */
static void zuf_fs_keys(struct file_system_type *t, bool reg)
{
	struct lock_class_key *keys[] = {
		&t->s_lock_key, &t->s_umount_key, &t->s_vfs_rename_key,
		&t->i_lock_key, &t->i_mutex_key, &t->invalidate_lock_key,
		&t->i_mutex_dir_key,
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(keys); i++) {
		if (reg)
			lockdep_register_key(keys[i]);
		else
			lockdep_unregister_key(keys[i]);
	}
	for (i = 0; i < SB_FREEZE_LEVELS; i++) {
		if (reg)
			lockdep_register_key(&t->s_writers_key[i]);
		else
			lockdep_unregister_key(&t->s_writers_key[i]);
	}
}

int zuf_register_fs(struct zuf_root *zr, struct zufs_ioc_register_fs *r)
{
	struct zuf_fs_type *zft;
	int ret = 0;

	if (!zuf_fstype_name_ok(r->fstype) ||
	    (r->features & ~ZUFS_FEATURES_ALL) ||
	    (r->flags & ~ZUFS_REGFS_NODEV))
		return -EINVAL;
	if ((r->flags & ZUFS_REGFS_NODEV) && (r->features &
	    (ZUFS_FEATURE_DIRECT | ZUFS_FEATURE_DAX_MMAP)))
		return -EINVAL;

	mutex_lock(&zuf_fs_lock);
	list_for_each_entry(zft, &zuf_fs_types, list) {
		if (strcmp(zft->name, r->fstype))
			continue;
		/* a restarted server registers again: the type must match */
		if (zft->flags != r->flags)
			ret = -EEXIST;
		else
			zft->features = r->features;
		goto out;
	}
	zft = kzalloc(sizeof(*zft), GFP_KERNEL);
	if (!zft) {
		ret = -ENOMEM;
		goto out;
	}
	strscpy(zft->name, r->fstype, sizeof(zft->name));
	zft->features = r->features;
	zft->magic = r->magic;
	zft->flags = r->flags;
	zft->vfs.owner = THIS_MODULE;
	zft->vfs.name = zft->name;
	zft->vfs.init_fs_context = zuf_init_fs_context;
	zft->vfs.kill_sb = zuf_kill_sb;
	if (!(r->flags & ZUFS_REGFS_NODEV))
		zft->vfs.fs_flags = FS_REQUIRES_DEV;
	zuf_fs_keys(&zft->vfs, true);
	ret = register_filesystem(&zft->vfs);
	if (ret) {
		zuf_fs_keys(&zft->vfs, false);
		kfree(zft);
		goto out;
	}
	list_add_tail(&zft->list, &zuf_fs_types);
	zuf_info("registered filesystem type %s (features %#llx)\n",
		 zft->name, zft->features);
out:
	mutex_unlock(&zuf_fs_lock);
	return ret;
}

void zuf_unregister_all_fs(void)
{
	struct zuf_fs_type *zft, *n;

	mutex_lock(&zuf_fs_lock);
	list_for_each_entry_safe(zft, n, &zuf_fs_types, list) {
		unregister_filesystem(&zft->vfs);
		list_del(&zft->list);
		zuf_fs_keys(&zft->vfs, false);
		kfree(zft);
	}
	mutex_unlock(&zuf_fs_lock);
}

/* ---- zuf-root: mount -t zuf nodev /sys/fs/zuf ------------------------ */

/* "state": the server, the channels and every mount, one per line. */
static int zuf_state_show(struct seq_file *m, void *v)
{
	struct zuf_root *zr = zuf_root;
	struct zuf_sb_info *sbi;
	unsigned int nservers;
	u64 gen, granted;

	spin_lock(&zr->lock);
	nservers = zr->nservers;
	gen = zr->server_gen;
	granted = zr->granted;
	spin_unlock(&zr->lock);

	seq_printf(m, "abi %d.%d\n", ZUFS_MAJOR_VERSION, ZUFS_MINOR_VERSION);
	seq_printf(m, "server %s\n", nservers ? "attached" : "none");
	seq_printf(m, "server_fds %u\n", nservers);
	seq_printf(m, "server_gen %llu\n", gen);
	seq_printf(m, "features %#llx\n", granted);
	seq_printf(m, "channels %u\n", zr->nchans);
	seq_printf(m, "invalidations %lld\n",
		   atomic64_read(&zuf_nr_invalidations));
	seq_printf(m, "map_fallbacks %lld\n",
		   atomic64_read(&zuf_nr_map_fallbacks));
	seq_printf(m, "fault_fills %lld\n", atomic64_read(&zuf_nr_fault_fills));
	mutex_lock(&zuf_sbs_lock);
	list_for_each_entry(sbi, &zuf_sbs, list)
		seq_printf(m, "mount %llu %s %s %s\n", sbi->sb_id,
			   sbi->zft->name, sbi->dev_path ?: "none",
			   READ_ONCE(sbi->attached_gen) == gen && nservers ?
			   "served" : "waiting");
	mutex_unlock(&zuf_sbs_lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(zuf_state);

/* "filesystems": the types servers have registered, one per line. */
static int zuf_filesystems_show(struct seq_file *m, void *v)
{
	struct zuf_fs_type *zft;

	mutex_lock(&zuf_fs_lock);
	list_for_each_entry(zft, &zuf_fs_types, list)
		seq_printf(m, "%s features=%#llx magic=%#x\n", zft->name,
			   zft->features, zft->magic);
	mutex_unlock(&zuf_fs_lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(zuf_filesystems);

static int zuf_root_fill_super(struct super_block *sb, struct fs_context *fc)
{
	static const struct tree_descr files[] = {
		[2] = { ZUFS_CONTROL_FILE, &zuf_control_fops, 0600 },
		[3] = { "state", &zuf_state_fops, 0400 },
		[4] = { "filesystems", &zuf_filesystems_fops, 0400 },
		{ "" },
	};

	return simple_fill_super(sb, ZUF_MAGIC, files);
}

static int zuf_root_get_tree(struct fs_context *fc)
{
	return get_tree_single(fc, zuf_root_fill_super);
}

static const struct fs_context_operations zuf_root_context_ops = {
	.get_tree	= zuf_root_get_tree,
};

static int zuf_root_init_fs_context(struct fs_context *fc)
{
	fc->ops = &zuf_root_context_ops;
	return 0;
}

static struct file_system_type zuf_root_fs_type = {
	.owner		= THIS_MODULE,
	.name		= "zuf",
	.init_fs_context = zuf_root_init_fs_context,
	.kill_sb	= kill_litter_super,
};

static void zuf_inode_init_once(void *p)
{
	struct zuf_inode_info *zi = p;

	inode_init_once(&zi->vfs);
}

struct kmem_cache *zuf_inode_cachep;
struct workqueue_struct *zuf_wq;	/* deferred puts of ZU_IOC_INVALIDATE */
atomic64_t zuf_nr_invalidations = ATOMIC64_INIT(0);
atomic64_t zuf_nr_map_fallbacks = ATOMIC64_INIT(0);
atomic64_t zuf_nr_fault_fills = ATOMIC64_INIT(0);

static int __init zuf_init(void)
{
	struct zuf_root *zr;
	int ret;

	zr = kzalloc(sizeof(*zr), GFP_KERNEL);
	if (!zr)
		return -ENOMEM;
	spin_lock_init(&zr->lock);
	mutex_init(&zr->mount_lock);
	init_waitqueue_head(&zr->server_wq);
	init_waitqueue_head(&zr->poll_wq);
	INIT_WORK(&zr->reattach_work, zuf_reattach_all);
	ret = zuf_chans_init(zr);
	if (ret)
		goto fail_zr;
	zuf_root = zr;

	zuf_inode_cachep = kmem_cache_create("zuf_inode_cache",
					     sizeof(struct zuf_inode_info), 0,
					     SLAB_RECLAIM_ACCOUNT |
					     SLAB_MEM_SPREAD | SLAB_ACCOUNT,
					     zuf_inode_init_once);
	if (!zuf_inode_cachep) {
		ret = -ENOMEM;
		goto fail_chans;
	}
	zuf_wq = alloc_workqueue("zuf", 0, 0);
	if (!zuf_wq) {
		ret = -ENOMEM;
		goto fail_cache;
	}
	ret = sysfs_create_mount_point(fs_kobj, "zuf");
	if (ret)
		goto fail_wq;
	ret = register_filesystem(&zuf_root_fs_type);
	if (ret)
		goto fail_sysfs;
	zuf_info("ZUFS ABI %u.%u, %u channels\n", ZUFS_MAJOR_VERSION,
		 ZUFS_MINOR_VERSION, zr->nchans);
	return 0;

fail_sysfs:
	sysfs_remove_mount_point(fs_kobj, "zuf");
fail_wq:
	destroy_workqueue(zuf_wq);
fail_cache:
	kmem_cache_destroy(zuf_inode_cachep);
fail_chans:
	zuf_root = NULL;
	zuf_chans_free(zr);
fail_zr:
	kfree(zr);
	return ret;
}

static void __exit zuf_exit(void)
{
	struct zuf_root *zr = zuf_root;

	unregister_filesystem(&zuf_root_fs_type);
	zuf_unregister_all_fs();
	sysfs_remove_mount_point(fs_kobj, "zuf");
	cancel_work_sync(&zr->reattach_work);
	destroy_workqueue(zuf_wq);
	rcu_barrier();	/* inodes freed by RCU */
	kmem_cache_destroy(zuf_inode_cachep);
	zuf_root = NULL;
	zuf_chans_free(zr);
	idr_destroy(&zuf_pmem_idr);
	kfree(zr);
}

module_init(zuf_init);
module_exit(zuf_exit);

MODULE_DESCRIPTION("ZUFS: zero-copy user-mode filesystems (kernel transport)");
MODULE_AUTHOR("The ZUFS authors");
MODULE_LICENSE("GPL");
MODULE_ALIAS_FS("zuf");
