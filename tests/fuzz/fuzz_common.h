/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_common.h - the small, valid, deterministic pmfs2 images the fuzz
 * targets corrupt, shared with the seed corpus generator.
 */
#ifndef TESTS_FUZZ_COMMON_H
#define TESTS_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <zufs/zus.h>

#define FUZZ_IMAGE_SIZE	(2u << 20)
#define FUZZ_DIR_NAMES	300

/* A formatted image with a few files, links, symlinks, xattrs and a
 * directory /big of FUZZ_DIR_NAMES entries ("name-N"); 0 or -errno. */
int fuzz_build_image(const struct zus_fs_type *fst, void *img);

/* Byte ranges of img the targets overwrite with their input */
struct fuzz_region {
	uint64_t off[64];	/* block-sized pieces, in order */
	unsigned int n;
};
/* the inode table */
int fuzz_itable_region(const void *img, struct fuzz_region *r);
/* the index blocks of directory /big (head, buckets) */
int fuzz_dir_region(const struct zus_fs_type *fst, void *img,
		    struct fuzz_region *r);

/* Copy data over the region (block by block), as much as there is. */
void fuzz_apply(void *img, const struct fuzz_region *r, const uint8_t *data,
		size_t size);
/* Read the region out (the seed). */
size_t fuzz_extract(const void *img, const struct fuzz_region *r,
		    uint8_t *out, size_t max);

/* Mount img, look at everything through the SDK, unmount: must not crash. */
void fuzz_exercise(const struct zus_fs_type *fst, void *img,
		   const uint8_t *data, size_t size);

#endif /* TESTS_FUZZ_COMMON_H */
