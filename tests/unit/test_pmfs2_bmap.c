// SPDX-License-Identifier: BSD-2-Clause
/*
 * test_pmfs2_bmap.c - the radix block map: a sparse file written at
 * 1 TiB - 4 KiB (height 4), height growth keeping existing blocks, holes,
 * SEEK_DATA over a huge hole, truncating a sparse file, block accounting.
 */
#include <stdlib.h>

#include "test_pmfs2_util.h"

#define TiB	(1ull << 40)

static struct tfs t;
static uint64_t root;

static void setup(void)
{
	tfs_init(&t, 16 << 20, 0);
	root = tfs_root(&t);
}

static void teardown(void)
{
	tfs_fini(&t);
}

static struct pmfs2_inode *pinode(uint64_t ino)
{
	return pmfs2_inode_at(&t.sb.pmem, &PMFS2_SBI(&t.sb)->s, ino);
}

START_TEST(sparse_1tib)
{
	uint64_t f = tfs_create(&t, root, "sparse");
	uint64_t free0 = tfs_bfree(&t), r;
	char buf[4096], rd[4096];
	struct zus_attr a;
	struct zus_setattr sa = { .valid = ZUS_SET_SIZE };

	tfs_fill(buf, sizeof(buf), 9);
	tfs_write(&t, f, TiB - 4096, buf, 4096);
	a = tfs_stat(&t, f);
	ck_assert_uint_eq(a.size, TiB);
	/* one data block and one index block per level */
	ck_assert_uint_eq(a.blocks, 5 * 8);
	ck_assert_uint_eq(pmfs2_map_height(pinode(f)->map), 4);
	ck_assert_uint_eq(free0 - tfs_bfree(&t), 5);
	ck_assert_int_eq(t.ops->read(&t.sb, f, rd, 4096, TiB - 4096), 4096);
	ck_assert(!memcmp(rd, buf, 4096));
	ck_assert_int_eq(t.ops->read(&t.sb, f, rd, 4096, TiB / 2), 4096);
	for (int i = 0; i < 4096; i++)
		ck_assert_int_eq(rd[i], 0);
	ck_assert_int_eq(t.ops->lseek(&t.sb, f, 0, ZUS_SEEK_DATA, &r), 0);
	ck_assert_uint_eq(r, TiB - 4096);
	ck_assert_int_eq(t.ops->lseek(&t.sb, f, 0, ZUS_SEEK_HOLE, &r), 0);
	ck_assert_uint_eq(r, 0);
	ck_assert_int_eq(t.ops->lseek(&t.sb, f, TiB - 4000, ZUS_SEEK_HOLE, &r),
			 0);
	ck_assert_uint_eq(r, TiB);

	tfs_cycle(&t);
	ck_assert_int_eq(t.ops->read(&t.sb, f, rd, 4096, TiB - 4096), 4096);
	ck_assert(!memcmp(rd, buf, 4096));
	ck_assert_uint_eq(tfs_bfree(&t), free0 - 5);

	/* block 0 joins the same tree; truncation frees all of it */
	tfs_write(&t, f, 0, buf, 10);
	ck_assert_uint_eq(tfs_stat(&t, f).blocks, 9 * 8);
	sa.size = 4096;
	ck_assert_int_eq(t.ops->setattr(&t.sb, f, &sa, &a), 0);
	ck_assert_uint_eq(a.blocks, 5 * 8);
	sa.size = 0;
	ck_assert_int_eq(t.ops->setattr(&t.sb, f, &sa, &a), 0);
	ck_assert_uint_eq(a.blocks, 0);
	ck_assert_uint_eq(pinode(f)->map, 0);
	ck_assert_uint_eq(tfs_bfree(&t), free0);
	tfs_umount(&t);
	ck_assert_uint_eq(tfs_fsck(&t), 0);
	ck_assert_int_eq(tfs_mount(&t), 0);
}
END_TEST

START_TEST(grow_height)
{
	uint64_t f = tfs_create(&t, root, "f");
	char a[4096], b[4096], rd[4096];
	uint64_t offs[] = { 0, 4096, 511 * 4096ull, 512 * 4096ull,
			    (512ull * 512) * 4096, (512ull * 512 * 512) * 4096 };

	tfs_fill(a, sizeof(a), 1);
	tfs_write(&t, f, 0, a, 4096);
	ck_assert_uint_eq(pmfs2_map_height(pinode(f)->map), 0);
	for (unsigned int i = 1; i < 6; i++) {
		tfs_fill(b, sizeof(b), i + 1);
		tfs_write(&t, f, offs[i], b, 4096);
	}
	ck_assert_uint_eq(pmfs2_map_height(pinode(f)->map), 4);
	for (unsigned int i = 0; i < 6; i++) {
		tfs_fill(b, sizeof(b), i + 1);
		ck_assert_int_eq(t.ops->read(&t.sb, f, rd, 4096, offs[i]),
				 4096);
		ck_assert_msg(!memcmp(rd, b, 4096), "block %u", i);
	}
	/* beyond the largest map */
	ck_assert_int_eq(t.ops->write(&t.sb, f, a, 1, 1ull << 48), -EFBIG);
	tfs_umount(&t);
	ck_assert_uint_eq(tfs_fsck(&t), 0);
	ck_assert_int_eq(tfs_mount(&t), 0);
}
END_TEST

/* punch a hole through a sparse tree: emptied index blocks are freed */
START_TEST(punch_sparse)
{
	uint64_t f = tfs_create(&t, root, "f");
	uint64_t free0 = tfs_bfree(&t);
	char buf[4096] = { 7 };

	for (uint64_t i = 0; i < 64; i++)
		tfs_write(&t, f, i * (1ull << 30), buf, 4096);
	ck_assert_int_eq(t.ops->fallocate(&t.sb, f, ZUS_FALLOC_PUNCH_HOLE |
					  ZUS_FALLOC_KEEP_SIZE, 4096,
					  63ull << 30), 0);
	ck_assert_uint_eq(tfs_stat(&t, f).size, (63ull << 30) + 4096);
	ck_assert_uint_lt(free0 - tfs_bfree(&t), 8);
	ck_assert_uint_eq(tfs_stat(&t, f).blocks * 512 / 4096,
			  free0 - tfs_bfree(&t));
	tfs_umount(&t);
	ck_assert_uint_eq(tfs_fsck(&t), 0);
	ck_assert_int_eq(tfs_mount(&t), 0);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("pmfs2_bmap");
	TCase *tc = tcase_create("bmap");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, sparse_1tib);
	tcase_add_test(tc, grow_height);
	tcase_add_test(tc, punch_sparse);
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
