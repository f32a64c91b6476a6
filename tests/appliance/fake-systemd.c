// SPDX-License-Identifier: BSD-2-Clause
/*
 * fake-systemd.c - the part of systemd a Type=notify service with an fd
 * store sees, for tests on a host without systemd as PID 1:
 *
 *   fake-systemd DIR PROGRAM [ARG]...
 *   fake-systemd DIR --listen      only the notify socket, until SIGTERM
 *
 * Runs PROGRAM with NOTIFY_SOCKET=DIR/notify.sock and restarts it whenever
 * it exits (up to $FAKE_SYSTEMD_MAX_STARTS times, default 5), passing the
 * fds it stored (FDSTORE=1, FDNAME=, FDSTOREREMOVE=1) as LISTEN_FDS from
 * fd 3 with LISTEN_FDNAMES; the child sets LISTEN_PID to its own pid
 * between fork and exec, as systemd does.  $FAKE_SYSTEMD_EXTRA_FD=NAME
 * also passes /dev/null under NAME (an fd zusd does not know).
 *
 * Files in DIR:
 *   notify.log       every notification line, "FDSTORE NAME" per fd
 *                    stored, "EXIT STATUS" when the program ended
 *   fdstore-NAME     the content of the stored fd NAME (every 100 ms)
 *   pid, starts      the current program's pid, how many starts so far
 *
 * SIGUSR1 overwrites the stored "mount-table" fd with garbage (a corrupt
 * table for the next start); SIGTERM is passed on, and fake-systemd exits
 * (without a restart) once the program has.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_STORED	64

static struct {
	char name[256];
	int fd;
} stored[MAX_STORED];
static int nstored;
static const char *dir;
static volatile sig_atomic_t got_term, got_usr1;

static void on_signal(int sig)
{
	if (sig == SIGTERM)
		got_term = 1;
	else
		got_usr1 = 1;
}

static void die(const char *what)
{
	fprintf(stderr, "fake-systemd: %s: %s\n", what, strerror(errno));
	exit(99);
}

static void put_file(const char *name, const char *text, size_t len)
{
	char path[PATH_MAX], tmp[PATH_MAX + 8];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f)
		die(tmp);
	fwrite(text, 1, len, f);
	if (fclose(f) || rename(tmp, path))
		die(path);
}

static void log_line(const char *what, const char *a)
{
	char path[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "%s/notify.log", dir);
	f = fopen(path, "a");
	if (!f)
		die(path);
	fprintf(f, "%s%s\n", what, a);
	fclose(f);
}

/* DIR/fdstore-NAME: what the stored fds hold now. */
static void dump_store(void)
{
	for (int i = 0; i < nstored; i++) {
		char buf[65536], name[300];
		ssize_t n = pread(stored[i].fd, buf, sizeof(buf), 0);

		snprintf(name, sizeof(name), "fdstore-%s", stored[i].name);
		put_file(name, buf, n > 0 ? (size_t)n : 0);
	}
}

static void receive(int sock)
{
	char buf[4096], ctl[CMSG_SPACE(sizeof(int) * 16) +
			    CMSG_SPACE(sizeof(struct ucred))];
	struct iovec iov = { buf, sizeof(buf) - 1 };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = ctl, .msg_controllen = sizeof(ctl),
	};
	int fds[16], nfds = 0;
	char fdname[256] = "stored";
	bool store = false, remove = false;
	ssize_t n = recvmsg(sock, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);

	if (n < 0)
		return;
	buf[n] = '\0';
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		for (size_t k = 0; k < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int) &&
		     nfds < 16; k++)
			memcpy(&fds[nfds++], CMSG_DATA(c) + k * sizeof(int),
			       sizeof(int));
	}
	for (char *save = NULL, *l = strtok_r(buf, "\n", &save); l;
	     l = strtok_r(NULL, "\n", &save)) {
		log_line("", l);
		if (!strcmp(l, "FDSTORE=1"))
			store = true;
		else if (!strcmp(l, "FDSTOREREMOVE=1"))
			remove = true;
		else if (!strncmp(l, "FDNAME=", 7))
			snprintf(fdname, sizeof(fdname), "%s", l + 7);
	}
	if (remove) {
		for (int i = 0; i < nstored; i++) {
			if (strcmp(stored[i].name, fdname))
				continue;
			close(stored[i].fd);
			stored[i--] = stored[--nstored];
		}
	}
	for (int i = 0; i < nfds; i++) {
		if (!store || nstored == MAX_STORED) {
			close(fds[i]);
			continue;
		}
		snprintf(stored[nstored].name, sizeof(stored[0].name), "%s",
			 fdname);
		stored[nstored++].fd = fds[i];
		log_line("FDSTORE ", fdname);
	}
	dump_store();
}

static pid_t start(char **argv, const char *sockpath)
{
	pid_t pid = fork();

	if (pid < 0)
		die("fork");
	if (!pid) {
		const char *extra = getenv("FAKE_SYSTEMD_EXTRA_FD");
		char names[4096] = "", num[32];
		int high[MAX_STORED + 1], n = 0;

		/* out of the way first, then in place from fd 3 */
		for (int i = 0; i < nstored; i++) {
			high[n] = fcntl(stored[i].fd, F_DUPFD, 100);
			if (high[n] < 0)
				die("dup");
			snprintf(names + strlen(names),
				 sizeof(names) - strlen(names), "%s%s",
				 n ? ":" : "", stored[i].name);
			n++;
		}
		if (extra) {
			high[n] = open("/dev/null", O_RDONLY);
			if (high[n] < 0 || (high[n] = fcntl(high[n], F_DUPFD, 100)) < 0)
				die("/dev/null");
			snprintf(names + strlen(names),
				 sizeof(names) - strlen(names), "%s%s",
				 n ? ":" : "", extra);
			n++;
		}
		for (int i = 0; i < n; i++) {
			if (dup2(high[i], 3 + i) < 0)
				die("dup2");
			close(high[i]);
		}
		if (n) {
			snprintf(num, sizeof(num), "%d", n);
			setenv("LISTEN_FDS", num, 1);
			setenv("LISTEN_FDNAMES", names, 1);
			/* the wrapper's job: our own pid, which exec keeps */
			snprintf(num, sizeof(num), "%d", (int)getpid());
			setenv("LISTEN_PID", num, 1);
		}
		setenv("NOTIFY_SOCKET", sockpath, 1);
		execvp(argv[0], argv);
		die(argv[0]);
	}
	return pid;
}

int main(int argc, char **argv)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct sigaction act = { .sa_handler = on_signal };
	const char *max_env = getenv("FAKE_SYSTEMD_MAX_STARTS");
	int max = max_env ? atoi(max_env) : 5, starts = 0, sock;
	pid_t pid;
	char num[32];

	if (argc < 3) {
		fprintf(stderr, "usage: fake-systemd DIR PROGRAM [ARG]...\n");
		return 2;
	}
	dir = argv[1];
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/notify.sock", dir);
	unlink(sa.sun_path);
	sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (sock < 0 || bind(sock, (struct sockaddr *)&sa, sizeof(sa)))
		die("notify socket");
	sigaction(SIGTERM, &act, NULL);
	sigaction(SIGUSR1, &act, NULL);
	if (!strcmp(argv[2], "--listen")) {
		/* the test starts the service itself */
		while (!got_term) {
			struct pollfd p = { .fd = sock, .events = POLLIN };

			if (poll(&p, 1, 100) > 0)
				receive(sock);
		}
		goto out;
	}

	for (;;) {
		int status;

		pid = start(argv + 2, sa.sun_path);
		starts++;
		snprintf(num, sizeof(num), "%d\n", (int)pid);
		put_file("pid", num, strlen(num));
		snprintf(num, sizeof(num), "%d\n", starts);
		put_file("starts", num, strlen(num));
		for (;;) {
			struct pollfd p = { .fd = sock, .events = POLLIN };
			pid_t w;

			if (poll(&p, 1, 100) > 0)
				receive(sock);
			dump_store();	/* rewritten in place, without a message */
			if (got_term) {
				got_term = 0;
				kill(pid, SIGTERM);
				max = 0;	/* no restart */
			}
			if (got_usr1) {
				got_usr1 = 0;
				for (int i = 0; i < nstored; i++) {
					static const char junk[] =
						"zusd-mount-table 1\nmount fuse dbus\n";

					if (strcmp(stored[i].name, "mount-table"))
						continue;
					if (pwrite(stored[i].fd, junk, sizeof(junk) - 1, 0) < 0 ||
					    ftruncate(stored[i].fd, sizeof(junk) - 1))
						die("corrupt");
					log_line("CORRUPTED ", stored[i].name);
				}
				dump_store();
			}
			w = waitpid(pid, &status, WNOHANG);
			if (w == pid)
				break;
		}
		while (poll(&(struct pollfd){ .fd = sock, .events = POLLIN }, 1, 0) > 0)
			receive(sock);
		snprintf(num, sizeof(num), "%s%d", WIFEXITED(status) ? "" :
			 "signal ", WIFEXITED(status) ? WEXITSTATUS(status) :
			 WTERMSIG(status));
		log_line("EXIT ", num);
		if (starts >= max)
			break;
	}
out:
	for (int i = 0; i < nstored; i++)
		close(stored[i].fd);
	close(sock);
	unlink(sa.sun_path);
	return 0;
}
