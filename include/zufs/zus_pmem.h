/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * zus_pmem.h - persistent-memory access for plugins, mkfs and fsck.
 *
 * Persistence model (x86): a store reaches the persistence domain only after
 * its cache line is flushed (clwb / clflushopt / clflush) and a fence
 * (sfence) orders it; non-temporal stores need only the fence.  Aligned
 * 8-byte stores are atomic: the only torn-free unit a plugin may rely on.
 *
 * Every store a plugin wants durable must go through zus_pmem_flush() /
 * zus_pmem_memcpy_nt() and then zus_pmem_fence().  Tests install hooks
 * (struct zus_pmem_hooks) that record exactly what was flushed and fenced,
 * so a simulated power cut can drop or tear everything else.
 */
#ifndef ZUFS_ZUS_PMEM_H
#define ZUFS_ZUS_PMEM_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ZUS_CACHELINE	64

struct zus_pmem;

/* Test hooks: called in addition to (not instead of) the real stores. */
struct zus_pmem_hooks {
	/* [addr, addr+len) was flushed (or written non-temporally) */
	void (*flushed)(const struct zus_pmem *pm, const void *addr, size_t len);
	/* a store fence was issued */
	void (*fenced)(const struct zus_pmem *pm);
};

struct zus_pmem {
	void *base;		/* mapping of the whole device */
	uint64_t size;		/* bytes */
	const struct zus_pmem_hooks *hooks;	/* NULL on real pmem */
	void *hooks_ctx;
};

enum zus_flush_kind { ZUS_FLUSH_UNKNOWN, ZUS_FLUSH_CLWB, ZUS_FLUSH_CLFLUSHOPT,
		      ZUS_FLUSH_CLFLUSH };

/* Runtime CPU detection, cached. */
static inline enum zus_flush_kind zus_pmem_flush_kind(void)
{
	static enum zus_flush_kind kind;

	if (__builtin_expect(kind == ZUS_FLUSH_UNKNOWN, 0)) {
#if defined(__x86_64__)
		unsigned int a = 7, b, c = 0, d;

		__asm__ volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
		if (b & (1u << 24))
			kind = ZUS_FLUSH_CLWB;
		else if (b & (1u << 23))
			kind = ZUS_FLUSH_CLFLUSHOPT;
		else
			kind = ZUS_FLUSH_CLFLUSH;
#else
		kind = ZUS_FLUSH_CLFLUSH;
#endif
	}
	return kind;
}

static inline const char *zus_pmem_flush_name(void)
{
	switch (zus_pmem_flush_kind()) {
	case ZUS_FLUSH_CLWB: return "clwb";
	case ZUS_FLUSH_CLFLUSHOPT: return "clflushopt";
	default: return "clflush";
	}
}

/* Flush the cache lines covering [addr, addr+len); not ordered until fence. */
static inline void zus_pmem_flush(const struct zus_pmem *pm, const void *addr,
				  size_t len)
{
	uintptr_t p = (uintptr_t)addr & ~(uintptr_t)(ZUS_CACHELINE - 1);
	uintptr_t end = (uintptr_t)addr + len;

	if (!len)
		return;
#if defined(__x86_64__)
	switch (zus_pmem_flush_kind()) {
	case ZUS_FLUSH_CLWB:
		for (; p < end; p += ZUS_CACHELINE)
			__asm__ volatile("clwb %0"
					 : "+m"(*(volatile char *)p));
		break;
	case ZUS_FLUSH_CLFLUSHOPT:
		for (; p < end; p += ZUS_CACHELINE)
			__asm__ volatile("clflushopt %0"
					 : "+m"(*(volatile char *)p));
		break;
	default:
		for (; p < end; p += ZUS_CACHELINE)
			__asm__ volatile("clflush %0" : "+m"(*(volatile char *)p));
		break;
	}
#else
	(void)p; (void)end;
	__sync_synchronize();
#endif
	if (pm && pm->hooks)
		pm->hooks->flushed(pm, addr, len);
}

static inline void zus_pmem_fence(const struct zus_pmem *pm)
{
#if defined(__x86_64__)
	__asm__ volatile("sfence" ::: "memory");
#else
	__sync_synchronize();
#endif
	if (pm && pm->hooks)
		pm->hooks->fenced(pm);
}

static inline void zus_pmem_persist(const struct zus_pmem *pm,
				    const void *addr, size_t len)
{
	zus_pmem_flush(pm, addr, len);
	zus_pmem_fence(pm);
}

/*
 * Copy to pmem bypassing the cache where it pays (large copies), flushing
 * what was stored through the cache.  Ordered only by the next fence.
 */
static inline void zus_pmem_memcpy_nt(const struct zus_pmem *pm, void *dst,
				      const void *src, size_t len)
{
#if defined(__x86_64__)
	char *d = (char *)dst;
	const char *s = (const char *)src;

	if (len >= 256 && !((uintptr_t)d & 7)) {
		size_t n = len / 8;
		const uint64_t *s8 = (const uint64_t *)(const void *)s;
		long long *d8 = (long long *)(void *)d;

		for (size_t i = 0; i < n; i++) {
			uint64_t v;

			memcpy(&v, s8 + i, 8);
			__builtin_ia32_movnti64(d8 + i, (long long)v);
		}
		if (len & 7) {
			memcpy(d + n * 8, s + n * 8, len & 7);
			zus_pmem_flush(NULL, d + n * 8, len & 7);
		}
		if (pm && pm->hooks)
			pm->hooks->flushed(pm, dst, len);
		return;
	}
#endif
	memcpy(dst, src, len);
	zus_pmem_flush(pm, dst, len);
}

static inline void zus_pmem_memset_nt(const struct zus_pmem *pm, void *dst,
				      int c, size_t len)
{
	memset(dst, c, len);
	zus_pmem_flush(pm, dst, len);
}

/* An 8-byte aligned store that is atomic with respect to power failure. */
static inline void zus_pmem_store64(void *dst, uint64_t v)
{
	__atomic_store_n((uint64_t *)dst, v, __ATOMIC_RELEASE);
}

static inline void *zus_pmem_addr(const struct zus_pmem *pm, uint64_t off)
{
	return (char *)pm->base + off;
}

static inline uint64_t zus_pmem_off(const struct zus_pmem *pm, const void *p)
{
	return (uint64_t)((const char *)p - (const char *)pm->base);
}

#ifdef __cplusplus
}
#endif
#endif /* ZUFS_ZUS_PMEM_H */
