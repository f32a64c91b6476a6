// SPDX-License-Identifier: BSD-2-Clause
/*
 * test_pmfs2_mount.c - mount-time work and hostile images: orphans
 * reclaimed at the next mount, interrupted truncates finished, read-only
 * remount, statfs, corrupt pointers answered with -EUCLEAN (never a crash),
 * mount options checked as ext4 checks them, and a small fuzz of metadata
 * bytes over mount/lookup/readdir/getattr/read.
 */
#include <stdio.h>
#include <stdlib.h>

#include "test_pmfs2_util.h"

static struct tfs t;
static uint64_t root;

static void setup(void)
{
	tfs_init(&t, 8 << 20, 0);
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

START_TEST(orphans_reclaimed)
{
	uint64_t free0, f, d;
	struct zus_attr a;
	char buf[20000] = { 1 };

	/* the root's index blocks stay once made */
	tfs_create(&t, root, "keep");
	free0 = tfs_bfree(&t);

	f = tfs_create(&t, root, "f");
	tfs_write(&t, f, 0, buf, sizeof(buf));
	ck_assert_int_eq(t.ops->setxattr(&t.sb, f, "user.x", "1", 1, 0), 0);
	d = tfs_mkdir(&t, root, "d");
	tfs_create(&t, d, "x");
	ck_assert_int_eq(t.ops->unlink(&t.sb, d, "x", 1), 0);
	ck_assert_int_eq(t.ops->rmdir(&t.sb, root, "d", 1), 0);
	ck_assert_int_eq(t.ops->unlink(&t.sb, root, "f", 1), 0);
	ck_assert_int_eq(t.ops->tmpfile(&t.sb, root, 0600, NULL, &a), 0);
	tfs_write(&t, a.ino, 0, buf, sizeof(buf));
	/* still open: the data stays readable */
	ck_assert_int_eq(t.ops->read(&t.sb, f, buf, 10, 0), 10);
	ck_assert_uint_lt(tfs_bfree(&t), free0);
	/* "crash" with everything open, then mount */
	tfs_cycle(&t);
	ck_assert_uint_eq(tfs_bfree(&t), free0);
	ck_assert_int_eq(t.ops->getattr(&t.sb, f, &a), -ESTALE);
	ck_assert_int_eq(t.ops->getattr(&t.sb, d, &a), -ESTALE);
	tfs_umount(&t);
	ck_assert_uint_eq(tfs_fsck(&t), 0);
	ck_assert_int_eq(tfs_mount(&t), 0);
}
END_TEST

START_TEST(trunc_pending_finished)
{
	uint64_t free0, f;
	char *buf = calloc(1, 1 << 20);
	struct pmfs2_tx *tx;

	f = tfs_create(&t, root, "f");
	free0 = tfs_bfree(&t);
	memset(buf, 'z', 1 << 20);
	tfs_write(&t, f, 0, buf, 1 << 20);
	/* commit the size change, then "crash" before the trim */
	tx = pmfs2_tx_begin(PMFS2_SBI(&t.sb));
	ck_assert_int_eq(pmfs2_truncate(PMFS2_SBI(&t.sb), tx, pinode(f), 5000),
			 0);
	ck_assert_int_eq(pmfs2_tx_end(tx, 0), 0);
	ck_assert(pinode(f)->flags & PMFS2_IF_TRUNC_PENDING);
	tfs_cycle(&t);
	ck_assert(!(pinode(f)->flags & PMFS2_IF_TRUNC_PENDING));
	/* two data blocks under the index block */
	ck_assert_uint_eq(tfs_stat(&t, f).blocks, 3 * 8);
	ck_assert_uint_eq(tfs_bfree(&t), free0 - 3);
	ck_assert_int_eq(t.ops->read(&t.sb, f, buf, 1 << 20, 0), 5000);
	tfs_umount(&t);
	ck_assert_uint_eq(tfs_fsck(&t), 0);
	ck_assert_int_eq(tfs_mount(&t), 0);
	free(buf);
}
END_TEST

START_TEST(readonly_statfs)
{
	struct zus_statfs st;
	uint64_t f = tfs_create(&t, root, "f");
	struct pmfs2_super *s;

	ck_assert_int_eq(t.ops->statfs(&t.sb, &st), 0);
	ck_assert_uint_eq(st.bsize, 4096);
	ck_assert_uint_eq(st.namelen, 255);
	ck_assert_uint_eq(st.fsid, PMFS2_FS_MAGIC);
	ck_assert_uint_eq(st.files - st.ffree, 2);
	s = pmfs2_block(&t.sb.pmem, 0);
	ck_assert_uint_eq(s->state, PMFS2_STATE_MOUNTED);
	ck_assert_int_eq(t.ops->remount(&t.sb, NULL, true), 0);
	ck_assert_uint_eq(s->state, PMFS2_STATE_CLEAN);
	ck_assert_int_eq(t.ops->write(&t.sb, f, "x", 1, 0), -EROFS);
	ck_assert_int_eq(t.ops->unlink(&t.sb, root, "f", 1), -EROFS);
	ck_assert_int_eq(t.ops->remount(&t.sb, NULL, false), 0);
	tfs_write(&t, f, 0, "x", 1);
	tfs_umount(&t);
	ck_assert_uint_eq(s->state, PMFS2_STATE_CLEAN);
	ck_assert_int_eq(tfs_mount(&t), 0);
}
END_TEST

/* ---- fuzz --------------------------------------------------------------- */

static int walk_fill(void *ctx, const char *name, size_t len, uint64_t ino,
		     unsigned int dtype, uint64_t next)
{
	struct tfs *m = ctx;
	struct zus_attr a;
	char buf[4096];
	size_t l;

	if (len <= 2 && name[0] == '.')
		return 0;
	m->ops->lookup(&m->sb, 1, name, len, &a);
	if (m->ops->getattr(&m->sb, ino, &a))
		return 0;
	m->ops->read(&m->sb, ino, buf, sizeof(buf), 0);
	m->ops->readlink(&m->sb, ino, buf, sizeof(buf), &l);
	m->ops->listxattr(&m->sb, ino, buf, sizeof(buf));
	if (S_ISDIR(a.mode) && ino != 1)
		m->ops->readdir(&m->sb, ino, 0, walk_fill, m);
	return 0;
}

START_TEST(corrupt_pointers)
{
	uint64_t d = tfs_mkdir(&t, root, "d"), f, g, blk;
	struct pmfs2_sbi *sbi = PMFS2_SBI(&t.sb);
	struct pmfs2_dir_head *h;
	char buf[8192] = { 3 };
	struct zus_attr a;
	uint64_t *tbl, save;
	int nerr = t.nerrlog;

	f = tfs_create(&t, d, "f");
	g = tfs_create(&t, root, "g");
	tfs_write(&t, f, 0, buf, sizeof(buf));
	/* an index pointer outside the data area */
	tbl = pmfs2_blk(sbi, pmfs2_map_block(pinode(f)->map));
	save = tbl[1];
	tbl[1] = 1;
	ck_assert_int_eq(t.ops->read(&t.sb, f, buf, 8192, 0), 4096);
	ck_assert_int_eq(t.ops->read(&t.sb, f, buf, 4096, 4096), -EUCLEAN);
	ck_assert_int_gt(t.nerrlog, nerr);
	tbl[1] = save;
	/* a map height past the maximum */
	save = pinode(f)->map;
	pinode(f)->map = (save & ~PMFS2_MAP_HEIGHT_MASK) | 7;
	ck_assert_int_eq(t.ops->getattr(&t.sb, f, &a), -EUCLEAN);
	ck_assert_int_eq(tfs_lookup(&t, d, "f"), -EUCLEAN);
	pinode(f)->map = save;
	/* a directory entry naming a free inode */
	ck_assert_int_eq(pmfs2_bmap_lookup(sbi, pinode(d), 1, &blk), 0);
	{
		struct pmfs2_dirent *e = (void *)((char *)pmfs2_blk(sbi, blk) +
						  16);

		save = e->ino;
		e->ino = sbi->s.inode_count - 1;
		ck_assert_int_eq(tfs_lookup(&t, d, "f"), -EUCLEAN);
		e->ino = 1ull << 60;
		ck_assert_int_eq(tfs_lookup(&t, d, "f"), -EUCLEAN);
		e->ino = save;
		e->name_len = 200;
		ck_assert_int_eq(tfs_lookup(&t, d, "f"), -EUCLEAN);
		e->name_len = 1;
	}
	/* a directory head with an impossible depth */
	ck_assert_int_eq(pmfs2_bmap_lookup(sbi, pinode(d), 0, &blk), 0);
	h = pmfs2_blk(sbi, blk);
	h->global_depth = 40;
	ck_assert_int_eq(tfs_lookup(&t, d, "f"), -EUCLEAN);
	ck_assert_int_eq(t.ops->readdir(&t.sb, d, 2, walk_fill, &t), -EUCLEAN);
	h->global_depth = 0;
	ck_assert_int_eq(tfs_lookup(&t, d, "f"), (int64_t)f);
	/* two files sharing a block: mount refuses */
	tfs_write(&t, g, 0, buf, 10);
	pinode(g)->map = pinode(f)->map;
	tfs_umount(&t);
	ck_assert_int_eq(tfs_mount(&t), -EUCLEAN);
	ck_assert(strstr(t.lastlog, "twice") != NULL);
}
END_TEST

START_TEST(fuzz_metadata)
{
	struct pmfs2_super s = PMFS2_SBI(&t.sb)->s;
	unsigned int seed = 12345, mounted = 0;
	char buf[6000];
	void *img;
	uint64_t d;

	/* a populated image */
	d = tfs_mkdir(&t, root, "dir");
	for (int i = 0; i < 150; i++) {
		char name[32];
		uint64_t f;

		snprintf(name, sizeof(name), "file-%d", i);
		f = tfs_create(&t, i % 2 ? d : root, name);
		tfs_fill(buf, sizeof(buf), (unsigned int)i);
		tfs_write(&t, f, (uint64_t)i * 5000, buf, (size_t)(i * 37) %
			  sizeof(buf) + 1);
		if (i % 10 == 0)
			t.ops->setxattr(&t.sb, f, "user.a", buf, 50, 0);
	}
	memset(buf, 'l', 300);
	buf[300] = 0;
	t.ops->symlink(&t.sb, root, "link", 4, buf, NULL, NULL);
	tfs_umount(&t);
	img = malloc(t.size);
	memcpy(img, t.sb.pmem.base, t.size);

	for (int iter = 0; iter < 300; iter++) {
		char *p = t.sb.pmem.base;
		uint64_t meta = s.itable_start << PMFS2_BLOCK_SHIFT;
		uint64_t span = t.size - meta;

		memcpy(p, img, t.size);
		for (int k = 0; k < 1 + iter % 16; k++) {
			uint64_t off;

			seed = seed * 1103515245u + 12345u;
			/* mostly the inode table and the first data blocks */
			off = meta + ((uint64_t)seed * 2654435761u) %
			      (iter % 3 ? (s.data_start + 64 -
					   s.itable_start) << PMFS2_BLOCK_SHIFT :
			       span);
			p[off] ^= (char)(1u << (seed % 8));
			if (seed % 5 == 0)
				p[off & ~7ull] = (char)0xff;
		}
		if (tfs_mount(&t))
			continue;
		mounted++;
		t.ops->readdir(&t.sb, 1, 0, walk_fill, &t);
		tfs_umount(&t);
	}
	fprintf(stderr, "fuzz: %u of 300 corrupted images mounted\n",
		mounted);
	memcpy(t.sb.pmem.base, img, t.size);
	ck_assert_int_eq(tfs_mount(&t), 0);
	free(img);
}
END_TEST

/* Mount options: an unknown option or a bad value fails the mount with
 * EINVAL and a message naming it (as ext4 and xfs do); a remount keeps
 * what it does not name. */
START_TEST(mount_options)
{
	static const char *const bad[] = {
		"bogus", "dax", "tier_low", "tier_low=", "tier_low=abc",
		"tier_low=91", "tier_low=-1", "tier_high=96", "tier_qd=0",
		"tier_qd=257", "tier_thread=2", "tier_low=20,tier_high=20",
		"tier_low=5,errors=remount-ro", "tier=/dev/nvme0n1",
		"tier_backend=uring", "tier_lowx=5", "tier_low=99999999999999999999",
	};
	static const char *const good[] = {
		"", ",", "tier_low=5,tier_high=30", "tier_thread=0,tier_qd=256",
		"tier_low=0,tier_high=1", ",tier_qd=1,",
	};
	struct pmfs2_options o;
	uint64_t f;

	tfs_umount(&t);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		t.sb.options = bad[i];
		t.nerrlog = 0;
		t.lastlog[0] = 0;
		ck_assert_msg(tfs_mount(&t) == -EINVAL, "mount -o %s", bad[i]);
		ck_assert_int_eq(t.nerrlog, 1);
		ck_assert_msg(strstr(t.lastlog, "mount option"),
			      "-o %s: %s", bad[i], t.lastlog);
	}
	t.sb.options = "bogus";
	tfs_mount(&t);
	ck_assert_ptr_nonnull(strstr(t.lastlog, "unknown mount option 'bogus'"));
	ck_assert_ptr_nonnull(strstr(t.lastlog, "tier_low=PCT"));
	t.sb.options = "tier_lowx=5,tier_low=5";
	tfs_mount(&t);
	ck_assert_ptr_nonnull(strstr(t.lastlog, "'tier_lowx=5'"));
	t.sb.options = "tier_qd=0";
	tfs_mount(&t);
	ck_assert_ptr_nonnull(strstr(t.lastlog, "from 1 to 256"));
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		t.sb.options = good[i];
		ck_assert_msg(tfs_mount(&t) == 0, "mount -o %s: %s", good[i],
			      t.lastlog);
		tfs_umount(&t);
	}
	t.sb.options = "tier_low=5,tier_high=30,tier_qd=8";
	ck_assert_int_eq(tfs_mount(&t), 0);
	o = PMFS2_SBI(&t.sb)->opts;
	ck_assert_uint_eq(o.tier_low, 5);
	ck_assert_uint_eq(o.tier_high, 30);
	ck_assert_uint_eq(o.tier_qd, 8);
	ck_assert(o.tier_thread);

	/* remount: fstab's tier= and tier_backend= come along and are taken */
	ck_assert_int_eq(t.ops->remount(&t.sb,
			 "tier=/dev/nvme0n1,tier_backend=uring,tier_high=40",
			 false), 0);
	o = PMFS2_SBI(&t.sb)->opts;
	ck_assert_uint_eq(o.tier_low, 5);
	ck_assert_uint_eq(o.tier_high, 40);
	/* a bad remount changes nothing and leaves the mount writable */
	t.nerrlog = 0;
	ck_assert_int_eq(t.ops->remount(&t.sb, "bogus", true), -EINVAL);
	ck_assert_int_eq(t.nerrlog, 1);
	ck_assert_int_eq(t.ops->remount(&t.sb, "tier_low=50", false), -EINVAL);
	ck_assert_ptr_nonnull(strstr(t.lastlog, "must be below tier_high=40"));
	ck_assert_uint_eq(PMFS2_SBI(&t.sb)->opts.tier_low, 5);
	ck_assert(!t.sb.readonly);
	f = tfs_create(&t, root, "after-bad-remount");
	ck_assert_uint_ne(f, 0);
	ck_assert_int_eq(t.ops->remount(&t.sb, "", true), 0);
	ck_assert(t.sb.readonly);
	ck_assert_uint_eq(PMFS2_SBI(&t.sb)->opts.tier_high, 40);
	t.sb.options = NULL;
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("pmfs2_mount");
	TCase *tc = tcase_create("mount");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, orphans_reclaimed);
	tcase_add_test(tc, trunc_pending_finished);
	tcase_add_test(tc, readonly_statfs);
	tcase_add_test(tc, corrupt_pointers);
	tcase_add_test(tc, fuzz_metadata);
	tcase_add_test(tc, mount_options);
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
