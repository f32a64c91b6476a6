// SPDX-License-Identifier: BSD-2-Clause
/*
 * health.c - busy brackets of the serving threads (see health.h).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "health.h"

#define ZH_SLOTS	1024

static _Atomic uint64_t zh_since[ZH_SLOTS];	/* 0: idle */
static atomic_bool zh_used[ZH_SLOTS];
static pthread_key_t zh_key;
static pthread_once_t zh_once = PTHREAD_ONCE_INIT;
static _Thread_local int zh_slot = -1;	/* -2: no slot left, untracked */
static _Thread_local unsigned int zh_depth;

/*
 * Test hook (ZUSD_TEST_HANG_FILE=PATH, read once): while PATH exists, a
 * request stalls at its start, marked busy, so that the watchdog pings stop
 * and systemd kills zusd.  Unset: one predictable branch per request.
 */
static const char *zh_hang_file;
static pthread_once_t zh_hang_once = PTHREAD_ONCE_INIT;
static atomic_bool zh_hang_logged;

static void zh_hang_init(void)
{
	const char *p = getenv("ZUSD_TEST_HANG_FILE");

	if (p && *p)
		zh_hang_file = p;
}

static void zh_hang(void)
{
	struct timespec step = { 0, 50 * 1000 * 1000 };

	while (!access(zh_hang_file, F_OK)) {
		if (!atomic_exchange(&zh_hang_logged, true))
			fprintf(stderr, "zusd: test hang: %s exists, request "
				"stalled\n", zh_hang_file);
		nanosleep(&step, NULL);
	}
}

static uint64_t zh_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	/* never 0: 0 means idle */
	return ((uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec) | 1;
}

/* The thread exits: give its slot back. */
static void zh_release(void *p)
{
	int slot = (int)(intptr_t)p - 1;

	atomic_store(&zh_since[slot], 0);
	atomic_store(&zh_used[slot], false);
}

static void zh_init(void)
{
	pthread_key_create(&zh_key, zh_release);
}

static void zh_take(void)
{
	pthread_once(&zh_once, zh_init);
	zh_slot = -2;
	for (int i = 0; i < ZH_SLOTS; i++) {
		bool f = false;

		if (!atomic_load_explicit(&zh_used[i], memory_order_relaxed) &&
		    atomic_compare_exchange_strong(&zh_used[i], &f, true)) {
			zh_slot = i;
			pthread_setspecific(zh_key, (void *)(intptr_t)(i + 1));
			return;
		}
	}
}

void zusd_busy_begin(void)
{
	if (zh_depth++)
		return;
	if (zh_slot == -1)
		zh_take();
	if (zh_slot >= 0)
		atomic_store_explicit(&zh_since[zh_slot], zh_now(),
				      memory_order_relaxed);
	pthread_once(&zh_hang_once, zh_hang_init);
	if (__builtin_expect(zh_hang_file != NULL, 0))
		zh_hang();
}

void zusd_busy_end(void)
{
	if (!zh_depth || --zh_depth)
		return;
	if (zh_slot >= 0)
		atomic_store_explicit(&zh_since[zh_slot], 0,
				      memory_order_relaxed);
}

uint64_t zusd_busy_stuck(uint64_t limit_ns)
{
	uint64_t now = zh_now(), worst = 0;

	for (int i = 0; i < ZH_SLOTS; i++) {
		uint64_t t = atomic_load_explicit(&zh_since[i],
						  memory_order_relaxed);

		if (t && t < now && now - t > limit_ns && now - t > worst)
			worst = now - t;
	}
	return worst;
}
