// SPDX-License-Identifier: BSD-2-Clause
/*
 * test_health.c - zusd's watchdog view of its serving threads (health.h):
 * a thread inside one request for longer than the limit is reported stuck
 * (zusd then stops pinging systemd's watchdog); idle threads, nested
 * brackets and exited threads are not.  The test hook
 * ZUSD_TEST_HANG_FILE stalls requests, marked busy, while its file exists.
 */
#include <check.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

/* set in main(), before any request: the hook reads it once */
static char hang_dir[64], hang_file[96];
static atomic_int hang_phase;

static void *hang_thread(void *arg)
{
	(void)arg;
	atomic_store(&hang_phase, 1);
	zusd_busy_begin();	/* stalls while the file exists */
	atomic_store(&hang_phase, 2);
	zusd_busy_end();
	return NULL;
}

START_TEST(test_hang_file)
{
	char log[192], buf[512] = "";
	pthread_t t;
	int fd, saved;
	ssize_t n;

	/* no file: requests run as usual */
	zusd_busy_begin();
	zusd_busy_end();

	snprintf(log, sizeof(log), "%s/stderr", hang_dir);
	fd = open(log, O_RDWR | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	saved = dup(2);
	dup2(fd, 2);
	close(open(hang_file, O_WRONLY | O_CREAT, 0600));

	atomic_store(&hang_phase, 0);
	ck_assert_int_eq(pthread_create(&t, NULL, hang_thread, NULL), 0);
	while (atomic_load(&hang_phase) != 1)
		usleep(1000);
	usleep(300000);
	/* stalled inside its request, and seen as stuck by the watchdog */
	ck_assert_int_eq(atomic_load(&hang_phase), 1);
	ck_assert_uint_ge(zusd_busy_stuck(100 * MS), 200 * MS);

	unlink(hang_file);
	pthread_join(t, NULL);
	ck_assert_int_eq(atomic_load(&hang_phase), 2);
	ck_assert_uint_eq(zusd_busy_stuck(0), 0);

	/* logged once */
	dup2(saved, 2);
	close(saved);
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	close(fd);
	ck_assert_int_gt(n, 0);
	buf[n] = '\0';
	snprintf(log, sizeof(log), "zusd: test hang: %s exists, request stalled\n",
		 hang_file);
	ck_assert_str_eq(buf, log);
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
	tcase_add_test(tc, test_hang_file);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr;
	int failed;

	snprintf(hang_dir, sizeof(hang_dir), "%s/zufs-health.XXXXXX",
		 getenv("TMPDIR") && strlen(getenv("TMPDIR")) < 32 ?
		 getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(hang_dir))
		return 99;
	snprintf(hang_file, sizeof(hang_file), "%s/hang", hang_dir);
	setenv("ZUSD_TEST_HANG_FILE", hang_file, 1);
	sr = srunner_create(health_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	unlink(hang_file);
	snprintf(hang_file, sizeof(hang_file), "%s/stderr", hang_dir);
	unlink(hang_file);
	rmdir(hang_dir);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
