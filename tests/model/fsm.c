// SPDX-License-Identifier: BSD-2-Clause
/*
 * fsm.c - random operations on the in-process host and the model (fsm.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fsm.h"

#define MAXBUF (512 * 1024)

static unsigned char *wbuf, *rbuf, *rbuf2;

static const char *const type_names[FSM_NTYPES] = {
	"open", "close", "pread", "pwrite", "fstat", "ftruncate", "fallocate",
	"linkfd", "mkdir", "rmdir", "unlink", "rename", "link", "symlink",
	"readlink", "stat", "lstat", "chmod", "utimens", "truncate",
	"setxattr", "getxattr", "listxattr", "removexattr",
};

const char *fsm_type_name(enum fsm_type t)
{
	return t < FSM_NTYPES ? type_names[t] : "?";
}

uint64_t fsm_rand(struct fsm *f)
{
	uint64_t x = f->rng;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return f->rng = x;
}

static uint64_t rnd(struct fsm *f, uint64_t n)
{
	return n ? fsm_rand(f) % n : 0;
}

static bool chance(struct fsm *f, unsigned int pct)
{
	return rnd(f, 100) < pct;
}

void fsm_init(struct fsm *f, struct zus_inproc *h, struct model *m,
	      uint64_t seed, const struct fsm_limits *lim)
{
	memset(f, 0, sizeof(*f));
	f->h = h;
	f->m = m;
	f->rng = seed * 0x9e3779b97f4a7c15ull + 0x632be59bd9b4e019ull;
	if (!f->rng)
		f->rng = 1;
	f->lim = *lim;
	f->check_times = true;
	for (int i = 0; i < MODEL_MAX_HANDLES; i++)
		f->fd[i] = -1;
	if (!wbuf) {
		wbuf = malloc(MAXBUF);
		rbuf = malloc(MAXBUF);
		rbuf2 = malloc(MAXBUF);
		if (!wbuf || !rbuf || !rbuf2)
			abort();
	}
}

void fsm_fini(struct fsm *f)
{
	free(f->id2ino);
	f->id2ino = NULL;
}

static void fill(uint64_t seed, unsigned char *buf, size_t len)
{
	uint64_t x = seed | 1;

	for (size_t i = 0; i < len; i += 8) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		memcpy(buf + i, &x, len - i < 8 ? len - i : 8);
	}
}

/* ---- generation ------------------------------------------------------------ */

static const char *const pool[] = {
	"a", "b", "c", "d", "e", "f", "g", "h", "sub", "data", "x y",
};
#define NPOOL (sizeof(pool) / sizeof(pool[0]))

static void append(char *out, const char *s)
{
	size_t l = strlen(out);

	snprintf(out + l, FSM_PATH - l, "%s", s);
}

/* A path to an existing node (random walk); *res the node. */
static void pick_existing(struct fsm *f, char *out, bool dirs_only,
			  struct mnode **res)
{
	struct mnode *n = f->m->root;

	out[0] = '\0';
	for (int depth = 0; depth < 8; depth++) {
		const struct mdirent *e;

		if (!S_ISDIR(n->mode) || !n->nents)
			break;
		if (depth && chance(f, 30))
			break;
		e = &n->ents[rnd(f, n->nents)];
		if (dirs_only && !S_ISDIR(e->node->mode))
			break;
		append(out, "/");
		append(out, e->name);
		n = e->node;
	}
	if (!out[0])
		strcpy(out, chance(f, 50) ? "/" : ".");
	else if (chance(f, 40))
		memmove(out, out + 1, strlen(out));	/* relative */
	if (res)
		*res = n;
}

static void mangle(struct fsm *f, char *out, const struct mnode *n)
{
	unsigned int r = rnd(f, 100);

	if (r < 3 && S_ISDIR(n->mode)) {
		append(out, "/.");
	} else if (r < 6) {
		append(out, "/");	/* trailing slash: ENOTDIR on a file */
	} else if (r < 9) {
		char tmp[FSM_PATH];

		snprintf(tmp, sizeof(tmp), "%s/../%s",
			 pool[rnd(f, NPOOL)], out[0] == '/' ? out + 1 : out);
		strcpy(out, tmp);
	}
}

static void pick_path(struct fsm *f, char *out)
{
	unsigned int r = rnd(f, 100);
	struct mnode *n;

	if (r < 65) {
		pick_existing(f, out, false, &n);
		mangle(f, out, n);
	} else if (r < 95) {
		pick_existing(f, out, true, &n);
		append(out, "/");
		append(out, pool[rnd(f, NPOOL)]);
	} else if (r < 98) {
		out[0] = '\0';
		for (int i = 0, k = 1 + (int)rnd(f, 4); i < k; i++) {
			append(out, i ? "/" : "");
			append(out, chance(f, 20) ? ".." : pool[rnd(f, NPOOL)]);
		}
	} else if (r < 99) {
		pick_existing(f, out, true, NULL);
		append(out, "/");
		for (int i = 0; i < 256; i++)
			append(out, "n");
	} else {
		strcpy(out, "");
	}
}

/* Names only new entries get, so that creations succeed more often */
static const char *const newpool[] = {
	"n0", "n1", "n2", "n3", "n4", "n5", "n6", "n7", "n8", "n9",
};

struct typed {
	struct fsm *f;
	uint32_t type;
	bool empty;
	char best[FSM_PATH];
	uint64_t seen;
};

static void typed_walk(struct typed *t, const struct mnode *d, char *path,
		       int depth)
{
	size_t len = strlen(path);

	for (size_t i = 0; i < d->nents; i++) {
		const struct mnode *n = d->ents[i].node;

		if (len + strlen(d->ents[i].name) + 2 >= FSM_PATH)
			continue;
		sprintf(path + len, "/%s", d->ents[i].name);
		if ((n->mode & S_IFMT) == t->type &&
		    (!t->empty || !n->nents) && !rnd(t->f, ++t->seen))
			strcpy(t->best, path);
		if (S_ISDIR(n->mode) && depth < 8)
			typed_walk(t, n, path, depth + 1);
		path[len] = '\0';
	}
}

/* A path to a random node of a type (an empty directory); false if none. */
static bool pick_typed(struct fsm *f, char *out, uint32_t type, bool empty)
{
	struct typed t = { .f = f, .type = type, .empty = empty };
	char path[FSM_PATH] = "";

	typed_walk(&t, f->m->root, path, 0);
	if (!t.seen)
		return false;
	strcpy(out, t.best);
	return true;
}

/* A path for a new name, usually in an existing directory. */
static void pick_new(struct fsm *f, char *out)
{
	if (chance(f, 85)) {
		pick_existing(f, out, true, NULL);
		if (strcmp(out, "/"))
			append(out, "/");
		append(out, chance(f, 50) ? pool[rnd(f, NPOOL)] :
			    newpool[rnd(f, sizeof(newpool) / sizeof(newpool[0]))]);
		if (chance(f, 3))
			append(out, "/");
	} else {
		pick_path(f, out);
	}
}

static int pick_handle(struct fsm *f, bool want_write)
{
	int cand[MODEL_MAX_HANDLES], n = 0;

	for (int i = 0; i < MODEL_MAX_HANDLES; i++) {
		const struct mhandle *h = &f->m->h[i];

		if (!h->used)
			continue;
		if (want_write && (h->flags & O_ACCMODE) == O_RDONLY)
			continue;
		cand[n++] = i;
	}
	if (!n)
		return -1;
	return cand[rnd(f, n)];
}

static int nhandles(const struct model *m)
{
	int n = 0;

	for (int i = 0; i < MODEL_MAX_HANDLES; i++)
		n += m->h[i].used;
	return n;
}

static void gen_open(struct fsm *f, struct fsm_op *op)
{
	static const int acc[] = { O_RDONLY, O_WRONLY, O_RDWR, O_RDWR };

	op->type = FSM_OPEN;
	op->mode = chance(f, 90) ? 0644 : rnd(f, 07777 + 1);
	if (chance(f, 4)) {
		pick_existing(f, op->p1, true, NULL);
		op->flags = O_TMPFILE | (chance(f, 90) ? O_RDWR : O_RDONLY);
		return;
	}
	op->flags = acc[rnd(f, 4)];
	if (chance(f, 60)) {
		op->flags |= O_CREAT;
		pick_new(f, op->p1);
		if (chance(f, 15))
			op->flags |= O_EXCL;
	} else {
		pick_path(f, op->p1);
	}
	if (chance(f, 10))
		op->flags |= O_TRUNC;
	if (chance(f, 10))
		op->flags |= O_APPEND;
	if (chance(f, 4) && !(op->flags & O_CREAT))
		op->flags |= O_DIRECTORY;
	if (chance(f, 5))
		op->flags |= O_NOFOLLOW;
}

static uint64_t file_size(struct fsm *f, int hd)
{
	return f->m->h[hd].node->size;
}

static void gen_xattr_name(struct fsm *f, char *name)
{
	unsigned int r = rnd(f, 100);

	if (r < 85)
		sprintf(name, "user.k%d", (int)rnd(f, 6));
	else if (r < 91)
		sprintf(name, "trusted.t%d", (int)rnd(f, 2));
	else if (r < 95)
		sprintf(name, "security.s%d", (int)rnd(f, 2));
	else if (r < 98)
		strcpy(name, "bogus.x");
	else
		strcpy(name, "");
}

static void gen_time(struct fsm *f, struct timespec *t)
{
	unsigned int r = rnd(f, 100);

	if (r < 15) {
		t->tv_sec = 0;
		t->tv_nsec = UTIME_OMIT;
	} else if (r < 30) {
		t->tv_sec = 0;
		t->tv_nsec = UTIME_NOW;
	} else if (r < 32) {
		t->tv_sec = 1;
		t->tv_nsec = 1000000000L + (long)rnd(f, 10);
	} else {
		t->tv_sec = (time_t)rnd(f, 1ull << 32) - (1ll << 30);
		t->tv_nsec = (long)rnd(f, 1000000000);
	}
}

void fsm_gen(struct fsm *f, struct fsm_op *op)
{
	static const unsigned char weights[FSM_NTYPES] = {
		[FSM_OPEN] = 8, [FSM_CLOSE] = 6, [FSM_PREAD] = 8,
		[FSM_PWRITE] = 16, [FSM_FSTAT] = 3, [FSM_FTRUNCATE] = 3,
		[FSM_FALLOCATE] = 6, [FSM_LINKFD] = 1, [FSM_MKDIR] = 6,
		[FSM_RMDIR] = 4, [FSM_UNLINK] = 6, [FSM_RENAME] = 7,
		[FSM_LINK] = 3, [FSM_SYMLINK] = 4, [FSM_READLINK] = 2,
		[FSM_STAT] = 3, [FSM_LSTAT] = 3, [FSM_CHMOD] = 2,
		[FSM_UTIMENS] = 3, [FSM_TRUNCATE] = 3, [FSM_SETXATTR] = 4,
		[FSM_GETXATTR] = 3, [FSM_LISTXATTR] = 2, [FSM_REMOVEXATTR] = 2,
	};
	unsigned int total = 0, r;
	bool shrink = f->m->data_bytes > f->lim.data_budget;
	bool crowded = f->m->live > f->lim.max_nodes;
	int t, hd;

	memset(op, 0, sizeof(*op));
	op->hd = -1;
	for (t = 0; t < FSM_NTYPES; t++)
		total += weights[t];
	r = rnd(f, total);
	for (t = 0; r >= weights[t]; t++)
		r -= weights[t];
	if (crowded && (t == FSM_MKDIR || t == FSM_SYMLINK || t == FSM_LINK ||
			t == FSM_OPEN))
		t = chance(f, 50) ? FSM_UNLINK : FSM_RMDIR;
	op->type = t;

	switch (t) {
	case FSM_OPEN:
		if (nhandles(f->m) >= 8)
			goto close;
		gen_open(f, op);
		return;
	case FSM_CLOSE:
close:
		op->type = FSM_CLOSE;
		op->hd = pick_handle(f, false);
		if (op->hd < 0)
			gen_open(f, op);
		return;
	case FSM_PREAD:
	case FSM_FSTAT:
		hd = pick_handle(f, false);
		if (hd < 0) {
			gen_open(f, op);
			return;
		}
		op->hd = hd;
		op->off = (int64_t)rnd(f, file_size(f, hd) + 8192);
		op->size = 1 + rnd(f, chance(f, 70) ? 8192 : 200000);
		if (chance(f, 2))
			op->off = -1;
		return;
	case FSM_PWRITE:
	case FSM_FTRUNCATE:
	case FSM_FALLOCATE:
	case FSM_LINKFD:
		hd = pick_handle(f, t != FSM_LINKFD);
		if (hd < 0 || (t != FSM_LINKFD && chance(f, 3)))
			hd = pick_handle(f, false);
		if (hd < 0) {
			gen_open(f, op);
			op->flags = (op->flags & ~O_ACCMODE) | O_RDWR;
			return;
		}
		op->hd = hd;
		break;
	default:
		break;
	}

	switch (t) {
	case FSM_PWRITE: {
		uint64_t size = file_size(f, op->hd);
		uint64_t len, max = f->lim.max_write;

		r = rnd(f, 100);
		len = r < 50 ? 1 + rnd(f, 4096) : r < 80 ?
		      4096 + rnd(f, 61440) : 1 + rnd(f, max);
		if (len > max)
			len = max;
		if (chance(f, 20))
			len = (len + 4095) & ~4095ull;
		r = rnd(f, 100);
		if (shrink)
			op->off = (int64_t)rnd(f, size + 1);
		else if (r < 60)
			op->off = (int64_t)rnd(f, size + 1);
		else if (r < 85)
			op->off = (int64_t)rnd(f, f->lim.max_file - len);
		else
			op->off = (int64_t)size;
		if (chance(f, 25))
			op->off &= ~4095ll;
		if ((uint64_t)op->off + len > f->lim.max_file)
			op->off = (int64_t)(f->lim.max_file - len);
		op->len = (int64_t)len;
		op->dseed = fsm_rand(f);
		return;
	}
	case FSM_FTRUNCATE:
	case FSM_TRUNCATE: {
		uint64_t size;

		if (t == FSM_TRUNCATE) {
			struct mnode *n;

			pick_existing(f, op->p1, false, &n);
			size = S_ISREG(n->mode) ? n->size : 0;
		} else {
			size = file_size(f, op->hd);
		}
		r = rnd(f, 100);
		op->len = r < 10 ? 0 : r < 60 || shrink ?
			  (int64_t)rnd(f, size + 1) :
			  (int64_t)rnd(f, f->lim.max_file);
		if (chance(f, 2))
			op->len = -1;
		return;
	}
	case FSM_FALLOCATE: {
		static const int modes[] = {
			0, ZUS_FALLOC_KEEP_SIZE,
			ZUS_FALLOC_PUNCH_HOLE | ZUS_FALLOC_KEEP_SIZE,
			ZUS_FALLOC_PUNCH_HOLE | ZUS_FALLOC_KEEP_SIZE,
			ZUS_FALLOC_ZERO_RANGE,
			ZUS_FALLOC_ZERO_RANGE | ZUS_FALLOC_KEEP_SIZE,
			ZUS_FALLOC_PUNCH_HOLE,
			ZUS_FALLOC_COLLAPSE_RANGE, ZUS_FALLOC_COLLAPSE_RANGE,
			ZUS_FALLOC_INSERT_RANGE, ZUS_FALLOC_INSERT_RANGE,
		};
		uint64_t size = file_size(f, op->hd);

		op->flags = modes[rnd(f, sizeof(modes) / sizeof(modes[0]))];
		op->off = (int64_t)rnd(f, size + 65536);
		op->len = 1 + (int64_t)rnd(f, 131072);
		if (op->flags & (ZUS_FALLOC_COLLAPSE_RANGE |
				 ZUS_FALLOC_INSERT_RANGE)) {
			/* blocks wholly before the last byte */
			uint64_t nb = size ? (size - 1) / 4096 : 0;

			/* mostly aligned and inside the file: most succeed */
			if (chance(f, 85) && (op->flags & ZUS_FALLOC_INSERT_RANGE)) {
				op->off = (int64_t)rnd(f, (size + 4095) / 4096) * 4096;
				op->len = (1 + (int64_t)rnd(f, 24)) * 4096;
			} else if (chance(f, 85) && nb) {
				uint64_t b = rnd(f, nb);

				op->off = (int64_t)(b * 4096);
				op->len = (1 + (int64_t)rnd(f, nb - b < 24 ?
							    nb - b : 24)) * 4096;
			}
			/* inserts grow the file: not past the limits */
			if ((op->flags & ZUS_FALLOC_INSERT_RANGE) &&
			    (shrink || size + (uint64_t)op->len > f->lim.max_file))
				op->flags = ZUS_FALLOC_COLLAPSE_RANGE;
			if (chance(f, 3))
				op->flags |= ZUS_FALLOC_KEEP_SIZE;	/* EINVAL */
			if (chance(f, 2))
				op->len = 0;
			return;
		}
		if (chance(f, 30)) {
			op->off &= ~4095ll;
			op->len = (op->len + 4095) & ~4095ll;
		}
		if (shrink && !(op->flags & ZUS_FALLOC_KEEP_SIZE))
			op->flags |= ZUS_FALLOC_KEEP_SIZE;
		if ((uint64_t)(op->off + op->len) > f->lim.max_file)
			op->off = 0;
		if (chance(f, 2))
			op->len = 0;
		return;
	}
	case FSM_LINKFD:
		pick_new(f, op->p2);
		return;
	case FSM_MKDIR:
		pick_new(f, op->p1);
		op->mode = chance(f, 90) ? 0755 : rnd(f, 07777 + 1);
		return;
	case FSM_RMDIR:
		if (chance(f, 50) && pick_typed(f, op->p1, S_IFDIR, true))
			return;
		pick_existing(f, op->p1, chance(f, 80), NULL);
		return;
	case FSM_UNLINK:
		pick_path(f, op->p1);
		return;
	case FSM_RENAME:
		pick_path(f, op->p1);
		if (chance(f, 50))
			pick_new(f, op->p2);
		else
			pick_path(f, op->p2);
		r = rnd(f, 100);
		op->flags = r < 70 ? 0 : r < 85 ? ZUS_RENAME_NOREPLACE :
			    r < 99 ? ZUS_RENAME_EXCHANGE : 3;
		return;
	case FSM_LINK:
		if (!chance(f, 60) || !pick_typed(f, op->p1, S_IFREG, false))
			pick_path(f, op->p1);
		pick_new(f, op->p2);
		return;
	case FSM_SYMLINK:
		r = rnd(f, 100);
		if (r < 60)
			pick_path(f, op->p1);
		else if (r < 95)
			strcpy(op->p1, pool[rnd(f, NPOOL)]);
		else
			strcpy(op->p1, chance(f, 50) ? "." : "..");
		if (chance(f, 5)) {
			op->p1[0] = '\0';
			for (int i = 0; i < 20; i++)
				append(op->p1, "/long/target/component");
		}
		pick_new(f, op->p2);
		return;
	case FSM_READLINK:
		if (!chance(f, 60) || !pick_typed(f, op->p1, S_IFLNK, false))
			pick_path(f, op->p1);
		op->size = chance(f, 10) ? 1 + rnd(f, 4) : 4096;
		return;
	case FSM_STAT:
	case FSM_LSTAT:
		pick_path(f, op->p1);
		return;
	case FSM_CHMOD:
		pick_path(f, op->p1);
		op->mode = rnd(f, 07777 + 1);
		return;
	case FSM_UTIMENS:
		pick_path(f, op->p1);
		op->ts_null = chance(f, 10);
		gen_time(f, &op->ts[0]);
		gen_time(f, &op->ts[1]);
		op->follow = chance(f, 80);
		return;
	case FSM_SETXATTR:
		pick_path(f, op->p1);
		gen_xattr_name(f, op->name);
		op->len = chance(f, 10) ? 0 : 1 + (int64_t)rnd(f, 100);
		op->dseed = fsm_rand(f);
		r = rnd(f, 100);
		op->flags = r < 70 ? 0 : r < 85 ? ZUS_XATTR_CREATE :
			    r < 99 ? ZUS_XATTR_REPLACE : 4;
		return;
	case FSM_GETXATTR:
	case FSM_REMOVEXATTR: {
		struct mnode *n;

		pick_existing(f, op->p1, false, &n);
		if (n->nxa && chance(f, 60))
			snprintf(op->name, sizeof(op->name), "%s",
				 n->xa[rnd(f, n->nxa)].name);
		else
			gen_xattr_name(f, op->name);
		r = rnd(f, 100);
		op->size = r < 20 ? 0 : r < 30 ? 1 + rnd(f, 8) : 256;
		return;
	}
	case FSM_LISTXATTR:
		pick_path(f, op->p1);
		r = rnd(f, 100);
		op->size = r < 20 ? 0 : r < 30 ? 1 + rnd(f, 12) : 1024;
		return;
	default:
		return;
	}
}

void fsm_describe(const struct fsm_op *op, char *buf, size_t len)
{
	switch (op->type) {
	case FSM_OPEN:
		snprintf(buf, len, "open(\"%s\", %#o, %#o)", op->p1, op->flags,
			 op->mode);
		break;
	case FSM_CLOSE:
	case FSM_FSTAT:
		snprintf(buf, len, "%s(h%d)", fsm_type_name(op->type), op->hd);
		break;
	case FSM_PREAD:
		snprintf(buf, len, "pread(h%d, %zu, %" PRId64 ")", op->hd,
			 op->size, op->off);
		break;
	case FSM_PWRITE:
		snprintf(buf, len, "pwrite(h%d, len %" PRId64 ", off %" PRId64
			 ", seed %" PRIx64 ")", op->hd, op->len, op->off,
			 op->dseed);
		break;
	case FSM_FTRUNCATE:
		snprintf(buf, len, "ftruncate(h%d, %" PRId64 ")", op->hd,
			 op->len);
		break;
	case FSM_FALLOCATE:
		snprintf(buf, len, "fallocate(h%d, mode %#x, off %" PRId64
			 ", len %" PRId64 ")", op->hd, op->flags, op->off,
			 op->len);
		break;
	case FSM_LINKFD:
		snprintf(buf, len, "linkfd(h%d, \"%s\")", op->hd, op->p2);
		break;
	case FSM_MKDIR:
	case FSM_CHMOD:
		snprintf(buf, len, "%s(\"%s\", %#o)", fsm_type_name(op->type),
			 op->p1, op->mode);
		break;
	case FSM_RENAME:
		snprintf(buf, len, "rename(\"%s\", \"%s\", %#x)", op->p1,
			 op->p2, op->flags);
		break;
	case FSM_LINK:
	case FSM_SYMLINK:
		snprintf(buf, len, "%s(\"%s\", \"%s\")", fsm_type_name(op->type),
			 op->p1, op->p2);
		break;
	case FSM_UTIMENS:
		snprintf(buf, len, "utimens(\"%s\", %s{%lld.%ld, %lld.%ld}, follow %d)",
			 op->p1, op->ts_null ? "NULL " : "",
			 (long long)op->ts[0].tv_sec, op->ts[0].tv_nsec,
			 (long long)op->ts[1].tv_sec, op->ts[1].tv_nsec,
			 op->follow);
		break;
	case FSM_TRUNCATE:
		snprintf(buf, len, "truncate(\"%s\", %" PRId64 ")", op->p1,
			 op->len);
		break;
	case FSM_SETXATTR:
		snprintf(buf, len, "setxattr(\"%s\", \"%s\", len %" PRId64
			 ", flags %d)", op->p1, op->name, op->len, op->flags);
		break;
	case FSM_GETXATTR:
	case FSM_REMOVEXATTR:
		snprintf(buf, len, "%s(\"%s\", \"%s\", %zu)",
			 fsm_type_name(op->type), op->p1, op->name, op->size);
		break;
	default:
		snprintf(buf, len, "%s(\"%s\", %zu)", fsm_type_name(op->type),
			 op->p1, op->size);
		break;
	}
}

/* ---- applying -------------------------------------------------------------- */

struct res {
	long ret;
	struct stat st;		/* host */
	struct mstat ms;	/* model */
	unsigned char *buf;
};

static const struct timespec *op_ts(const struct fsm_op *op)
{
	return op->ts_null ? NULL : op->ts;
}

static long apply_model(struct model *m, const struct fsm_op *op,
			unsigned char *buf, struct mstat *ms)
{
	switch (op->type) {
	case FSM_OPEN:
		return model_open(m, op->p1, op->flags, op->mode);
	case FSM_CLOSE:
		return model_close(m, op->hd);
	case FSM_PREAD:
		return model_pread(m, op->hd, buf, op->size, op->off);
	case FSM_PWRITE:
		fill(op->dseed, wbuf, op->len);
		return model_pwrite(m, op->hd, wbuf, op->len, op->off);
	case FSM_FSTAT:
		return model_fstat(m, op->hd, ms);
	case FSM_FTRUNCATE:
		return model_ftruncate(m, op->hd, op->len);
	case FSM_FALLOCATE:
		return model_fallocate(m, op->hd, op->flags, op->off, op->len);
	case FSM_LINKFD:
		return model_linkfd(m, op->hd, op->p2);
	case FSM_MKDIR:
		return model_mkdir(m, op->p1, op->mode);
	case FSM_RMDIR:
		return model_rmdir(m, op->p1);
	case FSM_UNLINK:
		return model_unlink(m, op->p1);
	case FSM_RENAME:
		return model_rename(m, op->p1, op->p2, op->flags);
	case FSM_LINK:
		return model_link(m, op->p1, op->p2);
	case FSM_SYMLINK:
		return model_symlink(m, op->p1, op->p2);
	case FSM_READLINK:
		return model_readlink(m, op->p1, (char *)buf, op->size);
	case FSM_STAT:
		return model_stat(m, op->p1, ms, true);
	case FSM_LSTAT:
		return model_stat(m, op->p1, ms, false);
	case FSM_CHMOD:
		return model_chmod(m, op->p1, op->mode);
	case FSM_UTIMENS:
		return model_utimens(m, op->p1, op_ts(op), op->follow);
	case FSM_TRUNCATE:
		return model_truncate(m, op->p1, op->len);
	case FSM_SETXATTR:
		fill(op->dseed, wbuf, op->len);
		return model_setxattr(m, op->p1, op->name, wbuf, op->len,
				      op->flags);
	case FSM_GETXATTR:
		return model_getxattr(m, op->p1, op->name, buf, op->size);
	case FSM_LISTXATTR:
		return model_listxattr(m, op->p1, (char *)buf, op->size);
	case FSM_REMOVEXATTR:
		return model_removexattr(m, op->p1, op->name);
	default:
		return -ENOSYS;
	}
}

void fsm_apply_model(struct model *m, const struct fsm_op *op)
{
	struct mstat ms;

	apply_model(m, op, rbuf2, &ms);
}

static long apply_host(struct fsm *f, const struct fsm_op *op,
		       unsigned char *buf, struct stat *st)
{
	struct zus_inproc *h = f->h;
	int fd = op->hd >= 0 ? f->fd[op->hd] : -1;

	switch (op->type) {
	case FSM_OPEN:
		return zus_inproc_open(h, op->p1, op->flags, op->mode);
	case FSM_CLOSE:
		return zus_inproc_close(h, fd);
	case FSM_PREAD:
		return zus_inproc_pread(h, fd, buf, op->size, op->off);
	case FSM_PWRITE:
		fill(op->dseed, wbuf, op->len);
		return zus_inproc_pwrite(h, fd, wbuf, op->len, op->off);
	case FSM_FSTAT:
		return zus_inproc_fstat(h, fd, st);
	case FSM_FTRUNCATE:
		return zus_inproc_ftruncate(h, fd, op->len);
	case FSM_FALLOCATE:
		return zus_inproc_fallocate(h, fd, op->flags, op->off, op->len);
	case FSM_LINKFD:
		return zus_inproc_linkfd(h, fd, op->p2);
	case FSM_MKDIR:
		return zus_inproc_mkdir(h, op->p1, op->mode);
	case FSM_RMDIR:
		return zus_inproc_rmdir(h, op->p1);
	case FSM_UNLINK:
		return zus_inproc_unlink(h, op->p1);
	case FSM_RENAME:
		return zus_inproc_rename(h, op->p1, op->p2, op->flags);
	case FSM_LINK:
		return zus_inproc_link(h, op->p1, op->p2);
	case FSM_SYMLINK:
		return zus_inproc_symlink(h, op->p1, op->p2);
	case FSM_READLINK:
		return zus_inproc_readlink(h, op->p1, (char *)buf, op->size);
	case FSM_STAT:
		return zus_inproc_stat(h, op->p1, st);
	case FSM_LSTAT:
		return zus_inproc_lstat(h, op->p1, st);
	case FSM_CHMOD:
		return zus_inproc_chmod(h, op->p1, op->mode);
	case FSM_UTIMENS:
		return zus_inproc_utimens(h, op->p1, op_ts(op), op->follow);
	case FSM_TRUNCATE:
		return zus_inproc_truncate(h, op->p1, op->len);
	case FSM_SETXATTR:
		fill(op->dseed, wbuf, op->len);
		return zus_inproc_setxattr(h, op->p1, op->name, wbuf, op->len,
					   op->flags);
	case FSM_GETXATTR:
		return zus_inproc_getxattr(h, op->p1, op->name, buf, op->size);
	case FSM_LISTXATTR:
		return zus_inproc_listxattr(h, op->p1, (char *)buf, op->size);
	case FSM_REMOVEXATTR:
		return zus_inproc_removexattr(h, op->p1, op->name);
	default:
		return -ENOSYS;
	}
}

static const char *err_name(long ret)
{
	static char b[4][64];
	static int i;

	i = (i + 1) & 3;
	if (ret >= 0)
		snprintf(b[i], sizeof(b[i]), "%ld", ret);
	else
		snprintf(b[i], sizeof(b[i]), "-%s", strerrorname_np((int)-ret) ?:
			 "?");
	return b[i];
}

static bool ts_eq(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec;
}

/* Compare host stat st with model node n; ids: the id -> ino map. */
static int compare_stat(const struct stat *st, const struct mnode *n,
			uint64_t **id2ino, size_t *nid, bool times, char *msg,
			size_t len)
{
	uint64_t msize = S_ISLNK(n->mode) ? strlen(n->target) : n->size;

	if (st->st_mode != n->mode) {
		snprintf(msg, len, "mode %#o, model %#o", st->st_mode, n->mode);
		return -1;
	}
	if (st->st_nlink != n->nlink) {
		snprintf(msg, len, "nlink %lu, model %u",
			 (unsigned long)st->st_nlink, n->nlink);
		return -1;
	}
	if (st->st_uid != n->uid || st->st_gid != n->gid) {
		snprintf(msg, len, "owner %u:%u, model %u:%u", st->st_uid,
			 st->st_gid, n->uid, n->gid);
		return -1;
	}
	if (!S_ISDIR(n->mode) && (uint64_t)st->st_size != msize) {
		snprintf(msg, len, "size %lld, model %" PRIu64,
			 (long long)st->st_size, msize);
		return -1;
	}
	if (times && n->mtime_known && !ts_eq(&st->st_mtim, &n->mtime)) {
		snprintf(msg, len, "mtime %lld.%09ld, model %lld.%09ld",
			 (long long)st->st_mtim.tv_sec, st->st_mtim.tv_nsec,
			 (long long)n->mtime.tv_sec, n->mtime.tv_nsec);
		return -1;
	}
	if (times && S_ISREG(n->mode) && n->atime_known && !ts_eq(&st->st_atim, &n->atime)) {
		snprintf(msg, len, "atime %lld.%09ld, model %lld.%09ld",
			 (long long)st->st_atim.tv_sec, st->st_atim.tv_nsec,
			 (long long)n->atime.tv_sec, n->atime.tv_nsec);
		return -1;
	}
	if (id2ino) {
		if (n->id >= *nid) {
			size_t nn = n->id * 2 + 64;

			*id2ino = realloc(*id2ino, nn * sizeof(**id2ino));
			if (!*id2ino)
				abort();
			memset(*id2ino + *nid, 0, (nn - *nid) * sizeof(**id2ino));
			*nid = nn;
		}
		if (!(*id2ino)[n->id]) {
			(*id2ino)[n->id] = st->st_ino;
		} else if ((*id2ino)[n->id] != st->st_ino) {
			snprintf(msg, len, "ino %lu, earlier %" PRIu64
				 " for the same inode", (unsigned long)st->st_ino,
				 (*id2ino)[n->id]);
			return -1;
		}
	}
	return 0;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Compare two NUL-separated name lists as sets. */
static bool same_name_set(const char *a, size_t alen, const char *b,
			  size_t blen)
{
	const char *pa[64], *pb[64];
	size_t na = 0, nb = 0;

	if (alen != blen)
		return false;
	for (size_t i = 0; i < alen && na < 64; i += strlen(a + i) + 1)
		pa[na++] = a + i;
	for (size_t i = 0; i < blen && nb < 64; i += strlen(b + i) + 1)
		pb[nb++] = b + i;
	if (na != nb)
		return false;
	qsort(pa, na, sizeof(*pa), name_cmp);
	qsort(pb, nb, sizeof(*pb), name_cmp);
	for (size_t i = 0; i < na; i++)
		if (strcmp(pa[i], pb[i]))
			return false;
	return true;
}

int fsm_step(struct fsm *f, const struct fsm_op *op)
{
	struct stat st;
	struct mstat ms;
	char desc[1400], why[512];
	long hr, mr;

	memset(&st, 0, sizeof(st));
	f->nops++;
	f->by_type[op->type]++;
	hr = apply_host(f, op, rbuf, &st);
	mr = apply_model(f->m, op, rbuf2, &ms);
	if (hr < 0)
		f->errs_by_type[op->type]++;
	if (op->type == FSM_FALLOCATE &&
	    (op->flags & (ZUS_FALLOC_COLLAPSE_RANGE | ZUS_FALLOC_INSERT_RANGE))) {
		f->shifts++;
		f->shift_errs += hr < 0;
	}
	why[0] = '\0';

	if (op->type == FSM_OPEN) {
		if ((hr >= 0) != (mr >= 0) || (hr < 0 && hr != mr)) {
			snprintf(why, sizeof(why), "host %s, model %s",
				 err_name(hr), err_name(mr));
			goto mismatch;
		}
		if (hr >= 0)
			f->fd[mr] = (int)hr;
		return 0;
	}
	if (op->type == FSM_CLOSE && !mr)
		f->fd[op->hd] = -1;
	if (hr != mr) {
		snprintf(why, sizeof(why), "host %s, model %s", err_name(hr),
			 err_name(mr));
		goto mismatch;
	}
	if (hr < 0)
		return 0;
	switch (op->type) {
	case FSM_PREAD:
	case FSM_READLINK:
	case FSM_GETXATTR:
		if (op->size && memcmp(rbuf, rbuf2, hr)) {
			for (long i = 0; i < hr; i++) {
				if (rbuf[i] != rbuf2[i]) {
					snprintf(why, sizeof(why),
						 "data differs at byte %ld: host %#x, model %#x",
						 i, rbuf[i], rbuf2[i]);
					break;
				}
			}
			goto mismatch;
		}
		break;
	case FSM_LISTXATTR:
		if (op->size && !same_name_set((char *)rbuf, hr, (char *)rbuf2,
					       mr)) {
			snprintf(why, sizeof(why), "xattr name lists differ");
			goto mismatch;
		}
		break;
	case FSM_STAT:
	case FSM_LSTAT:
	case FSM_FSTAT:
		if (compare_stat(&st, model_node(f->m, ms.id), &f->id2ino,
				 &f->nid, f->check_times, why, sizeof(why)))
			goto mismatch;
		break;
	default:
		break;
	}
	return 0;
mismatch:
	fsm_describe(op, desc, sizeof(desc));
	snprintf(f->msg, sizeof(f->msg), "op %" PRIu64 " %s: %s", f->nops,
		 desc, why);
	return -1;
}

int fsm_close_all(struct fsm *f)
{
	for (int i = 0; i < MODEL_MAX_HANDLES; i++) {
		struct fsm_op op = { .type = FSM_CLOSE, .hd = i };

		if (!f->m->h[i].used)
			continue;
		if (fsm_step(f, &op))
			return -1;
	}
	return 0;
}

/* ---- whole trees ----------------------------------------------------------- */

struct cmp {
	struct zus_inproc *h;
	struct model *m;
	const struct fsm_tol *tol;
	bool times;
	char *msg;
	size_t msglen;
	uint64_t *id2ino;
	size_t nid;
	struct pair { uint64_t ino, id; } *pairs;
	size_t npairs, paircap;
	uint64_t seen;
};

static int cmp_data(struct cmp *c, const char *path, struct mnode *n,
		    uint64_t size)
{
	const struct mnode *o = NULL;
	int fd, ret = 0;

	if (c->tol && c->tol->id == n->id)
		o = model_node(c->tol->other, n->id);
	if (size)
		model_touch_atime(c->m, n);
	fd = zus_inproc_open(c->h, path, O_RDONLY | O_NOFOLLOW, 0);
	if (fd < 0) {
		snprintf(c->msg, c->msglen, "%s: open: %s", path,
			 strerror(-fd));
		return -1;
	}
	for (uint64_t off = 0; off < size; off += MAXBUF) {
		size_t len = size - off < MAXBUF ? size - off : MAXBUF;
		ssize_t r = zus_inproc_pread(c->h, fd, rbuf, len, off);

		if (r != (ssize_t)len) {
			snprintf(c->msg, c->msglen, "%s: read at %" PRIu64
				 " returned %zd of %zu", path, off, r, len);
			ret = -1;
			break;
		}
		for (size_t i = 0; i < len; i++) {
			uint64_t p = off + i;
			unsigned char mv = p < n->size ? n->data[p] : 0;
			unsigned char ov = o && p < o->size ? o->data[p] : mv;

			if (rbuf[i] != mv && rbuf[i] != ov) {
				snprintf(c->msg, c->msglen,
					 "%s: byte %" PRIu64 " is %#x, model %#x%s",
					 path, p, rbuf[i], mv,
					 o ? " (or the other state's)" : "");
				ret = -1;
				goto out;
			}
		}
	}
out:
	zus_inproc_close(c->h, fd);
	return ret;
}

static int cmp_xattrs(struct cmp *c, const char *path, const struct mnode *n)
{
	char list[4096];
	size_t need = 0;
	ssize_t r;

	if (S_ISLNK(n->mode))
		return 0;	/* the path calls follow links */
	r = zus_inproc_listxattr(c->h, path, list, sizeof(list));
	for (size_t i = 0; i < n->nxa; i++)
		need += strlen(n->xa[i].name) + 1;
	if (r < 0 || (size_t)r != need) {
		snprintf(c->msg, c->msglen, "%s: listxattr %zd, model %zu",
			 path, r, need);
		return -1;
	}
	for (size_t i = 0; i < n->nxa; i++) {
		r = zus_inproc_getxattr(c->h, path, n->xa[i].name, rbuf, MAXBUF);
		if (r != (ssize_t)n->xa[i].len ||
		    memcmp(rbuf, n->xa[i].val, r)) {
			snprintf(c->msg, c->msglen, "%s: xattr %s: %zd bytes%s, model %zu",
				 path, n->xa[i].name, r, r >= 0 ? " differing" : "",
				 n->xa[i].len);
			return -1;
		}
	}
	return 0;
}

static int cmp_node(struct cmp *c, const char *path, struct mnode *n);

static int cmp_dir(struct cmp *c, const char *path, struct mnode *d,
		   uint64_t dino, uint64_t parent_ino)
{
	struct zus_inproc_dirent de;
	struct zus_inproc_dir *dir;
	char **names = NULL;
	uint64_t *inos = NULL;
	unsigned int *types = NULL;
	size_t n = 0, cap = 0;
	bool dot = false, dotdot = false;
	int ret;

	model_touch_atime(c->m, d);
	ret = zus_inproc_opendir(c->h, path, &dir);
	if (ret) {
		snprintf(c->msg, c->msglen, "%s: opendir: %s", path,
			 strerror(-ret));
		return -1;
	}
	while ((ret = zus_inproc_readdir(dir, &de)) > 0) {
		if (!strcmp(de.name, ".")) {
			dot = de.ino == dino;
			continue;
		}
		if (!strcmp(de.name, "..")) {
			dotdot = de.ino == parent_ino;
			continue;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			names = realloc(names, cap * sizeof(*names));
			inos = realloc(inos, cap * sizeof(*inos));
			types = realloc(types, cap * sizeof(*types));
			if (!names || !inos || !types)
				abort();
		}
		names[n] = strdup(de.name);
		inos[n] = de.ino;
		types[n] = de.type;
		n++;
	}
	zus_inproc_closedir(dir);
	if (ret < 0) {
		snprintf(c->msg, c->msglen, "%s: readdir: %s", path,
			 strerror(-ret));
		goto fail;
	}
	if (!dot || !dotdot) {
		snprintf(c->msg, c->msglen, "%s: \".\" or \"..\" missing or wrong",
			 path);
		goto fail;
	}
	/* the model keeps its entries sorted by strcmp */
	{
		size_t *idx = malloc((n + 1) * sizeof(*idx));

		for (size_t i = 0; i < n; i++)
			idx[i] = i;
		for (size_t i = 1; i < n; i++) {
			for (size_t j = i; j > 0 &&
			     strcmp(names[idx[j - 1]], names[idx[j]]) > 0; j--) {
				size_t t = idx[j];

				idx[j] = idx[j - 1];
				idx[j - 1] = t;
			}
		}
		if (n != d->nents) {
			snprintf(c->msg, c->msglen, "%s: %zu entries, model %zu",
				 path, n, d->nents);
			free(idx);
			goto fail;
		}
		for (size_t i = 0; i < n; i++) {
			struct mdirent *me = &d->ents[i];
			size_t k = idx[i];
			char sub[FSM_PATH * 2];
			unsigned int want = (me->node->mode & S_IFMT) >> 12;

			if (strcmp(names[k], me->name)) {
				snprintf(c->msg, c->msglen,
					 "%s: entry \"%s\" where the model has \"%s\"",
					 path, names[k], me->name);
				free(idx);
				goto fail;
			}
			if (types[k] != want) {
				snprintf(c->msg, c->msglen,
					 "%s/%s: d_type %u, model %u", path,
					 names[k], types[k], want);
				free(idx);
				goto fail;
			}
			snprintf(sub, sizeof(sub), "%s/%s",
				 strcmp(path, "/") ? path : "", names[k]);
			if (cmp_node(c, sub, me->node)) {
				free(idx);
				goto fail;
			}
			/* the readdir ino must be the inode's */
			if (c->id2ino[me->node->id] != inos[k]) {
				snprintf(c->msg, c->msglen,
					 "%s: readdir ino %" PRIu64 ", stat ino %" PRIu64,
					 sub, inos[k], c->id2ino[me->node->id]);
				free(idx);
				goto fail;
			}
		}
		free(idx);
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	free(inos);
	free(types);
	return 0;
fail:
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	free(inos);
	free(types);
	return -1;
}

static int cmp_node(struct cmp *c, const char *path, struct mnode *n)
{
	char why[400];
	struct stat st;
	uint64_t fsize;
	int ret;

	ret = zus_inproc_lstat(c->h, path, &st);
	if (ret) {
		snprintf(c->msg, c->msglen, "%s: lstat: %s", path,
			 strerror(-ret));
		return -1;
	}
	if (c->npairs == c->paircap) {
		c->paircap = c->paircap ? c->paircap * 2 : 256;
		c->pairs = realloc(c->pairs, c->paircap * sizeof(*c->pairs));
		if (!c->pairs)
			abort();
	}
	c->pairs[c->npairs++] = (struct pair){ st.st_ino, n->id };
	c->seen++;
	if (c->tol && c->tol->id == n->id && S_ISREG(n->mode)) {
		const struct mnode *o = model_node(c->tol->other, n->id);

		if ((uint64_t)st.st_size != n->size &&
		    (!o || (uint64_t)st.st_size != o->size)) {
			snprintf(c->msg, c->msglen, "%s: size %lld, model %" PRIu64
				 " or %" PRIu64, path, (long long)st.st_size,
				 n->size, o ? o->size : 0);
			return -1;
		}
		fsize = (uint64_t)st.st_size;
		st.st_size = (off_t)n->size;	/* checked */
		ret = compare_stat(&st, n, &c->id2ino, &c->nid, false, why,
				   sizeof(why));
		if (!ret)
			ret = cmp_data(c, path, n, fsize);
		if (ret && !c->msg[0])
			snprintf(c->msg, c->msglen, "%s: %s", path, why);
		if (ret)
			return -1;
		goto xattrs;
	}
	if (compare_stat(&st, n, &c->id2ino, &c->nid, c->times, why,
			 sizeof(why))) {
		snprintf(c->msg, c->msglen, "%s: %s", path, why);
		return -1;
	}
	if (S_ISREG(n->mode) && cmp_data(c, path, n, n->size))
		return -1;
	if (S_ISLNK(n->mode)) {
		char buf[ZUS_PATH_MAX];
		ssize_t r = zus_inproc_readlink(c->h, path, buf, sizeof(buf));

		if (r != (ssize_t)strlen(n->target) ||
		    memcmp(buf, n->target, r)) {
			snprintf(c->msg, c->msglen, "%s: readlink %zd bytes, model \"%s\"",
				 path, r, n->target);
			return -1;
		}
	}
xattrs:
	if (cmp_xattrs(c, path, n))
		return -1;
	if (S_ISDIR(n->mode)) {
		const struct mnode *p = n->parent;

		if (!c->id2ino[p->id]) {
			snprintf(c->msg, c->msglen, "%s: parent not seen", path);
			return -1;
		}
		return cmp_dir(c, path, n, st.st_ino, c->id2ino[p->id]);
	}
	return 0;
}

static int pair_cmp(const void *a, const void *b)
{
	const struct pair *x = a, *y = b;

	return x->ino < y->ino ? -1 : x->ino > y->ino;
}

int fsm_compare_tree(struct zus_inproc *h, struct model *m,
		     const struct fsm_tol *tol, bool times, char *msg,
		     size_t msglen, uint64_t *nodes_seen)
{
	struct cmp c = {
		.h = h, .m = m, .tol = tol, .times = times, .msg = msg,
		.msglen = msglen,
	};
	int ret;

	msg[0] = '\0';
	ret = cmp_node(&c, "/", m->root);
	if (!ret) {
		/* distinct model inodes must be distinct host inodes */
		qsort(c.pairs, c.npairs, sizeof(*c.pairs), pair_cmp);
		for (size_t i = 1; i < c.npairs; i++) {
			if (c.pairs[i].ino == c.pairs[i - 1].ino &&
			    c.pairs[i].id != c.pairs[i - 1].id) {
				snprintf(msg, msglen,
					 "host ino %" PRIu64 " stands for two model inodes",
					 c.pairs[i].ino);
				ret = -1;
				break;
			}
		}
	}
	if (nodes_seen) {
		/* distinct inodes reachable */
		uint64_t distinct = 0;

		for (size_t i = 0; i < c.npairs; i++)
			if (!i || c.pairs[i].ino != c.pairs[i - 1].ino)
				distinct++;
		*nodes_seen = distinct;
	}
	free(c.id2ino);
	free(c.pairs);
	return ret;
}
