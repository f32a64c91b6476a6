/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pmfs2.h - internals of the pmfs2 plugin (not installed).
 *
 * Locking, outermost first:
 *   ns_lock (rwlock)      namespace: directory contents and the tree shape.
 *                         Namespace changes hold it for writing, lookup and
 *                         readdir for reading (readdir copies a bucket out
 *                         and emits with no lock held).
 *   ilock[stripe]         per-inode rwlocks, striped by ino; several are
 *                         taken in ascending stripe order.  Guards an
 *                         inode's fields, block map and data.
 *   tx_lock               the single undo journal: one transaction at a time.
 *   alloc_lock            DRAM block and inode bitmaps.
 */
#ifndef PMFS2_H
#define PMFS2_H

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <zufs/zus.h>
#include "pmfs2_lib.h"

#define PMFS2_ILOCK_STRIPES	256
#define PMFS2_LINK_MAX		65000
#define PMFS2_NSEC		1000000000LL
/* Largest logical block count a map of PMFS2_MAX_HEIGHT covers: 2^36. */
#define PMFS2_MAX_LBLKS		(1ull << (PMFS2_PTR_SHIFT * PMFS2_MAX_HEIGHT))
#define PMFS2_MAX_FILE_SIZE	(PMFS2_MAX_LBLKS << PMFS2_BLOCK_SHIFT)
/* Blocks a data transaction may allocate: bounds its journal use. */
#define PMFS2_TX_MAX_BLOCKS	512

struct pmfs2_vec {
	uint64_t *v;
	size_t n, cap;
};

struct pmfs2_sbi;
struct pmfs2_tier;

/* pmfs2's mount options (options.c) */
struct pmfs2_options {
	unsigned int tier_low, tier_high;	/* % of pmem data blocks free */
	unsigned int tier_qd;			/* 0: the backend's default */
	bool tier_thread;
};

/* The one transaction in flight (see pmfs2_format.h for the protocol). */
struct pmfs2_tx {
	struct pmfs2_sbi *sbi;
	uint64_t tid;
	bool started;		/* head written: active_tid == tid */
	uint64_t pos;		/* next record, bytes into the journal */
	struct pmfs2_vec recs;	/* journal offsets of our records */
	struct pmfs2_vec logged;	/* pairs: pmem off, len (undo logged) */
	struct pmfs2_vec fresh;	/* pairs: off, len written unlogged */
	struct pmfs2_vec allocs;	/* blocks allocated in this tx */
	struct pmfs2_vec frees;		/* blocks to free after commit */
	struct pmfs2_vec iallocs;	/* inodes allocated in this tx */
};

struct pmfs2_sbi {
	struct zus_sb *zsb;
	const struct zus_pmem *pm;
	struct pmfs2_super s;
	bool ro;
	bool errors;		/* corruption seen: state ERROR at umount */

	pthread_rwlock_t ns_lock;
	pthread_rwlock_t ilock[PMFS2_ILOCK_STRIPES];

	pthread_mutex_t tx_lock;
	struct pmfs2_tx tx;
	struct pmfs2_journal_head *jhead;
	char *jarea;
	uint64_t jsize;

	pthread_mutex_t alloc_lock;
	uint64_t *bmap;		/* bit per block: in use */
	uint64_t *txnew;	/* bit per block: allocated by the open tx */
	uint64_t free_blocks;
	uint64_t bhint;
	uint64_t *imap;		/* bit per inode slot: in use */
	uint64_t *linkable;	/* nlink-0 inodes that link() may revive */
	uint64_t free_inodes;
	uint64_t ihint;
	uint64_t next_gen;

	struct pmfs2_options opts;	/* as mounted */
	struct pmfs2_tier *tier;	/* NULL: no tier device (tier.c) */
};

static inline struct pmfs2_sbi *PMFS2_SBI(struct zus_sb *zsb)
{
	return zsb->fs_private;
}

/* remount may flip it under running ops */
static inline bool pmfs2_ro(struct pmfs2_sbi *sbi)
{
	return __atomic_load_n(&sbi->ro, __ATOMIC_RELAXED);
}

/* ---- mount options (options.c) ---- */
void pmfs2_options_default(struct pmfs2_options *o);
/*
 * Parse opts (NULL: none) over *o (the defaults, or at a remount the
 * mounted options: what it does not name stays); an unknown option, a bad value or
 * tier_low >= tier_high is -EINVAL with the reason in err.  remount: opts
 * are as given to mount(8), tier= and tier_backend= included.
 */
int pmfs2_options_parse(const char *opts, bool remount,
			struct pmfs2_options *o, char *err, size_t errlen);

/* ---- messages (super.c) ---- */
void pmfs2_msg(struct pmfs2_sbi *sbi, int prio, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Log corruption and return -EUCLEAN. */
int pmfs2_corrupt_at(struct pmfs2_sbi *sbi, const char *func,
		     const char *fmt, ...) __attribute__((format(printf, 3, 4)));
#define pmfs2_corrupt(sbi, ...) pmfs2_corrupt_at(sbi, __func__, __VA_ARGS__)

/* ---- small helpers ---- */
int pmfs2_vec_push(struct pmfs2_vec *v, uint64_t x);
void pmfs2_vec_free(struct pmfs2_vec *v);

static inline bool pmfs2_test_bit(const uint64_t *map, uint64_t n)
{
	return map[n >> 6] & (1ull << (n & 63));
}

static inline void pmfs2_set_bit(uint64_t *map, uint64_t n)
{
	map[n >> 6] |= 1ull << (n & 63);
}

static inline void pmfs2_clear_bit(uint64_t *map, uint64_t n)
{
	map[n >> 6] &= ~(1ull << (n & 63));
}

static inline uint64_t pmfs2_map_block(uint64_t map)
{
	return map >> PMFS2_MAP_HEIGHT_BITS;
}

static inline unsigned int pmfs2_map_height(uint64_t map)
{
	return (unsigned int)(map & PMFS2_MAP_HEIGHT_MASK);
}

/* Logical blocks a map of height h covers. */
static inline uint64_t pmfs2_map_span(unsigned int h)
{
	return 1ull << (PMFS2_PTR_SHIFT * h);
}

static inline void *pmfs2_blk(struct pmfs2_sbi *sbi, uint64_t blk)
{
	return pmfs2_block(sbi->pm, blk);
}

static inline void pmfs2_time_from_ns(int64_t ns, struct zus_time *t)
{
	int64_t s = ns / PMFS2_NSEC, r = ns % PMFS2_NSEC;

	if (r < 0) {
		r += PMFS2_NSEC;
		s--;
	}
	t->sec = s;
	t->nsec = (uint32_t)r;
	t->pad = 0;
}

int64_t pmfs2_time_to_ns(const struct zus_time *t);

/* An 8-byte field of pmem updated outside a transaction: atomic + durable. */
static inline void pmfs2_store_persist(struct pmfs2_sbi *sbi, void *field,
				       uint64_t v)
{
	zus_pmem_store64(field, v);
	zus_pmem_persist(sbi->pm, field, 8);
}

/* ---- journal.c ---- */
int pmfs2_journal_init(struct pmfs2_sbi *sbi);
void pmfs2_journal_fini(struct pmfs2_sbi *sbi);
struct pmfs2_tx *pmfs2_tx_begin(struct pmfs2_sbi *sbi);
/* Log the old bytes of [addr, addr+len) before modifying them in place. */
int pmfs2_tx_log(struct pmfs2_tx *tx, const void *addr, size_t len);
/* On rollback, zero ino's mapped bytes in [from, to). */
int pmfs2_tx_log_zero(struct pmfs2_tx *tx, uint64_t ino, uint64_t from,
		      uint64_t to);
/* [addr, addr+len) is unreachable until commit: written without undo. */
int pmfs2_tx_fresh(struct pmfs2_tx *tx, const void *addr, size_t len);
int pmfs2_tx_defer_free(struct pmfs2_tx *tx, uint64_t blk);
/* Commit if err == 0, else roll back; returns err. */
int pmfs2_tx_end(struct pmfs2_tx *tx, int err);

/* ---- balloc.c ---- */
int pmfs2_alloc_init(struct pmfs2_sbi *sbi);
void pmfs2_alloc_fini(struct pmfs2_sbi *sbi);
int pmfs2_mark_block(struct pmfs2_sbi *sbi, uint64_t blk);
void pmfs2_mark_inode(struct pmfs2_sbi *sbi, uint64_t ino);
int pmfs2_new_block(struct pmfs2_tx *tx, uint64_t *blk);
/* A block outside any transaction (tiering): the caller makes it reachable
 * with an atomic pointer store, or frees it. */
int pmfs2_alloc_block_notx(struct pmfs2_sbi *sbi, uint64_t *blk);
/* Return a block whose last reference is durably gone; a value with
 * PMFS2_PTR_TIER set returns a tier block to the tier's allocator. */
void pmfs2_free_block(struct pmfs2_sbi *sbi, uint64_t blk);
bool pmfs2_block_is_new(struct pmfs2_sbi *sbi, uint64_t blk);
void pmfs2_forget_new(struct pmfs2_sbi *sbi, uint64_t blk);
int pmfs2_new_ino(struct pmfs2_tx *tx, uint64_t *ino);
void pmfs2_free_ino(struct pmfs2_sbi *sbi, uint64_t ino);
void pmfs2_set_linkable(struct pmfs2_sbi *sbi, uint64_t ino, bool on);
bool pmfs2_is_linkable(struct pmfs2_sbi *sbi, uint64_t ino);
void pmfs2_alloc_counts(struct pmfs2_sbi *sbi, uint64_t *bfree,
			uint64_t *ifree);

/* ---- bmap.c ---- */
/* *blk = pmem block of lblk, 0 for a hole (a tier pointer: -EUCLEAN;
 * regular file data uses the two functions below). */
int pmfs2_bmap_lookup(struct pmfs2_sbi *sbi, const struct pmfs2_inode *pi,
		      uint64_t lblk, uint64_t *blk);
/* *ptr = the validated pointer of lblk: 0, a pmem block, or a tier block
 * with PMFS2_PTR_TIER set. */
int pmfs2_bmap_lookup_ptr(struct pmfs2_sbi *sbi, const struct pmfs2_inode *pi,
			  uint64_t lblk, uint64_t *ptr);
/* *slot = the index-block slot holding lblk's data pointer, NULL when
 * there is none (a hole above it, or a height-0 map). */
int pmfs2_bmap_slot(struct pmfs2_sbi *sbi, const struct pmfs2_inode *pi,
		    uint64_t lblk, uint64_t **slot);
#define PMFS2_MAP_ZERO	1	/* zero a newly allocated data block */
/* Map lblk, allocating in tx if needed; *isnew tells a fresh block. */
int pmfs2_bmap_map(struct pmfs2_tx *tx, struct pmfs2_inode *pi, uint64_t lblk,
		   unsigned int flags, uint64_t *blk, bool *isnew);
/* First lblk >= from that is mapped (data) or not (!data), < limit. */
int pmfs2_bmap_next(struct pmfs2_sbi *sbi, const struct pmfs2_inode *pi,
		    uint64_t from, uint64_t limit, bool data, uint64_t *out);
/* Unmap [from, to) in tx, at most budget blocks; *next resumes. */
int pmfs2_bmap_punch(struct pmfs2_tx *tx, struct pmfs2_inode *pi,
		     uint64_t from, uint64_t to, unsigned int budget,
		     uint64_t *next);
/* Unmap every block >= from outside a transaction, one atomic pointer
 * store at a time; only for inodes marked TRUNC_PENDING or orphaned. */
int pmfs2_bmap_trim(struct pmfs2_sbi *sbi, struct pmfs2_inode *pi,
		    uint64_t from, bool recount);
/* Zero ino's mapped bytes in [from, to) (rollback of a ZERO record). */
int pmfs2_zero_mapped(struct pmfs2_sbi *sbi, const struct pmfs2_inode *pi,
		      uint64_t from, uint64_t to);
/* Count blocks the map owns (data + index). */
int pmfs2_bmap_count(struct pmfs2_sbi *sbi, const struct pmfs2_inode *pi,
		     uint64_t *n);
/*
 * pi's map with logical blocks [a, a + n) taken out and those after moved
 * down (collapse), or with everything from a moved up by n (insert), built
 * copy-on-write in blocks allocated outside any transaction: the caller
 * switches the inode to sh->map in one transaction, frees sh->frees after
 * it commits, and calls pmfs2_bmap_shift_done either way.  dry: count the
 * index blocks needed (sh->built) and allocate nothing.  -EFBIG: a block
 * would move past the largest file.
 */
struct pmfs2_shift {
	uint64_t map;		/* the new root */
	int64_t dblocks;	/* change of the inode's block count */
	uint64_t built;		/* index blocks of the new map */
	struct pmfs2_vec fresh;	/* those blocks */
	struct pmfs2_vec frees;	/* old blocks the new map does not use */
};
int pmfs2_bmap_shift(struct pmfs2_sbi *sbi, const struct pmfs2_inode *pi,
		     uint64_t a, uint64_t n, bool insert, bool dry,
		     struct pmfs2_shift *sh);
/* Free the new blocks unless committed, and the vectors. */
void pmfs2_bmap_shift_done(struct pmfs2_sbi *sbi, struct pmfs2_shift *sh,
			   bool committed);

/* ---- inode.c ---- */
void pmfs2_ilock(struct pmfs2_sbi *sbi, uint64_t ino, bool wr);
void pmfs2_iunlock(struct pmfs2_sbi *sbi, uint64_t ino);
struct pmfs2_lockset {
	unsigned int n;
	unsigned int stripe[4];
};
/* Write-lock up to 4 inodes (0 entries ignored), in stripe order. */
void pmfs2_lock_inodes(struct pmfs2_sbi *sbi, struct pmfs2_lockset *ls,
		       const uint64_t *inos, unsigned int n);
void pmfs2_unlock_inodes(struct pmfs2_sbi *sbi, struct pmfs2_lockset *ls);

/* A handle from the host: -ESTALE if out of range or free. */
int pmfs2_iget(struct pmfs2_sbi *sbi, uint64_t ino, struct pmfs2_inode **pi);
/* An inode number read from pmem: -EUCLEAN if out of range or free. */
int pmfs2_iget_ref(struct pmfs2_sbi *sbi, uint64_t ino,
		   struct pmfs2_inode **pi);
int pmfs2_inode_check(struct pmfs2_sbi *sbi, uint64_t ino,
		      const struct pmfs2_inode *pi);
uint64_t pmfs2_ino_of(struct pmfs2_sbi *sbi, const struct pmfs2_inode *pi);
void pmfs2_fill_attr(struct pmfs2_sbi *sbi, uint64_t ino,
		     const struct pmfs2_inode *pi, struct zus_attr *out);
int pmfs2_new_inode(struct pmfs2_tx *tx, uint32_t mode, uint32_t rdev,
		    const struct zus_creds *cr, uint64_t parent, uint64_t *ino,
		    struct pmfs2_inode **pi);
/* Free an unlinked inode and everything it owns (no transaction). */
int pmfs2_inode_release(struct pmfs2_sbi *sbi, uint64_t ino,
			struct pmfs2_inode *pi);
/* Finish an interrupted truncate (TRUNC_PENDING). */
int pmfs2_finish_trunc(struct pmfs2_sbi *sbi, struct pmfs2_inode *pi,
		       bool recount);
unsigned int pmfs2_dtype(uint32_t mode);

int pmfs2_getattr(struct zus_sb *zsb, uint64_t ino, struct zus_attr *out);
int pmfs2_setattr(struct zus_sb *zsb, uint64_t ino,
		  const struct zus_setattr *sa, struct zus_attr *out);
void pmfs2_evict(struct zus_sb *zsb, uint64_t ino);

/* ---- file.c ---- */
int pmfs2_truncate(struct pmfs2_sbi *sbi, struct pmfs2_tx *tx,
		   struct pmfs2_inode *pi, uint64_t size);
ssize_t pmfs2_read(struct zus_sb *zsb, uint64_t ino, void *buf, size_t len,
		   uint64_t off);
ssize_t pmfs2_write(struct zus_sb *zsb, uint64_t ino, const void *buf,
		    size_t len, uint64_t off);
int pmfs2_get_extents(struct zus_sb *zsb, uint64_t ino, uint64_t off,
		      uint64_t len, unsigned int flags, struct zus_extent *ext,
		      unsigned int *n);
int pmfs2_fallocate(struct zus_sb *zsb, uint64_t ino, int mode, uint64_t off,
		    uint64_t len);
int pmfs2_lseek(struct zus_sb *zsb, uint64_t ino, uint64_t off, int whence,
		uint64_t *result);
int pmfs2_fsync(struct zus_sb *zsb, uint64_t ino, bool datasync);

/* ---- dir.c ---- */
int pmfs2_dir_lookup(struct pmfs2_sbi *sbi, const struct pmfs2_inode *dir,
		     const char *name, size_t len, uint64_t *ino);
int pmfs2_dir_add(struct pmfs2_tx *tx, struct pmfs2_inode *dir,
		  const char *name, size_t len, uint64_t ino,
		  unsigned int dtype);
int pmfs2_dir_remove(struct pmfs2_tx *tx, struct pmfs2_inode *dir,
		     const char *name, size_t len);
/* Point an existing entry at another inode. */
int pmfs2_dir_retarget(struct pmfs2_tx *tx, struct pmfs2_inode *dir,
		       const char *name, size_t len, uint64_t ino,
		       unsigned int dtype);
int pmfs2_dir_count(struct pmfs2_sbi *sbi, const struct pmfs2_inode *dir,
		    uint64_t *n);
/* The entries of one bucket, copied out so readdir can emit them with no
 * lock held (a host may call back into the filesystem from emit). */
#define PMFS2_DIRBUF_MAX (PMFS2_BUCKET_SPACE / PMFS2_DIRENT_SIZE(1) + 1)
struct pmfs2_dirbuf_ent {
	uint64_t ino, hash;
	uint8_t type, len;
	char name[PMFS2_NAME_MAX];
};
struct pmfs2_dirbuf {
	unsigned int n;
	struct pmfs2_dirbuf_ent e[PMFS2_DIRBUF_MAX];
};
/* Entries with hash >= start of the bucket holding start, in hash order;
 * *next: the first hash of the following bucket (2^62 at the end). */
int pmfs2_dir_read_bucket(struct pmfs2_sbi *sbi, const struct pmfs2_inode *dir,
			  uint64_t start, struct pmfs2_dirbuf *out,
			  uint64_t *next);

/* ---- namei.c ---- */
int pmfs2_lookup(struct zus_sb *zsb, uint64_t dir, const char *name,
		 size_t namelen, struct zus_attr *out);
int pmfs2_create(struct zus_sb *zsb, uint64_t dir, const char *name,
		 size_t namelen, uint32_t mode, uint32_t rdev,
		 const struct zus_creds *cr, struct zus_attr *out);
int pmfs2_mkdir(struct zus_sb *zsb, uint64_t dir, const char *name,
		size_t namelen, uint32_t mode, const struct zus_creds *cr,
		struct zus_attr *out);
int pmfs2_symlink(struct zus_sb *zsb, uint64_t dir, const char *name,
		  size_t namelen, const char *target,
		  const struct zus_creds *cr, struct zus_attr *out);
int pmfs2_link(struct zus_sb *zsb, uint64_t ino, uint64_t newdir,
	       const char *name, size_t namelen, struct zus_attr *out);
int pmfs2_unlink(struct zus_sb *zsb, uint64_t dir, const char *name,
		 size_t namelen);
int pmfs2_rmdir(struct zus_sb *zsb, uint64_t dir, const char *name,
		size_t namelen);
int pmfs2_rename(struct zus_sb *zsb, uint64_t olddir, const char *oldname,
		 size_t oldlen, uint64_t newdir, const char *newname,
		 size_t newlen, unsigned int flags);
int pmfs2_tmpfile(struct zus_sb *zsb, uint64_t dir, uint32_t mode,
		  const struct zus_creds *cr, struct zus_attr *out);
int pmfs2_readlink(struct zus_sb *zsb, uint64_t ino, char *buf, size_t size,
		   size_t *len);
int pmfs2_readdir(struct zus_sb *zsb, uint64_t dir, uint64_t cookie,
		  zus_filldir_t emit, void *ctx);

/* ---- xattr.c ---- */
ssize_t pmfs2_getxattr(struct zus_sb *zsb, uint64_t ino, const char *name,
		       void *value, size_t size);
int pmfs2_setxattr(struct zus_sb *zsb, uint64_t ino, const char *name,
		   const void *value, size_t size, int flags);
ssize_t pmfs2_listxattr(struct zus_sb *zsb, uint64_t ino, char *list,
			size_t size);
int pmfs2_removexattr(struct zus_sb *zsb, uint64_t ino, const char *name);

/* ---- super.c ---- */
int pmfs2_mount(struct zus_sb *zsb);
void pmfs2_umount(struct zus_sb *zsb);
int pmfs2_remount(struct zus_sb *zsb, const char *options, bool readonly);
void pmfs2_shutdown(struct zus_sb *zsb);
int pmfs2_statfs(struct zus_sb *zsb, struct zus_statfs *st);
int pmfs2_sync(struct zus_sb *zsb);
uint64_t pmfs2_root_ino(struct zus_sb *zsb);

extern const struct zus_fs_ops pmfs2_ops;

#include "pmfs2_tier.h"

#endif /* PMFS2_H */
