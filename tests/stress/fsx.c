// SPDX-License-Identifier: BSD-2-Clause
/*
 * fsx.c - a file system exerciser in the manner of fsx: random reads,
 * writes, truncates, fallocate modes, mmap reads and writes and O_DIRECT
 * I/O on one file, each checked against a copy kept in memory.
 *
 *   fsx [-S SEED] [-N OPS] [-t SECONDS] [-l MAXLEN] [-q] FILE
 *
 * The same seed replays the same operations.  After every operation the
 * size is checked, every read is compared with the copy, and every 100
 * operations (and at the end) the whole file is.  On a mismatch it prints
 * the seed, the operation number and the last operations, and exits 1.
 * Operations the filesystem does not support (EOPNOTSUPP, EINVAL for
 * O_DIRECT) are turned off, with a note.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/falloc.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define BLK		4096u
#define HISTORY		32

enum op {
	OP_READ, OP_WRITE, OP_TRUNCATE, OP_FALLOC, OP_PUNCH, OP_ZERO,
	OP_ZERO_KEEP, OP_COLLAPSE, OP_INSERT, OP_MAPREAD, OP_MAPWRITE,
	OP_DREAD, OP_DWRITE, OP_FSYNC, OP_REOPEN, OP_NR
};

static const char *const op_name[OP_NR] = {
	"read", "write", "truncate", "fallocate", "punch_hole", "zero_range",
	"zero_range_keep_size", "collapse_range", "insert_range", "mmap_read",
	"mmap_write", "direct_read", "direct_write", "fsync", "reopen",
};

/* relative frequencies */
static const unsigned int op_weight[OP_NR] = {
	20, 20, 4, 3, 3, 3, 3, 2, 2, 8, 8, 4, 4, 2, 1,
};

struct hist {
	uint64_t n;
	enum op op;
	uint64_t off, len, size_after;
};

static struct {
	const char *path;
	int fd, dfd;
	unsigned char *good, *buf;	/* the copy, a scratch buffer */
	void *dbuf;			/* aligned, for O_DIRECT */
	uint64_t size, maxlen, n;
	uint64_t rng;
	bool off[OP_NR];
	bool quiet;
	unsigned long count[OP_NR];
	struct hist hist[HISTORY];
} fx;

static uint64_t rnd(void)	/* splitmix64: a seed replays */
{
	uint64_t z = (fx.rng += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint64_t below(uint64_t n)
{
	return n ? rnd() % n : 0;
}

static void history(void)
{
	fprintf(stderr, "fsx: last operations (newest last):\n");
	for (unsigned int i = 0; i < HISTORY; i++) {
		const struct hist *h = &fx.hist[(fx.n + 1 + i) % HISTORY];

		if (!h->n)
			continue;
		fprintf(stderr, "  %8" PRIu64 " %-20s off %#10" PRIx64
			" len %#8" PRIx64 " -> size %#" PRIx64 "\n", h->n,
			op_name[h->op], h->off, h->len, h->size_after);
	}
}

__attribute__((format(printf, 1, 2), noreturn))
static void fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "fsx: %s: operation %" PRIu64 ": ", fx.path, fx.n);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	history();
	exit(1);
}

static void note_off(enum op op, int err)
{
	if (!fx.off[op] && !fx.quiet)
		printf("fsx: %s not supported here (%s): turned off\n",
		       op_name[op], strerrorname_np(err));
	fx.off[op] = true;
}

static void check_size(void)
{
	struct stat st;

	if (fstat(fx.fd, &st))
		fail("fstat: %s", strerror(errno));
	if ((uint64_t)st.st_size != fx.size)
		fail("size is %" PRIu64 ", expected %" PRIu64,
		     (uint64_t)st.st_size, fx.size);
}

static void compare(const unsigned char *got, uint64_t off, uint64_t len,
		    const char *how)
{
	for (uint64_t i = 0; i < len; i++)
		if (got[i] != fx.good[off + i])
			fail("%s: byte %#" PRIx64 " is 0x%02x, expected 0x%02x",
			     how, off + i, got[i], fx.good[off + i]);
}

/* the copy grows (with zeros) or shrinks to size */
static void resize(uint64_t size)
{
	if (size > fx.size)
		memset(fx.good + fx.size, 0, size - fx.size);
	fx.size = size;
}

static void fill(unsigned char *p, uint64_t len)
{
	uint64_t seed = rnd();

	for (uint64_t i = 0; i < len; i++)
		p[i] = (unsigned char)((seed + i * 0x9e37) >> 3) | 1;
}

static void full_check(void)
{
	ssize_t r;

	check_size();
	r = pread(fx.fd, fx.buf, fx.size, 0);
	if (r < 0 || (uint64_t)r != fx.size)
		fail("full read: %zd of %" PRIu64 " (%s)", r, fx.size,
		     r < 0 ? strerror(errno) : "short");
	compare(fx.buf, 0, fx.size, "full read");
}

static void do_read(uint64_t off, uint64_t len)
{
	ssize_t r = pread(fx.fd, fx.buf, len, off);
	uint64_t want = off >= fx.size ? 0 :
			(off + len > fx.size ? fx.size - off : len);

	if (r < 0 || (uint64_t)r != want)
		fail("read %#" PRIx64 "+%#" PRIx64 ": %zd, expected %" PRIu64
		     " (%s)", off, len, r, want, r < 0 ? strerror(errno) : "");
	compare(fx.buf, off, want, "read");
}

static void do_write(uint64_t off, uint64_t len)
{
	ssize_t r;

	fill(fx.buf, len);
	r = pwrite(fx.fd, fx.buf, len, off);
	if (r < 0 || (uint64_t)r != len)
		fail("write %#" PRIx64 "+%#" PRIx64 ": %zd (%s)", off, len, r,
		     r < 0 ? strerror(errno) : "short");
	if (off + len > fx.size)
		resize(off + len);
	memcpy(fx.good + off, fx.buf, len);
}

static void do_truncate(uint64_t size)
{
	if (ftruncate(fx.fd, size))
		fail("ftruncate %#" PRIx64 ": %s", size, strerror(errno));
	if (size < fx.size)
		fx.size = size;
	else
		resize(size);
}

/* fallocate; false when the mode is not supported */
static bool do_falloc(enum op op, int mode, uint64_t off, uint64_t len)
{
	if (fallocate(fx.fd, mode, off, len)) {
		if (errno == EOPNOTSUPP ||
		    ((op == OP_COLLAPSE || op == OP_INSERT) && errno == EINVAL &&
		     (off % BLK || len % BLK))) {
			note_off(op, errno);
			return false;
		}
		fail("fallocate(%s) %#" PRIx64 "+%#" PRIx64 ": %s",
		     op_name[op], off, len, strerror(errno));
	}
	switch (op) {
	case OP_FALLOC:
		if (!(mode & FALLOC_FL_KEEP_SIZE) && off + len > fx.size)
			resize(off + len);
		break;
	case OP_PUNCH:
		if (off < fx.size)
			memset(fx.good + off, 0,
			       (off + len > fx.size ? fx.size : off + len) - off);
		break;
	case OP_ZERO:
	case OP_ZERO_KEEP:
		if (op == OP_ZERO && off + len > fx.size)
			resize(off + len);
		if (off < fx.size)
			memset(fx.good + off, 0,
			       (off + len > fx.size ? fx.size : off + len) - off);
		break;
	case OP_COLLAPSE:
		memmove(fx.good + off, fx.good + off + len,
			fx.size - off - len);
		fx.size -= len;
		break;
	case OP_INSERT:
		memmove(fx.good + off + len, fx.good + off, fx.size - off);
		memset(fx.good + off, 0, len);
		fx.size += len;
		break;
	default:
		break;
	}
	return true;
}

static void do_mmap(bool write, uint64_t off, uint64_t len)
{
	uint64_t start = off & ~(uint64_t)(BLK - 1);
	unsigned char *m;

	m = mmap(NULL, off + len - start, PROT_READ | (write ? PROT_WRITE : 0),
		 MAP_SHARED, fx.fd, start);
	if (m == MAP_FAILED) {
		if (errno == ENODEV || errno == EOPNOTSUPP) {
			note_off(write ? OP_MAPWRITE : OP_MAPREAD, errno);
			return;
		}
		fail("mmap %#" PRIx64 "+%#" PRIx64 ": %s", start,
		     off + len - start, strerror(errno));
	}
	if (write) {
		fill(fx.buf, len);
		memcpy(m + (off - start), fx.buf, len);
		memcpy(fx.good + off, fx.buf, len);
		if (msync(m, off + len - start, MS_SYNC))
			fail("msync: %s", strerror(errno));
	} else {
		compare(m + (off - start), off, len, "mmap read");
	}
	munmap(m, off + len - start);
}

static void do_direct(bool write, uint64_t off, uint64_t len)
{
	ssize_t r;

	if (write) {
		fill(fx.dbuf, len);
		r = pwrite(fx.dfd, fx.dbuf, len, off);
		if (r < 0 || (uint64_t)r != len)
			fail("direct write %#" PRIx64 "+%#" PRIx64 ": %zd (%s)",
			     off, len, r, r < 0 ? strerror(errno) : "short");
		if (off + len > fx.size)
			resize(off + len);
		memcpy(fx.good + off, fx.dbuf, len);
		return;
	}
	r = pread(fx.dfd, fx.dbuf, len, off);
	if (r < 0 || (uint64_t)r != len)
		fail("direct read %#" PRIx64 "+%#" PRIx64 ": %zd (%s)", off,
		     len, r, r < 0 ? strerror(errno) : "short");
	compare(fx.dbuf, off, len, "direct read");
}

static void open_file(bool first)
{
	fx.fd = open(fx.path, O_RDWR | O_CREAT | (first ? O_TRUNC : 0), 0644);
	if (fx.fd < 0)
		fail("open: %s", strerror(errno));
	fx.dfd = open(fx.path, O_RDWR | O_DIRECT);
	if (fx.dfd < 0) {
		if (errno != EINVAL && errno != EOPNOTSUPP)
			fail("open O_DIRECT: %s", strerror(errno));
		note_off(OP_DREAD, errno);
		note_off(OP_DWRITE, errno);
	}
}

static void close_file(void)
{
	if (close(fx.fd))
		fail("close: %s", strerror(errno));
	if (fx.dfd >= 0 && close(fx.dfd))
		fail("close O_DIRECT: %s", strerror(errno));
	fx.dfd = -1;
}

static enum op pick(void)
{
	unsigned int total = 0, r;
	int i;

	for (i = 0; i < OP_NR; i++)
		total += fx.off[i] ? 0 : op_weight[i];
	r = (unsigned int)below(total);
	for (i = 0; i < OP_NR; i++) {
		if (fx.off[i])
			continue;
		if (r < op_weight[i])
			return (enum op)i;
		r -= op_weight[i];
	}
	return OP_READ;
}

/* one random operation; false if it was skipped (nothing to do) */
static bool one(void)
{
	enum op op = pick();
	uint64_t off = below(fx.maxlen), len = 1 + below(fx.maxlen / 4);
	uint64_t blocks = fx.maxlen / BLK;

	if (off + len > fx.maxlen)
		len = fx.maxlen - off;
	switch (op) {
	case OP_READ:
		do_read(off, len);
		break;
	case OP_WRITE:
		do_write(off, len);
		break;
	case OP_TRUNCATE:
		do_truncate(below(fx.maxlen + 1));
		break;
	case OP_FALLOC:
		do_falloc(op, (rnd() & 1) ? FALLOC_FL_KEEP_SIZE : 0, off, len);
		break;
	case OP_PUNCH:
		do_falloc(op, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off,
			  len);
		break;
	case OP_ZERO:
		do_falloc(op, FALLOC_FL_ZERO_RANGE, off, len);
		break;
	case OP_ZERO_KEEP:
		do_falloc(op, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, off,
			  len);
		break;
	case OP_COLLAPSE:
		/* block aligned, wholly inside the file, not to its end */
		if (fx.size < 2 * BLK)
			return false;
		off = below(fx.size / BLK - 1) * BLK;
		len = (1 + below((fx.size - off) / BLK - 1)) * BLK;
		if (off + len >= fx.size)
			return false;
		do_falloc(op, FALLOC_FL_COLLAPSE_RANGE, off, len);
		break;
	case OP_INSERT:
		off = below(fx.size / BLK + 1) * BLK;
		len = (1 + below(blocks / 8 + 1)) * BLK;
		if (off >= fx.size || fx.size + len > fx.maxlen)
			return false;
		do_falloc(op, FALLOC_FL_INSERT_RANGE, off, len);
		break;
	case OP_MAPREAD:
	case OP_MAPWRITE:
		if (!fx.size)
			return false;
		off = below(fx.size);
		len = 1 + below(fx.size - off);
		do_mmap(op == OP_MAPWRITE, off, len);
		break;
	case OP_DREAD:
		off = below(fx.size / BLK + 1) * BLK;
		len = (1 + below(4)) * BLK;
		if (off + len > fx.size)
			return false;
		do_direct(false, off, len);
		break;
	case OP_DWRITE:
		off = below(blocks) * BLK;
		len = (1 + below(4)) * BLK;
		if (off + len > fx.maxlen)
			return false;
		do_direct(true, off, len);
		break;
	case OP_FSYNC:
		if (fsync(fx.fd))
			fail("fsync: %s", strerror(errno));
		break;
	case OP_REOPEN:
		close_file();
		open_file(false);
		break;
	case OP_NR:
		break;
	}
	if (!fx.off[op])
		fx.count[op]++;
	fx.hist[fx.n % HISTORY] = (struct hist){ fx.n, op, off, len, fx.size };
	return true;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: fsx [-S SEED] [-N OPS] [-t SECONDS] [-l MAXLEN] [-q] FILE\n"
		"  -S  seed (default: from the clock; printed)\n"
		"  -N  operations (default 10000; 0: until -t)\n"
		"  -t  stop after this many seconds\n"
		"  -l  largest file size (default 1 MiB, a multiple of 4 KiB)\n"
		"  -q  print only failures and the summary\n");
	exit(2);
}

int main(int argc, char **argv)
{
	uint64_t ops = 10000, seed = (uint64_t)time(NULL) ^ (uint64_t)getpid();
	uint64_t done = 0;
	double secs = 0;
	struct timespec t0, t;
	int c;

	fx.maxlen = 1 << 20;
	while ((c = getopt(argc, argv, "S:N:t:l:q")) != -1) {
		switch (c) {
		case 'S':
			seed = strtoull(optarg, NULL, 0);
			break;
		case 'N':
			ops = strtoull(optarg, NULL, 0);
			break;
		case 't':
			secs = strtod(optarg, NULL);
			break;
		case 'l':
			fx.maxlen = strtoull(optarg, NULL, 0);
			break;
		case 'q':
			fx.quiet = true;
			break;
		default:
			usage();
		}
	}
	if (argc - optind != 1 || fx.maxlen < 4 * BLK || fx.maxlen % BLK ||
	    (!ops && secs <= 0))
		usage();
	fx.path = argv[optind];
	fx.rng = seed;
	fx.good = malloc(fx.maxlen);
	fx.buf = malloc(fx.maxlen);
	if (!fx.good || !fx.buf || posix_memalign(&fx.dbuf, BLK, 4 * BLK)) {
		fprintf(stderr, "fsx: out of memory\n");
		return 2;
	}
	printf("fsx: %s, seed %" PRIu64 ", max size %" PRIu64 "\n", fx.path,
	       seed, fx.maxlen);
	fflush(stdout);
	open_file(true);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (fx.n = 1; !ops || fx.n <= ops; fx.n++) {
		if (!one()) {
			fx.n--;
			continue;
		}
		done = fx.n;
		check_size();
		if (fx.n % 100 == 0) {
			full_check();
			clock_gettime(CLOCK_MONOTONIC, &t);
			if (secs > 0 && (double)(t.tv_sec - t0.tv_sec) +
			    (double)(t.tv_nsec - t0.tv_nsec) / 1e9 >= secs)
				break;
		}
	}
	full_check();
	close_file();
	clock_gettime(CLOCK_MONOTONIC, &t);
	printf("fsx: %" PRIu64 " operations in %.1f s, seed %" PRIu64
	       ", all checked:", done,
	       (double)(t.tv_sec - t0.tv_sec) +
	       (double)(t.tv_nsec - t0.tv_nsec) / 1e9, seed);
	for (int i = 0; i < OP_NR; i++)
		if (fx.count[i])
			printf(" %s %lu", op_name[i], fx.count[i]);
	printf("\n");
	return 0;
}
