// SPDX-License-Identifier: BSD-2-Clause
/*
 * abi_plugin.c - a plugin declaring a chosen plugin API version, for the
 * loader's version check: -DABI_OLD (one below ZUS_PLUGIN_ABI_MIN),
 * -DABI_NEW (one above ZUS_PLUGIN_ABI_VERSION), else the current one.
 * Built by make check, and out of tree by test_example_plugin.sh.
 */
#include <errno.h>
#include <stdlib.h>
#include <zufs/zus.h>

#if defined(ABI_OLD)
#define ABI	(ZUS_PLUGIN_ABI_MIN - 1)
#elif defined(ABI_NEW)
#define ABI	(ZUS_PLUGIN_ABI_VERSION + 1)
#else
#define ABI	ZUS_PLUGIN_ABI_VERSION
#endif

static int abi_mount(struct zus_sb *sb)
{
	return -EINVAL;
}

static uint64_t abi_root_ino(struct zus_sb *sb)
{
	return 1;
}

static int abi_lookup(struct zus_sb *sb, uint64_t dir, const char *name,
		      size_t len, struct zus_attr *out)
{
	return -ENOENT;
}

static int abi_getattr(struct zus_sb *sb, uint64_t ino, struct zus_attr *out)
{
	return -ENOENT;
}

static const struct zus_fs_ops abi_ops = {
	.mount = abi_mount, .root_ino = abi_root_ino,
	.lookup = abi_lookup, .getattr = abi_getattr,
};

static const struct zus_fs_type abi_type = {
	.name = "abitest", .ops = &abi_ops,
};

static const struct zus_fs_type *const abi_types[] = { &abi_type, NULL };

/* A refused plugin must never run: its init would abort the test. */
static int abi_init(void)
{
	if (ABI != ZUS_PLUGIN_ABI_VERSION)
		abort();
	return 0;
}

const struct zus_plugin zus_plugin = {
	.abi_version = ABI,
	.name = "abitest",
	.fs_types = abi_types,
	.init = abi_init,
};
