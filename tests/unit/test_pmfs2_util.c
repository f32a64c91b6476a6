// SPDX-License-Identifier: BSD-2-Clause
/*
 * test_pmfs2_util.c - see test_pmfs2_util.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "test_pmfs2_util.h"

static void tlog(struct zus_sb *sb, int prio, const char *msg)
{
	struct tfs *t = sb->host_private;

	if (prio <= ZUS_LOG_ERR)
		t->nerrlog++;
	snprintf(t->lastlog, sizeof(t->lastlog), "%s", msg);
	if (getenv("PMFS2_TEST_VERBOSE"))
		fprintf(stderr, "log<%d>: %s\n", prio, msg);
}

/*
 * Power-cut model: a shadow image receives a range only when it was flushed
 * and then fenced; a snapshot of the shadow is taken at every fence.
 */
/*
 * Power-cut model: a flush captures the bytes as they are at that moment;
 * they reach the shadow image (what survives a cut) only at the next fence.
 * A snapshot of the shadow is taken at every fence.
 */
struct pend {
	size_t off, len;
	char data[];
};

static void hook_flushed(const struct zus_pmem *pm, const void *a, size_t l)
{
	struct tfs *t = pm->hooks_ctx;
	uintptr_t off = (uintptr_t)a - (uintptr_t)pm->base;
	struct pend *p;

	if (!t->snap || off >= t->size)
		return;
	if (l > t->size - off)
		l = t->size - off;
	if (t->npending == t->cappending) {
		t->cappending = t->cappending ? 2 * t->cappending : 256;
		t->pending = realloc(t->pending,
				     t->cappending * sizeof(*t->pending));
		ck_assert_ptr_nonnull(t->pending);
	}
	p = malloc(sizeof(*p) + l);
	ck_assert_ptr_nonnull(p);
	p->off = off;
	p->len = l;
	memcpy(p->data, a, l);
	t->pending[t->npending++] = p;
}

static void hook_fenced(const struct zus_pmem *pm)
{
	struct tfs *t = pm->hooks_ctx;
	void *copy;

	if (!t->snap)
		return;
	for (size_t i = 0; i < t->npending; i++) {
		struct pend *p = t->pending[i];

		memcpy((char *)t->shadow + p->off, p->data, p->len);
		free(p);
	}
	t->npending = 0;
	if (t->nsnaps == t->capsnaps) {
		t->capsnaps = t->capsnaps ? 2 * t->capsnaps : 64;
		t->snaps = realloc(t->snaps, t->capsnaps * sizeof(*t->snaps));
		ck_assert_ptr_nonnull(t->snaps);
	}
	copy = malloc(t->size);
	ck_assert_ptr_nonnull(copy);
	memcpy(copy, t->shadow, t->size);
	t->snaps[t->nsnaps++] = copy;
}

static const struct zus_pmem_hooks hooks = {
	.flushed = hook_flushed,
	.fenced = hook_fenced,
};

static void setup_sb(struct tfs *t, size_t size)
{
	memset(t, 0, sizeof(*t));
	t->ops = &pmfs2_ops;
	t->size = size;
	t->sb.pmem.base = mmap(NULL, size, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ck_assert_ptr_ne(t->sb.pmem.base, MAP_FAILED);
	t->sb.pmem.size = size;
	t->sb.pmem.hooks = &hooks;
	t->sb.pmem.hooks_ctx = t;
	t->sb.dev_path = "testimg";
	t->sb.log = tlog;
	t->sb.host_private = t;
}

void tfs_init(struct tfs *t, size_t size, uint64_t inodes)
{
	struct pmfs2_mkfs_opts o = { .inodes = inodes, .label = "unit" };
	char err[256];

	setup_sb(t, size);
	ck_assert_msg(pmfs2_format(&t->sb.pmem, &o, err, sizeof(err)) == 0,
		      "format: %s", err);
	ck_assert_int_eq(tfs_mount(t), 0);
}

void tfs_init_copy(struct tfs *t, const void *img, size_t size)
{
	setup_sb(t, size);
	memcpy(t->sb.pmem.base, img, size);
}

void tfs_fini(struct tfs *t)
{
	if (t->mounted)
		tfs_umount(t);
	tfs_snap_free(t);
	munmap(t->sb.pmem.base, t->size);
	t->sb.pmem.base = NULL;
}

int tfs_mount(struct tfs *t)
{
	int err = t->ops->mount(&t->sb);

	t->mounted = !err;
	return err;
}

void tfs_umount(struct tfs *t)
{
	ck_assert(t->mounted);
	t->ops->umount(&t->sb);
	t->mounted = false;
}

void tfs_cycle(struct tfs *t)
{
	tfs_umount(t);
	ck_assert_int_eq(tfs_mount(t), 0);
}

static void report(void *ctx, const char *msg)
{
	fprintf(stderr, "fsck: %s\n", msg);
}

unsigned int tfs_fsck(struct tfs *t)
{
	struct pmfs2_check_opts o = { .report = report };
	struct pmfs2_check_result r;

	ck_assert_int_eq(pmfs2_check(&t->sb.pmem, &o, &r), 0);
	return r.errors;
}

void tfs_snap_start(struct tfs *t)
{
	tfs_snap_free(t);
	t->shadow = malloc(t->size);
	ck_assert_ptr_nonnull(t->shadow);
	memcpy(t->shadow, t->sb.pmem.base, t->size);
	t->npending = 0;
	t->snap = true;
}

void tfs_snap_stop(struct tfs *t)
{
	t->snap = false;
}

void tfs_snap_free(struct tfs *t)
{
	for (unsigned int i = 0; i < t->nsnaps; i++)
		free(t->snaps[i]);
	free(t->snaps);
	t->snaps = NULL;
	t->nsnaps = t->capsnaps = 0;
	free(t->shadow);
	t->shadow = NULL;
	for (size_t i = 0; i < t->npending; i++)
		free(t->pending[i]);
	free(t->pending);
	t->pending = NULL;
	t->npending = t->cappending = 0;
}

uint64_t tfs_root(struct tfs *t)
{
	return t->ops->root_ino(&t->sb);
}

static const struct zus_creds root_cr = { 0, 0 };

uint64_t tfs_create(struct tfs *t, uint64_t dir, const char *name)
{
	struct zus_attr a;
	int err = t->ops->create(&t->sb, dir, name, strlen(name),
				 S_IFREG | 0644, 0, &root_cr, &a);

	ck_assert_msg(!err, "create %s: %d", name, err);
	return a.ino;
}

uint64_t tfs_mkdir(struct tfs *t, uint64_t dir, const char *name)
{
	struct zus_attr a;
	int err = t->ops->mkdir(&t->sb, dir, name, strlen(name), 0755,
				&root_cr, &a);

	ck_assert_msg(!err, "mkdir %s: %d", name, err);
	return a.ino;
}

int64_t tfs_lookup(struct tfs *t, uint64_t dir, const char *name)
{
	struct zus_attr a;
	int err = t->ops->lookup(&t->sb, dir, name, strlen(name), &a);

	return err ? err : (int64_t)a.ino;
}

struct zus_attr tfs_stat(struct tfs *t, uint64_t ino)
{
	struct zus_attr a;

	ck_assert_int_eq(t->ops->getattr(&t->sb, ino, &a), 0);
	return a;
}

void tfs_write(struct tfs *t, uint64_t ino, uint64_t off, const void *buf,
	       size_t len)
{
	ssize_t n = t->ops->write(&t->sb, ino, buf, len, off);

	ck_assert_msg(n == (ssize_t)len, "write %zu at %llu: %zd", len,
		      (unsigned long long)off, n);
}

void tfs_fill(void *buf, size_t len, unsigned int seed)
{
	unsigned char *p = buf;
	uint32_t x = seed * 2654435761u + 1;

	for (size_t i = 0; i < len; i++) {
		x = x * 1103515245u + 12345u;
		p[i] = (unsigned char)(x >> 16);
	}
}

uint64_t tfs_bfree(struct tfs *t)
{
	struct zus_statfs st;

	ck_assert_int_eq(t->ops->statfs(&t->sb, &st), 0);
	return st.bfree;
}
