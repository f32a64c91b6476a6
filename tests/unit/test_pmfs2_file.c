// SPDX-License-Identifier: BSD-2-Clause
/*
 * test_pmfs2_file.c - file data: read/write across blocks and chunks,
 * truncate (shrink, grow, zeroed tail), fallocate (allocate, KEEP_SIZE,
 * PUNCH_HOLE, ZERO_RANGE), SEEK_DATA/SEEK_HOLE, get_extents, ENOSPC.
 */
#include <stdlib.h>

#include "test_pmfs2_util.h"

#define MiB	(1024 * 1024)

static struct tfs t;
static uint64_t root;

static void setup(void)
{
	tfs_init(&t, 64 * MiB, 0);
	root = tfs_root(&t);
}

static void teardown(void)
{
	tfs_fini(&t);
}

static void expect(uint64_t ino, uint64_t off, const void *want, size_t len)
{
	char *buf = malloc(len + 1);
	ssize_t n = t.ops->read(&t.sb, ino, buf, len, off);

	ck_assert_int_eq(n, (ssize_t)len);
	ck_assert_msg(!memcmp(buf, want, len), "data at %llu differs",
		      (unsigned long long)off);
	free(buf);
}

static void expect_zero(uint64_t ino, uint64_t off, size_t len)
{
	char *z = calloc(1, len);

	expect(ino, off, z, len);
	free(z);
}

static int64_t seek(uint64_t ino, uint64_t off, int whence)
{
	uint64_t r;
	int err = t.ops->lseek(&t.sb, ino, off, whence, &r);

	return err ? err : (int64_t)r;
}

static void set_size(uint64_t ino, uint64_t size)
{
	struct zus_setattr sa = { .valid = ZUS_SET_SIZE, .size = size };

	ck_assert_int_eq(t.ops->setattr(&t.sb, ino, &sa, NULL), 0);
}

START_TEST(rw_basic)
{
	uint64_t f = tfs_create(&t, root, "f");
	size_t len = 5 * MiB + 123;	/* several transactions */
	char *buf = malloc(len), *rd = malloc(len);

	tfs_fill(buf, len, 1);
	tfs_write(&t, f, 100, buf, len);
	ck_assert_uint_eq(tfs_stat(&t, f).size, 100 + len);
	expect_zero(f, 0, 100);
	expect(f, 100, buf, len);
	/* short read at EOF, nothing past it */
	ck_assert_int_eq(t.ops->read(&t.sb, f, rd, 1000, 100 + len - 10), 10);
	ck_assert_int_eq(t.ops->read(&t.sb, f, rd, 10, 100 + len), 0);
	/* overwrite in place (no transaction) */
	tfs_fill(buf, 8192, 2);
	tfs_write(&t, f, 4000, buf, 8192);
	expect(f, 4000, buf, 8192);
	tfs_cycle(&t);
	expect(f, 4000, buf, 8192);
	ck_assert_uint_eq(tfs_stat(&t, f).blocks,
			  ((100 + len + 4095) / 4096 + 4) * 8);
	tfs_umount(&t);
	ck_assert_uint_eq(tfs_fsck(&t), 0);
	ck_assert_int_eq(tfs_mount(&t), 0);
	free(buf);
	free(rd);
}
END_TEST

START_TEST(write_errors)
{
	uint64_t d = tfs_mkdir(&t, root, "d");
	char c = 'x';

	ck_assert_int_eq(t.ops->write(&t.sb, d, &c, 1, 0), -EISDIR);
	ck_assert_int_eq(t.ops->read(&t.sb, d, &c, 1, 0), -EISDIR);
	ck_assert_int_eq(t.ops->write(&t.sb, 999999999, &c, 1, 0), -ESTALE);
	ck_assert_int_eq(t.ops->write(&t.sb, tfs_create(&t, root, "f"), &c, 1,
				      PMFS2_MAX_FILE_SIZE), -EFBIG);
}
END_TEST

START_TEST(truncate_shrink_grow)
{
	uint64_t f = tfs_create(&t, root, "f");
	uint64_t free0 = tfs_bfree(&t);
	char buf[10000];

	tfs_fill(buf, sizeof(buf), 3);
	tfs_write(&t, f, 0, buf, sizeof(buf));
	set_size(f, 5000);
	ck_assert_uint_eq(tfs_stat(&t, f).size, 5000);
	ck_assert_uint_eq(tfs_stat(&t, f).blocks, 2 * 8 + 8);
	/* grow again: the cut bytes read back as zeroes */
	set_size(f, 10000);
	expect(f, 0, buf, 5000);
	expect_zero(f, 5000, 5000);
	set_size(f, 0);
	ck_assert_uint_eq(tfs_stat(&t, f).blocks, 0);
	ck_assert_uint_eq(tfs_bfree(&t), free0);
	/* huge sparse grow is just a size */
	set_size(f, 1ull << 40);
	ck_assert_uint_eq(tfs_stat(&t, f).size, 1ull << 40);
	ck_assert_uint_eq(tfs_stat(&t, f).blocks, 0);
	expect_zero(f, (1ull << 40) - 4096, 4096);
	tfs_umount(&t);
	ck_assert_uint_eq(tfs_fsck(&t), 0);
	ck_assert_int_eq(tfs_mount(&t), 0);
}
END_TEST

START_TEST(fallocate_modes)
{
	uint64_t f = tfs_create(&t, root, "f");
	uint64_t free0 = tfs_bfree(&t);
	char buf[6 * 4096];

	ck_assert_int_eq(t.ops->fallocate(&t.sb, f, 0, 0, 8 * 4096), 0);
	ck_assert_uint_eq(tfs_stat(&t, f).size, 8 * 4096);
	ck_assert_uint_eq(free0 - tfs_bfree(&t), 8 + 1);
	expect_zero(f, 0, 8 * 4096);
	/* KEEP_SIZE: blocks past EOF, size unchanged */
	ck_assert_int_eq(t.ops->fallocate(&t.sb, f, ZUS_FALLOC_KEEP_SIZE,
					  8 * 4096, 4 * 4096), 0);
	ck_assert_uint_eq(tfs_stat(&t, f).size, 8 * 4096);
	ck_assert_uint_eq(free0 - tfs_bfree(&t), 12 + 1);

	tfs_fill(buf, sizeof(buf), 4);
	tfs_write(&t, f, 4096, buf, sizeof(buf));
	/* punch the middle: partial edges zeroed, whole blocks freed */
	ck_assert_int_eq(t.ops->fallocate(&t.sb, f, ZUS_FALLOC_PUNCH_HOLE |
					  ZUS_FALLOC_KEEP_SIZE, 4096 + 100,
					  3 * 4096), 0);
	expect(f, 4096, buf, 100);
	expect_zero(f, 4096 + 100, 3 * 4096);
	expect(f, 4 * 4096 + 100, buf + 3 * 4096 + 100, 2 * 4096 - 100);
	ck_assert_uint_eq(free0 - tfs_bfree(&t), 10 + 1);
	ck_assert_int_eq(seek(f, 0, ZUS_SEEK_HOLE), 2 * 4096);
	ck_assert_int_eq(seek(f, 2 * 4096, ZUS_SEEK_DATA), 4 * 4096);

	/* ZERO_RANGE reads back zero and stays allocated */
	ck_assert_int_eq(t.ops->fallocate(&t.sb, f, ZUS_FALLOC_ZERO_RANGE,
					  4096, 6 * 4096), 0);
	expect_zero(f, 0, 8 * 4096);
	ck_assert_int_eq(seek(f, 0, ZUS_SEEK_HOLE), 8 * 4096);
	/* ZERO_RANGE past EOF extends the size */
	ck_assert_int_eq(t.ops->fallocate(&t.sb, f, ZUS_FALLOC_ZERO_RANGE,
					  10 * 4096, 10), 0);
	ck_assert_uint_eq(tfs_stat(&t, f).size, 10 * 4096 + 10);

	/* invalid combinations */
	ck_assert_int_eq(t.ops->fallocate(&t.sb, f, ZUS_FALLOC_PUNCH_HOLE, 0,
					  1), -EOPNOTSUPP);
	ck_assert_int_eq(t.ops->fallocate(&t.sb, f, ZUS_FALLOC_PUNCH_HOLE |
					  ZUS_FALLOC_KEEP_SIZE |
					  ZUS_FALLOC_ZERO_RANGE, 0, 1),
			 -EOPNOTSUPP);
	ck_assert_int_eq(t.ops->fallocate(&t.sb, f, 0, 0, 0), -EINVAL);
	ck_assert_int_eq(t.ops->fallocate(&t.sb, f, 0x40, 0, 1), -EOPNOTSUPP);
	tfs_umount(&t);
	ck_assert_uint_eq(tfs_fsck(&t), 0);
	ck_assert_int_eq(tfs_mount(&t), 0);
}
END_TEST

START_TEST(seek_data_hole)
{
	uint64_t f = tfs_create(&t, root, "f");
	char buf[4096];

	tfs_fill(buf, sizeof(buf), 5);
	ck_assert_int_eq(seek(f, 0, ZUS_SEEK_DATA), -ENXIO);
	tfs_write(&t, f, 3 * 4096, buf, 4096);
	tfs_write(&t, f, (1ull << 30), buf, 100);
	ck_assert_int_eq(seek(f, 0, ZUS_SEEK_DATA), 3 * 4096);
	ck_assert_int_eq(seek(f, 0, ZUS_SEEK_HOLE), 0);
	ck_assert_int_eq(seek(f, 3 * 4096 + 5, ZUS_SEEK_DATA), 3 * 4096 + 5);
	ck_assert_int_eq(seek(f, 3 * 4096 + 5, ZUS_SEEK_HOLE), 4 * 4096);
	ck_assert_int_eq(seek(f, 4 * 4096, ZUS_SEEK_DATA), 1ll << 30);
	ck_assert_int_eq(seek(f, (1ull << 30) + 50, ZUS_SEEK_HOLE),
			 (1ll << 30) + 100);
	ck_assert_int_eq(seek(f, (1ull << 30) + 100, ZUS_SEEK_DATA), -ENXIO);
	ck_assert_int_eq(seek(f, 0, 0), -EINVAL);
}
END_TEST

START_TEST(extents)
{
	uint64_t f = tfs_create(&t, root, "f");
	struct zus_extent ext[8];
	unsigned int n = 8;
	char buf[4096] = { 1 };
	char *p;

	tfs_write(&t, f, 0, buf, 4096);
	ck_assert_int_eq(t.ops->get_extents(&t.sb, f, 0, 3 * 4096, 0, ext,
					    &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(ext[0].len, 4096);
	ck_assert_uint_eq(ext[1].pmem_off, ZUS_EXTENT_HOLE);
	ck_assert_uint_eq(ext[1].len, 2 * 4096);
	p = (char *)t.sb.pmem.base + ext[0].pmem_off;
	ck_assert_int_eq(p[0], 1);
	/* allocate holes for a direct write */
	n = 8;
	ck_assert_int_eq(t.ops->get_extents(&t.sb, f, 100, 3 * 4096,
					    ZUS_GE_WRITE, ext, &n), 0);
	ck_assert_uint_ge(n, 1);
	for (unsigned int i = 0; i < n; i++)
		ck_assert_uint_ne(ext[i].pmem_off, ZUS_EXTENT_HOLE);
	ck_assert_uint_eq(ext[0].file_off, 100);
	ck_assert_uint_eq(tfs_stat(&t, f).size, 4096);
	/* one extent asked for: only what fits */
	n = 1;
	ck_assert_int_eq(t.ops->get_extents(&t.sb, f, 0, 1ull << 30, 0, ext,
					    &n), 0);
	ck_assert_uint_eq(n, 1);
	n = 0;
	ck_assert_int_eq(t.ops->get_extents(&t.sb, f, 0, 1, 0, ext, &n),
			 -EINVAL);
}
END_TEST

START_TEST(enospc_clean)
{
	uint64_t f = tfs_create(&t, root, "f"), g;
	uint64_t free0 = tfs_bfree(&t);
	size_t len = 8 * MiB;
	char *buf = calloc(1, len);
	ssize_t n;
	uint64_t off = 0;

	/* fill the device */
	for (;;) {
		n = t.ops->write(&t.sb, f, buf, len, off);
		if (n < 0)
			break;
		off += (uint64_t)n;
	}
	ck_assert_int_eq(n, -ENOSPC);
	ck_assert_uint_lt(tfs_bfree(&t), 8);
	/* a failed extending write changes nothing */
	ck_assert_uint_eq(tfs_stat(&t, f).size, off);
	g = tfs_create(&t, root, "g");
	ck_assert_int_eq(t.ops->fallocate(&t.sb, g, 0, 0, 1ull << 30),
			 -ENOSPC);
	ck_assert_uint_eq(tfs_stat(&t, g).size, 0);
	ck_assert_int_eq(t.ops->unlink(&t.sb, root, "f", 1), 0);
	t.ops->evict(&t.sb, f);
	ck_assert_uint_eq(tfs_bfree(&t), free0);
	tfs_umount(&t);
	ck_assert_uint_eq(tfs_fsck(&t), 0);
	ck_assert_int_eq(tfs_mount(&t), 0);
	free(buf);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("pmfs2_file");
	TCase *tc = tcase_create("file");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, rw_basic);
	tcase_add_test(tc, write_errors);
	tcase_add_test(tc, truncate_shrink_grow);
	tcase_add_test(tc, fallocate_modes);
	tcase_add_test(tc, seek_data_hole);
	tcase_add_test(tc, extents);
	tcase_add_test(tc, enospc_clean);
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
