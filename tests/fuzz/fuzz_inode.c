// SPDX-License-Identifier: BSD-2-Clause
/*
 * fuzz_inode.c - inode and block-map parsing: the input overwrites the inode
 * table of a valid image; pmfs2_check, then mount + getattr/read/readlink/
 * readdir of every inode and a few changes.
 */
#include "fuzz_target.h"

static struct fuzz_region region;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_setup();
	if (fuzz_itable_region(fuzz_base, &region))
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	memcpy(fuzz_img, fuzz_base, FUZZ_IMAGE_SIZE);
	fuzz_apply(fuzz_img, &region, data, size);
	fuzz_exercise(fuzz_fst, fuzz_img, NULL, 0);
	return 0;
}
