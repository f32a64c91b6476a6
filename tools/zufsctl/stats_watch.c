// SPDX-License-Identifier: BSD-2-Clause
/*
 * stats_watch.c - zufsctl stats --watch (stats_watch.h): samples of every
 * mount's counters, the rates between two of them, and their renderers for
 * a terminal, a pipe and --json.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>
#include <time.h>
#include <unistd.h>

#include "manager.h"
#include "output.h"
#include "stats_watch.h"
#include "zufsctl.h"

/* One mount's figures at one sample; rates come from two of these. */
struct sample_mount {
	char *mountpoint;
	uint64_t ops, bytes;		/* all operations, from GetStats */
	bool tier;
	uint64_t migrated, promoted, cold_reads, cold_bytes;
	uint64_t pmem_bytes, pmem_free, tier_bytes, tier_free, queue;
	bool migrating;
};

struct sample {
	double t;			/* CLOCK_MONOTONIC, seconds */
	time_t wall;
	struct sample_mount *m;
	size_t n;
};

static void sample_free(struct sample *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->m[i].mountpoint);
	free(s->m);
	s->m = NULL;
	s->n = 0;
}

static double mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Read every mount's counters (or only's); a report()ed exit code. */
static int take_sample(sd_bus *bus, const char *only, struct sample *s)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	struct mounts ms = { 0 };
	struct tier tier = { 0 };
	int r;

	memset(s, 0, sizeof(*s));
	r = get_mounts(bus, &ms, &e);
	if (r >= 0)
		r = get_tier(bus, &tier, &e);
	for (size_t i = 0; r >= 0 && i < ms.n; i++) {
		const struct tier_entry *te;
		struct sample_mount *sm;
		struct stats st = { 0 };

		if (only && strcmp(only, ms.m[i].mountpoint))
			continue;
		r = get_stats(bus, ms.m[i].mountpoint, &st, &e);
		sm = realloc(s->m, (s->n + 1) * sizeof(*sm));
		if (r >= 0 && !sm)
			r = -ENOMEM;
		if (r < 0) {
			stats_free(&st);
			break;
		}
		s->m = sm;
		sm += s->n++;
		memset(sm, 0, sizeof(*sm));
		sm->mountpoint = strdup(ms.m[i].mountpoint);
		if (!sm->mountpoint)
			r = -ENOMEM;
		for (size_t k = 0; k < st.n; k++) {
			sm->ops += st.op[k].count;
			sm->bytes += st.op[k].bytes;
		}
		stats_free(&st);
		te = find_tier(&tier, ms.m[i].mountpoint);
		if (!te)
			continue;
		sm->tier = true;
		sm->migrated = tier_val(te, "migrated_bytes");
		sm->promoted = tier_val(te, "promoted_bytes");
		sm->cold_reads = tier_val(te, "cold_reads");
		sm->cold_bytes = tier_val(te, "cold_read_bytes");
		sm->pmem_bytes = tier_val(te, "pmem_bytes");
		sm->pmem_free = tier_val(te, "pmem_free");
		sm->tier_bytes = tier_val(te, "tier_bytes");
		sm->tier_free = tier_val(te, "tier_free");
		sm->queue = tier_val(te, "io_queue_depth");
		sm->migrating = tier_val(te, "migrating");
	}
	s->t = mono_now();
	s->wall = time(NULL);
	mounts_free(&ms);
	tier_free(&tier);
	if (r < 0) {
		r = report("stats", &e, r);
	} else if (only && !s->n) {
		fprintf(stderr, "%s: no ZUFS filesystem is mounted at %s\n",
			prog, only);
		r = EXIT_NO_MOUNT;
	} else {
		r = 0;	/* sd-bus's > 0 */
	}
	sd_bus_error_free(&e);
	return r;
}

/* The rates of one mount over an interval; < 0: unknown. */
struct rates {
	double ops, io, migrated, promoted, cold, cold_bytes;
	double pmem_pct, tier_pct;
};

/* per second; unknown without a previous sample or if it went back
 * (zusd restarted, the mount was remounted) */
static double rate(const struct sample_mount *prev, uint64_t now,
		   uint64_t then, double dt)
{
	if (!prev || now < then || dt <= 0)
		return -1;
	return (double)(now - then) / dt;
}

static double used_pct(uint64_t size, uint64_t free_b)
{
	if (!size)
		return -1;
	return 100.0 * (double)(free_b < size ? size - free_b : 0) /
	       (double)size;
}

static void get_rates(const struct sample_mount *m,
		      const struct sample_mount *p, double dt,
		      struct rates *r)
{
	const double mib = 1024.0 * 1024.0;

	r->ops = rate(p, m->ops, p ? p->ops : 0, dt);
	r->io = rate(p, m->bytes, p ? p->bytes : 0, dt);
	if (r->io >= 0)
		r->io /= mib;
	r->migrated = r->promoted = r->cold = r->cold_bytes = -1;
	r->pmem_pct = r->tier_pct = -1;
	if (!m->tier)
		return;
	if (p && !p->tier)
		p = NULL;
	r->migrated = rate(p, m->migrated, p ? p->migrated : 0, dt);
	r->promoted = rate(p, m->promoted, p ? p->promoted : 0, dt);
	r->cold = rate(p, m->cold_reads, p ? p->cold_reads : 0, dt);
	r->cold_bytes = rate(p, m->cold_bytes, p ? p->cold_bytes : 0, dt);
	if (r->migrated >= 0)
		r->migrated /= mib;
	if (r->promoted >= 0)
		r->promoted /= mib;
	if (r->cold_bytes >= 0)
		r->cold_bytes /= mib;
	r->pmem_pct = used_pct(m->pmem_bytes, m->pmem_free);
	r->tier_pct = used_pct(m->tier_bytes, m->tier_free);
}

static const struct sample_mount *find_sample(const struct sample *s,
					      const char *mountpoint)
{
	for (size_t i = 0; s && i < s->n; i++)
		if (!strcmp(s->m[i].mountpoint, mountpoint))
			return &s->m[i];
	return NULL;
}

/* "%.*f" of v into buf, or "-" when unknown */
static const char *fmt_rate(char *buf, size_t len, double v, int prec)
{
	if (v < 0)
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%.*f", prec, v);
	return buf;
}

static void json_rate(const char *key, double v)
{
	if (v < 0)
		printf(",\"%s\":null", key);
	else
		printf(",\"%s\":%.3f", key, v);
}

/* not a terminal: one line a mount a sample */
static void print_sample_lines(const struct sample *s,
			       const struct sample *prev)
{
	char tbuf[32], a[6][32];
	struct tm tm;

	localtime_r(&s->wall, &tm);
	strftime(tbuf, sizeof(tbuf), "%H:%M:%S", &tm);
	for (size_t i = 0; i < s->n; i++) {
		const struct sample_mount *m = &s->m[i];
		struct rates r;

		get_rates(m, find_sample(prev, m->mountpoint),
			  prev ? s->t - prev->t : 0, &r);
		printf("%s %s ops %s/s io %s MiB/s", tbuf, m->mountpoint,
		       fmt_rate(a[0], sizeof(a[0]), r.ops, 1),
		       fmt_rate(a[1], sizeof(a[1]), r.io, 2));
		if (m->tier)
			printf(" migrated %s MiB/s promoted %s MiB/s cold-reads %s/s %s MiB/s pmem %s%% tier %s%% queue %" PRIu64 "%s",
			       fmt_rate(a[2], sizeof(a[2]), r.migrated, 2),
			       fmt_rate(a[3], sizeof(a[3]), r.promoted, 2),
			       fmt_rate(a[4], sizeof(a[4]), r.cold, 1),
			       fmt_rate(a[5], sizeof(a[5]), r.cold_bytes, 2),
			       fmt_rate(a[0], sizeof(a[0]), r.pmem_pct, 0),
			       fmt_rate(a[1], sizeof(a[1]), r.tier_pct, 0),
			       m->queue, m->migrating ? " migrating" : "");
		putchar('\n');
	}
}

/* --json: one object a sample, a line each */
static void print_sample_json(const struct sample *s,
			      const struct sample *prev)
{
	printf("{\"time\":%lld,\"interval_s\":", (long long)s->wall);
	if (prev)
		printf("%.3f", s->t - prev->t);
	else
		printf("null");
	printf(",\"mounts\":[");
	for (size_t i = 0; i < s->n; i++) {
		const struct sample_mount *m = &s->m[i];
		struct rates r;

		get_rates(m, find_sample(prev, m->mountpoint),
			  prev ? s->t - prev->t : 0, &r);
		printf("%s{\"mountpoint\":", i ? "," : "");
		json_str(m->mountpoint);
		printf(",\"ops\":%" PRIu64 ",\"bytes\":%" PRIu64, m->ops,
		       m->bytes);
		json_rate("ops_per_sec", r.ops);
		json_rate("io_mib_per_sec", r.io);
		if (m->tier) {
			printf(",\"migrated_bytes\":%" PRIu64
			       ",\"promoted_bytes\":%" PRIu64
			       ",\"cold_reads\":%" PRIu64
			       ",\"cold_read_bytes\":%" PRIu64
			       ",\"io_queue_depth\":%" PRIu64
			       ",\"migrating\":%s", m->migrated, m->promoted,
			       m->cold_reads, m->cold_bytes, m->queue,
			       m->migrating ? "true" : "false");
			json_rate("migrated_mib_per_sec", r.migrated);
			json_rate("promoted_mib_per_sec", r.promoted);
			json_rate("cold_reads_per_sec", r.cold);
			json_rate("cold_read_mib_per_sec", r.cold_bytes);
		}
		printf("}");
	}
	printf("]}\n");
}

/* a terminal: the whole table redrawn in place, top of the screen */
static void draw_sample(const struct sample *s, const struct sample *prev,
			double interval, unsigned long k, bool first)
{
	char tbuf[32], a[8][32];
	struct tm tm;

	localtime_r(&s->wall, &tm);
	strftime(tbuf, sizeof(tbuf), "%H:%M:%S", &tm);
	/* home, and on the first frame a clear screen; every line ends
	 * with erase-to-end-of-line, the frame with erase-below */
	printf("%s\033[H", first ? "\033[2J" : "");
	printf("zufsctl stats --watch: every %.1f s, sample %lu, %s%s\033[K\n\033[K\n",
	       interval, k, tbuf, prev ? "" : " (rates after the first interval)");
	printf("%-20s %9s %9s %10s %10s %8s %10s %5s %5s %5s\033[K\n",
	       "MOUNTPOINT", "OPS/s", "IO MiB/s", "MIGR MiB/s", "PROM MiB/s",
	       "COLD/s", "COLD MiB/s", "PMEM", "TIER", "QUEUE");
	for (size_t i = 0; i < s->n; i++) {
		const struct sample_mount *m = &s->m[i];
		struct rates r;

		get_rates(m, find_sample(prev, m->mountpoint),
			  prev ? s->t - prev->t : 0, &r);
		if (r.pmem_pct >= 0)
			snprintf(a[6], sizeof(a[6]), "%.0f%%", r.pmem_pct);
		else
			snprintf(a[6], sizeof(a[6]), "-");
		if (r.tier_pct >= 0)
			snprintf(a[7], sizeof(a[7]), "%.0f%%", r.tier_pct);
		else
			snprintf(a[7], sizeof(a[7]), "-");
		printf("%-20s %9s %9s %10s %10s %8s %10s %5s %5s ",
		       m->mountpoint, fmt_rate(a[0], sizeof(a[0]), r.ops, 1),
		       fmt_rate(a[1], sizeof(a[1]), r.io, 2),
		       fmt_rate(a[2], sizeof(a[2]), r.migrated, 2),
		       fmt_rate(a[3], sizeof(a[3]), r.promoted, 2),
		       fmt_rate(a[4], sizeof(a[4]), r.cold, 1),
		       fmt_rate(a[5], sizeof(a[5]), r.cold_bytes, 2), a[6],
		       a[7]);
		if (m->tier)
			printf("%5" PRIu64 "%s", m->queue,
			       m->migrating ? " migrating" : "");
		else
			printf("%5s", "-");
		printf("\033[K\n");
	}
	if (!s->n)
		printf("no ZUFS filesystems mounted\033[K\n");
	printf("\033[J");
}

static volatile sig_atomic_t watch_stop;

static void on_stop(int sig)
{
	(void)sig;
	watch_stop = 1;
}

/*
 * zufsctl stats --watch: a sample now (the baseline), then one every
 * interval, scheduled from the start so it does not drift; rates are over
 * the interval before each sample.  SIGINT and SIGTERM are blocked but in
 * the wait (ppoll), so one arriving anywhere ends the wait at once.
 */
int stats_watch(sd_bus *bus, const char *only, double interval, long count,
		bool json)
{
	struct sample cur = { 0 }, prev = { 0 };
	bool tty = !json && isatty(STDOUT_FILENO);
	struct sigaction sa = { .sa_handler = on_stop };
	sigset_t stop, old;
	double start;
	int r;

	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	sigprocmask(SIG_BLOCK, &stop, &old);
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	r = take_sample(bus, only, &prev);
	if (r)
		goto out;
	start = prev.t;
	if (tty) {
		draw_sample(&prev, NULL, interval, 0, true);
		fflush(stdout);
	}
	for (unsigned long k = 1; !count || k <= (unsigned long)count; k++) {
		double left = start + (double)k * interval - mono_now();

		while (left > 0 && !watch_stop) {
			struct timespec ts = {
				.tv_sec = (time_t)left,
				.tv_nsec = (long)((left - (double)(time_t)left) *
						  1e9),
			};

			ppoll(NULL, 0, &ts, &old);
			left = start + (double)k * interval - mono_now();
		}
		if (watch_stop)
			break;
		r = take_sample(bus, only, &cur);
		if (r)
			goto out;
		if (tty)
			draw_sample(&cur, &prev, interval, k, false);
		else if (json)
			print_sample_json(&cur, &prev);
		else
			print_sample_lines(&cur, &prev);
		/* a pipe sees each sample as it comes */
		fflush(stdout);
		sample_free(&prev);
		prev = cur;
		memset(&cur, 0, sizeof(cur));
	}
	r = 0;
out:
	sample_free(&cur);
	sample_free(&prev);
	sigprocmask(SIG_SETMASK, &old, NULL);
	return r;
}
