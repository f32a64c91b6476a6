/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * stats_watch.h - zufsctl stats --watch: a live view of every mount's (or
 * only's) rates, read every interval seconds.
 */
#ifndef ZUFSCTL_STATS_WATCH_H
#define ZUFSCTL_STATS_WATCH_H

#include <stdbool.h>
#include <systemd/sd-bus.h>

/*
 * Until count samples after the baseline (0: until SIGINT or SIGTERM);
 * redrawn in place on a terminal, else a line (json: an object) a sample.
 * 0 or an exit code.
 */
int stats_watch(sd_bus *bus, const char *only, double interval, long count,
		bool json);

#endif /* ZUFSCTL_STATS_WATCH_H */
