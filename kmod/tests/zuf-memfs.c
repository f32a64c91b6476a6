// SPDX-License-Identifier: BSD-2-Clause
/*
 * zuf-memfs.c - a tiny test server for zuf.ko: zusd's kernel transport
 * (zusd/zuf_transport.c) serving a throw-away in-memory plugin with two
 * filesystem types:
 *   zuftmem  no device, map-mode data (ZUFS_OP_READ/WRITE via the window)
 *   zuftpm   a pmem device, direct-mode data (GET_EXTENTS, DAX, mmap)
 * Metadata lives in DRAM behind one mutex: this is a test, not a design.
 *
 *   zuf-memfs [--evil MODE]   runs until SIGTERM/SIGINT
 * --evil makes replies wrong on purpose to test the kernel's checks:
 *   extents  GET_EXTENTS returns extents past the end of the device
 *   attr     GETATTR returns a bad mode
 *   nlink0   GETATTR of a directory (but the root) says it has no links
 *   hang     READDIR never returns
 *   crash    READDIR kills the server
 *   window   READ/WRITE touch the window around the data they were given
 *            (writes next to it, scans it for application data, stores
 *            into a write(2) source): logs "LEAK" if it sees the
 *            application's memory
 *   dupino   mkdirs of names starting with "dup" come in pairs that get
 *            the same new inode number
 *   statfs-hang  the first STATFS sleeps 30 s
 *   evict-hang   the first EVICT sleeps 20 s
 *   readdir-endless  a directory named endless* lists new entries for ever
 *   slow     every READ takes 1.5 s (the server is busy, not hung)
 *   mount-slow   every MOUNT (a reattach too) takes 2 s
 *   inval-late   a LOOKUP of "inval-INO" invalidates inode INO from the
 *            last CPU, which the server then keeps busy for 8 s
 * At exit it prints how many mounts it still holds.
 *
 * Build: gcc -O2 -g -pthread -I include kmod/tests/zuf-memfs.c
 *        zusd/zuf_transport.c -o zuf-memfs
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* pthread_attr_setaffinity_np */
#endif
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <zufs/zus.h>
#include "../../zusd/zuf_transport.h"

#define MAXI	4096
#define BLK	4096u
#define MAXBLK	4096	/* per file: 16 MiB */

struct dent {
	struct dent *next;
	uint64_t ino;
	uint64_t cookie;
	char name[256];
};

struct xat {
	struct xat *next;
	char name[256];
	size_t len;
	char *val;
};

struct mino {
	bool used;
	struct zus_attr a;
	struct dent *ents;	/* directories */
	uint64_t next_cookie;
	uint64_t parent;
	char *link;
	char *data;		/* zuftmem */
	uint64_t *blk;		/* zuftpm: pmem offset + 1 of each block, 0: hole */
	struct xat *xattrs;
};

struct mfs {
	pthread_mutex_t lock;
	struct mino ino[MAXI];
	uint64_t next_blk;	/* bump allocator on pmem */
	bool pm;
	struct zus_sb *sb;
};

static const char *evil;
static int mounted;	/* mounts held: a kernel that drops one unsaid leaks it */

static struct mfs *M(struct zus_sb *sb)
{
	return sb->fs_private;
}

static void now(struct zus_time *t)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	t->sec = ts.tv_sec;
	t->nsec = (uint32_t)ts.tv_nsec;
}

/*
 * Inode numbers: slot + base * MAXI, base new for every server process, so
 * that a restarted server never hands out a number the kernel still caches
 * (the data of the old one is gone: it lived in DRAM).  The root is 1.
 */
static uint64_t ino_base;

static struct mino *get(struct mfs *m, uint64_t ino)
{
	uint64_t slot = ino == 1 ? 1 : ino - ino_base * MAXI;

	if (!ino || slot >= MAXI || !m->ino[slot].used ||
	    m->ino[slot].a.ino != ino)
		return NULL;
	return &m->ino[slot];
}

static struct mino *new_ino(struct mfs *m, uint32_t mode,
			    const struct zus_creds *cr)
{
	for (uint64_t i = 2; i < MAXI; i++) {
		struct mino *n = &m->ino[i];

		if (n->used)
			continue;
		memset(n, 0, sizeof(*n));
		n->used = true;
		n->a.ino = i + ino_base * MAXI;
		n->a.mode = mode;
		n->a.nlink = S_ISDIR(mode) ? 2 : 1;
		n->a.uid = cr ? cr->uid : 0;
		n->a.gid = cr ? cr->gid : 0;
		n->a.blksize = BLK;
		n->a.generation = 1;
		n->next_cookie = 3;
		now(&n->a.atime);
		n->a.mtime = n->a.ctime = n->a.btime = n->a.atime;
		return n;
	}
	return NULL;
}

static void free_ino(struct mfs *m, struct mino *n)
{
	struct xat *x;

	free(n->link);
	free(n->data);
	free(n->blk);	/* pmem blocks leak: fine for a test */
	while ((x = n->xattrs)) {
		n->xattrs = x->next;
		free(x->val);
		free(x);
	}
	memset(n, 0, sizeof(*n));
	(void)m;
}

static int mf_mount(struct zus_sb *sb)
{
	struct mfs *m = calloc(1, sizeof(*m));
	struct mino *root;

	if (!m)
		return -ENOMEM;
	if (evil && !strcmp(evil, "mount-slow")) {
		fprintf(stderr, "zuf-memfs: slow mount\n");
		sleep(2);
	}
	pthread_mutex_init(&m->lock, NULL);
	m->pm = sb->pmem.base != NULL;
	m->sb = sb;
	root = &m->ino[1];
	root->used = true;
	root->a.ino = 1;
	root->a.mode = S_IFDIR | 0755;
	root->a.nlink = 2;
	root->a.blksize = BLK;
	root->a.generation = 1;
	root->next_cookie = 3;
	root->parent = 1;
	now(&root->a.atime);
	root->a.mtime = root->a.ctime = root->a.btime = root->a.atime;
	sb->fs_private = m;
	sb->log(sb, ZUS_LOG_INFO, m->pm ? "memfs on pmem" : "memfs in DRAM");
	__atomic_add_fetch(&mounted, 1, __ATOMIC_RELAXED);
	return 0;
}

static void mf_umount(struct zus_sb *sb)
{
	struct mfs *m = M(sb);

	for (int i = 0; i < MAXI; i++) {
		struct dent *d;

		while ((d = m->ino[i].ents)) {
			m->ino[i].ents = d->next;
			free(d);
		}
		if (m->ino[i].used)
			free_ino(m, &m->ino[i]);
	}
	free(m);
	__atomic_sub_fetch(&mounted, 1, __ATOMIC_RELAXED);
}

static uint64_t mf_root(struct zus_sb *sb)
{
	(void)sb;
	return 1;
}

static int mf_statfs(struct zus_sb *sb, struct zus_statfs *st)
{
	struct mfs *m = M(sb);
	uint64_t nblk = m->pm ? sb->pmem.size / BLK : 65536;

	static int statfses;

	if (evil && !strcmp(evil, "statfs-hang") &&
	    __atomic_fetch_add(&statfses, 1, __ATOMIC_RELAXED) == 0)
		sleep(30);
	pthread_mutex_lock(&m->lock);
	st->bsize = BLK;
	st->blocks = nblk;
	st->bfree = st->bavail = nblk > m->next_blk ? nblk - m->next_blk : 0;
	st->files = MAXI;
	st->ffree = 0;
	for (int i = 1; i < MAXI; i++)
		st->ffree += !m->ino[i].used;
	st->namelen = 255;
	st->fsid = 0x7a7566;
	pthread_mutex_unlock(&m->lock);
	return 0;
}

static struct dent *find(struct mino *dir, const char *name, size_t len,
			 struct dent ***prevp)
{
	struct dent **p;

	for (p = &dir->ents; *p; p = &(*p)->next)
		if (strlen((*p)->name) == len && !memcmp((*p)->name, name, len)) {
			if (prevp)
				*prevp = p;
			return *p;
		}
	return NULL;
}

static int add(struct mino *dir, const char *name, size_t len, uint64_t ino)
{
	struct dent *d = calloc(1, sizeof(*d));

	if (!d)
		return -ENOMEM;
	memcpy(d->name, name, len);
	d->ino = ino;
	d->cookie = dir->next_cookie++;
	d->next = dir->ents;
	dir->ents = d;
	now(&dir->a.mtime);
	dir->a.ctime = dir->a.mtime;
	return 0;
}

/*
 * --evil inval-late: invalidate an inode from a thread on the last CPU at
 * real-time priority that then keeps the CPU for INVAL_HOLD_S.  The kernel
 * queues its deferred put of the inode on that CPU, so it runs only after
 * the application (on another CPU) has had that long to unmount.
 */
#define INVAL_HOLD_S	8	/* long enough for a debug kernel's umount */

struct inval_hog {
	struct zus_sb *sb;
	uint64_t ino;
	int ret;
	sem_t done;
};

static void *inval_hog(void *arg)
{
	struct inval_hog *h = arg;
	struct timespec t0, t;

	h->ret = zus_invalidate(h->sb, h->ino, 0, 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	sem_post(&h->done);	/* h is gone after this */
	do
		clock_gettime(CLOCK_MONOTONIC, &t);
	while (t.tv_sec - t0.tv_sec < INVAL_HOLD_S);
	fprintf(stderr, "zuf-memfs: inval-late: CPU given back at %lld.%03ld\n",
		(long long)t.tv_sec, t.tv_nsec / 1000000);
	return NULL;
}

static int evil_inval_late(struct zus_sb *sb, const char *name, size_t len)
{
	struct inval_hog h = { .sb = sb };
	struct sched_param sp = { .sched_priority = 1 };
	long cpu = sysconf(_SC_NPROCESSORS_ONLN) - 1;
	char num[24];
	struct timespec now;
	pthread_attr_t at;
	pthread_t t;
	cpu_set_t set;
	int ret;

	if (len <= 6 || len - 6 >= sizeof(num))
		return -ENOENT;
	memcpy(num, name + 6, len - 6);
	num[len - 6] = 0;
	h.ino = strtoull(num, NULL, 10);
	sem_init(&h.done, 0, 0);
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	pthread_attr_init(&at);
	pthread_attr_setaffinity_np(&at, sizeof(set), &set);
	pthread_attr_setinheritsched(&at, PTHREAD_EXPLICIT_SCHED);
	pthread_attr_setschedpolicy(&at, SCHED_FIFO);
	pthread_attr_setschedparam(&at, &sp);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	ret = pthread_create(&t, &at, inval_hog, &h);
	pthread_attr_destroy(&at);
	if (ret) {
		fprintf(stderr, "zuf-memfs: inval-late: thread: %s\n",
			strerror(ret));
		return -ret;
	}
	sem_wait(&h.done);
	clock_gettime(CLOCK_MONOTONIC, &now);
	fprintf(stderr, "zuf-memfs: inval-late: ino %llu invalidated (%d) at %lld.%03ld, CPU %ld held %d s\n",
		(unsigned long long)h.ino, h.ret, (long long)now.tv_sec,
		now.tv_nsec / 1000000, cpu, INVAL_HOLD_S);
	return h.ret ? h.ret : -ENOENT;
}

static int mf_lookup(struct zus_sb *sb, uint64_t dir, const char *name,
		     size_t len, struct zus_attr *out)
{
	struct mfs *m = M(sb);
	struct mino *d;
	struct dent *e;
	int ret = -ENOENT;

	if (evil && !strcmp(evil, "inval-late") && len > 6 &&
	    !memcmp(name, "inval-", 6))
		return evil_inval_late(sb, name, len);
	pthread_mutex_lock(&m->lock);
	d = get(m, dir);
	if (!d || !S_ISDIR(d->a.mode))
		ret = -ENOTDIR;
	else if ((e = find(d, name, len, NULL)) != NULL) {
		*out = get(m, e->ino)->a;
		ret = 0;
	}
	pthread_mutex_unlock(&m->lock);
	return ret;
}

/*
 * --evil dupino: the first create of a pair makes a new inode and waits
 * (up to 1 s, lock dropped) for the second, which gets the same number
 * under its own name; both then answer at the same moment.
 */
static int evil_dup(struct mfs *m, struct mino *d, const char *name,
		    size_t len, uint32_t mode, const struct zus_creds *cr,
		    struct zus_attr *out)
{
	static struct mino *first;
	static int waiting;	/* 1: a first is waiting, 2: its second came */
	struct timespec t0, t;
	struct mino *n;
	int ret, me;

	if (waiting == 1) {
		n = first;
		ret = add(d, name, len, n->a.ino);
		if (ret)
			return ret;
		waiting = 2;
		me = 2;
	} else {
		n = new_ino(m, mode, cr);
		if (!n)
			return -ENOSPC;
		n->parent = d->a.ino;
		ret = add(d, name, len, n->a.ino);
		if (ret) {
			free_ino(m, n);
			return ret;
		}
		first = n;
		waiting = 1;
		me = 1;
	}
	if (S_ISDIR(mode))
		d->a.nlink++;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		pthread_mutex_unlock(&m->lock);
		usleep(me == 1 ? 1000 : 200);
		pthread_mutex_lock(&m->lock);
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while (waiting == me && t.tv_sec - t0.tv_sec < 1);
	/* the first leaves when the second came; the second when it left */
	waiting = me == 1 && waiting == 2 ? 3 : 0;
	*out = n->a;
	return 0;
}

static int mk(struct zus_sb *sb, uint64_t dir, const char *name, size_t len,
	      uint32_t mode, uint32_t rdev, const char *target,
	      const struct zus_creds *cr, struct zus_attr *out)
{
	struct mfs *m = M(sb);
	struct mino *d, *n;
	int ret;

	pthread_mutex_lock(&m->lock);
	d = get(m, dir);
	if (!d || !S_ISDIR(d->a.mode)) {
		ret = -ENOTDIR;
		goto out;
	}
	if (name && find(d, name, len, NULL)) {
		ret = -EEXIST;
		goto out;
	}
	if (name && len > 3 && !memcmp(name, "dup", 3) && evil &&
	    !strcmp(evil, "dupino")) {
		ret = evil_dup(m, d, name, len, mode, cr, out);
		goto out;
	}
	n = new_ino(m, mode, cr);
	if (!n) {
		ret = -ENOSPC;
		goto out;
	}
	n->a.rdev = rdev;
	n->parent = dir;
	if (target) {
		n->link = strdup(target);
		n->a.size = strlen(target);
	}
	if (name) {
		ret = add(d, name, len, n->a.ino);
		if (ret) {
			free_ino(m, n);
			goto out;
		}
		if (S_ISDIR(mode))
			d->a.nlink++;
	} else {
		n->a.nlink = 0;
	}
	*out = n->a;
	ret = 0;
out:
	pthread_mutex_unlock(&m->lock);
	return ret;
}

static int mf_create(struct zus_sb *sb, uint64_t dir, const char *name,
		     size_t len, uint32_t mode, uint32_t rdev,
		     const struct zus_creds *cr, struct zus_attr *out)
{
	return mk(sb, dir, name, len, mode, rdev, NULL, cr, out);
}

static int mf_mkdir(struct zus_sb *sb, uint64_t dir, const char *name,
		    size_t len, uint32_t mode, const struct zus_creds *cr,
		    struct zus_attr *out)
{
	return mk(sb, dir, name, len, mode | S_IFDIR, 0, NULL, cr, out);
}

static int mf_symlink(struct zus_sb *sb, uint64_t dir, const char *name,
		      size_t len, const char *target,
		      const struct zus_creds *cr, struct zus_attr *out)
{
	return mk(sb, dir, name, len, S_IFLNK | 0777, 0, target, cr, out);
}

static int mf_tmpfile(struct zus_sb *sb, uint64_t dir, uint32_t mode,
		      const struct zus_creds *cr, struct zus_attr *out)
{
	return mk(sb, dir, NULL, 0, mode, 0, NULL, cr, out);
}

static int mf_link(struct zus_sb *sb, uint64_t ino, uint64_t newdir,
		   const char *name, size_t len, struct zus_attr *out)
{
	struct mfs *m = M(sb);
	struct mino *d, *n;
	int ret;

	pthread_mutex_lock(&m->lock);
	d = get(m, newdir);
	n = get(m, ino);
	if (!d || !n)
		ret = -ENOENT;
	else if (find(d, name, len, NULL))
		ret = -EEXIST;
	else if (!(ret = add(d, name, len, ino))) {
		n->a.nlink++;
		now(&n->a.ctime);
		*out = n->a;
	}
	pthread_mutex_unlock(&m->lock);
	return ret;
}

static int rm(struct zus_sb *sb, uint64_t dir, const char *name, size_t len,
	      bool isdir)
{
	struct mfs *m = M(sb);
	struct dent *e, **pp;
	struct mino *d, *n;
	int ret = 0;

	pthread_mutex_lock(&m->lock);
	d = get(m, dir);
	e = d ? find(d, name, len, &pp) : NULL;
	if (!e) {
		ret = -ENOENT;
		goto out;
	}
	n = get(m, e->ino);
	if (isdir && !S_ISDIR(n->a.mode)) {
		ret = -ENOTDIR;
		goto out;
	}
	if (!isdir && S_ISDIR(n->a.mode)) {
		ret = -EISDIR;
		goto out;
	}
	if (isdir && n->ents) {
		ret = -ENOTEMPTY;
		goto out;
	}
	*pp = e->next;
	free(e);
	if (isdir) {
		n->a.nlink = 0;
		d->a.nlink--;
	} else {
		n->a.nlink--;
	}
	now(&d->a.mtime);
	d->a.ctime = n->a.ctime = d->a.mtime;
out:
	pthread_mutex_unlock(&m->lock);
	return ret;
}

static int mf_unlink(struct zus_sb *sb, uint64_t dir, const char *name,
		     size_t len)
{
	return rm(sb, dir, name, len, false);
}

static int mf_rmdir(struct zus_sb *sb, uint64_t dir, const char *name,
		    size_t len)
{
	return rm(sb, dir, name, len, true);
}

static int mf_rename(struct zus_sb *sb, uint64_t od, const char *on,
		     size_t ol, uint64_t nd, const char *nn, size_t nl,
		     unsigned int flags)
{
	struct mfs *m = M(sb);
	struct mino *o, *n;
	struct dent *e, *t, **pp, **tp;
	int ret = 0;

	pthread_mutex_lock(&m->lock);
	o = get(m, od);
	n = get(m, nd);
	e = o ? find(o, on, ol, &pp) : NULL;
	if (!e || !n) {
		ret = -ENOENT;
		goto out;
	}
	t = find(n, nn, nl, &tp);
	if (flags & ZUS_RENAME_EXCHANGE) {
		uint64_t x;

		if (!t) {
			ret = -ENOENT;
			goto out;
		}
		x = e->ino;
		e->ino = t->ino;
		t->ino = x;
		goto out;
	}
	if (t && (flags & ZUS_RENAME_NOREPLACE)) {
		ret = -EEXIST;
		goto out;
	}
	if (t) {
		struct mino *ti = get(m, t->ino);

		if (S_ISDIR(ti->a.mode) && ti->ents) {
			ret = -ENOTEMPTY;
			goto out;
		}
		ti->a.nlink = S_ISDIR(ti->a.mode) ? 0 : ti->a.nlink - 1;
		if (S_ISDIR(ti->a.mode))
			n->a.nlink--;
		*tp = t->next;
		free(t);
		if (o == n)	/* pp may have moved */
			find(o, on, ol, &pp);
	}
	*pp = e->next;
	if (S_ISDIR(get(m, e->ino)->a.mode) && o != n) {
		o->a.nlink--;
		n->a.nlink++;
	}
	ret = add(n, nn, nl, e->ino);
	free(e);
out:
	pthread_mutex_unlock(&m->lock);
	return ret;
}

static int mf_readlink(struct zus_sb *sb, uint64_t ino, char *buf,
		       size_t size, size_t *len)
{
	struct mfs *m = M(sb);
	struct mino *n;
	int ret = 0;

	pthread_mutex_lock(&m->lock);
	n = get(m, ino);
	if (!n || !n->link) {
		ret = -EINVAL;
	} else {
		*len = strlen(n->link);
		if (*len > size)
			ret = -ENAMETOOLONG;
		else
			memcpy(buf, n->link, *len);
	}
	pthread_mutex_unlock(&m->lock);
	return ret;
}

/* --evil readdir-endless: is d a directory named endless*? */
static bool is_endless(struct mfs *m, struct mino *d)
{
	struct mino *p = get(m, d->parent);
	struct dent *e;

	for (e = p ? p->ents : NULL; e; e = e->next)
		if (e->ino == d->a.ino && !strncmp(e->name, "endless", 7))
			return true;
	return false;
}

static int mf_readdir(struct zus_sb *sb, uint64_t dir, uint64_t cookie,
		      zus_filldir_t emit, void *ctx)
{
	struct mfs *m = M(sb);
	struct mino *d;
	struct dent *e;
	int ret = 0;

	if (evil && !strcmp(evil, "hang"))
		for (;;)
			pause();
	if (evil && !strcmp(evil, "crash"))
		abort();
	pthread_mutex_lock(&m->lock);
	d = get(m, dir);
	if (!d || !S_ISDIR(d->a.mode)) {
		ret = -ENOTDIR;
		goto out;
	}
	if (evil && !strcmp(evil, "readdir-endless") && is_endless(m, d)) {
		char name[32];

		/* a new name per cookie, and never an end */
		for (;; cookie++) {
			snprintf(name, sizeof(name), "e%llu",
				 (unsigned long long)cookie + 3);
			if (emit(ctx, name, strlen(name), 1000000 + cookie,
				 ZUS_DT_REG, cookie + 1))
				break;
		}
		goto out;
	}
	if (cookie < 1 && emit(ctx, ".", 1, dir, ZUS_DT_DIR, 1))
		goto out;
	if (cookie < 2 && emit(ctx, "..", 2, d->parent ?: 1, ZUS_DT_DIR, 2))
		goto out;
	/* entries are newest first: walk by increasing cookie */
	for (;;) {
		struct dent *best = NULL;

		for (e = d->ents; e; e = e->next)
			if (e->cookie > cookie && (!best || e->cookie < best->cookie))
				best = e;
		if (!best)
			break;
		if (emit(ctx, best->name, strlen(best->name), best->ino,
			 (get(m, best->ino)->a.mode >> 12) & 15, best->cookie))
			break;
		cookie = best->cookie;
	}
out:
	pthread_mutex_unlock(&m->lock);
	return ret;
}

static int mf_getattr(struct zus_sb *sb, uint64_t ino, struct zus_attr *out)
{
	struct mfs *m = M(sb);
	struct mino *n;
	int ret = 0;

	pthread_mutex_lock(&m->lock);
	n = get(m, ino);
	if (!n)
		ret = -ENOENT;
	else
		*out = n->a;
	pthread_mutex_unlock(&m->lock);
	if (!ret && ino != 1 && evil && !strcmp(evil, "attr"))
		out->mode = 0170777;
	/* a live directory with no links: the kernel must not count from 0 */
	if (!ret && ino != 1 && S_ISDIR(out->mode) && evil &&
	    !strcmp(evil, "nlink0"))
		out->nlink = 0;
	return ret;
}

static int resize(struct mfs *m, struct mino *n, uint64_t size)
{
	if (size > (uint64_t)MAXBLK * BLK)
		return -EFBIG;
	if (!m->pm) {
		char *d = realloc(n->data, size ? size : 1);

		if (!d)
			return -ENOMEM;
		if (size > n->a.size)
			memset(d + n->a.size, 0, size - n->a.size);
		n->data = d;
	} else if (size < n->a.size && n->blk) {
		uint64_t first = (size + BLK - 1) / BLK;

		for (uint64_t b = first; b < MAXBLK; b++)
			n->blk[b] = 0;
		if (size % BLK && n->blk[size / BLK])
			memset((char *)m->sb->pmem.base + n->blk[size / BLK] - 1 +
			       size % BLK, 0, BLK - size % BLK);
	}
	n->a.size = size;
	return 0;
}

static int mf_setattr(struct zus_sb *sb, uint64_t ino,
		      const struct zus_setattr *sa, struct zus_attr *out)
{
	struct mfs *m = M(sb);
	struct mino *n;
	int ret = 0;

	pthread_mutex_lock(&m->lock);
	n = get(m, ino);
	if (!n) {
		ret = -ENOENT;
		goto out;
	}
	if (sa->valid & ZUS_SET_SIZE) {
		ret = resize(m, n, sa->size);
		if (ret)
			goto out;
	}
	if (sa->valid & ZUS_SET_MODE)
		n->a.mode = (n->a.mode & S_IFMT) | (sa->mode & 07777);
	if (sa->valid & ZUS_SET_UID)
		n->a.uid = sa->uid;
	if (sa->valid & ZUS_SET_GID)
		n->a.gid = sa->gid;
	if (sa->valid & ZUS_SET_ATIME)
		n->a.atime = sa->atime;
	if (sa->valid & ZUS_SET_MTIME)
		n->a.mtime = sa->mtime;
	if (sa->valid & ZUS_SET_ATIME_NOW)
		now(&n->a.atime);
	if (sa->valid & ZUS_SET_MTIME_NOW)
		now(&n->a.mtime);
	if (sa->valid & ZUS_SET_CTIME)
		n->a.ctime = sa->ctime;
	else
		now(&n->a.ctime);
	*out = n->a;
out:
	pthread_mutex_unlock(&m->lock);
	return ret;
}

static void mf_evict(struct zus_sb *sb, uint64_t ino)
{
	static int evicts;
	struct mfs *m = M(sb);
	struct mino *n;

	if (evil && !strcmp(evil, "evict-hang") &&
	    __atomic_fetch_add(&evicts, 1, __ATOMIC_RELAXED) == 0)
		sleep(20);
	if (evil && !strcmp(evil, "inval-late"))
		fprintf(stderr, "zuf-memfs: evict ino %llu\n",
			(unsigned long long)ino);
	pthread_mutex_lock(&m->lock);
	n = get(m, ino);
	if (n && !n->a.nlink && ino != 1)
		free_ino(m, n);
	pthread_mutex_unlock(&m->lock);
}

/*
 * --evil window: what a hostile server can do with the window around the
 * bytes of a READ or WRITE, within the pages that hold them.  An
 * application buffer's neighbours must never be there.
 */
#define SECRET "ZUFSECRET"

static void evil_window(void *buf, size_t len, bool read)
{
	uintptr_t lo = (uintptr_t)buf & ~(uintptr_t)(BLK - 1);
	uintptr_t hi = ((uintptr_t)buf + len + BLK - 1) & ~(uintptr_t)(BLK - 1);
	char *p;

	if (read) {
		/* scribble next to the data: the reader's neighbours */
		memset((void *)lo, 0x5a, (uintptr_t)buf - lo);
		memset((char *)buf + len, 0x5a, hi - ((uintptr_t)buf + len));
		return;
	}
	for (p = (char *)lo; p + sizeof(SECRET) - 1 <= (char *)hi; p++) {
		if ((p >= (char *)buf && p < (char *)buf + len) ||
		    memcmp(p, SECRET, sizeof(SECRET) - 1))
			continue;
		fprintf(stderr, "zuf-memfs: LEAK: application memory next to a write(2) buffer\n");
		break;
	}
	/* a store into the source of a write(2) */
	((volatile char *)buf)[0] ^= 0x20;
}

static ssize_t mf_read(struct zus_sb *sb, uint64_t ino, void *buf,
		       size_t len, uint64_t off)
{
	struct mfs *m = M(sb);
	struct mino *n;
	ssize_t ret;

	pthread_mutex_lock(&m->lock);
	n = get(m, ino);
	if (!n || m->pm) {
		ret = -EINVAL;
	} else if (off >= n->a.size) {
		ret = 0;
	} else {
		if (len > n->a.size - off)
			len = n->a.size - off;
		memcpy(buf, n->data + off, len);
		ret = (ssize_t)len;
	}
	pthread_mutex_unlock(&m->lock);
	if (ret > 0 && evil && !strcmp(evil, "window"))
		evil_window(buf, (size_t)ret, true);
	if (evil && !strcmp(evil, "slow"))
		nanosleep(&(struct timespec){ 1, 500000000 }, NULL);
	return ret;
}

static ssize_t mf_write(struct zus_sb *sb, uint64_t ino, const void *buf,
			size_t len, uint64_t off)
{
	struct mfs *m = M(sb);
	struct mino *n;
	ssize_t ret;

	pthread_mutex_lock(&m->lock);
	n = get(m, ino);
	if (!n || m->pm) {
		ret = -EINVAL;
	} else if (off + len > n->a.size && (ret = resize(m, n, off + len))) {
		/* ret set */
	} else {
		memcpy(n->data + off, buf, len);
		n->a.blocks = (n->a.size + 511) / 512;
		ret = (ssize_t)len;
	}
	pthread_mutex_unlock(&m->lock);
	if (ret > 0 && evil && !strcmp(evil, "window"))
		evil_window((void *)buf, len, false);
	return ret;
}

static int mf_get_extents(struct zus_sb *sb, uint64_t ino, uint64_t off,
			  uint64_t len, unsigned int flags,
			  struct zus_extent *ext, unsigned int *n)
{
	struct mfs *m = M(sb);
	struct mino *i;
	unsigned int k = 0;
	uint64_t b, last;
	int ret = 0;

	pthread_mutex_lock(&m->lock);
	i = get(m, ino);
	if (!i || !m->pm || !S_ISREG(i->a.mode)) {
		ret = -EINVAL;
		goto out;
	}
	if (!i->blk && !(i->blk = calloc(MAXBLK, sizeof(*i->blk)))) {
		ret = -ENOMEM;
		goto out;
	}
	b = off / BLK;
	last = (off + len - 1) / BLK;
	if (b >= MAXBLK) {
		ret = -EFBIG;
		goto out;
	}
	if (last >= MAXBLK)
		last = MAXBLK - 1;
	for (; b <= last && k < *n; b++) {
		uint64_t p;

		if (!i->blk[b] && (flags & ZUS_GE_WRITE)) {
			if ((m->next_blk + 1) * BLK > sb->pmem.size) {
				if (!k)
					ret = -ENOSPC;
				break;
			}
			i->blk[b] = m->next_blk++ * BLK + 1;
			memset((char *)sb->pmem.base + i->blk[b] - 1, 0, BLK);
			i->a.blocks += BLK / 512;
		}
		p = i->blk[b] ? i->blk[b] - 1 : ZUS_EXTENT_HOLE;
		if (k && ext[k - 1].file_off + ext[k - 1].len == b * BLK &&
		    ((p == ZUS_EXTENT_HOLE && ext[k - 1].pmem_off == p) ||
		     (p != ZUS_EXTENT_HOLE && ext[k - 1].pmem_off != ZUS_EXTENT_HOLE &&
		      ext[k - 1].pmem_off + ext[k - 1].len == p))) {
			ext[k - 1].len += BLK;
			continue;
		}
		ext[k].file_off = b * BLK;
		ext[k].pmem_off = p;
		ext[k].len = BLK;
		k++;
	}
	*n = k;
	if (evil && !strcmp(evil, "extents") && k)
		ext[0].pmem_off = sb->pmem.size;
out:
	pthread_mutex_unlock(&m->lock);
	return ret;
}

static int mf_fsync(struct zus_sb *sb, uint64_t ino, bool datasync)
{
	(void)sb; (void)ino; (void)datasync;
	return 0;
}

static ssize_t mf_getxattr(struct zus_sb *sb, uint64_t ino, const char *name,
			   void *value, size_t size)
{
	struct mfs *m = M(sb);
	struct mino *n;
	ssize_t ret = -ENODATA;

	pthread_mutex_lock(&m->lock);
	n = get(m, ino);
	for (struct xat *x = n ? n->xattrs : NULL; x; x = x->next) {
		if (strcmp(x->name, name))
			continue;
		if (size && x->len > size)
			ret = -ERANGE;
		else {
			if (size)
				memcpy(value, x->val, x->len);
			ret = (ssize_t)x->len;
		}
		break;
	}
	pthread_mutex_unlock(&m->lock);
	return ret;
}

static int mf_setxattr(struct zus_sb *sb, uint64_t ino, const char *name,
		       const void *value, size_t size, int flags)
{
	struct mfs *m = M(sb);
	struct mino *n;
	struct xat *x;
	int ret = 0;

	pthread_mutex_lock(&m->lock);
	n = get(m, ino);
	if (!n) {
		ret = -ENOENT;
		goto out;
	}
	for (x = n->xattrs; x; x = x->next)
		if (!strcmp(x->name, name))
			break;
	if (x && (flags & ZUS_XATTR_CREATE)) {
		ret = -EEXIST;
		goto out;
	}
	if (!x && (flags & ZUS_XATTR_REPLACE)) {
		ret = -ENODATA;
		goto out;
	}
	if (!x) {
		x = calloc(1, sizeof(*x));
		if (!x) {
			ret = -ENOMEM;
			goto out;
		}
		snprintf(x->name, sizeof(x->name), "%s", name);
		x->next = n->xattrs;
		n->xattrs = x;
	}
	free(x->val);
	x->val = malloc(size ? size : 1);
	memcpy(x->val, value, size);
	x->len = size;
out:
	pthread_mutex_unlock(&m->lock);
	return ret;
}

static ssize_t mf_listxattr(struct zus_sb *sb, uint64_t ino, char *list,
			    size_t size)
{
	struct mfs *m = M(sb);
	struct mino *n;
	size_t need = 0;
	ssize_t ret;

	pthread_mutex_lock(&m->lock);
	n = get(m, ino);
	for (struct xat *x = n ? n->xattrs : NULL; x; x = x->next) {
		size_t l = strlen(x->name) + 1;

		if (size && need + l <= size)
			memcpy(list + need, x->name, l);
		need += l;
	}
	ret = !n ? -ENOENT : (size && need > size) ? -ERANGE : (ssize_t)need;
	pthread_mutex_unlock(&m->lock);
	return ret;
}

static int mf_removexattr(struct zus_sb *sb, uint64_t ino, const char *name)
{
	struct mfs *m = M(sb);
	struct mino *n;
	int ret = -ENODATA;

	pthread_mutex_lock(&m->lock);
	n = get(m, ino);
	for (struct xat **p = n ? &n->xattrs : NULL; p && *p; p = &(*p)->next) {
		if (strcmp((*p)->name, name))
			continue;
		struct xat *x = *p;

		*p = x->next;
		free(x->val);
		free(x);
		ret = 0;
		break;
	}
	pthread_mutex_unlock(&m->lock);
	return ret;
}

static const struct zus_fs_ops mf_ops = {
	.mount = mf_mount, .umount = mf_umount, .statfs = mf_statfs,
	.root_ino = mf_root, .lookup = mf_lookup, .create = mf_create,
	.mkdir = mf_mkdir, .symlink = mf_symlink, .link = mf_link,
	.unlink = mf_unlink, .rmdir = mf_rmdir, .rename = mf_rename,
	.tmpfile = mf_tmpfile, .readlink = mf_readlink, .readdir = mf_readdir,
	.getattr = mf_getattr, .setattr = mf_setattr, .evict = mf_evict,
	.read = mf_read, .write = mf_write, .get_extents = mf_get_extents,
	.fsync = mf_fsync, .getxattr = mf_getxattr, .setxattr = mf_setxattr,
	.listxattr = mf_listxattr, .removexattr = mf_removexattr,
};

static const struct zus_fs_ops mf_ops_nodev = {
	.mount = mf_mount, .umount = mf_umount, .statfs = mf_statfs,
	.root_ino = mf_root, .lookup = mf_lookup, .create = mf_create,
	.mkdir = mf_mkdir, .symlink = mf_symlink, .link = mf_link,
	.unlink = mf_unlink, .rmdir = mf_rmdir, .rename = mf_rename,
	.tmpfile = mf_tmpfile, .readlink = mf_readlink, .readdir = mf_readdir,
	.getattr = mf_getattr, .setattr = mf_setattr, .evict = mf_evict,
	.read = mf_read, .write = mf_write,
	.fsync = mf_fsync, .getxattr = mf_getxattr, .setxattr = mf_setxattr,
	.listxattr = mf_listxattr, .removexattr = mf_removexattr,
};

static const struct zus_fs_type t_mem = {
	.name = "zuftmem", .flags = 0, .ops = &mf_ops_nodev,
};
static const struct zus_fs_type t_pm = {
	.name = "zuftpm", .flags = ZUS_FS_DIRECT_DATA | ZUS_FS_NEEDS_PMEM,
	.ops = &mf_ops,
};
static const struct zus_fs_type *const types[] = { &t_mem, &t_pm, NULL };

int main(int argc, char **argv)
{
	struct zuf_transport *zt;
	char err[512];
	sigset_t set;
	int sig, ret;

	if (argc == 3 && !strcmp(argv[1], "--evil"))
		evil = argv[2];
	ino_base = (uint64_t)getpid();
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	ret = zuf_transport_start(types, NULL, &zt, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "zuf-memfs: %s\n", err);
		return 1;
	}
	fprintf(stderr, "zuf-memfs: serving zuftmem, zuftpm%s%s\n",
		evil ? ", evil=" : "", evil ? evil : "");
	sigwait(&set, &sig);
	fprintf(stderr, "zuf-memfs: %d mounts held at exit\n",
		__atomic_load_n(&mounted, __ATOMIC_RELAXED));
	zuf_transport_stop(zt);
	return 0;
}
