// SPDX-License-Identifier: BSD-2-Clause
/*
 * xattr.c - extended attributes, POSIX ACLs among them.
 *
 * The host keeps the mode in step with system.posix_acl_access and
 * inherits default ACLs into new inodes (FUSE: zusd; zuf: the kernel); the
 * plugin only stores the values and applies the namespace rules.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "memfs.h"

#define ACL_ACCESS	"system.posix_acl_access"
#define ACL_DEFAULT	"system.posix_acl_default"

static bool has_prefix(const char *name, const char *prefix)
{
	size_t n = strlen(prefix);

	/* "user." alone names nothing */
	return !strncmp(name, prefix, n) && name[n];
}

/* The namespaces we store; anything else is EOPNOTSUPP, as on ext4. */
static int check_name(const char *name)
{
	size_t len = strnlen(name, ZUS_XATTR_NAME_MAX + 1);

	if (!len || len > ZUS_XATTR_NAME_MAX)
		return -ERANGE;
	if (has_prefix(name, "user.") || has_prefix(name, "trusted.") ||
	    has_prefix(name, "security.") || !strcmp(name, ACL_ACCESS) ||
	    !strcmp(name, ACL_DEFAULT))
		return 0;
	if (!strncmp(name, "user.", 5) || !strncmp(name, "trusted.", 8) ||
	    !strncmp(name, "security.", 9))
		return -EINVAL;
	return -EOPNOTSUPP;
}

static bool is_acl(const char *name)
{
	return !strcmp(name, ACL_ACCESS) || !strcmp(name, ACL_DEFAULT);
}

/* Which names this inode may carry (the kernel's rules). */
static int check_inode(const struct memfs_inode *in, const char *name)
{
	uint32_t mode = in->attr.mode;

	if (is_acl(name) && S_ISLNK(mode))
		return -EOPNOTSUPP;
	if (!strcmp(name, ACL_DEFAULT) && !S_ISDIR(mode))
		return -EACCES;
	if (!strncmp(name, "user.", 5) && !S_ISREG(mode) && !S_ISDIR(mode))
		return -EPERM;
	return 0;
}

static struct memfs_xattr *find(struct memfs_inode *in, const char *name)
{
	for (size_t i = 0; i < in->nxattrs; i++)
		if (!strcmp(in->xattrs[i].name, name))
			return &in->xattrs[i];
	return NULL;
}

static int get_inode(struct memfs_sb *m, uint64_t ino, const char *name,
		     struct memfs_inode **out)
{
	int err = check_name(name);

	if (err)
		return err;
	*out = memfs_iget(m, ino);
	return *out ? 0 : -ESTALE;
}

void memfs_free_xattrs(struct memfs_inode *in)
{
	for (size_t i = 0; i < in->nxattrs; i++) {
		free(in->xattrs[i].name);
		free(in->xattrs[i].value);
	}
	free(in->xattrs);
	in->xattrs = NULL;
	in->nxattrs = 0;
}

ssize_t memfs_getxattr(struct zus_sb *zsb, uint64_t ino, const char *name,
		       void *value, size_t size)
{
	struct memfs_sb *m = memfs_lock(zsb);
	struct memfs_xattr *x = NULL;
	struct memfs_inode *in;
	ssize_t ret = get_inode(m, ino, name, &in);

	if (!ret) {
		x = find(in, name);
		if (!x)
			ret = -ENODATA;
		else if (size && x->size > size)
			ret = -ERANGE;
		else
			ret = (ssize_t)x->size;	/* size 0 asks how much */
	}
	if (ret > 0 && size)
		memcpy(value, x->value, x->size);
	memfs_unlock(m);
	return ret;
}

int memfs_setxattr(struct zus_sb *zsb, uint64_t ino, const char *name,
		   const void *value, size_t size, int flags)
{
	struct memfs_sb *m = memfs_lock(zsb);
	struct memfs_xattr *x, *t;
	struct memfs_inode *in;
	void *copy = NULL;
	int err = get_inode(m, ino, name, &in);

	if (!err && (flags & ~(ZUS_XATTR_CREATE | ZUS_XATTR_REPLACE)))
		err = -EINVAL;
	else if (!err && size > ZUS_XATTR_SIZE_MAX)
		err = -E2BIG;
	else if (!err && m->readonly)
		err = -EROFS;
	if (!err)
		err = check_inode(in, name);
	/* an ACL's shape (version 2, 8-byte entries); the host checks the rest */
	if (!err && is_acl(name) &&
	    (size < 4 || (size - 4) % 8 || *(const uint8_t *)value != 2))
		err = -EINVAL;
	if (err)
		goto out;
	x = find(in, name);
	if (x && (flags & ZUS_XATTR_CREATE)) {
		err = -EEXIST;
		goto out;
	}
	if (!x && (flags & ZUS_XATTR_REPLACE)) {
		err = -ENODATA;
		goto out;
	}
	copy = malloc(size ? size : 1);
	if (!copy) {
		err = -ENOMEM;
		goto out;
	}
	if (size)
		memcpy(copy, value, size);
	if (!x) {
		t = realloc(in->xattrs, (in->nxattrs + 1) * sizeof(*t));
		if (!t) {
			err = -ENOMEM;
			goto out;
		}
		in->xattrs = t;
		x = &t[in->nxattrs];
		x->name = strdup(name);
		x->value = NULL;
		if (!x->name) {
			err = -ENOMEM;
			goto out;
		}
		in->nxattrs++;
	}
	free(x->value);
	x->value = copy;
	x->size = size;
	copy = NULL;
	memfs_touch(in, false);
out:
	free(copy);
	memfs_unlock(m);
	return err;
}

ssize_t memfs_listxattr(struct zus_sb *zsb, uint64_t ino, char *list,
			size_t size)
{
	struct memfs_sb *m = memfs_lock(zsb);
	struct memfs_inode *in = memfs_iget(m, ino);
	size_t need = 0, i;
	ssize_t ret;

	if (!in) {
		ret = -ESTALE;
		goto out;
	}
	for (i = 0; i < in->nxattrs; i++)
		need += strlen(in->xattrs[i].name) + 1;
	ret = (ssize_t)need;
	if (!size)
		goto out;
	if (need > size) {
		ret = -ERANGE;
		goto out;
	}
	for (i = 0; i < in->nxattrs; i++) {
		size_t n = strlen(in->xattrs[i].name) + 1;

		memcpy(list, in->xattrs[i].name, n);
		list += n;
	}
out:
	memfs_unlock(m);
	return ret;
}

int memfs_removexattr(struct zus_sb *zsb, uint64_t ino, const char *name)
{
	struct memfs_sb *m = memfs_lock(zsb);
	struct memfs_xattr *x = NULL;
	struct memfs_inode *in;
	int err = get_inode(m, ino, name, &in);

	if (!err && m->readonly)
		err = -EROFS;
	if (!err) {
		x = find(in, name);
		/* dropping an ACL that is not there is no error (setfacl -b) */
		if (!x)
			err = is_acl(name) ? 0 : -ENODATA;
	}
	if (x) {
		free(x->name);
		free(x->value);
		*x = in->xattrs[--in->nxattrs];
		memfs_touch(in, false);
	}
	memfs_unlock(m);
	return err;
}
