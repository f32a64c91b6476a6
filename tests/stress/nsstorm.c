// SPDX-License-Identifier: BSD-2-Clause
/*
 * nsstorm.c - a namespace storm: processes that create, link, rename,
 * unlink, mkdir, rmdir, setxattr and chmod names in a few shared
 * directories at once, then a consistency check of what is left.
 *
 *   nsstorm [-S SEED] [-P PROCS] [-t SECONDS] [-q] DIR
 *
 * Each process draws its operations from SEED and its number.  A call may
 * fail only with the errors a race explains (ENOENT, EEXIST, ENOTEMPTY,
 * ENOTDIR, EISDIR, EINVAL for a rename into its own subtree, EMLINK, ENODATA,
 * EPERM for a link to a name a rename made a directory);
 * any other error, a crash or a hang fails the run.  The check then walks
 * DIR: every name readdir lists can be stat'ed, every file's link count is
 * the number of names it has, every directory's is 2 + its subdirectories,
 * and readdir lists no name twice.  Exit 1 on any failure, with the reason.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#define NDIRS	4	/* shared top-level directories */
#define NNAMES	24	/* names per directory */

static const char *top;
static bool quiet;

static uint64_t rng;

static uint64_t rnd(void)
{
	uint64_t z = (rng += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* a random file (n<j>) or directory (s<k>) name, in d<i> or in d<i>/s<k> */
static void path(char *buf, size_t len, bool dir)
{
	unsigned int d = (unsigned int)(rnd() % NDIRS);
	unsigned int k = (unsigned int)(rnd() % 4);
	unsigned int n = (unsigned int)(rnd() % (dir ? 4 : NNAMES));
	char c = dir ? 's' : 'n';

	if (rnd() % 3 == 0)
		snprintf(buf, len, "%s/d%u/s%u/%c%u", top, d, k, c, n);
	else
		snprintf(buf, len, "%s/d%u/%c%u", top, d, c, n);
}

static bool race_errno(int e)
{
	return e == ENOENT || e == EEXIST || e == ENOTEMPTY || e == ENOTDIR ||
	       e == EISDIR || e == EINVAL || e == EMLINK || e == ENODATA ||
	       e == EBUSY;
}

static int rm_one(const char *p, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if ((flag == FTW_DP ? rmdir(p) : unlink(p)) && !race_errno(errno)) {
		fprintf(stderr, "nsstorm: removing %s: %s\n", p, strerror(errno));
		exit(1);
	}
	return 0;
}

/*
 * rm -rf of a directory, racing the others: what renames carry out of
 * reach of the names the processes use would else pile up without end.
 */
static int rm_tree(const char *p)
{
	if (nftw(p, rm_one, 16, FTW_DEPTH | FTW_PHYS) && errno != ENOENT &&
	    !race_errno(errno))
		return -1;
	return 0;
}

static void worker(unsigned int id, uint64_t seed, double secs)
{
	char a[512], b[512];
	struct timespec t0, t;
	unsigned long ops = 0, ok = 0;
	int ret, fd;

	rng = seed * 1000003u + id;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		/* 3/40 each of ops 0-9, 1/40 rm -rf, 9/40 lookups */
		unsigned int r = (unsigned int)(rnd() % 40);
		unsigned int op = r < 30 ? r / 3 : (r == 30 ? 10 : 11);

		if ((ops & 63) == 0) {
			clock_gettime(CLOCK_MONOTONIC, &t);
			if ((double)(t.tv_sec - t0.tv_sec) +
			    (double)(t.tv_nsec - t0.tv_nsec) / 1e9 >= secs)
				break;
		}
		ops++;
		switch (op) {
		case 0:
		case 1:
			path(a, sizeof(a), false);
			fd = open(a, O_CREAT | O_WRONLY, 0644);
			ret = fd;
			if (fd >= 0) {
				ret = (int)write(fd, a, 16);
				close(fd);
			}
			break;
		case 2:
			path(a, sizeof(a), false);
			path(b, sizeof(b), false);
			ret = link(a, b);
			/* a rename may have put a directory there */
			if (ret && errno == EPERM && !lstat(a, &(struct stat){ 0 }))
				ret = 0;
			break;
		case 3:
			path(a, sizeof(a), rnd() & 1);
			path(b, sizeof(b), rnd() & 1);
			ret = rename(a, b);
			break;
		case 4:
			path(a, sizeof(a), false);
			ret = unlink(a);
			break;
		case 5:
			path(a, sizeof(a), true);
			ret = mkdir(a, 0755);
			break;
		case 6:
			path(a, sizeof(a), true);
			ret = rmdir(a);
			break;
		case 7:
			path(a, sizeof(a), rnd() & 1);
			ret = setxattr(a, "user.storm", a, strlen(a), 0);
			if (ret && errno == EOPNOTSUPP)
				ret = 0;
			break;
		case 8:
			path(a, sizeof(a), rnd() & 1);
			ret = chmod(a, (rnd() & 1) ? 0600 : 0755);
			break;
		case 9:
			path(a, sizeof(a), false);
			ret = removexattr(a, "user.storm");
			if (ret && errno == EOPNOTSUPP)
				ret = 0;
			break;
		case 10:
			snprintf(a, sizeof(a), "%s/d%u/s%u", top,
				 (unsigned int)(rnd() % NDIRS),
				 (unsigned int)(rnd() % 4));
			ret = rm_tree(a);
			break;
		default:	/* the common case: lookups */
			path(a, sizeof(a), rnd() & 1);
			ret = access(a, F_OK);
			break;
		}
		if (ret >= 0) {
			ok++;
		} else if (!race_errno(errno)) {
			fprintf(stderr, "nsstorm: process %u, operation %u on %s: %s\n",
				id, op, a, strerror(errno));
			exit(1);
		}
	}
	if (!quiet)
		printf("nsstorm: process %u: %lu operations, %lu succeeded\n",
		       id, ops, ok);
	exit(0);
}

/* ---- the check ---------------------------------------------------------- */

struct seen {
	ino_t ino;
	nlink_t nlink;
	char path[1024];
};

static struct seen *files;
static size_t nfiles, cap;
static unsigned int problems;

__attribute__((format(printf, 1, 2)))
static void problem(const char *fmt, ...)
{
	va_list ap;

	problems++;
	fprintf(stderr, "nsstorm: check: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
}

static void count_file(const char *p, const struct stat *st)
{
	if (nfiles == cap) {
		cap = cap ? 2 * cap : 256;
		files = realloc(files, cap * sizeof(*files));
		if (!files) {
			perror("nsstorm");
			exit(2);
		}
	}
	files[nfiles] = (struct seen){ st->st_ino, st->st_nlink, "" };
	snprintf(files[nfiles].path, sizeof(files[nfiles].path), "%s", p);
	nfiles++;
}

static int ino_cmp(const void *a, const void *b)
{
	const struct seen *x = a, *y = b;

	return x->ino < y->ino ? -1 : x->ino > y->ino;
}

static int names_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void walk(const char *dir)
{
	char *names[4096];
	unsigned int n = 0, subdirs = 0;
	struct dirent *de;
	struct stat st;
	char p[1024];
	DIR *d;

	d = opendir(dir);
	if (!d) {
		problem("opendir %s: %s", dir, strerror(errno));
		return;
	}
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (n == 4096) {
			problem("%s: more than 4096 names", dir);
			break;
		}
		names[n++] = strdup(de->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof(names[0]), names_cmp);
	for (unsigned int i = 0; i < n; i++) {
		if (i && !strcmp(names[i], names[i - 1]))
			problem("%s: readdir lists %s twice", dir, names[i]);
		snprintf(p, sizeof(p), "%s/%s", dir, names[i]);
		if (lstat(p, &st)) {
			problem("%s is listed but stat fails: %s", p, strerror(errno));
			continue;
		}
		if (S_ISDIR(st.st_mode)) {
			subdirs++;
			walk(p);
		} else {
			count_file(p, &st);
		}
	}
	for (unsigned int i = 0; i < n; i++)
		free(names[i]);
	if (stat(dir, &st))
		problem("stat %s: %s", dir, strerror(errno));
	else if (st.st_nlink != 2 + subdirs)
		problem("%s: link count %lu, but it has %u subdirectories",
			dir, (unsigned long)st.st_nlink, subdirs);
}

static void usage(void)
{
	fprintf(stderr, "usage: nsstorm [-S SEED] [-P PROCS] [-t SECONDS] [-q] DIR\n");
	exit(2);
}

int main(int argc, char **argv)
{
	uint64_t seed = (uint64_t)time(NULL) ^ (uint64_t)getpid();
	unsigned int procs = 4, failed = 0;
	size_t inodes = 0;
	double secs = 10;
	char p[512];
	int c, st;

	while ((c = getopt(argc, argv, "S:P:t:q")) != -1) {
		switch (c) {
		case 'S':
			seed = strtoull(optarg, NULL, 0);
			break;
		case 'P':
			procs = (unsigned int)strtoul(optarg, NULL, 0);
			break;
		case 't':
			secs = strtod(optarg, NULL);
			break;
		case 'q':
			quiet = true;
			break;
		default:
			usage();
		}
	}
	if (argc - optind != 1 || !procs || procs > 64 || secs <= 0)
		usage();
	top = argv[optind];
	printf("nsstorm: %s, seed %" PRIu64 ", %u processes, %.0f s\n", top,
	       seed, procs, secs);
	fflush(stdout);
	for (unsigned int i = 0; i < NDIRS; i++) {
		snprintf(p, sizeof(p), "%s/d%u", top, i);
		if (mkdir(p, 0755) && errno != EEXIST) {
			fprintf(stderr, "nsstorm: mkdir %s: %s\n", p, strerror(errno));
			return 2;
		}
	}
	for (unsigned int i = 0; i < procs; i++) {
		pid_t pid = fork();

		if (pid < 0) {
			perror("nsstorm: fork");
			return 2;
		}
		if (!pid)
			worker(i, seed, secs);
	}
	while (wait(&st) > 0)
		if (!WIFEXITED(st) || WEXITSTATUS(st))
			failed++;
	if (failed)
		fprintf(stderr, "nsstorm: %u of %u processes failed\n", failed,
			procs);
	walk(top);
	/* every name of a file counted once: its link count */
	qsort(files, nfiles, sizeof(*files), ino_cmp);
	for (size_t i = 0, j; i < nfiles; i = j) {
		for (j = i + 1; j < nfiles && files[j].ino == files[i].ino; j++)
			if (files[j].nlink != files[i].nlink)
				problem("%s and %s: one inode, link counts %lu and %lu",
					files[i].path, files[j].path,
					(unsigned long)files[i].nlink,
					(unsigned long)files[j].nlink);
		if (files[i].nlink != j - i)
			problem("%s: link count %lu, but %zu names found",
				files[i].path, (unsigned long)files[i].nlink, j - i);
		inodes++;
	}
	printf("nsstorm: seed %" PRIu64 ": %zu names of %zu files left, %u problems, %u processes failed\n",
	       seed, nfiles, inodes, problems, failed);
	return problems || failed ? 1 : 0;
}
