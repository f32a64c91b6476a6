// SPDX-License-Identifier: BSD-2-Clause
/*
 * stats.c - lock-free per-thread operation counters (see stats.h).
 *
 * Every recording thread owns a slot in a process-wide bitmap; in each
 * struct zusd_stats, slot i has its own shard, written by that thread only
 * (single writer: relaxed load + store, no locked instruction).  A slot is
 * given back by a thread-specific-data destructor when its thread exits and
 * may be taken by a later thread, which then goes on adding to the same
 * shard; the release/acquire on the bitmap orders the two owners' writes.
 * Threads beyond ZUSD_STATS_MAX_SLOTS, or whose shard could not be
 * allocated, share one shard updated with atomic read-modify-writes.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "stats.h"

struct zusd_op_ctr {
	_Atomic uint64_t count;
	_Atomic uint64_t errors;
	_Atomic uint64_t bytes;
	_Atomic uint64_t total_ns;
	_Atomic uint64_t max_ns;
	_Atomic uint64_t hist[ZUSD_STATS_BUCKETS];
};

struct zusd_stats_shard {
	struct zusd_op_ctr op[ZUSD_OP_COUNT];
} __attribute__((aligned(64)));

struct zusd_stats {
	struct zusd_stats_shard *_Atomic shard[ZUSD_STATS_MAX_SLOTS];
	struct zusd_stats_shard shared;
};

static const char *const op_names[ZUSD_OP_COUNT] = {
	[ZUSD_OP_MOUNT] = "mount",
	[ZUSD_OP_UMOUNT] = "umount",
	[ZUSD_OP_REMOUNT] = "remount",
	[ZUSD_OP_STATFS] = "statfs",
	[ZUSD_OP_SYNC] = "sync",
	[ZUSD_OP_LOOKUP] = "lookup",
	[ZUSD_OP_CREATE] = "create",
	[ZUSD_OP_MKDIR] = "mkdir",
	[ZUSD_OP_SYMLINK] = "symlink",
	[ZUSD_OP_LINK] = "link",
	[ZUSD_OP_UNLINK] = "unlink",
	[ZUSD_OP_RMDIR] = "rmdir",
	[ZUSD_OP_RENAME] = "rename",
	[ZUSD_OP_TMPFILE] = "tmpfile",
	[ZUSD_OP_READLINK] = "readlink",
	[ZUSD_OP_READDIR] = "readdir",
	[ZUSD_OP_GETATTR] = "getattr",
	[ZUSD_OP_SETATTR] = "setattr",
	[ZUSD_OP_EVICT] = "evict",
	[ZUSD_OP_OPEN] = "open",
	[ZUSD_OP_RELEASE] = "release",
	[ZUSD_OP_READ] = "read",
	[ZUSD_OP_WRITE] = "write",
	[ZUSD_OP_GET_EXTENTS] = "get_extents",
	[ZUSD_OP_FALLOCATE] = "fallocate",
	[ZUSD_OP_LSEEK] = "lseek",
	[ZUSD_OP_FSYNC] = "fsync",
	[ZUSD_OP_GETXATTR] = "getxattr",
	[ZUSD_OP_SETXATTR] = "setxattr",
	[ZUSD_OP_LISTXATTR] = "listxattr",
	[ZUSD_OP_REMOVEXATTR] = "removexattr",
	[ZUSD_OP_OTHER] = "other",
};

const char *zusd_op_name(enum zusd_op op)
{
	if ((unsigned int)op >= ZUSD_OP_COUNT)
		return NULL;
	return op_names[op];
}

int zusd_op_from_name(const char *name)
{
	for (int i = 0; i < ZUSD_OP_COUNT; i++)
		if (!strcmp(op_names[i], name))
			return i;
	return -1;
}

/* ---- thread slots ----------------------------------------------------- */

#define SLOT_UNSET	(-2)
#define SLOT_SHARED	(-1)

static _Atomic uint64_t slot_map[ZUSD_STATS_MAX_SLOTS / 64];
static __thread int my_slot = SLOT_UNSET;
static pthread_key_t slot_key;
static pthread_once_t slot_once = PTHREAD_ONCE_INIT;
static bool slot_key_ok;

static void slot_release(void *v)
{
	unsigned int slot = (unsigned int)((uintptr_t)v - 1);

	atomic_fetch_and_explicit(&slot_map[slot / 64],
				  ~(UINT64_C(1) << (slot % 64)),
				  memory_order_release);
	my_slot = SLOT_UNSET;
}

static void slot_key_init(void)
{
	slot_key_ok = pthread_key_create(&slot_key, slot_release) == 0;
}

static int slot_acquire(void)
{
	pthread_once(&slot_once, slot_key_init);
	if (!slot_key_ok)
		return SLOT_SHARED;
	for (unsigned int w = 0; w < ZUSD_STATS_MAX_SLOTS / 64; w++) {
		uint64_t cur = atomic_load_explicit(&slot_map[w],
						    memory_order_relaxed);

		while (cur != UINT64_MAX) {
			unsigned int bit = (unsigned int)__builtin_ctzll(~cur);
			int slot = (int)(w * 64 + bit);

			if (!atomic_compare_exchange_weak_explicit(&slot_map[w],
					&cur, cur | (UINT64_C(1) << bit),
					memory_order_acquire,
					memory_order_relaxed))
				continue;
			if (pthread_setspecific(slot_key,
						(void *)(uintptr_t)(slot + 1))) {
				slot_release((void *)(uintptr_t)(slot + 1));
				return SLOT_SHARED;
			}
			return slot;
		}
	}
	return SLOT_SHARED;
}

/* ---- recording -------------------------------------------------------- */

unsigned int zusd_stats_bucket(uint64_t ns)
{
	unsigned int b;

	if (ns < 2)
		return 0;
	b = 63u - (unsigned int)__builtin_clzll(ns);
	return b < ZUSD_STATS_BUCKETS ? b : ZUSD_STATS_BUCKETS - 1;
}

uint64_t zusd_stats_bucket_max(unsigned int b)
{
	if (b >= ZUSD_STATS_BUCKETS - 1)
		return UINT64_MAX;
	return (UINT64_C(2) << b) - 1;
}

/* Single writer: a plain add, atomic only so readers never see tearing. */
static inline void own_add(_Atomic uint64_t *p, uint64_t v)
{
	atomic_store_explicit(p, atomic_load_explicit(p, memory_order_relaxed)
			      + v, memory_order_relaxed);
}

static void record_own(struct zusd_op_ctr *c, uint64_t ns, uint64_t bytes,
		       int err)
{
	own_add(&c->count, 1);
	if (err < 0)
		own_add(&c->errors, 1);
	if (bytes)
		own_add(&c->bytes, bytes);
	own_add(&c->total_ns, ns);
	own_add(&c->hist[zusd_stats_bucket(ns)], 1);
	if (ns > atomic_load_explicit(&c->max_ns, memory_order_relaxed))
		atomic_store_explicit(&c->max_ns, ns, memory_order_relaxed);
}

static void record_shared(struct zusd_op_ctr *c, uint64_t ns, uint64_t bytes,
			  int err)
{
	uint64_t cur;

	atomic_fetch_add_explicit(&c->count, 1, memory_order_relaxed);
	if (err < 0)
		atomic_fetch_add_explicit(&c->errors, 1, memory_order_relaxed);
	if (bytes)
		atomic_fetch_add_explicit(&c->bytes, bytes,
					  memory_order_relaxed);
	atomic_fetch_add_explicit(&c->total_ns, ns, memory_order_relaxed);
	atomic_fetch_add_explicit(&c->hist[zusd_stats_bucket(ns)], 1,
				  memory_order_relaxed);
	cur = atomic_load_explicit(&c->max_ns, memory_order_relaxed);
	while (ns > cur &&
	       !atomic_compare_exchange_weak_explicit(&c->max_ns, &cur, ns,
			memory_order_relaxed, memory_order_relaxed))
		;
}

static struct zusd_stats_shard *shard_new(void)
{
	void *p = NULL;

	if (posix_memalign(&p, 64, sizeof(struct zusd_stats_shard)))
		return NULL;
	memset(p, 0, sizeof(struct zusd_stats_shard));
	return p;
}

void zusd_stats_record(struct zusd_stats *s, enum zusd_op op, uint64_t ns,
		       uint64_t bytes, int err)
{
	struct zusd_stats_shard *sh;
	int slot;

	if (!s || (unsigned int)op >= ZUSD_OP_COUNT)
		return;
	slot = my_slot;
	if (slot == SLOT_UNSET)
		slot = my_slot = slot_acquire();
	if (slot == SLOT_SHARED)
		goto shared;
	sh = atomic_load_explicit(&s->shard[slot], memory_order_relaxed);
	if (!sh) {
		/* once per thread slot and mount, never again */
		sh = shard_new();
		if (!sh)
			goto shared;
		atomic_store_explicit(&s->shard[slot], sh,
				      memory_order_release);
	}
	record_own(&sh->op[op], ns, bytes, err);
	return;
shared:
	record_shared(&s->shared.op[op], ns, bytes, err);
}

/* ---- reading ---------------------------------------------------------- */

struct zusd_stats *zusd_stats_new(void)
{
	void *p = NULL;

	if (posix_memalign(&p, 64, sizeof(struct zusd_stats)))
		return NULL;
	memset(p, 0, sizeof(struct zusd_stats));
	return p;
}

void zusd_stats_free(struct zusd_stats *s)
{
	if (!s)
		return;
	for (unsigned int i = 0; i < ZUSD_STATS_MAX_SLOTS; i++)
		free(atomic_load_explicit(&s->shard[i], memory_order_relaxed));
	free(s);
}

static void shard_add(struct zusd_stats_snapshot *out,
		      const struct zusd_stats_shard *sh)
{
	for (unsigned int i = 0; i < ZUSD_OP_COUNT; i++) {
		const struct zusd_op_ctr *c = &sh->op[i];
		struct zusd_op_stats *o = &out->op[i];
		uint64_t max;

		o->count += atomic_load_explicit(&c->count,
						 memory_order_relaxed);
		o->errors += atomic_load_explicit(&c->errors,
						  memory_order_relaxed);
		o->bytes += atomic_load_explicit(&c->bytes,
						 memory_order_relaxed);
		o->total_ns += atomic_load_explicit(&c->total_ns,
						    memory_order_relaxed);
		max = atomic_load_explicit(&c->max_ns, memory_order_relaxed);
		if (max > o->max_ns)
			o->max_ns = max;
		for (unsigned int b = 0; b < ZUSD_STATS_BUCKETS; b++)
			o->hist[b] += atomic_load_explicit(&c->hist[b],
							   memory_order_relaxed);
	}
}

void zusd_stats_snapshot(struct zusd_stats *s, struct zusd_stats_snapshot *out)
{
	memset(out, 0, sizeof(*out));
	if (!s)
		return;
	for (unsigned int i = 0; i < ZUSD_STATS_MAX_SLOTS; i++) {
		const struct zusd_stats_shard *sh =
			atomic_load_explicit(&s->shard[i],
					     memory_order_acquire);

		if (sh)
			shard_add(out, sh);
	}
	shard_add(out, &s->shared);
}

void zusd_stats_merge(struct zusd_stats_snapshot *dst,
		      const struct zusd_stats_snapshot *src)
{
	for (unsigned int i = 0; i < ZUSD_OP_COUNT; i++) {
		struct zusd_op_stats *d = &dst->op[i];
		const struct zusd_op_stats *o = &src->op[i];

		d->count += o->count;
		d->errors += o->errors;
		d->bytes += o->bytes;
		d->total_ns += o->total_ns;
		if (o->max_ns > d->max_ns)
			d->max_ns = o->max_ns;
		for (unsigned int b = 0; b < ZUSD_STATS_BUCKETS; b++)
			d->hist[b] += o->hist[b];
	}
}

uint64_t zusd_stats_percentile(const struct zusd_op_stats *o, double pct)
{
	uint64_t rank, seen = 0;

	if (!o->count)
		return 0;
	if (pct <= 0)
		pct = 0;
	if (pct > 100)
		pct = 100;
	/* the smallest rank r with r >= pct% of count, at least 1 */
	rank = (uint64_t)((double)o->count * pct / 100.0);
	if ((double)rank < (double)o->count * pct / 100.0)
		rank++;
	if (!rank)
		rank = 1;
	for (unsigned int b = 0; b < ZUSD_STATS_BUCKETS; b++) {
		seen += o->hist[b];
		if (seen >= rank) {
			uint64_t top = zusd_stats_bucket_max(b);

			return top < o->max_ns ? top : o->max_ns;
		}
	}
	return o->max_ns;
}
