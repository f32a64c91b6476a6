// SPDX-License-Identifier: BSD-2-Clause
/*
 * fuzz_super.c - the superblock parser: pmfs2_super_validate on the input,
 * then the input as the primary (and backup) superblock of a valid image:
 * pmfs2_super_load, pmfs2_check and a mount that looks at everything.
 */
#include "fuzz_target.h"
#include "pmfs2_lib.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_setup();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct pmfs2_super s;
	struct zus_pmem pm = { .base = fuzz_img, .size = FUZZ_IMAGE_SIZE };
	char err[256];
	bool backup;
	size_t n = size < sizeof(s) ? size : sizeof(s);

	memset(&s, 0, sizeof(s));
	memcpy(&s, data, n);
	pmfs2_super_validate(&s, FUZZ_IMAGE_SIZE, err, sizeof(err));
	pmfs2_super_validate(&s, size * 4096, err, sizeof(err));

	memcpy(fuzz_img, fuzz_base, FUZZ_IMAGE_SIZE);
	/* block 0 from the input; past 4096 bytes the input is the backup */
	memcpy(fuzz_img, data, size < 4096 ? size : 4096);
	if (size > 4096)
		memcpy((char *)fuzz_img + 4096, data + 4096,
		       size - 4096 < 4096 ? size - 4096 : 4096);
	if (pmfs2_super_load(&pm, &s, &backup, err, sizeof(err)))
		return 0;
	fuzz_exercise(fuzz_fst, fuzz_img, data, size);
	return 0;
}
