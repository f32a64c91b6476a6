// SPDX-License-Identifier: BSD-2-Clause
/*
 * test_log.c - zusd.conf's [log] (log.h): "auto" is the journal exactly
 * when systemd started zusd ($JOURNAL_STREAM or $INVOCATION_ID); the level
 * drops messages below it (--debug keeps all); the stderr target writes
 * "zusd: TEXT" lines.
 */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zufs/zus.h>

#include "log.h"

/* What fn wrote to stderr. */
static void capture(void (*fn)(void), char *out, size_t len)
{
	char path[] = "/tmp/zufs-log.XXXXXX";
	int fd = mkstemp(path), saved;
	ssize_t n;

	ck_assert_int_ge(fd, 0);
	unlink(path);
	fflush(stderr);
	saved = dup(2);
	dup2(fd, 2);
	fn();
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	n = pread(fd, out, len - 1, 0);
	close(fd);
	out[n > 0 ? n : 0] = '\0';
}

START_TEST(test_resolve)
{
	unsetenv("JOURNAL_STREAM");
	unsetenv("INVOCATION_ID");
	ck_assert_int_eq(zusd_log_resolve(ZUSD_LOG_TARGET_AUTO),
			 ZUSD_LOG_TARGET_STDERR);
	setenv("INVOCATION_ID", "0123456789abcdef0123456789abcdef", 1);
	ck_assert_int_eq(zusd_log_resolve(ZUSD_LOG_TARGET_AUTO),
			 ZUSD_LOG_TARGET_JOURNAL);
	unsetenv("INVOCATION_ID");
	setenv("JOURNAL_STREAM", "8:12345", 1);
	ck_assert_int_eq(zusd_log_resolve(ZUSD_LOG_TARGET_AUTO),
			 ZUSD_LOG_TARGET_JOURNAL);
	/* explicit targets are kept whatever the environment */
	ck_assert_int_eq(zusd_log_resolve(ZUSD_LOG_TARGET_STDERR),
			 ZUSD_LOG_TARGET_STDERR);
	unsetenv("JOURNAL_STREAM");
	ck_assert_int_eq(zusd_log_resolve(ZUSD_LOG_TARGET_JOURNAL),
			 ZUSD_LOG_TARGET_JOURNAL);
}
END_TEST

static void some_messages(void)
{
	zusd_log(ZUS_LOG_ERR, "an error %d", 1);
	zusd_log(ZUS_LOG_WARNING, "a warning");
	zusd_log(ZUS_LOG_INFO, "some info");
	zusd_log_msg(ZUS_LOG_DEBUG, "a debug message");
}

START_TEST(test_level)
{
	char out[1024];

	unsetenv("ZUSD_DEBUG");
	zusd_log_setup(ZUS_LOG_WARNING, ZUSD_LOG_TARGET_STDERR, false);
	ck_assert(zusd_log_enabled(ZUS_LOG_ERR));
	ck_assert(!zusd_log_enabled(ZUS_LOG_NOTICE));
	capture(some_messages, out, sizeof(out));
	ck_assert_str_eq(out, "zusd: an error 1\nzusd: a warning\n");

	zusd_log_setup(ZUS_LOG_INFO, ZUSD_LOG_TARGET_STDERR, false);
	capture(some_messages, out, sizeof(out));
	ck_assert_str_eq(out, "zusd: an error 1\nzusd: a warning\n"
			 "zusd: some info\n");

	/* --debug (or $ZUSD_DEBUG): everything */
	zusd_log_setup(ZUS_LOG_ERR, ZUSD_LOG_TARGET_STDERR, true);
	capture(some_messages, out, sizeof(out));
	ck_assert(strstr(out, "zusd: a debug message\n"));
	setenv("ZUSD_DEBUG", "1", 1);
	zusd_log_setup(ZUS_LOG_ERR, ZUSD_LOG_TARGET_STDERR, false);
	ck_assert(zusd_log_enabled(ZUS_LOG_DEBUG));
	unsetenv("ZUSD_DEBUG");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("log");
	TCase *tc = tcase_create("log");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_resolve);
	tcase_add_test(tc, test_level);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
