// SPDX-License-Identifier: BSD-2-Clause
/*
 * test_tier.c - pmfs2 tiering with a file-backed tier through the real
 * backends ("sync" and "uring", each test runs with both): filling a small
 * pmem far past its size (no ENOSPC, everything reads back, across remounts,
 * fsck clean), the background migrator keeping the watermarks, promotion of
 * data that turns hot, writes to tiered data, get_extents, punch/truncate
 * of tiered blocks, collapse and insert range moving tier pointers,
 * statfs/status, a missing, foreign or damaged tier refused, and fsck
 * catching bad tier pointers.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "test_tier_util.h"
#include "tier_backend.h"

#define PMEM_SIZE	(8u << 20)
#define TIER_SIZE	(100u << 20)
#define MiB		(1ull << 20)

static const struct zus_tier_backend *const backends[] = {
	&zus_tier_sync_backend,
	&zus_tier_uring_backend,
};

static struct zus_pmem pm;
static struct tt t;

static void setup(void)
{
	pm = tt_pmem_new(PMEM_SIZE);
}

static void teardown(void)
{
	tt_cleanup(&t);
	tt_pmem_free(&pm);
}

static void mount_ok(void)
{
	int err = tt_mount(&t);

	ck_assert_msg(!err, "mount: %d: %s", err, t.errlog);
}

/* Fill 8 MiB of pmem with 64 MiB of data in files of various sizes. */
START_TEST(fill_far_past_pmem)
{
	static const uint64_t sizes[] = { 24 * MiB, 3 * MiB + 1234, 77777,
					  16 * MiB, 4096, 20 * MiB + 5 };
	const unsigned int nf = sizeof(sizes) / sizeof(sizes[0]);
	uint64_t ino[6], tierb, pmemb, total = 0;
	struct zus_tier_status st;
	struct zus_statfs sf;
	char name[16];

	tt_setup(&t, &pm, TIER_SIZE, backends[_i], "tier_thread=0");
	mount_ok();
	ck_assert_int_eq(pmfs2_ops.statfs(&t.sb, &sf), 0);
	/* pmem + tier capacity */
	ck_assert_uint_gt(sf.blocks * 4096, TIER_SIZE - MiB);
	for (unsigned int i = 0; i < nf; i++) {
		snprintf(name, sizeof(name), "f%u", i);
		ino[i] = tt_create(&t, name);
		tt_write_pat(&t, ino[i], i + 1, 0, sizes[i], 1 << 20);
		total += sizes[i];
	}
	ck_assert_uint_gt(total, 7 * PMEM_SIZE);
	st = tt_status(&t);
	ck_assert_uint_gt(st.migrated_bytes, total - PMEM_SIZE);
	ck_assert_uint_gt(st.tier_bytes - st.tier_free_bytes,
			  total - PMEM_SIZE);
	ck_assert_uint_gt(st.migrations, 0);
	ck_assert_uint_gt(st.io.writes, 0);
	ck_assert_str_eq(st.backend, backends[_i]->name);
	tt_where(&t, ino[0], &tierb, &pmemb);
	ck_assert_uint_gt(tierb, 0);
	for (unsigned int i = 0; i < nf; i++)
		ck_assert_uint_eq(tt_check_pat(&t, ino[i], i + 1, 0, sizes[i],
					       (i & 1) ? 5000 : 1 << 20), 0);
	st = tt_status(&t);
	ck_assert_uint_gt(st.cold_reads, 0);
	tt_umount(&t);
	ck_assert_uint_eq(tt_fsck(&t), 0);
	mount_ok();
	for (unsigned int i = 0; i < nf; i++) {
		snprintf(name, sizeof(name), "f%u", i);
		ck_assert_int_eq(tt_lookup(&t, name), (int64_t)ino[i]);
		ck_assert_uint_eq(tt_check_pat(&t, ino[i], i + 1, 0, sizes[i],
					       1 << 16), 0);
	}
	/* the tier space rebuilt at mount matches what was used */
	ck_assert_uint_eq(tt_status(&t).tier_free_bytes, st.tier_free_bytes);
	tt_umount(&t);
	ck_assert_uint_eq(tt_fsck(&t), 0);
	ck_assert_int_eq(t.nerrlog, 0);
}
END_TEST

/* Wait (8 s at most) until pct % of pmem is free and no migration runs. */
static struct zus_tier_status wait_free(uint64_t pct, uint64_t *free_pct)
{
	struct zus_tier_status st;

	for (int i = 0; i < 400; i++) {
		st = tt_status(&t);
		*free_pct = st.pmem_free_bytes * 100 / st.pmem_bytes;
		if (*free_pct >= pct && !st.migrating)
			break;
		usleep(20000);
	}
	return st;
}

/* The background migrator keeps free pmem between the watermarks. */
START_TEST(background_migrator)
{
	struct zus_tier_status st;
	uint64_t ino, free_pct;

	tt_setup(&t, &pm, TIER_SIZE, backends[_i], "tier_low=15,tier_high=30");
	mount_ok();
	ino = tt_create(&t, "big");
	tt_write_pat(&t, ino, 9, 0, 40 * MiB, 256 << 10);
	/* let the migrator catch up: back above the low watermark */
	st = wait_free(15, &free_pct);
	ck_assert_uint_ge(free_pct, 15);
	ck_assert_uint_eq(st.low_pct, 15);
	ck_assert_uint_eq(st.high_pct, 30);
	ck_assert_uint_gt(st.migrate_bytes_per_sec, 0);
	ck_assert_uint_eq(tt_check_pat(&t, ino, 9, 0, 40 * MiB, 1 << 20), 0);

	/* a remount moves the watermarks and the migrator follows them */
	ck_assert_int_eq(pmfs2_ops.remount(&t.sb,
			 "tier=/dev/nvme0n1,tier_low=40,tier_high=60", false), 0);
	st = wait_free(40, &free_pct);
	ck_assert_uint_eq(st.low_pct, 40);
	ck_assert_uint_eq(st.high_pct, 60);
	ck_assert_uint_ge(free_pct, 40);
	/* the migrator's thread and queue depth are fixed at mount */
	ck_assert_int_eq(pmfs2_ops.remount(&t.sb, "tier_qd=8", false), -EINVAL);
	ck_assert_int_eq(pmfs2_ops.remount(&t.sb, "tier_thread=0", false),
			 -EINVAL);
	ck_assert_uint_eq(tt_status(&t).low_pct, 40);
	ck_assert_uint_eq(tt_check_pat(&t, ino, 9, 0, 40 * MiB, 1 << 20), 0);
	tt_umount(&t);
	ck_assert_uint_eq(tt_fsck(&t), 0);
}
END_TEST

/* Cold data read often comes back to pmem; data never read stays cold. */
START_TEST(hot_data_promoted)
{
	uint64_t a, b, tierb, pmemb;
	struct zus_tier_status st;
	char buf[4096];

	tt_setup(&t, &pm, TIER_SIZE, backends[_i], "tier_thread=0");
	mount_ok();
	a = tt_create(&t, "a");
	b = tt_create(&t, "b");
	tt_write_pat(&t, a, 1, 0, 1 * MiB, 1 << 20);
	tt_write_pat(&t, b, 2, 0, 1 * MiB, 1 << 20);
	/* everything cold goes */
	ck_assert_int_ge(pmfs2_tier_migrate(tt_sbi(&t), UINT64_MAX), 512);
	tt_where(&t, a, &tierb, &pmemb);
	ck_assert_uint_eq(tierb, 256);
	ck_assert_uint_eq(pmemb, 0);
	/* a turns hot */
	for (int i = 0; i < 6; i++)
		ck_assert_int_eq(pmfs2_ops.read(&t.sb, a, buf, sizeof(buf),
						(uint64_t)i * 8192), 4096);
	ck_assert_int_eq(pmfs2_tier_run(tt_sbi(&t)), 0);
	tt_where(&t, a, &tierb, &pmemb);
	ck_assert_uint_eq(tierb, 0);
	ck_assert_uint_eq(pmemb, 256);
	tt_where(&t, b, &tierb, &pmemb);
	ck_assert_uint_eq(tierb, 256);
	st = tt_status(&t);
	ck_assert_uint_ge(st.promotions, 1);
	ck_assert_uint_eq(st.promoted_bytes, 1 * MiB);
	ck_assert_uint_eq(tt_check_pat(&t, a, 1, 0, MiB, 1 << 20), 0);
	ck_assert_uint_eq(tt_check_pat(&t, b, 2, 0, MiB, 1 << 20), 0);
	tt_umount(&t);
	ck_assert_uint_eq(tt_fsck(&t), 0);
	mount_ok();
	ck_assert_uint_eq(tt_check_pat(&t, a, 1, 0, MiB, 1 << 20), 0);
	ck_assert_uint_eq(tt_check_pat(&t, b, 2, 0, MiB, 1 << 20), 0);
}
END_TEST

/* A write to tiered data promotes it first; extents say where data is. */
START_TEST(write_and_extents_on_tiered)
{
	struct zus_extent ext[8];
	uint64_t a, tierb, pmemb, tfree;
	unsigned int n;
	char buf[6000], want[6000];

	tt_setup(&t, &pm, TIER_SIZE, backends[_i], "tier_thread=0");
	mount_ok();
	a = tt_create(&t, "a");
	tt_write_pat(&t, a, 3, 0, 256 << 10, 64 << 10);
	ck_assert_int_eq(pmfs2_tier_migrate(tt_sbi(&t), UINT64_MAX), 64);
	n = 8;
	ck_assert_int_eq(pmfs2_ops.get_extents(&t.sb, a, 0, 256 << 10, 0,
					       ext, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(ext[0].pmem_off, ZUS_EXTENT_MAPPED);
	ck_assert_uint_eq(ext[0].len, 256 << 10);
	/* a write across blocks 2-3 (not aligned) */
	memset(buf, 0xab, sizeof(buf));
	ck_assert_int_eq(pmfs2_ops.write(&t.sb, a, buf, sizeof(buf), 9000),
			 sizeof(buf));
	tt_where(&t, a, &tierb, &pmemb);
	ck_assert_uint_eq(pmemb, 2);
	ck_assert_uint_eq(tierb, 62);
	/* get_extents for writing promotes too, and returns pmem */
	n = 8;
	ck_assert_int_eq(pmfs2_ops.get_extents(&t.sb, a, 40960, 8192,
					       ZUS_GE_WRITE, ext, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_lt(ext[0].pmem_off, PMEM_SIZE);
	n = 8;
	ck_assert_int_eq(pmfs2_ops.get_extents(&t.sb, a, 0, 256 << 10, 0,
					       ext, &n), 0);
	/* blocks 2, 3, 10, 11 on pmem, the rest in map mode */
	for (unsigned int i = 0, pos = 0; i < n; i++) {
		ck_assert_uint_eq(ext[i].file_off, pos);
		for (uint64_t b = pos / 4096; b < (pos + ext[i].len) / 4096;
		     b++) {
			bool on_pmem = b == 2 || b == 3 || b == 10 || b == 11;

			ck_assert_msg(on_pmem == (ext[i].pmem_off !=
						  ZUS_EXTENT_MAPPED),
				      "block %llu", (unsigned long long)b);
		}
		pos += (unsigned int)ext[i].len;
		if (i == n - 1)
			ck_assert_uint_eq(pos, 256 << 10);
	}
	tt_umount(&t);
	ck_assert_uint_eq(tt_fsck(&t), 0);
	mount_ok();
	ck_assert_int_eq(pmfs2_ops.read(&t.sb, a, buf, sizeof(buf), 9000),
			 sizeof(buf));
	memset(want, 0xab, sizeof(want));
	ck_assert_mem_eq(buf, want, sizeof(buf));
	ck_assert_uint_eq(tt_check_pat(&t, a, 3, 0, 9000, 4096), 0);
	ck_assert_uint_eq(tt_check_pat(&t, a, 3, 15000, (256 << 10) - 15000,
				       7777), 0);
	/* punch and truncate give the tier space back */
	tfree = tt_status(&t).tier_free_bytes;
	ck_assert_int_eq(pmfs2_ops.fallocate(&t.sb, a, ZUS_FALLOC_PUNCH_HOLE |
					     ZUS_FALLOC_KEEP_SIZE, 65536,
					     65536), 0);
	ck_assert_uint_eq(tt_status(&t).tier_free_bytes, tfree + 65536);
	{
		struct zus_setattr sa = { .valid = ZUS_SET_SIZE, .size = 5000 };
		struct zus_attr at;

		ck_assert_int_eq(pmfs2_ops.setattr(&t.sb, a, &sa, &at), 0);
	}
	/* block 0 stays on the tier, block 1 (partial) came back */
	ck_assert_uint_eq(tt_status(&t).tier_free_bytes,
			  tt_status(&t).tier_bytes - 4096);
	ck_assert_uint_eq(tt_check_pat(&t, a, 3, 0, 5000, 4096), 0);
	ck_assert_int_eq(pmfs2_ops.unlink(&t.sb, PMFS2_ROOT_INO, "a", 1), 0);
	pmfs2_ops.evict(&t.sb, a);
	ck_assert_uint_eq(tt_status(&t).tier_free_bytes,
			  tt_status(&t).tier_bytes);
	tt_umount(&t);
	ck_assert_uint_eq(tt_fsck(&t), 0);
}
END_TEST

/* A missing, foreign or damaged tier is refused, naming the tier UUID. */
START_TEST(tier_refused)
{
	struct zus_pmem pm2 = tt_pmem_new(PMEM_SIZE);
	struct tt other;
	char want[37];
	static const char hx[] = "0123456789abcdef";
	unsigned int o = 0;
	char saved;
	int fd;

	tt_setup(&t, &pm, TIER_SIZE, backends[_i], "tier_thread=0");
	for (unsigned int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			want[o++] = '-';
		want[o++] = hx[t.tier_uuid[i] >> 4];
		want[o++] = hx[t.tier_uuid[i] & 15];
	}
	want[o] = 0;
	/* missing */
	t.sb.ntier = 0;
	ck_assert_int_eq(tt_mount(&t), -ENODEV);
	ck_assert_ptr_nonnull(strstr(t.errlog, want));
	ck_assert_ptr_nonnull(strstr(t.errlog, "not found"));
	/* no backend loaded */
	t.sb.ntier = 1;
	t.sb.tier_backend = NULL;
	t.errlog[0] = 0;
	ck_assert_int_eq(tt_mount(&t), -ENODEV);
	ck_assert_ptr_nonnull(strstr(t.errlog, want));
	t.sb.tier_backend = backends[_i];
	/* foreign: another filesystem's tier */
	tt_setup(&other, &pm2, TIER_SIZE, backends[_i], "tier_thread=0");
	t.sb.tier = &other.dev;
	t.errlog[0] = 0;
	ck_assert_int_eq(tt_mount(&t), -ESTALE);
	ck_assert_ptr_nonnull(strstr(t.errlog, "foreign"));
	ck_assert_ptr_nonnull(strstr(t.errlog, want));
	/* ... but that filesystem mounts with it */
	ck_assert_int_eq(tt_mount(&other), 0);
	tt_umount(&other);
	tt_cleanup(&other);
	tt_pmem_free(&pm2);
	t.sb.tier = &t.dev;
	/* damaged header */
	fd = open(t.path, O_RDWR);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pread(fd, &saved, 1, 40), 1);
	{
		/* a byte that differs from what is there (1 in 256 was 'x') */
		char bad = (char)(saved ^ 0xff);

		ck_assert_int_eq(pwrite(fd, &bad, 1, 40), 1);
	}
	t.errlog[0] = 0;
	ck_assert_int_ne(tt_mount(&t), 0);
	ck_assert_ptr_nonnull(strstr(t.errlog, "damaged"));
	ck_assert_int_eq(pwrite(fd, &saved, 1, 40), 1);
	close(fd);
	/* bad options */
	snprintf(t.opts, sizeof(t.opts), "tier_low=30,tier_high=20");
	ck_assert_int_eq(tt_mount(&t), -EINVAL);
	snprintf(t.opts, sizeof(t.opts), "tier_thread=0");
	mount_ok();
}
END_TEST

/* fsck: tier pointers are data; a tier block used twice or the header
 * block used as data are errors; mount refuses a double reference. */
START_TEST(fsck_tier_pointers)
{
	struct pmfs2_inode *pi;
	uint64_t a, *s0, *s1, keep;
	struct pmfs2_sbi *sbi;

	tt_setup(&t, &pm, TIER_SIZE, backends[_i], "tier_thread=0");
	mount_ok();
	a = tt_create(&t, "a");
	tt_write_pat(&t, a, 4, 0, 64 << 10, 64 << 10);
	ck_assert_int_eq(pmfs2_tier_migrate(tt_sbi(&t), UINT64_MAX), 16);
	sbi = tt_sbi(&t);
	pi = pmfs2_inode_at(&t.sb.pmem, &sbi->s, a);
	ck_assert_int_eq(pmfs2_bmap_slot(sbi, pi, 0, &s0), 0);
	ck_assert_int_eq(pmfs2_bmap_slot(sbi, pi, 1, &s1), 0);
	ck_assert(*s0 & PMFS2_PTR_TIER);
	tt_umount(&t);
	ck_assert_uint_eq(tt_fsck(&t), 0);
	keep = *s1;
	*s1 = *s0;			/* one tier block, two references */
	ck_assert_uint_gt(tt_fsck(&t), 0);
	t.errlog[0] = 0;
	ck_assert_int_eq(tt_mount(&t), -EUCLEAN);
	ck_assert_ptr_nonnull(strstr(t.errlog, "referenced twice"));
	*s1 = PMFS2_PTR_TIER | 0;	/* the tier header block */
	ck_assert_uint_gt(tt_fsck(&t), 0);
	*s1 = PMFS2_PTR_TIER | (TIER_SIZE / 4096);	/* past the end */
	ck_assert_uint_gt(tt_fsck(&t), 0);
	*s1 = keep;
	ck_assert_uint_eq(tt_fsck(&t), 0);
	mount_ok();
	ck_assert_uint_eq(tt_check_pat(&t, a, 4, 0, 64 << 10, 4096), 0);
}
END_TEST

/* [off, off + len) of ino holds the pattern written at src */
static void check_moved(uint64_t ino, uint64_t seed, uint64_t off,
			uint64_t len, uint64_t src)
{
	char *want = malloc(len), *got = malloc(len);

	tt_pattern(want, len, seed, src);
	ck_assert_int_eq(pmfs2_ops.read(&t.sb, ino, got, len, off),
			 (ssize_t)len);
	for (uint64_t i = 0; i < len; i++)
		if (got[i] != want[i])
			ck_abort_msg("byte %llu differs (source %llu)",
				     (unsigned long long)(off + i),
				     (unsigned long long)(src + i));
	free(want);
	free(got);
}

/*
 * Collapse and insert range move tier pointers with the pmem ones: the data
 * reads back shifted, tiered blocks collapsed away go back to the tier, and
 * the moved blocks can be written (promoted) and migrated again.
 */
START_TEST(collapse_insert_tiered)
{
	const uint64_t B = 4096;
	uint64_t a, tierb, pmemb, tfree, pfree;
	char buf[100];

	tt_setup(&t, &pm, TIER_SIZE, backends[_i], "tier_thread=0");
	mount_ok();
	a = tt_create(&t, "a");
	tt_write_pat(&t, a, 5, 0, 64 * B, 64 << 10);
	ck_assert_int_eq(pmfs2_tier_migrate(tt_sbi(&t), UINT64_MAX), 64);
	/* blocks 10 and 11 back on pmem (a write promotes) */
	tt_write_pat(&t, a, 5, 10 * B, 2 * B, B);
	tt_where(&t, a, &tierb, &pmemb);
	ck_assert_uint_eq(tierb, 62);
	ck_assert_uint_eq(pmemb, 2);
	/* tiered blocks 4..7 go */
	tfree = tt_status(&t).tier_free_bytes;
	ck_assert_int_eq(pmfs2_ops.fallocate(&t.sb, a, ZUS_FALLOC_COLLAPSE_RANGE,
					     4 * B, 4 * B), 0);
	ck_assert_uint_eq(tt_status(&t).tier_free_bytes, tfree + 4 * B);
	tt_where(&t, a, &tierb, &pmemb);
	ck_assert_uint_eq(tierb, 58);
	ck_assert_uint_eq(pmemb, 2);
	check_moved(a, 5, 0, 4 * B, 0);
	check_moved(a, 5, 4 * B, 56 * B, 8 * B);
	/* a mixed range (pmem blocks 6, 7 = old 10, 11) goes */
	pfree = tt_status(&t).pmem_free_bytes;
	ck_assert_int_eq(pmfs2_ops.fallocate(&t.sb, a, ZUS_FALLOC_COLLAPSE_RANGE,
					     5 * B, 3 * B), 0);
	ck_assert_uint_eq(tt_status(&t).pmem_free_bytes, pfree + 2 * B);
	ck_assert_uint_eq(tt_status(&t).tier_free_bytes, tfree + 5 * B);
	check_moved(a, 5, 4 * B, B, 8 * B);
	check_moved(a, 5, 5 * B, 52 * B, 12 * B);
	/* a hole of 3 at block 1: every tier pointer from there moves up */
	ck_assert_int_eq(pmfs2_ops.fallocate(&t.sb, a, ZUS_FALLOC_INSERT_RANGE,
					     B, 3 * B), 0);
	tt_where(&t, a, &tierb, &pmemb);
	ck_assert_uint_eq(tierb, 57);
	ck_assert_uint_eq(pmemb, 0);
	check_moved(a, 5, 0, B, 0);
	memset(buf, 0x55, sizeof(buf));
	ck_assert_int_eq(pmfs2_ops.read(&t.sb, a, buf, sizeof(buf), B + 7),
			 sizeof(buf));
	for (unsigned int i = 0; i < sizeof(buf); i++)
		ck_assert_int_eq(buf[i], 0);
	check_moved(a, 5, 4 * B, 3 * B, B);
	check_moved(a, 5, 8 * B, 52 * B, 12 * B);
	tt_umount(&t);
	ck_assert_uint_eq(tt_fsck(&t), 0);
	mount_ok();
	check_moved(a, 5, 8 * B, 52 * B, 12 * B);
	/* a moved tier block is promoted by a write, then migrates again */
	memset(buf, 0xcd, sizeof(buf));
	ck_assert_int_eq(pmfs2_ops.write(&t.sb, a, buf, sizeof(buf), 20 * B),
			 sizeof(buf));
	tt_where(&t, a, &tierb, &pmemb);
	ck_assert_uint_eq(pmemb, 1);
	ck_assert_int_eq(pmfs2_tier_migrate(tt_sbi(&t), UINT64_MAX), 1);
	check_moved(a, 5, 8 * B, 12 * B, 12 * B);
	check_moved(a, 5, 20 * B + sizeof(buf), 40 * B - sizeof(buf),
		    24 * B + sizeof(buf));
	ck_assert_int_eq(pmfs2_ops.unlink(&t.sb, PMFS2_ROOT_INO, "a", 1), 0);
	pmfs2_ops.evict(&t.sb, a);
	ck_assert_uint_eq(tt_status(&t).tier_free_bytes,
			  tt_status(&t).tier_bytes);
	tt_umount(&t);
	ck_assert_uint_eq(tt_fsck(&t), 0);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("tier");
	TCase *tc = tcase_create("tier");
	int nb = (int)(sizeof(backends) / sizeof(backends[0]));

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 600);
	tcase_add_loop_test(tc, fill_far_past_pmem, 0, nb);
	tcase_add_loop_test(tc, background_migrator, 0, nb);
	tcase_add_loop_test(tc, hot_data_promoted, 0, nb);
	tcase_add_loop_test(tc, write_and_extents_on_tiered, 0, nb);
	tcase_add_loop_test(tc, collapse_insert_tiered, 0, nb);
	tcase_add_loop_test(tc, tier_refused, 0, nb);
	tcase_add_loop_test(tc, fsck_tier_pointers, 0, 1);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(suite());
	int failed;

	srandom((unsigned int)time(NULL) ^ (unsigned int)getpid());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
