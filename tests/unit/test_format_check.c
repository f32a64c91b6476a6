// SPDX-License-Identifier: BSD-2-Clause
/*
 * test_format_check.c - pmfs2_check: a hand-built tree checks clean; each
 * kind of injected corruption is detected, repaired, and a second check is
 * clean; random damage never crashes the checker; timestamps are checked
 * against the clock (and not when it cannot be trusted); and a repair cut
 * by a power failure at any fence (tests/lib/pmem_sim.c) leaves an image
 * no worse than before, which the next check repairs.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "pmem_sim.h"
#include "pmfs2_lib.h"

#define IMG_SIZE	(16u << 20)
#define NSEC		1000000000LL
#define HOUR		(3600 * NSEC)
#define DAY		(24 * HOUR)
/* the time the time tests check against: 2026-01-01 00:00:00 UTC */
#define NOW		(1767225600 * NSEC)

static struct zus_pmem pm;
static struct pmfs2_super sb;
static char err[512];
static uint64_t next_blk;
static char reports[65536];
static size_t nreports;
/* options every run_check uses (repair and report are set by it) */
static struct pmfs2_check_opts base_opts;

static void collect(void *ctx, const char *msg)
{
	size_t len = strlen(msg);

	(void)ctx;
	if (nreports + len + 2 < sizeof(reports)) {
		memcpy(reports + nreports, msg, len);
		nreports += len;
		reports[nreports++] = '\n';
		reports[nreports] = 0;
	}
}

static int run_check(bool repair, struct pmfs2_check_result *r)
{
	struct pmfs2_check_opts o = base_opts;

	o.repair = repair;
	o.report = collect;

	nreports = 0;
	reports[0] = 0;
	return pmfs2_check(&pm, &o, r);
}

/* ---- a tiny pmfs2 writer for building test trees ------------------- */

static uint64_t new_blk(void)
{
	uint64_t b = next_blk++;

	ck_assert_uint_lt(b, sb.total_blocks);
	memset(pmfs2_block(&pm, b), 0, PMFS2_BLOCK_SIZE);
	return b;
}

static struct pmfs2_inode *I(uint64_t ino)
{
	return pmfs2_inode_at(&pm, &sb, ino);
}

static uint64_t new_inode(uint32_t mode)
{
	for (uint64_t i = 2; i < sb.inode_count; i++) {
		struct pmfs2_inode *in = I(i);

		if (!in->mode) {
			memset(in, 0, sizeof(*in));
			in->mode = mode;
			in->mtime = in->ctime = in->atime = in->btime = 1;
			in->generation = i;
			if (S_ISDIR(mode))
				in->nlink = 2;
			return i;
		}
	}
	ck_abort_msg("no free inode");
	return 0;
}

/* map logical block lblk (< 512) through a height-1 map */
static uint64_t *map_slot(struct pmfs2_inode *in, uint64_t lblk)
{
	uint64_t *idx;

	if (!in->map) {
		uint64_t b = new_blk();

		in->map = (b << PMFS2_MAP_HEIGHT_BITS) | 1;
		in->blocks++;
	}
	idx = pmfs2_block(&pm, in->map >> PMFS2_MAP_HEIGHT_BITS);
	return &idx[lblk];
}

static uint64_t map_block(struct pmfs2_inode *in, uint64_t lblk)
{
	uint64_t *slot = map_slot(in, lblk);

	if (!*slot) {
		*slot = new_blk();
		in->blocks++;
	}
	return *slot;
}

static void dir_add(uint64_t dir, const char *name, uint64_t ino)
{
	struct pmfs2_inode *d = I(dir), *child = I(ino);
	struct pmfs2_dir_head *dh;
	struct pmfs2_bucket_head *bh;
	struct pmfs2_dirent *de;
	size_t len = strlen(name);
	uint8_t *bk;

	if (!d->map) {
		dh = pmfs2_block(&pm, map_block(d, 0));
		dh->magic = PMFS2_DIR_MAGIC;
		dh->nbuckets = 1;
		bh = pmfs2_block(&pm, map_block(d, 1));
		bh->magic = PMFS2_BUCKET_MAGIC;
	}
	dh = pmfs2_block(&pm, *map_slot(d, 0));
	bk = pmfs2_block(&pm, *map_slot(d, 1));
	bh = (void *)bk;
	de = (void *)(bk + sizeof(*bh) + bh->used);
	ck_assert_uint_le(bh->used + PMFS2_DIRENT_SIZE(len), PMFS2_BUCKET_SPACE);
	de->ino = ino;
	de->hash = pmfs2_name_hash(&sb, name, len);
	de->name_len = (uint8_t)len;
	de->type = (uint8_t)((child->mode & S_IFMT) >> 12);
	memcpy(de->name, name, len);
	bh->used += PMFS2_DIRENT_SIZE(len);
	bh->count++;
	dh->nentries++;
	d->size = 2 * PMFS2_BLOCK_SIZE;	/* head + one bucket */
	if (S_ISDIR(child->mode)) {
		child->parent = dir;
		d->nlink++;
	} else {
		child->nlink++;
	}
}

static uint64_t mkdir_at(uint64_t dir, const char *name)
{
	uint64_t ino = new_inode(S_IFDIR | 0755);

	dir_add(dir, name, ino);
	return ino;
}

static uint64_t mkfile_at(uint64_t dir, const char *name, size_t size)
{
	uint64_t ino = new_inode(S_IFREG | 0644);
	struct pmfs2_inode *in = I(ino);

	for (size_t off = 0; off < size; off += PMFS2_BLOCK_SIZE) {
		uint8_t *p = pmfs2_block(&pm, map_block(in, off / 4096));
		size_t n = size - off < 4096 ? size - off : 4096;

		memset(p, 'd', n);
	}
	in->size = size;
	dir_add(dir, name, ino);
	return ino;
}

static uint64_t symlink_at(uint64_t dir, const char *name, const char *tgt)
{
	uint64_t ino = new_inode(S_IFLNK | 0777);
	struct pmfs2_inode *in = I(ino);
	size_t len = strlen(tgt);

	if (len < PMFS2_INLINE_SIZE)
		memcpy(in->inline_data, tgt, len);
	else
		memcpy(pmfs2_block(&pm, map_block(in, 0)), tgt, len);
	in->size = len;
	dir_add(dir, name, ino);
	return ino;
}

static void set_xattrs(uint64_t ino, bool with_acl)
{
	struct pmfs2_inode *in = I(ino);
	uint64_t b = new_blk();
	uint8_t *p = pmfs2_block(&pm, b);
	struct pmfs2_xattr_head *h = (void *)p;
	size_t off = sizeof(*h);
	struct pmfs2_xattr_entry *e;
	/* version 2; user_obj rw, user 1000 r, group_obj r, mask r, other r */
	static const uint32_t acl[] = {
		2, 0x00060001, 0xffffffff, 0x00040002, 1000,
		0x00040004, 0xffffffff, 0x00040010, 0xffffffff,
		0x00040020, 0xffffffff,
	};

	h->magic = PMFS2_XATTR_MAGIC;
	e = (void *)(p + off);
	e->index = PMFS2_XATTR_USER;
	e->name_len = 4;
	e->value_len = 5;
	memcpy(e->name, "testvalue", 9);
	off += PMFS2_XENTRY_SIZE(4, 5);
	h->count++;
	if (with_acl) {
		e = (void *)(p + off);
		e->index = PMFS2_XATTR_POSIX_ACL_ACCESS;
		e->value_len = sizeof(acl);
		memcpy(e->name, acl, sizeof(acl));
		off += PMFS2_XENTRY_SIZE(0, sizeof(acl));
		h->count++;
	}
	h->used = (uint16_t)(off - sizeof(*h));
	in->xattr_block = b;
	in->blocks++;
}

/* the standard tree */
static uint64_t dir_a, dir_c, file_f, file_b, link_s, link_l, dev_n;

static void build_tree(void)
{
	char longtgt[300];

	dir_a = mkdir_at(PMFS2_ROOT_INO, "a");
	dir_c = mkdir_at(dir_a, "c");
	file_f = mkfile_at(dir_a, "f", 5000);
	file_b = mkfile_at(PMFS2_ROOT_INO, "b", 4096 * 3);
	dir_add(dir_a, "hardlink-to-b", file_b);
	link_s = symlink_at(PMFS2_ROOT_INO, "s", "a/f");
	memset(longtgt, 'x', sizeof(longtgt) - 1);
	longtgt[sizeof(longtgt) - 1] = 0;
	link_l = symlink_at(dir_c, "l", longtgt);
	dev_n = new_inode(S_IFCHR | 0600);
	I(dev_n)->rdev = 0x0103;
	dir_add(dir_c, "null", dev_n);
	set_xattrs(file_b, true);
	set_xattrs(dir_a, false);
	mkfile_at(dir_c, "empty", 0);
}

static void img_setup(void)
{
	bool backup;

	memset(&base_opts, 0, sizeof(base_opts));
	pm.base = aligned_alloc(PMFS2_BLOCK_SIZE, IMG_SIZE);
	ck_assert_ptr_nonnull(pm.base);
	memset(pm.base, 0x5a, IMG_SIZE);
	pm.size = IMG_SIZE;
	ck_assert_int_eq(pmfs2_format(&pm, NULL, err, sizeof(err)), 0);
	ck_assert_int_eq(pmfs2_super_load(&pm, &sb, &backup, err, sizeof(err)),
			 0);
	next_blk = sb.data_start;
	build_tree();
}

static void img_teardown(void)
{
	free(pm.base);
}

/* Check: errors found, repaired, and a second check is clean. */
static void expect_repaired(const char *what)
{
	struct pmfs2_check_result r;

	ck_assert_int_eq(run_check(false, &r), 0);
	ck_assert_msg(r.errors > 0, "corruption (%s) not detected", what);
	ck_assert_msg(strstr(reports, what) != NULL,
		      "expected a report containing \"%s\", got:\n%s", what,
		      reports);
	ck_assert_uint_eq(r.fixed, 0);
	ck_assert_int_eq(run_check(true, &r), 0);
	ck_assert_msg(r.errors > 0 && r.errors == r.fixed && !r.unfixable,
		      "repair of %s: %u errors, %u fixed, %u unfixable:\n%s",
		      what, r.errors, r.fixed, r.unfixable, reports);
	ck_assert_int_eq(run_check(false, &r), 0);
	ck_assert_msg(r.errors == 0, "still %u errors after repairing %s:\n%s",
		      r.errors, what, reports);
}

static uint64_t lookup(uint64_t dir, const char *name)
{
	struct pmfs2_inode *d = I(dir);
	uint64_t head, h = pmfs2_name_hash(&sb, name, strlen(name));
	const struct pmfs2_dir_head *dh;

	if (pmfs2_bmap_get(&pm, &sb, d->map, 0, &head) || !head)
		return 0;
	dh = pmfs2_block(&pm, head);
	for (uint32_t b = 0; b < dh->nbuckets; b++) {
		uint64_t bb;
		const uint8_t *bk;
		const struct pmfs2_bucket_head *bh;

		if (pmfs2_bmap_get(&pm, &sb, d->map, 1 + b, &bb) || !bb)
			return 0;
		bk = pmfs2_block(&pm, bb);
		bh = (const void *)bk;
		for (size_t off = 16; off < 16u + bh->used;) {
			const struct pmfs2_dirent *de = (const void *)(bk + off);

			if (de->hash == h && de->name_len == strlen(name) &&
			    !memcmp(de->name, name, de->name_len))
				return de->ino;
			off += PMFS2_DIRENT_SIZE(de->name_len);
		}
	}
	return 0;
}

static struct pmfs2_dirent *find_dirent(uint64_t dir, const char *name)
{
	uint64_t bb;
	uint8_t *bk;
	struct pmfs2_bucket_head *bh;

	ck_assert_int_eq(pmfs2_bmap_get(&pm, &sb, I(dir)->map, 1, &bb), 0);
	bk = pmfs2_block(&pm, bb);
	bh = (void *)bk;
	for (size_t off = 16; off < 16u + bh->used;) {
		struct pmfs2_dirent *de = (void *)(bk + off);

		if (de->name_len == strlen(name) &&
		    !memcmp(de->name, name, de->name_len))
			return de;
		off += PMFS2_DIRENT_SIZE(de->name_len);
	}
	ck_abort_msg("no entry %s", name);
	return NULL;
}

/* ---- tests ----------------------------------------------------------- */

START_TEST(test_clean)
{
	struct pmfs2_check_result r;

	ck_assert_int_eq(run_check(false, &r), 0);
	ck_assert_msg(r.errors == 0, "fresh tree has errors:\n%s", reports);
	ck_assert_uint_eq(r.dirs, 3);
	ck_assert_uint_eq(r.files, 3);
	ck_assert_uint_eq(r.symlinks, 2);
	ck_assert_uint_eq(r.others, 1);
	ck_assert_uint_eq(r.inodes_used, 9);
	ck_assert_uint_eq(r.blocks_used + r.blocks_free, sb.total_blocks);
	/* the backup superblock in the last block is used too */
	ck_assert_uint_eq(r.blocks_used, next_blk + 1);
	/* repair on a clean image changes nothing */
	ck_assert_int_eq(run_check(true, &r), 0);
	ck_assert_uint_eq(r.errors, 0);
}
END_TEST

START_TEST(test_bad_magic)
{
	struct pmfs2_super *p = pmfs2_block(&pm, 0);

	p->magic = 0x1234;
	expect_repaired("primary superblock damaged");
	ck_assert_uint_eq(p->magic, PMFS2_SUPER_MAGIC);
}
END_TEST

START_TEST(test_bad_crc)
{
	struct pmfs2_super *p = pmfs2_block(&pm, 0);

	p->label[5] = 'Z';
	expect_repaired("checksum");
}
END_TEST

START_TEST(test_bad_backup)
{
	struct pmfs2_super *p = pmfs2_block(&pm, pm.size / PMFS2_BLOCK_SIZE - 1);

	p->journal_blocks++;
	expect_repaired("backup superblock damaged");
}
END_TEST

START_TEST(test_not_pmfs2)
{
	struct pmfs2_check_result r;

	memset(pm.base, 0, 2 * PMFS2_BLOCK_SIZE);
	memset(pmfs2_block(&pm, pm.size / PMFS2_BLOCK_SIZE - 1), 0,
	       PMFS2_BLOCK_SIZE);
	ck_assert_int_eq(run_check(true, &r), -EINVAL);
	ck_assert_ptr_nonnull(strstr(reports, "not a pmfs2"));
	/* both damaged but pmfs2: -EUCLEAN */
	img_teardown();
	img_setup();
	((struct pmfs2_super *)pmfs2_block(&pm, 0))->label[0] = 'q';
	((struct pmfs2_super *)pmfs2_block(&pm, pm.size / PMFS2_BLOCK_SIZE - 1))->label[0] = 'q';
	ck_assert_int_eq(run_check(true, &r), -EUCLEAN);
	ck_assert_uint_ge(r.unfixable, 1);
}
END_TEST

START_TEST(test_truncated)
{
	struct pmfs2_check_result r;

	pm.size = IMG_SIZE / 2;
	ck_assert_int_eq(run_check(false, &r), -EUCLEAN);
	ck_assert_ptr_nonnull(strstr(reports, "truncated"));
	pm.size = 4096;
	ck_assert_int_eq(run_check(false, &r), -EINVAL);
	pm.size = IMG_SIZE;
}
END_TEST

START_TEST(test_block_out_of_range)
{
	uint64_t *slot = map_slot(I(file_b), 1);

	*slot = sb.total_blocks + 5;
	expect_repaired("outside the data area");
	ck_assert_uint_eq(*slot, 0);
	ck_assert_uint_eq(I(file_b)->blocks, 4);	/* index + 2 + xattr */

	/* into the inode table */
	slot = map_slot(I(file_f), 0);
	*slot = sb.itable_start;
	expect_repaired("outside the data area");

	/* a map root with an impossible height */
	I(file_f)->map |= 7;
	expect_repaired("height");
	ck_assert_uint_eq(I(file_f)->map, 0);

	/* a pointer with junk high bits */
	*map_slot(I(file_b), 0) |= 1ull << 50;
	expect_repaired("invalid pointer");
}
END_TEST

START_TEST(test_double_ref)
{
	uint64_t shared = *map_slot(I(file_b), 2);

	*map_slot(I(file_f), 1) = shared;
	expect_repaired("already used");
	/* one of them kept it, the other lost it */
	ck_assert((*map_slot(I(file_b), 2) == shared) !=
		  (*map_slot(I(file_f), 1) == shared));

	/* an index block shared with an xattr block */
	img_teardown();
	img_setup();
	I(file_f)->xattr_block = I(file_b)->map >> PMFS2_MAP_HEIGHT_BITS;
	I(file_f)->blocks++;
	expect_repaired("already used");
}
END_TEST

START_TEST(test_bad_dirent)
{
	struct pmfs2_dirent *de = find_dirent(dir_a, "f");

	de->name[0] = '/';
	expect_repaired("'/' or NUL");
	/* f lost its only name: it is in lost+found now */
	ck_assert_uint_ne(lookup(PMFS2_ROOT_INO, "lost+found"), 0);
	{
		char name[32];

		snprintf(name, sizeof(name), "#%llu",
			 (unsigned long long)file_f);
		ck_assert_uint_eq(lookup(lookup(PMFS2_ROOT_INO, "lost+found"),
					 name), file_f);
	}
}
END_TEST

START_TEST(test_dirent_kinds)
{
	find_dirent(dir_a, "c")->type = DT_REG;
	expect_repaired("has type");

	find_dirent(PMFS2_ROOT_INO, "s")->hash ^= 1;
	expect_repaired("has hash");

	find_dirent(dir_c, "null")->ino = sb.inode_count + 3;
	expect_repaired("out of range");

	/* a duplicate name */
	dir_add(dir_a, "c", file_f);
	expect_repaired("duplicates a name");

	/* a name for a free inode */
	{
		uint64_t ino = new_inode(S_IFREG | 0600);

		dir_add(PMFS2_ROOT_INO, "ghost", ino);
		I(ino)->mode = 0;
		expect_repaired("free inode");
	}
	/* bucket count off */
	{
		uint64_t bb;
		struct pmfs2_bucket_head *bh;

		pmfs2_bmap_get(&pm, &sb, I(dir_a)->map, 1, &bb);
		bh = pmfs2_block(&pm, bb);
		bh->count += 2;
		expect_repaired("count");
	}
}
END_TEST

START_TEST(test_dir_size)
{
	I(dir_a)->size = 12345;
	expect_repaired("directory");
	ck_assert_uint_eq(I(dir_a)->size, 2 * PMFS2_BLOCK_SIZE);
}
END_TEST

START_TEST(test_wrong_nlink)
{
	I(file_b)->nlink = 1;	/* has two names */
	I(dir_a)->nlink = 7;	/* 2 + one subdirectory */
	expect_repaired("link count");
	ck_assert_uint_eq(I(file_b)->nlink, 2);
	ck_assert_uint_eq(I(dir_a)->nlink, 3);
	ck_assert_uint_eq(I(PMFS2_ROOT_INO)->nlink, 3);
}
END_TEST

START_TEST(test_unreachable)
{
	uint64_t lf, d, f;
	char name[32];

	/* a file with a link count and no name */
	f = new_inode(S_IFREG | 0600);
	I(f)->nlink = 1;
	/* a subtree whose top has no name */
	d = new_inode(S_IFDIR | 0700);
	I(d)->parent = PMFS2_ROOT_INO;
	mkfile_at(d, "inside", 10);
	expect_repaired("not reachable");
	lf = lookup(PMFS2_ROOT_INO, "lost+found");
	ck_assert_uint_ne(lf, 0);
	snprintf(name, sizeof(name), "#%llu", (unsigned long long)f);
	ck_assert_uint_eq(lookup(lf, name), f);
	snprintf(name, sizeof(name), "#%llu", (unsigned long long)d);
	ck_assert_uint_eq(lookup(lf, name), d);
	ck_assert_uint_eq(I(d)->parent, lf);
	ck_assert_uint_ne(lookup(d, "inside"), 0);
	ck_assert_uint_eq(I(lf)->nlink, 3);
}
END_TEST

START_TEST(test_dir_loop)
{
	/* x/y/x: two directories naming each other, unreachable */
	uint64_t x = new_inode(S_IFDIR | 0700), y = new_inode(S_IFDIR | 0700);

	dir_add(x, "y", y);
	dir_add(y, "x", x);
	expect_repaired("loop");
	ck_assert_uint_ne(lookup(PMFS2_ROOT_INO, "lost+found"), 0);
}
END_TEST

START_TEST(test_dir_hardlink)
{
	dir_add(PMFS2_ROOT_INO, "c-again", dir_c);
	I(dir_c)->parent = dir_a;	/* the original name stays right */
	I(PMFS2_ROOT_INO)->nlink--;
	expect_repaired("second name");
	ck_assert_uint_eq(lookup(PMFS2_ROOT_INO, "c-again"), 0);
	ck_assert_uint_eq(lookup(dir_a, "c"), dir_c);

	/* wrong parent pointer with a single name: the pointer follows */
	I(dir_c)->parent = PMFS2_ROOT_INO;
	expect_repaired("parent is");
	ck_assert_uint_eq(I(dir_c)->parent, dir_a);
}
END_TEST

START_TEST(test_orphan)
{
	uint64_t o = new_inode(S_IFREG | 0600);

	map_block(I(o), 0);	/* an unlinked-but-open file's block */
	expect_repaired("orphan");
	ck_assert_uint_eq(I(o)->mode, 0);
}
END_TEST

START_TEST(test_past_eof)
{
	uint8_t *p = pmfs2_block(&pm, *map_slot(I(file_f), 1));

	p[5000 - 4096 + 10] = 'x';
	expect_repaired("past EOF");
	ck_assert_int_eq(p[5000 - 4096 + 10], 0);
	ck_assert_int_eq(p[5000 - 4096 - 1], 'd');
}
END_TEST

START_TEST(test_blocks_count)
{
	I(file_f)->blocks = 99;
	expect_repaired("blocks count");
	ck_assert_uint_eq(I(file_f)->blocks, 3);
}
END_TEST

START_TEST(test_trunc_pending)
{
	struct pmfs2_inode *in = I(file_b);
	uint8_t *p = pmfs2_block(&pm, *map_slot(in, 1));

	in->size = 4096 + 100;	/* truncated from 3 blocks; crash before trim */
	in->flags |= PMFS2_IF_TRUNC_PENDING;
	expect_repaired("truncate");
	ck_assert_uint_eq(in->flags, 0);
	ck_assert_uint_eq(*map_slot(in, 2), 0);
	ck_assert_uint_ne(*map_slot(in, 1), 0);
	ck_assert_uint_eq(in->blocks, 4);
	ck_assert_int_eq(p[99], 'd');
	ck_assert_int_eq(p[100], 0);
}
END_TEST

START_TEST(test_bad_xattr)
{
	uint8_t *p = pmfs2_block(&pm, I(file_b)->xattr_block);
	struct pmfs2_xattr_entry *e;
	uint32_t *acl;

	/* second entry: the ACL; make its mask entry come after other */
	e = (void *)(p + 16 + PMFS2_XENTRY_SIZE(4, 5));
	acl = (uint32_t *)(void *)e->name;
	acl[7] = 0x00040040;	/* unknown tag */
	expect_repaired("unknown tag");
	ck_assert_uint_eq(((struct pmfs2_xattr_head *)p)->count, 1);

	/* unknown index */
	p[16] = 9;
	expect_repaired("unknown name index");

	/* bad header */
	((struct pmfs2_xattr_head *)pmfs2_block(&pm, I(dir_a)->xattr_block))
		->magic = 0;
	expect_repaired("bad header");
	ck_assert_uint_eq(I(dir_a)->xattr_block, 0);
}
END_TEST

START_TEST(test_bad_dir_index)
{
	uint64_t head;
	struct pmfs2_dir_head *dh;

	pmfs2_bmap_get(&pm, &sb, I(dir_a)->map, 0, &head);
	dh = pmfs2_block(&pm, head);
	dh->global_depth = 30;
	expect_repaired("global depth");
	/* its children went to lost+found and are whole */
	ck_assert_uint_eq(I(dir_a)->map, 0);
	ck_assert_uint_ne(lookup(PMFS2_ROOT_INO, "lost+found"), 0);
	ck_assert_uint_eq(I(file_b)->nlink, 1);
	ck_assert_uint_eq(I(dir_c)->parent,
			  lookup(PMFS2_ROOT_INO, "lost+found"));
}
END_TEST

START_TEST(test_bad_mode_and_symlink)
{
	I(dev_n)->mode = 0170777;
	expect_repaired("invalid mode");

	I(link_s)->inline_data[1] = 0;
	expect_repaired("NUL");
	ck_assert_uint_eq(lookup(PMFS2_ROOT_INO, "s"), 0);

	I(link_l)->size = 5000;
	expect_repaired("target length");

	I(dir_c)->flags |= 0x80;
	expect_repaired("unknown flags");
}
END_TEST

START_TEST(test_journal)
{
	struct pmfs2_journal_head *jh = pmfs2_block(&pm, sb.journal_start);
	struct pmfs2_check_result r;

	jh->seq = 3;
	jh->active_tid = 3;
	expect_repaired("uncommitted transaction");
	ck_assert_uint_eq(jh->active_tid, 0);
	ck_assert_int_eq(run_check(true, &r), 0);
	ck_assert(!r.recovered_journal);

	jh->magic = 77;
	expect_repaired("journal head");
}
END_TEST

START_TEST(test_many_lost)
{
	/* enough unreachable files to split lost+found's buckets and grow
	 * its array */
	for (int i = 0; i < 600; i++) {
		uint64_t f = new_inode(S_IFREG | 0600);

		I(f)->nlink = 1;
	}
	expect_repaired("not reachable");
	{
		uint64_t lf = lookup(PMFS2_ROOT_INO, "lost+found"), head;
		const struct pmfs2_dir_head *dh;

		pmfs2_bmap_get(&pm, &sb, I(lf)->map, 0, &head);
		dh = pmfs2_block(&pm, head);
		ck_assert_uint_eq(dh->nentries, 600);
		ck_assert_uint_gt(dh->nbuckets, 2);
	}
}
END_TEST

START_TEST(test_tier_pointers)
{
	static const uint8_t tu[1][16] = { { 0x77 } };
	static const uint64_t tsz[1] = { 1ull << 30 };	/* 262144 blocks */
	struct pmfs2_mkfs_opts o = { .ntier = 1, .tier_uuid = tu,
				     .tier_size = tsz };
	struct pmfs2_check_result r;
	uint64_t f, g;

	ck_assert_int_eq(pmfs2_format(&pm, &o, err, sizeof(err)), 0);
	ck_assert_int_eq(pmfs2_super_load(&pm, &sb, NULL, err, sizeof(err)),
			 0);
	next_blk = sb.data_start;
	f = mkfile_at(PMFS2_ROOT_INO, "f", 3 * 4096);
	g = mkfile_at(PMFS2_ROOT_INO, "g", 3 * 4096);
	/* migrated blocks: tier pointers are owned blocks like any other */
	*map_slot(I(f), 1) = PMFS2_PTR_TIER | 100;
	*map_slot(I(g), 2) = PMFS2_PTR_TIER | 101;
	ck_assert_int_eq(run_check(false, &r), 0);
	ck_assert_msg(r.errors == 0, "tiered tree has errors:\n%s", reports);

	*map_slot(I(g), 2) = PMFS2_PTR_TIER | 100;
	expect_repaired("tier block 100");
	ck_assert_uint_eq(*map_slot(I(g), 2), 0);
	ck_assert_uint_eq(I(g)->blocks, 3);

	*map_slot(I(f), 0) = PMFS2_PTR_TIER | (1ull << 18);	/* past the end */
	expect_repaired("invalid tier pointer");
	ck_assert_uint_eq(*map_slot(I(f), 0), 0);
}
END_TEST

/* Random damage: the checker never crashes, and repairing converges. */
START_TEST(test_random_damage)
{
	uint64_t meta_end = next_blk;
	unsigned int seed = 12345 + (unsigned int)_i;
	struct pmfs2_check_result r;
	uint8_t *img = pm.base;

	for (int n = 0; n < 8; n++) {
		uint64_t blk = (uint64_t)rand_r(&seed) % meta_end;
		uint64_t off = (blk << 12) + (uint64_t)rand_r(&seed) % 4096;

		if (blk >= 2 && blk < sb.itable_start)
			continue;	/* the journal is tested elsewhere */
		img[off] ^= (uint8_t)(1u << (rand_r(&seed) % 8));
		if (rand_r(&seed) % 4 == 0)
			img[off] = (uint8_t)rand_r(&seed);
	}
	run_check(false, &r);
	run_check(true, &r);
	run_check(true, &r);
	if (r.unfixable == 0)
		ck_assert_msg(r.errors == 0,
			      "seed %d: second repair still finds %u errors:\n%s",
			      _i, r.errors, reports);
}
END_TEST

/* ---- timestamps -------------------------------------------------------- */

/* A filesystem made 30 days before NOW, checked at NOW. */
static void time_setup(void)
{
	struct pmfs2_inode *root = I(PMFS2_ROOT_INO);

	base_opts.now = NOW;
	sb.mkfs_time = sb.mount_time = sb.write_time = NOW - 30 * DAY;
	pmfs2_super_write(&pm, &sb, true);
	root->atime = root->mtime = root->ctime = root->btime = NOW - 30 * DAY;
}

static void expect_clean(const char *when)
{
	struct pmfs2_check_result r;

	ck_assert_int_eq(run_check(false, &r), 0);
	ck_assert_msg(r.errors == 0, "%s: %u errors:\n%s", when, r.errors,
		      reports);
}

START_TEST(test_time_future)
{
	char msg[128];

	time_setup();
	expect_clean("a tree made in the past");

	/* 2 days ahead: past the 24 hours a wrong clock is forgiven */
	I(file_f)->ctime = NOW + 2 * DAY;
	snprintf(msg, sizeof(msg),
		 "inode %llu: ctime 2026-01-03 00:00:00.000000000 UTC is in the future",
		 (unsigned long long)file_f);
	{
		struct pmfs2_check_result r;

		ck_assert_int_eq(run_check(false, &r), 0);
		ck_assert_msg(strstr(reports, "(now 2026-01-01 00:00:00.000000000 UTC, more than 24 hours ahead): set to now"),
			      "%s", reports);
	}
	expect_repaired(msg);
	ck_assert_int_eq(I(file_f)->ctime, NOW);

	I(file_f)->ctime = NOW + 23 * HOUR;
	expect_clean("a ctime within the fudge");

	/* the creation time from the future: the ctime is the best guess */
	I(dir_c)->ctime = NOW - DAY;
	I(dir_c)->btime = NOW + 40 * DAY;
	snprintf(msg, sizeof(msg),
		 "inode %llu: creation time (btime) 2026-02-10 00:00:00.000000000 UTC is in the future",
		 (unsigned long long)dir_c);
	expect_repaired(msg);
	ck_assert_int_eq(I(dir_c)->btime, NOW - DAY);
	ck_assert_int_eq(I(dir_c)->ctime, NOW - DAY);

	/* the largest time there is: both set to now */
	I(file_b)->ctime = I(file_b)->btime = INT64_MAX;
	expect_repaired("2262-04-11 23:47:16.854775807 UTC is in the future");
	ck_assert_int_eq(I(file_b)->ctime, NOW);
	ck_assert_int_eq(I(file_b)->btime, NOW);

	/* no fudge at all */
	base_opts.time_fudge = -1;
	I(file_f)->ctime = NOW + 1;
	expect_repaired("more than 0 hours ahead");
}
END_TEST

START_TEST(test_time_before_birth)
{
	struct pmfs2_check_result r;

	time_setup();
	/* a ctime before btime: a host may set a ctime (ZUS_SET_CTIME), so
	 * it is shown with -v, not repaired */
	I(file_f)->btime = NOW - 10 * DAY;
	I(file_f)->ctime = NOW - 30 * DAY;
	base_opts.verbose = true;
	expect_clean("a ctime before btime");
	ck_assert_msg(strstr(reports, "ctime 2025-12-02 00:00:00.000000000 UTC is before its creation time (btime 2025-12-22 00:00:00.000000000 UTC): left alone"),
		      "%s", reports);
	base_opts.verbose = false;
	ck_assert_int_eq(I(file_f)->ctime, NOW - 30 * DAY);

	/* mtime and atime before btime: a restored file (tar, cp -p) */
	I(file_f)->mtime = I(file_f)->atime = 1;
	I(file_f)->ctime = INT64_MIN;
	expect_clean("mtime, atime and ctime before btime");

	/* a future btime is set to the ctime, even one before btime */
	I(file_f)->btime = NOW + 3 * DAY;
	ck_assert_int_eq(run_check(false, &r), 0);
	ck_assert_uint_eq(r.errors, 1);
	ck_assert_int_eq(run_check(true, &r), 0);
	ck_assert_uint_eq(r.fixed, 1);
	ck_assert_int_eq(I(file_f)->btime, INT64_MIN);
	expect_clean("after the repair");
}
END_TEST

START_TEST(test_time_user_set)
{
	time_setup();
	/* utimensat may set any atime and mtime: never a problem */
	I(file_f)->mtime = NOW + 1000 * DAY;
	I(file_f)->atime = INT64_MAX;
	base_opts.verbose = true;
	expect_clean("a future mtime and atime");
	ck_assert_msg(strstr(reports, "mtime 2028-09-27") &&
		      strstr(reports, "atime 2262-04-11") &&
		      strstr(reports, "left alone"),
		      "with -v, future mtime and atime are shown:\n%s",
		      reports);
	base_opts.verbose = false;
	expect_clean("without -v");
	ck_assert_msg(!reports[0], "nothing shown without -v:\n%s", reports);
}
END_TEST

START_TEST(test_time_untrusted_clock)
{
	struct pmfs2_check_result r;
	uint64_t many[20];

	time_setup();
	I(file_f)->ctime = NOW + 2 * DAY;

	/* the user says the clock is broken */
	base_opts.broken_clock = true;
	expect_clean("with a broken clock");
	base_opts.broken_clock = false;

	/* a clock before 2020 cannot be right */
	base_opts.now = 1000 * NSEC;
	expect_clean("with the clock at 1970");
	ck_assert_msg(strstr(reports, "before any pmfs2 filesystem was made"),
		      "%s", reports);

	/* the superblock was last written after now: the clock and the
	 * filesystem disagree; the superblock is repaired (as e2fsck
	 * does), the inodes are left for the next run */
	base_opts.now = NOW;
	sb.write_time = NOW + 3 * DAY;
	pmfs2_super_write(&pm, &sb, false);
	ck_assert_int_eq(run_check(false, &r), 0);
	ck_assert_uint_eq(r.errors, 1);
	ck_assert_msg(strstr(reports, "superblock: last write time 2026-01-04 00:00:00.000000000 UTC is in the future") &&
		      strstr(reports, "inode times are not checked"),
		      "%s", reports);
	ck_assert_int_eq(run_check(true, &r), 0);
	ck_assert_uint_eq(r.fixed, 1);
	{
		struct pmfs2_super s;

		ck_assert_int_eq(pmfs2_super_load(&pm, &s, NULL, err,
						  sizeof(err)), 0);
		ck_assert_int_eq(s.write_time, NOW);
	}
	expect_repaired("ctime 2026-01-03");

	/* many inodes from the future: the clock is behind, not damage */
	for (int i = 0; i < 20; i++) {
		many[i] = new_inode(S_IFREG | 0600);
		dir_add(dir_c, (char[8]){ 'm', (char)('a' + i), 0 }, many[i]);
		I(many[i])->ctime = NOW + 7 * DAY;
	}
	expect_clean("20 inodes from the future");
	ck_assert_msg(strstr(reports, "20 inodes changed or were made in the future"),
		      "%s", reports);
	/* unless the user gave the time */
	base_opts.trust_clock = true;
	ck_assert_int_eq(run_check(true, &r), 0);
	ck_assert_uint_eq(r.fixed, 20);
	for (int i = 0; i < 20; i++)
		ck_assert_int_eq(I(many[i])->ctime, NOW);
	expect_clean("after the repair");
}
END_TEST

/* A repair that fails half way is rolled back, not left half made. */
START_TEST(test_repair_rolled_back)
{
	struct pmfs2_check_result r;
	uint64_t end = pmfs2_data_end(&sb), x, lf;
	int n = 0;

	/* use up the data area but for 2 blocks: lost+found's index gets
	 * its head and first bucket, then growing its map fails */
	while (end - 2 - next_blk > 1) {
		uint64_t left = end - 2 - next_blk - 1;
		char name[16];

		snprintf(name, sizeof(name), "fill%d", n++);
		mkfile_at(PMFS2_ROOT_INO, name,
			  (left < 511 ? left : 511) * PMFS2_BLOCK_SIZE);
	}
	if (end - 2 - next_blk == 1)
		set_xattrs(file_f, false);
	ck_assert_uint_eq(next_blk, end - 2);
	expect_clean("a full filesystem");

	x = new_inode(S_IFREG | 0600);
	I(x)->nlink = 1;
	ck_assert_int_eq(run_check(true, &r), 0);
	ck_assert_msg(r.unfixable == 1 &&
		      strstr(reports, "reconnecting it to /lost+found failed: No space left on device"),
		      "%s", reports);
	lf = lookup(PMFS2_ROOT_INO, "lost+found");
	ck_assert_uint_ne(lf, 0);
	/* its map was set, then rolled back */
	ck_assert_uint_eq(I(lf)->map, 0);
	ck_assert_uint_eq(I(lf)->blocks, 0);
	ck_assert_int_eq(run_check(false, &r), 0);
	ck_assert_msg(r.errors == 1 && strstr(reports, "not reachable"),
		      "only the file is left to repair:\n%s", reports);
}
END_TEST

/* ---- repairs cut by a power failure -------------------------------------
 *
 * A damaged tree whose repair needs every kind of write (single stores,
 * inodes freed and made, buckets and xattr blocks rewritten, names
 * removed, lost+found created and filled) is repaired on simulated pmem.
 * The power is cut at each fence of the repair in turn; each crash image
 * (only what was fenced, everything stored, and a random half of the
 * unfenced words) must be no worse than the damage was: a check finds no
 * problem that the first check did not (besides the interrupted repair
 * itself, which it rolls back), and a check with repair makes it clean.
 */

#define NKEEP	3

struct cut_ctx {
	uint8_t *img[NKEEP];
	uint64_t rng;
	bool taken;
};

static const uint32_t cut_keep[NKEEP] = { 0, 65536, 32768 };

static void on_cut(struct pmem_sim *ps, uint64_t fence, void *ctx)
{
	struct cut_ctx *cc = ctx;

	(void)fence;
	for (int i = 0; i < NKEEP; i++)
		pmem_sim_crash_image(ps, cc->img[i], cut_keep[i], &cc->rng);
	cc->taken = true;
}

static void powercut_damage(void)
{
	uint64_t d, o;
	uint8_t *p;

	time_setup();
	/* times: single stores */
	I(file_b)->ctime = NOW + 3 * DAY;
	I(dir_c)->btime = NOW + 5 * DAY;
	/* a file's only name is bad: its bucket is rewritten, and the file
	 * goes to a new /lost+found */
	find_dirent(dir_a, "f")->name[0] = '/';
	/* a directory without a name: reconnected (name, parent, counts) */
	d = new_inode(S_IFDIR | 0700);
	I(d)->parent = PMFS2_ROOT_INO;
	mkfile_at(d, "inside", 10);
	/* an invalid mode: freed, and its name removed */
	I(dev_n)->mode = 0170777;
	/* an xattr with an unknown index: the block is rewritten */
	p = pmfs2_block(&pm, I(file_b)->xattr_block);
	p[16] = 9;
	/* bytes past EOF */
	p = pmfs2_block(&pm, *map_slot(I(file_f), 1));
	p[5000 - 4096 + 10] = 'x';
	/* a second name for a directory: removed from its bucket */
	dir_add(PMFS2_ROOT_INO, "c-again", dir_c);
	I(dir_c)->parent = dir_a;
	I(PMFS2_ROOT_INO)->nlink--;
	/* an orphan with a block: freed */
	o = new_inode(S_IFREG | 0600);
	map_block(I(o), 0);
	/* a wrong link count */
	I(file_b)->nlink = 5;
}

/* Problems in reports (one a line) that are not in before, but for the
 * interrupted transaction; 0 if none. */
static unsigned int new_problems(const char *before, char *first,
				 size_t len)
{
	unsigned int n = 0;

	first[0] = 0;
	for (const char *l = reports; *l;) {
		const char *e = strchr(l, '\n');
		size_t ll = e ? (size_t)(e - l) : strlen(l);
		char line[1024];

		snprintf(line, sizeof(line), "%.*s\n", (int)ll, l);
		if (!strstr(line, "uncommitted transaction") &&
		    !strstr(before, line)) {
			if (!n++)
				snprintf(first, len, "%s", line);
		}
		l += ll + (e ? 1 : 0);
	}
	return n;
}

/* Cut the repair of the damage in pm at fences first, first + step, ... */
static void powercut_run(uint64_t first_cut, uint64_t step)
{
	struct pmfs2_check_result r;
	struct pmfs2_check_opts o;
	struct cut_ctx cc = { .rng = 1 };
	struct pmem_sim *ps = pmem_sim_new(IMG_SIZE);
	const struct zus_pmem *spm = pmem_sim_pmem(ps);
	uint8_t *damaged = malloc(IMG_SIZE);
	static char before[sizeof(reports)];
	char first[1024];
	unsigned int nbefore, repaired = 0, noworse = 0, images = 0;
	uint64_t f0, nf;
	const char *env = getenv("FSCK_CUT_STEP");

	if (env && atoi(env) > 0)
		step = (uint64_t)atoi(env);
	ck_assert_ptr_nonnull(damaged);
	for (int i = 0; i < NKEEP; i++) {
		cc.img[i] = malloc(IMG_SIZE);
		ck_assert_ptr_nonnull(cc.img[i]);
	}
	ck_assert_int_eq(run_check(false, &r), 0);
	nbefore = r.errors;
	ck_assert_uint_ge(nbefore, 10);
	memcpy(before, reports, sizeof(before));
	memcpy(damaged, pm.base, IMG_SIZE);

	/* the whole repair, to count its fences */
	o = base_opts;
	o.repair = true;
	memcpy(spm->base, damaged, IMG_SIZE);
	pmem_sim_sync(ps);
	f0 = pmem_sim_fences(ps);
	ck_assert_int_eq(pmfs2_check(spm, &o, &r), 0);
	ck_assert_msg(r.errors == r.fixed && !r.unfixable,
		      "repair: %u errors, %u fixed", r.errors, r.fixed);
	nf = pmem_sim_fences(ps) - f0;
	ck_assert_uint_gt(nf, 10);

	/* ... and always at the last fence, the commit of the last repair */
	for (uint64_t k = first_cut; k <= nf;
	     k = k < nf && k + step > nf ? nf : k + step) {
		memcpy(spm->base, damaged, IMG_SIZE);
		pmem_sim_sync(ps);
		cc.taken = false;
		cc.rng = k;
		pmem_sim_set_cut(ps, pmem_sim_fences(ps) + k, on_cut, &cc);
		ck_assert_int_eq(pmfs2_check(spm, &o, &r), 0);
		pmem_sim_set_cut(ps, 0, NULL, NULL);
		ck_assert_msg(cc.taken, "no cut at fence %llu",
			      (unsigned long long)k);
		for (int i = 0; i < NKEEP; i++) {
			unsigned int nnew;

			/* what the next fsck -n sees (it rolls the
			 * interrupted repair back in a private copy) */
			memcpy(pm.base, cc.img[i], IMG_SIZE);
			base_opts.private_copy = true;
			ck_assert_int_eq(run_check(false, &r), 0);
			base_opts.private_copy = false;
			nnew = new_problems(before, first, sizeof(first));
			ck_assert_msg(!nnew && !r.unfixable,
				      "cut at fence %llu of %llu (keep %u/65536): %u new problems, the first: %s(all:\n%s)",
				      (unsigned long long)k,
				      (unsigned long long)nf, cut_keep[i],
				      nnew, first, reports);
			ck_assert_uint_le(r.errors - (strstr(reports,
					  "uncommitted transaction") ? 1 : 0),
					  nbefore);
			if (r.errors == (strstr(reports, "uncommitted transaction") ? 1u : 0u))
				repaired++;
			else
				noworse++;
			images++;
			/* the next fsck -y repairs it all */
			memcpy(pm.base, cc.img[i], IMG_SIZE);
			ck_assert_int_eq(run_check(true, &r), 0);
			ck_assert_msg(r.errors == r.fixed && !r.unfixable,
				      "cut at fence %llu (keep %u): rerun: %u errors, %u fixed:\n%s",
				      (unsigned long long)k, cut_keep[i],
				      r.errors, r.fixed, reports);
			ck_assert_int_eq(run_check(false, &r), 0);
			ck_assert_msg(r.errors == 0,
				      "cut at fence %llu (keep %u): still %u errors after the rerun:\n%s",
				      (unsigned long long)k, cut_keep[i],
				      r.errors, reports);
		}
	}
	fprintf(stderr,
		"powercut: %llu fences in the repair, cut at every %llu from %llu, %u crash images: %u unrepaired but no worse, %u repaired\n",
		(unsigned long long)nf, (unsigned long long)step,
		(unsigned long long)first_cut, images, noworse, repaired);
	ck_assert_uint_gt(repaired, 0);
	ck_assert_uint_gt(noworse, 0);
	for (int i = 0; i < NKEEP; i++)
		free(cc.img[i]);
	free(damaged);
	pmem_sim_free(ps);
}

START_TEST(test_repair_powercut)
{
	powercut_damage();
	powercut_run(1, 1);
}
END_TEST

/* Enough nameless files that lost+found's bucket splits while they are
 * reconnected: a split is part of the transaction that needs it. */
START_TEST(test_repair_powercut_split)
{
	time_setup();
	for (int i = 0; i < 200; i++)
		I(new_inode(S_IFREG | 0600))->nlink = 1;
	powercut_run(1 + (uint64_t)_i, 5);
	{
		uint64_t lf = lookup(PMFS2_ROOT_INO, "lost+found"), head;
		const struct pmfs2_dir_head *dh;

		ck_assert_int_eq(pmfs2_bmap_get(&pm, &sb, I(lf)->map, 0,
						&head), 0);
		dh = pmfs2_block(&pm, head);
		ck_assert_uint_eq(dh->nentries, 200);
		ck_assert_uint_gt(dh->nbuckets, 1);
	}
}
END_TEST

static Suite *check_suite(void)
{
	Suite *s = suite_create("pmfs2_check");
	TCase *tc = tcase_create("check");

	tcase_add_checked_fixture(tc, img_setup, img_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_clean);
	tcase_add_test(tc, test_bad_magic);
	tcase_add_test(tc, test_bad_crc);
	tcase_add_test(tc, test_bad_backup);
	tcase_add_test(tc, test_not_pmfs2);
	tcase_add_test(tc, test_truncated);
	tcase_add_test(tc, test_block_out_of_range);
	tcase_add_test(tc, test_double_ref);
	tcase_add_test(tc, test_bad_dirent);
	tcase_add_test(tc, test_dirent_kinds);
	tcase_add_test(tc, test_wrong_nlink);
	tcase_add_test(tc, test_dir_size);
	tcase_add_test(tc, test_unreachable);
	tcase_add_test(tc, test_dir_loop);
	tcase_add_test(tc, test_dir_hardlink);
	tcase_add_test(tc, test_orphan);
	tcase_add_test(tc, test_past_eof);
	tcase_add_test(tc, test_blocks_count);
	tcase_add_test(tc, test_trunc_pending);
	tcase_add_test(tc, test_bad_xattr);
	tcase_add_test(tc, test_bad_dir_index);
	tcase_add_test(tc, test_bad_mode_and_symlink);
	tcase_add_test(tc, test_journal);
	tcase_add_test(tc, test_many_lost);
	tcase_add_test(tc, test_tier_pointers);
	tcase_add_loop_test(tc, test_random_damage, 0, 200);
	tcase_add_test(tc, test_time_future);
	tcase_add_test(tc, test_time_before_birth);
	tcase_add_test(tc, test_time_user_set);
	tcase_add_test(tc, test_time_untrusted_clock);
	tcase_add_test(tc, test_repair_rolled_back);
	suite_add_tcase(s, tc);

	tc = tcase_create("powercut");
	tcase_add_checked_fixture(tc, img_setup, img_teardown);
	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, test_repair_powercut);
	tcase_add_loop_test(tc, test_repair_powercut_split, 0, 2);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(check_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
