// SPDX-License-Identifier: BSD-2-Clause
/*
 * gen_corpus.c - writes the seed corpora of the fuzz targets:
 *   gen-corpus DIR   ->  DIR/super/, DIR/inode/, DIR/dir/
 * The seeds are the valid structures of the fuzz targets' base image (and a
 * few variants), so mutations start from what pmfs2 really writes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz_common.h"
#include "plugin.h"
#include "pmfs2_lib.h"

static void put(const char *dir, const char *sub, const char *name,
		const void *data, size_t len)
{
	char path[1024];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", dir, sub);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/%s/%s", dir, sub, name);
	fp = fopen(path, "w");
	if (!fp || fwrite(data, 1, len, fp) != len) {
		perror(path);
		exit(1);
	}
	fclose(fp);
}

int main(int argc, char **argv)
{
	static uint8_t buf[64 * 4096];
	struct zus_loaded_plugin lp;
	const struct zus_fs_type *fst;
	struct fuzz_region r;
	char err[512];
	void *img;
	size_t n;

	if (argc != 2) {
		fprintf(stderr, "usage: gen-corpus DIR\n");
		return 2;
	}
	mkdir(argv[1], 0755);
	if (zus_plugin_load("pmfs2", &lp, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	fst = zus_plugin_find_fs(&lp, 1, "pmfs2");
	img = aligned_alloc(4096, FUZZ_IMAGE_SIZE);
	if (!fst || !img || fuzz_build_image(fst, img)) {
		fprintf(stderr, "gen-corpus: cannot build the image\n");
		return 1;
	}
	/* superblocks: primary, primary + backup, a truncated one */
	put(argv[1], "super", "primary", img, 4096);
	put(argv[1], "super", "both", img, 8192);
	put(argv[1], "super", "short", img, 200);
	memcpy(buf, img, 4096);
	memset(buf, 0, 8);	/* bad magic: the backup must be used */
	memcpy(buf + 4096, (char *)img + 4096, 4096);
	put(argv[1], "super", "bad-primary", buf, 8192);

	if (fuzz_itable_region(img, &r))
		return 1;
	n = fuzz_extract(img, &r, buf, sizeof(buf));
	put(argv[1], "inode", "itable", buf, n);
	put(argv[1], "inode", "itable-first", buf, 4096);

	if (fuzz_dir_region(fst, img, &r))
		return 1;
	n = fuzz_extract(img, &r, buf, sizeof(buf));
	put(argv[1], "dir", "big", buf, n);
	put(argv[1], "dir", "head", buf, 4096);
	printf("gen-corpus: seeds in %s (dir index: %u blocks)\n", argv[1], r.n);
	free(img);
	zus_plugin_unload(&lp);
	return 0;
}
