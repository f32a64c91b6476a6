// SPDX-License-Identifier: BSD-2-Clause
/*
 * test_stats.c - the per-thread operation counters: histogram buckets,
 * percentiles, merging, and concurrent recording from many threads (more
 * threads over time than slots, so slots are reused) summing exactly.
 */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "stats.h"

START_TEST(test_buckets)
{
	ck_assert_uint_eq(zusd_stats_bucket(0), 0);
	ck_assert_uint_eq(zusd_stats_bucket(1), 0);
	ck_assert_uint_eq(zusd_stats_bucket(2), 1);
	ck_assert_uint_eq(zusd_stats_bucket(3), 1);
	ck_assert_uint_eq(zusd_stats_bucket(4), 2);
	ck_assert_uint_eq(zusd_stats_bucket(1023), 9);
	ck_assert_uint_eq(zusd_stats_bucket(1024), 10);
	ck_assert_uint_eq(zusd_stats_bucket(1500), 10);
	ck_assert_uint_eq(zusd_stats_bucket(1000000000), 29);
	ck_assert_uint_eq(zusd_stats_bucket(UINT64_C(1) << 47),
			  ZUSD_STATS_BUCKETS - 1);
	ck_assert_uint_eq(zusd_stats_bucket(UINT64_MAX),
			  ZUSD_STATS_BUCKETS - 1);

	ck_assert_uint_eq(zusd_stats_bucket_max(0), 1);
	ck_assert_uint_eq(zusd_stats_bucket_max(1), 3);
	ck_assert_uint_eq(zusd_stats_bucket_max(10), 2047);
	ck_assert_uint_eq(zusd_stats_bucket_max(ZUSD_STATS_BUCKETS - 1),
			  UINT64_MAX);
	/* every value lands in a bucket whose bounds hold it */
	for (uint64_t ns = 0; ns < 100000; ns += 7) {
		unsigned int b = zusd_stats_bucket(ns);

		ck_assert_uint_le(ns, zusd_stats_bucket_max(b));
		if (b)
			ck_assert_uint_gt(ns, zusd_stats_bucket_max(b - 1));
	}
}
END_TEST

START_TEST(test_record_and_percentiles)
{
	struct zusd_stats *s = zusd_stats_new();
	struct zusd_stats_snapshot snap;
	const struct zusd_op_stats *o;

	ck_assert_ptr_nonnull(s);
	for (int i = 0; i < 90; i++)
		zusd_stats_record(s, ZUSD_OP_READ, 1500, 4096, 0);
	for (int i = 0; i < 9; i++)
		zusd_stats_record(s, ZUSD_OP_READ, 40000, 4096, 0);
	zusd_stats_record(s, ZUSD_OP_READ, 3000000, 0, -EIO);
	zusd_stats_record(s, ZUSD_OP_LOOKUP, 100, 0, -ENOENT);
	/* out of range ops and a NULL stats are ignored */
	zusd_stats_record(s, ZUSD_OP_COUNT, 1, 1, 0);
	zusd_stats_record(NULL, ZUSD_OP_READ, 1, 1, 0);

	zusd_stats_snapshot(s, &snap);
	o = &snap.op[ZUSD_OP_READ];
	ck_assert_uint_eq(o->count, 100);
	ck_assert_uint_eq(o->errors, 1);
	ck_assert_uint_eq(o->bytes, 99 * 4096);
	ck_assert_uint_eq(o->total_ns, 90 * 1500 + 9 * 40000 + 3000000);
	ck_assert_uint_eq(o->max_ns, 3000000);
	ck_assert_uint_eq(o->hist[10], 90);	/* 1500 ns */
	ck_assert_uint_eq(o->hist[15], 9);	/* 40000 ns: [32768, 65536) */
	ck_assert_uint_eq(o->hist[21], 1);	/* 3 ms: [2097152, 4194304) */
	ck_assert_uint_eq(zusd_stats_percentile(o, 50), 2047);
	ck_assert_uint_eq(zusd_stats_percentile(o, 90), 2047);
	ck_assert_uint_eq(zusd_stats_percentile(o, 91), 65535);
	ck_assert_uint_eq(zusd_stats_percentile(o, 99), 65535);
	/* the top bucket is clipped to the maximum seen */
	ck_assert_uint_eq(zusd_stats_percentile(o, 100), 3000000);

	o = &snap.op[ZUSD_OP_LOOKUP];
	ck_assert_uint_eq(o->count, 1);
	ck_assert_uint_eq(o->errors, 1);
	ck_assert_uint_eq(zusd_stats_percentile(o, 50), 100);
	ck_assert_uint_eq(zusd_stats_percentile(&snap.op[ZUSD_OP_WRITE], 50),
			  0);
	zusd_stats_free(s);
}
END_TEST

START_TEST(test_merge)
{
	struct zusd_stats *a = zusd_stats_new(), *b = zusd_stats_new();
	struct zusd_stats_snapshot sa, sb;

	zusd_stats_record(a, ZUSD_OP_WRITE, 10, 100, 0);
	zusd_stats_record(b, ZUSD_OP_WRITE, 1000, 200, -ENOSPC);
	zusd_stats_record(b, ZUSD_OP_FSYNC, 5, 0, 0);
	zusd_stats_snapshot(a, &sa);
	zusd_stats_snapshot(b, &sb);
	zusd_stats_merge(&sa, &sb);
	ck_assert_uint_eq(sa.op[ZUSD_OP_WRITE].count, 2);
	ck_assert_uint_eq(sa.op[ZUSD_OP_WRITE].errors, 1);
	ck_assert_uint_eq(sa.op[ZUSD_OP_WRITE].bytes, 300);
	ck_assert_uint_eq(sa.op[ZUSD_OP_WRITE].total_ns, 1010);
	ck_assert_uint_eq(sa.op[ZUSD_OP_WRITE].max_ns, 1000);
	ck_assert_uint_eq(sa.op[ZUSD_OP_WRITE].hist[3], 1);
	ck_assert_uint_eq(sa.op[ZUSD_OP_WRITE].hist[9], 1);
	ck_assert_uint_eq(sa.op[ZUSD_OP_FSYNC].count, 1);
	zusd_stats_free(a);
	zusd_stats_free(b);
}
END_TEST

START_TEST(test_names)
{
	for (int i = 0; i < ZUSD_OP_COUNT; i++) {
		const char *n = zusd_op_name(i);

		ck_assert_ptr_nonnull(n);
		ck_assert_int_eq(zusd_op_from_name(n), i);
	}
	ck_assert_str_eq(zusd_op_name(ZUSD_OP_GET_EXTENTS), "get_extents");
	ck_assert_ptr_null(zusd_op_name(ZUSD_OP_COUNT));
	ck_assert_int_eq(zusd_op_from_name("nope"), -1);
}
END_TEST

#define NTHREADS	8
#define ROUNDS		4	/* thread generations: slots get reused */
#define PER_THREAD	20000

struct worker {
	struct zusd_stats *s[2];
	unsigned int id;
	pthread_barrier_t *go;
};

static void *worker(void *arg)
{
	struct worker *w = arg;

	pthread_barrier_wait(w->go);
	for (unsigned int i = 0; i < PER_THREAD; i++) {
		/* latency 2^(id % 8) ns, so each thread owns a bucket */
		uint64_t ns = UINT64_C(1) << (w->id % 8);

		zusd_stats_record(w->s[i & 1], ZUSD_OP_READ, ns, 512,
				  i % 10 == 0 ? -EIO : 0);
		zusd_stats_record(w->s[0], ZUSD_OP_WRITE, ns + i % 3, 1, 0);
	}
	return NULL;
}

struct reader_ctx {
	struct zusd_stats *s;
	_Atomic int stop;
	uint64_t last;
	int went_back;
};

/* Snapshots taken while recording never go backwards. */
static void *reader(void *arg)
{
	struct reader_ctx *r = arg;
	struct zusd_stats_snapshot *snap = malloc(sizeof(*snap));

	while (!r->stop) {
		zusd_stats_snapshot(r->s, snap);
		if (snap->op[ZUSD_OP_WRITE].count < r->last)
			r->went_back = 1;
		r->last = snap->op[ZUSD_OP_WRITE].count;
	}
	free(snap);
	return NULL;
}

START_TEST(test_concurrent)
{
	struct zusd_stats *s0 = zusd_stats_new(), *s1 = zusd_stats_new();
	struct zusd_stats_snapshot *a = malloc(sizeof(*a));
	struct zusd_stats_snapshot *b = malloc(sizeof(*b));
	struct reader_ctx rc = { .s = s0 };
	pthread_t rt;
	uint64_t total = (uint64_t)NTHREADS * ROUNDS * PER_THREAD;

	ck_assert_int_eq(pthread_create(&rt, NULL, reader, &rc), 0);
	for (unsigned int round = 0; round < ROUNDS; round++) {
		pthread_barrier_t go;
		struct worker w[NTHREADS];
		pthread_t t[NTHREADS];

		pthread_barrier_init(&go, NULL, NTHREADS);
		for (unsigned int i = 0; i < NTHREADS; i++) {
			w[i] = (struct worker){ { s0, s1 }, i, &go };
			ck_assert_int_eq(pthread_create(&t[i], NULL, worker,
							&w[i]), 0);
		}
		for (unsigned int i = 0; i < NTHREADS; i++)
			pthread_join(t[i], NULL);
		pthread_barrier_destroy(&go);
	}
	rc.stop = 1;
	pthread_join(rt, NULL);
	ck_assert_int_eq(rc.went_back, 0);

	zusd_stats_snapshot(s0, a);
	zusd_stats_snapshot(s1, b);
	/* reads alternate between the two mounts */
	ck_assert_uint_eq(a->op[ZUSD_OP_READ].count, total / 2);
	ck_assert_uint_eq(b->op[ZUSD_OP_READ].count, total / 2);
	ck_assert_uint_eq(a->op[ZUSD_OP_READ].bytes, total / 2 * 512);
	/* i % 10 == 0 are errors, and those are all even i (mount 0) */
	ck_assert_uint_eq(a->op[ZUSD_OP_READ].errors, total / 10);
	ck_assert_uint_eq(b->op[ZUSD_OP_READ].errors, 0);
	ck_assert_uint_eq(a->op[ZUSD_OP_WRITE].count, total);
	ck_assert_uint_eq(a->op[ZUSD_OP_WRITE].bytes, total);
	ck_assert_uint_eq(a->op[ZUSD_OP_WRITE].max_ns, (1u << 7) + 2);
	for (unsigned int i = 0; i < 8; i++)
		ck_assert_uint_eq(a->op[ZUSD_OP_READ].hist[i],
				  (uint64_t)ROUNDS * PER_THREAD / 2);

	zusd_stats_merge(a, b);
	ck_assert_uint_eq(a->op[ZUSD_OP_READ].count, total);
	{
		uint64_t sum = 0;

		for (unsigned int i = 0; i < ZUSD_STATS_BUCKETS; i++)
			sum += a->op[ZUSD_OP_READ].hist[i];
		ck_assert_uint_eq(sum, total);
		sum = 0;
		for (unsigned int i = 0; i < ZUSD_STATS_BUCKETS; i++)
			sum += a->op[ZUSD_OP_WRITE].hist[i];
		ck_assert_uint_eq(sum, total);
	}
	free(a);
	free(b);
	zusd_stats_free(s0);
	zusd_stats_free(s1);
}
END_TEST

/* More live threads than slots: the rest share one shard, still exact. */
#define MANY	(ZUSD_STATS_MAX_SLOTS + 40)

struct many_ctx {
	struct zusd_stats *s;
	pthread_barrier_t *all_in;
};

static void *many_worker(void *arg)
{
	struct many_ctx *c = arg;

	zusd_stats_record(c->s, ZUSD_OP_GETATTR, 100, 0, 0);
	/* hold the slot until every thread has one */
	pthread_barrier_wait(c->all_in);
	for (int i = 0; i < 50; i++)
		zusd_stats_record(c->s, ZUSD_OP_GETATTR, 100, 0, 0);
	return NULL;
}

START_TEST(test_more_threads_than_slots)
{
	struct zusd_stats *s = zusd_stats_new();
	struct zusd_stats_snapshot *snap = malloc(sizeof(*snap));
	pthread_t *t = calloc(MANY, sizeof(*t));
	pthread_barrier_t all_in;
	struct many_ctx c = { s, &all_in };
	pthread_attr_t attr;
	unsigned int started = 0;

	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	pthread_barrier_init(&all_in, NULL, MANY);
	for (unsigned int i = 0; i < MANY; i++) {
		ck_assert_int_eq(pthread_create(&t[i], &attr, many_worker, &c),
				 0);
		started++;
	}
	for (unsigned int i = 0; i < started; i++)
		pthread_join(t[i], NULL);
	pthread_barrier_destroy(&all_in);
	pthread_attr_destroy(&attr);

	zusd_stats_snapshot(s, snap);
	ck_assert_uint_eq(snap->op[ZUSD_OP_GETATTR].count, (uint64_t)MANY * 51);
	ck_assert_uint_eq(snap->op[ZUSD_OP_GETATTR].hist[6],
			  (uint64_t)MANY * 51);
	free(snap);
	free(t);
	zusd_stats_free(s);
}
END_TEST

static Suite *stats_suite(void)
{
	Suite *s = suite_create("stats");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_buckets);
	tcase_add_test(tc, test_record_and_percentiles);
	tcase_add_test(tc, test_merge);
	tcase_add_test(tc, test_names);
	tcase_add_test(tc, test_concurrent);
	tcase_add_test(tc, test_more_threads_than_slots);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(stats_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
