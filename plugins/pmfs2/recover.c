// SPDX-License-Identifier: BSD-2-Clause
/*
 * recover.c - roll back an interrupted undo-journal transaction (see the
 * protocol in pmfs2_format.h).
 *
 * Every record is validated before it is used: tid, crc, type, length, and
 * for UNDO the target range must lie inside the filesystem after the journal
 * (never the superblocks nor the journal itself); for ZERO the inode number
 * must be valid.  Collection stops at the first record that does not belong
 * to the active transaction or fails its crc (a torn append).  A record with
 * a good crc but an impossible target is damage: the valid prefix is still
 * rolled back and the journal closed, and -EUCLEAN tells the caller to run
 * fsck.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pmfs2_lib.h"

/* Bytes a record of `len` data bytes takes in the journal. */
static inline uint64_t jrec_span(uint32_t len)
{
	return (sizeof(struct pmfs2_jrec) + (uint64_t)len + 7) & ~7ull;
}

static uint32_t jrec_csum(const struct pmfs2_jrec *h, const void *data)
{
	struct pmfs2_jrec tmp = *h;
	uint32_t crc;

	tmp.csum = 0;
	crc = pmfs2_crc32c(~0u, &tmp, sizeof(tmp));
	crc = pmfs2_crc32c(crc, data, h->len);
	return ~crc;
}

struct zero_ctx {
	const struct zus_pmem *pm;
	const struct pmfs2_super *s;
	uint64_t from, to;
	uint64_t budget;	/* index blocks we may still visit */
};

static void zero_in_block(const struct zus_pmem *pm,
			  const struct pmfs2_super *s, uint64_t lblk,
			  uint64_t ptr, uint64_t from, uint64_t to)
{
	uint64_t bstart = lblk << PMFS2_BLOCK_SHIFT;
	uint64_t a, b;
	char *p;

	if (!ptr || (ptr & PMFS2_PTR_TIER))
		return;		/* holes need nothing; tier data is not ours */
	if (!pmfs2_data_block_ok(s, ptr))
		return;
	a = from > bstart ? from - bstart : 0;
	b = to - bstart < PMFS2_BLOCK_SIZE ? to - bstart : PMFS2_BLOCK_SIZE;
	if (a >= b)
		return;
	p = (char *)pmfs2_block(pm, ptr) + a;
	memset(p, 0, b - a);
	zus_pmem_flush(pm, p, b - a);
}

static int zero_walk_cb(void *ctx, uint64_t lblk, uint64_t ptr, int level)
{
	struct zero_ctx *z = ctx;

	if (level > 0) {
		/* a map whose index blocks repeat could make the walk
		 * exponential: stop once it exceeds the device */
		if (!z->budget--)
			return -EUCLEAN;
		return 0;
	}
	if (lblk >= (z->from >> PMFS2_BLOCK_SHIFT) &&
	    lblk <= ((z->to - 1) >> PMFS2_BLOCK_SHIFT))
		zero_in_block(z->pm, z->s, lblk, ptr, z->from, z->to);
	return 0;
}

/* Above this many blocks, walk the map instead of looking each one up. */
#define ZERO_LOOKUP_MAX	(1ull << 16)

static int apply_zero(const struct zus_pmem *pm, const struct pmfs2_super *s,
		      const struct pmfs2_jzero *jz)
{
	const struct pmfs2_inode *ino = pmfs2_inode_at(pm, s, jz->ino);
	uint64_t first, last, map;
	int ret = 0;

	if (!ino || jz->from >= jz->to)
		return 0;
	map = __atomic_load_n(&ino->map, __ATOMIC_ACQUIRE);
	if (!ino->mode || !map)
		return 0;
	first = jz->from >> PMFS2_BLOCK_SHIFT;
	last = (jz->to - 1) >> PMFS2_BLOCK_SHIFT;
	if (last - first < ZERO_LOOKUP_MAX) {
		for (uint64_t l = first; l <= last; l++) {
			uint64_t ptr;

			if (pmfs2_bmap_get(pm, s, map, l, &ptr)) {
				ret = -EUCLEAN;
				continue;
			}
			zero_in_block(pm, s, l, ptr, jz->from, jz->to);
		}
	} else {
		struct zero_ctx z = {
			.pm = pm, .s = s, .from = jz->from, .to = jz->to,
			.budget = s->total_blocks,
		};

		ret = pmfs2_bmap_walk(pm, s, map, zero_walk_cb, &z);
	}
	return ret;
}

int pmfs2_journal_recover(const struct zus_pmem *pm,
			  const struct pmfs2_super *s,
			  struct pmfs2_recover_info *info,
			  char *err, size_t errlen)
{
	struct pmfs2_journal_head *jh;
	uint64_t jsize, jend_off, fs_end, pos, active, seq;
	uint64_t *recs = NULL;
	size_t nrecs = 0, cap = 0;
	struct pmfs2_recover_info dummy;
	const char *bad = NULL;
	uint64_t bad_at = 0;
	int ret = 0;

	if (!info)
		info = &dummy;
	memset(info, 0, sizeof(*info));
	if (!pm || !s || s->total_blocks > pm->size >> PMFS2_BLOCK_SHIFT ||
	    s->journal_start + s->journal_blocks > s->total_blocks ||
	    s->journal_blocks < 1) {
		pmfs2_set_err(err, errlen,
			"journal recovery needs a validated superblock for this device");
		return -EINVAL;
	}
	jh = pmfs2_block(pm, s->journal_start);
	if (jh->magic != PMFS2_JOURNAL_MAGIC) {
		pmfs2_set_err(err, errlen,
			"journal head at block %llu has bad magic 0x%llx: run fsck.pmfs2 -y on the device",
			(unsigned long long)s->journal_start,
			(unsigned long long)jh->magic);
		return -EUCLEAN;
	}
	active = __atomic_load_n(&jh->active_tid, __ATOMIC_ACQUIRE);
	seq = __atomic_load_n(&jh->seq, __ATOMIC_ACQUIRE);
	if (!active)
		return 0;
	info->tid = active;

	jsize = s->journal_blocks << PMFS2_BLOCK_SHIFT;
	jend_off = (s->journal_start + s->journal_blocks) << PMFS2_BLOCK_SHIFT;
	fs_end = s->total_blocks << PMFS2_BLOCK_SHIFT;

	/* collect this transaction's records, validating each */
	for (pos = PMFS2_JREC_START; pos + sizeof(struct pmfs2_jrec) <= jsize;) {
		const struct pmfs2_jrec *r =
			(const void *)((char *)jh + pos);
		struct pmfs2_jrec h;
		const void *data;

		memcpy(&h, r, sizeof(h));
		if (h.tid != active)
			break;
		if (h.len > jsize - pos - sizeof(h))
			break;		/* torn or garbage length */
		data = (const char *)r + sizeof(h);
		if (jrec_csum(&h, data) != h.csum)
			break;		/* torn append: not part of the log */
		if (h.type == PMFS2_JREC_UNDO) {
			if (h.len == 0 || h.off < jend_off || h.off >= fs_end ||
			    h.len > fs_end - h.off) {
				bad = "UNDO range outside the metadata/data area";
				bad_at = pos;
				break;
			}
		} else if (h.type == PMFS2_JREC_ZERO) {
			struct pmfs2_jzero jz;

			if (h.len != sizeof(jz)) {
				bad = "ZERO record of the wrong length";
				bad_at = pos;
				break;
			}
			memcpy(&jz, data, sizeof(jz));
			if (jz.ino < 1 || jz.ino >= s->inode_count ||
			    jz.from > jz.to) {
				bad = "ZERO record with an invalid inode or range";
				bad_at = pos;
				break;
			}
		} else {
			bad = "unknown record type";
			bad_at = pos;
			break;
		}
		if (nrecs == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			uint64_t *n = realloc(recs, ncap * sizeof(*recs));

			if (!n) {
				free(recs);
				pmfs2_set_err(err, errlen,
					"out of memory while recovering the journal");
				return -ENOMEM;
			}
			recs = n;
			cap = ncap;
		}
		recs[nrecs++] = pos;
		pos += jrec_span(h.len);
	}

	/* UNDO newest first: the oldest image of each byte wins */
	for (size_t i = nrecs; i-- > 0;) {
		const struct pmfs2_jrec *r = (const void *)((char *)jh + recs[i]);
		void *dst;

		if (r->type != PMFS2_JREC_UNDO)
			continue;
		dst = zus_pmem_addr(pm, r->off);
		memmove(dst, (const char *)r + sizeof(*r), r->len);
		zus_pmem_flush(pm, dst, r->len);
		info->undone++;
	}
	zus_pmem_fence(pm);

	/* then ZERO, against the maps the UNDO records restored */
	for (size_t i = 0; i < nrecs; i++) {
		const struct pmfs2_jrec *r = (const void *)((char *)jh + recs[i]);
		struct pmfs2_jzero jz;

		if (r->type != PMFS2_JREC_ZERO)
			continue;
		memcpy(&jz, (const char *)r + sizeof(*r), sizeof(jz));
		if (apply_zero(pm, s, &jz) && !bad) {
			bad = "ZERO record for an inode with a damaged block map";
			bad_at = recs[i];
		}
		info->zeroed++;
	}
	zus_pmem_fence(pm);
	free(recs);

	/* close the transaction */
	if (seq < active)
		zus_pmem_store64(&jh->seq, active);
	zus_pmem_persist(pm, &jh->seq, sizeof(jh->seq));
	zus_pmem_store64(&jh->active_tid, 0);
	zus_pmem_persist(pm, &jh->active_tid, sizeof(jh->active_tid));

	if (bad) {
		pmfs2_set_err(err, errlen,
			"journal transaction %llu: %s at journal byte %llu (the %u valid records before it were rolled back): run fsck.pmfs2 -y on the device",
			(unsigned long long)active, bad,
			(unsigned long long)bad_at, info->undone + info->zeroed);
		ret = -EUCLEAN;
	}
	return ret;
}
