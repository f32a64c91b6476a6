/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pmfs2_format.h - the pmfs2 on-pmem format.
 *
 * Shared by the plugin, mkfs.pmfs2, fsck.pmfs2 and the tests; nothing here
 * depends on a host.  All integers are little-endian (x86_64 only; enforced
 * below).  Block size is 4 KiB everywhere.
 *
 * Layout, in blocks:
 *   0                  primary superblock
 *   1                  unused (RO_COMPAT_BACKUP_END); before it, the backup
 *   journal_start..    undo journal (journal_blocks)
 *   itable_start..     inode table (itable_blocks, 16 inodes per block);
 *                      inode number N lives in slot N, slot 0 is unused,
 *                      PMFS2_ROOT_INO is the root directory
 *   data_start..       data, index, directory and xattr blocks, up to
 *                      pmfs2_data_end()
 *   total_blocks - 1   backup superblock (same bytes as the primary,
 *                      written by mkfs and whenever static geometry
 *                      changes), far from the primary: an overwrite of the
 *                      first blocks does not take both (RO_COMPAT_BACKUP_END;
 *                      without that feature, the backup is block 1)
 *
 * Free space is not stored: it is rebuilt in DRAM at mount by walking every
 * in-use inode (block map, xattr block).  A block is in use iff exactly one
 * structure references it.
 *
 * Crash consistency: every multi-word metadata change runs in one undo-journal
 * transaction (see struct pmfs2_journal_head).  Single aligned 8-byte stores
 * (a block pointer, a map root) are atomic and may be made without it when
 * every intermediate state is valid.  Data is written and fenced before the
 * metadata that makes it reachable commits.
 */
#ifndef PMFS2_FORMAT_H
#define PMFS2_FORMAT_H

#include <stdint.h>
#include <stddef.h>
#include <assert.h>

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "pmfs2 is little-endian only"
#endif

#define PMFS2_BLOCK_SHIFT	12
#define PMFS2_BLOCK_SIZE	(1u << PMFS2_BLOCK_SHIFT)

#define PMFS2_SUPER_MAGIC	0x3253464d50ULL		/* "PMFS2" */
#define PMFS2_FS_MAGIC		0x504d4632u		/* statfs f_type "PMF2" */
#define PMFS2_VERSION_MAJOR	1
#define PMFS2_VERSION_MINOR	0

/* feature flags: a reader refuses unknown incompat bits, mounts read-only
 * with unknown ro_compat bits, and ignores unknown compat bits. */
#define PMFS2_FEATURE_COMPAT_SUPP	0u
/* the backup superblock is the last block, not block 1: a reader that
 * does not know it could hand that block out as data */
#define PMFS2_FEATURE_RO_COMPAT_BACKUP_END	(1u << 0)
#define PMFS2_FEATURE_RO_COMPAT_SUPP	PMFS2_FEATURE_RO_COMPAT_BACKUP_END
#define PMFS2_FEATURE_INCOMPAT_TIER	(1u << 0)	/* block pointers may
							   point to a tier */
#define PMFS2_FEATURE_INCOMPAT_SUPP	(PMFS2_FEATURE_INCOMPAT_TIER)

#define PMFS2_SB_BLOCK		0
#define PMFS2_SB_BACKUP_BLOCK	1
#define PMFS2_ROOT_INO		1
#define PMFS2_INODE_SIZE	256
#define PMFS2_INODES_PER_BLOCK	(PMFS2_BLOCK_SIZE / PMFS2_INODE_SIZE)
#define PMFS2_LABEL_MAX		64
#define PMFS2_MAX_DEVS		8
#define PMFS2_NAME_MAX		255

#define PMFS2_MIN_JOURNAL_BLOCKS 64
#define PMFS2_DEF_JOURNAL_BLOCKS 256		/* 1 MiB */
/* superblock, block 1, journal, an inode block, 16 data blocks, backup */
#define PMFS2_MIN_BLOCKS	(3 + PMFS2_MIN_JOURNAL_BLOCKS + 1 + 16)
#define PMFS2_DEF_BYTES_PER_INODE 8192

enum pmfs2_dev_role {
	PMFS2_DEV_NONE = 0,
	PMFS2_DEV_PMEM = 1,	/* devs[0]: the device holding this superblock */
	PMFS2_DEV_TIER = 2,	/* a capacity tier */
};

struct pmfs2_devent {
	uint8_t uuid[16];	/* the device's own identity, written by mkfs */
	uint64_t size;		/* bytes usable */
	uint32_t role;		/* enum pmfs2_dev_role */
	uint32_t flags;
	char hint[40];		/* path at mkfs time, for messages only */
};
static_assert(sizeof(struct pmfs2_devent) == 72, "devent layout");

enum pmfs2_state {
	PMFS2_STATE_CLEAN = 1,	/* unmounted cleanly */
	PMFS2_STATE_MOUNTED = 2,
	PMFS2_STATE_ERROR = 3,	/* an inconsistency was found: run fsck */
};

/*
 * The superblock.  csum is crc32c (seed ~0, final xor ~0) of the first
 * offsetof(csum) bytes.  Only the primary is rewritten at mount and umount;
 * a primary with a bad checksum is replaced from the backup.
 */
struct pmfs2_super {
	uint64_t magic;			/* PMFS2_SUPER_MAGIC */
	uint32_t version_major;
	uint32_t version_minor;
	uint32_t feature_compat;
	uint32_t feature_ro_compat;
	uint32_t feature_incompat;
	uint32_t block_size;		/* PMFS2_BLOCK_SIZE */
	uint64_t total_blocks;		/* of the pmem device */
	uint64_t journal_start;
	uint64_t journal_blocks;
	uint64_t itable_start;
	uint64_t itable_blocks;
	uint64_t inode_count;		/* itable_blocks * INODES_PER_BLOCK */
	uint64_t data_start;
	uint32_t inode_size;		/* PMFS2_INODE_SIZE */
	uint32_t root_ino;		/* PMFS2_ROOT_INO */
	uint64_t hash_seed[2];		/* directory hash key, random at mkfs */
	int64_t mkfs_time;		/* ns since the epoch */
	int64_t mount_time;
	int64_t write_time;
	uint32_t mount_count;
	uint32_t state;			/* enum pmfs2_state */
	uint8_t uuid[16];		/* the filesystem's UUID */
	char label[PMFS2_LABEL_MAX];	/* NUL-padded */
	uint32_t ndevs;
	uint32_t pad0;
	struct pmfs2_devent devs[PMFS2_MAX_DEVS];
	uint8_t reserved[256];
	uint32_t csum;
	uint32_t pad1;
};
static_assert(sizeof(struct pmfs2_super) <= PMFS2_BLOCK_SIZE, "super fits");
static_assert(offsetof(struct pmfs2_super, devs) % 8 == 0, "super align");

/* Where s's backup superblock lives. */
static inline uint64_t pmfs2_sb_backup_block(const struct pmfs2_super *s)
{
	return (s->feature_ro_compat & PMFS2_FEATURE_RO_COMPAT_BACKUP_END) ?
	       s->total_blocks - 1 : PMFS2_SB_BACKUP_BLOCK;
}

/* The end (exclusive) of the data area. */
static inline uint64_t pmfs2_data_end(const struct pmfs2_super *s)
{
	return (s->feature_ro_compat & PMFS2_FEATURE_RO_COMPAT_BACKUP_END) ?
	       s->total_blocks - 1 : s->total_blocks;
}

/*
 * Undo journal.  Block journal_start holds the head in its first cache line;
 * records follow from byte PMFS2_JREC_START, back to back, 8-byte aligned.
 *
 * begin:   tid = seq + 1; store seq = tid and active_tid = tid; persist.
 * log:     append a record (header + old bytes) with tid and crc; persist;
 *          only then modify the logged range in place.
 * commit:  persist every modified range; then store active_tid = 0; persist.
 * recover: if active_tid != 0, collect the records from PMFS2_JREC_START
 *          while rec.tid == active_tid and the crc matches; apply the UNDO
 *          records newest first, then the ZERO records; persist; then store
 *          seq = max(seq, active_tid) and active_tid = 0; persist.
 */
#define PMFS2_JOURNAL_MAGIC	0x4c4e524a32534d50ULL	/* "PMS2JRNL" */
#define PMFS2_JREC_START	64

struct pmfs2_journal_head {
	uint64_t magic;
	uint64_t active_tid;	/* 0: no transaction in flight */
	uint64_t seq;		/* last tid handed out */
	uint64_t reserved[5];
};
static_assert(sizeof(struct pmfs2_journal_head) == PMFS2_JREC_START, "jhead");

enum pmfs2_jrec_type {
	/* data[] holds the old bytes of pmem [off, off + len) */
	PMFS2_JREC_UNDO = 1,
	/*
	 * data[] holds struct pmfs2_jzero: on rollback, after all UNDO records,
	 * zero bytes [from, to) of inode ino's data where blocks are mapped
	 * (an extending write that did not commit leaves no data past EOF).
	 */
	PMFS2_JREC_ZERO = 2,
};

struct pmfs2_jrec {
	uint64_t tid;
	uint64_t off;		/* pmem byte offset (UNDO) */
	uint32_t len;		/* bytes of data[] that follow */
	uint32_t type;		/* enum pmfs2_jrec_type */
	uint32_t csum;		/* crc32c of this header (csum = 0) + data */
	uint32_t pad;
	/* uint8_t data[len], then padding to 8 bytes */
};
static_assert(sizeof(struct pmfs2_jrec) == 32, "jrec");

struct pmfs2_jzero {
	uint64_t ino;
	uint64_t from;
	uint64_t to;
};

/*
 * Inode, 256 bytes.  mode == 0 marks a free slot.  Times are signed
 * nanoseconds since the epoch (1677..2262), so each is one atomic store.
 *
 * map: the block map root, (block << PMFS2_MAP_HEIGHT_BITS) | height, or 0
 * for no blocks.  Height 0: the root is the data block of logical block 0.
 * Height h >= 1: the root is an index block of PMFS2_PTRS_PER_BLOCK block
 * pointers, covering 512^h logical blocks (h <= PMFS2_MAX_HEIGHT).
 *
 * Directories keep their index in logical blocks of this same map (see the
 * dir structures below); a directory with map == 0 is empty.
 * Symlinks: a target shorter than PMFS2_INLINE_SIZE is in inline_data (size
 * = its length); a longer one fills logical block 0.
 */
#define PMFS2_MAP_HEIGHT_BITS	3
#define PMFS2_MAP_HEIGHT_MASK	((1ull << PMFS2_MAP_HEIGHT_BITS) - 1)
#define PMFS2_MAX_HEIGHT	4		/* 256 TiB files */
#define PMFS2_PTRS_PER_BLOCK	(PMFS2_BLOCK_SIZE / 8)
#define PMFS2_PTR_SHIFT		9		/* log2(PTRS_PER_BLOCK) */
#define PMFS2_INLINE_SIZE	128

/* Block pointers: low 48 bits block number, bit 63 set: on the tier device
 * (then the number is a tier block); 0 is a hole. */
#define PMFS2_PTR_TIER		(1ull << 63)
#define PMFS2_PTR_BLOCK_MASK	((1ull << 48) - 1)

/* inode flags */
#define PMFS2_IF_TRUNC_PENDING	(1u << 0)	/* trim blocks past size at mount */

struct pmfs2_inode {
	uint32_t mode;
	uint32_t flags;
	uint32_t nlink;
	uint32_t uid;
	uint32_t gid;
	uint32_t rdev;
	uint64_t size;
	uint64_t blocks;	/* 4 KiB blocks owned: data + index + xattr */
	int64_t atime;
	int64_t mtime;
	int64_t ctime;
	int64_t btime;
	uint64_t generation;
	uint64_t map;
	uint64_t xattr_block;	/* block number of the xattr block, or 0 */
	uint64_t parent;	/* directories: the parent's ino; else 0 */
	uint64_t reserved[3];
	uint8_t inline_data[PMFS2_INLINE_SIZE];
};
static_assert(sizeof(struct pmfs2_inode) == PMFS2_INODE_SIZE, "inode");
static_assert(offsetof(struct pmfs2_inode, map) % 8 == 0, "inode align");

/*
 * Directory index: extendible hashing, order-preserving.
 *
 * Names hash (pmfs2_name_hash, keyed by sb.hash_seed) to 62-bit values.
 * A bucket of local depth ld holds the names whose hash has one ld-bit
 * prefix (h >> (62 - ld)), so buckets cover contiguous hash ranges and
 * readdir walks them in hash order.
 *
 *   logical block 0            struct pmfs2_dir_head, then the bucket
 *                              arrays for global depths 0..8 inline
 *   logical block 1 + b        bucket b (0 <= b < nbuckets)
 *   logical block
 *     PMFS2_DIR_ARRAY_LBLK..   bucket arrays for global depths 9..MAX
 *
 * The bucket array for global depth d has 2^d entries (uint32_t bucket
 * numbers); it starts at array byte position (2^d - 1) * 4, where array
 * positions below PMFS2_DIR_INLINE_ARRAY_BYTES are in block 0 after the
 * head and the rest are at PMFS2_DIR_ARRAY_LBLK (position minus the inline
 * bytes).  Doubling writes the next depth's array fresh, then commits
 * global_depth: the old array is never modified in place.
 *
 * readdir cookies: 0 = start, 1 = after ".", 2 = after "..", and h + 3 =
 * after the entry with hash h (resume at hashes > h).
 */
#define PMFS2_DIR_MAGIC		0x52494432u	/* "2DIR" */
#define PMFS2_BUCKET_MAGIC	0x544b4232u	/* "2BKT" */
#define PMFS2_DIR_HASH_BITS	62
#define PMFS2_DIR_MAX_DEPTH	20
#define PMFS2_DIR_INLINE_DEPTHS	9		/* depths 0..8 in block 0 */
#define PMFS2_DIR_INLINE_ARRAY_BYTES	(((1u << PMFS2_DIR_INLINE_DEPTHS) - 1) * 4)
#define PMFS2_DIR_ARRAY_LBLK	(1ull << 21)
#define PMFS2_DIR_COOKIE_FIRST	3

struct pmfs2_dir_head {
	uint32_t magic;
	uint32_t global_depth;
	uint32_t nbuckets;
	uint32_t pad;
	uint64_t nentries;	/* names, "." and ".." not counted */
	uint64_t reserved[5];
	/* uint32_t inline_arrays[] follows, PMFS2_DIR_INLINE_ARRAY_BYTES */
};
static_assert(sizeof(struct pmfs2_dir_head) == 64, "dir head");
static_assert(64 + PMFS2_DIR_INLINE_ARRAY_BYTES <= PMFS2_BLOCK_SIZE, "dir0");

struct pmfs2_bucket_head {
	uint32_t magic;
	uint16_t local_depth;
	uint16_t count;		/* entries */
	uint16_t used;		/* bytes of entries after the head */
	uint16_t pad[3];
};
static_assert(sizeof(struct pmfs2_bucket_head) == 16, "bucket head");

/* Entries are packed after the bucket head; each takes
 * PMFS2_DIRENT_SIZE(name_len) bytes.  Order within a bucket is free. */
struct pmfs2_dirent {
	uint64_t ino;
	uint64_t hash;
	uint8_t name_len;
	uint8_t type;		/* DT_* */
	char name[];
};
#define PMFS2_DIRENT_SIZE(n)	((18u + (n) + 7u) & ~7u)
#define PMFS2_BUCKET_SPACE	(PMFS2_BLOCK_SIZE - sizeof(struct pmfs2_bucket_head))

/*
 * xattr block: one block per inode, replaced copy-on-write (the new block is
 * written and fenced, then the inode's xattr_block is switched in a
 * transaction and the old block freed after commit).
 */
#define PMFS2_XATTR_MAGIC	0x52545832u	/* "2XTR" */

enum pmfs2_xattr_index {
	PMFS2_XATTR_USER = 1,
	PMFS2_XATTR_TRUSTED = 2,
	PMFS2_XATTR_SECURITY = 3,
	PMFS2_XATTR_POSIX_ACL_ACCESS = 4,	/* name is empty */
	PMFS2_XATTR_POSIX_ACL_DEFAULT = 5,	/* name is empty */
};

struct pmfs2_xattr_head {
	uint32_t magic;
	uint16_t count;
	uint16_t used;		/* bytes of entries after the head */
	uint64_t reserved;
};
static_assert(sizeof(struct pmfs2_xattr_head) == 16, "xattr head");

/* Entries packed after the head; each takes PMFS2_XENTRY_SIZE bytes. */
struct pmfs2_xattr_entry {
	uint8_t index;		/* enum pmfs2_xattr_index */
	uint8_t name_len;	/* without the prefix */
	uint16_t value_len;
	char name[];		/* name_len bytes, then value_len bytes */
};
#define PMFS2_XENTRY_SIZE(n, v)	((4u + (n) + (v) + 3u) & ~3u)
#define PMFS2_XATTR_SPACE	(PMFS2_BLOCK_SIZE - sizeof(struct pmfs2_xattr_head))

#endif /* PMFS2_FORMAT_H */
