/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuse_transport.h - serving a mounted plugin through /dev/fuse (libfuse3
 * low-level API): the fallback on kernels without zuf.ko and the baseline
 * the zuf transport is measured against.
 */
#ifndef ZUSD_FUSE_TRANSPORT_H
#define ZUSD_FUSE_TRANSPORT_H

#include <stdbool.h>

#include "mount.h"

struct zusd_fuse_config {
	const char *mountpoint;
	const char *fsname;	/* shown in /proc/mounts: the device */
	const char *subtype;	/* fuse.<subtype>: the fs type */
	const char *fuse_opts;	/* extra FUSE mount options, may be NULL */
	bool readonly;
	bool debug;		/* libfuse request tracing */
	unsigned int threads;	/* 0: one per online CPU */
};

/* Is opt (one "name" or "name=value") a FUSE/VFS mount option? */
bool zusd_fuse_is_mount_opt(const char *opt);

/*
 * Mount m at cfg->mountpoint and serve it until unmounted (fusermount3 -u,
 * umount) or SIGINT/SIGTERM/SIGHUP.  Every inode still held is evicted
 * before returning; the caller then closes m.  Returns 0 or -errno (a
 * message was printed).
 */
int zusd_fuse_serve(struct zusd_mount *m, const struct zusd_fuse_config *cfg);

#endif /* ZUSD_FUSE_TRANSPORT_H */
