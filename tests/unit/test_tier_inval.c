// SPDX-License-Identifier: BSD-2-Clause
/*
 * test_tier_inval.c - pmfs2 tiering and a host that caches extents (the
 * zuf kernel transport): the zus_invalidate() hook is called for every
 * range the migrator moves, while the old pmem block is still mapped and
 * allocated and before the content is compared (a store through a stale
 * extent is never lost); a host that cannot let go (-EBUSY) keeps the
 * blocks where they are; background promotion tells the host too; and
 * get_extents with ZUS_GE_PROMOTE (a DAX fault) brings tiered data back to
 * pmem and leaves holes alone; a read buffer that the tier device cannot
 * DMA into (zuf's window) is served through a bounce buffer.  Memory tier
 * (memtier), no migrator thread.
 */
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "test_tier_util.h"

#define PMEM_SIZE	(8u << 20)
#define TIER_SIZE	(64u << 20)
#define KiB		(1ull << 10)
#define MiB		(1ull << 20)
#define MAX_CALLS	4096

struct call {
	uint64_t ino, off, len;
	bool all_pmem;		/* every block of the range still on pmem */
	bool all_alloc;		/* ... and still allocated */
	bool none_pmem;		/* every mapped block of it is on the tier */
};

static struct zus_pmem pm;
static struct tt t;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct call calls[MAX_CALLS];
static unsigned int ncalls;
static int hook_ret;
/* stores through an extent the host got before the migration */
static uint8_t *stale_dst;
static uint64_t stale_ino;
static unsigned int nstale;

static bool blk_alloc(struct pmfs2_sbi *sbi, uint64_t b)
{
	bool r;

	pthread_mutex_lock(&sbi->alloc_lock);
	r = pmfs2_test_bit(sbi->bmap, b);
	pthread_mutex_unlock(&sbi->alloc_lock);
	return r;
}

static int hook(struct zus_sb *sb, uint64_t ino, uint64_t off, uint64_t len)
{
	struct pmfs2_sbi *sbi = PMFS2_SBI(sb);
	struct pmfs2_inode *pi = pmfs2_inode_at(&sb->pmem, &sbi->s, ino);
	struct call c = { .ino = ino, .off = off, .len = len,
			  .all_pmem = true, .all_alloc = true,
			  .none_pmem = true };

	ck_assert_ptr_nonnull(pi);
	for (uint64_t b = off / 4096; b < (off + len) / 4096; b++) {
		uint64_t ptr;

		ck_assert_int_eq(pmfs2_bmap_lookup_ptr(sbi, pi, b, &ptr), 0);
		if (!ptr)
			continue;
		if (ptr & PMFS2_PTR_TIER) {
			c.all_pmem = false;
		} else {
			c.none_pmem = false;
			if (!blk_alloc(sbi, ptr))
				c.all_alloc = false;
		}
	}
	if (stale_dst && ino == stale_ino) {
		/* the kernel's copy that was running when it was told */
		memset(stale_dst, 0x5a + (int)nstale, 4096);
		nstale++;
	}
	pthread_mutex_lock(&lock);
	if (ncalls < MAX_CALLS)
		calls[ncalls++] = c;
	pthread_mutex_unlock(&lock);
	return hook_ret;
}

static void setup(void)
{
	pm = tt_pmem_new(PMEM_SIZE);
	ncalls = 0;
	hook_ret = 0;
	stale_dst = NULL;
	nstale = 0;
}

static void teardown(void)
{
	tt_cleanup(&t);
	tt_pmem_free(&pm);
}

static void mount_hooked(const char *opts)
{
	int err;

	tt_setup(&t, &pm, TIER_SIZE, NULL, opts);
	t.sb.invalidate = hook;
	err = tt_mount(&t);
	ck_assert_msg(!err, "mount: %d: %s", err, t.errlog);
}

/* Is block lblk of ino inside a recorded call? */
static const struct call *covering(uint64_t ino, uint64_t lblk)
{
	for (unsigned int i = 0; i < ncalls; i++)
		if (calls[i].ino == ino && lblk * 4096 >= calls[i].off &&
		    lblk * 4096 < calls[i].off + calls[i].len)
			return &calls[i];
	return NULL;
}

/* Every block that moved was invalidated first, while still on pmem. */
START_TEST(migration_invalidates_moved_ranges)
{
	uint64_t a, b, tierb, pmemb;
	int64_t moved;

	mount_hooked("tier_thread=0");
	a = tt_create(&t, "a");
	b = tt_create(&t, "b");
	tt_write_pat(&t, a, 1, 0, 1 * MiB, 256 * KiB);
	tt_write_pat(&t, b, 2, 0, 512 * KiB, 100 * KiB);
	ck_assert_uint_eq(ncalls, 0);
	moved = pmfs2_tier_migrate(tt_sbi(&t), UINT64_MAX);
	ck_assert_int_ge(moved, 256 + 128);
	ck_assert_uint_gt(ncalls, 0);
	for (unsigned int i = 0; i < ncalls; i++) {
		ck_assert_msg(calls[i].all_pmem && calls[i].all_alloc,
			      "call %u (ino %llu @%llu+%llu) after a flip or free",
			      i, (unsigned long long)calls[i].ino,
			      (unsigned long long)calls[i].off,
			      (unsigned long long)calls[i].len);
		ck_assert_uint_gt(calls[i].len, 0);
		ck_assert_uint_eq(calls[i].off % 4096, 0);
	}
	for (uint64_t l = 0; l < 256; l++)
		ck_assert_msg(covering(a, l), "a: block %llu moved unannounced",
			      (unsigned long long)l);
	for (uint64_t l = 0; l < 128; l++)
		ck_assert_msg(covering(b, l), "b: block %llu moved unannounced",
			      (unsigned long long)l);
	tt_where(&t, a, &tierb, &pmemb);
	ck_assert_uint_eq(tierb, 256);
	tt_where(&t, b, &tierb, &pmemb);
	ck_assert_uint_eq(tierb, 128);
	ck_assert_uint_eq(tt_check_pat(&t, a, 1, 0, MiB, 64 * KiB), 0);
	ck_assert_uint_eq(tt_check_pat(&t, b, 2, 0, 512 * KiB, 64 * KiB), 0);
	tt_umount(&t);
	ck_assert_uint_eq(tt_fsck(&t), 0);
}
END_TEST

/*
 * Stores through an extent the host cached before the migration, finishing
 * each time the host is being told: that block must stay on pmem with the
 * last bytes stored (the compare comes after the invalidation), the others
 * move.
 */
START_TEST(store_during_invalidate_not_lost)
{
	struct zus_extent ext[4];
	unsigned int n = 4;
	uint64_t a, tierb, pmemb;
	uint8_t buf[4096], want[4096];

	mount_hooked("tier_thread=0");
	a = tt_create(&t, "a");
	tt_write_pat(&t, a, 7, 0, 256 * KiB, 256 * KiB);
	/* what the kernel caches: block 5 of a */
	ck_assert_int_eq(pmfs2_ops.get_extents(&t.sb, a, 5 * 4096, 4096, 0,
					       ext, &n), 0);
	ck_assert_uint_ge(n, 1);
	ck_assert_uint_lt(ext[0].pmem_off, PMEM_SIZE);
	stale_dst = (uint8_t *)t.sb.pmem.base + ext[0].pmem_off +
		    (5 * 4096 - ext[0].file_off);
	stale_ino = a;
	ck_assert_int_eq(pmfs2_tier_migrate(tt_sbi(&t), UINT64_MAX), 63);
	ck_assert_uint_gt(nstale, 0);	/* the hook ran */
	stale_dst = NULL;
	tt_where(&t, a, &tierb, &pmemb);
	ck_assert_uint_eq(pmemb, 1);
	ck_assert_uint_eq(tierb, 63);
	ck_assert_int_eq(pmfs2_ops.read(&t.sb, a, buf, sizeof(buf), 5 * 4096),
			 4096);
	memset(want, 0x5a + (int)nstale - 1, sizeof(want));
	ck_assert_mem_eq(buf, want, sizeof(buf));
	ck_assert_uint_eq(tt_check_pat(&t, a, 7, 0, 5 * 4096, 4096), 0);
	ck_assert_uint_eq(tt_check_pat(&t, a, 7, 6 * 4096, 58 * 4096, 4096),
			  0);
	tt_umount(&t);
	ck_assert_uint_eq(tt_fsck(&t), 0);
}
END_TEST

/* A host that cannot let go of its extents: nothing moves, nothing lost. */
START_TEST(busy_host_keeps_blocks)
{
	struct zus_tier_status st;
	uint64_t a, tierb, pmemb;

	mount_hooked("tier_thread=0");
	a = tt_create(&t, "a");
	tt_write_pat(&t, a, 3, 0, 1 * MiB, 1 * MiB);
	hook_ret = -EBUSY;
	ck_assert_int_eq(pmfs2_tier_migrate(tt_sbi(&t), 256), 0);
	ck_assert_uint_gt(ncalls, 0);
	tt_where(&t, a, &tierb, &pmemb);
	ck_assert_uint_eq(tierb, 0);
	ck_assert_uint_eq(pmemb, 256);
	st = tt_status(&t);
	ck_assert_uint_eq(st.tier_free_bytes, st.tier_bytes);
	hook_ret = 0;
	ck_assert_int_eq(pmfs2_tier_migrate(tt_sbi(&t), 256), 256);
	ck_assert_uint_eq(tt_check_pat(&t, a, 3, 0, MiB, 100 * KiB), 0);
	tt_umount(&t);
	ck_assert_uint_eq(tt_fsck(&t), 0);
}
END_TEST

/* Background promotion tells the host, after the blocks are on pmem. */
START_TEST(promotion_invalidates)
{
	uint64_t a, tierb, pmemb;
	unsigned int before;
	const struct call *c;
	char buf[4096];

	mount_hooked("tier_thread=0");
	a = tt_create(&t, "a");
	tt_write_pat(&t, a, 4, 0, 1 * MiB, 1 * MiB);
	ck_assert_int_eq(pmfs2_tier_migrate(tt_sbi(&t), UINT64_MAX), 256);
	before = ncalls;
	for (int i = 0; i < 6; i++)
		ck_assert_int_eq(pmfs2_ops.read(&t.sb, a, buf, sizeof(buf),
						(uint64_t)i * 8192), 4096);
	ck_assert_uint_eq(ncalls, before);	/* reads move nothing */
	ck_assert_int_eq(pmfs2_tier_run(tt_sbi(&t)), 0);
	tt_where(&t, a, &tierb, &pmemb);
	ck_assert_uint_eq(pmemb, 256);
	ck_assert_uint_eq(ncalls, before + 1);
	c = &calls[before];
	ck_assert_uint_eq(c->ino, a);
	ck_assert_uint_eq(c->off, 0);
	ck_assert_uint_eq(c->len, 2 * MiB);	/* the hotness chunk */
	ck_assert(c->none_pmem == false && c->all_pmem);
	ck_assert_uint_eq(tt_check_pat(&t, a, 4, 0, MiB, 64 * KiB), 0);
}
END_TEST

/* ZUS_GE_PROMOTE: tiered data comes back to pmem, holes stay holes. */
START_TEST(get_extents_promote)
{
	struct zus_extent ext[8];
	uint64_t a, tierb, pmemb, bfree_before, bfree_after, ifree;
	unsigned int n;

	mount_hooked("tier_thread=0");
	a = tt_create(&t, "a");
	tt_write_pat(&t, a, 5, 0, 256 * KiB, 64 * KiB);
	tt_write_pat(&t, a, 5, 1 * MiB, 256 * KiB, 64 * KiB);	/* hole between */
	ck_assert_int_eq(pmfs2_tier_migrate(tt_sbi(&t), UINT64_MAX), 128);
	ck_assert_uint_eq(tt_check_pat(&t, a, 5, 0, 256 * KiB, 4096), 0);
	/* plain lookup: off pmem */
	n = 8;
	ck_assert_int_eq(pmfs2_ops.get_extents(&t.sb, a, 64 * KiB, 4096, 0,
					       ext, &n), 0);
	ck_assert_uint_eq(ext[0].pmem_off, ZUS_EXTENT_MAPPED);
	/* a fault asks for the page with the promote flag */
	n = 8;
	ck_assert_int_eq(pmfs2_ops.get_extents(&t.sb, a, 64 * KiB, 8192,
					       ZUS_GE_PROMOTE, ext, &n), 0);
	ck_assert_uint_ge(n, 1);
	ck_assert_uint_le(ext[0].file_off, 64 * KiB);
	ck_assert_uint_gt(ext[0].file_off + ext[0].len, 64 * KiB + 4096);
	ck_assert_uint_lt(ext[0].pmem_off, PMEM_SIZE);
	ck_assert_uint_eq(ext[0].pmem_off % 4096, 0);
	tt_where(&t, a, &tierb, &pmemb);
	ck_assert_uint_eq(pmemb, 2);
	ck_assert_uint_eq(tierb, 126);
	ck_assert_uint_eq(tt_check_pat(&t, a, 5, 0, 256 * KiB, 4096), 0);
	/* the page content on pmem is the file's */
	{
		uint8_t want[4096];

		tt_pattern(want, sizeof(want), 5, 64 * KiB);
		ck_assert_mem_eq((uint8_t *)t.sb.pmem.base + ext[0].pmem_off +
				 (64 * KiB - ext[0].file_off), want, 4096);
	}
	/* a hole: nothing allocated, a hole returned */
	pmfs2_alloc_counts(tt_sbi(&t), &bfree_before, &ifree);
	n = 8;
	ck_assert_int_eq(pmfs2_ops.get_extents(&t.sb, a, 512 * KiB, 4096,
					       ZUS_GE_PROMOTE, ext, &n), 0);
	ck_assert_uint_eq(ext[0].pmem_off, ZUS_EXTENT_HOLE);
	pmfs2_alloc_counts(tt_sbi(&t), &bfree_after, &ifree);
	ck_assert_uint_eq(bfree_after, bfree_before);
	/* unknown flags still refused */
	n = 8;
	ck_assert_int_eq(pmfs2_ops.get_extents(&t.sb, a, 0, 4096, 1u << 7,
					       ext, &n), -EINVAL);
	tt_umount(&t);
	ck_assert_uint_eq(tt_fsck(&t), 0);
	ck_assert_int_eq(tt_mount(&t), 0);
	ck_assert_uint_eq(tt_check_pat(&t, a, 5, 0, 256 * KiB, 4096), 0);
	ck_assert_uint_eq(tt_check_pat(&t, a, 5, MiB, 256 * KiB, 4096), 0);
}
END_TEST

/*
 * A read buffer that O_DIRECT cannot target (zuf's data window is a PFN
 * mapping of the application's pages): the tier backend fails with EFAULT;
 * the plugin must bounce through its own buffer, and keep doing so.
 */
static uint8_t win[64 * 1024] __attribute__((aligned(4096)));
static unsigned int nefault;

static int efault_submit(void *ctx, struct zus_tier_io *ios, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		if (ios[i].op == ZUS_TIER_READ &&
		    (uint8_t *)ios[i].buf >= win &&
		    (uint8_t *)ios[i].buf < win + sizeof(win)) {
			for (unsigned int j = 0; j < n; j++)
				ios[j].result = -EFAULT;
			nefault++;
			return 0;
		}
	}
	return memtier_backend.submit(ctx, ios, n);
}

START_TEST(read_into_undmaable_buffer_bounces)
{
	static struct zus_tier_backend be;
	uint8_t want[sizeof(win)];
	uint64_t a;
	int err;

	be = memtier_backend;
	be.submit = efault_submit;
	nefault = 0;
	tt_setup(&t, &pm, TIER_SIZE, NULL, "tier_thread=0");
	t.sb.tier_backend = &be;
	err = tt_mount(&t);
	ck_assert_msg(!err, "mount: %d: %s", err, t.errlog);
	a = tt_create(&t, "a");
	tt_write_pat(&t, a, 6, 0, 1 * MiB, 256 * KiB);
	ck_assert_int_eq(pmfs2_tier_migrate(tt_sbi(&t), UINT64_MAX), 256);
	for (int i = 0; i < 3; i++) {
		uint64_t off = (uint64_t)i * 256 * KiB;

		memset(win, 0, sizeof(win));
		ck_assert_int_eq(pmfs2_ops.read(&t.sb, a, win, sizeof(win), off),
				 sizeof(win));
		tt_pattern(want, sizeof(want), 6, off);
		ck_assert_mem_eq(win, want, sizeof(win));
	}
	ck_assert_uint_eq(nefault, 1);	/* tried once, then bounced */
	ck_assert_int_eq(t.nerrlog, 0);
}
END_TEST

/* Without a host hook (FUSE, in-process) zus_invalidate() is a no-op. */
START_TEST(no_hook_is_noop)
{
	struct zus_sb sb = { 0 };

	ck_assert_int_eq(zus_invalidate(&sb, 1, 0, 4096), 0);
	ck_assert_int_eq(zus_invalidate(NULL, 1, 0, 0), 0);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("tier_inval");
	TCase *tc = tcase_create("inval");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, migration_invalidates_moved_ranges);
	tcase_add_test(tc, store_during_invalidate_not_lost);
	tcase_add_test(tc, busy_host_keeps_blocks);
	tcase_add_test(tc, promotion_invalidates);
	tcase_add_test(tc, get_extents_promote);
	tcase_add_test(tc, read_into_undmaable_buffer_bounces);
	tcase_add_test(tc, no_hook_is_noop);
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
