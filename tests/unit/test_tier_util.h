/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_tier_util.h - helpers for the tiering tests: a pmfs2 image with one
 * tier device, backed by a file (the real "sync"/"uring" backends) or by
 * memory (memtier, a test double that models a device with a volatile
 * write cache: a write is durable only once flushed), mounted through the
 * ops table; verifiable file contents; fsck.
 */
#ifndef TEST_TIER_UTIL_H
#define TEST_TIER_UTIL_H

#include <check.h>
#include <string.h>

#include "pmfs2.h"
#include "pmfs2_tier_format.h"

/*
 * memtier: bytes written by submit() reach `work`; they reach `durable`
 * (what survives a power cut) when the double flushes: at the end of every
 * submit() that wrote, as the backend contract demands, unless
 * durable_on_submit is false (a broken backend, to show the crash test
 * catches it), and on flush().
 */
struct memtier {
	uint8_t *work, *durable;
	uint64_t size;
	bool durable_on_submit;
	uint64_t submits, writes, flushes;
};
extern const struct zus_tier_backend memtier_backend;
void memtier_init(struct memtier *m, uint64_t size);
void memtier_copy(struct memtier *dst, const struct memtier *src,
		  bool durable_only);
void memtier_fini(struct memtier *m);

struct tt {
	struct zus_sb sb;
	struct zus_tier_dev dev;
	struct memtier mt;		/* memory-backed tier */
	bool file_backed;
	char path[256];			/* file-backed tier */
	char devname[64];
	char opts[160];
	uint8_t fs_uuid[16], tier_uuid[16];
	uint64_t tier_size;
	int nerrlog;
	char errlog[2048];		/* ZUS_LOG_ERR messages, appended */
	bool mounted;
};

/* Format pm with a tier of tier_size bytes (header written too) and fill
 * t->sb; be NULL means memtier.  The pmem mapping is the caller's. */
void tt_setup(struct tt *t, const struct zus_pmem *pm, uint64_t tier_size,
	      const struct zus_tier_backend *be, const char *opts);
/* The same filesystem, another pmem image and tier (crash images). */
void tt_setup_like(struct tt *t, const struct tt *like,
		   const struct zus_pmem *pm, const struct memtier *tier);
void tt_cleanup(struct tt *t);
int tt_mount(struct tt *t);
void tt_umount(struct tt *t);
static inline struct pmfs2_sbi *tt_sbi(struct tt *t)
{
	return PMFS2_SBI(&t->sb);
}
/* fsck of the unmounted pmem image: problems found */
unsigned int tt_fsck(struct tt *t);

/* Anonymous memory for a pmem image. */
struct zus_pmem tt_pmem_new(size_t size);
void tt_pmem_free(struct zus_pmem *pm);

/* Deterministic contents: byte at offset off of a file with seed s. */
void tt_pattern(void *buf, size_t len, uint64_t seed, uint64_t off);
uint64_t tt_create(struct tt *t, const char *name);
int64_t tt_lookup(struct tt *t, const char *name);
/* write len bytes of the pattern at off, in chunk-sized calls */
void tt_write_pat(struct tt *t, uint64_t ino, uint64_t seed, uint64_t off,
		  uint64_t len, size_t chunk);
/* 0 when [off, off + len) holds the pattern, else the first bad offset + 1 */
uint64_t tt_check_pat(struct tt *t, uint64_t ino, uint64_t seed, uint64_t off,
		      uint64_t len, size_t chunk);
/* Logical blocks of ino on the tier / on pmem. */
void tt_where(struct tt *t, uint64_t ino, uint64_t *tier, uint64_t *pmem);
struct zus_tier_status tt_status(struct tt *t);

#endif
