// SPDX-License-Identifier: BSD-2-Clause
/*
 * fuse_transport.c - the FUSE transport: every low-level FUSE request is
 * translated into one zus_fs_ops call on inode numbers.
 *
 * Inode numbers are the plugin's, except that the plugin's root and
 * FUSE_ROOT_ID trade places.  st_ino and d_ino stay the plugin's numbers, so
 * stat(2) shows the same inode numbers as under the zuf transport.
 *
 * The kernel checks permissions (default_permissions, and POSIX ACLs when it
 * can); what the VFS would otherwise do for an in-kernel filesystem (umask,
 * default ACL inheritance, mode <-> ACL updates, setgid directories) is done
 * here, because a plugin never knows which transport serves it.
 */
#define FUSE_USE_VERSION 312

#include <errno.h>
#include <fuse_lowlevel.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "atime.h"
#include "fuse_inodes.h"
#include "fuse_transport.h"
#include "health.h"
#include "posix_acl.h"
#include "stats.h"

/* libfuse callbacks take arguments a handler may not need */
#define ZF_UNUSED	__attribute__((unused))

/*
 * Only requests through this mount change the filesystem, and the kernel
 * invalidates what it caches on each of them; the timeout only bounds the
 * staleness of atime and of what the plugin changes on its own.
 */
#define ZF_TIMEOUT	1.0

struct zfuse {
	struct zus_sb *sb;
	const struct zus_fs_ops *ops;
	uint64_t root;
	struct zfi_table inodes;
	bool acl;	/* the kernel enforces POSIX ACLs: keep modes in step */
	bool warned_nomem;
	unsigned int atime;	/* the mount's atime policy (atime.h) */
	struct zusd_stats *stats;	/* the mount's; may be NULL */
};

/*
 * One plugin call of a request, counted in the mount's statistics (bytes:
 * the call's result when positive, for read and write) and bracketed for
 * the watchdog (health.h).  Evaluates to the call's result.
 */
#define ZF_CALL(z, op, bytes, call) ({					\
	uint64_t t0_ = zf_begin();					\
	long r_ = (call);						\
	zf_done((z), (op), t0_, (bytes) && r_ > 0 ? (uint64_t)r_ : 0, r_); \
	r_; })

static inline uint64_t zf_begin(void)
{
	zusd_busy_begin();
	return zusd_stats_clock();
}

static inline void zf_done(struct zfuse *z, enum zusd_op op, uint64_t t0,
			   uint64_t bytes, long r)
{
	zusd_stats_done(z->stats, op, t0, bytes, r < 0 ? (int)r : 0);
	zusd_busy_end();
}

static inline struct zfuse *zf_of(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

/* The plugin's root and FUSE_ROOT_ID trade places; the swap undoes itself. */
static uint64_t zf_swap(const struct zfuse *z, uint64_t n)
{
	if (n == FUSE_ROOT_ID)
		return z->root;
	if (n == z->root)
		return FUSE_ROOT_ID;
	return n;
}

/* A plugin must return 0 or -errno; anything else is its bug: EIO. */
static int zf_errno(long ret)
{
	return ret < 0 && ret > -4096 ? (int)-ret : EIO;
}

static void zf_reply_ret(fuse_req_t req, long ret)
{
	fuse_reply_err(req, ret ? zf_errno(ret) : 0);
}

static int zf_name_ok(const char *name)
{
	return strlen(name) <= ZUS_NAME_MAX ? 0 : -ENAMETOOLONG;
}

/* lazytime: an atime kept in memory is the inode's atime (fuse_inodes.h) */
static void zf_stat(struct zfuse *z, const struct zus_attr *a, struct stat *st)
{
	struct zus_time at = a->atime;

	if (z->atime & ZUS_ATIME_LAZYTIME)
		zfi_atime_get(&z->inodes, a->ino, &at, NULL);
	memset(st, 0, sizeof(*st));
	st->st_ino = a->ino;
	st->st_mode = a->mode;
	st->st_nlink = a->nlink;
	st->st_uid = a->uid;
	st->st_gid = a->gid;
	st->st_rdev = a->rdev;
	st->st_size = (off_t)a->size;
	st->st_blocks = (blkcnt_t)a->blocks;
	st->st_blksize = a->blksize ? a->blksize : 4096;
	st->st_atim.tv_sec = at.sec;
	st->st_atim.tv_nsec = at.nsec;
	st->st_mtim.tv_sec = a->mtime.sec;
	st->st_mtim.tv_nsec = a->mtime.nsec;
	st->st_ctim.tv_sec = a->ctime.sec;
	st->st_ctim.tv_nsec = a->ctime.nsec;
}

static void zf_fill_entry(struct zfuse *z, const struct zus_attr *a,
			  struct fuse_entry_param *e)
{
	memset(e, 0, sizeof(*e));
	e->ino = zf_swap(z, a->ino);
	e->generation = a->generation;
	zf_stat(z, a, &e->attr);
	e->attr_timeout = ZF_TIMEOUT;
	e->entry_timeout = ZF_TIMEOUT;
}

/* Count a lookup the kernel is about to receive. */
static void zf_ref(struct zfuse *z, uint64_t ino)
{
	if (zfi_lookup(&z->inodes, ino, 1) && !z->warned_nomem) {
		/* harmless but for space: the plugin reclaims it at next mount */
		z->warned_nomem = true;
		fprintf(stderr, "zusd: out of memory tracking inode %llu; "
			"it will not be evicted until the next mount\n",
			(unsigned long long)ino);
	}
}

/* Count first: a FORGET may race right behind the reply. */
static void zf_reply_entry(fuse_req_t req, struct zfuse *z,
			   const struct zus_attr *a)
{
	struct fuse_entry_param e;

	zf_fill_entry(z, a, &e);
	zf_ref(z, a->ino);
	/* -ENOENT: the request was interrupted, the kernel never saw it */
	if (fuse_reply_entry(req, &e) == -ENOENT)
		zfi_forget(&z->inodes, a->ino, 1);
}

static void zf_evict(void *ctx, uint64_t ino)
{
	struct zfuse *z = ctx;

	if (z->ops->evict)
		z->ops->evict(z->sb, ino);
}

/* lazytime: write an atime kept in memory (errors ignored, as the VFS's) */
static void zf_write_atime(struct zfuse *z, uint64_t ino,
			   const struct zus_time *atime)
{
	struct zus_setattr sa = {
		.valid = ZUS_SET_ATIME | ZUS_SET_KEEP_CTIME,
		.atime = *atime,
	};
	struct zus_attr a;

	if (z->ops->setattr && !z->sb->readonly)
		(void)z->ops->setattr(z->sb, ino, &sa, &a);
}

static void zf_flush_atime(void *ctx, uint64_t ino,
			   const struct zus_time *atime)
{
	zf_write_atime(ctx, ino, atime);
}

/* lazytime: an atime waits in memory at most this long (the kernel's
 * dirtytime_expire_interval), then goes with the inode's next access */
#define ZF_LAZY_EXPIRE_SEC	(12 * 60 * 60)

static int64_t zf_mono_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/*
 * An access to ino (a read that returned data, an mmap fault, a readdir):
 * atime moves as the mount's options say (atime.h).  Under lazytime the
 * new atime stays in memory (zf_stat reports it) until fsync, setattr,
 * eviction, unmount or ZF_LAZY_EXPIRE_SEC; a crash loses it, as lazytime
 * allows.
 */
static void zf_access(struct zfuse *z, uint64_t ino)
{
	int64_t mono = zf_mono_sec(), since = mono;
	struct zus_time now, kept;
	bool has_kept;

	if (!(z->atime & ZUS_ATIME_LAZYTIME)) {
		zus_atime_touch(z->ops, z->sb, ino, z->atime);
		return;
	}
	has_kept = zfi_atime_get(&z->inodes, ino, &kept, &since);
	if (!zus_atime_due(z->ops, z->sb, ino, z->atime,
			   has_kept ? &kept : NULL, &now))
		return;
	if (zfi_atime_defer(&z->inodes, ino, &now, mono) ||
	    mono - since >= ZF_LAZY_EXPIRE_SEC) {
		/* nobody to keep it for, or kept long enough */
		zfi_atime_take(&z->inodes, ino, &kept);
		zf_write_atime(z, ino, &now);
	}
}

/* ---- POSIX ACL bookkeeping (only when the kernel enforces ACLs) ------- */

/* Read and parse an ACL xattr; *out is NULL when ino has none. */
static int zf_acl_get(struct zfuse *z, uint64_t ino, const char *name,
		      struct zacl **out)
{
	struct zacl *acl;
	ssize_t n;
	void *buf;
	int ret;

	*out = NULL;
	if (!z->ops->getxattr)
		return 0;
	n = z->ops->getxattr(z->sb, ino, name, NULL, 0);
	if (n == -ENODATA || n == -EOPNOTSUPP || n == 0)
		return 0;
	if (n < 0)
		return (int)n;
	if (n > ZUS_XATTR_SIZE_MAX)
		return -EIO;
	buf = malloc((size_t)n);
	acl = malloc(sizeof(*acl));
	if (!buf || !acl) {
		ret = -ENOMEM;
		goto out;
	}
	n = z->ops->getxattr(z->sb, ino, name, buf, (size_t)n);
	if (n < 0) {
		ret = n == -ENODATA ? 0 : (int)n;
		goto out;
	}
	/* a corrupt stored ACL must not stop the file from being used */
	ret = zacl_parse(buf, (size_t)n, acl) ? -EIO : 0;
	if (!ret) {
		*out = acl;
		acl = NULL;
	}
out:
	free(buf);
	free(acl);
	return ret;
}

static int zf_acl_put(struct zfuse *z, uint64_t ino, const char *name,
		      const struct zacl *acl)
{
	void *buf = malloc(zacl_xattr_size(acl));
	size_t n;
	int ret;

	if (!buf)
		return -ENOMEM;
	n = zacl_to_xattr(acl, buf);
	ret = z->ops->setxattr ? z->ops->setxattr(z->sb, ino, name, buf, n, 0)
			       : -EOPNOTSUPP;
	free(buf);
	return ret;
}

/* chmod: the access ACL's owner, mask and other entries follow the mode. */
static int zf_acl_chmod(struct zfuse *z, uint64_t ino, mode_t mode)
{
	struct zacl *acl;
	int ret;

	if (!z->acl || S_ISLNK(mode))
		return 0;
	ret = zf_acl_get(z, ino, ZACL_XATTR_ACCESS, &acl);
	if (ret || !acl)
		return ret;
	ret = zacl_chmod(acl, mode);
	if (!ret)
		ret = zf_acl_put(z, ino, ZACL_XATTR_ACCESS, acl);
	free(acl);
	return ret;
}

/* setxattr(system.posix_acl_access): the mode's bits follow the ACL. */
static int zf_acl_set_access(struct zfuse *z, uint64_t ino, const char *value,
			     size_t size)
{
	struct zus_setattr sa = { .valid = ZUS_SET_MODE };
	struct zus_attr a;
	struct zacl *acl = malloc(sizeof(*acl));
	mode_t mode;
	int ret, equiv;

	if (!acl)
		return -ENOMEM;
	ret = zacl_parse(value, size, acl);
	if (ret)
		goto out;
	ret = z->ops->getattr(z->sb, ino, &a);
	if (ret)
		goto out;
	mode = a.mode;
	equiv = zacl_equiv_mode(acl, &mode);
	if (equiv < 0) {
		ret = equiv;
		goto out;
	}
	if (equiv) {
		ret = z->ops->setxattr(z->sb, ino, ZACL_XATTR_ACCESS, value,
				       size, 0);
	} else {
		/* the mode says it all: store no ACL, as ext4 and tmpfs do */
		ret = z->ops->removexattr ?
			z->ops->removexattr(z->sb, ino, ZACL_XATTR_ACCESS) : 0;
		if (ret == -ENODATA)
			ret = 0;
	}
	if (!ret && mode != a.mode && z->ops->setattr) {
		sa.mode = mode & 07777;
		ret = z->ops->setattr(z->sb, ino, &sa, &a);
	}
out:
	free(acl);
	return ret;
}

/* ---- creating inodes ------------------------------------------------- */

struct zf_newnode {
	struct zus_creds cr;
	mode_t mode;		/* final mode, after umask or ACL masking */
	struct zacl *access;	/* access ACL to give the new inode */
	struct zacl *dflt;	/* default ACL to give a new directory */
};

static void zf_new_free(struct zf_newnode *nn)
{
	free(nn->access);
	free(nn->dflt);
}

/*
 * What the VFS does before an in-kernel filesystem's create: owner from the
 * caller, group from a setgid parent, umask unless the parent has a default
 * ACL, in which case the ACL is inherited and masked by the mode instead.
 */
static int zf_new_prep(fuse_req_t req, struct zfuse *z, uint64_t dir,
		       mode_t mode, struct zf_newnode *nn)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	struct zus_attr pa;
	struct zacl *dflt = NULL;
	int ret;

	memset(nn, 0, sizeof(*nn));
	nn->cr.uid = ctx->uid;
	nn->cr.gid = ctx->gid;
	nn->mode = mode;
	ret = z->ops->getattr(z->sb, dir, &pa);
	if (ret)
		return ret;
	if (pa.mode & S_ISGID) {
		nn->cr.gid = pa.gid;
		if (S_ISDIR(mode))
			nn->mode |= S_ISGID;
	}
	if (S_ISLNK(mode))
		return 0;
	if (z->acl) {
		ret = zf_acl_get(z, dir, ZACL_XATTR_DEFAULT, &dflt);
		if (ret)
			return ret;
	}
	if (!dflt) {
		/* the kernel left it to us when it sent FUSE_DONT_MASK */
		nn->mode &= ~(ctx->umask & 0777);
		return 0;
	}
	nn->access = malloc(sizeof(*nn->access));
	if (!nn->access) {
		free(dflt);
		return -ENOMEM;
	}
	*nn->access = *dflt;
	ret = zacl_create_masq(nn->access, &nn->mode);
	if (ret <= 0) {
		free(nn->access);
		nn->access = NULL;
	}
	if (S_ISDIR(mode))
		nn->dflt = dflt;
	else
		free(dflt);
	return ret < 0 ? -EIO : 0;
}

/* Give the new inode its ACLs; its mode already reflects them. */
static void zf_new_finish(struct zfuse *z, uint64_t ino, struct zf_newnode *nn)
{
	int ret = 0;

	if (nn->access)
		ret = zf_acl_put(z, ino, ZACL_XATTR_ACCESS, nn->access);
	if (!ret && nn->dflt)
		ret = zf_acl_put(z, ino, ZACL_XATTR_DEFAULT, nn->dflt);
	if (ret)
		fprintf(stderr, "zusd: inode %llu: cannot inherit the default "
			"ACL: %s\n", (unsigned long long)ino, strerror(-ret));
}

/* create/mknod/mkdir/symlink share everything but the plugin call. */
enum zf_kind { ZF_FILE, ZF_DIR, ZF_SYMLINK };

static int zf_make(fuse_req_t req, struct zfuse *z, uint64_t dir,
		   const char *name, enum zf_kind kind, mode_t mode, dev_t rdev,
		   const char *target, struct zus_attr *out)
{
	struct zf_newnode nn;
	size_t len = strlen(name);
	int ret;

	if (len > ZUS_NAME_MAX)
		return -ENAMETOOLONG;
	ret = zf_new_prep(req, z, dir, mode, &nn);
	if (ret)
		return ret;
	switch (kind) {
	case ZF_FILE:
		ret = z->ops->create ? (int)ZF_CALL(z, ZUSD_OP_CREATE, 0,
			z->ops->create(z->sb, dir, name, len, nn.mode,
				       (uint32_t)rdev, &nn.cr, out)) : -EPERM;
		break;
	case ZF_DIR:
		ret = z->ops->mkdir ? (int)ZF_CALL(z, ZUSD_OP_MKDIR, 0,
			z->ops->mkdir(z->sb, dir, name, len, nn.mode, &nn.cr,
				      out)) : -EPERM;
		break;
	case ZF_SYMLINK:
		ret = z->ops->symlink ? (int)ZF_CALL(z, ZUSD_OP_SYMLINK, 0,
			z->ops->symlink(z->sb, dir, name, len, target, &nn.cr,
					out)) : -EPERM;
		break;
	}
	if (!ret)
		zf_new_finish(z, out->ino, &nn);
	zf_new_free(&nn);
	return ret;
}

/* ---- the operations -------------------------------------------------- */

static void zf_init(void *userdata, struct fuse_conn_info *conn)
{
	struct zfuse *z = userdata;

	/* ACLs need the raw mode and umask (DONT_MASK) to inherit correctly */
	if ((conn->capable & FUSE_CAP_POSIX_ACL) &&
	    (conn->capable & FUSE_CAP_DONT_MASK) && z->ops->setxattr &&
	    z->ops->getxattr) {
		conn->want |= FUSE_CAP_POSIX_ACL | FUSE_CAP_DONT_MASK;
		z->acl = true;
	}
	/*
	 * The kernel clears suid/sgid on write and chown and sends O_TRUNC as
	 * a setattr; a plugin then sees only plain setattr calls.  Writes go
	 * through at once: a plugin's write is durable when it returns.
	 */
	conn->want &= ~(FUSE_CAP_HANDLE_KILLPRIV | FUSE_CAP_ATOMIC_O_TRUNC |
			FUSE_CAP_WRITEBACK_CACHE);
}

static void zf_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct zfuse *z = zf_of(req);
	struct zus_attr a;
	int ret = zf_name_ok(name);

	if (!ret)
		ret = (int)ZF_CALL(z, ZUSD_OP_LOOKUP, 0,
			z->ops->lookup(z->sb, zf_swap(z, parent), name,
				       strlen(name), &a));
	if (ret == -ENOENT) {
		/* ino 0: a negative entry the kernel may cache */
		struct fuse_entry_param e;

		memset(&e, 0, sizeof(e));
		e.entry_timeout = ZF_TIMEOUT;
		fuse_reply_entry(req, &e);
		return;
	}
	if (ret) {
		zf_reply_ret(req, ret);
		return;
	}
	zf_reply_entry(req, z, &a);
}

static void zf_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	struct zfuse *z = zf_of(req);

	zfi_forget(&z->inodes, zf_swap(z, ino), nlookup);
	fuse_reply_none(req);
}

static void zf_forget_multi(fuse_req_t req, size_t count,
			    struct fuse_forget_data *forgets)
{
	struct zfuse *z = zf_of(req);
	size_t i;

	for (i = 0; i < count; i++)
		zfi_forget(&z->inodes, zf_swap(z, forgets[i].ino),
			   forgets[i].nlookup);
	fuse_reply_none(req);
}

static void zf_getattr(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi ZF_UNUSED)
{
	struct zfuse *z = zf_of(req);
	struct zus_attr a;
	struct stat st;
	int ret = (int)ZF_CALL(z, ZUSD_OP_GETATTR, 0,
			       z->ops->getattr(z->sb, zf_swap(z, ino), &a));

	if (ret) {
		zf_reply_ret(req, ret);
		return;
	}
	zf_stat(z, &a, &st);
	fuse_reply_attr(req, &st, ZF_TIMEOUT);
}

static struct zus_time zf_time(const struct timespec *ts)
{
	struct zus_time t = { .sec = ts->tv_sec, .nsec = (uint32_t)ts->tv_nsec };

	return t;
}

static void zf_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
		       int to_set, struct fuse_file_info *fi ZF_UNUSED)
{
	struct zfuse *z = zf_of(req);
	struct zus_setattr sa;
	struct zus_time kept;
	struct zus_attr a;
	struct timespec now;
	struct stat st;
	int ret;

	if (!z->ops->setattr) {
		fuse_reply_err(req, EPERM);
		return;
	}
	memset(&sa, 0, sizeof(sa));
	clock_gettime(CLOCK_REALTIME, &now);
	if (to_set & FUSE_SET_ATTR_MODE) {
		sa.valid |= ZUS_SET_MODE;
		sa.mode = attr->st_mode & 07777;
	}
	if (to_set & FUSE_SET_ATTR_UID) {
		sa.valid |= ZUS_SET_UID;
		sa.uid = attr->st_uid;
	}
	if (to_set & FUSE_SET_ATTR_GID) {
		sa.valid |= ZUS_SET_GID;
		sa.gid = attr->st_gid;
	}
	if (to_set & FUSE_SET_ATTR_SIZE) {
		if (attr->st_size < 0) {
			fuse_reply_err(req, EINVAL);
			return;
		}
		sa.valid |= ZUS_SET_SIZE;
		sa.size = (uint64_t)attr->st_size;
	}
	/* _NOW comes with the plain flag; send both and the time itself */
	if (to_set & FUSE_SET_ATTR_ATIME_NOW) {
		sa.valid |= ZUS_SET_ATIME | ZUS_SET_ATIME_NOW;
		sa.atime = zf_time(&now);
	} else if (to_set & FUSE_SET_ATTR_ATIME) {
		sa.valid |= ZUS_SET_ATIME;
		sa.atime = zf_time(&attr->st_atim);
	}
	if (to_set & FUSE_SET_ATTR_MTIME_NOW) {
		sa.valid |= ZUS_SET_MTIME | ZUS_SET_MTIME_NOW;
		sa.mtime = zf_time(&now);
	} else if (to_set & FUSE_SET_ATTR_MTIME) {
		sa.valid |= ZUS_SET_MTIME;
		sa.mtime = zf_time(&attr->st_mtim);
	}
	if (to_set & FUSE_SET_ATTR_CTIME) {
		sa.valid |= ZUS_SET_CTIME;
		sa.ctime = zf_time(&attr->st_ctim);
	}
	/* lazytime: an atime kept in memory goes with the change */
	if (zfi_atime_take(&z->inodes, zf_swap(z, ino), &kept) &&
	    !(sa.valid & ZUS_SET_ATIME)) {
		sa.valid |= ZUS_SET_ATIME;
		sa.atime = kept;
	}
	ret = (int)ZF_CALL(z, ZUSD_OP_SETATTR, 0,
			   z->ops->setattr(z->sb, zf_swap(z, ino), &sa, &a));
	if (!ret && (sa.valid & ZUS_SET_MODE))
		ret = zf_acl_chmod(z, a.ino, a.mode);
	if (ret) {
		zf_reply_ret(req, ret);
		return;
	}
	zf_stat(z, &a, &st);
	fuse_reply_attr(req, &st, ZF_TIMEOUT);
}

static void zf_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct zfuse *z = zf_of(req);
	char *buf = malloc(ZUS_PATH_MAX + 1);
	size_t len = 0;
	int ret;

	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	ret = z->ops->readlink ? (int)ZF_CALL(z, ZUSD_OP_READLINK, 0,
		z->ops->readlink(z->sb, zf_swap(z, ino), buf, ZUS_PATH_MAX,
				 &len)) : -EINVAL;
	if (!ret && len > ZUS_PATH_MAX)
		ret = -EIO;
	if (ret) {
		zf_reply_ret(req, ret);
	} else {
		buf[len] = '\0';
		fuse_reply_readlink(req, buf);
	}
	free(buf);
}

static void zf_mknod(fuse_req_t req, fuse_ino_t parent, const char *name,
		     mode_t mode, dev_t rdev)
{
	struct zfuse *z = zf_of(req);
	struct zus_attr a;
	int ret = zf_make(req, z, zf_swap(z, parent), name, ZF_FILE, mode,
			  rdev, NULL, &a);

	if (ret)
		zf_reply_ret(req, ret);
	else
		zf_reply_entry(req, z, &a);
}

static void zf_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name,
		     mode_t mode)
{
	struct zfuse *z = zf_of(req);
	struct zus_attr a;
	int ret = zf_make(req, z, zf_swap(z, parent), name, ZF_DIR,
			  S_IFDIR | (mode & 07777), 0, NULL, &a);

	if (ret)
		zf_reply_ret(req, ret);
	else
		zf_reply_entry(req, z, &a);
}

static void zf_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
		       const char *name)
{
	struct zfuse *z = zf_of(req);
	struct zus_attr a;
	int ret = -ENAMETOOLONG;

	if (strlen(link) < ZUS_PATH_MAX)
		ret = zf_make(req, z, zf_swap(z, parent), name, ZF_SYMLINK,
			      S_IFLNK | 0777, 0, link, &a);
	if (ret)
		zf_reply_ret(req, ret);
	else
		zf_reply_entry(req, z, &a);
}

static void zf_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct zfuse *z = zf_of(req);
	int ret = zf_name_ok(name);

	if (!ret)
		ret = z->ops->unlink ? (int)ZF_CALL(z, ZUSD_OP_UNLINK, 0,
			z->ops->unlink(z->sb, zf_swap(z, parent), name,
				       strlen(name))) : -EPERM;
	zf_reply_ret(req, ret);
}

static void zf_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct zfuse *z = zf_of(req);
	int ret = zf_name_ok(name);

	if (!ret)
		ret = z->ops->rmdir ? (int)ZF_CALL(z, ZUSD_OP_RMDIR, 0,
			z->ops->rmdir(z->sb, zf_swap(z, parent), name,
				      strlen(name))) : -EPERM;
	zf_reply_ret(req, ret);
}

static void zf_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
		      fuse_ino_t newparent, const char *newname,
		      unsigned int flags)
{
	struct zfuse *z = zf_of(req);
	int ret = zf_name_ok(name);

	if (!ret)
		ret = zf_name_ok(newname);
	/* RENAME_WHITEOUT is for overlayfs upper layers: not served */
	if (!ret && (flags & ~(ZUS_RENAME_NOREPLACE | ZUS_RENAME_EXCHANGE)))
		ret = -EINVAL;
	if (!ret)
		ret = z->ops->rename ? (int)ZF_CALL(z, ZUSD_OP_RENAME, 0,
			z->ops->rename(z->sb, zf_swap(z, parent), name,
				       strlen(name), zf_swap(z, newparent),
				       newname, strlen(newname), flags)) :
			-EPERM;
	zf_reply_ret(req, ret);
}

static void zf_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
		    const char *newname)
{
	struct zfuse *z = zf_of(req);
	struct zus_attr a;
	int ret = zf_name_ok(newname);

	if (!ret)
		ret = z->ops->link ? (int)ZF_CALL(z, ZUSD_OP_LINK, 0,
			z->ops->link(z->sb, zf_swap(z, ino),
				     zf_swap(z, newparent), newname,
				     strlen(newname), &a)) : -EPERM;
	if (ret)
		zf_reply_ret(req, ret);
	else
		zf_reply_entry(req, z, &a);
}

static void zf_open(fuse_req_t req, fuse_ino_t fino, struct fuse_file_info *fi)
{
	struct zfuse *z = zf_of(req);
	uint64_t ino = zf_swap(z, fino);
	int ret;

	/* no plugin call: counted for the statistics only */
	zusd_stats_done(z->stats, ZUSD_OP_OPEN, zusd_stats_clock(), 0, 0);
	/* only if the kernel passed O_TRUNC on (ATOMIC_O_TRUNC) */
	if ((fi->flags & O_TRUNC) && (fi->flags & O_ACCMODE) != O_RDONLY) {
		struct zus_setattr sa = {
			.valid = ZUS_SET_SIZE | ZUS_SET_MTIME | ZUS_SET_MTIME_NOW,
		};
		struct timespec now;
		struct zus_attr a;

		clock_gettime(CLOCK_REALTIME, &now);
		sa.mtime = zf_time(&now);
		ret = z->ops->setattr ? z->ops->setattr(z->sb, ino, &sa, &a)
				      : -EPERM;
		if (ret) {
			zf_reply_ret(req, ret);
			return;
		}
	}
	/* nobody else changes the file: the page cache stays valid */
	fi->keep_cache = 1;
	fi->fh = 0;
	if (zfi_open(&z->inodes, ino)) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	if (fuse_reply_open(req, fi) == -ENOENT)
		zfi_release(&z->inodes, ino);
}

static void zf_create(fuse_req_t req, fuse_ino_t parent, const char *name,
		      mode_t mode, struct fuse_file_info *fi)
{
	struct zfuse *z = zf_of(req);
	struct fuse_entry_param e;
	struct zus_attr a;
	int ret = zf_make(req, z, zf_swap(z, parent), name, ZF_FILE,
			  S_IFREG | (mode & 07777), 0, NULL, &a);

	if (ret) {
		zf_reply_ret(req, ret);
		return;
	}
	zf_fill_entry(z, &a, &e);
	zf_ref(z, a.ino);
	if (zfi_open(&z->inodes, a.ino)) {
		zfi_forget(&z->inodes, a.ino, 1);
		fuse_reply_err(req, ENOMEM);
		return;
	}
	fi->keep_cache = 1;
	fi->fh = 0;
	if (fuse_reply_create(req, &e, fi) == -ENOENT) {
		zfi_release(&z->inodes, a.ino);
		zfi_forget(&z->inodes, a.ino, 1);
	}
}

static void zf_release(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi ZF_UNUSED)
{
	struct zfuse *z = zf_of(req);
	uint64_t t0 = zf_begin();

	zfi_release(&z->inodes, zf_swap(z, ino));	/* may evict */
	zf_done(z, ZUSD_OP_RELEASE, t0, 0, 0);
	fuse_reply_err(req, 0);
}

static void zf_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi ZF_UNUSED)
{
	struct zfuse *z = zf_of(req);
	ssize_t n;
	char *buf;

	if (!z->ops->read) {
		fuse_reply_err(req, EOPNOTSUPP);
		return;
	}
	buf = malloc(size ? size : 1);
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	n = ZF_CALL(z, ZUSD_OP_READ, 1, z->ops->read(z->sb, zf_swap(z, ino),
						     buf, size, (uint64_t)off));
	if (n < 0 || (size_t)n > size) {
		zf_reply_ret(req, n < 0 ? n : -EIO);
	} else {
		/*
		 * The kernel leaves atime to us (S_NOATIME) and asks for it
		 * again after this reply: the update goes first.  Only reads
		 * that miss the page cache (and mmap faults) get here: one
		 * the page cache serves leaves atime alone.
		 */
		if (n)
			zf_access(z, zf_swap(z, ino));
		fuse_reply_buf(req, buf, (size_t)n);
	}
	free(buf);
}

static void zf_write_buf(fuse_req_t req, fuse_ino_t ino,
			 struct fuse_bufvec *bufv, off_t off,
			 struct fuse_file_info *fi ZF_UNUSED)
{
	struct zfuse *z = zf_of(req);
	size_t len = fuse_buf_size(bufv), done = 0;
	const struct fuse_buf *b0 = &bufv->buf[bufv->idx];
	const char *data;
	char *tmp = NULL;

	if (!z->ops->write) {
		fuse_reply_err(req, EOPNOTSUPP);
		return;
	}
	if (bufv->count - bufv->idx == 1 && !(b0->flags & FUSE_BUF_IS_FD)) {
		data = (const char *)b0->mem + bufv->off;
	} else {
		/* spliced or scattered: gather into one buffer */
		struct fuse_bufvec dst = FUSE_BUFVEC_INIT(len);
		ssize_t got;

		tmp = malloc(len ? len : 1);
		if (!tmp) {
			fuse_reply_err(req, ENOMEM);
			return;
		}
		dst.buf[0].mem = tmp;
		got = fuse_buf_copy(&dst, bufv, 0);
		if (got < 0) {
			zf_reply_ret(req, got);
			free(tmp);
			return;
		}
		len = (size_t)got;
		data = tmp;
	}
	while (done < len) {
		ssize_t n = ZF_CALL(z, ZUSD_OP_WRITE, 1,
			z->ops->write(z->sb, zf_swap(z, ino), data + done,
				      len - done, (uint64_t)off + done));

		if (n <= 0 || (size_t)n > len - done) {
			/* a short write that made progress is reported as such */
			if (!done) {
				zf_reply_ret(req, n < 0 ? n : -EIO);
				free(tmp);
				return;
			}
			break;
		}
		done += (size_t)n;
	}
	fuse_reply_write(req, done);
	free(tmp);
}

static void zf_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
		     struct fuse_file_info *fi ZF_UNUSED)
{
	struct zfuse *z = zf_of(req);
	struct zus_time kept;
	int ret = 0;

	/* lazytime: fsync writes the times, fdatasync does not (as the VFS) */
	if (!datasync && zfi_atime_take(&z->inodes, zf_swap(z, ino), &kept))
		zf_write_atime(z, zf_swap(z, ino), &kept);
	/* operations are durable on return; fsync is for plugins that batch */
	if (z->ops->fsync)
		ret = (int)ZF_CALL(z, ZUSD_OP_FSYNC, 0,
			z->ops->fsync(z->sb, zf_swap(z, ino), datasync != 0));
	zf_reply_ret(req, ret);
}

static void zf_opendir(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	struct zfuse *z = zf_of(req);

	fi->fh = 0;
	if (zfi_open(&z->inodes, zf_swap(z, ino))) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	if (fuse_reply_open(req, fi) == -ENOENT)
		zfi_release(&z->inodes, zf_swap(z, ino));
}

/*
 * readdir(plus) reply under construction.  The plugin may hold its directory
 * locks while it calls emit, so emit never calls back into the plugin: for
 * readdirplus it reserves each entry's room (its size depends only on the
 * name) and the attributes are filled in after readdir has returned.
 */
struct zf_pending {
	size_t off;		/* where the entry sits in buf */
	uint64_t ino;
	uint64_t next;
	unsigned int dtype;
	char *name;
};

struct zf_dirbuf {
	fuse_req_t req;
	char *buf;
	size_t size;
	size_t pos;
	bool plus;
	int err;
	struct zf_pending *pend;	/* readdirplus entries to fill */
	size_t npend;
	size_t cap;
};

static bool zf_is_dot(const char *name)
{
	return name[0] == '.' &&
	       (name[1] == '\0' || (name[1] == '.' && name[2] == '\0'));
}

/* A name-only readdirplus entry: the kernel lists it, counts no lookup. */
static size_t zf_add_bare(struct zf_dirbuf *d, size_t off, size_t room,
			  const char *name, uint64_t ino, unsigned int dtype,
			  uint64_t next)
{
	struct fuse_entry_param e;

	memset(&e, 0, sizeof(e));
	e.attr.st_ino = ino;
	e.attr.st_mode = (dtype & 017) << 12;
	return fuse_add_direntry_plus(d->req, d->buf + off, room, name, &e,
				      (off_t)next);
}

static int zf_pend(struct zf_dirbuf *d, const char *name, uint64_t ino,
		   unsigned int dtype, uint64_t next)
{
	struct zf_pending *p;

	if (d->npend == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 64;

		p = realloc(d->pend, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		d->pend = p;
		d->cap = cap;
	}
	p = &d->pend[d->npend];
	p->name = strdup(name);
	if (!p->name)
		return -ENOMEM;
	p->off = d->pos;
	p->ino = ino;
	p->next = next;
	p->dtype = dtype;
	d->npend++;
	return 0;
}

static int zf_emit(void *ctx, const char *name, size_t namelen, uint64_t ino,
		   unsigned int dtype, uint64_t next)
{
	struct zf_dirbuf *d = ctx;
	char nm[ZUS_NAME_MAX + 1];
	size_t need, room = d->size - d->pos;

	if (!namelen || namelen > ZUS_NAME_MAX || memchr(name, '/', namelen) ||
	    memchr(name, '\0', namelen) || !next || next > INT64_MAX) {
		d->err = -EIO;
		return 1;
	}
	memcpy(nm, name, namelen);
	nm[namelen] = '\0';

	if (!d->plus) {
		struct stat st;

		memset(&st, 0, sizeof(st));
		st.st_ino = ino;
		st.st_mode = (dtype & 017) << 12;
		need = fuse_add_direntry(d->req, d->buf + d->pos, room, nm,
					 &st, (off_t)next);
	} else {
		need = zf_add_bare(d, d->pos, room, nm, ino, dtype, next);
		if (need <= room && !zf_is_dot(nm)) {
			int ret = zf_pend(d, nm, ino, dtype, next);

			if (ret) {
				d->err = ret;
				return 1;
			}
		}
	}
	if (need > room)
		return 1;	/* full: the kernel resumes from the last `next` */
	d->pos += need;
	return 0;
}

/*
 * Give reserved readdirplus entries their attributes, counting a lookup for
 * each; an inode gone meanwhile stays a name-only entry.  Returns the inodes
 * counted in held[] so a lost reply can give them back.
 */
static void zf_dir_fill(struct zfuse *z, struct zf_dirbuf *d, uint64_t *held,
			size_t *nheld)
{
	size_t i;

	*nheld = 0;
	for (i = 0; i < d->npend; i++) {
		struct zf_pending *p = &d->pend[i];
		struct fuse_entry_param e;
		struct zus_attr a;
		size_t need;

		if (z->ops->getattr(z->sb, p->ino, &a))
			continue;
		zf_fill_entry(z, &a, &e);
		need = fuse_add_direntry_plus(d->req, NULL, 0, p->name, &e,
					      (off_t)p->next);
		zf_ref(z, a.ino);
		held[(*nheld)++] = a.ino;
		fuse_add_direntry_plus(d->req, d->buf + p->off, need, p->name,
				       &e, (off_t)p->next);
	}
}

static void zf_do_readdir(fuse_req_t req, fuse_ino_t ino, size_t size,
			  off_t off, bool plus)
{
	struct zfuse *z = zf_of(req);
	struct zf_dirbuf d;
	uint64_t *held = NULL;
	size_t nheld = 0, i;
	int ret;

	if (!z->ops->readdir) {
		fuse_reply_err(req, ENOTDIR);
		return;
	}
	memset(&d, 0, sizeof(d));
	d.req = req;
	d.size = size;
	d.plus = plus;
	d.buf = malloc(size ? size : 1);
	if (!d.buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	ret = (int)ZF_CALL(z, ZUSD_OP_READDIR, 0,
			   z->ops->readdir(z->sb, zf_swap(z, ino),
					   (uint64_t)off, zf_emit, &d));
	if (!ret)
		ret = d.err;
	if (d.npend) {
		held = malloc(d.npend * sizeof(*held));
		if (held)
			zf_dir_fill(z, &d, held, &nheld);
		/* else: name-only entries, still a valid reply */
	}
	/* an access, as the VFS's getdents: before the reply (zf_read) */
	if (!ret || d.pos)
		zf_access(z, zf_swap(z, ino));
	/* on error, what was emitted goes first; the next call fails */
	if (ret && !d.pos) {
		zf_reply_ret(req, ret);
	} else if (fuse_reply_buf(req, d.buf, d.pos) == -ENOENT) {
		/* interrupted: the kernel never saw these lookups */
		for (i = 0; i < nheld; i++)
			zfi_forget(&z->inodes, held[i], 1);
	}
	for (i = 0; i < d.npend; i++)
		free(d.pend[i].name);
	free(d.pend);
	free(held);
	free(d.buf);
}

static void zf_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi ZF_UNUSED)
{
	zf_do_readdir(req, ino, size, off, false);
}

static void zf_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size,
			   off_t off, struct fuse_file_info *fi ZF_UNUSED)
{
	zf_do_readdir(req, ino, size, off, true);
}

static void zf_releasedir(fuse_req_t req, fuse_ino_t ino,
			  struct fuse_file_info *fi ZF_UNUSED)
{
	struct zfuse *z = zf_of(req);

	zfi_release(&z->inodes, zf_swap(z, ino));
	fuse_reply_err(req, 0);
}

static void zf_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync,
			struct fuse_file_info *fi)
{
	zf_fsync(req, ino, datasync, fi);
}

static void zf_statfs(fuse_req_t req, fuse_ino_t ino ZF_UNUSED)
{
	struct zfuse *z = zf_of(req);
	struct zus_statfs zs;
	struct statvfs st;
	int ret;

	memset(&zs, 0, sizeof(zs));
	ret = z->ops->statfs ? (int)ZF_CALL(z, ZUSD_OP_STATFS, 0,
				z->ops->statfs(z->sb, &zs)) : -ENOSYS;
	if (ret) {
		zf_reply_ret(req, ret);
		return;
	}
	memset(&st, 0, sizeof(st));
	st.f_bsize = zs.bsize;
	st.f_frsize = zs.bsize;
	st.f_blocks = zs.blocks;
	st.f_bfree = zs.bfree;
	st.f_bavail = zs.bavail;
	st.f_files = zs.files;
	st.f_ffree = zs.ffree;
	st.f_favail = zs.ffree;
	st.f_fsid = zs.fsid;
	st.f_namemax = zs.namelen ? zs.namelen : ZUS_NAME_MAX;
	fuse_reply_statfs(req, &st);
}

static void zf_setxattr(fuse_req_t req, fuse_ino_t fino, const char *name,
			const char *value, size_t size, int flags)
{
	struct zfuse *z = zf_of(req);
	uint64_t ino = zf_swap(z, fino);
	int ret;

	if (!z->ops->setxattr) {
		fuse_reply_err(req, EOPNOTSUPP);
		return;
	}
	if (strlen(name) > ZUS_XATTR_NAME_MAX) {
		fuse_reply_err(req, ERANGE);
		return;
	}
	if (size > ZUS_XATTR_SIZE_MAX) {
		fuse_reply_err(req, E2BIG);
		return;
	}
	if (z->acl && !strcmp(name, ZACL_XATTR_ACCESS))
		ret = zf_acl_set_access(z, ino, value, size);
	else
		ret = (int)ZF_CALL(z, ZUSD_OP_SETXATTR, 0,
			z->ops->setxattr(z->sb, ino, name, value, size,
					 flags));
	zf_reply_ret(req, ret);
}

static void zf_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
			size_t size)
{
	struct zfuse *z = zf_of(req);
	ssize_t n;
	char *buf;

	if (!z->ops->getxattr) {
		fuse_reply_err(req, EOPNOTSUPP);
		return;
	}
	if (!size) {
		n = ZF_CALL(z, ZUSD_OP_GETXATTR, 0,
			    z->ops->getxattr(z->sb, zf_swap(z, ino), name,
					     NULL, 0));
		if (n < 0)
			zf_reply_ret(req, n);
		else
			fuse_reply_xattr(req, (size_t)n);
		return;
	}
	buf = malloc(size);
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	n = ZF_CALL(z, ZUSD_OP_GETXATTR, 0,
		    z->ops->getxattr(z->sb, zf_swap(z, ino), name, buf, size));
	if (n < 0 || (size_t)n > size)
		zf_reply_ret(req, n < 0 ? n : -ERANGE);
	else
		fuse_reply_buf(req, buf, (size_t)n);
	free(buf);
}

static void zf_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	struct zfuse *z = zf_of(req);
	ssize_t n;
	char *buf = NULL;

	if (!z->ops->listxattr) {
		/* no xattrs at all: an empty list */
		if (size)
			fuse_reply_buf(req, NULL, 0);
		else
			fuse_reply_xattr(req, 0);
		return;
	}
	if (size) {
		buf = malloc(size);
		if (!buf) {
			fuse_reply_err(req, ENOMEM);
			return;
		}
	}
	n = ZF_CALL(z, ZUSD_OP_LISTXATTR, 0,
		    z->ops->listxattr(z->sb, zf_swap(z, ino), buf, size));
	if (n < 0 || (size && (size_t)n > size))
		zf_reply_ret(req, n < 0 ? n : -ERANGE);
	else if (!size)
		fuse_reply_xattr(req, (size_t)n);
	else
		fuse_reply_buf(req, buf, (size_t)n);
	free(buf);
}

static void zf_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	struct zfuse *z = zf_of(req);

	zf_reply_ret(req, z->ops->removexattr ?
		     ZF_CALL(z, ZUSD_OP_REMOVEXATTR, 0,
			z->ops->removexattr(z->sb, zf_swap(z, ino), name)) :
		     -EOPNOTSUPP);
}

static void zf_fallocate(fuse_req_t req, fuse_ino_t ino, int mode,
			 off_t offset, off_t length,
			 struct fuse_file_info *fi ZF_UNUSED)
{
	struct zfuse *z = zf_of(req);

	if (offset < 0 || length <= 0) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	zf_reply_ret(req, z->ops->fallocate ?
		     ZF_CALL(z, ZUSD_OP_FALLOCATE, 0,
			z->ops->fallocate(z->sb, zf_swap(z, ino), mode,
					  (uint64_t)offset, (uint64_t)length)) :
		     -EOPNOTSUPP);
}

static void zf_lseek(fuse_req_t req, fuse_ino_t fino, off_t off, int whence,
		     struct fuse_file_info *fi ZF_UNUSED)
{
	struct zfuse *z = zf_of(req);
	uint64_t ino = zf_swap(z, fino), res = 0;
	struct zus_attr a;
	int ret;

	if ((whence != SEEK_DATA && whence != SEEK_HOLE) || off < 0) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	if (z->ops->lseek) {
		ret = (int)ZF_CALL(z, ZUSD_OP_LSEEK, 0,
			z->ops->lseek(z->sb, ino, (uint64_t)off, whence,
				      &res));
	} else {
		/* no hole tracking: all data up to EOF, one hole at EOF */
		ret = z->ops->getattr(z->sb, ino, &a);
		if (!ret && (uint64_t)off >= a.size)
			ret = -ENXIO;
		res = whence == SEEK_DATA ? (uint64_t)off : a.size;
	}
	if (!ret && res > INT64_MAX)
		ret = -EIO;
	if (ret)
		zf_reply_ret(req, ret);
	else
		fuse_reply_lseek(req, (off_t)res);
}

static const struct fuse_lowlevel_ops zf_ops = {
	.init		= zf_init,
	.lookup		= zf_lookup,
	.forget		= zf_forget,
	.forget_multi	= zf_forget_multi,
	.getattr	= zf_getattr,
	.setattr	= zf_setattr,
	.readlink	= zf_readlink,
	.mknod		= zf_mknod,
	.mkdir		= zf_mkdir,
	.unlink		= zf_unlink,
	.rmdir		= zf_rmdir,
	.symlink	= zf_symlink,
	.rename		= zf_rename,
	.link		= zf_link,
	.open		= zf_open,
	.read		= zf_read,
	.write_buf	= zf_write_buf,
	.release	= zf_release,
	.fsync		= zf_fsync,
	.opendir	= zf_opendir,
	.readdir	= zf_readdir,
	.readdirplus	= zf_readdirplus,
	.releasedir	= zf_releasedir,
	.fsyncdir	= zf_fsyncdir,
	.statfs		= zf_statfs,
	.setxattr	= zf_setxattr,
	.getxattr	= zf_getxattr,
	.listxattr	= zf_listxattr,
	.removexattr	= zf_removexattr,
	.create		= zf_create,
	.fallocate	= zf_fallocate,
	.lseek		= zf_lseek,
};

/* ---- session --------------------------------------------------------- */

static const char *const zf_mount_opts[] = {
	"ro", "rw", "allow_other", "allow_root", "default_permissions",
	"suid", "nosuid", "dev", "nodev", "exec", "noexec", "async", "sync",
	"atime", "noatime", "diratime", "nodiratime", "relatime", "norelatime",
	"strictatime", "lazytime", "nolazytime", "dirsync", "auto_unmount",
	"max_read=", "blksize=", "context=", "fscontext=", "defcontext=", "rootcontext=", NULL,
};

bool zusd_fuse_is_mount_opt(const char *opt)
{
	size_t i;

	for (i = 0; zf_mount_opts[i]; i++) {
		const char *o = zf_mount_opts[i];
		size_t n = strlen(o);

		if (o[n - 1] == '=' ? !strncmp(opt, o, n) : !strcmp(opt, o))
			return true;
	}
	return false;
}

/* libfuse splits -o at commas: escape them (and backslashes) in fsname. */
static char *zf_escape(const char *s)
{
	char *out = malloc(strlen(s) * 2 + 1), *p = out;

	if (!out)
		return NULL;
	for (; *s; s++) {
		if (*s == ',' || *s == '\\')
			*p++ = '\\';
		*p++ = *s;
	}
	*p = '\0';
	return out;
}

/*
 * The atime options and lazytime are ours (the kernel's FUSE never updates
 * atime): they make *atime and stay away from libfuse.  libfuse 3.14
 * refuses all of them but atime and noatime, so the kernel's mount gets
 * only "noatime", when that is the policy: /proc/mounts and statvfs show
 * relatime for strictatime, and neither nodiratime nor lazytime.
 */
static char *zf_build_opts(const struct zusd_fuse_config *cfg,
			   unsigned int *atime)
{
	char *fsname = zf_escape(cfg->fsname), *opts = NULL;
	char *kopts = zus_atime_split(cfg->fuse_opts, atime);
	int n = -1;

	/* allow_other: other users' requests reach us and the kernel checks
	 * their permissions; only root may ask for it without fuse.conf */
	if (fsname && kopts)
		n = asprintf(&opts,
			     "default_permissions,fsname=%s,subtype=%s%s%s%s%s%s",
			     fsname, cfg->subtype,
			     geteuid() == 0 ? ",allow_other" : "",
			     cfg->readonly ? ",ro" : "",
			     (*atime & ZUS_ATIME_NOATIME) ? ",noatime" : "",
			     *kopts ? "," : "", kopts);
	free(fsname);
	free(kopts);
	return n < 0 ? NULL : opts;
}

static unsigned int zf_nthreads(const struct zusd_fuse_config *cfg)
{
	long n;

	if (cfg->threads)
		return cfg->threads;
	n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (unsigned int)n : 1;
}

/* SIGUSR2 only interrupts the loop's wait (see zusd_fuse_stop) */
static void zf_wake_handler(int sig ZF_UNUSED)
{
}

void zusd_fuse_stop(struct zusd_fuse_ctl *ctl)
{
	pthread_mutex_lock(&ctl->lock);
	ctl->stop = true;
	if (ctl->se) {
		fuse_session_exit(ctl->se);
		pthread_kill(ctl->tid, SIGUSR2);
	}
	pthread_mutex_unlock(&ctl->lock);
}

/* Publish (or withdraw, se NULL) the session; false if stopped already. */
static bool zf_ctl_session(struct zusd_fuse_ctl *ctl, struct fuse_session *se)
{
	bool stop;

	if (!ctl)
		return true;
	pthread_mutex_lock(&ctl->lock);
	ctl->se = se;
	ctl->tid = pthread_self();
	stop = ctl->stop;
	pthread_mutex_unlock(&ctl->lock);
	return !stop;
}

int zusd_fuse_serve(struct zusd_mount *m, const struct zusd_fuse_config *cfg)
{
	struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
	struct fuse_loop_config *lc = NULL;
	struct fuse_session *se = NULL;
	struct zfuse z;
	char *opts;
	int ret;

	memset(&z, 0, sizeof(z));
	z.sb = &m->sb;
	z.ops = m->ops;
	z.root = m->root_ino;
	z.stats = m->stats;
	if (zfi_init(&z.inodes, z.root, zf_evict, &z)) {
		fprintf(stderr, "zusd: out of memory\n");
		return -ENOMEM;
	}
	opts = zf_build_opts(cfg, &z.atime);
	if (z.atime & ZUS_ATIME_LAZYTIME)
		z.inodes.flush_atime = zf_flush_atime;
	if (!opts || fuse_opt_add_arg(&args, "zusd") ||
	    fuse_opt_add_arg(&args, "-o") || fuse_opt_add_arg(&args, opts) ||
	    (cfg->debug && fuse_opt_add_arg(&args, "-d"))) {
		fprintf(stderr, "zusd: out of memory\n");
		ret = -ENOMEM;
		goto out;
	}
	se = fuse_session_new(&args, &zf_ops, sizeof(zf_ops), &z);
	if (!se) {
		fprintf(stderr, "zusd: bad FUSE mount options '%s'\n", opts);
		ret = -EINVAL;
		goto out;
	}
	if (cfg->ctl) {
		struct sigaction sa;

		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = zf_wake_handler;
		sigemptyset(&sa.sa_mask);
		sigaction(SIGUSR2, &sa, NULL);
		if (!zf_ctl_session(cfg->ctl, se)) {
			ret = 0;	/* stopped before it started */
			goto out;
		}
	} else if (fuse_set_signal_handlers(se)) {
		fprintf(stderr, "zusd: cannot install signal handlers\n");
		ret = -EIO;
		goto out;
	}
	if (fuse_session_mount(se, cfg->mountpoint)) {
		fprintf(stderr,
			"zusd: cannot mount %s on %s through FUSE; check that "
			"/dev/fuse is usable (modprobe fuse), that %s is a "
			"directory and that fusermount3 is installed\n",
			cfg->fsname, cfg->mountpoint, cfg->mountpoint);
		ret = -EIO;
		goto out_signals;
	}
	lc = fuse_loop_cfg_create();
	if (!lc) {
		ret = -ENOMEM;
		goto out_unmount;
	}
	/* one /dev/fuse clone per thread: no shared fd contention */
	fuse_loop_cfg_set_clone_fd(lc, 1);
	fuse_loop_cfg_set_max_threads(lc, zf_nthreads(cfg));
	fprintf(stderr, "zusd: serving %s (%s) on %s over FUSE, %u threads, "
		"%s%s%s%s\n", cfg->fsname, cfg->subtype, cfg->mountpoint,
		zf_nthreads(cfg),
		(z.atime & ZUS_ATIME_NOATIME) ? "noatime" :
		(z.atime & ZUS_ATIME_RELATIME) ? "relatime" : "strictatime",
		(z.atime & ZUS_ATIME_NODIRATIME) ? ",nodiratime" : "",
		(z.atime & ZUS_ATIME_LAZYTIME) ? ",lazytime" : "",
		cfg->readonly ? ", read-only" : "");
	if (cfg->ctl && cfg->ctl->mounted)
		cfg->ctl->mounted(cfg->ctl->ctx);
	ret = fuse_session_loop_mt(se, lc);
	/* > 0: the signal that stopped us, a clean shutdown */
	ret = ret < 0 ? -EIO : 0;
	fuse_loop_cfg_destroy(lc);
out_unmount:
	fuse_session_unmount(se);
out_signals:
	if (!cfg->ctl)
		fuse_remove_signal_handlers(se);
out:
	if (se && cfg->ctl)
		zf_ctl_session(cfg->ctl, NULL);
	if (se)
		fuse_session_destroy(se);
	fuse_opt_free_args(&args);
	free(opts);
	/* the kernel holds nothing any more: orphans can go now */
	zfi_destroy(&z.inodes);
	return ret;
}
