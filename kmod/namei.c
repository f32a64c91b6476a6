// SPDX-License-Identifier: GPL-2.0
/*
 * Names: lookup, create, mknod, mkdir, symlink, link, unlink,
 * rmdir, rename, tmpfile, and reading symlinks.
 */
#include <linux/fs.h>
#include <linux/slab.h>
#include <linux/namei.h>
#include <linux/posix_acl.h>
#include <linux/security.h>
#include <linux/xattr.h>

#include "zuf.h"

void zuf_set_str(struct zufs_str *s, const struct qstr *q)
{
	memset(s, 0, sizeof(*s));
	s->len = q->len;
	memcpy(s->name, q->name, q->len);
}

static int zuf_name_ok(const struct qstr *q)
{
	return q->len > ZUFS_NAME_MAX ? -ENAMETOOLONG : 0;
}

static struct dentry *zuf_lookup(struct inode *dir, struct dentry *dentry,
				 unsigned int flags)
{
	struct zuf_sb_info *sbi = ZUF_SB(dir->i_sb);
	struct zuf_call call = {};
	struct zufs_lookup lk;
	struct inode *inode = NULL;
	u64 ver = zuf_attr_ver();
	int ret;

	ret = zuf_name_ok(&dentry->d_name);
	if (ret)
		return ERR_PTR(ret);
	zuf_hdr_init(&lk.hdr, ZUFS_OP_LOOKUP, sbi);
	lk.dir = dir->i_ino;
	memset(&lk.attr, 0, sizeof(lk.attr));
	zuf_set_str(&lk.name, &dentry->d_name);
	call.sbi = sbi;
	call.cmd = &lk.hdr;
	call.in_len = sizeof(lk);
	call.out_len = offsetof(struct zufs_lookup, name);
	ret = zuf_dispatch(&call);
	if (ret == -ENOENT)
		goto out;
	if (ret)
		return ERR_PTR(ret);
	ret = zuf_check_attr(dir->i_sb, &lk.attr, 0);
	if (ret)
		return ERR_PTR(ret);
	if (lk.attr.ino == dir->i_ino)
		return ERR_PTR(zuf_bad_reply("lookup: %lu contains itself",
					     dir->i_ino));
	inode = zuf_iget(dir->i_sb, &lk.attr, ver, false);
out:
	return d_splice_alias(inode, dentry);
}

/* Owner of a new inode: the caller, or a setgid directory's group. */
static void zuf_new_owner(struct user_namespace *mnt_userns, struct inode *dir,
			  umode_t *mode, struct zufs_hdr *h)
{
	h->uid = from_kuid(&init_user_ns,
			   mapped_fsuid(mnt_userns, i_user_ns(dir)));
	if (dir->i_mode & S_ISGID) {
		h->gid = from_kgid(&init_user_ns, dir->i_gid);
		if (S_ISDIR(*mode))
			*mode |= S_ISGID;
	} else {
		h->gid = from_kgid(&init_user_ns,
				   mapped_fsgid(mnt_userns, i_user_ns(dir)));
	}
}

/* The new inode the server made: it must be new and of the right type. */
static struct inode *zuf_new_inode(struct inode *dir,
				   const struct zufs_attr *a, umode_t mode)
{
	int ret;

	ret = zuf_check_attr(dir->i_sb, a, 0);
	if (ret)
		return ERR_PTR(ret);
	if ((a->mode & S_IFMT) != (mode & S_IFMT))
		return ERR_PTR(zuf_bad_reply("new inode %llu: mode %#o, asked %#o",
					     a->ino, a->mode, mode));
	if (a->ino == dir->i_ino || a->ino == ZUF_SB(dir->i_sb)->root_ino)
		return ERR_PTR(zuf_bad_reply("new inode %llu is its directory",
					     a->ino));
	/* iget_locked() decides: a number the kernel has is refused */
	return zuf_iget(dir->i_sb, a, 0, true);
}

/* The security module's xattrs of a new inode (SELinux labels...). */
static int zuf_initxattrs(struct inode *inode, const struct xattr *xattrs,
			  void *fs_info)
{
	const struct xattr *x;
	int ret = 0;

	for (x = xattrs; x->name && !ret; x++)
		ret = zuf_xattr_set_security(inode, x->name, x->value,
					     x->value_len);
	return ret;
}

/*
 * The server's replies set i_nlink, so a buggy or hostile one can leave 0
 * on a live directory, where inc_nlink() warns.  What the kernel adds or
 * takes itself stays in the range the VFS accepts; the next reply that
 * carries the directory's attributes sets the count the server keeps.
 */
static void zuf_dir_nlink_inc(struct inode *dir)
{
	if (dir->i_nlink && dir->i_nlink < U32_MAX)
		inc_nlink(dir);
}

static void zuf_dir_nlink_drop(struct inode *dir)
{
	if (dir->i_nlink > 2)
		drop_nlink(dir);
}

/*
 * A namespace call abandoned after it was sent may still happen in the
 * server: drop the names it touched from the dcache, so that the next
 * lookup asks the server instead of trusting a stale (negative) dentry.
 */
static void zuf_forget_names(const struct zuf_call *call, struct dentry *a,
			     struct dentry *b)
{
	if (!call->unknown)
		return;
	if (a)
		d_drop(a);
	if (b)
		d_drop(b);
}

static int zuf_do_create(struct user_namespace *mnt_userns, struct inode *dir,
			 struct dentry *dentry, struct file *tmpfile, u32 op,
			 umode_t mode, dev_t rdev, const char *target)
{
	struct zuf_sb_info *sbi = ZUF_SB(dir->i_sb);
	struct posix_acl *default_acl = NULL, *acl = NULL;
	struct zuf_call call = {};
	struct zufs_create *cr;
	struct inode *inode;
	int ret;

	if (dentry) {
		ret = zuf_name_ok(&dentry->d_name);
		if (ret)
			return ret;
	}
	if (op != ZUFS_OP_SYMLINK) {
		ret = posix_acl_create(dir, &mode, &default_acl, &acl);
		if (ret)
			return ret;
	}
	cr = kzalloc(sizeof(*cr), GFP_KERNEL);
	if (!cr) {
		ret = -ENOMEM;
		goto out_acl;
	}
	zuf_hdr_init(&cr->hdr, op, sbi);
	zuf_new_owner(mnt_userns, dir, &mode, &cr->hdr);
	cr->dir = dir->i_ino;
	cr->mode = mode;
	cr->rdev = new_encode_dev(rdev);
	if (dentry)
		zuf_set_str(&cr->name, &dentry->d_name);
	call.sbi = sbi;
	call.cmd = &cr->hdr;
	call.in_len = sizeof(*cr);
	call.out_len = offsetof(struct zufs_create, name);
	if (target) {
		cr->target_len = strlen(target);
		call.pl_in = target;
		call.pl_in_len = cr->target_len;
	}
	ret = zuf_dispatch(&call);
	if (ret) {
		zuf_forget_names(&call, dentry, NULL);
		goto out;
	}
	if (target && cr->attr.size != strlen(target)) {
		ret = zuf_bad_reply("symlink %llu: size %llu", cr->attr.ino,
				    cr->attr.size);
		goto out;
	}
	inode = zuf_new_inode(dir, &cr->attr, mode);
	if (IS_ERR(inode)) {
		ret = PTR_ERR(inode);
		goto out;
	}
	if (default_acl)
		ret = zuf_set_acl(mnt_userns, inode, default_acl,
				  ACL_TYPE_DEFAULT);
	if (!ret && acl)
		ret = zuf_set_acl(mnt_userns, inode, acl, ACL_TYPE_ACCESS);
	if (!ret)
		ret = security_inode_init_security(inode, dir,
						   dentry ? &dentry->d_name :
						   &empty_name,
						   zuf_initxattrs, NULL);
	if (ret == -EOPNOTSUPP)
		ret = 0;	/* no xattrs in this filesystem: no labels */
	if (ret) {
		/* the name exists: show it, but report the failure */
		if (dentry)
			d_instantiate(dentry, inode);
		else
			iput(inode);
		goto out;
	}
	if (S_ISDIR(mode))
		zuf_dir_nlink_inc(dir);
	dir->i_mtime = current_time(dir);
	dir->i_ctime = dir->i_mtime;
	if (tmpfile) {
		/* d_tmpfile() takes the link count from 1 to 0 */
		if (!inode->i_nlink)
			set_nlink(inode, 1);
		d_tmpfile(tmpfile, inode);
		ret = finish_open_simple(tmpfile, 0);
	} else {
		d_instantiate(dentry, inode);
	}
out:
	kfree(cr);
out_acl:
	posix_acl_release(default_acl);
	posix_acl_release(acl);
	return ret;
}

static int zuf_create(struct user_namespace *mnt_userns, struct inode *dir,
		      struct dentry *dentry, umode_t mode, bool excl)
{
	return zuf_do_create(mnt_userns, dir, dentry, NULL, ZUFS_OP_CREATE,
			     mode, 0, NULL);
}

static int zuf_mknod(struct user_namespace *mnt_userns, struct inode *dir,
		     struct dentry *dentry, umode_t mode, dev_t rdev)
{
	return zuf_do_create(mnt_userns, dir, dentry, NULL, ZUFS_OP_CREATE,
			     mode, rdev, NULL);
}

static int zuf_mkdir(struct user_namespace *mnt_userns, struct inode *dir,
		     struct dentry *dentry, umode_t mode)
{
	return zuf_do_create(mnt_userns, dir, dentry, NULL, ZUFS_OP_MKDIR,
			     mode | S_IFDIR, 0, NULL);
}

static int zuf_symlink(struct user_namespace *mnt_userns, struct inode *dir,
		       struct dentry *dentry, const char *target)
{
	size_t len = strlen(target);

	if (!len || len >= PATH_MAX || len > ZUFS_PAYLOAD_MAX)
		return -ENAMETOOLONG;
	return zuf_do_create(mnt_userns, dir, dentry, NULL, ZUFS_OP_SYMLINK,
			     S_IFLNK | 0777, 0, target);
}

static int zuf_tmpfile(struct user_namespace *mnt_userns, struct inode *dir,
		       struct file *file, umode_t mode)
{
	if (!(ZUF_SB(dir->i_sb)->features & ZUFS_FEATURE_TMPFILE))
		return -EOPNOTSUPP;
	return zuf_do_create(mnt_userns, dir, NULL, file, ZUFS_OP_TMPFILE,
			     mode, 0, NULL);
}

static int zuf_link(struct dentry *old, struct inode *dir,
		    struct dentry *dentry)
{
	struct zuf_sb_info *sbi = ZUF_SB(dir->i_sb);
	struct inode *inode = d_inode(old);
	struct zuf_call call = {};
	struct zufs_link *ln;
	int ret;

	ret = zuf_name_ok(&dentry->d_name);
	if (ret)
		return ret;
	ln = kzalloc(sizeof(*ln), GFP_KERNEL);
	if (!ln)
		return -ENOMEM;
	zuf_hdr_init(&ln->hdr, ZUFS_OP_LINK, sbi);
	ln->ino = inode->i_ino;
	ln->newdir = dir->i_ino;
	zuf_set_str(&ln->name, &dentry->d_name);
	call.sbi = sbi;
	call.cmd = &ln->hdr;
	call.in_len = sizeof(*ln);
	call.out_len = offsetof(struct zufs_link, name);
	ret = zuf_dispatch(&call);
	zuf_forget_names(&call, dentry, NULL);
	if (!ret)
		ret = zuf_check_attr(dir->i_sb, &ln->attr, inode->i_ino);
	if (!ret && inode_wrong_type(inode, ln->attr.mode))
		ret = zuf_bad_reply("link: inode %lu changed type",
				    inode->i_ino);
	if (!ret) {
		zuf_update_inode(inode, &ln->attr, 0);
		ihold(inode);
		d_instantiate(dentry, inode);
		dir->i_mtime = current_time(dir);
		dir->i_ctime = dir->i_mtime;
	}
	kfree(ln);
	return ret;
}

static int zuf_remove(struct inode *dir, struct dentry *dentry, u32 op)
{
	struct zuf_sb_info *sbi = ZUF_SB(dir->i_sb);
	struct inode *inode = d_inode(dentry);
	struct zuf_call call = {};
	struct zufs_lookup *lk;
	int ret;

	lk = kzalloc(sizeof(*lk), GFP_KERNEL);
	if (!lk)
		return -ENOMEM;
	zuf_hdr_init(&lk->hdr, op, sbi);
	lk->dir = dir->i_ino;
	zuf_set_str(&lk->name, &dentry->d_name);
	call.sbi = sbi;
	call.cmd = &lk->hdr;
	call.in_len = sizeof(*lk);
	call.out_len = sizeof(lk->hdr);
	ret = zuf_dispatch(&call);
	kfree(lk);
	if (ret) {
		zuf_forget_names(&call, dentry, NULL);
		return ret;
	}
	dir->i_mtime = current_time(dir);
	dir->i_ctime = dir->i_mtime;
	inode->i_ctime = dir->i_mtime;
	if (op == ZUFS_OP_RMDIR) {
		clear_nlink(inode);
		zuf_dir_nlink_drop(dir);
	} else if (inode->i_nlink) {
		drop_nlink(inode);
	}
	return 0;
}

static int zuf_unlink(struct inode *dir, struct dentry *dentry)
{
	return zuf_remove(dir, dentry, ZUFS_OP_UNLINK);
}

static int zuf_rmdir(struct inode *dir, struct dentry *dentry)
{
	return zuf_remove(dir, dentry, ZUFS_OP_RMDIR);
}

static int zuf_rename(struct user_namespace *mnt_userns, struct inode *odir,
		      struct dentry *odentry, struct inode *ndir,
		      struct dentry *ndentry, unsigned int flags)
{
	struct zuf_sb_info *sbi = ZUF_SB(odir->i_sb);
	struct inode *target = d_inode(ndentry);
	struct inode *inode = d_inode(odentry);
	struct zuf_call call = {};
	struct zufs_rename *rn;
	int ret;

	if (flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE))
		return -EINVAL;
	ret = zuf_name_ok(&ndentry->d_name);
	if (ret)
		return ret;
	rn = kzalloc(sizeof(*rn), GFP_KERNEL);
	if (!rn)
		return -ENOMEM;
	zuf_hdr_init(&rn->hdr, ZUFS_OP_RENAME, sbi);
	rn->olddir = odir->i_ino;
	rn->newdir = ndir->i_ino;
	rn->flags = flags;
	zuf_set_str(&rn->oldname, &odentry->d_name);
	zuf_set_str(&rn->newname, &ndentry->d_name);
	call.sbi = sbi;
	call.cmd = &rn->hdr;
	call.in_len = sizeof(*rn);
	call.out_len = sizeof(rn->hdr);
	ret = zuf_dispatch(&call);
	kfree(rn);
	if (ret) {
		zuf_forget_names(&call, odentry, ndentry);
		return ret;
	}

	odir->i_mtime = current_time(odir);
	odir->i_ctime = odir->i_mtime;
	ndir->i_mtime = odir->i_mtime;
	ndir->i_ctime = odir->i_mtime;
	inode->i_ctime = odir->i_mtime;
	if (flags & RENAME_EXCHANGE) {
		if (target)
			target->i_ctime = odir->i_mtime;
		if (odir != ndir && S_ISDIR(inode->i_mode) !=
		    (target && S_ISDIR(target->i_mode))) {
			if (S_ISDIR(inode->i_mode)) {
				zuf_dir_nlink_drop(odir);
				zuf_dir_nlink_inc(ndir);
			} else {
				zuf_dir_nlink_drop(ndir);
				zuf_dir_nlink_inc(odir);
			}
		}
		return 0;
	}
	if (target) {
		target->i_ctime = odir->i_mtime;
		if (S_ISDIR(target->i_mode)) {
			clear_nlink(target);
			zuf_dir_nlink_drop(ndir);
		} else if (target->i_nlink) {
			drop_nlink(target);
		}
	}
	if (S_ISDIR(inode->i_mode) && odir != ndir) {
		zuf_dir_nlink_drop(odir);
		if (!target)
			zuf_dir_nlink_inc(ndir);
	}
	return 0;
}

static u32 zuf_readlink_len(const struct zufs_hdr *h)
{
	return container_of(h, struct zufs_readlink, hdr)->len;
}

static const char *zuf_get_link(struct dentry *dentry, struct inode *inode,
				struct delayed_call *done)
{
	struct zuf_sb_info *sbi = ZUF_SB(inode->i_sb);
	struct zuf_call call = {};
	struct zufs_readlink rl;
	char *link, *old;
	int ret;

	if (zuf_is_shutdown(inode->i_sb))
		return ERR_PTR(-EIO);
	link = READ_ONCE(inode->i_link);
	if (link)
		return link;
	if (!dentry)
		return ERR_PTR(-ECHILD);
	link = kzalloc(PATH_MAX, GFP_KERNEL);
	if (!link)
		return ERR_PTR(-ENOMEM);
	zuf_hdr_init(&rl.hdr, ZUFS_OP_READLINK, sbi);
	rl.ino = inode->i_ino;
	rl.len = 0;
	rl.__pad = 0;
	call.sbi = sbi;
	call.cmd = &rl.hdr;
	call.in_len = sizeof(rl);
	call.out_len = sizeof(rl);
	call.pl_out = link;
	call.pl_out_max = PATH_MAX - 1;
	call.pl_out_len = zuf_readlink_len;
	ret = zuf_dispatch(&call);
	if (!ret && (!rl.len || strnlen(link, rl.len) != rl.len))
		ret = zuf_bad_reply("readlink %lu: length %u", inode->i_ino,
				    rl.len);
	if (ret) {
		kfree(link);
		return ERR_PTR(ret);
	}
	link[rl.len] = '\0';
	old = cmpxchg(&inode->i_link, NULL, link);
	if (old) {
		kfree(link);
		return old;
	}
	return link;
}

const struct inode_operations zuf_dir_iops = {
	.lookup		= zuf_lookup,
	.create		= zuf_create,
	.mknod		= zuf_mknod,
	.mkdir		= zuf_mkdir,
	.symlink	= zuf_symlink,
	.link		= zuf_link,
	.unlink		= zuf_unlink,
	.rmdir		= zuf_rmdir,
	.rename		= zuf_rename,
	.tmpfile	= zuf_tmpfile,
	.getattr	= zuf_getattr,
	.setattr	= zuf_setattr,
	.listxattr	= zuf_listxattr,
	.get_acl	= zuf_get_acl,
	.set_acl	= zuf_set_acl,
	.update_time	= zuf_update_time,
};

const struct inode_operations zuf_symlink_iops = {
	.get_link	= zuf_get_link,
	.getattr	= zuf_getattr,
	.setattr	= zuf_setattr,
	.listxattr	= zuf_listxattr,
};
