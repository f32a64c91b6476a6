/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * posix_acl.h - POSIX ACLs in their xattr form (system.posix_acl_access /
 * _default, version 2, little endian), for hosts that must keep the mode in
 * step with the ACL themselves (FUSE with FUSE_CAP_POSIX_ACL).  The
 * semantics are the kernel's fs/posix_acl.c ones.
 */
#ifndef ZUSD_POSIX_ACL_H
#define ZUSD_POSIX_ACL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define ZACL_XATTR_ACCESS	"system.posix_acl_access"
#define ZACL_XATTR_DEFAULT	"system.posix_acl_default"
#define ZACL_VERSION		2

/* tags, as <linux/posix_acl.h> */
#define ZACL_USER_OBJ	0x01
#define ZACL_USER	0x02
#define ZACL_GROUP_OBJ	0x04
#define ZACL_GROUP	0x08
#define ZACL_MASK	0x10
#define ZACL_OTHER	0x20

struct zacl_entry {
	uint16_t tag;
	uint16_t perm;
	uint32_t id;
};

/* as many as fit in XATTR_SIZE_MAX; allocate struct zacl on the heap */
#define ZACL_MAX_ENTRIES	((65536 - 4) / 8)

struct zacl {
	unsigned int count;
	struct zacl_entry e[ZACL_MAX_ENTRIES];
};

/*
 * Parse and validate an xattr value: version, size, tags in order, exactly
 * one USER_OBJ/GROUP_OBJ/OTHER, MASK present iff named entries are.
 * Returns 0 or -EINVAL.
 */
int zacl_parse(const void *value, size_t size, struct zacl *acl);
/* Serialise; returns the size written (buf must hold zacl_xattr_size()). */
size_t zacl_xattr_size(const struct zacl *acl);
size_t zacl_to_xattr(const struct zacl *acl, void *buf);

/*
 * posix_acl_equiv_mode: fold acl into the permission bits of *mode; returns
 * 1 if the ACL says more than the mode can (keep the xattr), 0 if the mode
 * alone is equivalent.
 */
int zacl_equiv_mode(const struct zacl *acl, mode_t *mode);
/* posix_acl_chmod: the owner/mask(or group)/other entries follow mode. */
int zacl_chmod(struct zacl *acl, mode_t mode);
/*
 * posix_acl_create_masq: acl (a copy of the parent's default ACL) and the
 * requested *mode restrict each other.  Returns 1 if the result still needs
 * an access ACL, 0 if the mode is enough, -EINVAL if acl is malformed.
 */
int zacl_create_masq(struct zacl *acl, mode_t *mode);

#endif /* ZUSD_POSIX_ACL_H */
