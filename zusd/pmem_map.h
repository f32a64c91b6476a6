/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pmem_map.h - mapping a pmem device, a DAX-less block device or a regular
 * file as the pmem of a mount (struct zus_pmem).  Regular files and block
 * devices without DAX are "emulated pmem": flushes reach the page cache and
 * zus_pmem_unmap()/zus_pmem_sync() msync them to the medium.
 */
#ifndef ZUSD_PMEM_MAP_H
#define ZUSD_PMEM_MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <zufs/zus_pmem.h>

struct zus_pmem_map {
	struct zus_pmem pmem;
	int fd;
	bool is_blockdev;
	bool dax;		/* mapped with MAP_SYNC: stores are persistent */
	bool readonly;
};

/*
 * Open and map path whole (its size: the file size or the block device's).
 * Errors: -errno and a message (missing file, not a file or block device,
 * too small, mmap failure).
 */
int zus_pmem_map_open(const char *path, bool readonly, struct zus_pmem_map *m,
		      char *err, size_t errlen);
/* Map an anonymous memfd of size bytes (tests, benchmarks). */
int zus_pmem_map_memfd(uint64_t size, struct zus_pmem_map *m, char *err,
		       size_t errlen);
int zus_pmem_map_sync(struct zus_pmem_map *m);
void zus_pmem_map_close(struct zus_pmem_map *m);

#endif /* ZUSD_PMEM_MAP_H */
