// SPDX-License-Identifier: BSD-2-Clause
/*
 * fuzz_dir.c - the directory parser: the input overwrites the index blocks
 * (head and buckets) of directory /big of a valid image; mount, readdir,
 * lookups (of known names and of the input), changes, and pmfs2_check.
 */
#include "fuzz_target.h"

static struct fuzz_region region;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_setup();
	if (fuzz_dir_region(fuzz_fst, fuzz_base, &region))
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	memcpy(fuzz_img, fuzz_base, FUZZ_IMAGE_SIZE);
	fuzz_apply(fuzz_img, &region, data, size);
	fuzz_exercise(fuzz_fst, fuzz_img, data, size);
	return 0;
}
