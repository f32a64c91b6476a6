// SPDX-License-Identifier: BSD-2-Clause
/*
 * dir.c - directories and the namespace operations.
 *
 * A directory is an array of slots; a slot never moves, and a freed one is
 * reused by a later name.  The readdir cookie of slot i is i + 3 (1 and 2
 * resume after "." and ".."), so it stays valid across inserts and deletes
 * and seekdir/telldir work.  Lookup scans the slots: fine for an example,
 * slow for a directory of a million names (pmfs2 indexes them).
 *
 * Permissions are the host's (the VFS, or FUSE's default_permissions):
 * only the filesystem's own invariants are checked here.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "memfs.h"

static int check_name(const char *name, size_t len)
{
	if (!len)
		return -ENOENT;
	if (len > ZUS_NAME_MAX)
		return -ENAMETOOLONG;
	if (memchr(name, '/', len) || memchr(name, '\0', len))
		return -EINVAL;
	return 0;
}

static bool is_dots(const char *name, size_t len)
{
	return name[0] == '.' && (len == 1 || (len == 2 && name[1] == '.'));
}

static int get_dir(struct memfs_sb *m, uint64_t ino, struct memfs_inode **out)
{
	struct memfs_inode *d = memfs_iget(m, ino);

	if (!d)
		return -ESTALE;
	if (!S_ISDIR(d->attr.mode))
		return -ENOTDIR;
	*out = d;
	return 0;
}

/* The slot holding name, or -1. */
static ssize_t dir_find(const struct memfs_inode *d, const char *name,
			size_t len)
{
	for (size_t i = 0; i < d->nents; i++)
		if (d->ents[i].name && d->ents[i].len == len &&
		    !memcmp(d->ents[i].name, name, len))
			return (ssize_t)i;
	return -1;
}

static int dir_add(struct memfs_inode *d, const char *name, size_t len,
		   uint64_t ino)
{
	size_t i;

	for (i = 0; i < d->nents && d->ents[i].name; i++)
		;
	if (i == d->nents) {
		size_t n = d->nents ? d->nents * 2 : 8;
		struct memfs_dirent *t = realloc(d->ents, n * sizeof(*t));

		if (!t)
			return -ENOMEM;
		memset(t + d->nents, 0, (n - d->nents) * sizeof(*t));
		d->ents = t;
		d->nents = n;
	}
	d->ents[i].name = strndup(name, len);
	if (!d->ents[i].name)
		return -ENOMEM;
	d->ents[i].len = len;
	d->ents[i].ino = ino;
	d->nlive++;
	return 0;
}

static void dir_remove(struct memfs_inode *d, size_t i)
{
	free(d->ents[i].name);
	d->ents[i].name = NULL;
	d->nlive--;
}

/* A directory moves from one parent to another: ".." and the links. */
static void reparent(struct memfs_inode *in, struct memfs_inode *from,
		     struct memfs_inode *to)
{
	if (!S_ISDIR(in->attr.mode) || from == to)
		return;
	from->attr.nlink--;
	to->attr.nlink++;
	in->parent = to->attr.ino;
}

/* Is ino dir itself or one of its ancestors? */
static bool is_ancestor(struct memfs_sb *m, uint64_t ino, uint64_t dir)
{
	for (;;) {
		struct memfs_inode *d = memfs_iget(m, dir);

		if (dir == ino)
			return true;
		if (!d || dir == MEMFS_ROOT_INO)
			return false;
		dir = d->parent;
	}
}

int memfs_lookup(struct zus_sb *zsb, uint64_t dir, const char *name,
		 size_t len, struct zus_attr *out)
{
	struct memfs_sb *m = memfs_lock(zsb);
	struct memfs_inode *d, *in = NULL;
	int err = check_name(name, len);
	ssize_t i;

	if (!err)
		err = get_dir(m, dir, &d);
	if (!err && is_dots(name, len)) {
		in = memfs_iget(m, len == 1 ? dir : d->parent);
	} else if (!err) {
		i = dir_find(d, name, len);
		in = i < 0 ? NULL : memfs_iget(m, d->ents[i].ino);
	}
	if (!err && !in)
		err = -ENOENT;
	if (!err)
		*out = in->attr;
	memfs_unlock(m);
	return err;
}

/* create, mkdir and symlink: a new inode and its name in dir. */
static int new_node(struct zus_sb *zsb, uint64_t dir, const char *name,
		    size_t len, uint32_t mode, uint32_t rdev,
		    const char *target, const struct zus_creds *cr,
		    struct zus_attr *out)
{
	struct memfs_sb *m = memfs_lock(zsb);
	struct memfs_inode *d, *in;
	int err = check_name(name, len);

	if (!err)
		err = m->readonly ? -EROFS : get_dir(m, dir, &d);
	if (!err && !d->attr.nlink)
		err = -ENOENT;		/* dir was removed while open */
	if (!err && (is_dots(name, len) || dir_find(d, name, len) >= 0))
		err = -EEXIST;
	if (!err && S_ISDIR(mode) && d->attr.nlink >= MEMFS_LINK_MAX)
		err = -EMLINK;
	if (!err)
		err = memfs_new_inode(m, mode, cr, &in);
	if (err)
		goto out;
	if (S_ISCHR(mode) || S_ISBLK(mode))
		in->attr.rdev = rdev;
	if (target) {
		in->target = strdup(target);
		in->attr.size = strlen(target);
		if (!in->target)
			err = -ENOMEM;
	}
	if (!err)
		err = dir_add(d, name, len, in->attr.ino);
	if (err) {
		memfs_free_inode(m, in);
		goto out;
	}
	if (S_ISDIR(mode)) {
		in->parent = dir;
		d->attr.nlink++;
	}
	memfs_touch(d, true);
	*out = in->attr;
out:
	memfs_unlock(m);
	return err;
}

int memfs_create(struct zus_sb *zsb, uint64_t dir, const char *name,
		 size_t len, uint32_t mode, uint32_t rdev,
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
	return new_node(zsb, dir, name, len, mode, rdev, NULL, cr, out);
}

int memfs_mkdir(struct zus_sb *zsb, uint64_t dir, const char *name,
		size_t len, uint32_t mode, const struct zus_creds *cr,
		struct zus_attr *out)
{
	return new_node(zsb, dir, name, len, S_IFDIR | (mode & 07777), 0, NULL,
			cr, out);
}

int memfs_symlink(struct zus_sb *zsb, uint64_t dir, const char *name,
		  size_t len, const char *target, const struct zus_creds *cr,
		  struct zus_attr *out)
{
	size_t tlen = strnlen(target, ZUS_PATH_MAX);

	if (!tlen)
		return -ENOENT;
	if (tlen >= ZUS_PATH_MAX)
		return -ENAMETOOLONG;
	return new_node(zsb, dir, name, len, S_IFLNK | 0777, 0, target, cr,
			out);
}

/* O_TMPFILE: no name, nlink 0; link() may give it one, evict frees it. */
int memfs_tmpfile(struct zus_sb *zsb, uint64_t dir, uint32_t mode,
		  const struct zus_creds *cr, struct zus_attr *out)
{
	struct memfs_sb *m = memfs_lock(zsb);
	struct memfs_inode *d, *in;
	int err = m->readonly ? -EROFS : get_dir(m, dir, &d);

	if (!err && !d->attr.nlink)
		err = -ENOENT;
	if (!err)
		err = memfs_new_inode(m, S_IFREG | (mode & 07777), cr, &in);
	if (!err) {
		in->attr.nlink = 0;
		*out = in->attr;
	}
	memfs_unlock(m);
	return err;
}

int memfs_link(struct zus_sb *zsb, uint64_t ino, uint64_t dir,
	       const char *name, size_t len, struct zus_attr *out)
{
	struct memfs_sb *m = memfs_lock(zsb);
	struct memfs_inode *d, *in = memfs_iget(m, ino);
	int err = check_name(name, len);

	if (!err)
		err = m->readonly ? -EROFS : get_dir(m, dir, &d);
	if (!err && !in)
		err = -ESTALE;
	if (!err && S_ISDIR(in->attr.mode))
		err = -EPERM;
	if (!err && !d->attr.nlink)
		err = -ENOENT;
	if (!err && (is_dots(name, len) || dir_find(d, name, len) >= 0))
		err = -EEXIST;
	if (!err && in->attr.nlink >= MEMFS_LINK_MAX)
		err = -EMLINK;
	/* nlink 0 is a tmpfile here: the host refuses an unlinked file */
	if (!err)
		err = dir_add(d, name, len, ino);
	if (!err) {
		in->attr.nlink++;
		memfs_touch(in, false);
		memfs_touch(d, true);
		*out = in->attr;
	}
	memfs_unlock(m);
	return err;
}

/* unlink and rmdir: drop a name; the inode waits for evict(). */
static int remove_name(struct zus_sb *zsb, uint64_t dir, const char *name,
		       size_t len, bool isdir)
{
	struct memfs_sb *m = memfs_lock(zsb);
	struct memfs_inode *d, *in = NULL;
	int err = check_name(name, len);
	ssize_t i = -1;

	if (!err && is_dots(name, len))
		err = len == 1 ? -EINVAL : -ENOTEMPTY;
	if (!err)
		err = m->readonly ? -EROFS : get_dir(m, dir, &d);
	if (!err) {
		i = dir_find(d, name, len);
		in = i < 0 ? NULL : memfs_iget(m, d->ents[i].ino);
		if (!in)
			err = -ENOENT;
	}
	if (!err && isdir && !S_ISDIR(in->attr.mode))
		err = -ENOTDIR;
	else if (!err && !isdir && S_ISDIR(in->attr.mode))
		err = -EISDIR;
	else if (!err && isdir && in->nlive)
		err = -ENOTEMPTY;
	if (err)
		goto out;
	dir_remove(d, (size_t)i);
	if (isdir) {
		in->attr.nlink = 0;
		d->attr.nlink--;
	} else {
		in->attr.nlink--;
	}
	memfs_touch(in, false);
	memfs_touch(d, true);
out:
	memfs_unlock(m);
	return err;
}

int memfs_unlink(struct zus_sb *zsb, uint64_t dir, const char *name,
		 size_t len)
{
	return remove_name(zsb, dir, name, len, false);
}

int memfs_rmdir(struct zus_sb *zsb, uint64_t dir, const char *name,
		size_t len)
{
	return remove_name(zsb, dir, name, len, true);
}

/* What renaming src over dst would break, or 0. */
static int rename_check(struct memfs_sb *m, struct memfs_inode *src,
			struct memfs_inode *dst, struct memfs_inode *nd,
			struct memfs_inode *od, unsigned int flags)
{
	/* a directory may not move below itself */
	if (S_ISDIR(src->attr.mode) && is_ancestor(m, src->attr.ino, nd->attr.ino))
		return -EINVAL;
	if (flags & ZUS_RENAME_EXCHANGE)
		return S_ISDIR(dst->attr.mode) &&
		       is_ancestor(m, dst->attr.ino, od->attr.ino) ? -EINVAL : 0;
	if (!dst)
		return 0;
	if (flags & ZUS_RENAME_NOREPLACE)
		return -EEXIST;
	if (S_ISDIR(src->attr.mode) && !S_ISDIR(dst->attr.mode))
		return -ENOTDIR;
	if (!S_ISDIR(src->attr.mode) && S_ISDIR(dst->attr.mode))
		return -EISDIR;
	if (S_ISDIR(dst->attr.mode) && dst->nlive)
		return -ENOTEMPTY;
	return 0;
}

int memfs_rename(struct zus_sb *zsb, uint64_t olddir, const char *oldname,
		 size_t oldlen, uint64_t newdir, const char *newname,
		 size_t newlen, unsigned int flags)
{
	struct memfs_sb *m = memfs_lock(zsb);
	struct memfs_inode *od, *nd, *src = NULL, *dst = NULL;
	ssize_t oi = -1, ni = -1;
	int err = check_name(oldname, oldlen);

	if (!err)
		err = check_name(newname, newlen);
	if (!err && ((flags & ~(ZUS_RENAME_NOREPLACE | ZUS_RENAME_EXCHANGE)) ||
		     flags == (ZUS_RENAME_NOREPLACE | ZUS_RENAME_EXCHANGE) ||
		     is_dots(oldname, oldlen) || is_dots(newname, newlen)))
		err = -EINVAL;
	if (!err)
		err = m->readonly ? -EROFS : get_dir(m, olddir, &od);
	if (!err)
		err = get_dir(m, newdir, &nd);
	if (!err && !nd->attr.nlink)
		err = -ENOENT;
	if (!err) {
		oi = dir_find(od, oldname, oldlen);
		ni = dir_find(nd, newname, newlen);
		src = oi < 0 ? NULL : memfs_iget(m, od->ents[oi].ino);
		dst = ni < 0 ? NULL : memfs_iget(m, nd->ents[ni].ino);
		if (!src || (!dst && (flags & ZUS_RENAME_EXCHANGE)))
			err = -ENOENT;
	}
	/* two names of one inode (or one name): POSIX says do nothing */
	if (err || src == dst)
		goto out;
	err = rename_check(m, src, dst, nd, od, flags);
	if (err)
		goto out;

	if (flags & ZUS_RENAME_EXCHANGE) {
		od->ents[oi].ino = dst->attr.ino;
		nd->ents[ni].ino = src->attr.ino;
		reparent(dst, nd, od);
		memfs_touch(dst, false);
	} else if (dst) {
		/* the name now means src; dst loses it */
		nd->ents[ni].ino = src->attr.ino;
		if (S_ISDIR(dst->attr.mode)) {
			dst->attr.nlink = 0;
			nd->attr.nlink--;
		} else {
			dst->attr.nlink--;
		}
		memfs_touch(dst, false);
		dir_remove(od, (size_t)oi);
	} else {
		/* add first: it is the only step that can fail */
		err = dir_add(nd, newname, newlen, src->attr.ino);
		if (err)
			goto out;
		dir_remove(od, (size_t)oi);
	}
	reparent(src, od, nd);
	memfs_touch(src, false);
	memfs_touch(od, true);
	memfs_touch(nd, true);
out:
	memfs_unlock(m);
	return err;
}

int memfs_readlink(struct zus_sb *zsb, uint64_t ino, char *buf, size_t size,
		   size_t *len)
{
	struct memfs_sb *m = memfs_lock(zsb);
	struct memfs_inode *in = memfs_iget(m, ino);
	int err = 0;

	if (!in)
		err = -ESTALE;
	else if (!S_ISLNK(in->attr.mode))
		err = -EINVAL;
	if (!err) {
		*len = in->attr.size < size ? in->attr.size : size;
		memcpy(buf, in->target, *len);
	}
	memfs_unlock(m);
	return err;
}

/* emit may not call back into the plugin, so holding the lock is fine. */
int memfs_readdir(struct zus_sb *zsb, uint64_t dir, uint64_t cookie,
		  zus_filldir_t emit, void *ctx)
{
	struct memfs_sb *m = memfs_lock(zsb);
	struct memfs_inode *d;
	int err = get_dir(m, dir, &d);

	if (err)
		goto out;
	if (cookie == 0) {
		if (emit(ctx, ".", 1, dir, ZUS_DT_DIR, 1))
			goto out;
		cookie = 1;
	}
	if (cookie == 1) {
		if (emit(ctx, "..", 2, d->parent, ZUS_DT_DIR, 2))
			goto out;
		cookie = 2;
	}
	for (size_t i = cookie - 2; i < d->nents; i++) {
		const struct memfs_dirent *e = &d->ents[i];
		const struct memfs_inode *in = e->name ? memfs_iget(m, e->ino) : NULL;

		if (in && emit(ctx, e->name, e->len, e->ino,
			       memfs_dtype(in->attr.mode), i + 3))
			break;	/* full: the host resumes from the last cookie */
	}
out:
	memfs_unlock(m);
	return err;
}
