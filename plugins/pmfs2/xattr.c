// SPDX-License-Identifier: BSD-2-Clause
/*
 * xattr.c - extended attributes and POSIX ACLs in one block per inode.
 *
 * The block is replaced copy-on-write: the new image is written to a fresh
 * block, the inode switched to it in a transaction, and the old block freed
 * after commit.  ACL values are checked as the kernel's posix_acl xattr v2.
 */
#include <string.h>

#include "pmfs2.h"

#define XHEAD_SIZE	sizeof(struct pmfs2_xattr_head)

struct xprefix {
	const char *prefix;
	uint8_t index;
	bool whole;	/* the prefix is the whole name (ACLs) */
};

static const struct xprefix xprefixes[] = {
	{ "user.", PMFS2_XATTR_USER, false },
	{ "trusted.", PMFS2_XATTR_TRUSTED, false },
	{ "security.", PMFS2_XATTR_SECURITY, false },
	{ "system.posix_acl_access", PMFS2_XATTR_POSIX_ACL_ACCESS, true },
	{ "system.posix_acl_default", PMFS2_XATTR_POSIX_ACL_DEFAULT, true },
};

static const struct xprefix *prefix_of(uint8_t index)
{
	for (size_t i = 0; i < sizeof(xprefixes) / sizeof(xprefixes[0]); i++)
		if (xprefixes[i].index == index)
			return &xprefixes[i];
	return NULL;
}

static int parse_name(const char *name, uint8_t *index, const char **suffix,
		      size_t *slen)
{
	size_t len = name ? strnlen(name, ZUS_XATTR_NAME_MAX + 1) : 0;

	if (!len || len > ZUS_XATTR_NAME_MAX)
		return -ERANGE;
	for (size_t i = 0; i < sizeof(xprefixes) / sizeof(xprefixes[0]); i++) {
		const struct xprefix *p = &xprefixes[i];
		size_t pl = strlen(p->prefix);

		if (p->whole ? strcmp(name, p->prefix) :
		    strncmp(name, p->prefix, pl))
			continue;
		if (!p->whole && len == pl)
			return -EINVAL;
		*index = p->index;
		*suffix = name + pl;
		*slen = len - pl;
		return 0;
	}
	return -EOPNOTSUPP;
}

static bool is_acl(uint8_t index)
{
	return index == PMFS2_XATTR_POSIX_ACL_ACCESS ||
	       index == PMFS2_XATTR_POSIX_ACL_DEFAULT;
}

/* posix_acl xattr v2 */
#define ACL_VERSION	2
enum { ACL_USER_OBJ = 0x01, ACL_USER = 0x02, ACL_GROUP_OBJ = 0x04,
       ACL_GROUP = 0x08, ACL_MASK = 0x10, ACL_OTHER = 0x20 };

/* 0: valid ACL, 1: an empty ACL (removes it), <0: invalid. */
static int acl_check(const void *value, size_t size)
{
	const uint8_t *p = value;
	uint32_t version, prev_uid = 0, prev_gid = 0;
	bool have_uid = false, have_gid = false, needs_mask = false;
	int state = ACL_USER_OBJ;
	size_t count;

	if (!size)
		return 1;
	if (size < 4)
		return -EINVAL;
	memcpy(&version, p, 4);
	if (version != ACL_VERSION)
		return -EOPNOTSUPP;
	if ((size - 4) % 8)
		return -EINVAL;
	count = (size - 4) / 8;
	if (!count)
		return 1;
	for (size_t i = 0; i < count; i++) {
		uint16_t tag, perm;
		uint32_t id;

		memcpy(&tag, p + 4 + i * 8, 2);
		memcpy(&perm, p + 6 + i * 8, 2);
		memcpy(&id, p + 8 + i * 8, 4);
		if (perm & ~7u)
			return -EINVAL;
		switch (tag) {
		case ACL_USER_OBJ:
			if (state != ACL_USER_OBJ)
				return -EINVAL;
			state = ACL_USER;
			break;
		case ACL_USER:
			if (state != ACL_USER || (have_uid && id <= prev_uid))
				return -EINVAL;
			prev_uid = id;
			have_uid = true;
			needs_mask = true;
			break;
		case ACL_GROUP_OBJ:
			if (state != ACL_USER)
				return -EINVAL;
			state = ACL_GROUP;
			break;
		case ACL_GROUP:
			if (state != ACL_GROUP || (have_gid && id <= prev_gid))
				return -EINVAL;
			prev_gid = id;
			have_gid = true;
			needs_mask = true;
			break;
		case ACL_MASK:
			if (state != ACL_GROUP)
				return -EINVAL;
			state = ACL_OTHER;
			break;
		case ACL_OTHER:
			if (state == ACL_OTHER ||
			    (state == ACL_GROUP && !needs_mask)) {
				state = 0;
				break;
			}
			return -EINVAL;
		default:
			return -EINVAL;
		}
		if (!state && i + 1 != count)
			return -EINVAL;
	}
	return state ? -EINVAL : 0;
}

/* Next entry at *off (bytes after the head): 1, 0 at the end, <0 bad. */
static int next_xentry(const struct pmfs2_xattr_head *h, uint32_t *off,
		       const struct pmfs2_xattr_entry **e)
{
	const struct pmfs2_xattr_entry *x;
	uint32_t sz;

	if (*off >= h->used)
		return 0;
	x = (const void *)((const char *)(h + 1) + *off);
	if (h->used - *off < 4)
		return -EUCLEAN;
	sz = PMFS2_XENTRY_SIZE(x->name_len, x->value_len);
	if (sz > h->used - *off || !prefix_of(x->index) ||
	    (is_acl(x->index) != !x->name_len))
		return -EUCLEAN;
	*off += sz;
	*e = x;
	return 1;
}

static int xblock(struct pmfs2_sbi *sbi, const struct pmfs2_inode *pi,
		  const struct pmfs2_xattr_head **hp)
{
	const struct pmfs2_xattr_head *h;
	const struct pmfs2_xattr_entry *e;
	uint32_t off = 0, n = 0;
	int r;

	*hp = NULL;
	if (!pi->xattr_block)
		return 0;
	if (!pmfs2_data_block_ok(&sbi->s, pi->xattr_block))
		return pmfs2_corrupt(sbi, "bad xattr block %llu",
				     (unsigned long long)pi->xattr_block);
	h = pmfs2_blk(sbi, pi->xattr_block);
	if (h->magic != PMFS2_XATTR_MAGIC || h->used > PMFS2_XATTR_SPACE)
		goto bad;
	while ((r = next_xentry(h, &off, &e)) > 0)
		n++;
	if (r || n != h->count)
		goto bad;
	*hp = h;
	return 0;
bad:
	return pmfs2_corrupt(sbi, "xattr block %llu is damaged",
			     (unsigned long long)pi->xattr_block);
}

static bool match(const struct pmfs2_xattr_entry *e, uint8_t index,
		  const char *name, size_t len)
{
	return e->index == index && e->name_len == len &&
	       !memcmp(e->name, name, len);
}

ssize_t pmfs2_getxattr(struct zus_sb *zsb, uint64_t ino, const char *name,
		       void *value, size_t size)
{
	struct pmfs2_sbi *sbi = PMFS2_SBI(zsb);
	const struct pmfs2_xattr_head *h;
	const struct pmfs2_xattr_entry *e;
	struct pmfs2_inode *pi;
	const char *suffix;
	uint32_t off = 0;
	uint8_t index;
	size_t slen;
	ssize_t ret;
	int r;

	r = parse_name(name, &index, &suffix, &slen);
	if (r)
		return r;
	pmfs2_ilock(sbi, ino, false);
	ret = pmfs2_iget(sbi, ino, &pi);
	if (!ret)
		ret = xblock(sbi, pi, &h);
	if (ret)
		goto out;
	ret = -ENODATA;
	while (h && (r = next_xentry(h, &off, &e)) > 0) {
		if (!match(e, index, suffix, slen))
			continue;
		ret = e->value_len;
		if (size && size < e->value_len)
			ret = -ERANGE;
		else if (size)
			memcpy(value, e->name + e->name_len, e->value_len);
		break;
	}
out:
	pmfs2_iunlock(sbi, ino);
	return ret;
}

ssize_t pmfs2_listxattr(struct zus_sb *zsb, uint64_t ino, char *list,
			size_t size)
{
	struct pmfs2_sbi *sbi = PMFS2_SBI(zsb);
	const struct pmfs2_xattr_head *h;
	const struct pmfs2_xattr_entry *e;
	struct pmfs2_inode *pi;
	uint32_t off = 0;
	ssize_t ret;
	size_t total = 0;

	pmfs2_ilock(sbi, ino, false);
	ret = pmfs2_iget(sbi, ino, &pi);
	if (!ret)
		ret = xblock(sbi, pi, &h);
	if (ret)
		goto out;
	while (h && next_xentry(h, &off, &e) > 0) {
		const char *pre = prefix_of(e->index)->prefix;
		size_t pl = strlen(pre), n = pl + e->name_len + 1;

		if (size) {
			if (total + n > size) {
				ret = -ERANGE;
				goto out;
			}
			memcpy(list + total, pre, pl);
			memcpy(list + total + pl, e->name, e->name_len);
			list[total + n - 1] = 0;
		}
		total += n;
	}
	ret = (ssize_t)total;
out:
	pmfs2_iunlock(sbi, ino);
	return ret;
}

/* Build the new block image in buf; *used is its entry bytes. */
static int build(const struct pmfs2_xattr_head *h, uint8_t index,
		 const char *name, size_t len, const void *value, size_t size,
		 bool remove, int flags, char *buf, uint32_t *used,
		 uint32_t *count)
{
	struct pmfs2_xattr_head *nh = (void *)buf;
	const struct pmfs2_xattr_entry *e;
	struct pmfs2_xattr_entry *ne;
	uint32_t off = 0, u = 0, n = 0, sz;
	bool found = false;

	while (h && next_xentry(h, &off, &e) > 0) {
		sz = PMFS2_XENTRY_SIZE(e->name_len, e->value_len);
		if (match(e, index, name, len)) {
			found = true;
			continue;
		}
		memcpy(buf + XHEAD_SIZE + u, e, sz);
		u += sz;
		n++;
	}
	if (found && (flags & ZUS_XATTR_CREATE))
		return -EEXIST;
	if (!found && (remove || (flags & ZUS_XATTR_REPLACE)))
		return -ENODATA;
	if (!remove) {
		sz = PMFS2_XENTRY_SIZE(len, size);
		if (u + sz > PMFS2_XATTR_SPACE)
			return -ENOSPC;
		ne = (void *)(buf + XHEAD_SIZE + u);
		memset(ne, 0, sz);
		ne->index = index;
		ne->name_len = (uint8_t)len;
		ne->value_len = (uint16_t)size;
		memcpy(ne->name, name, len);
		if (size)
			memcpy(ne->name + len, value, size);
		u += sz;
		n++;
	}
	memset(nh, 0, sizeof(*nh));
	nh->magic = PMFS2_XATTR_MAGIC;
	nh->count = (uint16_t)n;
	nh->used = (uint16_t)u;
	*used = u;
	*count = n;
	return 0;
}

static int xattr_set(struct pmfs2_sbi *sbi, uint64_t ino, const char *name,
		     const void *value, size_t size, int flags, bool remove)
{
	static __thread char buf[PMFS2_BLOCK_SIZE];
	const struct pmfs2_xattr_head *h;
	struct pmfs2_inode *pi;
	struct pmfs2_tx *tx;
	const char *suffix;
	uint32_t used, count;
	uint64_t old, blk = 0;
	uint8_t index;
	size_t slen;
	int r;

	r = parse_name(name, &index, &suffix, &slen);
	if (r)
		return r;
	if (!remove && size > ZUS_XATTR_SIZE_MAX)
		return -E2BIG;
	if (!remove && is_acl(index)) {
		r = acl_check(value, size);
		if (r < 0)
			return r;
		if (r > 0)
			remove = true;	/* an empty ACL removes it */
	}
	if (pmfs2_ro(sbi))
		return -EROFS;
	pmfs2_ilock(sbi, ino, true);
	r = pmfs2_iget(sbi, ino, &pi);
	if (r)
		goto out;
	if (is_acl(index) && S_ISLNK(pi->mode)) {
		r = -EOPNOTSUPP;
		goto out;
	}
	if (index == PMFS2_XATTR_POSIX_ACL_DEFAULT && !S_ISDIR(pi->mode)) {
		r = remove ? 0 : -EACCES;
		goto out;
	}
	if (index == PMFS2_XATTR_USER && !S_ISREG(pi->mode) &&
	    !S_ISDIR(pi->mode)) {
		r = -EPERM;
		goto out;
	}
	r = xblock(sbi, pi, &h);
	if (!r)
		r = build(h, index, suffix, slen, value, size, remove, flags,
			  buf, &used, &count);
	/* removing an ACL that is not there is not an error, and there is
	 * nothing to rewrite (build() left used/count unset) */
	if (r == -ENODATA && is_acl(index) && remove) {
		r = 0;
		goto out;
	}
	if (r)
		goto out;
	old = pi->xattr_block;
	tx = pmfs2_tx_begin(sbi);
	if (count) {
		r = pmfs2_new_block(tx, &blk);
		if (!r)
			zus_pmem_memcpy_nt(sbi->pm, pmfs2_blk(sbi, blk), buf,
					   XHEAD_SIZE + used);
	}
	if (!r && old)
		r = pmfs2_tx_defer_free(tx, old);
	if (!r)
		r = pmfs2_tx_log(tx, pi, sizeof(*pi));
	if (!r) {
		pi->xattr_block = blk;
		if (!old && blk)
			pi->blocks++;
		else if (old && !blk && pi->blocks)
			pi->blocks--;
		pi->ctime = pmfs2_now();
	}
	r = pmfs2_tx_end(tx, r);
out:
	pmfs2_iunlock(sbi, ino);
	return r;
}

int pmfs2_setxattr(struct zus_sb *zsb, uint64_t ino, const char *name,
		   const void *value, size_t size, int flags)
{
	if (flags & ~(ZUS_XATTR_CREATE | ZUS_XATTR_REPLACE))
		return -EINVAL;
	if (size && !value)
		return -EINVAL;
	return xattr_set(PMFS2_SBI(zsb), ino, name, value, size, flags, false);
}

int pmfs2_removexattr(struct zus_sb *zsb, uint64_t ino, const char *name)
{
	return xattr_set(PMFS2_SBI(zsb), ino, name, NULL, 0, 0, true);
}
