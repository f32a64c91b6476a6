// SPDX-License-Identifier: BSD-2-Clause
/*
 * test_model.c - randomized model test of pmfs2 through the in-process host:
 * thousands of random operations applied to pmfs2 and to the reference model
 * (model.c), every result compared (return value, errno, data, stat fields),
 * the whole trees compared periodically, after a remount and at the end; then
 * pmfs2_check must find the image clean.  Plus targeted tests of the host's
 * VFS duties (permissions, eviction, O_TMPFILE, symlink loops, read-only,
 * atime options).
 *
 *   ZUFS_MODEL_SEED=N   seed (default: time-based, printed)
 *   ZUFS_MODEL_OPS=N    operations (default 12000)
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fsm.h"
#include "inproc.h"
#include "plugin.h"
#include "pmem_map.h"
#include "pmfs2_lib.h"

#define IMAGE_SIZE	(256ull << 20)

static struct zus_loaded_plugin lp;
static const struct zus_fs_type *fst;
static struct zus_pmem_map map;

static void setup_image(uint64_t size)
{
	struct pmfs2_mkfs_opts mo = { .dev_hint = "memfd" };
	char err[512];
	int ret;

	if (!lp.plugin) {
		ret = zus_plugin_load("pmfs2", &lp, err, sizeof(err));
		ck_assert_msg(ret == 0, "%s", err);
		fst = zus_plugin_find_fs(&lp, 1, "pmfs2");
		ck_assert_msg(fst, "no pmfs2 fs type in %s", lp.path);
	}
	ret = zus_pmem_map_memfd(size, &map, err, sizeof(err));
	ck_assert_msg(ret == 0, "%s", err);
	ret = pmfs2_format(&map.pmem, &mo, err, sizeof(err));
	ck_assert_msg(ret == 0, "pmfs2_format: %s", err);
}

static struct zus_inproc *do_mount(bool ro)
{
	struct zus_inproc_opts o = { .dev_path = "memfd", .readonly = ro };
	struct zus_inproc *h;
	int ret = zus_inproc_mount(fst, &map.pmem, &o, &h);

	ck_assert_msg(ret == 0, "mount: %s", strerror(-ret));
	return h;
}

static void report(void *ctx, const char *msg)
{
	(void)ctx;
	fprintf(stderr, "  fsck: %s\n", msg);
}

static void fsck_clean(const char *when)
{
	struct pmfs2_check_opts co = { .report = report };
	struct pmfs2_check_result cr;
	int ret = pmfs2_check(&map.pmem, &co, &cr);

	ck_assert_msg(ret == 0, "pmfs2_check %s: %s", when, strerror(-ret));
	ck_assert_msg(cr.errors == 0, "pmfs2_check %s: %u errors", when,
		      cr.errors);
}

static uint64_t env_u64(const char *name, uint64_t def)
{
	const char *v = getenv(name);

	return v && *v ? strtoull(v, NULL, 0) : def;
}

/* ---- the randomized model test -------------------------------------------- */

#define RING 48

START_TEST(test_model_random)
{
	uint64_t seed = env_u64("ZUFS_MODEL_SEED",
				(uint64_t)time(NULL) ^ ((uint64_t)getpid() << 20));
	uint64_t nops = env_u64("ZUFS_MODEL_OPS", 12000);
	struct fsm_limits lim = {
		.max_file = 4 << 20, .max_write = 256 << 10,
		.data_budget = 48 << 20, .max_nodes = 300,
	};
	static char ring[RING][1400];
	char msg[2048];
	struct zus_inproc *h;
	struct model *m;
	struct fsm f;
	struct fsm_op op;
	uint64_t seen, trees = 0;
	struct timespec t0, t1;

	printf("model test: seed %" PRIu64 ", %" PRIu64
	       " ops (ZUFS_MODEL_SEED=%" PRIu64 " ZUFS_MODEL_OPS=%" PRIu64
	       " to repeat)\n", seed, nops, seed, nops);
	fflush(stdout);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	setup_image(IMAGE_SIZE);
	h = do_mount(false);
	m = model_new(0755);
	fsm_init(&f, h, m, seed, &lim);

	for (uint64_t i = 0; i < nops; i++) {
		fsm_gen(&f, &op);
		fsm_describe(&op, ring[i % RING], sizeof(ring[0]));
		if (fsm_step(&f, &op)) {
			for (uint64_t k = i >= RING ? i - RING + 1 : 0; k <= i; k++)
				fprintf(stderr, "  #%" PRIu64 " %s\n", k + 1,
					ring[k % RING]);
			ck_abort_msg("seed %" PRIu64 ": %s", seed, f.msg);
		}
		if (i % 2000 == 1999 || i == nops - 1) {
			ck_assert_msg(!fsm_compare_tree(h, m, NULL, true, msg,
							sizeof(msg), NULL),
				      "seed %" PRIu64 ", after op %" PRIu64
				      ": tree differs: %s", seed, i + 1, msg);
			trees++;
		}
		if (i == nops / 2) {
			ck_assert_msg(!fsm_close_all(&f), "seed %" PRIu64 ": %s",
				      seed, f.msg);
			zus_inproc_umount(h);
			fsck_clean("at the mid-run umount");
			h = do_mount(false);
			f.h = h;
			ck_assert_msg(!fsm_compare_tree(h, m, NULL, true, msg,
							sizeof(msg), NULL),
				      "seed %" PRIu64 ": tree differs after the mid-run remount: %s",
				      seed, msg);
			trees++;
		}
	}
	ck_assert_msg(!fsm_close_all(&f), "seed %" PRIu64 ": %s", seed, f.msg);
	ck_assert_msg(!fsm_compare_tree(h, m, NULL, true, msg, sizeof(msg),
					&seen),
		      "seed %" PRIu64 ": final tree differs: %s", seed, msg);
	zus_inproc_umount(h);
	fsck_clean("after the run");
	h = do_mount(false);
	f.h = h;
	ck_assert_msg(!fsm_compare_tree(h, m, NULL, true, msg, sizeof(msg),
					&seen),
		      "seed %" PRIu64 ": tree differs after the final remount: %s",
		      seed, msg);
	trees += 2;
	/* no orphans or leaks: inodes in use are exactly the reachable ones */
	{
		struct zus_statfs sf;

		ck_assert_int_eq(zus_inproc_statfs(h, &sf), 0);
		zus_inproc_umount(h);
		struct pmfs2_check_opts co = { .report = report };
		struct pmfs2_check_result cr;

		ck_assert_int_eq(pmfs2_check(&map.pmem, &co, &cr), 0);
		ck_assert_msg(cr.errors == 0, "pmfs2_check: %u errors", cr.errors);
		ck_assert_msg(cr.inodes_used == seen,
			      "seed %" PRIu64 ": %" PRIu64 " inodes in use, %" PRIu64
			      " reachable", seed, cr.inodes_used, seen);
		ck_assert_msg(sf.files - sf.ffree >= seen,
			      "statfs: %" PRIu64 " inodes used < %" PRIu64 " reachable",
			      sf.files - sf.ffree, seen);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);

	printf("model test: %" PRIu64 " ops, %" PRIu64 " tree comparisons, %" PRIu64
	       " inodes at the end, %.1f s\n", f.nops, trees, seen,
	       (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
	for (int t = 0; t < FSM_NTYPES; t++)
		printf("  %-12s %6" PRIu64 " (%" PRIu64 " errors)\n",
		       fsm_type_name(t), f.by_type[t], f.errs_by_type[t]);
	printf("  (fallocate: %" PRIu64 " collapse/insert range, %" PRIu64
	       " errors)\n", f.shifts, f.shift_errs);
	ck_assert_uint_ge(f.nops, nops);
	fsm_fini(&f);
	model_free(m);
	zus_pmem_map_close(&map);
}
END_TEST

/* ---- the host's VFS duties ------------------------------------------------- */

static struct zus_inproc *small_fs(void)
{
	setup_image(16 << 20);
	return do_mount(false);
}

static uint64_t ffree(struct zus_inproc *h)
{
	struct zus_statfs sf;

	ck_assert_int_eq(zus_inproc_statfs(h, &sf), 0);
	return sf.ffree;
}

START_TEST(test_evict_on_last_close)
{
	struct zus_inproc *h = small_fs();
	uint64_t f0 = ffree(h);
	char buf[8];
	int fd, fd2;

	fd = zus_inproc_open(h, "/f", O_CREAT | O_RDWR, 0644);
	ck_assert_int_ge(fd, 0);
	fd2 = zus_inproc_open(h, "/f", O_RDONLY, 0);
	ck_assert_int_ge(fd2, 0);
	ck_assert_uint_eq(ffree(h), f0 - 1);
	ck_assert_int_eq(zus_inproc_pwrite(h, fd, "hello", 5, 0), 5);
	ck_assert_int_eq(zus_inproc_unlink(h, "/f"), 0);
	/* still open twice: alive, readable, writable */
	ck_assert_uint_eq(ffree(h), f0 - 1);
	ck_assert_int_eq(zus_inproc_pwrite(h, fd, "HE", 2, 0), 2);
	ck_assert_int_eq(zus_inproc_close(h, fd), 0);
	ck_assert_uint_eq(ffree(h), f0 - 1);
	ck_assert_int_eq(zus_inproc_pread(h, fd2, buf, 8, 0), 5);
	ck_assert(!memcmp(buf, "HEllo", 5));
	ck_assert_int_eq(zus_inproc_close(h, fd2), 0);
	ck_assert_uint_eq(ffree(h), f0);
	ck_assert_int_eq(zus_inproc_close(h, fd2), -EBADF);

	/* rename over an open file: freed at its last close */
	ck_assert_int_ge(fd = zus_inproc_open(h, "/a", O_CREAT | O_RDWR, 0644), 0);
	ck_assert_int_eq(zus_inproc_close(h, zus_inproc_open(h, "/b", O_CREAT | O_RDWR, 0644)), 0);
	ck_assert_int_eq(zus_inproc_rename(h, "/b", "/a", 0), 0);
	ck_assert_uint_eq(ffree(h), f0 - 1 - 1);
	ck_assert_int_eq(zus_inproc_close(h, fd), 0);
	ck_assert_uint_eq(ffree(h), f0 - 1);
	/* an unlinked file left open at umount is reclaimed */
	ck_assert_int_ge(fd = zus_inproc_open(h, "/a", O_RDWR, 0), 0);
	ck_assert_int_eq(zus_inproc_unlink(h, "/a"), 0);
	zus_inproc_umount(h);
	fsck_clean("after umount with an open unlinked file");
	h = do_mount(false);
	ck_assert_uint_eq(ffree(h), f0);
	zus_inproc_umount(h);
	zus_pmem_map_close(&map);
}
END_TEST

START_TEST(test_tmpfile)
{
	struct zus_inproc *h = small_fs();
	uint64_t f0 = ffree(h);
	struct stat st;
	char buf[4];
	int fd;

	ck_assert_int_eq(zus_inproc_open(h, "/", O_TMPFILE | O_RDONLY, 0600),
			 -EINVAL);
	fd = zus_inproc_open(h, "/", O_TMPFILE | O_RDWR, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(zus_inproc_fstat(h, fd, &st), 0);
	ck_assert_uint_eq(st.st_nlink, 0);
	ck_assert_uint_eq(st.st_mode, S_IFREG | 0600);
	ck_assert_int_eq(zus_inproc_pwrite(h, fd, "tmp", 3, 0), 3);
	ck_assert_uint_eq(ffree(h), f0 - 1);
	ck_assert_int_eq(zus_inproc_linkfd(h, fd, "/named"), 0);
	ck_assert_int_eq(zus_inproc_close(h, fd), 0);
	ck_assert_uint_eq(ffree(h), f0 - 1);
	ck_assert_int_eq(zus_inproc_stat(h, "/named", &st), 0);
	ck_assert_uint_eq(st.st_nlink, 1);
	ck_assert_int_eq(st.st_size, 3);
	fd = zus_inproc_open(h, "/named", O_RDONLY, 0);
	ck_assert_int_eq(zus_inproc_pread(h, fd, buf, 4, 0), 3);
	ck_assert(!memcmp(buf, "tmp", 3));
	ck_assert_int_eq(zus_inproc_close(h, fd), 0);
	/* an unnamed one is freed at close */
	fd = zus_inproc_open(h, "/", O_TMPFILE | O_WRONLY, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_uint_eq(ffree(h), f0 - 2);
	ck_assert_int_eq(zus_inproc_close(h, fd), 0);
	ck_assert_uint_eq(ffree(h), f0 - 1);
	/* a file unlinked to 0 links cannot be linked back */
	fd = zus_inproc_open(h, "/named", O_RDWR, 0);
	ck_assert_int_eq(zus_inproc_unlink(h, "/named"), 0);
	ck_assert_int_eq(zus_inproc_linkfd(h, fd, "/again"), -ENOENT);
	ck_assert_int_eq(zus_inproc_close(h, fd), 0);
	ck_assert_uint_eq(ffree(h), f0);
	zus_inproc_umount(h);
	fsck_clean("after tmpfiles");
	zus_pmem_map_close(&map);
}
END_TEST

START_TEST(test_symlink_resolution)
{
	struct zus_inproc *h = small_fs();
	struct stat st, st2;
	char p[64];

	ck_assert_int_eq(zus_inproc_mkdir(h, "/d", 0755), 0);
	ck_assert_int_eq(zus_inproc_mkdir(h, "/d/e", 0755), 0);
	ck_assert_int_eq(zus_inproc_symlink(h, "d/e", "/l"), 0);
	ck_assert_int_eq(zus_inproc_symlink(h, "/d", "/d/e/up"), 0);
	ck_assert_int_eq(zus_inproc_close(h, zus_inproc_open(h, "/l/f", O_CREAT | O_WRONLY, 0600)), 0);
	ck_assert_int_eq(zus_inproc_stat(h, "/d/e/f", &st), 0);
	ck_assert_int_eq(zus_inproc_stat(h, "l/up/e/./f", &st2), 0);
	ck_assert_uint_eq(st.st_ino, st2.st_ino);
	/* ".." after a symlink is the target's parent */
	ck_assert_int_eq(zus_inproc_stat(h, "/l/../e/f", &st2), 0);
	ck_assert_uint_eq(st.st_ino, st2.st_ino);
	/* a dangling symlink: O_CREAT creates its target */
	ck_assert_int_eq(zus_inproc_symlink(h, "/d/new", "/dangle"), 0);
	ck_assert_int_eq(zus_inproc_stat(h, "/dangle", &st), -ENOENT);
	ck_assert_int_eq(zus_inproc_open(h, "/dangle", O_CREAT | O_EXCL | O_WRONLY, 0600), -EEXIST);
	ck_assert_int_eq(zus_inproc_close(h, zus_inproc_open(h, "/dangle", O_CREAT | O_WRONLY, 0600)), 0);
	ck_assert_int_eq(zus_inproc_lstat(h, "/d/new", &st), 0);
	ck_assert(S_ISREG(st.st_mode));
	ck_assert_int_eq(zus_inproc_open(h, "/dangle", O_RDONLY | O_NOFOLLOW, 0), -ELOOP);
	/* 40 links are followed, 41 are not */
	ck_assert_int_eq(zus_inproc_symlink(h, "d", "/s0"), 0);
	for (int i = 1; i <= 41; i++) {
		char t[16];

		snprintf(t, sizeof(t), "s%d", i - 1);
		snprintf(p, sizeof(p), "/s%d", i);
		ck_assert_int_eq(zus_inproc_symlink(h, t, p), 0);
	}
	ck_assert_int_eq(zus_inproc_stat(h, "/s39", &st), 0);
	ck_assert(S_ISDIR(st.st_mode));
	ck_assert_int_eq(zus_inproc_stat(h, "/s40", &st), -ELOOP);
	ck_assert_int_eq(zus_inproc_lstat(h, "/s40", &st), 0);
	/*
	 * A loop whose every turn leaves 251 more bytes to walk is ELOOP, as
	 * in Linux, which follows each link body on its own: not ENAMETOOLONG
	 * once the spliced path passes 2 * PATH_MAX.
	 */
	{
		char t[ZUS_NAME_MAX + 8] = "grow/";

		memset(t + 5, 'b', 250);
		t[255] = '\0';
		ck_assert_int_eq(zus_inproc_symlink(h, t, "/grow"), 0);
		ck_assert_int_eq(zus_inproc_stat(h, "/grow", &st), -ELOOP);
	}
	ck_assert_int_eq(zus_inproc_stat(h, "/d/e/f/", &st), -ENOTDIR);
	ck_assert_int_eq(zus_inproc_mkdir(h, "/nope/x", 0755), -ENOENT);
	memset(p, 'n', sizeof(p));
	{
		char longname[300];

		memset(longname, 'n', 256);
		longname[0] = '/';
		longname[257] = '\0';
		memset(longname + 1, 'n', 256);
		ck_assert_int_eq(zus_inproc_stat(h, longname, &st), -ENAMETOOLONG);
	}
	zus_inproc_umount(h);
	fsck_clean("after the symlink test");
	zus_pmem_map_close(&map);
}
END_TEST

START_TEST(test_permissions)
{
	struct zus_inproc *h = small_fs();
	struct stat st;
	int fd;

	ck_assert_int_eq(zus_inproc_mkdir(h, "/pub", 01777), 0);
	ck_assert_int_eq(zus_inproc_chmod(h, "/pub", 01777), 0);
	ck_assert_int_eq(zus_inproc_mkdir(h, "/priv", 0700), 0);
	ck_assert_int_eq(zus_inproc_close(h, zus_inproc_open(h, "/priv/secret", O_CREAT | O_WRONLY, 0600)), 0);
	ck_assert_int_eq(zus_inproc_close(h, zus_inproc_open(h, "/rootfile", O_CREAT | O_WRONLY, 0644)), 0);

	zus_inproc_set_creds(h, 1000, 1000);
	/* search permission on /priv */
	ck_assert_int_eq(zus_inproc_stat(h, "/priv/secret", &st), -EACCES);
	ck_assert_int_eq(zus_inproc_open(h, "/priv", O_RDONLY, 0), -EACCES);
	/* read-only for others */
	ck_assert_int_eq(zus_inproc_open(h, "/rootfile", O_WRONLY, 0), -EACCES);
	fd = zus_inproc_open(h, "/rootfile", O_RDONLY, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(zus_inproc_pwrite(h, fd, "x", 1, 0), -EBADF);
	ck_assert_int_eq(zus_inproc_close(h, fd), 0);
	ck_assert_int_eq(zus_inproc_truncate(h, "/rootfile", 0), -EACCES);
	ck_assert_int_eq(zus_inproc_chmod(h, "/rootfile", 0777), -EPERM);
	ck_assert_int_eq(zus_inproc_chown(h, "/rootfile", 1000, 1000, true), -EPERM);
	ck_assert_int_eq(zus_inproc_utimens(h, "/rootfile", NULL, true), -EACCES);
	ck_assert_int_eq(zus_inproc_unlink(h, "/rootfile"), -EACCES);
	ck_assert_int_eq(zus_inproc_mkdir(h, "/mine", 0755), -EACCES);
	ck_assert_int_eq(zus_inproc_setxattr(h, "/rootfile", "user.x", "1", 1, 0), -EACCES);
	ck_assert_int_eq(zus_inproc_setxattr(h, "/pub", "trusted.x", "1", 1, 0), -EPERM);
	/* protected hard links */
	ck_assert_int_eq(zus_inproc_link(h, "/rootfile", "/pub/hl"), -EPERM);
	/* in the sticky dir: own files only */
	fd = zus_inproc_open(h, "/pub/u", O_CREAT | O_EXCL | O_WRONLY, 0666);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(zus_inproc_close(h, fd), 0);
	ck_assert_int_eq(zus_inproc_stat(h, "/pub/u", &st), 0);
	ck_assert_uint_eq(st.st_uid, 1000);
	ck_assert_uint_eq(st.st_gid, 1000);
	ck_assert_uint_eq(st.st_mode, S_IFREG | 0644);	/* umask 022 */
	ck_assert_int_eq(zus_inproc_chmod(h, "/pub/u", 04755), 0);
	ck_assert_int_eq(zus_inproc_utimens(h, "/pub/u", NULL, true), 0);
	zus_inproc_set_creds(h, 1001, 1001);
	ck_assert_int_eq(zus_inproc_unlink(h, "/pub/u"), -EPERM);
	ck_assert_int_eq(zus_inproc_rename(h, "/pub/u", "/pub/v", 0), -EPERM);
	zus_inproc_set_creds(h, 0, 0);
	/* root bypasses, but exec needs an x bit */
	ck_assert_int_eq(zus_inproc_stat(h, "/priv/secret", &st), 0);
	/* chown by root clears suid */
	ck_assert_int_eq(zus_inproc_chown(h, "/pub/u", 1001, (uint32_t)-1, true), 0);
	ck_assert_int_eq(zus_inproc_stat(h, "/pub/u", &st), 0);
	ck_assert_uint_eq(st.st_mode, S_IFREG | 0755);
	ck_assert_uint_eq(st.st_uid, 1001);
	/* setgid directories pass their group on */
	ck_assert_int_eq(zus_inproc_mkdir(h, "/grp", 0775), 0);
	ck_assert_int_eq(zus_inproc_chown(h, "/grp", 0, 50, true), 0);
	ck_assert_int_eq(zus_inproc_chmod(h, "/grp", 02777), 0);
	zus_inproc_set_creds(h, 1000, 1000);
	ck_assert_int_eq(zus_inproc_mkdir(h, "/grp/sub", 0755), 0);
	ck_assert_int_eq(zus_inproc_stat(h, "/grp/sub", &st), 0);
	ck_assert_uint_eq(st.st_gid, 50);
	ck_assert_uint_eq(st.st_mode, S_IFDIR | 02755);
	zus_inproc_set_creds(h, 0, 0);
	zus_inproc_umount(h);

	/* read-only mount */
	h = do_mount(true);
	ck_assert_int_eq(zus_inproc_mkdir(h, "/ro", 0755), -EROFS);
	ck_assert_int_eq(zus_inproc_open(h, "/rootfile", O_WRONLY, 0), -EROFS);
	ck_assert_int_eq(zus_inproc_unlink(h, "/rootfile"), -EROFS);
	fd = zus_inproc_open(h, "/rootfile", O_RDONLY, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(zus_inproc_close(h, fd), 0);
	zus_inproc_umount(h);
	fsck_clean("after the permission test");
	zus_pmem_map_close(&map);
}
END_TEST

START_TEST(test_readdir_cookies)
{
	struct zus_inproc *h = small_fs();
	struct zus_inproc_dirent de;
	struct zus_inproc_dir *d;
	static char seen[600];
	uint64_t mid = 0;
	int n = 0, ret;
	char p[32];

	for (int i = 0; i < 500; i++) {
		snprintf(p, sizeof(p), "/file-%d", i);
		ck_assert_int_eq(zus_inproc_close(h, zus_inproc_open(h, p, O_CREAT | O_WRONLY, 0644)), 0);
	}
	ck_assert_int_eq(zus_inproc_opendir(h, "/", &d), 0);
	while ((ret = zus_inproc_readdir(d, &de)) > 0) {
		int i;

		if (de.name[0] == '.')
			continue;
		ck_assert_int_eq(sscanf(de.name, "file-%d", &i), 1);
		ck_assert(i >= 0 && i < 500 && !seen[i]);
		seen[i] = 1;
		if (++n == 250)
			mid = de.next;
	}
	ck_assert_int_eq(ret, 0);
	ck_assert_int_eq(n, 500);
	/* telldir/seekdir: resuming at the cookie gives the other half */
	zus_inproc_seekdir(d, mid);
	n = 0;
	while (zus_inproc_readdir(d, &de) > 0)
		n++;
	ck_assert_int_eq(n, 250);
	zus_inproc_closedir(d);
	zus_inproc_umount(h);
	zus_pmem_map_close(&map);
}
END_TEST

/* One access (a 1-byte read, or a whole readdir) of path: did it move
 * atime?  It never moves ctime. */
static bool atime_moved(struct zus_inproc *h, const char *path, bool dir)
{
	struct zus_inproc_dirent de;
	struct zus_inproc_dir *d;
	struct stat st0, st;
	char c;
	int fd;

	ck_assert_int_eq(zus_inproc_lstat(h, path, &st0), 0);
	usleep(2000);
	if (dir) {
		ck_assert_int_eq(zus_inproc_opendir(h, path, &d), 0);
		while (zus_inproc_readdir(d, &de) > 0)
			;
		zus_inproc_closedir(d);
	} else {
		fd = zus_inproc_open(h, path, O_RDONLY, 0);
		ck_assert_int_ge(fd, 0);
		ck_assert_int_eq(zus_inproc_pread(h, fd, &c, 1, 0), 1);
		ck_assert_int_eq(zus_inproc_close(h, fd), 0);
	}
	ck_assert_int_eq(zus_inproc_lstat(h, path, &st), 0);
	ck_assert_msg(st.st_ctim.tv_sec == st0.st_ctim.tv_sec &&
		      st.st_ctim.tv_nsec == st0.st_ctim.tv_nsec,
		      "%s: an access moved ctime", path);
	return st.st_atim.tv_sec != st0.st_atim.tv_sec ||
	       st.st_atim.tv_nsec != st0.st_atim.tv_nsec;
}

/*
 * The host takes the VFS's atime options (zusd/atime.h, the same rules as
 * the FUSE transport): a file and a directory whose atime is older than
 * mtime, accessed twice each.
 */
START_TEST(test_atime_options)
{
	static const struct {
		const char *opts;
		bool ro;
		bool read1, read2, dir1, dir2;
	} c[] = {
		{ NULL, false, true, false, true, false },
		{ "relatime", false, true, false, true, false },
		{ "noatime", false, false, false, false, false },
		{ "strictatime", false, true, true, true, true },
		{ "relatime,nodiratime", false, true, false, false, false },
		{ "strictatime,nodiratime", false, true, true, false, false },
		/* strictatime overrides noatime; norelatime alone is relatime */
		{ "noatime,strictatime", false, true, true, true, true },
		{ "norelatime", false, true, false, true, false },
		{ "atime", false, true, false, true, false },
		{ "strictatime", true, false, false, false, false },
	};
	const struct timespec old[2] = { { 1000, 0 }, { 2000, 0 } };

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct zus_inproc_opts o = {
			.dev_path = "memfd", .options = c[i].opts,
			.readonly = c[i].ro,
		};
		struct zus_inproc *h = small_fs();
		const char *what = c[i].opts ? c[i].opts : "(default)";
		int fd, ret;

		fd = zus_inproc_open(h, "/f", O_CREAT | O_WRONLY, 0644);
		ck_assert_int_ge(fd, 0);
		ck_assert_int_eq(zus_inproc_pwrite(h, fd, "data", 4, 0), 4);
		ck_assert_int_eq(zus_inproc_close(h, fd), 0);
		ck_assert_int_eq(zus_inproc_mkdir(h, "/d", 0755), 0);
		ck_assert_int_eq(zus_inproc_mkdir(h, "/d/e", 0755), 0);
		ck_assert_int_eq(zus_inproc_utimens(h, "/f", old, true), 0);
		ck_assert_int_eq(zus_inproc_utimens(h, "/d", old, true), 0);
		zus_inproc_umount(h);
		ret = zus_inproc_mount(fst, &map.pmem, &o, &h);
		ck_assert_msg(ret == 0, "mount -o %s: %s", what, strerror(-ret));
		ck_assert_msg(atime_moved(h, "/f", false) == c[i].read1,
			      "%s%s: first read", what, c[i].ro ? ",ro" : "");
		ck_assert_msg(atime_moved(h, "/f", false) == c[i].read2,
			      "%s%s: second read", what, c[i].ro ? ",ro" : "");
		ck_assert_msg(atime_moved(h, "/d", true) == c[i].dir1,
			      "%s%s: first readdir", what, c[i].ro ? ",ro" : "");
		ck_assert_msg(atime_moved(h, "/d", true) == c[i].dir2,
			      "%s%s: second readdir", what, c[i].ro ? ",ro" : "");
		zus_inproc_umount(h);
		zus_pmem_map_close(&map);
	}
}
END_TEST

static Suite *model_suite(void)
{
	Suite *s = suite_create("model");
	TCase *tc = tcase_create("random");
	TCase *th = tcase_create("host");

	tcase_add_test(tc, test_model_random);
	tcase_set_timeout(tc, 1200);
	suite_add_tcase(s, tc);
	tcase_add_test(th, test_evict_on_last_close);
	tcase_add_test(th, test_tmpfile);
	tcase_add_test(th, test_symlink_resolution);
	tcase_add_test(th, test_permissions);
	tcase_add_test(th, test_readdir_cookies);
	tcase_add_test(th, test_atime_options);
	tcase_set_timeout(th, 120);
	suite_add_tcase(s, th);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(model_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
