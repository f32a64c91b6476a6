// SPDX-License-Identifier: BSD-2-Clause
/*
 * inode.c - the inode table, attributes and eviction.
 *
 * An inode whose last name goes (unlink, rmdir, rename over it) stays in
 * the table with nlink 0 while the host still holds it: open files keep
 * working.  evict() is the host saying it let go; only then is it freed.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "memfs.h"

void memfs_now(struct zus_time *t)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	t->sec = ts.tv_sec;
	t->nsec = (uint32_t)ts.tv_nsec;
	t->pad = 0;
}

/* A change: ctime moves, and mtime too when the content changed. */
void memfs_touch(struct memfs_inode *in, bool mtime)
{
	memfs_now(&in->attr.ctime);
	if (mtime)
		in->attr.mtime = in->attr.ctime;
}

struct memfs_inode *memfs_iget(struct memfs_sb *m, uint64_t ino)
{
	return ino < m->ninodes ? m->inodes[ino] : NULL;
}

/* A free slot (numbers are reused once evicted), growing the table. */
static int find_slot(struct memfs_sb *m, uint64_t *ino)
{
	struct memfs_inode **t;
	uint64_t i, n;

	for (i = MEMFS_ROOT_INO; i < m->ninodes; i++)
		if (!m->inodes[i]) {
			*ino = i;
			return 0;
		}
	n = m->ninodes ? m->ninodes * 2 : 64;
	t = realloc(m->inodes, n * sizeof(*t));
	if (!t)
		return -ENOMEM;
	memset(t + m->ninodes, 0, (n - m->ninodes) * sizeof(*t));
	*ino = m->ninodes ? m->ninodes : MEMFS_ROOT_INO;
	m->inodes = t;
	m->ninodes = n;
	return 0;
}

int memfs_new_inode(struct memfs_sb *m, uint32_t mode,
		    const struct zus_creds *cr, struct memfs_inode **out)
{
	struct memfs_inode *in;
	uint64_t ino;
	int err;

	if (m->files >= m->max_files)
		return -ENOSPC;
	err = find_slot(m, &ino);
	if (err)
		return err;
	in = calloc(1, sizeof(*in));
	if (!in)
		return -ENOMEM;
	in->attr.ino = ino;
	in->attr.mode = mode;
	in->attr.nlink = S_ISDIR(mode) ? 2 : 1;
	in->attr.uid = cr->uid;
	in->attr.gid = cr->gid;
	in->attr.blksize = MEMFS_BLOCK_SIZE;
	/* a reused number is a new file: NFS-style handles tell them apart */
	in->attr.generation = m->next_gen++;
	memfs_now(&in->attr.btime);
	in->attr.atime = in->attr.mtime = in->attr.ctime = in->attr.btime;
	m->inodes[ino] = in;
	m->files++;
	*out = in;
	return 0;
}

void memfs_free_inode(struct memfs_sb *m, struct memfs_inode *in)
{
	memfs_free_blocks(m, in, 0);
	free(in->blk);
	for (size_t i = 0; i < in->nents; i++)
		free(in->ents[i].name);
	free(in->ents);
	free(in->target);
	memfs_free_xattrs(in);
	m->inodes[in->attr.ino] = NULL;
	m->files--;
	free(in);
}

int memfs_getattr(struct zus_sb *zsb, uint64_t ino, struct zus_attr *out)
{
	struct memfs_sb *m = memfs_lock(zsb);
	struct memfs_inode *in = memfs_iget(m, ino);

	if (in)
		*out = in->attr;
	memfs_unlock(m);
	return in ? 0 : -ESTALE;
}

int memfs_setattr(struct zus_sb *zsb, uint64_t ino,
		  const struct zus_setattr *sa, struct zus_attr *out)
{
	struct memfs_sb *m = memfs_lock(zsb);
	struct memfs_inode *in = memfs_iget(m, ino);
	struct zus_time now;
	int err = 0;

	memfs_now(&now);
	if (!in)
		err = -ESTALE;
	else if (m->readonly)
		err = -EROFS;
	if (!err && (sa->valid & ZUS_SET_SIZE)) {
		if (S_ISDIR(in->attr.mode))
			err = -EISDIR;
		else if (!S_ISREG(in->attr.mode))
			err = -EINVAL;
		else if (sa->size > MEMFS_MAX_FILE_SIZE)
			err = -EFBIG;
		else
			err = memfs_truncate(m, in, sa->size);
		/* a truncate moves mtime even to the same size, as on ext4 */
		if (!err && !(sa->valid & (ZUS_SET_MTIME | ZUS_SET_MTIME_NOW)))
			in->attr.mtime = now;
	}
	if (err)
		goto out;
	if (sa->valid & ZUS_SET_MODE)
		in->attr.mode = (in->attr.mode & S_IFMT) | (sa->mode & 07777);
	if (sa->valid & ZUS_SET_UID)
		in->attr.uid = sa->uid;
	if (sa->valid & ZUS_SET_GID)
		in->attr.gid = sa->gid;
	if (sa->valid & ZUS_SET_ATIME_NOW)
		in->attr.atime = now;
	else if (sa->valid & ZUS_SET_ATIME)
		in->attr.atime = sa->atime;
	if (sa->valid & ZUS_SET_MTIME_NOW)
		in->attr.mtime = now;
	else if (sa->valid & ZUS_SET_MTIME)
		in->attr.mtime = sa->mtime;
	if (sa->valid & ZUS_SET_CTIME)
		in->attr.ctime = sa->ctime;
	else if (!(sa->valid & ZUS_SET_KEEP_CTIME))
		in->attr.ctime = now;	/* an access keeps it; all else moves it */
	if (out)
		*out = in->attr;
out:
	memfs_unlock(m);
	return err;
}

void memfs_evict(struct zus_sb *zsb, uint64_t ino)
{
	struct memfs_sb *m = memfs_lock(zsb);
	struct memfs_inode *in = memfs_iget(m, ino);

	if (in && !in->attr.nlink)
		memfs_free_inode(m, in);
	memfs_unlock(m);
}
