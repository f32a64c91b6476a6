// SPDX-License-Identifier: BSD-2-Clause
/*
 * test_pmfs2_file.c - file data: read/write across blocks and chunks,
 * truncate (shrink, grow, zeroed tail), fallocate (allocate, KEEP_SIZE,
 * PUNCH_HOLE, ZERO_RANGE, COLLAPSE_RANGE, INSERT_RANGE), SEEK_DATA/SEEK_HOLE,
 * get_extents, ENOSPC.
 */
#include <stdio.h>
#include <stdlib.h>

#include "test_pmfs2_util.h"

#define MiB	(1024 * 1024)

static struct tfs t;
static uint64_t root;

static void setup(void)
{
	tfs_init(&t, 64 * MiB, 0);
	root = tfs_root(&t);
}

static void teardown(void)
{
	tfs_fini(&t);
}

static void expect(uint64_t ino, uint64_t off, const void *want, size_t len)
{
	char *buf = malloc(len + 1);
	ssize_t n = t.ops->read(&t.sb, ino, buf, len, off);

	ck_assert_int_eq(n, (ssize_t)len);
	ck_assert_msg(!memcmp(buf, want, len), "data at %llu differs",
		      (unsigned long long)off);
	free(buf);
}

static void expect_zero(uint64_t ino, uint64_t off, size_t len)
{
	char *z = calloc(1, len);

	expect(ino, off, z, len);
	free(z);
}

static int64_t seek(uint64_t ino, uint64_t off, int whence)
{
	uint64_t r;
	int err = t.ops->lseek(&t.sb, ino, off, whence, &r);

	return err ? err : (int64_t)r;
}

static void set_size(uint64_t ino, uint64_t size)
{
	struct zus_setattr sa = { .valid = ZUS_SET_SIZE, .size = size };

	ck_assert_int_eq(t.ops->setattr(&t.sb, ino, &sa, NULL), 0);
}

START_TEST(rw_basic)
{
	uint64_t f = tfs_create(&t, root, "f");
	size_t len = 5 * MiB + 123;	/* several transactions */
	char *buf = malloc(len), *rd = malloc(len);

	tfs_fill(buf, len, 1);
	tfs_write(&t, f, 100, buf, len);
	ck_assert_uint_eq(tfs_stat(&t, f).size, 100 + len);
	expect_zero(f, 0, 100);
	expect(f, 100, buf, len);
	/* short read at EOF, nothing past it */
	ck_assert_int_eq(t.ops->read(&t.sb, f, rd, 1000, 100 + len - 10), 10);
	ck_assert_int_eq(t.ops->read(&t.sb, f, rd, 10, 100 + len), 0);
	/* overwrite in place (no transaction) */
	tfs_fill(buf, 8192, 2);
	tfs_write(&t, f, 4000, buf, 8192);
	expect(f, 4000, buf, 8192);
	tfs_cycle(&t);
	expect(f, 4000, buf, 8192);
	ck_assert_uint_eq(tfs_stat(&t, f).blocks,
			  ((100 + len + 4095) / 4096 + 4) * 8);
	tfs_umount(&t);
	ck_assert_uint_eq(tfs_fsck(&t), 0);
	ck_assert_int_eq(tfs_mount(&t), 0);
	free(buf);
	free(rd);
}
END_TEST

START_TEST(write_errors)
{
	uint64_t d = tfs_mkdir(&t, root, "d");
	char c = 'x';

	ck_assert_int_eq(t.ops->write(&t.sb, d, &c, 1, 0), -EISDIR);
	ck_assert_int_eq(t.ops->read(&t.sb, d, &c, 1, 0), -EISDIR);
	ck_assert_int_eq(t.ops->write(&t.sb, 999999999, &c, 1, 0), -ESTALE);
	ck_assert_int_eq(t.ops->write(&t.sb, tfs_create(&t, root, "f"), &c, 1,
				      PMFS2_MAX_FILE_SIZE), -EFBIG);
}
END_TEST

START_TEST(truncate_shrink_grow)
{
	uint64_t f = tfs_create(&t, root, "f");
	uint64_t free0 = tfs_bfree(&t);
	char buf[10000];

	tfs_fill(buf, sizeof(buf), 3);
	tfs_write(&t, f, 0, buf, sizeof(buf));
	set_size(f, 5000);
	ck_assert_uint_eq(tfs_stat(&t, f).size, 5000);
	ck_assert_uint_eq(tfs_stat(&t, f).blocks, 2 * 8 + 8);
	/* grow again: the cut bytes read back as zeroes */
	set_size(f, 10000);
	expect(f, 0, buf, 5000);
	expect_zero(f, 5000, 5000);
	set_size(f, 0);
	ck_assert_uint_eq(tfs_stat(&t, f).blocks, 0);
	ck_assert_uint_eq(tfs_bfree(&t), free0);
	/* huge sparse grow is just a size */
	set_size(f, 1ull << 40);
	ck_assert_uint_eq(tfs_stat(&t, f).size, 1ull << 40);
	ck_assert_uint_eq(tfs_stat(&t, f).blocks, 0);
	expect_zero(f, (1ull << 40) - 4096, 4096);
	tfs_umount(&t);
	ck_assert_uint_eq(tfs_fsck(&t), 0);
	ck_assert_int_eq(tfs_mount(&t), 0);
}
END_TEST

START_TEST(fallocate_modes)
{
	uint64_t f = tfs_create(&t, root, "f");
	uint64_t free0 = tfs_bfree(&t);
	char buf[6 * 4096];

	ck_assert_int_eq(t.ops->fallocate(&t.sb, f, 0, 0, 8 * 4096), 0);
	ck_assert_uint_eq(tfs_stat(&t, f).size, 8 * 4096);
	ck_assert_uint_eq(free0 - tfs_bfree(&t), 8 + 1);
	expect_zero(f, 0, 8 * 4096);
	/* KEEP_SIZE: blocks past EOF, size unchanged */
	ck_assert_int_eq(t.ops->fallocate(&t.sb, f, ZUS_FALLOC_KEEP_SIZE,
					  8 * 4096, 4 * 4096), 0);
	ck_assert_uint_eq(tfs_stat(&t, f).size, 8 * 4096);
	ck_assert_uint_eq(free0 - tfs_bfree(&t), 12 + 1);

	tfs_fill(buf, sizeof(buf), 4);
	tfs_write(&t, f, 4096, buf, sizeof(buf));
	/* punch the middle: partial edges zeroed, whole blocks freed */
	ck_assert_int_eq(t.ops->fallocate(&t.sb, f, ZUS_FALLOC_PUNCH_HOLE |
					  ZUS_FALLOC_KEEP_SIZE, 4096 + 100,
					  3 * 4096), 0);
	expect(f, 4096, buf, 100);
	expect_zero(f, 4096 + 100, 3 * 4096);
	expect(f, 4 * 4096 + 100, buf + 3 * 4096 + 100, 2 * 4096 - 100);
	ck_assert_uint_eq(free0 - tfs_bfree(&t), 10 + 1);
	ck_assert_int_eq(seek(f, 0, ZUS_SEEK_HOLE), 2 * 4096);
	ck_assert_int_eq(seek(f, 2 * 4096, ZUS_SEEK_DATA), 4 * 4096);

	/* ZERO_RANGE reads back zero and stays allocated */
	ck_assert_int_eq(t.ops->fallocate(&t.sb, f, ZUS_FALLOC_ZERO_RANGE,
					  4096, 6 * 4096), 0);
	expect_zero(f, 0, 8 * 4096);
	ck_assert_int_eq(seek(f, 0, ZUS_SEEK_HOLE), 8 * 4096);
	/* ZERO_RANGE past EOF extends the size */
	ck_assert_int_eq(t.ops->fallocate(&t.sb, f, ZUS_FALLOC_ZERO_RANGE,
					  10 * 4096, 10), 0);
	ck_assert_uint_eq(tfs_stat(&t, f).size, 10 * 4096 + 10);

	/* invalid combinations */
	ck_assert_int_eq(t.ops->fallocate(&t.sb, f, ZUS_FALLOC_PUNCH_HOLE, 0,
					  1), -EOPNOTSUPP);
	ck_assert_int_eq(t.ops->fallocate(&t.sb, f, ZUS_FALLOC_PUNCH_HOLE |
					  ZUS_FALLOC_KEEP_SIZE |
					  ZUS_FALLOC_ZERO_RANGE, 0, 1),
			 -EOPNOTSUPP);
	ck_assert_int_eq(t.ops->fallocate(&t.sb, f, 0, 0, 0), -EINVAL);
	ck_assert_int_eq(t.ops->fallocate(&t.sb, f, 0x40, 0, 1), -EOPNOTSUPP);
	tfs_umount(&t);
	ck_assert_uint_eq(tfs_fsck(&t), 0);
	ck_assert_int_eq(tfs_mount(&t), 0);
}
END_TEST

START_TEST(seek_data_hole)
{
	uint64_t f = tfs_create(&t, root, "f");
	char buf[4096];

	tfs_fill(buf, sizeof(buf), 5);
	ck_assert_int_eq(seek(f, 0, ZUS_SEEK_DATA), -ENXIO);
	tfs_write(&t, f, 3 * 4096, buf, 4096);
	tfs_write(&t, f, (1ull << 30), buf, 100);
	ck_assert_int_eq(seek(f, 0, ZUS_SEEK_DATA), 3 * 4096);
	ck_assert_int_eq(seek(f, 0, ZUS_SEEK_HOLE), 0);
	ck_assert_int_eq(seek(f, 3 * 4096 + 5, ZUS_SEEK_DATA), 3 * 4096 + 5);
	ck_assert_int_eq(seek(f, 3 * 4096 + 5, ZUS_SEEK_HOLE), 4 * 4096);
	ck_assert_int_eq(seek(f, 4 * 4096, ZUS_SEEK_DATA), 1ll << 30);
	ck_assert_int_eq(seek(f, (1ull << 30) + 50, ZUS_SEEK_HOLE),
			 (1ll << 30) + 100);
	ck_assert_int_eq(seek(f, (1ull << 30) + 100, ZUS_SEEK_DATA), -ENXIO);
	ck_assert_int_eq(seek(f, 0, 0), -EINVAL);
}
END_TEST

START_TEST(extents)
{
	uint64_t f = tfs_create(&t, root, "f");
	struct zus_extent ext[8];
	unsigned int n = 8;
	char buf[4096] = { 1 };
	char *p;

	tfs_write(&t, f, 0, buf, 4096);
	ck_assert_int_eq(t.ops->get_extents(&t.sb, f, 0, 3 * 4096, 0, ext,
					    &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(ext[0].len, 4096);
	ck_assert_uint_eq(ext[1].pmem_off, ZUS_EXTENT_HOLE);
	ck_assert_uint_eq(ext[1].len, 2 * 4096);
	p = (char *)t.sb.pmem.base + ext[0].pmem_off;
	ck_assert_int_eq(p[0], 1);
	/* allocate holes for a direct write */
	n = 8;
	ck_assert_int_eq(t.ops->get_extents(&t.sb, f, 100, 3 * 4096,
					    ZUS_GE_WRITE, ext, &n), 0);
	ck_assert_uint_ge(n, 1);
	for (unsigned int i = 0; i < n; i++)
		ck_assert_uint_ne(ext[i].pmem_off, ZUS_EXTENT_HOLE);
	ck_assert_uint_eq(ext[0].file_off, 100);
	ck_assert_uint_eq(tfs_stat(&t, f).size, 4096);
	/* one extent asked for: only what fits */
	n = 1;
	ck_assert_int_eq(t.ops->get_extents(&t.sb, f, 0, 1ull << 30, 0, ext,
					    &n), 0);
	ck_assert_uint_eq(n, 1);
	n = 0;
	ck_assert_int_eq(t.ops->get_extents(&t.sb, f, 0, 1, 0, ext, &n),
			 -EINVAL);
}
END_TEST

START_TEST(enospc_clean)
{
	uint64_t f = tfs_create(&t, root, "f"), g;
	uint64_t free0 = tfs_bfree(&t), bf;
	size_t len = 8 * MiB;
	char *buf = calloc(1, len);
	ssize_t n;
	uint64_t off = 0;

	/* fill the device */
	for (;;) {
		n = t.ops->write(&t.sb, f, buf, len, off);
		if (n < 0)
			break;
		off += (uint64_t)n;
	}
	ck_assert_int_eq(n, -ENOSPC);
	ck_assert_uint_lt(tfs_bfree(&t), 8);
	/* a failed extending write changes nothing */
	ck_assert_uint_eq(tfs_stat(&t, f).size, off);
	/* nor a shift without room for its new index blocks */
	bf = tfs_bfree(&t);
	ck_assert_int_eq(t.ops->fallocate(&t.sb, f, ZUS_FALLOC_COLLAPSE_RANGE,
					  0, 4096), -ENOSPC);
	ck_assert_int_eq(t.ops->fallocate(&t.sb, f, ZUS_FALLOC_INSERT_RANGE,
					  0, 4096), -ENOSPC);
	ck_assert_uint_eq(tfs_stat(&t, f).size, off);
	ck_assert_uint_eq(tfs_bfree(&t), bf);
	g = tfs_create(&t, root, "g");
	ck_assert_int_eq(t.ops->fallocate(&t.sb, g, 0, 0, 1ull << 30),
			 -ENOSPC);
	ck_assert_uint_eq(tfs_stat(&t, g).size, 0);
	ck_assert_int_eq(t.ops->unlink(&t.sb, root, "f", 1), 0);
	t.ops->evict(&t.sb, f);
	ck_assert_uint_eq(tfs_bfree(&t), free0);
	tfs_umount(&t);
	ck_assert_uint_eq(tfs_fsck(&t), 0);
	ck_assert_int_eq(tfs_mount(&t), 0);
	free(buf);
}
END_TEST

/* ---- collapse and insert range ------------------------------------------ */

#define BS		4096ull
#define COLLAPSE	ZUS_FALLOC_COLLAPSE_RANGE
#define INSERT		ZUS_FALLOC_INSERT_RANGE

/* What a file must hold, byte by byte. */
struct shadow {
	unsigned char *d;
	uint64_t size, cap;
};

static void sh_resize(struct shadow *s, uint64_t size)
{
	if (size > s->cap) {
		s->d = realloc(s->d, size);
		ck_assert_ptr_nonnull(s->d);
		s->cap = size;
	}
	if (size > s->size)
		memset(s->d + s->size, 0, size - s->size);
	s->size = size;
}

static void sh_write(uint64_t ino, struct shadow *s, uint64_t off,
		     uint64_t len, unsigned int seed)
{
	char *buf = malloc(len);

	tfs_fill(buf, len, seed);
	tfs_write(&t, ino, off, buf, len);
	if (off + len > s->size)
		sh_resize(s, off + len);
	memcpy(s->d + off, buf, len);
	free(buf);
}

/* fallocate on the file, and on the shadow if it worked */
static int shift(uint64_t ino, struct shadow *s, int mode, uint64_t off,
		 uint64_t len)
{
	int err = t.ops->fallocate(&t.sb, ino, mode, off, len);
	uint64_t old;

	if (err || !s)
		return err;
	old = s->size;
	if (mode == COLLAPSE) {
		memmove(s->d + off, s->d + off + len, old - off - len);
		s->size -= len;
	} else {
		sh_resize(s, old + len);
		memmove(s->d + off + len, s->d + off, old - off);
		memset(s->d + off, 0, len);
	}
	return 0;
}

static void check_shadow(uint64_t ino, const struct shadow *s)
{
	unsigned char *buf = malloc(s->size + 1);
	ssize_t n;

	ck_assert_uint_eq(tfs_stat(&t, ino).size, s->size);
	n = t.ops->read(&t.sb, ino, buf, s->size + 1, 0);
	ck_assert_int_eq(n, (ssize_t)s->size);
	for (uint64_t i = 0; i < s->size; i++)
		if (buf[i] != s->d[i])
			ck_abort_msg("byte %llu is %#x, expected %#x",
				     (unsigned long long)i, buf[i], s->d[i]);
	free(buf);
}

/* umount, fsck clean, mount; and no block leaked meanwhile: mount rebuilds
 * free space from the maps */
static void remount_clean(void)
{
	uint64_t bfree = tfs_bfree(&t);

	tfs_umount(&t);
	ck_assert_uint_eq(tfs_fsck(&t), 0);
	ck_assert_int_eq(tfs_mount(&t), 0);
	ck_assert_uint_eq(tfs_bfree(&t), bfree);
}

static bool is_mapped(uint64_t ino, uint64_t lblk)
{
	struct zus_extent ext[1];
	unsigned int n = 1;

	ck_assert_int_eq(t.ops->get_extents(&t.sb, ino, lblk * BS, BS, 0, ext,
					    &n), 0);
	ck_assert_uint_eq(n, 1);
	return ext[0].pmem_off != ZUS_EXTENT_HOLE;
}

static int64_t old_sec;

/* mtime and ctime 100 s back (fsck wants no ctime long before btime) */
static void set_times_old(uint64_t ino)
{
	struct zus_setattr sa = { .valid = ZUS_SET_MTIME | ZUS_SET_CTIME };

	old_sec = tfs_stat(&t, ino).btime.sec - 100;
	sa.mtime.sec = sa.ctime.sec = old_sec;
	ck_assert_int_eq(t.ops->setattr(&t.sb, ino, &sa, NULL), 0);
}

static bool times_moved(uint64_t ino)
{
	struct zus_attr a = tfs_stat(&t, ino);

	return a.mtime.sec > old_sec && a.ctime.sec > old_sec;
}

START_TEST(collapse_insert_edges)
{
	uint64_t f = tfs_create(&t, root, "f"), d = tfs_mkdir(&t, root, "d");
	uint64_t bfree;
	struct shadow s = { 0 };

	sh_write(f, &s, 0, 40 * BS + 1, 21);
	bfree = tfs_bfree(&t);
	set_times_old(f);
	/* the first block: one data block freed, the index block replaced */
	ck_assert_int_eq(shift(f, &s, COLLAPSE, 0, BS), 0);
	check_shadow(f, &s);
	ck_assert(times_moved(f));
	ck_assert_uint_eq(tfs_bfree(&t), bfree + 1);
	ck_assert_uint_eq(tfs_stat(&t, f).blocks, (40 + 1) * 8);
	/* the last whole block: up to EOF - 1, the 1-byte block moves down */
	ck_assert_uint_eq(s.size, 39 * BS + 1);
	ck_assert_int_eq(shift(f, &s, COLLAPSE, 37 * BS, 2 * BS), 0);
	check_shadow(f, &s);
	ck_assert_uint_eq(s.size, 37 * BS + 1);
	/* reaching EOF or past it: a truncate, refused */
	ck_assert_int_eq(shift(f, &s, COLLAPSE, 36 * BS, 2 * BS), -EINVAL);
	ck_assert_int_eq(shift(f, &s, COLLAPSE, 37 * BS, BS), -EINVAL);
	ck_assert_int_eq(shift(f, &s, COLLAPSE, 0, 38 * BS), -EINVAL);
	ck_assert_int_eq(shift(f, &s, COLLAPSE, 100 * BS, BS), -EINVAL);
	/* insert at the first block, at the last (partial) one, at EOF - 1 */
	ck_assert_int_eq(shift(f, &s, INSERT, 0, BS), 0);
	check_shadow(f, &s);
	ck_assert_int_eq(shift(f, &s, INSERT, 37 * BS, 2 * BS), 0);
	check_shadow(f, &s);
	ck_assert_uint_eq(s.size, 40 * BS + 1);
	ck_assert_int_eq(shift(f, &s, INSERT, 40 * BS, 3 * BS), 0);
	check_shadow(f, &s);
	ck_assert_int_eq(seek(f, 0, ZUS_SEEK_HOLE), 0);
	ck_assert_int_eq(seek(f, 0, ZUS_SEEK_DATA), BS);
	ck_assert_int_eq(seek(f, 36 * BS, ZUS_SEEK_HOLE), 37 * BS);
	ck_assert_int_eq(seek(f, 37 * BS, ZUS_SEEK_DATA), 39 * BS);
	ck_assert_int_eq(seek(f, 39 * BS, ZUS_SEEK_HOLE), 40 * BS);
	ck_assert_int_eq(seek(f, 40 * BS, ZUS_SEEK_DATA), 43 * BS);
	/* at or past EOF: refused */
	ck_assert_int_eq(shift(f, &s, INSERT, 44 * BS, BS), -EINVAL);
	sh_write(f, &s, s.size, 44 * BS - s.size, 22);
	ck_assert_int_eq(shift(f, &s, INSERT, 44 * BS, BS), -EINVAL);
	ck_assert_int_eq(shift(f, &s, INSERT, 43 * BS, BS), 0);
	check_shadow(f, &s);

	/* what is refused changes nothing */
	bfree = tfs_bfree(&t);
	set_times_old(f);
	ck_assert_int_eq(shift(f, &s, COLLAPSE, 100, BS), -EINVAL);
	ck_assert_int_eq(shift(f, &s, COLLAPSE, BS, BS + 1), -EINVAL);
	ck_assert_int_eq(shift(f, &s, INSERT, BS - 1, BS), -EINVAL);
	ck_assert_int_eq(shift(f, &s, INSERT, BS, 100), -EINVAL);
	ck_assert_int_eq(shift(f, &s, COLLAPSE, 0, 0), -EINVAL);
	ck_assert_int_eq(shift(f, &s, INSERT, BS, 0), -EINVAL);
	ck_assert_int_eq(shift(f, &s, COLLAPSE | ZUS_FALLOC_KEEP_SIZE, 0, BS),
			 -EINVAL);
	ck_assert_int_eq(shift(f, &s, INSERT | ZUS_FALLOC_KEEP_SIZE, 0, BS),
			 -EINVAL);
	ck_assert_int_eq(shift(f, &s, COLLAPSE | INSERT, 0, BS), -EINVAL);
	ck_assert_int_eq(shift(f, &s, COLLAPSE | ZUS_FALLOC_ZERO_RANGE, 0, BS),
			 -EINVAL);
	ck_assert_int_eq(shift(f, &s, COLLAPSE | ZUS_FALLOC_PUNCH_HOLE |
			       ZUS_FALLOC_KEEP_SIZE, 0, BS), -EINVAL);
	/* as vfs_fallocate: PUNCH_HOLE without KEEP_SIZE is checked first */
	ck_assert_int_eq(shift(f, &s, INSERT | ZUS_FALLOC_PUNCH_HOLE, 0, BS),
			 -EOPNOTSUPP);
	ck_assert_int_eq(shift(f, &s, INSERT | 0x40, 0, BS), -EOPNOTSUPP);
	ck_assert_int_eq(shift(d, NULL, COLLAPSE, 0, BS), -EISDIR);
	ck_assert_int_eq(shift(999999999, NULL, COLLAPSE, 0, BS), -ESTALE);
	ck_assert(!times_moved(f));
	ck_assert_uint_eq(tfs_bfree(&t), bfree);
	check_shadow(f, &s);
	remount_clean();
	check_shadow(f, &s);
	free(s.d);
}
END_TEST

/* Shifts near the largest file size. */
START_TEST(collapse_insert_efbig)
{
	uint64_t g = tfs_create(&t, root, "g"), h = tfs_create(&t, root, "h");
	char c = 'q', r;

	/* the size limit */
	set_size(g, PMFS2_MAX_FILE_SIZE - BS);
	ck_assert_int_eq(shift(g, NULL, INSERT, 0, 2 * BS), -EFBIG);
	ck_assert_int_eq(shift(g, NULL, INSERT, 0, BS), 0);
	ck_assert_uint_eq(tfs_stat(&t, g).size, PMFS2_MAX_FILE_SIZE);
	ck_assert_int_eq(shift(g, NULL, INSERT, 0, BS), -EFBIG);
	ck_assert_int_eq(shift(g, NULL, COLLAPSE, 0, 2 * BS), 0);
	/* the last block a map holds moves in and out of it */
	tfs_write(&t, g, PMFS2_MAX_FILE_SIZE - 3 * BS, &c, 1);
	ck_assert_int_eq(shift(g, NULL, INSERT, BS, 2 * BS), 0);
	ck_assert_int_eq(t.ops->read(&t.sb, g, &r, 1,
				     PMFS2_MAX_FILE_SIZE - BS), 1);
	ck_assert_int_eq(r, 'q');
	ck_assert_int_eq(shift(g, NULL, COLLAPSE, 0, 2 * BS), 0);
	ck_assert_int_eq(t.ops->read(&t.sb, g, &r, 1,
				     PMFS2_MAX_FILE_SIZE - 3 * BS), 1);
	ck_assert_int_eq(r, 'q');
	/* a block preallocated past EOF would move past the largest file */
	tfs_write(&t, h, 0, &c, 1);
	ck_assert_int_eq(t.ops->fallocate(&t.sb, h, ZUS_FALLOC_KEEP_SIZE,
					  PMFS2_MAX_FILE_SIZE - BS, BS), 0);
	ck_assert_int_eq(shift(h, NULL, INSERT, 0, BS), -EFBIG);
	ck_assert_uint_eq(tfs_stat(&t, h).size, 1);
	remount_clean();
}
END_TEST

/*
 * A sparse file as a list of whole data blocks (pattern seed per block)
 * and a size; the check reads every data block and walks SEEK_DATA, so
 * it holds for files of any size.
 */
#define SP_MAX	64
struct sparse {
	unsigned int n;
	uint64_t lblk[SP_MAX];
	unsigned int seed[SP_MAX];
	uint64_t size;
};

static void sp_write(uint64_t ino, struct sparse *sp, uint64_t lblk,
		     unsigned int seed)
{
	char buf[BS];
	unsigned int i;

	tfs_fill(buf, BS, seed);
	tfs_write(&t, ino, lblk * BS, buf, BS);
	for (i = sp->n; i > 0 && sp->lblk[i - 1] > lblk; i--) {
		sp->lblk[i] = sp->lblk[i - 1];
		sp->seed[i] = sp->seed[i - 1];
	}
	ck_assert(i == 0 || sp->lblk[i - 1] != lblk);
	ck_assert_uint_lt(sp->n, SP_MAX);
	sp->lblk[i] = lblk;
	sp->seed[i] = seed;
	sp->n++;
	if ((lblk + 1) * BS > sp->size)
		sp->size = (lblk + 1) * BS;
}

static void sp_shift(struct sparse *sp, int mode, uint64_t a, uint64_t n)
{
	unsigned int k = 0;

	for (unsigned int i = 0; i < sp->n; i++) {
		uint64_t l = sp->lblk[i];

		if (mode == COLLAPSE && l >= a && l < a + n)
			continue;
		if (l >= a)
			l = mode == COLLAPSE ? l - n : l + n;
		sp->lblk[k] = l;
		sp->seed[k++] = sp->seed[i];
	}
	sp->n = k;
	sp->size = mode == COLLAPSE ? sp->size - n * BS : sp->size + n * BS;
}

/* Does ino on m hold sp?  Why not, in why. */
static bool sp_matches(struct tfs *m, uint64_t ino, const struct sparse *sp,
		       char *why, size_t wlen)
{
	uint64_t pos = 0, r;
	char want[BS], got[BS];
	struct zus_attr a = { 0 };

	if (m->ops->getattr(&m->sb, ino, &a) || a.size != sp->size) {
		snprintf(why, wlen, "size %llu, want %llu",
			 (unsigned long long)a.size,
			 (unsigned long long)sp->size);
		return false;
	}
	for (unsigned int i = 0; i <= sp->n; i++) {
		uint64_t want_at = i < sp->n ? sp->lblk[i] * BS : sp->size;
		int err = m->ops->lseek(&m->sb, ino, pos, ZUS_SEEK_DATA, &r);

		if (pos >= sp->size)
			break;
		if (i == sp->n ? err != -ENXIO : (err || r != want_at)) {
			snprintf(why, wlen, "SEEK_DATA from %llu: %d/%llu, want %llu",
				 (unsigned long long)pos, err,
				 (unsigned long long)r,
				 (unsigned long long)want_at);
			return false;
		}
		if (i == sp->n)
			break;
		tfs_fill(want, BS, sp->seed[i]);
		if (m->ops->read(&m->sb, ino, got, BS, want_at) != BS ||
		    memcmp(got, want, BS)) {
			snprintf(why, wlen, "block %llu differs",
				 (unsigned long long)sp->lblk[i]);
			return false;
		}
		pos = want_at + BS;
	}
	return true;
}

static void sp_check(uint64_t ino, const struct sparse *sp)
{
	char why[200];

	ck_assert_msg(sp_matches(&t, ino, sp, why, sizeof(why)), "%s", why);
	ck_assert_uint_ge(tfs_stat(&t, ino).blocks, sp->n * 8);
}

static int sp_op(uint64_t ino, struct sparse *sp, int mode, uint64_t a,
		 uint64_t n)
{
	int err = shift(ino, NULL, mode, a * BS, n * BS);

	if (!err)
		sp_shift(sp, mode, a, n);
	return err;
}

/* Index blocks of one, two and three levels; shared subtrees below the
 * range, holes, growth to height 4. */
START_TEST(collapse_insert_sparse)
{
	static const uint64_t at[] = {
		0, 1, 2, 5, 510, 511, 512, 513, 1000, 1023, 1024, 262143,
		262144, 262145, 300000, 1 << 20,
	};
	static const struct { int mode; uint64_t a, n; } ops[] = {
		{ COLLAPSE, 1, 1 },		/* inside the first leaf */
		{ COLLAPSE, 500, 20 },		/* across a leaf boundary */
		{ COLLAPSE, 262100, 100 },	/* across a level-2 boundary */
		{ INSERT, 3, 1000 },
		{ INSERT, 0, 1 << 20 },		/* everything moves */
		{ COLLAPSE, 2000, 1000 },	/* only holes go */
		{ INSERT, (1 << 20) + 100, 1 << 27 },	/* height 4 */
		{ COLLAPSE, 512, 1 << 27 },
		{ INSERT, 512, 512 },		/* leaf-aligned: subtrees kept */
		{ COLLAPSE, 0, 1 << 20 },	/* a long run of holes */
		{ COLLAPSE, 1024, 512 },
	};
	uint64_t f = tfs_create(&t, root, "f");
	struct sparse sp = { 0 };

	for (unsigned int i = 0; i < sizeof(at) / sizeof(at[0]); i++)
		sp_write(f, &sp, at[i], 100 + i);
	set_size(f, sp.size + 10 * BS);
	sp.size += 10 * BS;
	sp_check(f, &sp);
	for (unsigned int i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		ck_assert_msg(sp_op(f, &sp, ops[i].mode, ops[i].a, ops[i].n) == 0,
			      "op %u", i);
		sp_check(f, &sp);
		remount_clean();
		sp_check(f, &sp);
	}
	/* past the last data block: the map stays, the size changes */
	ck_assert_int_eq(sp_op(f, &sp, COLLAPSE, sp.size / BS - 5, 2), 0);
	ck_assert_int_eq(sp_op(f, &sp, INSERT, sp.size / BS - 1, 3), 0);
	sp_check(f, &sp);
	remount_clean();
	/* collapse everything but the last block */
	ck_assert_int_eq(sp_op(f, &sp, COLLAPSE, 0, sp.size / BS - 1), 0);
	sp_check(f, &sp);
	ck_assert_uint_eq(tfs_stat(&t, f).blocks, 0);
	remount_clean();
}
END_TEST

/* Allocated (zeroed) blocks and blocks preallocated past EOF move too. */
START_TEST(collapse_insert_prealloc)
{
	uint64_t f = tfs_create(&t, root, "f"), free0 = tfs_bfree(&t);
	struct shadow s = { 0 };
	static const bool map1[] = { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0 };
	static const bool map2[] = { 1, 1, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0 };
	static const bool map3[] = { 1, 1, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 0 };

	sh_write(f, &s, 0, 3 * BS, 31);
	ck_assert_int_eq(t.ops->fallocate(&t.sb, f, 0, 3 * BS, 5 * BS), 0);
	sh_resize(&s, 8 * BS);
	ck_assert_int_eq(t.ops->fallocate(&t.sb, f, ZUS_FALLOC_KEEP_SIZE,
					  8 * BS, 4 * BS), 0);
	ck_assert_uint_eq(free0 - tfs_bfree(&t), 12 + 1);
	/* data block 1 goes; zeroed 3..7 and past-EOF 8..11 move down */
	ck_assert_int_eq(shift(f, &s, COLLAPSE, BS, BS), 0);
	check_shadow(f, &s);
	for (unsigned int i = 0; i < sizeof(map1); i++)
		ck_assert_msg(is_mapped(f, i) == map1[i], "collapse: block %u", i);
	ck_assert_uint_eq(free0 - tfs_bfree(&t), 11 + 1);
	ck_assert_uint_eq(tfs_stat(&t, f).blocks, (11 + 1) * 8);
	ck_assert_int_eq(seek(f, 0, ZUS_SEEK_HOLE), 7 * BS);
	/* a hole of two in the middle */
	ck_assert_int_eq(shift(f, &s, INSERT, 2 * BS, 2 * BS), 0);
	check_shadow(f, &s);
	for (unsigned int i = 0; i < sizeof(map2); i++)
		ck_assert_msg(is_mapped(f, i) == map2[i], "insert: block %u", i);
	ck_assert_int_eq(seek(f, 0, ZUS_SEEK_HOLE), 2 * BS);
	ck_assert_int_eq(seek(f, 2 * BS, ZUS_SEEK_DATA), 4 * BS);
	ck_assert_uint_eq(free0 - tfs_bfree(&t), 11 + 1);
	remount_clean();
	check_shadow(f, &s);
	/* punched holes move with the rest */
	ck_assert_int_eq(t.ops->fallocate(&t.sb, f, ZUS_FALLOC_PUNCH_HOLE |
					  ZUS_FALLOC_KEEP_SIZE, 5 * BS, BS), 0);
	ck_assert_int_eq(shift(f, &s, COLLAPSE, 4 * BS, BS), 0);
	check_shadow(f, &s);
	for (unsigned int i = 0; i < sizeof(map3); i++)
		ck_assert_msg(is_mapped(f, i) == map3[i],
			      "punch + collapse: block %u", i);
	remount_clean();
	check_shadow(f, &s);
	free(s.d);
}
END_TEST

static struct sparse pc_before, pc_after;
static uint64_t pc_ino;

/* 0: before, 1: after, -1: neither */
static int pc_state(struct tfs *m, char *why, size_t wlen)
{
	char w1[200], w2[200];
	int64_t ino = tfs_lookup(m, tfs_root(m), "f");

	if (ino != (int64_t)pc_ino) {
		snprintf(why, wlen, "lookup: %lld", (long long)ino);
		return -1;
	}
	if (sp_matches(m, pc_ino, &pc_after, w1, sizeof(w1)))
		return 1;
	if (sp_matches(m, pc_ino, &pc_before, w2, sizeof(w2)))
		return 0;
	snprintf(why, wlen, "vs after: %s; vs before: %s", w1, w2);
	return -1;
}

/* A power cut at every fence of collapse and insert: before or after. */
START_TEST(collapse_insert_powercut)
{
	static const struct { int mode; uint64_t a, n; } ops[] = {
		{ COLLAPSE, 100, 50 }, { INSERT, 0, 3 }, { INSERT, 700, 600 },
		{ COLLAPSE, 0, 512 }, { INSERT, 1, 1 << 27 },
		{ COLLAPSE, 600, 1 << 27 }, { COLLAPSE, 0, 601 },
	};
	struct sparse sp = { 0 };
	char why[600];

	tfs_fini(&t);
	tfs_init(&t, 24 * MiB, 0);
	root = tfs_root(&t);
	pc_ino = tfs_create(&t, root, "f");
	for (unsigned int i = 0; i < 40; i++)
		sp_write(pc_ino, &sp, i * 17 % 640, 200 + i);
	sp_write(pc_ino, &sp, 262149, 300);
	sp.size += 3 * BS + 5;
	set_size(pc_ino, sp.size);
	for (unsigned int i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		int last = -1;

		pc_before = sp;
		tfs_snap_start(&t);
		ck_assert_int_eq(sp_op(pc_ino, &sp, ops[i].mode, ops[i].a,
				       ops[i].n), 0);
		tfs_snap_stop(&t);
		pc_after = sp;
		ck_assert_uint_gt(t.nsnaps, 0);
		for (unsigned int k = 0; k < t.nsnaps; k++) {
			struct tfs m;

			tfs_init_copy(&m, t.snaps[k], t.size);
			ck_assert_msg(tfs_mount(&m) == 0,
				      "op %u, cut at fence %u/%u: mount fails (%s)",
				      i, k, t.nsnaps, m.lastlog);
			last = pc_state(&m, why, sizeof(why));
			ck_assert_msg(last >= 0, "op %u, cut at fence %u/%u: %s",
				      i, k, t.nsnaps, why);
			tfs_umount(&m);
			ck_assert_msg(tfs_fsck(&m) == 0,
				      "op %u, cut at fence %u/%u: fsck finds errors",
				      i, k, t.nsnaps);
			tfs_fini(&m);
		}
		ck_assert_msg(last == 1, "op %u: not durable when it returned",
			      i);
		tfs_snap_free(&t);
		sp_check(pc_ino, &sp);
	}
	remount_clean();
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("pmfs2_file");
	TCase *tc = tcase_create("file");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, rw_basic);
	tcase_add_test(tc, write_errors);
	tcase_add_test(tc, truncate_shrink_grow);
	tcase_add_test(tc, fallocate_modes);
	tcase_add_test(tc, seek_data_hole);
	tcase_add_test(tc, extents);
	tcase_add_test(tc, enospc_clean);
	tcase_add_test(tc, collapse_insert_edges);
	tcase_add_test(tc, collapse_insert_efbig);
	tcase_add_test(tc, collapse_insert_sparse);
	tcase_add_test(tc, collapse_insert_prealloc);
	tcase_add_test(tc, collapse_insert_powercut);
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
