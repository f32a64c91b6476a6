// SPDX-License-Identifier: BSD-2-Clause
/*
 * test_tier_host.c - the hosts' side of tiering (zusd/tier_host.c): the
 * tier= / tier_backend= mount options taken out of the plugin's options,
 * the backend picked (named; else "uring", falling back to "sync" when it
 * cannot attach), zus_sb filled, the hints after a refused mount, and the
 * real tier plugin loaded by name.  Fake backends count attach/detach.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tier_host.h"

static int uring_ret, sync_ret;
static int attaches, detaches;
static char last_path[256];

static int fake_attach(int ret, struct zus_tier_dev *dev, void **ctx)
{
	ck_assert_int_eq(dev->fd, -1);
	ck_assert_ptr_nonnull(dev->path);
	snprintf(last_path, sizeof(last_path), "%s", dev->path);
	if (ret)
		return ret;
	attaches++;
	*ctx = &attaches;
	return 0;
}

static int uring_attach(struct zus_tier_dev *dev, unsigned int qd, void **ctx)
{
	return fake_attach(uring_ret, dev, ctx);
}

static int sync_attach(struct zus_tier_dev *dev, unsigned int qd, void **ctx)
{
	return fake_attach(sync_ret, dev, ctx);
}

static void fake_detach(void *ctx)
{
	ck_assert_ptr_eq(ctx, &attaches);
	detaches++;
}

static int fake_submit(void *ctx, struct zus_tier_io *ios, unsigned int n)
{
	return -EIO;
}

static const struct zus_tier_backend fake_uring = {
	.name = "uring", .attach = uring_attach, .detach = fake_detach,
	.submit = fake_submit,
};
static const struct zus_tier_backend fake_sync = {
	.name = "sync", .attach = sync_attach, .detach = fake_detach,
	.submit = fake_submit,
};
static const struct zus_tier_backend *const fake_backends[] = {
	&fake_uring, &fake_sync, NULL,
};
static const struct zus_plugin fake_plugin = {
	.abi_version = ZUS_PLUGIN_ABI_VERSION,
	.name = "faketier",
	.tier_backends = fake_backends,
};

static struct zusd_tier t;
static char err[512];
static char tmp_path[512];	/* a scratch tier file, removed by teardown */

static void setup(void)
{
	uring_ret = sync_ret = 0;
	attaches = detaches = 0;
	last_path[0] = 0;
	err[0] = 0;
}

static void teardown(void)
{
	zusd_tier_release(&t);
	if (tmp_path[0])
		unlink(tmp_path);
	tmp_path[0] = 0;
}

static int open_fake(const char *opts)
{
	err[0] = 0;
	return zusd_tier_open_plugin(&t, opts, &fake_plugin, err, sizeof(err));
}

START_TEST(no_tier)
{
	struct zus_sb sb = { 0 };

	ck_assert_int_eq(open_fake(NULL), 0);
	ck_assert_uint_eq(t.ndev, 0);
	ck_assert_ptr_null(t.be);
	ck_assert_ptr_null(t.options);
	ck_assert_int_eq(open_fake("tier_low=5,data=x"), 0);
	ck_assert_ptr_null(t.be);
	ck_assert_str_eq(t.options, "tier_low=5,data=x");
	zusd_tier_apply(&t, &sb);
	ck_assert_str_eq(sb.options, "tier_low=5,data=x");
	ck_assert_uint_eq(sb.ntier, 0);
	ck_assert_ptr_null(sb.tier);
	ck_assert_ptr_null(sb.tier_backend);
	ck_assert_int_eq(attaches, 0);
}
END_TEST

START_TEST(options_split)
{
	struct zus_sb sb = { 0 };

	ck_assert_int_eq(open_fake("tier_low=5,tier=/a:/b,foo,,tier=/c,tier_backend=sync,tier_high=40"), 0);
	ck_assert_uint_eq(t.ndev, 3);
	ck_assert_str_eq(t.dev[0].path, "/a");
	ck_assert_str_eq(t.dev[1].path, "/b");
	ck_assert_str_eq(t.dev[2].path, "/c");
	for (unsigned int i = 0; i < 3; i++) {
		ck_assert_int_eq(t.dev[i].fd, -1);
		ck_assert_uint_eq(t.dev[i].size, 0);
	}
	ck_assert_str_eq(t.options, "tier_low=5,foo,tier_high=40");
	ck_assert_ptr_eq(t.be, &fake_sync);	/* named: no probe */
	ck_assert(!t.fell_back);
	ck_assert_int_eq(attaches, 0);
	zusd_tier_apply(&t, &sb);
	ck_assert_uint_eq(sb.ntier, 3);
	ck_assert_ptr_eq(sb.tier, t.dev);
	ck_assert_ptr_eq(sb.tier_backend, &fake_sync);
	ck_assert_str_eq(sb.options, "tier_low=5,foo,tier_high=40");
	zusd_tier_release(&t);

	/* only tier options: the plugin gets none */
	ck_assert_int_eq(open_fake("tier=/x"), 0);
	ck_assert_ptr_null(t.options);
	ck_assert_uint_eq(t.ndev, 1);
}
END_TEST

START_TEST(default_uring)
{
	ck_assert_int_eq(open_fake("tier=/dev/nvme0n1"), 0);
	ck_assert_ptr_eq(t.be, &fake_uring);
	ck_assert(!t.fell_back);
	ck_assert_str_eq(last_path, "/dev/nvme0n1");
	/* the probe attach was undone */
	ck_assert_int_eq(attaches, 1);
	ck_assert_int_eq(detaches, 1);
}
END_TEST

START_TEST(fallback_sync)
{
	uring_ret = -ENOSYS;	/* io_uring disabled */
	ck_assert_int_eq(open_fake("tier=/t1:/t2"), 0);
	ck_assert_ptr_eq(t.be, &fake_sync);
	ck_assert(t.fell_back);
	ck_assert_int_eq(attaches, detaches);
}
END_TEST

START_TEST(cannot_open)
{
	uring_ret = sync_ret = -ENOENT;
	ck_assert_int_eq(open_fake("tier=/no/such"), -ENOENT);
	ck_assert_msg(strstr(err, "/no/such") && strstr(err, "No such file"),
		      "%s", err);
	ck_assert_uint_eq(t.ndev, 0);	/* nothing left to release */
	/* a named backend is not probed: the plugin reports the failure */
	ck_assert_int_eq(open_fake("tier=/no/such,tier_backend=uring"), 0);
	ck_assert_ptr_eq(t.be, &fake_uring);
}
END_TEST

START_TEST(bad_options)
{
	char many[16 * 8 + 16] = "tier=";

	ck_assert_int_eq(open_fake("tier="), -EINVAL);
	ck_assert_msg(strstr(err, "tier=PATH"), "%s", err);
	ck_assert_int_eq(open_fake("tier"), -EINVAL);
	ck_assert_int_eq(open_fake("tier=/a::/b"), -EINVAL);
	ck_assert_int_eq(open_fake("tier=/a:"), -EINVAL);
	ck_assert_int_eq(open_fake("tier_backend=sync"), -EINVAL);
	ck_assert_msg(strstr(err, "without a tier"), "%s", err);
	ck_assert_int_eq(open_fake("tier=/a,tier_backend="), -EINVAL);
	ck_assert_int_eq(open_fake("tier=/a,tier_backend=nvme"), -EINVAL);
	ck_assert_msg(strstr(err, "nvme") && strstr(err, "faketier"), "%s",
		      err);
	for (int i = 0; i < ZUSD_TIER_MAX + 1; i++)
		snprintf(many + strlen(many), sizeof(many) - strlen(many),
			 "%s/t%d", i ? ":" : "", i);
	ck_assert_int_eq(open_fake(many), -E2BIG);
	ck_assert_int_eq(attaches, 0);
}
END_TEST

START_TEST(hints)
{
	char buf[1024];

	ck_assert_int_eq(open_fake(NULL), 0);
	ck_assert(zusd_tier_mount_hint(&t, "/dev/pmem0", -ENODEV, buf,
				       sizeof(buf)));
	ck_assert_msg(strstr(buf, "/dev/pmem0") && strstr(buf, "-o tier=PATH"),
		      "%s", buf);
	ck_assert(!zusd_tier_mount_hint(&t, "/dev/pmem0", -EUCLEAN, buf,
					sizeof(buf)));
	ck_assert(!zusd_tier_mount_hint(&t, "/dev/pmem0", -ESTALE, buf,
					sizeof(buf)));
	zusd_tier_release(&t);

	ck_assert_int_eq(open_fake("tier=/a:/b"), 0);
	ck_assert(zusd_tier_mount_hint(&t, "/dev/pmem0", -ESTALE, buf,
				       sizeof(buf)));
	ck_assert_msg(strstr(buf, "/a, /b") && strstr(buf, "another filesystem"),
		      "%s", buf);
	ck_assert(zusd_tier_mount_hint(&t, "/dev/pmem0", -ENODEV, buf,
				       sizeof(buf)));
	ck_assert_msg(strstr(buf, "not its filesystem's tier"), "%s", buf);
	ck_assert(!zusd_tier_mount_hint(&t, "/dev/pmem0", -ENOMEM, buf,
					sizeof(buf)));
}
END_TEST

/* The real plugin, loaded by name through ZUS_PLUGIN_PATH (as zusd does). */
START_TEST(real_plugin)
{
	const char *b = getenv("ZUFS_BUILDDIR");
	char *path = tmp_path, opts[1200], dir[1024];
	int fd;

	/* make check runs in the top build directory */
	snprintf(dir, sizeof(dir), "%s/plugins/tier/.libs", b ? b : ".");
	snprintf(opts, sizeof(opts), "%s/tier.so", dir);
	ck_assert_msg(access(opts, F_OK) == 0, "%s is not built", opts);
	snprintf(tmp_path, sizeof(tmp_path), "%s/zufs-tier-host-XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, 1 << 20), 0);
	close(fd);
	snprintf(opts, sizeof(opts), "tier=%s,tier_low=3", path);
	setenv("ZUS_PLUGIN_PATH", dir, 1);
	ck_assert_msg(zusd_tier_open(&t, opts, dir, err, sizeof(err)) == 0,
		      "%s", err);
	ck_assert(t.loaded);
	ck_assert_ptr_nonnull(t.be);
	ck_assert_msg(!strcmp(t.be->name, "uring") ||
		      (!strcmp(t.be->name, "sync") && t.fell_back),
		      "backend %s", t.be->name);
	ck_assert_str_eq(t.options, "tier_low=3");
	zusd_tier_release(&t);
	snprintf(opts, sizeof(opts), "tier=%s,tier_backend=sync", path);
	ck_assert_msg(zusd_tier_open(&t, opts, dir, err, sizeof(err)) == 0,
		      "%s", err);
	ck_assert_str_eq(t.be->name, "sync");
	zusd_tier_release(&t);
	/* found next to the filesystem plugin; else not found, and said so */
	unsetenv("ZUS_PLUGIN_PATH");
	if (access(PLUGINDIR "/tier.so", F_OK)) {
		ck_assert_msg(zusd_tier_open(&t, opts, dir, err,
					     sizeof(err)) == 0, "%s", err);
		ck_assert_str_eq(t.be->name, "sync");
		zusd_tier_release(&t);
		ck_assert_int_eq(zusd_tier_open(&t, opts, "/nonexistent", err,
						sizeof(err)), -ENOENT);
		ck_assert_msg(strstr(err, "ZUS_PLUGIN_PATH"), "%s", err);
	}
	/* no tier: nothing loaded */
	ck_assert_int_eq(zusd_tier_open(&t, "tier_low=3", "/nonexistent", err,
					sizeof(err)), 0);
	ck_assert(!t.loaded);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("tier_host");
	TCase *tc = tcase_create("tier_host");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, no_tier);
	tcase_add_test(tc, options_split);
	tcase_add_test(tc, default_uring);
	tcase_add_test(tc, fallback_sync);
	tcase_add_test(tc, cannot_open);
	tcase_add_test(tc, bad_options);
	tcase_add_test(tc, hints);
	tcase_add_test(tc, real_plugin);
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
