/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_target.h - what every libFuzzer target here shares: the plugin
 * linked in (its `zus_plugin`), the base image built once.
 */
#ifndef TESTS_FUZZ_TARGET_H
#define TESTS_FUZZ_TARGET_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"

extern const struct zus_plugin zus_plugin;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct zus_fs_type *fuzz_fst;
static void *fuzz_base, *fuzz_img;

static void fuzz_setup(void)
{
	int ret;

	if (zus_plugin.init && zus_plugin.init())
		abort();
	fuzz_fst = zus_plugin.fs_types[0];
	fuzz_base = aligned_alloc(4096, FUZZ_IMAGE_SIZE);
	fuzz_img = aligned_alloc(4096, FUZZ_IMAGE_SIZE);
	if (!fuzz_base || !fuzz_img)
		abort();
	ret = fuzz_build_image(fuzz_fst, fuzz_base);
	if (ret) {
		fprintf(stderr, "fuzz: cannot build the base image: %d\n", ret);
		abort();
	}
}

#endif /* TESTS_FUZZ_TARGET_H */
