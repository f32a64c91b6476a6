// SPDX-License-Identifier: BSD-2-Clause
/*
 * test_pmfs2_journal.c - undo-journal transactions and crash consistency.
 *
 * Direct tests of commit and rollback, then power cuts: while an operation
 * runs, the image that would survive a cut at each fence (only flushed and
 * fenced ranges) is kept; each one must mount, show the operation either
 * not done or done (never half), and pass fsck.  The cut after the last
 * fence must show it done: operations are synchronous.
 */
#include <stdio.h>
#include <stdlib.h>

#include "test_pmfs2_util.h"

static struct tfs t;
static uint64_t root;

static void setup(void)
{
	tfs_init(&t, 4 << 20, 0);
	root = tfs_root(&t);
}

static void teardown(void)
{
	tfs_fini(&t);
}

static struct pmfs2_sbi *SBI(void)
{
	return PMFS2_SBI(&t.sb);
}

static struct pmfs2_inode *pinode(struct tfs *x, uint64_t ino)
{
	return pmfs2_inode_at(&x->sb.pmem, &PMFS2_SBI(&x->sb)->s, ino);
}

START_TEST(commit_and_abort)
{
	uint64_t f = tfs_create(&t, root, "f"), free0 = tfs_bfree(&t), blk;
	struct pmfs2_inode *pi = pinode(&t, f), saved;
	struct pmfs2_tx *tx;
	bool isnew;

	tx = pmfs2_tx_begin(SBI());
	ck_assert_int_eq(pmfs2_tx_log(tx, pi, sizeof(*pi)), 0);
	pi->size = 12345;
	ck_assert_int_eq(pmfs2_tx_end(tx, 0), 0);
	ck_assert_uint_eq(SBI()->jhead->active_tid, 0);
	ck_assert_uint_eq(tfs_stat(&t, f).size, 12345);

	/* a failed transaction leaves no trace: map, size, free space */
	memcpy(&saved, pi, sizeof(saved));
	tx = pmfs2_tx_begin(SBI());
	for (uint64_t l = 0; l < 600; l += 7)
		ck_assert_int_eq(pmfs2_bmap_map(tx, pi, l, PMFS2_MAP_ZERO,
						&blk, &isnew), 0);
	ck_assert_int_eq(pmfs2_tx_log(tx, pi, sizeof(*pi)), 0);
	pi->size = 99;
	ck_assert_int_eq(pmfs2_tx_end(tx, -EIO), -EIO);
	ck_assert(!memcmp(&saved, pi, sizeof(saved)));
	ck_assert_uint_eq(tfs_bfree(&t), free0);
	ck_assert_uint_eq(SBI()->jhead->active_tid, 0);
	tfs_umount(&t);
	ck_assert_uint_eq(tfs_fsck(&t), 0);
	ck_assert_int_eq(tfs_mount(&t), 0);
}
END_TEST

START_TEST(journal_full)
{
	uint64_t f = tfs_create(&t, root, "f");
	struct pmfs2_inode *pi = pinode(&t, f);
	char *big = malloc(SBI()->jsize);
	struct pmfs2_tx *tx;

	tx = pmfs2_tx_begin(SBI());
	ck_assert_int_eq(pmfs2_tx_log(tx, pi, sizeof(*pi)), 0);
	pi->nlink = 77;
	/* more than the journal holds: refused, then rolled back */
	ck_assert_int_eq(pmfs2_tx_log(tx, pmfs2_blk(SBI(),
						    SBI()->s.data_start),
				      SBI()->jsize - 100), -ENOSPC);
	ck_assert_int_eq(pmfs2_tx_end(tx, -ENOSPC), -ENOSPC);
	ck_assert_uint_eq(pi->nlink, 1);
	free(big);
}
END_TEST

/* A transaction cut before commit is rolled back by the next mount. */
START_TEST(crash_mid_tx)
{
	uint64_t f = tfs_create(&t, root, "f");
	struct pmfs2_inode *pi = pinode(&t, f);
	struct pmfs2_tx *tx;
	struct tfs m;
	void *img = malloc(t.size);

	tx = pmfs2_tx_begin(SBI());
	ck_assert_int_eq(pmfs2_tx_log_zero(tx, f, 0, 100), 0);
	ck_assert_int_eq(pmfs2_tx_log(tx, pi, sizeof(*pi)), 0);
	pi->size = 4242;
	pi->nlink = 9;
	memcpy(img, t.sb.pmem.base, t.size);
	pmfs2_tx_end(tx, -EIO);

	tfs_init_copy(&m, img, t.size);
	ck_assert_int_eq(tfs_mount(&m), 0);
	ck_assert_uint_eq(tfs_stat(&m, f).size, 0);
	ck_assert_uint_eq(tfs_stat(&m, f).nlink, 1);
	tfs_umount(&m);
	ck_assert_uint_eq(tfs_fsck(&m), 0);
	tfs_fini(&m);
	free(img);
}
END_TEST

/*
 * A record left by a transaction cut before its first fence must never be
 * replayed as part of a later transaction.
 *
 * The first record of a transaction and the head (seq, active_tid) are made
 * durable by one fence; before it, the lines drain in any order.  The
 * fence-granular snapshots cannot show that, so both cuts are built by hand:
 * cut 1 keeps the record at PMFS2_JREC_START but not the head, cut 2 keeps
 * the head but not the record.  Between them a committed overwrite changes
 * the inode's times with direct stores (no transaction).  If the second
 * transaction reuses the first one's tid, recovery of cut 2 finds the stale
 * record under its tid, with a good crc, and puts the inode back as it was
 * before cut 1: the committed times are lost.  With `ro_first`, the mount
 * between the cuts is read-only and then remounted read-write.
 */
static void stale_first_record(bool ro_first)
{
	uint64_t f = tfs_create(&t, root, "f");
	struct pmfs2_journal_head h0;
	struct pmfs2_sbi *ms;
	struct pmfs2_inode *pi;
	struct pmfs2_tx *tx;
	struct tfs m, r;
	char under[sizeof(struct pmfs2_jrec) + sizeof(*pi)];
	uint64_t hoff, tid1, tid2;
	int64_t mt, ct;
	static char buf[2000];
	void *img;

	tfs_fill(buf, sizeof(buf), 7);
	tfs_write(&t, f, 0, buf, sizeof(buf));
	img = malloc(t.size);
	ck_assert_ptr_nonnull(img);
	hoff = (uint64_t)((char *)SBI()->jhead - (char *)t.sb.pmem.base);

	/* cut 1: the record reached pmem, the head did not */
	memcpy(&h0, SBI()->jhead, sizeof(h0));
	tx = pmfs2_tx_begin(SBI());
	tid1 = tx->tid;
	ck_assert_int_eq(pmfs2_tx_log(tx, pinode(&t, f), sizeof(*pi)), 0);
	memcpy(img, t.sb.pmem.base, t.size);
	memcpy((char *)img + hoff, &h0, sizeof(h0));
	pmfs2_tx_end(tx, -EIO);

	/* the next mount: a committed overwrite stores mtime/ctime directly */
	tfs_init_copy(&m, img, t.size);
	m.sb.readonly = ro_first;
	ck_assert_int_eq(tfs_mount(&m), 0);
	if (ro_first) {
		ck_assert_int_eq(m.ops->remount(&m.sb, "", false), 0);
		ck_assert(!m.sb.readonly);
	}
	ms = PMFS2_SBI(&m.sb);
	pi = pinode(&m, f);
	ck_assert_uint_eq(ms->jhead->active_tid, 0);
	mt = pi->mtime;
	tfs_write(&m, f, 0, "overwrite", 9);
	ck_assert_int_ne(pi->mtime, mt);	/* else this test proves nothing */
	mt = pi->mtime;
	ct = pi->ctime;

	/* cut 2: its first transaction's head reached pmem, the record not */
	memcpy(under, ms->jarea + PMFS2_JREC_START, sizeof(under));
	tx = pmfs2_tx_begin(ms);
	tid2 = tx->tid;
	ck_assert_int_eq(pmfs2_tx_log(tx, pi, sizeof(*pi)), 0);
	memcpy(img, m.sb.pmem.base, m.size);
	memcpy((char *)img + hoff + PMFS2_JREC_START, under, sizeof(under));
	pmfs2_tx_end(tx, -EIO);
	tfs_fini(&m);

	tfs_init_copy(&r, img, t.size);
	ck_assert_int_eq(tfs_mount(&r), 0);
	pi = pinode(&r, f);
	ck_assert_msg(pi->mtime == mt && pi->ctime == ct,
		      "%s: tid %llu reused after cut 1 (tid %llu): recovery replayed the stale record, mtime %lld -> %lld, ctime %lld -> %lld (%s)",
		      ro_first ? "ro mount + remount rw" : "rw mount",
		      (unsigned long long)tid2, (unsigned long long)tid1,
		      (long long)mt, (long long)pi->mtime,
		      (long long)ct, (long long)pi->ctime, r.lastlog);
	ck_assert_uint_ne(tid2, tid1);
	tfs_umount(&r);
	ck_assert_uint_eq(tfs_fsck(&r), 0);
	tfs_fini(&r);
	free(img);
}

START_TEST(stale_record_rw)
{
	stale_first_record(false);
}
END_TEST

START_TEST(stale_record_ro_remount)
{
	stale_first_record(true);
}
END_TEST

/* ---- power cuts -------------------------------------------------------- */

/* 0: the operation did not happen, 1: it did, -1: anything else */
typedef int (*state_fn)(struct tfs *m);

static void powercut(const char *what, void (*op)(void), state_fn state)
{
	int last = -1;

	tfs_snap_start(&t);
	op();
	tfs_snap_stop(&t);
	ck_assert_uint_gt(t.nsnaps, 0);
	for (unsigned int i = 0; i < t.nsnaps; i++) {
		struct tfs m;

		tfs_init_copy(&m, t.snaps[i], t.size);
		ck_assert_msg(tfs_mount(&m) == 0, "%s: cut at fence %u/%u: mount fails (%s)",
			      what, i, t.nsnaps, m.lastlog);
		last = state(&m);
		ck_assert_msg(last >= 0,
			      "%s: cut at fence %u/%u: half done", what, i,
			      t.nsnaps);
		tfs_umount(&m);
		ck_assert_msg(tfs_fsck(&m) == 0,
			      "%s: cut at fence %u/%u: fsck finds errors", what,
			      i, t.nsnaps);
		tfs_fini(&m);
	}
	ck_assert_msg(last == 1, "%s: not durable when it returned", what);
	tfs_snap_free(&t);
}

static uint64_t a_ino, b_ino, d_ino, f_ino;
static char data[40000];

static void op_create(void)
{
	tfs_create(&t, root, "new");
}

static int st_create(struct tfs *m)
{
	int64_t r = tfs_lookup(m, root, "new");

	return r == -ENOENT ? 0 : r > 0 ? 1 : -1;
}

static void op_mkdir(void)
{
	tfs_mkdir(&t, d_ino, "sub");
}

static int st_mkdir(struct tfs *m)
{
	int64_t r = tfs_lookup(m, d_ino, "sub");

	if (r == -ENOENT)
		return tfs_stat(m, d_ino).nlink == 2 ? 0 : -1;
	return r > 0 && tfs_stat(m, d_ino).nlink == 3 ? 1 : -1;
}

static void op_write_extend(void)
{
	tfs_write(&t, f_ino, 500, data, 30000);
}

static int file_is(struct tfs *m, uint64_t ino, const char *want,
		   size_t size)
{
	char *buf = malloc(size + 1);
	bool ok = tfs_stat(m, ino).size == size &&
		  m->ops->read(&m->sb, ino, buf, size + 1, 0) == (ssize_t)size &&
		  !memcmp(buf, want, size);

	free(buf);
	return ok;
}

static int st_write_extend(struct tfs *m)
{
	static char want[30500];

	memcpy(want, data, 1000);
	if (tfs_stat(m, f_ino).size == 1000)
		return 0;	/* in-place bytes may differ: data, not meta */
	memcpy(want + 500, data, 30000);
	return file_is(m, f_ino, want, 30500) ? 1 : -1;
}

static void op_truncate(void)
{
	struct zus_setattr sa = { .valid = ZUS_SET_SIZE, .size = 300 };

	ck_assert_int_eq(t.ops->setattr(&t.sb, f_ino, &sa, NULL), 0);
}

static int st_truncate(struct tfs *m)
{
	if (file_is(m, f_ino, data, 1000))
		return 0;
	return file_is(m, f_ino, data, 300) ? 1 : -1;
}

static void op_rename_replace(void)
{
	ck_assert_int_eq(t.ops->rename(&t.sb, root, "a", 1, d_ino, "b", 1, 0),
			 0);
}

static int st_rename_replace(struct tfs *m)
{
	int64_t a = tfs_lookup(m, root, "a"), b = tfs_lookup(m, d_ino, "b");

	if (a == (int64_t)a_ino && b == (int64_t)b_ino)
		return 0;
	return a == -ENOENT && b == (int64_t)a_ino ? 1 : -1;
}

static void op_exchange(void)
{
	ck_assert_int_eq(t.ops->rename(&t.sb, root, "d", 1, root, "a", 1,
				       ZUS_RENAME_EXCHANGE), 0);
}

static int st_exchange(struct tfs *m)
{
	int64_t d = tfs_lookup(m, root, "d"), a = tfs_lookup(m, root, "a");

	if (d == (int64_t)d_ino && a == (int64_t)a_ino)
		return 0;
	return d == (int64_t)a_ino && a == (int64_t)d_ino ? 1 : -1;
}

static void op_unlink(void)
{
	ck_assert_int_eq(t.ops->unlink(&t.sb, root, "a", 1), 0);
	t.ops->evict(&t.sb, a_ino);
}

static int st_unlink(struct tfs *m)
{
	int64_t a = tfs_lookup(m, root, "a");

	return a == (int64_t)a_ino ? 0 : a == -ENOENT ? 1 : -1;
}

static void op_rmdir(void)
{
	ck_assert_int_eq(t.ops->rmdir(&t.sb, root, "e", 1), 0);
}

static int st_rmdir(struct tfs *m)
{
	int64_t e = tfs_lookup(m, root, "e");
	uint32_t n = tfs_stat(m, root).nlink;

	if (e > 0)
		return n == 4 ? 0 : -1;
	return e == -ENOENT && n == 3 ? 1 : -1;
}

static void op_xattr(void)
{
	ck_assert_int_eq(t.ops->setxattr(&t.sb, a_ino, "user.k", "new", 3, 0),
			 0);
}

static int st_xattr(struct tfs *m)
{
	char v[8];
	ssize_t n = m->ops->getxattr(&m->sb, a_ino, "user.k", v, sizeof(v));

	if (n == 3 && !memcmp(v, "old", 3))
		return 0;
	return n == 3 && !memcmp(v, "new", 3) ? 1 : -1;
}

static void op_symlink(void)
{
	static char target[3000];

	memset(target, 'y', sizeof(target) - 1);
	ck_assert_int_eq(t.ops->symlink(&t.sb, root, "sl", 2, target, NULL,
					NULL), 0);
}

static int st_symlink(struct tfs *m)
{
	int64_t r = tfs_lookup(m, root, "sl");

	return r == -ENOENT ? 0 : r > 0 ? 1 : -1;
}

static void op_punch(void)
{
	ck_assert_int_eq(t.ops->fallocate(&t.sb, f_ino, ZUS_FALLOC_PUNCH_HOLE |
					  ZUS_FALLOC_KEEP_SIZE, 0, 8192), 0);
}

static int st_punch(struct tfs *m)
{
	return tfs_stat(m, f_ino).size == 30500 ? 1 : -1;
}

static void prepare(void)
{
	tfs_fill(data, sizeof(data), 42);
	a_ino = tfs_create(&t, root, "a");
	d_ino = tfs_mkdir(&t, root, "d");
	b_ino = tfs_create(&t, d_ino, "b");
	f_ino = tfs_create(&t, root, "f");
	tfs_mkdir(&t, root, "e");
	tfs_write(&t, f_ino, 0, data, 1000);
	ck_assert_int_eq(t.ops->setxattr(&t.sb, a_ino, "user.k", "old", 3, 0),
			 0);
}

START_TEST(powercut_namespace)
{
	prepare();
	powercut("create", op_create, st_create);
	powercut("mkdir", op_mkdir, st_mkdir);
	powercut("symlink", op_symlink, st_symlink);
	powercut("xattr", op_xattr, st_xattr);
	powercut("rmdir", op_rmdir, st_rmdir);
	powercut("rename-replace", op_rename_replace, st_rename_replace);
	tfs_create(&t, root, "a");
	a_ino = (uint64_t)tfs_lookup(&t, root, "a");
	powercut("unlink", op_unlink, st_unlink);
	a_ino = tfs_create(&t, root, "a");
	powercut("exchange", op_exchange, st_exchange);
}
END_TEST

START_TEST(powercut_data)
{
	prepare();
	powercut("truncate", op_truncate, st_truncate);
	tfs_write(&t, f_ino, 0, data, 1000);
	powercut("write-extend", op_write_extend, st_write_extend);
	powercut("punch", op_punch, st_punch);
}
END_TEST

/* bucket splits and array doubling, each cut at every fence */
static unsigned int nth;

static void op_create_nth(void)
{
	char name[40];

	snprintf(name, sizeof(name), "entry-with-a-long-name-%u", nth);
	tfs_create(&t, d_ino, name);
}

static int st_create_nth(struct tfs *m)
{
	char name[40];
	int64_t r;

	snprintf(name, sizeof(name), "entry-with-a-long-name-%u", nth);
	r = tfs_lookup(m, d_ino, name);
	return r == -ENOENT ? 0 : r > 0 ? 1 : -1;
}

START_TEST(powercut_split)
{
	d_ino = tfs_mkdir(&t, root, "d");
	for (nth = 0; nth < 200; nth++) {
		if (nth % 9 == 0 || (nth > 70 && nth < 90))
			powercut("create-split", op_create_nth, st_create_nth);
		else
			op_create_nth();
	}
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("pmfs2_journal");
	TCase *tc = tcase_create("journal");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, commit_and_abort);
	tcase_add_test(tc, journal_full);
	tcase_add_test(tc, crash_mid_tx);
	tcase_add_test(tc, stale_record_rw);
	tcase_add_test(tc, stale_record_ro_remount);
	tcase_add_test(tc, powercut_namespace);
	tcase_add_test(tc, powercut_data);
	tcase_add_test(tc, powercut_split);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
