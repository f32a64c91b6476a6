// SPDX-License-Identifier: BSD-2-Clause
/*
 * hotness.c - DRAM access counts per (inode, 2 MiB chunk), for tiering.
 *
 * A set-associative table (4 ways per bucket) of {key, count, epoch}.  The
 * temperature of an entry is count >> (now - epoch): every decay step (one
 * epoch) halves all temperatures at O(1) cost.  A miss replaces the coldest
 * way of the bucket, so the table is bounded (16 bytes an entry) and a
 * chunk not in it is simply cold.  Locks are striped by bucket; nothing
 * here is persistent.
 */
#include <stdlib.h>

#include "pmfs2.h"

#define HOT_WAYS	4
#define HOT_STRIPES	64
#define HOT_MAX_COUNT	0xffffu

struct hot_ent {
	uint64_t key;		/* 0: empty */
	uint32_t count;
	uint32_t epoch;
};

struct pmfs2_hot {
	uint64_t mask;		/* buckets - 1 */
	uint32_t epoch;
	pthread_mutex_t lock[HOT_STRIPES];
	struct hot_ent *ent;	/* buckets * HOT_WAYS */
};

int pmfs2_hot_init(struct pmfs2_hot **out, unsigned int nbuckets_log2)
{
	struct pmfs2_hot *h = calloc(1, sizeof(*h));

	if (!h)
		return -ENOMEM;
	h->mask = (1ull << nbuckets_log2) - 1;
	h->ent = calloc((h->mask + 1) * HOT_WAYS, sizeof(*h->ent));
	if (!h->ent) {
		free(h);
		return -ENOMEM;
	}
	for (unsigned int i = 0; i < HOT_STRIPES; i++)
		pthread_mutex_init(&h->lock[i], NULL);
	*out = h;
	return 0;
}

void pmfs2_hot_fini(struct pmfs2_hot *h)
{
	if (!h)
		return;
	for (unsigned int i = 0; i < HOT_STRIPES; i++)
		pthread_mutex_destroy(&h->lock[i]);
	free(h->ent);
	free(h);
}

static uint64_t hot_key(uint64_t ino, uint64_t chunk)
{
	/* ino >= 1 keeps the key non-zero; chunks < 2^27 */
	return ino << 27 | (chunk & ((1ull << 27) - 1));
}

static uint64_t hot_hash(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdULL;
	k ^= k >> 33;
	return k;
}

static uint32_t temp_of(const struct hot_ent *e, uint32_t now)
{
	uint32_t age = now - e->epoch;

	return age >= 32 ? 0 : e->count >> age;
}

static struct hot_ent *bucket(struct pmfs2_hot *h, uint64_t key,
			      pthread_mutex_t **lock)
{
	uint64_t b = hot_hash(key) & h->mask;

	*lock = &h->lock[b % HOT_STRIPES];
	return &h->ent[b * HOT_WAYS];
}

uint32_t pmfs2_hot_touch(struct pmfs2_hot *h, uint64_t ino, uint64_t chunk,
			 uint32_t weight)
{
	uint64_t key = hot_key(ino, chunk);
	uint32_t now = __atomic_load_n(&h->epoch, __ATOMIC_RELAXED), t;
	pthread_mutex_t *lock;
	struct hot_ent *b = bucket(h, key, &lock), *victim = NULL;

	pthread_mutex_lock(lock);
	for (unsigned int i = 0; i < HOT_WAYS; i++) {
		if (b[i].key == key) {
			victim = &b[i];
			break;
		}
		if (!victim || temp_of(&b[i], now) < temp_of(victim, now) ||
		    !b[i].key)
			victim = &b[i];
	}
	if (victim->key != key) {
		victim->key = key;
		victim->count = 0;
	}
	t = temp_of(victim, now) + weight;
	victim->count = t > HOT_MAX_COUNT ? HOT_MAX_COUNT : t;
	victim->epoch = now;
	t = victim->count;
	pthread_mutex_unlock(lock);
	return t;
}

uint32_t pmfs2_hot_temp(struct pmfs2_hot *h, uint64_t ino, uint64_t chunk)
{
	uint64_t key = hot_key(ino, chunk);
	uint32_t now = __atomic_load_n(&h->epoch, __ATOMIC_RELAXED), t = 0;
	pthread_mutex_t *lock;
	struct hot_ent *b = bucket(h, key, &lock);

	pthread_mutex_lock(lock);
	for (unsigned int i = 0; i < HOT_WAYS; i++)
		if (b[i].key == key)
			t = temp_of(&b[i], now);
	pthread_mutex_unlock(lock);
	return t;
}

void pmfs2_hot_forget(struct pmfs2_hot *h, uint64_t ino, uint64_t chunk)
{
	uint64_t key = hot_key(ino, chunk);
	pthread_mutex_t *lock;
	struct hot_ent *b = bucket(h, key, &lock);

	pthread_mutex_lock(lock);
	for (unsigned int i = 0; i < HOT_WAYS; i++)
		if (b[i].key == key)
			b[i].key = 0;
	pthread_mutex_unlock(lock);
}

void pmfs2_hot_decay(struct pmfs2_hot *h)
{
	__atomic_add_fetch(&h->epoch, 1, __ATOMIC_RELAXED);
}
