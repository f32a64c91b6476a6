// SPDX-License-Identifier: BSD-2-Clause
/*
 * zus-inproc-run - mount a pmfs2 image in-process and run a verifying
 * workload through the plugin SDK: a directory tree, files of several sizes
 * with checksums read back and verified, renames, hard links, symlinks,
 * xattrs, truncates, a remount that must preserve everything, unlinks, statfs
 * and a final fsck.  Exits non-zero on the first mismatch.
 *
 *   zus-inproc-run [--plugin NAME|PATH] [--mkfs SIZE] [--seed N]
 *                  [--tier PATH]... [--tier-backend uring|sync] IMAGE
 *
 * --tier gives the filesystem its tier device (as zusd's -o tier=PATH: the
 * tier plugin is loaded and its backend picked, see tier_host.h); with
 * --mkfs the tier files or devices, which must exist, are formatted too.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "inproc.h"
#include "plugin.h"
#include "pmem_map.h"
#include "pmfs2_lib.h"
#include "pmfs2_tier_format.h"
#include "tier_host.h"

#define NDIRS	4
#define NFILES	12

static const struct zus_fs_type *fst;
static struct zus_pmem_map map;
static struct zus_inproc *h;
static uint64_t seed = 1;
static struct zusd_tier tier;

struct rfile {
	char path[128];
	uint64_t size;
	uint64_t sum;
	uint64_t fill;		/* content seed */
	uint64_t hole;		/* sparse: data starts here */
};

static struct rfile files[NFILES];
static uint64_t sizes[NFILES] = { 0, 1, 100, 4095, 4096, 4097, 65536,
				  65536 + 4096 + 17, 1 << 20, 3 << 20,
				  (1 << 20) + 513, 8 << 20 };

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2),
						       noreturn));
static void fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "zus-inproc-run: FAIL: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

#define TRY(expr) do {							\
		long long _r = (long long)(expr);			\
		if (_r < 0)						\
			fail("%s:%d: %s = %s", __FILE__, __LINE__, #expr, \
			     strerror((int)-_r));			\
	} while (0)

#define EXPECT(cond, ...) do {						\
		if (!(cond))						\
			fail(__VA_ARGS__);				\
	} while (0)

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double t0;

static void phase(const char *name)
{
	t0 = now();
	printf("  %-34s", name);
	fflush(stdout);
}

static void done(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void done(const char *fmt, ...)
{
	va_list ap;

	printf("%9.2f ms  ", (now() - t0) * 1e3);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

static uint64_t xorshift(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

/* Content of byte i of a file filled with seed fill. */
static void gen(uint64_t fill, uint64_t off, unsigned char *buf, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		uint64_t x = (off + i) / 8 * 0x9e3779b97f4a7c15ull ^ fill;

		x ^= x >> 29;
		x *= 0xbf58476d1ce4e5b9ull;
		x ^= x >> 32;
		buf[i] = (unsigned char)(x >> (((off + i) & 7) * 8));
	}
}

static uint64_t fnv(uint64_t h64, const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h64 = (h64 ^ p[i]) * 0x100000001b3ull;
	return h64;
}

#define CHUNK (256 * 1024)
static unsigned char wbuf[CHUNK], rbuf[CHUNK];

static uint64_t write_file(struct rfile *f)
{
	uint64_t sum = 0xcbf29ce484222325ull, off;
	int fd;

	fd = zus_inproc_open(h, f->path, O_CREAT | O_EXCL | O_WRONLY, 0644);
	TRY(fd);
	for (off = 0; off < f->size; off += CHUNK) {
		size_t n = f->size - off < CHUNK ? f->size - off : CHUNK;

		if (off + n <= f->hole) {
			memset(wbuf, 0, n);
		} else {
			gen(f->fill, off, wbuf, n);
			if (off < f->hole)
				memset(wbuf, 0, f->hole - off);
			ssize_t w = zus_inproc_pwrite(h, fd, wbuf, n, off);

			TRY(w);
			EXPECT((size_t)w == n, "%s: short write %zd of %zu",
			       f->path, w, n);
		}
		sum = fnv(sum, wbuf, n);
	}
	if (f->hole >= f->size && f->size)
		TRY(zus_inproc_ftruncate(h, fd, f->size));
	TRY(zus_inproc_close(h, fd));
	return sum;
}

static void verify_file(const char *path, const struct rfile *f)
{
	uint64_t sum = 0xcbf29ce484222325ull, off;
	struct stat st;
	int fd;

	fd = zus_inproc_open(h, path, O_RDONLY, 0);
	TRY(fd);
	TRY(zus_inproc_fstat(h, fd, &st));
	EXPECT((uint64_t)st.st_size == f->size, "%s: size %lld, expected %" PRIu64,
	       path, (long long)st.st_size, f->size);
	for (off = 0; off < f->size; off += CHUNK) {
		size_t n = f->size - off < CHUNK ? f->size - off : CHUNK;
		ssize_t r = zus_inproc_pread(h, fd, rbuf, n, off);

		TRY(r);
		EXPECT((size_t)r == n, "%s: short read %zd of %zu at %" PRIu64,
		       path, r, n, off);
		sum = fnv(sum, rbuf, n);
	}
	/* reading at EOF returns 0 */
	EXPECT(zus_inproc_pread(h, fd, rbuf, 16, f->size) == 0,
	       "%s: read past EOF returned data", path);
	TRY(zus_inproc_close(h, fd));
	EXPECT(sum == f->sum, "%s: checksum %016" PRIx64 ", expected %016" PRIx64,
	       path, sum, f->sum);
}

static void verify_all(void)
{
	for (int i = 0; i < NFILES; i++)
		verify_file(files[i].path, &files[i]);
}

static void do_mount(const char *image)
{
	struct zus_inproc_opts o = {
		.dev_path = image,
		.options = tier.options,
		.ntier = tier.be ? tier.ndev : 0,
		.tier = tier.dev,
		.tier_backend = tier.be,
	};

	TRY(zus_inproc_mount(fst, &map.pmem, &o, &h));
}

static void usage(void)
{
	fprintf(stderr,
		"usage: zus-inproc-run [--plugin NAME|PATH] [--mkfs SIZE[KMG]] [--seed N]\n"
		"                      [--tier PATH]... [--tier-backend uring|sync] IMAGE\n"
		"  mounts the pmfs2 IMAGE in-process and runs a verifying workload;\n"
		"  --tier: its tier device (formatted too with --mkfs: it must exist)\n");
	exit(2);
}

/* Append ",KEY=VAL" to the option string *opts. */
static void opt_add(char **opts, const char *key, const char *val)
{
	char *n;

	if (asprintf(&n, "%s%s%s=%s", *opts ? *opts : "", *opts ? "," : "",
		     key, val) < 0)
		fail("out of memory");
	free(*opts);
	*opts = n;
}

/* mkfs with tiers: a header on each tier, then the superblock naming them. */
static void mkfs_tiers(const char *image)
{
	uint8_t fs_uuid[16], tier_uuid[ZUSD_TIER_MAX][16];
	uint64_t tier_size[ZUSD_TIER_MAX];
	const char *hint[ZUSD_TIER_MAX];
	struct pmfs2_mkfs_opts mo = { .dev_hint = image, .uuid = fs_uuid };
	static uint8_t blk[PMFS2_BLOCK_SIZE] __attribute__((aligned(4096)));
	char err[512];

	EXPECT(getrandom(fs_uuid, sizeof(fs_uuid), 0) == sizeof(fs_uuid),
	       "getrandom: %s", strerror(errno));
	for (unsigned int i = 0; i < tier.ndev; i++) {
		struct stat st;

		EXPECT(stat(tier.dev[i].path, &st) == 0 && S_ISREG(st.st_mode),
		       "--mkfs --tier %s: the tier must be an existing file",
		       tier.dev[i].path);
		EXPECT(st.st_size >= 2 * PMFS2_BLOCK_SIZE, "tier %s is too small",
		       tier.dev[i].path);
		EXPECT(getrandom(tier_uuid[i], 16, 0) == 16, "getrandom: %s",
		       strerror(errno));
		tier_size[i] = (uint64_t)st.st_size &
			       ~(uint64_t)(PMFS2_BLOCK_SIZE - 1);
		hint[i] = tier.dev[i].path;
	}
	mo.ntier = tier.ndev;
	mo.tier_uuid = (const uint8_t (*)[16])tier_uuid;
	mo.tier_size = tier_size;
	mo.tier_hint = hint;
	for (unsigned int i = 0; i < tier.ndev; i++) {
		struct pmfs2_tier_header hdr;
		int fd = open(tier.dev[i].path, O_WRONLY | O_CLOEXEC);

		EXPECT(fd >= 0, "%s: %s", tier.dev[i].path, strerror(errno));
		pmfs2_tier_header_init(&hdr, i + 1, fs_uuid, tier_uuid[i],
				       tier_size[i], pmfs2_now());
		memset(blk, 0, sizeof(blk));
		memcpy(blk, &hdr, sizeof(hdr));
		EXPECT(pwrite(fd, blk, sizeof(blk), 0) == (ssize_t)sizeof(blk) &&
		       fsync(fd) == 0, "%s: cannot write the tier header: %s",
		       tier.dev[i].path, strerror(errno));
		close(fd);
	}
	if (pmfs2_format(&map.pmem, &mo, err, sizeof(err)))
		fail("mkfs: %s", err);
}

static uint64_t parse_size(const char *s)
{
	char *end;
	uint64_t v = strtoull(s, &end, 0);

	switch (*end) {
	case 'k': case 'K': v <<= 10; break;
	case 'm': case 'M': v <<= 20; break;
	case 'g': case 'G': v <<= 30; break;
	case '\0': break;
	default: usage();
	}
	return v;
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "plugin", required_argument, NULL, 'p' },
		{ "mkfs", required_argument, NULL, 'm' },
		{ "seed", required_argument, NULL, 's' },
		{ "tier", required_argument, NULL, 't' },
		{ "tier-backend", required_argument, NULL, 'b' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *plugin = "pmfs2", *image, *slash;
	char *tier_opts = NULL, dir[512] = "";
	struct zus_loaded_plugin lp;
	struct zus_statfs sf0, sf1, sf2;
	struct pmfs2_check_result cr;
	struct pmfs2_check_opts co = { 0 };
	uint64_t mkfs_size = 0, total = 0, rng;
	char err[512], path[256], buf[256];
	double start = now(), t;
	struct stat st, st2;
	int c, fd;
	ssize_t n;

	while ((c = getopt_long(argc, argv, "p:m:s:t:b:h", lopts, NULL)) != -1) {
		switch (c) {
		case 'p': plugin = optarg; break;
		case 't': opt_add(&tier_opts, "tier", optarg); break;
		case 'b': opt_add(&tier_opts, "tier_backend", optarg); break;
		case 'm': mkfs_size = parse_size(optarg); break;
		case 's': seed = strtoull(optarg, NULL, 0); break;
		default: usage();
		}
	}
	if (optind != argc - 1)
		usage();
	image = argv[optind];
	rng = seed | 1;

	if (zus_plugin_load(plugin, &lp, err, sizeof(err)))
		fail("%s", err);
	fst = zus_plugin_find_fs(&lp, 1, "pmfs2");
	EXPECT(fst, "plugin %s serves no pmfs2 fs type", lp.path);
	slash = strrchr(lp.path, '/');
	if (slash && (size_t)(slash - lp.path) < sizeof(dir))
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - lp.path),
			 lp.path);
	if (zusd_tier_open(&tier, tier_opts, dir, err, sizeof(err)))
		fail("%s", err);
	free(tier_opts);
	for (unsigned int i = 0; i < tier.ndev; i++)
		printf("  tier %s via the %s backend%s\n", tier.dev[i].path,
		       tier.be->name, tier.fell_back ? " (no io_uring)" : "");
	printf("zus-inproc-run: plugin %s, image %s, seed %" PRIu64 ", flush %s\n",
	       lp.path, image, seed, zus_pmem_flush_name());

	if (mkfs_size) {
		fd = open(image, O_RDWR | O_CREAT | O_TRUNC, 0644);
		EXPECT(fd >= 0, "%s: %s", image, strerror(errno));
		EXPECT(ftruncate(fd, (off_t)mkfs_size) == 0, "%s: %s", image,
		       strerror(errno));
		close(fd);
	}
	if (zus_pmem_map_open(image, false, &map, err, sizeof(err)))
		fail("%s", err);
	printf("  mapped %" PRIu64 " MiB (%s)\n", map.pmem.size >> 20,
	       map.dax ? "MAP_SYNC, real pmem" : "MAP_SHARED, emulated pmem");
	if (mkfs_size) {
		struct pmfs2_mkfs_opts mo = { .dev_hint = image };

		phase("mkfs");
		if (tier.ndev)
			mkfs_tiers(image);
		else if (pmfs2_format(&map.pmem, &mo, err, sizeof(err)))
			fail("mkfs: %s", err);
		done("%" PRIu64 " bytes, %u tier(s)", map.pmem.size, tier.ndev);
	}

	phase("mount");
	do_mount(image);
	TRY(zus_inproc_statfs(h, &sf0));
	done("%" PRIu64 " blocks free, %" PRIu64 " inodes free", sf0.bfree,
	     sf0.ffree);

	/* scale the data to a quarter of the free space */
	for (int i = 0; i < NFILES; i++) {
		if (total + sizes[i] > sf0.bfree * sf0.bsize / 4)
			sizes[i] = (sizes[i] & 4095) + 4096;
		total += sizes[i];
	}

	phase("mkdir tree");
	TRY(zus_inproc_mkdir(h, "/run", 0755));
	for (int i = 0; i < NDIRS; i++) {
		snprintf(path, sizeof(path), "/run/d%d", i);
		TRY(zus_inproc_mkdir(h, path, 0755));
		for (int j = 0; j < NDIRS; j++) {
			snprintf(path, sizeof(path), "/run/d%d/s%d", i, j);
			TRY(zus_inproc_mkdir(h, path, 0750));
		}
	}
	TRY(zus_inproc_stat(h, "/run", &st));
	EXPECT(st.st_nlink == 2 + NDIRS, "/run: nlink %lu, expected %d",
	       (unsigned long)st.st_nlink, 2 + NDIRS);
	done("%d directories", 1 + NDIRS + NDIRS * NDIRS);

	phase("write files");
	total = 0;
	for (int i = 0; i < NFILES; i++) {
		struct rfile *f = &files[i];

		snprintf(f->path, sizeof(f->path), "/run/d%d/s%d/f%d", i % NDIRS,
			 (i / NDIRS) % NDIRS, i);
		f->size = sizes[i];
		f->fill = xorshift(&rng);
		/* every third large file is sparse in its first half */
		f->hole = (i % 3 == 2 && f->size > 65536) ?
			  (f->size / 2) & ~4095ull : 0;
		f->sum = write_file(f);
		total += f->size;
	}
	t = now() - t0;
	done("%d files, %.1f MiB, %.0f MiB/s", NFILES, total / 1048576.0,
	     total / 1048576.0 / t);

	phase("read back and verify");
	verify_all();
	t = now() - t0;
	done("%.0f MiB/s", total / 1048576.0 / t);

	phase("rename");
	for (int i = 0; i < NFILES; i += 2) {
		snprintf(path, sizeof(path), "/run/d%d/moved%d",
			 (i + 1) % NDIRS, i);
		TRY(zus_inproc_rename(h, files[i].path, path, 0));
		EXPECT(zus_inproc_stat(h, files[i].path, &st) == -ENOENT,
		       "%s still exists after rename", files[i].path);
		strcpy(files[i].path, path);
	}
	/* a directory rename, and a replace */
	TRY(zus_inproc_rename(h, "/run/d3/s3", "/run/d0/s3moved", 0));
	for (int i = 0; i < NFILES; i++) {
		if (!strncmp(files[i].path, "/run/d3/s3/", 11)) {
			snprintf(path, sizeof(path), "/run/d0/s3moved/%s",
				 files[i].path + 11);
			strcpy(files[i].path, path);
		}
	}
	EXPECT(zus_inproc_rename(h, "/run/d0", "/run/d0/s0/x", 0) == -EINVAL,
	       "rename into own subdirectory not refused");
	EXPECT(zus_inproc_rename(h, files[1].path, files[3].path,
				 ZUS_RENAME_NOREPLACE) == -EEXIST,
	       "RENAME_NOREPLACE over an existing file not refused");
	TRY(zus_inproc_rename(h, files[1].path, files[3].path,
			      ZUS_RENAME_EXCHANGE));
	{
		struct rfile tmp = files[1];

		strcpy(tmp.path, files[3].path);
		strcpy(files[3].path, files[1].path);
		files[1] = tmp;
	}
	verify_all();
	done("%d renames, verified", NFILES / 2 + 2);

	phase("hard links");
	for (int i = 0; i < NFILES; i += 3) {
		snprintf(path, sizeof(path), "/run/link%d", i);
		TRY(zus_inproc_link(h, files[i].path, path));
		TRY(zus_inproc_stat(h, files[i].path, &st));
		TRY(zus_inproc_stat(h, path, &st2));
		EXPECT(st.st_ino == st2.st_ino && st.st_nlink == 2,
		       "%s: link: ino %lu/%lu nlink %lu", path,
		       (unsigned long)st.st_ino, (unsigned long)st2.st_ino,
		       (unsigned long)st.st_nlink);
		verify_file(path, &files[i]);
	}
	EXPECT(zus_inproc_link(h, "/run/d1", "/run/dlink") == -EPERM,
	       "hard link to a directory not refused");
	done("%d links, verified", (NFILES + 2) / 3);

	phase("symlinks");
	for (int i = 0; i < NFILES; i += 4) {
		char target[200];

		snprintf(path, sizeof(path), "/run/sym%d", i);
		TRY(zus_inproc_symlink(h, files[i].path, path));
		n = zus_inproc_readlink(h, path, target, sizeof(target));
		TRY(n);
		EXPECT((size_t)n == strlen(files[i].path) &&
		       !memcmp(target, files[i].path, n),
		       "%s: readlink mismatch", path);
		verify_file(path, &files[i]);
		TRY(zus_inproc_lstat(h, path, &st));
		EXPECT(S_ISLNK(st.st_mode), "%s: lstat is not a symlink", path);
	}
	/* a long target (out of line) and a loop */
	memset(buf, 'x', 200);
	buf[0] = '/';
	buf[200] = '\0';
	TRY(zus_inproc_symlink(h, buf, "/run/longsym"));
	n = zus_inproc_readlink(h, "/run/longsym", path, sizeof(path));
	EXPECT(n == 200 && !memcmp(path, buf, 200), "long symlink mismatch");
	TRY(zus_inproc_symlink(h, "loop2", "/run/loop1"));
	TRY(zus_inproc_symlink(h, "loop1", "/run/loop2"));
	EXPECT(zus_inproc_stat(h, "/run/loop1", &st) == -ELOOP,
	       "symlink loop not detected");
	done("%d symlinks, verified", (NFILES + 3) / 4 + 3);

	phase("xattrs");
	for (int i = 0; i < NFILES; i++) {
		for (int j = 0; j < 4; j++) {
			char name[32], val[64];
			int vl = snprintf(val, sizeof(val), "v%d.%d.%" PRIx64, i,
					  j, files[i].fill);

			snprintf(name, sizeof(name), "user.k%d", j);
			TRY(zus_inproc_setxattr(h, files[i].path, name, val, vl,
						ZUS_XATTR_CREATE));
		}
	}
	for (int i = 0; i < NFILES; i++) {
		char name[32], val[64], got[64], list[256];
		int vl;

		for (int j = 0; j < 4; j++) {
			vl = snprintf(val, sizeof(val), "v%d.%d.%" PRIx64, i, j,
				      files[i].fill);
			snprintf(name, sizeof(name), "user.k%d", j);
			n = zus_inproc_getxattr(h, files[i].path, name, got,
						sizeof(got));
			TRY(n);
			EXPECT(n == vl && !memcmp(got, val, vl),
			       "%s: xattr %s mismatch", files[i].path, name);
		}
		TRY(zus_inproc_removexattr(h, files[i].path, "user.k1"));
		EXPECT(zus_inproc_getxattr(h, files[i].path, "user.k1", got,
					   sizeof(got)) == -ENODATA,
		       "%s: removed xattr still there", files[i].path);
		n = zus_inproc_listxattr(h, files[i].path, list, sizeof(list));
		EXPECT(n == 3 * 8, "%s: listxattr returned %zd, expected 24",
		       files[i].path, n);
	}
	done("%d set, %d verified, %d removed", NFILES * 4, NFILES * 4, NFILES);

	phase("truncate");
	for (int i = 0; i < NFILES; i++) {
		struct rfile *f = &files[i];
		uint64_t nsz = f->size / 3;

		if (i % 2) {
			/* shrink, then grow back: the tail reads as zeros */
			TRY(zus_inproc_truncate(h, f->path, (off_t)nsz));
			TRY(zus_inproc_truncate(h, f->path, (off_t)nsz + 5000));
			fd = zus_inproc_open(h, f->path, O_RDONLY, 0);
			TRY(fd);
			n = zus_inproc_pread(h, fd, rbuf, 5000, nsz);
			TRY(n);
			EXPECT(n == 5000, "%s: short read after truncate", f->path);
			for (int k = 0; k < 5000; k++)
				EXPECT(!rbuf[k], "%s: byte %" PRIu64 " not zero after truncate",
				       f->path, nsz + k);
			TRY(zus_inproc_close(h, fd));
			TRY(zus_inproc_truncate(h, f->path, (off_t)nsz));
			/* recompute the checksum of the prefix */
			f->sum = 0xcbf29ce484222325ull;
			for (uint64_t off = 0; off < nsz; off += CHUNK) {
				size_t m = nsz - off < CHUNK ? nsz - off : CHUNK;

				gen(f->fill, off, wbuf, m);
				if (off < f->hole)
					memset(wbuf, 0, f->hole - off < m ?
					       f->hole - off : m);
				f->sum = fnv(f->sum, wbuf, m);
			}
			f->size = nsz;
		}
	}
	verify_all();
	done("%d files truncated, verified", NFILES / 2);

	phase("umount, remount, verify");
	zus_inproc_umount(h);
	h = NULL;
	TRY(zus_pmem_map_sync(&map));
	do_mount(image);
	verify_all();
	TRY(zus_inproc_getxattr(h, files[0].path, "user.k3", buf, sizeof(buf)));
	TRY(zus_inproc_stat(h, "/run/link0", &st));
	EXPECT(st.st_nlink == 2, "/run/link0: nlink %lu after remount",
	       (unsigned long)st.st_nlink);
	done("all data, links and xattrs survived");

	phase("unlink an open file");
	TRY(zus_inproc_statfs(h, &sf1));
	fd = zus_inproc_open(h, files[NFILES - 1].path, O_RDONLY, 0);
	TRY(fd);
	TRY(zus_inproc_unlink(h, files[NFILES - 1].path));
	EXPECT(zus_inproc_stat(h, files[NFILES - 1].path, &st) == -ENOENT,
	       "unlinked file still visible");
	n = zus_inproc_pread(h, fd, rbuf, 1, 0);
	EXPECT(n == (files[NFILES - 1].size ? 1 : 0),
	       "open unlinked file not readable: %zd", n);
	TRY(zus_inproc_statfs(h, &sf2));
	EXPECT(sf2.ffree == sf1.ffree, "inode freed while still open");
	TRY(zus_inproc_close(h, fd));
	TRY(zus_inproc_statfs(h, &sf2));
	EXPECT(sf2.ffree == sf1.ffree + 1,
	       "inode not freed at last close: ffree %" PRIu64 " -> %" PRIu64,
	       sf1.ffree, sf2.ffree);
	done("freed at last close");

	phase("unlink everything");
	{
		static const char *const junk[] = {
			"/run/longsym", "/run/loop1", "/run/loop2",
		};

		for (int i = 0; i < NFILES - 1; i++)
			TRY(zus_inproc_unlink(h, files[i].path));
		for (int i = 0; i < NFILES; i += 3) {
			snprintf(path, sizeof(path), "/run/link%d", i);
			if (i == NFILES - 1)
				continue;
			TRY(zus_inproc_unlink(h, path));
		}
		for (int i = 0; i < NFILES; i += 4) {
			snprintf(path, sizeof(path), "/run/sym%d", i);
			TRY(zus_inproc_unlink(h, path));
		}
		for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++)
			TRY(zus_inproc_unlink(h, junk[i]));
		EXPECT(zus_inproc_rmdir(h, "/run") == -ENOTEMPTY,
		       "rmdir of a non-empty directory not refused");
		TRY(zus_inproc_rmdir(h, "/run/d0/s3moved"));
		for (int i = 0; i < NDIRS; i++) {
			for (int j = 0; j < NDIRS; j++) {
				if (i == 3 && j == 3)
					continue;
				snprintf(path, sizeof(path), "/run/d%d/s%d", i, j);
				TRY(zus_inproc_rmdir(h, path));
			}
			snprintf(path, sizeof(path), "/run/d%d", i);
			TRY(zus_inproc_rmdir(h, path));
		}
		TRY(zus_inproc_rmdir(h, "/run"));
	}
	done("tree removed");

	phase("statfs");
	TRY(zus_inproc_statfs(h, &sf2));
	EXPECT(sf2.ffree == sf0.ffree, "inodes leaked: ffree %" PRIu64
	       " at start, %" PRIu64 " at end", sf0.ffree, sf2.ffree);
	done("%" PRIu64 "/%" PRIu64 " blocks free (%" PRId64 " vs start), %" PRIu64
	     " inodes free", sf2.bfree, sf2.blocks,
	     (int64_t)(sf2.bfree - sf0.bfree), sf2.ffree);

	phase("umount and fsck");
	zus_inproc_umount(h);
	co.verbose = false;
	TRY(pmfs2_check(&map.pmem, &co, &cr));
	EXPECT(cr.errors == 0, "fsck found %u errors after the run", cr.errors);
	done("clean, %" PRIu64 " inodes, %" PRIu64 " blocks used",
	     cr.inodes_used, cr.blocks_used);

	zus_pmem_map_close(&map);
	zusd_tier_release(&tier);
	zus_plugin_unload(&lp);
	printf("zus-inproc-run: OK (%.2f s)\n", now() - start);
	return 0;
}
