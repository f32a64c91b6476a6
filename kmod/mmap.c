// SPDX-License-Identifier: GPL-2.0
/*
 * DAX mmap: a page fault resolves the block through the extent
 * cache (or the server) and maps the pmem page straight into the
 * application, a 2 MiB page where the extent's alignment allows.
 */
#include <linux/mm.h>
#include <linux/dax.h>
#include <linux/pfn_t.h>

#include "zuf.h"

static vm_fault_t zuf_dax_huge_fault(struct vm_fault *vmf,
				     enum page_entry_size pe_size)
{
	struct inode *inode = file_inode(vmf->vma->vm_file);
	bool write = (vmf->flags & FAULT_FLAG_WRITE) &&
		     (vmf->vma->vm_flags & VM_SHARED);
	vm_fault_t ret;
	int tries, err;
	loff_t pos;
	pfn_t pfn;
	bool wr;

	if (zuf_is_shutdown(inode->i_sb))
		return VM_FAULT_SIGBUS;
	if (write) {
		sb_start_pagefault(inode->i_sb);
		file_update_time(vmf->vma->vm_file);
	}
	/*
	 * The DAX code calls iomap_begin under the entry lock and we hold
	 * invalidate_lock: ZU_IOC_INVALIDATE waits for both, so the server
	 * is asked (zuf_fault_fill) only between attempts, with neither.
	 */
	for (tries = 0; ; tries++) {
		err = 0;
		filemap_invalidate_lock_shared(inode->i_mapping);
		ret = dax_iomap_fault(vmf, pe_size, &pfn, &err,
				      &zuf_iomap_ops);
		/* blocks are allocated synchronously: MAP_SYNC needs nothing */
		filemap_invalidate_unlock_shared(inode->i_mapping);
		if (err != -ZUF_ERETRY)
			break;
		if (tries >= 5) {
			zuf_err_rl("fault %lu @%lu: extents keep being invalidated\n",
				   inode->i_ino, vmf->pgoff);
			ret = VM_FAULT_SIGBUS;
			break;
		}
		/*
		 * A read promotes to the end of the 2 MiB chunk (one call for
		 * many faults); a write allocates just its page, as the DAX
		 * code asks: other holes may be mapped to the zero page.
		 */
		pos = (loff_t)vmf->pgoff << PAGE_SHIFT;
		wr = (vmf->flags & FAULT_FLAG_WRITE) && !vmf->cow_page;
		err = zuf_fault_fill(inode, pos, wr ? PAGE_SIZE :
				     PMD_SIZE - (pos & ~PMD_MASK), wr);
		if (err) {
			ret = vmf_error(err);
			break;
		}
	}
	if (write)
		sb_end_pagefault(inode->i_sb);
	return ret;
}

static vm_fault_t zuf_dax_fault(struct vm_fault *vmf)
{
	return zuf_dax_huge_fault(vmf, PE_SIZE_PTE);
}

static const struct vm_operations_struct zuf_dax_vm_ops = {
	.fault		= zuf_dax_fault,
	.huge_fault	= zuf_dax_huge_fault,
	.page_mkwrite	= zuf_dax_fault,
	.pfn_mkwrite	= zuf_dax_fault,
};

int zuf_file_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct inode *inode = file_inode(file);
	struct zuf_sb_info *sbi = ZUF_SB(inode->i_sb);

	if (zuf_is_shutdown(inode->i_sb))
		return -EIO;
	if (!IS_DAX(inode) || !(sbi->features & ZUFS_FEATURE_DAX_MMAP))
		return -ENODEV;
	/* MAP_SYNC promises durable stores: only on a synchronous device */
	if (!daxdev_mapping_supported(vma, sbi->pmem->dax_dev))
		return -EOPNOTSUPP;
	file_accessed(file);
	vma->vm_ops = &zuf_dax_vm_ops;
	vma->vm_flags |= VM_HUGEPAGE;
	return 0;
}
