/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Private declarations of zuf.ko, the ZUFS kernel transport.
 *
 * The module brokers VFS calls of the filesystems a user-space server
 * (zusd) registers to that server, over per-CPU channels.  The ABI is
 * include/zufs/zufs_api.h; nothing the server returns is trusted.
 */
#ifndef __ZUF_H
#define __ZUF_H

#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/wait.h>
#include <linux/spinlock.h>
#include <linux/mutex.h>
#include <linux/kref.h>
#include <linux/idr.h>
#include <linux/iomap.h>
#include <linux/ratelimit.h>
#include <linux/err.h>

#include "zufs/zufs_api.h"

#define ZUF_MAGIC	0x5a554652	/* "ZUFR": the zuf-root filesystem */

extern unsigned int zuf_timeout_s;	/* a call waits this long for a reply */
extern unsigned int zuf_restart_s;	/* ... and this long for a server */
extern unsigned int zuf_spin_ns;	/* spin before sleeping on a reply */

#define zuf_err_rl(fmt, ...) \
	pr_err_ratelimited("zuf: " fmt, ##__VA_ARGS__)
#define zuf_warn(fmt, ...)	pr_warn("zuf: " fmt, ##__VA_ARGS__)
#define zuf_info(fmt, ...)	pr_info("zuf: " fmt, ##__VA_ARGS__)

/* A bad server reply: log (ratelimited) and fail the call with -EIO. */
#define zuf_bad_reply(fmt, ...) ({					\
	zuf_err_rl("bad server reply: " fmt "\n", ##__VA_ARGS__);	\
	-EIO; })

/* ---- channels (channel.c) ----------------------------------------- */

enum zuf_chan_state {
	ZC_FREE,	/* no caller owns the buffer */
	ZC_OWNED,	/* a caller is writing its command */
	ZC_POSTED,	/* waiting for the server thread to pick it up */
	ZC_DELIVERED,	/* the server works on it */
	ZC_DONE,	/* reply (or error) ready for the caller */
};

struct zuf_file;

struct zuf_chan {
	spinlock_t lock;		/* state, owner, seq, srv_task */
	unsigned int index;		/* CPU, or ZUFS_CHAN_MOUNT */
	enum zuf_chan_state state;
	bool abandoned;			/* caller timed out, reply discarded */
	int result;			/* 0, or -EIO when the server died */
	u64 seq;
	u64 completed;			/* commands completed: progress */
	void *buf;			/* ZUFS_CHAN_CMD_SIZE, vmalloc_user */
	/*
	 * map mode: ZUFS_CHAN_WINDOW_SIZE of kernel pages (vmalloc_user) the
	 * server maps; data is copied between them and the application.
	 * Allocated at the first bind, NULL for the mount channel.
	 */
	void *window;
	struct zuf_file *owner;		/* bound server fd */
	struct task_struct *srv_task;	/* server thread holding a command */
	wait_queue_head_t srv_wq;	/* server waits for a command */
	wait_queue_head_t reply_wq;	/* caller waits for a reply */
};

struct zuf_root {
	struct super_block *sb;
	unsigned int nchans;		/* nr_cpu_ids */
	struct zuf_chan **chans;	/* per CPU */
	struct zuf_chan *mchan;		/* the mount thread's channel */
	struct mutex mount_lock;	/* one mount command at a time */

	spinlock_t lock;		/* below */
	unsigned int nservers;		/* handshaken fds */
	u64 server_gen;			/* bumped when a server attaches */
	u64 granted;			/* features of the current server */
	wait_queue_head_t server_wq;	/* a server, a free channel, a reattach */
	atomic_t nwaiting;		/* calls waiting for a server */
	wait_queue_head_t poll_wq;	/* control fd pollers (zusd.socket) */
	/* a hung server: see zuf_mark_stalled() */
	bool stalled;
	u64 stall_gen;
	u64 stall_progress;
	struct work_struct reattach_work;
};

extern struct zuf_root *zuf_root;	/* the one zuf-root instance */

/* One server-side fd of the control file. */
struct zuf_file {
	struct zuf_root *zr;
	struct mutex lock;		/* HANDSHAKE and INIT_CHAN on this fd */
	bool handshaken;
	bool breaking;			/* ZU_IOC_BREAK: leave the wait */
	u64 gen;			/* server_gen of its handshake */
	struct zuf_chan *chan;		/* bound channel, NULL: none */
};

struct zuf_sb_info;

/* One server call. */
struct zuf_call {
	struct zuf_sb_info *sbi;	/* NULL for mount-thread commands */
	struct zufs_hdr *cmd;		/* command; the reply is copied back */
	u32 in_len;			/* bytes of cmd sent */
	u32 out_len;			/* bytes copied back on success */
	const void *pl_in;		/* payload sent at ZUFS_PAYLOAD_OFF */
	u32 pl_in_len;
	/* payload reply: len from pl_out_len(cmd), copied to pl_out */
	void *pl_out;
	u32 pl_out_max;
	u32 (*pl_out_len)(const struct zufs_hdr *cmd);
	/*
	 * Once the channel is taken, before the command is sent (again, if
	 * it is resent): fill the window, finish the command.  The window
	 * is NULL on the mount channel.
	 */
	int (*prep)(struct zuf_call *call, void *window);
	/*
	 * Parse the reply in place, channel held (large replies, data in the
	 * window): the server may still be writing both, read each field once.
	 */
	int (*parse)(struct zuf_call *call, const void *buf);
	void *priv;
	void *window;			/* the channel's, while it is held */
	unsigned long deadline;		/* jiffies: the call gives up */
	unsigned int flags;
	/*
	 * Set when the call stopped waiting (a fatal signal, the server's
	 * timeout) after the command was sent: the server may still carry
	 * it out.
	 */
	bool unknown;
};

#define ZUF_CALL_MOUNT		BIT(0)	/* use the mount channel */
#define ZUF_CALL_NOWAIT_SRV	BIT(1)	/* no server: fail at once */
#define ZUF_CALL_REATTACH	BIT(2)	/* sb not attached yet: ok */

int zuf_chans_init(struct zuf_root *zr);
void zuf_chans_free(struct zuf_root *zr);
int zuf_dispatch(struct zuf_call *call);
int zuf_chan_bind(struct zuf_file *zf, unsigned int index);
void zuf_chan_unbind(struct zuf_file *zf);
int zuf_chan_wait(struct zuf_file *zf, struct zufs_ioc_wait __user *arg,
		  bool mount);
int zuf_chan_mmap(struct zuf_file *zf, struct vm_area_struct *vma);
void zuf_chan_break(struct zuf_file *zf);
void zuf_server_attached(struct zuf_root *zr);

/* ---- control file (control.c) ------------------------------------- */

extern const struct file_operations zuf_control_fops;

/* ---- served filesystems (super.c) --------------------------------- */

struct zuf_fs_type {
	struct list_head list;
	struct file_system_type vfs;
	char name[ZUFS_FSTYPE_MAX];
	u64 features;
	u32 magic;
	u32 flags;
	bool registered;		/* by the current server */
};

/* A mount's pmem device, shared with the server's pmem mappings. */
struct zuf_pmem {
	struct kref ref;
	struct dax_device *dax_dev;
	u64 part_off;			/* dax offset of the partition */
	u64 size;			/* bytes */
	u32 id;
};

#define ZUF_EVICT_HASH_BITS	6

struct zuf_sb_info {
	struct super_block *sb;
	struct list_head list;		/* zuf_sbs */
	struct zuf_fs_type *zft;
	zufs_sb_id sb_id;
	u64 features;			/* ZUFS_FEATURE_* of this mount */
	u64 attached_gen;		/* server_gen it is served by */
	u64 root_ino;
	struct zuf_pmem *pmem;		/* NULL: no device (map mode only) */
	char *options;
	char *dev_path;
	u32 mflags;			/* ZUFS_M_* */
	u64 reattach_gen;		/* server_gen a reattach was tried for */
	/* EVICTs go out from here (zuf_evict_inode); per inode-number hash */
	struct workqueue_struct *evict_wq;
	atomic_t evicts_of[1 << ZUF_EVICT_HASH_BITS];
	unsigned long sflags;		/* ZUF_SB_* bits */
};

#define ZUF_SB_SHUTDOWN		0	/* FS_IOC_SHUTDOWN: all fails -EIO */

/* The shutdown ioctl of ext4 and xfs (XFS_IOC_GOINGDOWN) and its flags */
#define ZUF_IOC_SHUTDOWN		_IOR('X', 125, __u32)
#define ZUF_GOING_FLAGS_DEFAULT		0x0	/* sync, then stop */
#define ZUF_GOING_FLAGS_LOGFLUSH	0x1	/* flush the log, then stop */
#define ZUF_GOING_FLAGS_NOLOGFLUSH	0x2	/* stop at once */

static inline struct zuf_sb_info *ZUF_SB(struct super_block *sb)
{
	return sb->s_fs_info;
}

static inline bool zuf_sbi_is_shutdown(struct zuf_sb_info *sbi)
{
	return unlikely(test_bit(ZUF_SB_SHUTDOWN, &sbi->sflags));
}

static inline bool zuf_is_shutdown(struct super_block *sb)
{
	return zuf_sbi_is_shutdown(ZUF_SB(sb));
}

int zuf_register_fs(struct zuf_root *zr, struct zufs_ioc_register_fs *r);
void zuf_unregister_all_fs(void);
struct zuf_pmem *zuf_pmem_get(u32 id);
void zuf_pmem_put(struct zuf_pmem *pm);
void zuf_reattach_all(struct work_struct *work);
struct super_block *zuf_sb_grab(zufs_sb_id sb_id);
int zuf_shutdown(struct super_block *sb, u32 flags);
long zuf_ioctl(struct file *file, unsigned int cmd, unsigned long arg);

/* ---- inodes (inode.c) --------------------------------------------- */

#define ZUF_EXT_CACHE	64		/* extents cached per inode */
/* a read's GET_EXTENTS asks for this much at least: fewer round trips */
#define ZUF_GE_WINDOW	(16ULL << 20)

/* the last invalidations of an inode: a reply racing one may still serve */
#define ZUF_INV_RING	8

/* the server's ZU_IOC_INVALIDATE waits this long for users of old extents */
#define ZUF_INV_WAIT	(2 * HZ)
#define ZUF_INV_TRIES	200		/* invalidate_lock trylocks, 1-2 ms apart */

/* iomap_begin: MAPPED (off-pmem) range, the caller falls back to map mode */
#define ZUF_EMAPPED	(MAX_ERRNO - 1)
/* iomap_begin of a fault: not in the cache, zuf_fault_fill() and again */
#define ZUF_ERETRY	(MAX_ERRNO - 2)

struct zuf_inode_info {
	struct inode vfs;
	spinlock_t ext_lock;		/* the extent cache */
	u32 ext_n;
	u64 ext_gen;			/* bumped by every invalidation */
	struct zufs_extent *ext;	/* ZUF_EXT_CACHE, at first I/O */
	/* invalidation ext_gen = g covered inv[g % ZUF_INV_RING] */
	struct { u64 lo, hi; } inv[ZUF_INV_RING];
	/*
	 * iomap users of a pmem extent from the cache, from iomap_begin to
	 * iomap_end (a copy or a fault): ZU_IOC_INVALIDATE waits for them.
	 */
	atomic_t ext_users;
	spinlock_t attr_lock;		/* attr_version, applying attributes */
	u64 attr_version;		/* see zuf_update_inode() */
	/* lazytime: S_ATIME/S_MTIME/S_CTIME changed here, not yet sent */
	unsigned int lazy_times;	/* under attr_lock */
	struct mutex setattr_lock;	/* one SETATTR at a time per inode */
};

static inline struct zuf_inode_info *ZUF_I(struct inode *inode)
{
	return container_of(inode, struct zuf_inode_info, vfs);
}

extern struct kmem_cache *zuf_inode_cachep;
extern struct workqueue_struct *zuf_wq;
/* tiered data, for zuf-root "state" (tests, diagnosis) */
extern atomic64_t zuf_nr_invalidations;	/* ZU_IOC_INVALIDATE of an inode */
extern atomic64_t zuf_nr_map_fallbacks;	/* off-pmem ranges in map mode */
extern atomic64_t zuf_nr_fault_fills;	/* faults that asked the server */
extern const struct inode_operations zuf_file_iops;
extern const struct inode_operations zuf_special_iops;

struct inode *zuf_iget(struct super_block *sb, const struct zufs_attr *attr,
		       u64 ver, bool must_be_new);
int zuf_check_attr(struct super_block *sb, const struct zufs_attr *a,
		   u64 ino);
u64 zuf_attr_ver(void);
void zuf_update_inode(struct inode *inode, const struct zufs_attr *a,
		      u64 ver);
void zuf_set_isize(struct inode *inode, loff_t size);
void zuf_hdr_init(struct zufs_hdr *hdr, u32 op, struct zuf_sb_info *sbi);
int zuf_getattr_ino(struct super_block *sb, u64 ino, struct zufs_attr *out,
		    u64 *ver);
int zuf_getattr(struct user_namespace *mnt_userns, const struct path *path,
		struct kstat *stat, u32 request_mask, unsigned int flags);
int zuf_setattr(struct user_namespace *mnt_userns, struct dentry *dentry,
		struct iattr *attr);
int zuf_update_time(struct inode *inode, struct timespec64 *time, int flags);
int zuf_write_lazy_times(struct inode *inode, unsigned int call_flags);
int zuf_set_size(struct inode *inode, loff_t size);
int zuf_set_mode(struct inode *inode, umode_t mode);
void zuf_evict_inode(struct inode *inode);
void zuf_evict_flush(struct zuf_sb_info *sbi, u64 ino);
int zuf_errno_ok(int err);

/* ---- names, directories, files ------------------------------------ */

extern const struct inode_operations zuf_dir_iops;
extern const struct inode_operations zuf_symlink_iops;
extern const struct file_operations zuf_dir_fops;
extern const struct file_operations zuf_file_fops;
extern const struct address_space_operations zuf_aops;
extern const struct iomap_ops zuf_iomap_ops;
void zuf_set_str(struct zufs_str *s, const struct qstr *q);

void zuf_ext_invalidate(struct inode *inode, u64 off, u64 len);
int zuf_break_layouts(struct inode *inode, loff_t start, loff_t end);
int zuf_invalidate(struct zufs_ioc_invalidate *inv);
int zuf_fault_fill(struct inode *inode, loff_t pos, loff_t length,
		   bool write);
int zuf_file_mmap(struct file *file, struct vm_area_struct *vma);

/* ---- xattrs and ACLs (xattr.c) ------------------------------------ */

extern const struct xattr_handler *zuf_xattr_handlers[];
ssize_t zuf_listxattr(struct dentry *dentry, char *buf, size_t size);
int zuf_xattr_set_security(struct inode *inode, const char *name,
			   const void *value, size_t size);
struct posix_acl *zuf_get_acl(struct inode *inode, int type, bool rcu);
int zuf_set_acl(struct user_namespace *mnt_userns, struct inode *inode,
		struct posix_acl *acl, int type);
int zuf_init_acl(struct inode *inode, struct inode *dir);

#endif /* __ZUF_H */
