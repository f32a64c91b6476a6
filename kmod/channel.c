// SPDX-License-Identifier: GPL-2.0
/*
 * Per-CPU channels between zuf and the server threads.
 *
 * Each CPU has one channel: a command buffer shared (mmap) with the server
 * thread bound to that CPU, and a data window into which application pages
 * are mapped for map-mode I/O.  A caller takes the channel of its CPU (or
 * any free one), writes its command, wakes the server thread and spins
 * briefly, then sleeps, until the reply is there.  Nothing here allocates
 * or takes a global lock.  The server is never trusted: replies are read
 * once, checked, and a server that dies or hangs fails the waiting call.
 */
#include <linux/slab.h>
#include <linux/vmalloc.h>
#include <linux/sched.h>
#include <linux/sched/mm.h>
#include <linux/sched/clock.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/uio.h>
#include <linux/mm.h>
#include <linux/mmap_lock.h>
#include <linux/uaccess.h>

#include "zuf.h"

/*
 * Results of a command the server went away with, never a reply: UNSENT,
 * it never picked the command up; LOST, it died working on it.  Either way
 * the command is sent again to the next server, so that a restart (or a
 * crash) of zusd costs the application a wait, not an error.  A command
 * lost by more than ZUF_MAX_LOST servers in a row is taken to kill them
 * and fails with EIO.
 */
#define ZUF_RESEND_UNSENT	1
#define ZUF_RESEND_LOST		2
#define ZUF_MAX_LOST		2

static struct zuf_chan *zuf_chan_alloc(unsigned int index, int node)
{
	struct zuf_chan *c = kzalloc_node(sizeof(*c), GFP_KERNEL, node);

	if (!c)
		return NULL;
	c->index = index;
	spin_lock_init(&c->lock);
	mutex_init(&c->win_mutex);
	init_waitqueue_head(&c->srv_wq);
	init_waitqueue_head(&c->reply_wq);
	c->buf = vmalloc_user(ZUFS_CHAN_CMD_SIZE);
	if (!c->buf)
		goto fail;
	if (index != ZUFS_CHAN_MOUNT) {
		c->pages = kcalloc_node(ZUF_WINDOW_PAGES, sizeof(*c->pages),
					GFP_KERNEL, node);
		if (!c->pages)
			goto fail;
	}
	return c;
fail:
	vfree(c->buf);
	kfree(c);
	return NULL;
}

static void zuf_chan_free(struct zuf_chan *c)
{
	if (!c)
		return;
	WARN_ON(c->owner || c->npages || c->win_mm);
	kfree(c->pages);
	vfree(c->buf);
	kfree(c);
}

int zuf_chans_init(struct zuf_root *zr)
{
	unsigned int cpu;

	zr->nchans = nr_cpu_ids;
	zr->chans = kcalloc(zr->nchans, sizeof(*zr->chans), GFP_KERNEL);
	if (!zr->chans)
		return -ENOMEM;
	for_each_possible_cpu(cpu) {
		zr->chans[cpu] = zuf_chan_alloc(cpu, cpu_to_node(cpu));
		if (!zr->chans[cpu])
			goto fail;
	}
	zr->mchan = zuf_chan_alloc(ZUFS_CHAN_MOUNT, NUMA_NO_NODE);
	if (!zr->mchan)
		goto fail;
	return 0;
fail:
	zuf_chans_free(zr);
	return -ENOMEM;
}

void zuf_chans_free(struct zuf_root *zr)
{
	unsigned int i;

	if (zr->chans)
		for (i = 0; i < zr->nchans; i++)
			zuf_chan_free(zr->chans[i]);
	kfree(zr->chans);
	zr->chans = NULL;
	zuf_chan_free(zr->mchan);
	zr->mchan = NULL;
}

static void zuf_chan_put_pages(struct zuf_chan *c, bool dirty)
{
	unsigned int i;

	for (i = 0; i < c->npages; i++) {
		if (dirty)
			set_page_dirty_lock(c->pages[i]);
		put_page(c->pages[i]);
		c->pages[i] = NULL;
	}
	c->npages = 0;
}

static void zuf_wake_free(struct zuf_root *zr)
{
	if (wq_has_sleeper(&zr->server_wq))
		wake_up_all(&zr->server_wq);
}

/*
 * The command in flight is over: hand the reply (or @result) to its caller,
 * or, when the caller gave up on it, free the channel.  Lock held.
 */
static bool zuf_chan_complete_locked(struct zuf_chan *c, int result)
{
	if (c->srv_task) {
		put_task_struct(c->srv_task);
		c->srv_task = NULL;
	}
	if (c->abandoned) {
		unsigned int i;

		/* no sleeping here: drop the pages without dirtying them */
		for (i = 0; i < c->npages; i++) {
			put_page(c->pages[i]);
			c->pages[i] = NULL;
		}
		c->npages = 0;
		c->abandoned = false;
		c->state = ZC_FREE;
		return true;
	}
	c->result = result;
	/* pairs with the caller's acquire: the reply is visible before DONE */
	smp_store_release(&c->state, ZC_DONE);
	wake_up(&c->reply_wq);
	return false;
}

/* ---- caller side ---------------------------------------------------- */

static struct zuf_chan *zuf_chan_try(struct zuf_chan *c)
{
	bool ok = false;

	if (!c || READ_ONCE(c->state) != ZC_FREE || !READ_ONCE(c->owner))
		return NULL;
	spin_lock(&c->lock);
	if (c->state == ZC_FREE && c->owner) {
		c->state = ZC_OWNED;
		ok = true;
	}
	spin_unlock(&c->lock);
	return ok ? c : NULL;
}

static struct zuf_chan *zuf_chan_scan(struct zuf_root *zr, bool mount)
{
	unsigned int cpu, i;
	struct zuf_chan *c;

	if (mount)
		return zuf_chan_try(zr->mchan);
	cpu = raw_smp_processor_id();
	c = zuf_chan_try(zr->chans[cpu]);
	if (c)
		return c;
	for (i = 1; i < zr->nchans; i++) {
		c = zuf_chan_try(zr->chans[(cpu + i) % zr->nchans]);
		if (c)
			return c;
	}
	return NULL;
}

static bool zuf_sb_attached(struct zuf_root *zr, struct zuf_sb_info *sbi)
{
	return READ_ONCE(sbi->attached_gen) == READ_ONCE(zr->server_gen) &&
	       READ_ONCE(zr->nservers);
}

/* Take a channel: the current CPU's, any free one, or wait for one. */
static struct zuf_chan *zuf_chan_get(struct zuf_root *zr,
				     struct zuf_call *call)
{
	bool mount = call->flags & ZUF_CALL_MOUNT;
	unsigned long deadline;
	struct zuf_chan *c;
	long ret;

	if (call->sbi && !(call->flags & ZUF_CALL_REATTACH) &&
	    unlikely(!zuf_sb_attached(zr, call->sbi))) {
		if (call->flags & ZUF_CALL_NOWAIT_SRV)
			return ERR_PTR(-EIO);
		/* demand for a server: the control fd polls readable */
		atomic_inc(&zr->nwaiting);
		wake_up_interruptible(&zr->poll_wq);
		ret = wait_event_killable_timeout(zr->server_wq,
						  zuf_sb_attached(zr, call->sbi),
						  zuf_restart_s * HZ);
		atomic_dec(&zr->nwaiting);
		if (ret < 0)
			return ERR_PTR(ret);
		if (!ret) {
			zuf_err_rl("no server for the mount: giving up\n");
			return ERR_PTR(-EIO);
		}
	}

	c = zuf_chan_scan(zr, mount);
	if (likely(c))
		return c;

	if (!READ_ONCE(zr->nservers) && (call->flags & ZUF_CALL_NOWAIT_SRV))
		return ERR_PTR(-EIO);
	deadline = jiffies + (READ_ONCE(zr->nservers) ? zuf_timeout_s :
			      zuf_restart_s) * HZ;
	for (;;) {
		ret = wait_event_killable_timeout(zr->server_wq,
						  (c = zuf_chan_scan(zr, mount)),
						  HZ);
		if (ret < 0)
			return ERR_PTR(ret);
		if (c)
			return c;
		if (time_after(jiffies, deadline)) {
			zuf_err_rl("no free channel (server %s)\n",
				   READ_ONCE(zr->nservers) ? "hung" : "gone");
			return ERR_PTR(-EIO);
		}
	}
}

static void zuf_chan_release(struct zuf_root *zr, struct zuf_chan *c,
			     bool dirty)
{
	if (c->npages)
		zuf_chan_put_pages(c, dirty);
	spin_lock(&c->lock);
	c->state = ZC_FREE;
	spin_unlock(&c->lock);
	zuf_wake_free(zr);
}

/* Pin the pages of a map-mode call for the window. */
static int zuf_chan_pin(struct zuf_chan *c, struct zuf_call *call)
{
	size_t start = 0, max;
	ssize_t got;

	max = min_t(size_t, call->iter_len,
		    ZUFS_CHAN_WINDOW_SIZE - PAGE_SIZE);
	got = iov_iter_get_pages2(call->iter, c->pages, max,
				  ZUF_WINDOW_PAGES, &start);
	if (got <= 0)
		return got ? got : -EFAULT;
	c->npages = DIV_ROUND_UP(start + got, PAGE_SIZE);
	c->pages_ro = call->iter_to_server;
	call->iter_got = got;
	call->window_off = start;
	return 0;
}

/* The server thread handling our command died: its reply will not come. */
static bool zuf_chan_server_dead(struct zuf_chan *c)
{
	bool dead = false;

	spin_lock(&c->lock);
	if (c->state == ZC_DELIVERED && c->srv_task &&
	    (c->srv_task->flags & PF_EXITING)) {
		zuf_err_rl("server thread %d died holding a command: resent\n",
			   task_pid_nr(c->srv_task));
		if (zuf_chan_complete_locked(c, ZUF_RESEND_LOST))
			zuf_wake_free(zuf_root);
		dead = true;
	}
	spin_unlock(&c->lock);
	return dead;
}

/* Give up waiting: the channel stays busy until the server answers. */
static bool zuf_chan_abandon(struct zuf_chan *c)
{
	bool done;

	spin_lock(&c->lock);
	done = c->state == ZC_DONE;
	if (!done)
		c->abandoned = true;
	spin_unlock(&c->lock);
	return !done;
}

static bool zuf_chan_done(struct zuf_chan *c)
{
	/* pairs with the release in zuf_chan_complete_locked() */
	return smp_load_acquire(&c->state) == ZC_DONE;
}

static int zuf_chan_wait_reply(struct zuf_chan *c, bool *abandoned)
{
	unsigned long deadline;
	u64 t0 = local_clock();
	long ret;

	/* a wake-up costs microseconds: spin a little first */
	while (!zuf_chan_done(c) &&
	       local_clock() - t0 < zuf_spin_ns && !need_resched())
		cpu_relax();

	deadline = jiffies + zuf_timeout_s * HZ;
	for (;;) {
		ret = wait_event_killable_timeout(c->reply_wq,
						  zuf_chan_done(c), HZ);
		if (ret > 0)
			break;
		if (ret < 0) {
			if (!zuf_chan_abandon(c))
				break;
			*abandoned = true;
			return ret;
		}
		if (zuf_chan_server_dead(c))
			break;
		if (time_after(jiffies, deadline)) {
			if (!zuf_chan_abandon(c))
				break;
			*abandoned = true;
			zuf_err_rl("server did not answer in %us: -EIO\n",
				   zuf_timeout_s);
			return -EIO;
		}
	}
	return READ_ONCE(c->result);
}

static int zuf_reply_check(struct zuf_call *call, const void *buf, u64 seq)
{
	const struct zufs_hdr *h = buf;
	u32 op = READ_ONCE(h->op), out_len = READ_ONCE(h->out_len);
	s32 err = READ_ONCE(h->err);
	u64 rseq = READ_ONCE(h->seq);
	u32 want_op = call->cmd->op;
	int ret;

	if (op != want_op || rseq != seq)
		return zuf_bad_reply("op %u seq %llu, expected op %u seq %llu",
				     op, rseq, want_op, seq);
	if (err)
		return zuf_errno_ok(err) ? err :
			zuf_bad_reply("op %u: errno %d", op, err);
	if (out_len < call->out_len || out_len > ZUFS_CHAN_CMD_SIZE)
		return zuf_bad_reply("op %u: reply of %u bytes, expected %u",
				     op, out_len, call->out_len);
	memcpy(call->cmd, buf, call->out_len);
	call->cmd->op = want_op;
	call->cmd->err = 0;
	if (call->pl_out_len) {
		u32 n = call->pl_out_len(call->cmd);

		if (n > call->pl_out_max || n > ZUFS_PAYLOAD_MAX)
			return zuf_bad_reply("op %u: payload of %u bytes", op,
					     n);
		memcpy(call->pl_out, buf + ZUFS_PAYLOAD_OFF, n);
	}
	if (call->parse) {
		ret = call->parse(call, buf);
		if (ret)
			return ret;
	}
	return 0;
}

/* Free the channel and unpin the pages of a call that is sent again. */
static void zuf_dispatch_undo(struct zuf_root *zr, struct zuf_chan *c,
			      struct zuf_call *call)
{
	zuf_chan_release(zr, c, false);
	if (call->iter && call->iter_got)
		iov_iter_revert(call->iter, call->iter_got);
	call->iter_got = 0;
}

/**
 * zuf_dispatch - send one command to the server and wait for its reply
 * @call: the command; see struct zuf_call
 *
 * Returns 0 (the reply is in @call->cmd, checked for size and errno only;
 * the caller checks each field it uses) or -errno.
 */
int zuf_dispatch(struct zuf_call *call)
{
	struct zuf_root *zr = zuf_root;
	struct zufs_hdr *h = call->cmd;
	unsigned int lost = 0;
	bool abandoned;
	struct zuf_chan *c;
	u64 seq;
	int ret;

	if (WARN_ON_ONCE(call->in_len < sizeof(*h) ||
			 call->in_len > ZUFS_PAYLOAD_OFF ||
			 call->out_len > call->in_len ||
			 call->pl_in_len > ZUFS_PAYLOAD_MAX))
		return -EINVAL;
	if (!zr)
		return -EIO;

again:
	abandoned = false;
	c = zuf_chan_get(zr, call);
	if (IS_ERR(c))
		return PTR_ERR(c);

	if (call->iter) {
		ret = zuf_chan_pin(c, call);
		if (ret) {
			zuf_chan_release(zr, c, false);
			return ret;
		}
		if (call->prep)
			call->prep(call);
	}
	h->in_len = call->in_len;
	h->out_len = 0;
	h->err = 0;
	memcpy(c->buf, h, call->in_len);
	if (call->pl_in_len)
		memcpy(c->buf + ZUFS_PAYLOAD_OFF, call->pl_in, call->pl_in_len);

	spin_lock(&c->lock);
	/*
	 * The server left, or a new one took the channel before it had this
	 * mount back (a call that waited for a free channel across a
	 * restart): it would not know the mount.  Wait for the reattach.
	 */
	if (!c->owner || (call->sbi && !(call->flags & ZUF_CALL_REATTACH) &&
			  c->owner->gen != READ_ONCE(call->sbi->attached_gen))) {
		spin_unlock(&c->lock);
		zuf_dispatch_undo(zr, c, call);
		cond_resched();
		goto again;
	}
	seq = ++c->seq;
	((struct zufs_hdr *)c->buf)->seq = seq;
	c->result = 0;
	c->state = ZC_POSTED;
	spin_unlock(&c->lock);
	wake_up(&c->srv_wq);

	ret = zuf_chan_wait_reply(c, &abandoned);
	if (abandoned)
		return ret;	/* the channel frees itself on the reply */
	if (ret == ZUF_RESEND_UNSENT || ret == ZUF_RESEND_LOST) {
		zuf_dispatch_undo(zr, c, call);
		if (ret == ZUF_RESEND_LOST && ++lost > ZUF_MAX_LOST) {
			zuf_err_rl("op %u lost by %u servers in a row: -EIO\n",
				   h->op, lost);
			return -EIO;
		}
		goto again;
	}
	if (!ret)
		ret = zuf_reply_check(call, c->buf, seq);
	zuf_chan_release(zr, c, !ret && call->iter && !call->iter_to_server);
	return ret;
}

/* ---- server side ----------------------------------------------------- */

int zuf_chan_bind(struct zuf_file *zf, unsigned int index)
{
	struct zuf_root *zr = zf->zr;
	struct zuf_chan *c;
	int ret = 0;

	if (index == ZUFS_CHAN_MOUNT)
		c = zr->mchan;
	else if (index < zr->nchans && cpu_possible(index))
		c = zr->chans[index];
	else
		return -EINVAL;
	if (zf->chan)
		return -EBUSY;

	spin_lock(&c->lock);
	if (c->owner)
		ret = -EBUSY;
	else
		c->owner = zf;
	spin_unlock(&c->lock);
	if (ret)
		return ret;
	zf->chan = c;
	wake_up_all(&zr->server_wq);
	if (index == ZUFS_CHAN_MOUNT)
		zuf_server_attached(zr);
	return 0;
}

void zuf_chan_unbind(struct zuf_file *zf)
{
	struct zuf_chan *c = zf->chan;

	if (!c)
		return;
	spin_lock(&c->lock);
	c->owner = NULL;
	if (c->state == ZC_POSTED) {
		zuf_chan_complete_locked(c, ZUF_RESEND_UNSENT);
	} else if (c->state == ZC_DELIVERED) {
		zuf_err_rl("server left channel %d with a command: resent\n",
			   (int)c->index);
		zuf_chan_complete_locked(c, ZUF_RESEND_LOST);
	} else if (c->state == ZC_REPLYING) {
		/* cannot happen: release does not race the WAIT ioctl */
		zuf_chan_complete_locked(c, -EIO);
	}
	spin_unlock(&c->lock);
	zf->chan = NULL;
	wake_up_all(&c->srv_wq);
	zuf_wake_free(zf->zr);
}

void zuf_chan_break(struct zuf_file *zf)
{
	WRITE_ONCE(zf->breaking, true);
	if (zf->chan)
		wake_up_all(&zf->chan->srv_wq);
}

/* Take the application pages out of the server's window. */
static void zuf_window_zap(struct zuf_chan *c)
{
	struct vm_area_struct *vma;
	struct mm_struct *mm;

	mutex_lock(&c->win_mutex);
	mm = c->win_mm;
	if (mm)
		mmgrab(mm);
	mutex_unlock(&c->win_mutex);
	if (!mm)
		return;
	if (mmget_not_zero(mm)) {
		mmap_read_lock(mm);
		mutex_lock(&c->win_mutex);
		vma = c->win_addr ? find_vma(mm, c->win_addr) : NULL;
		if (vma && vma->vm_start == c->win_addr &&
		    vma->vm_private_data == c)
			zap_vma_ptes(vma, vma->vm_start,
				     vma->vm_end - vma->vm_start);
		mutex_unlock(&c->win_mutex);
		mmap_read_unlock(mm);
		mmput(mm);
	}
	mmdrop(mm);
}

static bool zuf_srv_woken(struct zuf_file *zf, struct zuf_chan *c)
{
	return READ_ONCE(c->state) == ZC_POSTED || READ_ONCE(zf->breaking) ||
	       READ_ONCE(c->owner) != zf;
}

int zuf_chan_wait(struct zuf_file *zf, struct zufs_ioc_wait __user *uarg,
		  bool mount)
{
	struct zuf_chan *c = zf->chan;
	struct zufs_ioc_wait w;
	bool delivered = false, freed = false, is_mount;
	u64 t0, seq = 0;
	int ret;

	if (!c)
		return -EINVAL;
	is_mount = c->index == ZUFS_CHAN_MOUNT;
	if (mount != is_mount)
		return -EINVAL;
	if (copy_from_user(&w, uarg, sizeof(w)))
		return -EFAULT;
	if (w.flags & ~ZUFS_WAIT_HAS_RESULT)
		return -EINVAL;

	spin_lock(&c->lock);
	if (c->state == ZC_DELIVERED) {
		if (!(w.flags & ZUFS_WAIT_HAS_RESULT)) {
			zuf_err_rl("server dropped command %llu: -EIO\n",
				   c->seq);
			freed = zuf_chan_complete_locked(c, -EIO);
		} else if (c->npages) {
			c->state = ZC_REPLYING;
			spin_unlock(&c->lock);
			zuf_window_zap(c);
			spin_lock(&c->lock);
			if (c->state == ZC_REPLYING)
				freed = zuf_chan_complete_locked(c, 0);
		} else {
			freed = zuf_chan_complete_locked(c, 0);
		}
	}
	spin_unlock(&c->lock);
	if (freed)
		zuf_wake_free(zf->zr);

	/* the next command often follows at once: spin a little */
	t0 = local_clock();
	while (!zuf_srv_woken(zf, c) && local_clock() - t0 < zuf_spin_ns &&
	       !need_resched())
		cpu_relax();
	ret = wait_event_interruptible(c->srv_wq, zuf_srv_woken(zf, c));
	if (ret)
		return ret;
	if (READ_ONCE(zf->breaking))
		return -ECANCELED;

	spin_lock(&c->lock);
	if (c->state == ZC_POSTED && c->owner == zf) {
		c->state = ZC_DELIVERED;
		seq = c->seq;
		get_task_struct(current);
		c->srv_task = current;
		delivered = true;
	}
	spin_unlock(&c->lock);
	if (!delivered)
		return -EAGAIN;

	w.seq = seq;
	if (copy_to_user(uarg, &w, sizeof(w))) {
		spin_lock(&c->lock);
		if (c->state == ZC_DELIVERED)
			zuf_chan_complete_locked(c, -EIO);
		spin_unlock(&c->lock);
		return -EFAULT;
	}
	return 0;
}

/* ---- mmap of the command buffer and the data window ------------------ */

static vm_fault_t zuf_window_fault(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	struct zuf_chan *c = vma->vm_private_data;
	pgoff_t idx = (vmf->address - vma->vm_start) >> PAGE_SHIFT;
	vm_fault_t ret = VM_FAULT_SIGBUS;
	pgprot_t prot;

	mutex_lock(&c->win_mutex);
	spin_lock(&c->lock);
	if (c->state == ZC_DELIVERED && idx < c->npages) {
		unsigned long pfn = page_to_pfn(c->pages[idx]);
		bool ro = c->pages_ro;

		spin_unlock(&c->lock);
		if (ro && (vmf->flags & FAULT_FLAG_WRITE)) {
			ret = VM_FAULT_SIGBUS;
		} else {
			prot = ro ? vm_get_page_prot(VM_READ | VM_SHARED) :
				    vma->vm_page_prot;
			ret = vmf_insert_pfn_prot(vma, vmf->address, pfn,
						  prot);
		}
	} else {
		spin_unlock(&c->lock);
	}
	mutex_unlock(&c->win_mutex);
	return ret;
}

static void zuf_window_close(struct vm_area_struct *vma)
{
	struct zuf_chan *c = vma->vm_private_data;
	struct mm_struct *mm = NULL;

	mutex_lock(&c->win_mutex);
	if (c->win_addr == vma->vm_start && c->win_mm == vma->vm_mm) {
		mm = c->win_mm;
		c->win_mm = NULL;
		c->win_addr = 0;
	}
	mutex_unlock(&c->win_mutex);
	if (mm)
		mmdrop(mm);
}

static int zuf_window_may_split(struct vm_area_struct *vma,
				unsigned long addr)
{
	return -EINVAL;
}

static int zuf_window_mremap(struct vm_area_struct *vma)
{
	return -EINVAL;
}

static const struct vm_operations_struct zuf_window_vm_ops = {
	.fault		= zuf_window_fault,
	.close		= zuf_window_close,
	.may_split	= zuf_window_may_split,
	.mremap		= zuf_window_mremap,
};

int zuf_chan_mmap(struct zuf_file *zf, struct vm_area_struct *vma)
{
	struct zuf_chan *c = zf->chan;
	unsigned long size = vma->vm_end - vma->vm_start;
	int ret = 0;

	if (!c)
		return -EINVAL;
	if (!(vma->vm_flags & VM_SHARED))
		return -EINVAL;

	if (vma->vm_pgoff == 0) {
		if (size != ZUFS_CHAN_CMD_SIZE)
			return -EINVAL;
		vma->vm_flags |= VM_DONTCOPY | VM_DONTEXPAND | VM_DONTDUMP;
		return remap_vmalloc_range(vma, c->buf, 0);
	}

	if (vma->vm_pgoff != ZUFS_CHAN_WINDOW_OFF >> PAGE_SHIFT ||
	    size != ZUFS_CHAN_WINDOW_SIZE || c->index == ZUFS_CHAN_MOUNT)
		return -EINVAL;
	mutex_lock(&c->win_mutex);
	if (c->win_mm) {
		ret = -EBUSY;
	} else {
		mmgrab(vma->vm_mm);
		c->win_mm = vma->vm_mm;
		c->win_addr = vma->vm_start;
	}
	mutex_unlock(&c->win_mutex);
	if (ret)
		return ret;
	vma->vm_flags |= VM_PFNMAP | VM_DONTCOPY | VM_DONTEXPAND |
			 VM_DONTDUMP | VM_IO;
	vma->vm_ops = &zuf_window_vm_ops;
	vma->vm_private_data = c;
	return 0;
}
