// SPDX-License-Identifier: GPL-2.0
/*
 * Extended attributes (user., trusted., security.) and POSIX
 * ACLs, stored by the server as system.posix_acl_* xattrs in the standard
 * xattr format (the generic posix_acl handlers call get_acl / set_acl).
 */
#include <linux/fs.h>
#include <linux/slab.h>
#include <linux/xattr.h>
#include <linux/posix_acl.h>
#include <linux/posix_acl_xattr.h>

#include "zuf.h"

static u32 zuf_xattr_len(const struct zufs_hdr *h)
{
	return container_of(h, struct zufs_xattr, hdr)->len;
}

static int zuf_xattr_call(struct inode *inode, u32 op, const char *name,
			  const void *in, void *out, size_t size, int flags,
			  u32 *len)
{
	struct zuf_sb_info *sbi = ZUF_SB(inode->i_sb);
	struct zuf_call call = {};
	struct zufs_xattr *x;
	size_t nlen = name ? strlen(name) : 0;
	int ret;

	if (!(sbi->features & ZUFS_FEATURE_XATTR))
		return -EOPNOTSUPP;
	if (nlen > XATTR_NAME_MAX || (name && !nlen))
		return -ERANGE;
	if (size > ZUFS_PAYLOAD_MAX)
		size = ZUFS_PAYLOAD_MAX;
	x = kzalloc(sizeof(*x), GFP_KERNEL);
	if (!x)
		return -ENOMEM;
	zuf_hdr_init(&x->hdr, op, sbi);
	x->ino = inode->i_ino;
	x->size = size;
	x->flags = flags;
	x->name.len = nlen;
	if (nlen)
		memcpy(x->name.name, name, nlen);
	call.sbi = sbi;
	call.cmd = &x->hdr;
	call.in_len = sizeof(*x);
	call.out_len = offsetof(struct zufs_xattr, name);
	if (in) {
		call.pl_in = in;
		call.pl_in_len = size;
	}
	if (out || op == ZUFS_OP_GETXATTR || op == ZUFS_OP_LISTXATTR) {
		call.pl_out = out;
		call.pl_out_max = out ? size : 0;
		call.pl_out_len = out ? zuf_xattr_len : NULL;
	}
	ret = zuf_dispatch(&call);
	if (!ret && len) {
		/* size 0 asks for the length: it may exceed the buffer */
		if ((out && x->len > size) || x->len > XATTR_SIZE_MAX)
			ret = zuf_bad_reply("xattr %lu: %u bytes", inode->i_ino,
					    x->len);
		else
			*len = x->len;
	}
	kfree(x);
	return ret;
}

static int zuf_xattr_get(const struct xattr_handler *handler,
			 struct dentry *unused, struct inode *inode,
			 const char *name, void *value, size_t size)
{
	const char *full = xattr_full_name(handler, name);
	u32 len = 0;
	int ret;

	if (size > ZUFS_PAYLOAD_MAX)
		size = ZUFS_PAYLOAD_MAX;
	ret = zuf_xattr_call(inode, ZUFS_OP_GETXATTR, full, NULL,
			     size ? value : NULL, size, 0, &len);
	return ret ? ret : (int)len;
}

static int zuf_xattr_set(const struct xattr_handler *handler,
			 struct user_namespace *mnt_userns,
			 struct dentry *unused, struct inode *inode,
			 const char *name, const void *value, size_t size,
			 int flags)
{
	const char *full = xattr_full_name(handler, name);
	int ret;

	if (size > ZUFS_PAYLOAD_MAX)
		return -E2BIG;
	if (!value)
		ret = zuf_xattr_call(inode, ZUFS_OP_REMOVEXATTR, full, NULL,
				     NULL, 0, 0, NULL);
	else
		ret = zuf_xattr_call(inode, ZUFS_OP_SETXATTR, full, value,
				     NULL, size, flags, NULL);
	if (!ret)
		inode->i_ctime = current_time(inode);
	return ret;
}

/*
 * The list comes from the server whole, then only the names the caller may
 * see are returned: trusted.* to CAP_SYS_ADMIN only, as in every other
 * filesystem.  A size query (size 0) needs the list too, to count them.
 */
ssize_t zuf_listxattr(struct dentry *dentry, char *buf, size_t size)
{
	struct inode *inode = d_inode(dentry);
	bool trusted = capable(CAP_SYS_ADMIN);
	u32 len = 0, off = 0, n = 0;
	char *list;
	int ret;

	list = kvmalloc(ZUFS_PAYLOAD_MAX, GFP_KERNEL);
	if (!list)
		return -ENOMEM;
	ret = zuf_xattr_call(inode, ZUFS_OP_LISTXATTR, NULL, NULL, list,
			     ZUFS_PAYLOAD_MAX, 0, &len);
	if (ret) {
		kvfree(list);
		return ret == -EOPNOTSUPP ? 0 : ret;
	}
	if (len && list[len - 1] != '\0') {
		kvfree(list);
		return zuf_bad_reply("listxattr %lu: list not terminated",
				     inode->i_ino);
	}
	while (off < len) {
		size_t nl = strlen(list + off) + 1;

		if (nl == 1) {
			kvfree(list);
			return zuf_bad_reply("listxattr %lu: empty name",
					     inode->i_ino);
		}
		if (trusted || strncmp(list + off, XATTR_TRUSTED_PREFIX,
				       XATTR_TRUSTED_PREFIX_LEN)) {
			memmove(list + n, list + off, nl);
			n += nl;
		}
		off += nl;
	}
	if (size && n > size)
		ret = -ERANGE;
	else if (size)
		memcpy(buf, list, n);
	kvfree(list);
	return ret ? (ssize_t)ret : (ssize_t)n;
}

/* security.NAME of a new inode, from security_inode_init_security(). */
int zuf_xattr_set_security(struct inode *inode, const char *name,
			   const void *value, size_t size)
{
	char *full;
	int ret;

	if (size > ZUFS_PAYLOAD_MAX)
		return -E2BIG;
	full = kasprintf(GFP_NOFS, "%s%s", XATTR_SECURITY_PREFIX, name);
	if (!full)
		return -ENOMEM;
	ret = zuf_xattr_call(inode, ZUFS_OP_SETXATTR, full, value, NULL, size,
			     0, NULL);
	kfree(full);
	return ret;
}

static bool zuf_xattr_trusted_list(struct dentry *dentry)
{
	return capable(CAP_SYS_ADMIN);
}

static const struct xattr_handler zuf_user_xattr = {
	.prefix	= XATTR_USER_PREFIX,
	.get	= zuf_xattr_get,
	.set	= zuf_xattr_set,
};

static const struct xattr_handler zuf_trusted_xattr = {
	.prefix	= XATTR_TRUSTED_PREFIX,
	.list	= zuf_xattr_trusted_list,
	.get	= zuf_xattr_get,
	.set	= zuf_xattr_set,
};

static const struct xattr_handler zuf_security_xattr = {
	.prefix	= XATTR_SECURITY_PREFIX,
	.get	= zuf_xattr_get,
	.set	= zuf_xattr_set,
};

const struct xattr_handler *zuf_xattr_handlers[] = {
	&zuf_user_xattr,
	&zuf_trusted_xattr,
	&zuf_security_xattr,
	&posix_acl_access_xattr_handler,
	&posix_acl_default_xattr_handler,
	NULL,
};

/* ---- POSIX ACLs -------------------------------------------------------- */

static const char *zuf_acl_name(int type)
{
	return type == ACL_TYPE_ACCESS ? XATTR_NAME_POSIX_ACL_ACCESS :
					 XATTR_NAME_POSIX_ACL_DEFAULT;
}

struct posix_acl *zuf_get_acl(struct inode *inode, int type, bool rcu)
{
	struct posix_acl *acl;
	u32 len = 0;
	void *buf;
	int ret;

	if (rcu)
		return ERR_PTR(-ECHILD);
	if (!(ZUF_SB(inode->i_sb)->features & ZUFS_FEATURE_ACL))
		return NULL;
	buf = kvmalloc(ZUFS_PAYLOAD_MAX, GFP_KERNEL);
	if (!buf)
		return ERR_PTR(-ENOMEM);
	ret = zuf_xattr_call(inode, ZUFS_OP_GETXATTR, zuf_acl_name(type),
			     NULL, buf, ZUFS_PAYLOAD_MAX, 0, &len);
	if (ret == -ENODATA || ret == -EOPNOTSUPP)
		acl = NULL;
	else if (ret)
		acl = ERR_PTR(ret);
	else
		acl = posix_acl_from_xattr(&init_user_ns, buf, len);
	kvfree(buf);
	if (IS_ERR(acl) && PTR_ERR(acl) == -EINVAL)
		acl = ERR_PTR(zuf_bad_reply("inode %lu: bad ACL", inode->i_ino));
	return acl;
}

static int __zuf_set_acl(struct inode *inode, struct posix_acl *acl, int type)
{
	void *value = NULL;
	size_t size = 0;
	int ret;

	if (acl) {
		size = posix_acl_xattr_size(acl->a_count);
		if (size > ZUFS_PAYLOAD_MAX)
			return -E2BIG;
		value = kmalloc(size, GFP_KERNEL);
		if (!value)
			return -ENOMEM;
		ret = posix_acl_to_xattr(&init_user_ns, acl, value, size);
		if (ret < 0)
			goto out;
		ret = zuf_xattr_call(inode, ZUFS_OP_SETXATTR,
				     zuf_acl_name(type), value, NULL, size, 0,
				     NULL);
	} else {
		ret = zuf_xattr_call(inode, ZUFS_OP_REMOVEXATTR,
				     zuf_acl_name(type), NULL, NULL, 0, 0, NULL);
		if (ret == -ENODATA)
			ret = 0;
	}
	if (!ret)
		set_cached_acl(inode, type, acl);
out:
	kfree(value);
	return ret;
}

int zuf_set_acl(struct user_namespace *mnt_userns, struct inode *inode,
		struct posix_acl *acl, int type)
{
	umode_t mode = inode->i_mode;
	int ret;

	if (type == ACL_TYPE_ACCESS && acl) {
		ret = posix_acl_update_mode(mnt_userns, inode, &mode, &acl);
		if (ret)
			return ret;
		if (mode != inode->i_mode) {
			ret = zuf_set_mode(inode, mode);
			if (ret)
				return ret;
		}
	}
	return __zuf_set_acl(inode, acl, type);
}
