// SPDX-License-Identifier: BSD-2-Clause
/*
 * fsck.pmfs2 - check and repair a pmfs2 filesystem.
 *
 *   fsck.pmfs2 [-n|-y|-p] [-f] [-v] [-b BLOCK] [-C FD] [--broken-clock]
 *              DEVICE_OR_FILE
 *
 * Environment: PMFS2_FSCK_TIME=SECONDS (the time to check against, as
 * E2FSCK_TIME), PMFS2_FSCK_BROKEN_CLOCK=1 (as --broken-clock).
 *
 * Exit codes as fsck(8): 0 no errors, 1 errors corrected, 4 errors left
 * uncorrected, 8 operational error, 16 usage error.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pmfs2_lib.h"
#include "progress.h"

#define PROG "fsck.pmfs2"

enum {
	FSCK_OK = 0,
	FSCK_CORRECTED = 1,
	FSCK_UNCORRECTED = 4,
	FSCK_ERROR = 8,
	FSCK_USAGE = 16,
};

enum { OPT_BROKEN_CLOCK = 256 };

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: " PROG " [-n|-y|-p] [-f] [-v] [-b BLOCK] [-C FD] [--broken-clock]\n"
		"                  DEVICE_OR_FILE\n"
		"\n"
		"  -n   check only: open read-only, change nothing\n"
		"  -y   repair every problem found\n"
		"  -p   preen: repair, quietly; skip a clean filesystem unless -f\n"
		"  -f   force a full check (with -p) even if the filesystem is clean\n"
		"  -v   verbose\n"
		"  -b   the backup superblock, if the primary is bad: the filesystem's\n"
		"       last block (mkfs.pmfs2 prints it; default: the device's last\n"
		"       block, then block 1)\n"
		"  -C   progress: FD > 0 gets \"PASS CURRENT MAX DEVICE\" lines (as\n"
		"       e2fsck -C; a negative FD waits for SIGUSR1), 0 shows a\n"
		"       completion bar when stdout is a terminal\n"
		"  --broken-clock  the system clock cannot be trusted: skip the time\n"
		"       checks (also PMFS2_FSCK_BROKEN_CLOCK=1)\n"
		"\n"
		"PMFS2_FSCK_TIME=SECONDS checks times against that time, not the clock.\n"
		"\n"
		"Exit status: 0 clean, 1 errors corrected, 4 errors left uncorrected,\n"
		"8 operational error, 16 usage error.\n");
}

struct rctx {
	const char *dev;
	bool preen;
	struct fsck_progress *prog;	/* -C, or NULL */
};

static void report(void *ctx, const char *msg)
{
	const struct rctx *r = ctx;

	fsck_progress_clear(r->prog);
	printf("%s: %s\n", r->dev, msg);
}

static void progress(void *ctx, unsigned int pass, uint64_t cur,
		     uint64_t max)
{
	const struct rctx *r = ctx;

	fsck_progress_update(r->prog, pass, cur, max);
}

/* The clock options from the environment; false on a bad value. */
static bool clock_env(struct pmfs2_check_opts *o)
{
	const char *v = getenv("PMFS2_FSCK_BROKEN_CLOCK");

	if (v && *v && strcmp(v, "0"))
		o->broken_clock = true;
	v = getenv("PMFS2_FSCK_TIME");
	if (v && *v) {
		char *end;
		long long sec;

		errno = 0;
		sec = strtoll(v, &end, 10);
		if (errno || *end || sec <= 0 ||
		    sec > INT64_MAX / 1000000000 - 1) {
			fprintf(stderr,
				PROG ": invalid PMFS2_FSCK_TIME \"%s\": give seconds since the epoch\n",
				v);
			return false;
		}
		/* the user says what time it is: no second guessing */
		o->now = (int64_t)sec * 1000000000;
		o->trust_clock = true;
	}
	return true;
}

int main(int argc, char **argv)
{
	bool repair = false, readonly = false, preen = false, force = false;
	bool verbose = false;
	struct pmfs2_check_opts o = { 0 };
	struct pmfs2_check_result r;
	struct rctx rc = { 0 };
	struct zus_pmem pm = { 0 };
	struct stat st;
	const char *dev, *progress_arg = NULL;
	char err[256];
	uint64_t size;
	void *base;
	int fd, opt, ret, flags;
	static const struct option longopts[] = {
		{ "broken-clock", no_argument, NULL, OPT_BROKEN_CLOCK },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};

	if (!clock_env(&o))
		return FSCK_USAGE;
	while ((opt = getopt_long(argc, argv, "nypfvab:C:Vh", longopts,
				  NULL)) != -1) {
		switch (opt) {
		case OPT_BROKEN_CLOCK:
			o.broken_clock = true;
			break;
		case 'C':
			progress_arg = optarg;
			break;
		case 'b': {
			char *end;

			errno = 0;
			o.backup_block = strtoull(optarg, &end, 0);
			if (errno || *end || !*optarg || *optarg == '-' ||
			    !o.backup_block) {
				fprintf(stderr,
					PROG ": invalid backup superblock \"%s\": give its block number (> 0)\n",
					optarg);
				return FSCK_USAGE;
			}
			break;
		}
		case 'n':
			readonly = true;
			break;
		case 'y':
			repair = true;
			break;
		case 'a':	/* e2fsck compatibility: same as -p */
		case 'p':
			repair = true;
			preen = true;
			break;
		case 'f':
			force = true;
			break;
		case 'v':
			verbose = true;
			break;
		case 'V':
			printf(PROG " " PACKAGE_VERSION "\n");
			return FSCK_OK;
		case 'h':
			usage(stdout);
			return FSCK_OK;
		default:
			usage(stderr);
			return FSCK_USAGE;
		}
	}
	if (readonly && repair) {
		fprintf(stderr, PROG ": -n cannot be combined with -y or -p\n");
		return FSCK_USAGE;
	}
	if (optind != argc - 1) {
		fprintf(stderr, PROG ": %s\n", optind >= argc ?
			"no device or file given" : "too many arguments");
		usage(stderr);
		return FSCK_USAGE;
	}
	dev = argv[optind];
	if (progress_arg) {
		rc.prog = fsck_progress_new(progress_arg, dev, err,
					    sizeof(err));
		if (!rc.prog) {
			fprintf(stderr, PROG ": %s\n", err);
			return FSCK_USAGE;
		}
	}
	if (!repair && !readonly)
		readonly = true;	/* no mode given: check only */

	if (stat(dev, &st) < 0) {
		fprintf(stderr, PROG ": %s: %s\n", dev, strerror(errno));
		return FSCK_ERROR;
	}
	if (!S_ISBLK(st.st_mode) && !S_ISREG(st.st_mode)) {
		fprintf(stderr, PROG ": %s: not a block device or a regular file\n",
			dev);
		return FSCK_ERROR;
	}
	flags = (readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC;
	if (S_ISBLK(st.st_mode) && !readonly)
		flags |= O_EXCL;	/* never repair a mounted filesystem */
	fd = open(dev, flags);
	if (fd < 0) {
		fprintf(stderr, PROG ": cannot open %s%s: %s%s\n", dev,
			readonly ? "" : " read-write", strerror(errno),
			errno == EBUSY ?
			" (it is mounted or in use: unmount it, or check with -n)" :
			"");
		return FSCK_ERROR;
	}
	if (S_ISBLK(st.st_mode)) {
		if (ioctl(fd, BLKGETSIZE64, &size) < 0) {
			fprintf(stderr, PROG ": %s: cannot read device size: %s\n",
				dev, strerror(errno));
			close(fd);
			return FSCK_ERROR;
		}
	} else {
		size = (uint64_t)st.st_size;
	}
	if (size < 2 * PMFS2_BLOCK_SIZE) {
		fprintf(stderr,
			PROG ": %s: %" PRIu64 " bytes is too small to hold pmfs2: not a pmfs2 filesystem, or a truncated image\n",
			dev, size);
		close(fd);
		return FSCK_ERROR;
	}
	size &= ~(uint64_t)(PMFS2_BLOCK_SIZE - 1);
	/*
	 * read-only: a private map of a read-only fd, so nothing can ever
	 * reach the device; the check may roll an interrupted transaction
	 * back in its copy, to see what a mount would
	 */
	/* MAP_NORESERVE: a private map larger than memory is refused
	 * otherwise, though only the pages written (few) take any */
	base = mmap(NULL, size, PROT_READ | PROT_WRITE,
		    readonly ? MAP_PRIVATE | MAP_NORESERVE : MAP_SHARED, fd, 0);
	if (base == MAP_FAILED) {
		fprintf(stderr, PROG ": cannot map %s: %s\n", dev,
			strerror(errno));
		close(fd);
		return FSCK_ERROR;
	}
	pm.base = base;
	pm.size = size;

	if (preen && !force) {
		struct pmfs2_super s;
		bool backup;
		const struct pmfs2_journal_head *jh;

		if (!pmfs2_super_load(&pm, &s, &backup, NULL, 0) && !backup &&
		    s.state == PMFS2_STATE_CLEAN) {
			jh = pmfs2_block(&pm, s.journal_start);
			if (jh->magic == PMFS2_JOURNAL_MAGIC && !jh->active_tid) {
				if (verbose)
					printf("%s: clean, skipped (use -f to check anyway)\n",
					       dev);
				munmap(base, size);
				close(fd);
				return FSCK_OK;
			}
		}
	}

	rc.dev = dev;
	rc.preen = preen;
	o.repair = repair;
	o.private_copy = readonly;
	o.verbose = verbose;
	o.report = report;
	if (rc.prog)
		o.progress = progress;
	o.ctx = &rc;
	ret = pmfs2_check(&pm, &o, &r);
	fsck_progress_clear(rc.prog);
	if (ret) {
		fprintf(stderr, PROG ": %s: %s\n", dev,
			ret == -EINVAL ? "not a pmfs2 filesystem (or a truncated image): nothing was changed" :
			ret == -EOPNOTSUPP ? "this pmfs2 filesystem needs a newer fsck.pmfs2: nothing was changed" :
			ret == -EUCLEAN ? "both superblocks are damaged or the image is truncated: cannot check it" :
			ret == -ENOMEM ? "out of memory" : strerror(-ret));
		munmap(base, size);
		close(fd);
		return FSCK_ERROR;
	}
	if (!readonly &&
	    (msync(base, size, MS_SYNC) < 0 || fsync(fd) < 0)) {
		fprintf(stderr, PROG ": %s: writing repairs failed: %s\n", dev,
			strerror(errno));
		munmap(base, size);
		close(fd);
		return FSCK_ERROR | FSCK_UNCORRECTED;
	}
	munmap(base, size);
	close(fd);

	if (!preen || verbose || r.errors)
		printf("%s: %" PRIu64 " inodes used (%" PRIu64 " directories, %" PRIu64
		       " files, %" PRIu64 " symlinks, %" PRIu64 " other), %" PRIu64
		       " blocks used, %" PRIu64 " free%s\n",
		       dev, r.inodes_used, r.dirs, r.files, r.symlinks,
		       r.others, r.blocks_used, r.blocks_free,
		       r.recovered_journal ? "; journal rolled back" : "");
	if (!r.errors) {
		if (!preen || verbose)
			printf("%s: clean\n", dev);
		return FSCK_OK;
	}
	if (repair && r.fixed == r.errors) {
		printf("%s: %u problems found and corrected\n", dev, r.errors);
		return FSCK_CORRECTED;
	}
	if (readonly)
		printf("%s: %u problems found, none corrected (read-only check): run %s -y %s to repair\n",
		       dev, r.errors, PROG, dev);
	else
		printf("%s: %u problems found, %u corrected, %u left uncorrected\n",
		       dev, r.errors, r.fixed, r.errors - r.fixed);
	return r.fixed ? (FSCK_CORRECTED | FSCK_UNCORRECTED) : FSCK_UNCORRECTED;
}
