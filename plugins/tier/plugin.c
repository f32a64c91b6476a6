// SPDX-License-Identifier: BSD-2-Clause
/*
 * plugin.c - the tier plugin's entry point: no filesystem types, two tier
 * backends ("uring", preferred, and "sync").  The filesystem plugin (pmfs2)
 * receives the one the host picked in zus_sb.tier_backend.
 */
#include "tier_backend.h"

static const struct zus_tier_backend *const tier_backends[] = {
	&zus_tier_uring_backend,
	&zus_tier_sync_backend,
	NULL,
};

__attribute__((visibility("default")))
const struct zus_plugin zus_plugin = {
	.abi_version	= ZUS_PLUGIN_ABI_VERSION,
	.name		= "tier",
	.fs_types	= NULL,
	.tier_backends	= tier_backends,
};
