// SPDX-License-Identifier: BSD-2-Clause
/*
 * zuf-fuzz.c - a hostile server for zuf.ko (DESIGN.md §4: "proven by a
 * hostile-server fuzzer").  It speaks the raw ioctl ABI of
 * include/zufs/zufs_api.h itself (no zusd code) and serves two filesystem
 * types from a small but valid in-memory filesystem:
 *   zfuzz    ZUFS_REGFS_NODEV, map mode (MAP|XATTR|ACL|TMPFILE|RESTART)
 *   zfuzzpm  a pmem device (ZU_IOC_GRAB_PMEM), direct mode
 *            (DIRECT|DAX_MMAP|EXT_MAPPED|MAP|XATTR|ACL|TMPFILE|RESTART;
 *            mount option "nomapped" leaves EXT_MAPPED out)
 * so that most replies are right, and, driven by a seeded PRNG, it:
 *   - mutates replies: errnos (valid and invalid), out_len, seq, op, inode
 *     numbers (0, another inode, the parent, huge, stale), modes and types,
 *     sizes, times, uid -1, extents (past the device, unaligned, overlapping,
 *     MAPPED with and without the feature), readdir records (bad lengths,
 *     '/' and NUL in names, endless "more"), readlink and xattr lengths,
 *     statfs and mount replies; drops commands, answers late or never;
 *   - scribbles into its command buffers and windows while the kernel reads
 *     them (a thread per channel, right after each reply);
 *   - races ioctls: INIT_CHAN twice on one fd from two threads, HANDSHAKE on
 *     a bound fd, BREAK, munmap/remap of a window, close (dup2) of an fd a
 *     worker waits on, a second WAIT on a worker's fd, bad mmaps, GRAB_PMEM
 *     and INVALIDATE with random and real handles, bad REGISTER_FS;
 *   - dies (exit, _exit, abort, SIGKILL, SIGSEGV, in the middle of a
 *     command, after hanging past the kernel's timeout) at random moments.
 * A supervisor process restarts it; the kernel re-attaches the mounts to
 * the new server (ZUFS_M_REATTACH).  The filesystem lives in a shared
 * memory file, so it survives the restarts.
 *
 *   zuf-fuzz --seed N [--state FILE] [--timeout S] [--restart-timeout S]
 *            [--mutate PERMILLE] [--death-mean S] [--quiet]
 *
 * Phases (signals to the supervisor): it starts calm (every reply right, no
 * deaths) so the test can mount; SIGUSR2 starts the hostile phase; SIGUSR1
 * ends it (the hostile server is killed, a calm one serves, so umount
 * works); SIGTERM stops everything and prints the summary (seed, commands
 * and mutations per op, deaths, restarts, ioctl races).
 *
 * Determinism: every random decision comes from xorshift128+ streams seeded
 * (splitmix64) from the seed, the server generation and the thread, so a
 * seed replays the same decisions per thread; thread interleavings, and
 * what the applications do meanwhile, are not under its control.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <dirent.h>
#include <time.h>
#include <unistd.h>
#include <linux/falloc.h>
#include <linux/fs.h>

#include <zufs/zufs_api.h>

#define CONTROL		ZUFS_ROOT_MOUNTPOINT "/" ZUFS_CONTROL_FILE
#define BLK		4096u
#define MAXI		512		/* inodes per instance */
#define MAXD		4096		/* directory entries per instance */
#define MAXX		256		/* xattrs per instance */
#define XVAL_MAX	1024
#define FBLK		512		/* blocks per file: 2 MiB of data */
#define MAP_BLKS	16384		/* map-mode data pool: 64 MiB */
#define PM_BLKS		262144		/* pmem used: 1 GiB at most */
#define MAX_CHANS	64
#define NINST		2
#define MAXMOUNTS	8
#define INO_SLOT(ino)	((ino) & 0xffff)
#define ROOT_INO	1ULL
#define MAXBYTES	((uint64_t)LLONG_MAX)

/* ---- PRNG: splitmix64 seeds xorshift128+ streams ------------------------ */

struct rng {
	uint64_t s[2];
};

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void rng_seed(struct rng *r, uint64_t seed, uint64_t a, uint64_t b)
{
	uint64_t x = seed ^ (a * 0x100000001b3ULL) ^ (b << 40);

	r->s[0] = splitmix64(&x);
	r->s[1] = splitmix64(&x) | 1;
}

static uint64_t rng_next(struct rng *r)
{
	uint64_t s1 = r->s[0];
	const uint64_t s0 = r->s[1];

	r->s[0] = s0;
	s1 ^= s1 << 23;
	r->s[1] = s1 ^ s0 ^ (s1 >> 17) ^ (s0 >> 26);
	return r->s[1] + s0;
}

static uint64_t rnd(struct rng *r, uint64_t n)
{
	return n ? rng_next(r) % n : 0;
}

/* true with probability pm/1000 */
static bool chance(struct rng *r, unsigned int pm)
{
	return rnd(r, 1000) < pm;
}

/* ---- the shared state: filesystem + statistics ------------------------- */

struct fz_ino {
	uint32_t used;
	uint32_t orphan;	/* no names left: freed at EVICT */
	uint64_t gen;		/* bumped at every reuse of the slot */
	uint64_t parent;
	struct zufs_attr a;
	char link[ZUFS_NAME_MAX + 1];
	uint32_t blk[FBLK];	/* data block + 1, 0: hole */
};

struct fz_dent {
	uint32_t used;
	uint32_t __pad;
	uint64_t dir, ino, cookie;
	char name[ZUFS_NAME_MAX + 1];
};

struct fz_xattr {
	uint32_t used;
	uint32_t len;
	uint64_t ino;
	char name[ZUFS_NAME_MAX + 1];
	char val[XVAL_MAX];
};

struct fz_inst {
	uint32_t inited;
	uint32_t pm;
	uint64_t next_cookie;
	uint64_t features;	/* of its mounts */
	uint32_t nblocks;
	uint32_t rotor;
	struct fz_ino ino[MAXI];
	struct fz_dent d[MAXD];
	struct fz_xattr x[MAXX];
	uint8_t bmap[PM_BLKS / 8];
};

struct fz_mount {
	uint32_t used;
	uint32_t inst;
	uint64_t sb_id;
	uint64_t features;
};

enum { D_EXIT, D__EXIT, D_ABORT, D_KILL, D_SEGV, D_MIDCMD, D_HANG, D_NKINDS };
static const char *const death_names[D_NKINDS] = {
	"exit", "_exit", "abort", "sigkill", "sigsegv", "mid-command", "hang",
};

enum {
	R_INIT_TWICE, R_HANDSHAKE_BOUND, R_HANDSHAKE_BAD, R_BREAK, R_REMAP,
	R_CLOSE_WAITING, R_SECOND_WAIT, R_BAD_IOCTL, R_BAD_MMAP, R_GRAB_PMEM,
	R_INVALIDATE, R_REGISTER, R_NKINDS
};
static const char *const race_names[R_NKINDS] = {
	"init_chan-twice", "handshake-bound-fd", "handshake-bad-version",
	"break", "munmap-remap-window", "close-while-waiting", "second-wait",
	"bad-ioctl", "bad-mmap", "grab_pmem", "invalidate", "register_fs",
};

#define NOPS	ZUFS_OP_MAX_OPT
struct fz_stats {
	uint64_t served[NOPS];
	uint64_t mutated[NOPS];
	uint64_t mut_kind[64];
	uint64_t deaths[D_NKINDS];
	uint64_t races[R_NKINDS];
	uint64_t race_results[R_NKINDS][2];	/* ok, failed */
	uint64_t generations, restarts, reattach_served;
	uint64_t scribble_buf, scribble_win, faults_caught;
	uint64_t dropped, slow, late, invalidates, invalidate_busy;
	uint64_t reopen;
};

#define STATE_MAGIC	0x7a75662d66757a7aULL
struct fz_state {
	uint64_t magic;
	_Atomic int phase;	/* 0 calm start, 1 hostile, 2 calm end */
	uint32_t __pad;
	struct fz_stats st;
	struct fz_mount mounts[MAXMOUNTS];
	struct fz_inst inst[NINST];
	uint8_t mapdata[(size_t)MAP_BLKS * BLK];
};

static struct fz_state *S;
#define STAT_ADD(f, n)	__atomic_add_fetch(&S->st.f, (n), __ATOMIC_RELAXED)
#define STAT_INC(f)	STAT_ADD(f, 1)

/* ---- options and per-process globals ---------------------------------- */

static uint64_t opt_seed;
static unsigned int opt_timeout = 5, opt_restart = 5;
static unsigned int opt_mutate = 120;	/* per mille of replies */
static unsigned int opt_death_mean = 12;	/* seconds */
static bool opt_quiet;
static const char *opt_state = "/dev/shm/zuf-fuzz.state";

static uint64_t gen;			/* server generation (process) */
static pthread_mutex_t inst_lock[NINST];
static uint8_t *pm_base;		/* this process's pmem mapping */
static uint64_t pm_size;
static pthread_mutex_t pm_lock = PTHREAD_MUTEX_INITIALIZER;
static _Atomic int die_in_cmd;		/* D_MIDCMD armed */
static _Atomic int hang_all;		/* D_HANG armed */
static unsigned int nchans;

static bool hostile(void)
{
	return atomic_load(&S->phase) == 1;
}

static void logf_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logf_(const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n;

	if (opt_quiet)
		return;
	n = snprintf(line, sizeof(line), "zuf-fuzz[%llu]: ",
		     (unsigned long long)gen);
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s\n", line);
}

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static void now_time(struct zufs_time *t)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	t->sec = ts.tv_sec;
	t->nsec = (uint32_t)ts.tv_nsec;
	t->__pad = 0;
}

/* ---- faults in shared mappings: caught, not fatal ---------------------- */

static __thread sigjmp_buf *fault_jb;

static void fault_handler(int sig)
{
	if (fault_jb)
		siglongjmp(*fault_jb, 1);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void nop_handler(int sig)
{
	(void)sig;
}

/* memcpy that survives SIGSEGV/SIGBUS (a window that went away) */
static int guarded_copy(void *dst, const void *src, size_t n)
{
	sigjmp_buf jb;

	if (sigsetjmp(jb, 1)) {
		fault_jb = NULL;
		STAT_INC(faults_caught);
		return -EFAULT;
	}
	fault_jb = &jb;
	memcpy(dst, src, n);
	fault_jb = NULL;
	return 0;
}

static int guarded_zero(void *dst, size_t n)
{
	sigjmp_buf jb;

	if (sigsetjmp(jb, 1)) {
		fault_jb = NULL;
		STAT_INC(faults_caught);
		return -EFAULT;
	}
	fault_jb = &jb;
	memset(dst, 0, n);
	fault_jb = NULL;
	return 0;
}

/* ---- the in-memory filesystem ------------------------------------------ */

static struct fz_ino *iget_(struct fz_inst *fi, uint64_t ino)
{
	uint64_t slot = INO_SLOT(ino);
	struct fz_ino *n;

	if (!ino || slot >= MAXI)
		return NULL;
	n = &fi->ino[slot];
	if (!n->used || n->a.ino != ino)
		return NULL;
	return n;
}

static uint8_t *blk_addr(struct fz_inst *fi, uint32_t b)
{
	if (fi->pm)
		return pm_base && (uint64_t)(b + 1) * BLK <= pm_size ?
		       pm_base + (uint64_t)b * BLK : NULL;
	return b < MAP_BLKS ? S->mapdata + (size_t)b * BLK : NULL;
}

static int blk_alloc(struct fz_inst *fi, uint32_t *out)
{
	uint32_t i, b;

	for (i = 0; i < fi->nblocks; i++) {
		b = (fi->rotor + i) % fi->nblocks;
		if (!(fi->bmap[b / 8] & (1u << (b % 8)))) {
			fi->bmap[b / 8] |= 1u << (b % 8);
			fi->rotor = b + 1;
			*out = b;
			return 0;
		}
	}
	return -ENOSPC;
}

static void blk_free(struct fz_inst *fi, uint32_t b)
{
	if (b < fi->nblocks)
		fi->bmap[b / 8] &= ~(1u << (b % 8));
}

static void ino_blocks_update(struct fz_ino *n)
{
	uint64_t c = 0;

	for (int i = 0; i < FBLK; i++)
		c += n->blk[i] != 0;
	n->a.blocks = c * (BLK / 512);
}

static void truncate_blocks(struct fz_inst *fi, struct fz_ino *n, uint64_t size)
{
	uint64_t first = (size + BLK - 1) / BLK;

	for (uint64_t i = first; i < FBLK; i++) {
		if (n->blk[i]) {
			blk_free(fi, n->blk[i] - 1);
			n->blk[i] = 0;
		}
	}
	/* the tail of a partial last block reads zero afterwards */
	if (size % BLK && size / BLK < FBLK && n->blk[size / BLK]) {
		uint8_t *p = blk_addr(fi, n->blk[size / BLK] - 1);

		if (p)
			memset(p + size % BLK, 0, BLK - size % BLK);
	}
	ino_blocks_update(n);
}

static void xattrs_drop(struct fz_inst *fi, uint64_t ino)
{
	for (int i = 0; i < MAXX; i++)
		if (fi->x[i].used && fi->x[i].ino == ino)
			fi->x[i].used = 0;
}

static void ino_free(struct fz_inst *fi, struct fz_ino *n)
{
	truncate_blocks(fi, n, 0);
	xattrs_drop(fi, n->a.ino);
	n->used = 0;
	n->orphan = 0;
}

static void ino_init(struct fz_ino *n, uint64_t slot, uint32_t mode,
		     uint32_t uid, uint32_t gid)
{
	uint64_t g = n->gen + 1;

	memset(n, 0, sizeof(*n));
	n->gen = g;
	n->used = 1;
	n->a.ino = slot == ROOT_INO ? ROOT_INO : (g << 16) | slot;
	n->a.mode = mode;
	n->a.nlink = S_ISDIR(mode) ? 2 : 1;
	n->a.uid = uid;
	n->a.gid = gid;
	n->a.blksize = BLK;
	n->a.generation = slot == ROOT_INO ? 1 : g;
	now_time(&n->a.atime);
	n->a.mtime = n->a.ctime = n->a.btime = n->a.atime;
}

static int sb_of_inst(unsigned int inst, uint64_t *sb_id);
static int do_invalidate(int fd, uint64_t sb_id, uint64_t ino, uint64_t off,
			 uint64_t len);

static struct fz_ino *ino_new(struct fz_inst *fi, int ctlfd, uint32_t mode,
			      uint32_t uid, uint32_t gid)
{
	for (uint64_t i = 2; i < MAXI; i++) {
		if (fi->ino[i].used)
			continue;
		ino_init(&fi->ino[i], i, mode, uid, gid);
		return &fi->ino[i];
	}
	/* full: reclaim an orphan the kernel may still hold (ESTALE for it) */
	for (uint64_t i = 2; i < MAXI; i++) {
		struct fz_ino *n = &fi->ino[i];
		uint64_t sb;

		if (!n->orphan)
			continue;
		if (fi->pm && !sb_of_inst(fi - S->inst, &sb) &&
		    do_invalidate(ctlfd, sb, n->a.ino, 0, 0))
			continue;	/* blocks may be in use: keep them */
		ino_free(fi, n);
		ino_init(n, i, mode, uid, gid);
		return n;
	}
	return NULL;
}

static void inst_init(struct fz_inst *fi, bool pm)
{
	memset(fi, 0, sizeof(*fi));
	fi->inited = 1;
	fi->pm = pm;
	fi->next_cookie = 3;
	fi->nblocks = pm ? 0 : MAP_BLKS;
	ino_init(&fi->ino[ROOT_INO], ROOT_INO, S_IFDIR | 01777, 0, 0);
	fi->ino[ROOT_INO].parent = ROOT_INO;
}

/* a server that died in the middle of an update: make it consistent */
static void inst_repair(struct fz_inst *fi)
{
	if (!fi->inited)
		return;
	if (!fi->ino[ROOT_INO].used || !S_ISDIR(fi->ino[ROOT_INO].a.mode)) {
		ino_init(&fi->ino[ROOT_INO], ROOT_INO, S_IFDIR | 01777, 0, 0);
		fi->ino[ROOT_INO].parent = ROOT_INO;
	}
	for (int i = 0; i < MAXD; i++) {
		struct fz_dent *d = &fi->d[i];

		if (d->used && (!iget_(fi, d->dir) || !iget_(fi, d->ino)))
			d->used = 0;
	}
	for (int i = 0; i < MAXX; i++)
		if (fi->x[i].used && !iget_(fi, fi->x[i].ino))
			fi->x[i].used = 0;
}

static struct fz_dent *dent_find(struct fz_inst *fi, uint64_t dir,
				 const char *name)
{
	for (int i = 0; i < MAXD; i++) {
		struct fz_dent *d = &fi->d[i];

		if (d->used && d->dir == dir && !strcmp(d->name, name))
			return d;
	}
	return NULL;
}

static bool dir_empty(struct fz_inst *fi, uint64_t dir)
{
	for (int i = 0; i < MAXD; i++)
		if (fi->d[i].used && fi->d[i].dir == dir)
			return false;
	return true;
}

static int dent_add(struct fz_inst *fi, uint64_t dir, const char *name,
		    uint64_t ino)
{
	for (int i = 0; i < MAXD; i++) {
		struct fz_dent *d = &fi->d[i];

		if (d->used)
			continue;
		d->used = 1;
		d->dir = dir;
		d->ino = ino;
		d->cookie = fi->next_cookie++;
		snprintf(d->name, sizeof(d->name), "%s", name);
		return 0;
	}
	return -ENOSPC;
}

/* a name from the kernel: 1..255 bytes, no '/' or NUL */
static int name_get(const struct zufs_str *s, char *out)
{
	uint16_t len = s->len;

	if (!len || len > ZUFS_NAME_MAX)
		return -EINVAL;
	memcpy(out, s->name, len);
	out[len] = '\0';
	if (strlen(out) != len || memchr(out, '/', len))
		return -EINVAL;
	return 0;
}

static void drop_link(struct fz_ino *n)
{
	if (n->a.nlink)
		n->a.nlink--;
	if (S_ISDIR(n->a.mode) && n->a.nlink < 2)
		n->a.nlink = 0;
	if (!n->a.nlink)
		n->orphan = 1;
	now_time(&n->a.ctime);
}

/* ---- mounts ------------------------------------------------------------ */

static int sb_of_inst(unsigned int inst, uint64_t *sb_id)
{
	for (int i = 0; i < MAXMOUNTS; i++) {
		if (S->mounts[i].used && S->mounts[i].inst == inst) {
			*sb_id = S->mounts[i].sb_id;
			return 0;
		}
	}
	return -ENOENT;
}

static struct fz_mount *mount_find(uint64_t sb_id)
{
	for (int i = 0; i < MAXMOUNTS; i++)
		if (S->mounts[i].used && S->mounts[i].sb_id == sb_id)
			return &S->mounts[i];
	return NULL;
}

static int do_invalidate(int fd, uint64_t sb_id, uint64_t ino, uint64_t off,
			 uint64_t len)
{
	struct zufs_ioc_invalidate inv = { sb_id, ino, off, len };
	int r;

	STAT_INC(invalidates);
	r = ioctl(fd, ZU_IOC_INVALIDATE, &inv) < 0 ? -errno : 0;
	if (r == -EBUSY)
		STAT_INC(invalidate_busy);
	return r;
}

/* ---- channels ---------------------------------------------------------- */

struct chan {
	unsigned int idx;		/* CPU or ZUFS_CHAN_MOUNT */
	_Atomic int fd;
	uint8_t *buf;
	_Atomic(uint8_t *) win;
	pthread_mutex_t lk;		/* fd/mapping changes */
	pthread_t tid, scrib_tid;
	struct rng rng;
	_Atomic unsigned int replies;	/* scribbler's cue */
	_Atomic int ready;
	_Atomic uint32_t cur_op;
	uint64_t handshake_features;
};

static struct chan chans[MAX_CHANS + 1];	/* [nchans]: the mount thread */
static struct chan *mchan;
static int main_fd = -1;

static int ctl_open(uint64_t features, uint64_t *granted)
{
	struct zufs_ioc_handshake h = { 0 };
	int fd = open(CONTROL, O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	h.major = ZUFS_MAJOR_VERSION;
	h.minor = ZUFS_MINOR_VERSION;
	h.features = features;
	if (ioctl(fd, ZU_IOC_HANDSHAKE, &h) < 0) {
		int e = -errno;

		close(fd);
		return e;
	}
	if (granted)
		*granted = h.features;
	if (!nchans)
		nchans = h.ncpus;
	return fd;
}

static void chan_close(struct chan *c)
{
	uint8_t *w = atomic_exchange(&c->win, NULL);
	int fd = atomic_exchange(&c->fd, -1);

	if (w)
		munmap(w, ZUFS_CHAN_WINDOW_SIZE);
	if (c->buf)
		munmap(c->buf, ZUFS_CHAN_CMD_SIZE);
	c->buf = NULL;
	if (fd >= 0)
		close(fd);
}

static int chan_open(struct chan *c)
{
	struct zufs_ioc_init_chan ic = { 0 };
	void *p;
	int fd, tries;

	fd = ctl_open(c->handshake_features, NULL);
	if (fd < 0)
		return fd;
	ic.cpu = c->idx;
	/* the old file of this channel may not be released yet */
	for (tries = 0; ioctl(fd, ZU_IOC_INIT_CHAN, &ic) < 0; tries++) {
		if (errno != EBUSY || tries > 1000) {
			int e = -errno;

			close(fd);
			return e;
		}
		sleep_ms(5);
	}
	p = mmap(NULL, ZUFS_CHAN_CMD_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
		 fd, 0);
	if (p == MAP_FAILED) {
		int e = -errno;

		close(fd);
		return e;
	}
	c->buf = p;
	if (c->idx != ZUFS_CHAN_MOUNT) {
		p = mmap(NULL, ZUFS_CHAN_WINDOW_SIZE, PROT_READ | PROT_WRITE,
			 MAP_SHARED, fd, ZUFS_CHAN_WINDOW_OFF);
		if (p == MAP_FAILED) {
			int e = -errno;

			munmap(c->buf, ZUFS_CHAN_CMD_SIZE);
			c->buf = NULL;
			close(fd);
			return e;
		}
		atomic_store(&c->win, p);
	}
	atomic_store(&c->fd, fd);
	return 0;
}

/* ---- serving one command ------------------------------------------------ */

/* the reply being built: a copy of the command, answered in place */
struct rep {
	union {
		uint8_t b[ZUFS_PAYLOAD_OFF];
		struct zufs_hdr h;
	} u;
	uint32_t copy_len;	/* bytes written back to the buffer */
	uint32_t want_len;	/* the out_len a right reply has */
	int r;			/* 0 or -errno */
	uint8_t *payload;	/* the shared buffer's payload */
	uint32_t pl_len;	/* payload bytes written */
	uint64_t sz_in;		/* the request's size/len (xattr, readdir) */
};

#define CMD(type)	((type *)rp->u.b)
#define NEED(type)	do {						\
		if (in_len < sizeof(type))				\
			return -EINVAL;					\
		rp->copy_len = sizeof(type);				\
		rp->want_len = sizeof(type);				\
	} while (0)

static struct fz_inst *inst_of(uint64_t sb_id, unsigned int *idx)
{
	struct fz_mount *m = mount_find(sb_id);

	if (!m || m->inst >= NINST)
		return NULL;
	if (idx)
		*idx = m->inst;
	return &S->inst[m->inst];
}

static uint8_t dtype(uint32_t mode)
{
	return (mode >> 12) & 15;
}

static int cookie_cmp(const void *a, const void *b)
{
	const struct fz_dent *x = *(const struct fz_dent *const *)a;
	const struct fz_dent *y = *(const struct fz_dent *const *)b;

	return x->cookie < y->cookie ? -1 : x->cookie > y->cookie;
}

static int emit(struct rep *rp, uint32_t max, const char *name, uint64_t ino,
		uint8_t type, uint64_t next)
{
	size_t nl = strlen(name), rec = ZUFS_DIRENT_SIZE(nl);
	struct zufs_dirent de = { 0 };

	if (rp->pl_len + rec > max)
		return 1;
	de.ino = ino;
	de.next = next;
	de.name_len = (uint16_t)nl;
	de.type = type;
	memcpy(rp->payload + rp->pl_len, &de, sizeof(de));
	memcpy(rp->payload + rp->pl_len + sizeof(de), name, nl);
	memset(rp->payload + rp->pl_len + sizeof(de) + nl, 0,
	       rec - sizeof(de) - nl);
	rp->pl_len += rec;
	return 0;
}

static int op_readdir(struct chan *c, struct fz_inst *fi, struct rep *rp)
{
	static __thread const struct fz_dent *list[MAXD];
	struct zufs_readdir *rd = CMD(struct zufs_readdir);
	struct fz_ino *d = iget_(fi, rd->dir);
	uint32_t max = ZUFS_PAYLOAD_MAX;
	uint64_t cookie = rd->cookie;
	size_t n = 0, i;
	bool full = false;

	if (!d)
		return -ENOENT;
	if (!S_ISDIR(d->a.mode))
		return -ENOTDIR;
	if (chance(&c->rng, 300))	/* small replies: many calls */
		max = 64 + (uint32_t)rnd(&c->rng, 2048);
	rp->pl_len = 0;
	if (cookie < 1 && emit(rp, max, ".", d->a.ino, DT_DIR, 1))
		full = true;
	if (!full && cookie < 2 &&
	    emit(rp, max, "..", d->parent ? d->parent : ROOT_INO, DT_DIR, 2))
		full = true;
	for (i = 0; i < MAXD && !full; i++) {
		const struct fz_dent *e = &fi->d[i];

		if (e->used && e->dir == d->a.ino && e->cookie > cookie)
			list[n++] = e;
	}
	if (!full)
		qsort(list, n, sizeof(list[0]), cookie_cmp);
	for (i = 0; i < n && !full; i++) {
		struct fz_ino *t = iget_(fi, list[i]->ino);

		if (emit(rp, max, list[i]->name, list[i]->ino,
			 t ? dtype(t->a.mode) : DT_UNKNOWN, list[i]->cookie))
			full = true;
	}
	rd->bytes = rp->pl_len;
	rd->more = full;
	return 0;
}

static int op_create(struct chan *c, struct fz_inst *fi, struct rep *rp,
		     uint32_t op, uint32_t in_len)
{
	struct zufs_create *cr = CMD(struct zufs_create);
	struct fz_ino *d = iget_(fi, cr->dir), *n;
	char name[ZUFS_NAME_MAX + 1];
	uint32_t mode = cr->mode, type = mode & S_IFMT;
	int ret;

	if (!d)
		return -ENOENT;
	if (!S_ISDIR(d->a.mode))
		return -ENOTDIR;
	if (mode & ~(S_IFMT | 07777))
		return -EINVAL;
	switch (op) {
	case ZUFS_OP_CREATE:
		if (type != S_IFREG && type != S_IFCHR && type != S_IFBLK &&
		    type != S_IFIFO && type != S_IFSOCK)
			return -EINVAL;
		break;
	case ZUFS_OP_TMPFILE:
		if (type != S_IFREG)
			return -EINVAL;
		break;
	case ZUFS_OP_MKDIR:
		mode = S_IFDIR | (mode & 07777);
		break;
	case ZUFS_OP_SYMLINK:
		mode = S_IFLNK | 0777;
		if (!cr->target_len || cr->target_len > ZUFS_NAME_MAX)
			return -ENAMETOOLONG;
		break;
	}
	if (op != ZUFS_OP_TMPFILE) {
		ret = name_get(&cr->name, name);
		if (ret)
			return ret;
		if (dent_find(fi, d->a.ino, name))
			return -EEXIST;
	}
	n = ino_new(fi, atomic_load(&c->fd), mode, rp->u.h.uid, rp->u.h.gid);
	if (!n)
		return -ENOSPC;
	n->parent = d->a.ino;
	n->a.rdev = cr->rdev;
	if (op == ZUFS_OP_SYMLINK) {
		uint32_t tl = cr->target_len;

		if (guarded_copy(n->link, c->buf + ZUFS_PAYLOAD_OFF, tl)) {
			n->used = 0;
			return -EFAULT;
		}
		n->link[tl] = '\0';
		if (strlen(n->link) != tl) {
			n->used = 0;
			return -EINVAL;
		}
		n->a.size = tl;
	}
	if (op == ZUFS_OP_TMPFILE) {
		n->a.nlink = 0;
		n->orphan = 1;
	} else if (dent_add(fi, d->a.ino, name, n->a.ino)) {
		n->used = 0;
		return -ENOSPC;
	}
	if (op == ZUFS_OP_MKDIR)
		d->a.nlink++;
	now_time(&d->a.mtime);
	d->a.ctime = d->a.mtime;
	cr->attr = n->a;
	(void)in_len;
	return 0;
}

static int op_rename(struct fz_inst *fi, struct rep *rp)
{
	struct zufs_rename *rn = CMD(struct zufs_rename);
	struct fz_ino *od = iget_(fi, rn->olddir), *nd = iget_(fi, rn->newdir);
	char on[ZUFS_NAME_MAX + 1], nn[ZUFS_NAME_MAX + 1];
	struct fz_dent *oe, *ne;
	struct fz_ino *src, *dst = NULL;
	uint64_t p;
	int ret, depth;

	if (!od || !nd)
		return -ENOENT;
	if (!S_ISDIR(od->a.mode) || !S_ISDIR(nd->a.mode))
		return -ENOTDIR;
	if (rn->flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE))
		return -EINVAL;
	ret = name_get(&rn->oldname, on);
	if (!ret)
		ret = name_get(&rn->newname, nn);
	if (ret)
		return ret;
	oe = dent_find(fi, od->a.ino, on);
	if (!oe)
		return -ENOENT;
	src = iget_(fi, oe->ino);
	if (!src)
		return -ENOENT;
	ne = dent_find(fi, nd->a.ino, nn);
	if (ne == oe)
		return 0;
	if (ne)
		dst = iget_(fi, ne->ino);
	/* no directory into its own subtree */
	if (S_ISDIR(src->a.mode) || (dst && S_ISDIR(dst->a.mode))) {
		for (p = nd->a.ino, depth = 0; depth < MAXI; depth++) {
			struct fz_ino *x;

			if (p == src->a.ino || (dst && p == dst->a.ino &&
			    (rn->flags & RENAME_EXCHANGE)))
				return -EINVAL;
			if (p == ROOT_INO)
				break;
			x = iget_(fi, p);
			if (!x)
				break;
			p = x->parent;
		}
		for (p = od->a.ino, depth = 0; dst && depth < MAXI; depth++) {
			struct fz_ino *x;

			if (p == dst->a.ino)
				return -EINVAL;
			if (p == ROOT_INO)
				break;
			x = iget_(fi, p);
			if (!x)
				break;
			p = x->parent;
		}
	}
	if (rn->flags & RENAME_EXCHANGE) {
		if (!ne || !dst)
			return -ENOENT;
		oe->ino = dst->a.ino;
		ne->ino = src->a.ino;
		if (S_ISDIR(src->a.mode) != S_ISDIR(dst->a.mode)) {
			if (S_ISDIR(src->a.mode)) {
				od->a.nlink--;
				nd->a.nlink++;
			} else {
				nd->a.nlink--;
				od->a.nlink++;
			}
		}
		src->parent = nd->a.ino;
		dst->parent = od->a.ino;
		return 0;
	}
	if (ne) {
		if (rn->flags & RENAME_NOREPLACE)
			return -EEXIST;
		if (dst && S_ISDIR(dst->a.mode)) {
			if (!S_ISDIR(src->a.mode))
				return -EISDIR;
			if (!dir_empty(fi, dst->a.ino))
				return -ENOTEMPTY;
			nd->a.nlink--;
		} else if (S_ISDIR(src->a.mode)) {
			return -ENOTDIR;
		}
		ne->used = 0;
		if (dst)
			drop_link(dst);
	}
	oe->dir = nd->a.ino;
	snprintf(oe->name, sizeof(oe->name), "%s", nn);
	oe->cookie = fi->next_cookie++;
	if (S_ISDIR(src->a.mode) && od != nd) {
		od->a.nlink--;
		nd->a.nlink++;
	}
	src->parent = nd->a.ino;
	now_time(&od->a.mtime);
	nd->a.mtime = od->a.mtime;
	src->a.ctime = od->a.mtime;
	return 0;
}

static int op_setattr(struct fz_inst *fi, struct rep *rp)
{
	struct zufs_setattr *sa = CMD(struct zufs_setattr);
	struct fz_ino *n = iget_(fi, sa->ino);

	if (!n)
		return -ENOENT;
	if (sa->valid & ~0x3ffu)
		return -EINVAL;
	if (sa->valid & ZUFS_SA_MODE)
		n->a.mode = (n->a.mode & S_IFMT) | (sa->mode & 07777);
	if (sa->valid & ZUFS_SA_UID) {
		if (sa->uid == (uint32_t)-1)
			return -EINVAL;
		n->a.uid = sa->uid;
	}
	if (sa->valid & ZUFS_SA_GID) {
		if (sa->gid == (uint32_t)-1)
			return -EINVAL;
		n->a.gid = sa->gid;
	}
	if (sa->valid & ZUFS_SA_SIZE) {
		if (!S_ISREG(n->a.mode))
			return -EINVAL;
		if (sa->size > MAXBYTES)
			return -EFBIG;
		if (sa->size < n->a.size)
			truncate_blocks(fi, n, sa->size);
		n->a.size = sa->size;
		now_time(&n->a.mtime);
	}
	if (sa->valid & ZUFS_SA_ATIME) {
		if (sa->atime.nsec >= 1000000000u)
			return -EINVAL;
		n->a.atime = sa->atime;
	}
	if (sa->valid & ZUFS_SA_MTIME) {
		if (sa->mtime.nsec >= 1000000000u)
			return -EINVAL;
		n->a.mtime = sa->mtime;
	}
	if (sa->valid & ZUFS_SA_CTIME) {
		if (sa->ctime.nsec >= 1000000000u)
			return -EINVAL;
		n->a.ctime = sa->ctime;
	}
	if (sa->valid & ZUFS_SA_ATIME_NOW)
		now_time(&n->a.atime);
	if (sa->valid & ZUFS_SA_MTIME_NOW)
		now_time(&n->a.mtime);
	n->a.atime.__pad = n->a.mtime.__pad = n->a.ctime.__pad = 0;
	sa->attr = n->a;
	return 0;
}

/* map mode: file data <-> the window (pmem instance: from pmem) */
static int op_rw(struct chan *c, struct fz_inst *fi, struct rep *rp, bool wr)
{
	struct zufs_rw *rw = CMD(struct zufs_rw);
	struct fz_ino *n = iget_(fi, rw->ino);
	uint8_t *win = atomic_load(&c->win);
	uint64_t off = rw->offset, len = rw->len, done = 0;

	if (!n)
		return -ENOENT;
	if (!S_ISREG(n->a.mode))
		return -EINVAL;
	if (!win || len > ZUFS_CHAN_WINDOW_SIZE ||
	    rw->window_off > ZUFS_CHAN_WINDOW_SIZE - len ||
	    off > MAXBYTES || len > MAXBYTES - off)
		return -EINVAL;
	if (!wr) {
		if (off >= n->a.size)
			len = 0;
		else if (len > n->a.size - off)
			len = n->a.size - off;
	}
	while (done < len) {
		uint64_t pos = off + done, b = pos / BLK, in = pos % BLK;
		uint64_t k = BLK - in;
		uint8_t *w = win + rw->window_off + done, *p = NULL;

		if (k > len - done)
			k = len - done;
		if (b >= FBLK) {
			if (wr)
				break;		/* EFBIG: short write */
		} else if (!n->blk[b] && wr) {
			uint32_t nb;

			if (blk_alloc(fi, &nb))
				break;
			n->blk[b] = nb + 1;
			p = blk_addr(fi, nb);
			if (p)
				memset(p, 0, BLK);
		} else if (n->blk[b]) {
			p = blk_addr(fi, n->blk[b] - 1);
		}
		if (wr ? (p ? guarded_copy(p + in, w, k) : -EIO) :
			 (p ? guarded_copy(w, p + in, k) : guarded_zero(w, k)))
			break;
		done += k;
	}
	if (!done && len)
		return wr ? -EFBIG : -EIO;
	if (wr) {
		if (off + done > n->a.size)
			n->a.size = off + done;
		now_time(&n->a.mtime);
		ino_blocks_update(n);
	}
	rw->done = done;
	rw->new_size = n->a.size;
	return 0;
}

static int op_get_extents(struct chan *c, struct fz_inst *fi, struct rep *rp,
			  uint64_t mfeatures)
{
	struct zufs_get_extents *ge = CMD(struct zufs_get_extents);
	struct fz_ino *n = iget_(fi, ge->ino);
	uint64_t pos = ge->offset, len = ge->len, b, first, end;
	bool wr = ge->flags & ZUFS_GE_WRITE;
	uint32_t k = 0;

	rp->copy_len = sizeof(*ge);
	if (!fi->pm || !pm_base)
		return -EOPNOTSUPP;
	if (!n)
		return -ENOENT;
	if (!S_ISREG(n->a.mode))
		return -EINVAL;
	if (ge->flags & ~(ZUFS_GE_WRITE | ZUFS_GE_PROMOTE) ||
	    pos > MAXBYTES || len > MAXBYTES - pos)
		return -EINVAL;
	first = pos / BLK;
	end = (pos + (len ? len : 1) + BLK - 1) / BLK;
	if (end > first + 4096)
		end = first + 4096;
	if (end > MAXBYTES / BLK + 1)
		end = MAXBYTES / BLK + 1;
	if (wr) {
		if (first >= FBLK)
			return -EFBIG;
		for (b = first; b < end && b < FBLK && b < first + 256; b++) {
			uint32_t nb;

			if (n->blk[b])
				continue;
			if (blk_alloc(fi, &nb)) {
				if (b == first)
					return -ENOSPC;
				break;
			}
			memset(blk_addr(fi, nb), 0, BLK);
			n->blk[b] = nb + 1;
		}
		ino_blocks_update(n);
	}
	for (b = first; b < end && k < ZUFS_MAX_EXTENTS;) {
		struct zufs_extent *e = &ge->ext[k];
		uint64_t s = b;

		if (b < FBLK && n->blk[b]) {
			uint32_t p0 = n->blk[b] - 1;

			while (b < end && b < FBLK && n->blk[b] &&
			       n->blk[b] - 1 == p0 + (b - s))
				b++;
			e->pmem_off = (uint64_t)p0 * BLK;
		} else {
			if (wr && b == first)
				break;
			while (b < end && !(b < FBLK && n->blk[b]))
				b++;
			e->pmem_off = ZUFS_EXTENT_HOLE;
		}
		e->file_off = s * BLK;
		e->len = (b - s) * BLK;
		k++;
	}
	if (!k)
		return -EIO;
	/* legal: "the data is elsewhere, use map mode" (we serve it there too) */
	if ((mfeatures & ZUFS_FEATURE_EXT_MAPPED) &&
	    !(ge->flags & ZUFS_GE_PROMOTE) && ge->ext[0].pmem_off !=
	    ZUFS_EXTENT_HOLE && chance(&c->rng, hostile() ? 60 : 0))
		ge->ext[0].pmem_off = ZUFS_EXTENT_MAPPED;
	ge->n = k;
	ge->size = n->a.size;
	rp->copy_len = sizeof(*ge);
	rp->want_len = offsetof(struct zufs_get_extents, ext) +
		       k * sizeof(struct zufs_extent);
	return 0;
}

static int op_fallocate(struct fz_inst *fi, struct rep *rp)
{
	struct zufs_fallocate *fa = CMD(struct zufs_fallocate);
	struct fz_ino *n = iget_(fi, fa->ino);
	uint64_t off = fa->offset, len = fa->len, b;
	bool keep = fa->mode & FALLOC_FL_KEEP_SIZE;

	if (!n)
		return -ENOENT;
	if (!S_ISREG(n->a.mode))
		return -ENODEV;
	if (fa->mode & ~(FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE |
			 FALLOC_FL_ZERO_RANGE) ||
	    !len || off > MAXBYTES || len > MAXBYTES - off)
		return -EINVAL;
	if (fa->mode & (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE)) {
		for (b = off / BLK; b < FBLK && b * BLK < off + len; b++) {
			uint64_t s = b * BLK, e = s + BLK, zs, ze;
			uint8_t *p;

			if (!n->blk[b])
				continue;
			zs = s < off ? off : s;
			ze = e > off + len ? off + len : e;
			if (zs == s && ze == e &&
			    (fa->mode & FALLOC_FL_PUNCH_HOLE)) {
				blk_free(fi, n->blk[b] - 1);
				n->blk[b] = 0;
				continue;
			}
			p = blk_addr(fi, n->blk[b] - 1);
			if (p)
				memset(p + (zs - s), 0, ze - zs);
		}
		if ((fa->mode & FALLOC_FL_ZERO_RANGE) && !keep &&
		    off + len > n->a.size)
			n->a.size = off + len;
	} else {
		if ((off + len + BLK - 1) / BLK > FBLK)
			return -EFBIG;
		for (b = off / BLK; b * BLK < off + len; b++) {
			uint32_t nb;

			if (n->blk[b])
				continue;
			if (blk_alloc(fi, &nb))
				return -ENOSPC;
			if (blk_addr(fi, nb))
				memset(blk_addr(fi, nb), 0, BLK);
			n->blk[b] = nb + 1;
		}
		if (!keep && off + len > n->a.size)
			n->a.size = off + len;
	}
	ino_blocks_update(n);
	now_time(&n->a.mtime);
	return 0;
}

static int op_llseek(struct chan *c, struct fz_inst *fi, struct rep *rp)
{
	struct zufs_llseek *ls = CMD(struct zufs_llseek);
	struct fz_ino *n = iget_(fi, ls->ino);
	uint64_t off = ls->offset, b;

	if (!n)
		return -ENOENT;
	if (chance(&c->rng, 100))
		return -EOPNOTSUPP;	/* legal: "all of it is data" */
	if (off >= n->a.size)
		return -ENXIO;
	for (b = off / BLK; b * BLK < n->a.size; b++) {
		bool data = b < FBLK && n->blk[b];

		if (b >= FBLK && ls->whence == SEEK_DATA)
			break;	/* nothing but holes from here */

		if (data == (ls->whence == SEEK_DATA)) {
			uint64_t r = b * BLK < off ? off : b * BLK;

			if (r >= n->a.size)
				break;
			ls->offset = r;
			return 0;
		}
	}
	if (ls->whence == SEEK_DATA)
		return -ENXIO;
	ls->offset = n->a.size;
	return 0;
}

static int op_xattr(struct chan *c, struct fz_inst *fi, struct rep *rp,
		    uint32_t op)
{
	struct zufs_xattr *x = CMD(struct zufs_xattr);
	struct fz_ino *n = iget_(fi, x->ino);
	char name[ZUFS_NAME_MAX + 1];
	uint32_t size = x->size;
	struct fz_xattr *e = NULL, *fr = NULL;
	int ret;

	if (!n)
		return -ENOENT;
	if (size > ZUFS_PAYLOAD_MAX)
		return -EINVAL;
	rp->sz_in = size;
	if (op == ZUFS_OP_LISTXATTR) {
		uint32_t len = 0;

		for (int i = 0; i < MAXX; i++) {
			struct fz_xattr *y = &fi->x[i];
			size_t nl;

			if (!y->used || y->ino != n->a.ino)
				continue;
			nl = strlen(y->name) + 1;
			if (size && len + nl <= size)
				memcpy(rp->payload + len, y->name, nl);
			else if (size)
				return -ERANGE;
			len += (uint32_t)nl;
		}
		x->len = len;
		rp->pl_len = size ? len : 0;
		return 0;
	}
	ret = name_get(&x->name, name);
	if (ret)
		return ret;
	for (int i = 0; i < MAXX; i++) {
		struct fz_xattr *y = &fi->x[i];

		if (!y->used) {
			if (!fr)
				fr = y;
			continue;
		}
		if (y->ino == n->a.ino && !strcmp(y->name, name))
			e = y;
	}
	switch (op) {
	case ZUFS_OP_GETXATTR:
		if (!e)
			return -ENODATA;
		if (size && e->len > size)
			return -ERANGE;
		if (size)
			memcpy(rp->payload, e->val, e->len);
		x->len = e->len;
		rp->pl_len = size ? e->len : 0;
		return 0;
	case ZUFS_OP_SETXATTR:
		if ((x->flags & XATTR_CREATE) && e)
			return -EEXIST;
		if ((x->flags & XATTR_REPLACE) && !e)
			return -ENODATA;
		if (size > XVAL_MAX)
			return -ENOSPC;
		if (!e)
			e = fr;
		if (!e)
			return -ENOSPC;
		if (guarded_copy(e->val, c->buf + ZUFS_PAYLOAD_OFF, size))
			return -EFAULT;
		e->len = size;
		e->ino = n->a.ino;
		snprintf(e->name, sizeof(e->name), "%s", name);
		e->used = 1;
		now_time(&n->a.ctime);
		return 0;
	case ZUFS_OP_REMOVEXATTR:
		if (!e)
			return -ENODATA;
		e->used = 0;
		return 0;
	}
	return -EINVAL;
}

/* The command (copied once from the buffer) -> rp; returns 0 or -errno. */
static int serve_chan_op(struct chan *c, struct rep *rp, uint32_t op,
			 uint32_t in_len)
{
	struct fz_inst *fi;
	struct fz_mount *m;
	unsigned int ii;
	int ret = -EINVAL;
	char name[ZUFS_NAME_MAX + 1];

	rp->copy_len = sizeof(struct zufs_hdr);
	rp->want_len = sizeof(struct zufs_hdr);
	fi = inst_of(rp->u.h.sb_id, &ii);
	if (!fi)
		return -ENODEV;
	m = mount_find(rp->u.h.sb_id);
	pthread_mutex_lock(&inst_lock[ii]);
	switch (op) {
	case ZUFS_OP_LOOKUP: {
		struct zufs_lookup *lk = CMD(struct zufs_lookup);
		struct fz_dent *d;
		struct fz_ino *n;

		if (in_len < sizeof(*lk))
			break;
		rp->copy_len = sizeof(*lk);
		rp->want_len = offsetof(struct zufs_lookup, name);
		ret = name_get(&lk->name, name);
		if (ret)
			break;
		ret = -ENOENT;
		if (!iget_(fi, lk->dir))
			break;
		d = dent_find(fi, lk->dir, name);
		n = d ? iget_(fi, d->ino) : NULL;
		if (!n)
			break;
		lk->attr = n->a;
		ret = 0;
		break;
	}
	case ZUFS_OP_CREATE:
	case ZUFS_OP_MKDIR:
	case ZUFS_OP_SYMLINK:
	case ZUFS_OP_TMPFILE:
		if (in_len < sizeof(struct zufs_create))
			break;
		rp->copy_len = sizeof(struct zufs_create);
		rp->want_len = offsetof(struct zufs_create, name);
		ret = op_create(c, fi, rp, op, in_len);
		break;
	case ZUFS_OP_LINK: {
		struct zufs_link *ln = CMD(struct zufs_link);
		struct fz_ino *n, *d;

		if (in_len < sizeof(*ln))
			break;
		rp->copy_len = sizeof(*ln);
		rp->want_len = offsetof(struct zufs_link, name);
		ret = name_get(&ln->name, name);
		if (ret)
			break;
		n = iget_(fi, ln->ino);
		d = iget_(fi, ln->newdir);
		ret = -ENOENT;
		if (!n || !d)
			break;
		ret = -EPERM;
		if (S_ISDIR(n->a.mode))
			break;
		ret = -EEXIST;
		if (dent_find(fi, d->a.ino, name))
			break;
		ret = dent_add(fi, d->a.ino, name, n->a.ino);
		if (ret)
			break;
		n->a.nlink++;
		n->orphan = 0;
		now_time(&n->a.ctime);
		ln->attr = n->a;
		break;
	}
	case ZUFS_OP_UNLINK:
	case ZUFS_OP_RMDIR: {
		struct zufs_lookup *lk = CMD(struct zufs_lookup);
		struct fz_dent *d;
		struct fz_ino *n, *dir;

		if (in_len < sizeof(*lk))
			break;
		rp->copy_len = sizeof(*lk);
		ret = name_get(&lk->name, name);
		if (ret)
			break;
		ret = -ENOENT;
		dir = iget_(fi, lk->dir);
		d = dir ? dent_find(fi, lk->dir, name) : NULL;
		n = d ? iget_(fi, d->ino) : NULL;
		if (!n)
			break;
		if (op == ZUFS_OP_UNLINK && S_ISDIR(n->a.mode)) {
			ret = -EISDIR;
			break;
		}
		if (op == ZUFS_OP_RMDIR) {
			if (!S_ISDIR(n->a.mode)) {
				ret = -ENOTDIR;
				break;
			}
			if (!dir_empty(fi, n->a.ino)) {
				ret = -ENOTEMPTY;
				break;
			}
			if (dir->a.nlink > 2)
				dir->a.nlink--;
		}
		d->used = 0;
		drop_link(n);
		now_time(&dir->a.mtime);
		ret = 0;
		break;
	}
	case ZUFS_OP_RENAME:
		if (in_len < sizeof(struct zufs_rename))
			break;
		rp->copy_len = sizeof(struct zufs_rename);
		ret = op_rename(fi, rp);
		break;
	case ZUFS_OP_READLINK: {
		struct zufs_readlink *rl = CMD(struct zufs_readlink);
		struct fz_ino *n;

		if (in_len < sizeof(*rl))
			break;
		rp->copy_len = rp->want_len = sizeof(*rl);
		n = iget_(fi, rl->ino);
		ret = -ENOENT;
		if (!n)
			break;
		ret = -EINVAL;
		if (!S_ISLNK(n->a.mode))
			break;
		rl->len = (uint32_t)strlen(n->link);
		memcpy(rp->payload, n->link, rl->len);
		rp->pl_len = rl->len;
		ret = 0;
		break;
	}
	case ZUFS_OP_READDIR:
		if (in_len < sizeof(struct zufs_readdir))
			break;
		rp->copy_len = rp->want_len = sizeof(struct zufs_readdir);
		ret = op_readdir(c, fi, rp);
		break;
	case ZUFS_OP_GETATTR:
	case ZUFS_OP_EVICT: {
		struct zufs_getattr *ga = CMD(struct zufs_getattr);
		struct fz_ino *n;

		if (in_len < sizeof(*ga))
			break;
		rp->copy_len = sizeof(*ga);
		rp->want_len = op == ZUFS_OP_GETATTR ? sizeof(*ga) :
			       sizeof(struct zufs_hdr);
		n = iget_(fi, ga->ino);
		if (op == ZUFS_OP_EVICT) {
			if (n && n->orphan && n->a.ino != ROOT_INO)
				ino_free(fi, n);
			ret = 0;
			break;
		}
		ret = -ENOENT;
		if (!n)
			break;
		ga->attr = n->a;
		ret = 0;
		break;
	}
	case ZUFS_OP_SETATTR:
		if (in_len < sizeof(struct zufs_setattr))
			break;
		rp->copy_len = rp->want_len = sizeof(struct zufs_setattr);
		ret = op_setattr(fi, rp);
		break;
	case ZUFS_OP_READ:
	case ZUFS_OP_WRITE:
		if (in_len < sizeof(struct zufs_rw))
			break;
		rp->copy_len = rp->want_len = sizeof(struct zufs_rw);
		ret = op_rw(c, fi, rp, op == ZUFS_OP_WRITE);
		break;
	case ZUFS_OP_GET_EXTENTS:
		if (in_len < offsetof(struct zufs_get_extents, ext))
			break;
		rp->want_len = offsetof(struct zufs_get_extents, ext);
		ret = op_get_extents(c, fi, rp, m ? m->features : 0);
		break;
	case ZUFS_OP_FALLOCATE:
		if (in_len < sizeof(struct zufs_fallocate))
			break;
		rp->copy_len = sizeof(struct zufs_fallocate);
		ret = op_fallocate(fi, rp);
		break;
	case ZUFS_OP_LLSEEK:
		if (in_len < sizeof(struct zufs_llseek))
			break;
		rp->copy_len = rp->want_len = sizeof(struct zufs_llseek);
		ret = op_llseek(c, fi, rp);
		break;
	case ZUFS_OP_FSYNC:
		if (in_len < sizeof(struct zufs_fsync))
			break;
		rp->copy_len = sizeof(struct zufs_fsync);
		ret = iget_(fi, CMD(struct zufs_fsync)->ino) ? 0 : -ENOENT;
		break;
	case ZUFS_OP_GETXATTR:
	case ZUFS_OP_SETXATTR:
	case ZUFS_OP_LISTXATTR:
	case ZUFS_OP_REMOVEXATTR:
		if (in_len < sizeof(struct zufs_xattr))
			break;
		rp->copy_len = sizeof(struct zufs_xattr);
		rp->want_len = offsetof(struct zufs_xattr, name);
		ret = op_xattr(c, fi, rp, op);
		break;
	default:
		ret = -ENOTSUP;
		break;
	}
	pthread_mutex_unlock(&inst_lock[ii]);
	return ret;
}

/* ---- mutations ---------------------------------------------------------- */

enum {
	MK_ERR_VALID, MK_ERR_INVALID, MK_OUTLEN_SHORT, MK_OUTLEN_HUGE, MK_SEQ,
	MK_OP, MK_FAKE_SUCCESS, MK_ATTR_INO, MK_ATTR_MODE, MK_ATTR_SIZE,
	MK_ATTR_TIME, MK_ATTR_IDS, MK_ATTR_GEN, MK_DIRENT, MK_DIR_BYTES,
	MK_DIR_MORE, MK_LINK_LEN, MK_XATTR_LEN, MK_RW, MK_EXTENT, MK_EXT_N,
	MK_LLSEEK, MK_STATFS, MK_MOUNT, MK_GARBAGE, MK_DROP, MK_SLOW, MK_LATE,
	MK_NKINDS
};
static const char *const mk_names[MK_NKINDS] = {
	"errno-valid", "errno-invalid", "out_len-short", "out_len-huge", "seq",
	"op", "fake-success", "attr-ino", "attr-mode", "attr-size",
	"attr-time", "attr-uid-gid", "attr-generation", "dirent", "dir-bytes",
	"dir-endless-more", "readlink-len", "xattr-len", "rw-done-size",
	"extent", "extent-count", "llseek", "statfs", "mount", "garbage",
	"drop-command", "slow", "late-past-timeout",
};

static uint64_t pick_ino(struct chan *c, struct fz_inst *fi, uint64_t self,
			 uint64_t parent)
{
	switch (rnd(&c->rng, 7)) {
	case 0:
		return 0;
	case 1:
		return parent ? parent : ROOT_INO;
	case 2:
		return ~0ULL - rnd(&c->rng, 3);
	case 3:
		return self ^ (1ULL << 16);	/* stale generation */
	case 4:
		return ROOT_INO;
	case 5:
		return (uint64_t)1 << (20 + rnd(&c->rng, 44));
	default:
		for (int t = 0; fi && t < 8; t++) {
			struct fz_ino *n = &fi->ino[1 + rnd(&c->rng, MAXI - 1)];

			if (n->used)
				return n->a.ino;
		}
		return self + 1;
	}
}

static void mutate_attr(struct chan *c, struct fz_inst *fi,
			struct zufs_attr *a, uint64_t parent, int kind)
{
	static const uint32_t types[] = {
		S_IFREG, S_IFDIR, S_IFLNK, S_IFCHR, S_IFBLK, S_IFIFO, S_IFSOCK,
		0, 0170000, 0030000, 0110000,
	};

	switch (kind) {
	case MK_ATTR_INO:
		a->ino = pick_ino(c, fi, a->ino, parent);
		break;
	case MK_ATTR_MODE:
		if (chance(&c->rng, 700))
			a->mode = types[rnd(&c->rng, 11)] | (a->mode & 07777);
		else
			a->mode |= 1u << (16 + rnd(&c->rng, 16));
		break;
	case MK_ATTR_SIZE:
		switch (rnd(&c->rng, 5)) {
		case 0: a->size = ~0ULL; break;
		case 1: a->size = (uint64_t)LLONG_MAX + 1; break;
		case 2: a->size = 0; break;
		case 3: a->size = 4096; break;	/* symlink: PATH_MAX */
		default: a->size = rng_next(&c->rng); break;
		}
		if (chance(&c->rng, 300))
			a->blocks = ~0ULL;
		break;
	case MK_ATTR_TIME:
		a->mtime.nsec = 1000000000u + (uint32_t)rnd(&c->rng, 1000);
		if (chance(&c->rng, 500))
			a->atime.sec = LLONG_MIN;
		break;
	case MK_ATTR_IDS:
		if (chance(&c->rng, 500))
			a->uid = (uint32_t)-1;
		else
			a->gid = (uint32_t)-1;
		if (chance(&c->rng, 300))
			a->nlink = chance(&c->rng, 500) ? 0 : ~0u;
		break;
	default:	/* MK_ATTR_GEN */
		a->generation += 1 + rnd(&c->rng, 3);
		if (chance(&c->rng, 300))
			a->rdev = (uint32_t)rng_next(&c->rng);
		break;
	}
}

static struct zufs_attr *attr_of(struct rep *rp, uint32_t op)
{
	switch (op) {
	case ZUFS_OP_LOOKUP:
		return &CMD(struct zufs_lookup)->attr;
	case ZUFS_OP_CREATE: case ZUFS_OP_MKDIR: case ZUFS_OP_SYMLINK:
	case ZUFS_OP_TMPFILE:
		return &CMD(struct zufs_create)->attr;
	case ZUFS_OP_LINK:
		return &CMD(struct zufs_link)->attr;
	case ZUFS_OP_GETATTR:
		return &CMD(struct zufs_getattr)->attr;
	case ZUFS_OP_SETATTR:
		return &CMD(struct zufs_setattr)->attr;
	}
	return NULL;
}

static void mutate_dirents(struct chan *c, struct rep *rp, int kind)
{
	struct zufs_readdir *rd = CMD(struct zufs_readdir);
	uint8_t *p = rp->payload;
	uint32_t off = 0, nrec = 0, pick;

	if (kind == MK_DIR_BYTES) {
		switch (rnd(&c->rng, 4)) {
		case 0: rd->bytes = ZUFS_PAYLOAD_MAX + 1 + (uint32_t)rnd(&c->rng, 100); break;
		case 1: rd->bytes = rd->bytes ? rd->bytes - 1 - (uint32_t)rnd(&c->rng, rd->bytes) : 7; break;
		case 2: rd->bytes = ~0u; break;
		default: rd->bytes += 8 * (1 + (uint32_t)rnd(&c->rng, 4)); break;
		}
		return;
	}
	if (kind == MK_DIR_MORE) {
		/* the same records again and again, or none at all */
		rd->more = 1;
		if (chance(&c->rng, 500))
			rd->bytes = 0;
		else if (rd->bytes >= sizeof(struct zufs_dirent)) {
			struct zufs_dirent de;

			memcpy(&de, p, sizeof(de));
			de.next = CMD(struct zufs_readdir)->cookie;
			if (!de.next)
				de.next = 1;
			memcpy(p, &de, sizeof(de));
		}
		return;
	}
	/* MK_DIRENT: break one record */
	while (off + sizeof(struct zufs_dirent) <= rd->bytes) {
		struct zufs_dirent de;

		memcpy(&de, p + off, sizeof(de));
		nrec++;
		off += ZUFS_DIRENT_SIZE(de.name_len);
	}
	if (!nrec) {
		struct zufs_dirent de = { rng_next(&c->rng), rng_next(&c->rng),
					  (uint16_t)rng_next(&c->rng), 0, {0} };

		memcpy(p, &de, sizeof(de));
		rd->bytes = sizeof(de);
		return;
	}
	pick = (uint32_t)rnd(&c->rng, nrec);
	for (off = 0; pick--;) {
		struct zufs_dirent de;

		memcpy(&de, p + off, sizeof(de));
		off += ZUFS_DIRENT_SIZE(de.name_len);
	}
	{
		struct zufs_dirent de;
		char *name = (char *)p + off + sizeof(de);

		memcpy(&de, p + off, sizeof(de));
		switch (rnd(&c->rng, 9)) {
		case 0: de.name_len = 0; break;
		case 1: de.name_len = 256 + (uint16_t)rnd(&c->rng, 60000); break;
		case 2: if (de.name_len) name[rnd(&c->rng, de.name_len)] = '/'; break;
		case 3: if (de.name_len) name[rnd(&c->rng, de.name_len)] = '\0'; break;
		case 4: de.ino = 0; break;
		case 5: de.next = 0; break;
		case 6: de.next = (uint64_t)LLONG_MAX + 1 + rnd(&c->rng, 5); break;
		case 7: de.type = 16 + (uint8_t)rnd(&c->rng, 240); break;
		default: de.ino = ~0ULL; break;	/* legal: any number */
		}
		memcpy(p + off, &de, sizeof(de));
	}
}

static void mutate_extents(struct chan *c, struct rep *rp, int kind)
{
	struct zufs_get_extents *ge = CMD(struct zufs_get_extents);
	struct zufs_extent *e;
	uint32_t n = ge->n;

	if (kind == MK_EXT_N) {
		switch (rnd(&c->rng, 3)) {
		case 0: ge->n = 0; break;
		case 1: ge->n = ZUFS_MAX_EXTENTS + 1; break;
		default: ge->n = ~0u - (uint32_t)rnd(&c->rng, 10); break;
		}
		if (chance(&c->rng, 300))
			ge->size = ~0ULL;
		return;
	}
	if (!n || n > ZUFS_MAX_EXTENTS)
		return;
	e = &ge->ext[rnd(&c->rng, n)];
	switch (rnd(&c->rng, 12)) {
	case 0: e->pmem_off = pm_size + BLK * rnd(&c->rng, 1000); break;
	case 1: e->pmem_off = pm_size - BLK; e->len += BLK; break;
	case 2: e->pmem_off += 1 + rnd(&c->rng, BLK - 1); break;
	case 3: e->file_off += 1 + rnd(&c->rng, BLK - 1); break;
	case 4: e->len = rnd(&c->rng, 2) ? 0 : e->len + 1; break;
	case 5:	/* overlapping the one before */
		if (e != ge->ext)
			e->file_off = e[-1].file_off;
		else
			e->file_off += e->len;	/* pos not in the first */
		break;
	case 6: e->pmem_off = ZUFS_EXTENT_MAPPED; break;	/* w/o feature? */
	case 7: e->len = ~0ULL - e->file_off + 1 + BLK; break;	/* wraps */
	case 8: e->pmem_off = ZUFS_EXTENT_HOLE; break;	/* a write's hole */
	case 9:	/* another file's blocks: legal, only data goes wrong */
		e->pmem_off = BLK * rnd(&c->rng, pm_size / BLK ? pm_size / BLK - 64 : 1);
		if (e->len > 64 * BLK)
			e->len = 64 * BLK;
		break;
	case 10: e->pmem_off = ~0ULL - 2 - rnd(&c->rng, 4096); break;
	default: e->file_off = (uint64_t)LLONG_MAX & ~(uint64_t)(BLK - 1); break;
	}
}

static void mutate_payload_len(struct chan *c, struct rep *rp, uint32_t op)
{
	if (op == ZUFS_OP_READLINK) {
		struct zufs_readlink *rl = CMD(struct zufs_readlink);

		switch (rnd(&c->rng, 5)) {
		case 0: rl->len = 0; break;
		case 1: rl->len = 4096 + (uint32_t)rnd(&c->rng, 100); break;
		case 2: rl->len = ZUFS_PAYLOAD_MAX + 1; break;
		case 3: rl->len = 4095; break;	/* NUL inside */
		default:
			if (rl->len)
				rp->payload[rnd(&c->rng, rl->len)] = '\0';
			break;
		}
		return;
	}
	{
		struct zufs_xattr *x = CMD(struct zufs_xattr);

		switch (rnd(&c->rng, 5)) {
		case 0: x->len = (uint32_t)rp->sz_in + 1 + (uint32_t)rnd(&c->rng, 100); break;
		case 1: x->len = 65537 + (uint32_t)rnd(&c->rng, 1 << 20); break;
		case 2: x->len = ~0u; break;
		case 3:	/* a list without its final NUL */
			if (x->len)
				rp->payload[x->len - 1] = 'x';
			break;
		default: x->len = (uint32_t)rnd(&c->rng, ZUFS_PAYLOAD_MAX); break;
		}
	}
}

static const int errs_invalid[] = {
	-134, -512, -513, -514, -515, -516, -517, -518, -529, -4095, -1000000,
	INT_MIN, 1, 2, 0x7fffffff,
};

/* The generic mutations: kind i when x (0..99) < below, first match. */
static const struct {
	uint8_t below;
	int kind;
} mk_odds[] = {
	{ 8, MK_ERR_VALID }, { 14, MK_ERR_INVALID }, { 19, MK_OUTLEN_SHORT },
	{ 22, MK_OUTLEN_HUGE }, { 25, MK_SEQ }, { 27, MK_OP },
	{ 31, MK_FAKE_SUCCESS }, { 33, MK_GARBAGE }, { 35, MK_DROP },
	{ 39, MK_SLOW }, { 40, MK_LATE },
};
#define NODDS	(sizeof(mk_odds) / sizeof(mk_odds[0]))

/* Make the reply wrong; returns the kind (or -1: left alone). */
static int mutate_reply(struct chan *c, struct rep *rp, uint32_t op,
			struct fz_inst *fi)
{
	struct zufs_attr *a = rp->r ? NULL : attr_of(rp, op);
	int kind;

	for (int tries = 0; tries < 8; tries++) {
		uint64_t x = rnd(&c->rng, 100);

		unsigned int w = 0;

		while (w < NODDS && x >= mk_odds[w].below)
			w++;
		if (w < NODDS)
			kind = mk_odds[w].kind;
		else if (x < 70)
			kind = MK_ATTR_INO + (int)rnd(&c->rng, 6);
		else
			kind = MK_DIRENT + (int)rnd(&c->rng, 3);

		if (kind >= MK_ATTR_INO && kind <= MK_ATTR_GEN) {
			if (a) {
				mutate_attr(c, fi, a, CMD(struct zufs_lookup)->dir,
					    kind);
				return kind;
			}
			if (op == ZUFS_OP_READDIR && !rp->r)
				kind = MK_DIRENT + (int)rnd(&c->rng, 3);
			else if ((op == ZUFS_OP_READLINK ||
				  op == ZUFS_OP_GETXATTR ||
				  op == ZUFS_OP_LISTXATTR) && !rp->r)
				kind = op == ZUFS_OP_READLINK ? MK_LINK_LEN :
				       MK_XATTR_LEN;
			else if ((op == ZUFS_OP_READ || op == ZUFS_OP_WRITE) &&
				 !rp->r)
				kind = MK_RW;
			else if (op == ZUFS_OP_GET_EXTENTS && !rp->r)
				kind = rnd(&c->rng, 5) ? MK_EXTENT : MK_EXT_N;
			else if (op == ZUFS_OP_LLSEEK && !rp->r)
				kind = MK_LLSEEK;
			else
				continue;
		}
		if (kind >= MK_DIRENT && kind <= MK_DIR_MORE) {
			if (op == ZUFS_OP_READDIR && !rp->r) {
				mutate_dirents(c, rp, kind);
				return kind;
			}
			continue;
		}
		switch (kind) {
		case MK_ERR_VALID:
			rp->r = -(int)(1 + rnd(&c->rng, 133));
			return kind;
		case MK_ERR_INVALID:
			rp->r = errs_invalid[rnd(&c->rng, sizeof(errs_invalid) /
						       sizeof(errs_invalid[0]))];
			return kind;
		case MK_OUTLEN_SHORT:
			if (rp->r || rp->want_len <= sizeof(struct zufs_hdr))
				continue;
			rp->want_len = (uint32_t)rnd(&c->rng, rp->want_len);
			return kind;
		case MK_OUTLEN_HUGE:
			rp->want_len = rnd(&c->rng, 2) ? ~0u :
				ZUFS_CHAN_CMD_SIZE + 1 + (uint32_t)rnd(&c->rng, 4096);
			return kind;
		case MK_SEQ:
			rp->u.h.seq += rnd(&c->rng, 2) ? 1 : (uint64_t)-1;
			return kind;
		case MK_OP:
			rp->u.h.op = (uint32_t)rnd(&c->rng, 80);
			return kind;
		case MK_FAKE_SUCCESS:
			if (!rp->r)
				continue;
			/* "success" with whatever the fields hold */
			rp->r = 0;
			return kind;
		case MK_GARBAGE: {
			uint32_t n = rp->copy_len > sizeof(struct zufs_hdr) ?
				     rp->copy_len - sizeof(struct zufs_hdr) : 0;

			for (uint32_t i = 0; i < n; i++)
				if (chance(&c->rng, 200))
					rp->u.b[sizeof(struct zufs_hdr) + i] =
						(uint8_t)rng_next(&c->rng);
			return kind;
		}
		case MK_DROP: case MK_SLOW: case MK_LATE:
			return kind;
		case MK_LINK_LEN: case MK_XATTR_LEN:
			mutate_payload_len(c, rp, op);
			return kind;
		case MK_RW: {
			struct zufs_rw *rw = CMD(struct zufs_rw);

			switch (rnd(&c->rng, 4)) {
			case 0: rw->done = rw->len + 1 + rnd(&c->rng, 1 << 20); break;
			case 1: rw->done = ~0ULL; break;
			case 2: rw->new_size = rw->offset + rw->done - 1 - rnd(&c->rng, 10); break;
			default: rw->new_size = (uint64_t)LLONG_MAX + 1 + rnd(&c->rng, 100); break;
			}
			return kind;
		}
		case MK_EXTENT: case MK_EXT_N:
			mutate_extents(c, rp, kind);
			return kind;
		case MK_LLSEEK: {
			struct zufs_llseek *ls = CMD(struct zufs_llseek);

			ls->offset = rnd(&c->rng, 2) ? ls->offset - 1 - rnd(&c->rng, 10) :
				     ls->offset + (1ULL << (20 + rnd(&c->rng, 40)));
			return kind;
		}
		}
	}
	return -1;
}

/* ---- channel worker ----------------------------------------------------- */

static int serve_mount_op(struct chan *c, struct rep *rp, uint32_t op,
			  uint32_t in_len);

static void die_now(int kind) __attribute__((noreturn));
static void die_now(int kind)
{
	STAT_INC(deaths[kind]);
	logf_("dying: %s", death_names[kind]);
	switch (kind) {
	case D_EXIT:
		exit(0);
	case D_ABORT:
		signal(SIGABRT, SIG_DFL);
		abort();
	case D_KILL:
		raise(SIGKILL);
		break;
	case D_SEGV:
		signal(SIGSEGV, SIG_DFL);
		fault_jb = NULL;
		raise(SIGSEGV);
		break;
	default:
		break;
	}
	_exit(3);
}

static void reply_write(struct chan *c, struct rep *rp, uint32_t op,
			uint64_t seq)
{
	struct zufs_hdr *h = &rp->u.h;

	h->op = op;
	h->seq = seq;
	if (rp->r) {
		h->err = rp->r;
		h->out_len = sizeof(*h);
	} else {
		h->err = 0;
		h->out_len = rp->want_len;
	}
}

static int mutation_rate(void)
{
	return hostile() ? (int)opt_mutate : 0;
}

/* per reply: mutate, hang, die; returns false to drop the command */
static bool hostile_reply(struct chan *c, struct rep *rp, uint32_t op,
			  uint64_t seq, struct fz_inst *fi)
{
	int kind = -1;

	reply_write(c, rp, op, seq);
	if (!hostile())
		return true;
	if (atomic_load(&die_in_cmd))
		die_now(chance(&c->rng, 500) ? D_MIDCMD : D_SEGV);
	if (atomic_load(&hang_all)) {
		sleep_ms((opt_timeout + 2) * 1000);
		die_now(D_HANG);
	}
	if (chance(&c->rng, (unsigned int)mutation_rate()))
		kind = mutate_reply(c, rp, op, fi);
	if (kind < 0)
		return true;
	STAT_INC(mutated[op < NOPS ? op : 0]);
	STAT_INC(mut_kind[kind]);
	if (kind == MK_DROP) {
		STAT_INC(dropped);
		return false;
	}
	if (kind == MK_SLOW) {
		STAT_INC(slow);
		sleep_ms((unsigned int)rnd(&c->rng, 300));
	}
	if (kind == MK_LATE) {
		STAT_INC(late);
		sleep_ms(opt_timeout * 1000 + 500 + (unsigned int)rnd(&c->rng, 1500));
	}
	/* keep op/seq mutations, rewrite err/out_len from rp */
	{
		uint32_t mop = rp->u.h.op;
		uint64_t mseq = rp->u.h.seq;

		reply_write(c, rp, mop, mseq);
	}
	return true;
}

static void *worker_main(void *arg)
{
	struct chan *c = arg;
	bool mount = c->idx == ZUFS_CHAN_MOUNT;
	unsigned long req = mount ? ZU_IOC_MOUNT_WAIT : ZU_IOC_WAIT;
	struct zufs_ioc_wait w = { 0 };
	static __thread struct rep rp;
	int fd;

	atomic_store(&c->ready, 1);
	for (;;) {
		uint32_t op, in_len;
		uint64_t seq;
		bool send;

		fd = atomic_load(&c->fd);
		if (fd < 0 || ioctl(fd, req, &w) < 0) {
			int e = fd < 0 ? EBADF : errno;

			if (e == EINTR || e == EAGAIN) {
				w.flags = 0;
				continue;
			}
			/* BREAK, a closed/replaced fd...: a new channel fd */
			pthread_mutex_lock(&c->lk);
			chan_close(c);
			while (chan_open(c))
				sleep_ms(20);
			pthread_mutex_unlock(&c->lk);
			STAT_INC(reopen);
			w.flags = 0;
			continue;
		}
		/* read the command once */
		memcpy(rp.u.b, c->buf, sizeof(rp.u.b));
		rp.payload = c->buf + ZUFS_PAYLOAD_OFF;
		rp.pl_len = 0;
		rp.sz_in = 0;
		op = rp.u.h.op;
		in_len = rp.u.h.in_len;
		seq = w.seq;
		atomic_store(&c->cur_op, op);
		if (in_len < sizeof(struct zufs_hdr) || in_len > ZUFS_PAYLOAD_OFF ||
		    rp.u.h.seq != seq) {
			rp.r = -EINVAL;
			rp.copy_len = rp.want_len = sizeof(struct zufs_hdr);
		} else if (mount) {
			rp.r = -EINVAL;	/* set below */
		}
		if (op < NOPS)
			STAT_INC(served[op]);
		if (mount) {
			if (in_len >= sizeof(struct zufs_hdr) &&
			    in_len <= ZUFS_PAYLOAD_OFF && rp.u.h.seq == seq)
				rp.r = serve_mount_op(c, &rp, op, in_len);
			send = hostile_reply(c, &rp, op, seq, NULL);
		} else {
			struct fz_inst *fi = NULL;

			if (in_len >= sizeof(struct zufs_hdr) &&
			    in_len <= ZUFS_PAYLOAD_OFF && rp.u.h.seq == seq &&
			    (op == ZUFS_OP_STATFS || op == ZUFS_OP_SYNC)) {
				/* ZUFS_FEATURE_CHAN_STATFS: on the channels */
				rp.r = serve_mount_op(c, &rp, op, in_len);
			} else if (in_len >= sizeof(struct zufs_hdr) &&
			    in_len <= ZUFS_PAYLOAD_OFF && rp.u.h.seq == seq) {
				rp.r = serve_chan_op(c, &rp, op, in_len);
				fi = inst_of(rp.u.h.sb_id, NULL);
			}
			send = hostile_reply(c, &rp, op, seq, fi);
			/* legal: invalidate while serving (server holds locks) */
			if (hostile() && fi && fi->pm && chance(&c->rng, 20)) {
				uint64_t sb = rp.u.h.sb_id;
				struct fz_ino *n = &fi->ino[1 + rnd(&c->rng, MAXI - 1)];

				do_invalidate(atomic_load(&c->fd), sb,
					      n->used ? n->a.ino : rng_next(&c->rng),
					      BLK * rnd(&c->rng, FBLK),
					      BLK * rnd(&c->rng, 64));
			}
		}
		if (rp.copy_len > sizeof(rp.u.b))
			rp.copy_len = sizeof(rp.u.b);
		if (rp.copy_len < sizeof(struct zufs_hdr))
			rp.copy_len = sizeof(struct zufs_hdr);
		memcpy(c->buf, rp.u.b, rp.copy_len);
		w.flags = send ? ZUFS_WAIT_HAS_RESULT : 0;
		atomic_fetch_add(&c->replies, 1);
	}
	return NULL;
}

/* ---- the mount thread --------------------------------------------------- */

static uint64_t type_features(unsigned int inst, const char *options)
{
	uint64_t f = ZUFS_FEATURE_MAP | ZUFS_FEATURE_XATTR | ZUFS_FEATURE_ACL |
		     ZUFS_FEATURE_TMPFILE | ZUFS_FEATURE_RESTART;

	if (inst == 1) {
		f |= ZUFS_FEATURE_DIRECT | ZUFS_FEATURE_DAX_MMAP;
		if (!options || !strstr(options, "nomapped"))
			f |= ZUFS_FEATURE_EXT_MAPPED;
	}
	return f;
}

static int grab_pmem(int fd, uint32_t id)
{
	struct zufs_ioc_grab_pmem g = { .pmem_id = id };
	void *p;

	if (ioctl(fd, ZU_IOC_GRAB_PMEM, &g) < 0)
		return -errno;
	pthread_mutex_lock(&pm_lock);
	if (pm_base) {
		pthread_mutex_unlock(&pm_lock);
		close(g.fd);
		return 0;
	}
	p = mmap(NULL, g.size, PROT_READ | PROT_WRITE, MAP_SHARED, g.fd, 0);
	close(g.fd);
	if (p == MAP_FAILED) {
		pthread_mutex_unlock(&pm_lock);
		return -errno;
	}
	pm_size = g.size;
	pm_base = p;
	pthread_mutex_unlock(&pm_lock);
	return 0;
}

static int serve_mount_op(struct chan *c, struct rep *rp, uint32_t op,
			  uint32_t in_len)
{
	rp->copy_len = rp->want_len = sizeof(struct zufs_hdr);
	switch (op) {
	case ZUFS_OP_MOUNT: {
		struct zufs_mount *m = CMD(struct zufs_mount);
		struct fz_mount *fm;
		unsigned int inst;
		int ret;

		if (in_len < sizeof(*m))
			return -EINVAL;
		rp->copy_len = rp->want_len = sizeof(*m);
		m->fstype[ZUFS_FSTYPE_MAX - 1] = '\0';
		m->options[sizeof(m->options) - 1] = '\0';
		if (!strcmp(m->fstype, "zfuzz"))
			inst = 0;
		else if (!strcmp(m->fstype, "zfuzzpm"))
			inst = 1;
		else
			return -ENODEV;
		if (inst == 1) {
			ret = grab_pmem(atomic_load(&c->fd), m->pmem_id);
			if (ret)
				return ret;
		}
		pthread_mutex_lock(&inst_lock[inst]);
		if (!S->inst[inst].inited)
			inst_init(&S->inst[inst], inst == 1);
		if (inst == 1) {
			uint64_t nb = pm_size / BLK;

			S->inst[1].nblocks = (uint32_t)(nb > PM_BLKS ? PM_BLKS : nb);
		}
		pthread_mutex_unlock(&inst_lock[inst]);
		fm = mount_find(m->hdr.sb_id);
		if (m->flags & ZUFS_M_REATTACH) {
			STAT_INC(reattach_served);
			if (!fm)
				return -ENOENT;
		} else {
			if (fm)
				return -EEXIST;
			for (int i = 0; i < MAXMOUNTS && !fm; i++)
				if (!S->mounts[i].used)
					fm = &S->mounts[i];
			if (!fm)
				return -ENOSPC;
			fm->sb_id = m->hdr.sb_id;
			fm->inst = inst;
			fm->features = type_features(inst, m->options);
			fm->used = 1;
		}
		m->root_ino = ROOT_INO;
		m->features = fm->features;
		if (hostile() && chance(&c->rng, (unsigned int)mutation_rate() / 2)) {
			STAT_INC(mut_kind[MK_MOUNT]);
			STAT_INC(mutated[op]);
			switch (rnd(&c->rng, 4)) {
			case 0: m->root_ino = 0; break;
			case 1: m->root_ino = 2 + rnd(&c->rng, 1000); break;
			case 2: m->features |= 1ULL << (8 + rnd(&c->rng, 56)); break;
			default: m->features |= ZUFS_FEATURE_DIRECT; break;
			}
		}
		return 0;
	}
	case ZUFS_OP_UMOUNT: {
		struct fz_mount *fm = mount_find(rp->u.h.sb_id);

		if (!fm)
			return -ENOENT;
		fm->used = 0;
		return 0;
	}
	case ZUFS_OP_REMOUNT:
		if (in_len < sizeof(struct zufs_mount))
			return -EINVAL;
		rp->copy_len = sizeof(struct zufs_mount);
		return mount_find(rp->u.h.sb_id) ? 0 : -ENOENT;
	case ZUFS_OP_STATFS: {
		struct zufs_statfs *st = CMD(struct zufs_statfs);
		struct fz_mount *fm = mount_find(rp->u.h.sb_id);
		struct fz_inst *fi;
		uint64_t used = 0, files = 0;

		if (in_len < sizeof(*st))
			return -EINVAL;
		rp->copy_len = rp->want_len = sizeof(*st);
		if (!fm)
			return -ENOENT;
		fi = &S->inst[fm->inst];
		for (uint32_t i = 0; i < fi->nblocks; i++)
			used += (fi->bmap[i / 8] >> (i % 8)) & 1;
		for (int i = 0; i < MAXI; i++)
			files += fi->ino[i].used;
		st->bsize = BLK;
		st->blocks = fi->nblocks;
		st->bfree = st->bavail = fi->nblocks - used;
		st->files = MAXI;
		st->ffree = MAXI - files;
		st->namelen = ZUFS_NAME_MAX;
		st->fsid = 0x7a66757a7aULL + fm->inst;
		if (hostile() && chance(&c->rng, (unsigned int)mutation_rate())) {
			STAT_INC(mut_kind[MK_STATFS]);
			STAT_INC(mutated[op]);
			switch (rnd(&c->rng, 5)) {
			case 0: st->bsize = rnd(&c->rng, 2) ? 0 : 3000; break;
			case 1: st->bsize = 1ULL << (21 + rnd(&c->rng, 40)); break;
			case 2: st->bfree = st->blocks + 1; break;
			case 3: st->ffree = st->files + 1; break;
			default: st->namelen = rnd(&c->rng, 2) ? 0 : 256; break;
			}
		}
		return 0;
	}
	case ZUFS_OP_SYNC:
		return 0;
	}
	return -ENOTSUP;
}

/* ---- scribblers: write into buffers and windows while the kernel reads --- */

static void *scribbler_main(void *arg)
{
	struct chan *c = arg;
	struct rng r;
	volatile unsigned int last = 0;

	rng_seed(&r, opt_seed, gen, 1000 + c->idx);
	for (;;) {
		unsigned int cur = atomic_load(&c->replies);
		sigjmp_buf jb;
		uint8_t *b, *w;
		int n;

		if (cur == last || !hostile()) {
			sched_yield();
			usleep(200);
			continue;
		}
		last = cur;
		if (!chance(&r, 60))
			continue;
		n = 1 + (int)rnd(&r, 64);
		if (sigsetjmp(jb, 1)) {
			fault_jb = NULL;
			STAT_INC(faults_caught);
			continue;
		}
		fault_jb = &jb;
		b = c->buf;
		w = atomic_load(&c->win);
		if (b && chance(&r, 700)) {
			STAT_INC(scribble_buf);
			for (int i = 0; i < n; i++) {
				/* mostly the header and the reply fields */
				size_t off = chance(&r, 500) ? rnd(&r, 64) :
					     chance(&r, 600) ? rnd(&r, 1024) :
					     rnd(&r, ZUFS_CHAN_CMD_SIZE);

				b[off] = (uint8_t)rng_next(&r);
			}
		} else if (w) {
			/* faults (SIGBUS: not delivered, read-only) are caught */
			STAT_INC(scribble_win);
			for (int i = 0; i < n; i++)
				w[rnd(&r, 64 * 1024)] = (uint8_t)rng_next(&r);
		}
		fault_jb = NULL;
	}
	return NULL;
}

/* ---- ioctl races --------------------------------------------------------- */

struct race_arg {
	int fd;
	unsigned long req;
	void *arg;
	int ret;
	unsigned int busy_tries;	/* retry EBUSY, 1 ms apart */
};

static void *ioctl_thread(void *p)
{
	struct race_arg *ra = p;
	unsigned int i = 0;

	do
		ra->ret = ioctl(ra->fd, ra->req, ra->arg) < 0 ? -errno : 0;
	while (ra->ret == -EBUSY && i++ < ra->busy_tries && (sleep_ms(1), 1));
	return NULL;
}

/* a blocking ioctl in a thread, interrupted (SIGUSR1) after ms */
static int ioctl_timed(int fd, unsigned long req, void *arg, unsigned int ms)
{
	struct race_arg ra = { fd, req, arg, 0, 0 };
	pthread_t t;

	if (pthread_create(&t, NULL, ioctl_thread, &ra))
		return -EAGAIN;
	sleep_ms(ms);
	while (pthread_tryjoin_np(t, NULL)) {
		pthread_kill(t, SIGUSR1);
		sleep_ms(2);
	}
	return ra.ret;
}

static void race_count(int kind, int ret)
{
	STAT_INC(races[kind]);
	STAT_INC(race_results[kind][ret ? 1 : 0]);
}

/* how often each race is picked (relative); disruptive ones less often */
static const unsigned int race_weight[R_NKINDS] = {
	[R_INIT_TWICE] = 10, [R_HANDSHAKE_BOUND] = 6, [R_HANDSHAKE_BAD] = 2,
	[R_BREAK] = 3, [R_REMAP] = 8, [R_CLOSE_WAITING] = 3,
	[R_SECOND_WAIT] = 8, [R_BAD_IOCTL] = 8, [R_BAD_MMAP] = 6,
	[R_GRAB_PMEM] = 5, [R_INVALIDATE] = 12, [R_REGISTER] = 3,
};

static int race_pick(struct rng *r)
{
	unsigned int sum = 0, x;
	int k;

	for (k = 0; k < R_NKINDS; k++)
		sum += race_weight[k];
	x = (unsigned int)rnd(r, sum);
	for (k = 0; k < R_NKINDS - 1 && x >= race_weight[k]; k++)
		x -= race_weight[k];
	return k;
}

static void race_once(struct rng *r)
{
	int kind = race_pick(r);
	struct chan *c = &chans[rnd(r, nchans + 1)];
	int fd, ret = 0;

	if (c == &chans[nchans])
		c = mchan;
	switch (kind) {
	case R_INIT_TWICE: {
		struct zufs_ioc_init_chan ic1 = { 0 }, ic2 = { 0 };
		struct race_arg a1, a2;
		pthread_t t1, t2;
		uint32_t idx = chance(r, 100) ? (uint32_t)rng_next(r) : c->idx;
		bool steal = chance(r, 500);

		fd = ctl_open(ZUFS_FEATURES_ALL, NULL);
		if (fd < 0) {
			ret = fd;
			break;
		}
		/* make the channel free: its worker leaves it and comes back */
		if (steal) {
			pthread_mutex_lock(&c->lk);
			if (atomic_load(&c->fd) >= 0)
				ioctl(atomic_load(&c->fd), ZU_IOC_BREAK);
			pthread_mutex_unlock(&c->lk);
		}
		ic1.cpu = ic2.cpu = idx;
		a1 = (struct race_arg){ fd, ZU_IOC_INIT_CHAN, &ic1, 0,
					steal ? 50 : 0 };
		a2 = (struct race_arg){ fd, ZU_IOC_INIT_CHAN, &ic2, 0,
					steal ? 50 : 0 };
		pthread_create(&t1, NULL, ioctl_thread, &a1);
		pthread_create(&t2, NULL, ioctl_thread, &a2);
		pthread_join(t1, NULL);
		pthread_join(t2, NULL);
		ret = a1.ret && a2.ret ? a1.ret : 0;
		if (!ret)
			sleep_ms((unsigned int)rnd(r, 30));	/* holds it */
		close(fd);
		break;
	}
	case R_HANDSHAKE_BOUND: {
		struct zufs_ioc_handshake h = { ZUFS_MAJOR_VERSION,
						ZUFS_MINOR_VERSION,
						ZUFS_FEATURES_ALL, 0, 0, 0 };

		pthread_mutex_lock(&c->lk);
		fd = atomic_load(&c->fd);
		ret = fd < 0 ? -EBADF :
		      ioctl(fd, ZU_IOC_HANDSHAKE, &h) < 0 ? -errno : 0;
		pthread_mutex_unlock(&c->lk);
		break;
	}
	case R_HANDSHAKE_BAD: {
		struct zufs_ioc_handshake h = { (uint32_t)rng_next(r), 0,
						rng_next(r), 0, 0, 0 };

		fd = open(CONTROL, O_RDWR | O_CLOEXEC);
		if (fd < 0) {
			ret = -errno;
			break;
		}
		ret = ioctl(fd, ZU_IOC_HANDSHAKE, &h) < 0 ? -errno : 0;
		if (chance(r, 500)) {
			struct zufs_ioc_wait w = { 0 };

			ioctl(fd, ZU_IOC_WAIT, &w);	/* unbound: EPROTO/EINVAL */
		}
		close(fd);
		break;
	}
	case R_BREAK:
		pthread_mutex_lock(&c->lk);
		fd = atomic_load(&c->fd);
		ret = fd < 0 ? -EBADF : ioctl(fd, ZU_IOC_BREAK) < 0 ? -errno : 0;
		pthread_mutex_unlock(&c->lk);
		break;
	case R_REMAP: {
		uint8_t *old;
		void *p;

		if (c == mchan)
			break;
		pthread_mutex_lock(&c->lk);
		fd = atomic_load(&c->fd);
		old = atomic_exchange(&c->win, NULL);
		if (old && chance(r, 500)) {
			/* a second window mapping while the first exists */
			p = mmap(NULL, ZUFS_CHAN_WINDOW_SIZE, PROT_READ | PROT_WRITE,
				 MAP_SHARED, fd, ZUFS_CHAN_WINDOW_OFF);
			if (p != MAP_FAILED)
				munmap(p, ZUFS_CHAN_WINDOW_SIZE);
		}
		if (old)
			munmap(old, ZUFS_CHAN_WINDOW_SIZE);
		sleep_ms((unsigned int)rnd(r, 20));
		p = fd < 0 ? MAP_FAILED :
		    mmap(NULL, ZUFS_CHAN_WINDOW_SIZE, PROT_READ | PROT_WRITE,
			 MAP_SHARED, fd, ZUFS_CHAN_WINDOW_OFF);
		if (p != MAP_FAILED)
			atomic_store(&c->win, p);
		else
			ret = -errno;
		pthread_mutex_unlock(&c->lk);
		break;
	}
	case R_CLOSE_WAITING: {
		int nul = open("/dev/null", O_RDWR | O_CLOEXEC);

		pthread_mutex_lock(&c->lk);
		fd = atomic_load(&c->fd);
		/* the worker's ioctl keeps the file; its next one fails */
		ret = fd < 0 || nul < 0 ? -EBADF :
		      dup3(nul, fd, O_CLOEXEC) < 0 ? -errno : 0;
		pthread_mutex_unlock(&c->lk);
		if (nul >= 0)
			close(nul);
		break;
	}
	case R_SECOND_WAIT: {
		struct zufs_ioc_wait w = { 0 };

		fd = dup(atomic_load(&c->fd));
		if (fd < 0) {
			ret = -errno;
			break;
		}
		ret = ioctl_timed(fd, c == mchan ? ZU_IOC_MOUNT_WAIT : ZU_IOC_WAIT,
				  &w, 1 + (unsigned int)rnd(r, 50));
		if (!ret) {
			/* stole a command: answer it with EIO, or drop it */
			struct zufs_hdr h;

			pthread_mutex_lock(&c->lk);
			if (c->buf && chance(r, 700) &&
			    !guarded_copy(&h, c->buf, sizeof(h))) {
				h.err = -EIO;
				h.out_len = sizeof(h);
				h.seq = w.seq;
				guarded_copy(c->buf, &h, sizeof(h));
				w.flags = ZUFS_WAIT_HAS_RESULT;
			}
			pthread_mutex_unlock(&c->lk);
			ioctl_timed(fd, c == mchan ? ZU_IOC_MOUNT_WAIT :
				    ZU_IOC_WAIT, &w, 1);
		}
		close(fd);
		break;
	}
	case R_BAD_IOCTL: {
		struct zufs_ioc_wait w = { (uint32_t)rng_next(r), 0, 0 };
		struct zufs_ioc_init_chan ic = { (uint32_t)rnd(r, nchans + 1),
						 0, 0, 0 };
		unsigned long reqs[] = { ZU_IOC_MOUNT_WAIT, ZU_IOC_WAIT,
					 ZU_IOC_INIT_CHAN, _IO('Z', 99),
					 ZU_IOC_REGISTER_FS };
		unsigned long req = reqs[rnd(r, 5)];

		pthread_mutex_lock(&c->lk);
		fd = dup(atomic_load(&c->fd));
		pthread_mutex_unlock(&c->lk);
		if (fd < 0) {
			ret = -errno;
			break;
		}
		if (req == ZU_IOC_INIT_CHAN)
			ret = ioctl(fd, req, &ic) < 0 ? -errno : 0;
		else if (req == ZU_IOC_REGISTER_FS)
			ret = ioctl(fd, req, (void *)8) < 0 ? -errno : 0;
		else if (req == _IO('Z', 99))
			ret = ioctl(fd, req, 0) < 0 ? -errno : 0;
		else	/* wrong kind of wait or bad flags */
			ret = ioctl_timed(fd, req, &w, 2);
		close(fd);
		break;
	}
	case R_BAD_MMAP: {
		static const struct { uint64_t off, len; } bad[] = {
			{ 0, 4096 }, { 0, 2 * ZUFS_CHAN_CMD_SIZE },
			{ ZUFS_CHAN_WINDOW_OFF, 4096 },
			{ ZUFS_CHAN_WINDOW_OFF + 4096, ZUFS_CHAN_WINDOW_SIZE },
			{ 4096, ZUFS_CHAN_CMD_SIZE }, { 0, ZUFS_CHAN_CMD_SIZE },
		};
		unsigned int k = (unsigned int)rnd(r, 6);
		int flags = chance(r, 200) ? MAP_PRIVATE : MAP_SHARED;
		void *p;

		pthread_mutex_lock(&c->lk);
		fd = atomic_load(&c->fd);
		p = fd < 0 ? MAP_FAILED :
		    mmap(NULL, bad[k].len, PROT_READ | PROT_WRITE, flags, fd,
			 (off_t)bad[k].off);
		pthread_mutex_unlock(&c->lk);
		ret = p == MAP_FAILED ? -errno : 0;
		if (p != MAP_FAILED) {
			volatile uint8_t *q = p;

			(void)q[0];	/* a second view of the buffer */
			munmap(p, bad[k].len);
		}
		break;
	}
	case R_GRAB_PMEM: {
		struct zufs_ioc_grab_pmem g = { .pmem_id = (uint32_t)rnd(r, 4) };

		if (chance(r, 300))
			g.pmem_id = (uint32_t)rng_next(r);
		ret = ioctl(main_fd, ZU_IOC_GRAB_PMEM, &g) < 0 ? -errno : 0;
		if (!ret) {
			void *p = mmap(NULL, BLK, PROT_READ, MAP_SHARED, g.fd,
				       (off_t)(chance(r, 300) ?
					       g.size : 0));

			if (p != MAP_FAILED)
				munmap(p, BLK);
			close(g.fd);
		}
		break;
	}
	case R_INVALIDATE: {
		struct zufs_ioc_invalidate inv = { 0 };
		uint64_t sb = 0;

		if (sb_of_inst(rnd(r, 2), &sb) || chance(r, 200))
			sb = rng_next(r) % 8;
		inv.sb_id = sb;
		inv.ino = chance(r, 300) ? rng_next(r) :
			  S->inst[1].ino[rnd(r, MAXI)].a.ino;
		inv.offset = chance(r, 200) ? rng_next(r) : BLK * rnd(r, FBLK);
		inv.len = chance(r, 200) ? rng_next(r) : BLK * rnd(r, 128);
		ret = ioctl(main_fd, ZU_IOC_INVALIDATE, &inv) < 0 ? -errno : 0;
		STAT_INC(invalidates);
		break;
	}
	case R_REGISTER: {
		struct zufs_ioc_register_fs rf = { .magic = 0x7a66 };

		switch (rnd(r, 4)) {
		case 0:	/* same name, other flags: EEXIST */
			snprintf(rf.fstype, sizeof(rf.fstype), "zfuzz");
			rf.features = ZUFS_FEATURE_MAP;
			break;
		case 1:
			memcpy(rf.fstype, "bad/name", 8);
			rf.flags = ZUFS_REGFS_NODEV;
			break;
		case 2:
			memset(rf.fstype, 'a', sizeof(rf.fstype));
			rf.flags = ZUFS_REGFS_NODEV;
			break;
		default:
			snprintf(rf.fstype, sizeof(rf.fstype), "zfuzz");
			rf.flags = ZUFS_REGFS_NODEV | 2;
			rf.features = ZUFS_FEATURE_DIRECT | (1ULL << 40);
			break;
		}
		ret = ioctl(main_fd, ZU_IOC_REGISTER_FS, &rf) < 0 ? -errno : 0;
		break;
	}
	}
	race_count(kind, ret);
}

static void *racer_main(void *arg)
{
	struct rng r;

	(void)arg;
	rng_seed(&r, opt_seed, gen, 2000);
	for (;;) {
		sleep_ms(10 + (unsigned int)rnd(&r, 200));
		if (hostile())
			race_once(&r);
	}
	return NULL;
}

/* death at a random moment of the hostile phase */
static void *reaper_main(void *arg)
{
	struct rng r;
	uint64_t ms;
	int kind;

	(void)arg;
	rng_seed(&r, opt_seed, gen, 3000);
	/* exponential-ish lifetime: mean opt_death_mean seconds */
	ms = 200 + rnd(&r, 2ULL * opt_death_mean * 1000);
	for (uint64_t t = 0; t < ms; t += 50) {
		sleep_ms(50);
		if (!hostile())
			t = 0;
	}
	kind = (int)rnd(&r, D_NKINDS);
	if (kind == D_MIDCMD || kind == D_SEGV) {
		atomic_store(&die_in_cmd, 1);
		sleep_ms(2000);		/* no command came: go anyway */
		die_now(D__EXIT);
	}
	if (kind == D_HANG) {
		logf_("hanging for %us", opt_timeout + 2);
		atomic_store(&hang_all, 1);
		sleep_ms((opt_timeout + 3) * 1000);
		die_now(D_HANG);
	}
	die_now(kind);
}

/* ---- a server process --------------------------------------------------- */

static int register_types(int fd)
{
	struct zufs_ioc_register_fs rf = { 0 };

	snprintf(rf.fstype, sizeof(rf.fstype), "zfuzz");
	rf.features = type_features(0, NULL);
	rf.magic = 0x7a667a31;
	rf.flags = ZUFS_REGFS_NODEV;
	if (ioctl(fd, ZU_IOC_REGISTER_FS, &rf) < 0)
		return -errno;
	memset(&rf, 0, sizeof(rf));
	snprintf(rf.fstype, sizeof(rf.fstype), "zfuzzpm");
	rf.features = type_features(1, NULL);
	rf.magic = 0x7a667a32;
	if (ioctl(fd, ZU_IOC_REGISTER_FS, &rf) < 0)
		return -errno;
	return 0;
}

static void server_run(void) __attribute__((noreturn));
static void server_run(void)
{
	struct sigaction sa = { 0 };
	struct rng r;
	uint64_t want = ZUFS_FEATURES_ALL, granted = 0;
	pthread_t t;
	int ret;

	sa.sa_handler = fault_handler;
	sa.sa_flags = SA_NODEFER;
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	sa.sa_handler = nop_handler;
	sa.sa_flags = 0;
	sigaction(SIGUSR1, &sa, NULL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGUSR2, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);

	rng_seed(&r, opt_seed, gen, 0);
	for (int i = 0; i < NINST; i++) {
		pthread_mutex_init(&inst_lock[i], NULL);
		inst_repair(&S->inst[i]);
	}
	/* rarely: a degraded server that cannot take the mounts back */
	if (hostile() && chance(&r, 40)) {
		want &= ~(rnd(&r, 2) ? ZUFS_FEATURE_XATTR : ZUFS_FEATURE_DIRECT);
		logf_("degraded handshake: features %#llx",
		      (unsigned long long)want);
	}
	main_fd = ctl_open(want, &granted);
	if (main_fd < 0) {
		logf_("handshake: %s", strerror(-main_fd));
		_exit(2);
	}
	ret = register_types(main_fd);
	if (ret) {
		logf_("register_fs: %s", strerror(-ret));
		_exit(2);
	}
	if (nchans > MAX_CHANS)
		nchans = MAX_CHANS;
	for (unsigned int i = 0; i <= nchans; i++) {
		struct chan *c = &chans[i];

		c->idx = i == nchans ? ZUFS_CHAN_MOUNT : i;
		atomic_store(&c->fd, -1);
		pthread_mutex_init(&c->lk, NULL);
		rng_seed(&c->rng, opt_seed, gen, 100 + i);
		c->handshake_features = want;
		ret = chan_open(c);
		if (ret) {
			logf_("channel %u: %s", i, strerror(-ret));
			_exit(2);
		}
		pthread_create(&c->tid, NULL, worker_main, c);
		if (i < nchans)
			pthread_create(&c->scrib_tid, NULL, scribbler_main, c);
	}
	mchan = &chans[nchans];
	pthread_create(&t, NULL, racer_main, NULL);
	pthread_create(&t, NULL, reaper_main, NULL);
	logf_("serving (seed %llu, %u channels, features %#llx, %s)",
	      (unsigned long long)opt_seed, nchans,
	      (unsigned long long)granted, hostile() ? "hostile" :
	      atomic_load(&S->phase) == 2 ? "calm again" : "calm");
	for (;;)
		pause();
}

/* ---- the supervisor ---------------------------------------------------- */

static volatile sig_atomic_t sig_go, sig_end, sig_term;

/*
 * The supervisor keeps its signals blocked except while it sleeps, so a
 * USR1 cannot land between its look at the flags and its wait and be left
 * unseen until the hostile server happens to die.
 */
static sigset_t sup_sleep_mask;

static void sup_handler(int sig)
{
	if (sig == SIGUSR2)
		sig_go = 1;
	else if (sig == SIGUSR1)
		sig_end = 1;
	else if (sig != SIGCHLD)
		sig_term = 1;
}

/* act on the signals that came; child is the running server, or 0 */
static void sup_signals(pid_t child)
{
	if (sig_go) {
		sig_go = 0;
		atomic_store(&S->phase, 1);
		fprintf(stderr, "zuf-fuzz: hostile phase\n");
	}
	if (sig_end && atomic_load(&S->phase) != 2) {
		atomic_store(&S->phase, 2);
		fprintf(stderr, "zuf-fuzz: calm phase: killing the hostile server\n");
		if (child)
			kill(child, SIGKILL);
	}
	if (sig_term && child)
		kill(child, SIGKILL);
}

/* the pause before a restart; the end of the hostile phase cuts it short */
static void sup_pause(unsigned int ms)
{
	struct timespec end, now, left;

	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += ms / 1000;
	end.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (end.tv_nsec >= 1000000000L) {
		end.tv_sec++;
		end.tv_nsec -= 1000000000L;
	}
	while (!sig_end && !sig_term) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		left.tv_sec = end.tv_sec - now.tv_sec;
		left.tv_nsec = end.tv_nsec - now.tv_nsec;
		if (left.tv_nsec < 0) {
			left.tv_sec--;
			left.tv_nsec += 1000000000L;
		}
		if (left.tv_sec < 0)
			break;
		ppoll(NULL, 0, &left, &sup_sleep_mask);
	}
}

static void summary(void)
{
	struct fz_stats *st = &S->st;
	uint64_t total = 0, mut = 0, deaths = 0, races = 0;
	static const char *const opn[NOPS] = {
		[ZUFS_OP_MOUNT] = "mount", [ZUFS_OP_UMOUNT] = "umount",
		[ZUFS_OP_REMOUNT] = "remount", [ZUFS_OP_STATFS] = "statfs",
		[ZUFS_OP_SYNC] = "sync", [ZUFS_OP_LOOKUP] = "lookup",
		[ZUFS_OP_CREATE] = "create", [ZUFS_OP_MKDIR] = "mkdir",
		[ZUFS_OP_SYMLINK] = "symlink", [ZUFS_OP_LINK] = "link",
		[ZUFS_OP_UNLINK] = "unlink", [ZUFS_OP_RMDIR] = "rmdir",
		[ZUFS_OP_RENAME] = "rename", [ZUFS_OP_TMPFILE] = "tmpfile",
		[ZUFS_OP_READLINK] = "readlink", [ZUFS_OP_READDIR] = "readdir",
		[ZUFS_OP_GETATTR] = "getattr", [ZUFS_OP_SETATTR] = "setattr",
		[ZUFS_OP_EVICT] = "evict", [ZUFS_OP_READ] = "read",
		[ZUFS_OP_WRITE] = "write", [ZUFS_OP_GET_EXTENTS] = "get_extents",
		[ZUFS_OP_FALLOCATE] = "fallocate", [ZUFS_OP_LLSEEK] = "llseek",
		[ZUFS_OP_FSYNC] = "fsync", [ZUFS_OP_GETXATTR] = "getxattr",
		[ZUFS_OP_SETXATTR] = "setxattr", [ZUFS_OP_LISTXATTR] = "listxattr",
		[ZUFS_OP_REMOVEXATTR] = "removexattr",
	};

	printf("zuf-fuzz summary: seed %llu\n", (unsigned long long)opt_seed);
	printf("  commands per op (served / mutated):\n");
	for (int i = 0; i < NOPS; i++) {
		total += st->served[i];
		mut += st->mutated[i];
		if (st->served[i] || st->mutated[i])
			printf("    %-12s %10llu / %llu\n", opn[i] ? opn[i] : "?",
			       (unsigned long long)st->served[i],
			       (unsigned long long)st->mutated[i]);
	}
	printf("  mutations by kind:");
	for (int i = 0; i < MK_NKINDS; i++)
		if (st->mut_kind[i])
			printf(" %s=%llu", mk_names[i],
			       (unsigned long long)st->mut_kind[i]);
	printf("\n  deaths:");
	for (int i = 0; i < D_NKINDS; i++) {
		deaths += st->deaths[i];
		printf(" %s=%llu", death_names[i],
		       (unsigned long long)st->deaths[i]);
	}
	printf("\n  ioctl races (ok/failed):");
	for (int i = 0; i < R_NKINDS; i++) {
		races += st->races[i];
		printf(" %s=%llu/%llu", race_names[i],
		       (unsigned long long)st->race_results[i][0],
		       (unsigned long long)st->race_results[i][1]);
	}
	printf("\n  scribbles: buffer %llu window %llu, faults caught %llu\n",
	       (unsigned long long)st->scribble_buf,
	       (unsigned long long)st->scribble_win,
	       (unsigned long long)st->faults_caught);
	printf("  dropped %llu slow %llu late %llu invalidates %llu (busy %llu) "
	       "channel reopens %llu reattaches served %llu\n",
	       (unsigned long long)st->dropped, (unsigned long long)st->slow,
	       (unsigned long long)st->late,
	       (unsigned long long)st->invalidates,
	       (unsigned long long)st->invalidate_busy,
	       (unsigned long long)st->reopen,
	       (unsigned long long)st->reattach_served);
	printf("FUZZ_SUMMARY seed=%llu commands=%llu mutated=%llu deaths=%llu "
	       "restarts=%llu generations=%llu races=%llu\n",
	       (unsigned long long)opt_seed, (unsigned long long)total,
	       (unsigned long long)mut, (unsigned long long)deaths,
	       (unsigned long long)st->restarts,
	       (unsigned long long)st->generations, (unsigned long long)races);
	fflush(stdout);
}

static pid_t spawn(void)
{
	pid_t pid;

	gen++;
	S->st.generations++;
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		sigprocmask(SIG_SETMASK, &sup_sleep_mask, NULL);
		server_run();
	}
	return pid;
}

static void usage(void)
{
	fprintf(stderr, "usage: zuf-fuzz --seed N [--state FILE] [--timeout S] "
		"[--restart-timeout S] [--mutate PERMILLE] [--death-mean S] "
		"[--quiet]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const int sup_sigs[] = { SIGUSR1, SIGUSR2, SIGTERM, SIGINT, SIGCHLD };
	struct sigaction sa = { 0 };
	sigset_t blocked;
	struct rng r;
	bool have_seed = false;
	pid_t child;
	int fd;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--quiet")) {
			opt_quiet = true;
			continue;
		}
		if (!v)
			usage();
		i++;
		if (!strcmp(a, "--seed")) {
			opt_seed = strtoull(v, NULL, 0);
			have_seed = true;
		} else if (!strcmp(a, "--state")) {
			opt_state = v;
		} else if (!strcmp(a, "--timeout")) {
			opt_timeout = (unsigned int)atoi(v);
		} else if (!strcmp(a, "--restart-timeout")) {
			opt_restart = (unsigned int)atoi(v);
		} else if (!strcmp(a, "--mutate")) {
			opt_mutate = (unsigned int)atoi(v);
		} else if (!strcmp(a, "--death-mean")) {
			opt_death_mean = (unsigned int)atoi(v);
		} else {
			usage();
		}
	}
	if (!have_seed) {
		opt_seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
		opt_seed %= 1000000000ULL;
	}
	printf("zuf-fuzz: seed %llu\n", (unsigned long long)opt_seed);
	fflush(stdout);

	fd = open(opt_state, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || ftruncate(fd, sizeof(struct fz_state)) < 0) {
		perror(opt_state);
		return 1;
	}
	S = mmap(NULL, sizeof(struct fz_state), PROT_READ | PROT_WRITE,
		 MAP_SHARED, fd, 0);
	close(fd);
	if (S == MAP_FAILED) {
		perror("mmap state");
		return 1;
	}
	S->magic = STATE_MAGIC;
	inst_init(&S->inst[0], false);

	sa.sa_handler = sup_handler;
	sigemptyset(&blocked);
	for (size_t i = 0; i < sizeof(sup_sigs) / sizeof(sup_sigs[0]); i++) {
		sigaction(sup_sigs[i], &sa, NULL);
		sigaddset(&blocked, sup_sigs[i]);
	}
	sigprocmask(SIG_BLOCK, &blocked, &sup_sleep_mask);
	signal(SIGPIPE, SIG_IGN);
	rng_seed(&r, opt_seed, 0, 9000);

	child = spawn();
	for (;;) {
		int status;
		pid_t p;

		sup_signals(child);
		p = waitpid(child, &status, WNOHANG);
		if (p < 0)
			break;
		if (p == 0) {
			sigsuspend(&sup_sleep_mask);
			continue;
		}
		if (WIFSIGNALED(status))
			fprintf(stderr, "zuf-fuzz: server %llu killed by signal %d\n",
				(unsigned long long)gen, WTERMSIG(status));
		else
			fprintf(stderr, "zuf-fuzz: server %llu exited %d\n",
				(unsigned long long)gen, WEXITSTATUS(status));
		if (atomic_load(&S->phase) == 1) {
			/* mostly quick, sometimes past restart_timeout */
			uint64_t x = rnd(&r, 100), ms;

			ms = x < 70 ? rnd(&r, 500) : x < 95 ? 500 + rnd(&r, 2500) :
			     opt_restart * 1000ULL + 500 + rnd(&r, 2500);
			sup_pause((unsigned int)ms);
		}
		sup_signals(0);
		if (sig_term)
			break;
		S->st.restarts++;
		child = spawn();
	}
	summary();
	return 0;
}
