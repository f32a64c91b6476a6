/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tier_backend.h - the tier backends of plugins/tier (internal).
 *
 * "uring": io_uring, O_DIRECT, a pool of registered staging buffers,
 *          batched submissions with a bounded queue depth, completion reaping
 *          with short-I/O resubmission, one IORING_OP_FSYNC (datasync) per
 *          batch that wrote: a write is durable when submit() returns.
 * "sync":  pread/pwrite + fdatasync, for tests and kernels without io_uring.
 *
 * Both honour the struct zus_tier_backend contract of <zufs/zus.h>.
 */
#ifndef ZUS_TIER_BACKEND_H
#define ZUS_TIER_BACKEND_H

#include <stdbool.h>
#include <stdint.h>
#include <zufs/zus.h>

#define ZUS_TIER_ALIGN		4096u		/* offsets, lengths, buffers */
#define ZUS_TIER_MAX_QD		256u
#define ZUS_TIER_DEF_QD		32u

extern const struct zus_tier_backend zus_tier_uring_backend;
extern const struct zus_tier_backend zus_tier_sync_backend;

/* ---- common.c ---- */
/* Check one I/O against a device of size bytes: 0 or -EINVAL. */
int zus_tier_io_check(const struct zus_tier_io *io, uint64_t size);
/* Open dev->path (when dev->fd < 0): O_DIRECT where the fs allows it. */
int zus_tier_open(const struct zus_tier_dev *dev, int *fd, bool *own,
		  uint64_t *size);

/* Lock-free counters shared by the backends. */
struct zus_tier_counters {
	uint64_t reads, writes, read_bytes, write_bytes;
	uint32_t qd, max_qd;
};
void zus_tier_count_io(struct zus_tier_counters *c,
		       const struct zus_tier_io *io);
void zus_tier_qd_add(struct zus_tier_counters *c, int delta);
void zus_tier_counters_get(struct zus_tier_counters *c,
			   struct zus_tier_stats *st);

#endif /* ZUS_TIER_BACKEND_H */
