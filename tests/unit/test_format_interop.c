// SPDX-License-Identifier: BSD-2-Clause
/*
 * test_format_interop.c - fsck against images the real pmfs2 plugin wrote:
 * a rich tree (split and doubled directory indexes with out-of-line bucket
 * arrays, deep sparse block maps, hard links, symlinks, devices, xattrs and
 * ACLs) checks clean; what fsck repairs (lost+found it creates and fills)
 * mounts and works in the plugin; random damage to a plugin image never
 * crashes fsck and repair converges.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "test_pmfs2_util.h"

#define IMG	(64u << 20)

static struct tfs t;
static const struct zus_creds cr = { 0, 0 };
static uint64_t d_big, d_many, f_sparse, f_linked;

static void fsck_report(void *ctx, const char *msg)
{
	(void)ctx;
	if (getenv("FSCK_VERBOSE"))
		fprintf(stderr, "fsck: %s\n", msg);
}

static struct pmfs2_check_result check(bool repair)
{
	struct pmfs2_check_opts o = { .repair = repair,
				      .report = fsck_report };
	struct pmfs2_check_result r;

	ck_assert_int_eq(pmfs2_check(&t.sb.pmem, &o, &r), 0);
	return r;
}

static void build(void)
{
	uint64_t root, d, f;
	struct zus_attr a;
	char name[96], buf[8192];
	/* user_obj rwx, user 42 r-x, group_obj r-x, mask r-x, other --- */
	static const uint32_t acl[] = {
		2, 0x00070001, 0xffffffff, 0x00050002, 42,
		0x00050004, 0xffffffff, 0x00050010, 0xffffffff,
		0x00000020, 0xffffffff,
	};
	char longtgt[1000];

	tfs_init(&t, IMG, 0);
	root = tfs_root(&t);

	/* thousands of names (hard links of one file) with long names:
	 * hundreds of buckets, global depth past the inline arrays */
	d_big = tfs_mkdir(&t, root, "big");
	f_linked = tfs_create(&t, d_big, "origin");
	for (int i = 0; i < 12000; i++) {
		snprintf(name, sizeof(name),
			 "a-rather-long-file-name-to-fill-buckets-quickly-%06d",
			 i);
		ck_assert_int_eq(t.ops->link(&t.sb, f_linked, d_big, name,
					     strlen(name), &a), 0);
	}
	/* many distinct small files */
	d_many = tfs_mkdir(&t, root, "many");
	for (int i = 0; i < 600; i++) {
		snprintf(name, sizeof(name), "f%d", i);
		f = tfs_create(&t, d_many, name);
		if (i % 3 == 0) {
			tfs_fill(buf, 100 + (size_t)i, (unsigned int)i);
			tfs_write(&t, f, 0, buf, 100 + (size_t)i);
		}
	}
	/* a deep sparse map */
	f_sparse = tfs_create(&t, root, "sparse");
	tfs_fill(buf, sizeof(buf), 7);
	tfs_write(&t, f_sparse, 0, buf, 5000);
	tfs_write(&t, f_sparse, 1ull << 40, buf, sizeof(buf));
	tfs_write(&t, f_sparse, (1ull << 30) + 123, buf, 3000);
	/* nested directories, renamed */
	d = tfs_mkdir(&t, root, "d1");
	d = tfs_mkdir(&t, d, "d2");
	tfs_mkdir(&t, d, "d3");
	ck_assert_int_eq(t.ops->rename(&t.sb, d, "d3", 2, root, "d3moved", 7,
				       0), 0);
	/* symlinks, a device, xattrs and ACLs */
	ck_assert_int_eq(t.ops->symlink(&t.sb, root, "short", 5, "big/origin",
					&cr, &a), 0);
	memset(longtgt, 'L', sizeof(longtgt) - 1);
	longtgt[sizeof(longtgt) - 1] = 0;
	ck_assert_int_eq(t.ops->symlink(&t.sb, root, "long", 4, longtgt, &cr,
					&a), 0);
	ck_assert_int_eq(t.ops->create(&t.sb, root, "null", 4, S_IFCHR | 0666,
				       0x103, &cr, &a), 0);
	ck_assert_int_eq(t.ops->setxattr(&t.sb, f_sparse, "user.colour",
					 "blue", 4, 0), 0);
	ck_assert_int_eq(t.ops->setxattr(&t.sb, f_sparse,
					 "system.posix_acl_access", acl,
					 sizeof(acl), 0), 0);
	ck_assert_int_eq(t.ops->setxattr(&t.sb, d_many,
					 "system.posix_acl_default", acl,
					 sizeof(acl), 0), 0);
	/* some removals */
	f = (uint64_t)tfs_lookup(&t, d_many, "f7");
	ck_assert_int_eq(t.ops->unlink(&t.sb, d_many, "f7", 2), 0);
	t.ops->evict(&t.sb, f);	/* as the host does on the last close */
	ck_assert_int_eq(t.ops->unlink(&t.sb, d_big,
				       "a-rather-long-file-name-to-fill-buckets-quickly-000003",
				       54), 0);
	tfs_umount(&t);
}

static void teardown(void)
{
	tfs_fini(&t);
}

START_TEST(test_plugin_image_clean)
{
	struct pmfs2_check_result r;
	const struct pmfs2_inode *in;
	struct pmfs2_super s;
	uint64_t head;
	const struct pmfs2_dir_head *dh;

	build();
	r = check(false);
	ck_assert_msg(r.errors == 0, "plugin image has %u errors (FSCK_VERBOSE=1 shows them)",
		      r.errors);
	ck_assert_uint_ge(r.files, 600);
	ck_assert_uint_ge(r.dirs, 6);
	ck_assert_uint_eq(r.symlinks, 2);
	ck_assert_uint_eq(r.others, 1);
	/* the test covers what it claims: an out-of-line bucket array and a
	 * deep map */
	ck_assert_int_eq(pmfs2_super_load(&t.sb.pmem, &s, NULL, NULL, 0), 0);
	in = pmfs2_inode_at(&t.sb.pmem, &s, d_big);
	ck_assert_int_eq(pmfs2_bmap_get(&t.sb.pmem, &s, in->map, 0, &head), 0);
	dh = pmfs2_block(&t.sb.pmem, head);
	ck_assert_uint_ge(dh->global_depth, PMFS2_DIR_INLINE_DEPTHS);
	in = pmfs2_inode_at(&t.sb.pmem, &s, f_sparse);
	ck_assert_uint_ge(in->map & PMFS2_MAP_HEIGHT_MASK, 4);
	/* and repair finds nothing to do */
	r = check(true);
	ck_assert_uint_eq(r.errors, 0);
}
END_TEST

static uint64_t lf_lookup(uint64_t ino)
{
	char name[32];
	int64_t lf = tfs_lookup(&t, tfs_root(&t), "lost+found");

	ck_assert_int_gt(lf, 0);
	snprintf(name, sizeof(name), "#%llu", (unsigned long long)ino);
	return (uint64_t)tfs_lookup(&t, (uint64_t)lf, name);
}

START_TEST(test_repair_then_mount)
{
	struct pmfs2_check_result r;
	struct pmfs2_super s;
	struct pmfs2_inode *in;
	uint64_t head, ino[600], n = 0;
	struct pmfs2_dir_head *dh;
	struct zus_attr a;

	build();
	ck_assert_int_eq(pmfs2_super_load(&t.sb.pmem, &s, NULL, NULL, 0), 0);
	/* remember what "many" names, then wreck its index */
	ck_assert_int_eq(tfs_mount(&t), 0);
	for (int i = 0; i < 600; i++) {
		char name[16];
		int64_t v;

		snprintf(name, sizeof(name), "f%d", i);
		v = tfs_lookup(&t, d_many, name);
		if (v > 0)
			ino[n++] = (uint64_t)v;
	}
	ck_assert_uint_eq(n, 599);
	tfs_umount(&t);
	in = pmfs2_inode_at(&t.sb.pmem, &s, d_many);
	ck_assert_int_eq(pmfs2_bmap_get(&t.sb.pmem, &s, in->map, 0, &head), 0);
	dh = pmfs2_block(&t.sb.pmem, head);
	dh->magic = 0;
	/* and give one file an extra link count */
	pmfs2_inode_at(&t.sb.pmem, &s, f_sparse)->nlink = 3;

	r = check(false);
	ck_assert_uint_gt(r.errors, 0);
	r = check(true);
	ck_assert_msg(r.errors == r.fixed && !r.unfixable,
		      "%u errors, %u fixed, %u unfixable", r.errors, r.fixed,
		      r.unfixable);
	r = check(false);
	ck_assert_msg(r.errors == 0, "%u errors after repair", r.errors);

	/* the plugin mounts the repaired image and finds every file */
	ck_assert_int_eq(tfs_mount(&t), 0);
	for (uint64_t i = 0; i < n; i++)
		ck_assert_uint_eq(lf_lookup(ino[i]), ino[i]);
	ck_assert_uint_eq(tfs_stat(&t, f_sparse).nlink, 1);
	ck_assert_uint_eq(tfs_stat(&t, d_many).nlink, 2);
	/* and keeps working in what fsck built */
	{
		int64_t lf = tfs_lookup(&t, tfs_root(&t), "lost+found");
		char name[32];

		for (int i = 0; i < 300; i++) {
			snprintf(name, sizeof(name), "new-%d", i);
			tfs_create(&t, (uint64_t)lf, name);
		}
		snprintf(name, sizeof(name), "#%llu",
			 (unsigned long long)ino[5]);
		ck_assert_int_eq(t.ops->unlink(&t.sb, (uint64_t)lf, name,
					       strlen(name)), 0);
		t.ops->evict(&t.sb, ino[5]);
		ck_assert_int_eq(t.ops->rename(&t.sb, (uint64_t)lf, "new-1", 5,
					       d_many, "back", 4, 0), 0);
		ck_assert_int_eq(t.ops->mkdir(&t.sb, d_many, "sub", 3, 0700,
					      &cr, &a), 0);
	}
	tfs_umount(&t);
	r = check(false);
	ck_assert_msg(r.errors == 0, "%u errors after using the repaired image",
		      r.errors);
}
END_TEST

START_TEST(test_plugin_image_damage)
{
	static void *clean;
	unsigned int seed = 777u + (unsigned int)_i;
	struct pmfs2_check_result r;
	struct pmfs2_super s;
	uint8_t *img;
	uint64_t used_end;

	if (!clean) {
		build();
		clean = malloc(IMG);
		ck_assert_ptr_nonnull(clean);
		memcpy(clean, t.sb.pmem.base, IMG);
	} else {
		tfs_init_copy(&t, clean, IMG);
	}
	img = t.sb.pmem.base;
	ck_assert_int_eq(pmfs2_super_load(&t.sb.pmem, &s, NULL, NULL, 0), 0);
	/* the blocks the plugin used sit low in the data area */
	used_end = s.data_start + 4096;
	for (int k = 0; k < 1 + _i % 24; k++) {
		uint64_t blk;

		switch (rand_r(&seed) % 8) {
		case 0:
			blk = s.itable_start + (uint64_t)rand_r(&seed) % 64;
			break;
		case 7:
			blk = (uint64_t)rand_r(&seed) % 2;
			break;
		case 1:
			blk = s.itable_start + (uint64_t)rand_r(&seed) % 2;
			break;
		default:
			blk = s.data_start +
			      (uint64_t)rand_r(&seed) % (used_end - s.data_start);
			break;
		}
		img[(blk << 12) + (uint64_t)rand_r(&seed) % 4096] ^=
			(uint8_t)(1u << (rand_r(&seed) % 8));
	}
	{
		struct pmfs2_check_opts o = { .report = fsck_report };
		int ret = pmfs2_check(&t.sb.pmem, &o, &r);

		/* both superblocks hit: refused, never a crash */
		if (ret) {
			ck_assert_msg(ret == -EUCLEAN || ret == -EINVAL ||
				      ret == -EOPNOTSUPP, "check: %d", ret);
			return;
		}
	}
	check(true);
	r = check(true);
	if (!r.unfixable)
		ck_assert_msg(r.errors == 0,
			      "iteration %d: second repair still finds %u errors",
			      _i, r.errors);
}
END_TEST

static Suite *interop_suite(void)
{
	Suite *s = suite_create("pmfs2_fsck_interop");
	TCase *tc = tcase_create("interop");

	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_plugin_image_clean);
	tcase_add_test(tc, test_repair_then_mount);
	suite_add_tcase(s, tc);

	/* no fork per iteration would rebuild the tree each time: the clean
	 * image is built once per forked child, so keep iterations modest */
	tc = tcase_create("damage");
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_set_timeout(tc, 300);
	tcase_add_loop_test(tc, test_plugin_image_damage, 0, 40);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(interop_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
