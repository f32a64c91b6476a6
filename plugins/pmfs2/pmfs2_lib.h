/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pmfs2_lib.h - the pmfs2 format library (libpmfs2fmt): reading, validating,
 * formatting, recovering and checking a pmfs2 image.  Linked by the plugin,
 * mkfs.pmfs2, fsck.pmfs2 and the tests.  It never trusts the image: every
 * value read from pmem is range-checked before it is used, and a bad one is
 * reported as -EUCLEAN with a message, never a crash.
 *
 * Messages: functions taking (char *err, size_t errlen) write one line that
 * says what is wrong and what to do ("... run fsck.pmfs2 -y /dev/pmem0").
 */
#ifndef PMFS2_LIB_H
#define PMFS2_LIB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <zufs/zus_pmem.h>
#include "pmfs2_format.h"

#ifndef EUCLEAN
#define EUCLEAN 117
#endif

/* Write a one-line message into err (the (err, errlen) convention). */
void pmfs2_set_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* crc32c (Castagnoli), seed and final xor by the caller: use ~0 and ~. */
uint32_t pmfs2_crc32c(uint32_t crc, const void *buf, size_t len);
uint32_t pmfs2_super_csum(const struct pmfs2_super *s);

/* Nanoseconds since the epoch, CLOCK_REALTIME. */
int64_t pmfs2_now(void);

static inline void *pmfs2_block(const struct zus_pmem *pm, uint64_t blk)
{
	return (char *)pm->base + (blk << PMFS2_BLOCK_SHIFT);
}

/*
 * Check a superblock image against a device of dev_size bytes: magic,
 * version, features, checksum, geometry (regions in order, inside the
 * device, no overlap), root ino.  Returns 0, -EINVAL (not pmfs2 at all:
 * bad magic), -EUCLEAN (pmfs2 but damaged), -EOPNOTSUPP (unknown incompat
 * feature or newer major version).
 */
int pmfs2_super_validate(const struct pmfs2_super *s, uint64_t dev_size,
			 char *err, size_t errlen);

/*
 * Load the superblock of pm into *out: the primary if valid, else the
 * backup (*used_backup = true) at the device's last block or at block 1.
 * Errors as pmfs2_super_validate; when both are bad the primary's error is
 * reported.
 */
int pmfs2_super_load(const struct zus_pmem *pm, struct pmfs2_super *out,
		     bool *used_backup, char *err, size_t errlen);

/*
 * The superblock copy at block blk (fsck -b): as pmfs2_super_validate, and
 * -EUCLEAN for a valid copy that its geometry does not put at blk.
 */
int pmfs2_super_load_at(const struct zus_pmem *pm, uint64_t blk,
			struct pmfs2_super *out, char *err, size_t errlen);

/* Recompute csum and write *s to the primary (and the backup); persisted. */
void pmfs2_super_write(const struct zus_pmem *pm, struct pmfs2_super *s,
		       bool backup_too);

struct pmfs2_mkfs_opts {
	uint64_t size;			/* bytes of pm to use; 0: all of it */
	uint64_t inodes;		/* 0: size / PMFS2_DEF_BYTES_PER_INODE */
	uint64_t journal_blocks;	/* 0: PMFS2_DEF_JOURNAL_BLOCKS */
	const char *label;		/* NULL: empty; at most 63 bytes */
	const uint8_t *uuid;		/* NULL: random (libuuid) */
	const char *dev_hint;		/* path, for devs[0].hint */
	unsigned int ntier;
	const uint8_t (*tier_uuid)[16];	/* ntier identities */
	const uint64_t *tier_size;	/* ntier sizes in bytes */
	const char *const *tier_hint;	/* ntier paths, may be NULL */
	uint32_t root_uid, root_gid, root_mode;	/* root_mode 0: 0755 */
	/* zeroing the inode table, the long part on a large device (1/32
	 * of it by default): bytes done of total, from 0 to total */
	void (*progress)(void *ctx, uint64_t done, uint64_t total);
	void *ctx;
};

/*
 * Write a fresh filesystem over the first o->size bytes of pm (all of it if
 * 0; rounded down to blocks): superblocks, journal head, zeroed inode table
 * and an empty root directory; everything persisted.  A pmfs2 backup
 * superblock left at the device's end by an earlier filesystem is wiped.  -EINVAL with a message if the
 * device is too small or an option is out of range.
 */
int pmfs2_format(const struct zus_pmem *pm, const struct pmfs2_mkfs_opts *o,
		 char *err, size_t errlen);

/* Roll back an interrupted transaction, if any (see pmfs2_format.h). */
struct pmfs2_recover_info {
	uint64_t tid;		/* the transaction rolled back, 0 if none */
	unsigned int undone;	/* UNDO records applied */
	unsigned int zeroed;	/* ZERO records applied */
};
int pmfs2_journal_recover(const struct zus_pmem *pm,
			  const struct pmfs2_super *s,
			  struct pmfs2_recover_info *info,
			  char *err, size_t errlen);

/* Directory name hash: 62 bits, keyed by s->hash_seed. */
uint64_t pmfs2_name_hash(const struct pmfs2_super *s, const char *name,
			 size_t len);

/* Inode slot for ino (1 <= ino < inode_count), or NULL if out of range. */
struct pmfs2_inode *pmfs2_inode_at(const struct zus_pmem *pm,
				   const struct pmfs2_super *s, uint64_t ino);

/* Is blk a valid pmem data-area block for this superblock? */
static inline bool pmfs2_data_block_ok(const struct pmfs2_super *s,
				       uint64_t blk)
{
	return blk >= s->data_start && blk < pmfs2_data_end(s);
}

/*
 * Read-only block map lookup: *ptr = the raw pointer for logical block lblk
 * (0 for a hole; may carry PMFS2_PTR_TIER).  -EUCLEAN for a map that points
 * outside the data area or has a bad height.
 */
int pmfs2_bmap_get(const struct zus_pmem *pm, const struct pmfs2_super *s,
		   uint64_t map, uint64_t lblk, uint64_t *ptr);

/*
 * Walk a block map: cb is called for every index block (level >= 1, lblk =
 * first logical block it covers) and every mapped data pointer (level 0).
 * A non-zero return from cb stops the walk and is returned.  -EUCLEAN for a
 * pointer outside the data area (the walk stops there).
 */
typedef int (*pmfs2_bmap_cb)(void *ctx, uint64_t lblk, uint64_t ptr,
			     int level);
int pmfs2_bmap_walk(const struct zus_pmem *pm, const struct pmfs2_super *s,
		    uint64_t map, pmfs2_bmap_cb cb, void *ctx);

/*
 * fsck.  Checks every on-pmem invariant: superblocks, journal, every inode
 * (mode, links, sizes, block counts, times, flags), block maps (in range,
 * no block referenced twice, nothing past size unless preallocated),
 * directories (head, arrays, buckets, entries hashed into the right bucket,
 * names valid and unique, inodes in use, types matching, "..", link counts,
 * connectivity: every in-use inode with links reachable from the root),
 * xattr blocks and ACL values, timestamps against the clock.  With repair,
 * fixes what it can (replays the journal, restores the primary superblock,
 * fixes counts, clears bad entries, frees orphans, reconnects unreachable
 * inodes to /lost+found, sets times from the future to now).  Every repair
 * of more than one aligned word is an undo-journal transaction: a repair
 * cut by a crash is rolled back by the next mount or check.
 */
struct pmfs2_check_opts {
	bool repair;
	bool verbose;
	/* the backup superblock to use when the primary is bad; 0: look at
	 * the device's last block and at block 1 */
	uint64_t backup_block;
	void (*report)(void *ctx, const char *msg);	/* one problem a call */
	void *ctx;
	/* without repair: pm is a private copy (fsck -n maps MAP_PRIVATE),
	 * so an interrupted transaction is rolled back in it and the check
	 * sees what a mount would, while the device stays untouched */
	bool private_copy;
	/* time checks.  now: ns since the epoch, 0: the system clock;
	 * trust_clock: now is known to be right (given by the user), skip
	 * the sanity checks of the clock; broken_clock: the clock cannot be
	 * trusted, skip the time checks; time_fudge: how far (ns) a time may
	 * be ahead of now, 0: 24 hours, < 0: not at all */
	int64_t now;
	bool trust_clock;
	bool broken_clock;
	int64_t time_fudge;
	/* progress, if set (with ctx): see "fsck progress" below */
	void (*progress)(void *ctx, unsigned int pass, uint64_t cur,
			 uint64_t max);
};

/*
 * fsck progress.  The passes are numbered as e2fsck's (1 inodes and blocks,
 * 2 directories, 3 connectivity, 4 reference counts, 5 summary), so a front
 * end made for e2fsck -C weighs them sensibly.  Each pass that runs calls
 * progress first with cur 0, then as its work goes (cur growing, at most
 * about 1000 calls a pass) and last with cur == max; max >= 1 and does not
 * change within a pass; passes come in order.  A check that cannot start
 * (no valid superblock) or runs out of memory stops without finishing its
 * pass.  The superblock and journal checks before pass 1 take no time
 * worth showing.
 */
enum pmfs2_check_pass {
	PMFS2_PASS_INODES = 1,	/* inodes, block maps, sizes, xattrs */
	PMFS2_PASS_DIRS,	/* directory entries */
	PMFS2_PASS_CONNECT,	/* orphans, connectivity, lost+found */
	PMFS2_PASS_LINKS,	/* link counts */
	PMFS2_PASS_SUMMARY,	/* counts of used inodes and blocks */
	PMFS2_PASS_LAST = PMFS2_PASS_SUMMARY,
};

/* What a pass checks ("checking inodes, block maps and sizes"); "" if
 * pass is not one. */
const char *pmfs2_check_pass_name(unsigned int pass);

struct pmfs2_check_result {
	unsigned int errors;		/* problems found */
	unsigned int fixed;		/* problems repaired */
	unsigned int unfixable;
	bool recovered_journal;
	uint64_t inodes_used, dirs, files, symlinks, others;
	uint64_t blocks_used, blocks_free;
};

/* Returns 0 when the check ran (see result), -errno if it could not. */
int pmfs2_check(const struct zus_pmem *pm, const struct pmfs2_check_opts *o,
		struct pmfs2_check_result *r);

#endif /* PMFS2_LIB_H */
