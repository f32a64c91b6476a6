// SPDX-License-Identifier: BSD-2-Clause
/*
 * posix_test.c - POSIX behaviour of a mounted filesystem, checked with real
 * system calls and exact error codes.
 *
 *   posix-test [-k] [-q] [-A OPTS] [-g GROUP,...] [-x GROUP,...] DIR
 *
 * Works in a fresh DIR/posix-test.PID (removed afterwards unless -k).  Every
 * check prints "ok N - name" or "not ok N - name: expected X got Y"; the last
 * line is "N passed, N failed, N skipped".  Exit status 1 if any failed.
 * Must pass on tmpfs and ext4 too: that is how the test itself is checked.
 * Some checks need root (chown, trusted.*, ACLs as another uid): they are
 * skipped, with the reason, when not run as root.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <limits.h>
#include <linux/falloc.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

/* ---- reporting ------------------------------------------------------- */

static unsigned int n_test, n_pass, n_fail, n_skip;
static bool quiet;

static const char *ename(int e)
{
	const char *n = strerrorname_np(e);

	return n ? n : "E?";
}

static bool pass(const char *name)
{
	n_test++;
	n_pass++;
	if (!quiet)
		printf("ok %u - %s\n", n_test, name);
	return true;
}

__attribute__((format(printf, 2, 3)))
static bool fail(const char *name, const char *fmt, ...)
{
	va_list ap;

	n_test++;
	n_fail++;
	printf("not ok %u - %s: ", n_test, name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	return false;
}

static void skip(const char *name, const char *reason)
{
	n_test++;
	n_skip++;
	printf("ok %u - %s # SKIP %s\n", n_test, name, reason);
}

/* ret from a syscall: success is >= 0, errno says why not */
static bool t_ok(const char *name, long ret)
{
	if (ret >= 0)
		return pass(name);
	return fail(name, "expected success got %s (%s)", ename(errno),
		    strerror(errno));
}

static bool t_err(const char *name, long ret, int err)
{
	if (ret < 0 && errno == err)
		return pass(name);
	if (ret >= 0)
		return fail(name, "expected %s got success (%ld)", ename(err),
			    ret);
	return fail(name, "expected %s got %s", ename(err), ename(errno));
}

/* either of two errors is allowed by POSIX */
static bool t_err2(const char *name, long ret, int e1, int e2)
{
	if (ret < 0 && (errno == e1 || errno == e2))
		return pass(name);
	if (ret >= 0)
		return fail(name, "expected %s or %s got success", ename(e1),
			    ename(e2));
	return fail(name, "expected %s or %s got %s", ename(e1), ename(e2),
		    ename(errno));
}

static bool t_eq(const char *name, long long got, long long exp)
{
	if (got == exp)
		return pass(name);
	return fail(name, "expected %lld got %lld", exp, got);
}

static bool t_octal(const char *name, unsigned int got, unsigned int exp)
{
	if (got == exp)
		return pass(name);
	return fail(name, "expected 0%o got 0%o", exp, got);
}

__attribute__((format(printf, 3, 4)))
static bool t_true(const char *name, bool cond, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	if (cond)
		return pass(name);
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return fail(name, "%s", msg);
}

/* compare buffers; report the first differing offset */
static bool t_mem(const char *name, const void *got, const void *exp,
		  size_t len)
{
	const unsigned char *g = got, *e = exp;
	size_t i;

	for (i = 0; i < len; i++)
		if (g[i] != e[i])
			return fail(name, "expected byte 0x%02x at offset %zu "
				    "got 0x%02x", e[i], i, g[i]);
	return pass(name);
}

static bool t_zero(const char *name, const void *buf, size_t len)
{
	const unsigned char *b = buf;
	size_t i;

	for (i = 0; i < len; i++)
		if (b[i])
			return fail(name, "expected zeros, got 0x%02x at offset %zu",
				    b[i], i);
	return pass(name);
}

/* ---- helpers --------------------------------------------------------- */

static bool is_root;

/* Deterministic pattern: byte i of stream seed. */
static void pattern(void *buf, size_t len, uint64_t off, unsigned int seed)
{
	unsigned char *b = buf;
	size_t i;

	for (i = 0; i < len; i++) {
		uint64_t x = (off + i) * 0x9e3779b97f4a7c15ull + seed;

		b[i] = (unsigned char)(x >> 29) | 1;
	}
}

static void *xmalloc(size_t n)
{
	void *p = malloc(n);

	if (!p) {
		perror("posix-test: malloc");
		exit(2);
	}
	return p;
}

/* write all of buf at off; -1 with errno on failure */
static ssize_t pwrite_all(int fd, const void *buf, size_t len, off_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pwrite(fd, (const char *)buf + done, len - done,
				   off + (off_t)done);

		if (n <= 0)
			return -1;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

static ssize_t pread_all(int fd, void *buf, size_t len, off_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(fd, (char *)buf + done, len - done,
				  off + (off_t)done);

		if (n < 0)
			return -1;
		if (!n)
			break;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

static int make_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0644);

	if (fd < 0)
		return -1;
	if (len && pwrite_all(fd, data, len, 0) < 0) {
		close(fd);
		return -1;
	}
	return close(fd);
}

static long long file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) ? -1 : (long long)st.st_size;
}

static long long nlink_of(const char *path)
{
	struct stat st;

	return lstat(path, &st) ? -1 : (long long)st.st_nlink;
}

static long long ino_of(const char *path)
{
	struct stat st;

	return lstat(path, &st) ? -1 : (long long)st.st_ino;
}

/* Read whole small file into buf (NUL terminated); length or -1. */
static ssize_t slurp(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = pread_all(fd, buf, size - 1, 0);
	close(fd);
	if (n >= 0)
		buf[n] = '\0';
	return n;
}

static int rm_one(const char *path, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return flag == FTW_DP ? rmdir(path) : unlink(path);
}

static int rm_rf(const char *path)
{
	return nftw(path, rm_one, 64, FTW_DEPTH | FTW_PHYS);
}

/* ---- the checks ------------------------------------------------------ */

static char workdir[PATH_MAX + 32];

/* Each group of checks runs in a fresh subdirectory of workdir. */
static void group_begin(const char *group)
{
	char path[PATH_MAX + 64];

	snprintf(path, sizeof(path), "%s/%s", workdir, group);
	if (mkdir(path, 0755) || chmod(path, 0755) || chdir(path)) {
		fprintf(stderr, "posix-test: cannot make %s: %s\n", path,
			strerror(errno));
		exit(2);
	}
	if (!quiet)
		printf("# %s\n", group);
}

static void test_open(void)
{
	char buf[64], name[300];
	int fd, fd2;

	group_begin("open");
	fd = open("f", O_CREAT | O_EXCL | O_RDWR, 0644);
	t_ok("open O_CREAT|O_EXCL creates", fd);
	t_err("open O_CREAT|O_EXCL on existing file", open("f", O_CREAT | O_EXCL | O_RDWR, 0644), EEXIST);
	t_err("open missing file without O_CREAT", open("nope", O_RDONLY), ENOENT);
	t_eq("write 11 bytes", write(fd, "hello world", 11), 11);
	close(fd);
	t_eq("size after write", file_size("f"), 11);

	fd = open("f", O_RDWR | O_TRUNC);
	t_ok("open O_TRUNC", fd);
	t_eq("O_TRUNC empties the file", file_size("f"), 0);
	t_eq("write after O_TRUNC", write(fd, "abc", 3), 3);
	close(fd);

	fd = open("f", O_WRONLY | O_APPEND);
	t_ok("open O_APPEND", fd);
	t_eq("O_APPEND write", write(fd, "def", 3), 3);
	/* Linux: pwrite on O_APPEND appends whatever the offset says */
	t_eq("O_APPEND pwrite at 0 appends", pwrite(fd, "gh", 2, 0), 2);
	t_eq("pwrite does not move the position", lseek(fd, 0, SEEK_CUR), 6);
	close(fd);
	t_eq("O_APPEND content length", slurp("f", buf, sizeof(buf)), 8);
	t_true("O_APPEND content", !strcmp(buf, "abcdefgh"),
	       "expected 'abcdefgh' got '%s'", buf);

	/* two descriptors, one appending: appends land after the other's */
	fd = open("f", O_WRONLY);
	fd2 = open("f", O_WRONLY | O_APPEND);
	t_eq("overwrite at 0 via second fd", pwrite(fd, "AB", 2, 0), 2);
	t_eq("append via O_APPEND fd", write(fd2, "IJ", 2), 2);
	close(fd);
	close(fd2);
	slurp("f", buf, sizeof(buf));
	t_true("mixed append content", !strcmp(buf, "ABcdefghIJ"),
	       "expected 'ABcdefghIJ' got '%s'", buf);

	t_ok("mkdir d", mkdir("d", 0755));
	t_err("open directory O_WRONLY", open("d", O_WRONLY), EISDIR);
	t_err("open file O_DIRECTORY", open("f", O_RDONLY | O_DIRECTORY), ENOTDIR);
	t_err("open through a file (f/x)", open("f/x", O_CREAT | O_RDWR, 0644), ENOTDIR);
	t_err("open in missing directory", open("nodir/x", O_CREAT | O_RDWR, 0644), ENOENT);
	memset(name, 'n', 256);
	name[256] = '\0';
	t_err("create 256-byte name", open(name, O_CREAT | O_RDWR, 0644), ENAMETOOLONG);
	name[255] = '\0';
	fd = open(name, O_CREAT | O_RDWR, 0644);
	t_ok("create 255-byte name", fd);
	if (fd >= 0)
		close(fd);
	t_ok("stat 255-byte name", access(name, F_OK));
	t_ok("unlink 255-byte name", unlink(name));
	t_ok("symlink dangling", symlink("target-missing", "dl"));
	t_err("O_CREAT|O_EXCL on dangling symlink", open("dl", O_CREAT | O_EXCL | O_RDWR, 0644), EEXIST);
	t_err("O_NOFOLLOW on symlink", open("dl", O_RDONLY | O_NOFOLLOW), ELOOP);
	fd = open("dl", O_CREAT | O_RDWR, 0644);
	t_ok("O_CREAT through dangling symlink creates target", fd);
	if (fd >= 0)
		close(fd);
	t_ok("symlink target now exists", access("target-missing", F_OK));
}

static void test_rw(void)
{
	const size_t len = 1 << 20;
	unsigned char *w = xmalloc(len), *r = xmalloc(len);
	static const size_t offs[] = { 0, 1, 511, 4095, 4096, 4097, 65535,
				       131071, 1000000 };
	char small[16];
	size_t i;
	int fd;

	group_begin("rw");
	pattern(w, len, 0, 1);
	fd = open("big", O_CREAT | O_RDWR, 0644);
	t_eq("write 1 MiB in one call", pwrite_all(fd, w, len, 0), (long long)len);
	memset(r, 0, len);
	t_eq("read 1 MiB back", pread_all(fd, r, len, 0), (long long)len);
	t_mem("1 MiB content", r, w, len);

	for (i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
		char name[64];
		size_t n = 5000;

		snprintf(name, sizeof(name), "pread 5000 at %zu", offs[i]);
		memset(r, 0, n);
		if (pread_all(fd, r, n, (off_t)offs[i]) != (ssize_t)(offs[i] + n > len ? len - offs[i] : n))
			fail(name, "short read");
		else
			t_mem(name, r, w + offs[i], offs[i] + n > len ? len - offs[i] : n);
	}

	/* overwrite unaligned ranges across block boundaries */
	pattern(w + 4000, 200, 4000, 7);
	t_eq("pwrite 200 across 4 KiB boundary", pwrite(fd, w + 4000, 200, 4000), 200);
	pattern(w + 8191, 3, 8191, 9);
	t_eq("pwrite 3 at 8191", pwrite(fd, w + 8191, 3, 8191), 3);
	t_eq("pwrite 1 at 1048575", pwrite(fd, "Z", 1, 1048575), 1);
	w[1048575] = 'Z';
	memset(r, 0, len);
	pread_all(fd, r, len, 0);
	t_mem("content after unaligned overwrites", r, w, len);

	t_eq("read at EOF returns 0", pread(fd, small, sizeof(small), (off_t)len), 0);
	t_eq("read past EOF returns 0", pread(fd, small, sizeof(small), (off_t)len + 100000), 0);
	t_eq("read straddling EOF is short", pread(fd, small, sizeof(small), (off_t)len - 5), 5);
	t_eq("lseek SEEK_END", lseek(fd, 0, SEEK_END), (long long)len);
	t_eq("lseek SEEK_SET", lseek(fd, 10, SEEK_SET), 10);
	t_eq("read at position", read(fd, small, 4), 4);
	t_mem("read at position content", small, w + 10, 4);
	t_eq("lseek SEEK_CUR", lseek(fd, 0, SEEK_CUR), 14);
	t_err("lseek negative", lseek(fd, -1, SEEK_SET), EINVAL);
	t_err("pwrite negative offset", pwrite(fd, "x", 1, -1), EINVAL);
	{
		int wo = open("big", O_WRONLY);

		t_err("read on O_WRONLY fd", read(wo, small, 1), EBADF);
		close(wo);
	}
	t_ok("fsync", fsync(fd));
	t_ok("fdatasync", fdatasync(fd));
	close(fd);

	/* many small sequential writes, as a logger does */
	fd = open("small", O_CREAT | O_WRONLY | O_APPEND, 0644);
	for (i = 0; i < 1000; i++)
		if (write(fd, w + i * 13, 13) != 13)
			break;
	close(fd);
	t_eq("1000 appends of 13 bytes", file_size("small"), 13000);
	fd = open("small", O_RDONLY);
	pread_all(fd, r, 13000, 0);
	close(fd);
	t_mem("appended content", r, w, 13000);
	free(w);
	free(r);
}

static void test_sparse(void)
{
	const off_t hole = 1 << 20;
	unsigned char w[4096], r[8192];
	struct stat st;
	int fd;

	group_begin("sparse");
	pattern(w, sizeof(w), 0, 3);
	fd = open("s", O_CREAT | O_RDWR, 0644);
	t_eq("write 4 KiB at 1 MiB", pwrite(fd, w, sizeof(w), hole), 4096);
	fstat(fd, &st);
	t_eq("sparse size", st.st_size, hole + 4096);
	t_true("sparse st_blocks counts only data", st.st_blocks > 0 && st.st_blocks <= 64,
	       "expected 1..64 blocks got %lld", (long long)st.st_blocks);
	memset(r, 0xff, sizeof(r));
	t_eq("read in hole", pread(fd, r, sizeof(r), 12345), (long long)sizeof(r));
	t_zero("hole reads zeros", r, sizeof(r));
	t_eq("read data after hole", pread(fd, r, 4096, hole), 4096);
	t_mem("data after hole", r, w, 4096);
	t_eq("SEEK_DATA from 0", lseek(fd, 0, SEEK_DATA), hole);
	t_eq("SEEK_HOLE from 0", lseek(fd, 0, SEEK_HOLE), 0);
	t_eq("SEEK_HOLE from data", lseek(fd, hole + 100, SEEK_HOLE), hole + 4096);
	t_eq("SEEK_DATA inside data", lseek(fd, hole + 100, SEEK_DATA), hole + 100);
	t_err("SEEK_DATA at EOF", lseek(fd, hole + 4096, SEEK_DATA), ENXIO);
	t_err("SEEK_HOLE past EOF", lseek(fd, hole + 8192, SEEK_HOLE), ENXIO);
	/* a second extent after another hole */
	t_eq("write 4 KiB at 3 MiB", pwrite(fd, w, sizeof(w), 3 * hole), 4096);
	t_eq("SEEK_DATA skips second hole", lseek(fd, hole + 4096, SEEK_DATA), 3 * hole);
	t_eq("SEEK_HOLE at end is EOF", lseek(fd, 3 * hole, SEEK_HOLE), 3 * hole + 4096);
	/* extending by truncate leaves a hole, not data */
	t_ok("ftruncate to 8 MiB", ftruncate(fd, 8 * hole));
	t_eq("SEEK_HOLE finds truncated tail", lseek(fd, 3 * hole, SEEK_HOLE), 3 * hole + 4096);
	t_err("SEEK_DATA in truncated tail", lseek(fd, 4 * hole, SEEK_DATA), ENXIO);
	close(fd);
}

static void test_truncate(void)
{
	unsigned char w[16384], r[16384];
	int fd;

	group_begin("truncate");
	pattern(w, sizeof(w), 0, 5);
	fd = open("t", O_CREAT | O_RDWR, 0644);
	pwrite_all(fd, w, 10000, 0);
	{
		/* as ext4: even to the same size, ftruncate moves mtime */
		struct timespec old[2] = { { 5000, 0 }, { 5000, 0 } };
		struct stat st;

		futimens(fd, old);
		t_ok("ftruncate to the same size", ftruncate(fd, 10000));
		fstat(fd, &st);
		t_true("ftruncate to the same size moves mtime",
		       st.st_mtim.tv_sec > 5000, "mtime %lld",
		       (long long)st.st_mtim.tv_sec);
	}
	t_ok("ftruncate down to 5000", ftruncate(fd, 5000));
	t_eq("size after shrink", file_size("t"), 5000);
	t_eq("read after shrink is short", pread(fd, r, sizeof(r), 0), 5000);
	t_mem("data kept below new size", r, w, 5000);
	t_ok("ftruncate up to 20000", ftruncate(fd, 20000));
	t_eq("size after extend", file_size("t"), 20000);
	memset(r, 0xff, sizeof(r));
	t_eq("read extended range", pread(fd, r, 15000, 5000), 15000);
	t_zero("extended range reads zeros (no stale data)", r, 15000);

	/* stale bytes in the partial last block must not come back */
	pwrite_all(fd, w, 8192, 0);
	t_ok("ftruncate to 100 (mid block)", ftruncate(fd, 100));
	t_ok("ftruncate back to 8192", ftruncate(fd, 8192));
	memset(r, 0xff, sizeof(r));
	pread_all(fd, r, 8192, 0);
	t_mem("head kept after shrink+extend", r, w, 100);
	t_zero("tail of partial block zeroed", r + 100, 8092);

	/* writing after EOF leaves zeros between */
	t_ok("ftruncate to 10", ftruncate(fd, 10));
	t_eq("write at 6000 past EOF", pwrite(fd, "X", 1, 6000), 1);
	memset(r, 0xff, sizeof(r));
	pread_all(fd, r, 6001, 0);
	t_zero("gap after EOF write is zeros", r + 10, 5990);
	t_ok("ftruncate to 0", ftruncate(fd, 0));
	t_eq("size 0", file_size("t"), 0);
	close(fd);

	t_ok("truncate by path", truncate("t", 12345));
	t_eq("size after truncate by path", file_size("t"), 12345);
	t_err("truncate negative length", truncate("t", -1), EINVAL);
	mkdir("d", 0755);
	t_err("truncate a directory", truncate("d", 0), EISDIR);
	t_err("truncate missing file", truncate("missing", 0), ENOENT);
	fd = open("t", O_RDONLY);
	t_err2("ftruncate on read-only fd", ftruncate(fd, 0), EINVAL, EBADF);
	close(fd);
}

static void test_fallocate(void)
{
	unsigned char w[16384], r[16384];
	struct stat st;
	int fd;

	group_begin("fallocate");
	fd = open("a", O_CREAT | O_RDWR, 0644);
	t_ok("fallocate 1 MiB", fallocate(fd, 0, 0, 1 << 20));
	fstat(fd, &st);
	t_eq("fallocate sets size", st.st_size, 1 << 20);
	t_true("fallocate allocates blocks", st.st_blocks >= 2048,
	       "expected >= 2048 blocks got %lld", (long long)st.st_blocks);
	memset(r, 0xff, sizeof(r));
	pread_all(fd, r, sizeof(r), 500000);
	t_zero("fallocated range reads zeros", r, sizeof(r));
	t_ok("fallocate KEEP_SIZE beyond EOF", fallocate(fd, FALLOC_FL_KEEP_SIZE, 1 << 20, 1 << 20));
	t_eq("KEEP_SIZE keeps size", file_size("a"), 1 << 20);
	close(fd);

	pattern(w, sizeof(w), 0, 11);
	fd = open("p", O_CREAT | O_RDWR, 0644);
	pwrite_all(fd, w, sizeof(w), 0);
	t_ok("PUNCH_HOLE|KEEP_SIZE 4096..8192",
	     fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 4096, 4096));
	t_eq("punch keeps size", file_size("p"), sizeof(w));
	memset(r, 0xff, sizeof(r));
	pread_all(fd, r, sizeof(r), 0);
	t_mem("data before punched range", r, w, 4096);
	t_zero("punched range reads zeros", r + 4096, 4096);
	t_mem("data after punched range", r + 8192, w + 8192, 8192);
	t_eq("SEEK_HOLE finds punched hole", lseek(fd, 0, SEEK_HOLE), 4096);
	/* unaligned punch zeroes partial blocks in place */
	t_ok("unaligned PUNCH_HOLE 10000..10100",
	     fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 10000, 100));
	pread_all(fd, r, sizeof(r), 0);
	t_zero("unaligned punched bytes read zeros", r + 10000, 100);
	t_mem("bytes around unaligned punch", r + 8192, w + 8192, 10000 - 8192);
	t_mem("bytes after unaligned punch", r + 10100, w + 10100, sizeof(w) - 10100);
	t_err("PUNCH_HOLE without KEEP_SIZE", fallocate(fd, FALLOC_FL_PUNCH_HOLE, 0, 4096), EOPNOTSUPP);
	t_err("fallocate zero length", fallocate(fd, 0, 0, 0), EINVAL);
	close(fd);
}

/*
 * Collapse and insert range (ext4's rules: whole 4 KiB blocks, not to or
 * past EOF, alone).  Filesystems without them (tmpfs, FUSE: the kernel
 * refuses) answer EOPNOTSUPP: the group is skipped.
 */
static void test_collapse(void)
{
	enum { B = 4096, NB = 16 };
	static unsigned char w[NB * B], r[(NB + 4) * B], e[(NB + 4) * B];
	struct timespec old[2] = { { 1000, 0 }, { 1000, 0 } };
	struct stat st, st0;
	long ret;
	int fd, rfd;

	group_begin("collapse");
	pattern(w, sizeof(w), 0, 23);
	fd = open("c", O_CREAT | O_RDWR, 0644);
	pwrite_all(fd, w, sizeof(w), 0);
	futimens(fd, old);
	fstat(fd, &st0);
	usleep(20000);	/* coarse clocks: let ctime move */
	ret = fallocate(fd, FALLOC_FL_COLLAPSE_RANGE, B, B);
	if (ret && errno == EOPNOTSUPP) {
		skip("collapse and insert range",
		     "fallocate(COLLAPSE_RANGE) returns EOPNOTSUPP here");
		close(fd);
		return;
	}
	t_ok("COLLAPSE_RANGE of block 1", ret);
	fstat(fd, &st);
	t_eq("collapse shrinks the size", st.st_size, (NB - 1) * B);
	t_true("collapse moves mtime", st.st_mtim.tv_sec > 1000,
	       "mtime %lld", (long long)st.st_mtim.tv_sec);
	t_true("collapse moves ctime",
	       st.st_ctim.tv_sec > st0.st_ctim.tv_sec ||
	       (st.st_ctim.tv_sec == st0.st_ctim.tv_sec &&
		st.st_ctim.tv_nsec > st0.st_ctim.tv_nsec), "ctime unchanged");
	memcpy(e, w, B);
	memcpy(e + B, w + 2 * B, (NB - 2) * B);
	memset(r, 0xff, sizeof(r));
	t_eq("read after collapse", pread_all(fd, r, sizeof(r), 0), (NB - 1) * B);
	t_mem("data after collapse moved down", r, e, (NB - 1) * B);
	/* the first block, and the last whole one before a partial block */
	t_ok("COLLAPSE_RANGE of block 0", fallocate(fd, FALLOC_FL_COLLAPSE_RANGE, 0, B));
	memmove(e, e + B, (NB - 2) * B);
	ftruncate(fd, (NB - 2) * B - 100);
	t_ok("COLLAPSE_RANGE up to EOF - 1",
	     fallocate(fd, FALLOC_FL_COLLAPSE_RANGE, (NB - 4) * B, B));
	memmove(e + (NB - 4) * B, e + (NB - 3) * B, B - 100);
	t_eq("size after collapse up to EOF - 1", file_size("c"), (NB - 3) * B - 100);
	pread_all(fd, r, sizeof(r), 0);
	t_mem("data after collapses", r, e, (NB - 3) * B - 100);

	t_err("collapse reaching EOF", fallocate(fd, FALLOC_FL_COLLAPSE_RANGE,
						 (NB - 4) * B, B), EINVAL);
	t_err("collapse past EOF", fallocate(fd, FALLOC_FL_COLLAPSE_RANGE,
					     NB * B, B), EINVAL);
	t_err("collapse at an unaligned offset",
	      fallocate(fd, FALLOC_FL_COLLAPSE_RANGE, 100, B), EINVAL);
	t_err("collapse of an unaligned length",
	      fallocate(fd, FALLOC_FL_COLLAPSE_RANGE, 0, B + 1), EINVAL);
	/* not alone: EINVAL up to Linux 6.10, EOPNOTSUPP since */
	t_err2("collapse with KEEP_SIZE",
	       fallocate(fd, FALLOC_FL_COLLAPSE_RANGE | FALLOC_FL_KEEP_SIZE, 0, B),
	       EINVAL, EOPNOTSUPP);
	t_err2("collapse and insert together",
	       fallocate(fd, FALLOC_FL_COLLAPSE_RANGE | FALLOC_FL_INSERT_RANGE, 0, B),
	       EINVAL, EOPNOTSUPP);
	t_eq("refused shifts keep the size", file_size("c"), (NB - 3) * B - 100);

	/* insert: a hole of two blocks at block 2 */
	t_ok("INSERT_RANGE of 2 blocks at block 2",
	     fallocate(fd, FALLOC_FL_INSERT_RANGE, 2 * B, 2 * B));
	memmove(e + 4 * B, e + 2 * B, (NB - 5) * B - 100);
	memset(e + 2 * B, 0, 2 * B);
	t_eq("insert grows the size", file_size("c"), (NB - 1) * B - 100);
	memset(r, 0xff, sizeof(r));
	t_eq("read after insert", pread_all(fd, r, sizeof(r), 0), (NB - 1) * B - 100);
	t_mem("data after insert", r, e, (NB - 1) * B - 100);
	t_eq("SEEK_HOLE finds the inserted hole", lseek(fd, 0, SEEK_HOLE), 2 * B);
	t_eq("SEEK_DATA skips it", lseek(fd, 2 * B, SEEK_DATA), 4 * B);
	t_ok("INSERT_RANGE at the last (partial) block",
	     fallocate(fd, FALLOC_FL_INSERT_RANGE, (NB - 2) * B, B));
	memmove(e + (NB - 1) * B, e + (NB - 2) * B, B - 100);
	memset(e + (NB - 2) * B, 0, B);
	pread_all(fd, r, sizeof(r), 0);
	t_mem("data after insert at the last block", r, e, NB * B - 100);
	t_err("insert at EOF", fallocate(fd, FALLOC_FL_INSERT_RANGE, NB * B, B),
	      EINVAL);
	ftruncate(fd, NB * B);
	t_err("insert at an aligned EOF",
	      fallocate(fd, FALLOC_FL_INSERT_RANGE, NB * B, B), EINVAL);
	t_err("insert at an unaligned offset",
	      fallocate(fd, FALLOC_FL_INSERT_RANGE, B + 1, B), EINVAL);
	t_err2("insert with KEEP_SIZE",
	       fallocate(fd, FALLOC_FL_INSERT_RANGE | FALLOC_FL_KEEP_SIZE, 0, B),
	       EINVAL, EOPNOTSUPP);

	/* a punched hole moves with the rest */
	t_ok("punch block 6", fallocate(fd, FALLOC_FL_PUNCH_HOLE |
					FALLOC_FL_KEEP_SIZE, 6 * B, B));
	t_ok("collapse blocks 0..1", fallocate(fd, FALLOC_FL_COLLAPSE_RANGE, 0, 2 * B));
	t_eq("the inserted hole moved down", lseek(fd, 0, SEEK_HOLE), 0);
	t_eq("data after it", lseek(fd, 0, SEEK_DATA), 2 * B);
	t_eq("the punched hole moved down", lseek(fd, 2 * B, SEEK_HOLE), 4 * B);
	t_eq("size after the last collapse", file_size("c"), (NB - 2) * B);
	close(fd);

	rfd = open("c", O_RDONLY);
	t_err("collapse on a read-only fd",
	      fallocate(rfd, FALLOC_FL_COLLAPSE_RANGE, 0, B), EBADF);
	close(rfd);

	/* a mapping made before a shift sees the data where it now is */
	fd = open("m", O_CREAT | O_RDWR | O_TRUNC, 0644);
	pwrite_all(fd, w, 4 * B, 0);
	unsigned char *m = mmap(NULL, 4 * B, PROT_READ | PROT_WRITE,
				MAP_SHARED, fd, 0);

	if (m == MAP_FAILED) {
		t_true("mmap before a shift", 0, "mmap: %s", strerror(errno));
		close(fd);
		return;
	}
	t_true("mapped block 1 before the shift", !memcmp(m + B, w + B, B),
	       "mapping differs");
	m[2 * B] ^= 0xff;	/* a store made through the mapping moves too */
	t_ok("collapse block 0 of a mapped file",
	     fallocate(fd, FALLOC_FL_COLLAPSE_RANGE, 0, B));
	t_true("the mapping shows block 1 at 0 after collapse",
	       !memcmp(m, w + B, B), "stale mapping after collapse");
	t_true("a store through the mapping moved with its block",
	       m[B] == (unsigned char)(w[2 * B] ^ 0xff),
	       "got %#x", m[B]);
	t_ok("insert block 0 of a mapped file",
	     fallocate(fd, FALLOC_FL_INSERT_RANGE, 0, B));
	memset(e, 0, B);
	t_true("the mapping shows the inserted hole as zeros",
	       !memcmp(m, e, B), "stale mapping after insert");
	t_true("and block 1 back in place", !memcmp(m + B, w + B, B),
	       "stale mapping after insert");
	munmap(m, 4 * B);
	close(fd);
	unlink("m");
}

static void test_dirs(void)
{
	struct stat st;
	long long n0;

	group_begin("dirs");
	lstat(".", &st);
	n0 = st.st_nlink;
	t_ok("mkdir", mkdir("d", 0755));
	t_eq("new dir nlink is 2", nlink_of("d"), 2);
	t_eq("parent nlink +1 after mkdir", nlink_of("."), n0 + 1);
	t_err("mkdir existing", mkdir("d", 0755), EEXIST);
	make_file("f", "x", 1);
	t_err("mkdir over file", mkdir("f", 0755), EEXIST);
	t_err("mkdir under a file", mkdir("f/sub", 0755), ENOTDIR);
	t_err("mkdir missing parent", mkdir("no/sub", 0755), ENOENT);
	t_ok("mkdir d/s1", mkdir("d/s1", 0755));
	t_ok("mkdir d/s2", mkdir("d/s2", 0755));
	t_ok("mkdir d/s3", mkdir("d/s3", 0755));
	t_eq("dir with 3 subdirs has nlink 5", nlink_of("d"), 5);
	make_file("d/file", "y", 1);
	t_eq("a file does not add to dir nlink", nlink_of("d"), 5);
	t_err("rmdir non-empty", rmdir("d"), ENOTEMPTY);
	t_err("rmdir a file", rmdir("f"), ENOTDIR);
	t_err("rmdir missing", rmdir("missing"), ENOENT);
	t_err("rmdir .", rmdir("d/s1/."), EINVAL);
	t_ok("rmdir d/s1", rmdir("d/s1"));
	t_eq("nlink -1 after rmdir", nlink_of("d"), 4);
	t_err("rmdir twice", rmdir("d/s1"), ENOENT);
	lstat("d/s2/..", &st);
	t_eq("'..' is the parent", (long long)st.st_ino, ino_of("d"));
	t_true("dir mode", S_ISDIR(st.st_mode), "expected S_IFDIR got 0%o", st.st_mode);
	{
		DIR *dp = opendir("f");

		t_err("opendir on a file", dp ? 0 : -1, ENOTDIR);
		if (dp)
			closedir(dp);
	}
	/* a removed dir that is still open reads as empty */
	{
		int dfd = open("d/s3", O_RDONLY | O_DIRECTORY);

		rmdir("d/s3");
		fstat(dfd, &st);
		t_eq("open removed dir has nlink 0", st.st_nlink, 0);
		t_err("create in removed dir", openat(dfd, "x", O_CREAT | O_RDWR, 0644), ENOENT);
		close(dfd);
	}
}

static void test_unlink(void)
{
	struct stat st;

	group_begin("unlink");
	make_file("f", "abc", 3);
	mkdir("d", 0755);
	t_ok("unlink file", unlink("f"));
	t_err("file gone", lstat("f", &st), ENOENT);
	t_err("unlink twice", unlink("f"), ENOENT);
	t_err2("unlink a directory", unlink("d"), EISDIR, EPERM);
	make_file("g", "", 0);
	t_err("unlink through a file", unlink("g/x"), ENOTDIR);
	t_err("unlink in missing dir", unlink("nodir/x"), ENOENT);
	t_ok("unlinkat AT_REMOVEDIR", unlinkat(AT_FDCWD, "d", AT_REMOVEDIR));
}

static void test_link(void)
{
	char buf[16];
	int fd;

	group_begin("link");
	make_file("a", "data", 4);
	t_ok("link a b", link("a", "b"));
	t_eq("nlink 2 on a", nlink_of("a"), 2);
	t_eq("nlink 2 on b", nlink_of("b"), 2);
	t_eq("same inode", ino_of("b"), ino_of("a"));
	t_ok("link a c", link("a", "c"));
	t_eq("nlink 3", nlink_of("c"), 3);
	fd = open("b", O_WRONLY);
	pwrite(fd, "DA", 2, 0);
	close(fd);
	slurp("c", buf, sizeof(buf));
	t_true("data shared between links", !strcmp(buf, "DAta"),
	       "expected 'DAta' got '%s'", buf);
	t_ok("unlink a", unlink("a"));
	t_eq("nlink 2 after unlink", nlink_of("b"), 2);
	t_err("link onto existing name", link("b", "c"), EEXIST);
	t_err("link missing source", link("missing", "z"), ENOENT);
	mkdir("d", 0755);
	t_err("link a directory", link("d", "d2"), EPERM);
	t_ok("link into subdirectory", link("b", "d/b"));
	t_eq("nlink 3 after link into subdir", nlink_of("c"), 3);
	unlink("b");
	unlink("c");
	t_eq("last link keeps data", slurp("d/b", buf, sizeof(buf)), 4);
	t_eq("nlink 1 at last", nlink_of("d/b"), 1);
}

static void test_symlink(void)
{
	char buf[PATH_MAX], target[4001];
	struct stat st;
	ssize_t n;
	int fd;

	group_begin("symlink");
	make_file("file", "content", 7);
	t_ok("symlink", symlink("file", "l"));
	n = readlink("l", buf, sizeof(buf));
	t_eq("readlink length", n, 4);
	t_true("readlink content", n == 4 && !memcmp(buf, "file", 4),
	       "expected 'file'");
	t_eq("readlink truncates to buffer", readlink("l", buf, 2), 2);
	lstat("l", &st);
	t_true("lstat S_IFLNK", S_ISLNK(st.st_mode), "mode 0%o", st.st_mode);
	t_eq("symlink st_size is target length", st.st_size, 4);
	stat("l", &st);
	t_true("stat follows", S_ISREG(st.st_mode) && st.st_size == 7,
	       "mode 0%o size %lld", st.st_mode, (long long)st.st_size);
	fd = open("l", O_RDONLY);
	t_ok("open through symlink", fd);
	close(fd);
	t_ok("dangling symlink", symlink("nowhere", "dang"));
	t_err("open dangling symlink", open("dang", O_RDONLY), ENOENT);
	t_ok("loop a->b", symlink("loopb", "loopa"));
	t_ok("loop b->a", symlink("loopa", "loopb"));
	t_err("open symlink loop", open("loopa", O_RDONLY), ELOOP);
	t_err("stat symlink loop", stat("loopa", &st), ELOOP);
	t_ok("self loop", symlink("self", "self"));
	t_err("open self loop", open("self", O_RDONLY), ELOOP);
	t_err("symlink over existing", symlink("x", "file"), EEXIST);
	t_err("readlink on a file", readlink("file", buf, sizeof(buf)), EINVAL);
	t_err("readlink missing", readlink("missing", buf, sizeof(buf)), ENOENT);
	memset(target, 'T', 4000);
	target[4000] = '\0';
	for (n = 100; n < 4000; n += 100)
		target[n] = '/';
	t_ok("symlink with 4000-byte target", symlink(target, "long"));
	n = readlink("long", buf, sizeof(buf));
	t_eq("long readlink length", n, 4000);
	t_true("long readlink content", n == 4000 && !memcmp(buf, target, 4000),
	       "content differs");
	mkdir("d", 0755);
	t_ok("relative symlink into dir", symlink("../file", "d/up"));
	t_eq("relative symlink resolves", slurp("d/up", buf, sizeof(buf)), 7);
	t_ok("symlink to dir", symlink("d", "ld"));
	t_ok("path through dir symlink", access("ld/up", F_OK));
}

static void test_rename(void)
{
	char buf[64];
	struct stat st;
	long long ino, dino, n0, n1;

	group_begin("rename");
	make_file("a", "AAA", 3);
	ino = ino_of("a");
	t_ok("rename a b", rename("a", "b"));
	t_err("old name gone", lstat("a", &st), ENOENT);
	t_eq("inode moves with the name", ino_of("b"), ino);

	make_file("c", "CCCC", 4);
	t_ok("rename over existing file", rename("b", "c"));
	t_eq("target replaced", slurp("c", buf, sizeof(buf)), 3);
	t_eq("target is the moved inode", ino_of("c"), ino);
	t_ok("rename onto itself", rename("c", "c"));
	t_eq("self rename keeps file", ino_of("c"), ino);
	link("c", "c2");
	t_ok("rename between links of one inode", rename("c", "c2"));
	t_eq("both links remain", nlink_of("c"), 2);
	unlink("c2");

	mkdir("d1", 0755);
	mkdir("d2", 0755);
	mkdir("full", 0755);
	make_file("full/x", "", 0);
	t_err("rename file over dir", rename("c", "d1"), EISDIR);
	t_err("rename dir over file", rename("d1", "c"), ENOTDIR);
	t_err("rename dir over non-empty dir", rename("d1", "full"), ENOTEMPTY);
	dino = ino_of("d1");
	t_ok("rename dir over empty dir", rename("d1", "d2"));
	t_eq("dir replaced", ino_of("d2"), dino);
	t_err("rename missing", rename("missing", "x"), ENOENT);

	mkdir("p1", 0755);
	mkdir("p2", 0755);
	mkdir("p1/sub", 0755);
	mkdir("p1/sub/deep", 0755);
	t_err("dir into own subdirectory", rename("p1", "p1/sub/deep/p1"), EINVAL);
	t_err("dir into itself", rename("p1/sub", "p1/sub/x"), EINVAL);
	n0 = nlink_of("p1");
	n1 = nlink_of("p2");
	t_ok("move dir across dirs", rename("p1/sub", "p2/sub"));
	t_eq("old parent nlink -1", nlink_of("p1"), n0 - 1);
	t_eq("new parent nlink +1", nlink_of("p2"), n1 + 1);
	lstat("p2/sub/..", &st);
	t_eq("'..' follows the move", (long long)st.st_ino, ino_of("p2"));
	t_ok("deep content moved", access("p2/sub/deep", F_OK));

	make_file("n1", "1", 1);
	make_file("n2", "2", 1);
	t_err("RENAME_NOREPLACE onto existing",
	      renameat2(AT_FDCWD, "n1", AT_FDCWD, "n2", RENAME_NOREPLACE), EEXIST);
	t_ok("RENAME_NOREPLACE to free name",
	     renameat2(AT_FDCWD, "n1", AT_FDCWD, "n3", RENAME_NOREPLACE));
	ino = ino_of("n3");
	dino = ino_of("n2");
	t_ok("RENAME_EXCHANGE two files",
	     renameat2(AT_FDCWD, "n3", AT_FDCWD, "n2", RENAME_EXCHANGE));
	t_eq("exchange: n2 is old n3", ino_of("n2"), ino);
	t_eq("exchange: n3 is old n2", ino_of("n3"), dino);
	slurp("n2", buf, sizeof(buf));
	t_true("exchange: content follows", !strcmp(buf, "1"), "got '%s'", buf);
	n0 = nlink_of("p2");
	t_ok("RENAME_EXCHANGE file and dir across dirs",
	     renameat2(AT_FDCWD, "n2", AT_FDCWD, "p2/sub", RENAME_EXCHANGE));
	lstat("n2", &st);
	t_true("exchange: n2 is now a dir", S_ISDIR(st.st_mode), "mode 0%o", st.st_mode);
	lstat("p2/sub", &st);
	t_true("exchange: p2/sub is now a file", S_ISREG(st.st_mode), "mode 0%o", st.st_mode);
	t_eq("exchange: p2 lost a subdir", nlink_of("p2"), n0 - 1);
	lstat("n2/..", &st);
	t_eq("exchange: moved dir's '..' updated", (long long)st.st_ino, ino_of("."));
	t_err("RENAME_EXCHANGE with missing target",
	      renameat2(AT_FDCWD, "n3", AT_FDCWD, "none", RENAME_EXCHANGE), ENOENT);
	t_err("RENAME_NOREPLACE|RENAME_EXCHANGE",
	      renameat2(AT_FDCWD, "n3", AT_FDCWD, "n2", RENAME_NOREPLACE | RENAME_EXCHANGE), EINVAL);
	/* rename over a file that is still open: the old inode stays readable */
	{
		int fd;

		make_file("victim", "VICTIM", 6);
		make_file("winner", "W", 1);
		fd = open("victim", O_RDONLY);
		t_ok("rename over an open file", rename("winner", "victim"));
		memset(buf, 0, sizeof(buf));
		t_eq("replaced file still readable", pread(fd, buf, sizeof(buf), 0), 6);
		fstat(fd, &st);
		t_eq("replaced file has nlink 0", st.st_nlink, 0);
		close(fd);
	}
}

static void test_mknod(void)
{
	struct stat st;
	char buf[8];
	int fd;

	group_begin("mknod");
	t_ok("mkfifo", mkfifo("fifo", 0644));
	lstat("fifo", &st);
	t_true("fifo type", S_ISFIFO(st.st_mode), "mode 0%o", st.st_mode);
	fd = open("fifo", O_RDWR | O_NONBLOCK);
	t_ok("open fifo", fd);
	t_eq("write to fifo", write(fd, "abc", 3), 3);
	t_eq("read from fifo", read(fd, buf, sizeof(buf)), 3);
	close(fd);
	t_ok("mknod S_IFREG", mknod("reg", S_IFREG | 0600, 0));
	lstat("reg", &st);
	t_true("mknod regular type", S_ISREG(st.st_mode) && (st.st_mode & 07777) == 0600,
	       "mode 0%o", st.st_mode);
	t_ok("mknod socket", mknod("sock", S_IFSOCK | 0600, 0));
	lstat("sock", &st);
	t_true("socket type", S_ISSOCK(st.st_mode), "mode 0%o", st.st_mode);
	t_err("mknod existing", mknod("reg", S_IFREG | 0600, 0), EEXIST);
	if (!is_root) {
		skip("mknod char device", "needs root");
		return;
	}
	t_ok("mknod char device", mknod("chr", S_IFCHR | 0600, makedev(1, 3)));
	lstat("chr", &st);
	t_true("char device type and rdev",
	       S_ISCHR(st.st_mode) && major(st.st_rdev) == 1 && minor(st.st_rdev) == 3,
	       "mode 0%o rdev %u:%u", st.st_mode, major(st.st_rdev), minor(st.st_rdev));
	t_ok("mknod block device", mknod("blk", S_IFBLK | 0600, makedev(7, 200)));
	lstat("blk", &st);
	t_true("block device rdev",
	       S_ISBLK(st.st_mode) && major(st.st_rdev) == 7 && minor(st.st_rdev) == 200,
	       "mode 0%o rdev %u:%u", st.st_mode, major(st.st_rdev), minor(st.st_rdev));
}

static bool ts_eq(const struct timespec *a, long long sec, long nsec)
{
	return a->tv_sec == sec && a->tv_nsec == nsec;
}

static void test_attrs(void)
{
	struct timespec ts[2], now;
	struct stat st, st0;
	struct statvfs sv;
	char *map, c;
	int fd;

	group_begin("attrs");
	make_file("f", "x", 1);
	t_ok("chmod 0640", chmod("f", 0640));
	lstat("f", &st);
	t_octal("mode after chmod", st.st_mode & 07777, 0640);
	t_true("chmod keeps type", S_ISREG(st.st_mode), "mode 0%o", st.st_mode);
	t_ok("chmod sticky+setgid", chmod("f", 03755));
	lstat("f", &st);
	t_octal("special bits", st.st_mode & 07777, 03755);
	fd = open("f", O_RDONLY);
	t_ok("fchmod", fchmod(fd, 0600));
	fstat(fd, &st);
	t_octal("mode after fchmod", st.st_mode & 07777, 0600);
	close(fd);

	/* ctime moves on a change */
	lstat("f", &st0);
	usleep(20000);
	chmod("f", 0644);
	lstat("f", &st);
	t_true("chmod updates ctime",
	       st.st_ctim.tv_sec > st0.st_ctim.tv_sec ||
	       (st.st_ctim.tv_sec == st0.st_ctim.tv_sec && st.st_ctim.tv_nsec > st0.st_ctim.tv_nsec),
	       "ctime did not move");

	ts[0].tv_sec = 1000000000;
	ts[0].tv_nsec = 123456789;
	ts[1].tv_sec = 1500000000;
	ts[1].tv_nsec = 987654321;
	t_ok("utimensat with nanoseconds", utimensat(AT_FDCWD, "f", ts, 0));
	lstat("f", &st);
	t_true("atime nanoseconds", ts_eq(&st.st_atim, 1000000000, 123456789),
	       "expected 1000000000.123456789 got %lld.%09ld",
	       (long long)st.st_atim.tv_sec, st.st_atim.tv_nsec);
	t_true("mtime nanoseconds", ts_eq(&st.st_mtim, 1500000000, 987654321),
	       "expected 1500000000.987654321 got %lld.%09ld",
	       (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
	ts[0].tv_nsec = UTIME_OMIT;
	ts[1].tv_sec = 1600000000;
	ts[1].tv_nsec = 5;
	t_ok("utimensat UTIME_OMIT atime", utimensat(AT_FDCWD, "f", ts, 0));
	lstat("f", &st);
	t_true("UTIME_OMIT keeps atime", ts_eq(&st.st_atim, 1000000000, 123456789),
	       "got %lld.%09ld", (long long)st.st_atim.tv_sec, st.st_atim.tv_nsec);
	t_true("mtime set with 5 ns", ts_eq(&st.st_mtim, 1600000000, 5),
	       "got %lld.%09ld", (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
	ts[0].tv_nsec = UTIME_NOW;
	ts[1].tv_nsec = UTIME_NOW;
	clock_gettime(CLOCK_REALTIME, &now);
	t_ok("utimensat UTIME_NOW", utimensat(AT_FDCWD, "f", ts, 0));
	lstat("f", &st);
	t_true("UTIME_NOW sets mtime to now",
	       llabs((long long)st.st_mtim.tv_sec - (long long)now.tv_sec) <= 2,
	       "mtime %lld now %lld", (long long)st.st_mtim.tv_sec, (long long)now.tv_sec);
	t_true("UTIME_NOW sets atime to now",
	       llabs((long long)st.st_atim.tv_sec - (long long)now.tv_sec) <= 2,
	       "atime %lld now %lld", (long long)st.st_atim.tv_sec, (long long)now.tv_sec);
	t_ok("utimensat NULL (now)", utimensat(AT_FDCWD, "f", NULL, 0));

	/* write moves mtime */
	ts[0].tv_sec = ts[1].tv_sec = 1000;
	ts[0].tv_nsec = ts[1].tv_nsec = 0;
	utimensat(AT_FDCWD, "f", ts, 0);
	fd = open("f", O_WRONLY);
	write(fd, "y", 1);
	fstat(fd, &st);
	close(fd);
	t_true("write updates mtime", st.st_mtim.tv_sec > 1000, "mtime %lld",
	       (long long)st.st_mtim.tv_sec);

	/*
	 * An access may move atime (the old atime makes relatime update it),
	 * never ctime: else every read rewrites the inode.
	 */
	ts[0].tv_sec = ts[1].tv_sec = 3000;
	ts[0].tv_nsec = ts[1].tv_nsec = 0;
	utimensat(AT_FDCWD, "f", ts, 0);
	lstat("f", &st0);
	usleep(20000);
	fd = open("f", O_RDONLY);
	t_eq("read 1 byte", read(fd, &c, 1), 1);
	map = mmap(NULL, 1, PROT_READ, MAP_SHARED, fd, 0);
	t_true("mmap for reading", map != MAP_FAILED, "%s", strerror(errno));
	if (map != MAP_FAILED) {
		c = *(volatile char *)map;
		munmap(map, 1);
	}
	close(fd);
	lstat("f", &st);
	t_true("read and mmap leave ctime alone",
	       ts_eq(&st.st_ctim, st0.st_ctim.tv_sec, st0.st_ctim.tv_nsec),
	       "ctime %lld.%09ld became %lld.%09ld",
	       (long long)st0.st_ctim.tv_sec, st0.st_ctim.tv_nsec,
	       (long long)st.st_ctim.tv_sec, st.st_ctim.tv_nsec);
	if (!statvfs(".", &sv) && !(sv.f_flag & ST_NOATIME))
		t_true("read moves an atime not after mtime (relatime)",
		       st.st_atim.tv_sec > 3000, "atime %lld",
		       (long long)st.st_atim.tv_sec);

	symlink("f", "lnk");
	ts[0].tv_sec = ts[1].tv_sec = 2000;
	t_ok("utimensat AT_SYMLINK_NOFOLLOW", utimensat(AT_FDCWD, "lnk", ts, AT_SYMLINK_NOFOLLOW));
	lstat("lnk", &st);
	t_eq("symlink's own mtime", st.st_mtim.tv_sec, 2000);
	stat("f", &st);
	t_true("target mtime untouched", st.st_mtim.tv_sec != 2000, "target changed");

	if (!is_root) {
		skip("chown", "needs root");
		return;
	}
	t_ok("chown 1234:5678", chown("f", 1234, 5678));
	lstat("f", &st);
	t_true("owner after chown", st.st_uid == 1234 && st.st_gid == 5678,
	       "got %u:%u", st.st_uid, st.st_gid);
	t_ok("chown -1:42 keeps uid", chown("f", (uid_t)-1, 42));
	lstat("f", &st);
	t_true("owner after partial chown", st.st_uid == 1234 && st.st_gid == 42,
	       "got %u:%u", st.st_uid, st.st_gid);
	t_ok("lchown symlink", lchown("lnk", 77, 88));
	lstat("lnk", &st);
	t_true("symlink owner", st.st_uid == 77 && st.st_gid == 88, "got %u:%u",
	       st.st_uid, st.st_gid);
	chmod("f", 06755);
	t_ok("chown a setuid file", chown("f", 0, 0));
	lstat("f", &st);
	t_octal("chown clears setuid and setgid", st.st_mode & 07777, 0755);
}

/*
 * The atime policy DIR's mount has (-A, else what statvfs says), as the
 * kernel keeps it: noatime and relatime flags, none of them is strictatime.
 */
enum { ATIME_NO = 1, ATIME_NODIR = 2, ATIME_REL = 4 };
static const char *atime_opts;	/* -A */

/* -A OPTS, folded as mount(8) and the kernel do; -1 for an unknown one */
static int atime_policy(const char *opts)
{
	bool no = false, nodir = false, strict = false;
	char buf[256], *save = NULL, *o;

	snprintf(buf, sizeof(buf), "%s", opts);
	for (o = strtok_r(buf, ",", &save); o; o = strtok_r(NULL, ",", &save)) {
		if (!strcmp(o, "noatime"))
			no = true;
		else if (!strcmp(o, "atime"))
			no = false;
		else if (!strcmp(o, "nodiratime"))
			nodir = true;
		else if (!strcmp(o, "diratime"))
			nodir = false;
		else if (!strcmp(o, "strictatime"))
			strict = true;
		else if (strcmp(o, "relatime") && strcmp(o, "norelatime") &&
			 strcmp(o, "lazytime") && strcmp(o, "nolazytime"))
			return -1;	/* lazytime: when, not whether */
	}
	if (strict)
		return nodir ? ATIME_NODIR : 0;
	return (no ? ATIME_NO : ATIME_REL) | (nodir ? ATIME_NODIR : 0);
}

static const char *atime_name(int pol)
{
	static const char *const names[] = {
		"strictatime", "noatime", "strictatime,nodiratime",
		"noatime,nodiratime", "relatime", "noatime",
		"relatime,nodiratime", "noatime,nodiratime",
	};

	return names[pol & 7];
}

static bool ts_same(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec;
}

/*
 * Read one byte of path (or fault in one mapped byte) after dropping its
 * cached pages: over FUSE only what misses the page cache reaches the
 * server, which owns atime there.
 */
static int access_file(const char *path, bool map)
{
	int fd = open(path, O_RDONLY), ret = -1;
	char c;

	if (fd < 0)
		return -1;
	posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	if (map) {
		char *m = mmap(NULL, 1, PROT_READ, MAP_SHARED, fd, 0);

		if (m != MAP_FAILED) {
			c = *(volatile char *)m;
			ret = munmap(m, 1);
		}
	} else {
		ret = read(fd, &c, 1) == 1 ? 0 : -1;
	}
	close(fd);
	return ret;
}

static int list_dir(const char *path)
{
	DIR *d = opendir(path);

	if (!d)
		return -1;
	while (readdir(d))
		;
	return closedir(d);
}

/* One access: did it move atime as pol says, and leave ctime alone? */
static void atime_step(const char *what, const char *path, bool dir,
		       bool map, bool expect)
{
	struct stat st0, st;
	char name[160];

	lstat(path, &st0);
	usleep(30000);	/* past a coarse clock's tick */
	snprintf(name, sizeof(name), "%s", what);
	t_ok(name, dir ? list_dir(path) : access_file(path, map));
	lstat(path, &st);
	snprintf(name, sizeof(name), "%s %s atime", what,
		 expect ? "moves" : "leaves");
	t_true(name, ts_same(&st.st_atim, &st0.st_atim) != expect,
	       "atime %lld.%09ld -> %lld.%09ld",
	       (long long)st0.st_atim.tv_sec, st0.st_atim.tv_nsec,
	       (long long)st.st_atim.tv_sec, st.st_atim.tv_nsec);
	snprintf(name, sizeof(name), "%s leaves ctime", what);
	t_true(name, ts_same(&st.st_ctim, &st0.st_ctim),
	       "ctime %lld.%09ld -> %lld.%09ld",
	       (long long)st0.st_ctim.tv_sec, st0.st_ctim.tv_nsec,
	       (long long)st.st_ctim.tv_sec, st.st_ctim.tv_nsec);
}

/* atime 1000 s, mtime 2000 s after the epoch: older than mtime and ctime */
static void old_times(const char *path)
{
	struct timespec ts[2] = { { 1000, 0 }, { 2000, 0 } };

	utimensat(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW);
}

/*
 * Which accesses move atime, under the mount's policy (the VFS's rules:
 * fs/inode.c atime_needs_update): noatime never, nodiratime never for a
 * directory, strictatime always, relatime when atime <= mtime or ctime (or
 * is a day old, which a test cannot arrange: utimensat moves ctime).
 * ctime never moves.
 */
static void test_atime(void)
{
	unsigned char buf[8192];
	struct statvfs sv;
	bool strict, no, nodir;
	int pol;

	group_begin("atime");
	if (atime_opts) {
		pol = atime_policy(atime_opts);
	} else if (!statvfs(".", &sv)) {
		pol = (sv.f_flag & ST_NOATIME) ? ATIME_NO : 0;
		pol |= (sv.f_flag & ST_RELATIME) ? ATIME_REL : 0;
		pol |= (sv.f_flag & ST_NODIRATIME) ? ATIME_NODIR : 0;
	} else {
		skip("atime", "statvfs failed and no -A");
		return;
	}
	if (pol < 0) {
		fail("atime policy", "bad -A '%s'", atime_opts);
		return;
	}
	if (!quiet)
		printf("# atime policy: %s%s\n", atime_name(pol),
		       atime_opts ? " (-A)" : " (statvfs)");
	no = pol & ATIME_NO;
	nodir = pol & ATIME_NODIR;
	strict = !(pol & (ATIME_NO | ATIME_REL));

	pattern(buf, sizeof(buf), 0, 7);
	make_file("f", buf, sizeof(buf));
	old_times("f");
	atime_step("read of a file whose atime is older than mtime", "f",
		   false, false, !no);
	atime_step("a second read", "f", false, false, strict);
	old_times("f");
	atime_step("mmap read of a file whose atime is older than mtime",
		   "f", false, true, !no);
	atime_step("a second mmap read", "f", false, true, strict);

	mkdir("d", 0755);
	make_file("d/a", "a", 1);
	make_file("d/b", "b", 1);
	old_times("d");
	atime_step("readdir of a directory whose atime is older than mtime",
		   "d", true, false, !no && !nodir);
	atime_step("a second readdir", "d", true, false, strict && !nodir);
}

static void test_stat(void)
{
	unsigned char *buf = xmalloc(65536);
	struct stat st, st2;
	int fd;

	group_begin("stat");
	fd = open("e", O_CREAT | O_RDWR, 0644);
	fstat(fd, &st);
	t_eq("empty file size", st.st_size, 0);
	t_eq("empty file blocks", st.st_blocks, 0);
	t_eq("new file nlink", st.st_nlink, 1);
	t_true("st_blksize", st.st_blksize >= 512, "got %ld", (long)st.st_blksize);
	pattern(buf, 65536, 0, 2);
	pwrite_all(fd, buf, 65536, 0);
	fstat(fd, &st);
	t_eq("size after 64 KiB", st.st_size, 65536);
	t_true("blocks after 64 KiB", st.st_blocks >= 128 && st.st_blocks <= 256,
	       "expected 128..256 got %lld", (long long)st.st_blocks);
	close(fd);
	stat("e", &st2);
	t_true("ino and dev stable across lookups",
	       st.st_ino == st2.st_ino && st.st_dev == st2.st_dev, "changed");
	make_file("e2", "", 0);
	t_true("distinct inodes", ino_of("e2") != ino_of("e"), "same ino");
	lstat(".", &st);
	t_true("dir type", S_ISDIR(st.st_mode), "mode 0%o", st.st_mode);
	t_eq("dir nlink with no subdirs", st.st_nlink, 2);
	t_true("owner is the creator", st.st_uid == geteuid(), "uid %u", st.st_uid);
	free(buf);
}

struct seen {
	unsigned char *count;	/* per created file index */
	unsigned int dots, dotdots, other, bad_type;
};

static void test_readdir(void)
{
	enum { NFILES = 3000, NDIRS = 10 };
	struct seen s;
	char name[NAME_MAX + 8];
	struct dirent *de;
	DIR *d;
	long pos;
	char first[10][NAME_MAX + 1];
	int i, n, missing = 0, dup = 0;

	group_begin("readdir");
	mkdir("big", 0755);
	for (i = 0; i < NFILES; i++) {
		snprintf(name, sizeof(name), "big/file-%05d-%s", i,
			 i % 7 ? "x" : "a-longer-name-to-vary-record-sizes");
		if (make_file(name, NULL, 0))
			break;
	}
	t_eq("created files", i, NFILES);
	for (i = 0; i < NDIRS; i++) {
		snprintf(name, sizeof(name), "big/dir-%02d", i);
		mkdir(name, 0755);
	}

	memset(&s, 0, sizeof(s));
	s.count = calloc(NFILES + NDIRS, 1);
	d = opendir("big");
	t_true("opendir", d != NULL, "%s", strerror(errno));
	if (!d)
		return;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".")) {
			s.dots++;
		} else if (!strcmp(de->d_name, "..")) {
			s.dotdots++;
		} else if (sscanf(de->d_name, "file-%05d", &n) == 1 && n >= 0 && n < NFILES) {
			s.count[n]++;
			if (de->d_type != DT_REG && de->d_type != DT_UNKNOWN)
				s.bad_type++;
		} else if (sscanf(de->d_name, "dir-%02d", &n) == 1 && n >= 0 && n < NDIRS) {
			s.count[NFILES + n]++;
			if (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN)
				s.bad_type++;
		} else {
			s.other++;
		}
	}
	for (i = 0; i < NFILES + NDIRS; i++) {
		missing += !s.count[i];
		dup += s.count[i] > 1;
	}
	t_eq("'.' exactly once", s.dots, 1);
	t_eq("'..' exactly once", s.dotdots, 1);
	t_eq("no entry missing", missing, 0);
	t_eq("no entry duplicated", dup, 0);
	t_eq("no unknown names", s.other, 0);
	t_eq("d_type matches", s.bad_type, 0);

	/* d_ino is the inode stat reports */
	rewinddir(d);
	n = 0;
	while ((de = readdir(d)))
		if (!strncmp(de->d_name, "file-0000", 9)) {
			snprintf(name, sizeof(name), "big/%s", de->d_name);
			n += de->d_ino == (ino_t)ino_of(name);
		}
	t_eq("d_ino matches st_ino", n, 10);

	/* telldir/seekdir: come back to a position mid-directory */
	rewinddir(d);
	for (i = 0; i < 1234; i++)
		readdir(d);
	pos = telldir(d);
	for (i = 0; i < 10; i++) {
		de = readdir(d);
		snprintf(first[i], sizeof(first[i]), "%s", de ? de->d_name : "");
	}
	for (i = 0; i < 500; i++)
		readdir(d);
	seekdir(d, pos);
	for (i = 0, n = 0; i < 10; i++) {
		de = readdir(d);
		n += de && !strcmp(first[i], de->d_name);
	}
	t_eq("seekdir returns to the telldir position", n, 10);
	closedir(d);

	/*
	 * Changing the directory while reading it: every entry neither added
	 * nor removed must still come exactly once (cookies are stable).
	 */
	memset(s.count, 0, NFILES + NDIRS);
	d = opendir("big");
	n = 0;
	while ((de = readdir(d))) {
		int k;

		if (sscanf(de->d_name, "file-%05d", &k) == 1 && k >= 0 && k < NFILES)
			s.count[k]++;
		if (++n == 1000) {
			/* remove 200 names read already, add 200 new ones */
			struct dirent *e2;
			DIR *d2 = opendir("big");
			int removed = 0;

			while (removed < 200 && (e2 = readdir(d2)))
				if (sscanf(e2->d_name, "file-%05d", &k) == 1 &&
				    k >= 0 && k < NFILES && s.count[k]) {
					snprintf(name, sizeof(name), "big/%s", e2->d_name);
					if (!unlink(name)) {
						s.count[k] = 2;	/* removed: ignore */
						removed++;
					}
				}
			closedir(d2);
			for (k = 0; k < 200; k++) {
				snprintf(name, sizeof(name), "big/new-%03d", k);
				make_file(name, NULL, 0);
			}
		}
	}
	closedir(d);
	for (i = 0, missing = 0, dup = 0; i < NFILES; i++) {
		missing += !s.count[i];
		dup += s.count[i] > 1 && s.count[i] != 2;
	}
	t_eq("readdir under change: none missing", missing, 0);
	t_eq("readdir under change: none duplicated", dup, 0);
	free(s.count);
	t_ok("remove large dir", rm_rf("big"));
}

static void test_unlinked_open(void)
{
	unsigned char w[10000], r[10000];
	struct stat st;
	int fd, fd2;

	group_begin("orphan");
	pattern(w, sizeof(w), 0, 13);
	fd = open("o", O_CREAT | O_RDWR, 0644);
	pwrite_all(fd, w, 5000, 0);
	fd2 = open("o", O_RDONLY);
	t_ok("unlink open file", unlink("o"));
	t_err("name gone", access("o", F_OK), ENOENT);
	fstat(fd, &st);
	t_eq("orphan nlink 0", st.st_nlink, 0);
	t_eq("orphan still readable", pread_all(fd, r, 5000, 0), 5000);
	t_mem("orphan content", r, w, 5000);
	t_eq("orphan still writable", pwrite_all(fd, w + 5000, 5000, 5000), 5000);
	fstat(fd, &st);
	t_eq("orphan size grows", st.st_size, 10000);
	t_ok("orphan ftruncate", ftruncate(fd, 9000));
	close(fd);
	t_eq("second fd still reads", pread_all(fd2, r, sizeof(r), 0), 9000);
	t_mem("second fd content", r, w, 9000);
	close(fd2);
	/* the name can be reused while the orphan lived */
	t_ok("name reusable", make_file("o", "new", 3));
	t_eq("new file is new", file_size("o"), 3);
}

static void test_xattr(void)
{
	char buf[8192], big[4000], list[1024];
	ssize_t n;
	int fd;

	group_begin("xattr");
	make_file("f", "", 0);
	n = setxattr("f", "user.probe", "1", 1, 0);
	if (n < 0 && errno == EOPNOTSUPP) {
		skip("user xattrs", "filesystem returns EOPNOTSUPP");
		return;
	}
	t_ok("setxattr user.foo", setxattr("f", "user.foo", "bar", 3, 0));
	t_eq("getxattr size query", getxattr("f", "user.foo", NULL, 0), 3);
	memset(buf, 0, sizeof(buf));
	t_eq("getxattr", getxattr("f", "user.foo", buf, sizeof(buf)), 3);
	t_true("getxattr value", !memcmp(buf, "bar", 3), "got '%.3s'", buf);
	t_err("getxattr small buffer", getxattr("f", "user.foo", buf, 2), ERANGE);
	t_err("getxattr missing", getxattr("f", "user.none", buf, sizeof(buf)), ENODATA);
	t_err("XATTR_CREATE existing", setxattr("f", "user.foo", "x", 1, XATTR_CREATE), EEXIST);
	t_err("XATTR_REPLACE missing", setxattr("f", "user.new", "x", 1, XATTR_REPLACE), ENODATA);
	t_ok("XATTR_REPLACE existing", setxattr("f", "user.foo", "longer value", 12, XATTR_REPLACE));
	t_eq("replaced value size", getxattr("f", "user.foo", buf, sizeof(buf)), 12);
	t_ok("XATTR_CREATE new", setxattr("f", "user.bar", "", 0, XATTR_CREATE));
	t_eq("empty value", getxattr("f", "user.bar", buf, sizeof(buf)), 0);
	memset(big, 'v', sizeof(big));
	t_ok("4000-byte value", setxattr("f", "user.big", big, sizeof(big), 0));
	t_eq("4000-byte value size", getxattr("f", "user.big", buf, sizeof(buf)), 4000);
	t_true("4000-byte value content", !memcmp(buf, big, sizeof(big)), "differs");

	n = listxattr("f", list, sizeof(list));
	t_true("listxattr", n > 0, "returned %zd (%s)", n, strerror(errno));
	{
		int found = 0;
		ssize_t i;

		for (i = 0; i < n; i += (ssize_t)strlen(list + i) + 1)
			found += !strcmp(list + i, "user.foo") + !strcmp(list + i, "user.bar") +
				 !strcmp(list + i, "user.big") + !strcmp(list + i, "user.probe");
		t_eq("listxattr names", found, 4);
	}
	t_eq("listxattr size query", listxattr("f", NULL, 0), n);
	t_err("listxattr small buffer", listxattr("f", list, 3), ERANGE);
	t_ok("removexattr", removexattr("f", "user.foo"));
	t_err("removed attr gone", getxattr("f", "user.foo", buf, sizeof(buf)), ENODATA);
	t_err("removexattr missing", removexattr("f", "user.foo"), ENODATA);
	fd = open("f", O_RDONLY);
	t_ok("fsetxattr", fsetxattr(fd, "user.fd", "1", 1, 0));
	t_eq("fgetxattr", fgetxattr(fd, "user.fd", buf, sizeof(buf)), 1);
	close(fd);
	mkdir("d", 0755);
	t_ok("xattr on a directory", setxattr("d", "user.d", "dir", 3, 0));
	t_eq("xattr on a directory reads back", getxattr("d", "user.d", buf, sizeof(buf)), 3);
	symlink("f", "l");
	t_err("user xattr on a symlink", lsetxattr("l", "user.x", "1", 1, 0), EPERM);
	t_err("unknown namespace", setxattr("f", "bogus.x", "1", 1, 0), EOPNOTSUPP);
	/* the xattrs go with the inode: visible through a hard link */
	link("f", "f2");
	t_eq("xattr via hard link", getxattr("f2", "user.bar", buf, sizeof(buf)), 0);

	/* dropping an ACL that is not there succeeds and touches nothing else */
	make_file("noacl", "", 0);
	setxattr("noacl", "user.keep", "kept", 4, 0);
	n = removexattr("noacl", "system.posix_acl_access");
	if (n < 0 && errno == EOPNOTSUPP) {
		skip("remove absent ACL", "no POSIX ACL support");
	} else {
		t_ok("remove absent ACL", n);
		t_eq("other xattrs survive removing an absent ACL",
		     getxattr("noacl", "user.keep", buf, sizeof(buf)), 4);
	}

	if (!is_root) {
		skip("trusted xattrs", "needs root");
		return;
	}
	t_ok("setxattr trusted.t", setxattr("f", "trusted.t", "secret", 6, 0));
	t_eq("getxattr trusted.t", getxattr("f", "trusted.t", buf, sizeof(buf)), 6);
	t_true("trusted value", !memcmp(buf, "secret", 6), "differs");
}

/* ---- POSIX ACLs ------------------------------------------------------ */

#define ACL_USER_OBJ	0x01
#define ACL_USER	0x02
#define ACL_GROUP_OBJ	0x04
#define ACL_GROUP	0x08
#define ACL_MASK	0x10
#define ACL_OTHER	0x20

struct acl_ent {
	uint16_t tag, perm;
	uint32_t id;
};

/* Raw system.posix_acl_* value, version 2, little endian (x86). */
static size_t acl_build(char *buf, const struct acl_ent *e, size_t n)
{
	uint32_t ver = 2;
	size_t i;

	memcpy(buf, &ver, 4);
	for (i = 0; i < n; i++)
		memcpy(buf + 4 + i * 8, &e[i], 8);
	return 4 + n * 8;
}

enum { UID_GRANTED = 4242, UID_DENIED = 4343, UID_OTHER = 4444, GID_TEST = 5555 };

/*
 * Open name (relative to dfd) as uid in a child; returns 0 or the errno.
 * openat on a directory fd opened as root needs search permission on that
 * directory only, not on the path above it.
 */
static int open_as(int dfd, const char *name, int flags, uid_t uid)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (!pid) {
		int fd;

		if (setgroups(0, NULL) || setresgid(GID_TEST, GID_TEST, GID_TEST) ||
		    setresuid(uid, uid, uid))
			_exit(200);
		fd = openat(dfd, name, flags, 0644);
		_exit(fd < 0 ? errno : 0);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

static bool t_open_as(const char *name, int dfd, const char *file, int flags,
		      uid_t uid, int exp)
{
	int got = open_as(dfd, file, flags, uid);

	if (got == exp)
		return pass(name);
	if (got == 200)
		return fail(name, "could not switch to uid %u", uid);
	return fail(name, "expected %s got %s", exp ? ename(exp) : "success",
		    got > 0 ? ename(got) : got == 0 ? "success" : "child failure");
}

static void test_acl(void)
{
	const struct acl_ent acc[] = {
		{ ACL_USER_OBJ, 6, UINT32_MAX },
		{ ACL_USER, 4, UID_GRANTED },
		{ ACL_USER, 0, UID_DENIED },
		{ ACL_GROUP_OBJ, 0, UINT32_MAX },
		{ ACL_MASK, 4, UINT32_MAX },
		{ ACL_OTHER, 4, UINT32_MAX },
	};
	const struct acl_ent dfl[] = {
		{ ACL_USER_OBJ, 7, UINT32_MAX },
		{ ACL_USER, 7, UID_GRANTED },
		{ ACL_GROUP_OBJ, 5, UINT32_MAX },
		{ ACL_MASK, 7, UINT32_MAX },
		{ ACL_OTHER, 0, UINT32_MAX },
	};
	const struct acl_ent minimal[] = {
		{ ACL_USER_OBJ, 7, UINT32_MAX },
		{ ACL_GROUP_OBJ, 5, UINT32_MAX },
		{ ACL_OTHER, 1, UINT32_MAX },
	};
	char val[128], got[128];
	struct stat st;
	size_t len;
	ssize_t n;
	mode_t old;
	int dfd, fd;

	group_begin("acl");
	if (!is_root) {
		skip("POSIX ACLs", "needs root to test as other uids");
		return;
	}
	dfd = open(".", O_RDONLY | O_DIRECTORY);
	make_file("plain", "x", 1);
	chmod("plain", 0600);
	t_open_as("mode 0600 denies another uid", dfd, "plain", O_RDONLY, UID_OTHER, EACCES);
	chmod("plain", 0604);
	t_open_as("mode 0604 lets others read", dfd, "plain", O_RDONLY, UID_OTHER, 0);
	t_open_as("mode 0604 denies others write", dfd, "plain", O_WRONLY, UID_OTHER, EACCES);

	make_file("f", "secret", 6);
	chmod("f", 0600);
	len = acl_build(val, acc, sizeof(acc) / sizeof(acc[0]));
	n = setxattr("f", "system.posix_acl_access", val, len, 0);
	if (n < 0 && errno == EOPNOTSUPP) {
		skip("POSIX ACLs", "filesystem returns EOPNOTSUPP");
		close(dfd);
		return;
	}
	t_ok("setxattr system.posix_acl_access (raw v2)", n);
	lstat("f", &st);
	t_octal("mode follows the ACL (group bits = mask)", st.st_mode & 07777, 0644);
	memset(got, 0, sizeof(got));
	n = getxattr("f", "system.posix_acl_access", got, sizeof(got));
	t_eq("ACL reads back same size", n, (long long)len);
	t_mem("ACL reads back same bytes", got, val, len);
	t_open_as("ACL named user granted read", dfd, "f", O_RDONLY, UID_GRANTED, 0);
	t_open_as("ACL named user not granted write", dfd, "f", O_WRONLY, UID_GRANTED, EACCES);
	t_open_as("ACL named user with --- denied (other allows)", dfd, "f", O_RDONLY, UID_DENIED, EACCES);
	t_open_as("ACL other entry grants read", dfd, "f", O_RDONLY, UID_OTHER, 0);

	/*
	 * chmod rewrites the mask: the named user loses read.  (With no group
	 * bits at all Linux skips the ACL and applies "other": keep -w-.)
	 */
	t_ok("chmod 0624 on a file with ACL", chmod("f", 0624));
	n = getxattr("f", "system.posix_acl_access", got, sizeof(got));
	t_true("chmod updated the ACL mask to -w-",
	       n == (ssize_t)len && got[4 + 4 * 8 + 2] == 2,
	       "size %zd mask perm %d", n, n == (ssize_t)len ? got[4 + 4 * 8 + 2] : -1);
	t_open_as("masked named user now denied", dfd, "f", O_RDONLY, UID_GRANTED, EACCES);

	/* an ACL the mode can express is folded into the mode */
	make_file("m", "", 0);
	len = acl_build(val, minimal, 3);
	t_ok("setxattr minimal ACL", setxattr("m", "system.posix_acl_access", val, len, 0));
	lstat("m", &st);
	t_octal("minimal ACL sets mode", st.st_mode & 07777, 0751);
	t_err("invalid ACL (no mask with named user)",
	      setxattr("m", "system.posix_acl_access", val,
		       acl_build(val, (const struct acl_ent[]){
				{ ACL_USER_OBJ, 7, UINT32_MAX }, { ACL_USER, 7, 1 },
				{ ACL_GROUP_OBJ, 5, UINT32_MAX }, { ACL_OTHER, 1, UINT32_MAX } }, 4), 0),
	      EINVAL);

	/* default ACL: inherited by new files, umask ignored */
	mkdir("inh", 0755);
	len = acl_build(val, dfl, sizeof(dfl) / sizeof(dfl[0]));
	t_ok("setxattr system.posix_acl_default", setxattr("inh", "system.posix_acl_default", val, len, 0));
	t_err("default ACL on a file", setxattr("f", "system.posix_acl_default", val, len, 0), EACCES);
	old = umask(022);
	fd = open("inh/new", O_CREAT | O_RDWR, 0666);
	umask(old);
	t_ok("create under default ACL", fd);
	close(fd);
	lstat("inh/new", &st);
	t_octal("inherited mode is masked by the ACL, not the umask", st.st_mode & 07777, 0660);
	n = getxattr("inh/new", "system.posix_acl_access", got, sizeof(got));
	t_eq("new file got an access ACL", n, (long long)len);
	{
		int sub = open("inh", O_RDONLY | O_DIRECTORY);

		t_open_as("inherited ACL grants named user write", sub, "new", O_RDWR, UID_GRANTED, 0);
		t_open_as("inherited ACL denies others", sub, "new", O_RDONLY, UID_OTHER, EACCES);
		close(sub);
	}
	old = umask(022);
	mkdir("inh/sub", 0777);
	umask(old);
	t_eq("new subdir inherits the default ACL",
	     getxattr("inh/sub", "system.posix_acl_default", got, sizeof(got)), (long long)len);
	t_ok("remove default ACL", removexattr("inh", "system.posix_acl_default"));
	old = umask(027);
	fd = open("inh/plain", O_CREAT | O_RDWR, 0666);
	umask(old);
	close(fd);
	lstat("inh/plain", &st);
	t_octal("without default ACL the umask applies", st.st_mode & 07777, 0640);
	close(dfd);
}

static void test_statfs(void)
{
	const size_t len = 8 << 20;
	struct statfs a, b;
	unsigned char *buf;
	int fd;

	group_begin("statfs");
	t_ok("statfs", statfs(".", &a));
	t_true("statfs geometry", a.f_bsize > 0 && a.f_blocks > 0 && a.f_bfree <= a.f_blocks &&
	       a.f_bavail <= a.f_bfree, "bsize %ld blocks %llu bfree %llu bavail %llu",
	       (long)a.f_bsize, (unsigned long long)a.f_blocks,
	       (unsigned long long)a.f_bfree, (unsigned long long)a.f_bavail);
	t_true("statfs namelen", a.f_namelen >= 255, "got %ld", (long)a.f_namelen);
	t_true("statfs inodes", a.f_files > 0 && a.f_ffree <= a.f_files,
	       "files %llu ffree %llu", (unsigned long long)a.f_files,
	       (unsigned long long)a.f_ffree);
	buf = xmalloc(len);
	pattern(buf, len, 0, 17);
	fd = open("fill", O_CREAT | O_RDWR, 0644);
	pwrite_all(fd, buf, len, 0);
	fsync(fd);
	close(fd);
	statfs(".", &b);
	t_true("writing 8 MiB uses free space",
	       a.f_bfree > b.f_bfree && (a.f_bfree - b.f_bfree) * (unsigned long long)a.f_bsize >= len / 2,
	       "bfree %llu -> %llu", (unsigned long long)a.f_bfree, (unsigned long long)b.f_bfree);
	unlink("fill");
	free(buf);
}

static void test_tmpfile(void)
{
	char path[64];
	struct stat st;
	char buf[16];
	int fd;

	group_begin("tmpfile");
	fd = open(".", O_TMPFILE | O_RDWR, 0600);
	if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR)) {
		skip("O_TMPFILE", errno == EOPNOTSUPP ?
		     "the filesystem or transport returns EOPNOTSUPP" :
		     "kernel without O_TMPFILE");
		return;
	}
	t_ok("open O_TMPFILE", fd);
	if (fd < 0)
		return;
	t_eq("write tmpfile", write(fd, "tmpdata", 7), 7);
	fstat(fd, &st);
	t_eq("tmpfile nlink 0", st.st_nlink, 0);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	t_ok("linkat tmpfile into the namespace",
	     linkat(AT_FDCWD, path, AT_FDCWD, "named", AT_SYMLINK_FOLLOW));
	t_eq("linked tmpfile nlink 1", nlink_of("named"), 1);
	t_eq("linked tmpfile content", slurp("named", buf, sizeof(buf)), 7);
	close(fd);
	fd = open(".", O_TMPFILE | O_RDWR | O_EXCL, 0600);
	t_err("O_TMPFILE|O_EXCL cannot be linked",
	      linkat(AT_FDCWD, (snprintf(path, sizeof(path), "/proc/self/fd/%d", fd), path),
		     AT_FDCWD, "named2", AT_SYMLINK_FOLLOW), ENOENT);
	close(fd);
}

static void test_mmap(void)
{
	const size_t len = 3 * 4096;
	unsigned char *map, w[3 * 4096], r[3 * 4096];
	int fd;

	group_begin("mmap");
	pattern(w, len, 0, 19);
	fd = open("m", O_CREAT | O_RDWR, 0644);
	ftruncate(fd, (off_t)len);
	map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	t_true("mmap MAP_SHARED", map != MAP_FAILED, "%s", strerror(errno));
	if (map == MAP_FAILED) {
		close(fd);
		return;
	}
	t_zero("fresh mapping reads zeros", map, len);
	memcpy(map + 100, w, 5000);
	t_eq("read() after store", pread_all(fd, r, 5000, 100), 5000);
	t_mem("read() sees mmap store", r, w, 5000);
	t_eq("pwrite into mapped range", pwrite_all(fd, w + 6000, 3000, 6000), 3000);
	t_mem("mapping sees pwrite", map + 6000, w + 6000, 3000);
	t_ok("msync MS_SYNC", msync(map, len, MS_SYNC));
	munmap(map, len);
	close(fd);
	fd = open("m", O_RDONLY);
	memset(r, 0, sizeof(r));
	pread_all(fd, r, len, 0);
	t_mem("stores persist after munmap", r + 100, w, 5000);
	close(fd);
	fd = open("m", O_RDONLY);
	map = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	t_true("writable shared map of O_RDONLY fd fails", map == MAP_FAILED && errno == EACCES,
	       "expected EACCES got %s", map == MAP_FAILED ? ename(errno) : "success");
	if (map != MAP_FAILED)
		munmap(map, 4096);
	close(fd);
}

/* ---- FIEMAP ----------------------------------------------------------- */

#define FIEMAP_MAX 64

struct fiemap_buf {
	struct fiemap fm;
	struct fiemap_extent ext[FIEMAP_MAX];
};

static int do_fiemap(int fd, struct fiemap_buf *b, uint64_t start,
		     uint64_t len, uint32_t flags, uint32_t count)
{
	memset(b, 0, sizeof(*b));
	b->fm.fm_start = start;
	b->fm.fm_length = len;
	b->fm.fm_flags = flags;
	b->fm.fm_extent_count = count;
	return ioctl(fd, FS_IOC_FIEMAP, &b->fm);
}

/*
 * The data ranges SEEK_DATA/SEEK_HOLE report, in 4 KiB blocks, must be
 * exactly the union of the extents FIEMAP reports (what cp and filefrag
 * rely on), the extents in order, not overlapping, LAST on the last only.
 */
static void test_fiemap(void)
{
	const off_t mib = 1 << 20;
	static struct fiemap_buf b;
	unsigned char w[65536];
	uint64_t seek_blocks = 0, map_blocks = 0, bad = 0, prev_end = 0;
	bool sorted = true, last_ok = true;
	off_t data, hole;
	uint32_t i, n;
	int fd;

	group_begin("fiemap");
	pattern(w, sizeof(w), 0, 11);
	fd = open("f", O_CREAT | O_RDWR, 0644);
	pwrite_all(fd, w, sizeof(w), 0);
	pwrite_all(fd, w, 8192 + 100, mib);
	if (do_fiemap(fd, &b, 0, FIEMAP_MAX_OFFSET, FIEMAP_FLAG_SYNC, 0) &&
	    (errno == EOPNOTSUPP || errno == ENOTTY)) {
		skip("FIEMAP", "the filesystem has no extent map");
		close(fd);
		return;
	}
	t_ok("FIEMAP count query", do_fiemap(fd, &b, 0, FIEMAP_MAX_OFFSET,
					      FIEMAP_FLAG_SYNC, 0));
	n = b.fm.fm_mapped_extents;
	t_true("count query finds 2..64 extents", n >= 2 && n <= FIEMAP_MAX,
	       "got %u", n);
	t_ok("FIEMAP", do_fiemap(fd, &b, 0, FIEMAP_MAX_OFFSET, FIEMAP_FLAG_SYNC,
				 FIEMAP_MAX));
	t_eq("mapped extents as counted", b.fm.fm_mapped_extents, n);
	for (i = 0; i < b.fm.fm_mapped_extents && i < FIEMAP_MAX; i++) {
		const struct fiemap_extent *x = &b.ext[i];
		bool last = x->fe_flags & FIEMAP_EXTENT_LAST;

		if (!x->fe_length || x->fe_logical < prev_end)
			sorted = false;
		prev_end = x->fe_logical + x->fe_length;
		if (last != (i + 1 == b.fm.fm_mapped_extents))
			last_ok = false;
		/* blocks of data every extent covers */
		for (uint64_t off = x->fe_logical & ~4095ull; off < prev_end;
		     off += 4096) {
			data = lseek(fd, off, SEEK_DATA);
			if (data != (off_t)off)
				bad++;
			map_blocks++;
		}
	}
	t_true("extents sorted, non-empty, not overlapping", sorted, "they are not");
	t_true("FIEMAP_EXTENT_LAST on the last extent only", last_ok, "it is not");
	t_eq("extent blocks that SEEK_DATA calls a hole", bad, 0);
	for (data = lseek(fd, 0, SEEK_DATA); data >= 0;
	     data = lseek(fd, hole, SEEK_DATA)) {
		hole = lseek(fd, data, SEEK_HOLE);
		seek_blocks += (((hole + 4095) & ~4095) - (data & ~4095)) / 4096;
	}
	t_eq("extents cover every block SEEK_DATA finds", map_blocks, seek_blocks);
	t_ok("FIEMAP of the second range only",
	     do_fiemap(fd, &b, mib + 4096, 100, 0, FIEMAP_MAX));
	t_true("it reports an extent holding that range",
	       b.fm.fm_mapped_extents >= 1 && b.ext[0].fe_logical <= mib + 4096 &&
	       b.ext[0].fe_logical + b.ext[0].fe_length >= mib + 4196,
	       "got %u extents, first %llu+%llu", b.fm.fm_mapped_extents,
	       (unsigned long long)b.ext[0].fe_logical,
	       (unsigned long long)b.ext[0].fe_length);
	t_ok("FIEMAP past EOF", do_fiemap(fd, &b, 4 * mib, FIEMAP_MAX_OFFSET, 0,
					  FIEMAP_MAX));
	t_eq("past EOF: no extents", b.fm.fm_mapped_extents, 0);
	t_ok("FIEMAP with room for one extent",
	     do_fiemap(fd, &b, 0, FIEMAP_MAX_OFFSET, 0, 1));
	t_eq("one extent reported", b.fm.fm_mapped_extents, 1);
	t_err("unknown FIEMAP flag", do_fiemap(fd, &b, 0, FIEMAP_MAX_OFFSET,
					       0x40000000, FIEMAP_MAX), EBADR);
	t_eq("fm_flags names the unknown flag", b.fm.fm_flags, 0x40000000);
	close(fd);
}

static const struct {
	const char *name;
	void (*run)(void);
} groups[] = {
	{ "open", test_open }, { "rw", test_rw }, { "sparse", test_sparse },
	{ "truncate", test_truncate }, { "fallocate", test_fallocate },
	{ "collapse", test_collapse },
	{ "dirs", test_dirs }, { "unlink", test_unlink }, { "link", test_link },
	{ "symlink", test_symlink }, { "rename", test_rename },
	{ "mknod", test_mknod }, { "attrs", test_attrs },
	{ "atime", test_atime }, { "stat", test_stat },
	{ "readdir", test_readdir }, { "orphan", test_unlinked_open },
	{ "xattr", test_xattr }, { "acl", test_acl }, { "statfs", test_statfs },
	{ "tmpfile", test_tmpfile }, { "mmap", test_mmap },
	{ "fiemap", test_fiemap },
};

/* Is name in the comma separated list? */
static bool excluded(const char *list, const char *name)
{
	size_t n = strlen(name);

	while (list && *list) {
		size_t len = strcspn(list, ",");

		if (len == n && !strncmp(list, name, n))
			return true;
		list += len + (list[len] == ',');
	}
	return false;
}

static void usage(void)
{
	size_t i;

	fprintf(stderr, "usage: posix-test [-k] [-q] [-A OPTS] [-g GROUP,...] "
		"[-x GROUP,...] DIR\n"
		"  Checks POSIX behaviour of the filesystem holding DIR.\n"
		"  -k  keep the work directory\n"
		"  -q  print only failures, skips and the summary\n"
		"  -A  the atime options DIR is mounted with (noatime,\n"
		"      nodiratime, relatime, strictatime...), for the atime\n"
		"      group; default: what statvfs(DIR) says\n"
		"  -g  run only these groups\n"
		"  -x  skip these groups of checks:");
	for (i = 0; i < sizeof(groups) / sizeof(groups[0]); i++)
		fprintf(stderr, " %s", groups[i].name);
	fprintf(stderr, "\n");
}

int main(int argc, char **argv)
{
	char base[PATH_MAX];
	const char *exclude = NULL, *only = NULL;
	bool keep = false;
	size_t i;
	int c;

	while ((c = getopt(argc, argv, "kqA:g:x:h")) != -1) {
		switch (c) {
		case 'A':
			if (atime_policy(optarg) < 0) {
				fprintf(stderr, "posix-test: -A %s: unknown "
					"atime option\n", optarg);
				return 2;
			}
			atime_opts = optarg;
			break;
		case 'g':
			only = optarg;
			break;
		case 'x':
			exclude = optarg;
			break;
		case 'k':
			keep = true;
			break;
		case 'q':
			quiet = true;
			break;
		default:
			usage();
			return 2;
		}
	}
	if (argc - optind != 1) {
		usage();
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	is_root = geteuid() == 0;
	/* absolute: each group chdir()s into its own subdirectory */
	if (!realpath(argv[optind], base)) {
		fprintf(stderr, "posix-test: %s: %s\n", argv[optind],
			strerror(errno));
		return 2;
	}
	snprintf(workdir, sizeof(workdir), "%s/posix-test.%d", base,
		 (int)getpid());
	if (mkdir(workdir, 0755) || chmod(workdir, 0755)) {
		fprintf(stderr, "posix-test: cannot create %s: %s\n", workdir,
			strerror(errno));
		return 2;
	}
	umask(022);

	for (i = 0; i < sizeof(groups) / sizeof(groups[0]); i++) {
		if (only && !excluded(only, groups[i].name))
			continue;
		if (excluded(exclude, groups[i].name))
			skip(groups[i].name, "excluded with -x");
		else
			groups[i].run();
	}

	if (chdir("/"))
		perror("posix-test: chdir /");
	if (!keep && rm_rf(workdir))
		fprintf(stderr, "posix-test: cannot remove %s: %s\n", workdir,
			strerror(errno));
	printf("%u passed, %u failed, %u skipped\n", n_pass, n_fail, n_skip);
	return n_fail ? 1 : 0;
}
