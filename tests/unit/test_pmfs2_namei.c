// SPDX-License-Identifier: BSD-2-Clause
/*
 * test_pmfs2_namei.c - namespace operations: create/mkdir/mknod/symlink,
 * hard links, unlink/rmdir, rename with NOREPLACE and EXCHANGE, the errno
 * of each failure as Linux gives it, tmpfile, readlink, times.
 */
#include <stdlib.h>
#include <sys/sysmacros.h>

#include "test_pmfs2_util.h"

static struct tfs t;
static uint64_t root;
static const struct zus_creds cr = { 1000, 100 };

static void setup(void)
{
	tfs_init(&t, 16 << 20, 0);
	root = tfs_root(&t);
}

static void teardown(void)
{
	tfs_fini(&t);
}

static int ren(uint64_t od, const char *on, uint64_t nd, const char *nn,
	       unsigned int flags)
{
	return t.ops->rename(&t.sb, od, on, strlen(on), nd, nn, strlen(nn),
			     flags);
}

static void fsck_clean(void)
{
	tfs_umount(&t);
	ck_assert_uint_eq(tfs_fsck(&t), 0);
	ck_assert_int_eq(tfs_mount(&t), 0);
}

START_TEST(create_kinds)
{
	struct zus_attr a;
	char name[300];

	ck_assert_int_eq(t.ops->create(&t.sb, root, "c", 1, S_IFCHR | 0600,
				       makedev(1, 3), &cr, &a), 0);
	ck_assert(S_ISCHR(a.mode));
	ck_assert_uint_eq(a.rdev, makedev(1, 3));
	ck_assert_uint_eq(a.uid, 1000);
	ck_assert_uint_eq(a.gid, 100);
	ck_assert_int_eq(t.ops->create(&t.sb, root, "p", 1, S_IFIFO | 0600, 0,
				       &cr, &a), 0);
	ck_assert_int_eq(t.ops->create(&t.sb, root, "s", 1, S_IFSOCK | 0600, 0,
				       &cr, &a), 0);
	ck_assert_int_eq(t.ops->create(&t.sb, root, "b", 1, S_IFBLK | 0600,
				       makedev(8, 1), &cr, &a), 0);
	ck_assert_int_eq(t.ops->create(&t.sb, root, "c", 1, S_IFREG | 0600, 0,
				       &cr, &a), -EEXIST);
	ck_assert_int_eq(t.ops->create(&t.sb, root, "d", 1, S_IFDIR | 0600, 0,
				       &cr, &a), -EINVAL);
	memset(name, 'n', sizeof(name));
	ck_assert_int_eq(t.ops->create(&t.sb, root, name, 256, S_IFREG, 0, &cr,
				       &a), -ENAMETOOLONG);
	ck_assert_int_eq(t.ops->create(&t.sb, root, name, 255, S_IFREG, 0, &cr,
				       &a), 0);
	ck_assert_int_eq(tfs_lookup(&t, root, "zz"), -ENOENT);
	ck_assert_int_eq(t.ops->create(&t.sb, tfs_lookup(&t, root, "c"), "x",
				       1, S_IFREG, 0, &cr, &a), -ENOTDIR);
	ck_assert_int_eq(tfs_lookup(&t, root, "."), (int64_t)root);
	ck_assert_int_eq(tfs_lookup(&t, root, ".."), (int64_t)root);
	fsck_clean();
	ck_assert_int_gt(tfs_lookup(&t, root, "b"), 0);
}
END_TEST

START_TEST(symlinks)
{
	struct zus_attr a;
	char target[4096], buf[4096];
	size_t len;

	ck_assert_int_eq(t.ops->symlink(&t.sb, root, "s", 1, "short/target",
					&cr, &a), 0);
	ck_assert(S_ISLNK(a.mode));
	ck_assert_uint_eq(a.size, 12);
	ck_assert_uint_eq(a.blocks, 0);
	ck_assert_int_eq(t.ops->readlink(&t.sb, a.ino, buf, sizeof(buf), &len),
			 0);
	ck_assert_uint_eq(len, 12);
	ck_assert(!memcmp(buf, "short/target", 12));
	memset(target, 'x', 4095);
	target[4095] = 0;
	ck_assert_int_eq(t.ops->symlink(&t.sb, root, "l", 1, target, &cr, &a),
			 0);
	ck_assert_uint_eq(a.size, 4095);
	ck_assert_uint_eq(a.blocks, 8);
	ck_assert_int_eq(t.ops->readlink(&t.sb, a.ino, buf, sizeof(buf), &len),
			 0);
	ck_assert_uint_eq(len, 4095);
	ck_assert(!memcmp(buf, target, 4095));
	target[100] = 0;
	ck_assert_int_eq(t.ops->symlink(&t.sb, root, "m", 1, target, &cr, &a),
			 0);
	ck_assert_uint_eq(a.size, 100);
	ck_assert_int_eq(t.ops->symlink(&t.sb, root, "e", 1, "", &cr, &a),
			 -ENOENT);
	ck_assert_int_eq(t.ops->readlink(&t.sb, root, buf, sizeof(buf), &len),
			 -EINVAL);
	fsck_clean();
}
END_TEST

START_TEST(hard_links)
{
	uint64_t f = tfs_create(&t, root, "f"), d = tfs_mkdir(&t, root, "d");
	struct zus_attr a;

	ck_assert_int_eq(t.ops->link(&t.sb, f, d, "g", 1, &a), 0);
	ck_assert_uint_eq(a.nlink, 2);
	ck_assert_int_eq(t.ops->link(&t.sb, f, d, "g", 1, &a), -EEXIST);
	ck_assert_int_eq(t.ops->link(&t.sb, d, root, "dd", 2, &a), -EPERM);
	ck_assert_int_eq(t.ops->unlink(&t.sb, root, "f", 1), 0);
	ck_assert_uint_eq(tfs_stat(&t, f).nlink, 1);
	ck_assert_int_eq(tfs_lookup(&t, d, "g"), (int64_t)f);
	ck_assert_int_eq(t.ops->unlink(&t.sb, d, "g", 1), 0);
	ck_assert_uint_eq(tfs_stat(&t, f).nlink, 0);
	/* an unlinked (not tmpfile) inode cannot be linked back */
	ck_assert_int_eq(t.ops->link(&t.sb, f, d, "g", 1, &a), -ENOENT);
	t.ops->evict(&t.sb, f);
	ck_assert_int_eq(t.ops->getattr(&t.sb, f, &a), -ESTALE);
	fsck_clean();
}
END_TEST

START_TEST(dirs)
{
	uint64_t d = tfs_mkdir(&t, root, "d"), e, fi;

	ck_assert_uint_eq(tfs_stat(&t, root).nlink, 3);
	e = tfs_mkdir(&t, d, "e");
	fi = tfs_create(&t, e, "f");
	ck_assert_uint_eq(tfs_stat(&t, d).nlink, 3);
	ck_assert_int_eq(t.ops->rmdir(&t.sb, root, "d", 1), -ENOTEMPTY);
	ck_assert_int_eq(t.ops->unlink(&t.sb, root, "d", 1), -EISDIR);
	ck_assert_int_eq(t.ops->rmdir(&t.sb, e, "f", 1), -ENOTDIR);
	ck_assert_int_eq(t.ops->rmdir(&t.sb, e, ".", 1), -EINVAL);
	ck_assert_int_eq(t.ops->rmdir(&t.sb, e, "..", 2), -ENOTEMPTY);
	ck_assert_int_eq(t.ops->rmdir(&t.sb, e, "nope", 4), -ENOENT);
	ck_assert_int_eq(t.ops->unlink(&t.sb, e, "f", 1), 0);
	t.ops->evict(&t.sb, fi);
	ck_assert_int_eq(t.ops->rmdir(&t.sb, d, "e", 1), 0);
	ck_assert_uint_eq(tfs_stat(&t, d).nlink, 2);
	ck_assert_uint_eq(tfs_stat(&t, e).nlink, 0);
	/* a removed directory still open: creating in it fails */
	ck_assert_int_eq(t.ops->mkdir(&t.sb, e, "x", 1, 0755, &cr, NULL),
			 -ENOENT);
	t.ops->evict(&t.sb, e);
	ck_assert_int_eq(tfs_lookup(&t, e, "x"), -ESTALE);
	ck_assert_int_eq(tfs_lookup(&t, d, ".."), (int64_t)root);
	fsck_clean();
}
END_TEST

START_TEST(rename_plain)
{
	uint64_t a = tfs_mkdir(&t, root, "a"), b = tfs_mkdir(&t, root, "b");
	uint64_t f = tfs_create(&t, a, "f"), g = tfs_create(&t, b, "g");
	uint64_t sub = tfs_mkdir(&t, a, "sub"), e;

	ck_assert_int_eq(ren(a, "f", b, "f2", 0), 0);
	ck_assert_int_eq(tfs_lookup(&t, a, "f"), -ENOENT);
	ck_assert_int_eq(tfs_lookup(&t, b, "f2"), (int64_t)f);
	/* replace a file: the victim loses its link */
	ck_assert_int_eq(ren(b, "f2", b, "g", 0), 0);
	ck_assert_uint_eq(tfs_stat(&t, g).nlink, 0);
	t.ops->evict(&t.sb, g);
	ck_assert_int_eq(tfs_lookup(&t, b, "g"), (int64_t)f);
	/* move a directory: link counts and ".." follow */
	ck_assert_int_eq(ren(a, "sub", b, "sub", 0), 0);
	ck_assert_uint_eq(tfs_stat(&t, a).nlink, 2);
	ck_assert_uint_eq(tfs_stat(&t, b).nlink, 3);
	ck_assert_int_eq(tfs_lookup(&t, sub, ".."), (int64_t)b);
	/* errors */
	ck_assert_int_eq(ren(a, "none", b, "x", 0), -ENOENT);
	ck_assert_int_eq(ren(b, "sub", b, "g", 0), -ENOTDIR);
	ck_assert_int_eq(ren(b, "g", b, "sub", 0), -EISDIR);
	tfs_create(&t, sub, "inner");
	tfs_mkdir(&t, a, "full");
	tfs_create(&t, tfs_lookup(&t, a, "full"), "x");
	ck_assert_int_eq(ren(b, "sub", a, "full", 0), -ENOTEMPTY);
	ck_assert_int_eq(ren(root, "b", sub, "b2", 0), -EINVAL);
	ck_assert_int_eq(ren(root, "b", b, "b2", 0), -EINVAL);
	ck_assert_int_eq(ren(root, ".", b, "x", 0), -EBUSY);
	ck_assert_int_eq(ren(root, "a", root, "b", 3), -EINVAL);
	ck_assert_int_eq(ren(root, "a", root, "b", 8), -EINVAL);
	/* dir over empty dir */
	e = tfs_mkdir(&t, root, "empty");
	ck_assert_int_eq(ren(b, "sub", root, "empty", 0), 0);
	ck_assert_uint_eq(tfs_stat(&t, root).nlink, 5);
	ck_assert_uint_eq(tfs_stat(&t, e).nlink, 0);
	t.ops->evict(&t.sb, e);
	fsck_clean();
}
END_TEST

START_TEST(rename_flags)
{
	uint64_t a = tfs_mkdir(&t, root, "a"), b = tfs_mkdir(&t, root, "b");
	uint64_t f = tfs_create(&t, a, "f"), g = tfs_create(&t, b, "g");
	uint64_t sub = tfs_mkdir(&t, a, "sub");

	ck_assert_int_eq(ren(a, "f", b, "g", ZUS_RENAME_NOREPLACE), -EEXIST);
	ck_assert_int_eq(ren(a, "f", b, "h", ZUS_RENAME_NOREPLACE), 0);
	ck_assert_int_eq(ren(b, "h", a, "f", ZUS_RENAME_NOREPLACE), 0);
	ck_assert_int_eq(ren(a, "f", b, "none", ZUS_RENAME_EXCHANGE), -ENOENT);
	ck_assert_int_eq(ren(a, "f", b, "g", ZUS_RENAME_EXCHANGE), 0);
	ck_assert_int_eq(tfs_lookup(&t, a, "f"), (int64_t)g);
	ck_assert_int_eq(tfs_lookup(&t, b, "g"), (int64_t)f);
	ck_assert_uint_eq(tfs_stat(&t, f).nlink, 1);
	/* exchange a directory with a file across directories */
	ck_assert_int_eq(ren(a, "sub", b, "g", ZUS_RENAME_EXCHANGE), 0);
	ck_assert_int_eq(tfs_lookup(&t, b, "g"), (int64_t)sub);
	ck_assert_int_eq(tfs_lookup(&t, a, "sub"), (int64_t)f);
	ck_assert_int_eq(tfs_lookup(&t, sub, ".."), (int64_t)b);
	ck_assert_uint_eq(tfs_stat(&t, a).nlink, 2);
	ck_assert_uint_eq(tfs_stat(&t, b).nlink, 3);
	/* exchange with an ancestor: EINVAL */
	ck_assert_int_eq(ren(root, "b", sub, "..", ZUS_RENAME_EXCHANGE),
			 -EBUSY);
	tfs_mkdir(&t, sub, "deep");
	ck_assert_int_eq(ren(root, "b", sub, "deep", ZUS_RENAME_EXCHANGE),
			 -EINVAL);
	ck_assert_int_eq(ren(sub, "deep", root, "b", ZUS_RENAME_EXCHANGE),
			 -EINVAL);
	/* same inode under both names: nothing happens */
	ck_assert_int_eq(t.ops->link(&t.sb, f, b, "hl", 2, NULL), 0);
	ck_assert_int_eq(ren(a, "sub", b, "hl", 0), 0);
	ck_assert_int_eq(tfs_lookup(&t, a, "sub"), (int64_t)f);
	ck_assert_uint_eq(tfs_stat(&t, f).nlink, 2);
	fsck_clean();
}
END_TEST

START_TEST(tmpfile_link)
{
	struct zus_attr a;
	uint64_t ino;

	ck_assert_int_eq(t.ops->tmpfile(&t.sb, root, 0600, &cr, &a), 0);
	ino = a.ino;
	ck_assert_uint_eq(a.nlink, 0);
	tfs_write(&t, ino, 0, "hello", 5);
	ck_assert_int_eq(t.ops->link(&t.sb, ino, root, "t", 1, &a), 0);
	ck_assert_uint_eq(a.nlink, 1);
	ck_assert_uint_eq(a.size, 5);
	t.ops->evict(&t.sb, ino);
	ck_assert_int_eq(tfs_lookup(&t, root, "t"), (int64_t)ino);
	fsck_clean();
}
END_TEST

START_TEST(times)
{
	uint64_t d = tfs_mkdir(&t, root, "d"), f;
	struct zus_attr before = tfs_stat(&t, d), after;
	struct zus_setattr sa = { .valid = ZUS_SET_MTIME | ZUS_SET_ATIME |
					    ZUS_SET_MODE | ZUS_SET_UID,
				  .mode = 0700, .uid = 7,
				  .mtime = { 12345, 678, 0 },
				  .atime = { -5, 999999999, 0 } };

	f = tfs_create(&t, d, "f");
	after = tfs_stat(&t, d);
	ck_assert(after.mtime.sec > before.mtime.sec ||
		  (after.mtime.sec == before.mtime.sec &&
		   after.mtime.nsec >= before.mtime.nsec));
	ck_assert_int_eq(t.ops->setattr(&t.sb, f, &sa, &after), 0);
	ck_assert_int_eq(after.mtime.sec, 12345);
	ck_assert_uint_eq(after.mtime.nsec, 678);
	ck_assert_int_eq(after.atime.sec, -5);
	ck_assert_uint_eq(after.atime.nsec, 999999999);
	ck_assert_uint_eq(after.mode, S_IFREG | 0700);
	ck_assert_uint_eq(after.uid, 7);
	ck_assert_int_ge(after.ctime.sec, before.ctime.sec);
	ck_assert_int_ge(after.btime.sec, before.btime.sec);
	tfs_cycle(&t);
	after = tfs_stat(&t, f);
	ck_assert_int_eq(after.mtime.sec, 12345);
	ck_assert_int_eq(after.atime.sec, -5);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("pmfs2_namei");
	TCase *tc = tcase_create("namei");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, create_kinds);
	tcase_add_test(tc, symlinks);
	tcase_add_test(tc, hard_links);
	tcase_add_test(tc, dirs);
	tcase_add_test(tc, rename_plain);
	tcase_add_test(tc, rename_flags);
	tcase_add_test(tc, tmpfile_link);
	tcase_add_test(tc, times);
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
