/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * zufs_api.h - the ABI between zuf.ko and the ZUFS server (zusd).
 *
 * uapi rules: fixed-width types only, no pointers (a restarted server must
 * be able to honour everything the kernel holds), every struct padded to a
 * multiple of 8 bytes with its size and layout asserted below, a version
 * plus feature flags negotiated at handshake.  The kernel checks every field
 * the server returns; the server checks every field the kernel sends.
 *
 * Transport (DESIGN.md §3):
 *  - zuf-root is a tiny filesystem (mount -t zuf nodev /sys/fs/zuf).  Its
 *    "control" file is opened once per server thread.
 *  - Channels are per CPU.  Each channel thread: ZU_IOC_HANDSHAKE,
 *    ZU_IOC_INIT_CHAN (binds the fd to one CPU's channel), mmap() of the
 *    channel's command buffer (ZUFS_CHAN_CMD_SIZE at offset 0) and of its
 *    data window (ZUFS_CHAN_WINDOW_SIZE at offset ZUFS_CHAN_WINDOW_OFF),
 *    then a loop of ZU_IOC_WAIT: each call hands back the result of the
 *    previous command (already written into the command buffer) and sleeps
 *    until the next command of that CPU arrives.
 *  - One mount thread serves mount, umount, remount and statfs with
 *    ZU_IOC_MOUNT_WAIT in the same way, on its own buffer.  With
 *    ZUFS_FEATURE_CHAN_STATFS the kernel sends statfs and sync of a mount
 *    to the channel threads instead.
 *  - Data: in "direct" mode the server returns pmem extents (ZUFS_OP_GET_EXTENTS)
 *    and the kernel copies once between the application and pmem; in "map"
 *    mode the server reads or fills the channel's data window, pages the
 *    kernel owns, and the kernel copies between the window and the
 *    application (ZUFS_OP_READ/WRITE, buffer offsets relative to the window).
 *    The server never sees an application page.
 */
#ifndef _UAPI_ZUFS_API_H
#define _UAPI_ZUFS_API_H

#include <linux/types.h>
#include <linux/ioctl.h>

#ifdef __KERNEL__
#include <linux/build_bug.h>
#define ZUFS_ASSERT(e, msg) static_assert(e, msg)
#elif defined(__cplusplus)
#include <cstddef>
#define ZUFS_ASSERT(e, msg) static_assert(e, msg)
#else
#include <stddef.h>
#define ZUFS_ASSERT(e, msg) _Static_assert(e, msg)
#endif

#define ZUFS_MAJOR_VERSION	1
#define ZUFS_MINOR_VERSION	3	/* 1: EXT_MAPPED, 2: CHAN_STATFS, 3: KEEP_CTIME */

/* Feature flags, negotiated at handshake: the kernel answers with the AND. */
#define ZUFS_FEATURE_DIRECT	(1ULL << 0)	/* GET_EXTENTS + extent cache */
#define ZUFS_FEATURE_MAP	(1ULL << 1)	/* data window (map mode) */
#define ZUFS_FEATURE_DAX_MMAP	(1ULL << 2)	/* pmem pages mapped into apps */
#define ZUFS_FEATURE_RESTART	(1ULL << 3)	/* mounts survive server restart */
#define ZUFS_FEATURE_XATTR	(1ULL << 4)
#define ZUFS_FEATURE_ACL	(1ULL << 5)
#define ZUFS_FEATURE_TMPFILE	(1ULL << 6)
/* GET_EXTENTS may answer ZUFS_EXTENT_MAPPED and takes ZUFS_GE_PROMOTE */
#define ZUFS_FEATURE_EXT_MAPPED	(1ULL << 7)
/* STATFS and SYNC are served by the channel threads too (not only the
 * mount thread): one mount's slow statfs or sync holds up no other mount */
#define ZUFS_FEATURE_CHAN_STATFS	(1ULL << 8)
/* SETATTR takes ZUFS_SA_KEEP_CTIME: an access-time update leaves ctime */
#define ZUFS_FEATURE_KEEP_CTIME	(1ULL << 9)
#define ZUFS_FEATURES_ALL	((1ULL << 10) - 1)

#define ZUFS_ROOT_MOUNTPOINT	"/sys/fs/zuf"
#define ZUFS_CONTROL_FILE	"control"
#define ZUFS_FSTYPE_MAX		16	/* incl. NUL */
#define ZUFS_NAME_MAX		255
#define ZUFS_PATH_MAX		4096
#define ZUFS_MAX_EXTENTS	32	/* per GET_EXTENTS reply */
#define ZUFS_MAX_TIER_DEVS	4

/* Channel geometry (bytes). */
#define ZUFS_CHAN_CMD_SIZE	(64 * 1024)	/* command + inline payload */
#define ZUFS_CHAN_WINDOW_OFF	(1ULL << 32)	/* mmap offset of the window */
#define ZUFS_CHAN_WINDOW_SIZE	(4 * 1024 * 1024)

/* Operations. */
enum zufs_op {
	ZUFS_OP_NULL = 0,
	/* mount thread */
	ZUFS_OP_MOUNT = 1,
	ZUFS_OP_UMOUNT,
	ZUFS_OP_REMOUNT,
	ZUFS_OP_STATFS,
	ZUFS_OP_SYNC,
	/* channel threads: namespace */
	ZUFS_OP_LOOKUP = 16,
	ZUFS_OP_CREATE,		/* regular, device, fifo, socket */
	ZUFS_OP_MKDIR,
	ZUFS_OP_SYMLINK,
	ZUFS_OP_LINK,
	ZUFS_OP_UNLINK,
	ZUFS_OP_RMDIR,
	ZUFS_OP_RENAME,
	ZUFS_OP_TMPFILE,
	ZUFS_OP_READLINK,
	ZUFS_OP_READDIR,
	/* inodes */
	ZUFS_OP_GETATTR = 32,
	ZUFS_OP_SETATTR,
	ZUFS_OP_EVICT,
	/* data */
	ZUFS_OP_READ = 48,	/* map mode: into the data window */
	ZUFS_OP_WRITE,		/* map mode: from the data window */
	ZUFS_OP_GET_EXTENTS,	/* direct mode */
	ZUFS_OP_FALLOCATE,
	ZUFS_OP_LLSEEK,
	ZUFS_OP_FSYNC,
	/* xattrs */
	ZUFS_OP_GETXATTR = 64,
	ZUFS_OP_SETXATTR,
	ZUFS_OP_LISTXATTR,
	ZUFS_OP_REMOVEXATTR,
	ZUFS_OP_MAX_OPT
};

/* Kernel-assigned handles. */
typedef __u64 zufs_sb_id;	/* one mount; stable across server restarts */

/* Nanosecond time, as struct timespec64. */
struct zufs_time {
	__s64 sec;
	__u32 nsec;
	__u32 __pad;
};

struct zufs_attr {
	__u64 ino;
	__u64 size;
	__u64 blocks;		/* 512-byte units */
	__u64 generation;
	__u32 mode;
	__u32 nlink;
	__u32 uid;
	__u32 gid;
	__u32 rdev;
	__u32 blksize;
	struct zufs_time atime;
	struct zufs_time mtime;
	struct zufs_time ctime;
	struct zufs_time btime;
};

/* A name carried inline in a command. */
struct zufs_str {
	__u16 len;		/* 1..ZUFS_NAME_MAX, no NUL counted */
	__u16 __pad[3];
	char name[ZUFS_NAME_MAX + 1];
};

/* Every command starts with this header, in the channel's buffer. */
struct zufs_hdr {
	__u32 op;		/* enum zufs_op */
	__s32 err;		/* out: 0 or -errno */
	__u32 in_len;		/* bytes of the command, header included */
	__u32 out_len;		/* bytes of the reply, header included */
	__u64 seq;		/* kernel sequence number, echoed back */
	zufs_sb_id sb_id;	/* which mount */
	__u32 uid;		/* caller's fsuid/fsgid, for creation */
	__u32 gid;
	__u64 __reserved;
};

/* ---- mount thread ------------------------------------------------- */

struct zufs_mount {
	struct zufs_hdr hdr;
	char fstype[ZUFS_FSTYPE_MAX];
	__u32 flags;		/* ZUFS_M_* */
	__u32 pmem_id;		/* kernel handle of the pmem device (GRAB_PMEM) */
	__u64 pmem_size;	/* bytes the kernel lets the server map */
	__u64 root_ino;		/* out */
	__u64 features;		/* out: ZUFS_FEATURE_* this mount uses */
	__u32 ntier;
	__u32 __pad;
	__u32 tier_fd_id[ZUFS_MAX_TIER_DEVS];	/* handles, see GRAB_TIER */
	char options[1024];	/* NUL-terminated mount options */
	char dev_path[256];
};
#define ZUFS_M_RDONLY		(1u << 0)
#define ZUFS_M_REATTACH		(1u << 1)	/* server restart: mount exists */
/* REMOUNT (with RDONLY): the kernel shut the mount down (FS_IOC_SHUTDOWN):
 * write nothing more to the device, not even a clean state */
#define ZUFS_M_SHUTDOWN		(1u << 2)

struct zufs_statfs {
	struct zufs_hdr hdr;
	__u64 bsize, blocks, bfree, bavail, files, ffree, namelen, fsid;
};

/* ---- channel commands: namespace ---------------------------------- */

struct zufs_lookup {		/* also UNLINK, RMDIR */
	struct zufs_hdr hdr;
	__u64 dir;
	struct zufs_attr attr;	/* out (LOOKUP) */
	struct zufs_str name;
};

struct zufs_create {		/* CREATE, MKDIR, SYMLINK, TMPFILE */
	struct zufs_hdr hdr;
	__u64 dir;
	__u32 mode;
	__u32 rdev;
	__u32 target_len;	/* SYMLINK: bytes of target in the payload */
	__u32 __pad;
	struct zufs_attr attr;	/* out */
	struct zufs_str name;
	/* SYMLINK: target follows at ZUFS_PAYLOAD_OFF */
};

struct zufs_link {
	struct zufs_hdr hdr;
	__u64 ino;
	__u64 newdir;
	struct zufs_attr attr;	/* out */
	struct zufs_str name;
};

struct zufs_rename {
	struct zufs_hdr hdr;
	__u64 olddir;
	__u64 newdir;
	__u32 flags;		/* RENAME_NOREPLACE, RENAME_EXCHANGE */
	__u32 __pad;
	struct zufs_str oldname;
	struct zufs_str newname;
};

struct zufs_readlink {
	struct zufs_hdr hdr;
	__u64 ino;
	__u32 len;		/* out: bytes of target in the payload */
	__u32 __pad;
};

/* READDIR reply: packed struct zufs_dirent records in the payload. */
struct zufs_readdir {
	struct zufs_hdr hdr;
	__u64 dir;
	__u64 cookie;		/* in: where to start */
	__u32 bytes;		/* out: payload bytes used */
	__u32 more;		/* out: 1 if the listing goes on */
};

struct zufs_dirent {
	__u64 ino;
	__u64 next;		/* cookie after this entry */
	__u16 name_len;
	__u8 type;		/* DT_* */
	__u8 __pad[5];
	/* name[name_len], padded to 8 bytes */
};
#define ZUFS_DIRENT_SIZE(n)	((sizeof(struct zufs_dirent) + (n) + 7) & ~7UL)

/* ---- inodes -------------------------------------------------------- */

struct zufs_getattr {		/* also EVICT (no reply data) */
	struct zufs_hdr hdr;
	__u64 ino;
	struct zufs_attr attr;	/* out */
};

#define ZUFS_SA_MODE		(1u << 0)
#define ZUFS_SA_UID		(1u << 1)
#define ZUFS_SA_GID		(1u << 2)
#define ZUFS_SA_SIZE		(1u << 3)
#define ZUFS_SA_ATIME		(1u << 4)
#define ZUFS_SA_MTIME		(1u << 5)
#define ZUFS_SA_CTIME		(1u << 6)
#define ZUFS_SA_ATIME_NOW	(1u << 7)
#define ZUFS_SA_MTIME_NOW	(1u << 8)
#define ZUFS_SA_KEEP_CTIME	(1u << 9)	/* ctime stays (else: now) */

struct zufs_setattr {
	struct zufs_hdr hdr;
	__u64 ino;
	__u32 valid;		/* ZUFS_SA_* */
	__u32 mode;
	__u32 uid;
	__u32 gid;
	__u64 size;
	struct zufs_time atime;
	struct zufs_time mtime;
	struct zufs_time ctime;
	struct zufs_attr attr;	/* out */
};

/* ---- data ---------------------------------------------------------- */

struct zufs_rw {		/* READ, WRITE (map mode) */
	struct zufs_hdr hdr;
	__u64 ino;
	__u64 offset;		/* file offset */
	__u64 len;
	__u64 window_off;	/* where in the data window the data is (0) */
	__u64 done;		/* out: bytes transferred */
	__u64 new_size;		/* out: i_size after a write */
};

struct zufs_extent {
	__u64 file_off;
	__u64 pmem_off;		/* ZUFS_EXTENT_HOLE for a hole */
	__u64 len;
};
#define ZUFS_EXTENT_HOLE	(~0ULL)
/*
 * The data exists but is not on pmem (e.g. on a tier device): the kernel
 * must use map mode (ZUFS_OP_READ/WRITE) for the range.  Only with
 * ZUFS_FEATURE_EXT_MAPPED.  The kernel may remember such an extent (it holds
 * no address, so a stale one only costs a map-mode call) but never maps it.
 */
#define ZUFS_EXTENT_MAPPED	(~0ULL - 1)

struct zufs_get_extents {
	struct zufs_hdr hdr;
	__u64 ino;
	__u64 offset;
	__u64 len;
	__u32 flags;		/* ZUFS_GE_* */
	__u32 n;		/* out: extents returned */
	__u64 size;		/* out: i_size now */
	struct zufs_extent ext[ZUFS_MAX_EXTENTS];
};
#define ZUFS_GE_WRITE		(1u << 0)	/* allocate holes, data to pmem */
/*
 * DAX fault: bring data at offset back to pmem (no allocation); the first
 * extent is then pmem or a hole, never MAPPED.  ZUFS_FEATURE_EXT_MAPPED.
 */
#define ZUFS_GE_PROMOTE		(1u << 1)

/*
 * mode: FALLOC_FL_* as the application gave it.  For COLLAPSE_RANGE and
 * INSERT_RANGE the kernel has checked block alignment and the size rules and
 * dropped every cached extent and mapping from offset to EOF; a server that
 * cannot shift answers -EOPNOTSUPP.
 */
struct zufs_fallocate {
	struct zufs_hdr hdr;
	__u64 ino;
	__u64 offset;
	__u64 len;
	__u32 mode;
	__u32 __pad;
};

struct zufs_llseek {
	struct zufs_hdr hdr;
	__u64 ino;
	__u64 offset;		/* in; out: the result */
	__u32 whence;		/* SEEK_DATA, SEEK_HOLE */
	__u32 __pad;
};

struct zufs_fsync {
	struct zufs_hdr hdr;
	__u64 ino;
	__u32 datasync;
	__u32 __pad;
};

/* ---- xattrs: name inline, value in the payload --------------------- */

struct zufs_xattr {
	struct zufs_hdr hdr;
	__u64 ino;
	__u32 size;		/* value (GET/SET) or list (LIST) buffer size */
	__u32 flags;		/* XATTR_CREATE, XATTR_REPLACE */
	__u32 len;		/* out: bytes of value / list */
	__u32 __pad;
	struct zufs_str name;	/* full name with its prefix */
};

/* Variable payload (symlink targets, readdir, xattr values) starts here. */
#define ZUFS_PAYLOAD_OFF	4096
#define ZUFS_PAYLOAD_MAX	(ZUFS_CHAN_CMD_SIZE - ZUFS_PAYLOAD_OFF)

/* ---- ioctls on the zuf-root control file --------------------------- */

struct zufs_ioc_handshake {
	__u32 major;		/* in: ZUFS_MAJOR_VERSION; out: kernel's */
	__u32 minor;
	__u64 features;		/* in: wanted; out: granted */
	__u32 ncpus;		/* out: channels the kernel runs */
	__u32 __pad;
	__u64 server_id;	/* out: increments on every server attach */
};

struct zufs_ioc_register_fs {
	char fstype[ZUFS_FSTYPE_MAX];
	__u64 features;		/* ZUFS_FEATURE_* of this fs type */
	__u32 magic;		/* statfs f_type */
	__u32 flags;		/* ZUFS_REGFS_* */
};
#define ZUFS_REGFS_NODEV	(1u << 0)	/* mounts take no device (map mode) */

struct zufs_ioc_init_chan {
	__u32 cpu;		/* the channel (ZUFS_CHAN_MOUNT: mount thread) */
	__u32 __pad;
	__u64 cmd_size;		/* out: ZUFS_CHAN_CMD_SIZE */
	__u64 window_size;	/* out: ZUFS_CHAN_WINDOW_SIZE (0: mount thread) */
};
#define ZUFS_CHAN_MOUNT		0xffffffffu	/* binds the mount thread's fd */

struct zufs_ioc_wait {
	__u32 flags;		/* ZUFS_WAIT_* */
	__u32 __pad;
	__u64 seq;		/* out: command sequence number */
};
#define ZUFS_WAIT_HAS_RESULT	(1u << 0)	/* previous reply is ready */

/* The kernel grants the server a mapping of a mount's pmem device. */
struct zufs_ioc_grab_pmem {
	__u32 pmem_id;		/* in: from struct zufs_mount */
	__u32 __pad;
	__u64 size;		/* out */
	__s32 fd;		/* out: a file to mmap the device from */
	__u32 __pad2;
};

/*
 * Server -> kernel: forget cached extents of an inode range and zap DAX
 * mappings of it.  Returns once no kernel copy or fault that used a dropped
 * extent is still running; -EBUSY if one did not finish in time (the server
 * must then not reuse those blocks), -ENOENT for an unknown sb_id.  Never
 * waits for the server: callable while the server holds its own locks.
 */
struct zufs_ioc_invalidate {
	zufs_sb_id sb_id;
	__u64 ino;
	__u64 offset;
	__u64 len;		/* 0: to the end */
};

#define ZUFS_IOC_MAGIC		'Z'
#define ZU_IOC_HANDSHAKE	_IOWR(ZUFS_IOC_MAGIC, 1, struct zufs_ioc_handshake)
#define ZU_IOC_REGISTER_FS	_IOW(ZUFS_IOC_MAGIC, 2, struct zufs_ioc_register_fs)
#define ZU_IOC_INIT_CHAN	_IOWR(ZUFS_IOC_MAGIC, 3, struct zufs_ioc_init_chan)
#define ZU_IOC_WAIT		_IOWR(ZUFS_IOC_MAGIC, 4, struct zufs_ioc_wait)
#define ZU_IOC_MOUNT_WAIT	_IOWR(ZUFS_IOC_MAGIC, 5, struct zufs_ioc_wait)
#define ZU_IOC_GRAB_PMEM	_IOWR(ZUFS_IOC_MAGIC, 6, struct zufs_ioc_grab_pmem)
#define ZU_IOC_INVALIDATE	_IOW(ZUFS_IOC_MAGIC, 7, struct zufs_ioc_invalidate)
#define ZU_IOC_BREAK		_IO(ZUFS_IOC_MAGIC, 8)

/* ---- layout: sizes and offsets are ABI ----------------------------- */

ZUFS_ASSERT(sizeof(struct zufs_time) == 16, "zufs_time");
ZUFS_ASSERT(sizeof(struct zufs_attr) == 120, "zufs_attr");
ZUFS_ASSERT(sizeof(struct zufs_str) == 264, "zufs_str");
ZUFS_ASSERT(sizeof(struct zufs_hdr) == 48, "zufs_hdr");
ZUFS_ASSERT(sizeof(struct zufs_mount) == 1400, "zufs_mount");
ZUFS_ASSERT(sizeof(struct zufs_statfs) == 112, "zufs_statfs");
ZUFS_ASSERT(sizeof(struct zufs_lookup) == 440, "zufs_lookup");
ZUFS_ASSERT(sizeof(struct zufs_create) == 456, "zufs_create");
ZUFS_ASSERT(sizeof(struct zufs_link) == 448, "zufs_link");
ZUFS_ASSERT(sizeof(struct zufs_rename) == 600, "zufs_rename");
ZUFS_ASSERT(sizeof(struct zufs_readlink) == 64, "zufs_readlink");
ZUFS_ASSERT(sizeof(struct zufs_readdir) == 72, "zufs_readdir");
ZUFS_ASSERT(sizeof(struct zufs_dirent) == 24, "zufs_dirent");
ZUFS_ASSERT(sizeof(struct zufs_getattr) == 176, "zufs_getattr");
ZUFS_ASSERT(sizeof(struct zufs_setattr) == 248, "zufs_setattr");
ZUFS_ASSERT(sizeof(struct zufs_rw) == 96, "zufs_rw");
ZUFS_ASSERT(sizeof(struct zufs_extent) == 24, "zufs_extent");
ZUFS_ASSERT(sizeof(struct zufs_get_extents) == 88 + 24 * ZUFS_MAX_EXTENTS,
	    "zufs_get_extents");
ZUFS_ASSERT(sizeof(struct zufs_fallocate) == 80, "zufs_fallocate");
ZUFS_ASSERT(sizeof(struct zufs_llseek) == 72, "zufs_llseek");
ZUFS_ASSERT(sizeof(struct zufs_fsync) == 64, "zufs_fsync");
ZUFS_ASSERT(sizeof(struct zufs_xattr) == 336, "zufs_xattr");
ZUFS_ASSERT(sizeof(struct zufs_ioc_handshake) == 32, "handshake");
ZUFS_ASSERT(sizeof(struct zufs_ioc_register_fs) == 32, "register_fs");
ZUFS_ASSERT(sizeof(struct zufs_ioc_init_chan) == 24, "init_chan");
ZUFS_ASSERT(sizeof(struct zufs_ioc_wait) == 16, "wait");
ZUFS_ASSERT(sizeof(struct zufs_ioc_grab_pmem) == 24, "grab_pmem");
ZUFS_ASSERT(sizeof(struct zufs_ioc_invalidate) == 32, "invalidate");
ZUFS_ASSERT(offsetof(struct zufs_hdr, seq) == 16, "hdr.seq");
ZUFS_ASSERT(offsetof(struct zufs_lookup, name) == 176, "lookup.name");
ZUFS_ASSERT(offsetof(struct zufs_rename, newname) == 336, "rename.newname");
ZUFS_ASSERT(offsetof(struct zufs_get_extents, ext) == 88, "ge.ext");
ZUFS_ASSERT(ZUFS_EXTENT_MAPPED == 0xfffffffffffffffeULL, "extent mapped");
ZUFS_ASSERT((ZUFS_GE_WRITE & ZUFS_GE_PROMOTE) == 0, "ge flags");
ZUFS_ASSERT((ZUFS_FEATURES_ALL & ZUFS_FEATURE_CHAN_STATFS) != 0, "features");
ZUFS_ASSERT(sizeof(struct zufs_mount) <= ZUFS_PAYLOAD_OFF, "mount fits");
ZUFS_ASSERT(sizeof(struct zufs_get_extents) <= ZUFS_PAYLOAD_OFF, "ge fits");

#endif /* _UAPI_ZUFS_API_H */
