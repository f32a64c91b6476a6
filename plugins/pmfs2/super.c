// SPDX-License-Identifier: BSD-2-Clause
/*
 * super.c - mount (validate, recover, rebuild free space, reclaim orphans,
 * finish truncates), umount, remount, statfs, sync, messages.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pmfs2.h"

static void log_line(struct zus_sb *zsb, int prio, const char *msg)
{
	if (zsb && zsb->log)
		zsb->log(zsb, prio, msg);
}

void pmfs2_msg(struct pmfs2_sbi *sbi, int prio, const char *fmt, ...)
{
	char buf[512];
	int n;
	va_list ap;

	n = snprintf(buf, sizeof(buf), "pmfs2 %s: ",
		     sbi->zsb->dev_path ? sbi->zsb->dev_path : "(pmem)");
	if (n < 0 || (size_t)n >= sizeof(buf))
		n = 0;
	va_start(ap, fmt);
	vsnprintf(buf + n, sizeof(buf) - (size_t)n, fmt, ap);
	va_end(ap);
	log_line(sbi->zsb, prio, buf);
}

int pmfs2_corrupt_at(struct pmfs2_sbi *sbi, const char *func,
		     const char *fmt, ...)
{
	char buf[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	__atomic_store_n(&sbi->errors, true, __ATOMIC_RELAXED);
	pmfs2_msg(sbi, ZUS_LOG_ERR, "corruption (%s): %s: run fsck.pmfs2 -y",
		  func, buf);
	return -EUCLEAN;
}

struct scan {
	struct pmfs2_sbi *sbi;
	struct pmfs2_vec orphans, truncs;
};

struct mark {
	struct pmfs2_sbi *sbi;
	bool reported;
};

static int mark_cb(void *ctx, uint64_t lblk, uint64_t ptr, int level)
{
	struct mark *m = ctx;
	int err;

	if (ptr & PMFS2_PTR_TIER)	/* tier space, rebuilt the same way */
		err = pmfs2_tier_mark(m->sbi, ptr & PMFS2_PTR_BLOCK_MASK);
	else
		err = pmfs2_mark_block(m->sbi, ptr);
	m->reported = err;
	return err;
}

static int scan_inode(struct scan *sc, uint64_t ino, struct pmfs2_inode *pi)
{
	struct pmfs2_sbi *sbi = sc->sbi;
	struct mark m = { .sbi = sbi };
	int err;

	err = pmfs2_inode_check(sbi, ino, pi);
	if (err)
		return err;
	pmfs2_mark_inode(sbi, ino);
	err = pmfs2_bmap_walk(sbi->pm, &sbi->s, pi->map, mark_cb, &m);
	if (err && !m.reported)
		err = pmfs2_corrupt(sbi, "inode %llu: bad block map %#llx",
				    (unsigned long long)ino,
				    (unsigned long long)pi->map);
	if (!err && pi->xattr_block)
		err = pmfs2_mark_block(sbi, pi->xattr_block);
	if (err)
		return err;
	if (!pi->nlink)
		return pmfs2_vec_push(&sc->orphans, ino);
	if (pi->flags & PMFS2_IF_TRUNC_PENDING)
		return pmfs2_vec_push(&sc->truncs, ino);
	return 0;
}

/* Rebuild the DRAM allocators from every in-use inode, then finish what a
 * crash left half done: truncates and unlinked-but-open inodes. */
static int scan_inodes(struct pmfs2_sbi *sbi)
{
	struct scan sc = { .sbi = sbi };
	struct pmfs2_inode *root;
	int err = 0;

	for (uint64_t ino = 1; ino < sbi->s.inode_count && !err; ino++) {
		struct pmfs2_inode *pi = pmfs2_inode_at(sbi->pm, &sbi->s, ino);

		if (pi && pi->mode)
			err = scan_inode(&sc, ino, pi);
	}
	root = pmfs2_inode_at(sbi->pm, &sbi->s, sbi->s.root_ino);
	if (!err && (!root || !S_ISDIR(root->mode) || !root->nlink))
		err = pmfs2_corrupt(sbi, "root inode is not a directory");
	for (size_t i = 0; !err && !sbi->ro && i < sc.truncs.n; i++) {
		struct pmfs2_inode *pi = pmfs2_inode_at(sbi->pm, &sbi->s,
							sc.truncs.v[i]);

		err = pmfs2_finish_trunc(sbi, pi, true);
	}
	for (size_t i = 0; !err && !sbi->ro && i < sc.orphans.n; i++) {
		uint64_t ino = sc.orphans.v[i];

		err = pmfs2_inode_release(sbi, ino,
					  pmfs2_inode_at(sbi->pm, &sbi->s, ino));
	}
	if (!err && (sc.orphans.n || sc.truncs.n))
		pmfs2_msg(sbi, ZUS_LOG_INFO,
			  "reclaimed %zu orphan inodes, finished %zu truncates",
			  sc.orphans.n, sc.truncs.n);
	pmfs2_vec_free(&sc.orphans);
	pmfs2_vec_free(&sc.truncs);
	return err;
}

static void sbi_free(struct pmfs2_sbi *sbi)
{
	pmfs2_tier_fini(sbi);
	pmfs2_journal_fini(sbi);
	pmfs2_alloc_fini(sbi);
	pthread_rwlock_destroy(&sbi->ns_lock);
	for (unsigned int i = 0; i < PMFS2_ILOCK_STRIPES; i++)
		pthread_rwlock_destroy(&sbi->ilock[i]);
	pthread_mutex_destroy(&sbi->tx_lock);
	pthread_mutex_destroy(&sbi->alloc_lock);
	free(sbi);
}

static void write_state(struct pmfs2_sbi *sbi, uint32_t state)
{
	sbi->s.state = state;
	sbi->s.write_time = pmfs2_now();
	pmfs2_super_write(sbi->pm, &sbi->s, false);
}

int pmfs2_mount(struct zus_sb *zsb)
{
	struct pmfs2_recover_info ri;
	struct pmfs2_sbi *sbi;
	bool backup;
	char err_msg[256];
	int err;

	sbi = calloc(1, sizeof(*sbi));
	if (!sbi)
		return -ENOMEM;
	sbi->zsb = zsb;
	sbi->pm = &zsb->pmem;
	sbi->ro = zsb->readonly;
	pthread_rwlock_init(&sbi->ns_lock, NULL);
	for (unsigned int i = 0; i < PMFS2_ILOCK_STRIPES; i++)
		pthread_rwlock_init(&sbi->ilock[i], NULL);
	pthread_mutex_init(&sbi->tx_lock, NULL);
	pthread_mutex_init(&sbi->alloc_lock, NULL);

	pmfs2_options_default(&sbi->opts);
	err = pmfs2_options_parse(zsb->options, false, &sbi->opts, err_msg,
				  sizeof(err_msg));
	if (err) {
		pmfs2_msg(sbi, ZUS_LOG_ERR, "%s", err_msg);
		goto fail;
	}
	err_msg[0] = 0;
	err = pmfs2_super_load(sbi->pm, &sbi->s, &backup, err_msg,
			       sizeof(err_msg));
	if (err) {
		pmfs2_msg(sbi, ZUS_LOG_ERR, "%s", err_msg);
		goto fail;
	}
	if (backup)
		pmfs2_msg(sbi, ZUS_LOG_WARNING,
			  "primary superblock damaged: using the backup");
	if (sbi->s.feature_ro_compat & ~PMFS2_FEATURE_RO_COMPAT_SUPP &&
	    !sbi->ro) {
		pmfs2_msg(sbi, ZUS_LOG_WARNING,
			  "unknown read-only features %#x: mounting read-only",
			  sbi->s.feature_ro_compat);
		sbi->ro = true;
	}
	if (sbi->s.state == PMFS2_STATE_ERROR)
		pmfs2_msg(sbi, ZUS_LOG_WARNING,
			  "filesystem has errors: run fsck.pmfs2");
	if (sbi->s.state == PMFS2_STATE_MOUNTED)
		pmfs2_msg(sbi, ZUS_LOG_NOTICE,
			  "not cleanly unmounted (a crash or a shutdown): recovering");
	err = pmfs2_journal_recover(sbi->pm, &sbi->s, &ri, err_msg,
				    sizeof(err_msg));
	if (err) {
		pmfs2_msg(sbi, ZUS_LOG_ERR, "%s", err_msg);
		goto fail;
	}
	if (ri.tid)
		pmfs2_msg(sbi, ZUS_LOG_NOTICE,
			  "rolled back transaction %llu (%u undo, %u zero records)",
			  (unsigned long long)ri.tid, ri.undone, ri.zeroed);
	err = pmfs2_journal_init(sbi);
	if (!err)
		err = pmfs2_alloc_init(sbi);
	if (!err)
		err = pmfs2_tier_init(sbi);
	if (!err)
		err = scan_inodes(sbi);
	if (!err)
		err = pmfs2_tier_start(sbi);
	if (err)
		goto fail;
	sbi->next_gen = (uint64_t)pmfs2_now();
	if (!sbi->ro) {
		sbi->s.mount_time = pmfs2_now();
		sbi->s.mount_count++;
		write_state(sbi, sbi->s.state == PMFS2_STATE_ERROR ?
			    PMFS2_STATE_ERROR : PMFS2_STATE_MOUNTED);
	}
	zsb->fs_private = sbi;
	return 0;
fail:
	sbi_free(sbi);
	return err;
}

void pmfs2_umount(struct zus_sb *zsb)
{
	struct pmfs2_sbi *sbi = PMFS2_SBI(zsb);

	if (!sbi)
		return;
	pmfs2_tier_fini(sbi);	/* the migrator stops first */
	if (!sbi->ro)
		write_state(sbi, sbi->errors || sbi->s.state == PMFS2_STATE_ERROR ?
			    PMFS2_STATE_ERROR : PMFS2_STATE_CLEAN);
	sbi_free(sbi);
	zsb->fs_private = NULL;
}

int pmfs2_remount(struct zus_sb *zsb, const char *options, bool readonly)
{
	struct pmfs2_sbi *sbi = PMFS2_SBI(zsb);
	struct pmfs2_options o;
	char msg[256];
	int err;

	o = sbi->opts;		/* what a remount does not name stays */
	err = pmfs2_options_parse(options, true, &o, msg, sizeof(msg));
	if (!err && sbi->tier && (o.tier_thread != sbi->opts.tier_thread ||
				  o.tier_qd != sbi->opts.tier_qd)) {
		snprintf(msg, sizeof(msg),
			 "remount: tier_thread= and tier_qd= cannot change on a mounted filesystem (mounted with tier_thread=%d,tier_qd=%u): umount and mount again",
			 sbi->opts.tier_thread, sbi->opts.tier_qd);
		err = -EINVAL;
	}
	if (err) {
		pmfs2_msg(sbi, ZUS_LOG_ERR, "%s", msg);
		return err;
	}
	/* the migrator reads the watermarks: stopped while they change */
	if (o.tier_low != sbi->opts.tier_low ||
	    o.tier_high != sbi->opts.tier_high)
		pmfs2_tier_stop(sbi);

	/* quiesce: no namespace change nor transaction in flight */
	pthread_rwlock_wrlock(&sbi->ns_lock);
	pthread_mutex_lock(&sbi->tx_lock);
	pmfs2_tier_set_marks(sbi, o.tier_low, o.tier_high);
	sbi->opts.tier_low = o.tier_low;
	sbi->opts.tier_high = o.tier_high;
	if (readonly && !sbi->ro) {
		write_state(sbi, __atomic_load_n(&sbi->errors, __ATOMIC_RELAXED) ?
			    PMFS2_STATE_ERROR :
			    PMFS2_STATE_CLEAN);
		__atomic_store_n(&sbi->ro, true, __ATOMIC_RELAXED);
	} else if (!readonly && sbi->ro) {
		if (sbi->s.feature_ro_compat & ~PMFS2_FEATURE_RO_COMPAT_SUPP) {
			err = -EROFS;
		} else {
			write_state(sbi, sbi->s.state == PMFS2_STATE_ERROR ?
				    PMFS2_STATE_ERROR : PMFS2_STATE_MOUNTED);
			__atomic_store_n(&sbi->ro, false, __ATOMIC_RELAXED);
		}
	}
	zsb->readonly = sbi->ro;
	pthread_mutex_unlock(&sbi->tx_lock);
	pthread_rwlock_unlock(&sbi->ns_lock);
	if (!err && !sbi->ro)
		err = pmfs2_tier_start(sbi);	/* no-op if running */
	return err;
}

/*
 * The kernel shut the mount down: no transaction in flight, then read-only
 * without a word to the device.  The state stays MOUNTED (umount writes
 * none when read-only): the next mount recovers as after a crash.
 */
void pmfs2_shutdown(struct zus_sb *zsb)
{
	struct pmfs2_sbi *sbi = PMFS2_SBI(zsb);

	pthread_rwlock_wrlock(&sbi->ns_lock);
	pthread_mutex_lock(&sbi->tx_lock);
	__atomic_store_n(&sbi->ro, true, __ATOMIC_RELAXED);
	zsb->readonly = true;
	pthread_mutex_unlock(&sbi->tx_lock);
	pthread_rwlock_unlock(&sbi->ns_lock);
	pmfs2_tier_stop(sbi);
	pmfs2_msg(sbi, ZUS_LOG_NOTICE,
		  "shut down: nothing more is written; the next mount recovers");
}

int pmfs2_statfs(struct zus_sb *zsb, struct zus_statfs *st)
{
	struct pmfs2_sbi *sbi = PMFS2_SBI(zsb);
	uint64_t bfree, ifree, tblocks, tfree;

	pmfs2_alloc_counts(sbi, &bfree, &ifree);
	pmfs2_tier_space(sbi, &tblocks, &tfree);
	memset(st, 0, sizeof(*st));
	st->bsize = PMFS2_BLOCK_SIZE;
	/* pmem + tier capacity: data moves between them as it cools */
	st->blocks = pmfs2_data_end(&sbi->s) - sbi->s.data_start + tblocks;
	st->bfree = bfree + tfree;
	st->bavail = bfree + tfree;
	st->files = sbi->s.inode_count - 1;
	st->ffree = ifree;
	st->namelen = PMFS2_NAME_MAX;
	st->fsid = PMFS2_FS_MAGIC;
	return 0;
}

int pmfs2_sync(struct zus_sb *zsb)
{
	/* every operation is durable when it returns */
	zus_pmem_fence(&zsb->pmem);
	return 0;
}

uint64_t pmfs2_root_ino(struct zus_sb *zsb)
{
	return PMFS2_SBI(zsb)->s.root_ino;
}
