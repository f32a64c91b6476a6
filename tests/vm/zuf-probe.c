// SPDX-License-Identifier: BSD-2-Clause
/*
 * zuf-probe.c - the application side of the hostile-server regression tests
 * (tests/vm/zuf-hostile.sh).  Each subcommand does one thing a test needs
 * and exits 0 when the kernel behaved, 1 (with a message) when it did not,
 * 2 on a usage or set-up error.
 *
 *   window-read FILE          pread into the middle of a page: the bytes
 *                             around the buffer must stay as they were
 *   window-write FILE ROFILE  pwrite from a read-only shared mapping of
 *                             ROFILE: ROFILE must not change
 *   initchan-race N           INIT_CHAN twice at once on one control fd,
 *                             N times: no channel may stay bound after close
 *   handshake-race N          HANDSHAKE twice at once on one fd, N times:
 *                             /sys/fs/zuf/state must count no server after
 *   append-race FILE N        N O_APPEND writes while another process
 *                             stats the file: every record must be there
 *   vmsplice-trunc FILE       truncate must wait while a page of the
 *                             file's DAX mapping is pinned by vmsplice
 *   listxattr FILE            the names listxattr(2) returns, one a line,
 *                             and the size query must agree with them
 *   mapsync FILE yes|no       mmap(MAP_SYNC) of FILE must succeed (yes: a
 *                             synchronous DAX device) or fail with
 *                             EOPNOTSUPP (no: virtio-pmem needs a flush
 *                             that a store through the mapping never asks)
 *   umount-when LOG TEXT DIR...  once LOG holds TEXT (a server's log line),
 *                             umount(2) each DIR at once: umount(8) would
 *                             stat it first, and wait for the server
 *   exchange A B              renameat2(RENAME_EXCHANGE) of A and B
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include <zufs/zufs_api.h>

#define PG	4096
#define CONTROL	ZUFS_ROOT_MOUNTPOINT "/" ZUFS_CONTROL_FILE

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("zuf-probe: FAIL: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	return 1;
}

static int setup_err(const char *what)
{
	fprintf(stderr, "zuf-probe: %s: %s\n", what, strerror(errno));
	return 2;
}

/* ---- the window: nothing around the I/O range is the server's ---------- */

static int window_read(const char *path)
{
	char *page, want[100];
	ssize_t n;
	int fd, i;

	fd = open(path, O_RDONLY);
	if (fd < 0)
		return setup_err(path);
	page = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (page == MAP_FAILED)
		return setup_err("mmap");
	memset(page, 'A', 2 * PG);
	n = pread(fd, page + 1000, 100, 0);
	if (n != 100)
		return fail("pread: %zd (%s)", n, strerror(errno));
	if (pread(fd, want, sizeof(want), 0) != 100)
		return setup_err("pread again");
	if (memcmp(page + 1000, want, 100))
		return fail("pread: wrong data");
	for (i = 0; i < 2 * PG; i++)
		if ((i < 1000 || i >= 1100) && page[i] != 'A')
			return fail("byte %d next to the read(2) buffer changed: %#x",
				    i, page[i]);
	close(fd);
	return 0;
}

static int window_write(const char *path, const char *rofile)
{
	char *src, back[100], check[PG];
	int fd, rfd, i;
	ssize_t n;

	rfd = open(rofile, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (rfd < 0)
		return setup_err(rofile);
	for (i = 0; i < PG; i++)
		check[i] = "ZUFSECRET"[i % 9];
	if (write(rfd, check, PG) != PG)
		return setup_err("write rofile");
	src = mmap(NULL, PG, PROT_READ, MAP_SHARED, rfd, 0);
	if (src == MAP_FAILED)
		return setup_err("mmap rofile");
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		return setup_err(path);
	n = pwrite(fd, src + 1000, 100, 0);
	if (n != 100)
		return fail("pwrite: %zd (%s)", n, strerror(errno));
	if (pread(rfd, check, PG, 0) != PG)
		return setup_err("read rofile");
	for (i = 0; i < PG; i++)
		if (check[i] != "ZUFSECRET"[i % 9])
			return fail("byte %d of a file mapped read-only changed: %#x",
				    i, check[i]);
	if (pread(fd, back, 100, 0) != 100 || memcmp(back, src + 1000, 100))
		return fail("pwrite: the file does not hold what was written");
	close(fd);
	close(rfd);
	return 0;
}

/* ---- ioctl races on one control fd --------------------------------------- */

struct race {
	pthread_barrier_t go;
	int fd;
	unsigned int cpu[2];
	int ret[2];
	bool handshake;
};

static int handshake(int fd)
{
	struct zufs_ioc_handshake h = {
		.major = ZUFS_MAJOR_VERSION, .minor = ZUFS_MINOR_VERSION,
		.features = ZUFS_FEATURE_MAP,
	};

	return ioctl(fd, ZU_IOC_HANDSHAKE, &h) ? -errno : 0;
}

static int init_chan(int fd, unsigned int cpu)
{
	struct zufs_ioc_init_chan ic = { .cpu = cpu };

	return ioctl(fd, ZU_IOC_INIT_CHAN, &ic) ? -errno : 0;
}

static void *race_thread(void *arg)
{
	struct race *r = arg;

	pthread_barrier_wait(&r->go);
	r->ret[1] = r->handshake ? handshake(r->fd) : init_chan(r->fd, r->cpu[1]);
	return NULL;
}

/* Two threads do the same ioctl on one fd at the same moment. */
static int race_once(struct race *r)
{
	pthread_t t;

	pthread_barrier_init(&r->go, NULL, 2);
	if (pthread_create(&t, NULL, race_thread, r))
		return -1;
	pthread_barrier_wait(&r->go);
	r->ret[0] = r->handshake ? handshake(r->fd) : init_chan(r->fd, r->cpu[0]);
	pthread_join(t, NULL);
	pthread_barrier_destroy(&r->go);
	return 0;
}

static int initchan_race(int rounds)
{
	int i, fd, ret;
	unsigned int c;

	for (i = 0; i < rounds; i++) {
		struct race r = { .cpu = { 0, 1 } };

		r.fd = open(CONTROL, O_RDWR);
		if (r.fd < 0)
			return setup_err(CONTROL);
		if (handshake(r.fd))
			return setup_err("handshake");
		race_once(&r);
		if (!r.ret[0] && !r.ret[1])
			fprintf(stderr, "zuf-probe: round %d: one fd bound two channels\n",
				i);
		close(r.fd);
		/* every channel must be free again */
		for (c = 0; c < 2; c++) {
			fd = open(CONTROL, O_RDWR);
			if (fd < 0 || handshake(fd))
				return setup_err("reopen");
			ret = init_chan(fd, c);
			close(fd);
			if (ret)
				return fail("round %d: channel %u lost after close (%s)",
					    i, c, strerror(-ret));
		}
	}
	return 0;
}

static int state_server_fds(void)
{
	char line[256];
	int n = -1;
	FILE *f = fopen(ZUFS_ROOT_MOUNTPOINT "/state", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "server_fds %d", &n) == 1)
			break;
	fclose(f);
	return n;
}

static int handshake_race(int rounds)
{
	int i, n;

	for (i = 0; i < rounds; i++) {
		struct race r = { .handshake = true };

		r.fd = open(CONTROL, O_RDWR);
		if (r.fd < 0)
			return setup_err(CONTROL);
		race_once(&r);
		if (!r.ret[0] && !r.ret[1])
			fprintf(stderr, "zuf-probe: round %d: one fd handshaken twice\n",
				i);
		close(r.fd);
		n = state_server_fds();
		if (n != 0)
			return fail("round %d: state counts %d server fds with none open",
				    i, n);
	}
	return 0;
}

/* ---- i_size: a stat racing appends must not move it back -------------- */

static int append_race(const char *path, int n)
{
	char rec[16], *buf;
	struct stat st;
	pid_t pid;
	int fd, i;
	ssize_t got;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
	if (fd < 0)
		return setup_err(path);
	pid = fork();
	if (pid < 0)
		return setup_err("fork");
	if (!pid) {
		for (;;)
			stat(path, &st);
	}
	for (i = 0; i < n; i++) {
		snprintf(rec, sizeof(rec), "%07d\n", i);
		if (write(fd, rec, 8) != 8)
			return fail("append %d: %s", i, strerror(errno));
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	close(fd);
	fd = open(path, O_RDONLY);
	if (fd < 0 || fstat(fd, &st))
		return setup_err(path);
	if (st.st_size != (off_t)n * 8)
		return fail("%d appends of 8 bytes left %lld bytes", n,
			    (long long)st.st_size);
	buf = malloc((size_t)n * 8);
	if (!buf)
		return setup_err("malloc");
	got = pread(fd, buf, (size_t)n * 8, 0);
	if (got != (ssize_t)n * 8)
		return setup_err("read back");
	for (i = 0; i < n; i++) {
		snprintf(rec, sizeof(rec), "%07d\n", i);
		if (memcmp(buf + (size_t)i * 8, rec, 8))
			return fail("record %d overwritten: an append landed below EOF",
				    i);
	}
	free(buf);
	close(fd);
	return 0;
}

/* ---- DAX layouts: blocks are not freed under a pinned page ------------ */

static int vmsplice_trunc(const char *path)
{
	char *map, buf[PG];
	int fd, p[2], i, status;
	struct iovec iov;
	pid_t pid;

	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return setup_err(path);
	memset(buf, 'A', sizeof(buf));
	for (i = 0; i < 16; i++)
		if (write(fd, buf, PG) != PG)
			return setup_err("write");
	map = mmap(NULL, 16 * PG, PROT_READ, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		return setup_err("mmap");
	if (map[0] != 'A')
		return setup_err("mapping");
	if (pipe(p))
		return setup_err("pipe");
	iov.iov_base = map;
	iov.iov_len = PG;
	if (vmsplice(p[1], &iov, 1, 0) != PG)
		return setup_err("vmsplice");
	munmap(map, 16 * PG);
	pid = fork();
	if (pid < 0)
		return setup_err("fork");
	if (!pid)
		_exit(ftruncate(fd, 0) ? 1 : 0);
	sleep(2);
	if (waitpid(pid, &status, WNOHANG) == pid)
		return fail("truncate freed blocks while a page of them was pinned");
	if (read(p[0], buf, PG) != PG)
		return setup_err("read pipe");
	for (i = 0; i < PG; i++)
		if (buf[i] != 'A')
			return fail("the pinned page changed under the pipe");
	for (i = 0; i < 50 && waitpid(pid, &status, WNOHANG) != pid; i++)
		usleep(100000);
	if (i == 50)
		return fail("truncate still waits after the pin is gone");
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		return fail("truncate failed");
	close(fd);
	return 0;
}

/* ---- listxattr --------------------------------------------------------- */

static int list_xattrs(const char *path)
{
	char buf[65536];
	ssize_t n, want;
	char *p;

	want = listxattr(path, NULL, 0);
	n = listxattr(path, buf, sizeof(buf));
	if (n < 0 || want < 0)
		return fail("listxattr: %s", strerror(errno));
	if (n != want)
		return fail("listxattr: size query %zd, list %zd", want, n);
	for (p = buf; p < buf + n; p += strlen(p) + 1)
		printf("%s\n", p);
	return 0;
}

/* ---- MAP_SYNC ------------------------------------------------------------ */

static int map_sync(const char *path, const char *want)
{
	bool yes = !strcmp(want, "yes");
	void *map;
	int fd;

	if (!yes && strcmp(want, "no")) {
		errno = EINVAL;
		return setup_err("mapsync: want yes or no");
	}
	fd = open(path, O_RDWR | O_CREAT, 0644);
	if (fd < 0 || ftruncate(fd, PG))
		return setup_err(path);
	map = mmap(NULL, PG, PROT_READ | PROT_WRITE,
		   MAP_SHARED_VALIDATE | MAP_SYNC, fd, 0);
	if (map != MAP_FAILED) {
		memset(map, 'S', PG);	/* a store the device must make durable */
		munmap(map, PG);
		close(fd);
		return yes ? 0 : fail("MAP_SYNC accepted on an asynchronous DAX device");
	}
	if (yes)
		return fail("MAP_SYNC refused on a synchronous DAX device: %s",
			    strerror(errno));
	if (errno != EOPNOTSUPP)
		return fail("MAP_SYNC: %s, expected EOPNOTSUPP", strerror(errno));
	close(fd);
	return 0;
}

/* Does @path hold @text?  A missing file does not (yet). */
static bool file_holds(const char *path, const char *text)
{
	char buf[65536];
	ssize_t n;
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = 0;
	return strstr(buf, text) != NULL;
}

static int umount_when(const char *log, const char *text, char **dirs)
{
	int i;

	for (i = 0; !file_holds(log, text); i++) {
		if (i >= 3000)
			return fail("%s: no \"%s\" in 30 s", log, text);
		usleep(10000);
	}
	for (; *dirs; dirs++) {
		if (umount2(*dirs, 0))
			return fail("umount %s: %s", *dirs, strerror(errno));
		printf("%s unmounted\n", *dirs);
	}
	return 0;
}

static int exchange(const char *a, const char *b)
{
	if (renameat2(AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE))
		return fail("exchange %s %s: %s", a, b, strerror(errno));
	return 0;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "";

	if (!strcmp(cmd, "window-read") && argc == 3)
		return window_read(argv[2]);
	if (!strcmp(cmd, "window-write") && argc == 4)
		return window_write(argv[2], argv[3]);
	if (!strcmp(cmd, "initchan-race") && argc == 3)
		return initchan_race(atoi(argv[2]));
	if (!strcmp(cmd, "handshake-race") && argc == 3)
		return handshake_race(atoi(argv[2]));
	if (!strcmp(cmd, "append-race") && argc == 4)
		return append_race(argv[2], atoi(argv[3]));
	if (!strcmp(cmd, "vmsplice-trunc") && argc == 3)
		return vmsplice_trunc(argv[2]);
	if (!strcmp(cmd, "listxattr") && argc == 3)
		return list_xattrs(argv[2]);
	if (!strcmp(cmd, "mapsync") && argc == 4)
		return map_sync(argv[2], argv[3]);
	if (!strcmp(cmd, "umount-when") && argc >= 5)
		return umount_when(argv[2], argv[3], argv + 4);
	if (!strcmp(cmd, "exchange") && argc == 4)
		return exchange(argv[2], argv[3]);
	fprintf(stderr, "usage: zuf-probe window-read FILE | window-write FILE ROFILE |\n"
		"  initchan-race N | handshake-race N | append-race FILE N |\n"
		"  vmsplice-trunc FILE | listxattr FILE | mapsync FILE yes|no |\n"
		"  umount-when LOG TEXT DIR... | exchange A B\n");
	return 2;
}
