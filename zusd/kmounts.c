// SPDX-License-Identifier: BSD-2-Clause
/*
 * kmounts.c - the kernel's mounts zusd serves over zuf (see kmounts.h).
 */
#include <errno.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "kmounts.h"

static void km_clear(struct zusd_kmount *m)
{
	free(m->fstype);
	free(m->device);
	free(m->options);
	free(m->mountpoint);
	zusd_stats_free(m->stats);
	m->fstype = m->device = m->options = m->mountpoint = NULL;
	m->stats = NULL;
	m->state = ZUSD_KM_FREE;
	m->readonly = false;
	m->pmem_bytes = 0;
	m->tier_bytes = 0;
	atomic_store(&m->key, NULL);
}

/* The first entry in @state (of @fstype on @device, unless NULL).  Locked. */
static struct zusd_kmount *km_find(struct zusd_kmounts *k,
				   enum zusd_km_state state,
				   const char *fstype, const char *device)
{
	for (int i = 0; i < ZUSD_KMOUNTS_MAX; i++) {
		struct zusd_kmount *m = &k->m[i];

		if (m->state == state &&
		    (!fstype || (!strcmp(m->fstype, fstype) &&
				 !strcmp(m->device, device))))
			return m;
	}
	return NULL;
}

static void km_changed(struct zusd_kmounts *k)
{
	if (k->changed)
		k->changed(k->ctx);
}

void zusd_kmounts_init(struct zusd_kmounts *k)
{
	memset(k, 0, sizeof(*k));
	pthread_mutex_init(&k->lock, NULL);
}

void zusd_kmounts_destroy(struct zusd_kmounts *k)
{
	for (int i = 0; i < ZUSD_KMOUNTS_MAX; i++)
		km_clear(&k->m[i]);
	pthread_mutex_destroy(&k->lock);
}

/* Under the lock. */
static struct zusd_kmount *km_by_key(struct zusd_kmounts *k, const void *key)
{
	for (int i = 0; i < ZUSD_KMOUNTS_MAX; i++)
		if (k->m[i].state != ZUSD_KM_FREE &&
		    atomic_load_explicit(&k->m[i].key, memory_order_relaxed) == key)
			return &k->m[i];
	return NULL;
}

int zusd_kmounts_begin(struct zusd_kmounts *k, const void *key,
		       const char *fstype, const char *device,
		       const char *options, bool readonly, uint64_t pmem_bytes,
		       uint64_t tier_bytes)
{
	struct zusd_kmount *m;
	int ret = 0;

	if (!key)
		return -EINVAL;
	pthread_mutex_lock(&k->lock);
	/* a re-attach of the previous zusd's mount takes its entry over */
	m = km_find(k, ZUSD_KM_WAITING, fstype, device);
	if (!m)
		m = km_find(k, ZUSD_KM_FREE, NULL, NULL);
	if (!m) {
		ret = -EMFILE;
		goto out;
	}
	if (m->state == ZUSD_KM_FREE) {
		m->fstype = strdup(fstype);
		m->device = strdup(device);
		m->mountpoint = strdup("");
	}
	free(m->options);
	m->options = strdup(options ? options : "");
	m->stats = zusd_stats_new();
	if (!m->fstype || !m->device || !m->mountpoint || !m->options ||
	    !m->stats) {
		km_clear(m);
		ret = -ENOMEM;
		goto out;
	}
	m->readonly = readonly;
	m->pmem_bytes = pmem_bytes;
	m->tier_bytes = tier_bytes;
	m->state = ZUSD_KM_MOUNTING;
	/* filled: now channel threads may find it */
	atomic_store_explicit(&m->key, key, memory_order_release);
out:
	pthread_mutex_unlock(&k->lock);
	return ret;
}

void zusd_kmounts_mounted(struct zusd_kmounts *k, const void *key)
{
	struct zusd_kmount *m;
	bool changed = false;

	pthread_mutex_lock(&k->lock);
	m = km_by_key(k, key);
	if (m && m->state == ZUSD_KM_MOUNTING) {
		m->state = ZUSD_KM_MOUNTED;
		changed = true;
	}
	pthread_mutex_unlock(&k->lock);
	if (changed)
		km_changed(k);
}

void zusd_kmounts_end(struct zusd_kmounts *k, const void *key)
{
	struct zusd_kmount *m;
	bool changed = false;

	pthread_mutex_lock(&k->lock);
	m = km_by_key(k, key);
	if (m) {
		changed = m->state == ZUSD_KM_MOUNTED;
		km_clear(m);
	}
	pthread_mutex_unlock(&k->lock);
	if (changed)
		km_changed(k);
}

void zusd_kmounts_detach(struct zusd_kmounts *k, const void *key)
{
	struct zusd_kmount *m;

	pthread_mutex_lock(&k->lock);
	m = km_by_key(k, key);
	if (m) {
		/* no channel thread runs any more: the counters can go */
		atomic_store(&m->key, NULL);
		zusd_stats_free(m->stats);
		m->stats = NULL;
		m->state = ZUSD_KM_WAITING;
	}
	pthread_mutex_unlock(&k->lock);
	if (m)
		km_changed(k);
}

struct zusd_stats *zusd_kmounts_stats(struct zusd_kmounts *k, const void *key)
{
	if (!key)
		return NULL;
	for (int i = 0; i < ZUSD_KMOUNTS_MAX; i++)
		if (atomic_load_explicit(&k->m[i].key, memory_order_acquire) == key)
			return k->m[i].stats;
	return NULL;
}

int zusd_kmounts_add_waiting(struct zusd_kmounts *k, const char *fstype,
			     const char *device, const char *mountpoint,
			     const char *options)
{
	struct zusd_kmount *m;
	int ret = 0;

	pthread_mutex_lock(&k->lock);
	m = km_find(k, ZUSD_KM_FREE, NULL, NULL);
	if (!m) {
		ret = -EMFILE;
		goto out;
	}
	m->fstype = strdup(fstype);
	m->device = strdup(device);
	m->mountpoint = strdup(mountpoint ? mountpoint : "");
	m->options = strdup(options ? options : "");
	if (!m->fstype || !m->device || !m->mountpoint || !m->options) {
		km_clear(m);
		ret = -ENOMEM;
		goto out;
	}
	m->state = ZUSD_KM_WAITING;
out:
	pthread_mutex_unlock(&k->lock);
	return ret;
}

unsigned int zusd_kmounts_drop_waiting(struct zusd_kmounts *k)
{
	unsigned int n = 0;

	pthread_mutex_lock(&k->lock);
	for (int i = 0; i < ZUSD_KMOUNTS_MAX; i++) {
		if (k->m[i].state == ZUSD_KM_WAITING) {
			km_clear(&k->m[i]);
			n++;
		}
	}
	pthread_mutex_unlock(&k->lock);
	if (n)
		km_changed(k);
	return n;
}

unsigned int zusd_kmounts_count(struct zusd_kmounts *k,
				enum zusd_km_state state)
{
	unsigned int n = 0;

	pthread_mutex_lock(&k->lock);
	for (int i = 0; i < ZUSD_KMOUNTS_MAX; i++)
		n += k->m[i].state == state;
	pthread_mutex_unlock(&k->lock);
	return n;
}

unsigned int zusd_kmounts_refresh(struct zusd_kmounts *k)
{
	unsigned int missing = 0;
	bool changed = false;

	pthread_mutex_lock(&k->lock);
	for (int i = 0; i < ZUSD_KMOUNTS_MAX; i++) {
		struct zusd_kmount *m = &k->m[i];
		char mp[PATH_MAX];
		char *dup;

		if (m->state != ZUSD_KM_MOUNTED)
			continue;
		if (zusd_mountinfo_find(k->mountinfo, m->fstype, m->device, mp,
					sizeof(mp)))
			mp[0] = '\0';	/* unmounted meanwhile, or not yet */
		missing += !mp[0];
		if (!strcmp(mp, m->mountpoint))
			continue;
		dup = strdup(mp);
		if (!dup)
			continue;
		free(m->mountpoint);
		m->mountpoint = dup;
		changed = true;
	}
	pthread_mutex_unlock(&k->lock);
	if (changed)
		km_changed(k);
	return missing;
}

int zusd_kmounts_to_mtab(struct zusd_kmounts *k, struct zusd_mtab *t)
{
	int ret = 0;

	pthread_mutex_lock(&k->lock);
	for (int i = 0; i < ZUSD_KMOUNTS_MAX && !ret; i++) {
		struct zusd_kmount *m = &k->m[i];

		if (m->state != ZUSD_KM_FREE)
			ret = zusd_mtab_add(t, "zuf", ZUSD_MT_KERNEL, m->fstype,
					    m->device, m->mountpoint,
					    m->options);
	}
	pthread_mutex_unlock(&k->lock);
	return ret;
}

const char *zusd_km_state_name(enum zusd_km_state s)
{
	switch (s) {
	case ZUSD_KM_MOUNTING: return "mounting";
	case ZUSD_KM_MOUNTED: return "mounted";
	case ZUSD_KM_WAITING: return "waiting";
	default: return "free";
	}
}
