// SPDX-License-Identifier: BSD-2-Clause
/*
 * test_tier_util.c - see test_tier_util.h.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "test_tier_util.h"

/* ---- memtier --------------------------------------------------------------- */

void memtier_init(struct memtier *m, uint64_t size)
{
	memset(m, 0, sizeof(*m));
	m->size = size;
	m->work = calloc(1, size);
	m->durable = calloc(1, size);
	ck_assert(m->work && m->durable);
	m->durable_on_submit = true;
}

void memtier_copy(struct memtier *dst, const struct memtier *src,
		  bool durable_only)
{
	memtier_init(dst, src->size);
	memcpy(dst->durable, src->durable, src->size);
	memcpy(dst->work, durable_only ? src->durable : src->work, src->size);
	dst->durable_on_submit = src->durable_on_submit;
}

void memtier_fini(struct memtier *m)
{
	free(m->work);
	free(m->durable);
	m->work = m->durable = NULL;
}

static int mt_attach(struct zus_tier_dev *dev, unsigned int qd, void **ctx)
{
	struct memtier *m = NULL;

	if (!dev->path || sscanf(dev->path, "memtier:%p", (void **)&m) != 1 ||
	    !m)
		return -ENODEV;
	*ctx = m;
	return 0;
}

static void mt_detach(void *ctx)
{
}

static int mt_flush(void *ctx)
{
	struct memtier *m = ctx;

	memcpy(m->durable, m->work, m->size);
	m->flushes++;
	return 0;
}

static int mt_submit(void *ctx, struct zus_tier_io *ios, unsigned int n)
{
	struct memtier *m = ctx;
	bool wrote = false;
	int ret = 0;

	m->submits++;
	for (unsigned int i = 0; i < n; i++) {
		struct zus_tier_io *io = &ios[i];

		if (io->dev_off % 4096 || io->len % 4096 || !io->len ||
		    (uintptr_t)io->buf % 4096 || io->dev_off > m->size ||
		    io->len > m->size - io->dev_off) {
			io->result = -EINVAL;
			ret = ret ? ret : -EINVAL;
			continue;
		}
		if (io->op == ZUS_TIER_WRITE) {
			memcpy(m->work + io->dev_off, io->buf, io->len);
			m->writes++;
			wrote = true;
		} else {
			memcpy(io->buf, m->work + io->dev_off, io->len);
		}
		io->result = 0;
	}
	if (wrote && m->durable_on_submit)
		mt_flush(m);
	return ret;
}

static void mt_stats(void *ctx, struct zus_tier_stats *st)
{
	struct memtier *m = ctx;

	memset(st, 0, sizeof(*st));
	st->writes = m->writes;
}

const struct zus_tier_backend memtier_backend = {
	.name	= "memtier",
	.attach	= mt_attach,
	.detach	= mt_detach,
	.submit	= mt_submit,
	.flush	= mt_flush,
	.stats	= mt_stats,
};

/* ---- the filesystem ----------------------------------------------------- */

static void tlog(struct zus_sb *sb, int prio, const char *msg)
{
	struct tt *t = sb->host_private;
	size_t l = strlen(t->errlog);

	if (prio <= ZUS_LOG_ERR) {
		t->nerrlog++;
		snprintf(t->errlog + l, sizeof(t->errlog) - l, "%s\n", msg);
	}
	if (getenv("PMFS2_TEST_VERBOSE"))
		fprintf(stderr, "log<%d>: %s\n", prio, msg);
}

struct zus_pmem tt_pmem_new(size_t size)
{
	struct zus_pmem pm = { .size = size };

	pm.base = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ck_assert_ptr_ne(pm.base, MAP_FAILED);
	return pm;
}

void tt_pmem_free(struct zus_pmem *pm)
{
	munmap(pm->base, pm->size);
	pm->base = NULL;
}

static void fill_sb(struct tt *t, const struct zus_pmem *pm,
		    const struct zus_tier_backend *be)
{
	t->sb.pmem = *pm;
	t->sb.dev_path = "tierimg";
	t->sb.options = t->opts;
	t->sb.log = tlog;
	t->sb.host_private = t;
	t->sb.ntier = 1;
	t->sb.tier = &t->dev;
	t->sb.tier_backend = be;
	t->dev.size = t->tier_size;
	memcpy(t->dev.uuid, t->tier_uuid, 16);
	if (t->file_backed) {
		t->dev.path = t->path;
		t->dev.fd = -1;		/* the backend opens it (O_DIRECT) */
	} else {
		snprintf(t->devname, sizeof(t->devname), "memtier:%p",
			 (void *)&t->mt);
		t->dev.path = t->devname;
		t->dev.fd = -1;
	}
}

void tt_setup(struct tt *t, const struct zus_pmem *pm, uint64_t tier_size,
	      const struct zus_tier_backend *be, const char *opts)
{
	const uint8_t (*tu)[16];
	struct pmfs2_mkfs_opts o = { .label = "tier", .ntier = 1,
				     .tier_size = &tier_size };
	struct pmfs2_tier_header *h;
	struct zus_pmem raw = *pm;
	char err[256];

	memset(t, 0, sizeof(*t));
	t->tier_size = tier_size;
	snprintf(t->opts, sizeof(t->opts), "%s", opts ? opts : "");
	for (unsigned int i = 0; i < 16; i++) {
		t->fs_uuid[i] = (uint8_t)random();
		t->tier_uuid[i] = (uint8_t)random();
	}
	tu = (const uint8_t (*)[16])t->tier_uuid;
	o.uuid = t->fs_uuid;
	o.tier_uuid = tu;
	raw.hooks = NULL;
	ck_assert_msg(pmfs2_format(&raw, &o, err, sizeof(err)) == 0,
		      "format: %s", err);
	ck_assert_int_eq(posix_memalign((void **)&h, 4096, 4096), 0);
	memset(h, 0, 4096);
	pmfs2_tier_header_init(h, 1, t->fs_uuid, t->tier_uuid, tier_size,
			       pmfs2_now());
	t->file_backed = be != NULL;
	if (be) {
		const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
		int fd;

		snprintf(t->path, sizeof(t->path), "%s/zufs-tier-XXXXXX", dir);
		fd = mkstemp(t->path);
		ck_assert_int_ge(fd, 0);
		ck_assert_int_eq(ftruncate(fd, (off_t)tier_size), 0);
		ck_assert_int_eq(pwrite(fd, h, 4096, 0), 4096);
		close(fd);
	} else {
		memtier_init(&t->mt, tier_size);
		memcpy(t->mt.work, h, 4096);
		memcpy(t->mt.durable, h, 4096);
		be = &memtier_backend;
	}
	free(h);
	fill_sb(t, pm, be);
}

void tt_setup_like(struct tt *t, const struct tt *like,
		   const struct zus_pmem *pm, const struct memtier *tier)
{
	memset(t, 0, sizeof(*t));
	t->tier_size = like->tier_size;
	memcpy(t->fs_uuid, like->fs_uuid, 16);
	memcpy(t->tier_uuid, like->tier_uuid, 16);
	snprintf(t->opts, sizeof(t->opts), "%s", like->opts);
	t->file_backed = false;
	t->mt = *tier;		/* takes over the buffers */
	fill_sb(t, pm, &memtier_backend);
}

void tt_cleanup(struct tt *t)
{
	if (t->mounted)
		tt_umount(t);
	if (t->file_backed)
		unlink(t->path);
	else
		memtier_fini(&t->mt);
}

int tt_mount(struct tt *t)
{
	int err = pmfs2_ops.mount(&t->sb);

	t->mounted = !err;
	return err;
}

void tt_umount(struct tt *t)
{
	ck_assert(t->mounted);
	pmfs2_ops.umount(&t->sb);
	t->mounted = false;
}

static void report(void *ctx, const char *msg)
{
	fprintf(stderr, "fsck: %s\n", msg);
}

unsigned int tt_fsck(struct tt *t)
{
	struct pmfs2_check_opts o = { .report = report };
	struct pmfs2_check_result r;
	struct zus_pmem pm = t->sb.pmem;

	pm.hooks = NULL;
	ck_assert_int_eq(pmfs2_check(&pm, &o, &r), 0);
	return r.errors;
}

/* ---- contents ------------------------------------------------------------- */

static uint64_t mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

void tt_pattern(void *buf, size_t len, uint64_t seed, uint64_t off)
{
	uint8_t *p = buf;

	for (size_t i = 0; i < len; i++) {
		uint64_t o = off + i;

		p[i] = (uint8_t)(mix(seed << 40 ^ o >> 3) >> ((o & 7) * 8));
	}
}

static const struct zus_creds root_cr = { 0, 0 };

uint64_t tt_create(struct tt *t, const char *name)
{
	struct zus_attr a;
	int err = pmfs2_ops.create(&t->sb, PMFS2_ROOT_INO, name, strlen(name),
				   S_IFREG | 0644, 0, &root_cr, &a);

	ck_assert_msg(!err, "create %s: %d", name, err);
	return a.ino;
}

int64_t tt_lookup(struct tt *t, const char *name)
{
	struct zus_attr a;
	int err = pmfs2_ops.lookup(&t->sb, PMFS2_ROOT_INO, name, strlen(name),
				   &a);

	return err ? err : (int64_t)a.ino;
}

void tt_write_pat(struct tt *t, uint64_t ino, uint64_t seed, uint64_t off,
		  uint64_t len, size_t chunk)
{
	char *buf = malloc(chunk);

	ck_assert_ptr_nonnull(buf);
	while (len) {
		size_t n = len < chunk ? (size_t)len : chunk;
		ssize_t w;

		tt_pattern(buf, n, seed, off);
		w = pmfs2_ops.write(&t->sb, ino, buf, n, off);
		ck_assert_msg(w == (ssize_t)n, "write %zu at %llu: %zd", n,
			      (unsigned long long)off, w);
		off += n;
		len -= n;
	}
	free(buf);
}

uint64_t tt_check_pat(struct tt *t, uint64_t ino, uint64_t seed, uint64_t off,
		      uint64_t len, size_t chunk)
{
	char *buf, *want;
	uint64_t bad = 0;

	ck_assert_int_eq(posix_memalign((void **)&buf, 4096, chunk), 0);
	want = malloc(chunk);
	ck_assert_ptr_nonnull(want);
	while (len && !bad) {
		size_t n = len < chunk ? (size_t)len : chunk;
		ssize_t r = pmfs2_ops.read(&t->sb, ino, buf, n, off);

		if (r != (ssize_t)n) {
			bad = off + 1;
			break;
		}
		tt_pattern(want, n, seed, off);
		for (size_t i = 0; i < n; i++) {
			if (buf[i] != want[i]) {
				bad = off + i + 1;
				break;
			}
		}
		off += n;
		len -= n;
	}
	free(buf);
	free(want);
	return bad;
}

struct where_ctx {
	uint64_t tier, pmem;
};

static int where_cb(void *ctx, uint64_t lblk, uint64_t ptr, int level)
{
	struct where_ctx *w = ctx;

	if (level)
		return 0;
	if (ptr & PMFS2_PTR_TIER)
		w->tier++;
	else
		w->pmem++;
	return 0;
}

void tt_where(struct tt *t, uint64_t ino, uint64_t *tier, uint64_t *pmem)
{
	struct pmfs2_sbi *sbi = tt_sbi(t);
	struct pmfs2_inode *pi = pmfs2_inode_at(&t->sb.pmem, &sbi->s, ino);
	struct where_ctx w = { 0, 0 };

	ck_assert_ptr_nonnull(pi);
	ck_assert_int_eq(pmfs2_bmap_walk(&t->sb.pmem, &sbi->s, pi->map,
					 where_cb, &w), 0);
	*tier = w.tier;
	*pmem = w.pmem;
}

struct zus_tier_status tt_status(struct tt *t)
{
	struct zus_tier_status st;

	ck_assert_int_eq(pmfs2_ops.tier_status(&t->sb, &st), 0);
	return st;
}
