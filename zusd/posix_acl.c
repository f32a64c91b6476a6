// SPDX-License-Identifier: BSD-2-Clause
/*
 * posix_acl.c - POSIX ACL xattr parsing and the mode <-> ACL rules.
 * Mirrors the kernel's fs/posix_acl.c so FUSE mounts behave like ext4.
 */
#include <endian.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "posix_acl.h"

#define ZACL_HDR_SIZE	4
#define ZACL_ENT_SIZE	8
#define ZACL_RWX	7u

int zacl_parse(const void *value, size_t size, struct zacl *acl)
{
	const unsigned char *p = value;
	unsigned int seen = 0, i, named = 0;
	uint32_t ver;

	if (!value || size < ZACL_HDR_SIZE ||
	    (size - ZACL_HDR_SIZE) % ZACL_ENT_SIZE)
		return -EINVAL;
	memcpy(&ver, p, 4);
	if (le32toh(ver) != ZACL_VERSION)
		return -EINVAL;
	acl->count = (unsigned int)((size - ZACL_HDR_SIZE) / ZACL_ENT_SIZE);
	if (acl->count > ZACL_MAX_ENTRIES || acl->count < 3)
		return -EINVAL;

	for (i = 0; i < acl->count; i++) {
		const unsigned char *q = p + ZACL_HDR_SIZE + i * ZACL_ENT_SIZE;
		struct zacl_entry *e = &acl->e[i];
		uint16_t v16;
		uint32_t v32;

		memcpy(&v16, q, 2);
		e->tag = le16toh(v16);
		memcpy(&v16, q + 2, 2);
		e->perm = le16toh(v16);
		memcpy(&v32, q + 4, 4);
		e->id = le32toh(v32);
		if (e->perm & ~ZACL_RWX)
			return -EINVAL;
		/* tags must come in ascending order; named ones may repeat */
		if (i && e->tag < acl->e[i - 1].tag)
			return -EINVAL;
		switch (e->tag) {
		case ZACL_USER_OBJ:
		case ZACL_GROUP_OBJ:
		case ZACL_MASK:
		case ZACL_OTHER:
			if (seen & e->tag)
				return -EINVAL;
			e->id = UINT32_MAX;
			break;
		case ZACL_USER:
		case ZACL_GROUP:
			/* ids of one tag must be unique and ascending */
			if (i && acl->e[i - 1].tag == e->tag &&
			    acl->e[i - 1].id >= e->id)
				return -EINVAL;
			named++;
			break;
		default:
			return -EINVAL;
		}
		seen |= e->tag;
	}
	if (!(seen & ZACL_USER_OBJ) || !(seen & ZACL_GROUP_OBJ) ||
	    !(seen & ZACL_OTHER))
		return -EINVAL;
	if (named && !(seen & ZACL_MASK))
		return -EINVAL;
	return 0;
}

size_t zacl_xattr_size(const struct zacl *acl)
{
	return ZACL_HDR_SIZE + (size_t)acl->count * ZACL_ENT_SIZE;
}

size_t zacl_to_xattr(const struct zacl *acl, void *buf)
{
	unsigned char *p = buf;
	uint32_t v32 = htole32(ZACL_VERSION);
	unsigned int i;

	memcpy(p, &v32, 4);
	for (i = 0; i < acl->count; i++) {
		unsigned char *q = p + ZACL_HDR_SIZE + i * ZACL_ENT_SIZE;
		const struct zacl_entry *e = &acl->e[i];
		uint16_t v16;

		v16 = htole16(e->tag);
		memcpy(q, &v16, 2);
		v16 = htole16(e->perm);
		memcpy(q + 2, &v16, 2);
		v32 = htole32(e->id);
		memcpy(q + 4, &v32, 4);
	}
	return zacl_xattr_size(acl);
}

int zacl_equiv_mode(const struct zacl *acl, mode_t *mode)
{
	mode_t m = 0;
	int not_equiv = 0;
	unsigned int i;

	for (i = 0; i < acl->count; i++) {
		const struct zacl_entry *e = &acl->e[i];

		switch (e->tag) {
		case ZACL_USER_OBJ:
			m |= (mode_t)(e->perm & ZACL_RWX) << 6;
			break;
		case ZACL_GROUP_OBJ:
			m |= (mode_t)(e->perm & ZACL_RWX) << 3;
			break;
		case ZACL_OTHER:
			m |= e->perm & ZACL_RWX;
			break;
		case ZACL_MASK:
			/* sorted after GROUP_OBJ: the mask wins the group bits */
			m = (m & ~(mode_t)S_IRWXG) |
			    ((mode_t)(e->perm & ZACL_RWX) << 3);
			not_equiv = 1;
			break;
		case ZACL_USER:
		case ZACL_GROUP:
			not_equiv = 1;
			break;
		default:
			return -EINVAL;
		}
	}
	*mode = (*mode & ~(mode_t)(S_IRWXU | S_IRWXG | S_IRWXO)) | m;
	return not_equiv;
}

int zacl_chmod(struct zacl *acl, mode_t mode)
{
	struct zacl_entry *group_obj = NULL, *mask = NULL;
	unsigned int i;

	for (i = 0; i < acl->count; i++) {
		struct zacl_entry *e = &acl->e[i];

		switch (e->tag) {
		case ZACL_USER_OBJ:
			e->perm = (mode & S_IRWXU) >> 6;
			break;
		case ZACL_GROUP_OBJ:
			group_obj = e;
			break;
		case ZACL_MASK:
			mask = e;
			break;
		case ZACL_OTHER:
			e->perm = mode & S_IRWXO;
			break;
		}
	}
	if (mask)
		mask->perm = (mode & S_IRWXG) >> 3;
	else if (group_obj)
		group_obj->perm = (mode & S_IRWXG) >> 3;
	else
		return -EINVAL;
	return 0;
}

int zacl_create_masq(struct zacl *acl, mode_t *mode_p)
{
	struct zacl_entry *group_obj = NULL, *mask = NULL;
	unsigned int m = *mode_p & (S_IRWXU | S_IRWXG | S_IRWXO), i;
	int not_equiv = 0;

	for (i = 0; i < acl->count; i++) {
		struct zacl_entry *e = &acl->e[i];

		switch (e->tag) {
		case ZACL_USER_OBJ:
			e->perm &= (m >> 6) & ZACL_RWX;
			m &= ((unsigned int)e->perm << 6) | ~(unsigned int)S_IRWXU;
			break;
		case ZACL_USER:
		case ZACL_GROUP:
			not_equiv = 1;
			break;
		case ZACL_GROUP_OBJ:
			group_obj = e;
			break;
		case ZACL_OTHER:
			e->perm &= m & ZACL_RWX;
			m &= e->perm | ~(unsigned int)S_IRWXO;
			break;
		case ZACL_MASK:
			mask = e;
			not_equiv = 1;
			break;
		default:
			return -EINVAL;
		}
	}
	if (mask) {
		mask->perm &= (m >> 3) & ZACL_RWX;
		m &= ((unsigned int)mask->perm << 3) | ~(unsigned int)S_IRWXG;
	} else if (group_obj) {
		group_obj->perm &= (m >> 3) & ZACL_RWX;
		m &= ((unsigned int)group_obj->perm << 3) | ~(unsigned int)S_IRWXG;
	} else {
		return -EINVAL;
	}
	*mode_p = (*mode_p & ~(mode_t)(S_IRWXU | S_IRWXG | S_IRWXO)) | m;
	return not_equiv;
}
