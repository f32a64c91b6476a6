/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * health.h - are zusd's serving threads alive?  (systemd's watchdog)
 *
 * Every serving thread (FUSE worker, zuf channel thread) brackets each
 * request it handles with zusd_busy_begin()/zusd_busy_end().  The main
 * loop sends WATCHDOG=1 only while no thread has been inside one request
 * for longer than the watchdog interval (zusd_busy_stuck()): a thread stuck
 * in a plugin call stops the pings and systemd restarts zusd.  A thread
 * waiting for its next request is idle, which is healthy.
 *
 * Lock-free: each thread owns one slot (taken at its first request, given
 * back when it exits) holding the time its current request started, or 0.
 * Nested brackets count as one.
 *
 * Test hook: with ZUSD_TEST_HANG_FILE=PATH in the environment (read once),
 * a request that begins while PATH exists stalls, marked busy, in 50 ms
 * steps until PATH is removed ("zusd: test hang: PATH exists, request
 * stalled" once on stderr): the watchdog pings stop and systemd kills zusd.
 */
#ifndef ZUSD_HEALTH_H
#define ZUSD_HEALTH_H

#include <stdint.h>

void zusd_busy_begin(void);
void zusd_busy_end(void);

/*
 * 0 if no thread is in a request begun more than limit_ns ago, else the
 * age in ns of the oldest such request.
 */
uint64_t zusd_busy_stuck(uint64_t limit_ns);

#endif /* ZUSD_HEALTH_H */
