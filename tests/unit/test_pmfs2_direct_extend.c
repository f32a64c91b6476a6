// SPDX-License-Identifier: BSD-2-Clause
/*
 * test_pmfs2_direct_extend.c - zuf's direct-mode write past EOF, as the
 * kernel does it: get_extents(ZUS_GE_WRITE), then the kernel copies the
 * data into the returned pmem itself (non-temporal, fenced), then it sends
 * the new size (setattr SIZE).  A power cut at any fence of that sequence
 * must mount to either the old file (nothing past EOF: fsck clean) or the
 * new one, never data past EOF.  Also: the guard is gone once the size is
 * set, and a write whose size never comes is cleaned up at evict.
 */
#include <stdio.h>
#include <stdlib.h>

#include "test_pmfs2_util.h"

static struct tfs t;
static uint64_t root;
static char data[3 * 4096 + 700];

static void setup(void)
{
	tfs_init(&t, 8 << 20, 0);
	root = tfs_root(&t);
	tfs_fill(data, sizeof(data), 7);
}

static void teardown(void)
{
	tfs_fini(&t);
}

static struct pmfs2_inode *pinode(struct tfs *x, uint64_t ino)
{
	return pmfs2_inode_at(&x->sb.pmem, &PMFS2_SBI(&x->sb)->s, ino);
}

/* What zuf.ko does for write(fd, buf, len) at off, minus the setattr. */
static void kernel_copy(uint64_t ino, uint64_t off, const char *buf,
			size_t len)
{
	while (len) {
		struct zus_extent ext[4];
		unsigned int n = 4;

		ck_assert_int_eq(t.ops->get_extents(&t.sb, ino, off, len,
						    ZUS_GE_WRITE, ext, &n), 0);
		ck_assert_uint_ge(n, 1);
		for (unsigned int i = 0; i < n && len; i++) {
			size_t c = ext[i].len < len ? ext[i].len : len;

			ck_assert_uint_eq(ext[i].file_off, off);
			ck_assert_uint_ne(ext[i].pmem_off, ZUS_EXTENT_HOLE);
			zus_pmem_memcpy_nt(&t.sb.pmem,
					   (char *)t.sb.pmem.base +
					   ext[i].pmem_off, buf, c);
			zus_pmem_fence(&t.sb.pmem);
			off += c;
			buf += c;
			len -= c;
		}
	}
}

static void set_size(uint64_t ino, uint64_t size)
{
	struct zus_setattr sa = { .valid = ZUS_SET_SIZE, .size = size };
	struct zus_attr a;

	ck_assert_int_eq(t.ops->setattr(&t.sb, ino, &sa, &a), 0);
	ck_assert_uint_eq(a.size, size);
}

static void expect(struct tfs *x, uint64_t ino, uint64_t off,
		   const char *want, size_t len)
{
	char *got = malloc(len);

	ck_assert_ptr_nonnull(got);
	ck_assert_int_eq(x->ops->read(&x->sb, ino, got, len, off),
			 (ssize_t)len);
	ck_assert_msg(!memcmp(got, want, len), "data differs");
	free(got);
}

START_TEST(powercut_between_copy_and_size)
{
	uint64_t f = tfs_create(&t, root, "f");
	const uint64_t old = 100;
	unsigned int sizes_old = 0, sizes_new = 0;

	tfs_write(&t, f, 0, data, old);
	tfs_snap_start(&t);
	kernel_copy(f, old, data + old, sizeof(data) - old);
	set_size(f, sizeof(data));
	tfs_snap_stop(&t);
	ck_assert_uint_gt(t.nsnaps, 3);

	for (unsigned int i = 0; i < t.nsnaps; i++) {
		struct tfs m;
		uint64_t size;

		tfs_init_copy(&m, t.snaps[i], t.size);
		ck_assert_msg(tfs_mount(&m) == 0, "cut at fence %u/%u: mount fails (%s)",
			      i, t.nsnaps, m.lastlog);
		size = tfs_stat(&m, f).size;
		ck_assert_msg(size == old || size == sizeof(data),
			      "cut at fence %u: size %llu", i,
			      (unsigned long long)size);
		if (size == old) {
			sizes_old++;
		} else {
			sizes_new++;
			expect(&m, f, 0, data, sizeof(data));
		}
		tfs_umount(&m);
		/* fsck checks that no byte past EOF is set */
		ck_assert_msg(tfs_fsck(&m) == 0,
			      "cut at fence %u/%u: fsck finds errors (size %llu)",
			      i, t.nsnaps, (unsigned long long)size);
		tfs_fini(&m);
	}
	ck_assert_uint_gt(sizes_old, 0);
	ck_assert_uint_gt(sizes_new, 0);
	tfs_snap_free(&t);
}
END_TEST

START_TEST(guard_cleared_by_size)
{
	uint64_t f = tfs_create(&t, root, "f");

	kernel_copy(f, 0, data, 5000);
	ck_assert(pinode(&t, f)->flags & PMFS2_IF_TRUNC_PENDING);
	set_size(f, 5000);
	ck_assert(!(pinode(&t, f)->flags & PMFS2_IF_TRUNC_PENDING));
	/* an overwrite inside EOF needs no guard */
	kernel_copy(f, 10, data, 4000);
	ck_assert(!(pinode(&t, f)->flags & PMFS2_IF_TRUNC_PENDING));
	tfs_cycle(&t);
	expect(&t, f, 10, data, 4000);
	tfs_umount(&t);
	ck_assert_uint_eq(tfs_fsck(&t), 0);
	ck_assert_int_eq(tfs_mount(&t), 0);
}
END_TEST

START_TEST(size_never_comes)
{
	uint64_t f = tfs_create(&t, root, "f");
	uint64_t free0;

	tfs_write(&t, f, 0, data, 300);
	free0 = tfs_bfree(&t);
	/* copied, but the write failed before its size was set */
	kernel_copy(f, 300, data, 3 * 4096);
	ck_assert_uint_lt(tfs_bfree(&t) + 3, free0);
	t.ops->evict(&t.sb, f);
	ck_assert(!(pinode(&t, f)->flags & PMFS2_IF_TRUNC_PENDING));
	/* the data blocks come back (an index block the map grew may stay) */
	ck_assert_uint_ge(tfs_bfree(&t) + 1, free0);
	ck_assert_uint_eq(tfs_stat(&t, f).size, 300);
	expect(&t, f, 0, data, 300);
	tfs_umount(&t);
	ck_assert_uint_eq(tfs_fsck(&t), 0);
	ck_assert_int_eq(tfs_mount(&t), 0);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("pmfs2_direct_extend");
	TCase *tc = tcase_create("direct_extend");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, powercut_between_copy_and_size);
	tcase_add_test(tc, guard_cleared_by_size);
	tcase_add_test(tc, size_never_comes);
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
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
