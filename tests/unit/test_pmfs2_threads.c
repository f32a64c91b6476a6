// SPDX-License-Identifier: BSD-2-Clause
/*
 * test_pmfs2_threads.c - operations from several threads at once: data
 * writers on their own files, namespace churn in one directory, and readers
 * walking it; every file reads back what was written and fsck is clean.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "test_pmfs2_util.h"

#define NWRITERS	3
#define FILE_SIZE	(1 << 20)
#define ROUNDS		200

static struct tfs t;
static uint64_t root, dir;
static int stop;

static void setup(void)
{
	tfs_init(&t, 64 << 20, 0);
	root = tfs_root(&t);
	dir = tfs_mkdir(&t, root, "churn");
}

static void teardown(void)
{
	tfs_fini(&t);
}

struct writer {
	uint64_t ino;
	unsigned int seed;
	char *shadow;
	int err;
};

static void *writer(void *arg)
{
	struct writer *w = arg;
	char *buf = malloc(65536), *rd = malloc(65536);

	for (int r = 0; r < ROUNDS && !w->err; r++) {
		size_t len, off;

		w->seed = w->seed * 1103515245u + 12345u;
		off = (w->seed >> 4) % (FILE_SIZE - 65536);
		len = 1 + (w->seed >> 8) % 65536;
		tfs_fill(buf, len, w->seed);
		if (t.ops->write(&t.sb, w->ino, buf, len, off) != (ssize_t)len)
			w->err = 1;
		memcpy(w->shadow + off, buf, len);
		if (t.ops->read(&t.sb, w->ino, rd, len, off) != (ssize_t)len ||
		    memcmp(rd, buf, len))
			w->err = 2;
	}
	free(buf);
	free(rd);
	return NULL;
}

static void *churn(void *arg)
{
	char a[32], b[32];
	int *err = arg;

	for (int i = 0; i < 2000 && !*err; i++) {
		int n = snprintf(a, sizeof(a), "f%d", i % 50);
		int m = snprintf(b, sizeof(b), "g%d", i % 37);
		struct zus_attr at;
		int r = t.ops->create(&t.sb, dir, a, (size_t)n, S_IFREG | 0644,
				      0, NULL, &at);

		if (r && r != -EEXIST)
			*err = r;
		struct zus_attr victim;
		bool replaced = !t.ops->lookup(&t.sb, dir, b, (size_t)m,
					       &victim);

		r = t.ops->rename(&t.sb, dir, a, (size_t)n, dir, b, (size_t)m,
				  0);
		if (r && r != -ENOENT)
			*err = r;
		/* the host drops the replaced inode */
		if (!r && replaced &&
		    !t.ops->getattr(&t.sb, victim.ino, &at) && !at.nlink)
			t.ops->evict(&t.sb, victim.ino);
		if (i % 3 == 0) {
			if (!t.ops->lookup(&t.sb, dir, b, (size_t)m, &at)) {
				r = t.ops->unlink(&t.sb, dir, b, (size_t)m);
				if (!r)
					t.ops->evict(&t.sb, at.ino);
				else if (r != -ENOENT)
					*err = r;
			}
		}
	}
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	return NULL;
}

static int count(void *ctx, const char *name, size_t len, uint64_t ino,
		 unsigned int dtype, uint64_t next)
{
	struct zus_attr a;

	(*(unsigned long *)ctx)++;
	t.ops->getattr(&t.sb, ino, &a);
	return 0;
}

static void *reader(void *arg)
{
	unsigned long n = 0;
	struct zus_statfs st;

	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		t.ops->readdir(&t.sb, dir, 0, count, &n);
		t.ops->statfs(&t.sb, &st);
	}
	return arg;
}

START_TEST(parallel)
{
	struct writer w[NWRITERS];
	pthread_t th[NWRITERS + 2];
	char *rd = malloc(FILE_SIZE);
	int churn_err = 0;

	for (int i = 0; i < NWRITERS; i++) {
		char name[16];

		snprintf(name, sizeof(name), "w%d", i);
		w[i].ino = tfs_create(&t, root, name);
		w[i].seed = (unsigned int)i + 1;
		w[i].shadow = calloc(1, FILE_SIZE);
		w[i].err = 0;
		/* allocate up front: the writers mostly overwrite in place */
		if (i)
			ck_assert_int_eq(t.ops->fallocate(&t.sb, w[i].ino, 0, 0,
							  FILE_SIZE), 0);
		pthread_create(&th[i], NULL, writer, &w[i]);
	}
	pthread_create(&th[NWRITERS], NULL, churn, &churn_err);
	pthread_create(&th[NWRITERS + 1], NULL, reader, NULL);
	for (int i = 0; i < NWRITERS + 2; i++)
		pthread_join(th[i], NULL);
	ck_assert_int_eq(churn_err, 0);
	for (int i = 0; i < NWRITERS; i++) {
		uint64_t size = tfs_stat(&t, w[i].ino).size;

		ck_assert_int_eq(w[i].err, 0);
		ck_assert_int_eq(t.ops->read(&t.sb, w[i].ino, rd, FILE_SIZE, 0),
				 (ssize_t)size);
		ck_assert(!memcmp(rd, w[i].shadow, size));
		free(w[i].shadow);
	}
	tfs_umount(&t);
	ck_assert_uint_eq(tfs_fsck(&t), 0);
	ck_assert_int_eq(tfs_mount(&t), 0);
	free(rd);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("pmfs2_threads");
	TCase *tc = tcase_create("threads");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, parallel);
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
