/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mount.h - one mounted filesystem as every zusd transport sees it: the
 * loaded plugin, the mapped device and the plugin's superblock.  Transports
 * (FUSE, zuf) only translate requests into zus_fs_ops calls on it.
 */
#ifndef ZUSD_MOUNT_H
#define ZUSD_MOUNT_H

#include <stdbool.h>
#include <stdint.h>
#include <zufs/zus.h>

#include "plugin.h"
#include "pmem_map.h"
#include "stats.h"
#include "tier_host.h"

struct zusd_mount_args {
	const char *plugin;	/* name or path of the plugin .so */
	const char *fstype;	/* NULL: same as the plugin name */
	const char *device;	/* pmem device, block device or image file */
	/*
	 * plugin mount options, may be NULL.  tier=PATH (repeatable or
	 * PATH:PATH) and tier_backend=uring|sync are zusd's: they give the
	 * filesystem its tier devices (see tier_host.h); the rest, tier_low=
	 * and friends included, go to the plugin.
	 */
	const char *options;
	bool readonly;
};

struct zusd_mount {
	struct zus_loaded_plugin lp;
	const struct zus_fs_type *fst;
	const struct zus_fs_ops *ops;
	struct zus_pmem_map map;
	struct zus_sb sb;
	uint64_t root_ino;
	bool plugin_loaded;
	bool mapped;
	bool mounted;
	/* per-operation counters (stats.h): set by the caller after
	 * zusd_mount_open(), freed by it once no thread serves the mount */
	struct zusd_stats *stats;
	bool tier_open;
	struct zusd_tier tier;	/* tier devices, plugin; owns sb.options */
};

/*
 * Load the plugin, map the device and mount it.  On failure prints one
 * message to stderr saying what is wrong and how to fix it, undoes what was
 * done and returns -errno.
 */
int zusd_mount_open(struct zusd_mount *m, const struct zusd_mount_args *a);

/* Unmount (ops->umount), make the device durable, unmap and unload. */
int zusd_mount_close(struct zusd_mount *m);

/*
 * Tiering counters of a mounted filesystem (for D-Bus and zufsctl stats):
 * 0, or -EOPNOTSUPP when the plugin has no tier_status, or the plugin's
 * error (pmfs2: -ENODEV when the filesystem has no tier; st then still
 * holds its pmem figures).
 */
int zusd_mount_tier_status(struct zusd_mount *m, struct zus_tier_status *st);

#endif /* ZUSD_MOUNT_H */
