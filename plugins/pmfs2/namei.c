// SPDX-License-Identifier: BSD-2-Clause
/*
 * namei.c - namespace operations, each one transaction.
 *
 * Changes hold ns_lock for writing, so a name resolved under it stays put;
 * the inodes involved are then write-locked together in stripe order.
 * Lookups and readdir hold ns_lock for reading.
 */
#include <stdlib.h>
#include <string.h>

#include "pmfs2.h"

static int check_name(const char *name, size_t len)
{
	if (!len)
		return -ENOENT;
	if (len > PMFS2_NAME_MAX)
		return -ENAMETOOLONG;
	if (memchr(name, '/', len) || memchr(name, 0, len))
		return -EINVAL;
	return 0;
}

static bool is_dots(const char *name, size_t len)
{
	return (len == 1 && name[0] == '.') ||
	       (len == 2 && name[0] == '.' && name[1] == '.');
}

static int get_dir(struct pmfs2_sbi *sbi, uint64_t ino,
		   struct pmfs2_inode **pi)
{
	int err = pmfs2_iget(sbi, ino, pi);

	if (!err && !S_ISDIR((*pi)->mode))
		err = -ENOTDIR;
	return err;
}

/* Under ns_lock: the inode name resolves to in dir, 0 if none. */
static int resolve(struct pmfs2_sbi *sbi, uint64_t dir, const char *name,
		   size_t len, uint64_t *child)
{
	struct pmfs2_inode *pd;
	int err;

	*child = 0;
	pmfs2_ilock(sbi, dir, false);
	err = get_dir(sbi, dir, &pd);
	if (!err)
		err = pmfs2_dir_lookup(sbi, pd, name, len, child);
	pmfs2_iunlock(sbi, dir);
	if (err == -ENOENT) {
		*child = 0;
		err = 0;
	}
	return err;
}

static void touch_dir(struct pmfs2_inode *dir, int64_t now)
{
	dir->mtime = dir->ctime = now;
}

int pmfs2_lookup(struct zus_sb *zsb, uint64_t dir, const char *name,
		 size_t namelen, struct zus_attr *out)
{
	struct pmfs2_sbi *sbi = PMFS2_SBI(zsb);
	struct pmfs2_inode *pd, *pi;
	uint64_t child = 0;
	int err;

	err = check_name(name, namelen);
	if (err)
		return err;
	pthread_rwlock_rdlock(&sbi->ns_lock);
	pmfs2_ilock(sbi, dir, false);
	err = get_dir(sbi, dir, &pd);
	if (!err) {
		if (namelen == 1 && name[0] == '.')
			child = dir;
		else if (is_dots(name, namelen))
			child = pd->parent ? pd->parent : dir;
		else if (!pd->nlink)
			err = -ENOENT;
		else
			err = pmfs2_dir_lookup(sbi, pd, name, namelen, &child);
	}
	pmfs2_iunlock(sbi, dir);
	if (!err) {
		pmfs2_ilock(sbi, child, false);
		err = pmfs2_iget_ref(sbi, child, &pi);
		if (!err)
			pmfs2_fill_attr(sbi, child, pi, out);
		pmfs2_iunlock(sbi, child);
	}
	pthread_rwlock_unlock(&sbi->ns_lock);
	return err;
}

static int write_symlink(struct pmfs2_tx *tx, struct pmfs2_inode *pi,
			 const char *target, size_t len)
{
	uint64_t blk;
	bool isnew;
	int err;

	pi->size = len;
	if (len < PMFS2_INLINE_SIZE) {
		memcpy(pi->inline_data, target, len);
		return 0;
	}
	err = pmfs2_bmap_map(tx, pi, 0, PMFS2_MAP_ZERO, &blk, &isnew);
	if (!err)
		zus_pmem_memcpy_nt(tx->sbi->pm, pmfs2_blk(tx->sbi, blk),
				   target, len);
	return err;
}

/* create, mkdir, mknod and symlink: a new inode and its name. */
static int new_entry(struct pmfs2_sbi *sbi, uint64_t dir, const char *name,
		     size_t len, uint32_t mode, uint32_t rdev,
		     const char *target, const struct zus_creds *cr,
		     struct zus_attr *out)
{
	struct pmfs2_inode *pd, *pi;
	struct pmfs2_lockset ls;
	struct pmfs2_tx *tx;
	uint64_t ino = 0;
	int err;

	err = check_name(name, len);
	if (err)
		return err;
	if (is_dots(name, len))
		return -EEXIST;
	if (pmfs2_ro(sbi))
		return -EROFS;
	pthread_rwlock_wrlock(&sbi->ns_lock);
	pmfs2_lock_inodes(sbi, &ls, &dir, 1);
	err = get_dir(sbi, dir, &pd);
	if (!err && !pd->nlink)
		err = -ENOENT;
	if (!err) {
		err = pmfs2_dir_lookup(sbi, pd, name, len, &ino);
		if (!err)
			err = -EEXIST;
		else if (err == -ENOENT)
			err = 0;
	}
	if (!err && S_ISDIR(mode) && pd->nlink >= PMFS2_LINK_MAX)
		err = -EMLINK;
	if (err)
		goto out;
	tx = pmfs2_tx_begin(sbi);
	err = pmfs2_new_inode(tx, mode, rdev, cr, dir, &ino, &pi);
	if (!err && target)
		err = write_symlink(tx, pi, target, strlen(target));
	if (!err)
		err = pmfs2_dir_add(tx, pd, name, len, ino, pmfs2_dtype(mode));
	if (!err) {
		if (S_ISDIR(mode))
			pd->nlink++;
		touch_dir(pd, pi->ctime);
	}
	err = pmfs2_tx_end(tx, err);
	if (!err && out)
		pmfs2_fill_attr(sbi, ino, pi, out);
out:
	pmfs2_unlock_inodes(sbi, &ls);
	pthread_rwlock_unlock(&sbi->ns_lock);
	return err;
}

int pmfs2_create(struct zus_sb *zsb, uint64_t dir, const char *name,
		 size_t namelen, uint32_t mode, uint32_t rdev,
		 const struct zus_creds *cr, struct zus_attr *out)
{
	switch (mode & S_IFMT) {
	case 0:
		mode |= S_IFREG;
		break;
	case S_IFREG: case S_IFCHR: case S_IFBLK: case S_IFIFO: case S_IFSOCK:
		break;
	default:
		return -EINVAL;
	}
	return new_entry(PMFS2_SBI(zsb), dir, name, namelen,
			 (mode & S_IFMT) | (mode & 07777), rdev, NULL, cr, out);
}

int pmfs2_mkdir(struct zus_sb *zsb, uint64_t dir, const char *name,
		size_t namelen, uint32_t mode, const struct zus_creds *cr,
		struct zus_attr *out)
{
	return new_entry(PMFS2_SBI(zsb), dir, name, namelen,
			 S_IFDIR | (mode & 07777), 0, NULL, cr, out);
}

int pmfs2_symlink(struct zus_sb *zsb, uint64_t dir, const char *name,
		  size_t namelen, const char *target,
		  const struct zus_creds *cr, struct zus_attr *out)
{
	size_t tlen = target ? strnlen(target, ZUS_PATH_MAX) : 0;

	if (!tlen)
		return -ENOENT;
	if (tlen >= ZUS_PATH_MAX)
		return -ENAMETOOLONG;
	return new_entry(PMFS2_SBI(zsb), dir, name, namelen, S_IFLNK | 0777,
			 0, target, cr, out);
}

int pmfs2_tmpfile(struct zus_sb *zsb, uint64_t dir, uint32_t mode,
		  const struct zus_creds *cr, struct zus_attr *out)
{
	struct pmfs2_sbi *sbi = PMFS2_SBI(zsb);
	struct pmfs2_inode *pd, *pi;
	struct pmfs2_tx *tx;
	uint64_t ino = 0;
	int err;

	if (pmfs2_ro(sbi))
		return -EROFS;
	pmfs2_ilock(sbi, dir, false);
	err = get_dir(sbi, dir, &pd);
	if (!err && !pd->nlink)
		err = -ENOENT;
	pmfs2_iunlock(sbi, dir);
	if (err)
		return err;
	/* nobody else knows the new inode until we return it */
	tx = pmfs2_tx_begin(sbi);
	err = pmfs2_new_inode(tx, S_IFREG | (mode & 07777), 0, cr, 0, &ino,
			      &pi);
	if (!err)
		pi->nlink = 0;
	err = pmfs2_tx_end(tx, err);
	if (err)
		return err;
	pmfs2_set_linkable(sbi, ino, true);
	if (out)
		pmfs2_fill_attr(sbi, ino, pi, out);
	return 0;
}

int pmfs2_link(struct zus_sb *zsb, uint64_t ino, uint64_t newdir,
	       const char *name, size_t namelen, struct zus_attr *out)
{
	struct pmfs2_sbi *sbi = PMFS2_SBI(zsb);
	uint64_t inos[2] = { ino, newdir }, other;
	struct pmfs2_inode *pd, *pi;
	struct pmfs2_lockset ls;
	struct pmfs2_tx *tx;
	int64_t now;
	int err;

	err = check_name(name, namelen);
	if (err)
		return err;
	if (is_dots(name, namelen))
		return -EEXIST;
	if (pmfs2_ro(sbi))
		return -EROFS;
	pthread_rwlock_wrlock(&sbi->ns_lock);
	pmfs2_lock_inodes(sbi, &ls, inos, 2);
	err = pmfs2_iget(sbi, ino, &pi);
	if (!err && S_ISDIR(pi->mode))
		err = -EPERM;
	if (!err)
		err = get_dir(sbi, newdir, &pd);
	if (!err && !pd->nlink)
		err = -ENOENT;
	if (!err && !pi->nlink && !pmfs2_is_linkable(sbi, ino))
		err = -ENOENT;
	if (!err && pi->nlink >= PMFS2_LINK_MAX)
		err = -EMLINK;
	if (!err) {
		err = pmfs2_dir_lookup(sbi, pd, name, namelen, &other);
		if (!err)
			err = -EEXIST;
		else if (err == -ENOENT)
			err = 0;
	}
	if (err)
		goto out;
	tx = pmfs2_tx_begin(sbi);
	now = pmfs2_now();
	err = pmfs2_tx_log(tx, pi, sizeof(*pi));
	if (!err)
		err = pmfs2_dir_add(tx, pd, name, namelen, ino,
				    pmfs2_dtype(pi->mode));
	if (!err) {
		pi->nlink++;
		pi->ctime = now;
		touch_dir(pd, now);
	}
	err = pmfs2_tx_end(tx, err);
	if (!err) {
		pmfs2_set_linkable(sbi, ino, false);
		if (out)
			pmfs2_fill_attr(sbi, ino, pi, out);
	}
out:
	pmfs2_unlock_inodes(sbi, &ls);
	pthread_rwlock_unlock(&sbi->ns_lock);
	return err;
}

/* unlink and rmdir */
static int remove_entry(struct pmfs2_sbi *sbi, uint64_t dir, const char *name,
			size_t len, bool isdir)
{
	struct pmfs2_inode *pd, *pi;
	struct pmfs2_lockset ls;
	struct pmfs2_tx *tx;
	uint64_t inos[2] = { dir, 0 }, n;
	int64_t now;
	int err;

	err = check_name(name, len);
	if (err)
		return err;
	if (is_dots(name, len)) {
		if (!isdir)
			return -EISDIR;
		return len == 1 ? -EINVAL : -ENOTEMPTY;
	}
	if (pmfs2_ro(sbi))
		return -EROFS;
	pthread_rwlock_wrlock(&sbi->ns_lock);
	err = resolve(sbi, dir, name, len, &inos[1]);
	if (!err && !inos[1])
		err = -ENOENT;
	if (err) {
		pthread_rwlock_unlock(&sbi->ns_lock);
		return err;
	}
	pmfs2_lock_inodes(sbi, &ls, inos, 2);
	err = get_dir(sbi, dir, &pd);
	if (!err)
		err = pmfs2_iget_ref(sbi, inos[1], &pi);
	if (!err) {
		if (isdir && !S_ISDIR(pi->mode))
			err = -ENOTDIR;
		else if (!isdir && S_ISDIR(pi->mode))
			err = -EISDIR;
	}
	if (!err && isdir) {
		err = pmfs2_dir_count(sbi, pi, &n);
		if (!err && n)
			err = -ENOTEMPTY;
	}
	if (err)
		goto out;
	tx = pmfs2_tx_begin(sbi);
	now = pmfs2_now();
	err = pmfs2_tx_log(tx, pi, sizeof(*pi));
	if (!err)
		err = pmfs2_dir_remove(tx, pd, name, len);
	if (!err) {
		/* nlink 0 keeps the inode until evict (or the next mount) */
		if (isdir) {
			pi->nlink = 0;
			if (pd->nlink > 2)
				pd->nlink--;
		} else if (pi->nlink) {
			pi->nlink--;
		}
		pi->ctime = now;
		touch_dir(pd, now);
	}
	err = pmfs2_tx_end(tx, err);
out:
	pmfs2_unlock_inodes(sbi, &ls);
	pthread_rwlock_unlock(&sbi->ns_lock);
	return err;
}

int pmfs2_unlink(struct zus_sb *zsb, uint64_t dir, const char *name,
		 size_t namelen)
{
	return remove_entry(PMFS2_SBI(zsb), dir, name, namelen, false);
}

int pmfs2_rmdir(struct zus_sb *zsb, uint64_t dir, const char *name,
		size_t namelen)
{
	return remove_entry(PMFS2_SBI(zsb), dir, name, namelen, true);
}

/* Is anc dir or one of its ancestors?  Under ns_lock: parents are stable. */
static int is_ancestor(struct pmfs2_sbi *sbi, uint64_t anc, uint64_t dir,
		       bool *yes)
{
	uint64_t steps = 0;

	*yes = false;
	for (;;) {
		struct pmfs2_inode *pi;
		uint64_t parent;

		if (dir == anc) {
			*yes = true;
			return 0;
		}
		if (dir == sbi->s.root_ino)
			return 0;
		pi = pmfs2_inode_at(sbi->pm, &sbi->s, dir);
		if (!pi || ++steps >= sbi->s.inode_count)
			return pmfs2_corrupt(sbi, "directory %llu: parent chain broken or looping",
					     (unsigned long long)dir);
		parent = pi->parent;
		if (!parent || parent == dir)
			return 0;
		dir = parent;
	}
}

struct rename_args {
	uint64_t olddir, newdir, src, dst;
	const char *oldname, *newname;
	size_t oldlen, newlen;
	unsigned int flags;
	struct pmfs2_inode *pod, *pnd, *ps, *pd;
};

static int rename_check(struct pmfs2_sbi *sbi, struct rename_args *a)
{
	bool sdir, ddir, x = a->flags & ZUS_RENAME_EXCHANGE, anc;
	uint64_t n;
	int err;

	err = get_dir(sbi, a->olddir, &a->pod);
	if (!err)
		err = get_dir(sbi, a->newdir, &a->pnd);
	if (!err)
		err = pmfs2_iget_ref(sbi, a->src, &a->ps);
	if (!err && a->dst)
		err = pmfs2_iget_ref(sbi, a->dst, &a->pd);
	if (err)
		return err;
	if (!a->pnd->nlink)
		return -ENOENT;
	sdir = S_ISDIR(a->ps->mode);
	ddir = a->dst && S_ISDIR(a->pd->mode);
	if (a->dst && !x) {
		if (sdir && !ddir)
			return -ENOTDIR;
		if (!sdir && ddir)
			return -EISDIR;
		if (ddir) {
			err = pmfs2_dir_count(sbi, a->pd, &n);
			if (err)
				return err;
			if (n)
				return -ENOTEMPTY;
		}
	}
	if (a->olddir == a->newdir)
		return 0;
	if (sdir) {
		err = is_ancestor(sbi, a->src, a->newdir, &anc);
		if (err || anc)
			return err ? err : -EINVAL;
		if (!ddir && a->pnd->nlink >= PMFS2_LINK_MAX)
			return -EMLINK;
	}
	if (x && ddir) {
		err = is_ancestor(sbi, a->dst, a->olddir, &anc);
		if (err || anc)
			return err ? err : -EINVAL;
		if (!sdir && a->pod->nlink >= PMFS2_LINK_MAX)
			return -EMLINK;
	}
	return 0;
}

static int rename_tx(struct pmfs2_tx *tx, struct rename_args *a)
{
	bool sdir = S_ISDIR(a->ps->mode), ddir = a->dst && S_ISDIR(a->pd->mode);
	bool moved = a->olddir != a->newdir;
	int64_t now = pmfs2_now();
	int err;

	err = pmfs2_tx_log(tx, a->pod, sizeof(*a->pod));
	if (!err)
		err = pmfs2_tx_log(tx, a->pnd, sizeof(*a->pnd));
	if (!err)
		err = pmfs2_tx_log(tx, a->ps, sizeof(*a->ps));
	if (!err && a->dst)
		err = pmfs2_tx_log(tx, a->pd, sizeof(*a->pd));
	if (err)
		return err;
	if (a->flags & ZUS_RENAME_EXCHANGE) {
		err = pmfs2_dir_retarget(tx, a->pod, a->oldname, a->oldlen,
					 a->dst, pmfs2_dtype(a->pd->mode));
		if (!err)
			err = pmfs2_dir_retarget(tx, a->pnd, a->newname,
						 a->newlen, a->src,
						 pmfs2_dtype(a->ps->mode));
		if (err)
			return err;
		if (moved && sdir) {
			a->ps->parent = a->newdir;
			a->pod->nlink--;
			a->pnd->nlink++;
		}
		if (moved && ddir) {
			a->pd->parent = a->olddir;
			a->pnd->nlink--;
			a->pod->nlink++;
		}
		a->pd->ctime = now;
	} else {
		if (a->dst)
			err = pmfs2_dir_retarget(tx, a->pnd, a->newname,
						 a->newlen, a->src,
						 pmfs2_dtype(a->ps->mode));
		else
			err = pmfs2_dir_add(tx, a->pnd, a->newname, a->newlen,
					    a->src, pmfs2_dtype(a->ps->mode));
		if (!err)
			err = pmfs2_dir_remove(tx, a->pod, a->oldname,
					       a->oldlen);
		if (err)
			return err;
		if (sdir) {
			a->ps->parent = a->newdir;
			if (moved) {
				a->pod->nlink--;
				a->pnd->nlink++;
			}
		}
		if (ddir) {
			a->pd->nlink = 0;
			a->pnd->nlink--;	/* its ".." is gone */
		} else if (a->dst && a->pd->nlink) {
			a->pd->nlink--;
		}
		if (a->dst)
			a->pd->ctime = now;
	}
	a->ps->ctime = now;
	touch_dir(a->pod, now);
	touch_dir(a->pnd, now);
	return 0;
}

int pmfs2_rename(struct zus_sb *zsb, uint64_t olddir, const char *oldname,
		 size_t oldlen, uint64_t newdir, const char *newname,
		 size_t newlen, unsigned int flags)
{
	struct pmfs2_sbi *sbi = PMFS2_SBI(zsb);
	struct rename_args a = {
		.olddir = olddir, .newdir = newdir, .oldname = oldname,
		.newname = newname, .oldlen = oldlen, .newlen = newlen,
		.flags = flags,
	};
	struct pmfs2_lockset ls;
	int err;

	if ((flags & ~(ZUS_RENAME_NOREPLACE | ZUS_RENAME_EXCHANGE)) ||
	    ((flags & ZUS_RENAME_NOREPLACE) && (flags & ZUS_RENAME_EXCHANGE)))
		return -EINVAL;
	err = check_name(oldname, oldlen);
	if (!err)
		err = check_name(newname, newlen);
	if (err)
		return err;
	if (is_dots(oldname, oldlen) || is_dots(newname, newlen))
		return -EBUSY;
	if (pmfs2_ro(sbi))
		return -EROFS;
	pthread_rwlock_wrlock(&sbi->ns_lock);
	err = resolve(sbi, olddir, oldname, oldlen, &a.src);
	if (!err && !a.src)
		err = -ENOENT;
	if (!err)
		err = resolve(sbi, newdir, newname, newlen, &a.dst);
	if (!err && (flags & ZUS_RENAME_EXCHANGE) && !a.dst)
		err = -ENOENT;
	if (!err && (flags & ZUS_RENAME_NOREPLACE) && a.dst)
		err = -EEXIST;
	/* both names already link the same inode: nothing to do (POSIX) */
	if (err || a.src == a.dst) {
		pthread_rwlock_unlock(&sbi->ns_lock);
		return err;
	}
	{
		uint64_t inos[4] = { olddir, newdir, a.src, a.dst };

		pmfs2_lock_inodes(sbi, &ls, inos, 4);
	}
	err = rename_check(sbi, &a);
	if (!err) {
		struct pmfs2_tx *tx = pmfs2_tx_begin(sbi);

		err = pmfs2_tx_end(tx, rename_tx(tx, &a));
	}
	pmfs2_unlock_inodes(sbi, &ls);
	pthread_rwlock_unlock(&sbi->ns_lock);
	return err;
}

int pmfs2_readlink(struct zus_sb *zsb, uint64_t ino, char *buf, size_t size,
		   size_t *len)
{
	struct pmfs2_sbi *sbi = PMFS2_SBI(zsb);
	struct pmfs2_inode *pi;
	const char *src;
	uint64_t blk;
	size_t n;
	int err;

	pmfs2_ilock(sbi, ino, false);
	err = pmfs2_iget(sbi, ino, &pi);
	if (!err && !S_ISLNK(pi->mode))
		err = -EINVAL;
	if (err)
		goto out;
	n = pi->size;
	if (n < PMFS2_INLINE_SIZE) {
		src = (const char *)pi->inline_data;
	} else {
		err = pmfs2_bmap_lookup(sbi, pi, 0, &blk);
		if (!err && !blk)
			err = pmfs2_corrupt(sbi, "symlink %llu has no target block",
					    (unsigned long long)ino);
		if (err)
			goto out;
		src = pmfs2_blk(sbi, blk);
	}
	if (n > size)
		n = size;
	memcpy(buf, src, n);
	if (n < size)
		buf[n] = 0;
	*len = n;
out:
	pmfs2_iunlock(sbi, ino);
	return err;
}

/* Names the dir's lock holds are copied out; emit runs with no lock held. */
int pmfs2_readdir(struct zus_sb *zsb, uint64_t dir, uint64_t cookie,
		  zus_filldir_t emit, void *ctx)
{
	struct pmfs2_sbi *sbi = PMFS2_SBI(zsb);
	struct pmfs2_dirbuf *buf;
	struct pmfs2_inode *pd;
	uint64_t parent, start;
	int err;

	pmfs2_ilock(sbi, dir, false);
	err = get_dir(sbi, dir, &pd);
	parent = err ? 0 : pd->parent ? pd->parent : dir;
	pmfs2_iunlock(sbi, dir);
	if (err)
		return err;
	if (cookie == 0 && emit(ctx, ".", 1, dir, ZUS_DT_DIR, 1))
		return 0;
	if (cookie <= 1 && emit(ctx, "..", 2, parent, ZUS_DT_DIR, 2))
		return 0;
	if (cookie >= PMFS2_DIR_COOKIE_FIRST +
		      (1ull << PMFS2_DIR_HASH_BITS) - 1)
		return 0;
	start = cookie < PMFS2_DIR_COOKIE_FIRST ? 0 :
		cookie - PMFS2_DIR_COOKIE_FIRST + 1;
	buf = malloc(sizeof(*buf));
	if (!buf)
		return -ENOMEM;
	while (start < (1ull << PMFS2_DIR_HASH_BITS)) {
		uint64_t next;

		/* the host holds dir: it stays a directory, and its index
		 * changes only under ns_lock */
		pthread_rwlock_rdlock(&sbi->ns_lock);
		err = pmfs2_dir_read_bucket(sbi, pd, start, buf, &next);
		pthread_rwlock_unlock(&sbi->ns_lock);
		if (err)
			break;
		for (unsigned int i = 0; i < buf->n; i++) {
			const struct pmfs2_dirbuf_ent *e = &buf->e[i];

			if (emit(ctx, e->name, e->len, e->ino, e->type,
				 e->hash + PMFS2_DIR_COOKIE_FIRST))
				goto out;
		}
		start = next;
	}
out:
	free(buf);
	return err;
}
