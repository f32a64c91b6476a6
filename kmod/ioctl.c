// SPDX-License-Identifier: GPL-2.0
/*
 * ioctls of zuf files and directories: the filesystem shutdown of ext4
 * and xfs (FS_IOC_SHUTDOWN, XFS_IOC_GOINGDOWN: the same number), which
 * xfs_io -c shutdown and crash-recovery tests use.
 */
#include <linux/fs.h>
#include <linux/uaccess.h>
#include <linux/capability.h>

#include "zuf.h"

long zuf_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct super_block *sb = file_inode(file)->i_sb;
	u32 flags;

	switch (cmd) {
	case ZUF_IOC_SHUTDOWN:
		if (!capable(CAP_SYS_ADMIN))
			return -EPERM;
		if (get_user(flags, (u32 __user *)arg))
			return -EFAULT;
		return zuf_shutdown(sb, flags);
	default:
		return -ENOTTY;
	}
}
