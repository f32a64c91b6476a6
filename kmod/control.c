// SPDX-License-Identifier: GPL-2.0
/*
 * The zuf-root "control" file: one fd per server thread.
 *
 * ioctls: HANDSHAKE, REGISTER_FS, INIT_CHAN (bind the fd to one CPU's
 * channel, or to the mount thread's), WAIT / MOUNT_WAIT, GRAB_PMEM (a file
 * the server maps a mount's pmem device from), INVALIDATE, BREAK.
 * mmap: the bound channel's command buffer at offset 0 and its data window
 * at ZUFS_CHAN_WINDOW_OFF.
 */
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/capability.h>
#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <linux/dax.h>
#include <linux/pfn_t.h>
#include <linux/poll.h>

#include "zuf.h"

static int zuf_control_open(struct inode *inode, struct file *file)
{
	struct zuf_file *zf;

	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	if (!zuf_root)
		return -ENODEV;
	zf = kzalloc(sizeof(*zf), GFP_KERNEL);
	if (!zf)
		return -ENOMEM;
	zf->zr = zuf_root;
	mutex_init(&zf->lock);
	file->private_data = zf;
	return 0;
}

static int zuf_control_release(struct inode *inode, struct file *file)
{
	struct zuf_file *zf = file->private_data;
	struct zuf_root *zr = zf->zr;

	zuf_chan_unbind(zf);
	if (zf->handshaken) {
		spin_lock(&zr->lock);
		if (!--zr->nservers)
			zuf_info("server detached; mounts stay, waiting for a restart\n");
		spin_unlock(&zr->lock);
		wake_up_all(&zr->server_wq);
	}
	mutex_destroy(&zf->lock);
	kfree(zf);
	return 0;
}

static int zuf_ioc_handshake(struct zuf_file *zf, void __user *arg)
{
	struct zuf_root *zr = zf->zr;
	struct zufs_ioc_handshake h;

	if (copy_from_user(&h, arg, sizeof(h)))
		return -EFAULT;
	mutex_lock(&zf->lock);
	if (zf->handshaken) {
		mutex_unlock(&zf->lock);
		return -EALREADY;
	}
	if (h.major != ZUFS_MAJOR_VERSION) {
		pr_warn_ratelimited("zuf: server speaks ABI %u.%u, this module %u.%u\n",
				    h.major, h.minor, ZUFS_MAJOR_VERSION,
				    ZUFS_MINOR_VERSION);
		mutex_unlock(&zf->lock);
		h.major = ZUFS_MAJOR_VERSION;
		h.minor = ZUFS_MINOR_VERSION;
		if (copy_to_user(arg, &h, sizeof(h)))
			return -EFAULT;
		return -EPROTO;
	}
	spin_lock(&zr->lock);
	if (!zr->nservers++) {
		zr->server_gen++;
		zr->granted = h.features & ZUFS_FEATURES_ALL;
	}
	h.features &= zr->granted;
	h.server_id = zr->server_gen;
	zf->gen = zr->server_gen;
	spin_unlock(&zr->lock);
	/* pairs with the load-acquire in zuf_control_ioctl() */
	smp_store_release(&zf->handshaken, true);
	mutex_unlock(&zf->lock);

	h.major = ZUFS_MAJOR_VERSION;
	h.minor = ZUFS_MINOR_VERSION;
	h.ncpus = zr->nchans;
	h.__pad = 0;
	if (copy_to_user(arg, &h, sizeof(h)))
		return -EFAULT;
	return 0;
}

static int zuf_ioc_init_chan(struct zuf_file *zf, void __user *arg)
{
	struct zufs_ioc_init_chan ic;
	int ret;

	if (copy_from_user(&ic, arg, sizeof(ic)))
		return -EFAULT;
	mutex_lock(&zf->lock);
	ret = zuf_chan_bind(zf, ic.cpu);
	mutex_unlock(&zf->lock);
	if (ret)
		return ret;
	ic.cmd_size = ZUFS_CHAN_CMD_SIZE;
	ic.window_size = ic.cpu == ZUFS_CHAN_MOUNT ? 0 : ZUFS_CHAN_WINDOW_SIZE;
	if (copy_to_user(arg, &ic, sizeof(ic)))
		return -EFAULT;
	return 0;
}

static int zuf_ioc_register(struct zuf_file *zf, void __user *arg)
{
	struct zufs_ioc_register_fs r;

	if (copy_from_user(&r, arg, sizeof(r)))
		return -EFAULT;
	return zuf_register_fs(zf->zr, &r);
}

static int zuf_ioc_invalidate(void __user *arg)
{
	struct zufs_ioc_invalidate inv;

	if (copy_from_user(&inv, arg, sizeof(inv)))
		return -EFAULT;
	return zuf_invalidate(&inv);
}

/* ---- the server's mapping of a mount's pmem ----------------------- */

static vm_fault_t zuf_pmem_fault(struct vm_fault *vmf)
{
	struct zuf_pmem *pm = vmf->vma->vm_file->private_data;
	pgoff_t pgoff = vmf->pgoff;
	void *kaddr;
	pfn_t pfn;
	long n;
	int id;

	if (pgoff >= pm->size >> PAGE_SHIFT)
		return VM_FAULT_SIGBUS;
	id = dax_read_lock();
	n = dax_direct_access(pm->dax_dev, (pm->part_off >> PAGE_SHIFT) + pgoff,
			      1, DAX_ACCESS, &kaddr, &pfn);
	dax_read_unlock(id);
	if (n < 1)
		return VM_FAULT_SIGBUS;
	return vmf_insert_mixed(vmf->vma, vmf->address, pfn);
}

/* no mkwrite: PTEs are writable from the first fault, nothing to track */
static const struct vm_operations_struct zuf_pmem_vm_ops = {
	.fault		= zuf_pmem_fault,
};

static int zuf_pmem_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct zuf_pmem *pm = file->private_data;
	u64 npages = pm->size >> PAGE_SHIFT;

	if (!(vma->vm_flags & VM_SHARED) || vma->vm_pgoff > npages ||
	    vma_pages(vma) > npages - vma->vm_pgoff)
		return -EINVAL;
	vma->vm_flags |= VM_MIXEDMAP | VM_DONTEXPAND | VM_DONTDUMP;
	vma->vm_ops = &zuf_pmem_vm_ops;
	return 0;
}

static int zuf_pmem_release(struct inode *inode, struct file *file)
{
	zuf_pmem_put(file->private_data);
	return 0;
}

static const struct file_operations zuf_pmem_fops = {
	.owner		= THIS_MODULE,
	.mmap		= zuf_pmem_mmap,
	.release	= zuf_pmem_release,
	.llseek		= noop_llseek,
};

static int zuf_ioc_grab_pmem(struct zuf_file *zf, void __user *arg)
{
	struct zufs_ioc_grab_pmem g;
	struct zuf_pmem *pm;
	struct file *file;
	int fd;

	if (copy_from_user(&g, arg, sizeof(g)))
		return -EFAULT;
	pm = zuf_pmem_get(g.pmem_id);
	if (!pm)
		return -ENOENT;
	fd = get_unused_fd_flags(O_CLOEXEC);
	if (fd < 0) {
		zuf_pmem_put(pm);
		return fd;
	}
	file = anon_inode_getfile("[zuf-pmem]", &zuf_pmem_fops, pm, O_RDWR);
	if (IS_ERR(file)) {
		put_unused_fd(fd);
		zuf_pmem_put(pm);
		return PTR_ERR(file);
	}
	g.size = pm->size;
	g.fd = fd;
	g.__pad = 0;
	g.__pad2 = 0;
	if (copy_to_user(arg, &g, sizeof(g))) {
		fput(file);
		put_unused_fd(fd);
		return -EFAULT;
	}
	fd_install(fd, file);
	return 0;
}

static long zuf_control_ioctl(struct file *file, unsigned int cmd,
			      unsigned long arg)
{
	struct zuf_file *zf = file->private_data;
	void __user *uarg = (void __user *)arg;

	if (cmd == ZU_IOC_HANDSHAKE)
		return zuf_ioc_handshake(zf, uarg);
	/* pairs with the store-release in zuf_ioc_handshake() */
	if (!smp_load_acquire(&zf->handshaken))
		return -EPROTO;

	switch (cmd) {
	case ZU_IOC_REGISTER_FS:
		return zuf_ioc_register(zf, uarg);
	case ZU_IOC_INIT_CHAN:
		return zuf_ioc_init_chan(zf, uarg);
	case ZU_IOC_WAIT:
		return zuf_chan_wait(zf, uarg, false);
	case ZU_IOC_MOUNT_WAIT:
		return zuf_chan_wait(zf, uarg, true);
	case ZU_IOC_GRAB_PMEM:
		return zuf_ioc_grab_pmem(zf, uarg);
	case ZU_IOC_INVALIDATE:
		return zuf_ioc_invalidate(uarg);
	case ZU_IOC_BREAK:
		zuf_chan_break(zf);
		return 0;
	default:
		return -ENOTTY;
	}
}

/*
 * Readable while calls wait for a server and none is attached: zusd.socket
 * (ListenSpecial= on this file) then starts zusd.
 */
static __poll_t zuf_control_poll(struct file *file, poll_table *wait)
{
	struct zuf_file *zf = file->private_data;
	struct zuf_root *zr = zf->zr;

	poll_wait(file, &zr->poll_wq, wait);
	if (!READ_ONCE(zr->nservers) && atomic_read(&zr->nwaiting))
		return EPOLLIN | EPOLLRDNORM;
	return 0;
}

static int zuf_control_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct zuf_file *zf = file->private_data;

	return zuf_chan_mmap(zf, vma);
}

const struct file_operations zuf_control_fops = {
	.owner		= THIS_MODULE,
	.open		= zuf_control_open,
	.release	= zuf_control_release,
	.unlocked_ioctl	= zuf_control_ioctl,
	.poll		= zuf_control_poll,
	.mmap		= zuf_control_mmap,
	.llseek		= noop_llseek,
};
