/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fdstore.h - zusd's mount table in systemd's fd store.
 *
 * systemd keeps the fds a service stores (sd_pid_notify_with_fds
 * "FDSTORE=1") across Restart= and `systemctl restart` (not `stop`) and
 * hands them to the next process with LISTEN_FDS/LISTEN_FDNAMES.  zusd
 * stores one memfd, "mount-table", holding its mount table (mtab.h) and
 * rewrites it in place whenever the table changes, so that the next zusd
 * knows what the previous one served: zuf mounts it must see re-attached
 * before READY=1, FUSE mounts made over D-Bus that it must make again.
 *
 * zuf control fds are never stored: zuf.ko notices a dead server when the
 * last reference to its channel fds is closed (kmod/control.c
 * zuf_control_release), which is what lets the kernel fail or park calls
 * and re-attach the mounts to the next zusd.  A copy in the fd store would
 * keep those fds open after zusd died, and the kernel would wait for a
 * server that will never answer.
 */
#ifndef ZUSD_FDSTORE_H
#define ZUSD_FDSTORE_H

#include <stdbool.h>

#include "mtab.h"

#define ZUSD_FDNAME_MOUNT_TABLE	"mount-table"
#define ZUSD_FDNAME_ZUF_CONTROL	"zuf-control"	/* from zusd.socket */

struct zusd_fdstore {
	int fd;			/* the memfd; -1 until the first save */
	bool stored;		/* systemd has it */
};

/*
 * Take the fds systemd passed (LISTEN_FDS, for this pid; the variables are
 * unset): the previous zusd's table into *prev (empty if none or corrupt:
 * the reason is logged), its memfd kept in fs to be rewritten; a
 * "zuf-control" fd into *zuf_control (-1: none; may be NULL: closed); any
 * other fd is closed with a log line (log.h).
 */
void zusd_fdstore_load(struct zusd_fdstore *fs, struct zusd_mtab *prev,
		       int *zuf_control);

/*
 * Write t into the memfd (made and handed to systemd the first time).  A
 * no-op returning 0 when not started by systemd ($NOTIFY_SOCKET unset).
 * 0 or -errno.
 */
int zusd_fdstore_save(struct zusd_fdstore *fs, const struct zusd_mtab *t);

/* Close the memfd (systemd keeps its copy). */
void zusd_fdstore_close(struct zusd_fdstore *fs);

/* Read and parse a table from fd (from offset 0).  0 or -errno, err set. */
int zusd_fdstore_read(int fd, struct zusd_mtab *t, char *err, size_t errlen);

#endif /* ZUSD_FDSTORE_H */
