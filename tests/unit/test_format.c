// SPDX-License-Identifier: BSD-2-Clause
/*
 * test_format.c - unit tests of the pmfs2 format library: pmfs2_format,
 * superblock validation and loading (with backup fallback) and undo-journal
 * recovery with hand-made records.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "pmfs2_lib.h"
#include "pmfs2_tier_format.h"

#define IMG_SIZE	(8u << 20)

static struct zus_pmem pm;
static struct pmfs2_super sb;
static char err[512];

/* Count flushes and fences, to prove format persists what it writes. */
static unsigned long nflushed, nfenced;

static void hook_flushed(const struct zus_pmem *p, const void *a, size_t l)
{
	(void)p; (void)a;
	nflushed += l;
}

static void hook_fenced(const struct zus_pmem *p)
{
	(void)p;
	nfenced++;
}

static const struct zus_pmem_hooks hooks = {
	.flushed = hook_flushed,
	.fenced = hook_fenced,
};

static void img_setup(void)
{
	pm.base = aligned_alloc(PMFS2_BLOCK_SIZE, IMG_SIZE);
	ck_assert_ptr_nonnull(pm.base);
	memset(pm.base, 0xa5, IMG_SIZE);
	pm.size = IMG_SIZE;
	pm.hooks = &hooks;
	nflushed = nfenced = 0;
	err[0] = 0;
}

static void img_teardown(void)
{
	free(pm.base);
	pm.base = NULL;
}

static void do_format(void)
{
	struct pmfs2_mkfs_opts o = { .label = "testfs", .dev_hint = "img" };
	bool backup;

	ck_assert_int_eq(pmfs2_format(&pm, &o, err, sizeof(err)), 0);
	ck_assert_int_eq(pmfs2_super_load(&pm, &sb, &backup, err, sizeof(err)),
			 0);
	ck_assert(!backup);
}

/* ---- format ---------------------------------------------------------- */

START_TEST(test_format_geometry)
{
	const struct pmfs2_journal_head *jh;
	const struct pmfs2_inode *root;

	do_format();
	ck_assert_uint_eq(sb.magic, PMFS2_SUPER_MAGIC);
	ck_assert_uint_eq(sb.total_blocks, IMG_SIZE / PMFS2_BLOCK_SIZE);
	ck_assert_uint_eq(sb.journal_start, 2);
	/* small device: journal shrunk to 1/32, at least the minimum */
	ck_assert_uint_eq(sb.journal_blocks, 64);
	ck_assert_uint_eq(sb.itable_start, 2 + 64);
	ck_assert_uint_ge(sb.inode_count - 1, IMG_SIZE / 8192);
	ck_assert_uint_eq(sb.inode_count, sb.itable_blocks * 16);
	ck_assert_uint_eq(sb.data_start, sb.itable_start + sb.itable_blocks);
	ck_assert_str_eq(sb.label, "testfs");
	ck_assert_uint_eq(sb.ndevs, 1);
	ck_assert_uint_eq(sb.devs[0].role, PMFS2_DEV_PMEM);
	ck_assert_uint_eq(sb.devs[0].size, IMG_SIZE);
	ck_assert_str_eq(sb.devs[0].hint, "img");
	ck_assert_uint_eq(sb.feature_incompat, 0);
	ck_assert_uint_eq(sb.state, PMFS2_STATE_CLEAN);
	ck_assert(sb.hash_seed[0] || sb.hash_seed[1]);
	/* backup identical to primary, in the last block, far from it */
	ck_assert_uint_eq(sb.feature_ro_compat, PMFS2_FEATURE_RO_COMPAT_BACKUP_END);
	ck_assert_uint_eq(pmfs2_sb_backup_block(&sb), sb.total_blocks - 1);
	ck_assert_uint_eq(pmfs2_data_end(&sb), sb.total_blocks - 1);
	ck_assert_mem_eq(pmfs2_block(&pm, 0), pmfs2_block(&pm, sb.total_blocks - 1),
			 sizeof(sb));
	/* block 1, the old backup's place, holds nothing */
	for (unsigned int i = 0; i < PMFS2_BLOCK_SIZE; i++)
		ck_assert_uint_eq(((uint8_t *)pmfs2_block(&pm, 1))[i], 0);

	jh = pmfs2_block(&pm, sb.journal_start);
	ck_assert_uint_eq(jh->magic, PMFS2_JOURNAL_MAGIC);
	ck_assert_uint_eq(jh->active_tid, 0);

	root = pmfs2_inode_at(&pm, &sb, PMFS2_ROOT_INO);
	ck_assert_ptr_nonnull(root);
	ck_assert_uint_eq(root->mode, S_IFDIR | 0755);
	ck_assert_uint_eq(root->nlink, 2);
	ck_assert_uint_eq(root->parent, PMFS2_ROOT_INO);
	ck_assert_uint_eq(root->map, 0);
	ck_assert_int_gt(root->mtime, 0);
	/* every other inode slot is free (zeroed over the 0xa5 fill) */
	for (uint64_t i = 2; i < sb.inode_count; i++)
		ck_assert_uint_eq(pmfs2_inode_at(&pm, &sb, i)->mode, 0);
	/* and it was all persisted */
	ck_assert_uint_ge(nflushed, (sb.itable_blocks + sb.journal_blocks) *
			  PMFS2_BLOCK_SIZE);
	ck_assert_uint_ge(nfenced, 2);
}
END_TEST

START_TEST(test_format_options)
{
	static const uint8_t u[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 };
	static const uint8_t tu[2][16] = { { 0xaa }, { 0xbb } };
	static const uint64_t tsz[2] = { 1ull << 30, (1ull << 31) + 100 };
	struct pmfs2_mkfs_opts o = {
		.inodes = 100, .journal_blocks = 100, .uuid = u,
		.ntier = 2, .tier_uuid = tu, .tier_size = tsz,
		.root_mode = 01777, .root_uid = 7, .root_gid = 8,
	};
	const struct pmfs2_inode *root;

	ck_assert_int_eq(pmfs2_format(&pm, &o, err, sizeof(err)), 0);
	ck_assert_int_eq(pmfs2_super_load(&pm, &sb, NULL, err, sizeof(err)),
			 0);
	ck_assert_uint_eq(sb.journal_blocks, 100);
	ck_assert_uint_eq(sb.itable_blocks, 7);	/* 101 slots / 16 */
	ck_assert_mem_eq(sb.uuid, u, 16);
	ck_assert_uint_eq(sb.ndevs, 3);
	ck_assert_uint_eq(sb.devs[1].role, PMFS2_DEV_TIER);
	ck_assert_mem_eq(sb.devs[2].uuid, tu[1], 16);
	ck_assert_uint_eq(sb.devs[2].size, 1ull << 31);
	ck_assert(sb.feature_incompat & PMFS2_FEATURE_INCOMPAT_TIER);
	/* devs[0] gets its own identity, not the filesystem's */
	ck_assert(memcmp(sb.devs[0].uuid, sb.uuid, 16) != 0);
	root = pmfs2_inode_at(&pm, &sb, PMFS2_ROOT_INO);
	ck_assert_uint_eq(root->mode, S_IFDIR | 01777);
	ck_assert_uint_eq(root->uid, 7);
	ck_assert_uint_eq(root->gid, 8);
}
END_TEST

START_TEST(test_tier_header)
{
	static const uint8_t tu[1][16] = { { 0xcc, 1 } };
	static const uint64_t tsz[1] = { 1ull << 30 };
	struct pmfs2_mkfs_opts o = {
		.ntier = 1, .tier_uuid = tu, .tier_size = tsz,
	};
	struct pmfs2_tier_header h, x;

	ck_assert_int_eq(pmfs2_format(&pm, &o, err, sizeof(err)), 0);
	ck_assert_int_eq(pmfs2_super_load(&pm, &sb, NULL, err, sizeof(err)),
			 0);
	pmfs2_tier_header_init(&h, 1, sb.uuid, tu[0], tsz[0], 5);
	ck_assert_int_eq(pmfs2_tier_header_check(&h, &sb, 1), 0);
	ck_assert_int_eq(pmfs2_tier_header_check(&h, &sb, 2), -ESTALE);
	x = h;
	x.magic = 0;
	ck_assert_int_eq(pmfs2_tier_header_check(&x, &sb, 1), -EINVAL);
	x = h;
	x.size++;
	ck_assert_int_eq(pmfs2_tier_header_check(&x, &sb, 1), -EUCLEAN);
	/* another filesystem's tier */
	pmfs2_tier_header_init(&x, 1, tu[0], tu[0], tsz[0], 5);
	ck_assert_int_eq(pmfs2_tier_header_check(&x, &sb, 1), -ESTALE);
	/* this filesystem, but a replaced device */
	pmfs2_tier_header_init(&x, 1, sb.uuid, sb.uuid, tsz[0], 5);
	ck_assert_int_eq(pmfs2_tier_header_check(&x, &sb, 1), -ESTALE);
}
END_TEST

START_TEST(test_format_rejects)
{
	struct pmfs2_mkfs_opts o = { 0 };
	struct zus_pmem small = pm;

	small.size = (PMFS2_MIN_BLOCKS - 1) * PMFS2_BLOCK_SIZE;
	ck_assert_int_eq(pmfs2_format(&small, &o, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "too small"));

	o.journal_blocks = 10;
	ck_assert_int_eq(pmfs2_format(&pm, &o, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "journal"));
	o.journal_blocks = 0;

	o.inodes = IMG_SIZE;	/* more inode table than device */
	ck_assert_int_eq(pmfs2_format(&pm, &o, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "inodes"));
	o.inodes = 0;

	o.label = "0123456789012345678901234567890123456789012345678901234567890123";
	ck_assert_int_eq(pmfs2_format(&pm, &o, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "label"));
	o.label = NULL;

	o.ntier = PMFS2_MAX_DEVS;
	ck_assert_int_eq(pmfs2_format(&pm, &o, err, sizeof(err)), -EINVAL);
	o.ntier = 0;

	/* the smallest device works, one block less does not */
	small.size = (PMFS2_MIN_BLOCKS - 1) * PMFS2_BLOCK_SIZE;
	ck_assert_int_eq(pmfs2_format(&small, NULL, err, sizeof(err)), -EINVAL);
	small.size = PMFS2_MIN_BLOCKS * PMFS2_BLOCK_SIZE;
	ck_assert_int_eq(pmfs2_format(&small, NULL, err, sizeof(err)), 0);
	ck_assert_int_eq(pmfs2_super_load(&small, &sb, NULL, err, sizeof(err)),
			 0);
}
END_TEST

/* ---- superblock validation and backup -------------------------------- */

START_TEST(test_super_validate)
{
	struct pmfs2_super s;

	do_format();
	s = sb;
	ck_assert_int_eq(pmfs2_super_validate(&s, IMG_SIZE, err, sizeof(err)),
			 0);
	/* truncated device */
	ck_assert_int_eq(pmfs2_super_validate(&s, IMG_SIZE / 2, err,
					      sizeof(err)), -EUCLEAN);
	ck_assert_ptr_nonnull(strstr(err, "truncated"));

	s.magic ^= 1;
	ck_assert_int_eq(pmfs2_super_validate(&s, IMG_SIZE, err, sizeof(err)),
			 -EINVAL);
	s = sb;
	s.label[3] ^= 0x40;	/* csum no longer matches */
	ck_assert_int_eq(pmfs2_super_validate(&s, IMG_SIZE, err, sizeof(err)),
			 -EUCLEAN);
	ck_assert_ptr_nonnull(strstr(err, "checksum"));

	s = sb;
	s.feature_incompat |= 1u << 7;
	s.csum = pmfs2_super_csum(&s);
	ck_assert_int_eq(pmfs2_super_validate(&s, IMG_SIZE, err, sizeof(err)),
			 -EOPNOTSUPP);
	s = sb;
	s.version_major = 2;
	s.csum = pmfs2_super_csum(&s);
	ck_assert_int_eq(pmfs2_super_validate(&s, IMG_SIZE, err, sizeof(err)),
			 -EOPNOTSUPP);
	/* unknown ro_compat / compat bits do not stop validation */
	s = sb;
	s.feature_ro_compat |= 1u << 3;
	s.feature_compat |= 1u << 3;
	s.csum = pmfs2_super_csum(&s);
	ck_assert_int_eq(pmfs2_super_validate(&s, IMG_SIZE, err, sizeof(err)),
			 0);

	/* geometry: overlapping regions, each caught even with a good csum */
	s = sb;
	s.itable_start = s.journal_start + 1;
	s.csum = pmfs2_super_csum(&s);
	ck_assert_int_eq(pmfs2_super_validate(&s, IMG_SIZE, err, sizeof(err)),
			 -EUCLEAN);
	s = sb;
	s.data_start = s.total_blocks;
	s.csum = pmfs2_super_csum(&s);
	ck_assert_int_eq(pmfs2_super_validate(&s, IMG_SIZE, err, sizeof(err)),
			 -EUCLEAN);
	s = sb;
	s.journal_start = 0;
	s.csum = pmfs2_super_csum(&s);
	ck_assert_int_eq(pmfs2_super_validate(&s, IMG_SIZE, err, sizeof(err)),
			 -EUCLEAN);
	s = sb;
	s.inode_count++;
	s.csum = pmfs2_super_csum(&s);
	ck_assert_int_eq(pmfs2_super_validate(&s, IMG_SIZE, err, sizeof(err)),
			 -EUCLEAN);
	s = sb;
	s.itable_blocks = ~0ull >> 2;	/* overflow bait */
	s.inode_count = s.itable_blocks * 16;
	s.csum = pmfs2_super_csum(&s);
	ck_assert_int_eq(pmfs2_super_validate(&s, IMG_SIZE, err, sizeof(err)),
			 -EUCLEAN);
	s = sb;
	s.ndevs = 9;
	s.csum = pmfs2_super_csum(&s);
	ck_assert_int_eq(pmfs2_super_validate(&s, IMG_SIZE, err, sizeof(err)),
			 -EUCLEAN);
	s = sb;
	s.ndevs = 2;	/* a tier without the feature and without a role */
	s.csum = pmfs2_super_csum(&s);
	ck_assert_int_eq(pmfs2_super_validate(&s, IMG_SIZE, err, sizeof(err)),
			 -EUCLEAN);
	s = sb;
	memset(s.label, 'x', sizeof(s.label));
	s.csum = pmfs2_super_csum(&s);
	ck_assert_int_eq(pmfs2_super_validate(&s, IMG_SIZE, err, sizeof(err)),
			 -EUCLEAN);
}
END_TEST

START_TEST(test_super_backup)
{
	struct pmfs2_super s;
	bool backup = false;
	uint8_t *p;

	do_format();
	/* corrupt the primary's checksummed area: the backup is used */
	p = pmfs2_block(&pm, PMFS2_SB_BLOCK);
	p[offsetof(struct pmfs2_super, total_blocks)] ^= 0x10;
	ck_assert_int_eq(pmfs2_super_load(&pm, &s, &backup, err, sizeof(err)),
			 0);
	ck_assert(backup);
	ck_assert_mem_eq(&s, &sb, sizeof(s));

	/* bad magic in the primary: still the backup */
	memset(p, 0, PMFS2_BLOCK_SIZE);
	backup = false;
	ck_assert_int_eq(pmfs2_super_load(&pm, &s, &backup, err, sizeof(err)),
			 0);
	ck_assert(backup);

	/* restoring the primary from it makes the primary load again */
	pmfs2_super_write(&pm, &s, false);
	ck_assert_int_eq(pmfs2_super_load(&pm, &s, &backup, err, sizeof(err)),
			 0);
	ck_assert(!backup);

	/* both bad: the primary's error */
	p[0] ^= 1;
	((uint8_t *)pmfs2_block(&pm, sb.total_blocks - 1))[200] ^= 1;
	ck_assert_int_eq(pmfs2_super_load(&pm, &s, &backup, err, sizeof(err)),
			 -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "magic"));

	/* a newer format in the primary is not silently replaced */
	do_format();
	s = sb;
	s.version_major = 9;
	pmfs2_super_write(&pm, &s, false);
	ck_assert_int_eq(pmfs2_super_load(&pm, &s, &backup, err, sizeof(err)),
			 -EOPNOTSUPP);

	/* a device too small for two superblocks */
	pm.size = 4096;
	ck_assert_int_eq(pmfs2_super_load(&pm, &s, &backup, err, sizeof(err)),
			 -EINVAL);
	pm.size = IMG_SIZE;
}
END_TEST

/* One overwrite of the first MiB (a partition table, a stray dd) leaves
 * the backup at the end: the filesystem loads from it. */
START_TEST(test_super_backup_far)
{
	struct pmfs2_super s;
	bool backup = false;

	do_format();
	memset(pm.base, 0, 1 << 20);
	ck_assert_int_eq(pmfs2_super_load(&pm, &s, &backup, err, sizeof(err)),
			 0);
	ck_assert(backup);
	ck_assert_mem_eq(&s, &sb, sizeof(s));
	/* a stale superblock copy elsewhere is not taken for a backup */
	ck_assert_int_eq(pmfs2_super_load_at(&pm, 5, &s, err, sizeof(err)),
			 -EINVAL);
	memcpy(pmfs2_block(&pm, 100), &sb, sizeof(sb));
	ck_assert_int_eq(pmfs2_super_load_at(&pm, 100, &s, err, sizeof(err)),
			 -EUCLEAN);
	ck_assert_ptr_nonnull(strstr(err, "stale"));
	ck_assert_int_eq(pmfs2_super_load_at(&pm, IMG_SIZE / PMFS2_BLOCK_SIZE,
					     &s, err, sizeof(err)), -EINVAL);
}
END_TEST

/* The layout before RO_COMPAT_BACKUP_END (backup at block 1) still loads,
 * from its backup too, and its last block is data. */
START_TEST(test_super_old_layout)
{
	struct pmfs2_super s;
	bool backup = false;

	do_format();
	s = sb;
	s.feature_ro_compat = 0;
	s.csum = pmfs2_super_csum(&s);
	memcpy(pmfs2_block(&pm, 0), &s, sizeof(s));
	memcpy(pmfs2_block(&pm, 1), &s, sizeof(s));
	memset(pmfs2_block(&pm, s.total_blocks - 1), 0, PMFS2_BLOCK_SIZE);
	ck_assert_uint_eq(pmfs2_data_end(&s), s.total_blocks);
	ck_assert(pmfs2_data_block_ok(&s, s.total_blocks - 1));
	ck_assert(!pmfs2_data_block_ok(&sb, sb.total_blocks - 1));
	ck_assert_int_eq(pmfs2_super_load(&pm, &s, &backup, err, sizeof(err)),
			 0);
	ck_assert(!backup);
	memset(pmfs2_block(&pm, 0), 0, PMFS2_BLOCK_SIZE);
	ck_assert_int_eq(pmfs2_super_load(&pm, &s, &backup, err, sizeof(err)),
			 0);
	ck_assert(backup);
	ck_assert_uint_eq(s.feature_ro_compat, 0);
}
END_TEST

/* mkfs SIZE: the filesystem ends there; the rest of the device is left
 * alone, but not an earlier pmfs2 backup at the device's end. */
START_TEST(test_format_size)
{
	struct pmfs2_mkfs_opts o = { .size = IMG_SIZE / 2 + 5000 };
	uint64_t last = IMG_SIZE / PMFS2_BLOCK_SIZE - 1;
	struct pmfs2_super s;
	bool backup;

	do_format();	/* an earlier filesystem over the whole device */
	memset(pmfs2_block(&pm, last - 10), 0x5a, PMFS2_BLOCK_SIZE);
	ck_assert_int_eq(pmfs2_format(&pm, &o, err, sizeof(err)), 0);
	ck_assert_int_eq(pmfs2_super_load(&pm, &s, &backup, err, sizeof(err)),
			 0);
	ck_assert_uint_eq(s.total_blocks, (IMG_SIZE / 2) / PMFS2_BLOCK_SIZE + 1);
	ck_assert_uint_eq(s.devs[0].size, s.total_blocks * PMFS2_BLOCK_SIZE);
	ck_assert_uint_eq(pmfs2_sb_backup_block(&s), s.total_blocks - 1);
	ck_assert_uint_eq(((uint8_t *)pmfs2_block(&pm, last - 10))[7], 0x5a);
	ck_assert_uint_eq(((struct pmfs2_super *)pmfs2_block(&pm, last))->magic, 0);
	/* primary gone: the device's end has no backup, -b finds it */
	memset(pmfs2_block(&pm, 0), 0, PMFS2_BLOCK_SIZE);
	ck_assert_int_ne(pmfs2_super_load(&pm, &s, &backup, err, sizeof(err)),
			 0);
	ck_assert_int_eq(pmfs2_super_load_at(&pm, (IMG_SIZE / 2) / PMFS2_BLOCK_SIZE,
					     &s, err, sizeof(err)), 0);
	/* larger than the device, smaller than the minimum */
	o.size = IMG_SIZE + PMFS2_BLOCK_SIZE;
	ck_assert_int_eq(pmfs2_format(&pm, &o, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "does not fit"));
	o.size = 64 * PMFS2_BLOCK_SIZE;
	ck_assert_int_eq(pmfs2_format(&pm, &o, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "filesystem size too small"));
}
END_TEST

START_TEST(test_super_write)
{
	struct pmfs2_super s;

	do_format();
	s = sb;
	s.mount_count = 5;
	s.state = PMFS2_STATE_MOUNTED;
	pmfs2_super_write(&pm, &s, false);
	ck_assert_int_eq(pmfs2_super_load(&pm, &s, NULL, err, sizeof(err)), 0);
	ck_assert_uint_eq(s.mount_count, 5);
	/* the backup was left alone */
	ck_assert_uint_eq(((struct pmfs2_super *)
			   pmfs2_block(&pm, sb.total_blocks - 1))->mount_count, 0);
	pmfs2_super_write(&pm, &s, true);
	ck_assert_mem_eq(pmfs2_block(&pm, 0), pmfs2_block(&pm, sb.total_blocks - 1),
			 sizeof(s));
}
END_TEST

/* ---- journal recovery ------------------------------------------------ */

static struct pmfs2_journal_head *jhead(void)
{
	return pmfs2_block(&pm, sb.journal_start);
}

static uint64_t jpos;

static void jbegin(uint64_t tid)
{
	jhead()->seq = tid;
	jhead()->active_tid = tid;
	jpos = PMFS2_JREC_START;
}

/* Append a record; returns its header for tests that then damage it. */
static struct pmfs2_jrec *jappend(uint64_t tid, uint32_t type, uint64_t off,
				  const void *data, uint32_t len)
{
	struct pmfs2_jrec *r = (void *)((char *)jhead() + jpos);
	uint32_t crc;

	memset(r, 0, sizeof(*r));
	r->tid = tid;
	r->off = off;
	r->len = len;
	r->type = type;
	memcpy(r + 1, data, len);
	crc = pmfs2_crc32c(~0u, r, sizeof(*r));
	r->csum = ~pmfs2_crc32c(crc, r + 1, len);
	jpos += (sizeof(*r) + len + 7) & ~7ull;
	return r;
}

static void jundo(uint64_t tid, uint64_t off, uint32_t len)
{
	jappend(tid, PMFS2_JREC_UNDO, off, zus_pmem_addr(&pm, off), len);
}

static uint64_t data_off(uint64_t blk)
{
	return (sb.data_start + blk) << PMFS2_BLOCK_SHIFT;
}

START_TEST(test_recover_nothing)
{
	struct pmfs2_recover_info info = { .tid = 99 };

	do_format();
	ck_assert_int_eq(pmfs2_journal_recover(&pm, &sb, &info, err,
					       sizeof(err)), 0);
	ck_assert_uint_eq(info.tid, 0);
	ck_assert_uint_eq(info.undone, 0);
}
END_TEST

START_TEST(test_recover_undo)
{
	struct pmfs2_recover_info info;
	char *a;

	do_format();
	a = zus_pmem_addr(&pm, data_off(0));
	memset(a, 'o', 64);
	jbegin(5);
	jundo(5, data_off(0), 64);		/* old: "ooo..." */
	memset(a, 'n', 64);
	jundo(5, data_off(0) + 8, 8);		/* old: "nnnnnnnn" (newer) */
	memset(a + 8, 'x', 8);
	jundo(5, data_off(1), 13);		/* odd length: padding */
	memset(a + PMFS2_BLOCK_SIZE, 'y', 13);

	ck_assert_int_eq(pmfs2_journal_recover(&pm, &sb, &info, err,
					       sizeof(err)), 0);
	ck_assert_uint_eq(info.tid, 5);
	ck_assert_uint_eq(info.undone, 3);
	/* newest first: the oldest image wins */
	for (int i = 0; i < 64; i++)
		ck_assert_int_eq(a[i], 'o');
	ck_assert_int_eq(a[PMFS2_BLOCK_SIZE], (char)0xa5);
	ck_assert_uint_eq(jhead()->active_tid, 0);
	ck_assert_uint_eq(jhead()->seq, 5);

	/* idempotent: a second run does nothing */
	ck_assert_int_eq(pmfs2_journal_recover(&pm, &sb, &info, err,
					       sizeof(err)), 0);
	ck_assert_uint_eq(info.tid, 0);
}
END_TEST

START_TEST(test_recover_torn)
{
	struct pmfs2_recover_info info;
	char *a;
	struct pmfs2_jrec *r;

	do_format();
	a = zus_pmem_addr(&pm, data_off(0));
	memset(a, 'o', 16);
	jbegin(7);
	jundo(7, data_off(0), 8);
	memset(a, 'n', 8);
	/* a torn second record: its data changed after the crc */
	r = jappend(7, PMFS2_JREC_UNDO, data_off(0) + 8, a + 8, 8);
	((char *)(r + 1))[3] ^= 1;
	memset(a + 8, 'n', 8);	/* (never happens, but must not be undone) */
	/* a valid-looking record after the torn one is not part of the log */
	jundo(7, data_off(0), 16);

	ck_assert_int_eq(pmfs2_journal_recover(&pm, &sb, &info, err,
					       sizeof(err)), 0);
	ck_assert_uint_eq(info.undone, 1);
	ck_assert_int_eq(a[0], 'o');
	ck_assert_int_eq(a[8], 'n');

	/* records of an older transaction are ignored */
	memset(a, 'p', 8);
	jbegin(9);
	jundo(8, data_off(0), 8);
	memset(a, 'q', 8);
	ck_assert_int_eq(pmfs2_journal_recover(&pm, &sb, &info, err,
					       sizeof(err)), 0);
	ck_assert_uint_eq(info.tid, 9);
	ck_assert_uint_eq(info.undone, 0);
	ck_assert_int_eq(a[0], 'q');
	ck_assert_uint_eq(jhead()->seq, 9);

	/* a length running off the journal stops the scan */
	jbegin(10);
	r = jappend(10, PMFS2_JREC_UNDO, data_off(0), a, 8);
	r->len = 0xfffffff0u;
	ck_assert_int_eq(pmfs2_journal_recover(&pm, &sb, &info, err,
					       sizeof(err)), 0);
	ck_assert_uint_eq(info.undone, 0);
}
END_TEST

START_TEST(test_recover_invalid)
{
	struct pmfs2_recover_info info;
	char *a;
	struct pmfs2_jzero jz = { .ino = 1, .from = 5, .to = 1 };
	char junk[16] = { 0 };

	do_format();
	a = zus_pmem_addr(&pm, data_off(0));
	/* crc-valid records that point at the superblock, the journal or past
	 * the device are refused; the valid prefix is still undone */
	static const uint64_t bad_offs[] = { 0, 4096 + 8, 2 * 4096,
					     IMG_SIZE - 4, IMG_SIZE };
	for (size_t i = 0; i < sizeof(bad_offs) / sizeof(bad_offs[0]); i++) {
		memset(a, 'o', 8);
		jbegin(20 + i);
		jundo(20 + i, data_off(0), 8);
		memset(a, 'n', 8);
		jappend(20 + i, PMFS2_JREC_UNDO, bad_offs[i], junk, 16);
		ck_assert_int_eq(pmfs2_journal_recover(&pm, &sb, &info, err,
						       sizeof(err)), -EUCLEAN);
		ck_assert_ptr_nonnull(strstr(err, "UNDO range"));
		ck_assert_uint_eq(info.undone, 1);
		ck_assert_int_eq(a[0], 'o');
		ck_assert_uint_eq(jhead()->active_tid, 0);
	}
	/* the superblocks were never touched */
	ck_assert_int_eq(pmfs2_super_load(&pm, &sb, NULL, err, sizeof(err)),
			 0);

	jbegin(30);
	jappend(30, 77, data_off(0), junk, 8);
	ck_assert_int_eq(pmfs2_journal_recover(&pm, &sb, &info, err,
					       sizeof(err)), -EUCLEAN);
	ck_assert_ptr_nonnull(strstr(err, "unknown record type"));

	jbegin(31);
	jappend(31, PMFS2_JREC_ZERO, 0, &jz, sizeof(jz));	/* from > to */
	ck_assert_int_eq(pmfs2_journal_recover(&pm, &sb, &info, err,
					       sizeof(err)), -EUCLEAN);
	jz.from = 0;
	jz.ino = sb.inode_count;
	jbegin(32);
	jappend(32, PMFS2_JREC_ZERO, 0, &jz, sizeof(jz));
	ck_assert_int_eq(pmfs2_journal_recover(&pm, &sb, &info, err,
					       sizeof(err)), -EUCLEAN);
	jbegin(33);
	jappend(33, PMFS2_JREC_ZERO, 0, &jz, 16);
	ck_assert_int_eq(pmfs2_journal_recover(&pm, &sb, &info, err,
					       sizeof(err)), -EUCLEAN);

	/* a damaged journal head */
	jhead()->magic = 0;
	ck_assert_int_eq(pmfs2_journal_recover(&pm, &sb, &info, err,
					       sizeof(err)), -EUCLEAN);
	ck_assert_ptr_nonnull(strstr(err, "journal head"));
}
END_TEST

START_TEST(test_recover_zero)
{
	struct pmfs2_recover_info info;
	struct pmfs2_inode *ino;
	uint64_t *idx;
	char *d0, *d1;
	struct pmfs2_jzero jz;

	do_format();
	/* inode 5: a file of 5000 bytes, blocks 0 and 1 mapped through an
	 * index block (height 1) */
	ino = pmfs2_inode_at(&pm, &sb, 5);
	memset(ino, 0, sizeof(*ino));
	ino->mode = S_IFREG | 0644;
	ino->nlink = 1;
	ino->size = 5000;
	idx = pmfs2_block(&pm, sb.data_start);
	memset(idx, 0, PMFS2_BLOCK_SIZE);
	idx[0] = sb.data_start + 1;
	idx[1] = sb.data_start + 2;
	ino->map = (sb.data_start << PMFS2_MAP_HEIGHT_BITS) | 1;
	d0 = pmfs2_block(&pm, sb.data_start + 1);
	d1 = pmfs2_block(&pm, sb.data_start + 2);
	memset(d0, 'a', PMFS2_BLOCK_SIZE);
	memset(d1, 'b', PMFS2_BLOCK_SIZE);

	/* an extending write to 12000 bytes: size logged, block 2 mapped
	 * (logged: idx[2]), data written, then the crash */
	jbegin(40);
	jundo(40, zus_pmem_off(&pm, &ino->size), 8);
	jz = (struct pmfs2_jzero){ .ino = 5, .from = 5000, .to = 12000 };
	jappend(40, PMFS2_JREC_ZERO, 0, &jz, sizeof(jz));
	jundo(40, zus_pmem_off(&pm, &idx[2]), 8);
	idx[2] = sb.data_start + 3;
	memset(pmfs2_block(&pm, sb.data_start + 3), 'c', PMFS2_BLOCK_SIZE);
	ino->size = 12000;

	ck_assert_int_eq(pmfs2_journal_recover(&pm, &sb, &info, err,
					       sizeof(err)), 0);
	ck_assert_uint_eq(info.undone, 2);
	ck_assert_uint_eq(info.zeroed, 1);
	ck_assert_uint_eq(ino->size, 5000);
	ck_assert_uint_eq(idx[2], 0);	/* unmapped first, so not zeroed */
	ck_assert_int_eq(((char *)pmfs2_block(&pm, sb.data_start + 3))[0], 'c');
	for (unsigned int i = 0; i < PMFS2_BLOCK_SIZE; i++)
		ck_assert_int_eq(d0[i], 'a');
	for (unsigned int i = 0; i < 5000 - PMFS2_BLOCK_SIZE; i++)
		ck_assert_int_eq(d1[i], 'b');
	for (unsigned int i = 5000 - PMFS2_BLOCK_SIZE; i < PMFS2_BLOCK_SIZE; i++)
		ck_assert_int_eq(d1[i], 0);

	/* a huge range takes the map walk, with the same result */
	memset(d1, 'b', PMFS2_BLOCK_SIZE);
	jbegin(41);
	jz = (struct pmfs2_jzero){ .ino = 5, .from = 4100,
				   .to = 1ull << 45 };
	jappend(41, PMFS2_JREC_ZERO, 0, &jz, sizeof(jz));
	ck_assert_int_eq(pmfs2_journal_recover(&pm, &sb, &info, err,
					       sizeof(err)), 0);
	ck_assert_int_eq(d1[3], 'b');
	ck_assert_int_eq(d1[4], 0);
	ck_assert_int_eq(d1[PMFS2_BLOCK_SIZE - 1], 0);
	ck_assert_int_eq(d0[PMFS2_BLOCK_SIZE - 1], 'a');

	/* a map pointing outside the data area: nothing zeroed, -EUCLEAN */
	idx[1] = 3;
	jbegin(42);
	jz = (struct pmfs2_jzero){ .ino = 5, .from = 4096, .to = 8192 };
	jappend(42, PMFS2_JREC_ZERO, 0, &jz, sizeof(jz));
	ck_assert_int_eq(pmfs2_journal_recover(&pm, &sb, &info, err,
					       sizeof(err)), -EUCLEAN);
	ck_assert_uint_eq(jhead()->active_tid, 0);
}
END_TEST

static Suite *format_suite(void)
{
	Suite *s = suite_create("pmfs2_format");
	TCase *tc = tcase_create("format");

	tcase_add_checked_fixture(tc, img_setup, img_teardown);
	tcase_add_test(tc, test_format_geometry);
	tcase_add_test(tc, test_format_options);
	tcase_add_test(tc, test_format_rejects);
	tcase_add_test(tc, test_tier_header);
	tcase_add_test(tc, test_super_validate);
	tcase_add_test(tc, test_super_backup);
	tcase_add_test(tc, test_super_backup_far);
	tcase_add_test(tc, test_super_old_layout);
	tcase_add_test(tc, test_format_size);
	tcase_add_test(tc, test_super_write);
	suite_add_tcase(s, tc);

	tc = tcase_create("recover");
	tcase_add_checked_fixture(tc, img_setup, img_teardown);
	tcase_add_test(tc, test_recover_nothing);
	tcase_add_test(tc, test_recover_undo);
	tcase_add_test(tc, test_recover_torn);
	tcase_add_test(tc, test_recover_invalid);
	tcase_add_test(tc, test_recover_zero);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(format_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
