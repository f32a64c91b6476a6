// SPDX-License-Identifier: BSD-2-Clause
/*
 * test_format_check.c - pmfs2_check: a hand-built tree checks clean; each
 * kind of injected corruption is detected, repaired, and a second check is
 * clean; random damage never crashes the checker.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "pmfs2_lib.h"

#define IMG_SIZE	(16u << 20)

static struct zus_pmem pm;
static struct pmfs2_super sb;
static char err[512];
static uint64_t next_blk;
static char reports[16384];
static size_t nreports;

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
	struct pmfs2_check_opts o = { .repair = repair, .report = collect };

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
