// SPDX-License-Identifier: BSD-2-Clause
/*
 * fsbench-inproc.c - the in-process backend of fsbench: pmfs2 (linked in,
 * its `zus_plugin`) mounted by the in-process host on
 *   - an image file made by mkfs.pmfs2 (host-compare.sh uses one in
 *     /dev/shm, like the image it serves over FUSE), or
 *   - "memfd:MIB", an anonymous memfd formatted here with pmfs2_format.
 * No kernel and no page cache: FSB_DIRECT has nothing to bypass.
 *
 * The mapping is populated at setup (MADV_POPULATE_WRITE), as pmem pages are
 * all there: without it, the first touch of each page in this short-lived
 * process would pay a page fault that zusd, a long-lived process serving
 * the same kind of image, pays once.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "fsbench.h"
#include "inproc.h"
#include "pmem_map.h"
#include "pmfs2_lib.h"

extern const struct zus_plugin zus_plugin;

struct ip_target {
	struct zus_pmem_map map;
	bool mapped;
	struct zus_inproc *h;
};

static unsigned int plugin_users;

static void ip_teardown(void *priv)
{
	struct ip_target *t = priv;

	if (t->h)
		zus_inproc_umount(t->h);
	if (t->mapped)
		zus_pmem_map_close(&t->map);
	free(t);
	if (--plugin_users == 0 && zus_plugin.exit)
		zus_plugin.exit();
}

static int ip_setup(const char *spec, struct fsb_target_info *info,
		    void **priv)
{
	struct ip_target *t;
	char err[256];
	int r;

	snprintf(info->io_mode, sizeof(info->io_mode), "no page cache");
	if (plugin_users == 0 && zus_plugin.init) {
		r = zus_plugin.init();
		if (r < 0) {
			snprintf(info->note, sizeof(info->note),
				 "plugin init: %s", strerror(-r));
			return r;
		}
	}
	plugin_users++;
	t = calloc(1, sizeof(*t));
	if (!t) {
		if (--plugin_users == 0 && zus_plugin.exit)
			zus_plugin.exit();
		return -ENOMEM;
	}
	if (!strncmp(spec, "memfd:", 6)) {
		struct pmfs2_mkfs_opts mo = { .dev_hint = "memfd" };
		uint64_t mib = strtoull(spec + 6, NULL, 0);

		if (mib < 64)
			mib = 64;
		r = zus_pmem_map_memfd(mib << 20, &t->map, err, sizeof(err));
		if (r == 0) {
			t->mapped = true;
			/* fault every page in now, as pmem's are all there */
			memset(t->map.pmem.base, 0, t->map.pmem.size);
			if (pmfs2_format(&t->map.pmem, &mo, err, sizeof(err)))
				r = -EIO;
		}
	} else {
		r = zus_pmem_map_open(spec, false, &t->map, err, sizeof(err));
		t->mapped = r == 0;
#ifdef MADV_POPULATE_WRITE
		/* best effort: before Linux 5.14 it is EINVAL, costing time only */
		if (t->mapped)
			(void)madvise(t->map.pmem.base, t->map.pmem.size,
				      MADV_POPULATE_WRITE);
#endif
	}
	if (r) {
		snprintf(info->note, sizeof(info->note), "%.80s: %.160s",
			 spec, err);
		ip_teardown(t);
		return r < 0 ? r : -EIO;
	}
	r = zus_inproc_mount(zus_plugin.fs_types[0], &t->map.pmem, NULL, &t->h);
	if (r < 0) {
		t->h = NULL;
		snprintf(info->note, sizeof(info->note), "mount %.200s: %s",
			 spec, strerror(-r));
		ip_teardown(t);
		return r;
	}
	snprintf(info->note, sizeof(info->note), "pmfs2 on %.200s, flush %s%s",
		 spec, zus_pmem_flush_name(), t->map.dax ? ", MAP_SYNC" : "");
	*priv = t;
	return 0;
}

#define H(priv)	(((struct ip_target *)(priv))->h)

static int ip_open(void *priv, const char *path, int flags, mode_t mode)
{
	return zus_inproc_open(H(priv), path, flags & ~FSB_DIRECT, mode);
}

static int ip_close(void *priv, int fd)
{
	return zus_inproc_close(H(priv), fd);
}

static ssize_t ip_pread(void *priv, int fd, void *buf, size_t len, off_t off)
{
	return zus_inproc_pread(H(priv), fd, buf, len, off);
}

static ssize_t ip_pwrite(void *priv, int fd, const void *buf, size_t len,
			 off_t off)
{
	return zus_inproc_pwrite(H(priv), fd, buf, len, off);
}

static int ip_stat(void *priv, const char *path, struct stat *st)
{
	return zus_inproc_stat(H(priv), path, st);
}

static int ip_unlink(void *priv, const char *path)
{
	return zus_inproc_unlink(H(priv), path);
}

static int ip_mkdir(void *priv, const char *path, mode_t mode)
{
	return zus_inproc_mkdir(H(priv), path, mode);
}

static int ip_rmdir(void *priv, const char *path)
{
	return zus_inproc_rmdir(H(priv), path);
}

const struct fsb_backend fsb_inproc_backend = {
	.name = "inproc",
	.setup = ip_setup,
	.teardown = ip_teardown,
	.open = ip_open,
	.close = ip_close,
	.pread = ip_pread,
	.pwrite = ip_pwrite,
	.stat = ip_stat,
	.unlink = ip_unlink,
	.mkdir = ip_mkdir,
	.rmdir = ip_rmdir,
};
