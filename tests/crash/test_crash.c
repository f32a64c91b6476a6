// SPDX-License-Identifier: BSD-2-Clause
/*
 * test_crash.c - power-cut test of pmfs2.
 *
 * A random workload (tests/model/fsm.c) runs on simulated pmem
 * (tests/lib/pmem_sim.c).  At random fences the power is cut: the crash
 * image is what was flushed and fenced plus a random subset of the other
 * stores, torn at 8-byte granularity.  Each crash image is mounted (recovery
 * runs) and must hold exactly the state after the last operation that
 * returned, or the state after the one in flight (for data writes, punches
 * and zeroing: each byte old or new, the size old or new; collapse and insert
 * range are atomic: the whole file before or after, and having few fences
 * they are cut at every other one).  The recovered filesystem must take new
 * work, and pmfs2_check must find it clean, with no inode in use that is not
 * reachable (orphans are reclaimed).
 *
 *   ZUFS_CRASH_SEED=N   seed (default: time-based, printed)
 *   ZUFS_CRASH_CUTS=N   cut points to verify (default 1000)
 *   ZUFS_CRASH_OPS=N    operations per workload before starting afresh (300)
 *   ZUFS_CRASH_KEEP=N   keep each unfenced word with probability N/65536
 *                       (default: varies per cut point, 0 to 65536)
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fsm.h"
#include "inproc.h"
#include "plugin.h"
#include "pmem_sim.h"
#include "pmfs2_lib.h"

#define IMAGE_SIZE	(8u << 20)
#define MAXQ		3

static const struct zus_fs_type *fst;

struct cutq {
	void *img[MAXQ];
	uint64_t fence[MAXQ];
	uint32_t keep[MAXQ];
	size_t ndiff[MAXQ];
	char where[MAXQ][512];
	int n;
};

struct ctx {
	struct pmem_sim *ps;
	struct cutq q;
	uint64_t rng;
	uint64_t gap;
	long keep;		/* forced keep probability, or -1 */
};

static uint64_t xs(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

static void arm(struct ctx *c, uint64_t after);

static void on_cut(struct pmem_sim *ps, uint64_t fence, void *arg)
{
	static const uint32_t keeps[] = { 0, 0, 16384, 32768, 49152, 65536 };
	struct ctx *c = arg;
	struct cutq *q = &c->q;

	if (q->n < MAXQ) {
		int i = q->n++;

		q->img[i] = aligned_alloc(4096, IMAGE_SIZE);
		if (!q->img[i])
			abort();
		q->keep[i] = c->keep >= 0 ? (uint32_t)c->keep :
			     keeps[xs(&c->rng) % (sizeof(keeps) / sizeof(keeps[0]))];
		q->fence[i] = fence;
		q->ndiff[i] = pmem_sim_crash_image(ps, q->img[i], q->keep[i],
						   &c->rng);
		q->where[i][0] = '\0';
		if (q->ndiff[i])
			pmem_sim_diff_summary(ps, q->where[i],
					      sizeof(q->where[i]), 12);
	}
	arm(c, fence);
}

static void arm(struct ctx *c, uint64_t after)
{
	pmem_sim_set_cut(c->ps, after + 1 + xs(&c->rng) % c->gap, on_cut, c);
}

static void quiet_log(void *ctx, int prio, const char *msg)
{
	(void)ctx;
	if (prio <= ZUS_LOG_ERR && getenv("ZUFS_CRASH_VERBOSE"))
		fprintf(stderr, "  plugin: %s\n", msg);
}

static void report(void *ctx, const char *msg)
{
	fprintf(stderr, "  fsck: %s\n", msg);
	(void)ctx;
}

static bool is_shift(const struct fsm_op *op)
{
	return op->type == FSM_FALLOCATE &&
	       (op->flags & (ZUS_FALLOC_COLLAPSE_RANGE |
			     ZUS_FALLOC_INSERT_RANGE));
}

/*
 * Ops whose file data may be recovered as a byte-wise mix of the two
 * states.  Not collapse and insert range: they are atomic, and such a mix
 * would hide a half-moved block map.
 */
static bool is_data_op(const struct fsm_op *op)
{
	if (is_shift(op))
		return false;
	return op->type == FSM_PWRITE ||
	       (op->type == FSM_FALLOCATE &&
		(op->flags & (ZUS_FALLOC_PUNCH_HOLE | ZUS_FALLOC_ZERO_RANGE)));
}

struct fail_info {
	uint64_t seed, round, opno;
	const char *desc;
	const char *where;	/* unfenced stores at the cut */
};

static void save_image(const void *img, const struct fail_info *fi,
		       uint64_t fence)
{
	char name[128];
	FILE *fp;

	if (fi->where[0])
		fprintf(stderr, "  unfenced stores at the cut: %s\n", fi->where);

	snprintf(name, sizeof(name), "crash-%" PRIu64 "-r%" PRIu64 "-f%" PRIu64
		 ".img", fi->seed, fi->round, fence);
	fp = fopen(name, "w");
	if (fp) {
		fwrite(img, 1, IMAGE_SIZE, fp);
		fclose(fp);
		fprintf(stderr, "  crash image saved as %s\n", name);
	}
}

/* Verify one crash image; 0 if good. */
static int verify(void *img, uint64_t fence, uint32_t keep, size_t ndiff,
		  struct model *prev, struct model *cur,
		  const struct fsm_op *op, const struct fail_info *fi)
{
	struct zus_pmem pm = { .base = img, .size = IMAGE_SIZE };
	struct zus_inproc_opts o = { .dev_path = "crash", .log = quiet_log };
	struct pmfs2_check_opts co = { .report = report };
	struct pmfs2_check_result cr;
	char m1[2048], m2[2048], m3[2048] = "";
	struct zus_inproc *h;
	uint64_t seen = 0;
	int ret, fd;

	ret = zus_inproc_mount(fst, &pm, &o, &h);
	if (ret) {
		fprintf(stderr, "FAIL seed %" PRIu64 " round %" PRIu64 " op %" PRIu64
			" (%s), cut at fence %" PRIu64 " (keep %u/65536, %zu words in flight): mount failed: %s\n",
			fi->seed, fi->round, fi->opno, fi->desc, fence, keep,
			ndiff, strerror(-ret));
		save_image(img, fi, fence);
		return -1;
	}
	if (fsm_compare_tree(h, cur, NULL, false, m1, sizeof(m1), &seen) &&
	    fsm_compare_tree(h, prev, NULL, false, m2, sizeof(m2), &seen)) {
		bool ok = false;

		if (is_data_op(op) && op->hd >= 0 && prev->h[op->hd].used) {
			struct fsm_tol tol = {
				.id = prev->h[op->hd].node->id, .other = cur,
			};

			ok = !fsm_compare_tree(h, prev, &tol, false, m3,
					       sizeof(m3), &seen);
		}
		if (!ok) {
			fprintf(stderr, "FAIL seed %" PRIu64 " round %" PRIu64
				" op %" PRIu64 " (%s), cut at fence %" PRIu64
				" (keep %u/65536, %zu words in flight): the recovered tree is neither state\n"
				"  vs after:  %s\n  vs before: %s\n%s%s%s",
				fi->seed, fi->round, fi->opno, fi->desc, fence,
				keep, ndiff, m1, m2, m3[0] ? "  vs mixed:  " : "",
				m3, m3[0] ? "\n" : "");
			zus_inproc_umount(h);
			save_image(img, fi, fence);
			return -1;
		}
	}
	/* the recovered filesystem takes new work */
	fd = zus_inproc_open(h, "/.probe", O_CREAT | O_EXCL | O_RDWR, 0600);
	ret = fd < 0 ? fd : 0;
	if (!ret) {
		static char blk[8192];

		memset(blk, 0x5a, sizeof(blk));
		ret = zus_inproc_pwrite(h, fd, blk, sizeof(blk), 4096);
		ret = ret == (int)sizeof(blk) ? 0 : ret < 0 ? ret : -EIO;
		zus_inproc_close(h, fd);
	}
	if (!ret)
		ret = zus_inproc_mkdir(h, "/.probedir", 0700);
	if (!ret)
		ret = zus_inproc_rename(h, "/.probe", "/.probedir/p", 0);
	if (!ret)
		ret = zus_inproc_unlink(h, "/.probedir/p");
	if (!ret)
		ret = zus_inproc_rmdir(h, "/.probedir");
	zus_inproc_umount(h);
	if (ret) {
		fprintf(stderr, "FAIL seed %" PRIu64 " round %" PRIu64 " op %" PRIu64
			" (%s), cut at fence %" PRIu64 ": new work on the recovered fs failed: %s\n",
			fi->seed, fi->round, fi->opno, fi->desc, fence,
			strerror(-ret));
		save_image(img, fi, fence);
		return -1;
	}
	ret = pmfs2_check(&pm, &co, &cr);
	if (ret || cr.errors || cr.inodes_used != seen) {
		fprintf(stderr, "FAIL seed %" PRIu64 " round %" PRIu64 " op %" PRIu64
			" (%s), cut at fence %" PRIu64 ": after recovery pmfs2_check: %s, %u errors, %" PRIu64
			" inodes in use, %" PRIu64 " reachable\n",
			fi->seed, fi->round, fi->opno, fi->desc, fence,
			ret ? strerror(-ret) : "ran", cr.errors,
			cr.inodes_used, seen);
		save_image(img, fi, fence);
		return -1;
	}
	return 0;
}

static uint64_t env_u64(const char *name, uint64_t def)
{
	const char *v = getenv(name);

	return v && *v ? strtoull(v, NULL, 0) : def;
}

int main(void)
{
	uint64_t seed = env_u64("ZUFS_CRASH_SEED",
				(uint64_t)time(NULL) ^ ((uint64_t)getpid() << 20));
	uint64_t target = env_u64("ZUFS_CRASH_CUTS", 1000);
	uint64_t per_round = env_u64("ZUFS_CRASH_OPS", 300);
	long keep = getenv("ZUFS_CRASH_KEEP") ?
		    (long)env_u64("ZUFS_CRASH_KEEP", 0) : -1;
	struct fsm_limits lim = {
		.max_file = 256 << 10, .max_write = 64 << 10,
		.data_budget = 2 << 20, .max_nodes = 150,
	};
	struct pmfs2_mkfs_opts mo = {
		.inodes = 512, .journal_blocks = 64, .dev_hint = "sim",
	};
	struct zus_loaded_plugin lp;
	uint64_t cuts = 0, ops = 0, rounds = 0, fences = 0, shift_cuts = 0;
	uint64_t keep_hist[2] = { 0, 0 };
	struct timespec t0, t1;
	char err[512];
	int failed = 0, unflushed_reports = 0;

	printf("crash test: seed %" PRIu64 ", %" PRIu64 " cut points "
	       "(ZUFS_CRASH_SEED=%" PRIu64 " ZUFS_CRASH_CUTS=%" PRIu64
	       " to repeat)\n", seed, target, seed, target);
	fflush(stdout);
	if (zus_plugin_load("pmfs2", &lp, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	fst = zus_plugin_find_fs(&lp, 1, "pmfs2");
	if (!fst) {
		fprintf(stderr, "no pmfs2 fs type in %s\n", lp.path);
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);

	while (cuts < target && !failed) {
		struct ctx c = { .rng = seed * 31 + rounds * 0x9e3779b97f4a7c15ull + 1,
				 .gap = 24, .keep = keep };
		struct zus_inproc_opts o = { .dev_path = "sim", .log = quiet_log };
		struct model *prev = model_new(0755), *cur = model_new(0755);
		struct zus_pmem raw;
		struct zus_inproc *h;
		struct fsm f;
		int ret;

		c.ps = pmem_sim_new(IMAGE_SIZE);
		raw = pmem_sim_raw(c.ps);
		if (pmfs2_format(&raw, &mo, err, sizeof(err))) {
			fprintf(stderr, "pmfs2_format: %s\n", err);
			return 1;
		}
		pmem_sim_sync(c.ps);
		ret = zus_inproc_mount(fst, pmem_sim_pmem(c.ps), &o, &h);
		if (ret) {
			fprintf(stderr, "mount: %s\n", strerror(-ret));
			return 1;
		}
		fsm_init(&f, h, cur, seed + rounds, &lim);
		f.check_times = false;
		arm(&c, pmem_sim_fences(c.ps));

		for (uint64_t i = 0; i < per_round && cuts < target && !failed;
		     i++) {
			struct fsm_op op;
			char desc[1400];
			bool shift;
			struct fail_info fi = {
				.seed = seed, .round = rounds, .opno = i + 1,
				.desc = desc,
			};

			fsm_gen(&f, &op);
			fsm_describe(&op, desc, sizeof(desc));
			c.q.n = 0;
			shift = is_shift(&op);
			if (shift) {
				/* few fences each: cut them densely */
				c.gap = 2;
				arm(&c, pmem_sim_fences(c.ps));
			}
			if (fsm_step(&f, &op)) {
				fprintf(stderr, "FAIL seed %" PRIu64 " round %" PRIu64
					": workload diverged from the model: %s\n",
					seed, rounds, f.msg);
				failed = 1;
			}
			for (int k = 0; k < c.q.n; k++) {
				fi.where = c.q.where[k];
				if (!failed && verify(c.q.img[k], c.q.fence[k],
						      c.q.keep[k], c.q.ndiff[k],
						      prev, cur, &op, &fi))
					failed = 1;
				keep_hist[c.q.keep[k] == 0]++;
				free(c.q.img[k]);
				cuts++;
				shift_cuts += shift;
			}
			if (shift) {
				c.gap = 24;
				arm(&c, pmem_sim_fences(c.ps));
			}
			fsm_apply_model(prev, &op);
			ops++;
			/*
			 * Diagnostic: an op that returned must have made its
			 * stores durable.  Say which op did not (the cut points
			 * decide whether that matters).
			 */
			if (unflushed_reports < 5) {
				char where[512];

				if (pmem_sim_diff_summary(c.ps, where, sizeof(where), 6)) {
					unflushed_reports++;
					fprintf(stderr, "note: seed %" PRIu64 " round %" PRIu64
						" op %" PRIu64 " %s returned with stores not durable: %s\n",
						seed, rounds, i + 1, desc, where);
				}
			}
		}
		pmem_sim_set_cut(c.ps, 0, NULL, NULL);
		fences += pmem_sim_fences(c.ps);
		zus_inproc_umount(h);
		fsm_fini(&f);
		model_free(prev);
		model_free(cur);
		pmem_sim_free(c.ps);
		rounds++;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("crash test: %" PRIu64 " cut points verified (%" PRIu64
	       " with only fenced stores, %" PRIu64 " with some unfenced, %" PRIu64
	       " in collapse/insert range), %" PRIu64
	       " ops in %" PRIu64 " workloads, %" PRIu64 " fences, %.1f s: %s\n",
	       cuts, keep_hist[1], keep_hist[0], shift_cuts, ops, rounds, fences,
	       (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9,
	       failed ? "FAILED" : "ok");
	zus_plugin_unload(&lp);
	return failed || cuts < target ? 1 : 0;
}
