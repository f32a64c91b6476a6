// SPDX-License-Identifier: BSD-2-Clause
/*
 * fsbench - one file system workload, run the same way on every target:
 *
 *   fsbench [OPTION]... [NAME=]DIR...
 *       system calls in each DIR (tmpfs, a FUSE mount, ...)
 *   fsbench-inproc [OPTION]... [NAME=]TARGET...
 *       the same, and TARGET may also be pmfs2 through the in-process host:
 *       an image file (or inproc:PATH), or memfd:MIB
 *
 * The workload, per repetition (every figure is a rate, higher is better):
 *   4 KiB random pwrite, then pread, over a prefilled file per thread,
 *     with 1 thread and with --threads threads: ops/s, all threads together
 *   64 KiB sequential pwrite of a new file (allocating), then pread: MiB/s
 *   create (open O_CREAT|O_EXCL + close), stat, unlink of --files empty
 *     files in one new directory: ops/s
 * Data calls use O_DIRECT where the target takes it (probed), so that a
 * kernel target is measured and not its page cache; otherwise they are
 * buffered and the output says so.  Random offsets come from a seeded
 * generator: every target sees the same sequence.
 *
 * With several targets, each unit of work (a random run; write + read of
 * the sequential file; create + stat + unlink) runs on every target in
 * turn, the order rotating, before the next unit: on a noisy machine a
 * burst of load then hits one sample of each target rather than every
 * sample of one.  Each figure is measured --reps times; the table shows
 * the median, --json and --raw every sample.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fsbench.h"

#define SMALL		4096u
#define BIG		(64u * 1024)
#define FILL		(1u << 20)	/* prefill chunk */
#define MAX_THREADS	16
#define MAX_REPS	50
#define MAX_TARGETS	8

#ifdef FSBENCH_INPROC
#define PROG		"fsbench-inproc"
#else
#define PROG		"fsbench"
#endif

enum { T_RW1, T_RR1, T_RWN, T_RRN, T_SW, T_SR, T_CREATE, T_STAT, T_UNLINK,
       T_COUNT };

static struct {
	const char *key;	/* JSON / raw name */
	char label[32];		/* table name */
	const char *unit;
} tests[T_COUNT] = {
	[T_RW1]    = { "randwrite_4k_1t", "4K rand write, 1 thr", "ops/s" },
	[T_RR1]    = { "randread_4k_1t",  "4K rand read, 1 thr",  "ops/s" },
	[T_RWN]    = { "randwrite_4k_Nt", "", "ops/s" },
	[T_RRN]    = { "randread_4k_Nt",  "", "ops/s" },
	[T_SW]     = { "seqwrite_64k",    "64K seq write",        "MiB/s" },
	[T_SR]     = { "seqread_64k",     "64K seq read",         "MiB/s" },
	[T_CREATE] = { "create",          "create",               "ops/s" },
	[T_STAT]   = { "stat",            "stat",                 "ops/s" },
	[T_UNLINK] = { "unlink",          "unlink",               "ops/s" },
};
static char key_rwn[32], key_rrn[32];

/* the units of work, in order: each runs on every target before the next */
enum { U_RW1, U_RR1, U_RWN, U_RRN, U_SEQ, U_META, U_COUNT };

struct target {
	const char *name, *spec;
	const struct fsb_backend *be;
	void *priv;
	struct fsb_target_info info;
	int fds[MAX_THREADS];	/* the random I/O files */
	double sample[T_COUNT][MAX_REPS];
};

static struct target targets[MAX_TARGETS];
static unsigned int ntargets;

static struct {
	unsigned int reps, threads, files;
	uint64_t file_mib, seq_mib, seed;
	double time;
	bool quiet;
} cfg = { 3, 2, 10000, 64, 128, 0x5eed, 0.5, false };

static char work[64];		/* our directory in each target */
static unsigned char *wbuf;	/* data written (aligned, FILL bytes) */

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const struct target *t, const char *what, const char *path,
		long err)
{
	fprintf(stderr, PROG ": %s: %s%s%s: %s\n", t->name, what,
		path ? " " : "", path ? path : "", strerror((int)-err));
	exit(1);
}

static void must(const struct target *t, const char *what, const char *path,
		 long r)
{
	if (r < 0)
		die(t, what, path, r);
}

/* a full transfer, or die */
static void io_full(const struct target *t, bool write, int fd, void *buf,
		    size_t len, off_t off)
{
	ssize_t n = write ? t->be->pwrite(t->priv, fd, buf, len, off) :
			    t->be->pread(t->priv, fd, buf, len, off);

	if (n < 0)
		die(t, write ? "pwrite" : "pread", NULL, n);
	if ((size_t)n != len) {
		fprintf(stderr, PROG ": %s: short %s: %zd of %zu bytes at %lld\n",
			t->name, write ? "write" : "read", n, len,
			(long long)off);
		exit(1);
	}
}

static uint64_t xorshift(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1DULL;
}

/* ---- 4 KiB random I/O ------------------------------------------------------ */

struct worker {
	pthread_t tid;
	pthread_barrier_t *start;
	const struct target *t;
	int fd;
	bool write;
	uint64_t seed, ops;
	double t0, t1;
};

static void *rand_worker(void *arg)
{
	struct worker *w = arg;
	uint64_t nblocks = (cfg.file_mib << 20) / SMALL, s = w->seed, ops = 0;
	unsigned char *buf = aligned_alloc(4096, SMALL);
	double deadline;

	if (!buf)
		die(w->t, "aligned_alloc", NULL, -ENOMEM);
	memcpy(buf, wbuf, SMALL);
	pthread_barrier_wait(w->start);
	w->t0 = now();
	deadline = w->t0 + cfg.time;
	for (;;) {
		for (int i = 0; i < 32; i++, ops++) {
			off_t off = (off_t)(xorshift(&s) % nblocks) * SMALL;

			if (w->write)
				buf[0] = (unsigned char)ops;
			io_full(w->t, w->write, w->fd, buf, SMALL, off);
		}
		w->t1 = now();
		if (w->t1 >= deadline)
			break;
	}
	w->ops = ops;
	free(buf);
	return NULL;
}

/* all threads' ops over the time from the first start to the last end */
static double rand_io(const struct target *t, unsigned int nthr, bool write,
		      unsigned int rep)
{
	struct worker w[MAX_THREADS];
	pthread_barrier_t start;
	double t0 = 0, t1 = 0;
	uint64_t ops = 0;

	pthread_barrier_init(&start, NULL, nthr);
	for (unsigned int i = 0; i < nthr; i++) {
		w[i] = (struct worker){
			.start = &start, .t = t, .fd = t->fds[i], .write = write,
			/* the same sequence on every target, a new one per rep */
			.seed = cfg.seed * 1000003u + rep * 101u + i * 7u +
				(write ? 0 : 50u) + 1,
		};
		if (pthread_create(&w[i].tid, NULL, rand_worker, &w[i]))
			die(t, "pthread_create", NULL, -EAGAIN);
	}
	for (unsigned int i = 0; i < nthr; i++) {
		pthread_join(w[i].tid, NULL);
		ops += w[i].ops;
		if (!i || w[i].t0 < t0)
			t0 = w[i].t0;
		if (w[i].t1 > t1)
			t1 = w[i].t1;
	}
	pthread_barrier_destroy(&start);
	return ops / (t1 - t0);
}

/* ---- 64 KiB sequential: a new file each time, so writes allocate ------------ */

static void seq_io(struct target *t, unsigned int rep)
{
	const struct fsb_backend *be = t->be;
	uint64_t bytes = cfg.seq_mib << 20;
	char path[128];
	double t0;
	int fd;

	snprintf(path, sizeof(path), "%s/seq", work);
	fd = be->open(t->priv, path, O_CREAT | O_EXCL | O_RDWR | FSB_DIRECT, 0644);
	must(t, "create", path, fd);
	t0 = now();
	for (uint64_t off = 0; off < bytes; off += BIG)
		io_full(t, true, fd, wbuf, BIG, (off_t)off);
	t->sample[T_SW][rep] = bytes / 1048576.0 / (now() - t0);
	t0 = now();
	for (uint64_t off = 0; off < bytes; off += BIG)
		io_full(t, false, fd, wbuf, BIG, (off_t)off);
	t->sample[T_SR][rep] = bytes / 1048576.0 / (now() - t0);
	must(t, "close", path, be->close(t->priv, fd));
	must(t, "unlink", path, be->unlink(t->priv, path));
}

/* ---- create / stat / unlink in a new directory ----------------------------------- */

static void meta(struct target *t, unsigned int rep)
{
	const struct fsb_backend *be = t->be;
	char path[128];
	double t0;
	int fd;

	snprintf(path, sizeof(path), "%s/d", work);
	must(t, "mkdir", path, be->mkdir(t->priv, path, 0755));
	t0 = now();
	for (unsigned int i = 0; i < cfg.files; i++) {
		snprintf(path, sizeof(path), "%s/d/f%u", work, i);
		fd = be->open(t->priv, path, O_CREAT | O_EXCL | O_WRONLY, 0644);
		must(t, "create", path, fd);
		must(t, "close", path, be->close(t->priv, fd));
	}
	t->sample[T_CREATE][rep] = cfg.files / (now() - t0);
	t0 = now();
	for (unsigned int i = 0; i < cfg.files; i++) {
		struct stat st;

		snprintf(path, sizeof(path), "%s/d/f%u", work, i);
		must(t, "stat", path, be->stat(t->priv, path, &st));
	}
	t->sample[T_STAT][rep] = cfg.files / (now() - t0);
	t0 = now();
	for (unsigned int i = 0; i < cfg.files; i++) {
		snprintf(path, sizeof(path), "%s/d/f%u", work, i);
		must(t, "unlink", path, be->unlink(t->priv, path));
	}
	t->sample[T_UNLINK][rep] = cfg.files / (now() - t0);
	snprintf(path, sizeof(path), "%s/d", work);
	must(t, "rmdir", path, be->rmdir(t->priv, path));
}

static void run_unit(struct target *t, int unit, unsigned int rep)
{
	switch (unit) {
	case U_RW1: t->sample[T_RW1][rep] = rand_io(t, 1, true, rep); break;
	case U_RR1: t->sample[T_RR1][rep] = rand_io(t, 1, false, rep); break;
	case U_RWN:
		t->sample[T_RWN][rep] = rand_io(t, cfg.threads, true, rep);
		break;
	case U_RRN:
		t->sample[T_RRN][rep] = rand_io(t, cfg.threads, false, rep);
		break;
	case U_SEQ: seq_io(t, rep); break;
	case U_META: meta(t, rep); break;
	}
}

/* ---- targets ------------------------------------------------------------------------ */

static void target_open(struct target *t, const char *arg)
{
	const char *eq = strchr(arg, '=');
	struct stat st;

	/* NAME=SPEC, unless the '=' is part of a path */
	if (eq && eq != arg && !memchr(arg, '/', (size_t)(eq - arg))) {
		t->name = strndup(arg, (size_t)(eq - arg));
		t->spec = eq + 1;
	} else {
		t->name = t->spec = arg;
	}
	t->be = &fsb_sys_backend;
#ifdef FSBENCH_INPROC
	if (!strncmp(t->spec, "inproc:", 7)) {
		t->spec += 7;
		t->be = &fsb_inproc_backend;
	} else if (!strncmp(t->spec, "memfd:", 6) ||
		   (stat(t->spec, &st) == 0 && !S_ISDIR(st.st_mode))) {
		t->be = &fsb_inproc_backend;
	}
#else
	(void)st;
#endif
	if (!t->name || t->be->setup(t->spec, &t->info, &t->priv) < 0) {
		fprintf(stderr, PROG ": %s\n", t->info.note);
		exit(1);
	}
}

/* our directory, and the random I/O files written whole (outside timing) */
static void target_prepare(struct target *t)
{
	char path[128];

	must(t, "mkdir", work, t->be->mkdir(t->priv, work, 0755));
	for (unsigned int i = 0; i < cfg.threads; i++) {
		snprintf(path, sizeof(path), "%s/r%u", work, i);
		t->fds[i] = t->be->open(t->priv, path,
					O_CREAT | O_EXCL | O_RDWR | FSB_DIRECT,
					0644);
		must(t, "create", path, t->fds[i]);
		for (uint64_t off = 0; off < cfg.file_mib << 20; off += FILL)
			io_full(t, true, t->fds[i], wbuf, FILL, (off_t)off);
	}
}

static void target_close(struct target *t)
{
	char path[128];

	for (unsigned int i = 0; i < cfg.threads; i++) {
		snprintf(path, sizeof(path), "%s/r%u", work, i);
		must(t, "close", path, t->be->close(t->priv, t->fds[i]));
		must(t, "unlink", path, t->be->unlink(t->priv, path));
	}
	must(t, "rmdir", work, t->be->rmdir(t->priv, work));
	t->be->teardown(t->priv);
}

/* ---- output ---------------------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(const double *v, unsigned int n)
{
	double s[MAX_REPS];

	memcpy(s, v, n * sizeof(*v));
	qsort(s, n, sizeof(*s), cmp_double);
	return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

static bool test_ran(int i)
{
	return cfg.threads > 1 || (i != T_RWN && i != T_RRN);
}

/* a JSON string: our notes hold paths and strerror() text */
static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			printf("\\u%04x", (unsigned char)*s);
		else
			putchar(*s);
	}
	putchar('"');
}

static void print_json(void)
{
	printf("{\n  \"benchmark\": \"fsbench\",\n"
	       "  \"config\": {\"reps\": %u, \"threads\": %u, \"time_s\": %.2f, "
	       "\"rand_file_mib\": %" PRIu64 ", \"seq_mib\": %" PRIu64
	       ", \"files\": %u, \"seed\": %" PRIu64 "},\n  \"targets\": [\n",
	       cfg.reps, cfg.threads, cfg.time, cfg.file_mib, cfg.seq_mib,
	       cfg.files, cfg.seed);
	for (unsigned int k = 0; k < ntargets; k++) {
		const struct target *t = &targets[k];
		bool first = true;

		printf("    {\"name\": ");
		json_str(t->name);
		printf(", \"target\": ");
		json_str(t->spec);
		printf(", \"backend\": \"%s\", \"io_mode\": \"%s\", \"note\": ",
		       t->be->name, t->info.io_mode);
		json_str(t->info.note);
		printf(",\n     \"results\": [\n");
		for (int i = 0; i < T_COUNT; i++) {
			if (!test_ran(i))
				continue;
			printf("%s      {\"op\": \"%s\", \"unit\": \"%s\", "
			       "\"median\": %.1f, \"samples\": [",
			       first ? "" : ",\n", tests[i].key, tests[i].unit,
			       median(t->sample[i], cfg.reps));
			for (unsigned int r = 0; r < cfg.reps; r++)
				printf("%s%.1f", r ? ", " : "", t->sample[i][r]);
			printf("]}");
			first = false;
		}
		printf("\n     ]}%s\n", k + 1 < ntargets ? "," : "");
	}
	printf("  ]\n}\n");
}

static void print_raw(void)
{
	for (unsigned int k = 0; k < ntargets; k++) {
		const struct target *t = &targets[k];

		printf("%s info backend %s\n%s info io_mode %s\n%s info note %s\n",
		       t->name, t->be->name, t->name, t->info.io_mode, t->name,
		       t->info.note);
		for (int i = 0; i < T_COUNT; i++) {
			if (!test_ran(i))
				continue;
			for (unsigned int r = 0; r < cfg.reps; r++)
				printf("%s sample %s %s %.1f\n", t->name,
				       tests[i].key, tests[i].unit,
				       t->sample[i][r]);
		}
	}
}

static void print_table(void)
{
	printf("fsbench: %u rep(s), median; random: %" PRIu64 " MiB file per "
	       "thread, %.2f s each; seq: %" PRIu64 " MiB; %u files\n",
	       cfg.reps, cfg.file_mib, cfg.time, cfg.seq_mib, cfg.files);
	for (unsigned int k = 0; k < ntargets; k++)
		printf("  %s: %s on %s, data I/O %s%s%s\n", targets[k].name,
		       targets[k].be->name, targets[k].spec,
		       targets[k].info.io_mode,
		       targets[k].info.note[0] ? "; " : "",
		       targets[k].info.note);
	if (ntargets == 1) {
		const struct target *t = &targets[0];

		printf("%-22s %12s %12s %12s  %s\n", "operation", "median",
		       "min", "max", "unit");
		for (int i = 0; i < T_COUNT; i++) {
			double lo = t->sample[i][0], hi = lo;

			if (!test_ran(i))
				continue;
			for (unsigned int r = 1; r < cfg.reps; r++) {
				if (t->sample[i][r] < lo)
					lo = t->sample[i][r];
				if (t->sample[i][r] > hi)
					hi = t->sample[i][r];
			}
			printf("%-22s %12.1f %12.1f %12.1f  %s\n",
			       tests[i].label, median(t->sample[i], cfg.reps),
			       lo, hi, tests[i].unit);
		}
		return;
	}
	printf("%-22s %6s", "operation", "unit");
	for (unsigned int k = 0; k < ntargets; k++)
		printf(" %14.14s", targets[k].name);
	printf("\n");
	for (int i = 0; i < T_COUNT; i++) {
		if (!test_ran(i))
			continue;
		printf("%-22s %6s", tests[i].label, tests[i].unit);
		for (unsigned int k = 0; k < ntargets; k++)
			printf(" %14.1f", median(targets[k].sample[i], cfg.reps));
		printf("\n");
	}
}

/* ---- main -------------------------------------------------------------------------- */

static void usage(FILE *f)
{
	fprintf(f,
#ifdef FSBENCH_INPROC
"Usage: " PROG " [OPTION]... [NAME=]TARGET...\n"
"Run the fsbench workload on each TARGET, interleaved: a directory (system\n"
"calls there), or pmfs2 through the in-process host on an image file\n"
"(inproc:PATH forces this) or on memfd:MIB.\n"
#else
"Usage: " PROG " [OPTION]... [NAME=]DIR...\n"
"Run the fsbench workload with system calls in each DIR, interleaved.\n"
#endif
"\n"
"  -r, --reps N        repetitions of every figure (default 3, max %d)\n"
"  -t, --time SEC      duration of each 4 KiB random run (default 0.5)\n"
"  -T, --threads N     also run the random tests with N threads (default 2,\n"
"                      1: single thread only, max %d)\n"
"  -m, --file-mib N    random I/O file size per thread (default 64)\n"
"  -s, --seq-mib N     sequential file size (default 128)\n"
"  -n, --files N       files for create/stat/unlink (default 10000)\n"
"      --seed N        random offsets seed\n"
"  -q, --quiet         no progress on stderr\n"
"  -j, --json          JSON output (medians and every sample)\n"
"      --raw           one line per sample (for host-compare.sh)\n"
"  -h, --help          this help\n", MAX_REPS, MAX_THREADS);
}

static uint64_t num_arg(const char *opt, const char *s, uint64_t lo, uint64_t hi)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *end || v < lo || v > hi) {
		fprintf(stderr, PROG ": bad %s '%s' (%" PRIu64 "..%" PRIu64 ")\n",
			opt, s, lo, hi);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "reps", required_argument, NULL, 'r' },
		{ "time", required_argument, NULL, 't' },
		{ "threads", required_argument, NULL, 'T' },
		{ "file-mib", required_argument, NULL, 'm' },
		{ "seq-mib", required_argument, NULL, 's' },
		{ "files", required_argument, NULL, 'n' },
		{ "seed", required_argument, NULL, 'S' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "json", no_argument, NULL, 'j' },
		{ "raw", no_argument, NULL, 'R' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c, out = 't';
	char *end;

	while ((c = getopt_long(argc, argv, "r:t:T:m:s:n:qjh", lopts, NULL)) != -1) {
		switch (c) {
		case 'r': cfg.reps = num_arg("--reps", optarg, 1, MAX_REPS); break;
		case 't':
			cfg.time = strtod(optarg, &end);
			if (*end || !(cfg.time >= 0.01 && cfg.time <= 60)) {
				fprintf(stderr, PROG ": bad --time '%s'\n", optarg);
				return 2;
			}
			break;
		case 'T':
			cfg.threads = num_arg("--threads", optarg, 1, MAX_THREADS);
			break;
		case 'm': cfg.file_mib = num_arg("--file-mib", optarg, 1, 1 << 16); break;
		case 's': cfg.seq_mib = num_arg("--seq-mib", optarg, 1, 1 << 20); break;
		case 'n': cfg.files = num_arg("--files", optarg, 1, 10000000); break;
		case 'S': cfg.seed = num_arg("--seed", optarg, 0, UINT64_MAX); break;
		case 'q': cfg.quiet = true; break;
		case 'j': out = 'j'; break;
		case 'R': out = 'r'; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind == argc || argc - optind > MAX_TARGETS) {
		usage(stderr);
		return 2;
	}
	snprintf(key_rwn, sizeof(key_rwn), "randwrite_4k_%ut", cfg.threads);
	snprintf(key_rrn, sizeof(key_rrn), "randread_4k_%ut", cfg.threads);
	tests[T_RWN].key = key_rwn;
	tests[T_RRN].key = key_rrn;
	snprintf(tests[T_RWN].label, sizeof(tests[T_RWN].label),
		 "4K rand write, %u thr", cfg.threads);
	snprintf(tests[T_RRN].label, sizeof(tests[T_RRN].label),
		 "4K rand read, %u thr", cfg.threads);

	wbuf = aligned_alloc(4096, FILL);
	if (!wbuf) {
		fprintf(stderr, PROG ": out of memory\n");
		return 1;
	}
	for (unsigned int i = 0; i < FILL; i++)
		wbuf[i] = (unsigned char)(i * 7 + 1);
	snprintf(work, sizeof(work), "fsbench.%ld", (long)getpid());

	for (int i = optind; i < argc; i++)
		target_open(&targets[ntargets++], argv[i]);
	for (unsigned int k = 0; k < ntargets; k++)
		target_prepare(&targets[k]);

	for (unsigned int r = 0; r < cfg.reps; r++) {
		if (!cfg.quiet)
			fprintf(stderr, PROG ": repetition %u/%u\n", r + 1,
				cfg.reps);
		for (int u = 0; u < U_COUNT; u++) {
			if (cfg.threads == 1 && (u == U_RWN || u == U_RRN))
				continue;
			for (unsigned int k = 0; k < ntargets; k++)
				run_unit(&targets[(r + (unsigned int)u + k) %
						  ntargets], u, r);
		}
	}

	for (unsigned int k = 0; k < ntargets; k++)
		target_close(&targets[k]);

	if (out == 'j')
		print_json();
	else if (out == 'r')
		print_raw();
	else
		print_table();
	free(wbuf);
	return 0;
}
