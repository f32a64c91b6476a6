// SPDX-License-Identifier: BSD-2-Clause
/*
 * test_health.c - zusd's watchdog view of its serving threads (health.h):
 * a thread inside one request for longer than the limit is reported stuck
 * (zusd then stops pinging systemd's watchdog); idle threads, nested
 * brackets and exited threads are not.
 */
#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "health.h"

#define MS	1000000ull	/* ns */

START_TEST(test_idle_is_healthy)
{
	ck_assert_uint_eq(zusd_busy_stuck(0), 0);
	zusd_busy_begin();
	zusd_busy_end();
	usleep(20000);
	ck_assert_uint_eq(zusd_busy_stuck(1 * MS), 0);
}
END_TEST

START_TEST(test_stuck_request)
{
	uint64_t age;

	zusd_busy_begin();
	usleep(60000);
	ck_assert_uint_eq(zusd_busy_stuck(10 * 1000 * MS), 0);
	age = zusd_busy_stuck(20 * MS);
	ck_assert_uint_ge(age, 50 * MS);
	zusd_busy_end();
	ck_assert_uint_eq(zusd_busy_stuck(20 * MS), 0);
}
END_TEST

START_TEST(test_nested)
{
	zusd_busy_begin();
	zusd_busy_begin();	/* a plugin call inside a request */
	zusd_busy_end();
	usleep(30000);
	/* still inside the outer request */
	ck_assert_uint_ne(zusd_busy_stuck(10 * MS), 0);
	zusd_busy_end();
	ck_assert_uint_eq(zusd_busy_stuck(10 * MS), 0);
	zusd_busy_end();	/* unbalanced: ignored */
	ck_assert_uint_eq(zusd_busy_stuck(0), 0);
}
END_TEST

static atomic_int phase;

static void *stuck_thread(void *arg)
{
	(void)arg;
	zusd_busy_begin();
	atomic_store(&phase, 1);
	while (atomic_load(&phase) != 2)
		usleep(1000);
	zusd_busy_end();
	return NULL;
}

static void *exiting_thread(void *arg)
{
	(void)arg;
	zusd_busy_begin();
	zusd_busy_end();
	return NULL;
}

START_TEST(test_other_threads)
{
	pthread_t t[64];

	/* threads that come and go give their slot back */
	for (int round = 0; round < 40; round++) {
		for (int i = 0; i < 64; i++)
			ck_assert_int_eq(pthread_create(&t[i], NULL,
							exiting_thread, NULL), 0);
		for (int i = 0; i < 64; i++)
			pthread_join(t[i], NULL);
	}
	ck_assert_uint_eq(zusd_busy_stuck(0), 0);

	atomic_store(&phase, 0);
	ck_assert_int_eq(pthread_create(&t[0], NULL, stuck_thread, NULL), 0);
	while (atomic_load(&phase) != 1)
		usleep(1000);
	usleep(30000);
	ck_assert_uint_ne(zusd_busy_stuck(10 * MS), 0);
	atomic_store(&phase, 2);
	pthread_join(t[0], NULL);
	ck_assert_uint_eq(zusd_busy_stuck(0), 0);
}
END_TEST

static Suite *health_suite(void)
{
	Suite *s = suite_create("health");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_idle_is_healthy);
	tcase_add_test(tc, test_stuck_request);
	tcase_add_test(tc, test_nested);
	tcase_add_test(tc, test_other_threads);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(health_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
