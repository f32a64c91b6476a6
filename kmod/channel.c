// SPDX-License-Identifier: GPL-2.0
/*
 * Per-CPU channels between zuf and the server threads.
 *
 * Each CPU has one channel: a command buffer shared (mmap) with the server
 * thread bound to that CPU, and a data window of pages the kernel owns, for
 * map-mode I/O: the kernel copies between the application and the window,
 * the server reads or fills the window.  The server never sees an
 * application page, so nothing it keeps mapped or does late can reach
 * application memory.  A caller takes the channel of its CPU (or any free
 * one), writes its command, wakes the server thread and spins briefly, then
 * sleeps, until the reply is there.  Nothing here allocates or takes a
 * global lock.  The server is never trusted: replies are read once, checked,
 * and a server that dies or hangs fails (or resends) the waiting call.
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
	init_waitqueue_head(&c->srv_wq);
	init_waitqueue_head(&c->reply_wq);
	c->buf = vmalloc_user(ZUFS_CHAN_CMD_SIZE);
	if (!c->buf) {
		kfree(c);
		return NULL;
	}
	return c;
}

static void zuf_chan_free(struct zuf_chan *c)
{
	if (!c)
		return;
	WARN_ON(c->owner);
	vfree(c->window);
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
	c->completed++;
	if (c->abandoned) {
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

/* Commands the server completed on any channel: is it making progress? */
static u64 zuf_chans_progress(struct zuf_root *zr)
{
	u64 n = READ_ONCE(zr->mchan->completed);
	unsigned int i;

	for (i = 0; i < zr->nchans; i++)
		if (zr->chans[i])
			n += READ_ONCE(zr->chans[i]->completed);
	return n;
}

/*
 * A call gave up on an attached server (no reply, or no free channel, for a
 * whole timeout): until the server completes a command again or a new one
 * attaches, later calls that find no free channel fail at once instead of
 * each waiting out its own timeout, so a system call of many commands is not blocked many times
 * over by a hung server.  (With no server at all, calls keep waiting for
 * one: a restart is an event to wait for, not an error.)
 */
static void zuf_mark_stalled(struct zuf_root *zr)
{
	WRITE_ONCE(zr->stall_progress, zuf_chans_progress(zr));
	WRITE_ONCE(zr->stall_gen, READ_ONCE(zr->server_gen));
	WRITE_ONCE(zr->stalled, true);
}

static bool zuf_stalled(struct zuf_root *zr)
{
	if (!READ_ONCE(zr->stalled))
		return false;
	if (READ_ONCE(zr->stall_gen) == READ_ONCE(zr->server_gen) &&
	    READ_ONCE(zr->stall_progress) == zuf_chans_progress(zr))
		return true;
	WRITE_ONCE(zr->stalled, false);
	return false;
}

/* Jiffies left until @deadline, at least 1 while it is ahead. */
static long zuf_left(unsigned long deadline)
{
	return time_before(jiffies, deadline) ? (long)(deadline - jiffies) : 0;
}

/*
 * Take a channel: the current CPU's, any free one, or wait for one, within
 * the call's deadline.  A wait for a free channel gives up only when no
 * channel completed a command for a whole timeout (a hung or absent
 * server): slow calls that keep every channel busy while the server works
 * through them are not an error, and push the deadline on.
 */
static struct zuf_chan *zuf_chan_get(struct zuf_root *zr,
				     struct zuf_call *call)
{
	bool mount = call->flags & ZUF_CALL_MOUNT;
	unsigned long deadline;
	struct zuf_chan *c;
	u64 progress;
	long ret;

	if (call->sbi && !(call->flags & ZUF_CALL_REATTACH) &&
	    unlikely(!zuf_sb_attached(zr, call->sbi))) {
		if (call->flags & ZUF_CALL_NOWAIT_SRV)
			return ERR_PTR(-EIO);
		/* demand for a server: the control fd polls readable */
		atomic_inc(&zr->nwaiting);
		wake_up_interruptible(&zr->poll_wq);
		ret = min_t(long, zuf_left(call->deadline),
			    (long)zuf_restart_s * HZ);
		if (ret > 0)
			ret = wait_event_killable_timeout(zr->server_wq,
						zuf_sb_attached(zr, call->sbi),
						ret);
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
	/* every channel busy with a server that stopped answering */
	if (READ_ONCE(zr->nservers) && zuf_stalled(zr))
		return ERR_PTR(-EIO);

	if (!READ_ONCE(zr->nservers) && (call->flags & ZUF_CALL_NOWAIT_SRV))
		return ERR_PTR(-EIO);
	progress = zuf_chans_progress(zr);
	deadline = jiffies + (READ_ONCE(zr->nservers) ? zuf_timeout_s :
			      zuf_restart_s) * HZ;
	if (time_after(deadline, call->deadline))
		deadline = call->deadline;
	for (;;) {
		u64 now;

		ret = wait_event_killable_timeout(zr->server_wq,
						  (c = zuf_chan_scan(zr, mount)),
						  HZ);
		if (ret < 0)
			return ERR_PTR(ret);
		if (c)
			return c;
		now = zuf_chans_progress(zr);
		if (now != progress && READ_ONCE(zr->nservers)) {
			progress = now;
			deadline = jiffies + zuf_timeout_s * HZ;
			if (time_after(deadline, call->deadline))
				call->deadline = deadline;
		}
		if (time_after(jiffies, deadline)) {
			zuf_err_rl("no free channel (server %s)\n",
				   READ_ONCE(zr->nservers) ? "hung" : "gone");
			if (READ_ONCE(zr->nservers))
				zuf_mark_stalled(zr);
			return ERR_PTR(-EIO);
		}
	}
}

static void zuf_chan_release(struct zuf_root *zr, struct zuf_chan *c)
{
	spin_lock(&c->lock);
	c->state = ZC_FREE;
	spin_unlock(&c->lock);
	zuf_wake_free(zr);
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

static int zuf_chan_wait_reply(struct zuf_chan *c, struct zuf_call *call,
			       bool *abandoned)
{
	unsigned long deadline;
	u64 t0 = local_clock();
	long ret;

	/* a wake-up costs microseconds: spin a little first */
	while (!zuf_chan_done(c) &&
	       local_clock() - t0 < zuf_spin_ns && !need_resched())
		cpu_relax();

	deadline = jiffies + zuf_timeout_s * HZ;
	if (time_after(deadline, call->deadline))
		deadline = call->deadline;
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
			zuf_mark_stalled(zuf_root);
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
	/* a shut down mount sends nothing but the news (zuf_shutdown) */
	if (call->sbi && zuf_sbi_is_shutdown(call->sbi) &&
	    h->op != ZUFS_OP_REMOUNT)
		return -EIO;
	/*
	 * One deadline for the whole call, resends included: a server that
	 * keeps dying on it, or leaves it unsent, cannot keep it waiting.
	 */
	call->deadline = jiffies + (zuf_restart_s + zuf_timeout_s) * HZ;

again:
	if (!zuf_left(call->deadline)) {
		zuf_err_rl("op %u: no answer in %us: -EIO\n", h->op,
			   zuf_restart_s + zuf_timeout_s);
		return -EIO;
	}
	abandoned = false;
	c = zuf_chan_get(zr, call);
	if (IS_ERR(c))
		return PTR_ERR(c);

	call->window = c->window;
	if (call->prep) {
		ret = (call->window || (call->flags & ZUF_CALL_MOUNT)) ?
			call->prep(call, call->window) : -EIO;
		if (ret) {
			zuf_chan_release(zr, c);
			return ret;
		}
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
		zuf_chan_release(zr, c);
		cond_resched();
		goto again;
	}
	seq = ++c->seq;
	((struct zufs_hdr *)c->buf)->seq = seq;
	c->result = 0;
	c->state = ZC_POSTED;
	spin_unlock(&c->lock);
	wake_up(&c->srv_wq);

	ret = zuf_chan_wait_reply(c, call, &abandoned);
	if (abandoned) {
		call->unknown = true;
		return ret;	/* the channel frees itself on the reply */
	}
	if (ret == ZUF_RESEND_UNSENT || ret == ZUF_RESEND_LOST) {
		zuf_chan_release(zr, c);
		if (ret == ZUF_RESEND_LOST && ++lost > ZUF_MAX_LOST) {
			zuf_err_rl("op %u lost by %u servers in a row: -EIO\n",
				   h->op, lost);
			return -EIO;
		}
		goto again;
	}
	if (!ret)
		ret = zuf_reply_check(call, c->buf, seq);
	zuf_chan_release(zr, c);
	return ret;
}

/* ---- server side ----------------------------------------------------- */

/*
 * Bind the fd to a channel.  Serialised per fd by zf->lock (control.c): two
 * INIT_CHANs on one fd must not both bind.
 */
int zuf_chan_bind(struct zuf_file *zf, unsigned int index)
{
	struct zuf_root *zr = zf->zr;
	struct zuf_chan *c;
	void *window = NULL;
	int ret = 0;

	lockdep_assert_held(&zf->lock);
	if (index == ZUFS_CHAN_MOUNT)
		c = zr->mchan;
	else if (index < zr->nchans && cpu_possible(index))
		c = zr->chans[index];
	else
		return -EINVAL;
	if (zf->chan)
		return -EBUSY;
	/* the window: allocated at the first bind, kept with the channel */
	if (index != ZUFS_CHAN_MOUNT && !READ_ONCE(c->window)) {
		window = vmalloc_user(ZUFS_CHAN_WINDOW_SIZE);
		if (!window)
			return -ENOMEM;
	}

	spin_lock(&c->lock);
	if (c->owner) {
		ret = -EBUSY;
	} else {
		if (window && !c->window) {
			c->window = window;
			window = NULL;
		}
		c->owner = zf;
	}
	spin_unlock(&c->lock);
	vfree(window);
	if (ret)
		return ret;
	/* pairs with the load-acquire in zuf_file_chan() */
	smp_store_release(&zf->chan, c);
	wake_up_all(&zr->server_wq);
	if (index == ZUFS_CHAN_MOUNT)
		zuf_server_attached(zr);
	return 0;
}

/* The fd's channel, NULL before INIT_CHAN; set once, cleared at release. */
static struct zuf_chan *zuf_file_chan(struct zuf_file *zf)
{
	/* pairs with the store-release in zuf_chan_bind() */
	return smp_load_acquire(&zf->chan);
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
	}
	spin_unlock(&c->lock);
	zf->chan = NULL;
	wake_up_all(&c->srv_wq);
	zuf_wake_free(zf->zr);
}

void zuf_chan_break(struct zuf_file *zf)
{
	struct zuf_chan *c = zuf_file_chan(zf);

	WRITE_ONCE(zf->breaking, true);
	if (c)
		wake_up_all(&c->srv_wq);
}

static bool zuf_srv_woken(struct zuf_file *zf, struct zuf_chan *c)
{
	return READ_ONCE(c->state) == ZC_POSTED || READ_ONCE(zf->breaking) ||
	       READ_ONCE(c->owner) != zf;
}

/*
 * The server thread's loop: hand back the reply of the command it holds (if
 * any), then sleep for the next one.  Many threads may call this on one fd
 * at once: only the state under c->lock decides who gets a command, and a
 * reply completes the command that thread was given, at most once.
 */
int zuf_chan_wait(struct zuf_file *zf, struct zufs_ioc_wait __user *uarg,
		  bool mount)
{
	struct zuf_chan *c = zuf_file_chan(zf);
	struct zufs_ioc_wait w;
	bool delivered = false, freed = false;
	u64 t0, seq = 0;
	int ret;

	if (!c)
		return -EINVAL;
	if (mount != (c->index == ZUFS_CHAN_MOUNT))
		return -EINVAL;
	if (copy_from_user(&w, uarg, sizeof(w)))
		return -EFAULT;
	if (w.flags & ~ZUFS_WAIT_HAS_RESULT)
		return -EINVAL;

	spin_lock(&c->lock);
	if (c->state == ZC_DELIVERED && c->srv_task == current) {
		if (!(w.flags & ZUFS_WAIT_HAS_RESULT)) {
			zuf_err_rl("server dropped command %llu: -EIO\n",
				   c->seq);
			freed = zuf_chan_complete_locked(c, -EIO);
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
		if (c->state == ZC_DELIVERED && c->seq == seq &&
		    c->srv_task == current)
			freed = zuf_chan_complete_locked(c, -EIO);
		spin_unlock(&c->lock);
		if (freed)
			zuf_wake_free(zf->zr);
		return -EFAULT;
	}
	return 0;
}

/* ---- mmap of the command buffer and the data window ------------------ */

int zuf_chan_mmap(struct zuf_file *zf, struct vm_area_struct *vma)
{
	struct zuf_chan *c = zuf_file_chan(zf);
	unsigned long size = vma->vm_end - vma->vm_start;
	void *area;

	if (!c)
		return -EINVAL;
	if (!(vma->vm_flags & VM_SHARED))
		return -EINVAL;

	if (vma->vm_pgoff == 0) {
		if (size != ZUFS_CHAN_CMD_SIZE)
			return -EINVAL;
		area = c->buf;
	} else {
		if (vma->vm_pgoff != ZUFS_CHAN_WINDOW_OFF >> PAGE_SHIFT ||
		    size != ZUFS_CHAN_WINDOW_SIZE || !c->window)
			return -EINVAL;
		area = c->window;
	}
	vma->vm_flags |= VM_DONTCOPY | VM_DONTEXPAND | VM_DONTDUMP;
	return remap_vmalloc_range(vma, area, 0);
}
