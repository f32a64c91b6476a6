/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pmfs2_tier_format.h - the header mkfs.pmfs2 writes in the first 4 KiB
 * block of each tier device, so mount can find a tier by its UUID and refuse
 * a tier that belongs to another filesystem.
 *
 * The superblock's device table (struct pmfs2_devent) records the same
 * dev_uuid; a tier is accepted only if magic, version, csum, fs_uuid (== the
 * pmfs2 superblock's uuid) and dev_uuid (== the devent's uuid) all match.
 * Tier data blocks start at block 1: tier block 0 is this header and is never
 * handed out.  Little-endian, like the rest of the format.
 */
#ifndef PMFS2_TIER_FORMAT_H
#define PMFS2_TIER_FORMAT_H

#include <errno.h>
#include <stdint.h>
#include <stddef.h>
#include <string.h>
#include <assert.h>

#include "pmfs2_lib.h"

#define PMFS2_TIER_MAGIC	0x5245495432534d50ULL	/* "PMS2TIER" */
#define PMFS2_TIER_VERSION	1
#define PMFS2_TIER_HDR_BLOCK	0	/* first 4 KiB of the tier device */
#define PMFS2_TIER_FIRST_BLOCK	1	/* first block usable for data */

struct pmfs2_tier_header {
	uint64_t magic;		/* PMFS2_TIER_MAGIC */
	uint32_t version;	/* PMFS2_TIER_VERSION */
	uint32_t index;		/* its slot in the superblock's devs[] */
	uint8_t fs_uuid[16];	/* the pmfs2 filesystem it belongs to */
	uint8_t dev_uuid[16];	/* this device's own identity */
	uint64_t size;		/* bytes usable, as in the devent */
	int64_t mkfs_time;	/* ns since the epoch */
	uint8_t reserved[184];
	uint32_t csum;		/* crc32c (~0 seed, ~ final) of the bytes before */
	uint32_t pad;
};
static_assert(sizeof(struct pmfs2_tier_header) == 256, "tier header");

static inline uint32_t pmfs2_tier_header_csum(const struct pmfs2_tier_header *h)
{
	return ~pmfs2_crc32c(~0u, h, offsetof(struct pmfs2_tier_header, csum));
}

/* Fill a header for devs[index] of the filesystem fs_uuid. */
static inline void pmfs2_tier_header_init(struct pmfs2_tier_header *h,
					  unsigned int index,
					  const uint8_t fs_uuid[16],
					  const uint8_t dev_uuid[16],
					  uint64_t size, int64_t now)
{
	memset(h, 0, sizeof(*h));
	h->magic = PMFS2_TIER_MAGIC;
	h->version = PMFS2_TIER_VERSION;
	h->index = index;
	memcpy(h->fs_uuid, fs_uuid, 16);
	memcpy(h->dev_uuid, dev_uuid, 16);
	h->size = size;
	h->mkfs_time = now;
	h->csum = pmfs2_tier_header_csum(h);
}

/*
 * Is h (read from the first 4 KiB of a tier device) the tier that the
 * superblock s lists as devs[index]?  0 if so; -EINVAL: not a pmfs2 tier at
 * all; -EUCLEAN: damaged; -ESTALE: a tier of another filesystem or another
 * device (a foreign or replaced tier).
 */
static inline int pmfs2_tier_header_check(const struct pmfs2_tier_header *h,
					  const struct pmfs2_super *s,
					  unsigned int index)
{
	if (h->magic != PMFS2_TIER_MAGIC)
		return -EINVAL;
	if (h->csum != pmfs2_tier_header_csum(h) ||
	    h->version != PMFS2_TIER_VERSION)
		return -EUCLEAN;
	if (index < 1 || index >= s->ndevs || index >= PMFS2_MAX_DEVS ||
	    h->index != index ||
	    memcmp(h->fs_uuid, s->uuid, 16) ||
	    memcmp(h->dev_uuid, s->devs[index].uuid, 16) ||
	    h->size != s->devs[index].size)
		return -ESTALE;
	return 0;
}

#endif /* PMFS2_TIER_FORMAT_H */
