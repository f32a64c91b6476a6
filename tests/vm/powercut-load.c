// SPDX-License-Identifier: BSD-2-Clause
/*
 * powercut-load.c - the workload and the checker of the power-cut VM test
 * (tests/vm/zuf-pmfs2-powercut.sh): the guest is killed (qemu SIGKILL) at a
 * random moment of `run`, boots again on the same images, and `check` says
 * whether the filesystem kept every promise the workload was given.
 *
 *   powercut-load run   DIR LOGDIR --boot B --seed S [--state FILE]
 *                       [--workers N] [--max-len BYTES]
 *   powercut-load fill  DIR --mib N --out STATE
 *   powercut-load check DIR LOGDIR --state FILE --out STATE
 *
 * Each worker owns DIR/wN/ and does, forever: create (write, fsync the file
 * and its directory), replace (a temporary file written and fsynced, then
 * renamed over the target), append, shrink, unlink, move to another
 * directory, set an xattr, mkdir, rmdir — each made durable (fsync, of the
 * directories too) before it is logged as done — and unsynced noise files.
 * The log (LOGDIR/log-N, on the 9p results export: off the pmem, and each
 * write(2) is on the host when it returns) has a "B seq op ..." line before
 * each operation and "E seq" once it returned.  A file's bytes are a
 * function of (id, gen, offset), so any file can be checked on its own.
 *
 * check replays STATE (what the previous check found) plus the log's done
 * operations, and demands, for every path: the state after the last done
 * operation, or for the one operation in flight per worker, the state before
 * or after it (a move: exactly one of the two names; a replace: the old or
 * the new file, whole; an append: the synced prefix intact).  Names nobody
 * logged must not exist, except noise and temporaries.  It writes what it
 * found as the next STATE.  Exit status: 0 all good, 1 a broken promise
 * (each one printed), 2 usage or I/O trouble of its own.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#define MAXW		8
#define MAXENT		4096
#define NSUB		4
#define XNAME		"user.powercut"
#define PATHLEN		96

enum op {
	OP_CREATE, OP_REPLACE, OP_APPEND, OP_SHRINK, OP_UNLINK, OP_MOVE,
	OP_XATTR, OP_MKDIR, OP_RMDIR, OP_NOPS
};
static const char *const op_names[OP_NOPS] = {
	"create", "replace", "append", "shrink", "unlink", "move", "xattr",
	"mkdir", "rmdir",
};

/* type: 'f' file, 'd' directory, 'u' a file whose bytes nobody promised */
struct ent {
	char path[PATHLEN];
	char type;
	uint64_t id, gen, len;
	uint32_t xgen;
};

struct state {
	struct ent e[MAXENT];
	int n;
};

static const char *root;

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "powercut-load: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(2);
}

/* ---- file contents: word i of (id, gen) -------------------------------- */

static uint64_t mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static uint8_t byte_at(uint64_t id, uint64_t gen, uint64_t off)
{
	uint64_t w = mix(id * 0x100000001b3ull ^ (gen << 40) ^ (off >> 3));

	return (uint8_t)(w >> ((off & 7) * 8));
}

static void fill_buf(uint8_t *buf, uint64_t id, uint64_t gen, uint64_t off,
		     size_t n)
{
	for (size_t i = 0; i < n; i++)
		buf[i] = byte_at(id, gen, off + i);
}

/* ---- state ---------------------------------------------------------------- */

static struct ent *st_find(struct state *s, const char *path)
{
	for (int i = 0; i < s->n; i++)
		if (!strcmp(s->e[i].path, path))
			return &s->e[i];
	return NULL;
}

static struct ent *st_add(struct state *s, const char *path, char type)
{
	struct ent *e = st_find(s, path);

	if (!e) {
		if (s->n >= MAXENT)
			die("more than %d names", MAXENT);
		e = &s->e[s->n++];
	}
	memset(e, 0, sizeof(*e));
	snprintf(e->path, sizeof(e->path), "%s", path);
	e->type = type;
	return e;
}

static void st_del(struct state *s, const char *path)
{
	struct ent *e = st_find(s, path);

	if (e)
		*e = s->e[--s->n];
}

static void st_load(struct state *s, const char *file)
{
	char line[256], path[PATHLEN], type;
	uint64_t id, gen, len;
	unsigned int xgen;
	FILE *f;

	s->n = 0;
	if (!file)
		return;
	f = fopen(file, "r");
	if (!f)
		die("%s: %s", file, strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%c %95s %" SCNu64 " %" SCNu64 " %" SCNu64 " %u",
			   &type, path, &id, &gen, &len, &xgen) != 6)
			die("%s: bad line '%s'", file, line);
		struct ent *e = st_add(s, path, type);

		e->id = id;
		e->gen = gen;
		e->len = len;
		e->xgen = xgen;
	}
	fclose(f);
}

static void st_save(const struct state *s, const char *file)
{
	FILE *f = fopen(file, "w");

	if (!f)
		die("%s: %s", file, strerror(errno));
	for (int i = 0; i < s->n; i++)
		fprintf(f, "%c %s %" PRIu64 " %" PRIu64 " %" PRIu64 " %u\n",
			s->e[i].type, s->e[i].path, s->e[i].id, s->e[i].gen,
			s->e[i].len, s->e[i].xgen);
	if (fclose(f))
		die("%s: %s", file, strerror(errno));
}

/* ---- one operation, as logged ------------------------------------------- */

struct rec {
	uint64_t seq;
	enum op op;
	char a[PATHLEN], b[PATHLEN];
	uint64_t id, gen, len;
	uint32_t xgen;
};

/* The state after @r. */
static void apply(struct state *s, const struct rec *r)
{
	struct ent *e, tmp;

	switch (r->op) {
	case OP_CREATE:
	case OP_REPLACE:
		e = st_add(s, r->a, 'f');
		e->id = r->id;
		e->gen = r->gen;
		e->len = r->len;
		break;
	case OP_APPEND:
	case OP_SHRINK:
		e = st_find(s, r->a);
		if (e)
			e->len = r->len;
		break;
	case OP_UNLINK:
	case OP_RMDIR:
		st_del(s, r->a);
		break;
	case OP_MOVE:
		e = st_find(s, r->a);
		if (!e)
			break;
		tmp = *e;
		st_del(s, r->a);
		e = st_add(s, r->b, tmp.type);
		snprintf(tmp.path, sizeof(tmp.path), "%s", r->b);
		*e = tmp;
		break;
	case OP_XATTR:
		e = st_find(s, r->a);
		if (e)
			e->xgen = r->xgen;
		break;
	case OP_MKDIR:
		st_add(s, r->a, 'd');
		break;
	case OP_NOPS:
		break;
	}
}

/* ---- the workload ---------------------------------------------------------- */

static uint64_t rng;

static uint64_t rnd(uint64_t n)
{
	rng = mix(rng);
	return n ? rng % n : 0;
}

struct worker {
	int w, logfd;
	uint64_t boot, seq, nid, max_len;
	struct state s;
};

static void logf_(struct worker *k, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	/* one write(2) per line: the 9p server has it when this returns */
	if (write(k->logfd, buf, n) != n)
		die("log write: %s", strerror(errno));
}

static void full_path(char *out, size_t sz, const char *rel)
{
	if (snprintf(out, sz, "%s/%s", root, rel) >= (int)sz)
		die("%s/%s: name too long", root, rel);
}

/* rel/name into out[PATHLEN] */
static void join(char *out, const char *rel, const char *name)
{
	if (snprintf(out, PATHLEN, "%s/%s", rel, name) >= PATHLEN)
		die("%s/%s: name too long", rel, name);
}

static void fail(struct worker *k, const char *what, const char *path)
{
	int e = errno;

	logf_(k, "X %" PRIu64 " %d %s %s\n", k->seq, e, what, path);
	fprintf(stderr, "powercut-load: worker %d: %s %s: %s\n", k->w, what,
		path, strerror(e));
	exit(1);
}

static void sync_dir_of(struct worker *k, const char *rel)
{
	char p[PATH_MAX], *slash;
	int fd;

	full_path(p, sizeof(p), rel);
	slash = strrchr(p, '/');
	*slash = 0;
	fd = open(p, O_RDONLY | O_DIRECTORY);
	if (fd < 0 || fsync(fd))
		fail(k, "fsync dir", p);
	close(fd);
}

static void write_file(struct worker *k, const char *rel, int flags,
		       uint64_t id, uint64_t gen, uint64_t from, uint64_t to,
		       bool sync)
{
	static uint8_t buf[1 << 16];
	char p[PATH_MAX];
	int fd;

	full_path(p, sizeof(p), rel);
	fd = open(p, O_WRONLY | flags, 0644);
	if (fd < 0)
		fail(k, "open", rel);
	for (uint64_t off = from; off < to;) {
		size_t n = to - off < sizeof(buf) ? to - off : sizeof(buf);
		ssize_t r;

		fill_buf(buf, id, gen, off, n);
		r = pwrite(fd, buf, n, (off_t)off);
		if (r <= 0)
			fail(k, "write", rel);
		off += (uint64_t)r;
	}
	if (sync && fsync(fd))
		fail(k, "fsync", rel);
	close(fd);
}

static uint64_t pick_len(struct worker *k)
{
	uint64_t r = rnd(100), max = k->max_len;

	if (r < 70)
		return rnd(16384 < max ? 16384 : max);
	if (r < 95)
		return rnd(262144 < max ? 262144 : max);
	return rnd(max);
}

/* a random entry of the type, or NULL */
static struct ent *pick(struct worker *k, char type)
{
	int n = 0, i, at;

	for (i = 0; i < k->s.n; i++)
		n += k->s.e[i].type == type;
	if (!n)
		return NULL;
	at = (int)rnd((uint64_t)n);
	for (i = 0; i < k->s.n; i++)
		if (k->s.e[i].type == type && !at--)
			return &k->s.e[i];
	return NULL;
}

static void pick_dir(struct worker *k, char *out, size_t sz)
{
	struct ent *d = pick(k, 'd');

	if (d && rnd(2))
		snprintf(out, sz, "%s", d->path);
	else
		snprintf(out, sz, "w%d/d%d", k->w, (int)rnd(NSUB));
}

static void new_name(struct worker *k, char *out, size_t sz, char kind)
{
	char dir[PATHLEN];

	/* one level of made directories: names stay short */
	if (kind == 'd')
		snprintf(dir, sizeof(dir), "w%d/d%d", k->w, (int)rnd(NSUB));
	else
		pick_dir(k, dir, sizeof(dir));
	if (snprintf(out, sz, "%s/%c%" PRIu64 "_%" PRIu64, dir, kind, k->boot,
		     k->nid++) >= (int)sz)
		die("%s: name too long", dir);
}

static void begin(struct worker *k, struct rec *r)
{
	r->seq = ++k->seq;
	logf_(k, "B %" PRIu64 " %s %s %s %" PRIu64 " %" PRIu64 " %" PRIu64
	      " %u\n", r->seq, op_names[r->op], r->a, r->b[0] ? r->b : "-",
	      r->id, r->gen, r->len, r->xgen);
}

static void done(struct worker *k, struct rec *r)
{
	logf_(k, "E %" PRIu64 "\n", r->seq);
	apply(&k->s, r);
}

static bool dir_empty(struct worker *k, const char *rel)
{
	for (int i = 0; i < k->s.n; i++)
		if (!strncmp(k->s.e[i].path, rel, strlen(rel)) &&
		    k->s.e[i].path[strlen(rel)] == '/')
			return false;
	return true;
}

static void one_op(struct worker *k)
{
	char p[PATH_MAX], q[PATH_MAX], v[32];
	struct rec r = {};
	uint64_t dice = rnd(100);
	int nfiles = 0;
	struct ent *e;

	for (int i = 0; i < k->s.n; i++)
		nfiles += k->s.e[i].type == 'f';
	/* keep the namespace from growing without bound */
	if (nfiles > 200 && dice < 40)
		dice = 70;	/* an unlink */
	e = pick(k, 'f');
	if (dice < 28 || !e) {
		r.op = OP_CREATE;
		new_name(k, r.a, sizeof(r.a), 'f');
		r.id = (k->boot << 32) | ((uint64_t)k->w << 24) | k->nid;
		r.len = pick_len(k);
		begin(k, &r);
		write_file(k, r.a, O_CREAT | O_EXCL, r.id, 0, 0, r.len, true);
		sync_dir_of(k, r.a);
	} else if (dice < 44) {
		r.op = OP_REPLACE;
		snprintf(r.a, sizeof(r.a), "%s", e->path);
		/* the temporary goes beside the target: rename within a dir */
		snprintf(r.b, sizeof(r.b), "%.*s/t%" PRIu64 "_%" PRIu64,
			 (int)(strrchr(e->path, '/') - e->path), e->path,
			 k->boot, k->nid++);
		r.id = e->id;
		r.gen = e->gen + 1;
		r.len = pick_len(k);
		begin(k, &r);
		write_file(k, r.b, O_CREAT | O_EXCL, r.id, r.gen, 0, r.len,
			   true);
		full_path(p, sizeof(p), r.b);
		full_path(q, sizeof(q), r.a);
		if (rename(p, q))
			fail(k, "rename", r.b);
		sync_dir_of(k, r.a);
	} else if (dice < 56) {
		r.op = OP_APPEND;
		snprintf(r.a, sizeof(r.a), "%s", e->path);
		r.len = e->len + 1 + rnd(k->max_len / 4 + 1);
		begin(k, &r);
		write_file(k, r.a, 0, e->id, e->gen, e->len, r.len, true);
	} else if (dice < 62) {
		r.op = OP_SHRINK;
		snprintf(r.a, sizeof(r.a), "%s", e->path);
		r.len = rnd(e->len + 1);
		begin(k, &r);
		full_path(p, sizeof(p), r.a);
		int fd = open(p, O_WRONLY);

		if (fd < 0 || ftruncate(fd, (off_t)r.len) || fsync(fd))
			fail(k, "truncate", r.a);
		close(fd);
	} else if (dice < 74) {
		r.op = OP_UNLINK;
		snprintf(r.a, sizeof(r.a), "%s", e->path);
		begin(k, &r);
		full_path(p, sizeof(p), r.a);
		if (unlink(p))
			fail(k, "unlink", r.a);
		sync_dir_of(k, r.a);
	} else if (dice < 84) {
		r.op = OP_MOVE;
		snprintf(r.a, sizeof(r.a), "%s", e->path);
		new_name(k, r.b, sizeof(r.b), 'f');
		begin(k, &r);
		full_path(p, sizeof(p), r.a);
		full_path(q, sizeof(q), r.b);
		if (rename(p, q))
			fail(k, "rename", r.a);
		sync_dir_of(k, r.a);
		sync_dir_of(k, r.b);
	} else if (dice < 90) {
		r.op = OP_XATTR;
		snprintf(r.a, sizeof(r.a), "%s", e->path);
		r.xgen = e->xgen + 1;
		begin(k, &r);
		full_path(p, sizeof(p), r.a);
		snprintf(v, sizeof(v), "%u", r.xgen);
		int fd = open(p, O_RDONLY);

		if (fd < 0 || fsetxattr(fd, XNAME, v, strlen(v), 0) ||
		    fsync(fd))
			fail(k, "setxattr", r.a);
		close(fd);
	} else if (dice < 94) {
		struct ent *d = pick(k, 'd');

		if (d && dir_empty(k, d->path) && rnd(2)) {
			r.op = OP_RMDIR;
			snprintf(r.a, sizeof(r.a), "%s", d->path);
			begin(k, &r);
			full_path(p, sizeof(p), r.a);
			if (rmdir(p))
				fail(k, "rmdir", r.a);
		} else {
			r.op = OP_MKDIR;
			new_name(k, r.a, sizeof(r.a), 'd');
			begin(k, &r);
			full_path(p, sizeof(p), r.a);
			if (mkdir(p, 0755))
				fail(k, "mkdir", r.a);
		}
		sync_dir_of(k, r.a);
	} else {
		/* noise: never synced, never promised; not where rmdir goes */
		char n[PATHLEN];

		snprintf(n, sizeof(n), "w%d/d%d/n%" PRIu64 "_%" PRIu64, k->w,
			 (int)rnd(NSUB), k->boot, k->nid++);
		write_file(k, n, O_CREAT | O_EXCL, 0, 0, 0, pick_len(k),
			   false);
		return;
	}
	done(k, &r);
}

/* wN/dK: the directories every worker makes, never removed */
static bool fixed_dir(const char *rel, const char *name)
{
	return rel[0] == 'w' && !strchr(rel, '/') && name[0] == 'd' &&
	       strlen(name) == 2;
}

/* Remove what no promise covers (noise, temporaries, 'u' files) in @rel. */
static void sweep(struct worker *k, const char *rel)
{
	char p[PATH_MAX], sub[PATHLEN];
	struct dirent *de;
	DIR *d;

	full_path(p, sizeof(p), rel);
	d = opendir(p);
	if (!d)
		fail(k, "opendir", rel);
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		join(sub, rel, de->d_name);
		struct ent *e = st_find(&k->s, sub);

		if ((e && e->type == 'd') || fixed_dir(rel, de->d_name)) {
			sweep(k, sub);
		} else if (e && e->type == 'u') {
			/* a promise withdrawn: logged as any unlink */
			struct rec r = { .op = OP_UNLINK };

			snprintf(r.a, sizeof(r.a), "%s", sub);
			begin(k, &r);
			full_path(p, sizeof(p), sub);
			if (unlink(p))
				fail(k, "unlink", sub);
			done(k, &r);
		} else if (!e && (de->d_name[0] == 'n' ||
				  de->d_name[0] == 't')) {
			full_path(p, sizeof(p), sub);
			if (unlink(p))
				fail(k, "unlink", sub);
		}
	}
	closedir(d);
}

static void worker_main(struct worker *k, const struct state *all,
			const char *logdir, uint64_t seed)
{
	char p[PATH_MAX], prefix[16];
	int plen;

	rng = seed * 0x9e3779b97f4a7c15ull + (uint64_t)k->w;
	snprintf(p, sizeof(p), "%s/log-%d", logdir, k->w);
	k->logfd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
	if (k->logfd < 0)
		die("%s: %s", p, strerror(errno));
	plen = snprintf(prefix, sizeof(prefix), "w%d/", k->w);
	k->s.n = 0;
	for (int i = 0; i < all->n; i++)
		if (!strncmp(all->e[i].path, prefix, (size_t)plen))
			k->s.e[k->s.n++] = all->e[i];
	snprintf(p, sizeof(p), "%s/w%d", root, k->w);
	mkdir(p, 0755);
	for (int i = 0; i < NSUB; i++) {
		snprintf(p, sizeof(p), "%s/w%d/d%d", root, k->w, i);
		mkdir(p, 0755);
	}
	snprintf(p, sizeof(p), "w%d", k->w);
	sweep(k, p);
	sync();
	logf_(k, "S started\n");
	for (;;)
		one_op(k);
}

/* ---- the check -------------------------------------------------------------- */

static int problems;

static void bad(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	printf("BROKEN: ");
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
	problems++;
}

/*
 * What is at @rel now, against @want: 0 matches, 1 mismatch (@why says how).
 * @prefix: only the first @prefix bytes are promised, the size may be up to
 * want->len and bytes past the prefix are the new ones or zeros (an append
 * in flight).
 */
static int compare(const char *rel, const struct ent *want, uint64_t prefix,
		   char *why, size_t wsz)
{
	static uint8_t buf[1 << 16];
	char p[PATH_MAX], v[32];
	struct stat st;
	ssize_t n;
	int fd;

	full_path(p, sizeof(p), rel);
	if (lstat(p, &st)) {
		snprintf(why, wsz, "missing (%s)", strerror(errno));
		return 1;
	}
	if (want->type == 'd') {
		if (!S_ISDIR(st.st_mode)) {
			snprintf(why, wsz, "not a directory");
			return 1;
		}
		return 0;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(why, wsz, "not a regular file (mode %o)", st.st_mode);
		return 1;
	}
	if (want->type == 'u')
		return 0;
	if (prefix == want->len ? (uint64_t)st.st_size != want->len :
	    (uint64_t)st.st_size < prefix || (uint64_t)st.st_size > want->len) {
		snprintf(why, wsz, "size %lld, want %" PRIu64, (long long)st.st_size,
			 want->len);
		return 1;
	}
	fd = open(p, O_RDONLY);
	if (fd < 0) {
		snprintf(why, wsz, "open: %s", strerror(errno));
		return 1;
	}
	for (uint64_t off = 0; off < (uint64_t)st.st_size; off += (uint64_t)n) {
		n = pread(fd, buf, sizeof(buf), (off_t)off);
		if (n <= 0) {
			snprintf(why, wsz, "read at %" PRIu64 ": %s", off,
				 n ? strerror(errno) : "short");
			close(fd);
			return 1;
		}
		for (ssize_t i = 0; i < n; i++) {
			uint8_t good = byte_at(want->id, want->gen, off + i);

			if (buf[i] == good || (off + i >= prefix && !buf[i]))
				continue;
			snprintf(why, wsz, "byte %" PRIu64 " is %#x, want %#x",
				 off + i, buf[i], good);
			close(fd);
			return 1;
		}
	}
	n = fgetxattr(fd, XNAME, v, sizeof(v) - 1);
	close(fd);
	if (n < 0 && errno != ENODATA) {
		snprintf(why, wsz, "getxattr: %s", strerror(errno));
		return 1;
	}
	v[n < 0 ? 0 : n] = 0;
	if ((uint32_t)strtoul(v, NULL, 10) != want->xgen) {
		snprintf(why, wsz, "xattr '%s', want %u", v, want->xgen);
		return 1;
	}
	return 0;
}

static bool exists(const char *rel)
{
	char p[PATH_MAX];
	struct stat st;

	full_path(p, sizeof(p), rel);
	return !lstat(p, &st);
}

static int parse_rec(const char *line, struct rec *r)
{
	char op[16];
	unsigned int xgen;

	memset(r, 0, sizeof(*r));
	if (sscanf(line, "B %" SCNu64 " %15s %95s %95s %" SCNu64 " %" SCNu64
		   " %" SCNu64 " %u", &r->seq, op, r->a, r->b, &r->id, &r->gen,
		   &r->len, &xgen) != 8)
		return -1;
	r->xgen = xgen;
	if (!strcmp(r->b, "-"))
		r->b[0] = 0;
	for (int i = 0; i < OP_NOPS; i++)
		if (!strcmp(op, op_names[i])) {
			r->op = i;
			return 0;
		}
	return -1;
}

/*
 * The operation in flight at the cut: the state must be the one before or
 * the one after it; settle @s (the state before) on what is there.
 */
static void check_inflight(struct state *s, const struct rec *r, int w,
			   int *ok)
{
	struct state *after = malloc(sizeof(*after));
	struct ent *old = st_find(s, r->a), *neu;
	char why[160], why2[160];

	if (!after)
		die("out of memory");
	*after = *s;
	apply(after, r);
	neu = st_find(after, r->a);
	printf("worker %d: in flight at the cut: %s %s%s%s\n", w,
	       op_names[r->op], r->a, r->b[0] ? " " : "", r->b);
	switch (r->op) {
	case OP_CREATE:
	case OP_MKDIR:
		/* an unsynced new file may hold anything: not promised */
		if (exists(r->a)) {
			*s = *after;
			st_find(s, r->a)->type = r->op == OP_CREATE ? 'u' : 'd';
		}
		break;
	case OP_UNLINK:
	case OP_RMDIR:
		if (!exists(r->a))
			*s = *after;
		/* else the old one, checked with the rest */
		break;
	case OP_MOVE:
		if (exists(r->a) == exists(r->b)) {
			bad("%s -> %s: rename in flight left %s", r->a, r->b,
			    exists(r->a) ? "both names" : "neither name");
			*ok = 0;
		} else if (exists(r->b)) {
			*s = *after;
		}
		break;
	case OP_REPLACE:
	case OP_XATTR:
	case OP_SHRINK:
		if (!old)
			break;
		if (!compare(r->a, old, old->len, why, sizeof(why)))
			break;
		if (neu && !compare(r->a, neu, neu->len, why2, sizeof(why2))) {
			*s = *after;
			break;
		}
		bad("%s: %s in flight: neither the old (%s) nor the new (%s)",
		    r->a, op_names[r->op], why, neu ? why2 : "-");
		*ok = 0;
		break;
	case OP_APPEND:
		if (!old || !neu)
			break;
		if (compare(r->a, neu, old->len, why, sizeof(why))) {
			bad("%s: append in flight: %s", r->a, why);
			*ok = 0;
		} else {
			*s = *after;
			st_find(s, r->a)->type = 'u';
		}
		break;
	case OP_NOPS:
		break;
	}
	free(after);
}

static void walk(const struct state *s, const char *rel, int *found)
{
	char p[PATH_MAX], sub[PATHLEN];
	struct dirent *de;
	DIR *d;

	full_path(p, sizeof(p), rel);
	d = opendir(p);
	if (!d) {
		bad("%s: opendir: %s", rel, strerror(errno));
		return;
	}
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		join(sub, rel, de->d_name);
		const struct ent *e = st_find((struct state *)s, sub);
		bool fixed = fixed_dir(rel, de->d_name);

		if (e || fixed) {
			(*found) += !!e;
			if ((e && e->type == 'd') || fixed)
				walk(s, sub, found);
		} else if (de->d_name[0] != 'n' && de->d_name[0] != 't') {
			bad("%s: exists, but no operation that returned made it",
			    sub);
		}
	}
	closedir(d);
}

static int cmd_check(const char *logdir, const char *statefile,
		     const char *out)
{
	static struct state s;
	char p[PATH_MAX], line[512], why[160];
	uint64_t done_ops = 0;
	int found = 0, ok = 1;

	st_load(&s, statefile);
	printf("check: %d names promised before this boot's workload\n", s.n);
	for (int w = 0; w < MAXW; w++) {
		struct rec cur = {};
		bool open_rec = false;
		FILE *f;

		snprintf(p, sizeof(p), "%s/log-%d", logdir, w);
		f = fopen(p, "r");
		if (!f)
			continue;
		while (fgets(line, sizeof(line), f)) {
			/* a line the cut tore: its write(2) never returned */
			if (line[strlen(line) - 1] != '\n')
				break;
			if (line[0] == 'B') {
				if (open_rec)
					bad("log-%d: seq %" PRIu64 " never ended",
					    w, cur.seq);
				if (parse_rec(line, &cur))
					die("%s: bad line '%s'", p, line);
				open_rec = true;
			} else if (line[0] == 'E') {
				if (!open_rec ||
				    strtoull(line + 2, NULL, 10) != cur.seq)
					die("%s: E without its B: '%s'", p, line);
				apply(&s, &cur);
				done_ops++;
				open_rec = false;
			} else if (line[0] == 'X') {
				bad("log-%d: the workload failed: %s", w, line);
			} else if (line[0] != 'S') {
				die("%s: bad line '%s'", p, line);
			}
		}
		fclose(f);
		if (open_rec)
			check_inflight(&s, &cur, w, &ok);
	}
	for (int i = 0; i < s.n; i++) {
		if (compare(s.e[i].path, &s.e[i], s.e[i].len, why, sizeof(why)))
			bad("%s: %s", s.e[i].path, why);
	}
	for (int w = 0; w < MAXW; w++) {
		snprintf(p, sizeof(p), "w%d", w);
		if (exists(p))
			walk(&s, p, &found);
	}
	if (found != s.n)
		bad("%d names promised, %d found", s.n, found);
	printf("check: %" PRIu64 " operations done before the cut, %d names, %d problems%s\n",
	       done_ops, s.n, problems, ok ? "" : " (in flight)");
	st_save(&s, out);
	return problems ? 1 : 0;
}

/* Ballast for the tier: files of 4 MiB, fsynced, in w0/d0. */
static int cmd_fill(uint64_t mib, const char *out)
{
	static struct state s;
	struct worker k = { .w = 0, .logfd = -1 };
	char rel[PATHLEN], p[PATH_MAX];

	snprintf(p, sizeof(p), "%s/w0", root);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/w0/d0", root);
	mkdir(p, 0755);
	k.logfd = open("/dev/null", O_WRONLY);
	for (uint64_t i = 0; i < mib / 4; i++) {
		snprintf(rel, sizeof(rel), "w0/d0/fb_%" PRIu64, i);
		write_file(&k, rel, O_CREAT | O_TRUNC, 1000000 + i, 0, 0,
			   4u << 20, true);
		struct ent *e = st_add(&s, rel, 'f');

		e->id = 1000000 + i;
		e->len = 4u << 20;
	}
	sync();
	st_save(&s, out);
	printf("fill: %d files of 4 MiB\n", s.n);
	return 0;
}

static int cmd_run(const char *logdir, const char *statefile, uint64_t boot,
		   uint64_t seed, int workers, uint64_t max_len)
{
	static struct state all;
	static struct worker k[MAXW];
	int status, rc = 0;

	st_load(&all, statefile);
	for (int w = 0; w < workers; w++) {
		pid_t pid = fork();

		if (pid < 0)
			die("fork: %s", strerror(errno));
		if (!pid) {
			k[w].w = w;
			k[w].boot = boot;
			k[w].max_len = max_len;
			worker_main(&k[w], &all, logdir, seed);
		}
	}
	/* the workers run until the power goes; one that stops failed */
	while (wait(&status) > 0)
		if (!WIFEXITED(status) || WEXITSTATUS(status))
			rc = 1;
	return rc ? 1 : 3;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: powercut-load run DIR LOGDIR --boot B --seed S [--state FILE] [--workers N] [--max-len BYTES]\n"
		"       powercut-load fill DIR --mib N --out STATE\n"
		"       powercut-load check DIR LOGDIR --state FILE --out STATE\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *cmd, *logdir = NULL, *state = NULL, *out = NULL;
	uint64_t boot = 0, seed = 1, mib = 0, max_len = 1 << 20;
	int workers = 2, i = 3;

	if (argc < 3)
		usage();
	cmd = argv[1];
	root = argv[2];
	if (strcmp(cmd, "fill") && argc > 3)
		logdir = argv[i++];
	for (; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!v)
			usage();
		i++;
		if (!strcmp(a, "--boot"))
			boot = strtoull(v, NULL, 10);
		else if (!strcmp(a, "--seed"))
			seed = strtoull(v, NULL, 10);
		else if (!strcmp(a, "--state"))
			state = v;
		else if (!strcmp(a, "--out"))
			out = v;
		else if (!strcmp(a, "--mib"))
			mib = strtoull(v, NULL, 10);
		else if (!strcmp(a, "--max-len"))
			max_len = strtoull(v, NULL, 10);
		else if (!strcmp(a, "--workers"))
			workers = atoi(v);
		else
			usage();
	}
	if (workers < 1 || workers > MAXW || !max_len)
		usage();
	if (!strcmp(cmd, "run") && logdir)
		return cmd_run(logdir, state, boot, seed, workers, max_len);
	if (!strcmp(cmd, "fill") && out && mib)
		return cmd_fill(mib, out);
	if (!strcmp(cmd, "check") && logdir && out)
		return cmd_check(logdir, state, out);
	usage();
	return 2;
}
