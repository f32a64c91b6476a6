/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * zuf_serve.h - zusd's kernel-transport mode: load a plugin, register its
 * filesystem types with zuf.ko and serve every mount the kernel sends
 * (mount -t TYPE DEV DIR) until SIGTERM/SIGINT/SIGHUP.
 */
#ifndef ZUSD_ZUF_SERVE_H
#define ZUSD_ZUF_SERVE_H

#include <stdbool.h>
#include <stdint.h>

struct zus_sb;

struct zusd_zuf_config {
	const char *plugin;	/* name or path of the plugin .so */
	const char *fstype;	/* NULL: every type of the plugin */
	const char *root;	/* zuf-root mountpoint; NULL: /sys/fs/zuf */
	unsigned int threads;	/* channel threads; 0: one per CPU */
	/* optional: mount device on mountpoint once serving, unmount at exit */
	const char *device;
	const char *mountpoint;
	const char *mount_opts;	/* plugin options for that mount, may be NULL */
	unsigned long mount_flags;	/* MS_* for that mount */
	bool debug;
	/* tests only: answer some commands wrongly (ZUSD_EVIL_*) */
	const char *evil;
	/* optional: called once the kernel can send mounts (zusd's READY) */
	void (*serving)(void *ctx);
	/* optional: around each channel command (zuf_transport_opts) */
	void (*op_begin)(void *ctx);
	void (*op_end)(void *ctx, struct zus_sb *sb, uint32_t op,
		       uint64_t bytes, int err);
	/*
	 * optional: a kernel mount is being made (before the plugin's mount(),
	 * options as the kernel sent them), and it is gone (mount_err as in
	 * zuf_transport_opts.mount_release); on the mount thread, sb stays
	 * valid in between
	 */
	void (*mount_begin)(void *ctx, struct zus_sb *sb, const char *fstype,
			    const char *options);
	void (*mount_end)(void *ctx, struct zus_sb *sb, int mount_err);
	void *ctx;		/* of serving, op_begin, op_end and the mount hooks */
};

/* Is zuf.ko there (so --transport=auto picks the kernel transport)? */
bool zusd_zuf_available(void);

/*
 * Map one "ro"/"nosuid"/... kernel mount option to its MS_* flag; returns
 * false when opt is not one of those.
 */
bool zusd_zuf_mount_flag(const char *opt, unsigned long *flags);

/* Serve until a signal or a fatal error; 0 or 1 (a message was printed). */
int zusd_zuf_serve(const struct zusd_zuf_config *cfg);

/*
 * While zusd_zuf_serve() serves: call fn on the kernel mount whose
 * superblock is sb, which stays mounted meanwhile.  fn's return, or
 * -ENOENT (no such served mount).  Any thread.
 */
struct zus_fs_type;
int zusd_zuf_with_mount(const struct zus_sb *sb,
			int (*fn)(struct zus_sb *sb,
				  const struct zus_fs_type *type, void *arg),
			void *arg);

#endif /* ZUSD_ZUF_SERVE_H */
