/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pmem_sim.h - a power-cut simulator for pmem, built on struct zus_pmem_hooks.
 *
 * The filesystem runs on a working image in DRAM (pmem_sim_pmem()).  Every
 * flush snapshots the flushed cache lines as pending; every fence makes the
 * pending snapshots durable (the bytes as they were at flush time, not the
 * live ones).  A test picks a cut point, the Nth fence: just before that fence
 * takes effect, the cut callback runs and may build crash images: the durable
 * image plus a random subset of the 8-byte words in which the working image
 * differs from it (stores that were not flushed and fenced may be lost, and
 * are torn at 8-byte granularity).
 *
 * Single-threaded: the hooks keep no locks.
 */
#ifndef TESTS_PMEM_SIM_H
#define TESTS_PMEM_SIM_H

#include <stddef.h>
#include <stdint.h>
#include <zufs/zus_pmem.h>

struct pmem_sim;

typedef void (*pmem_sim_cut_fn)(struct pmem_sim *ps, uint64_t fence,
				void *ctx);

/* size: bytes, a multiple of 4096.  The working image starts zeroed and
 * durable. */
struct pmem_sim *pmem_sim_new(size_t size);
void pmem_sim_free(struct pmem_sim *ps);

/* The pmem to mount: base is the working image, hooks installed. */
const struct zus_pmem *pmem_sim_pmem(struct pmem_sim *ps);
/* The same working image without hooks (e.g. for a format that should not
 * be traced); call pmem_sim_sync() after. */
struct zus_pmem pmem_sim_raw(struct pmem_sim *ps);

/* Declare everything durable: durable := working, pending dropped. */
void pmem_sim_sync(struct pmem_sim *ps);

/* Fences seen since creation. */
uint64_t pmem_sim_fences(const struct pmem_sim *ps);

/* Call fn just before fence number `fence` (1-based, see pmem_sim_fences()
 * + 1 for the next one) takes effect; 0 disarms.  One cut at a time. */
void pmem_sim_set_cut(struct pmem_sim *ps, uint64_t fence, pmem_sim_cut_fn fn,
		      void *ctx);

/*
 * Build a crash image into out (size bytes): the durable image plus each
 * differing 8-byte word of the working image with probability keep/65536
 * (0: only what was fenced, 65536: everything the CPU had stored).
 * rng: xorshift64 state.  Returns the number of differing words.
 */
size_t pmem_sim_crash_image(const struct pmem_sim *ps, void *out,
			    uint32_t keep, uint64_t *rng);

/*
 * Describe where the working image differs from the durable one: up to max
 * "block N: W words" items (4 KiB blocks), for failure messages.  Returns the
 * number of differing blocks.
 */
size_t pmem_sim_diff_summary(const struct pmem_sim *ps, char *buf, size_t len,
			     unsigned int max);

/* Statistics, for messages */
struct pmem_sim_stats {
	uint64_t fences, flushes, lines_flushed, bytes_applied;
};
void pmem_sim_get_stats(const struct pmem_sim *ps, struct pmem_sim_stats *st);

#endif /* TESTS_PMEM_SIM_H */
