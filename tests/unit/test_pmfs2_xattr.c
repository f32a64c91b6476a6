// SPDX-License-Identifier: BSD-2-Clause
/*
 * test_pmfs2_xattr.c - extended attributes on pmem: namespaces, flags,
 * sizes, listing, copy-on-write replacement, POSIX ACL validation (the
 * kernel's posix_acl xattr v2 format), persistence across a remount.
 */
#include <stdlib.h>

#include "test_pmfs2_util.h"

static struct tfs t;
static uint64_t root, f;

static void setup(void)
{
	tfs_init(&t, 16 << 20, 0);
	root = tfs_root(&t);
	f = tfs_create(&t, root, "f");
}

static void teardown(void)
{
	tfs_fini(&t);
}

static int setx(uint64_t ino, const char *n, const void *v, size_t len,
		int flags)
{
	return t.ops->setxattr(&t.sb, ino, n, v, len, flags);
}

START_TEST(basic)
{
	char buf[256];
	uint64_t blk1, blk2;

	ck_assert_int_eq(t.ops->getxattr(&t.sb, f, "user.a", buf, 256),
			 -ENODATA);
	ck_assert_int_eq(setx(f, "user.a", "hello", 5, 0), 0);
	ck_assert_int_eq(t.ops->getxattr(&t.sb, f, "user.a", NULL, 0), 5);
	ck_assert_int_eq(t.ops->getxattr(&t.sb, f, "user.a", buf, 2), -ERANGE);
	ck_assert_int_eq(t.ops->getxattr(&t.sb, f, "user.a", buf, 256), 5);
	ck_assert(!memcmp(buf, "hello", 5));
	ck_assert_uint_eq(tfs_stat(&t, f).blocks, 8);
	blk1 = pmfs2_inode_at(&t.sb.pmem, &PMFS2_SBI(&t.sb)->s, f)->xattr_block;
	ck_assert_int_eq(setx(f, "user.a", "x", 1, ZUS_XATTR_CREATE), -EEXIST);
	ck_assert_int_eq(setx(f, "user.b", "x", 1, ZUS_XATTR_REPLACE),
			 -ENODATA);
	ck_assert_int_eq(setx(f, "user.a", "world!", 6, ZUS_XATTR_REPLACE), 0);
	/* copy-on-write: a new block each time */
	blk2 = pmfs2_inode_at(&t.sb.pmem, &PMFS2_SBI(&t.sb)->s, f)->xattr_block;
	ck_assert_uint_ne(blk1, blk2);
	ck_assert_int_eq(setx(f, "trusted.t", "", 0, 0), 0);
	ck_assert_int_eq(setx(f, "security.selinux", "ctx", 3, 0), 0);
	ck_assert_int_eq(setx(f, "other.x", "1", 1, 0), -EOPNOTSUPP);
	ck_assert_int_eq(setx(f, "system.foo", "1", 1, 0), -EOPNOTSUPP);
	ck_assert_int_eq(setx(f, "user.", "1", 1, 0), -EINVAL);
	ck_assert_int_eq(t.ops->getxattr(&t.sb, f, "trusted.t", buf, 256), 0);

	ck_assert_int_eq(t.ops->listxattr(&t.sb, f, NULL, 0),
			 7 + 10 + 17);
	ck_assert_int_eq(t.ops->listxattr(&t.sb, f, buf, 5), -ERANGE);
	ck_assert_int_eq(t.ops->listxattr(&t.sb, f, buf, sizeof(buf)),
			 7 + 10 + 17);
	ck_assert_str_eq(buf, "user.a");

	tfs_cycle(&t);
	ck_assert_int_eq(t.ops->getxattr(&t.sb, f, "user.a", buf, 256), 6);
	ck_assert(!memcmp(buf, "world!", 6));
	ck_assert_int_eq(t.ops->removexattr(&t.sb, f, "user.a"), 0);
	ck_assert_int_eq(t.ops->removexattr(&t.sb, f, "user.a"), -ENODATA);
	ck_assert_int_eq(t.ops->removexattr(&t.sb, f, "trusted.t"), 0);
	ck_assert_int_eq(t.ops->removexattr(&t.sb, f, "security.selinux"), 0);
	ck_assert_uint_eq(tfs_stat(&t, f).blocks, 0);
	ck_assert_int_eq(t.ops->listxattr(&t.sb, f, NULL, 0), 0);
	tfs_umount(&t);
	ck_assert_uint_eq(tfs_fsck(&t), 0);
	ck_assert_int_eq(tfs_mount(&t), 0);
}
END_TEST

/* Removing an ACL that is absent succeeds and leaves other xattrs alone. */
START_TEST(remove_absent_acl)
{
	char buf[16];
	uint64_t blk;

	ck_assert_int_eq(setx(f, "user.a", "keep", 4, 0), 0);
	blk = pmfs2_inode_at(&t.sb.pmem, &PMFS2_SBI(&t.sb)->s, f)->xattr_block;
	ck_assert_int_eq(t.ops->removexattr(&t.sb, f,
					    "system.posix_acl_access"), 0);
	ck_assert_int_eq(t.ops->removexattr(&t.sb, f,
					    "system.posix_acl_default"), 0);
	ck_assert_uint_eq(pmfs2_inode_at(&t.sb.pmem, &PMFS2_SBI(&t.sb)->s,
					 f)->xattr_block, blk);
	ck_assert_int_eq(t.ops->getxattr(&t.sb, f, "user.a", buf, sizeof(buf)),
			 4);
	ck_assert(!memcmp(buf, "keep", 4));
	tfs_umount(&t);
	ck_assert_uint_eq(tfs_fsck(&t), 0);
	ck_assert_int_eq(tfs_mount(&t), 0);
}
END_TEST

START_TEST(limits)
{
	char *big = calloc(1, 70000), name[300];
	uint64_t free0 = tfs_bfree(&t);

	ck_assert_int_eq(setx(f, "user.big", big, 65537, 0), -E2BIG);
	ck_assert_int_eq(setx(f, "user.big", big, 5000, 0), -ENOSPC);
	ck_assert_int_eq(setx(f, "user.big", big, 4000, 0), 0);
	ck_assert_int_eq(setx(f, "user.more", big, 100, 0), -ENOSPC);
	ck_assert_uint_eq(tfs_bfree(&t), free0 - 1);
	memset(name, 'a', sizeof(name));
	memcpy(name, "user.", 5);
	name[256] = 0;
	ck_assert_int_eq(setx(f, name, "1", 1, 0), -ERANGE);
	/* symlinks and devices take no user xattrs */
	ck_assert_int_eq(t.ops->symlink(&t.sb, root, "s", 1, "t", NULL, NULL),
			 0);
	ck_assert_int_eq(setx(tfs_lookup(&t, root, "s"), "user.x", "1", 1, 0),
			 -EPERM);
	ck_assert_int_eq(setx(tfs_lookup(&t, root, "s"), "trusted.x", "1", 1,
			      0), 0);
	free(big);
}
END_TEST

struct acl_ent {
	uint16_t tag, perm;
	uint32_t id;
};

static size_t acl(void *buf, const struct acl_ent *e, unsigned int n)
{
	uint32_t v = 2;

	memcpy(buf, &v, 4);
	memcpy((char *)buf + 4, e, n * sizeof(*e));
	return 4 + n * sizeof(*e);
}

START_TEST(acls)
{
	const struct acl_ent good[] = {
		{ 0x01, 7, 0 }, { 0x02, 5, 1000 }, { 0x02, 4, 1001 },
		{ 0x04, 5, 0 }, { 0x08, 1, 50 }, { 0x10, 7, 0 }, { 0x20, 0, 0 },
	};
	const struct acl_ent minimal[] = {
		{ 0x01, 6, 0 }, { 0x04, 4, 0 }, { 0x20, 4, 0 },
	};
	const struct acl_ent nomask[] = {
		{ 0x01, 6, 0 }, { 0x02, 4, 5 }, { 0x04, 4, 0 }, { 0x20, 4, 0 },
	};
	const struct acl_ent unsorted[] = {
		{ 0x01, 7, 0 }, { 0x02, 5, 1001 }, { 0x02, 4, 1000 },
		{ 0x04, 5, 0 }, { 0x10, 7, 0 }, { 0x20, 0, 0 },
	};
	const struct acl_ent badperm[] = {
		{ 0x01, 8, 0 }, { 0x04, 4, 0 }, { 0x20, 4, 0 },
	};
	char buf[256], out[256];
	uint64_t d = tfs_mkdir(&t, root, "d");
	size_t n;
	uint32_t v3 = 3;

	n = acl(buf, good, 7);
	ck_assert_int_eq(setx(f, "system.posix_acl_access", buf, n, 0), 0);
	ck_assert_int_eq(t.ops->getxattr(&t.sb, f, "system.posix_acl_access",
					 out, sizeof(out)), (ssize_t)n);
	ck_assert(!memcmp(buf, out, n));
	n = acl(buf, minimal, 3);
	ck_assert_int_eq(setx(d, "system.posix_acl_default", buf, n, 0), 0);
	ck_assert_int_eq(setx(f, "system.posix_acl_default", buf, n, 0),
			 -EACCES);
	n = acl(buf, nomask, 4);
	ck_assert_int_eq(setx(f, "system.posix_acl_access", buf, n, 0),
			 -EINVAL);
	n = acl(buf, unsorted, 6);
	ck_assert_int_eq(setx(f, "system.posix_acl_access", buf, n, 0),
			 -EINVAL);
	n = acl(buf, badperm, 3);
	ck_assert_int_eq(setx(f, "system.posix_acl_access", buf, n, 0),
			 -EINVAL);
	ck_assert_int_eq(setx(f, "system.posix_acl_access", buf, 7, 0),
			 -EINVAL);
	memcpy(buf, &v3, 4);
	ck_assert_int_eq(setx(f, "system.posix_acl_access", buf, 12, 0),
			 -EOPNOTSUPP);
	ck_assert_int_eq(t.ops->listxattr(&t.sb, f, out, sizeof(out)),
			 (ssize_t)sizeof("system.posix_acl_access"));
	/* an empty ACL removes it */
	n = acl(buf, good, 0);
	ck_assert_int_eq(setx(f, "system.posix_acl_access", buf, n, 0), 0);
	ck_assert_int_eq(t.ops->getxattr(&t.sb, f, "system.posix_acl_access",
					 out, sizeof(out)), -ENODATA);
	ck_assert_int_eq(t.ops->removexattr(&t.sb, d,
					    "system.posix_acl_default"), 0);
	tfs_umount(&t);
	ck_assert_uint_eq(tfs_fsck(&t), 0);
	ck_assert_int_eq(tfs_mount(&t), 0);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("pmfs2_xattr");
	TCase *tc = tcase_create("xattr");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, basic);
	tcase_add_test(tc, remove_absent_acl);
	tcase_add_test(tc, limits);
	tcase_add_test(tc, acls);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
