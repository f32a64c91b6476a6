/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * zus.h - the ZUFS plugin SDK.
 *
 * A plugin is a shared object loaded by a host (zusd over zuf.ko, zusd over
 * FUSE, or the in-process host used by tests).  It exports one symbol,
 * `zus_plugin` (struct zus_plugin), naming the filesystem types it serves.
 *
 * Handles are inode numbers, never pointers: a restarted server must be able
 * to honour every handle the kernel still holds.  Every operation returns 0
 * or a negative errno.  Operations are synchronous: when one returns, its
 * effect is durable on pmem (there is no separate writeback).
 *
 * Permission checks are the host's job (the kernel's VFS, FUSE's
 * default_permissions, or the in-process host); plugins store modes, owners
 * and POSIX ACL xattrs and enforce only filesystem invariants (ENOTEMPTY,
 * EEXIST, ELOOP for rename into a descendant, ...).
 */
#ifndef ZUFS_ZUS_H
#define ZUFS_ZUS_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <sys/types.h>

#include "zus_pmem.h"

#ifdef __cplusplus
extern "C" {
#endif

struct zus_tier_backend;
struct zus_tier_status;

/*
 * Plugin API versions.  A plugin records the version of the headers it was
 * built with (zus_plugin.abi_version = ZUS_PLUGIN_ABI_VERSION); a host loads
 * plugins of ZUS_PLUGIN_ABI_MIN to ZUS_PLUGIN_ABI_VERSION, its own headers'.
 * A compatible change (a member appended to struct zus_fs_ops or zus_sb, a
 * new flag) raises ZUS_PLUGIN_ABI_VERSION, and the host uses what it added
 * only for plugins that declare the new version.  An incompatible one (a
 * member moved, resized or given a new meaning) raises ZUS_PLUGIN_ABI_MIN
 * to the new version too.  A plugin newer than its host is refused: the
 * host cannot know what it expects.  See zus-plugin(7).
 */
#define ZUS_PLUGIN_ABI_MIN	1
#define ZUS_PLUGIN_ABI_VERSION	1
#define ZUS_NAME_MAX		255
#define ZUS_PATH_MAX		4096
#define ZUS_XATTR_NAME_MAX	255
#define ZUS_XATTR_SIZE_MAX	65536

/* Nanosecond timestamp, as in struct timespec. */
struct zus_time {
	int64_t sec;
	uint32_t nsec;
	uint32_t pad;
};

struct zus_attr {
	uint64_t ino;
	uint64_t size;
	uint64_t blocks;	/* 512-byte units, as st_blocks */
	uint32_t mode;		/* S_IFMT | permission bits */
	uint32_t nlink;
	uint32_t uid;
	uint32_t gid;
	uint32_t rdev;		/* makedev() encoding for devices */
	uint32_t blksize;
	uint64_t generation;
	struct zus_time atime;
	struct zus_time mtime;
	struct zus_time ctime;
	struct zus_time btime;
};

/* setattr: which fields of struct zus_setattr are valid */
enum {
	ZUS_SET_MODE	= 1u << 0,
	ZUS_SET_UID	= 1u << 1,
	ZUS_SET_GID	= 1u << 2,
	ZUS_SET_SIZE	= 1u << 3,
	ZUS_SET_ATIME	= 1u << 4,
	ZUS_SET_MTIME	= 1u << 5,
	ZUS_SET_CTIME	= 1u << 6,	/* explicit ctime (else: now) */
	ZUS_SET_ATIME_NOW = 1u << 7,
	ZUS_SET_MTIME_NOW = 1u << 8,
	ZUS_SET_KEEP_CTIME = 1u << 9,	/* an access: ctime stays */
};

struct zus_setattr {
	uint32_t valid;
	uint32_t mode;		/* permission bits only; type is kept */
	uint32_t uid;
	uint32_t gid;
	uint64_t size;
	struct zus_time atime;
	struct zus_time mtime;
	struct zus_time ctime;
};

/* Who creates a new inode; the host resolves setgid dirs and umask. */
struct zus_creds {
	uint32_t uid;
	uint32_t gid;
};

struct zus_statfs {
	uint64_t bsize;
	uint64_t blocks;
	uint64_t bfree;
	uint64_t bavail;
	uint64_t files;
	uint64_t ffree;
	uint64_t namelen;
	uint64_t fsid;
};

/* rename flags, same values as <linux/fs.h> */
#define ZUS_RENAME_NOREPLACE	(1u << 0)
#define ZUS_RENAME_EXCHANGE	(1u << 1)

/* fallocate modes, same values as <linux/falloc.h> */
#define ZUS_FALLOC_KEEP_SIZE		0x01
#define ZUS_FALLOC_PUNCH_HOLE		0x02
/* COLLAPSE_RANGE and INSERT_RANGE come alone; the plugin checks the block
 * alignment and the size rules (ext4's) */
#define ZUS_FALLOC_COLLAPSE_RANGE	0x08
#define ZUS_FALLOC_ZERO_RANGE		0x10
#define ZUS_FALLOC_INSERT_RANGE		0x20

/* setxattr flags, same values as <sys/xattr.h> */
#define ZUS_XATTR_CREATE	0x1
#define ZUS_XATTR_REPLACE	0x2

/* lseek whence values the plugin serves */
#define ZUS_SEEK_DATA		3
#define ZUS_SEEK_HOLE		4

/* d_type values, same as <dirent.h> DT_* */
enum {
	ZUS_DT_UNKNOWN = 0, ZUS_DT_FIFO = 1, ZUS_DT_CHR = 2, ZUS_DT_DIR = 4,
	ZUS_DT_BLK = 6, ZUS_DT_REG = 8, ZUS_DT_LNK = 10, ZUS_DT_SOCK = 12,
};

/*
 * readdir emit callback.  `next` is the cookie that resumes after this entry
 * (positive, stable across inserts, deletes and index growth: seekdir/telldir
 * work).  Return non-zero to stop (the buffer is full); the plugin then
 * returns 0 and the caller resumes from the last accepted entry's `next`.
 */
typedef int (*zus_filldir_t)(void *ctx, const char *name, size_t namelen,
			     uint64_t ino, unsigned int dtype, uint64_t next);

/*
 * A pmem extent returned by get_extents (kernel "direct" data mode): file
 * bytes [file_off, file_off + len) live at pmem byte offset pmem_off of the
 * mounted device.  A hole has pmem_off == ZUS_EXTENT_HOLE.
 */
#define ZUS_EXTENT_HOLE		UINT64_MAX
/*
 * The data exists but is not on pmem (e.g. on a tier device): the kernel
 * cannot copy it directly and must use map mode (read/write ops) for
 * [file_off, file_off + len).  Never returned with ZUS_GE_WRITE: a write
 * brings the blocks back to pmem first.
 */
#define ZUS_EXTENT_MAPPED	(UINT64_MAX - 1)
struct zus_extent {
	uint64_t file_off;
	uint64_t pmem_off;
	uint64_t len;
};

#define ZUS_GE_WRITE		(1u << 0)	/* allocate holes (zeroed) */
/*
 * The kernel must map the range into an application (DAX fault): bring data
 * at off back to pmem first (no allocation), so that the first extent is
 * pmem or a hole, never ZUS_EXTENT_MAPPED.
 */
#define ZUS_GE_PROMOTE		(1u << 1)

/* Tier backend: a capacity device behind pmem (see plugins/tier). */
struct zus_tier_dev {
	int fd;			/* opened by the host, O_DIRECT where possible */
	const char *path;
	uint64_t size;		/* bytes */
	uint8_t uuid[16];	/* as recorded by mkfs, checked at mount */
};

/*
 * The host's view of one mounted filesystem.  The host fills everything but
 * fs_private before calling mount(); the plugin sets fs_private.
 */
struct zus_sb {
	struct zus_pmem pmem;		/* the mapped pmem device */
	const char *dev_path;		/* for messages */
	const char *options;		/* mount options, comma separated, may be NULL */
	bool readonly;
	unsigned int ntier;
	struct zus_tier_dev *tier;	/* ntier entries */
	const struct zus_tier_backend *tier_backend;	/* NULL: none loaded */
	void *fs_private;
	/* Log sink; the host routes it (stderr, journald, test capture). */
	void (*log)(struct zus_sb *sb, int prio, const char *msg);
	/*
	 * Set by a host that caches extents (zuf: the kernel's extent cache
	 * and DAX mappings); NULL elsewhere.  Call through zus_invalidate().
	 */
	int (*invalidate)(struct zus_sb *sb, uint64_t ino, uint64_t off,
			  uint64_t len);
	void *host_private;
};

/*
 * The plugin moved or is about to free the blocks of [off, off + len) of
 * ino (len 0: to the end): the host drops extents it cached for the range
 * and zaps application mappings of it, and returns once nothing still uses
 * an extent it dropped.  Callable from any thread, while channel threads
 * serve, with the plugin's own locks held: the host never waits for a
 * plugin call.  Call it after the plugin stopped handing out the old
 * extent (pointer flipped, or lock held against get_extents) and before it
 * frees or reuses the block.  0, or -EBUSY: a user did not let go in time;
 * the old block must then stay allocated.  Hosts without a cache: 0.
 */
static inline int zus_invalidate(struct zus_sb *sb, uint64_t ino,
				 uint64_t off, uint64_t len)
{
	return sb && sb->invalidate ? sb->invalidate(sb, ino, off, len) : 0;
}

struct zus_fs_ops {
	/* Superblock. mount validates the device and recovers after a crash. */
	int (*mount)(struct zus_sb *sb);
	void (*umount)(struct zus_sb *sb);
	int (*remount)(struct zus_sb *sb, const char *options, bool readonly);
	int (*statfs)(struct zus_sb *sb, struct zus_statfs *st);
	int (*sync)(struct zus_sb *sb);
	uint64_t (*root_ino)(struct zus_sb *sb);

	/* Names */
	int (*lookup)(struct zus_sb *sb, uint64_t dir, const char *name,
		      size_t namelen, struct zus_attr *out);
	/* create covers regular files, devices, fifos and sockets (mknod) */
	int (*create)(struct zus_sb *sb, uint64_t dir, const char *name,
		      size_t namelen, uint32_t mode, uint32_t rdev,
		      const struct zus_creds *cr, struct zus_attr *out);
	int (*mkdir)(struct zus_sb *sb, uint64_t dir, const char *name,
		     size_t namelen, uint32_t mode, const struct zus_creds *cr,
		     struct zus_attr *out);
	int (*symlink)(struct zus_sb *sb, uint64_t dir, const char *name,
		       size_t namelen, const char *target,
		       const struct zus_creds *cr, struct zus_attr *out);
	int (*link)(struct zus_sb *sb, uint64_t ino, uint64_t newdir,
		    const char *name, size_t namelen, struct zus_attr *out);
	/*
	 * unlink/rmdir drop a name.  An inode whose link count reaches zero is
	 * kept (orphaned) until evict() says the host holds it no more; one
	 * still orphaned at the next mount is reclaimed then.
	 */
	int (*unlink)(struct zus_sb *sb, uint64_t dir, const char *name,
		      size_t namelen);
	int (*rmdir)(struct zus_sb *sb, uint64_t dir, const char *name,
		     size_t namelen);
	int (*rename)(struct zus_sb *sb, uint64_t olddir, const char *oldname,
		      size_t oldlen, uint64_t newdir, const char *newname,
		      size_t newlen, unsigned int flags);
	/* O_TMPFILE: an inode with no name (link count 0) */
	int (*tmpfile)(struct zus_sb *sb, uint64_t dir, uint32_t mode,
		       const struct zus_creds *cr, struct zus_attr *out);
	int (*readlink)(struct zus_sb *sb, uint64_t ino, char *buf,
			size_t size, size_t *len);
	/* Emits ".", "..", then the entries; cookie 0 starts. */
	int (*readdir)(struct zus_sb *sb, uint64_t dir, uint64_t cookie,
		       zus_filldir_t emit, void *ctx);

	/* Inodes */
	int (*getattr)(struct zus_sb *sb, uint64_t ino, struct zus_attr *out);
	int (*setattr)(struct zus_sb *sb, uint64_t ino,
		       const struct zus_setattr *sa, struct zus_attr *out);
	/* The host dropped its last reference: free ino if it has no links. */
	void (*evict)(struct zus_sb *sb, uint64_t ino);

	/* Data, buffer mode (in-process host, FUSE, kernel map mode) */
	ssize_t (*read)(struct zus_sb *sb, uint64_t ino, void *buf,
			size_t len, uint64_t off);
	ssize_t (*write)(struct zus_sb *sb, uint64_t ino, const void *buf,
			 size_t len, uint64_t off);
	/* Data, direct mode: return up to *n extents covering [off, off+len). */
	int (*get_extents)(struct zus_sb *sb, uint64_t ino, uint64_t off,
			   uint64_t len, unsigned int flags,
			   struct zus_extent *ext, unsigned int *n);
	int (*fallocate)(struct zus_sb *sb, uint64_t ino, int mode,
			 uint64_t off, uint64_t len);
	int (*lseek)(struct zus_sb *sb, uint64_t ino, uint64_t off,
		     int whence, uint64_t *result);
	int (*fsync)(struct zus_sb *sb, uint64_t ino, bool datasync);

	/* Extended attributes (user., trusted., security., system.posix_acl_*) */
	ssize_t (*getxattr)(struct zus_sb *sb, uint64_t ino, const char *name,
			    void *value, size_t size);
	int (*setxattr)(struct zus_sb *sb, uint64_t ino, const char *name,
			const void *value, size_t size, int flags);
	/* NUL-separated names; size 0 asks for the length needed */
	ssize_t (*listxattr)(struct zus_sb *sb, uint64_t ino, char *list,
			     size_t size);
	int (*removexattr)(struct zus_sb *sb, uint64_t ino, const char *name);

	/* Optional (may be NULL): tiering counters, for zufsctl stats. */
	int (*tier_status)(struct zus_sb *sb, struct zus_tier_status *st);
	/*
	 * Optional: the kernel shut the mount down (FS_IOC_SHUTDOWN).  Write
	 * nothing more to the device, not even a clean state, so that the
	 * next mount recovers as after a crash; then only umount comes.
	 * NULL: the host remounts read-only instead.
	 */
	void (*shutdown)(struct zus_sb *sb);
};

/* zus_fs_type.flags */
#define ZUS_FS_DIRECT_DATA	(1u << 0)	/* get_extents is served */
#define ZUS_FS_NEEDS_PMEM	(1u << 1)	/* mount needs a pmem device */

struct zus_fs_type {
	const char *name;		/* the -t name, e.g. "pmfs2" */
	uint32_t flags;
	const struct zus_fs_ops *ops;
};

/*
 * Tier backend: moves blocks between pmem and a capacity device.  A filesystem
 * plugin finds it by name (zus_sb.tier_backend) and never knows how the I/O
 * is done (io_uring, pread, ...).  submit() returns when every I/O of the
 * batch has completed; a write is durable on the device when it returns.
 */
enum zus_tier_op { ZUS_TIER_READ = 0, ZUS_TIER_WRITE = 1 };

struct zus_tier_io {
	uint64_t dev_off;	/* byte offset on the tier device, block aligned */
	void *buf;		/* pmem or DRAM, block aligned */
	uint32_t len;		/* bytes, multiple of the block size */
	uint32_t op;		/* enum zus_tier_op */
	int32_t result;		/* 0 or -errno, set by submit */
	uint32_t pad;
};

struct zus_tier_stats {
	uint64_t reads, writes, read_bytes, write_bytes;
	uint32_t queue_depth, max_queue_depth;
};

struct zus_tier_backend {
	const char *name;
	int (*attach)(struct zus_tier_dev *dev, unsigned int queue_depth,
		      void **ctx);
	void (*detach)(void *ctx);
	int (*submit)(void *ctx, struct zus_tier_io *ios, unsigned int n);
	int (*flush)(void *ctx);
	void (*stats)(void *ctx, struct zus_tier_stats *st);
	/*
	 * Optional (may be NULL): a block-aligned staging buffer of up to len
	 * bytes that the backend has registered with the device (I/O from it
	 * needs no page pinning nor copy), or NULL when none is free; the
	 * caller then uses its own aligned memory.
	 */
	void *(*buf_alloc)(void *ctx, size_t len);
	void (*buf_free)(void *ctx, void *buf);
};

/*
 * Tiering status of one mount (zus_fs_ops.tier_status), for the D-Bus
 * service and `zufsctl stats`.  Byte counts; rates over the last busy
 * migration period.
 */
#define ZUS_TIER_NAME_MAX	16
struct zus_tier_status {
	char backend[ZUS_TIER_NAME_MAX];	/* "uring", "sync", ... */
	uint32_t ntier;			/* tier devices attached */
	uint32_t low_pct, high_pct;	/* free-pmem watermarks */
	uint32_t migrating;		/* 1 while a migration pass runs */
	uint64_t pmem_bytes, pmem_free_bytes;	/* data area of pmem */
	uint64_t tier_bytes, tier_free_bytes;	/* tier data blocks */
	uint64_t migrations, migrated_bytes;	/* pmem -> tier (extents) */
	uint64_t promotions, promoted_bytes;	/* tier -> pmem (extents) */
	uint64_t cold_reads, cold_read_bytes;	/* reads served by the tier */
	uint64_t migrate_ns;		/* time spent in migration I/O + flips */
	uint64_t migrate_bytes_per_sec;	/* migrated_bytes * 1e9 / migrate_ns */
	struct zus_tier_stats io;	/* the backend's counters */
};

struct zus_plugin {
	uint32_t abi_version;		/* ZUS_PLUGIN_ABI_VERSION; stays first */
	const char *name;
	const struct zus_fs_type *const *fs_types;	/* NULL-terminated */
	const struct zus_tier_backend *const *tier_backends; /* may be NULL */
	int (*init)(void);		/* may be NULL */
	void (*exit)(void);		/* may be NULL */
};

/* The symbol a plugin .so exports. */
#define ZUS_PLUGIN_SYMBOL	"zus_plugin"

/* Log priorities, as syslog's */
#define ZUS_LOG_ERR	3
#define ZUS_LOG_WARNING	4
#define ZUS_LOG_NOTICE	5
#define ZUS_LOG_INFO	6
#define ZUS_LOG_DEBUG	7

#ifdef __cplusplus
}
#endif
#endif /* ZUFS_ZUS_H */
