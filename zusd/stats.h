/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * stats.h - per-mount operation counters for every zusd transport.
 *
 * One struct zusd_stats per mount.  A transport brackets each operation:
 *
 *	uint64_t t0 = zusd_stats_clock();
 *	r = ops->read(sb, ino, buf, len, off);
 *	zusd_stats_done(m->stats, ZUSD_OP_READ, t0, r > 0 ? r : 0, r < 0 ? r : 0);
 *
 * Recording takes no lock and allocates nothing: each thread owns a slot
 * (a small integer, taken on its first record and given back when it
 * exits) and writes only its own shard of the counters, so an update is a
 * few plain stores on a cache line no other thread writes.  A thread's
 * shard of a mount is allocated once, at its first record on that mount.
 * Readers (zusd_stats_snapshot) sum the shards with relaxed atomic loads:
 * each counter is exact, but the counters of one snapshot may be a few
 * operations apart from each other while updates are running.
 *
 * Latency histogram: ZUSD_STATS_BUCKETS log2 buckets in nanoseconds.
 * Bucket 0 holds [0, 2) ns, bucket b (b >= 1) holds [2^b, 2^(b+1)) ns and
 * the last bucket everything from 2^(ZUSD_STATS_BUCKETS-1) ns (~39 h) up.
 * The same layout is what org.zufs.Manager1.GetStats returns.
 */
#ifndef ZUSD_STATS_H
#define ZUSD_STATS_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#define ZUSD_STATS_BUCKETS	48

/* Operation types, transport-neutral (names: zusd_op_name()). */
enum zusd_op {
	ZUSD_OP_MOUNT,
	ZUSD_OP_UMOUNT,
	ZUSD_OP_REMOUNT,
	ZUSD_OP_STATFS,
	ZUSD_OP_SYNC,
	ZUSD_OP_LOOKUP,
	ZUSD_OP_CREATE,
	ZUSD_OP_MKDIR,
	ZUSD_OP_SYMLINK,
	ZUSD_OP_LINK,
	ZUSD_OP_UNLINK,
	ZUSD_OP_RMDIR,
	ZUSD_OP_RENAME,
	ZUSD_OP_TMPFILE,
	ZUSD_OP_READLINK,
	ZUSD_OP_READDIR,
	ZUSD_OP_GETATTR,
	ZUSD_OP_SETATTR,
	ZUSD_OP_EVICT,
	ZUSD_OP_OPEN,
	ZUSD_OP_RELEASE,
	ZUSD_OP_READ,
	ZUSD_OP_WRITE,
	ZUSD_OP_GET_EXTENTS,
	ZUSD_OP_FALLOCATE,
	ZUSD_OP_LSEEK,
	ZUSD_OP_FSYNC,
	ZUSD_OP_GETXATTR,
	ZUSD_OP_SETXATTR,
	ZUSD_OP_LISTXATTR,
	ZUSD_OP_REMOVEXATTR,
	ZUSD_OP_OTHER,
	ZUSD_OP_COUNT
};

/* Most threads that can record without sharing a shard; any further
 * thread records into one shared shard with atomic adds (still lock-free). */
#define ZUSD_STATS_MAX_SLOTS	1024

struct zusd_stats;

/* Summed counters of one operation type. */
struct zusd_op_stats {
	uint64_t count;		/* operations completed */
	uint64_t errors;	/* of which failed */
	uint64_t bytes;		/* data moved (read, write, ...) */
	uint64_t total_ns;	/* sum of latencies */
	uint64_t max_ns;	/* largest latency */
	uint64_t hist[ZUSD_STATS_BUCKETS];
};

struct zusd_stats_snapshot {
	struct zusd_op_stats op[ZUSD_OP_COUNT];
};

/* NULL on allocation failure. */
struct zusd_stats *zusd_stats_new(void);
/* No thread may record into s any more. */
void zusd_stats_free(struct zusd_stats *s);

/*
 * Count one operation: latency ns, bytes of data moved, err 0 or -errno
 * (< 0 counts an error).  s may be NULL (no stats: nothing happens).
 */
void zusd_stats_record(struct zusd_stats *s, enum zusd_op op, uint64_t ns,
		       uint64_t bytes, int err);

static inline uint64_t zusd_stats_clock(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Record an operation started at t0 = zusd_stats_clock(). */
static inline void zusd_stats_done(struct zusd_stats *s, enum zusd_op op,
				   uint64_t t0, uint64_t bytes, int err)
{
	if (s)
		zusd_stats_record(s, op, zusd_stats_clock() - t0, bytes, err);
}

/* Sum every shard of s into *out (overwritten).  Safe while recording. */
void zusd_stats_snapshot(struct zusd_stats *s, struct zusd_stats_snapshot *out);
/* dst += src (max of the maxima). */
void zusd_stats_merge(struct zusd_stats_snapshot *dst,
		      const struct zusd_stats_snapshot *src);

/* The histogram bucket of a latency, and the largest latency in bucket b. */
unsigned int zusd_stats_bucket(uint64_t ns);
uint64_t zusd_stats_bucket_max(unsigned int b);
/*
 * The latency under which pct percent (0 < pct <= 100) of the operations
 * completed, from the histogram: the top of the bucket holding that rank,
 * never above max_ns.  0 if o->count is 0.
 */
uint64_t zusd_stats_percentile(const struct zusd_op_stats *o, double pct);

/* "read", "get_extents", ...; NULL if op is out of range. */
const char *zusd_op_name(enum zusd_op op);
/* The op of a name, or -1. */
int zusd_op_from_name(const char *name);

#endif /* ZUSD_STATS_H */
