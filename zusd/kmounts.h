/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * kmounts.h - the kernel's mounts that zusd serves over zuf.
 *
 * The kernel owns zuf mounts: zusd hears of one when ZUFS_OP_MOUNT arrives
 * on the transport's mount thread (zuf_serve.c's mount hooks call
 * zusd_kmounts_begin/mounted/end) and is never told its mountpoint, which
 * zusd_kmounts_refresh() looks up in /proc/self/mountinfo by type and
 * source device.  Entries restored from the previous zusd's fd store are
 * WAITING until the kernel re-attaches them (a begin with the same type and
 * device takes the entry over).
 *
 * Each entry has its own statistics, looked up per channel command by the
 * transport's superblock pointer without a lock: begin publishes the key
 * after the entry is filled, and end runs only while no channel command of
 * that mount is in flight (the transport holds its mount lock for writing).
 */
#ifndef ZUSD_KMOUNTS_H
#define ZUSD_KMOUNTS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "mtab.h"
#include "stats.h"

#define ZUSD_KMOUNTS_MAX	64	/* as the transport's ZT_MAX_MOUNTS */

enum zusd_km_state {
	ZUSD_KM_FREE,
	ZUSD_KM_MOUNTING,	/* the plugin's mount() runs */
	ZUSD_KM_MOUNTED,	/* served */
	ZUSD_KM_WAITING,	/* the previous zusd's: not re-attached yet */
};

struct zusd_kmount {
	const void *_Atomic key;	/* the transport's zus_sb; NULL: none */
	enum zusd_km_state state;
	char *fstype;
	char *device;
	char *options;
	char *mountpoint;		/* "" until found in mountinfo */
	bool readonly;
	uint64_t pmem_bytes;
	uint64_t tier_bytes;		/* 0: no tier device */
	struct zusd_stats *stats;	/* NULL while WAITING */
};

struct zusd_kmounts {
	pthread_mutex_t lock;		/* everything but the lock-free lookup */
	struct zusd_kmount m[ZUSD_KMOUNTS_MAX];
	const char *mountinfo;		/* NULL: /proc/self/mountinfo (tests) */
	/* optional: the table changed (called without the lock held) */
	void (*changed)(void *ctx);
	void *ctx;
};

void zusd_kmounts_init(struct zusd_kmounts *k);
void zusd_kmounts_destroy(struct zusd_kmounts *k);

/* A kernel mount is being made (or re-attached).  0, -ENOMEM, -EMFILE. */
int zusd_kmounts_begin(struct zusd_kmounts *k, const void *key,
		       const char *fstype, const char *device,
		       const char *options, bool readonly, uint64_t pmem_bytes,
		       uint64_t tier_bytes);
/* The plugin mounted it: it is served. */
void zusd_kmounts_mounted(struct zusd_kmounts *k, const void *key);
/* Unmounted or failed: forget it. */
void zusd_kmounts_end(struct zusd_kmounts *k, const void *key);
/* The transport stops, the mount stays in the kernel: WAITING again. */
void zusd_kmounts_detach(struct zusd_kmounts *k, const void *key);
/* The mount's counters (NULL: no such mount).  Lock-free. */
struct zusd_stats *zusd_kmounts_stats(struct zusd_kmounts *k, const void *key);

/* A mount of the previous zusd, waiting to be re-attached. */
int zusd_kmounts_add_waiting(struct zusd_kmounts *k, const char *fstype,
			     const char *device, const char *mountpoint,
			     const char *options);
/* Drop every WAITING entry (they will not come back); how many. */
unsigned int zusd_kmounts_drop_waiting(struct zusd_kmounts *k);
unsigned int zusd_kmounts_count(struct zusd_kmounts *k,
				enum zusd_km_state state);

/*
 * Look up the mountpoint of every mounted entry in mountinfo (a mount
 * moved or bind-mounted elsewhere is seen at its first place).  Calls
 * changed() if a mountpoint changed.  How many mounted entries have none.
 */
unsigned int zusd_kmounts_refresh(struct zusd_kmounts *k);

/* Append the MOUNTING/MOUNTED/WAITING entries to t (origin kernel). */
int zusd_kmounts_to_mtab(struct zusd_kmounts *k, struct zusd_mtab *t);

/* "mounting", "mounted", "waiting". */
const char *zusd_km_state_name(enum zusd_km_state s);

#endif /* ZUSD_KMOUNTS_H */
