// SPDX-License-Identifier: BSD-2-Clause
/*
 * zuf-fuzz-app.c - the applications of the zuf.ko fuzz test
 * (tests/vm/zuf-fuzz.sh): processes that hammer a mount while the hostile
 * server tests/vm/zuf-fuzz answers, as root and as an unprivileged uid:
 * create, unlink, rename(2) (plain, NOREPLACE, EXCHANGE), mkdir, rmdir,
 * readdir, stat, read, write, append, mmap read+write, truncate,
 * fallocate, O_DIRECT, splice, sendfile, exec of a copied binary, symlink,
 * readlink, link, xattrs, fsync, SEEK_DATA/HOLE, chmod, utimes, statfs,
 * O_TMPFILE.
 *
 *   zuf-fuzz-app --dir DIR --seconds N [--procs P] [--uid UID] [--seed S]
 *                [--hang-ms MS] [--exe FILE]
 *
 * Every system call on the mount is timed by a watchdog (the parent polls
 * each worker's "call in progress since" slot): a call still running after
 * --hang-ms is a hung call, reported and counted.  Results are counted per
 * operation (a few calls): ok, EIO, other errno, SIGBUS (mmap).  Any errno is allowed; exit status 1 when a call
 * hung (or a worker had to be killed), else 0.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>
#include <linux/falloc.h>
#include <linux/fs.h>

#define MAXPROCS	32
#define NFILES		24
#define NDIRS		6
#define IOMAX		(256 * 1024)

enum {
	A_CREATE, A_UNLINK, A_RENAME, A_MKDIR, A_RMDIR, A_READDIR, A_STAT,
	A_READ, A_WRITE, A_APPEND, A_MMAP, A_TRUNCATE, A_FALLOCATE,
	A_DIRECT_READ, A_DIRECT_WRITE, A_SPLICE, A_SENDFILE, A_COPY_EXE,
	A_EXEC, A_SYMLINK, A_READLINK, A_LINK, A_SETXATTR, A_GETXATTR,
	A_LISTXATTR, A_REMOVEXATTR, A_FSYNC, A_SEEK, A_CHMOD, A_UTIMES,
	A_STATFS, A_TMPFILE, A_NOPS
};
static const char *const op_names[A_NOPS] = {
	"create", "unlink", "rename", "mkdir", "rmdir", "readdir", "stat",
	"read", "write", "append", "mmap", "truncate", "fallocate",
	"odirect-read", "odirect-write", "splice", "sendfile", "copy-exe",
	"exec", "symlink", "readlink", "link", "setxattr", "getxattr",
	"listxattr", "removexattr", "fsync", "seek-data-hole", "chmod",
	"utimes", "statfs", "tmpfile",
};

enum { R_OK_, R_EIO, R_OTHER, R_SIGBUS, R_N };

struct slot {
	volatile uint64_t t0;		/* ns, 0: no call running */
	volatile int op;
	volatile int reported;
	uint64_t count[A_NOPS][R_N];
	uint64_t max_ns[A_NOPS];
	uint64_t hung[A_NOPS];
	uint32_t uid;
	pid_t pid;
};

static struct slot *slots;
static int nprocs = 4;
static const char *dir;
static const char *exe = "/bin/true";
static unsigned long long seed;
static unsigned int seconds = 30, uid = 65534;
static uint64_t hang_ns = 15ULL * 1000000000ULL;
static volatile sig_atomic_t stop;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/*
 * Every system call on the mount is timed on its own: the watchdog (the
 * parent) looks at slot->t0.  Below, each libc call of the operations is
 * wrapped by SYS() (a function-like macro does not expand itself again).
 */
static struct slot *me;

static void call_begin(void)
{
	me->reported = 0;
	me->t0 = now_ns();
}

static void call_end(void)
{
	uint64_t dt = now_ns() - me->t0;
	int op = me->op;

	me->t0 = 0;
	if (dt > me->max_ns[op])
		me->max_ns[op] = dt;
	if (dt > hang_ns)
		fprintf(stderr, "HUNG: worker %d (uid %u) %s: a call returned after %.1f s: %s\n",
			(int)(me - slots), me->uid, op_names[op], dt / 1e9,
			strerror(errno));
}

#define SYS(x) ({							\
	__typeof__(x) _r;						\
	int _e;								\
	call_begin();							\
	_r = (x);							\
	_e = errno;							\
	call_end();							\
	errno = _e;							\
	_r; })

/* xorshift64*, seeded per worker */
static uint64_t rs;
static uint64_t rnd(uint64_t n)
{
	rs ^= rs >> 12;
	rs ^= rs << 25;
	rs ^= rs >> 27;
	return n ? (rs * 2685821657736338717ULL) % n : 0;
}

static sigjmp_buf bus_jb;
static volatile sig_atomic_t bus_armed;

static void bus_handler(int sig)
{
	if (bus_armed)
		siglongjmp(bus_jb, 1);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void fpath(char *p, size_t n)
{
	if (rnd(4) == 0)
		snprintf(p, n, "%s/d%d/f%d", dir, (int)rnd(NDIRS), (int)rnd(NFILES / 3));
	else
		snprintf(p, n, "%s/f%d", dir, (int)rnd(NFILES));
}

static void dpath(char *p, size_t n)
{
	snprintf(p, n, "%s/d%d", dir, (int)rnd(NDIRS));
}

static char *iobuf, *dbuf;

/* ---- timed calls (see SYS) ---- */
#define open(...) SYS(open(__VA_ARGS__))
#define unlink(...) SYS(unlink(__VA_ARGS__))
#define syscall(...) SYS(syscall(__VA_ARGS__))
#define mkdir(...) SYS(mkdir(__VA_ARGS__))
#define rmdir(...) SYS(rmdir(__VA_ARGS__))
#define opendir(...) SYS(opendir(__VA_ARGS__))
#define readdir(...) SYS(readdir(__VA_ARGS__))
#define closedir(...) SYS(closedir(__VA_ARGS__))
#define stat(...) SYS(stat(__VA_ARGS__))
#define lstat(...) SYS(lstat(__VA_ARGS__))
#define pread(...) SYS(pread(__VA_ARGS__))
#define write(...) SYS(write(__VA_ARGS__))
#define pwrite(...) SYS(pwrite(__VA_ARGS__))
#define truncate(...) SYS(truncate(__VA_ARGS__))
#define fallocate(...) SYS(fallocate(__VA_ARGS__))
#define ftruncate(...) SYS(ftruncate(__VA_ARGS__))
#define fstat(...) SYS(fstat(__VA_ARGS__))
#define mmap(...) SYS(mmap(__VA_ARGS__))
#define msync(...) SYS(msync(__VA_ARGS__))
#define munmap(...) SYS(munmap(__VA_ARGS__))
#define splice(...) SYS(splice(__VA_ARGS__))
#define sendfile(...) SYS(sendfile(__VA_ARGS__))
#define symlink(...) SYS(symlink(__VA_ARGS__))
#define readlink(...) SYS(readlink(__VA_ARGS__))
#define link(...) SYS(link(__VA_ARGS__))
#define setxattr(...) SYS(setxattr(__VA_ARGS__))
#define getxattr(...) SYS(getxattr(__VA_ARGS__))
#define listxattr(...) SYS(listxattr(__VA_ARGS__))
#define removexattr(...) SYS(removexattr(__VA_ARGS__))
#define fsync(...) SYS(fsync(__VA_ARGS__))
#define fdatasync(...) SYS(fdatasync(__VA_ARGS__))
#define lseek(...) SYS(lseek(__VA_ARGS__))
#define chmod(...) SYS(chmod(__VA_ARGS__))
#define utimes(...) SYS(utimes(__VA_ARGS__))
#define statfs(...) SYS(statfs(__VA_ARGS__))
#define linkat(...) SYS(linkat(__VA_ARGS__))
#define fchmod(...) SYS(fchmod(__VA_ARGS__))
#define read(...) SYS(read(__VA_ARGS__))
#define close(...) SYS(close(__VA_ARGS__))
#define waitpid(...) SYS(waitpid(__VA_ARGS__))
#define pipe2(...) SYS(pipe2(__VA_ARGS__))

static int rw_open(const char *p, int flags)
{
	return open(p, flags | O_CLOEXEC, 0666);
}

#define CHK(x)	((x) < 0 ? -errno : 0)

/* Open p to read and q to write (splice, sendfile): 0 or -errno. */
static int open_pair(const char *p, const char *q, int *fd, int *fd2)
{
	int ret;

	*fd = rw_open(p, O_RDONLY);
	if (*fd < 0)
		return -errno;
	*fd2 = rw_open(q, O_WRONLY | O_CREAT);
	if (*fd2 < 0) {
		ret = -errno;
		close(*fd);
		return ret;
	}
	return 0;
}

static int do_mmap(const char *p)
{
	int fd = rw_open(p, O_RDWR | O_CREAT), ret = 0;
	size_t len = (1 + rnd(64)) * 4096;
	struct stat st;
	char *m;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) == 0 && (size_t)st.st_size < len &&
	    ftruncate(fd, (off_t)len) < 0) {
		ret = -errno;
		goto out;
	}
	m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED) {
		ret = -errno;
		goto out;
	}
	if (sigsetjmp(bus_jb, 1)) {
		me->t0 = 0;
		bus_armed = 0;
		munmap(m, len);
		close(fd);
		return 1;	/* SIGBUS */
	}
	bus_armed = 1;
	call_begin();	/* the page faults */
	for (int i = 0; i < 8; i++) {
		size_t o = rnd(len);

		if (rnd(2))
			m[o] = (char)rnd(256);
		else
			(void)*(volatile char *)(m + o);
	}
	call_end();
	bus_armed = 0;
	if (rnd(2))
		ret = CHK(msync(m, len, MS_SYNC));
	munmap(m, len);
out:
	close(fd);
	return ret;
}

static int do_exec(int self)
{
	char p[512];
	pid_t pid;
	int st;

	snprintf(p, sizeof(p), "%s/x%d", dir, self);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		char *argv[] = { p, NULL }, *envp[] = { NULL };

		execve(p, argv, envp);
		_exit(errno == EIO ? 101 : 100);
	}
	if (waitpid(pid, &st, 0) < 0)
		return -errno;
	if (WIFSIGNALED(st))
		return WTERMSIG(st) == SIGBUS ? 1 : -EINTR;
	if (WEXITSTATUS(st) == 101)
		return -EIO;
	return WEXITSTATUS(st) ? -ENOEXEC : 0;
}

static int do_copy_exe(int self)
{
	char p[512];
	int in, out, ret = 0;
	ssize_t n;

	snprintf(p, sizeof(p), "%s/x%d", dir, self);
	in = open(exe, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return -errno;
	unlink(p);
	out = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
	if (out < 0) {
		ret = -errno;
		close(in);
		return ret;
	}
	while ((n = read(in, iobuf, IOMAX)) > 0)
		if (write(out, iobuf, (size_t)n) != n) {
			ret = -errno;
			if (!ret)
				ret = -EIO;
			break;
		}
	if (!ret)
		ret = CHK(fchmod(out, 0755));
	close(out);
	close(in);
	return ret;
}

static int do_op(int op, int self)
{
	char p[512], q[512];
	int fd, fd2, ret = 0;
	off_t off;
	size_t len;

	fpath(p, sizeof(p));
	fpath(q, sizeof(q));
	switch (op) {
	case A_CREATE:
		fd = rw_open(p, O_RDWR | O_CREAT | O_EXCL);
		if (fd < 0)
			return -errno;
		close(fd);
		return 0;
	case A_UNLINK:
		return CHK(unlink(p));
	case A_RENAME: {
		static const unsigned int fl[] = { 0, 0, RENAME_NOREPLACE,
						   RENAME_EXCHANGE };

		if (rnd(8) == 0)
			dpath(p, sizeof(p));
		return CHK(syscall(SYS_renameat2, AT_FDCWD, p, AT_FDCWD, q,
				   fl[rnd(4)]));
	}
	case A_MKDIR:
		dpath(p, sizeof(p));
		return CHK(mkdir(p, 0777));
	case A_RMDIR:
		dpath(p, sizeof(p));
		return CHK(rmdir(p));
	case A_READDIR: {
		DIR *d;
		struct dirent *e;

		if (rnd(2))
			dpath(p, sizeof(p));
		else
			snprintf(p, sizeof(p), "%s", dir);
		d = opendir(p);
		if (!d)
			return -errno;
		errno = 0;
		while ((e = readdir(d)))
			;
		ret = -errno;
		closedir(d);
		return ret;
	}
	case A_STAT: {
		struct stat st;

		return CHK(rnd(2) ? stat(p, &st) : lstat(p, &st));
	}
	case A_READ:
	case A_WRITE:
	case A_APPEND:
		fd = rw_open(p, op == A_READ ? O_RDONLY :
			     O_WRONLY | O_CREAT | (op == A_APPEND ? O_APPEND : 0));
		if (fd < 0)
			return -errno;
		off = (off_t)rnd(rnd(8) ? 512 * 1024 : 3 * 1024 * 1024);
		len = 1 + rnd(rnd(4) ? 16384 : IOMAX);
		if (op == A_READ)
			ret = CHK(pread(fd, iobuf, len, off));
		else if (op == A_APPEND)
			ret = CHK(write(fd, iobuf, len));
		else
			ret = CHK(pwrite(fd, iobuf, len, off));
		close(fd);
		return ret;
	case A_MMAP:
		return do_mmap(p);
	case A_TRUNCATE:
		return CHK(truncate(p, rnd(16) ? (off_t)rnd(2 * 1024 * 1024) :
				    (off_t)1 << (30 + rnd(12))));
	case A_FALLOCATE: {
		static const int modes[] = {
			0, FALLOC_FL_KEEP_SIZE,
			FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			FALLOC_FL_ZERO_RANGE, FALLOC_FL_COLLAPSE_RANGE,
		};

		fd = rw_open(p, O_RDWR);
		if (fd < 0)
			return -errno;
		ret = CHK(fallocate(fd, modes[rnd(5)], (off_t)rnd(1 << 20),
				    (off_t)(1 + rnd(1 << 18))));
		close(fd);
		return ret;
	}
	case A_DIRECT_READ:
	case A_DIRECT_WRITE:
		fd = rw_open(p, (op == A_DIRECT_READ ? O_RDONLY :
				 O_WRONLY | O_CREAT) | O_DIRECT);
		if (fd < 0)
			return -errno;
		off = (off_t)(4096 * rnd(256));
		len = 4096 * (1 + rnd(32));
		ret = CHK(op == A_DIRECT_READ ? pread(fd, dbuf, len, off) :
			  pwrite(fd, dbuf, len, off));
		close(fd);
		return ret;
	case A_SPLICE: {
		int pp[2];
		ssize_t n;

		ret = open_pair(p, q, &fd, &fd2);
		if (ret)
			return ret;
		if (pipe2(pp, O_CLOEXEC) < 0) {
			ret = -errno;
		} else {
			n = splice(fd, NULL, pp[1], NULL, 65536, SPLICE_F_NONBLOCK);
			if (n < 0)
				ret = -errno;
			else if (n > 0 && splice(pp[0], NULL, fd2, NULL, (size_t)n, 0) < 0)
				ret = -errno;
			close(pp[0]);
			close(pp[1]);
		}
		close(fd);
		close(fd2);
		return ret;
	}
	case A_SENDFILE:
		ret = open_pair(p, q, &fd, &fd2);
		if (ret)
			return ret;
		off = (off_t)rnd(65536);
		ret = CHK(sendfile(fd2, fd, &off, 1 + rnd(IOMAX)));
		close(fd);
		close(fd2);
		return ret;
	case A_COPY_EXE:
		return do_copy_exe(self);
	case A_EXEC:
		return do_exec(self);
	case A_SYMLINK:
		return CHK(symlink(rnd(2) ? "f1" : "../some/where/else", p));
	case A_READLINK: {
		ssize_t n = readlink(p, q, sizeof(q));

		return n < 0 ? -errno : 0;
	}
	case A_LINK:
		return CHK(link(p, q));
	case A_SETXATTR: {
		char name[32];

		snprintf(name, sizeof(name), "user.k%d", (int)rnd(6));
		return CHK(setxattr(p, name, iobuf, rnd(1500),
				    (int)rnd(3)));
	}
	case A_GETXATTR: {
		char name[32];

		snprintf(name, sizeof(name), "user.k%d", (int)rnd(6));
		return CHK(getxattr(p, name, rnd(3) ? iobuf : NULL,
				    rnd(3) ? 2048 : 0));
	}
	case A_LISTXATTR:
		return CHK(listxattr(p, rnd(3) ? iobuf : NULL, rnd(3) ? 4096 : 0));
	case A_REMOVEXATTR: {
		char name[32];

		snprintf(name, sizeof(name), "user.k%d", (int)rnd(6));
		return CHK(removexattr(p, name));
	}
	case A_FSYNC:
		fd = rw_open(p, O_RDWR);
		if (fd < 0)
			return -errno;
		ret = CHK(rnd(2) ? fsync(fd) : fdatasync(fd));
		close(fd);
		return ret;
	case A_SEEK:
		fd = rw_open(p, O_RDONLY);
		if (fd < 0)
			return -errno;
		ret = CHK(lseek(fd, (off_t)rnd(1 << 20),
				rnd(2) ? SEEK_DATA : SEEK_HOLE));
		close(fd);
		return ret;
	case A_CHMOD:
		return CHK(chmod(p, rnd(2) ? 0666 : 0644));
	case A_UTIMES: {
		struct timeval tv[2] = { { (time_t)rnd(1u << 31), 0 },
					 { (time_t)rnd(1u << 31), 0 } };

		return CHK(rnd(2) ? utimes(p, tv) : utimes(p, NULL));
	}
	case A_STATFS: {
		struct statfs sf;

		return CHK(statfs(dir, &sf));
	}
	case A_TMPFILE:
		fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0666);
		if (fd < 0)
			return -errno;
		if (write(fd, iobuf, 1 + rnd(8192)) < 0)
			ret = -errno;
		if (!ret && rnd(2)) {
			char fdp[64];

			snprintf(fdp, sizeof(fdp), "/proc/self/fd/%d", fd);
			ret = CHK(linkat(AT_FDCWD, fdp, AT_FDCWD, p,
					 AT_SYMLINK_FOLLOW));
		}
		close(fd);
		return ret;
	}
	return -ENOSYS;
}

#undef open
#undef unlink
#undef syscall
#undef mkdir
#undef rmdir
#undef opendir
#undef readdir
#undef closedir
#undef stat
#undef lstat
#undef pread
#undef write
#undef pwrite
#undef truncate
#undef fallocate
#undef ftruncate
#undef fstat
#undef mmap
#undef msync
#undef munmap
#undef splice
#undef sendfile
#undef symlink
#undef readlink
#undef link
#undef setxattr
#undef getxattr
#undef listxattr
#undef removexattr
#undef fsync
#undef fdatasync
#undef lseek
#undef chmod
#undef utimes
#undef statfs
#undef linkat
#undef fchmod
#undef read
#undef close
#undef waitpid
#undef pipe2

static void worker(int self)
{
	struct slot *s = &slots[self];
	struct sigaction sa = { 0 };
	uint64_t end = now_ns() + (uint64_t)seconds * 1000000000ULL;

	me = s;
	rs = seed * 0x9e3779b97f4a7c15ULL + (uint64_t)self * 7919 + 1;
	sa.sa_handler = bus_handler;
	sa.sa_flags = SA_NODEFER;
	sigaction(SIGBUS, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (s->uid) {
		if (setgroups(0, NULL) < 0 || setresgid(s->uid, s->uid, s->uid) < 0 ||
		    setresuid(s->uid, s->uid, s->uid) < 0) {
			perror("setresuid");
			_exit(3);
		}
	}
	if (posix_memalign((void **)&dbuf, 4096, 32 * 4096) ||
	    !(iobuf = malloc(IOMAX)))
		_exit(3);
	memset(iobuf, 'a' + self, IOMAX);
	memset(dbuf, 'A' + self, 32 * 4096);
	while (!stop && now_ns() < end) {
		int op = (int)rnd(A_NOPS), r;

		if (op == A_EXEC && rnd(4))
			op = A_STAT;	/* fork+exec is slow under TCG */
		s->op = op;
		r = do_op(op, self);
		s->count[op][r == 1 ? R_SIGBUS : !r ? R_OK_ :
			     r == -EIO ? R_EIO : R_OTHER]++;
	}
	_exit(0);
}

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static void usage(void)
{
	fprintf(stderr, "usage: zuf-fuzz-app --dir DIR --seconds N [--procs P] "
		"[--uid UID] [--seed S] [--hang-ms MS] [--exe FILE]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	uint64_t tot[R_N] = { 0 }, hung = 0, maxns = 0, deadline;
	int alive, killed = 0;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!v)
			usage();
		i++;
		if (!strcmp(a, "--dir"))
			dir = v;
		else if (!strcmp(a, "--seconds"))
			seconds = (unsigned int)atoi(v);
		else if (!strcmp(a, "--procs"))
			nprocs = atoi(v);
		else if (!strcmp(a, "--uid"))
			uid = (unsigned int)atoi(v);
		else if (!strcmp(a, "--seed"))
			seed = strtoull(v, NULL, 0);
		else if (!strcmp(a, "--hang-ms"))
			hang_ns = strtoull(v, NULL, 0) * 1000000ULL;
		else if (!strcmp(a, "--exe"))
			exe = v;
		else
			usage();
	}
	if (!dir || nprocs < 1 || nprocs > MAXPROCS)
		usage();
	umask(0);
	slots = mmap(NULL, sizeof(*slots) * MAXPROCS, PROT_READ | PROT_WRITE,
		     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (slots == MAP_FAILED) {
		perror("mmap");
		return 2;
	}
	signal(SIGTERM, on_term);
	signal(SIGINT, on_term);
	for (int i = 0; i < nprocs; i++) {
		pid_t pid;

		slots[i].uid = (i % 2 && getuid() == 0) ? uid : 0;
		pid = fork();
		if (pid < 0) {
			perror("fork");
			return 2;
		}
		if (pid == 0)
			worker(i);
		slots[i].pid = pid;
	}
	/* the watchdog: every call must return within hang_ns */
	deadline = now_ns() + (uint64_t)seconds * 1000000000ULL + 2 * hang_ns;
	do {
		uint64_t t = now_ns();

		usleep(100000);
		alive = 0;
		for (int i = 0; i < nprocs; i++) {
			struct slot *s = &slots[i];
			uint64_t t0 = s->t0;

			if (!s->pid)
				continue;
			if (waitpid(s->pid, NULL, WNOHANG) == s->pid) {
				s->pid = 0;
				continue;
			}
			alive++;
			if (t0 && t > t0 + hang_ns && !s->reported) {
				s->reported = 1;
				s->hung[s->op]++;
				hung++;
				fprintf(stderr, "HUNG: worker %d (uid %u) %s running for %.1f s\n",
					i, s->uid, op_names[s->op], (t - t0) / 1e9);
			}
		}
		if (stop)
			for (int i = 0; i < nprocs; i++)
				if (slots[i].pid)
					kill(slots[i].pid, SIGTERM);
		if (alive && now_ns() > deadline) {
			for (int i = 0; i < nprocs; i++) {
				if (!slots[i].pid)
					continue;
				fprintf(stderr, "HUNG: worker %d still running at the end (%s): killed\n",
					i, op_names[slots[i].op]);
				kill(slots[i].pid, SIGKILL);
				waitpid(slots[i].pid, NULL, 0);
				slots[i].pid = 0;
				killed++;
			}
			alive = 0;
		}
	} while (alive);

	printf("zuf-fuzz-app %s: %d procs (%s), %u s, seed %llu\n", dir, nprocs,
	       getuid() == 0 && nprocs > 1 ? "root + uid" : "one uid", seconds,
	       seed);
	printf("  %-15s %8s %8s %8s %6s %5s %9s\n", "operation", "ok", "EIO",
	       "errno", "SIGBUS", "hung", "max_ms");
	for (int op = 0; op < A_NOPS; op++) {
		uint64_t c[R_N] = { 0 }, h = 0, mx = 0;

		for (int i = 0; i < nprocs; i++) {
			for (int k = 0; k < R_N; k++)
				c[k] += slots[i].count[op][k];
			h += slots[i].hung[op];
			if (slots[i].max_ns[op] > mx)
				mx = slots[i].max_ns[op];
		}
		for (int k = 0; k < R_N; k++)
			tot[k] += c[k];
		if (mx > maxns)
			maxns = mx;
		printf("  %-15s %8llu %8llu %8llu %6llu %5llu %9.0f\n",
		       op_names[op], (unsigned long long)c[R_OK_],
		       (unsigned long long)c[R_EIO],
		       (unsigned long long)c[R_OTHER],
		       (unsigned long long)c[R_SIGBUS], (unsigned long long)h,
		       mx / 1e6);
	}
	printf("APP_SUMMARY dir=%s ops=%llu ok=%llu eio=%llu errno=%llu sigbus=%llu hung=%llu killed=%d max_ms=%.0f\n",
	       dir, (unsigned long long)(tot[0] + tot[1] + tot[2] + tot[3]),
	       (unsigned long long)tot[R_OK_], (unsigned long long)tot[R_EIO],
	       (unsigned long long)tot[R_OTHER],
	       (unsigned long long)tot[R_SIGBUS], (unsigned long long)hung,
	       killed, maxns / 1e6);
	return hung || killed ? 1 : 0;
}
