// SPDX-License-Identifier: BSD-2-Clause
/*
 * super.c - mount, options, statfs and the plugin's one exported symbol.
 *
 * zusd maps a device for every mount; memfs never reads or writes it (the
 * fs type does not set ZUS_FS_NEEDS_PMEM).  Its size is the default
 * capacity, so `truncate -s 256M memfs.img` makes a 256 MiB memfs;
 * size=N[k|m|g] overrides it.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "memfs.h"

void memfs_log(struct memfs_sb *m, int prio, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (m->zsb->log)
		m->zsb->log(m->zsb, prio, msg);
}

/* "N", "Nk", "Nm" or "Ng" bytes */
static int parse_size(const char *val, size_t len, uint64_t *out)
{
	char buf[32], *end;
	unsigned long long v;

	if (!len || len >= sizeof(buf) || val[0] < '0' || val[0] > '9')
		return -EINVAL;
	memcpy(buf, val, len);
	buf[len] = '\0';
	errno = 0;
	v = strtoull(buf, &end, 10);
	switch (*end) {
	case 'g': case 'G': v <<= 10; /* fall through */
	case 'm': case 'M': v <<= 10; /* fall through */
	case 'k': case 'K': v <<= 10; end++; break;
	}
	if (errno || *end || v < MEMFS_BLOCK_SIZE)
		return -EINVAL;
	*out = v;
	return 0;
}

/*
 * The host took its own options out (tier=, atime and the generic ones);
 * what is left is ours.  An unknown one fails the mount, as on ext4: a
 * misspelt option silently ignored misleads the admin.
 */
static int parse_options(struct memfs_sb *m, const char *opts, uint64_t *size)
{
	const char *p = opts;

	while (p && *p) {
		size_t len = strcspn(p, ",");

		if (len > 5 && !strncmp(p, "size=", 5)) {
			if (parse_size(p + 5, len - 5, size)) {
				memfs_log(m, ZUS_LOG_ERR,
					  "mount option '%.*s': want size=N[k|m|g], at least 4k",
					  (int)len, p);
				return -EINVAL;
			}
		} else if (len) {
			memfs_log(m, ZUS_LOG_ERR,
				  "unknown mount option '%.*s': memfs takes size=N[k|m|g]",
				  (int)len, p);
			return -EINVAL;
		}
		p += len + (p[len] == ',');
	}
	return 0;
}

static void set_capacity(struct memfs_sb *m, uint64_t size)
{
	m->max_blocks = size >> MEMFS_BLOCK_SHIFT;
	m->max_files = m->max_blocks;	/* as many inodes as blocks */
}

static int memfs_mount(struct zus_sb *zsb)
{
	struct memfs_sb *m = calloc(1, sizeof(*m));
	uint64_t size = zsb->pmem.size;
	struct memfs_inode *root;
	struct zus_creds cr = { .uid = geteuid(), .gid = getegid() };
	int err;

	if (!m)
		return -ENOMEM;
	m->zsb = zsb;
	err = parse_options(m, zsb->options, &size);
	if (!err && zsb->ntier) {
		memfs_log(m, ZUS_LOG_ERR, "memfs has no use for tier devices");
		err = -EINVAL;
	}
	if (!err && size < MEMFS_BLOCK_SIZE) {
		memfs_log(m, ZUS_LOG_ERR, "no capacity: give size=N");
		err = -EINVAL;
	}
	if (err) {
		free(m);
		return err;
	}
	set_capacity(m, size);
	m->readonly = zsb->readonly;
	m->next_gen = 1;
	pthread_mutex_init(&m->lock, NULL);
	/* the root is inode 1 and its own parent; the server's user owns it */
	err = memfs_new_inode(m, S_IFDIR | 0755, &cr, &root);
	if (err) {
		pthread_mutex_destroy(&m->lock);
		free(m);
		return err;
	}
	root->parent = root->attr.ino;
	zsb->fs_private = m;
	return 0;
}

static void memfs_umount(struct zus_sb *zsb)
{
	struct memfs_sb *m = zsb->fs_private;

	for (uint64_t i = 0; i < m->ninodes; i++)
		if (m->inodes[i])
			memfs_free_inode(m, m->inodes[i]);
	free(m->inodes);
	pthread_mutex_destroy(&m->lock);
	free(m);
	zsb->fs_private = NULL;
}

static int memfs_remount(struct zus_sb *zsb, const char *options,
			 bool readonly)
{
	struct memfs_sb *m = memfs_lock(zsb);
	uint64_t size = (uint64_t)m->max_blocks << MEMFS_BLOCK_SHIFT;
	int err = parse_options(m, options, &size);

	if (!err && (size >> MEMFS_BLOCK_SHIFT < m->blocks ||
		     size >> MEMFS_BLOCK_SHIFT < m->files)) {
		memfs_log(m, ZUS_LOG_ERR, "size=%llu is less than in use",
			  (unsigned long long)size);
		err = -EINVAL;
	}
	if (!err) {
		set_capacity(m, size);
		m->readonly = readonly;
	}
	memfs_unlock(m);
	return err;
}

static int memfs_statfs(struct zus_sb *zsb, struct zus_statfs *st)
{
	struct memfs_sb *m = memfs_lock(zsb);

	memset(st, 0, sizeof(*st));
	st->bsize = MEMFS_BLOCK_SIZE;
	st->blocks = m->max_blocks;
	st->bfree = st->bavail = m->max_blocks - m->blocks;
	st->files = m->max_files;
	st->ffree = m->max_files - m->files;
	st->namelen = ZUS_NAME_MAX;
	st->fsid = (uint64_t)(uintptr_t)m;	/* unique while mounted */
	memfs_unlock(m);
	return 0;
}

/* Nothing to write back: every operation is complete when it returns. */
static int memfs_sync(struct zus_sb *zsb)
{
	return 0;
}

static int memfs_fsync(struct zus_sb *zsb, uint64_t ino, bool datasync)
{
	return 0;
}

static uint64_t memfs_root_ino(struct zus_sb *zsb)
{
	return MEMFS_ROOT_INO;
}

static const struct zus_fs_ops memfs_ops = {
	.mount		= memfs_mount,
	.umount		= memfs_umount,
	.remount	= memfs_remount,
	.statfs		= memfs_statfs,
	.sync		= memfs_sync,
	.root_ino	= memfs_root_ino,
	.lookup		= memfs_lookup,
	.create		= memfs_create,
	.mkdir		= memfs_mkdir,
	.symlink	= memfs_symlink,
	.link		= memfs_link,
	.unlink		= memfs_unlink,
	.rmdir		= memfs_rmdir,
	.rename		= memfs_rename,
	.tmpfile	= memfs_tmpfile,
	.readlink	= memfs_readlink,
	.readdir	= memfs_readdir,
	.getattr	= memfs_getattr,
	.setattr	= memfs_setattr,
	.evict		= memfs_evict,
	.read		= memfs_read,
	.write		= memfs_write,
	.fallocate	= memfs_fallocate,
	.lseek		= memfs_lseek,
	.fsync		= memfs_fsync,
	.getxattr	= memfs_getxattr,
	.setxattr	= memfs_setxattr,
	.listxattr	= memfs_listxattr,
	.removexattr	= memfs_removexattr,
	/* no get_extents (no ZUS_FS_DIRECT_DATA): data goes through read/write */
};

static const struct zus_fs_type memfs_type = {
	.name	= "memfs",
	.flags	= 0,
	.ops	= &memfs_ops,
};

static const struct zus_fs_type *const memfs_types[] = { &memfs_type, NULL };

/* The one symbol zusd looks for (ZUS_PLUGIN_SYMBOL); all else is hidden. */
__attribute__((visibility("default")))
const struct zus_plugin zus_plugin = {
	.abi_version	= ZUS_PLUGIN_ABI_VERSION,
	.name		= "memfs",
	.fs_types	= memfs_types,
};
