// SPDX-License-Identifier: BSD-2-Clause
/*
 * fake-zusd - the real D-Bus service (zusd/dbus_service.c) and statistics
 * (zusd/stats.c) over a fake backend, for tests/appliance/test_dbus.sh.
 *
 *   fake-zusd [--require-bus] [--transport=NAME] [--tier-rate=MIB]
 *
 * Serves two fixed mounts, /data (with a tier device) and /scratch, whose
 * statistics are recorded through the stats API by four threads at start
 * (the expected values are in test_dbus.sh).  Restart() sets State to
 * "restarting" then "running"; Mount()/Unmount() add and remove mounts.
 * Runs until SIGTERM or SIGINT, then stops the service and exits 0.
 *
 * --tier-rate=MIB makes /data's tier counters grow with time, for
 * zufsctl stats --watch (test_stats_watch.sh): MIB MiB/s migrated, MIB/4
 * promoted, MIB/16 read cold, in 4 KiB reads, from the fixed values.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zufs/zus.h>

#include "dbus_service.h"
#include "stats.h"

#define MiB	(UINT64_C(1) << 20)
#define GiB	(UINT64_C(1) << 30)

struct fake_mount {
	char *device, *mountpoint, *fstype, *options;
	uint64_t pmem_bytes, tier_bytes;
	struct zusd_stats *stats;
};

struct fake {
	pthread_mutex_t lock;
	struct fake_mount *m;
	size_t n;
	unsigned int restarts;
	struct zusd_dbus *svc;
	double tier_rate;	/* --tier-rate: bytes/s migrated */
	struct timespec start;
};

/* Bytes moved at rate since start (CLOCK_MONOTONIC). */
static uint64_t grown(const struct fake *f, double rate)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (uint64_t)(rate * ((double)(now.tv_sec - f->start.tv_sec) +
				  (double)(now.tv_nsec - f->start.tv_nsec) / 1e9));
}

static struct fake_mount *find(struct fake *f, const char *mountpoint)
{
	for (size_t i = 0; i < f->n; i++)
		if (!strcmp(f->m[i].mountpoint, mountpoint))
			return &f->m[i];
	return NULL;
}

static int add_mount(struct fake *f, const char *dev, const char *dir,
		     const char *fstype, const char *options, uint64_t pmem,
		     uint64_t tier)
{
	struct fake_mount *m = realloc(f->m, (f->n + 1) * sizeof(*m));

	if (!m)
		return -ENOMEM;
	f->m = m;
	m += f->n;
	m->device = strdup(dev);
	m->mountpoint = strdup(dir);
	m->fstype = strdup(fstype);
	m->options = strdup(options);
	m->pmem_bytes = pmem;
	m->tier_bytes = tier;
	m->stats = zusd_stats_new();
	if (!m->device || !m->mountpoint || !m->fstype || !m->options ||
	    !m->stats)
		return -ENOMEM;
	f->n++;
	return 0;
}

static void free_mount(struct fake_mount *m)
{
	free(m->device);
	free(m->mountpoint);
	free(m->fstype);
	free(m->options);
	zusd_stats_free(m->stats);
}

/* ---- the backend ------------------------------------------------------ */

static int fake_list_mounts(void *ctx, zusd_dbus_emit_mount_t emit,
			    void *ectx)
{
	struct fake *f = ctx;

	pthread_mutex_lock(&f->lock);
	for (size_t i = 0; i < f->n; i++) {
		struct zusd_dbus_mount_info mi = {
			.device = f->m[i].device,
			.mountpoint = f->m[i].mountpoint,
			.fstype = f->m[i].fstype,
			.options = f->m[i].options,
			.state = "mounted",
			.pmem_bytes = f->m[i].pmem_bytes,
			.tier_bytes = f->m[i].tier_bytes,
		};

		emit(ectx, &mi);
	}
	pthread_mutex_unlock(&f->lock);
	return 0;
}

static int fake_get_stats(void *ctx, const char *mountpoint,
			  struct zusd_stats_snapshot *out)
{
	struct fake *f = ctx;
	struct zusd_stats_snapshot *one;
	int r = 0;

	if (mountpoint[0]) {
		struct fake_mount *m;

		pthread_mutex_lock(&f->lock);
		m = find(f, mountpoint);
		if (m)
			zusd_stats_snapshot(m->stats, out);
		pthread_mutex_unlock(&f->lock);
		return m ? 0 : -ENOENT;
	}
	one = malloc(sizeof(*one));
	if (!one)
		return -ENOMEM;
	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&f->lock);
	for (size_t i = 0; i < f->n; i++) {
		zusd_stats_snapshot(f->m[i].stats, one);
		zusd_stats_merge(out, one);
	}
	pthread_mutex_unlock(&f->lock);
	free(one);
	return r;
}

static int fake_get_tier_status(void *ctx, const char *mountpoint,
				struct zusd_tier_status *t)
{
	struct fake *f = ctx;
	struct fake_mount *m;
	int r = 0;

	pthread_mutex_lock(&f->lock);
	m = find(f, mountpoint);
	if (!m)
		r = -ENOENT;
	else if (!m->tier_bytes)
		r = -ENODATA;
	else
		*t = (struct zusd_tier_status){
			.backend = "uring",
			.ntier = 1,
			.low_pct = 10,
			.high_pct = 20,
			.pmem_bytes = m->pmem_bytes,
			.pmem_free_bytes = 200 * MiB,
			.tier_bytes = m->tier_bytes,
			.tier_free_bytes = 8 * GiB,
			.migrations = 42,
			.migrated_bytes = 42 * 2 * MiB,
			.promotions = 3,
			.promoted_bytes = 3 * 2 * MiB,
			.cold_reads = 7,
			.cold_read_bytes = 7 * 4096,
			.migrate_ns = 1000000000,
			.migrate_bytes_per_sec = 42 * 2 * MiB,
			.io_reads = 7,
			.io_writes = 42,
			.io_read_bytes = 7 * 4096,
			.io_write_bytes = 42 * 2 * MiB,
			.io_max_queue_depth = 32,
		};
	if (!r && f->tier_rate > 0) {
		uint64_t mig = grown(f, f->tier_rate);
		uint64_t pro = grown(f, f->tier_rate / 4);
		uint64_t cold = grown(f, f->tier_rate / 16) & ~UINT64_C(4095);

		t->migrated_bytes += mig;
		t->migrations += mig / (2 * MiB);
		t->promoted_bytes += pro;
		t->promotions += pro / (2 * MiB);
		t->cold_read_bytes += cold;
		t->cold_reads += cold / 4096;
		t->migrating = 1;
	}
	pthread_mutex_unlock(&f->lock);
	return r;
}

static int fake_restart(void *ctx, char *err, size_t errlen)
{
	struct fake *f = ctx;

	pthread_mutex_lock(&f->lock);
	f->restarts++;
	fprintf(stderr, "fake-zusd: restart #%u\n", f->restarts);
	pthread_mutex_unlock(&f->lock);
	zusd_dbus_set_state(f->svc, "restarting");
	zusd_dbus_set_state(f->svc, "running");
	return 0;
}

static int fake_mount(void *ctx, const char *dev, const char *dir,
		      const char *fstype, const char *options, char *err,
		      size_t errlen)
{
	struct fake *f = ctx;
	int r;

	if (!fstype[0])
		fstype = "pmfs2";
	pthread_mutex_lock(&f->lock);
	if (find(f, dir)) {
		snprintf(err, errlen, "%s is already a ZUFS mountpoint", dir);
		r = -EBUSY;
	} else {
		r = add_mount(f, dev, dir, fstype, options, 64 * MiB, 0);
	}
	pthread_mutex_unlock(&f->lock);
	if (!r)
		zusd_dbus_mount_added(f->svc, dev, dir, fstype);
	return r;
}

static int fake_unmount(void *ctx, const char *dir, char *err, size_t errlen)
{
	struct fake *f = ctx;
	struct fake_mount *m;

	pthread_mutex_lock(&f->lock);
	m = find(f, dir);
	if (m) {
		free_mount(m);
		*m = f->m[--f->n];
	}
	pthread_mutex_unlock(&f->lock);
	if (!m)
		return -ENOENT;
	zusd_dbus_mount_removed(f->svc, dir);
	return 0;
}

static const struct zusd_dbus_ops fake_ops = {
	.list_mounts = fake_list_mounts,
	.get_stats = fake_get_stats,
	.get_tier_status = fake_get_tier_status,
	.restart = fake_restart,
	.mount = fake_mount,
	.unmount = fake_unmount,
};

/* ---- synthetic statistics -------------------------------------------- */

#define NWORKERS	4

struct gen {
	struct fake *f;
	unsigned int k;
};

/* Operation i of each kind is recorded by worker i % NWORKERS. */
static void *generate(void *arg)
{
	struct gen *g = arg;
	struct zusd_stats *data = g->f->m[0].stats;
	struct zusd_stats *scratch = g->f->m[1].stats;

	for (unsigned int i = g->k; i < 1000; i += NWORKERS)
		zusd_stats_record(data, ZUSD_OP_READ, i < 980 ? 1500 : 100000,
				  4096, 0);
	for (unsigned int i = g->k; i < 500; i += NWORKERS)
		zusd_stats_record(data, ZUSD_OP_WRITE, 3000,
				  i < 5 ? 0 : 8192, i < 5 ? -ENOSPC : 0);
	for (unsigned int i = g->k; i < 200; i += NWORKERS)
		zusd_stats_record(data, ZUSD_OP_LOOKUP, 700, 0,
				  i < 20 ? -ENOENT : 0);
	for (unsigned int i = g->k; i < 50; i += NWORKERS)
		zusd_stats_record(scratch, ZUSD_OP_GETATTR, 300, 0, 0);
	return NULL;
}

static void log_stderr(void *ctx, int prio, const char *msg)
{
	fprintf(stderr, "fake-zusd: <%d> %s\n", prio, msg);
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "require-bus", no_argument, NULL, 'r' },
		{ "transport", required_argument, NULL, 't' },
		{ "tier-rate", required_argument, NULL, 'R' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	static const char *const plugins[] = { "pmfs2", "tier", NULL };
	struct fake f = { .lock = PTHREAD_MUTEX_INITIALIZER };
	struct zusd_dbus_opts o = {
		.ops = &fake_ops, .ctx = &f, .transport = "fuse",
		.plugins = plugins, .log = log_stderr,
	};
	pthread_t t[NWORKERS];
	struct gen g[NWORKERS];
	char err[512];
	sigset_t sigs;
	int c, sig, r;

	while ((c = getopt_long(argc, argv, "rt:R:h", lopts, NULL)) != -1) {
		switch (c) {
		case 'r':
			o.require_bus = true;
			break;
		case 't':
			o.transport = optarg;
			break;
		case 'R':
			f.tier_rate = atof(optarg) * (double)MiB;
			break;
		case 'h':
			printf("Usage: %s [--require-bus] [--transport=NAME] [--tier-rate=MIB]\n",
			       argv[0]);
			return 0;
		default:
			return 2;
		}
	}

	if (add_mount(&f, "/dev/pmem0", "/data", "pmfs2", "noatime",
		      1 * GiB, 12 * GiB) ||
	    add_mount(&f, "/dev/pmem1", "/scratch", "pmfs2", "", 256 * MiB,
		      0)) {
		fprintf(stderr, "fake-zusd: out of memory\n");
		return 1;
	}
	for (unsigned int i = 0; i < NWORKERS; i++) {
		g[i] = (struct gen){ &f, i };
		if (pthread_create(&t[i], NULL, generate, &g[i])) {
			fprintf(stderr, "fake-zusd: pthread_create failed\n");
			return 1;
		}
	}
	for (unsigned int i = 0; i < NWORKERS; i++)
		pthread_join(t[i], NULL);

	/* the service thread inherits the mask: signals come to sigwait */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);

	r = zusd_dbus_start(&o, &f.svc, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "fake-zusd: %s\n", err);
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &f.start);
	zusd_dbus_set_state(f.svc, "running");
	printf("fake-zusd: ready\n");
	fflush(stdout);

	sigwait(&sigs, &sig);
	fprintf(stderr, "fake-zusd: signal %d, stopping (%u restarts)\n", sig,
		f.restarts);
	zusd_dbus_set_state(f.svc, "stopping");
	zusd_dbus_stop(f.svc);
	for (size_t i = 0; i < f.n; i++)
		free_mount(&f.m[i]);
	free(f.m);
	return 0;
}
