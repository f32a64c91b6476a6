// SPDX-License-Identifier: BSD-2-Clause
/*
 * lib_base.c - small pieces of the format library every user needs:
 * checksums, time, the directory hash and read-only walks of inodes and
 * block maps.  Nothing read from pmem is trusted.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <pthread.h>
#include <string.h>
#include <time.h>
#include <nmmintrin.h>

#include "pmfs2_lib.h"

void pmfs2_set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* ---- crc32c -------------------------------------------------------- */

static uint32_t crc32c_table[256];

static void crc32c_init_table(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;

		for (int k = 0; k < 8; k++)
			c = (c & 1) ? (c >> 1) ^ 0x82f63b78u : c >> 1;
		crc32c_table[i] = c;
	}
}

static uint32_t crc32c_sw(uint32_t crc, const uint8_t *p, size_t len)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, crc32c_init_table);
	while (len--)
		crc = crc32c_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return crc;
}

__attribute__((target("sse4.2")))
static uint32_t crc32c_hw(uint32_t crc, const uint8_t *p, size_t len)
{
	uint64_t c = crc;

	while (len && ((uintptr_t)p & 7)) {
		c = _mm_crc32_u8((uint32_t)c, *p++);
		len--;
	}
	while (len >= 8) {
		uint64_t v;

		memcpy(&v, p, 8);
		c = _mm_crc32_u64(c, v);
		p += 8;
		len -= 8;
	}
	while (len--)
		c = _mm_crc32_u8((uint32_t)c, *p++);
	return (uint32_t)c;
}

uint32_t pmfs2_crc32c(uint32_t crc, const void *buf, size_t len)
{
	static int have_hw = -1;

	if (have_hw < 0)
		have_hw = __builtin_cpu_supports("sse4.2") ? 1 : 0;
	return have_hw ? crc32c_hw(crc, buf, len) : crc32c_sw(crc, buf, len);
}

uint32_t pmfs2_super_csum(const struct pmfs2_super *s)
{
	return ~pmfs2_crc32c(~0u, s, offsetof(struct pmfs2_super, csum));
}

int64_t pmfs2_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- directory hash: SipHash-2-4 keyed by the superblock's seed ----- */

#define ROTL64(x, b) (((x) << (b)) | ((x) >> (64 - (b))))

static inline void sipround(uint64_t v[4])
{
	v[0] += v[1]; v[1] = ROTL64(v[1], 13); v[1] ^= v[0];
	v[0] = ROTL64(v[0], 32);
	v[2] += v[3]; v[3] = ROTL64(v[3], 16); v[3] ^= v[2];
	v[0] += v[3]; v[3] = ROTL64(v[3], 21); v[3] ^= v[0];
	v[2] += v[1]; v[1] = ROTL64(v[1], 17); v[1] ^= v[2];
	v[2] = ROTL64(v[2], 32);
}

static uint64_t siphash24(uint64_t k0, uint64_t k1, const uint8_t *in,
			  size_t len)
{
	uint64_t v[4] = {
		k0 ^ 0x736f6d6570736575ULL, k1 ^ 0x646f72616e646f6dULL,
		k0 ^ 0x6c7967656e657261ULL, k1 ^ 0x7465646279746573ULL,
	};
	uint64_t b = (uint64_t)len << 56;
	size_t i, full = len & ~(size_t)7;

	for (i = 0; i < full; i += 8) {
		uint64_t m;

		memcpy(&m, in + i, 8);
		v[3] ^= m;
		sipround(v);
		sipround(v);
		v[0] ^= m;
	}
	for (size_t j = 0; j < (len & 7); j++)
		b |= (uint64_t)in[full + j] << (8 * j);
	v[3] ^= b;
	sipround(v);
	sipround(v);
	v[0] ^= b;
	v[2] ^= 0xff;
	for (int r = 0; r < 4; r++)
		sipround(v);
	return v[0] ^ v[1] ^ v[2] ^ v[3];
}

uint64_t pmfs2_name_hash(const struct pmfs2_super *s, const char *name,
			 size_t len)
{
	return siphash24(s->hash_seed[0], s->hash_seed[1],
			 (const uint8_t *)name, len) >> (64 - PMFS2_DIR_HASH_BITS);
}

/* ---- inodes and block maps (read only) ------------------------------ */

struct pmfs2_inode *pmfs2_inode_at(const struct zus_pmem *pm,
				   const struct pmfs2_super *s, uint64_t ino)
{
	uint64_t off;

	if (ino < 1 || ino >= s->inode_count)
		return NULL;
	off = (s->itable_start << PMFS2_BLOCK_SHIFT) + ino * PMFS2_INODE_SIZE;
	if (off + PMFS2_INODE_SIZE > pm->size)
		return NULL;
	return (struct pmfs2_inode *)((char *)pm->base + off);
}

/* A data pointer is a pmem data block or a block inside a tier device. */
static bool data_ptr_ok(const struct pmfs2_super *s, uint64_t ptr)
{
	uint64_t blk = ptr & PMFS2_PTR_BLOCK_MASK;

	if (ptr & ~(PMFS2_PTR_BLOCK_MASK | PMFS2_PTR_TIER))
		return false;
	if (!(ptr & PMFS2_PTR_TIER))
		return pmfs2_data_block_ok(s, blk);
	for (uint32_t i = 0; i < s->ndevs && i < PMFS2_MAX_DEVS; i++)
		if (s->devs[i].role == PMFS2_DEV_TIER &&
		    blk < s->devs[i].size >> PMFS2_BLOCK_SHIFT)
			return true;
	return false;
}

static inline uint64_t load_ptr(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

int pmfs2_bmap_get(const struct zus_pmem *pm, const struct pmfs2_super *s,
		   uint64_t map, uint64_t lblk, uint64_t *ptr)
{
	unsigned int height = map & PMFS2_MAP_HEIGHT_MASK;
	uint64_t blk = map >> PMFS2_MAP_HEIGHT_BITS;

	*ptr = 0;
	if (!map)
		return 0;
	if (height > PMFS2_MAX_HEIGHT || !pmfs2_data_block_ok(s, blk))
		return -EUCLEAN;
	if (height == 0) {
		if (lblk == 0)
			*ptr = blk;
		return 0;
	}
	if (height < PMFS2_MAX_HEIGHT &&
	    (lblk >> (PMFS2_PTR_SHIFT * height)) != 0)
		return 0;	/* beyond what the tree covers: a hole */
	for (unsigned int level = height; level >= 1; level--) {
		const uint64_t *idx = pmfs2_block(pm, blk);
		unsigned int slot = (lblk >> (PMFS2_PTR_SHIFT * (level - 1))) &
				    (PMFS2_PTRS_PER_BLOCK - 1);
		uint64_t p = load_ptr(&idx[slot]);

		if (!p)
			return 0;
		if (level == 1) {
			if (!data_ptr_ok(s, p))
				return -EUCLEAN;
			*ptr = p;
			return 0;
		}
		if ((p & PMFS2_PTR_TIER) || !pmfs2_data_block_ok(s, p))
			return -EUCLEAN;
		blk = p;
	}
	return 0;
}

static int bmap_walk_level(const struct zus_pmem *pm,
			   const struct pmfs2_super *s, uint64_t blk,
			   unsigned int level, uint64_t first,
			   pmfs2_bmap_cb cb, void *ctx)
{
	const uint64_t *idx = pmfs2_block(pm, blk);
	uint64_t span = 1ull << (PMFS2_PTR_SHIFT * (level - 1));
	int ret = cb(ctx, first, blk, (int)level);

	if (ret)
		return ret;
	for (unsigned int i = 0; i < PMFS2_PTRS_PER_BLOCK; i++) {
		uint64_t p = load_ptr(&idx[i]);

		if (!p)
			continue;
		if (level == 1) {
			if (!data_ptr_ok(s, p))
				return -EUCLEAN;
			ret = cb(ctx, first + i, p, 0);
		} else {
			if ((p & PMFS2_PTR_TIER) || !pmfs2_data_block_ok(s, p))
				return -EUCLEAN;
			ret = bmap_walk_level(pm, s, p, level - 1,
					      first + i * span, cb, ctx);
		}
		if (ret)
			return ret;
	}
	return 0;
}

int pmfs2_bmap_walk(const struct zus_pmem *pm, const struct pmfs2_super *s,
		    uint64_t map, pmfs2_bmap_cb cb, void *ctx)
{
	unsigned int height = map & PMFS2_MAP_HEIGHT_MASK;
	uint64_t blk = map >> PMFS2_MAP_HEIGHT_BITS;

	if (!map)
		return 0;
	if (height > PMFS2_MAX_HEIGHT || !pmfs2_data_block_ok(s, blk))
		return -EUCLEAN;
	if (height == 0)
		return cb(ctx, 0, blk, 0);
	return bmap_walk_level(pm, s, blk, height, 0, cb, ctx);
}
