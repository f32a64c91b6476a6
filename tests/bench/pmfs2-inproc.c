// SPDX-License-Identifier: BSD-2-Clause
/*
 * pmfs2-inproc - microbenchmark of pmfs2 through the in-process host, beside
 * plain memcpy of the same sizes into the same mapping (the floor).
 *
 *   pmfs2-inproc [--json] [--size MiB]
 *
 * The plugin is linked in (its `zus_plugin`) and the pmem is a memfd, so the
 * figures are the filesystem's own cost, without a transport.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "inproc.h"
#include "pmem_map.h"
#include "pmfs2_lib.h"

extern const struct zus_plugin zus_plugin;

#define SMALL		4096
#define BIG		(64 * 1024)
#define SMALL_FILE	(16u << 20)	/* 4 KiB ops cycle over this */
#define NFILES		20000

struct result {
	const char *name;
	const char *unit;	/* "ns/op" or "MiB/s" */
	double fs, floor;	/* floor: memcpy, 0 if none */
	uint64_t ops;
};

static struct result res[8];
static int nres;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what, long err)
{
	fprintf(stderr, "pmfs2-inproc: %s: %s\n", what, strerror((int)-err));
	exit(1);
}

#define TRY(what, expr) do {					\
		long _r = (long)(expr);				\
		if (_r < 0)					\
			die(what, _r);				\
	} while (0)

static void add(const char *name, const char *unit, double fs, uint64_t ops)
{
	res[nres++] = (struct result){ name, unit, fs, 0, ops };
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "size", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 },
	};
	struct pmfs2_mkfs_opts mo = { .dev_hint = "memfd" };
	uint64_t size_mib = 512, big_bytes, iters;
	const struct zus_fs_type *fst;
	struct zus_pmem_map map;
	struct zus_inproc *h;
	unsigned char *buf;
	bool json = false;
	char err[512], path[64];
	double t;
	int c, fd;

	while ((c = getopt_long(argc, argv, "js:", lopts, NULL)) != -1) {
		switch (c) {
		case 'j': json = true; break;
		case 's': size_mib = strtoull(optarg, NULL, 0); break;
		default:
			fprintf(stderr, "usage: pmfs2-inproc [--json] [--size MiB]\n");
			return 2;
		}
	}
	if (size_mib < 128)
		size_mib = 128;
	big_bytes = (size_mib / 4) << 20;
	buf = aligned_alloc(4096, BIG);
	if (!buf)
		return 1;
	for (int i = 0; i < BIG; i++)
		buf[i] = (unsigned char)(i * 7 + 1);
	if (zus_plugin.init)
		TRY("plugin init", zus_plugin.init());
	fst = zus_plugin.fs_types[0];
	if (zus_pmem_map_memfd(size_mib << 20, &map, err, sizeof(err))) {
		fprintf(stderr, "pmfs2-inproc: %s\n", err);
		return 1;
	}
	/* fault every page in now: no run below pays for page faults */
	memset(map.pmem.base, 0, map.pmem.size);
	if (pmfs2_format(&map.pmem, &mo, err, sizeof(err))) {
		fprintf(stderr, "pmfs2-inproc: %s\n", err);
		return 1;
	}
	TRY("mount", zus_inproc_mount(fst, &map.pmem, NULL, &h));

	/* 4 KiB overwrite and read of a preallocated 16 MiB file */
	fd = zus_inproc_open(h, "/small", O_CREAT | O_RDWR, 0644);
	TRY("open", fd);
	for (uint64_t off = 0; off < SMALL_FILE; off += BIG)
		TRY("prefill", zus_inproc_pwrite(h, fd, buf, BIG, off));
	iters = 4 * (SMALL_FILE / SMALL);
	t = now();
	for (uint64_t i = 0; i < iters; i++)
		TRY("write 4K", zus_inproc_pwrite(h, fd, buf, SMALL,
						  (i * SMALL) % SMALL_FILE));
	add("write 4 KiB", "ns/op", (now() - t) * 1e9 / iters, iters);
	t = now();
	for (uint64_t i = 0; i < iters; i++)
		TRY("read 4K", zus_inproc_pread(h, fd, buf, SMALL,
						(i * SMALL) % SMALL_FILE));
	add("read 4 KiB", "ns/op", (now() - t) * 1e9 / iters, iters);
	TRY("close", zus_inproc_close(h, fd));

	/* 64 KiB sequential write (allocating) and read */
	fd = zus_inproc_open(h, "/big", O_CREAT | O_RDWR, 0644);
	TRY("open", fd);
	t = now();
	for (uint64_t off = 0; off < big_bytes; off += BIG)
		TRY("write 64K", zus_inproc_pwrite(h, fd, buf, BIG, off));
	add("seq write 64 KiB", "MiB/s", big_bytes / 1048576.0 / (now() - t),
	    big_bytes / BIG);
	t = now();
	for (uint64_t off = 0; off < big_bytes; off += BIG)
		TRY("read 64K", zus_inproc_pread(h, fd, buf, BIG, off));
	add("seq read 64 KiB", "MiB/s", big_bytes / 1048576.0 / (now() - t),
	    big_bytes / BIG);
	TRY("close", zus_inproc_close(h, fd));
	TRY("unlink", zus_inproc_unlink(h, "/big"));

	/* namespace: create, stat, unlink of NFILES files in one directory */
	TRY("mkdir", zus_inproc_mkdir(h, "/d", 0755));
	t = now();
	for (int i = 0; i < NFILES; i++) {
		snprintf(path, sizeof(path), "/d/f%d", i);
		fd = zus_inproc_open(h, path, O_CREAT | O_EXCL | O_WRONLY, 0644);
		TRY("create", fd);
		TRY("close", zus_inproc_close(h, fd));
	}
	add("create", "ns/op", (now() - t) * 1e9 / NFILES, NFILES);
	t = now();
	for (int i = 0; i < NFILES; i++) {
		struct stat st;

		snprintf(path, sizeof(path), "/d/f%d", i);
		TRY("stat", zus_inproc_stat(h, path, &st));
	}
	add("stat", "ns/op", (now() - t) * 1e9 / NFILES, NFILES);
	t = now();
	for (int i = 0; i < NFILES; i++) {
		snprintf(path, sizeof(path), "/d/f%d", i);
		TRY("unlink", zus_inproc_unlink(h, path));
	}
	add("unlink", "ns/op", (now() - t) * 1e9 / NFILES, NFILES);
	zus_inproc_umount(h);

	/* the floor: memcpy of the same sizes into the same mapping */
	{
		unsigned char *pm = map.pmem.base;
		uint64_t win = SMALL_FILE, base = (size_mib << 20) / 2;

		t = now();
		for (uint64_t i = 0; i < iters; i++)
			memcpy(pm + base + (i * SMALL) % win, buf, SMALL);
		res[0].floor = (now() - t) * 1e9 / iters;
		t = now();
		for (uint64_t i = 0; i < iters; i++)
			memcpy(buf, pm + base + (i * SMALL) % win, SMALL);
		__asm__ volatile("" : : "r"(buf) : "memory");
		res[1].floor = (now() - t) * 1e9 / iters;
		base = 0;
		t = now();
		for (uint64_t off = 0; off < big_bytes; off += BIG)
			memcpy(pm + base + off, buf, BIG);
		res[2].floor = big_bytes / 1048576.0 / (now() - t);
		t = now();
		for (uint64_t off = 0; off < big_bytes; off += BIG)
			memcpy(buf, pm + base + off, BIG);
		__asm__ volatile("" : : "r"(buf) : "memory");
		res[3].floor = big_bytes / 1048576.0 / (now() - t);
	}
	zus_pmem_map_close(&map);

	if (json) {
		printf("{\n  \"benchmark\": \"pmfs2-inproc\",\n  \"pmem\": \"memfd\",\n"
		       "  \"pmem_mib\": %" PRIu64 ",\n  \"flush\": \"%s\",\n  \"results\": [\n",
		       size_mib, zus_pmem_flush_name());
		for (int i = 0; i < nres; i++) {
			const struct result *r = &res[i];

			printf("    {\"op\": \"%s\", \"unit\": \"%s\", \"pmfs2\": %.1f, "
			       "\"ops\": %" PRIu64, r->name, r->unit, r->fs, r->ops);
			if (r->floor)
				printf(", \"memcpy\": %.1f, \"ratio\": %.2f",
				       r->floor, !strcmp(r->unit, "ns/op") ?
				       r->fs / r->floor : r->floor / r->fs);
			printf("}%s\n", i + 1 < nres ? "," : "");
		}
		printf("  ]\n}\n");
	} else {
		printf("pmfs2 in-process, pmem = memfd (%" PRIu64 " MiB), flush %s\n",
		       size_mib, zus_pmem_flush_name());
		printf("%-18s %12s %12s %10s %s\n", "operation", "pmfs2", "memcpy",
		       "ratio", "");
		for (int i = 0; i < nres; i++) {
			const struct result *r = &res[i];

			if (r->floor)
				printf("%-18s %12.1f %12.1f %9.2fx %s\n", r->name,
				       r->fs, r->floor, !strcmp(r->unit, "ns/op") ?
				       r->fs / r->floor : r->floor / r->fs, r->unit);
			else
				printf("%-18s %12.1f %12s %10s %s\n", r->name,
				       r->fs, "-", "-", r->unit);
		}
		printf("(ratio: how many times slower than memcpy)\n");
	}
	free(buf);
	return 0;
}
