// SPDX-License-Identifier: BSD-2-Clause
/*
 * pmfs2.c - the plugin's entry point: the operation vector and the
 * `zus_plugin` symbol a host loads.
 */
#include "pmfs2.h"

const struct zus_fs_ops pmfs2_ops = {
	.mount		= pmfs2_mount,
	.umount		= pmfs2_umount,
	.remount	= pmfs2_remount,
	.statfs		= pmfs2_statfs,
	.sync		= pmfs2_sync,
	.root_ino	= pmfs2_root_ino,

	.lookup		= pmfs2_lookup,
	.create		= pmfs2_create,
	.mkdir		= pmfs2_mkdir,
	.symlink	= pmfs2_symlink,
	.link		= pmfs2_link,
	.unlink		= pmfs2_unlink,
	.rmdir		= pmfs2_rmdir,
	.rename		= pmfs2_rename,
	.tmpfile	= pmfs2_tmpfile,
	.readlink	= pmfs2_readlink,
	.readdir	= pmfs2_readdir,

	.getattr	= pmfs2_getattr,
	.setattr	= pmfs2_setattr,
	.evict		= pmfs2_evict,

	.read		= pmfs2_read,
	.write		= pmfs2_write,
	.get_extents	= pmfs2_get_extents,
	.fallocate	= pmfs2_fallocate,
	.lseek		= pmfs2_lseek,
	.fsync		= pmfs2_fsync,

	.getxattr	= pmfs2_getxattr,
	.setxattr	= pmfs2_setxattr,
	.listxattr	= pmfs2_listxattr,
	.removexattr	= pmfs2_removexattr,

	.tier_status	= pmfs2_tier_status,
	.shutdown	= pmfs2_shutdown,
};

static const struct zus_fs_type pmfs2_fs_type = {
	.name	= "pmfs2",
	.flags	= ZUS_FS_DIRECT_DATA | ZUS_FS_NEEDS_PMEM,
	.ops	= &pmfs2_ops,
};

static const struct zus_fs_type *const pmfs2_fs_types[] = {
	&pmfs2_fs_type,
	NULL,
};

__attribute__((visibility("default")))
const struct zus_plugin zus_plugin = {
	.abi_version	= ZUS_PLUGIN_ABI_VERSION,
	.name		= "pmfs2",
	.fs_types	= pmfs2_fs_types,
};
