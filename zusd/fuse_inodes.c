// SPDX-License-Identifier: BSD-2-Clause
/*
 * fuse_inodes.c - chained hash table of per-inode lookup and open counts.
 *
 * evict runs under the table lock: a lookup racing with the eviction of the
 * same inode must not see it half freed.  The kernel never sends requests
 * for an inode it has forgotten, so holding the lock there is short except
 * for freeing a large unlinked file, which is rare.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

#include "fuse_inodes.h"

struct zfi_entry {
	struct zfi_entry *next;
	uint64_t ino;
	uint64_t nlookup;
	uint64_t nopen;
	bool atime_pending;	/* lazytime: atime not written yet */
	struct zus_time atime;
	int64_t atime_since;
};

#define ZFI_MIN_BUCKETS	1024

static size_t zfi_hash(uint64_t ino, size_t nbuckets)
{
	/* Fibonacci hashing spreads the sequential inode numbers */
	return (size_t)((ino * 0x9e3779b97f4a7c15ull) >> 17) & (nbuckets - 1);
}

int zfi_init(struct zfi_table *t, uint64_t pinned_ino, zfi_evict_t evict,
	     void *ctx)
{
	t->nbuckets = ZFI_MIN_BUCKETS;
	t->buckets = calloc(t->nbuckets, sizeof(*t->buckets));
	if (!t->buckets)
		return -ENOMEM;
	t->count = 0;
	t->pinned_ino = pinned_ino;
	t->evict = evict;
	t->flush_atime = NULL;
	t->ctx = ctx;
	pthread_mutex_init(&t->lock, NULL);
	return 0;
}

/* Doubling keeps chains short; on ENOMEM the table just stays slower. */
static void zfi_grow(struct zfi_table *t)
{
	size_t n = t->nbuckets * 2, i;
	struct zfi_entry **nb = calloc(n, sizeof(*nb));

	if (!nb)
		return;
	for (i = 0; i < t->nbuckets; i++) {
		struct zfi_entry *e = t->buckets[i], *next;

		for (; e; e = next) {
			size_t h = zfi_hash(e->ino, n);

			next = e->next;
			e->next = nb[h];
			nb[h] = e;
		}
	}
	free(t->buckets);
	t->buckets = nb;
	t->nbuckets = n;
}

static struct zfi_entry **zfi_find(struct zfi_table *t, uint64_t ino)
{
	struct zfi_entry **pp = &t->buckets[zfi_hash(ino, t->nbuckets)];

	while (*pp && (*pp)->ino != ino)
		pp = &(*pp)->next;
	return pp;
}

static struct zfi_entry *zfi_get(struct zfi_table *t, uint64_t ino)
{
	struct zfi_entry **pp = zfi_find(t, ino), *e;

	if (*pp)
		return *pp;
	if (t->count >= t->nbuckets * 2) {
		zfi_grow(t);
		pp = zfi_find(t, ino);
	}
	e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->ino = ino;
	*pp = e;
	t->count++;
	return e;
}

/* Drop the entry if unreferenced; called with the lock held. */
static void zfi_put(struct zfi_table *t, struct zfi_entry **pp)
{
	struct zfi_entry *e = *pp;

	if (e->nlookup || e->nopen)
		return;
	*pp = e->next;
	t->count--;
	if (e->atime_pending && t->flush_atime)
		t->flush_atime(t->ctx, e->ino, &e->atime);
	if (e->ino != t->pinned_ino)
		t->evict(t->ctx, e->ino);
	free(e);
}

int zfi_lookup(struct zfi_table *t, uint64_t ino, uint64_t n)
{
	struct zfi_entry *e;
	int ret = 0;

	pthread_mutex_lock(&t->lock);
	e = zfi_get(t, ino);
	if (e)
		e->nlookup += n;
	else
		ret = -ENOMEM;
	pthread_mutex_unlock(&t->lock);
	return ret;
}

void zfi_forget(struct zfi_table *t, uint64_t ino, uint64_t n)
{
	struct zfi_entry **pp;

	pthread_mutex_lock(&t->lock);
	pp = zfi_find(t, ino);
	if (*pp) {
		/* never below zero, whatever a confused kernel says */
		(*pp)->nlookup -= n < (*pp)->nlookup ? n : (*pp)->nlookup;
		zfi_put(t, pp);
	}
	pthread_mutex_unlock(&t->lock);
}

int zfi_open(struct zfi_table *t, uint64_t ino)
{
	struct zfi_entry *e;
	int ret = 0;

	pthread_mutex_lock(&t->lock);
	e = zfi_get(t, ino);
	if (e)
		e->nopen++;
	else
		ret = -ENOMEM;
	pthread_mutex_unlock(&t->lock);
	return ret;
}

void zfi_release(struct zfi_table *t, uint64_t ino)
{
	struct zfi_entry **pp;

	pthread_mutex_lock(&t->lock);
	pp = zfi_find(t, ino);
	if (*pp && (*pp)->nopen) {
		(*pp)->nopen--;
		zfi_put(t, pp);
	}
	pthread_mutex_unlock(&t->lock);
}

int zfi_atime_defer(struct zfi_table *t, uint64_t ino,
		    const struct zus_time *atime, int64_t since)
{
	struct zfi_entry *e;
	int ret = -ENOENT;

	pthread_mutex_lock(&t->lock);
	/* the kernel never counts the root: its entry may have to be made */
	e = ino == t->pinned_ino ? zfi_get(t, ino) : *zfi_find(t, ino);
	if (!e && ino == t->pinned_ino)
		ret = -ENOMEM;
	if (e && (e->nlookup || e->nopen || ino == t->pinned_ino)) {
		if (!e->atime_pending)
			e->atime_since = since;
		e->atime_pending = true;
		e->atime = *atime;
		ret = 0;
	}
	pthread_mutex_unlock(&t->lock);
	return ret;
}

/* ino's unwritten atime, if any; take: it is no longer kept */
static bool zfi_atime_read(struct zfi_table *t, uint64_t ino,
			   struct zus_time *atime, int64_t *since, bool take)
{
	struct zfi_entry *e;
	bool found = false;

	pthread_mutex_lock(&t->lock);
	e = *zfi_find(t, ino);
	if (e && e->atime_pending) {
		*atime = e->atime;
		if (since)
			*since = e->atime_since;
		e->atime_pending = !take;
		found = true;
	}
	pthread_mutex_unlock(&t->lock);
	return found;
}

bool zfi_atime_get(struct zfi_table *t, uint64_t ino, struct zus_time *atime,
		   int64_t *since)
{
	return zfi_atime_read(t, ino, atime, since, false);
}

bool zfi_atime_take(struct zfi_table *t, uint64_t ino, struct zus_time *atime)
{
	return zfi_atime_read(t, ino, atime, NULL, true);
}

size_t zfi_count(struct zfi_table *t)
{
	size_t n;

	pthread_mutex_lock(&t->lock);
	n = t->count;
	pthread_mutex_unlock(&t->lock);
	return n;
}

void zfi_destroy(struct zfi_table *t)
{
	size_t i;

	if (!t->buckets)
		return;
	pthread_mutex_lock(&t->lock);
	for (i = 0; i < t->nbuckets; i++) {
		while (t->buckets[i]) {
			t->buckets[i]->nlookup = 0;
			t->buckets[i]->nopen = 0;
			zfi_put(t, &t->buckets[i]);
		}
	}
	free(t->buckets);
	t->buckets = NULL;
	pthread_mutex_unlock(&t->lock);
	pthread_mutex_destroy(&t->lock);
}
