/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuse_transport.h - serving a mounted plugin through /dev/fuse (libfuse3
 * low-level API): the fallback on kernels without zuf.ko and the baseline
 * the zuf transport is measured against.
 */
#ifndef ZUSD_FUSE_TRANSPORT_H
#define ZUSD_FUSE_TRANSPORT_H

#include <pthread.h>
#include <stdbool.h>

#include "mount.h"

/*
 * Lets zusd's main loop follow and stop a zusd_fuse_serve() running on
 * another thread.  The caller initialises lock, mounted and ctx and zeroes
 * the rest.
 */
struct zusd_fuse_ctl {
	pthread_mutex_t lock;
	void (*mounted)(void *ctx);	/* mounted, about to serve; may be NULL */
	void *ctx;
	/* private */
	void *se;		/* the FUSE session while serving */
	pthread_t tid;		/* the thread serving it */
	bool stop;
};

struct zusd_fuse_config {
	const char *mountpoint;
	const char *fsname;	/* shown in /proc/mounts: the device */
	const char *subtype;	/* fuse.<subtype>: the fs type */
	const char *fuse_opts;	/* extra FUSE mount options, may be NULL */
	bool readonly;
	bool debug;		/* libfuse request tracing */
	unsigned int threads;	/* 0: one per online CPU */
	/* NULL: serve until a signal (handlers installed here); else no
	 * signal handlers, and zusd_fuse_stop(ctl) ends the serving */
	struct zusd_fuse_ctl *ctl;
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

/*
 * Make the zusd_fuse_serve() of ctl unmount and return (any thread).  The
 * serving thread is woken with SIGUSR2, which it must not block; a wake-up
 * can be missed, so call again until zusd_fuse_serve() has returned.
 */
void zusd_fuse_stop(struct zusd_fuse_ctl *ctl);

#endif /* ZUSD_FUSE_TRANSPORT_H */
