/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuse_inodes.h - the FUSE transport's reference counts per inode.
 *
 * The kernel counts every entry reply (lookup, create, readdirplus, ...) and
 * gives them back with FORGET.  An inode is handed to ops->evict once the
 * kernel forgot every lookup and no open file or directory handle holds it;
 * only then may the plugin free an unlinked inode.
 */
#ifndef ZUSD_FUSE_INODES_H
#define ZUSD_FUSE_INODES_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

struct zfi_entry;

typedef void (*zfi_evict_t)(void *ctx, uint64_t ino);

struct zfi_table {
	pthread_mutex_t lock;
	struct zfi_entry **buckets;
	size_t nbuckets;	/* power of two */
	size_t count;
	uint64_t pinned_ino;	/* the root: never evicted */
	zfi_evict_t evict;
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

/* Number of inodes held (tests, stats). */
size_t zfi_count(struct zfi_table *t);

#endif /* ZUSD_FUSE_INODES_H */
