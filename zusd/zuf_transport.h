/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * zuf_transport.h - zusd's kernel transport: serve plugin filesystem types
 * to zuf.ko over its per-CPU channels (include/zufs/zufs_api.h).
 *
 * zuf_transport_start() opens the zuf-root control file (mounting zuf-root
 * at /sys/fs/zuf if needed), handshakes, registers every fs type, then runs
 * one mount thread and one channel thread per CPU (pinned to it).  The
 * kernel then mounts (mount -t TYPE DEV DIR) through the mount thread; each
 * ZUFS_OP_* a channel thread receives is checked and mapped to the plugin's
 * zus_fs_ops.  Mounts survive a server restart: a new transport gets every
 * existing mount again (ZUFS_M_REATTACH) and the plugin's mount() recovers.
 */
#ifndef ZUSD_ZUF_TRANSPORT_H
#define ZUSD_ZUF_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <zufs/zus.h>

struct zuf_transport;

struct zuf_transport_opts {
	const char *root;	/* zuf-root mountpoint; NULL: /sys/fs/zuf */
	unsigned int nthreads;	/* channel threads; 0: one per online CPU */
	/* messages; NULL: stderr.  prio is a ZUS_LOG_* (syslog) level */
	void (*log)(void *ctx, int prio, const char *msg);
	void *log_ctx;
	/* tier backends offered to mounts (may be NULL) */
	const struct zus_tier_backend *tier_backend;
	/*
	 * Optional host hooks around each mount (the mount thread calls
	 * them).  mount_prepare runs before the plugin's mount() with sb
	 * filled from the kernel's command: it may give sb its tier devices
	 * and replace sb->options (host-owned until mount_release); a -errno
	 * fails the mount.  mount_release gets what mount_prepare stored in
	 * *host_data and mount_err: 0 after the plugin's umount(), the -errno
	 * of a failed mount, or 1 when the transport stops with the mount
	 * still in the kernel (the plugin was not unmounted and may still use
	 * what the host gave it).
	 */
	int (*mount_prepare)(void *ctx, struct zus_sb *sb, void **host_data);
	void (*mount_release)(void *ctx, struct zus_sb *sb, void *host_data,
			      int mount_err);
	void *mount_ctx;
	/*
	 * Optional (zusd's statistics and watchdog), on the channel thread
	 * around each channel command: op_begin before it is dispatched,
	 * op_end after, with the mount's sb (NULL: no such mount), the
	 * ZUFS_OP_*, the data bytes moved (READ, WRITE) and 0 or -errno.
	 */
	void (*op_begin)(void *ctx);
	void (*op_end)(void *ctx, struct zus_sb *sb, uint32_t op,
		       uint64_t bytes, int err);
	void *op_ctx;
	/*
	 * Tests only: one kind of reply is made malformed on purpose, to prove
	 * the kernel rejects it (-EIO) without harm: "getattr" (a bad mode),
	 * "lookup" (an out-of-range errno), "readdir" (a record past its end),
	 * "extents" (extents past the device), "statfs" (a bad block size),
	 * "seq" (SETATTR replies echo a wrong sequence number).  NULL: none.
	 */
	const char *evil;
};

/*
 * Start serving the NULL-terminated fs types.  On failure returns -errno
 * and a message in err (zuf.ko not loaded, ABI mismatch, name taken...).
 */
int zuf_transport_start(const struct zus_fs_type *const *types,
			const struct zuf_transport_opts *opts,
			struct zuf_transport **out, char *err, size_t errlen);

/*
 * Block until zuf_transport_request_stop() or zuf_transport_stop() is
 * called or a thread fails; returns 0 or the first thread error (-errno).
 */
int zuf_transport_wait(struct zuf_transport *zt);

/* Make zuf_transport_wait() return (from any thread; not a signal handler). */
void zuf_transport_request_stop(struct zuf_transport *zt);

/*
 * Stop the threads and free the transport.  Mounts stay in the kernel
 * (they wait for the next server); plugins' umount() is not called.
 */
void zuf_transport_stop(struct zuf_transport *zt);

/* enum of a test mode name (opts.evil), -1 if unknown. */
int zuf_transport_evil_mode(const char *name);

/* The features zusd asks the kernel for a fs type (exposed for tests). */
uint64_t zuf_transport_type_features(const struct zus_fs_type *t);

/*
 * The fs type of a mount, from the sb the mount hooks get (valid from
 * mount_prepare to mount_release).
 */
const struct zus_fs_type *zuf_transport_sb_type(const struct zus_sb *sb);

/*
 * Call fn on the mount whose superblock is sb while it stays mounted (the
 * transport's mount lock held for reading: an umount waits).  fn's return,
 * or -ENOENT if sb is not (or not yet) a served mount.
 */
int zuf_transport_with_mount(struct zuf_transport *zt, const struct zus_sb *sb,
			     int (*fn)(struct zus_sb *sb,
				       const struct zus_fs_type *type, void *arg),
			     void *arg);

#endif /* ZUSD_ZUF_TRANSPORT_H */
