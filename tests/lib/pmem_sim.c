// SPDX-License-Identifier: BSD-2-Clause
/*
 * pmem_sim.c - power-cut simulator (see pmem_sim.h).
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pmem_sim.h"

struct pending_line {
	uint64_t off;			/* cache-line aligned */
	unsigned char data[ZUS_CACHELINE];
};

struct pmem_sim {
	struct zus_pmem pmem;		/* base: the working image */
	unsigned char *durable;
	size_t size;

	struct pending_line *pending;
	size_t npending, cap;

	uint64_t cut_at;
	pmem_sim_cut_fn cut_fn;
	void *cut_ctx;

	struct pmem_sim_stats st;
};

static void sim_flushed(const struct zus_pmem *pm, const void *addr,
			size_t len);
static void sim_fenced(const struct zus_pmem *pm);

static const struct zus_pmem_hooks sim_hooks = {
	.flushed = sim_flushed,
	.fenced = sim_fenced,
};

static void oom(void)
{
	fprintf(stderr, "pmem_sim: out of memory\n");
	abort();
}

struct pmem_sim *pmem_sim_new(size_t size)
{
	struct pmem_sim *ps = calloc(1, sizeof(*ps));

	if (!ps)
		oom();
	size &= ~(size_t)4095;
	ps->size = size;
	ps->pmem.base = aligned_alloc(4096, size);
	ps->durable = aligned_alloc(4096, size);
	if (!ps->pmem.base || !ps->durable)
		oom();
	memset(ps->pmem.base, 0, size);
	memset(ps->durable, 0, size);
	ps->pmem.size = size;
	ps->pmem.hooks = &sim_hooks;
	ps->pmem.hooks_ctx = ps;
	return ps;
}

void pmem_sim_free(struct pmem_sim *ps)
{
	if (!ps)
		return;
	free(ps->pmem.base);
	free(ps->durable);
	free(ps->pending);
	free(ps);
}

const struct zus_pmem *pmem_sim_pmem(struct pmem_sim *ps)
{
	return &ps->pmem;
}

struct zus_pmem pmem_sim_raw(struct pmem_sim *ps)
{
	struct zus_pmem pm = ps->pmem;

	pm.hooks = NULL;
	pm.hooks_ctx = NULL;
	return pm;
}

void pmem_sim_sync(struct pmem_sim *ps)
{
	memcpy(ps->durable, ps->pmem.base, ps->size);
	ps->npending = 0;
}

uint64_t pmem_sim_fences(const struct pmem_sim *ps)
{
	return ps->st.fences;
}

void pmem_sim_set_cut(struct pmem_sim *ps, uint64_t fence, pmem_sim_cut_fn fn,
		      void *ctx)
{
	ps->cut_at = fence;
	ps->cut_fn = fn;
	ps->cut_ctx = ctx;
}

void pmem_sim_get_stats(const struct pmem_sim *ps, struct pmem_sim_stats *st)
{
	*st = ps->st;
}

static void sim_flushed(const struct zus_pmem *pm, const void *addr,
			size_t len)
{
	struct pmem_sim *ps = pm->hooks_ctx;
	const unsigned char *base = ps->pmem.base;
	uint64_t start, end;

	if (!len)
		return;
	if ((const unsigned char *)addr < base ||
	    (const unsigned char *)addr + len > base + ps->size) {
		fprintf(stderr, "pmem_sim: flush of %p+%zu outside the image\n",
			addr, len);
		abort();
	}
	start = ((const unsigned char *)addr - base) & ~(uint64_t)(ZUS_CACHELINE - 1);
	end = (const unsigned char *)addr - base + len;
	ps->st.flushes++;
	for (uint64_t off = start; off < end; off += ZUS_CACHELINE) {
		struct pending_line *pl;

		if (ps->npending == ps->cap) {
			size_t cap = ps->cap ? ps->cap * 2 : 1024;

			pl = realloc(ps->pending, cap * sizeof(*pl));
			if (!pl)
				oom();
			ps->pending = pl;
			ps->cap = cap;
		}
		pl = &ps->pending[ps->npending++];
		pl->off = off;
		memcpy(pl->data, base + off, ZUS_CACHELINE);
		ps->st.lines_flushed++;
	}
}

static void sim_fenced(const struct zus_pmem *pm)
{
	struct pmem_sim *ps = pm->hooks_ctx;

	ps->st.fences++;
	if (ps->cut_fn && ps->st.fences == ps->cut_at) {
		pmem_sim_cut_fn fn = ps->cut_fn;

		ps->cut_fn = NULL;
		fn(ps, ps->st.fences, ps->cut_ctx);
	}
	for (size_t i = 0; i < ps->npending; i++) {
		memcpy(ps->durable + ps->pending[i].off, ps->pending[i].data,
		       ZUS_CACHELINE);
	}
	ps->st.bytes_applied += ps->npending * ZUS_CACHELINE;
	ps->npending = 0;
}

static uint64_t xs64(uint64_t *s)
{
	uint64_t x = *s ? *s : 0x2545f4914f6cdd1dull;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

size_t pmem_sim_crash_image(const struct pmem_sim *ps, void *out,
			    uint32_t keep, uint64_t *rng)
{
	const uint64_t *w = ps->pmem.base;
	const uint64_t *d = (const uint64_t *)(const void *)ps->durable;
	uint64_t *o = out;
	size_t nwords = ps->size / 8, ndiff = 0;

	memcpy(out, ps->durable, ps->size);
	for (size_t i = 0; i < nwords; i++) {
		if (w[i] == d[i])
			continue;
		ndiff++;
		if (keep >= 65536 || (keep && (xs64(rng) & 0xffff) < keep))
			o[i] = w[i];
	}
	return ndiff;
}

size_t pmem_sim_diff_summary(const struct pmem_sim *ps, char *buf, size_t len,
			     unsigned int max)
{
	const uint64_t *w = ps->pmem.base;
	const uint64_t *d = (const uint64_t *)(const void *)ps->durable;
	size_t nblocks = ps->size / 4096, ndiff = 0, pos = 0;

	if (len)
		buf[0] = '\0';
	for (size_t b = 0; b < nblocks; b++) {
		unsigned int words = 0;

		for (size_t i = b * 512; i < (b + 1) * 512; i++)
			words += w[i] != d[i];
		if (!words)
			continue;
		if (ndiff++ < max && pos < len) {
			int n = snprintf(buf + pos, len - pos, "%sblock %zu: %u words",
					 pos ? ", " : "", b, words);

			if (n > 0)
				pos += (size_t)n;
			/* a few words: say which (byte offsets in the block) */
			for (size_t i = b * 512; words <= 4 && i < (b + 1) * 512 &&
			     pos < len; i++) {
				if (w[i] == d[i])
					continue;
				n = snprintf(buf + pos, len - pos, " +%#zx", (i - b * 512) * 8);
				if (n > 0)
					pos += (size_t)n;
			}
		}
	}
	return ndiff;
}
