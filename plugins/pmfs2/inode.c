// SPDX-License-Identifier: BSD-2-Clause
/*
 * inode.c - inode locks, validation, attributes, creation and release.
 */
#include <string.h>

#include "pmfs2.h"

static pthread_rwlock_t *ilock_of(struct pmfs2_sbi *sbi, uint64_t ino)
{
	return &sbi->ilock[ino % PMFS2_ILOCK_STRIPES];
}

void pmfs2_ilock(struct pmfs2_sbi *sbi, uint64_t ino, bool wr)
{
	if (wr)
		pthread_rwlock_wrlock(ilock_of(sbi, ino));
	else
		pthread_rwlock_rdlock(ilock_of(sbi, ino));
}

void pmfs2_iunlock(struct pmfs2_sbi *sbi, uint64_t ino)
{
	pthread_rwlock_unlock(ilock_of(sbi, ino));
}

void pmfs2_lock_inodes(struct pmfs2_sbi *sbi, struct pmfs2_lockset *ls,
		       const uint64_t *inos, unsigned int n)
{
	ls->n = 0;
	for (unsigned int i = 0; i < n; i++) {
		unsigned int s = (unsigned int)(inos[i] % PMFS2_ILOCK_STRIPES);
		unsigned int j;

		if (!inos[i])
			continue;
		for (j = 0; j < ls->n && ls->stripe[j] < s; j++)
			;
		if (j < ls->n && ls->stripe[j] == s)
			continue;
		memmove(&ls->stripe[j + 1], &ls->stripe[j],
			(ls->n - j) * sizeof(ls->stripe[0]));
		ls->stripe[j] = s;
		ls->n++;
	}
	for (unsigned int i = 0; i < ls->n; i++)
		pthread_rwlock_wrlock(&sbi->ilock[ls->stripe[i]]);
}

void pmfs2_unlock_inodes(struct pmfs2_sbi *sbi, struct pmfs2_lockset *ls)
{
	for (unsigned int i = ls->n; i-- > 0;)
		pthread_rwlock_unlock(&sbi->ilock[ls->stripe[i]]);
	ls->n = 0;
}

int64_t pmfs2_time_to_ns(const struct zus_time *t)
{
	/* clamp to what a signed 64-bit nanosecond count holds (1677..2262) */
	const int64_t max_sec = INT64_MAX / PMFS2_NSEC - 1;
	int64_t nsec = t->nsec < PMFS2_NSEC ? t->nsec : PMFS2_NSEC - 1;

	if (t->sec > max_sec)
		return INT64_MAX;
	if (t->sec < -max_sec)
		return INT64_MIN;
	return t->sec * PMFS2_NSEC + nsec;
}

unsigned int pmfs2_dtype(uint32_t mode)
{
	return (mode & S_IFMT) >> 12;
}

int pmfs2_inode_check(struct pmfs2_sbi *sbi, uint64_t ino,
		      const struct pmfs2_inode *pi)
{
	uint32_t type = pi->mode & S_IFMT;
	uint64_t map = pi->map;

	switch (type) {
	case S_IFREG: case S_IFDIR: case S_IFLNK: case S_IFCHR:
	case S_IFBLK: case S_IFIFO: case S_IFSOCK:
		break;
	default:
		return pmfs2_corrupt(sbi, "inode %llu has bad mode %#o",
				     (unsigned long long)ino, pi->mode);
	}
	if (map && (pmfs2_map_height(map) > PMFS2_MAX_HEIGHT ||
		    !pmfs2_data_block_ok(&sbi->s, pmfs2_map_block(map))))
		return pmfs2_corrupt(sbi, "inode %llu has bad map %#llx",
				     (unsigned long long)ino,
				     (unsigned long long)map);
	if (pi->xattr_block && !pmfs2_data_block_ok(&sbi->s, pi->xattr_block))
		return pmfs2_corrupt(sbi, "inode %llu has bad xattr block %llu",
				     (unsigned long long)ino,
				     (unsigned long long)pi->xattr_block);
	if (pi->size > PMFS2_MAX_FILE_SIZE)
		return pmfs2_corrupt(sbi, "inode %llu has bad size %llu",
				     (unsigned long long)ino,
				     (unsigned long long)pi->size);
	if (type == S_IFLNK && (pi->size == 0 || pi->size >= ZUS_PATH_MAX))
		return pmfs2_corrupt(sbi, "symlink %llu has bad length %llu",
				     (unsigned long long)ino,
				     (unsigned long long)pi->size);
	if (type == S_IFDIR && pi->parent &&
	    (pi->parent >= sbi->s.inode_count))
		return pmfs2_corrupt(sbi, "directory %llu has bad parent %llu",
				     (unsigned long long)ino,
				     (unsigned long long)pi->parent);
	return 0;
}

static int iget(struct pmfs2_sbi *sbi, uint64_t ino, struct pmfs2_inode **pi,
		int bad)
{
	struct pmfs2_inode *p = pmfs2_inode_at(sbi->pm, &sbi->s, ino);

	if (!p || !p->mode) {
		if (bad == -EUCLEAN)
			return pmfs2_corrupt(sbi, "reference to %s inode %llu",
					     p ? "free" : "out-of-range",
					     (unsigned long long)ino);
		return bad;
	}
	*pi = p;
	return pmfs2_inode_check(sbi, ino, p);
}

int pmfs2_iget(struct pmfs2_sbi *sbi, uint64_t ino, struct pmfs2_inode **pi)
{
	return iget(sbi, ino, pi, -ESTALE);
}

int pmfs2_iget_ref(struct pmfs2_sbi *sbi, uint64_t ino,
		   struct pmfs2_inode **pi)
{
	return iget(sbi, ino, pi, -EUCLEAN);
}

uint64_t pmfs2_ino_of(struct pmfs2_sbi *sbi, const struct pmfs2_inode *pi)
{
	const char *base = pmfs2_blk(sbi, sbi->s.itable_start);

	return (uint64_t)((const char *)pi - base) / PMFS2_INODE_SIZE;
}

void pmfs2_fill_attr(struct pmfs2_sbi *sbi, uint64_t ino,
		     const struct pmfs2_inode *pi, struct zus_attr *out)
{
	memset(out, 0, sizeof(*out));
	out->ino = ino;
	out->size = pi->size;
	out->blocks = pi->blocks << (PMFS2_BLOCK_SHIFT - 9);
	out->mode = pi->mode;
	out->nlink = pi->nlink;
	out->uid = pi->uid;
	out->gid = pi->gid;
	out->rdev = pi->rdev;
	out->blksize = PMFS2_BLOCK_SIZE;
	out->generation = pi->generation;
	/* an access stores atime alone, atomically (pmfs2_setattr) */
	pmfs2_time_from_ns(__atomic_load_n(&pi->atime, __ATOMIC_RELAXED),
			   &out->atime);
	pmfs2_time_from_ns(pi->mtime, &out->mtime);
	pmfs2_time_from_ns(pi->ctime, &out->ctime);
	pmfs2_time_from_ns(pi->btime, &out->btime);
}

int pmfs2_new_inode(struct pmfs2_tx *tx, uint32_t mode, uint32_t rdev,
		    const struct zus_creds *cr, uint64_t parent, uint64_t *ino,
		    struct pmfs2_inode **pi)
{
	struct pmfs2_sbi *sbi = tx->sbi;
	struct pmfs2_inode n, *p;
	int64_t now = pmfs2_now();
	int err;

	err = pmfs2_new_ino(tx, ino);
	if (err)
		return err;
	p = pmfs2_inode_at(sbi->pm, &sbi->s, *ino);
	if (!p)
		return -EIO;
	err = pmfs2_tx_log(tx, p, sizeof(*p));
	if (err)
		return err;
	memset(&n, 0, sizeof(n));
	n.mode = mode;
	n.nlink = S_ISDIR(mode) ? 2 : 1;
	n.uid = cr ? cr->uid : 0;
	n.gid = cr ? cr->gid : 0;
	n.rdev = (S_ISCHR(mode) || S_ISBLK(mode)) ? rdev : 0;
	n.atime = n.mtime = n.ctime = n.btime = now;
	n.generation = sbi->next_gen++;	/* under tx_lock */
	n.parent = S_ISDIR(mode) ? parent : 0;
	memcpy(p, &n, sizeof(n));
	*pi = p;
	return 0;
}

/* Store mode and flags (the inode's first 8 bytes) in one atomic store. */
static void store_mode_flags(struct pmfs2_sbi *sbi, struct pmfs2_inode *pi,
			     uint32_t mode, uint32_t flags)
{
	pmfs2_store_persist(sbi, pi, (uint64_t)flags << 32 | mode);
}

int pmfs2_finish_trunc(struct pmfs2_sbi *sbi, struct pmfs2_inode *pi,
		       bool recount)
{
	uint64_t from = (pi->size + PMFS2_BLOCK_SIZE - 1) >> PMFS2_BLOCK_SHIFT;
	int err;

	/* an unfinished direct write past EOF may have filled the tail */
	err = pmfs2_zero_mapped(sbi, pi, pi->size,
				from << PMFS2_BLOCK_SHIFT);
	if (err)
		return err;
	zus_pmem_fence(sbi->pm);
	err = pmfs2_bmap_trim(sbi, pi, from, recount);
	if (err)
		return err;
	store_mode_flags(sbi, pi, pi->mode,
			 pi->flags & ~PMFS2_IF_TRUNC_PENDING);
	return 0;
}

/* No transaction: an inode with no links is reclaimed at mount anyway, so
 * every intermediate state is safe. */
int pmfs2_inode_release(struct pmfs2_sbi *sbi, uint64_t ino,
			struct pmfs2_inode *pi)
{
	uint64_t xb = pi->xattr_block;
	int err;

	err = pmfs2_bmap_trim(sbi, pi, 0, false);
	if (err)
		return err;
	if (xb) {
		pmfs2_store_persist(sbi, &pi->xattr_block, 0);
		pmfs2_free_block(sbi, xb);
	}
	store_mode_flags(sbi, pi, 0, 0);
	/* a free slot is all zeroes, as mkfs leaves it */
	zus_pmem_memset_nt(sbi->pm, (char *)pi + 8, 0, sizeof(*pi) - 8);
	zus_pmem_fence(sbi->pm);
	pmfs2_free_ino(sbi, ino);
	return 0;
}

int pmfs2_getattr(struct zus_sb *zsb, uint64_t ino, struct zus_attr *out)
{
	struct pmfs2_sbi *sbi = PMFS2_SBI(zsb);
	struct pmfs2_inode *pi;
	int err;

	pmfs2_ilock(sbi, ino, false);
	err = pmfs2_iget(sbi, ino, &pi);
	if (!err)
		pmfs2_fill_attr(sbi, ino, pi, out);
	pmfs2_iunlock(sbi, ino);
	return err;
}

static int setattr_check(const struct pmfs2_inode *pi,
			 const struct zus_setattr *sa)
{
	if (!(sa->valid & ZUS_SET_SIZE))
		return 0;
	if (S_ISDIR(pi->mode))
		return -EISDIR;
	if (!S_ISREG(pi->mode))
		return -EINVAL;
	if (sa->size > PMFS2_MAX_FILE_SIZE)
		return -EFBIG;
	return 0;
}

int pmfs2_setattr(struct zus_sb *zsb, uint64_t ino,
		  const struct zus_setattr *sa, struct zus_attr *out)
{
	struct pmfs2_sbi *sbi = PMFS2_SBI(zsb);
	struct pmfs2_inode *pi;
	struct pmfs2_tx *tx;
	int64_t now = pmfs2_now();
	int err;

	if (pmfs2_ro(sbi))
		return -EROFS;
	pmfs2_ilock(sbi, ino, true);
	err = pmfs2_iget(sbi, ino, &pi);
	if (!err)
		err = setattr_check(pi, sa);
	if (err)
		goto out;
	if (sa->valid == (ZUS_SET_ATIME | ZUS_SET_KEEP_CTIME)) {
		/* an access: one atomic store, no transaction */
		pmfs2_store_persist(sbi, &pi->atime,
				    (uint64_t)pmfs2_time_to_ns(&sa->atime));
		goto done;
	}
	tx = pmfs2_tx_begin(sbi);
	err = pmfs2_tx_log(tx, pi, sizeof(*pi));
	/* the size a direct write past EOF was guarded for (extend_guard) */
	if (!err && (sa->valid & ZUS_SET_SIZE) && sa->size >= pi->size)
		pi->flags &= ~PMFS2_IF_TRUNC_PENDING;
	if (!err && (sa->valid & ZUS_SET_SIZE) && sa->size != pi->size)
		err = pmfs2_truncate(sbi, tx, pi, sa->size);
	/* a truncate moves mtime even to the same size, as ext4's does (FUSE
	 * leaves that to the server) */
	if (!err && (sa->valid & ZUS_SET_SIZE) &&
	    !(sa->valid & (ZUS_SET_MTIME | ZUS_SET_MTIME_NOW)))
		pi->mtime = now;
	if (!err) {
		if (sa->valid & ZUS_SET_MODE)
			pi->mode = (pi->mode & S_IFMT) | (sa->mode & 07777);
		if (sa->valid & ZUS_SET_UID)
			pi->uid = sa->uid;
		if (sa->valid & ZUS_SET_GID)
			pi->gid = sa->gid;
		if (sa->valid & ZUS_SET_ATIME_NOW)
			pi->atime = now;
		else if (sa->valid & ZUS_SET_ATIME)
			pi->atime = pmfs2_time_to_ns(&sa->atime);
		if (sa->valid & ZUS_SET_MTIME_NOW)
			pi->mtime = now;
		else if (sa->valid & ZUS_SET_MTIME)
			pi->mtime = pmfs2_time_to_ns(&sa->mtime);
		if (sa->valid & ZUS_SET_CTIME)
			pi->ctime = pmfs2_time_to_ns(&sa->ctime);
		else if (!(sa->valid & ZUS_SET_KEEP_CTIME))
			pi->ctime = now;
	}
	err = pmfs2_tx_end(tx, err);
	if (!err && (pi->flags & PMFS2_IF_TRUNC_PENDING))
		err = pmfs2_finish_trunc(sbi, pi, false);
done:
	if (!err && out)
		pmfs2_fill_attr(sbi, ino, pi, out);
out:
	pmfs2_iunlock(sbi, ino);
	return err;
}

void pmfs2_evict(struct zus_sb *zsb, uint64_t ino)
{
	struct pmfs2_sbi *sbi = PMFS2_SBI(zsb);
	struct pmfs2_inode *pi;

	pmfs2_ilock(sbi, ino, true);
	if (!pmfs2_iget(sbi, ino, &pi)) {
		if (!pi->nlink && !pmfs2_ro(sbi))
			pmfs2_inode_release(sbi, ino, pi);
		else
			pmfs2_set_linkable(sbi, ino, false);
		/* a direct write past EOF whose size never came */
		if (pi->nlink && (pi->flags & PMFS2_IF_TRUNC_PENDING) &&
		    !pmfs2_ro(sbi))
			pmfs2_finish_trunc(sbi, pi, false);
	}
	pmfs2_iunlock(sbi, ino);
}
