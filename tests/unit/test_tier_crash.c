// SPDX-License-Identifier: BSD-2-Clause
/*
 * test_tier_crash.c - power cuts during migration and promotion.
 *
 * pmem is simulated (tests/lib/pmem_sim): what survives a cut is what was
 * flushed and fenced, plus a random subset of the other 8-byte stores.  The
 * tier is memtier (test_tier_util.h): what survives is what the backend
 * flushed.  The power is cut at EVERY fence of: migrating all data to the
 * tier, promoting hot data back, writing into tiered data (promote on
 * write), punching tiered blocks and filling pmem far past its size (the
 * writer drives migration).  Each crash image is mounted (recovery, tier
 * space rebuilt, double references refused), every file must read back
 * intact (the file being written: each byte old or new; the file being
 * filled: a prefix, intact), the filesystem must take new work, and fsck
 * must find it clean.
 *
 * A negative control runs the migration with a broken tier (writes never
 * made durable) and requires the same verification to catch lost data: the
 * test would notice a flip made before the tier copy is durable.
 *
 *   ZUFS_TIER_CRASH_SEED=N   seed (default: time-based, printed)
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "pmem_sim.h"
#include "test_tier_util.h"

#define PMEM_SIZE	(8u << 20)
#define TIER_SIZE	(24u << 20)
#define MiB		(1ull << 20)

struct fspec {
	const char *name;
	uint64_t size, seed, ino;
};

static struct fspec files[] = {
	{ "a", 40000, 1, 0 },
	{ "b", 1 * MiB, 2, 0 },
	{ "c", 3 * MiB + 100, 3, 0 },
	{ "d", 3 * 4096, 4, 0 },
};
#define NFILES	(sizeof(files) / sizeof(files[0]))

enum phase { PH_NONE, PH_WRITE, PH_PUNCH, PH_FILL };

struct crash {
	struct pmem_sim *ps;
	struct tt *live;
	uint64_t rng;
	bool assert_ok;			/* false: count failures only */
	unsigned int cuts, failures;
	unsigned int gap;		/* cut every fence (<= 1) or sample */
	char first[512];
	/* the operation in flight */
	enum phase phase;
	uint64_t off, len, seed_new;	/* PH_WRITE / PH_PUNCH on file c */
	uint64_t fill_ino, fill_seed;	/* PH_FILL: a prefix of the pattern */
};

static uint64_t xs(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

static bool cfail(struct crash *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static bool cfail(struct crash *c, const char *fmt, ...)
{
	va_list ap;

	if (!c->failures++) {
		va_start(ap, fmt);
		vsnprintf(c->first, sizeof(c->first), fmt, ap);
		va_end(ap);
	}
	return false;
}

/* File f of the crash image t: intact, or old/new inside the op's range. */
static bool verify_file(struct crash *c, struct tt *t, const struct fspec *f)
{
	uint64_t size = f->size;
	struct zus_attr a;
	char *got, *old, *new;
	bool ok = true;

	if (pmfs2_ops.getattr(&t->sb, f->ino, &a))
		return cfail(c, "%s: getattr", f->name);
	if (a.size != size)
		return cfail(c, "%s: size %" PRIu64, f->name, a.size);
	got = malloc(size);
	old = malloc(size);
	new = malloc(size);
	ck_assert(got && old && new);
	if (pmfs2_ops.read(&t->sb, f->ino, got, size, 0) != (ssize_t)size) {
		ok = cfail(c, "%s: short read", f->name);
		goto out;
	}
	tt_pattern(old, size, f->seed, 0);
	memcpy(new, old, size);
	if (c->phase == PH_WRITE && f == &files[2])
		tt_pattern(new + c->off, c->len, c->seed_new, c->off);
	if (c->phase == PH_PUNCH && f == &files[2])
		memset(new + c->off, 0, c->len);
	for (uint64_t i = 0; i < size; i++) {
		if (got[i] != old[i] && got[i] != new[i]) {
			ok = cfail(c, "%s: byte %" PRIu64 " lost (%#x, want %#x)",
				  f->name, i, (unsigned char)got[i],
				  (unsigned char)old[i]);
			break;
		}
	}
out:
	free(got);
	free(old);
	free(new);
	return ok;
}

static bool verify_fill(struct crash *c, struct tt *t)
{
	struct zus_attr a;
	uint64_t bad;

	if (pmfs2_ops.getattr(&t->sb, c->fill_ino, &a))
		return cfail(c, "fill: getattr");
	bad = tt_check_pat(t, c->fill_ino, c->fill_seed, 0, a.size, 1 << 20);
	if (bad)
		return cfail(c, "fill: byte %" PRIu64 " of %" PRIu64 " lost",
			    bad - 1, a.size);
	return true;
}

/* Mount the crash image, check everything, fsck it. */
static void verify(struct crash *c, void *img)
{
	struct zus_pmem pm = { .base = img, .size = PMEM_SIZE };
	struct memtier mt;
	struct tt ct;
	bool ok = true;
	int err;

	memtier_copy(&mt, &c->live->mt, true);	/* the tier after the cut */
	tt_setup_like(&ct, c->live, &pm, &mt);
	err = tt_mount(&ct);
	if (err) {
		cfail(c, "mount: %d: %s", err, ct.errlog);
		tt_cleanup(&ct);
		return;
	}
	for (unsigned int i = 0; i < NFILES && ok; i++)
		ok = verify_file(c, &ct, &files[i]);
	if (ok && c->fill_ino)
		ok = verify_fill(c, &ct);
	if (ok) {
		/* new work: a file that lands on pmem, then on the tier */
		int64_t ino = tt_lookup(&ct, "new");
		char buf[8192];

		if (ino == -ENOENT)
			ino = (int64_t)tt_create(&ct, "new");
		tt_write_pat(&ct, (uint64_t)ino, 77, 0, sizeof(buf),
			     sizeof(buf));
		if (pmfs2_tier_migrate(tt_sbi(&ct), 2) < 0 ||
		    tt_check_pat(&ct, (uint64_t)ino, 77, 0, sizeof(buf), 4096))
			ok = cfail(c, "new work failed");
	}
	tt_umount(&ct);
	if (ok && tt_fsck(&ct))
		cfail(c, "fsck found problems after the cut");
	tt_cleanup(&ct);
}

static void on_cut(struct pmem_sim *ps, uint64_t fence, void *arg)
{
	static const uint32_t keeps[] = { 0, 16384, 49152, 65536 };
	struct crash *c = arg;
	void *img = aligned_alloc(4096, PMEM_SIZE);
	unsigned int before = c->failures;

	ck_assert_ptr_nonnull(img);
	pmem_sim_crash_image(ps, img, keeps[xs(&c->rng) % 4], &c->rng);
	c->cuts++;
	verify(c, img);
	free(img);
	if (c->assert_ok)
		ck_assert_msg(c->failures == before,
			      "cut at fence %" PRIu64 " (phase %d): %s",
			      fence, c->phase, c->first);
	pmem_sim_set_cut(ps, fence + 1 + (c->gap > 1 ? xs(&c->rng) % c->gap :
					  0), on_cut, c);
}

static uint64_t seed(void)
{
	const char *e = getenv("ZUFS_TIER_CRASH_SEED");
	uint64_t s = e ? strtoull(e, NULL, 0) :
		     (uint64_t)time(NULL) ^ (uint64_t)getpid() << 20;

	return s ? s : 1;
}

static void start(struct crash *c, struct tt *live, bool durable)
{
	struct zus_pmem pm;

	memset(c, 0, sizeof(*c));
	c->rng = seed();
	fprintf(stderr, "tier crash: ZUFS_TIER_CRASH_SEED=%" PRIu64 "\n",
		c->rng);
	srandom((unsigned int)c->rng);
	c->ps = pmem_sim_new(PMEM_SIZE);
	ck_assert_ptr_nonnull(c->ps);
	c->live = live;
	c->assert_ok = durable;
	pm = *pmem_sim_pmem(c->ps);
	tt_setup(live, &pm, TIER_SIZE, NULL, "tier_thread=0");
	live->mt.durable_on_submit = durable;
	pmem_sim_sync(c->ps);
	ck_assert_int_eq(tt_mount(live), 0);
	for (unsigned int i = 0; i < NFILES; i++) {
		files[i].ino = tt_create(live, files[i].name);
		tt_write_pat(live, files[i].ino, files[i].seed, 0,
			     files[i].size, 1 << 20);
	}
	pmem_sim_sync(c->ps);
	pmem_sim_set_cut(c->ps, pmem_sim_fences(c->ps) + 1, on_cut, c);
}

static void stop(struct crash *c)
{
	pmem_sim_set_cut(c->ps, 0, NULL, NULL);
	if (c->live->mounted)
		tt_umount(c->live);
	ck_assert_uint_eq(tt_fsck(c->live), 0);
	tt_cleanup(c->live);
	pmem_sim_free(c->ps);
}

START_TEST(cut_everywhere)
{
	struct crash c;
	struct tt live;
	struct pmfs2_sbi *sbi;
	uint64_t tierb, pmemb;
	unsigned int n0, n1;
	char buf[4096];
	char *w;

	start(&c, &live, true);
	sbi = tt_sbi(&live);

	/* 1. everything to the tier */
	ck_assert_int_ge(pmfs2_tier_migrate(sbi, UINT64_MAX), 1000);
	tt_where(&live, files[1].ino, &tierb, &pmemb);
	ck_assert_uint_eq(pmemb, 0);
	n0 = c.cuts;
	ck_assert_uint_gt(n0, 5);

	/* 2. b turns hot and comes back */
	for (int i = 0; i < 6; i++)
		ck_assert_int_eq(pmfs2_ops.read(&live.sb, files[1].ino, buf,
						sizeof(buf), 0), 4096);
	ck_assert_int_eq(pmfs2_tier_run(sbi), 0);
	tt_where(&live, files[1].ino, &tierb, &pmemb);
	ck_assert_uint_eq(tierb, 0);

	/* 3. a write into tiered data of c (promote on write) */
	c.phase = PH_WRITE;
	c.off = MiB + 1000;
	c.len = 3 * 4096 + 17;
	c.seed_new = 33;
	w = malloc(c.len);
	ck_assert_ptr_nonnull(w);
	tt_pattern(w, c.len, c.seed_new, c.off);
	ck_assert_int_eq(pmfs2_ops.write(&live.sb, files[2].ino, w, c.len,
					 c.off), (ssize_t)c.len);
	free(w);
	{
		/* write the old bytes back (each byte still old or new while
		 * it runs), so later phases expect the plain pattern */
		char *o = malloc(c.len);

		ck_assert_ptr_nonnull(o);
		tt_pattern(o, c.len, 3, c.off);
		ck_assert_int_eq(pmfs2_ops.write(&live.sb, files[2].ino, o,
						 c.len, c.off), (ssize_t)c.len);
		free(o);
	}
	c.phase = PH_NONE;

	/* 4. punch tiered blocks of c (tier space freed after commit) */
	ck_assert_int_ge(pmfs2_tier_migrate(sbi, UINT64_MAX), 1);
	c.phase = PH_PUNCH;
	c.off = 2 * MiB;
	c.len = 256 << 10;
	ck_assert_int_eq(pmfs2_ops.fallocate(&live.sb, files[2].ino,
					     ZUS_FALLOC_PUNCH_HOLE |
					     ZUS_FALLOC_KEEP_SIZE,
					     c.off, c.len), 0);
	/* restore the pattern (bytes zero or pattern while it runs) */
	tt_write_pat(&live, files[2].ino, 3, c.off, c.len, 1 << 20);
	c.phase = PH_NONE;

	/* 5. fill pmem far past its size: writers drive migration (the
	 * transactions of the writes themselves are the model and crash
	 * tests' business: sample the cut points here) */
	n1 = c.cuts;
	c.gap = 24;
	c.fill_seed = 55;
	c.fill_ino = tt_create(&live, "fill");
	tt_write_pat(&live, c.fill_ino, c.fill_seed, 0, 12 * MiB, 1 << 20);
	ck_assert_uint_eq(tt_check_pat(&live, c.fill_ino, c.fill_seed, 0,
				       12 * MiB, 1 << 20), 0);
	ck_assert_uint_gt(tt_status(&live).migrated_bytes, PMEM_SIZE);
	fprintf(stderr, "tier crash: %u cuts verified (%u in the first migration, %u before the fill)\n",
		c.cuts, n0, n1);
	ck_assert_uint_gt(c.cuts, 50);
	ck_assert_uint_eq(c.failures, 0);
	stop(&c);
}
END_TEST

/* The verification catches a backend that does not make writes durable. */
START_TEST(broken_backend_caught)
{
	struct crash c;
	struct tt live;

	start(&c, &live, false);
	ck_assert_int_ge(pmfs2_tier_migrate(tt_sbi(&live), UINT64_MAX), 1000);
	fprintf(stderr, "tier crash (broken tier): %u cuts, %u caught: %s\n",
		c.cuts, c.failures, c.first);
	ck_assert_uint_gt(c.cuts, 5);
	ck_assert_uint_gt(c.failures, 0);
	pmem_sim_set_cut(c.ps, 0, NULL, NULL);
	tt_umount(&live);
	tt_cleanup(&live);
	pmem_sim_free(c.ps);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("tier_crash");
	TCase *tc = tcase_create("crash");

	tcase_set_timeout(tc, 900);
	tcase_add_test(tc, cut_everywhere);
	tcase_add_test(tc, broken_backend_caught);
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
