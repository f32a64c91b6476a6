// SPDX-License-Identifier: BSD-2-Clause
/*
 * inproc.c - the in-process host (see inproc.h).
 *
 * Path walking and the errno precedence of each call follow fs/namei.c and
 * friends of Linux 6.1, so that a test written against this host holds for
 * the kernel and FUSE transports too.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "atime.h"
#include "inproc.h"

#define MAX_SYMLINKS	40

#define MAY_EXEC	1
#define MAY_WRITE	2
#define MAY_READ	4

#define REF_BUCKETS	256

struct cred {
	uint32_t uid;
	uint32_t gid;
	mode_t umask;
};

struct ofile {
	bool used;
	bool tmpfile;		/* opened O_TMPFILE and not yet linked */
	int flags;
	uint64_t ino;
	uint32_t mode;		/* S_IFMT bits at open */
	off_t pos;
};

struct iref {
	uint64_t ino;
	unsigned int refs;
	struct iref *next;
};

struct zus_inproc {
	struct zus_sb sb;
	const struct zus_fs_type *fst;
	const struct zus_fs_ops *ops;
	void (*log)(void *ctx, int prio, const char *msg);
	void *log_ctx;
	char *dev_path;
	char *options;		/* the plugin's: without the atime ones */
	unsigned int atime;	/* the atime policy (atime.h) */
	uint64_t root;

	pthread_rwlock_t ns_lock;	/* write: namespace and attribute changes */
	pthread_mutex_t lock;		/* files, refs, creds */
	struct ofile *files;
	int nfiles;
	struct iref *refs[REF_BUCKETS];
	struct cred cred;
};

struct zus_inproc_dir {
	struct zus_inproc *h;
	uint64_t ino;
	uint64_t cookie;	/* resume point of the next fill */
	bool eof;
	unsigned int n, pos;
	struct zus_inproc_dirent ents[32];
};

/* ---- logging ----------------------------------------------------------- */

static void host_log(struct zus_sb *sb, int prio, const char *msg)
{
	struct zus_inproc *h = sb->host_private;

	if (h->log)
		h->log(h->log_ctx, prio, msg);
	else if (prio <= ZUS_LOG_WARNING)
		fprintf(stderr, "%s: %s\n", h->dev_path ? h->dev_path : "zus",
			msg);
}

/* ---- references ---------------------------------------------------------- */

static struct iref **ref_slot(struct zus_inproc *h, uint64_t ino)
{
	struct iref **pp = &h->refs[(ino * 0x9e3779b97f4a7c15ull) >> 56];

	while (*pp && (*pp)->ino != ino)
		pp = &(*pp)->next;
	return pp;
}

/* h->lock held */
static int ref_get_locked(struct zus_inproc *h, uint64_t ino)
{
	struct iref **pp = ref_slot(h, ino);

	if (!*pp) {
		*pp = calloc(1, sizeof(**pp));
		if (!*pp)
			return -ENOMEM;
		(*pp)->ino = ino;
	}
	(*pp)->refs++;
	return 0;
}

/* h->lock held; true if that was the last reference */
static bool ref_put_locked(struct zus_inproc *h, uint64_t ino)
{
	struct iref **pp = ref_slot(h, ino);
	struct iref *r = *pp;

	if (!r)
		return false;
	if (--r->refs)
		return false;
	*pp = r->next;
	free(r);
	return true;
}

static bool ref_held(struct zus_inproc *h, uint64_t ino)
{
	bool held;

	pthread_mutex_lock(&h->lock);
	held = *ref_slot(h, ino) != NULL;
	pthread_mutex_unlock(&h->lock);
	return held;
}

/* Nothing holds ino any more: let the plugin free it if it has no links. */
static void maybe_evict(struct zus_inproc *h, uint64_t ino)
{
	struct zus_attr a;

	if (!h->ops->evict)
		return;
	if (h->ops->getattr(&h->sb, ino, &a) == 0 && a.nlink == 0)
		h->ops->evict(&h->sb, ino);
}

/* A name of ino went away (ns_lock held for writing). */
static void name_dropped(struct zus_inproc *h, uint64_t ino)
{
	if (!ref_held(h, ino))
		maybe_evict(h, ino);
}

/* ---- credentials and permissions ---------------------------------------- */

static struct cred get_cred(struct zus_inproc *h)
{
	struct cred c;

	pthread_mutex_lock(&h->lock);
	c = h->cred;
	pthread_mutex_unlock(&h->lock);
	return c;
}

void zus_inproc_set_creds(struct zus_inproc *h, uint32_t uid, uint32_t gid)
{
	pthread_mutex_lock(&h->lock);
	h->cred.uid = uid;
	h->cred.gid = gid;
	pthread_mutex_unlock(&h->lock);
}

mode_t zus_inproc_umask(struct zus_inproc *h, mode_t mask)
{
	mode_t old;

	pthread_mutex_lock(&h->lock);
	old = h->cred.umask;
	h->cred.umask = mask & 0777;
	pthread_mutex_unlock(&h->lock);
	return old;
}

static bool is_root(const struct cred *c)
{
	return c->uid == 0;
}

/* generic_permission(): mask of MAY_* */
static int permission(const struct cred *c, const struct zus_attr *a, int mask)
{
	uint32_t mode = a->mode;

	if (is_root(c)) {
		/* CAP_DAC_OVERRIDE: exec needs some x bit on non-dirs */
		if ((mask & MAY_EXEC) && !S_ISDIR(mode) && !(mode & 0111))
			return -EACCES;
		return 0;
	}
	if (c->uid == a->uid)
		mode >>= 6;
	else if (c->gid == a->gid)
		mode >>= 3;
	if ((mask & ~mode & 7) == 0)
		return 0;
	return -EACCES;
}

static bool owner_or_root(const struct cred *c, const struct zus_attr *a)
{
	return is_root(c) || c->uid == a->uid;
}

/* may_delete() for victim in dir */
static int may_delete(const struct cred *c, const struct zus_attr *dir,
		      const struct zus_attr *victim, bool isdir, uint64_t root)
{
	int ret = permission(c, dir, MAY_WRITE | MAY_EXEC);

	if (ret)
		return ret;
	if ((dir->mode & S_ISVTX) && !is_root(c) && c->uid != victim->uid &&
	    c->uid != dir->uid)
		return -EPERM;
	if (isdir) {
		if (!S_ISDIR(victim->mode))
			return -ENOTDIR;
		if (victim->ino == root)
			return -EBUSY;
	} else if (S_ISDIR(victim->mode)) {
		return -EISDIR;
	}
	return 0;
}

static int may_create(const struct cred *c, const struct zus_attr *dir)
{
	return permission(c, dir, MAY_WRITE | MAY_EXEC);
}

/* Owner and mode of a new inode in dir (inode_init_owner()). */
static void new_owner(const struct cred *c, const struct zus_attr *dir,
		      uint32_t *mode, struct zus_creds *zc)
{
	zc->uid = c->uid;
	zc->gid = c->gid;
	if (dir->mode & S_ISGID) {
		zc->gid = dir->gid;
		if (S_ISDIR(*mode))
			*mode |= S_ISGID;
		else if ((*mode & (S_ISGID | S_IXGRP)) == (S_ISGID | S_IXGRP) &&
			 !is_root(c) && c->gid != zc->gid)
			*mode &= ~S_ISGID;
	}
}

/* ---- path walking -------------------------------------------------------- */

enum { LAST_NORM, LAST_DOT, LAST_DOTDOT, LAST_ROOT };

#define WALK_FOLLOW	1	/* follow a symlink in the last component */
#define WALK_PARENT	2	/* stop before the last component */

struct nd {
	struct zus_attr *stack;	/* directories from the root; top: current */
	int depth, cap;
	int nlinks;
	char *buf;
	/* WALK_PARENT */
	char last[ZUS_NAME_MAX + 1];
	size_t lastlen;
	int last_type;
	bool trailing;
	/* otherwise: the final inode */
	struct zus_attr attr;
};

static void nd_init(struct nd *nd)
{
	memset(nd, 0, sizeof(*nd));
}

static void nd_free(struct nd *nd)
{
	free(nd->stack);
	free(nd->buf);
	nd->stack = NULL;
	nd->buf = NULL;
}

static struct zus_attr *nd_top(struct nd *nd)
{
	return &nd->stack[nd->depth - 1];
}

static int nd_push(struct nd *nd, const struct zus_attr *a)
{
	if (nd->depth == nd->cap) {
		int cap = nd->cap ? nd->cap * 2 : 16;
		struct zus_attr *s = realloc(nd->stack, cap * sizeof(*s));

		if (!s)
			return -ENOMEM;
		nd->stack = s;
		nd->cap = cap;
	}
	nd->stack[nd->depth++] = *a;
	return 0;
}

static int nd_set_root(struct zus_inproc *h, struct nd *nd)
{
	struct zus_attr a;
	int ret = h->ops->getattr(&h->sb, h->root, &a);

	if (ret)
		return ret;
	nd->depth = 0;
	return nd_push(nd, &a);
}

/* Does the directory chain of nd contain ino? */
static bool nd_has(const struct nd *nd, uint64_t ino)
{
	for (int i = 0; i < nd->depth; i++)
		if (nd->stack[i].ino == ino)
			return true;
	return false;
}

static int do_lookup(struct zus_inproc *h, uint64_t dir, const char *name,
		     size_t len, struct zus_attr *a)
{
	return h->ops->lookup(&h->sb, dir, name, len, a);
}

/* Replace the walk buffer by target + "/" + rest (rest may be empty). */
static int splice_link(struct zus_inproc *h, struct nd *nd,
		       const struct zus_attr *link, const char *rest,
		       bool trailing, const char **p)
{
	char target[ZUS_PATH_MAX + 1];
	size_t tlen = 0, rlen = strlen(rest);
	char *nb;
	int ret;

	if (++nd->nlinks > MAX_SYMLINKS)
		return -ELOOP;
	ret = h->ops->readlink(&h->sb, link->ino, target, ZUS_PATH_MAX, &tlen);
	if (ret)
		return ret;
	if (tlen > ZUS_PATH_MAX)
		return -EIO;
	if (!tlen)
		return -ENOENT;
	/*
	 * No limit on the spliced length: Linux follows each link body on its
	 * own, so a loop that grows the path ends in ELOOP, never ENAMETOOLONG;
	 * MAX_SYMLINKS bounds the buffer to MAX_SYMLINKS * ZUS_PATH_MAX.
	 */
	nb = malloc(tlen + rlen + 3);
	if (!nb)
		return -ENOMEM;
	memcpy(nb, target, tlen);
	nb[tlen] = '\0';
	if (rlen || trailing) {
		nb[tlen] = '/';
		memcpy(nb + tlen + 1, rest, rlen + 1);
	}
	free(nd->buf);
	nd->buf = nb;
	*p = nb;
	return 0;
}

/* Walk path from the current state of nd (absolute paths restart at root). */
static int walk_from(struct zus_inproc *h, const struct cred *c,
		     const char *path, int flags, struct nd *nd)
{
	const char *p;
	size_t plen = strlen(path);
	char *nb;
	int ret;

	if (!plen)
		return -ENOENT;
	if (plen >= ZUS_PATH_MAX)
		return -ENAMETOOLONG;
	nb = strdup(path);
	if (!nb)
		return -ENOMEM;
	free(nd->buf);
	nd->buf = nb;
	p = nb;

	for (;;) {
		const char *q, *r;
		struct zus_attr a;
		size_t len;
		bool is_last, trailing;
		int type;

		if (*p == '/') {
			ret = nd_set_root(h, nd);
			if (ret)
				return ret;
			while (*p == '/')
				p++;
		}
		if (!*p) {
			/* the path (or a link target) was "/" */
			if (flags & WALK_PARENT) {
				nd->last_type = LAST_ROOT;
				nd->lastlen = 0;
				nd->last[0] = '\0';
				nd->trailing = true;
			} else {
				nd->attr = *nd_top(nd);
			}
			return 0;
		}
		q = p;
		while (*q && *q != '/')
			q++;
		len = q - p;
		if (len > ZUS_NAME_MAX)
			return -ENAMETOOLONG;
		r = q;
		while (*r == '/')
			r++;
		is_last = !*r;
		trailing = is_last && r != q;

		ret = permission(c, nd_top(nd), MAY_EXEC);
		if (ret)
			return ret;
		if (len == 1 && p[0] == '.')
			type = LAST_DOT;
		else if (len == 2 && p[0] == '.' && p[1] == '.')
			type = LAST_DOTDOT;
		else
			type = LAST_NORM;

		if (is_last && (flags & WALK_PARENT)) {
			memcpy(nd->last, p, len);
			nd->last[len] = '\0';
			nd->lastlen = len;
			nd->last_type = type;
			nd->trailing = trailing;
			return 0;
		}
		if (type != LAST_NORM) {
			if (type == LAST_DOTDOT && nd->depth > 1)
				nd->depth--;
			if (is_last) {
				nd->attr = *nd_top(nd);
				return 0;
			}
			p = r;
			continue;
		}
		ret = do_lookup(h, nd_top(nd)->ino, p, len, &a);
		if (ret)
			return ret;
		if (S_ISLNK(a.mode) &&
		    (!is_last || (flags & WALK_FOLLOW) || trailing)) {
			ret = splice_link(h, nd, &a, r, trailing, &p);
			if (ret)
				return ret;
			continue;
		}
		if (!is_last) {
			if (!S_ISDIR(a.mode))
				return -ENOTDIR;
			ret = nd_push(nd, &a);
			if (ret)
				return ret;
			p = r;
			continue;
		}
		if (trailing && !S_ISDIR(a.mode))
			return -ENOTDIR;
		nd->attr = a;
		return 0;
	}
}

static int walk(struct zus_inproc *h, const struct cred *c, const char *path,
		int flags, struct nd *nd)
{
	int ret;

	if (!path)
		return -EFAULT;
	ret = nd_set_root(h, nd);
	if (ret)
		return ret;
	return walk_from(h, c, path, flags, nd);
}

/* Look the last component of a WALK_PARENT walk up: 0, -ENOENT or error. */
static int lookup_last(struct zus_inproc *h, struct nd *nd,
		       struct zus_attr *a)
{
	return do_lookup(h, nd_top(nd)->ino, nd->last, nd->lastlen, a);
}

/* ---- locking helpers ----------------------------------------------------- */

static void ns_read(struct zus_inproc *h)
{
	pthread_rwlock_rdlock(&h->ns_lock);
}

static void ns_write(struct zus_inproc *h)
{
	pthread_rwlock_wrlock(&h->ns_lock);
}

static void ns_unlock(struct zus_inproc *h)
{
	pthread_rwlock_unlock(&h->ns_lock);
}

static int rofs(struct zus_inproc *h)
{
	return h->sb.readonly ? -EROFS : 0;
}

/* ---- mount --------------------------------------------------------------- */

int zus_inproc_mount(const struct zus_fs_type *fst, const struct zus_pmem *pm,
		     const struct zus_inproc_opts *o, struct zus_inproc **out)
{
	static const struct zus_inproc_opts defaults;
	const struct zus_fs_ops *ops;
	struct zus_inproc *h;
	int ret;

	*out = NULL;
	if (!o)
		o = &defaults;
	if (!fst || !fst->ops)
		return -EINVAL;
	ops = fst->ops;
	if (!ops->mount || !ops->root_ino || !ops->lookup || !ops->getattr)
		return -ENOSYS;
	if ((fst->flags & ZUS_FS_NEEDS_PMEM) && (!pm || !pm->base))
		return -ENODEV;
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->fst = fst;
	h->ops = ops;
	h->log = o->log;
	h->log_ctx = o->log_ctx;
	h->cred.umask = 022;
	h->dev_path = o->dev_path ? strdup(o->dev_path) : NULL;
	/* the atime options are the host's, as the VFS's are (atime.h) */
	h->options = zus_atime_split(o->options, &h->atime);
	if (h->options && !*h->options) {
		free(h->options);
		h->options = NULL;
	}
	pthread_rwlock_init(&h->ns_lock, NULL);
	pthread_mutex_init(&h->lock, NULL);
	if (pm)
		h->sb.pmem = *pm;
	h->sb.dev_path = h->dev_path;
	h->sb.options = h->options;
	h->sb.readonly = o->readonly;
	h->sb.ntier = o->ntier;
	h->sb.tier = o->tier;
	h->sb.tier_backend = o->tier_backend;
	h->sb.log = host_log;
	h->sb.host_private = h;

	ret = ops->mount(&h->sb);
	if (ret) {
		if (ret > 0)
			ret = -ret;
		goto fail;
	}
	h->root = ops->root_ino(&h->sb);
	*out = h;
	return 0;
fail:
	pthread_rwlock_destroy(&h->ns_lock);
	pthread_mutex_destroy(&h->lock);
	free(h->dev_path);
	free(h->options);
	free(h);
	return ret;
}

struct zus_sb *zus_inproc_sb(struct zus_inproc *h)
{
	return &h->sb;
}

void zus_inproc_umount(struct zus_inproc *h)
{
	if (!h)
		return;
	for (int fd = 0; fd < h->nfiles; fd++)
		if (h->files[fd].used)
			zus_inproc_close(h, fd);
	/* open directory streams the caller forgot */
	for (int i = 0; i < REF_BUCKETS; i++) {
		while (h->refs[i]) {
			struct iref *r = h->refs[i];

			h->refs[i] = r->next;
			maybe_evict(h, r->ino);
			free(r);
		}
	}
	h->ops->umount(&h->sb);
	pthread_rwlock_destroy(&h->ns_lock);
	pthread_mutex_destroy(&h->lock);
	free(h->files);
	free(h->dev_path);
	free(h->options);
	free(h);
}

/* ---- files ----------------------------------------------------------------- */

static int fd_alloc(struct zus_inproc *h, uint64_t ino, uint32_t mode,
		    int flags, bool tmpfile)
{
	int fd, ret;

	pthread_mutex_lock(&h->lock);
	for (fd = 0; fd < h->nfiles; fd++)
		if (!h->files[fd].used)
			break;
	if (fd == h->nfiles) {
		int n = h->nfiles ? h->nfiles * 2 : 16;
		struct ofile *f = realloc(h->files, n * sizeof(*f));

		if (!f) {
			fd = -ENOMEM;
			goto out;
		}
		memset(f + h->nfiles, 0, (n - h->nfiles) * sizeof(*f));
		h->files = f;
		h->nfiles = n;
	}
	ret = ref_get_locked(h, ino);
	if (ret) {
		fd = ret;
		goto out;
	}
	h->files[fd] = (struct ofile){ .used = true, .tmpfile = tmpfile,
				       .flags = flags, .ino = ino,
				       .mode = mode & S_IFMT };
out:
	pthread_mutex_unlock(&h->lock);
	return fd;
}

/* A copy of the open file (h->lock taken inside); -EBADF if none. */
static int fd_get(struct zus_inproc *h, int fd, struct ofile *of)
{
	int ret = 0;

	pthread_mutex_lock(&h->lock);
	if (fd < 0 || fd >= h->nfiles || !h->files[fd].used)
		ret = -EBADF;
	else
		*of = h->files[fd];
	pthread_mutex_unlock(&h->lock);
	return ret;
}

static bool can_read(int flags)
{
	return (flags & O_ACCMODE) != O_WRONLY;
}

static bool can_write(int flags)
{
	return (flags & O_ACCMODE) != O_RDONLY;
}

static int do_tmpfile(struct zus_inproc *h, const struct cred *c,
		      const char *path, int flags, mode_t mode)
{
	struct zus_creds zc;
	struct zus_attr a;
	struct nd nd;
	uint32_t m;
	int ret;

	if (!can_write(flags))
		return -EINVAL;
	nd_init(&nd);
	ns_write(h);
	ret = walk(h, c, path, WALK_FOLLOW, &nd);
	if (ret)
		goto out;
	if (!S_ISDIR(nd.attr.mode)) {
		ret = -ENOTDIR;
		goto out;
	}
	ret = may_create(c, &nd.attr);
	if (ret)
		goto out;
	ret = rofs(h);
	if (ret)
		goto out;
	if (!h->ops->tmpfile) {
		ret = -EOPNOTSUPP;
		goto out;
	}
	m = S_IFREG | (mode & 07777 & ~c->umask);
	new_owner(c, &nd.attr, &m, &zc);
	ret = h->ops->tmpfile(&h->sb, nd.attr.ino, m, &zc, &a);
	if (ret)
		goto out;
	ret = fd_alloc(h, a.ino, a.mode, flags & ~O_TMPFILE, true);
	if (ret < 0)
		maybe_evict(h, a.ino);
out:
	ns_unlock(h);
	nd_free(&nd);
	return ret;
}

int zus_inproc_open(struct zus_inproc *h, const char *path, int flags,
		    mode_t mode)
{
	struct cred c = get_cred(h);
	int acc = flags & O_ACCMODE;
	struct zus_attr a;
	bool created = false;
	struct nd nd;
	int mask, ret;

	if (acc == O_ACCMODE)
		return -EINVAL;
	if ((flags & O_TMPFILE) == O_TMPFILE)
		return do_tmpfile(h, &c, path, flags, mode);

	nd_init(&nd);
	ns_write(h);
	if (!(flags & O_CREAT)) {
		ret = walk(h, &c, path,
			   (flags & O_NOFOLLOW) ? 0 : WALK_FOLLOW, &nd);
		if (ret)
			goto out;
		a = nd.attr;
		if (S_ISLNK(a.mode)) {
			ret = -ELOOP;
			goto out;
		}
	} else {
		ret = walk(h, &c, path, WALK_PARENT, &nd);
		for (;;) {
			if (ret)
				goto out;
			if (nd.last_type != LAST_NORM || nd.trailing) {
				ret = -EISDIR;
				goto out;
			}
			ret = lookup_last(h, &nd, &a);
			if (ret == 0) {
				if (flags & O_EXCL) {
					ret = -EEXIST;
					goto out;
				}
				if (!S_ISLNK(a.mode))
					break;
				if (flags & O_NOFOLLOW) {
					ret = -ELOOP;
					goto out;
				}
				/* follow the link; a dangling one is created */
				ret = splice_link(h, &nd, &a, "", false,
						  &(const char *){ NULL });
				if (ret)
					goto out;
				ret = walk_from(h, &c, nd.buf, WALK_PARENT, &nd);
				continue;
			}
			if (ret != -ENOENT)
				goto out;
			ret = may_create(&c, nd_top(&nd));
			if (ret)
				goto out;
			ret = rofs(h);
			if (ret)
				goto out;
			{
				uint32_t m = S_IFREG | (mode & 07777 & ~c.umask);
				struct zus_creds zc;

				new_owner(&c, nd_top(&nd), &m, &zc);
				ret = h->ops->create(&h->sb, nd_top(&nd)->ino,
						     nd.last, nd.lastlen, m, 0,
						     &zc, &a);
			}
			if (ret)
				goto out;
			created = true;
			break;
		}
	}

	if (S_ISDIR(a.mode) && (acc != O_RDONLY || (flags & O_CREAT))) {
		ret = -EISDIR;
		goto out;
	}
	if ((flags & O_DIRECTORY) && !S_ISDIR(a.mode)) {
		ret = -ENOTDIR;
		goto out;
	}
	if (!created) {
		mask = acc == O_RDONLY ? MAY_READ :
		       acc == O_WRONLY ? MAY_WRITE : MAY_READ | MAY_WRITE;
		if (flags & O_TRUNC)
			mask |= MAY_WRITE;
		ret = permission(&c, &a, mask);
		if (ret)
			goto out;
		if ((mask & MAY_WRITE) && (S_ISREG(a.mode) || S_ISDIR(a.mode))) {
			ret = rofs(h);
			if (ret)
				goto out;
		}
		if ((flags & O_TRUNC) && S_ISREG(a.mode)) {
			struct zus_setattr sa = {
				.valid = ZUS_SET_SIZE | ZUS_SET_MTIME_NOW,
				.size = 0,
			};

			ret = h->ops->setattr(&h->sb, a.ino, &sa, &a);
			if (ret)
				goto out;
		}
	}
	ret = fd_alloc(h, a.ino, a.mode,
		       flags & (O_ACCMODE | O_APPEND | O_DIRECTORY), false);
out:
	ns_unlock(h);
	nd_free(&nd);
	return ret;
}

int zus_inproc_close(struct zus_inproc *h, int fd)
{
	uint64_t ino;
	bool last;

	ns_read(h);
	pthread_mutex_lock(&h->lock);
	if (fd < 0 || fd >= h->nfiles || !h->files[fd].used) {
		pthread_mutex_unlock(&h->lock);
		ns_unlock(h);
		return -EBADF;
	}
	ino = h->files[fd].ino;
	h->files[fd].used = false;
	last = ref_put_locked(h, ino);
	pthread_mutex_unlock(&h->lock);
	if (last)
		maybe_evict(h, ino);
	ns_unlock(h);
	return 0;
}

uint64_t zus_inproc_fd_ino(struct zus_inproc *h, int fd)
{
	struct ofile of;

	return fd_get(h, fd, &of) ? 0 : of.ino;
}

ssize_t zus_inproc_pread(struct zus_inproc *h, int fd, void *buf, size_t len,
			 off_t off)
{
	struct ofile of;
	ssize_t ret;

	ret = fd_get(h, fd, &of);
	if (ret)
		return ret;
	if (!can_read(of.flags))
		return -EBADF;
	if (S_ISDIR(of.mode))
		return -EISDIR;
	if (off < 0)
		return -EINVAL;
	if (!len)
		return 0;
	if (len > INT_MAX - 4095)
		len = INT_MAX - 4095;	/* MAX_RW_COUNT */
	if (!h->ops->read)
		return -EINVAL;
	ns_read(h);
	ret = h->ops->read(&h->sb, of.ino, buf, len, (uint64_t)off);
	if (ret > 0)
		zus_atime_touch(h->ops, &h->sb, of.ino, h->atime);
	ns_unlock(h);
	return ret;
}

/* Drop suid/sgid after a write by someone without CAP_FSETID. */
static int kill_suid(struct zus_inproc *h, const struct cred *c,
		     uint64_t ino)
{
	struct zus_setattr sa = { .valid = ZUS_SET_MODE };
	struct zus_attr a;
	int ret;

	if (is_root(c))
		return 0;
	ret = h->ops->getattr(&h->sb, ino, &a);
	if (ret)
		return ret;
	sa.mode = a.mode & 07777;
	sa.mode &= ~S_ISUID;
	if ((a.mode & (S_ISGID | S_IXGRP)) == (S_ISGID | S_IXGRP))
		sa.mode &= ~S_ISGID;
	if (sa.mode == (a.mode & 07777))
		return 0;
	return h->ops->setattr(&h->sb, ino, &sa, &a);
}

ssize_t zus_inproc_pwrite(struct zus_inproc *h, int fd, const void *buf,
			  size_t len, off_t off)
{
	struct cred c = get_cred(h);
	struct ofile of;
	ssize_t ret;

	ret = fd_get(h, fd, &of);
	if (ret)
		return ret;
	if (!can_write(of.flags))
		return -EBADF;
	if (off < 0)
		return -EINVAL;
	if (!len)
		return 0;
	if (len > INT_MAX - 4095)
		len = INT_MAX - 4095;
	if (!h->ops->write)
		return -EINVAL;
	if (h->sb.readonly)
		return -EROFS;
	ns_read(h);
	ret = kill_suid(h, &c, of.ino);
	if (ret)
		goto out;
	if (of.flags & O_APPEND) {
		struct zus_attr a;

		ret = h->ops->getattr(&h->sb, of.ino, &a);
		if (ret)
			goto out;
		off = (off_t)a.size;
	}
	if ((uint64_t)off + len < (uint64_t)off || off + (off_t)len < 0) {
		ret = -EFBIG;
		goto out;
	}
	ret = h->ops->write(&h->sb, of.ino, buf, len, (uint64_t)off);
out:
	ns_unlock(h);
	return ret;
}

ssize_t zus_inproc_read(struct zus_inproc *h, int fd, void *buf, size_t len)
{
	struct ofile of;
	ssize_t ret = fd_get(h, fd, &of);

	if (ret)
		return ret;
	ret = zus_inproc_pread(h, fd, buf, len, of.pos);
	if (ret > 0) {
		pthread_mutex_lock(&h->lock);
		h->files[fd].pos = of.pos + ret;
		pthread_mutex_unlock(&h->lock);
	}
	return ret;
}

ssize_t zus_inproc_write(struct zus_inproc *h, int fd, const void *buf,
			 size_t len)
{
	struct ofile of;
	ssize_t ret = fd_get(h, fd, &of);
	off_t pos;

	if (ret)
		return ret;
	pos = of.pos;
	if (of.flags & O_APPEND) {
		struct zus_attr a;

		ns_read(h);
		ret = h->ops->getattr(&h->sb, of.ino, &a);
		ns_unlock(h);
		if (ret)
			return ret;
		pos = (off_t)a.size;
	}
	ret = zus_inproc_pwrite(h, fd, buf, len, pos);
	if (ret > 0) {
		pthread_mutex_lock(&h->lock);
		h->files[fd].pos = pos + ret;
		pthread_mutex_unlock(&h->lock);
	}
	return ret;
}

off_t zus_inproc_lseek(struct zus_inproc *h, int fd, off_t off, int whence)
{
	struct zus_attr a;
	struct ofile of;
	uint64_t res;
	off_t pos;
	int ret;

	ret = fd_get(h, fd, &of);
	if (ret)
		return ret;
	switch (whence) {
	case SEEK_SET:
		pos = off;
		break;
	case SEEK_CUR:
		pos = of.pos + off;
		break;
	case SEEK_END:
		ns_read(h);
		ret = h->ops->getattr(&h->sb, of.ino, &a);
		ns_unlock(h);
		if (ret)
			return ret;
		pos = (off_t)a.size + off;
		break;
	case SEEK_DATA:
	case SEEK_HOLE:
		if (off < 0)
			return -ENXIO;
		if (S_ISDIR(of.mode))
			return -EINVAL;
		ns_read(h);
		if (h->ops->lseek) {
			ret = h->ops->lseek(&h->sb, of.ino, (uint64_t)off,
					    whence == SEEK_DATA ? ZUS_SEEK_DATA :
					    ZUS_SEEK_HOLE, &res);
		} else {
			/* generic: the whole file is data */
			ret = h->ops->getattr(&h->sb, of.ino, &a);
			if (!ret && (uint64_t)off >= a.size)
				ret = -ENXIO;
			res = whence == SEEK_DATA ? (uint64_t)off : a.size;
		}
		ns_unlock(h);
		if (ret)
			return ret;
		pos = (off_t)res;
		break;
	default:
		return -EINVAL;
	}
	if (pos < 0)
		return -EINVAL;
	pthread_mutex_lock(&h->lock);
	h->files[fd].pos = pos;
	pthread_mutex_unlock(&h->lock);
	return pos;
}

static void attr_to_stat(const struct zus_inproc *h, const struct zus_attr *a,
			 struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_dev = (dev_t)(uintptr_t)h;
	st->st_ino = a->ino;
	st->st_mode = a->mode;
	st->st_nlink = a->nlink;
	st->st_uid = a->uid;
	st->st_gid = a->gid;
	st->st_rdev = a->rdev;
	st->st_size = (off_t)a->size;
	st->st_blksize = a->blksize ? a->blksize : 4096;
	st->st_blocks = (blkcnt_t)a->blocks;
	st->st_atim.tv_sec = a->atime.sec;
	st->st_atim.tv_nsec = a->atime.nsec;
	st->st_mtim.tv_sec = a->mtime.sec;
	st->st_mtim.tv_nsec = a->mtime.nsec;
	st->st_ctim.tv_sec = a->ctime.sec;
	st->st_ctim.tv_nsec = a->ctime.nsec;
}

int zus_inproc_fstat(struct zus_inproc *h, int fd, struct stat *st)
{
	struct zus_attr a;
	struct ofile of;
	int ret;

	ret = fd_get(h, fd, &of);
	if (ret)
		return ret;
	ns_read(h);
	ret = h->ops->getattr(&h->sb, of.ino, &a);
	ns_unlock(h);
	if (!ret)
		attr_to_stat(h, &a, st);
	return ret;
}

static int set_size(struct zus_inproc *h, uint64_t ino, uint64_t size)
{
	struct zus_setattr sa = { .valid = ZUS_SET_SIZE, .size = size };
	struct zus_attr a;

	return h->ops->setattr(&h->sb, ino, &sa, &a);
}

int zus_inproc_ftruncate(struct zus_inproc *h, int fd, off_t len)
{
	struct cred c = get_cred(h);
	struct ofile of;
	int ret;

	if (len < 0)
		return -EINVAL;
	ret = fd_get(h, fd, &of);
	if (ret)
		return ret;
	if (S_ISDIR(of.mode) || !S_ISREG(of.mode) || !can_write(of.flags))
		return -EINVAL;
	if (h->sb.readonly)
		return -EROFS;
	ns_write(h);
	ret = kill_suid(h, &c, of.ino);
	if (!ret)
		ret = set_size(h, of.ino, (uint64_t)len);
	ns_unlock(h);
	return ret;
}

int zus_inproc_fallocate(struct zus_inproc *h, int fd, int mode, off_t off,
			 off_t len)
{
	const int supported = ZUS_FALLOC_KEEP_SIZE | ZUS_FALLOC_PUNCH_HOLE |
			      ZUS_FALLOC_ZERO_RANGE | ZUS_FALLOC_COLLAPSE_RANGE |
			      ZUS_FALLOC_INSERT_RANGE;
	struct ofile of;
	int ret;

	/* vfs_fallocate's checks, in its order */
	if (off < 0 || len <= 0)
		return -EINVAL;
	if (mode & ~supported)
		return -EOPNOTSUPP;
	if ((mode & (ZUS_FALLOC_PUNCH_HOLE | ZUS_FALLOC_ZERO_RANGE)) ==
	    (ZUS_FALLOC_PUNCH_HOLE | ZUS_FALLOC_ZERO_RANGE))
		return -EOPNOTSUPP;
	if ((mode & ZUS_FALLOC_PUNCH_HOLE) && !(mode & ZUS_FALLOC_KEEP_SIZE))
		return -EOPNOTSUPP;
	/* collapse and insert come alone; the plugin checks the rest */
	if ((mode & ZUS_FALLOC_COLLAPSE_RANGE) &&
	    mode != ZUS_FALLOC_COLLAPSE_RANGE)
		return -EINVAL;
	if ((mode & ZUS_FALLOC_INSERT_RANGE) && mode != ZUS_FALLOC_INSERT_RANGE)
		return -EINVAL;
	ret = fd_get(h, fd, &of);
	if (ret)
		return ret;
	if (!can_write(of.flags))
		return -EBADF;
	if (S_ISDIR(of.mode))
		return -EISDIR;
	if (!S_ISREG(of.mode))
		return -ENODEV;
	if (off + len < 0)
		return -EFBIG;
	if (h->sb.readonly)
		return -EROFS;
	if (!h->ops->fallocate)
		return -EOPNOTSUPP;
	ns_read(h);
	ret = h->ops->fallocate(&h->sb, of.ino, mode, (uint64_t)off,
				(uint64_t)len);
	ns_unlock(h);
	return ret;
}

int zus_inproc_fsync(struct zus_inproc *h, int fd, bool datasync)
{
	struct ofile of;
	int ret = fd_get(h, fd, &of);

	if (ret)
		return ret;
	if (!h->ops->fsync)
		return 0;
	ns_read(h);
	ret = h->ops->fsync(&h->sb, of.ino, datasync);
	ns_unlock(h);
	return ret;
}

/* ---- creating names -------------------------------------------------------- */

/*
 * filename_create(): walk to the parent of path and check that the last
 * component can be created.  dir_ok: a trailing slash is allowed (mkdir).
 */
static int create_prep(struct zus_inproc *h, const struct cred *c,
		       const char *path, bool dir_ok, struct nd *nd)
{
	struct zus_attr a;
	int ret;

	ret = walk(h, c, path, WALK_PARENT, nd);
	if (ret)
		return ret;
	if (nd->last_type != LAST_NORM)
		return -EEXIST;
	ret = lookup_last(h, nd, &a);
	if (ret == 0)
		return -EEXIST;
	if (ret != -ENOENT)
		return ret;
	if (nd->trailing && !dir_ok)
		return -ENOENT;
	ret = may_create(c, nd_top(nd));
	if (ret)
		return ret;
	return rofs(h);
}

int zus_inproc_mkdir(struct zus_inproc *h, const char *path, mode_t mode)
{
	struct cred c = get_cred(h);
	struct zus_creds zc;
	struct zus_attr a;
	struct nd nd;
	uint32_t m;
	int ret;

	nd_init(&nd);
	ns_write(h);
	ret = create_prep(h, &c, path, true, &nd);
	if (ret)
		goto out;
	m = S_IFDIR | (mode & 01777 & ~c.umask);
	new_owner(&c, nd_top(&nd), &m, &zc);
	ret = h->ops->mkdir(&h->sb, nd_top(&nd)->ino, nd.last, nd.lastlen, m,
			    &zc, &a);
out:
	ns_unlock(h);
	nd_free(&nd);
	return ret;
}

int zus_inproc_mknod(struct zus_inproc *h, const char *path, mode_t mode,
		     dev_t rdev)
{
	struct cred c = get_cred(h);
	struct zus_creds zc;
	struct zus_attr a;
	struct nd nd;
	uint32_t m;
	int ret;

	switch (mode & S_IFMT) {
	case 0:
		mode |= S_IFREG;
		break;
	case S_IFREG:
	case S_IFIFO:
	case S_IFSOCK:
		break;
	case S_IFCHR:
	case S_IFBLK:
		if (!is_root(&c))
			return -EPERM;
		break;
	case S_IFDIR:
		return -EPERM;
	default:
		return -EINVAL;
	}
	nd_init(&nd);
	ns_write(h);
	ret = create_prep(h, &c, path, false, &nd);
	if (ret)
		goto out;
	m = (mode & S_IFMT) | (mode & 07777 & ~c.umask);
	new_owner(&c, nd_top(&nd), &m, &zc);
	ret = h->ops->create(&h->sb, nd_top(&nd)->ino, nd.last, nd.lastlen, m,
			     (uint32_t)rdev, &zc, &a);
out:
	ns_unlock(h);
	nd_free(&nd);
	return ret;
}

int zus_inproc_symlink(struct zus_inproc *h, const char *target,
		       const char *linkpath)
{
	struct cred c = get_cred(h);
	struct zus_creds zc;
	struct zus_attr a;
	struct nd nd;
	uint32_t m = S_IFLNK | 0777;
	size_t tlen;
	int ret;

	if (!target)
		return -EFAULT;
	tlen = strlen(target);
	if (!tlen)
		return -ENOENT;
	if (tlen >= ZUS_PATH_MAX)
		return -ENAMETOOLONG;
	nd_init(&nd);
	ns_write(h);
	ret = create_prep(h, &c, linkpath, false, &nd);
	if (ret)
		goto out;
	new_owner(&c, nd_top(&nd), &m, &zc);
	ret = h->ops->symlink(&h->sb, nd_top(&nd)->ino, nd.last, nd.lastlen,
			      target, &zc, &a);
out:
	ns_unlock(h);
	nd_free(&nd);
	return ret;
}

/* protected_hardlinks (may_linkat()) */
static int may_linkat(const struct cred *c, const struct zus_attr *a)
{
	if (owner_or_root(c, a))
		return 0;
	if (!S_ISREG(a->mode) || (a->mode & S_ISUID) ||
	    (a->mode & (S_ISGID | S_IXGRP)) == (S_ISGID | S_IXGRP))
		return -EPERM;
	if (permission(c, a, MAY_READ | MAY_WRITE))
		return -EPERM;
	return 0;
}

static int do_link(struct zus_inproc *h, const struct cred *c,
		   const struct zus_attr *old, bool tmpfile,
		   const char *newpath)
{
	struct zus_attr a;
	struct nd nd;
	int ret;

	nd_init(&nd);
	ret = create_prep(h, c, newpath, false, &nd);
	if (ret)
		goto out;
	ret = may_linkat(c, old);
	if (ret)
		goto out;
	if (S_ISDIR(old->mode)) {
		ret = -EPERM;
		goto out;
	}
	if (old->nlink == 0 && !tmpfile) {
		ret = -ENOENT;
		goto out;
	}
	ret = h->ops->link(&h->sb, old->ino, nd_top(&nd)->ino, nd.last,
			   nd.lastlen, &a);
out:
	nd_free(&nd);
	return ret;
}

int zus_inproc_link(struct zus_inproc *h, const char *oldpath,
		    const char *newpath)
{
	struct cred c = get_cred(h);
	struct nd nd;
	int ret;

	nd_init(&nd);
	ns_write(h);
	ret = walk(h, &c, oldpath, 0, &nd);
	if (!ret)
		ret = do_link(h, &c, &nd.attr, false, newpath);
	ns_unlock(h);
	nd_free(&nd);
	return ret;
}

int zus_inproc_linkfd(struct zus_inproc *h, int fd, const char *newpath)
{
	struct cred c = get_cred(h);
	struct zus_attr a;
	struct ofile of;
	int ret;

	ret = fd_get(h, fd, &of);
	if (ret)
		return ret;
	ns_write(h);
	ret = h->ops->getattr(&h->sb, of.ino, &a);
	if (!ret)
		ret = do_link(h, &c, &a, of.tmpfile, newpath);
	if (!ret) {
		pthread_mutex_lock(&h->lock);
		h->files[fd].tmpfile = false;
		pthread_mutex_unlock(&h->lock);
	}
	ns_unlock(h);
	return ret;
}

/* ---- removing names -------------------------------------------------------- */

int zus_inproc_unlink(struct zus_inproc *h, const char *path)
{
	struct cred c = get_cred(h);
	struct zus_attr a;
	struct nd nd;
	int ret;

	nd_init(&nd);
	ns_write(h);
	ret = walk(h, &c, path, WALK_PARENT, &nd);
	if (ret)
		goto out;
	if (nd.last_type != LAST_NORM) {
		ret = -EISDIR;
		goto out;
	}
	ret = lookup_last(h, &nd, &a);
	if (nd.trailing) {
		ret = ret ? ret : S_ISDIR(a.mode) ? -EISDIR : -ENOTDIR;
		goto out;
	}
	if (ret)
		goto out;
	ret = may_delete(&c, nd_top(&nd), &a, false, h->root);
	if (ret)
		goto out;
	ret = rofs(h);
	if (ret)
		goto out;
	ret = h->ops->unlink(&h->sb, nd_top(&nd)->ino, nd.last, nd.lastlen);
	if (!ret)
		name_dropped(h, a.ino);
out:
	ns_unlock(h);
	nd_free(&nd);
	return ret;
}

int zus_inproc_rmdir(struct zus_inproc *h, const char *path)
{
	struct cred c = get_cred(h);
	struct zus_attr a;
	struct nd nd;
	int ret;

	nd_init(&nd);
	ns_write(h);
	ret = walk(h, &c, path, WALK_PARENT, &nd);
	if (ret)
		goto out;
	switch (nd.last_type) {
	case LAST_DOTDOT:
		ret = -ENOTEMPTY;
		goto out;
	case LAST_DOT:
		ret = -EINVAL;
		goto out;
	case LAST_ROOT:
		ret = -EBUSY;
		goto out;
	}
	ret = lookup_last(h, &nd, &a);
	if (ret)
		goto out;
	ret = may_delete(&c, nd_top(&nd), &a, true, h->root);
	if (ret)
		goto out;
	ret = rofs(h);
	if (ret)
		goto out;
	ret = h->ops->rmdir(&h->sb, nd_top(&nd)->ino, nd.last, nd.lastlen);
	if (!ret)
		name_dropped(h, a.ino);
out:
	ns_unlock(h);
	nd_free(&nd);
	return ret;
}

int zus_inproc_rename(struct zus_inproc *h, const char *oldpath,
		      const char *newpath, unsigned int flags)
{
	struct cred c = get_cred(h);
	struct zus_attr oa, na, *odir, *ndir;
	struct nd ond, nnd;
	bool exchange = flags & ZUS_RENAME_EXCHANGE;
	bool have_new;
	int ret;

	if (flags & ~(ZUS_RENAME_NOREPLACE | ZUS_RENAME_EXCHANGE))
		return -EINVAL;
	if ((flags & ZUS_RENAME_NOREPLACE) && exchange)
		return -EINVAL;
	nd_init(&ond);
	nd_init(&nnd);
	ns_write(h);
	ret = walk(h, &c, oldpath, WALK_PARENT, &ond);
	if (ret)
		goto out;
	ret = walk(h, &c, newpath, WALK_PARENT, &nnd);
	if (ret)
		goto out;
	if (ond.last_type != LAST_NORM) {
		ret = -EBUSY;
		goto out;
	}
	if (nnd.last_type != LAST_NORM) {
		ret = (flags & ZUS_RENAME_NOREPLACE) ? -EEXIST : -EBUSY;
		goto out;
	}
	ret = rofs(h);
	if (ret)
		goto out;
	odir = nd_top(&ond);
	ndir = nd_top(&nnd);

	ret = lookup_last(h, &ond, &oa);
	if (ret)
		goto out;
	ret = lookup_last(h, &nnd, &na);
	if (ret && ret != -ENOENT)
		goto out;
	have_new = !ret;
	if ((flags & ZUS_RENAME_NOREPLACE) && have_new) {
		ret = -EEXIST;
		goto out;
	}
	if (exchange && !have_new) {
		ret = -ENOENT;
		goto out;
	}
	if (!exchange && !S_ISDIR(oa.mode) && (ond.trailing || nnd.trailing)) {
		ret = -ENOTDIR;
		goto out;
	}
	if (exchange && ((ond.trailing && !S_ISDIR(oa.mode)) ||
			 (nnd.trailing && !S_ISDIR(na.mode)))) {
		ret = -ENOTDIR;
		goto out;
	}
	/* the source is an ancestor of the target's parent */
	if (S_ISDIR(oa.mode) && nd_has(&nnd, oa.ino)) {
		ret = -EINVAL;
		goto out;
	}
	/* the target is an ancestor of the source's parent */
	if (have_new && S_ISDIR(na.mode) && nd_has(&ond, na.ino)) {
		ret = exchange ? -EINVAL : -ENOTEMPTY;
		goto out;
	}
	ret = 0;
	if (have_new && oa.ino == na.ino)
		goto out;	/* same inode: nothing to do */

	ret = may_delete(&c, odir, &oa, S_ISDIR(oa.mode), h->root);
	if (ret)
		goto out;
	if (!have_new)
		ret = may_create(&c, ndir);
	else if (exchange)
		ret = may_delete(&c, ndir, &na, S_ISDIR(na.mode), h->root);
	else
		ret = may_delete(&c, ndir, &na, S_ISDIR(oa.mode), h->root);
	if (ret)
		goto out;
	if (odir->ino != ndir->ino) {
		if (S_ISDIR(oa.mode)) {
			ret = permission(&c, &oa, MAY_WRITE);
			if (ret)
				goto out;
		}
		if (exchange && S_ISDIR(na.mode)) {
			ret = permission(&c, &na, MAY_WRITE);
			if (ret)
				goto out;
		}
	}
	ret = h->ops->rename(&h->sb, odir->ino, ond.last, ond.lastlen,
			     ndir->ino, nnd.last, nnd.lastlen, flags);
	if (!ret && have_new && !exchange)
		name_dropped(h, na.ino);
out:
	ns_unlock(h);
	nd_free(&ond);
	nd_free(&nnd);
	return ret;
}

ssize_t zus_inproc_readlink(struct zus_inproc *h, const char *path, char *buf,
			    size_t size)
{
	struct cred c = get_cred(h);
	char target[ZUS_PATH_MAX + 1];
	size_t len = 0;
	struct nd nd;
	ssize_t ret;

	if ((ssize_t)size <= 0)
		return -EINVAL;
	nd_init(&nd);
	ns_read(h);
	ret = walk(h, &c, path, 0, &nd);
	if (ret)
		goto out;
	if (!S_ISLNK(nd.attr.mode)) {
		ret = -EINVAL;
		goto out;
	}
	ret = h->ops->readlink(&h->sb, nd.attr.ino, target, ZUS_PATH_MAX,
			       &len);
	if (ret)
		goto out;
	if (len > ZUS_PATH_MAX) {
		ret = -EIO;
		goto out;
	}
	if (len > size)
		len = size;
	memcpy(buf, target, len);
	ret = (ssize_t)len;
out:
	ns_unlock(h);
	nd_free(&nd);
	return ret;
}

/* ---- attributes ------------------------------------------------------------ */

static int stat_common(struct zus_inproc *h, const char *path, int flags,
		       struct stat *st)
{
	struct cred c = get_cred(h);
	struct nd nd;
	int ret;

	nd_init(&nd);
	ns_read(h);
	ret = walk(h, &c, path, flags, &nd);
	ns_unlock(h);
	if (!ret)
		attr_to_stat(h, &nd.attr, st);
	nd_free(&nd);
	return ret;
}

int zus_inproc_stat(struct zus_inproc *h, const char *path, struct stat *st)
{
	return stat_common(h, path, WALK_FOLLOW, st);
}

int zus_inproc_lstat(struct zus_inproc *h, const char *path, struct stat *st)
{
	return stat_common(h, path, 0, st);
}

int zus_inproc_chmod(struct zus_inproc *h, const char *path, mode_t mode)
{
	struct cred c = get_cred(h);
	struct zus_setattr sa = { .valid = ZUS_SET_MODE };
	struct zus_attr a;
	struct nd nd;
	int ret;

	nd_init(&nd);
	ns_write(h);
	ret = walk(h, &c, path, WALK_FOLLOW, &nd);
	if (ret)
		goto out;
	ret = rofs(h);
	if (ret)
		goto out;
	if (!owner_or_root(&c, &nd.attr)) {
		ret = -EPERM;
		goto out;
	}
	sa.mode = mode & 07777;
	if (!is_root(&c) && c.gid != nd.attr.gid)
		sa.mode &= ~S_ISGID;
	ret = h->ops->setattr(&h->sb, nd.attr.ino, &sa, &a);
out:
	ns_unlock(h);
	nd_free(&nd);
	return ret;
}

int zus_inproc_chown(struct zus_inproc *h, const char *path, uint32_t uid,
		     uint32_t gid, bool follow)
{
	struct cred c = get_cred(h);
	struct zus_setattr sa = { 0 };
	struct zus_attr a;
	struct nd nd;
	int ret;

	nd_init(&nd);
	ns_write(h);
	ret = walk(h, &c, path, follow ? WALK_FOLLOW : 0, &nd);
	if (ret)
		goto out;
	ret = rofs(h);
	if (ret)
		goto out;
	a = nd.attr;
	if (uid != (uint32_t)-1) {
		if (uid != a.uid && !is_root(&c)) {
			ret = -EPERM;
			goto out;
		}
		sa.valid |= ZUS_SET_UID;
		sa.uid = uid;
	}
	if (gid != (uint32_t)-1) {
		if (gid != a.gid && !is_root(&c) &&
		    (c.uid != a.uid || gid != c.gid)) {
			ret = -EPERM;
			goto out;
		}
		sa.valid |= ZUS_SET_GID;
		sa.gid = gid;
	}
	if (!S_ISDIR(a.mode) && !S_ISLNK(a.mode)) {
		uint32_t m = a.mode & 07777;

		m &= ~S_ISUID;
		if ((a.mode & (S_ISGID | S_IXGRP)) == (S_ISGID | S_IXGRP))
			m &= ~S_ISGID;
		if (m != (a.mode & 07777)) {
			sa.valid |= ZUS_SET_MODE;
			sa.mode = m;
		}
	}
	ret = h->ops->setattr(&h->sb, a.ino, &sa, &a);
out:
	ns_unlock(h);
	nd_free(&nd);
	return ret;
}

static bool nsec_valid(long nsec)
{
	return nsec == UTIME_NOW || nsec == UTIME_OMIT ||
	       (nsec >= 0 && nsec <= 999999999);
}

int zus_inproc_utimens(struct zus_inproc *h, const char *path,
		       const struct timespec ts[2], bool follow)
{
	struct cred c = get_cred(h);
	struct zus_setattr sa = { 0 };
	struct zus_attr a;
	bool explicit = false;
	struct nd nd;
	int ret;

	if (ts) {
		if (!nsec_valid(ts[0].tv_nsec) || !nsec_valid(ts[1].tv_nsec))
			return -EINVAL;
		if (ts[0].tv_nsec == UTIME_OMIT && ts[1].tv_nsec == UTIME_OMIT)
			return 0;
		for (int i = 0; i < 2; i++) {
			const struct timespec *t = &ts[i];

			if (t->tv_nsec == UTIME_OMIT)
				continue;
			if (t->tv_nsec == UTIME_NOW) {
				sa.valid |= i ? ZUS_SET_MTIME_NOW :
						ZUS_SET_ATIME_NOW;
				continue;
			}
			explicit = true;
			if (i) {
				sa.valid |= ZUS_SET_MTIME;
				sa.mtime.sec = t->tv_sec;
				sa.mtime.nsec = (uint32_t)t->tv_nsec;
			} else {
				sa.valid |= ZUS_SET_ATIME;
				sa.atime.sec = t->tv_sec;
				sa.atime.nsec = (uint32_t)t->tv_nsec;
			}
		}
	} else {
		sa.valid = ZUS_SET_ATIME_NOW | ZUS_SET_MTIME_NOW;
	}
	nd_init(&nd);
	ns_write(h);
	ret = walk(h, &c, path, follow ? WALK_FOLLOW : 0, &nd);
	if (ret)
		goto out;
	ret = rofs(h);
	if (ret)
		goto out;
	if (!owner_or_root(&c, &nd.attr)) {
		if (explicit) {
			ret = -EPERM;
			goto out;
		}
		ret = permission(&c, &nd.attr, MAY_WRITE);
		if (ret)
			goto out;
	}
	ret = h->ops->setattr(&h->sb, nd.attr.ino, &sa, &a);
out:
	ns_unlock(h);
	nd_free(&nd);
	return ret;
}

int zus_inproc_truncate(struct zus_inproc *h, const char *path, off_t len)
{
	struct cred c = get_cred(h);
	struct nd nd;
	int ret;

	if (len < 0)
		return -EINVAL;
	nd_init(&nd);
	ns_write(h);
	ret = walk(h, &c, path, WALK_FOLLOW, &nd);
	if (ret)
		goto out;
	if (S_ISDIR(nd.attr.mode)) {
		ret = -EISDIR;
		goto out;
	}
	if (!S_ISREG(nd.attr.mode)) {
		ret = -EINVAL;
		goto out;
	}
	ret = permission(&c, &nd.attr, MAY_WRITE);
	if (ret)
		goto out;
	ret = rofs(h);
	if (ret)
		goto out;
	ret = kill_suid(h, &c, nd.attr.ino);
	if (!ret)
		ret = set_size(h, nd.attr.ino, (uint64_t)len);
out:
	ns_unlock(h);
	nd_free(&nd);
	return ret;
}

/* ---- directories ----------------------------------------------------------- */

int zus_inproc_opendir(struct zus_inproc *h, const char *path,
		       struct zus_inproc_dir **dp)
{
	struct cred c = get_cred(h);
	struct zus_inproc_dir *d;
	struct nd nd;
	int ret;

	*dp = NULL;
	nd_init(&nd);
	ns_read(h);
	ret = walk(h, &c, path, WALK_FOLLOW, &nd);
	if (ret)
		goto out;
	if (!S_ISDIR(nd.attr.mode)) {
		ret = -ENOTDIR;
		goto out;
	}
	ret = permission(&c, &nd.attr, MAY_READ);
	if (ret)
		goto out;
	d = calloc(1, sizeof(*d));
	if (!d) {
		ret = -ENOMEM;
		goto out;
	}
	pthread_mutex_lock(&h->lock);
	ret = ref_get_locked(h, nd.attr.ino);
	pthread_mutex_unlock(&h->lock);
	if (ret) {
		free(d);
		goto out;
	}
	d->h = h;
	d->ino = nd.attr.ino;
	*dp = d;
out:
	ns_unlock(h);
	nd_free(&nd);
	return ret;
}

static int fill_one(void *ctx, const char *name, size_t namelen, uint64_t ino,
		    unsigned int dtype, uint64_t next)
{
	struct zus_inproc_dir *d = ctx;
	struct zus_inproc_dirent *de;

	if (d->n == sizeof(d->ents) / sizeof(d->ents[0]))
		return 1;
	if (namelen > ZUS_NAME_MAX)
		namelen = ZUS_NAME_MAX;
	de = &d->ents[d->n++];
	memcpy(de->name, name, namelen);
	de->name[namelen] = '\0';
	de->ino = ino;
	de->type = dtype;
	de->next = next;
	return 0;
}

int zus_inproc_readdir(struct zus_inproc_dir *d, struct zus_inproc_dirent *de)
{
	struct zus_inproc *h = d->h;
	int ret;

	if (d->pos == d->n) {
		if (d->eof)
			return 0;
		d->n = d->pos = 0;
		ns_read(h);
		ret = h->ops->readdir(&h->sb, d->ino, d->cookie, fill_one, d);
		/* an access, as each getdents(2) is */
		if (!ret)
			zus_atime_touch(h->ops, &h->sb, d->ino, h->atime);
		ns_unlock(h);
		if (ret)
			return ret;
		if (d->n < sizeof(d->ents) / sizeof(d->ents[0]))
			d->eof = true;
		if (!d->n)
			return 0;
	}
	*de = d->ents[d->pos++];
	d->cookie = de->next;
	return 1;
}

void zus_inproc_seekdir(struct zus_inproc_dir *d, uint64_t cookie)
{
	d->cookie = cookie;
	d->n = d->pos = 0;
	d->eof = false;
}

void zus_inproc_closedir(struct zus_inproc_dir *d)
{
	struct zus_inproc *h;
	bool last;

	if (!d)
		return;
	h = d->h;
	ns_read(h);
	pthread_mutex_lock(&h->lock);
	last = ref_put_locked(h, d->ino);
	pthread_mutex_unlock(&h->lock);
	if (last)
		maybe_evict(h, d->ino);
	ns_unlock(h);
	free(d);
}

/* ---- extended attributes --------------------------------------------------- */

static bool has_prefix(const char *s, const char *p)
{
	return !strncmp(s, p, strlen(p));
}

/* xattr_permission() */
static int xattr_permission(const struct cred *c, const struct zus_attr *a,
			    const char *name, int mask)
{
	if (has_prefix(name, "trusted.")) {
		if (!is_root(c))
			return (mask & MAY_WRITE) ? -EPERM : -ENODATA;
		return 0;
	}
	if (has_prefix(name, "user.")) {
		if (!S_ISREG(a->mode) && !S_ISDIR(a->mode))
			return (mask & MAY_WRITE) ? -EPERM : -ENODATA;
		if (S_ISDIR(a->mode) && (a->mode & S_ISVTX) &&
		    (mask & MAY_WRITE) && !owner_or_root(c, a))
			return -EPERM;
	}
	/* the VFS leaves security.* to the LSM; ACLs need the owner */
	if (has_prefix(name, "security."))
		return 0;
	if (has_prefix(name, "system.")) {
		if ((mask & MAY_WRITE) && !owner_or_root(c, a))
			return -EPERM;
		return 0;
	}
	return permission(c, a, mask);
}

static int xattr_name_ok(const char *name)
{
	size_t len;

	if (!name)
		return -EFAULT;
	len = strlen(name);
	if (!len || len > ZUS_XATTR_NAME_MAX)
		return -ERANGE;
	return 0;
}

ssize_t zus_inproc_getxattr(struct zus_inproc *h, const char *path,
			    const char *name, void *value, size_t size)
{
	struct cred c = get_cred(h);
	struct nd nd;
	ssize_t ret;

	nd_init(&nd);
	ns_read(h);
	ret = walk(h, &c, path, WALK_FOLLOW, &nd);
	if (ret)
		goto out;
	ret = xattr_name_ok(name);
	if (ret)
		goto out;
	if (size > ZUS_XATTR_SIZE_MAX)
		size = ZUS_XATTR_SIZE_MAX;
	ret = xattr_permission(&c, &nd.attr, name, MAY_READ);
	if (ret)
		goto out;
	ret = h->ops->getxattr ? h->ops->getxattr(&h->sb, nd.attr.ino, name,
						  size ? value : NULL, size) :
				 -EOPNOTSUPP;
out:
	ns_unlock(h);
	nd_free(&nd);
	return ret;
}

int zus_inproc_setxattr(struct zus_inproc *h, const char *path,
			const char *name, const void *value, size_t size,
			int flags)
{
	struct cred c = get_cred(h);
	struct nd nd;
	int ret;

	nd_init(&nd);
	ns_write(h);
	ret = walk(h, &c, path, WALK_FOLLOW, &nd);
	if (ret)
		goto out;
	ret = rofs(h);
	if (ret)
		goto out;
	if (flags & ~(ZUS_XATTR_CREATE | ZUS_XATTR_REPLACE)) {
		ret = -EINVAL;
		goto out;
	}
	ret = xattr_name_ok(name);
	if (ret)
		goto out;
	if (size > ZUS_XATTR_SIZE_MAX) {
		ret = -E2BIG;
		goto out;
	}
	ret = xattr_permission(&c, &nd.attr, name, MAY_WRITE);
	if (ret)
		goto out;
	ret = h->ops->setxattr ? h->ops->setxattr(&h->sb, nd.attr.ino, name,
						  value, size, flags) :
				 -EOPNOTSUPP;
out:
	ns_unlock(h);
	nd_free(&nd);
	return ret;
}

ssize_t zus_inproc_listxattr(struct zus_inproc *h, const char *path,
			     char *list, size_t size)
{
	struct cred c = get_cred(h);
	struct nd nd;
	ssize_t ret, n;
	char *buf = NULL;
	size_t out = 0;

	nd_init(&nd);
	ns_read(h);
	ret = walk(h, &c, path, WALK_FOLLOW, &nd);
	if (ret)
		goto out;
	if (!h->ops->listxattr) {
		ret = 0;
		goto out;
	}
	if (size > ZUS_XATTR_SIZE_MAX)
		size = ZUS_XATTR_SIZE_MAX;
	n = h->ops->listxattr(&h->sb, nd.attr.ino, NULL, 0);
	if (n < 0) {
		ret = n;
		goto out;
	}
	buf = malloc(n + 1);
	if (!buf) {
		ret = -ENOMEM;
		goto out;
	}
	n = n ? h->ops->listxattr(&h->sb, nd.attr.ino, buf, n) : 0;
	if (n < 0) {
		ret = n;
		goto out;
	}
	/* trusted.* is invisible to non-root callers */
	for (ssize_t i = 0; i < n;) {
		size_t l = strnlen(buf + i, n - i);

		if (is_root(&c) || !has_prefix(buf + i, "trusted.")) {
			if (size && out + l + 1 > size) {
				ret = -ERANGE;
				goto out;
			}
			if (size)
				memcpy(list + out, buf + i, l + 1);
			out += l + 1;
		}
		i += l + 1;
	}
	ret = (ssize_t)out;
out:
	ns_unlock(h);
	nd_free(&nd);
	free(buf);
	return ret;
}

int zus_inproc_removexattr(struct zus_inproc *h, const char *path,
			   const char *name)
{
	struct cred c = get_cred(h);
	struct nd nd;
	int ret;

	nd_init(&nd);
	ns_write(h);
	ret = walk(h, &c, path, WALK_FOLLOW, &nd);
	if (ret)
		goto out;
	ret = rofs(h);
	if (ret)
		goto out;
	ret = xattr_name_ok(name);
	if (ret)
		goto out;
	ret = xattr_permission(&c, &nd.attr, name, MAY_WRITE);
	if (ret)
		goto out;
	ret = h->ops->removexattr ? h->ops->removexattr(&h->sb, nd.attr.ino,
							name) :
				    -EOPNOTSUPP;
out:
	ns_unlock(h);
	nd_free(&nd);
	return ret;
}

/* ---- whole filesystem ------------------------------------------------------ */

int zus_inproc_statfs(struct zus_inproc *h, struct zus_statfs *st)
{
	int ret;

	memset(st, 0, sizeof(*st));
	if (!h->ops->statfs)
		return -ENOSYS;
	ns_read(h);
	ret = h->ops->statfs(&h->sb, st);
	ns_unlock(h);
	return ret;
}

int zus_inproc_sync(struct zus_inproc *h)
{
	int ret = 0;

	if (!h->ops->sync)
		return 0;
	ns_write(h);
	ret = h->ops->sync(&h->sb);
	ns_unlock(h);
	return ret;
}
