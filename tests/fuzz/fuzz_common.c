// SPDX-License-Identifier: BSD-2-Clause
/*
 * fuzz_common.c - images for the fuzz targets (see fuzz_common.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "inproc.h"
#include "pmfs2_lib.h"

static void quiet(void *ctx, int prio, const char *msg)
{
	(void)ctx;
	(void)prio;
	(void)msg;
}

static int put(struct zus_inproc *h, const char *path, size_t len, int c)
{
	char *buf = malloc(len ? len : 1);
	int fd, ret;

	if (!buf)
		return -ENOMEM;
	memset(buf, c, len);
	fd = zus_inproc_open(h, path, O_CREAT | O_WRONLY | O_TRUNC, 0644);
	if (fd < 0) {
		free(buf);
		return fd;
	}
	ret = len ? (int)zus_inproc_pwrite(h, fd, buf, len, 0) : 0;
	zus_inproc_close(h, fd);
	free(buf);
	return ret < 0 ? ret : 0;
}

int fuzz_build_image(const struct zus_fs_type *fst, void *img)
{
	static const uint8_t uuid[16] = { 0x5a, 0x17, 1, 2, 3, 4, 5, 6,
					  7, 8, 9, 10, 11, 12, 13, 14 };
	struct pmfs2_mkfs_opts mo = {
		.inodes = 512, .journal_blocks = 64, .uuid = uuid,
		.label = "fuzz", .dev_hint = "fuzz",
	};
	struct zus_pmem pm = { .base = img, .size = FUZZ_IMAGE_SIZE };
	struct zus_inproc_opts o = { .dev_path = "fuzz", .log = quiet };
	struct pmfs2_super s;
	struct zus_inproc *h;
	char err[256], name[32], longt[300];
	bool backup;
	int ret;

	memset(img, 0, FUZZ_IMAGE_SIZE);
	ret = pmfs2_format(&pm, &mo, err, sizeof(err));
	if (ret)
		return ret;
	/* a fixed directory hash key: the same image every time */
	ret = pmfs2_super_load(&pm, &s, &backup, err, sizeof(err));
	if (ret)
		return ret;
	s.hash_seed[0] = 0x0123456789abcdefull;
	s.hash_seed[1] = 0xfedcba9876543210ull;
	s.mkfs_time = s.mount_time = s.write_time = 0;
	pmfs2_super_write(&pm, &s, true);

	ret = zus_inproc_mount(fst, &pm, &o, &h);
	if (ret)
		return ret;
	memset(longt, 'l', 200);
	longt[0] = '/';
	longt[200] = '\0';
	if ((ret = zus_inproc_mkdir(h, "/d", 0755)) ||
	    (ret = zus_inproc_mkdir(h, "/d/e", 0700)) ||
	    (ret = put(h, "/f", 100, 'f')) ||
	    (ret = put(h, "/d/g", 20000, 'g')) ||
	    (ret = put(h, "/d/e/empty", 0, 0)) ||
	    (ret = zus_inproc_link(h, "/f", "/d/f2")) ||
	    (ret = zus_inproc_symlink(h, "d/g", "/short")) ||
	    (ret = zus_inproc_symlink(h, longt, "/long")) ||
	    (ret = zus_inproc_setxattr(h, "/f", "user.a", "value", 5, 0)) ||
	    (ret = zus_inproc_setxattr(h, "/d", "trusted.b", "xyz", 3, 0)) ||
	    (ret = zus_inproc_mkdir(h, "/big", 0755)))
		goto out;
	/* a sparse file: a block at 1 MiB */
	{
		int fd = zus_inproc_open(h, "/sparse", O_CREAT | O_WRONLY, 0600);

		if (fd < 0) {
			ret = fd;
			goto out;
		}
		ret = (int)zus_inproc_pwrite(h, fd, "end", 3, 1 << 20);
		zus_inproc_close(h, fd);
		if (ret < 0)
			goto out;
	}
	for (int i = 0; i < FUZZ_DIR_NAMES; i++) {
		snprintf(name, sizeof(name), "/big/name-%d", i);
		ret = i % 10 ? put(h, name, 0, 0) : zus_inproc_mkdir(h, name, 0755);
		if (ret)
			goto out;
	}
	ret = 0;
out:
	zus_inproc_umount(h);
	return ret;
}

int fuzz_itable_region(const void *img, struct fuzz_region *r)
{
	struct zus_pmem pm = { .base = (void *)img, .size = FUZZ_IMAGE_SIZE };
	struct pmfs2_super s;
	char err[256];
	bool backup;
	int ret = pmfs2_super_load(&pm, &s, &backup, err, sizeof(err));

	if (ret)
		return ret;
	r->n = 0;
	for (uint64_t b = 0; b < s.itable_blocks && r->n < 64; b++)
		r->off[r->n++] = (s.itable_start + b) << PMFS2_BLOCK_SHIFT;
	return 0;
}

int fuzz_dir_region(const struct zus_fs_type *fst, void *img,
		    struct fuzz_region *r)
{
	struct zus_pmem pm = { .base = img, .size = FUZZ_IMAGE_SIZE };
	struct zus_inproc_opts o = { .dev_path = "fuzz", .log = quiet,
				     .readonly = true };
	struct pmfs2_dir_head *head;
	struct pmfs2_super s;
	struct pmfs2_inode *pi;
	struct zus_inproc *h;
	struct stat st;
	char err[256];
	uint64_t ptr;
	bool backup;
	int ret;

	ret = zus_inproc_mount(fst, &pm, &o, &h);
	if (ret)
		return ret;
	ret = zus_inproc_stat(h, "/big", &st);
	zus_inproc_umount(h);
	if (ret)
		return ret;
	ret = pmfs2_super_load(&pm, &s, &backup, err, sizeof(err));
	if (ret)
		return ret;
	pi = pmfs2_inode_at(&pm, &s, st.st_ino);
	if (!pi)
		return -EINVAL;
	ret = pmfs2_bmap_get(&pm, &s, pi->map, 0, &ptr);
	if (ret || !ptr)
		return ret ? ret : -EINVAL;
	head = pmfs2_block(&pm, ptr & PMFS2_PTR_BLOCK_MASK);
	r->n = 0;
	r->off[r->n++] = (ptr & PMFS2_PTR_BLOCK_MASK) << PMFS2_BLOCK_SHIFT;
	for (uint64_t b = 0; b < head->nbuckets && r->n < 64; b++) {
		ret = pmfs2_bmap_get(&pm, &s, pi->map, 1 + b, &ptr);
		if (ret || !ptr)
			return ret ? ret : -EINVAL;
		r->off[r->n++] = (ptr & PMFS2_PTR_BLOCK_MASK) << PMFS2_BLOCK_SHIFT;
	}
	return 0;
}

void fuzz_apply(void *img, const struct fuzz_region *r, const uint8_t *data,
		size_t size)
{
	for (unsigned int i = 0; i < r->n && size; i++) {
		size_t n = size < PMFS2_BLOCK_SIZE ? size : PMFS2_BLOCK_SIZE;

		memcpy((char *)img + r->off[i], data, n);
		data += n;
		size -= n;
	}
}

size_t fuzz_extract(const void *img, const struct fuzz_region *r,
		    uint8_t *out, size_t max)
{
	size_t len = 0;

	for (unsigned int i = 0; i < r->n && len + PMFS2_BLOCK_SIZE <= max; i++) {
		memcpy(out + len, (const char *)img + r->off[i], PMFS2_BLOCK_SIZE);
		len += PMFS2_BLOCK_SIZE;
	}
	return len;
}

struct walk_ctx {
	struct zus_sb *sb;
	const struct zus_fs_ops *ops;
	uint64_t dir;
	int budget;
};

static int count_ent(void *ctx, const char *name, size_t namelen,
		     uint64_t ino, unsigned int dtype, uint64_t next)
{
	struct walk_ctx *w = ctx;
	struct zus_attr a;

	(void)dtype;
	(void)next;
	if (w->budget-- <= 0)
		return 1;
	/* everything readdir returns must be safe to look up and stat */
	w->ops->lookup(w->sb, w->dir, name, namelen, &a);
	w->ops->getattr(w->sb, ino, &a);
	return 0;
}

void fuzz_exercise(const struct zus_fs_type *fst, void *img,
		   const uint8_t *data, size_t size)
{
	struct zus_pmem pm = { .base = img, .size = FUZZ_IMAGE_SIZE };
	struct zus_inproc_opts o = { .dev_path = "fuzz", .log = quiet };
	const struct zus_fs_ops *ops = fst->ops;
	struct pmfs2_check_opts co = { 0 };
	struct pmfs2_check_result cr;
	struct pmfs2_super s;
	struct zus_inproc *h;
	struct zus_sb *sb;
	struct zus_statfs sf;
	char err[256], buf[8192];
	bool backup;
	uint64_t ninodes;

	pmfs2_check(&pm, &co, &cr);
	if (pmfs2_super_load(&pm, &s, &backup, err, sizeof(err)))
		return;
	ninodes = s.inode_count < 4096 ? s.inode_count : 4096;
	if (zus_inproc_mount(fst, &pm, &o, &h))
		return;
	sb = zus_inproc_sb(h);
	zus_inproc_statfs(h, &sf);
	for (uint64_t ino = 1; ino < ninodes; ino++) {
		struct walk_ctx w = { sb, ops, ino, 400 };
		struct zus_attr a;
		size_t len;

		if (ops->getattr(sb, ino, &a))
			continue;
		switch (a.mode & S_IFMT) {
		case S_IFREG:
			ops->read(sb, ino, buf, sizeof(buf), 0);
			ops->read(sb, ino, buf, 100, a.size > 50 ? a.size - 50 : 0);
			if (ops->lseek) {
				uint64_t res;

				ops->lseek(sb, ino, 0, ZUS_SEEK_HOLE, &res);
				ops->lseek(sb, ino, 0, ZUS_SEEK_DATA, &res);
			}
			break;
		case S_IFLNK:
			ops->readlink(sb, ino, buf, sizeof(buf), &len);
			break;
		case S_IFDIR:
			ops->readdir(sb, ino, 0, count_ent, &w);
			/* names from the input, and a known one */
			ops->lookup(sb, ino, "name-7", 6, &a);
			if (size)
				ops->lookup(sb, ino, (const char *)data,
					    size < 255 ? size : 255, &a);
			break;
		}
		if (ops->listxattr)
			ops->listxattr(sb, ino, buf, sizeof(buf));
		if (ops->getxattr)
			ops->getxattr(sb, ino, "user.a", buf, sizeof(buf));
	}
	/* changes on top of the damage must fail cleanly, not crash */
	zus_inproc_mkdir(h, "/big/new", 0755);
	zus_inproc_unlink(h, "/big/name-3");
	zus_inproc_rename(h, "/big/name-5", "/d/moved", 0);
	{
		int fd = zus_inproc_open(h, "/f", O_WRONLY | O_APPEND, 0);

		if (fd >= 0) {
			zus_inproc_pwrite(h, fd, "more", 4, 0);
			zus_inproc_close(h, fd);
		}
	}
	zus_inproc_truncate(h, "/d/g", 5000);
	zus_inproc_umount(h);
}
