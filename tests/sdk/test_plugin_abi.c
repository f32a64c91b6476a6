// SPDX-License-Identifier: BSD-2-Clause
/*
 * test_plugin_abi.c - the loader's plugin API version check: a plugin built
 * for a version below ZUS_PLUGIN_ABI_MIN or above ZUS_PLUGIN_ABI_VERSION is
 * refused before its init runs, with a message naming the versions this
 * host accepts and what to do; a current one loads.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "plugin.h"

static char err[1024];

static int load(const char *name, struct zus_loaded_plugin *lp)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s.so", ABI_PLUGIN_DIR, name);
	err[0] = '\0';
	return zus_plugin_load(path, lp, err, sizeof(err));
}

static void assert_says(const char *what)
{
	ck_assert_msg(strstr(err, what), "message lacks '%s': %s", what, err);
}

START_TEST(range)
{
	ck_assert(ZUS_PLUGIN_ABI_MIN >= 1);
	ck_assert(ZUS_PLUGIN_ABI_MIN <= ZUS_PLUGIN_ABI_VERSION);
	ck_assert(zus_plugin_abi_ok(ZUS_PLUGIN_ABI_MIN));
	ck_assert(zus_plugin_abi_ok(ZUS_PLUGIN_ABI_VERSION));
	ck_assert(!zus_plugin_abi_ok(ZUS_PLUGIN_ABI_MIN - 1));
	ck_assert(!zus_plugin_abi_ok(ZUS_PLUGIN_ABI_VERSION + 1));
	ck_assert(!zus_plugin_abi_ok(UINT32_MAX));
}
END_TEST

START_TEST(current_loads)
{
	struct zus_loaded_plugin lp;

	ck_assert_int_eq(load("abi_cur", &lp), 0);
	ck_assert_uint_eq(lp.plugin->abi_version, ZUS_PLUGIN_ABI_VERSION);
	ck_assert_ptr_nonnull(zus_plugin_find_fs(&lp, 1, "abitest"));
	zus_plugin_unload(&lp);
}
END_TEST

static void assert_accepts(void)
{
	char want[128];

	snprintf(want, sizeof(want), "this zusd accepts versions %u to %u",
		 ZUS_PLUGIN_ABI_MIN, ZUS_PLUGIN_ABI_VERSION);
	assert_says(want);
	assert_says("libzus-dev");
	assert_says("pkg-config --cflags zus");
}

START_TEST(old_refused)
{
	struct zus_loaded_plugin lp;
	char want[128];

	ck_assert_int_eq(load("abi_old", &lp), -EPROTO);
	ck_assert_ptr_null(lp.handle);
	snprintf(want, sizeof(want), "built for plugin API version %u, too old",
		 ZUS_PLUGIN_ABI_MIN - 1);
	assert_says(want);
	assert_says("abi_old.so");
	assert_accepts();
	assert_says("rebuild the plugin against the SDK");
}
END_TEST

START_TEST(new_refused)
{
	struct zus_loaded_plugin lp;
	char want[128];

	ck_assert_int_eq(load("abi_new", &lp), -EPROTO);
	ck_assert_ptr_null(lp.handle);
	snprintf(want, sizeof(want),
		 "built for plugin API version %u, newer than this zusd",
		 ZUS_PLUGIN_ABI_VERSION + 1);
	assert_says(want);
	assert_accepts();
	assert_says("upgrade zusd, or rebuild the plugin");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("plugin_abi");
	TCase *tc = tcase_create("abi");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, range);
	tcase_add_test(tc, current_loads);
	tcase_add_test(tc, old_refused);
	tcase_add_test(tc, new_refused);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
