// SPDX-License-Identifier: BSD-2-Clause
/*
 * model.c - the in-memory reference filesystem (see model.h).  Written from
 * the Linux man pages and fs/namei.c independently of zusd/inproc.c: the two
 * must agree.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <zufs/zus.h>

#include "model.h"

#define MAXLINKS 40

static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p) {
		fprintf(stderr, "model: out of memory\n");
		abort();
	}
	return p;
}

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p) {
		fprintf(stderr, "model: out of memory\n");
		abort();
	}
	return p;
}

static char *xstrndup(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

/* ---- nodes ------------------------------------------------------------------ */

static struct mnode *node_new(struct model *m, uint32_t mode)
{
	struct mnode *n = calloc(1, sizeof(*n));

	if (!n)
		abort();
	if (m->nnodes + 1 >= m->nodecap) {
		m->nodecap = m->nodecap ? m->nodecap * 2 : 256;
		m->nodes = xrealloc(m->nodes, m->nodecap * sizeof(*m->nodes));
	}
	n->id = ++m->nnodes;
	m->nodes[n->id] = n;
	n->mode = mode;
	m->live++;
	return n;
}

static void node_destroy(struct model *m, struct mnode *n)
{
	m->nodes[n->id] = NULL;
	m->live--;
	m->data_bytes -= n->size;
	free(n->data);
	free(n->target);
	for (size_t i = 0; i < n->nents; i++)
		free(n->ents[i].name);
	free(n->ents);
	for (size_t i = 0; i < n->nxa; i++) {
		free(n->xa[i].name);
		free(n->xa[i].val);
	}
	free(n->xa);
	free(n);
}

static void node_maybe_free(struct model *m, struct mnode *n)
{
	if (n->nlink == 0 && n->opens == 0)
		node_destroy(m, n);
}

struct mnode *model_node(const struct model *m, uint64_t id)
{
	return id && id <= m->nnodes ? m->nodes[id] : NULL;
}

struct model *model_new(uint32_t root_mode)
{
	struct model *m = calloc(1, sizeof(*m));

	if (!m)
		abort();
	m->umask = 022;
	m->root = node_new(m, S_IFDIR | (root_mode ? root_mode : 0755));
	m->root->nlink = 2;
	m->root->parent = m->root;
	return m;
}

void model_free(struct model *m)
{
	if (!m)
		return;
	for (size_t i = 1; i <= m->nnodes; i++)
		if (m->nodes[i])
			node_destroy(m, m->nodes[i]);
	free(m->nodes);
	free(m);
}

void model_touch_atime(struct model *m, struct mnode *n)
{
	(void)m;
	n->atime_known = false;
}

static void changed(struct mnode *n)
{
	n->mtime_known = false;
}

/* ---- directories --------------------------------------------------------- */

long model_dir_find(const struct mnode *dir, const char *name)
{
	for (size_t i = 0; i < dir->nents; i++)
		if (!strcmp(dir->ents[i].name, name))
			return (long)i;
	return -1;
}

static struct mnode *dir_get(const struct mnode *dir, const char *name)
{
	long i = model_dir_find(dir, name);

	return i < 0 ? NULL : dir->ents[i].node;
}

static void dir_add(struct mnode *dir, const char *name, struct mnode *n)
{
	size_t i;

	if (dir->nents == dir->entcap) {
		dir->entcap = dir->entcap ? dir->entcap * 2 : 8;
		dir->ents = xrealloc(dir->ents, dir->entcap * sizeof(*dir->ents));
	}
	for (i = dir->nents; i > 0 && strcmp(dir->ents[i - 1].name, name) > 0; i--)
		dir->ents[i] = dir->ents[i - 1];
	dir->ents[i].name = xstrndup(name, strlen(name));
	dir->ents[i].node = n;
	dir->nents++;
	changed(dir);
}

static void dir_del(struct mnode *dir, const char *name)
{
	long i = model_dir_find(dir, name);

	free(dir->ents[i].name);
	memmove(&dir->ents[i], &dir->ents[i + 1],
		(dir->nents - i - 1) * sizeof(*dir->ents));
	dir->nents--;
	changed(dir);
}

/* ---- path resolution ----------------------------------------------------- */

enum { L_NORM, L_DOT, L_DOTDOT, L_ROOT };

struct mpath {
	struct mnode **chain;	/* chain[0] = root ... chain[n-1] = cwd */
	int n, cap;
	int links;
	struct mnode *node;	/* result (full walk) */
	char last[ZUS_NAME_MAX + 1];
	int type;
	bool slash;		/* trailing slash on the last component */
};

static void chain_reset(struct model *m, struct mpath *w)
{
	w->n = 0;
	if (!w->cap) {
		w->cap = 16;
		w->chain = xmalloc(w->cap * sizeof(*w->chain));
	}
	w->chain[w->n++] = m->root;
}

static void chain_push(struct mpath *w, struct mnode *d)
{
	if (w->n == w->cap) {
		w->cap *= 2;
		w->chain = xrealloc(w->chain, w->cap * sizeof(*w->chain));
	}
	w->chain[w->n++] = d;
}

static struct mnode *cwd(struct mpath *w)
{
	return w->chain[w->n - 1];
}

static void mpath_free(struct mpath *w)
{
	free(w->chain);
}

static bool chain_has(const struct mpath *w, const struct mnode *n)
{
	for (int i = 0; i < w->n; i++)
		if (w->chain[i] == n)
			return true;
	return false;
}

/*
 * Resolve path from the current chain.  parent: stop before the last
 * component (w->last, w->type, w->slash).  follow: follow a symlink in the
 * last component.
 */
static int resolve(struct model *m, struct mpath *w, const char *path,
		   bool parent, bool follow)
{
	char *buf, *p;
	int ret = 0;

	if (!*path)
		return -ENOENT;
	if (strlen(path) >= ZUS_PATH_MAX)
		return -ENAMETOOLONG;
	buf = xstrndup(path, strlen(path));
	p = buf;
	for (;;) {
		char *end, *next;
		size_t len;
		struct mnode *n;
		bool last, slash;

		if (*p == '/') {
			chain_reset(m, w);
			while (*p == '/')
				p++;
		}
		if (!*p) {
			if (parent) {
				w->type = L_ROOT;
				w->last[0] = '\0';
				w->slash = true;
			} else {
				w->node = cwd(w);
			}
			goto out;
		}
		end = strchr(p, '/');
		if (!end)
			end = p + strlen(p);
		len = end - p;
		if (len > ZUS_NAME_MAX) {
			ret = -ENAMETOOLONG;
			goto out;
		}
		next = end;
		while (*next == '/')
			next++;
		last = *next == '\0';
		slash = last && next != end;

		if (last && parent) {
			memcpy(w->last, p, len);
			w->last[len] = '\0';
			w->slash = slash;
			w->type = !strcmp(w->last, ".") ? L_DOT :
				  !strcmp(w->last, "..") ? L_DOTDOT : L_NORM;
			goto out;
		}
		if (len == 1 && p[0] == '.') {
			n = cwd(w);
		} else if (len == 2 && p[0] == '.' && p[1] == '.') {
			if (w->n > 1)
				w->n--;
			n = cwd(w);
		} else {
			char name[ZUS_NAME_MAX + 1];

			memcpy(name, p, len);
			name[len] = '\0';
			n = dir_get(cwd(w), name);
			if (!n) {
				ret = -ENOENT;
				goto out;
			}
			if (S_ISLNK(n->mode) && (!last || follow || slash)) {
				size_t tl = strlen(n->target), rl = strlen(next);
				char *nb;

				if (++w->links > MAXLINKS) {
					ret = -ELOOP;
					goto out;
				}
				nb = xmalloc(tl + rl + 3);
				strcpy(nb, n->target);
				if (rl || slash) {
					strcat(nb, "/");
					strcat(nb, next);
				}
				free(buf);
				buf = p = nb;
				continue;
			}
			if (!last) {
				if (!S_ISDIR(n->mode)) {
					ret = -ENOTDIR;
					goto out;
				}
				chain_push(w, n);
			}
		}
		if (last) {
			if (slash && !S_ISDIR(n->mode)) {
				ret = -ENOTDIR;
				goto out;
			}
			w->node = n;
			goto out;
		}
		p = next;
	}
out:
	free(buf);
	return ret;
}

static int walk(struct model *m, struct mpath *w, const char *path,
		bool parent, bool follow)
{
	memset(w, 0, sizeof(*w));
	chain_reset(m, w);
	return resolve(m, w, path, parent, follow);
}

/* ---- handles ---------------------------------------------------------------- */

static int handle_new(struct model *m, struct mnode *n, int flags)
{
	for (int i = 0; i < MODEL_MAX_HANDLES; i++) {
		if (!m->h[i].used) {
			m->h[i] = (struct mhandle){ n, flags, true };
			n->opens++;
			return i;
		}
	}
	return -EMFILE;
}

static struct mhandle *handle(struct model *m, int hd)
{
	if (hd < 0 || hd >= MODEL_MAX_HANDLES || !m->h[hd].used)
		return NULL;
	return &m->h[hd];
}

/* ---- files ------------------------------------------------------------------ */

static void set_size(struct model *m, struct mnode *n, uint64_t size)
{
	if (size > n->cap) {
		uint64_t cap = n->cap ? n->cap : 4096;

		while (cap < size)
			cap *= 2;
		n->data = xrealloc(n->data, cap);
		n->cap = cap;
	}
	if (size > n->size)
		memset(n->data + n->size, 0, size - n->size);
	m->data_bytes += size;
	m->data_bytes -= n->size;
	n->size = size;
}

static struct mnode *new_child(struct model *m, struct mnode *dir,
			       const char *name, uint32_t mode)
{
	struct mnode *n = node_new(m, mode);

	n->nlink = S_ISDIR(mode) ? 2 : 1;
	if (dir->mode & S_ISGID) {
		n->gid = dir->gid;
		if (S_ISDIR(mode))
			n->mode |= S_ISGID;
	}
	if (S_ISDIR(mode)) {
		n->parent = dir;
		dir->nlink++;
	}
	dir_add(dir, name, n);
	return n;
}

int model_open(struct model *m, const char *path, int flags, mode_t mode)
{
	int acc = flags & O_ACCMODE;
	struct mnode *n = NULL;
	struct mpath w;
	int ret;

	if (acc == O_ACCMODE)
		return -EINVAL;
	if ((flags & O_TMPFILE) == O_TMPFILE) {
		if (acc == O_RDONLY)
			return -EINVAL;
		ret = walk(m, &w, path, false, true);
		if (!ret && !S_ISDIR(w.node->mode))
			ret = -ENOTDIR;
		if (!ret) {
			n = node_new(m, S_IFREG | (mode & 07777 & ~m->umask));
			n->tmpfile = true;
			if (w.node->mode & S_ISGID)
				n->gid = w.node->gid;
			ret = handle_new(m, n, flags & ~O_TMPFILE);
			if (ret < 0)
				node_maybe_free(m, n);
		}
		mpath_free(&w);
		return ret;
	}
	if (!(flags & O_CREAT)) {
		ret = walk(m, &w, path, false, !(flags & O_NOFOLLOW));
		if (ret)
			goto out;
		n = w.node;
		if (S_ISLNK(n->mode)) {
			ret = -ELOOP;
			goto out;
		}
	} else {
		ret = walk(m, &w, path, true, false);
		for (;;) {
			if (ret)
				goto out;
			if (w.type != L_NORM || w.slash) {
				ret = -EISDIR;
				goto out;
			}
			n = dir_get(cwd(&w), w.last);
			if (!n) {
				n = new_child(m, cwd(&w), w.last,
					      S_IFREG | (mode & 07777 & ~m->umask));
				break;
			}
			if (flags & O_EXCL) {
				ret = -EEXIST;
				goto out;
			}
			if (!S_ISLNK(n->mode))
				break;
			if (flags & O_NOFOLLOW) {
				ret = -ELOOP;
				goto out;
			}
			if (++w.links > MAXLINKS) {
				ret = -ELOOP;
				goto out;
			}
			ret = resolve(m, &w, n->target, true, false);
		}
	}
	if (S_ISDIR(n->mode) && (acc != O_RDONLY || (flags & O_CREAT))) {
		ret = -EISDIR;
		goto out;
	}
	if ((flags & O_DIRECTORY) && !S_ISDIR(n->mode)) {
		ret = -ENOTDIR;
		goto out;
	}
	if ((flags & O_TRUNC) && S_ISREG(n->mode)) {
		set_size(m, n, 0);
		changed(n);
	}
	ret = handle_new(m, n, flags & (O_ACCMODE | O_APPEND | O_DIRECTORY));
out:
	mpath_free(&w);
	return ret;
}

int model_close(struct model *m, int hd)
{
	struct mhandle *h = handle(m, hd);
	struct mnode *n;

	if (!h)
		return -EBADF;
	n = h->node;
	h->used = false;
	n->opens--;
	node_maybe_free(m, n);
	return 0;
}

ssize_t model_pread(struct model *m, int hd, void *buf, size_t len, off_t off)
{
	struct mhandle *h = handle(m, hd);
	struct mnode *n;

	if (!h)
		return -EBADF;
	n = h->node;
	if ((h->flags & O_ACCMODE) == O_WRONLY)
		return -EBADF;
	if (S_ISDIR(n->mode))
		return -EISDIR;
	if (off < 0)
		return -EINVAL;
	if (!len)
		return 0;
	model_touch_atime(m, n);
	if ((uint64_t)off >= n->size)
		return 0;
	if (len > n->size - off)
		len = n->size - off;
	memcpy(buf, n->data + off, len);
	return (ssize_t)len;
}

ssize_t model_pwrite(struct model *m, int hd, const void *buf, size_t len,
		     off_t off)
{
	struct mhandle *h = handle(m, hd);
	struct mnode *n;

	if (!h)
		return -EBADF;
	n = h->node;
	if ((h->flags & O_ACCMODE) == O_RDONLY)
		return -EBADF;
	if (off < 0)
		return -EINVAL;
	if (!len)
		return 0;
	if (h->flags & O_APPEND)
		off = (off_t)n->size;
	if ((uint64_t)off + len > n->size)
		set_size(m, n, off + len);
	memcpy(n->data + off, buf, len);
	changed(n);
	return (ssize_t)len;
}

static void fill_stat(const struct mnode *n, struct mstat *st)
{
	st->id = n->id;
	st->mode = n->mode;
	st->nlink = n->nlink;
	st->uid = n->uid;
	st->gid = n->gid;
	st->size = S_ISLNK(n->mode) ? strlen(n->target) : n->size;
}

int model_fstat(struct model *m, int hd, struct mstat *st)
{
	struct mhandle *h = handle(m, hd);

	if (!h)
		return -EBADF;
	fill_stat(h->node, st);
	return 0;
}

int model_ftruncate(struct model *m, int hd, off_t len)
{
	struct mhandle *h;

	if (len < 0)
		return -EINVAL;
	h = handle(m, hd);
	if (!h)
		return -EBADF;
	if (!S_ISREG(h->node->mode) || (h->flags & O_ACCMODE) == O_RDONLY)
		return -EINVAL;
	/* as ext4: even to the same size, a truncate moves mtime */
	changed(h->node);
	set_size(m, h->node, len);
	return 0;
}

/* Collapse and insert range, ext4's rules (4 KiB blocks); the sizes the
 * workloads reach never come near the largest file (EFBIG not modelled). */
static int shift_range(struct model *m, struct mnode *n, int mode,
		       uint64_t off, uint64_t len)
{
	uint64_t old = n->size;

	if ((off | len) & 4095)
		return -EINVAL;
	if (mode == ZUS_FALLOC_COLLAPSE_RANGE) {
		if (off + len >= old)
			return -EINVAL;
		memmove(n->data + off, n->data + off + len, old - off - len);
		set_size(m, n, old - len);
	} else {
		if (off >= old)
			return -EINVAL;
		set_size(m, n, old + len);
		memmove(n->data + off + len, n->data + off, old - off);
		memset(n->data + off, 0, len);
	}
	changed(n);
	return 0;
}

int model_fallocate(struct model *m, int hd, int mode, off_t off, off_t len)
{
	struct mhandle *h;
	struct mnode *n;
	uint64_t end;

	if (off < 0 || len <= 0)
		return -EINVAL;
	if (mode & ~(ZUS_FALLOC_KEEP_SIZE | ZUS_FALLOC_PUNCH_HOLE |
		     ZUS_FALLOC_ZERO_RANGE | ZUS_FALLOC_COLLAPSE_RANGE |
		     ZUS_FALLOC_INSERT_RANGE))
		return -EOPNOTSUPP;
	if ((mode & ZUS_FALLOC_PUNCH_HOLE) && (mode & ZUS_FALLOC_ZERO_RANGE))
		return -EOPNOTSUPP;
	if ((mode & ZUS_FALLOC_PUNCH_HOLE) && !(mode & ZUS_FALLOC_KEEP_SIZE))
		return -EOPNOTSUPP;
	if ((mode & ZUS_FALLOC_COLLAPSE_RANGE) &&
	    mode != ZUS_FALLOC_COLLAPSE_RANGE)
		return -EINVAL;
	if ((mode & ZUS_FALLOC_INSERT_RANGE) && mode != ZUS_FALLOC_INSERT_RANGE)
		return -EINVAL;
	h = handle(m, hd);
	if (!h)
		return -EBADF;
	n = h->node;
	if ((h->flags & O_ACCMODE) == O_RDONLY)
		return -EBADF;
	if (S_ISDIR(n->mode))
		return -EISDIR;
	if (mode & (ZUS_FALLOC_COLLAPSE_RANGE | ZUS_FALLOC_INSERT_RANGE))
		return shift_range(m, n, mode, (uint64_t)off, (uint64_t)len);
	end = (uint64_t)off + (uint64_t)len;
	if (mode & (ZUS_FALLOC_PUNCH_HOLE | ZUS_FALLOC_ZERO_RANGE)) {
		uint64_t zend = end < n->size ? end : n->size;

		if ((uint64_t)off < zend)
			memset(n->data + off, 0, zend - off);
		changed(n);
	}
	if (!(mode & ZUS_FALLOC_KEEP_SIZE) && end > n->size) {
		set_size(m, n, end);
		changed(n);
	}
	return 0;
}

int model_truncate(struct model *m, const char *path, off_t len)
{
	struct mpath w;
	int ret;

	if (len < 0)
		return -EINVAL;
	ret = walk(m, &w, path, false, true);
	if (!ret) {
		if (S_ISDIR(w.node->mode)) {
			ret = -EISDIR;
		} else if (!S_ISREG(w.node->mode)) {
			ret = -EINVAL;
		} else {
			changed(w.node);	/* as ftruncate */
			set_size(m, w.node, len);
		}
	}
	mpath_free(&w);
	return ret;
}

/* ---- names -------------------------------------------------------------- */

/* filename_create(): the parent chain in w, the new name in w->last */
static int create_prep(struct model *m, struct mpath *w, const char *path,
		       bool dir_ok)
{
	int ret = walk(m, w, path, true, false);

	if (ret)
		return ret;
	if (w->type != L_NORM)
		return -EEXIST;
	if (dir_get(cwd(w), w->last))
		return -EEXIST;
	if (w->slash && !dir_ok)
		return -ENOENT;
	return 0;
}

int model_mkdir(struct model *m, const char *path, mode_t mode)
{
	struct mpath w;
	int ret = create_prep(m, &w, path, true);

	if (!ret)
		new_child(m, cwd(&w), w.last, S_IFDIR | (mode & 01777 & ~m->umask));
	mpath_free(&w);
	return ret;
}

int model_symlink(struct model *m, const char *target, const char *linkpath)
{
	struct mpath w;
	struct mnode *n;
	int ret;

	if (!*target)
		return -ENOENT;
	if (strlen(target) >= ZUS_PATH_MAX)
		return -ENAMETOOLONG;
	ret = create_prep(m, &w, linkpath, false);
	if (!ret) {
		n = new_child(m, cwd(&w), w.last, S_IFLNK | 0777);
		n->target = xstrndup(target, strlen(target));
	}
	mpath_free(&w);
	return ret;
}

static int do_link(struct model *m, struct mnode *old, const char *newpath)
{
	struct mpath w;
	int ret = create_prep(m, &w, newpath, false);

	if (ret)
		goto out;
	if (S_ISDIR(old->mode)) {
		ret = -EPERM;
		goto out;
	}
	if (old->nlink == 0 && !old->tmpfile) {
		ret = -ENOENT;
		goto out;
	}
	old->nlink++;
	old->tmpfile = false;
	dir_add(cwd(&w), w.last, old);
out:
	mpath_free(&w);
	return ret;
}

int model_link(struct model *m, const char *oldpath, const char *newpath)
{
	struct mpath w;
	int ret = walk(m, &w, oldpath, false, false);

	if (!ret)
		ret = do_link(m, w.node, newpath);
	mpath_free(&w);
	return ret;
}

int model_linkfd(struct model *m, int hd, const char *newpath)
{
	struct mhandle *h = handle(m, hd);

	if (!h)
		return -EBADF;
	return do_link(m, h->node, newpath);
}

/* may_delete(): type checks only (root) */
static int may_delete(struct model *m, struct mnode *victim, bool isdir)
{
	if (isdir) {
		if (!S_ISDIR(victim->mode))
			return -ENOTDIR;
		if (victim == m->root)
			return -EBUSY;
	} else if (S_ISDIR(victim->mode)) {
		return -EISDIR;
	}
	return 0;
}

/* Drop the name of n from dir (n already looked up). */
static void drop_name(struct model *m, struct mnode *dir, const char *name,
		      struct mnode *n)
{
	dir_del(dir, name);
	if (S_ISDIR(n->mode)) {
		n->nlink = 0;
		dir->nlink--;
	} else {
		n->nlink--;
	}
	node_maybe_free(m, n);
}

int model_unlink(struct model *m, const char *path)
{
	struct mpath w;
	struct mnode *n;
	int ret = walk(m, &w, path, true, false);

	if (ret)
		goto out;
	if (w.type != L_NORM) {
		ret = -EISDIR;
		goto out;
	}
	n = dir_get(cwd(&w), w.last);
	if (w.slash) {
		ret = !n ? -ENOENT : S_ISDIR(n->mode) ? -EISDIR : -ENOTDIR;
		goto out;
	}
	if (!n) {
		ret = -ENOENT;
		goto out;
	}
	ret = may_delete(m, n, false);
	if (!ret)
		drop_name(m, cwd(&w), w.last, n);
out:
	mpath_free(&w);
	return ret;
}

int model_rmdir(struct model *m, const char *path)
{
	struct mpath w;
	struct mnode *n;
	int ret = walk(m, &w, path, true, false);

	if (ret)
		goto out;
	if (w.type != L_NORM) {
		ret = w.type == L_DOTDOT ? -ENOTEMPTY :
		      w.type == L_DOT ? -EINVAL : -EBUSY;
		goto out;
	}
	n = dir_get(cwd(&w), w.last);
	if (!n) {
		ret = -ENOENT;
		goto out;
	}
	ret = may_delete(m, n, true);
	if (!ret && n->nents)
		ret = -ENOTEMPTY;
	if (!ret)
		drop_name(m, cwd(&w), w.last, n);
out:
	mpath_free(&w);
	return ret;
}

int model_rename(struct model *m, const char *oldpath, const char *newpath,
		 unsigned int flags)
{
	bool exch = flags & ZUS_RENAME_EXCHANGE;
	struct mpath ow, nw;
	struct mnode *o, *n, *od, *nd;
	int ret;

	if (flags & ~(ZUS_RENAME_NOREPLACE | ZUS_RENAME_EXCHANGE))
		return -EINVAL;
	if ((flags & ZUS_RENAME_NOREPLACE) && exch)
		return -EINVAL;
	ret = walk(m, &ow, oldpath, true, false);
	memset(&nw, 0, sizeof(nw));
	if (ret)
		goto out;
	ret = walk(m, &nw, newpath, true, false);
	if (ret)
		goto out;
	if (ow.type != L_NORM) {
		ret = -EBUSY;
		goto out;
	}
	if (nw.type != L_NORM) {
		ret = (flags & ZUS_RENAME_NOREPLACE) ? -EEXIST : -EBUSY;
		goto out;
	}
	od = cwd(&ow);
	nd = cwd(&nw);
	o = dir_get(od, ow.last);
	if (!o) {
		ret = -ENOENT;
		goto out;
	}
	n = dir_get(nd, nw.last);
	if ((flags & ZUS_RENAME_NOREPLACE) && n) {
		ret = -EEXIST;
		goto out;
	}
	if (exch && !n) {
		ret = -ENOENT;
		goto out;
	}
	if (!exch && !S_ISDIR(o->mode) && (ow.slash || nw.slash)) {
		ret = -ENOTDIR;
		goto out;
	}
	if (exch && ((ow.slash && !S_ISDIR(o->mode)) ||
		     (nw.slash && !S_ISDIR(n->mode)))) {
		ret = -ENOTDIR;
		goto out;
	}
	if (S_ISDIR(o->mode) && chain_has(&nw, o)) {
		ret = -EINVAL;
		goto out;
	}
	if (n && S_ISDIR(n->mode) && chain_has(&ow, n)) {
		ret = exch ? -EINVAL : -ENOTEMPTY;
		goto out;
	}
	if (o == n)
		goto out;
	ret = may_delete(m, o, S_ISDIR(o->mode));
	if (ret)
		goto out;
	if (n) {
		ret = may_delete(m, n, exch ? S_ISDIR(n->mode) :
				 S_ISDIR(o->mode));
		if (ret)
			goto out;
	}
	if (exch) {
		long oi = model_dir_find(od, ow.last);
		long ni = model_dir_find(nd, nw.last);

		od->ents[oi].node = n;
		nd->ents[ni].node = o;
		if (od != nd) {
			if (S_ISDIR(o->mode)) {
				o->parent = nd;
				od->nlink--;
				nd->nlink++;
			}
			if (S_ISDIR(n->mode)) {
				n->parent = od;
				nd->nlink--;
				od->nlink++;
			}
		}
		changed(od);
		changed(nd);
		goto out;
	}
	if (n) {
		if (S_ISDIR(n->mode) && n->nents) {
			ret = -ENOTEMPTY;
			goto out;
		}
		drop_name(m, nd, nw.last, n);
	}
	dir_del(od, ow.last);
	dir_add(nd, nw.last, o);
	if (S_ISDIR(o->mode)) {
		od->nlink--;
		nd->nlink++;
		o->parent = nd;
	}
out:
	mpath_free(&ow);
	mpath_free(&nw);
	return ret;
}

ssize_t model_readlink(struct model *m, const char *path, char *buf,
		       size_t size)
{
	struct mpath w;
	ssize_t ret;
	size_t len;

	if ((ssize_t)size <= 0)
		return -EINVAL;
	ret = walk(m, &w, path, false, false);
	if (ret)
		goto out;
	if (!S_ISLNK(w.node->mode)) {
		ret = -EINVAL;
		goto out;
	}
	len = strlen(w.node->target);
	if (len > size)
		len = size;
	memcpy(buf, w.node->target, len);
	ret = (ssize_t)len;
out:
	mpath_free(&w);
	return ret;
}

int model_stat(struct model *m, const char *path, struct mstat *st,
	       bool follow)
{
	struct mpath w;
	int ret = walk(m, &w, path, false, follow);

	if (!ret)
		fill_stat(w.node, st);
	mpath_free(&w);
	return ret;
}

int model_chmod(struct model *m, const char *path, mode_t mode)
{
	struct mpath w;
	int ret = walk(m, &w, path, false, true);

	if (!ret)
		w.node->mode = (w.node->mode & S_IFMT) | (mode & 07777);
	mpath_free(&w);
	return ret;
}

static bool nsec_ok(long ns)
{
	return ns == UTIME_NOW || ns == UTIME_OMIT ||
	       (ns >= 0 && ns < 1000000000);
}

int model_utimens(struct model *m, const char *path,
		  const struct timespec ts[2], bool follow)
{
	struct mpath w;
	int ret;

	if (ts && (!nsec_ok(ts[0].tv_nsec) || !nsec_ok(ts[1].tv_nsec)))
		return -EINVAL;
	if (ts && ts[0].tv_nsec == UTIME_OMIT && ts[1].tv_nsec == UTIME_OMIT)
		return 0;
	ret = walk(m, &w, path, false, follow);
	if (!ret) {
		struct mnode *n = w.node;

		if (!ts || ts[0].tv_nsec == UTIME_NOW) {
			n->atime_known = false;
		} else if (ts[0].tv_nsec != UTIME_OMIT) {
			n->atime_known = true;
			n->atime = ts[0];
		}
		if (!ts || ts[1].tv_nsec == UTIME_NOW) {
			n->mtime_known = false;
		} else if (ts[1].tv_nsec != UTIME_OMIT) {
			n->mtime_known = true;
			n->mtime = ts[1];
		}
	}
	mpath_free(&w);
	return ret;
}

/* ---- xattrs -------------------------------------------------------------- */

static long xa_find(const struct mnode *n, const char *name)
{
	for (size_t i = 0; i < n->nxa; i++)
		if (!strcmp(n->xa[i].name, name))
			return (long)i;
	return -1;
}

static bool xa_known_ns(const char *name)
{
	return !strncmp(name, "user.", 5) || !strncmp(name, "trusted.", 8) ||
	       !strncmp(name, "security.", 9);
}

static int xa_name_ok(const char *name)
{
	size_t l = strlen(name);

	return (!l || l > ZUS_XATTR_NAME_MAX) ? -ERANGE : 0;
}

/* user.* lives on regular files and directories only */
static int xa_perm(const struct mnode *n, const char *name, bool write)
{
	if (!strncmp(name, "user.", 5) && !S_ISREG(n->mode) &&
	    !S_ISDIR(n->mode))
		return write ? -EPERM : -ENODATA;
	return 0;
}

ssize_t model_getxattr(struct model *m, const char *path, const char *name,
		       void *value, size_t size)
{
	struct mpath w;
	ssize_t ret = walk(m, &w, path, false, true);
	long i;

	if (ret)
		goto out;
	ret = xa_name_ok(name);
	if (ret)
		goto out;
	ret = xa_perm(w.node, name, false);
	if (ret)
		goto out;
	if (!xa_known_ns(name)) {
		ret = -EOPNOTSUPP;
		goto out;
	}
	i = xa_find(w.node, name);
	if (i < 0) {
		ret = -ENODATA;
		goto out;
	}
	ret = (ssize_t)w.node->xa[i].len;
	if (size) {
		if (size < w.node->xa[i].len)
			ret = -ERANGE;
		else
			memcpy(value, w.node->xa[i].val, w.node->xa[i].len);
	}
out:
	mpath_free(&w);
	return ret;
}

int model_setxattr(struct model *m, const char *path, const char *name,
		   const void *value, size_t size, int flags)
{
	struct mpath w;
	struct mnode *n;
	int ret = walk(m, &w, path, false, true);
	long i;

	if (ret)
		goto out;
	if (flags & ~(ZUS_XATTR_CREATE | ZUS_XATTR_REPLACE)) {
		ret = -EINVAL;
		goto out;
	}
	ret = xa_name_ok(name);
	if (ret)
		goto out;
	if (size > ZUS_XATTR_SIZE_MAX) {
		ret = -E2BIG;
		goto out;
	}
	n = w.node;
	ret = xa_perm(n, name, true);
	if (ret)
		goto out;
	if (!xa_known_ns(name)) {
		ret = -EOPNOTSUPP;
		goto out;
	}
	i = xa_find(n, name);
	if (i >= 0 && (flags & ZUS_XATTR_CREATE)) {
		ret = -EEXIST;
		goto out;
	}
	if (i < 0 && (flags & ZUS_XATTR_REPLACE)) {
		ret = -ENODATA;
		goto out;
	}
	if (i < 0) {
		n->xa = xrealloc(n->xa, (n->nxa + 1) * sizeof(*n->xa));
		i = (long)n->nxa++;
		n->xa[i].name = xstrndup(name, strlen(name));
	} else {
		free(n->xa[i].val);
	}
	n->xa[i].val = xmalloc(size);
	memcpy(n->xa[i].val, value, size);
	n->xa[i].len = size;
out:
	mpath_free(&w);
	return ret;
}

ssize_t model_listxattr(struct model *m, const char *path, char *list,
			size_t size)
{
	struct mpath w;
	ssize_t ret = walk(m, &w, path, false, true);
	size_t need = 0;

	if (ret)
		goto out;
	for (size_t i = 0; i < w.node->nxa; i++)
		need += strlen(w.node->xa[i].name) + 1;
	ret = (ssize_t)need;
	if (size) {
		size_t pos = 0;

		if (size < need) {
			ret = -ERANGE;
			goto out;
		}
		for (size_t i = 0; i < w.node->nxa; i++) {
			size_t l = strlen(w.node->xa[i].name) + 1;

			memcpy(list + pos, w.node->xa[i].name, l);
			pos += l;
		}
	}
out:
	mpath_free(&w);
	return ret;
}

int model_removexattr(struct model *m, const char *path, const char *name)
{
	struct mpath w;
	struct mnode *n;
	int ret = walk(m, &w, path, false, true);
	long i;

	if (ret)
		goto out;
	ret = xa_name_ok(name);
	if (ret)
		goto out;
	n = w.node;
	ret = xa_perm(n, name, true);
	if (ret)
		goto out;
	if (!xa_known_ns(name)) {
		ret = -EOPNOTSUPP;
		goto out;
	}
	i = xa_find(n, name);
	if (i < 0) {
		ret = -ENODATA;
		goto out;
	}
	free(n->xa[i].name);
	free(n->xa[i].val);
	n->xa[i] = n->xa[--n->nxa];
out:
	mpath_free(&w);
	return ret;
}
