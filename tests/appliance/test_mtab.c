// SPDX-License-Identifier: BSD-2-Clause
/*
 * test_mtab.c - zusd's mount table (mtab.h) and its view of the kernel's
 * mounts (kmounts.h):
 *
 *  - the fd-store form round-trips every byte a path may hold;
 *  - malformed tables (wrong magic or version, bad escapes, counts, fields,
 *    truncation, NULs, oversize) are rejected with a reason, and thousands
 *    of random mutations of a valid table never crash the parser (ASan);
 *  - the mountpoint of a kernel mount is found in mountinfo by type and
 *    source device (escapes, symlinked devices, other types ignored);
 *  - the fd-store memfd is read back; a corrupt one or a pipe is refused;
 *  - kernel mounts: mounting -> mounted, per-mount counters found by key,
 *    a waiting entry from the previous zusd taken over by its re-attach.
 */
#include <check.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/mman.h>

#include "fdstore.h"
#include "kmounts.h"
#include "mtab.h"

static char tmpdir[256];

static void setup(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "%s/zufs-mtab.XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void teardown(void)
{
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	ck_assert_int_eq(system(cmd), 0);
}

static void sample(struct zusd_mtab *t)
{
	ck_assert_int_eq(zusd_mtab_add(t, "fuse", ZUSD_MT_DBUS, "pmfs2",
				       "/dev/pmem0", "/mnt/with space\tand tab",
				       "tier=/dev/nvme0n1,tier_low=5"), 0);
	ck_assert_int_eq(zusd_mtab_add(t, "zuf", ZUSD_MT_KERNEL, "pmfs2",
				       "/img\\back\nslash", "", ""), 0);
	ck_assert_int_eq(zusd_mtab_add(t, "fuse", ZUSD_MT_CONFIG, "pmfs2",
				       "-", "/-", "-"), 0);
}

START_TEST(test_roundtrip)
{
	struct zusd_mtab t = { 0 }, u = { 0 };
	char err[256] = "";
	size_t len;
	char *buf;

	sample(&t);
	buf = zusd_mtab_format(&t, &len);
	ck_assert_ptr_nonnull(buf);
	ck_assert_uint_eq(strlen(buf), len);
	ck_assert(!strncmp(buf, "zusd-mount-table 1\n", 19));
	/* nothing but the record separators are raw whitespace */
	for (size_t i = 0; i < len; i++)
		ck_assert(buf[i] != '\t');
	ck_assert_int_eq(zusd_mtab_parse(buf, len, &u, err, sizeof(err)), 0);
	ck_assert_uint_eq(u.n, 3);
	for (size_t i = 0; i < 3; i++) {
		ck_assert_str_eq(u.e[i].transport, t.e[i].transport);
		ck_assert_int_eq(u.e[i].origin, t.e[i].origin);
		ck_assert_str_eq(u.e[i].fstype, t.e[i].fstype);
		ck_assert_str_eq(u.e[i].device, t.e[i].device);
		ck_assert_str_eq(u.e[i].mountpoint, t.e[i].mountpoint);
		ck_assert_str_eq(u.e[i].options, t.e[i].options);
	}
	free(buf);
	zusd_mtab_free(&u);
	/* an empty table is valid too */
	zusd_mtab_free(&t);
	buf = zusd_mtab_format(&t, &len);
	ck_assert_str_eq(buf, "zusd-mount-table 1\nend 0\n");
	ck_assert_int_eq(zusd_mtab_parse(buf, len, &u, err, sizeof(err)), 0);
	ck_assert_uint_eq(u.n, 0);
	free(buf);
}
END_TEST

static const struct {
	const char *text;
	const char *why;	/* in the reason */
} bad_tables[] = {
	{ "", "empty" },
	{ "zusd-mount-table 1\nend 0", "final newline" },
	{ "zusd-mount-table 2\nend 0\n", "version 2" },
	{ "zusd-mount-tablex 1\nend 0\n", "not a zusd mount table" },
	{ "hello\n", "not a zusd mount table" },
	{ "zusd-mount-table 1\n", "no end record" },
	{ "zusd-mount-table 1\nend 1\n", "end record says 1" },
	{ "zusd-mount-table 1\nend -0\n", "end record" },
	{ "zusd-mount-table 1\nend 0\nend 0\n", "after the end" },
	{ "zusd-mount-table 1\nmount fuse dbus pmfs2 /d /m -\n", "no end record" },
	{ "zusd-mount-table 1\nmount fuse dbus pmfs2 /d /m\nend 1\n", "not a mount record" },
	{ "zusd-mount-table 1\nmount fuse dbus pmfs2 /d /m - x\nend 1\n", "not a mount record" },
	{ "zusd-mount-table 1\nmount fuse  dbus pmfs2 /d /m -\nend 1\n", "malformed" },
	{ "zusd-mount-table 1\nmount nfs dbus pmfs2 /d /m -\nend 1\n", "bad field" },
	{ "zusd-mount-table 1\nmount fuse magic pmfs2 /d /m -\nend 1\n", "bad field" },
	{ "zusd-mount-table 1\nmount fuse dbus - /d /m -\nend 1\n", "bad field" },
	{ "zusd-mount-table 1\nmount fuse dbus pmfs2 - /m -\nend 1\n", "bad field" },
	{ "zusd-mount-table 1\nmount fuse dbus pmfs2 /d\\01 /m -\nend 1\n", "bad field" },
	{ "zusd-mount-table 1\nmount fuse dbus pmfs2 /d\\000 /m -\nend 1\n", "bad field" },
	{ "zusd-mount-table 1\nmount fuse dbus pmfs2 /d\\8aa /m -\nend 1\n", "bad field" },
	{ "zusd-mount-table 1\nmount fuse dbus pmfs2 /d\\777 /m -\nend 1\n", "bad field" },
	{ "zusd-mount-table 1\nmount fuse dbus pmfs2 /d\x01 /m -\nend 1\n", "bad field" },
	{ "zusd-mount-table 1\nmount fuse dbus pmfs2 /d\\ /m -\nend 1\n", "bad field" },
	{ "zusd-mount-table 1\r\nend 0\n", "version" },
};

START_TEST(test_malformed)
{
	for (size_t i = 0; i < sizeof(bad_tables) / sizeof(bad_tables[0]); i++) {
		struct zusd_mtab t = { 0 };
		char err[256] = "";
		const char *s = bad_tables[i].text;
		int r = zusd_mtab_parse(s, strlen(s), &t, err, sizeof(err));

		ck_assert_msg(r == -EBADMSG, "table %zu: %d", i, r);
		ck_assert_msg(strstr(err, bad_tables[i].why),
			      "table %zu: reason '%s' lacks '%s'", i, err,
			      bad_tables[i].why);
		ck_assert_uint_eq(t.n, 0);
		ck_assert_ptr_null(t.e);
	}
	/* a NUL inside; oversize */
	{
		static const char nul[] = "zusd-mount-table 1\n\0end 0\n";
		struct zusd_mtab t = { 0 };
		char err[256] = "", *big;

		ck_assert_int_eq(zusd_mtab_parse(nul, sizeof(nul) - 1, &t, err,
						 sizeof(err)), -EBADMSG);
		ck_assert(strstr(err, "NUL"));
		big = calloc(1, ZUSD_MTAB_MAX_BYTES + 1);
		ck_assert_ptr_nonnull(big);
		ck_assert_int_eq(zusd_mtab_parse(big, ZUSD_MTAB_MAX_BYTES + 1,
						 &t, err, sizeof(err)), -E2BIG);
		free(big);
	}
}
END_TEST

/* Random byte flips, insertions and truncations of a valid table. */
START_TEST(test_fuzz)
{
	struct zusd_mtab t = { 0 };
	unsigned int seed = 12345, accepted = 0, rejected = 0;
	size_t len;
	char *good;
	static const char alphabet[] = " \n\\-0179azm\t\x01\xff";

	sample(&t);
	good = zusd_mtab_format(&t, &len);
	ck_assert_ptr_nonnull(good);
	zusd_mtab_free(&t);
	for (int iter = 0; iter < 20000; iter++) {
		char *buf = malloc(len + 8), err[256];
		size_t n = len;
		int muts = 1 + rand_r(&seed) % 4;

		memcpy(buf, good, len);
		for (int k = 0; k < muts; k++) {
			size_t at = (size_t)rand_r(&seed) % n;

			switch (rand_r(&seed) % 3) {
			case 0:
				buf[at] = alphabet[rand_r(&seed) %
						   (sizeof(alphabet) - 1)];
				break;
			case 1:
				n = at;	/* truncate */
				break;
			default:
				if (n < len + 8) {
					memmove(buf + at + 1, buf + at, n - at);
					buf[at] = alphabet[rand_r(&seed) %
							   (sizeof(alphabet) - 1)];
					n++;
				}
			}
			if (!n)
				break;
		}
		/* exactly n bytes: ASan catches a read past them */
		{
			char *exact = malloc(n ? n : 1);
			struct zusd_mtab u = { 0 };
			int r;

			memcpy(exact, buf, n);
			err[0] = '\0';
			r = zusd_mtab_parse(exact, n, &u, err, sizeof(err));
			if (!r) {
				char *again;
				size_t alen;
				struct zusd_mtab w = { 0 };

				accepted++;
				/* what it accepted formats and parses again */
				again = zusd_mtab_format(&u, &alen);
				ck_assert_int_eq(zusd_mtab_parse(again, alen, &w,
								 err, sizeof(err)), 0);
				ck_assert_uint_eq(w.n, u.n);
				free(again);
				zusd_mtab_free(&w);
			} else {
				rejected++;
				ck_assert(r == -EBADMSG);
				ck_assert(err[0]);
				ck_assert_uint_eq(u.n, 0);
			}
			zusd_mtab_free(&u);
			free(exact);
		}
		free(buf);
	}
	free(good);
	ck_assert_uint_gt(rejected, 10000);
	ck_assert_uint_gt(accepted, 10);	/* e.g. a changed path byte */
}
END_TEST

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
}

START_TEST(test_mountinfo)
{
	char mi[PATH_MAX], dev[PATH_MAX], link[PATH_MAX], text[4 * PATH_MAX];
	char out[PATH_MAX];

	snprintf(mi, sizeof(mi), "%s/mountinfo", tmpdir);
	snprintf(dev, sizeof(dev), "%s/pmem0", tmpdir);
	snprintf(link, sizeof(link), "%s/by-id-pmem0", tmpdir);
	write_file(dev, "");
	ck_assert_int_eq(symlink(dev, link), 0);
	snprintf(text, sizeof(text),
		 "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
		 "40 22 0:50 / /mnt/fuse rw shared:9 - fuse.pmfs2 %s rw\n"
		 "41 22 0:51 / /mnt/other rw shared:10 - pmfs2 /dev/pmem9 rw\n"
		 "42 22 0:52 / /mnt/with\\040space rw shared:11 master:3 - pmfs2 %s rw,dax\n"
		 "43 22 0:52 / /mnt/bind rw shared:12 - pmfs2 %s rw,dax\n",
		 dev, link, dev);
	write_file(mi, text);

	/* the first pmfs2 mount of that device (by its link), unescaped */
	ck_assert_int_eq(zusd_mountinfo_find(mi, "pmfs2", dev, out,
					     sizeof(out)), 0);
	ck_assert_str_eq(out, "/mnt/with space");
	ck_assert_int_eq(zusd_mountinfo_find(mi, "pmfs2", "/dev/pmem9", out,
					     sizeof(out)), 0);
	ck_assert_str_eq(out, "/mnt/other");
	/* another type, an unknown device */
	ck_assert_int_eq(zusd_mountinfo_find(mi, "ext4", dev, out,
					     sizeof(out)), -ENOENT);
	ck_assert_int_eq(zusd_mountinfo_find(mi, "pmfs2", "/dev/pmem1", out,
					     sizeof(out)), -ENOENT);
	ck_assert_int_eq(zusd_mountinfo_find(mi, "pmfs2", "/dev/pmem9", out,
					     5), -ENAMETOOLONG);
	/* garbage lines are skipped */
	write_file(mi, "x\n\n1 2 3\n1 2 3 4 5 6 - pmfs2\n");
	ck_assert_int_eq(zusd_mountinfo_find(mi, "pmfs2", dev, out,
					     sizeof(out)), -ENOENT);
	/* the real one parses */
	ck_assert_int_eq(zusd_mountinfo_find(NULL, "nosuchfs", "/x", out,
					     sizeof(out)), -ENOENT);
}
END_TEST

START_TEST(test_fdstore_read)
{
	struct zusd_mtab t = { 0 }, u = { 0 };
	char err[256] = "", *buf;
	int fd = memfd_create("t", 0), p[2];
	size_t len;

	ck_assert_int_ge(fd, 0);
	sample(&t);
	buf = zusd_mtab_format(&t, &len);
	ck_assert_int_eq(write(fd, buf, len), (ssize_t)len);
	/* read from offset 0 whatever the file offset */
	ck_assert_int_eq(zusd_fdstore_read(fd, &u, err, sizeof(err)), 0);
	ck_assert_uint_eq(u.n, 3);
	ck_assert_str_eq(u.e[0].mountpoint, "/mnt/with space\tand tab");
	zusd_mtab_free(&u);
	/* cut short (a zusd that died while writing): refused */
	ck_assert_int_eq(ftruncate(fd, (off_t)len - 3), 0);
	ck_assert_int_eq(zusd_fdstore_read(fd, &u, err, sizeof(err)), -EBADMSG);
	ck_assert(strstr(err, "truncated"));
	ck_assert_uint_eq(u.n, 0);
	close(fd);
	/* not a memfd at all */
	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(zusd_fdstore_read(p[0], &u, err, sizeof(err)), -EBADMSG);
	ck_assert_str_eq(err, "not a memfd");
	close(p[0]);
	close(p[1]);
	free(buf);
	zusd_mtab_free(&t);
}
END_TEST

static int changes;

static void count_change(void *ctx)
{
	(void)ctx;
	changes++;
}

START_TEST(test_kmounts)
{
	struct zusd_kmounts k;
	struct zusd_mtab t = { 0 };
	struct zusd_stats_snapshot snap;
	char mi[PATH_MAX], text[512];
	int key1, key2;		/* stand-ins for the transport's sbs */

	snprintf(mi, sizeof(mi), "%s/mountinfo", tmpdir);
	write_file(mi, "");
	zusd_kmounts_init(&k);
	k.mountinfo = mi;
	k.changed = count_change;
	changes = 0;

	/* the previous zusd's mount waits for its re-attach */
	ck_assert_int_eq(zusd_kmounts_add_waiting(&k, "pmfs2", "/dev/pmem0",
						  "/data", "tier=/dev/nvme0n1"), 0);
	ck_assert_uint_eq(zusd_kmounts_count(&k, ZUSD_KM_WAITING), 1);
	ck_assert_ptr_null(zusd_kmounts_stats(&k, &key1));

	ck_assert_int_eq(zusd_kmounts_begin(&k, &key1, "pmfs2", "/dev/pmem0",
					    "tier=/dev/nvme0n1", false, 1 << 30,
					    4ull << 30), 0);
	ck_assert_uint_eq(zusd_kmounts_count(&k, ZUSD_KM_WAITING), 0);
	ck_assert_uint_eq(zusd_kmounts_count(&k, ZUSD_KM_MOUNTING), 1);
	ck_assert_int_eq(zusd_kmounts_begin(&k, &key2, "pmfs2", "/dev/pmem1",
					    "", true, 1 << 20, 0), 0);
	zusd_kmounts_mounted(&k, &key1);
	zusd_kmounts_mounted(&k, &key2);
	ck_assert_int_eq(changes, 2);
	ck_assert_uint_eq(zusd_kmounts_count(&k, ZUSD_KM_MOUNTED), 2);

	/* per-mount counters */
	ck_assert_ptr_nonnull(zusd_kmounts_stats(&k, &key1));
	ck_assert_ptr_ne(zusd_kmounts_stats(&k, &key1),
			 zusd_kmounts_stats(&k, &key2));
	zusd_stats_record(zusd_kmounts_stats(&k, &key1), ZUSD_OP_WRITE, 1000,
			  4096, 0);
	zusd_stats_snapshot(zusd_kmounts_stats(&k, &key1), &snap);
	ck_assert_uint_eq(snap.op[ZUSD_OP_WRITE].count, 1);
	zusd_stats_snapshot(zusd_kmounts_stats(&k, &key2), &snap);
	ck_assert_uint_eq(snap.op[ZUSD_OP_WRITE].count, 0);
	ck_assert_ptr_null(zusd_kmounts_stats(&k, NULL));

	/* mountpoints: the re-attached mount kept its old one until looked up */
	ck_assert_str_eq(k.m[0].mountpoint, "/data");
	ck_assert_uint_eq(zusd_kmounts_refresh(&k), 2);
	ck_assert_str_eq(k.m[0].mountpoint, "");
	snprintf(text, sizeof(text),
		 "50 1 0:60 / /data rw - pmfs2 /dev/pmem0 rw\n"
		 "51 1 0:61 / /ro rw - pmfs2 /dev/pmem1 ro\n");
	write_file(mi, text);
	changes = 0;
	ck_assert_uint_eq(zusd_kmounts_refresh(&k), 0);
	ck_assert_int_eq(changes, 1);
	ck_assert_uint_eq(zusd_kmounts_refresh(&k), 0);
	ck_assert_int_eq(changes, 1);	/* nothing changed */

	/* what goes to the fd store */
	ck_assert_int_eq(zusd_kmounts_to_mtab(&k, &t), 0);
	ck_assert_uint_eq(t.n, 2);
	ck_assert_str_eq(t.e[0].transport, "zuf");
	ck_assert_int_eq(t.e[0].origin, ZUSD_MT_KERNEL);
	ck_assert_str_eq(t.e[0].mountpoint, "/data");
	ck_assert_str_eq(t.e[0].options, "tier=/dev/nvme0n1");
	ck_assert_str_eq(t.e[1].mountpoint, "/ro");
	zusd_mtab_free(&t);

	/* unmounted: gone, counters too */
	zusd_kmounts_end(&k, &key1);
	ck_assert_ptr_null(zusd_kmounts_stats(&k, &key1));
	ck_assert_uint_eq(zusd_kmounts_count(&k, ZUSD_KM_MOUNTED), 1);

	/* waiting ones that never come back are dropped */
	ck_assert_int_eq(zusd_kmounts_add_waiting(&k, "pmfs2", "/dev/pmem7",
						  "/x", ""), 0);
	ck_assert_uint_eq(zusd_kmounts_drop_waiting(&k), 1);
	ck_assert_uint_eq(zusd_kmounts_count(&k, ZUSD_KM_WAITING), 0);

	/* full */
	for (int i = 0; i < ZUSD_KMOUNTS_MAX - 1; i++)
		ck_assert_int_eq(zusd_kmounts_add_waiting(&k, "t", "d", "", ""), 0);
	ck_assert_int_eq(zusd_kmounts_begin(&k, &key1, "pmfs2", "/dev/pmem5",
					    "", false, 0, 0), -EMFILE);
	zusd_kmounts_destroy(&k);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("mtab");
	TCase *tc = tcase_create("mtab");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_roundtrip);
	tcase_add_test(tc, test_malformed);
	tcase_add_test(tc, test_fuzz);
	tcase_add_test(tc, test_mountinfo);
	tcase_add_test(tc, test_fdstore_read);
	tcase_add_test(tc, test_kmounts);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
