// SPDX-License-Identifier: BSD-2-Clause
/*
 * test_pmfs2_dir.c - the extendible-hash directory: 100,000 entries created
 * and looked up within a time bound, readdir in hash order with cookies that
 * resume exactly (every name once, across removals and index growth),
 * removal, and the index surviving a remount and fsck.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "test_pmfs2_util.h"

#define NENTRIES	100000

static struct tfs t;
static uint64_t root;

static void setup(void)
{
	tfs_init(&t, 160 << 20, NENTRIES + 1000);
	root = tfs_root(&t);
}

static void teardown(void)
{
	tfs_fini(&t);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

struct seen {
	unsigned char *hit;	/* per entry number */
	unsigned long n, dots, dup, bad;
	uint64_t last_cookie;
	unsigned int limit;	/* stop after this many per call */
	unsigned int taken;
};

static int fill(void *ctx, const char *name, size_t len, uint64_t ino,
		unsigned int dtype, uint64_t next)
{
	struct seen *s = ctx;
	char buf[64];
	unsigned long k;

	if (s->limit && s->taken == s->limit)
		return 1;
	s->taken++;
	s->last_cookie = next;
	if ((len == 1 && name[0] == '.') ||
	    (len == 2 && name[0] == '.' && name[1] == '.')) {
		s->dots++;
		return 0;
	}
	if (len >= sizeof(buf) || dtype != ZUS_DT_REG) {
		s->bad++;
		return 0;
	}
	memcpy(buf, name, len);
	buf[len] = 0;
	if (sscanf(buf, "entry-%lu", &k) != 1 || k >= NENTRIES) {
		s->bad++;
		return 0;
	}
	if (s->hit[k])
		s->dup++;
	s->hit[k] = 1;
	s->n++;
	return 0;
}

/* Read the whole directory, at most `limit` entries per call. */
static void read_all(uint64_t dir, struct seen *s, unsigned int limit)
{
	uint64_t cookie = 0;

	s->limit = limit;
	for (;;) {
		s->taken = 0;
		ck_assert_int_eq(t.ops->readdir(&t.sb, dir, cookie, fill, s),
				 0);
		if (!s->taken)
			break;
		ck_assert_uint_gt(s->last_cookie, cookie);
		cookie = s->last_cookie;
		if (!limit)
			break;
	}
}

START_TEST(hundred_thousand)
{
	static const struct zus_creds cr;
	uint64_t d = tfs_mkdir(&t, root, "big");
	struct seen s = { .hit = calloc(NENTRIES, 1) };
	char name[32];
	double t0, t1, t2;

	t0 = now_s();
	for (unsigned long i = 0; i < NENTRIES; i++) {
		int n = snprintf(name, sizeof(name), "entry-%lu", i);

		ck_assert_int_eq(t.ops->create(&t.sb, d, name, (size_t)n,
					       S_IFREG | 0644, 0, &cr, NULL),
				 0);
	}
	t1 = now_s();
	for (unsigned long i = 0; i < NENTRIES; i++) {
		snprintf(name, sizeof(name), "entry-%lu", i);
		ck_assert_int_gt(tfs_lookup(&t, d, name), 0);
	}
	t2 = now_s();
	fprintf(stderr, "100000 creates: %.2fs, lookups: %.2fs\n", t1 - t0,
		t2 - t1);
	/* generous for ASan on a slow builder; a linear scan takes minutes */
	ck_assert_msg(t1 - t0 < 60 && t2 - t1 < 20, "directory is too slow");
	ck_assert_int_eq(tfs_lookup(&t, d, "entry-100000"), -ENOENT);

	read_all(d, &s, 0);
	ck_assert_uint_eq(s.n, NENTRIES);
	ck_assert_uint_eq(s.dots, 2);
	ck_assert_uint_eq(s.dup + s.bad, 0);

	/* remove every third entry, then resume readdir 97 at a time */
	for (unsigned long i = 0; i < NENTRIES; i += 3) {
		int n = snprintf(name, sizeof(name), "entry-%lu", i);
		int64_t ino = tfs_lookup(&t, d, name);

		ck_assert_int_eq(t.ops->unlink(&t.sb, d, name, (size_t)n), 0);
		t.ops->evict(&t.sb, (uint64_t)ino);
	}
	memset(s.hit, 0, NENTRIES);
	s.n = s.dots = 0;
	read_all(d, &s, 97);
	ck_assert_uint_eq(s.n, NENTRIES - (NENTRIES + 2) / 3);
	ck_assert_uint_eq(s.dup + s.bad, 0);
	for (unsigned long i = 0; i < NENTRIES; i++)
		ck_assert_int_eq(s.hit[i], i % 3 != 0);

	tfs_umount(&t);
	ck_assert_uint_eq(tfs_fsck(&t), 0);
	ck_assert_int_eq(tfs_mount(&t), 0);
	ck_assert_int_gt(tfs_lookup(&t, d, "entry-99998"), 0);
	ck_assert_int_eq(tfs_lookup(&t, d, "entry-99999"), -ENOENT);
	free(s.hit);
}
END_TEST

/* a cookie stays valid while entries come and go */
START_TEST(cookie_stable)
{
	uint64_t d = tfs_mkdir(&t, root, "d");
	struct seen s = { .hit = calloc(NENTRIES, 1) };
	char name[32];
	uint64_t cookie;

	for (unsigned long i = 0; i < 1000; i++) {
		snprintf(name, sizeof(name), "entry-%lu", i);
		tfs_create(&t, d, name);
	}
	s.limit = 300;
	ck_assert_int_eq(t.ops->readdir(&t.sb, d, 0, fill, &s), 0);
	cookie = s.last_cookie;
	/* grow the index a lot, then go on from the cookie */
	for (unsigned long i = 1000; i < 5000; i++) {
		snprintf(name, sizeof(name), "entry-%lu", i);
		tfs_create(&t, d, name);
	}
	s.limit = 0;
	s.taken = 0;
	ck_assert_int_eq(t.ops->readdir(&t.sb, d, cookie, fill, &s), 0);
	for (unsigned long i = 0; i < 1000; i++)
		ck_assert_msg(s.hit[i], "entry-%lu lost", i);
	ck_assert_uint_eq(s.dup, 0);
	free(s.hit);
}
END_TEST

START_TEST(empty_and_dots)
{
	uint64_t d = tfs_mkdir(&t, root, "d");
	struct seen s = { .hit = calloc(NENTRIES, 1) };

	read_all(d, &s, 0);
	ck_assert_uint_eq(s.dots, 2);
	ck_assert_uint_eq(s.n, 0);
	s.dots = 0;
	s.limit = 1;
	s.taken = 0;
	ck_assert_int_eq(t.ops->readdir(&t.sb, d, 1, fill, &s), 0);
	ck_assert_uint_eq(s.dots, 1);
	ck_assert_uint_eq(s.last_cookie, 2);
	tfs_create(&t, d, "entry-1");
	ck_assert_int_eq(t.ops->unlink(&t.sb, d, "entry-1", 7), 0);
	ck_assert_int_eq(t.ops->rmdir(&t.sb, root, "d", 1), 0);
	free(s.hit);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("pmfs2_dir");
	TCase *tc = tcase_create("dir");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, hundred_thousand);
	tcase_add_test(tc, cookie_stable);
	tcase_add_test(tc, empty_and_dots);
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
