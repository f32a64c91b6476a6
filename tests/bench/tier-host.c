// SPDX-License-Identifier: BSD-2-Clause
/*
 * tier-host - host benchmark of pmfs2 tiering: migration throughput against
 * the raw sequential write speed of the same host file system measured in
 * the same run, and 4 KiB random-read latency on a hot (pmem) set while a
 * migration runs versus idle.
 *
 *   tier-host [--json] [--backend uring|sync] [--dir DIR] [--mib N]
 *
 * pmem is DRAM here (anonymous memory: no flush cost beyond clwb/sfence),
 * the tier a file in DIR (default $TMPDIR or /var/tmp) opened O_DIRECT.
 * The plugin and the backends are linked in; no host, no transport.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "pmfs2.h"
#include "pmfs2_tier_format.h"
#include "tier_backend.h"

#define MiB		((uint64_t)1 << 20)
#define HOT_SIZE	(16 * MiB)
#define NLAT		20000

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, long err)
{
	fprintf(stderr, "tier-host: %s: %s\n", what, strerror((int)-err));
	exit(1);
}

#define TRY(what, expr) do {					\
		long _r = (long)(expr);				\
		if (_r < 0)					\
			die(what, _r);				\
	} while (0)

static void quiet(struct zus_sb *sb, int prio, const char *msg)
{
	if (prio <= ZUS_LOG_WARNING)
		fprintf(stderr, "tier-host: %s\n", msg);
}

/*
 * Sequential O_DIRECT writes of len bytes in 1 MiB calls into a
 * preallocated file: one fdatasync at the end (sync_every 0), or one every
 * sync_every bytes (the durability cadence of a migration batch).
 */
static double raw_write(const char *dir, uint64_t len, uint64_t sync_every)
{
	char path[4096];
	double t0, t;
	void *buf;
	int fd;

	snprintf(path, sizeof(path), "%s/tier-host-raw-XXXXXX", dir);
	fd = mkstemp(path);
	if (fd < 0)
		die("mkstemp", -errno);
	close(fd);
	fd = open(path, O_RDWR | O_DIRECT);
	if (fd < 0)
		die("open raw", -errno);
	unlink(path);
	if (posix_fallocate(fd, 0, (off_t)len))
		die("fallocate", -EIO);
	if (posix_memalign(&buf, 4096, MiB))
		die("alloc", -ENOMEM);
	memset(buf, 0x5a, MiB);
	t0 = now();
	for (uint64_t off = 0; off < len; off += MiB)
		if (pwrite(fd, buf, MiB, (off_t)off) != (ssize_t)MiB ||
		    (sync_every && (off + MiB) % sync_every == 0 &&
		     fdatasync(fd) < 0))
			die("raw write", -errno);
	if (fdatasync(fd) < 0)
		die("fdatasync", -errno);
	t = now() - t0;
	close(fd);
	free(buf);
	return (double)len / MiB / t;
}

struct fs {
	struct zus_sb sb;
	struct zus_tier_dev dev;
	char path[4096];
};

static void fs_make(struct fs *f, const char *dir, uint64_t pmem,
		    uint64_t tier, const struct zus_tier_backend *be)
{
	uint8_t fsu[16], tu[16];
	const uint8_t (*tup)[16] = (const uint8_t (*)[16])tu;
	struct pmfs2_mkfs_opts o = { .label = "bench", .ntier = 1,
				     .tier_size = &tier, .uuid = fsu,
				     .tier_uuid = tup };
	struct pmfs2_tier_header *h;
	char err[256];
	int fd;

	memset(f, 0, sizeof(*f));
	for (int i = 0; i < 16; i++) {
		fsu[i] = (uint8_t)random();
		tu[i] = (uint8_t)random();
	}
	f->sb.pmem.base = mmap(NULL, pmem, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE,
			       -1, 0);
	if (f->sb.pmem.base == MAP_FAILED)
		die("mmap", -errno);
	f->sb.pmem.size = pmem;
	if (pmfs2_format(&f->sb.pmem, &o, err, sizeof(err))) {
		fprintf(stderr, "tier-host: format: %s\n", err);
		exit(1);
	}
	snprintf(f->path, sizeof(f->path), "%s/tier-host-tier-XXXXXX", dir);
	fd = mkstemp(f->path);
	if (fd < 0)
		die("mkstemp", -errno);
	/* preallocated, like a device: no block allocation per write */
	if (posix_fallocate(fd, 0, (off_t)tier) ||
	    posix_memalign((void **)&h, 4096, 4096))
		die("tier file", -errno);
	memset(h, 0, 4096);
	pmfs2_tier_header_init(h, 1, fsu, tu, tier, pmfs2_now());
	if (pwrite(fd, h, 4096, 0) != 4096)
		die("tier header", -errno);
	free(h);
	close(fd);
	f->dev = (struct zus_tier_dev){ .fd = -1, .path = f->path,
					.size = tier };
	memcpy(f->dev.uuid, tu, 16);
	f->sb.dev_path = "bench";
	f->sb.options = "tier_thread=0";
	f->sb.log = quiet;
	f->sb.ntier = 1;
	f->sb.tier = &f->dev;
	f->sb.tier_backend = be;
	TRY("mount", pmfs2_ops.mount(&f->sb));
}

static void fs_free(struct fs *f)
{
	pmfs2_ops.umount(&f->sb);
	munmap(f->sb.pmem.base, f->sb.pmem.size);
	unlink(f->path);
}

static uint64_t mkfile(struct fs *f, const char *name, uint64_t size)
{
	static const struct zus_creds cr = { 0, 0 };
	struct zus_attr a;
	char *buf = malloc(MiB);

	if (!buf)
		die("alloc", -ENOMEM);
	TRY("create", pmfs2_ops.create(&f->sb, PMFS2_ROOT_INO, name,
				       strlen(name), S_IFREG | 0644, 0, &cr,
				       &a));
	for (uint64_t off = 0; off < size; off += MiB) {
		for (size_t i = 0; i < MiB; i += 8)
			memcpy(buf + i, &off, 8);
		if (pmfs2_ops.write(&f->sb, a.ino, buf, MiB, off) !=
		    (ssize_t)MiB)
			die("write", -EIO);
	}
	free(buf);
	return a.ino;
}

struct lat {
	double p50, p99, mean;	/* microseconds */
};

static int dcmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static struct lat read_lat(struct fs *f, uint64_t ino, uint64_t size,
			   uint64_t *rng)
{
	static double v[NLAT];
	char buf[4096] __attribute__((aligned(4096)));
	struct lat l = { 0, 0, 0 };
	double sum = 0;

	for (int i = 0; i < NLAT; i++) {
		uint64_t off;
		double t0;

		*rng ^= *rng << 13;
		*rng ^= *rng >> 7;
		*rng ^= *rng << 17;
		off = (*rng % (size / 4096)) * 4096;
		t0 = now();
		if (pmfs2_ops.read(&f->sb, ino, buf, sizeof(buf), off) != 4096)
			die("read", -EIO);
		v[i] = (now() - t0) * 1e6;
		sum += v[i];
	}
	qsort(v, NLAT, sizeof(v[0]), dcmp);
	l.p50 = v[NLAT / 2];
	l.p99 = v[NLAT * 99 / 100];
	l.mean = sum / NLAT;
	return l;
}

struct mig_arg {
	struct fs *f;
	uint64_t blocks;
	int64_t moved;
	double secs;
	bool done;
};

static void *mig_thread(void *p)
{
	struct mig_arg *m = p;
	double t0 = now();

	/* the cold file's worth: the coldest blocks go first */
	m->moved = pmfs2_tier_migrate(PMFS2_SBI(&m->f->sb), m->blocks);
	m->secs = now() - t0;
	__atomic_store_n(&m->done, true, __ATOMIC_RELEASE);
	return NULL;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "backend", required_argument, NULL, 'b' },
		{ "dir", required_argument, NULL, 'd' },
		{ "mib", required_argument, NULL, 'm' },
		{ NULL, 0, NULL, 0 },
	};
	const struct zus_tier_backend *be = &zus_tier_uring_backend;
	const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/var/tmp";
	uint64_t cold = 256 * MiB, hot_ino, cold_ino, rng = 88172645463325252ULL;
	struct zus_tier_status st0, st1;
	struct mig_arg ma;
	struct lat idle, busy;
	double raw, raw_b, mig, t0;
	bool json = false;
	pthread_t th;
	struct fs f;
	int c;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'j': json = true; break;
		case 'b':
			be = !strcmp(optarg, "sync") ? &zus_tier_sync_backend :
			     &zus_tier_uring_backend;
			break;
		case 'd': dir = optarg; break;
		case 'm': cold = strtoull(optarg, NULL, 0) * MiB; break;
		default:
			fprintf(stderr, "usage: tier-host [--json] [--backend uring|sync] [--dir DIR] [--mib N]\n");
			return 2;
		}
	}
	if (cold < 16 * MiB)
		cold = 16 * MiB;
	srandom(1);
	/* pmem holds the hot set and the cold file; the tier gets the cold */
	fs_make(&f, dir, cold + HOT_SIZE + 64 * MiB, 2 * cold + 64 * MiB, be);
	hot_ino = mkfile(&f, "hot", HOT_SIZE);
	cold_ino = mkfile(&f, "cold", cold);
	(void)cold_ino;
	raw = raw_write(dir, cold, 0);
	raw_b = raw_write(dir, cold, PMFS2_TIER_BATCH * 4096ull);

	/* warm the hot set so the migrator leaves it on pmem */
	for (int i = 0; i < 8; i++)
		(void)read_lat(&f, hot_ino, HOT_SIZE, &rng);
	idle = read_lat(&f, hot_ino, HOT_SIZE, &rng);

	TRY("status", pmfs2_ops.tier_status(&f.sb, &st0));
	ma = (struct mig_arg){ .f = &f, .blocks = cold / 4096 };
	t0 = now();
	if (pthread_create(&th, NULL, mig_thread, &ma))
		die("thread", -EAGAIN);
	/* the hot set, read while the migration runs: the worst batch */
	busy = read_lat(&f, hot_ino, HOT_SIZE, &rng);
	while (!__atomic_load_n(&ma.done, __ATOMIC_ACQUIRE)) {
		struct lat l = read_lat(&f, hot_ino, HOT_SIZE, &rng);

		if (l.p99 > busy.p99)
			busy = l;
	}
	pthread_join(th, NULL);
	(void)t0;
	TRY("migrate", ma.moved);
	TRY("status", pmfs2_ops.tier_status(&f.sb, &st1));
	mig = (double)(st1.migrated_bytes - st0.migrated_bytes) / MiB /
	      ma.secs;

	if (json) {
		printf("{\"bench\":\"tier-host\",\"backend\":\"%s\",\"cold_mib\":%" PRIu64 ","
		       "\"raw_seq_write_mib_s\":%.1f,"
		       "\"raw_seq_write_sync_per_batch_mib_s\":%.1f,"
		       "\"migration_mib_s\":%.1f,"
		       "\"migration_vs_raw\":%.3f,\"migrated_mib\":%.1f,"
		       "\"max_queue_depth\":%u,"
		       "\"read4k_idle_us\":{\"p50\":%.2f,\"p99\":%.2f,\"mean\":%.2f},"
		       "\"read4k_migrating_us\":{\"p50\":%.2f,\"p99\":%.2f,\"mean\":%.2f}}\n",
		       be->name, cold / MiB, raw, raw_b, mig, mig / raw,
		       (double)(st1.migrated_bytes - st0.migrated_bytes) / MiB,
		       st1.io.max_queue_depth,
		       idle.p50, idle.p99, idle.mean, busy.p50, busy.p99,
		       busy.mean);
	} else {
		printf("tier-host (backend %s, tier file in %s, %" PRIu64 " MiB cold)\n",
		       be->name, dir, cold / MiB);
		printf("  %-36s %10.1f MiB/s\n", "raw sequential write (O_DIRECT)",
		       raw);
		printf("  %-36s %10.1f MiB/s\n", "  same, fdatasync every 2 MiB",
		       raw_b);
		printf("  %-36s %10.1f MiB/s  (%.0f%% of raw, %.1f MiB moved, max qd %u)\n",
		       "migration pmem -> tier", mig, 100 * mig / raw,
		       (double)(st1.migrated_bytes - st0.migrated_bytes) / MiB,
		       st1.io.max_queue_depth);
		printf("  %-36s p50 %7.2f us  p99 %7.2f us  mean %7.2f us\n",
		       "4 KiB random read, hot set, idle", idle.p50, idle.p99,
		       idle.mean);
		printf("  %-36s p50 %7.2f us  p99 %7.2f us  mean %7.2f us\n",
		       "4 KiB random read, during migration", busy.p50,
		       busy.p99, busy.mean);
	}
	fs_free(&f);
	return 0;
}
