// SPDX-License-Identifier: BSD-2-Clause
/*
 * format.c - pmfs2 superblock validation, loading and writing, and mkfs.
 *
 * Nothing read from the device is trusted: every field of a superblock is
 * range-checked before any other code uses it to compute an address.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <uuid/uuid.h>

#include "pmfs2_lib.h"

/* Largest block number we accept in any geometry field (48-bit pointers). */
#define PMFS2_MAX_BLOCKS	(1ull << 48)

static void fill_random(void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = getrandom(p, len, 0);

		if (n <= 0) {
			/* no entropy source: fall back to libuuid's */
			uuid_t u;
			size_t k = len < sizeof(u) ? len : sizeof(u);

			uuid_generate(u);
			memcpy(p, u, k);
			n = (ssize_t)k;
		}
		p += n;
		len -= (size_t)n;
	}
}

#define FSCK_HINT "run fsck.pmfs2 -y on the device"

int pmfs2_super_validate(const struct pmfs2_super *s, uint64_t dev_size,
			 char *err, size_t errlen)
{
	uint64_t dev_blocks = dev_size >> PMFS2_BLOCK_SHIFT;
	uint64_t jend, iend;
	uint32_t unknown;

	if (s->magic != PMFS2_SUPER_MAGIC) {
		pmfs2_set_err(err, errlen,
			"no pmfs2 superblock (bad magic 0x%llx): not a pmfs2 filesystem, or it was overwritten; create one with mkfs.pmfs2",
			(unsigned long long)s->magic);
		return -EINVAL;
	}
	if (pmfs2_super_csum(s) != s->csum) {
		pmfs2_set_err(err, errlen,
			"superblock checksum mismatch (stored 0x%08x, computed 0x%08x): %s",
			s->csum, pmfs2_super_csum(s), FSCK_HINT);
		return -EUCLEAN;
	}
	if (s->version_major > PMFS2_VERSION_MAJOR) {
		pmfs2_set_err(err, errlen,
			"pmfs2 format version %u.%u is newer than this software supports (%u.x): upgrade zufs",
			s->version_major, s->version_minor,
			PMFS2_VERSION_MAJOR);
		return -EOPNOTSUPP;
	}
	if (s->version_major != PMFS2_VERSION_MAJOR) {
		pmfs2_set_err(err, errlen,
			"superblock has invalid format version %u.%u: %s",
			s->version_major, s->version_minor, FSCK_HINT);
		return -EUCLEAN;
	}
	unknown = s->feature_incompat & ~PMFS2_FEATURE_INCOMPAT_SUPP;
	if (unknown) {
		pmfs2_set_err(err, errlen,
			"filesystem uses unknown incompatible features 0x%x: upgrade zufs",
			unknown);
		return -EOPNOTSUPP;
	}
	if (s->block_size != PMFS2_BLOCK_SIZE ||
	    s->inode_size != PMFS2_INODE_SIZE) {
		pmfs2_set_err(err, errlen,
			"superblock block size %u / inode size %u unsupported (expected %u / %u): %s",
			s->block_size, s->inode_size, PMFS2_BLOCK_SIZE,
			PMFS2_INODE_SIZE, FSCK_HINT);
		return -EUCLEAN;
	}
	if (s->root_ino != PMFS2_ROOT_INO) {
		pmfs2_set_err(err, errlen, "superblock root inode %u is not %u: %s",
			s->root_ino, PMFS2_ROOT_INO, FSCK_HINT);
		return -EUCLEAN;
	}
	if (s->total_blocks > dev_blocks) {
		pmfs2_set_err(err, errlen,
			"filesystem is %llu blocks but the device has only %llu: the image is truncated or the wrong device; restore the whole device",
			(unsigned long long)s->total_blocks,
			(unsigned long long)dev_blocks);
		return -EUCLEAN;
	}
	if (s->total_blocks >= PMFS2_MAX_BLOCKS ||
	    s->journal_start < PMFS2_SB_BACKUP_BLOCK + 1 ||
	    s->journal_start >= PMFS2_MAX_BLOCKS ||
	    s->journal_blocks < PMFS2_MIN_JOURNAL_BLOCKS ||
	    s->journal_blocks >= PMFS2_MAX_BLOCKS ||
	    s->itable_start >= PMFS2_MAX_BLOCKS ||
	    s->itable_blocks < 1 || s->itable_blocks >= PMFS2_MAX_BLOCKS ||
	    s->data_start >= PMFS2_MAX_BLOCKS) {
		pmfs2_set_err(err, errlen,
			"superblock geometry out of range (journal %llu+%llu, inode table %llu+%llu, data %llu, total %llu): %s",
			(unsigned long long)s->journal_start,
			(unsigned long long)s->journal_blocks,
			(unsigned long long)s->itable_start,
			(unsigned long long)s->itable_blocks,
			(unsigned long long)s->data_start,
			(unsigned long long)s->total_blocks, FSCK_HINT);
		return -EUCLEAN;
	}
	jend = s->journal_start + s->journal_blocks;
	iend = s->itable_start + s->itable_blocks;
	if (s->itable_start < jend || s->data_start < iend ||
	    s->data_start >= pmfs2_data_end(s)) {
		pmfs2_set_err(err, errlen,
			"superblock regions overlap or exceed the filesystem (journal %llu..%llu, inode table %llu..%llu, data %llu..%llu): %s",
			(unsigned long long)s->journal_start,
			(unsigned long long)jend,
			(unsigned long long)s->itable_start,
			(unsigned long long)iend,
			(unsigned long long)s->data_start,
			(unsigned long long)s->total_blocks, FSCK_HINT);
		return -EUCLEAN;
	}
	if (s->inode_count != s->itable_blocks * PMFS2_INODES_PER_BLOCK ||
	    s->inode_count <= PMFS2_ROOT_INO) {
		pmfs2_set_err(err, errlen,
			"superblock inode count %llu does not match the inode table (%llu blocks): %s",
			(unsigned long long)s->inode_count,
			(unsigned long long)s->itable_blocks, FSCK_HINT);
		return -EUCLEAN;
	}
	if (s->state < PMFS2_STATE_CLEAN || s->state > PMFS2_STATE_ERROR) {
		pmfs2_set_err(err, errlen, "superblock state %u is invalid: %s",
			s->state, FSCK_HINT);
		return -EUCLEAN;
	}
	if (memchr(s->label, 0, sizeof(s->label)) == NULL) {
		pmfs2_set_err(err, errlen,
			"superblock label is not NUL-terminated: %s", FSCK_HINT);
		return -EUCLEAN;
	}
	if (s->ndevs < 1 || s->ndevs > PMFS2_MAX_DEVS) {
		pmfs2_set_err(err, errlen,
			"superblock device table has %u entries (1..%u allowed): %s",
			s->ndevs, PMFS2_MAX_DEVS, FSCK_HINT);
		return -EUCLEAN;
	}
	if (s->devs[0].role != PMFS2_DEV_PMEM ||
	    s->devs[0].size >> PMFS2_BLOCK_SHIFT != s->total_blocks) {
		pmfs2_set_err(err, errlen,
			"device table entry 0 is not this pmem device (role %u, %llu bytes for %llu blocks): %s",
			s->devs[0].role, (unsigned long long)s->devs[0].size,
			(unsigned long long)s->total_blocks, FSCK_HINT);
		return -EUCLEAN;
	}
	for (uint32_t i = 1; i < s->ndevs; i++) {
		if (s->devs[i].role != PMFS2_DEV_TIER ||
		    s->devs[i].size < PMFS2_BLOCK_SIZE ||
		    (s->devs[i].size >> PMFS2_BLOCK_SHIFT) >= PMFS2_MAX_BLOCKS) {
			pmfs2_set_err(err, errlen,
				"device table entry %u is invalid (role %u, %llu bytes): %s",
				i, s->devs[i].role,
				(unsigned long long)s->devs[i].size,
				FSCK_HINT);
			return -EUCLEAN;
		}
	}
	if (s->ndevs > 1 && !(s->feature_incompat & PMFS2_FEATURE_INCOMPAT_TIER)) {
		pmfs2_set_err(err, errlen,
			"device table lists %u tier devices but the tier feature is off: %s",
			s->ndevs - 1, FSCK_HINT);
		return -EUCLEAN;
	}
	return 0;
}

int pmfs2_super_load_at(const struct zus_pmem *pm, uint64_t blk,
			struct pmfs2_super *out, char *err, size_t errlen)
{
	int ret;

	if (!pm || !pm->base || blk >= pm->size >> PMFS2_BLOCK_SHIFT) {
		pmfs2_set_err(err, errlen,
			"block %llu is past the end of the device (%llu bytes)",
			(unsigned long long)blk,
			pm ? (unsigned long long)pm->size : 0ull);
		return -EINVAL;
	}
	memcpy(out, pmfs2_block(pm, blk), sizeof(*out));
	ret = pmfs2_super_validate(out, pm->size, err, errlen);
	/* a copy is good only where its own geometry puts it */
	if (!ret && blk != PMFS2_SB_BLOCK && blk != pmfs2_sb_backup_block(out)) {
		pmfs2_set_err(err, errlen,
			"the superblock at block %llu says its backup lives at block %llu: it is a stale copy",
			(unsigned long long)blk,
			(unsigned long long)pmfs2_sb_backup_block(out));
		return -EUCLEAN;
	}
	return ret;
}

int pmfs2_super_load(const struct zus_pmem *pm, struct pmfs2_super *out,
		     bool *used_backup, char *err, size_t errlen)
{
	uint64_t cand[2];
	char berr[256];
	int ret;

	if (used_backup)
		*used_backup = false;
	if (!pm || !pm->base ||
	    pm->size < (PMFS2_SB_BACKUP_BLOCK + 1) * (uint64_t)PMFS2_BLOCK_SIZE) {
		pmfs2_set_err(err, errlen,
			"device too small to hold a pmfs2 filesystem (%llu bytes)",
			pm ? (unsigned long long)pm->size : 0ull);
		return -EINVAL;
	}
	ret = pmfs2_super_load_at(pm, PMFS2_SB_BLOCK, out, err, errlen);
	if (!ret || ret == -EOPNOTSUPP)
		return ret;

	/*
	 * The backup of a filesystem that fills its device (what mkfs makes
	 * unless given a size) is the device's last block; older ones have
	 * it at block 1.  A smaller filesystem's: fsck.pmfs2 -b BLOCK.
	 */
	cand[0] = (pm->size >> PMFS2_BLOCK_SHIFT) - 1;
	cand[1] = PMFS2_SB_BACKUP_BLOCK;
	for (unsigned int i = 0; i < 2; i++) {
		if (!pmfs2_super_load_at(pm, cand[i], out, berr,
					 sizeof(berr))) {
			if (used_backup)
				*used_backup = true;
			return 0;
		}
	}
	/* both bad: report the primary's error */
	memcpy(out, pmfs2_block(pm, PMFS2_SB_BLOCK), sizeof(*out));
	return ret;
}

void pmfs2_super_write(const struct zus_pmem *pm, struct pmfs2_super *s,
		       bool backup_too)
{
	void *p = pmfs2_block(pm, PMFS2_SB_BLOCK);

	s->csum = pmfs2_super_csum(s);
	/* primary first: a torn primary is replaced from the old backup; a
	 * torn backup is rewritten from the durable primary */
	memcpy(p, s, sizeof(*s));
	zus_pmem_persist(pm, p, sizeof(*s));
	if (backup_too) {
		p = pmfs2_block(pm, pmfs2_sb_backup_block(s));
		memcpy(p, s, sizeof(*s));
		zus_pmem_persist(pm, p, sizeof(*s));
	}
}

static void copy_hint(char *dst, size_t dlen, const char *src)
{
	size_t n;

	memset(dst, 0, dlen);
	if (!src)
		return;
	n = strlen(src);
	if (n >= dlen) {
		/* keep the tail: "/dev/disk/by-id/...-part1" is told apart
		 * by its end */
		src += n - (dlen - 1);
		n = dlen - 1;
	}
	memcpy(dst, src, n);
}

#define ITABLE_CHUNK	(16u << 20)	/* bytes zeroed between progress calls */

int pmfs2_format(const struct zus_pmem *pm, const struct pmfs2_mkfs_opts *o,
		 char *err, size_t errlen)
{
	static const struct pmfs2_mkfs_opts defaults;
	struct pmfs2_super s;
	struct pmfs2_journal_head jh;
	struct pmfs2_inode *root;
	uint64_t total, jblocks, inodes, iblocks, min_blocks, size, dev_last;
	uint64_t itable;
	int64_t now;

	if (!o)
		o = &defaults;
	if (!pm || !pm->base) {
		pmfs2_set_err(err, errlen, "no device mapped");
		return -EINVAL;
	}
	size = o->size ? o->size : pm->size;
	if (size > pm->size) {
		pmfs2_set_err(err, errlen,
			"a filesystem of %llu bytes does not fit on the device (%llu bytes)",
			(unsigned long long)size, (unsigned long long)pm->size);
		return -EINVAL;
	}
	total = size >> PMFS2_BLOCK_SHIFT;
	min_blocks = PMFS2_MIN_BLOCKS;
	if (total < min_blocks) {
		pmfs2_set_err(err, errlen,
			"%s too small: %llu bytes, pmfs2 needs at least %llu KiB",
			o->size ? "filesystem size" : "device",
			(unsigned long long)size,
			(unsigned long long)min_blocks * PMFS2_BLOCK_SIZE / 1024);
		return -EINVAL;
	}
	if (total >= PMFS2_MAX_BLOCKS) {
		pmfs2_set_err(err, errlen, "device too large: at most %llu blocks",
			(unsigned long long)PMFS2_MAX_BLOCKS - 1);
		return -EINVAL;
	}

	jblocks = o->journal_blocks;
	if (!jblocks) {
		/* the default, shrunk on small devices to 1/32 of them */
		jblocks = total / 32;
		if (jblocks > PMFS2_DEF_JOURNAL_BLOCKS)
			jblocks = PMFS2_DEF_JOURNAL_BLOCKS;
		if (jblocks < PMFS2_MIN_JOURNAL_BLOCKS)
			jblocks = PMFS2_MIN_JOURNAL_BLOCKS;
	}
	if (jblocks < PMFS2_MIN_JOURNAL_BLOCKS ||
	    jblocks > total - min_blocks + PMFS2_MIN_JOURNAL_BLOCKS) {
		pmfs2_set_err(err, errlen,
			"journal of %llu blocks does not fit: use %u..%llu blocks",
			(unsigned long long)jblocks, PMFS2_MIN_JOURNAL_BLOCKS,
			(unsigned long long)(total - min_blocks +
					     PMFS2_MIN_JOURNAL_BLOCKS));
		return -EINVAL;
	}

	inodes = o->inodes;
	if (!inodes)
		inodes = size / PMFS2_DEF_BYTES_PER_INODE;
	if (inodes < 16)
		inodes = 16;
	if (inodes >= PMFS2_MAX_BLOCKS)
		inodes = PMFS2_MAX_BLOCKS - 1;
	/* slot 0 is unused: room for `inodes` usable inode numbers */
	iblocks = (inodes + 1 + PMFS2_INODES_PER_BLOCK - 1) /
		  PMFS2_INODES_PER_BLOCK;
	/* the default shrinks to leave the minimum data area on tiny devices */
	if (!o->inodes && iblocks > total - 3 - jblocks - 16)
		iblocks = total - 3 - jblocks - 16;
	if (iblocks > total - 3 - jblocks - 16 || o->inodes >= PMFS2_MAX_BLOCKS) {
		pmfs2_set_err(err, errlen,
			"%llu inodes do not fit on this device with a %llu-block journal: use at most %llu inodes",
			(unsigned long long)inodes, (unsigned long long)jblocks,
			(unsigned long long)((total - 3 - jblocks - 16) *
					     PMFS2_INODES_PER_BLOCK - 1));
		return -EINVAL;
	}
	if (o->label && strlen(o->label) >= PMFS2_LABEL_MAX) {
		pmfs2_set_err(err, errlen, "label \"%s\" is too long: at most %d bytes",
			o->label, PMFS2_LABEL_MAX - 1);
		return -EINVAL;
	}
	if (o->ntier > PMFS2_MAX_DEVS - 1) {
		pmfs2_set_err(err, errlen, "too many tier devices (%u): at most %d",
			o->ntier, PMFS2_MAX_DEVS - 1);
		return -EINVAL;
	}
	for (unsigned int i = 0; i < o->ntier; i++) {
		if (!o->tier_uuid || !o->tier_size ||
		    o->tier_size[i] < PMFS2_BLOCK_SIZE ||
		    (o->tier_size[i] >> PMFS2_BLOCK_SHIFT) >= PMFS2_MAX_BLOCKS) {
			pmfs2_set_err(err, errlen,
				"tier device %u: missing identity or size out of range (%llu bytes)",
				i, o->tier_size ?
				(unsigned long long)o->tier_size[i] : 0ull);
			return -EINVAL;
		}
	}

	now = pmfs2_now();
	memset(&s, 0, sizeof(s));
	s.magic = PMFS2_SUPER_MAGIC;
	s.version_major = PMFS2_VERSION_MAJOR;
	s.version_minor = PMFS2_VERSION_MINOR;
	s.block_size = PMFS2_BLOCK_SIZE;
	s.feature_ro_compat = PMFS2_FEATURE_RO_COMPAT_BACKUP_END;
	s.total_blocks = total;
	s.journal_start = PMFS2_SB_BACKUP_BLOCK + 1;
	s.journal_blocks = jblocks;
	s.itable_start = s.journal_start + jblocks;
	s.itable_blocks = iblocks;
	s.inode_count = iblocks * PMFS2_INODES_PER_BLOCK;
	s.data_start = s.itable_start + iblocks;
	s.inode_size = PMFS2_INODE_SIZE;
	s.root_ino = PMFS2_ROOT_INO;
	fill_random(s.hash_seed, sizeof(s.hash_seed));
	s.mkfs_time = now;
	s.write_time = now;
	s.state = PMFS2_STATE_CLEAN;
	if (o->uuid)
		memcpy(s.uuid, o->uuid, sizeof(s.uuid));
	else
		uuid_generate(s.uuid);
	if (o->label)
		memcpy(s.label, o->label, strlen(o->label));
	s.ndevs = 1 + o->ntier;
	uuid_generate(s.devs[0].uuid);
	s.devs[0].size = total << PMFS2_BLOCK_SHIFT;
	s.devs[0].role = PMFS2_DEV_PMEM;
	copy_hint(s.devs[0].hint, sizeof(s.devs[0].hint), o->dev_hint);
	for (unsigned int i = 0; i < o->ntier; i++) {
		struct pmfs2_devent *d = &s.devs[1 + i];

		memcpy(d->uuid, o->tier_uuid[i], sizeof(d->uuid));
		d->size = o->tier_size[i] & ~(uint64_t)(PMFS2_BLOCK_SIZE - 1);
		d->role = PMFS2_DEV_TIER;
		copy_hint(d->hint, sizeof(d->hint),
			  o->tier_hint ? o->tier_hint[i] : NULL);
	}
	if (o->ntier)
		s.feature_incompat |= PMFS2_FEATURE_INCOMPAT_TIER;

	/*
	 * First make the device not look like pmfs2 (nor like whatever it
	 * held: block 0 carries most signatures), so a crash mid-format
	 * leaves nothing mountable; then lay out the regions; then commit by
	 * writing the superblocks.
	 */
	zus_pmem_memset_nt(pm, pmfs2_block(pm, 0), 0,
			   2 * (size_t)PMFS2_BLOCK_SIZE);
	/* nor can an earlier filesystem's backup at the device's end be
	 * taken for this one's (only ours: other data is left alone) */
	dev_last = (pm->size >> PMFS2_BLOCK_SHIFT) - 1;
	if (dev_last != total - 1 &&
	    ((const struct pmfs2_super *)pmfs2_block(pm, dev_last))->magic ==
	    PMFS2_SUPER_MAGIC)
		zus_pmem_memset_nt(pm, pmfs2_block(pm, dev_last), 0,
				   PMFS2_BLOCK_SIZE);
	zus_pmem_fence(pm);

	/* the whole journal is zeroed so no stale record can ever match */
	zus_pmem_memset_nt(pm, pmfs2_block(pm, s.journal_start), 0,
			   (size_t)(jblocks << PMFS2_BLOCK_SHIFT));
	memset(&jh, 0, sizeof(jh));
	jh.magic = PMFS2_JOURNAL_MAGIC;
	memcpy(pmfs2_block(pm, s.journal_start), &jh, sizeof(jh));
	zus_pmem_flush(pm, pmfs2_block(pm, s.journal_start), sizeof(jh));

	/* in chunks, so a large table can show its progress */
	itable = iblocks << PMFS2_BLOCK_SHIFT;
	if (o->progress)
		o->progress(o->ctx, 0, itable);
	for (uint64_t off = 0; off < itable; off += ITABLE_CHUNK) {
		uint64_t len = itable - off < ITABLE_CHUNK ?
			       itable - off : ITABLE_CHUNK;

		zus_pmem_memset_nt(pm, (char *)pmfs2_block(pm, s.itable_start) +
				   off, 0, (size_t)len);
		if (o->progress)
			o->progress(o->ctx, off + len, itable);
	}

	root = pmfs2_inode_at(pm, &s, PMFS2_ROOT_INO);
	root->mode = S_IFDIR | (o->root_mode ? (o->root_mode & 07777) : 0755);
	root->nlink = 2;
	root->uid = o->root_uid;
	root->gid = o->root_gid;
	root->atime = root->mtime = root->ctime = root->btime = now;
	fill_random(&root->generation, sizeof(root->generation));
	root->map = 0;
	root->parent = PMFS2_ROOT_INO;
	zus_pmem_flush(pm, root, sizeof(*root));
	zus_pmem_fence(pm);

	/* backup first, then the primary that makes it a filesystem */
	s.csum = pmfs2_super_csum(&s);
	memset(pmfs2_block(pm, total - 1), 0, PMFS2_BLOCK_SIZE);
	memcpy(pmfs2_block(pm, total - 1), &s, sizeof(s));
	zus_pmem_persist(pm, pmfs2_block(pm, total - 1), PMFS2_BLOCK_SIZE);
	pmfs2_super_write(pm, &s, false);
	return 0;
}
