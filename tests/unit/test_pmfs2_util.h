/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_pmfs2_util.h - helpers for the pmfs2 plugin unit tests: an image in
 * anonymous memory wrapped in a struct zus_sb, mounted through the ops
 * table, plus fsck and power-cut snapshots at every fence.
 */
#ifndef TEST_PMFS2_UTIL_H
#define TEST_PMFS2_UTIL_H

#include <check.h>
#include <string.h>

#include "pmfs2.h"

struct pend;

struct tfs {
	struct zus_sb sb;
	const struct zus_fs_ops *ops;
	size_t size;
	bool mounted;
	int nerrlog;		/* ZUS_LOG_ERR messages seen */
	char lastlog[512];
	/* power-cut snapshots at every fence, when enabled */
	bool snap;
	unsigned int nsnaps, capsnaps;
	void **snaps;
	void *shadow;		/* what survives a power cut now */
	struct pend **pending;	/* flushed, not yet fenced */
	size_t npending, cappending;
};

extern const struct zus_fs_ops pmfs2_ops;

/* size bytes of anonymous memory, formatted with `inodes` (0: default). */
void tfs_init(struct tfs *t, size_t size, uint64_t inodes);
void tfs_fini(struct tfs *t);
int tfs_mount(struct tfs *t);
void tfs_umount(struct tfs *t);
/* umount + mount, asserting success */
void tfs_cycle(struct tfs *t);
/* fsck the (unmounted) image without repair: number of problems */
unsigned int tfs_fsck(struct tfs *t);
/* Mount an image copy in a fresh tfs (for snapshots). */
void tfs_init_copy(struct tfs *t, const void *img, size_t size);

/* From now on, keep the image that survives a cut at each fence. */
void tfs_snap_start(struct tfs *t);
void tfs_snap_stop(struct tfs *t);
void tfs_snap_free(struct tfs *t);

uint64_t tfs_root(struct tfs *t);
uint64_t tfs_create(struct tfs *t, uint64_t dir, const char *name);
uint64_t tfs_mkdir(struct tfs *t, uint64_t dir, const char *name);
/* lookup: ino or -errno */
int64_t tfs_lookup(struct tfs *t, uint64_t dir, const char *name);
struct zus_attr tfs_stat(struct tfs *t, uint64_t ino);
void tfs_write(struct tfs *t, uint64_t ino, uint64_t off, const void *buf,
	       size_t len);
void tfs_fill(void *buf, size_t len, unsigned int seed);
uint64_t tfs_bfree(struct tfs *t);

#endif
