// SPDX-License-Identifier: BSD-2-Clause
/*
 * test_config.c - zusd.conf loading: the shipped example, a full valid file,
 * and every kind of error reported as "FILE:LINE: reason".
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zufs/zus.h>

#include "zusd/config.h"

static char path[64];
static char err[512];
static struct zusd_config cfg;

static void write_conf(const char *text)
{
	int fd;

	strcpy(path, "/tmp/zusd-conf-XXXXXX");
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static int load(const char *text)
{
	int r;

	write_conf(text);
	r = zusd_config_load(path, &cfg, err, sizeof(err));
	unlink(path);
	return r;
}

/* The error must read exactly "PATH:LINE: " followed by reason. */
static void expect_error(const char *text, int line, const char *reason)
{
	char prefix[128];
	int r = load(text);

	ck_assert_msg(r < 0, "config accepted, expected line %d: %s", line,
		      reason);
	snprintf(prefix, sizeof(prefix), "%s:%d: ", path, line);
	ck_assert_msg(!strncmp(err, prefix, strlen(prefix)),
		      "error \"%s\" does not start with \"%s\"", err, prefix);
	ck_assert_msg(strstr(err + strlen(prefix), reason),
		      "error \"%s\" does not say \"%s\"", err, reason);
}

START_TEST(test_defaults)
{
	ck_assert_int_eq(zusd_config_defaults(&cfg), 0);
	ck_assert_uint_eq(cfg.nplugins, 1);
	ck_assert_str_eq(cfg.plugins[0], "pmfs2");
	ck_assert_int_eq(cfg.transport, ZUSD_TRANSPORT_AUTO);
	ck_assert_uint_eq(cfg.threads_per_cpu, 1);
	ck_assert_uint_eq(cfg.spin_us, 10);
	ck_assert_int_eq(cfg.log_level, ZUS_LOG_INFO);
	ck_assert_int_eq(cfg.log_target, ZUSD_LOG_TARGET_AUTO);
	ck_assert_uint_eq(cfg.tier_low_watermark, 10);
	ck_assert_uint_eq(cfg.tier_high_watermark, 20);
	ck_assert_uint_eq(cfg.tier_queue_depth, 32);
	ck_assert_uint_eq(cfg.tier_batch_size, 16);
	ck_assert_uint_eq(cfg.nmounts, 0);
	zusd_config_free(&cfg);
}
END_TEST

/* The documented example loads and gives the documented defaults. */
START_TEST(test_shipped_example)
{
	const char *srcdir = getenv("srcdir");
	char file[4096];
	int r;

	snprintf(file, sizeof(file), "%s/conf/zusd.conf",
		 srcdir ? srcdir : ".");
	r = zusd_config_load(file, &cfg, err, sizeof(err));
	ck_assert_msg(r == 0, "%s", err);
	ck_assert_uint_eq(cfg.nplugins, 1);
	ck_assert_str_eq(cfg.plugins[0], ZUSD_DEFAULT_PLUGINS);
	ck_assert_int_eq(cfg.transport, ZUSD_TRANSPORT_AUTO);
	ck_assert_uint_eq(cfg.spin_us, ZUSD_DEFAULT_SPIN_US);
	ck_assert_uint_eq(cfg.tier_high_watermark, ZUSD_DEFAULT_TIER_HIGH);
	ck_assert_uint_eq(cfg.nmounts, 0);
	zusd_config_free(&cfg);
}
END_TEST

START_TEST(test_valid)
{
	int r = load(
		"# comment\n"
		"; another\n"
		"[ZUSD]\n"
		"Plugins = pmfs2, tier /opt/zufs/extra.so\n"
		"transport = fuse   # inline comment\n"
		"threads_per_cpu=2\n"
		"spin_us = 0\n"
		"\n"
		"[log]\n"
		"level = debug\n"
		"target = \"stderr\"\n"
		"[tier]\n"
		"low_watermark = 5\n"
		"high_watermark = \\\n"
		"    30\n"
		"queue_depth = 64\n"
		"batch_size = 64\n"
		"[mount.data]\n"
		"device = /dev/pmem0\n"
		"mountpoint = /data\n"
		"options = noatime,\"x\"\n"
		"[mount.Scratch-2]\n"
		"device = /srv/img\n"
		"mountpoint = /mnt/Scratch\n"
		"type = pmfs2\n");

	ck_assert_msg(r == 0, "%s", err);
	ck_assert_uint_eq(cfg.nplugins, 3);
	ck_assert_str_eq(cfg.plugins[0], "pmfs2");
	ck_assert_str_eq(cfg.plugins[1], "tier");
	ck_assert_str_eq(cfg.plugins[2], "/opt/zufs/extra.so");
	ck_assert_int_eq(cfg.transport, ZUSD_TRANSPORT_FUSE);
	ck_assert_uint_eq(cfg.threads_per_cpu, 2);
	ck_assert_uint_eq(cfg.spin_us, 0);
	ck_assert_int_eq(cfg.log_level, ZUS_LOG_DEBUG);
	ck_assert_int_eq(cfg.log_target, ZUSD_LOG_TARGET_STDERR);
	ck_assert_uint_eq(cfg.tier_low_watermark, 5);
	ck_assert_uint_eq(cfg.tier_high_watermark, 30);
	ck_assert_uint_eq(cfg.tier_queue_depth, 64);
	ck_assert_uint_eq(cfg.tier_batch_size, 64);
	ck_assert_uint_eq(cfg.nmounts, 2);
	ck_assert_str_eq(cfg.mounts[0].name, "data");
	ck_assert_str_eq(cfg.mounts[0].device, "/dev/pmem0");
	ck_assert_str_eq(cfg.mounts[0].mountpoint, "/data");
	ck_assert_str_eq(cfg.mounts[0].fstype, "pmfs2");
	ck_assert_str_eq(cfg.mounts[0].options, "noatime,\"x\"");
	ck_assert_int_eq(cfg.mounts[0].line, 18);
	/* names fold to lower case, values keep theirs */
	ck_assert_str_eq(cfg.mounts[1].name, "scratch-2");
	ck_assert_str_eq(cfg.mounts[1].mountpoint, "/mnt/Scratch");
	ck_assert_ptr_null(cfg.mounts[1].options);
	zusd_config_free(&cfg);
}
END_TEST

START_TEST(test_missing_file)
{
	int r = zusd_config_load("/nonexistent/zusd.conf", &cfg, err,
				 sizeof(err));

	ck_assert_int_eq(r, -ENOENT);
	ck_assert_str_eq(err,
			 "/nonexistent/zusd.conf: No such file or directory");
}
END_TEST

START_TEST(test_unknown_key)
{
	expect_error("[zusd]\ntransport = zuf\n\nthreads = 4\n", 4,
		     "unknown key 'threads' in [zusd] (known: plugins, transport, threads_per_cpu, spin_us)");
	expect_error("[log]\nlevel = info\n[tier]\nlow_watermark = 3\ncolor = red\n",
		     5, "unknown key 'color' in [tier]");
	expect_error("[mount.a]\ndevice=/dev/pmem0\nmountpoint=/a\nfs=pmfs2\n", 4,
		     "unknown key 'fs' in [mount.a]");
}
END_TEST

START_TEST(test_unknown_section)
{
	expect_error("[zusd]\nspin_us = 5\n[logging]\nlevel = info\n", 3,
		     "unknown section [logging]");
	expect_error("[mount]\ndevice = /dev/pmem0\n", 1,
		     "unknown section [mount]");
	expect_error("[mount.a/b]\n", 1, "bad section name [mount.a/b]");
	expect_error("transport = zuf\n", 1,
		     "key 'transport' outside of any section");
}
END_TEST

START_TEST(test_bad_value)
{
	expect_error("[zusd]\n\ntransport = kernel\n", 3,
		     "transport: 'kernel' is not one of auto, zuf, fuse");
	expect_error("[zusd]\nthreads_per_cpu = 0\n", 2,
		     "threads_per_cpu: 0 is out of range (1 to 16)");
	expect_error("[zusd]\nthreads_per_cpu = 2x\n", 2,
		     "threads_per_cpu: '2x' is not a number");
	expect_error("[zusd]\nspin_us = -1\n", 2,
		     "spin_us: '-1' is not a number");
	expect_error("[zusd]\nspin_us = 99999999999999999999\n", 2,
		     "spin_us: 99999999999999999999 is out of range");
	expect_error("[zusd]\nspin_us =\n", 2, "spin_us: empty value");
	expect_error("[zusd]\nplugins = ,\n", 2, "plugins: empty list");
	expect_error("[zusd]\nplugins = pmfs2 pmfs2\n", 2,
		     "plugins: 'pmfs2' is listed twice");
	expect_error("[zusd]\nplugins = 'a*b'\n", 2,
		     "plugins: 'a*b' is not a plugin name or path");
	expect_error("[log]\nlevel = verbose\n", 2,
		     "level: 'verbose' is not one of err, warning, notice, info, debug");
	expect_error("[log]\ntarget = syslog\n", 2,
		     "target: 'syslog' is not one of auto, journal, stderr");
	expect_error("[tier]\nlow_watermark = 100\n", 2,
		     "low_watermark: 100 is out of range (1 to 99)");
	expect_error("[mount.x]\ndevice = pmem0\n", 2,
		     "device: 'pmem0' is not an absolute path");
}
END_TEST

START_TEST(test_cross_checks)
{
	/* reported at high_watermark's line, or low's if high is default */
	expect_error("[tier]\nhigh_watermark = 10\nlow_watermark = 40\n", 2,
		     "low_watermark (40%) must be below high_watermark (10%)");
	expect_error("[tier]\n\nlow_watermark = 20\n", 3,
		     "low_watermark (20%) must be below high_watermark (20%)");
	expect_error("[tier]\nqueue_depth = 8\nbatch_size = 9\n", 3,
		     "batch_size (9) must not exceed queue_depth (8)");
	expect_error("[zusd]\n[mount.a]\nmountpoint = /a\n", 2,
		     "[mount.a] has no device = key");
	expect_error("[mount.a]\ndevice = /dev/pmem0\n", 1,
		     "[mount.a] has no mountpoint = key");
	expect_error("[mount.a]\ndevice = /dev/pmem0\nmountpoint = /m\n"
		     "[mount.b]\ndevice = /dev/pmem1\nmountpoint = /m\n", 4,
		     "[mount.b]: /m is already the mountpoint of [mount.a]");
}
END_TEST

START_TEST(test_syntax)
{
	expect_error("[zusd]\ntransport\n", 2,
		     "syntax error: expected [section] or key = value");
	expect_error("[zusd\n", 1, "syntax error: a section header is [name]");
	expect_error("[zusd]\n= zuf\n", 2, "syntax error: no key before '='");
	expect_error("[zusd]\nspin_us = 5\nSPIN_US = 6\n", 3,
		     "key 'spin_us' in [zusd] already set at line 2");
	expect_error("[log]\n[zusd]\n[log]\n", 3,
		     "section [log] already given at line 1");
	expect_error("[zusd]\nspin_us = 5 \\\n", 2,
		     "the last line ends with '\\'");
	/* a continued key is reported at its first line */
	expect_error("[zusd]\n\ntransport = \\\nfoo\n", 3,
		     "transport: 'foo' is not one of");
}
END_TEST

START_TEST(test_long_line)
{
	char text[2100];

	strcpy(text, "[zusd]\nplugins = ");
	memset(text + strlen(text), 'a', 1500);
	text[17 + 1500] = '\0';
	strcat(text, "\n");
	expect_error(text, 2, "line too long");
}
END_TEST

static Suite *config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_shipped_example);
	tcase_add_test(tc, test_valid);
	tcase_add_test(tc, test_missing_file);
	tcase_add_test(tc, test_unknown_key);
	tcase_add_test(tc, test_unknown_section);
	tcase_add_test(tc, test_bad_value);
	tcase_add_test(tc, test_cross_checks);
	tcase_add_test(tc, test_syntax);
	tcase_add_test(tc, test_long_line);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(config_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
