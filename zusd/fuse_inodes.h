/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuse_inodes.h - the FUSE transport's reference counts per inode.
 *
 * The kernel counts every entry reply (lookup, create, readdirplus, ...) and
 * gives them back with FORGET.  An inode is handed to ops->evict once the
 * kernel forgot every lookup and no open file or directory handle holds it;
 * only then may the plugin free an unlinked inode.
 *
 * Under lazytime an entry also keeps an atime not yet written: the access
 * that made it changed no other field, so the write waits for an fsync, a
 * setattr, the inode's eviction or the unmount (flush_atime, called first
 * and with the table lock held, as evict is).
 */
#ifndef ZUSD_FUSE_INODES_H
#define ZUSD_FUSE_INODES_H

#include <pthread.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <zufs/zus.h>

struct zfi_entry;

typedef void (*zfi_evict_t)(void *ctx, uint64_t ino);
typedef void (*zfi_flush_atime_t)(void *ctx, uint64_t ino,
				  const struct zus_time *atime);

struct zfi_table {
	pthread_mutex_t lock;
	struct zfi_entry **buckets;
	size_t nbuckets;	/* power of two */
	size_t count;
	uint64_t pinned_ino;	/* the root: never evicted */
	zfi_evict_t evict;
	zfi_flush_atime_t flush_atime;	/* NULL: no atime is ever deferred */
	void *ctx;
};

int zfi_init(struct zfi_table *t, uint64_t pinned_ino, zfi_evict_t evict,
	     void *ctx);
/* Evicts every inode still referenced (server shutdown), then frees. */
void zfi_destroy(struct zfi_table *t);

/* The kernel now holds n more lookups of ino.  -ENOMEM if not recorded. */
int zfi_lookup(struct zfi_table *t, uint64_t ino, uint64_t n);
/* The kernel forgot n lookups; may evict. */
void zfi_forget(struct zfi_table *t, uint64_t ino, uint64_t n);
/* An open file or directory handle holds ino. */
int zfi_open(struct zfi_table *t, uint64_t ino);
void zfi_release(struct zfi_table *t, uint64_t ino);

/*
 * lazytime: keep atime as ino's unwritten atime (since: a CLOCK_MONOTONIC
 * second, kept from the first deferral).  -ENOENT if the kernel holds no
 * reference to ino (the caller writes it at once), -ENOMEM.
 */
int zfi_atime_defer(struct zfi_table *t, uint64_t ino,
		    const struct zus_time *atime, int64_t since);
/* ino's unwritten atime into *atime (and *since if not NULL): true if any. */
bool zfi_atime_get(struct zfi_table *t, uint64_t ino, struct zus_time *atime,
		   int64_t *since);
/* Take ino's unwritten atime away (the caller writes it): true if any. */
bool zfi_atime_take(struct zfi_table *t, uint64_t ino, struct zus_time *atime);

/* Number of inodes held (tests, stats). */
size_t zfi_count(struct zfi_table *t);

#endif /* ZUSD_FUSE_INODES_H */
