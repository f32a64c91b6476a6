// SPDX-License-Identifier: BSD-2-Clause
/*
 * zuf_transport.c - zusd's kernel transport (see zuf_transport.h).
 *
 * Threads: one mount thread (ZU_IOC_MOUNT_WAIT: mount, umount, remount,
 * statfs, sync) and one thread per CPU (ZU_IOC_WAIT), each with its own
 * control fd, command buffer and data window.  Every field the kernel sends
 * is checked before a plugin sees it; a bad command fails with -EINVAL.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* pthread_setaffinity_np, CPU_SET */
#endif
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zufs/zufs_api.h>
#include "zuf_transport.h"
#include "errmsg.h"

_Static_assert(ZUS_EXTENT_MAPPED == ZUFS_EXTENT_MAPPED &&
	       ZUS_EXTENT_HOLE == ZUFS_EXTENT_HOLE, "extent values");
_Static_assert(ZUS_SET_MTIME_NOW == ZUFS_SA_MTIME_NOW &&
	       ZUS_SET_KEEP_CTIME == ZUFS_SA_KEEP_CTIME, "setattr bits");

#define ZT_MAX_MOUNTS	64

struct zt_mount {
	bool used;
	uint64_t sb_id;
	const struct zus_fs_type *type;
	struct zus_sb sb;
	int pmem_fd;
	char *options;
	char *dev_path;
	struct zuf_transport *zt;
	void *host_data;	/* opts.mount_prepare's, if prepared */
	uint64_t features;	/* ZUFS_FEATURE_* the kernel was told */
	bool prepared;
	int mount_err;		/* for mount_release (zuf_transport.h) */
};

struct zt_thread {
	struct zuf_transport *zt;
	pthread_t tid;
	bool started;
	unsigned int cpu;	/* or ZUFS_CHAN_MOUNT */
	int fd;
	void *buf;		/* ZUFS_CHAN_CMD_SIZE */
	void *window;		/* ZUFS_CHAN_WINDOW_SIZE, NULL for mount */
	int error;
};

struct zuf_transport {
	const struct zus_fs_type *const *types;
	struct zuf_transport_opts opts;
	char control[256];
	uint64_t granted;
	uint64_t server_id;
	unsigned int ncpus;
	int main_fd;
	atomic_bool stop;
	pthread_mutex_t done_lock;
	pthread_cond_t done_cond;
	int failed;		/* first thread error */

	pthread_rwlock_t mounts_lock;
	struct zt_mount mounts[ZT_MAX_MOUNTS];
	int evil;		/* tests: enum zt_evil_mode */

	unsigned int nthreads;
	struct zt_thread *threads;	/* [0] is the mount thread */
};

static void zt_log(struct zuf_transport *zt, int prio, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void zt_log(struct zuf_transport *zt, int prio, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (zt && zt->opts.log)
		zt->opts.log(zt->opts.log_ctx, prio, msg);
	else
		fprintf(stderr, "zusd: zuf: %s\n", msg);
}

/*
 * zus_invalidate() over zuf: ZU_IOC_INVALIDATE on the main control fd.
 * No transport lock is taken (the plugin may call it from its migrator
 * while umount holds mounts_lock waiting for that thread to stop), and the
 * kernel never waits for a channel there, so plugin locks may be held.
 */
static int zt_sb_invalidate(struct zus_sb *sb, uint64_t ino, uint64_t off,
			    uint64_t len)
{
	struct zt_mount *m = sb->host_private;
	struct zufs_ioc_invalidate inv = {
		.sb_id = m->sb_id, .ino = ino, .offset = off, .len = len,
	};

	if (ioctl(m->zt->main_fd, ZU_IOC_INVALIDATE, &inv) < 0)
		return errno == ENOENT ? 0 : -errno;	/* ENOENT: unmounting */
	return 0;
}

static void zt_sb_log(struct zus_sb *sb, int prio, const char *msg)
{
	struct zt_mount *m = sb->host_private;

	zt_log(m ? m->zt : NULL, prio, "%s (%s): %s",
	       m && m->type ? m->type->name : "?", sb->dev_path, msg);
}

uint64_t zuf_transport_type_features(const struct zus_fs_type *t)
{
	const struct zus_fs_ops *o = t->ops;
	uint64_t f = ZUFS_FEATURE_RESTART;

	if ((t->flags & ZUS_FS_DIRECT_DATA) && (t->flags & ZUS_FS_NEEDS_PMEM) &&
	    o->get_extents)
		f |= ZUFS_FEATURE_DIRECT | ZUFS_FEATURE_DAX_MMAP;
	if (o->read && o->write)
		f |= ZUFS_FEATURE_MAP;
	/* off-pmem extents need the map-mode ops to fall back to */
	if ((f & ZUFS_FEATURE_DIRECT) && (f & ZUFS_FEATURE_MAP))
		f |= ZUFS_FEATURE_EXT_MAPPED;
	if (o->getxattr && o->setxattr && o->listxattr && o->removexattr)
		f |= ZUFS_FEATURE_XATTR | ZUFS_FEATURE_ACL;
	if (o->tmpfile)
		f |= ZUFS_FEATURE_TMPFILE;
	return f;
}

/* statfs f_type for a type: "ZU" and a hash of the name. */
static uint32_t zt_magic(const char *name)
{
	uint32_t h = 2166136261u;

	for (; *name; name++)
		h = (h ^ (unsigned char)*name) * 16777619u;
	return 0x5a550000u | (h & 0xffff);
}

/* ---- checking what the kernel sends ------------------------------------ */

/* A name from a command: 1..NAME_MAX bytes, no '/' nor NUL; copied to out. */
static int zt_name(const struct zufs_str *s, char *out)
{
	uint16_t len = s->len;

	if (!len || len > ZUFS_NAME_MAX)
		return -EINVAL;
	memcpy(out, s->name, len);
	out[len] = '\0';
	if (memchr(out, '/', len) || strlen(out) != len)
		return -EINVAL;
	return 0;
}

/* A NUL-terminated string field of at most size bytes; copied to out. */
static int zt_cstr(const char *field, size_t size, char *out)
{
	size_t len = strnlen(field, size);

	if (len == size)
		return -EINVAL;
	memcpy(out, field, len + 1);
	return 0;
}

static void zt_attr(struct zufs_attr *o, const struct zus_attr *a)
{
	memset(o, 0, sizeof(*o));
	o->ino = a->ino;
	o->size = a->size;
	o->blocks = a->blocks;
	o->generation = a->generation;
	o->mode = a->mode;
	o->nlink = a->nlink;
	o->uid = a->uid;
	o->gid = a->gid;
	o->rdev = a->rdev;
	o->blksize = a->blksize;
	o->atime.sec = a->atime.sec;
	o->atime.nsec = a->atime.nsec;
	o->mtime.sec = a->mtime.sec;
	o->mtime.nsec = a->mtime.nsec;
	o->ctime.sec = a->ctime.sec;
	o->ctime.nsec = a->ctime.nsec;
	o->btime.sec = a->btime.sec;
	o->btime.nsec = a->btime.nsec;
}

static struct zus_time zt_time(const struct zufs_time *t)
{
	struct zus_time r = { .sec = t->sec, .nsec = t->nsec };

	return r;
}

/* A plugin's return: 0 or a plain -errno (anything else is -EIO). */
static int zt_ret(long r)
{
	if (r > 0 || r < -133)
		return -EIO;
	return (int)r;
}

/* ---- mounts ---------------------------------------------------------- */

/* Read-locked lookup; the caller holds mounts_lock for reading. */
static struct zt_mount *zt_find(struct zuf_transport *zt, uint64_t sb_id)
{
	for (int i = 0; i < ZT_MAX_MOUNTS; i++)
		if (zt->mounts[i].used && zt->mounts[i].sb_id == sb_id)
			return &zt->mounts[i];
	return NULL;
}

static const struct zus_fs_type *zt_type(struct zuf_transport *zt,
					 const char *name)
{
	for (const struct zus_fs_type *const *t = zt->types; *t; t++)
		if (!strcmp((*t)->name, name))
			return *t;
	return NULL;
}

static void zt_mount_free(struct zt_mount *m)
{
	if (m->prepared && m->zt && m->zt->opts.mount_release)
		m->zt->opts.mount_release(m->zt->opts.mount_ctx, &m->sb,
					  m->host_data, m->mount_err);
	if (m->sb.pmem.base)
		munmap(m->sb.pmem.base, m->sb.pmem.size);
	if (m->pmem_fd >= 0)
		close(m->pmem_fd);
	free(m->options);
	free(m->dev_path);
	memset(m, 0, sizeof(*m));
	m->pmem_fd = -1;
}

static int zt_do_mount(struct zt_thread *t, struct zufs_mount *cmd)
{
	struct zuf_transport *zt = t->zt;
	char fstype[ZUFS_FSTYPE_MAX], *opts, *dev;
	const struct zus_fs_type *type;
	struct zt_mount *m = NULL, *old;
	uint64_t features;
	int ret;

	opts = malloc(sizeof(cmd->options));
	dev = malloc(sizeof(cmd->dev_path));
	if (!opts || !dev) {
		free(opts);
		free(dev);
		return -ENOMEM;
	}
	if (zt_cstr(cmd->fstype, sizeof(cmd->fstype), fstype) ||
	    zt_cstr(cmd->options, sizeof(cmd->options), opts) ||
	    zt_cstr(cmd->dev_path, sizeof(cmd->dev_path), dev) ||
	    (cmd->flags & ~(ZUFS_M_RDONLY | ZUFS_M_REATTACH)) ||
	    !cmd->hdr.sb_id) {
		ret = -EINVAL;
		goto fail_str;
	}
	type = zt_type(zt, fstype);
	if (!type) {
		ret = -ENODEV;
		goto fail_str;
	}

	pthread_rwlock_wrlock(&zt->mounts_lock);
	old = zt_find(zt, cmd->hdr.sb_id);
	if (old) {
		/* a reattach of a mount this server already has */
		pthread_rwlock_unlock(&zt->mounts_lock);
		cmd->root_ino = old->type->ops->root_ino(&old->sb);
		cmd->features = zuf_transport_type_features(old->type) &
				zt->granted;
		free(opts);
		free(dev);
		return 0;
	}
	for (int i = 0; i < ZT_MAX_MOUNTS; i++) {
		if (!zt->mounts[i].used) {
			m = &zt->mounts[i];
			break;
		}
	}
	if (!m) {
		pthread_rwlock_unlock(&zt->mounts_lock);
		ret = -EMFILE;
		goto fail_str;
	}
	memset(m, 0, sizeof(*m));
	m->pmem_fd = -1;
	m->zt = zt;
	m->type = type;
	m->sb_id = cmd->hdr.sb_id;
	m->options = opts;
	m->dev_path = dev;
	m->sb.dev_path = dev;
	m->sb.options = *opts ? opts : NULL;
	m->sb.readonly = cmd->flags & ZUFS_M_RDONLY;
	m->sb.log = zt_sb_log;
	m->sb.invalidate = zt_sb_invalidate;
	m->sb.host_private = m;
	m->sb.tier_backend = zt->opts.tier_backend;

	if (cmd->pmem_id) {
		struct zufs_ioc_grab_pmem g = { .pmem_id = cmd->pmem_id };
		void *base;

		if (ioctl(t->fd, ZU_IOC_GRAB_PMEM, &g) < 0) {
			ret = -errno;
			zt_log(zt, ZUS_LOG_ERR, "%s: grab pmem %u: %s", dev,
			       cmd->pmem_id, strerror(errno));
			goto fail_m;
		}
		m->pmem_fd = g.fd;
		if (!g.size || g.size != cmd->pmem_size) {
			ret = -EINVAL;
			goto fail_m;
		}
		base = mmap(NULL, g.size, PROT_READ | PROT_WRITE, MAP_SHARED,
			    g.fd, 0);
		if (base == MAP_FAILED) {
			ret = -errno;
			zt_log(zt, ZUS_LOG_ERR, "%s: mmap of %llu bytes of pmem: %s",
			       dev, (unsigned long long)g.size,
			       strerror(errno));
			goto fail_m;
		}
		m->sb.pmem.base = base;
		m->sb.pmem.size = g.size;
	} else if (type->flags & ZUS_FS_NEEDS_PMEM) {
		ret = -EINVAL;
		goto fail_m;
	}

	if (zt->opts.mount_prepare) {
		ret = zt->opts.mount_prepare(zt->opts.mount_ctx, &m->sb,
					     &m->host_data);
		if (ret)
			goto fail_m;
		m->prepared = true;
	}
	ret = zt_ret(type->ops->mount(&m->sb));
	m->mount_err = ret ? ret : 1;	/* 1: mounted */
	if (ret)
		goto fail_m;
	m->used = true;
	pthread_rwlock_unlock(&zt->mounts_lock);

	features = zuf_transport_type_features(type) & zt->granted;
	if (!m->sb.pmem.base)
		features &= ~(uint64_t)(ZUFS_FEATURE_DIRECT |
					ZUFS_FEATURE_DAX_MMAP);
	cmd->root_ino = type->ops->root_ino(&m->sb);
	cmd->features = features;
	m->features = features;
	zt_log(zt, ZUS_LOG_INFO, "%s %s (sb %llu)%s", type->name, dev,
	       (unsigned long long)m->sb_id,
	       (cmd->flags & ZUFS_M_REATTACH) ? " reattached" : " mounted");
	return 0;

fail_m:
	m->options = NULL;
	m->dev_path = NULL;
	zt_mount_free(m);
	pthread_rwlock_unlock(&zt->mounts_lock);
fail_str:
	free(opts);
	free(dev);
	return ret;
}

static int zt_do_umount(struct zuf_transport *zt, uint64_t sb_id)
{
	struct zt_mount *m;

	pthread_rwlock_wrlock(&zt->mounts_lock);
	m = zt_find(zt, sb_id);
	if (!m) {
		pthread_rwlock_unlock(&zt->mounts_lock);
		return -ENOENT;
	}
	if (m->type->ops->umount)
		m->type->ops->umount(&m->sb);
	m->mount_err = 0;
	zt_log(zt, ZUS_LOG_INFO, "%s %s (sb %llu) unmounted", m->type->name,
	       m->dev_path, (unsigned long long)sb_id);
	zt_mount_free(m);
	pthread_rwlock_unlock(&zt->mounts_lock);
	return 0;
}

/* Mount-thread command in buf; returns the reply size or -errno. */
/* STATFS or SYNC of mount m (mounts_lock held): the mount thread's, or a
 * channel thread's with ZUFS_FEATURE_CHAN_STATFS. */
static int zt_sb_op(struct zt_mount *m, void *buf, uint32_t in_len)
{
	struct zufs_statfs *st = buf;
	struct zus_statfs s = { 0 };
	int ret;

	if (st->hdr.op == ZUFS_OP_SYNC) {
		ret = !m->type->ops->sync ? 0 : zt_ret(m->type->ops->sync(&m->sb));
		return ret ? ret : (int)sizeof(st->hdr);
	}
	if (in_len < sizeof(*st))
		return -EINVAL;
	ret = !m->type->ops->statfs ? -EOPNOTSUPP :
	      zt_ret(m->type->ops->statfs(&m->sb, &s));
	if (ret)
		return ret;
	st->bsize = s.bsize;
	st->blocks = s.blocks;
	st->bfree = s.bfree;
	st->bavail = s.bavail;
	st->files = s.files;
	st->ffree = s.ffree;
	st->namelen = s.namelen;
	st->fsid = s.fsid;
	return sizeof(*st);
}

static int zt_mount_op(struct zt_thread *t, void *buf, uint32_t in_len)
{
	struct zuf_transport *zt = t->zt;
	struct zufs_hdr *h = buf;
	struct zt_mount *m;
	int ret;

	switch (h->op) {
	case ZUFS_OP_MOUNT:
	case ZUFS_OP_REMOUNT: {
		struct zufs_mount *cmd = buf;

		if (in_len < sizeof(*cmd))
			return -EINVAL;
		if (h->op == ZUFS_OP_MOUNT) {
			ret = zt_do_mount(t, cmd);
			return ret ? ret : (int)sizeof(*cmd);
		}
		char *opts = malloc(sizeof(cmd->options));

		if (!opts)
			return -ENOMEM;
		if (zt_cstr(cmd->options, sizeof(cmd->options), opts)) {
			free(opts);
			return -EINVAL;
		}
		pthread_rwlock_wrlock(&zt->mounts_lock);
		m = zt_find(zt, h->sb_id);
		if (!m)
			ret = -ENOENT;
		else if ((cmd->flags & ZUFS_M_SHUTDOWN) &&
			 m->type->ops->shutdown) {
			m->type->ops->shutdown(&m->sb);
			zt_log(zt, ZUS_LOG_NOTICE, "%s (%s): shut down by the kernel",
			       m->type->name, m->sb.dev_path);
			ret = 0;
		} else if (!m->type->ops->remount) {
			ret = -EOPNOTSUPP;
		} else {
			ret = zt_ret(m->type->ops->remount(&m->sb, opts,
					cmd->flags & ZUFS_M_RDONLY));
		}
		if (!ret)
			m->sb.readonly = cmd->flags & ZUFS_M_RDONLY;
		pthread_rwlock_unlock(&zt->mounts_lock);
		free(opts);
		return ret ? ret : (int)sizeof(*cmd);
	}
	case ZUFS_OP_UMOUNT:
		ret = zt_do_umount(zt, h->sb_id);
		return ret ? ret : (int)sizeof(*h);
	case ZUFS_OP_STATFS:
	case ZUFS_OP_SYNC:
		pthread_rwlock_rdlock(&zt->mounts_lock);
		m = zt_find(zt, h->sb_id);
		ret = m ? zt_sb_op(m, buf, in_len) : -ENOENT;
		pthread_rwlock_unlock(&zt->mounts_lock);
		return ret;
	default:
		return -EINVAL;
	}
}

/* ---- channel commands -------------------------------------------------- */

struct zt_fill {
	char *buf;
	uint32_t used;
	uint32_t max;
	bool full;
};

static int zt_filldir(void *ctx, const char *name, size_t namelen,
		      uint64_t ino, unsigned int dtype, uint64_t next)
{
	struct zt_fill *f = ctx;
	size_t rec = ZUFS_DIRENT_SIZE(namelen);
	struct zufs_dirent de = { 0 };

	if (!namelen || namelen > ZUFS_NAME_MAX)
		return 0;	/* skip what the kernel would refuse */
	if (f->used + rec > f->max) {
		f->full = true;
		return 1;
	}
	de.ino = ino;
	de.next = next;
	de.name_len = (uint16_t)namelen;
	de.type = (uint8_t)dtype;
	memcpy(f->buf + f->used, &de, sizeof(de));
	memcpy(f->buf + f->used + sizeof(de), name, namelen);
	memset(f->buf + f->used + sizeof(de) + namelen, 0,
	       rec - sizeof(de) - namelen);
	f->used += rec;
	return 0;
}

#define ZT_PAGE	4096ull

/*
 * The kernel maps and caches whole pages; a plugin answers for the bytes
 * asked.  Widen the first extent down and the last one up to page
 * boundaries: valid when each piece is a whole number of pages inside, and
 * a mapped piece sits at the same offset in its pmem page as in the file
 * page (blocks of a page or more).  Anything else cannot be served by DAX.
 */
static int zt_page_extents(struct zus_extent *ext, unsigned int n)
{
	struct zus_extent *first = &ext[0], *last = &ext[n - 1];
	uint64_t head = first->file_off & (ZT_PAGE - 1), end, tail;

	for (unsigned int i = 0; i < n; i++) {
		struct zus_extent *e = &ext[i];

		if (!e->len || e->file_off + e->len < e->file_off)
			return -EIO;
		if (e->pmem_off != ZUS_EXTENT_HOLE &&
		    e->pmem_off != ZUS_EXTENT_MAPPED &&
		    ((e->pmem_off ^ e->file_off) & (ZT_PAGE - 1)))
			return -EIO;
		if (i && (e->file_off & (ZT_PAGE - 1)))
			return -EIO;
		if (i < n - 1 && ((e->file_off + e->len) & (ZT_PAGE - 1)))
			return -EIO;
	}
	first->file_off -= head;
	first->len += head;
	if (first->pmem_off != ZUS_EXTENT_HOLE &&
	    first->pmem_off != ZUS_EXTENT_MAPPED)
		first->pmem_off -= head;
	end = last->file_off + last->len;
	tail = (ZT_PAGE - (end & (ZT_PAGE - 1))) & (ZT_PAGE - 1);
	if (end + tail < end)
		return -EIO;
	last->len += tail;
	return 0;
}

#define NEED(type) do { if (in_len < sizeof(type)) return -EINVAL; } while (0)
#define OP(name) do { if (!o->name) return -EOPNOTSUPP; } while (0)

/* One channel command in buf; returns the reply size or -errno. */
static int zt_chan_op(struct zt_thread *t, struct zt_mount *m, void *buf,
		      uint32_t in_len)
{
	const struct zus_fs_ops *o = m->type->ops;
	struct zus_sb *sb = &m->sb;
	struct zufs_hdr *h = buf;
	char *payload = (char *)buf + ZUFS_PAYLOAD_OFF;
	struct zus_creds cr = { .uid = h->uid, .gid = h->gid };
	char name[ZUFS_NAME_MAX + 1], name2[ZUFS_NAME_MAX + 1];
	struct zus_attr a;
	int ret;

	memset(&a, 0, sizeof(a));
	switch (h->op) {
	case ZUFS_OP_STATFS:
	case ZUFS_OP_SYNC:
		return zt_sb_op(m, buf, in_len);
	case ZUFS_OP_LOOKUP:
	case ZUFS_OP_UNLINK:
	case ZUFS_OP_RMDIR: {
		struct zufs_lookup *c = buf;

		NEED(*c);
		if (zt_name(&c->name, name))
			return -EINVAL;
		if (h->op == ZUFS_OP_LOOKUP) {
			OP(lookup);
			ret = zt_ret(o->lookup(sb, c->dir, name, c->name.len, &a));
			if (!ret)
				zt_attr(&c->attr, &a);
		} else if (h->op == ZUFS_OP_UNLINK) {
			OP(unlink);
			ret = zt_ret(o->unlink(sb, c->dir, name, c->name.len));
		} else {
			OP(rmdir);
			ret = zt_ret(o->rmdir(sb, c->dir, name, c->name.len));
		}
		return ret ? ret : (int)sizeof(*c);
	}
	case ZUFS_OP_CREATE:
	case ZUFS_OP_MKDIR:
	case ZUFS_OP_SYMLINK:
	case ZUFS_OP_TMPFILE: {
		struct zufs_create *c = buf;

		NEED(*c);
		if (h->op != ZUFS_OP_TMPFILE && zt_name(&c->name, name))
			return -EINVAL;
		if (h->op == ZUFS_OP_CREATE) {
			OP(create);
			ret = o->create(sb, c->dir, name, c->name.len, c->mode,
					c->rdev, &cr, &a);
		} else if (h->op == ZUFS_OP_MKDIR) {
			OP(mkdir);
			ret = o->mkdir(sb, c->dir, name, c->name.len, c->mode,
				       &cr, &a);
		} else if (h->op == ZUFS_OP_TMPFILE) {
			OP(tmpfile);
			ret = o->tmpfile(sb, c->dir, c->mode, &cr, &a);
		} else {
			char *target;

			OP(symlink);
			if (!c->target_len || c->target_len >= ZUS_PATH_MAX ||
			    c->target_len > ZUFS_PAYLOAD_MAX)
				return -EINVAL;
			target = malloc(c->target_len + 1);
			if (!target)
				return -ENOMEM;
			memcpy(target, payload, c->target_len);
			target[c->target_len] = '\0';
			if (strlen(target) != c->target_len)
				ret = -EINVAL;
			else
				ret = o->symlink(sb, c->dir, name, c->name.len,
						 target, &cr, &a);
			free(target);
		}
		ret = zt_ret(ret);
		if (!ret)
			zt_attr(&c->attr, &a);
		return ret ? ret : (int)sizeof(*c);
	}
	case ZUFS_OP_LINK: {
		struct zufs_link *c = buf;

		NEED(*c);
		OP(link);
		if (zt_name(&c->name, name))
			return -EINVAL;
		ret = zt_ret(o->link(sb, c->ino, c->newdir, name, c->name.len,
				     &a));
		if (!ret)
			zt_attr(&c->attr, &a);
		return ret ? ret : (int)sizeof(*c);
	}
	case ZUFS_OP_RENAME: {
		struct zufs_rename *c = buf;

		NEED(*c);
		OP(rename);
		if (zt_name(&c->oldname, name) || zt_name(&c->newname, name2) ||
		    (c->flags & ~(ZUS_RENAME_NOREPLACE | ZUS_RENAME_EXCHANGE)))
			return -EINVAL;
		ret = zt_ret(o->rename(sb, c->olddir, name, c->oldname.len,
				       c->newdir, name2, c->newname.len,
				       c->flags));
		return ret ? ret : (int)sizeof(*c);
	}
	case ZUFS_OP_READLINK: {
		struct zufs_readlink *c = buf;
		size_t len = 0;

		NEED(*c);
		OP(readlink);
		ret = zt_ret(o->readlink(sb, c->ino, payload, ZUFS_PAYLOAD_MAX,
					 &len));
		if (ret)
			return ret;
		if (len > ZUFS_PAYLOAD_MAX || len >= ZUS_PATH_MAX)
			return -EIO;
		c->len = (uint32_t)len;
		return sizeof(*c);
	}
	case ZUFS_OP_READDIR: {
		struct zufs_readdir *c = buf;
		struct zt_fill f = { .buf = payload, .max = ZUFS_PAYLOAD_MAX };

		NEED(*c);
		OP(readdir);
		ret = zt_ret(o->readdir(sb, c->dir, c->cookie, zt_filldir, &f));
		if (ret)
			return ret;
		c->bytes = f.used;
		c->more = f.full;
		return sizeof(*c);
	}
	case ZUFS_OP_GETATTR: {
		struct zufs_getattr *c = buf;

		NEED(*c);
		OP(getattr);
		ret = zt_ret(o->getattr(sb, c->ino, &a));
		if (!ret)
			zt_attr(&c->attr, &a);
		return ret ? ret : (int)sizeof(*c);
	}
	case ZUFS_OP_EVICT: {
		struct zufs_getattr *c = buf;

		NEED(*c);
		if (o->evict)
			o->evict(sb, c->ino);
		return sizeof(*h);
	}
	case ZUFS_OP_SETATTR: {
		struct zufs_setattr *c = buf;
		struct zus_setattr sa = { 0 };

		NEED(*c);
		OP(setattr);
		if (c->valid & ~0x3ffu)
			return -EINVAL;
		/* ZUFS_SA_* and ZUS_SET_* share their values */
		sa.valid = c->valid;
		sa.mode = c->mode & 07777;
		sa.uid = c->uid;
		sa.gid = c->gid;
		sa.size = c->size;
		sa.atime = zt_time(&c->atime);
		sa.mtime = zt_time(&c->mtime);
		sa.ctime = zt_time(&c->ctime);
		ret = zt_ret(o->setattr(sb, c->ino, &sa, &a));
		if (!ret)
			zt_attr(&c->attr, &a);
		return ret ? ret : (int)sizeof(*c);
	}
	case ZUFS_OP_READ:
	case ZUFS_OP_WRITE: {
		struct zufs_rw *c = buf;
		ssize_t n;

		NEED(*c);
		if (!t->window || c->len > ZUFS_CHAN_WINDOW_SIZE ||
		    c->window_off > ZUFS_CHAN_WINDOW_SIZE - c->len)
			return -EINVAL;
		if (h->op == ZUFS_OP_READ) {
			OP(read);
			n = o->read(sb, c->ino, (char *)t->window + c->window_off,
				    c->len, c->offset);
		} else {
			OP(write);
			n = o->write(sb, c->ino,
				     (char *)t->window + c->window_off, c->len,
				     c->offset);
		}
		if (n < 0)
			return zt_ret(n);
		if ((uint64_t)n > c->len)
			return -EIO;
		c->done = (uint64_t)n;
		c->new_size = 0;
		if (h->op == ZUFS_OP_WRITE) {
			OP(getattr);
			ret = zt_ret(o->getattr(sb, c->ino, &a));
			if (ret)
				return ret;
			c->new_size = a.size;
		}
		return sizeof(*c);
	}
	case ZUFS_OP_GET_EXTENTS: {
		struct zufs_get_extents *c = buf;
		struct zus_extent ext[ZUFS_MAX_EXTENTS];
		unsigned int n = ZUFS_MAX_EXTENTS;
		bool mapped_ok = m->features & ZUFS_FEATURE_EXT_MAPPED;
		uint32_t gef = ZUFS_GE_WRITE | (mapped_ok ? ZUFS_GE_PROMOTE : 0);
		unsigned int flags = 0;

		/* the kernel sends the request part only */
		if (in_len < offsetof(struct zufs_get_extents, ext))
			return -EINVAL;
		OP(get_extents);
		if (!sb->pmem.base || (c->flags & ~gef) || !c->len)
			return -EINVAL;
		if (c->flags & ZUFS_GE_WRITE)
			flags |= ZUS_GE_WRITE;
		if (c->flags & ZUFS_GE_PROMOTE)
			flags |= ZUS_GE_PROMOTE;
		ret = zt_ret(o->get_extents(sb, c->ino, c->offset, c->len,
					    flags, ext, &n));
		if (ret)
			return ret;
		if (!n || n > ZUFS_MAX_EXTENTS)
			return -EIO;
		/*
		 * Data off pmem (on a tier device): the kernel reads and
		 * writes it in map mode.  A kernel without that gets the
		 * extents up to it, and a call that needs it fails; a
		 * promoting call must get pmem (or a hole) first.
		 */
		for (unsigned int i = 0; i < n; i++) {
			if (ext[i].pmem_off != ZUS_EXTENT_MAPPED)
				continue;
			if (mapped_ok && (i || !(flags & ZUS_GE_PROMOTE)))
				continue;
			if (i) {
				n = i;
				break;
			}
			zt_log(t->zt, ZUS_LOG_ERR, "%s: inode %llu: data off "
			       "pmem (tier) cannot be served in direct mode%s",
			       sb->dev_path, (unsigned long long)c->ino,
			       mapped_ok ? " (promotion failed)" : "");
			return -EIO;
		}
		ret = zt_page_extents(ext, n);
		if (ret) {
			zt_log(t->zt, ZUS_LOG_ERR, "%s: get_extents of inode %llu: "
			       "extents not page-granular", sb->dev_path,
			       (unsigned long long)c->ino);
			return ret;
		}
		for (unsigned int i = 0; i < n; i++) {
			c->ext[i].file_off = ext[i].file_off;
			c->ext[i].pmem_off = ext[i].pmem_off;
			c->ext[i].len = ext[i].len;
		}
		c->n = n;
		c->size = 0;
		return sizeof(*c);
	}
	case ZUFS_OP_FALLOCATE: {
		struct zufs_fallocate *c = buf;

		NEED(*c);
		OP(fallocate);
		ret = zt_ret(o->fallocate(sb, c->ino, (int)c->mode, c->offset,
					  c->len));
		return ret ? ret : (int)sizeof(*h);
	}
	case ZUFS_OP_LLSEEK: {
		struct zufs_llseek *c = buf;
		uint64_t res = 0;

		NEED(*c);
		OP(lseek);
		if (c->whence != ZUS_SEEK_DATA && c->whence != ZUS_SEEK_HOLE)
			return -EINVAL;
		ret = zt_ret(o->lseek(sb, c->ino, c->offset, (int)c->whence,
				      &res));
		if (ret)
			return ret;
		c->offset = res;
		return sizeof(*c);
	}
	case ZUFS_OP_FSYNC: {
		struct zufs_fsync *c = buf;

		NEED(*c);
		ret = o->fsync ? zt_ret(o->fsync(sb, c->ino, c->datasync)) : 0;
		return ret ? ret : (int)sizeof(*h);
	}
	case ZUFS_OP_GETXATTR:
	case ZUFS_OP_SETXATTR:
	case ZUFS_OP_LISTXATTR:
	case ZUFS_OP_REMOVEXATTR: {
		struct zufs_xattr *c = buf;
		ssize_t n = 0;

		NEED(*c);
		if (c->size > ZUFS_PAYLOAD_MAX)
			return -EINVAL;
		if (h->op != ZUFS_OP_LISTXATTR && zt_name(&c->name, name))
			return -EINVAL;
		if (h->op == ZUFS_OP_GETXATTR) {
			OP(getxattr);
			n = o->getxattr(sb, c->ino, name,
					c->size ? payload : NULL, c->size);
		} else if (h->op == ZUFS_OP_LISTXATTR) {
			OP(listxattr);
			n = o->listxattr(sb, c->ino, c->size ? payload : NULL,
					 c->size);
		} else if (h->op == ZUFS_OP_SETXATTR) {
			OP(setxattr);
			if (c->flags & ~(ZUS_XATTR_CREATE | ZUS_XATTR_REPLACE))
				return -EINVAL;
			n = o->setxattr(sb, c->ino, name, payload, c->size,
					(int)c->flags);
		} else {
			OP(removexattr);
			n = o->removexattr(sb, c->ino, name);
		}
		if (n < 0)
			return zt_ret(n);
		if ((h->op == ZUFS_OP_GETXATTR || h->op == ZUFS_OP_LISTXATTR) &&
		    ((c->size && (size_t)n > c->size) ||
		     n > ZUS_XATTR_SIZE_MAX))
			return -EIO;
		c->len = (uint32_t)n;
		return sizeof(*c);
	}
	default:
		return -EINVAL;
	}
}

/* ---- tests: malformed replies (opts.evil) ------------------------------ */

enum zt_evil_mode { ZT_EVIL_NONE, ZT_EVIL_GETATTR, ZT_EVIL_LOOKUP,
		    ZT_EVIL_READDIR, ZT_EVIL_EXTENTS, ZT_EVIL_STATFS,
		    ZT_EVIL_SEQ, ZT_EVIL_MAPPED };

static const char *const zt_evil_names[] = {
	[ZT_EVIL_GETATTR] = "getattr", [ZT_EVIL_LOOKUP] = "lookup",
	[ZT_EVIL_READDIR] = "readdir", [ZT_EVIL_EXTENTS] = "extents",
	[ZT_EVIL_STATFS] = "statfs", [ZT_EVIL_SEQ] = "seq",
	[ZT_EVIL_MAPPED] = "mapped",
};

int zuf_transport_evil_mode(const char *name)
{
	for (int i = 1; i < (int)(sizeof(zt_evil_names) /
				 sizeof(zt_evil_names[0])); i++)
		if (!strcmp(name, zt_evil_names[i]))
			return i;
	return -1;
}

/*
 * Spoil a good reply in t->buf; returns the reply size (or -errno) to send
 * and may change the sequence number echoed.
 */
static int zt_evil(struct zt_thread *t, uint32_t op, int r, uint64_t *seq)
{
	struct zufs_hdr *h = t->buf;

	if (t->zt->evil == ZT_EVIL_LOOKUP && op == ZUFS_OP_LOOKUP)
		return -1000;	/* found or not */
	if (r < 0)
		return r;
	switch (t->zt->evil) {
	case ZT_EVIL_GETATTR:
		if (op == ZUFS_OP_GETATTR)
			((struct zufs_getattr *)h)->attr.mode = 0170777;
		break;
	case ZT_EVIL_READDIR:
		if (op == ZUFS_OP_READDIR) {
			struct zufs_readdir *c = t->buf;
			struct zufs_dirent *de = (struct zufs_dirent *)
				((char *)t->buf + ZUFS_PAYLOAD_OFF);

			if (c->bytes >= sizeof(*de))
				de->name_len = 4000;
		}
		break;
	case ZT_EVIL_EXTENTS:
		if (op == ZUFS_OP_GET_EXTENTS) {
			struct zufs_get_extents *c = t->buf;

			for (uint32_t i = 0; i < c->n && i < ZUFS_MAX_EXTENTS; i++)
				if (c->ext[i].pmem_off != ZUFS_EXTENT_HOLE)
					c->ext[i].pmem_off = UINT64_MAX - 4095;
		}
		break;
	case ZT_EVIL_MAPPED:
		/* all data "off pmem", even where a fault asked for pmem */
		if (op == ZUFS_OP_GET_EXTENTS) {
			struct zufs_get_extents *c = t->buf;

			for (uint32_t i = 0; i < c->n && i < ZUFS_MAX_EXTENTS; i++)
				if (c->ext[i].pmem_off != ZUFS_EXTENT_HOLE)
					c->ext[i].pmem_off = ZUFS_EXTENT_MAPPED;
		}
		break;
	case ZT_EVIL_STATFS:
		if (op == ZUFS_OP_STATFS)
			((struct zufs_statfs *)h)->bsize = 3;
		break;
	case ZT_EVIL_SEQ:
		if (op == ZUFS_OP_SETATTR)
			(*seq)++;
		break;
	default:
		break;
	}
	return r;
}

/* ---- threads ---------------------------------------------------------- */

static void zt_thread_failed(struct zt_thread *t, int err)
{
	struct zuf_transport *zt = t->zt;

	t->error = err;
	pthread_mutex_lock(&zt->done_lock);
	if (!zt->failed)
		zt->failed = err;
	pthread_cond_broadcast(&zt->done_cond);
	pthread_mutex_unlock(&zt->done_lock);
}

static int zt_handshake(struct zuf_transport *zt, int fd)
{
	struct zufs_ioc_handshake hs = {
		.major = ZUFS_MAJOR_VERSION,
		.minor = ZUFS_MINOR_VERSION,
		.features = ZUFS_FEATURES_ALL,
	};

	if (ioctl(fd, ZU_IOC_HANDSHAKE, &hs) < 0)
		return -errno;
	zt->granted = hs.features;
	zt->server_id = hs.server_id;
	zt->ncpus = hs.ncpus;
	return 0;
}

static int zt_thread_open(struct zt_thread *t)
{
	struct zuf_transport *zt = t->zt;
	struct zufs_ioc_init_chan ic = { .cpu = t->cpu };
	struct zufs_ioc_handshake hs = {
		.major = ZUFS_MAJOR_VERSION,
		.minor = ZUFS_MINOR_VERSION,
		.features = zt->granted,
	};

	t->fd = open(zt->control, O_RDWR | O_CLOEXEC);
	if (t->fd < 0)
		return -errno;
	if (ioctl(t->fd, ZU_IOC_HANDSHAKE, &hs) < 0 ||
	    ioctl(t->fd, ZU_IOC_INIT_CHAN, &ic) < 0)
		return -errno;
	if (ic.cmd_size != ZUFS_CHAN_CMD_SIZE)
		return -EPROTO;
	t->buf = mmap(NULL, ZUFS_CHAN_CMD_SIZE, PROT_READ | PROT_WRITE,
		      MAP_SHARED, t->fd, 0);
	if (t->buf == MAP_FAILED) {
		t->buf = NULL;
		return -errno;
	}
	if (t->cpu != ZUFS_CHAN_MOUNT) {
		if (ic.window_size != ZUFS_CHAN_WINDOW_SIZE)
			return -EPROTO;
		t->window = mmap(NULL, ZUFS_CHAN_WINDOW_SIZE,
				 PROT_READ | PROT_WRITE, MAP_SHARED, t->fd,
				 ZUFS_CHAN_WINDOW_OFF);
		if (t->window == MAP_FAILED) {
			t->window = NULL;
			return -errno;
		}
	}
	return 0;
}

static void *zt_thread_main(void *arg)
{
	struct zt_thread *t = arg;
	struct zuf_transport *zt = t->zt;
	bool mount = t->cpu == ZUFS_CHAN_MOUNT;
	struct zufs_ioc_wait w = { 0 };
	unsigned long req = mount ? ZU_IOC_MOUNT_WAIT : ZU_IOC_WAIT;
	int ret;

	if (!mount) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(t->cpu, &set);
		ret = pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
		if (ret)
			zt_log(zt, ZUS_LOG_WARNING, "channel %u: affinity: %s",
			       t->cpu, strerror(ret));
	}
	ret = zt_thread_open(t);
	if (ret) {
		zt_log(zt, ZUS_LOG_ERR, "channel %d: setup: %s", (int)t->cpu,
		       strerror(-ret));
		zt_thread_failed(t, ret);
		return NULL;
	}

	while (!atomic_load(&zt->stop)) {
		struct zufs_hdr *h = t->buf;
		uint32_t in_len, op;
		uint64_t seq;
		int r;

		if (ioctl(t->fd, req, &w) < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				w.flags = 0;
				continue;
			}
			if (errno == ECANCELED)
				break;
			ret = -errno;
			zt_log(zt, ZUS_LOG_ERR, "channel %d: wait: %s",
			       (int)t->cpu, strerror(errno));
			zt_thread_failed(t, ret);
			break;
		}
		in_len = h->in_len;
		op = h->op;
		if (in_len < sizeof(*h) || in_len > ZUFS_PAYLOAD_OFF ||
		    h->seq != w.seq) {
			r = -EINVAL;
		} else if (mount) {
			uint64_t sb_id = h->sb_id;
			struct zt_mount *m;

			/* zusd: the watchdog and per-mount stats see these too */
			if (zt->opts.op_begin)
				zt->opts.op_begin(zt->opts.op_ctx);
			r = zt_mount_op(t, t->buf, in_len);
			if (zt->opts.op_end) {
				pthread_rwlock_rdlock(&zt->mounts_lock);
				m = zt_find(zt, sb_id);
				zt->opts.op_end(zt->opts.op_ctx, m ? &m->sb : NULL,
						op, 0, r < 0 ? r : 0);
				pthread_rwlock_unlock(&zt->mounts_lock);
			}
		} else {
			struct zt_mount *m;
			uint64_t bytes = 0;

			if (zt->opts.op_begin)
				zt->opts.op_begin(zt->opts.op_ctx);
			pthread_rwlock_rdlock(&zt->mounts_lock);
			m = zt_find(zt, h->sb_id);
			r = m ? zt_chan_op(t, m, t->buf, in_len) : -ENODEV;
			if (r >= 0 && (op == ZUFS_OP_READ || op == ZUFS_OP_WRITE))
				bytes = ((struct zufs_rw *)t->buf)->done;
			if (zt->opts.op_end)
				zt->opts.op_end(zt->opts.op_ctx, m ? &m->sb : NULL,
						op, bytes, r < 0 ? r : 0);
			pthread_rwlock_unlock(&zt->mounts_lock);
		}
		seq = w.seq;
		if (zt->evil)
			r = zt_evil(t, op, r, &seq);
		h->op = op;
		h->seq = seq;
		if (r < 0) {
			h->err = r;
			h->out_len = sizeof(*h);
		} else {
			h->err = 0;
			h->out_len = (uint32_t)r;
		}
		w.flags = ZUFS_WAIT_HAS_RESULT;
	}
	return NULL;
}

static int zt_open_control(struct zuf_transport *zt, char *err,
			   size_t errlen)
{
	const char *root = zt->opts.root ? zt->opts.root : ZUFS_ROOT_MOUNTPOINT;

	snprintf(zt->control, sizeof(zt->control), "%s/%s", root,
		 ZUFS_CONTROL_FILE);
	zt->main_fd = open(zt->control, O_RDWR | O_CLOEXEC);
	if (zt->main_fd < 0 && errno == ENOENT) {
		/* zuf-root not mounted yet: mount it */
		if (mount("nodev", root, "zuf", 0, NULL) < 0 && errno != EBUSY) {
			zus_set_err(err, errlen,
				"zuf: cannot mount zuf-root on %s: %s (is zuf.ko loaded? modprobe zuf)",
				root, strerror(errno));
			return -errno;
		}
		zt->main_fd = open(zt->control, O_RDWR | O_CLOEXEC);
	}
	if (zt->main_fd < 0) {
		int e = errno;

		zus_set_err(err, errlen, "zuf: cannot open %s: %s", zt->control,
			strerror(e));
		return -e;
	}
	return 0;
}

int zuf_transport_start(const struct zus_fs_type *const *types,
			const struct zuf_transport_opts *opts,
			struct zuf_transport **out, char *err, size_t errlen)
{
	struct zuf_transport *zt;
	long online;
	int ret;

	*out = NULL;
	if (!types || !*types) {
		zus_set_err(err, errlen, "zuf: no filesystem type to serve");
		return -EINVAL;
	}
	zt = calloc(1, sizeof(*zt));
	if (!zt)
		return -ENOMEM;
	zt->types = types;
	if (opts)
		zt->opts = *opts;
	if (zt->opts.evil) {
		zt->evil = zuf_transport_evil_mode(zt->opts.evil);
		if (zt->evil < 0) {
			zus_set_err(err, errlen, "zuf: unknown test mode %s",
				zt->opts.evil);
			ret = -EINVAL;
			goto fail;
		}
	}
	zt->main_fd = -1;
	pthread_mutex_init(&zt->done_lock, NULL);
	pthread_cond_init(&zt->done_cond, NULL);
	pthread_rwlock_init(&zt->mounts_lock, NULL);
	for (int i = 0; i < ZT_MAX_MOUNTS; i++)
		zt->mounts[i].pmem_fd = -1;

	ret = zt_open_control(zt, err, errlen);
	if (ret)
		goto fail;
	ret = zt_handshake(zt, zt->main_fd);
	if (ret) {
		zus_set_err(err, errlen, "zuf: handshake: %s%s", strerror(-ret),
			ret == -EPROTO ? " (zusd and zuf.ko ABI versions differ)" : "");
		goto fail;
	}
	for (const struct zus_fs_type *const *t = types; *t; t++) {
		struct zufs_ioc_register_fs r = { 0 };

		if (!(*t)->name || strlen((*t)->name) >= ZUFS_FSTYPE_MAX ||
		    !(*t)->ops || !(*t)->ops->mount || !(*t)->ops->root_ino) {
			zus_set_err(err, errlen, "zuf: fs type %s: bad name or ops",
				(*t)->name ? (*t)->name : "(null)");
			ret = -EINVAL;
			goto fail;
		}
		strcpy(r.fstype, (*t)->name);
		r.features = zuf_transport_type_features(*t) & zt->granted;
		r.magic = zt_magic((*t)->name);
		r.flags = ((*t)->flags & ZUS_FS_NEEDS_PMEM) ? 0 : ZUFS_REGFS_NODEV;
		if (r.flags & ZUFS_REGFS_NODEV)
			r.features &= ~(uint64_t)(ZUFS_FEATURE_DIRECT |
						  ZUFS_FEATURE_DAX_MMAP);
		if (ioctl(zt->main_fd, ZU_IOC_REGISTER_FS, &r) < 0) {
			ret = -errno;
			zus_set_err(err, errlen, "zuf: register %s: %s%s", r.fstype,
				strerror(errno),
				errno == EBUSY ? " (a kernel filesystem has that name)" : "");
			goto fail;
		}
	}

	online = sysconf(_SC_NPROCESSORS_CONF);
	if (online < 1)
		online = 1;
	if ((unsigned long)online > zt->ncpus)
		online = zt->ncpus;
	if (zt->opts.nthreads && zt->opts.nthreads < online)
		online = zt->opts.nthreads;
	zt->nthreads = (unsigned int)online + 1;
	zt->threads = calloc(zt->nthreads, sizeof(*zt->threads));
	if (!zt->threads) {
		ret = -ENOMEM;
		goto fail;
	}
	for (unsigned int i = 0; i < zt->nthreads; i++) {
		struct zt_thread *t = &zt->threads[i];

		t->zt = zt;
		t->fd = -1;
		t->cpu = i ? i - 1 : ZUFS_CHAN_MOUNT;
	}
	/* channels first: the mount thread's attach triggers reattaches */
	for (unsigned int i = zt->nthreads; i-- > 0;) {
		struct zt_thread *t = &zt->threads[i];

		ret = pthread_create(&t->tid, NULL, zt_thread_main, t);
		if (ret) {
			ret = -ret;
			zus_set_err(err, errlen, "zuf: thread: %s", strerror(-ret));
			goto fail;
		}
		t->started = true;
	}
	*out = zt;
	return 0;
fail:
	zuf_transport_stop(zt);
	return ret;
}

int zuf_transport_wait(struct zuf_transport *zt)
{
	int ret;

	pthread_mutex_lock(&zt->done_lock);
	while (!zt->failed && !atomic_load(&zt->stop))
		pthread_cond_wait(&zt->done_cond, &zt->done_lock);
	ret = zt->failed;
	pthread_mutex_unlock(&zt->done_lock);
	return ret;
}

void zuf_transport_request_stop(struct zuf_transport *zt)
{
	atomic_store(&zt->stop, true);
	pthread_mutex_lock(&zt->done_lock);
	pthread_cond_broadcast(&zt->done_cond);
	pthread_mutex_unlock(&zt->done_lock);
}

void zuf_transport_stop(struct zuf_transport *zt)
{
	if (!zt)
		return;
	atomic_store(&zt->stop, true);
	pthread_mutex_lock(&zt->done_lock);
	pthread_cond_broadcast(&zt->done_cond);
	pthread_mutex_unlock(&zt->done_lock);
	for (unsigned int i = 0; zt->threads && i < zt->nthreads; i++) {
		struct zt_thread *t = &zt->threads[i];

		if (!t->started)
			continue;
		/* the fd may not be open yet: retry until the thread is gone */
		while (pthread_tryjoin_np(t->tid, NULL) == EBUSY) {
			if (t->fd >= 0)
				ioctl(t->fd, ZU_IOC_BREAK);
			usleep(1000);
		}
		if (t->window)
			munmap(t->window, ZUFS_CHAN_WINDOW_SIZE);
		if (t->buf)
			munmap(t->buf, ZUFS_CHAN_CMD_SIZE);
		if (t->fd >= 0)
			close(t->fd);
	}
	for (int i = 0; i < ZT_MAX_MOUNTS; i++)
		if (zt->mounts[i].used)
			zt_mount_free(&zt->mounts[i]);
	if (zt->main_fd >= 0)
		close(zt->main_fd);
	free(zt->threads);
	pthread_rwlock_destroy(&zt->mounts_lock);
	pthread_cond_destroy(&zt->done_cond);
	pthread_mutex_destroy(&zt->done_lock);
	free(zt);
}

const struct zus_fs_type *zuf_transport_sb_type(const struct zus_sb *sb)
{
	const struct zt_mount *m = sb->host_private;

	return m->type;
}

int zuf_transport_with_mount(struct zuf_transport *zt, const struct zus_sb *sb,
			     int (*fn)(struct zus_sb *sb,
				       const struct zus_fs_type *type, void *arg),
			     void *arg)
{
	int ret = -ENOENT;

	/* read-locked: umount (write-locked) waits for fn to return */
	pthread_rwlock_rdlock(&zt->mounts_lock);
	for (int i = 0; i < ZT_MAX_MOUNTS; i++) {
		struct zt_mount *m = &zt->mounts[i];

		if (m->used && &m->sb == sb) {
			ret = fn(&m->sb, m->type, arg);
			break;
		}
	}
	pthread_rwlock_unlock(&zt->mounts_lock);
	return ret;
}
