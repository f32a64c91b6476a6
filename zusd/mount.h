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

struct zusd_mount_args {
	const char *plugin;	/* name or path of the plugin .so */
	const char *fstype;	/* NULL: same as the plugin name */
	const char *device;	/* pmem device, block device or image file */
	const char *options;	/* plugin mount options, may be NULL */
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
	char *options;		/* owned copy of sb.options */
};

/*
 * Load the plugin, map the device and mount it.  On failure prints one
 * message to stderr saying what is wrong and how to fix it, undoes what was
 * done and returns -errno.
 */
int zusd_mount_open(struct zusd_mount *m, const struct zusd_mount_args *a);

/* Unmount (ops->umount), make the device durable, unmap and unload. */
int zusd_mount_close(struct zusd_mount *m);

#endif /* ZUSD_MOUNT_H */
