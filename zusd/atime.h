/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * atime.h - when an access moves atime, for the hosts where the kernel does
 * not decide: the FUSE transport (the kernel's FUSE marks every inode
 * S_NOATIME and leaves atime to the server) and the in-process host.  Over
 * zuf the kernel decides (file_accessed -> setattr with KEEP_CTIME) and a
 * plugin's own read never touches atime.
 *
 * The rules are the VFS's for an in-kernel filesystem (linux 6.1:
 * fs/namespace.c path_mount for the options, fs/inode.c atime_needs_update
 * and relatime_need_update for an access):
 *   noatime      never;
 *   nodiratime   never for a directory;
 *   strictatime  at every access;
 *   relatime     (the default) when atime <= mtime, atime <= ctime or atime
 *                is 24 h old or more;
 *   and never on a read-only mount, nor when atime already equals now.
 * An access is a read that returned data and a readdir.  The update is a
 * setattr of atime alone with ZUS_SET_KEEP_CTIME: ctime never moves.
 * lazytime is folded in too (ZUS_ATIME_LAZYTIME): the FUSE transport keeps
 * such an update in memory until the inode is synced, changed, evicted or
 * unmounted (fuse_inodes.h); the in-process host writes it at once, which
 * lazytime allows.
 *
 * Header only: zusd/inproc.c is also built straight from source.
 */
#ifndef ZUSD_ATIME_H
#define ZUSD_ATIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <zufs/zus.h>

/* the atime options as given, in order (the MS_* flags mount(2) gets) */
enum {
	ZUS_MS_NOATIME		= 1u << 0,
	ZUS_MS_NODIRATIME	= 1u << 1,
	ZUS_MS_RELATIME		= 1u << 2,
	ZUS_MS_STRICTATIME	= 1u << 3,
	ZUS_MS_LAZYTIME		= 1u << 4,
};

/* the policy they make (the mount's MNT_* flags) */
enum {
	ZUS_ATIME_NOATIME	= 1u << 0,
	ZUS_ATIME_NODIRATIME	= 1u << 1,
	ZUS_ATIME_RELATIME	= 1u << 2,	/* none of the three: strictatime */
	ZUS_ATIME_LAZYTIME	= 1u << 3,	/* updates may wait in memory */
};

/* The default: what mount(2) gives when no atime option is given. */
#define ZUS_ATIME_DEFAULT	ZUS_ATIME_RELATIME

/*
 * If the len bytes at opt are an atime mount option, fold it into *ms (set or
 * clear its flag, as mount(8) does) and return true.
 */
static inline bool zus_atime_opt(const char *opt, size_t len, unsigned int *ms)
{
	static const struct {
		const char *name;
		unsigned int set, clear;
	} opts[] = {
		{ "noatime", ZUS_MS_NOATIME, 0 },
		{ "atime", 0, ZUS_MS_NOATIME },
		{ "nodiratime", ZUS_MS_NODIRATIME, 0 },
		{ "diratime", 0, ZUS_MS_NODIRATIME },
		{ "relatime", ZUS_MS_RELATIME, 0 },
		{ "norelatime", 0, ZUS_MS_RELATIME },
		{ "strictatime", ZUS_MS_STRICTATIME, 0 },
		{ "lazytime", ZUS_MS_LAZYTIME, 0 },
		{ "nolazytime", 0, ZUS_MS_LAZYTIME },
	};

	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
		if (strlen(opts[i].name) != len ||
		    strncmp(opt, opts[i].name, len))
			continue;
		*ms = (*ms | opts[i].set) & ~opts[i].clear;
		return true;
	}
	return false;
}

/*
 * The policy of a new mount with the options folded into ms (path_mount):
 * relatime unless noatime, strictatime overrides both.  ("norelatime" alone
 * still gives relatime, as on Linux: strictatime is the way out of it.)
 */
static inline unsigned int zus_atime_policy(unsigned int ms)
{
	unsigned int pol = 0;

	if (!(ms & ZUS_MS_NOATIME))
		pol |= ZUS_ATIME_RELATIME;
	if (ms & ZUS_MS_NOATIME)
		pol |= ZUS_ATIME_NOATIME;
	if (ms & ZUS_MS_NODIRATIME)
		pol |= ZUS_ATIME_NODIRATIME;
	if (ms & ZUS_MS_STRICTATIME)
		pol &= ~(ZUS_ATIME_RELATIME | ZUS_ATIME_NOATIME);
	if (ms & ZUS_MS_LAZYTIME)
		pol |= ZUS_ATIME_LAZYTIME;
	return pol;
}

/*
 * Split the comma separated options in (NULL: none): the policy of its atime
 * options into *pol, the others returned (malloc'd, "" if none; NULL: out
 * of memory).
 */
static inline char *zus_atime_split(const char *in, unsigned int *pol)
{
	char *out = malloc(in ? strlen(in) + 1 : 1), *p = out;
	unsigned int ms = 0;

	if (!out)
		return NULL;
	while (in && *in) {
		size_t len = strcspn(in, ",");

		if (len && !zus_atime_opt(in, len, &ms)) {
			if (p != out)
				*p++ = ',';
			memcpy(p, in, len);
			p += len;
		}
		in += len + (in[len] == ',');
	}
	*p = '\0';
	*pol = zus_atime_policy(ms);
	return out;
}

/* Can an access move any atime under pol?  (noatime: the host saves the
 * getattr.) */
static inline bool zus_atime_ever(unsigned int pol, bool readonly)
{
	return !readonly && !(pol & ZUS_ATIME_NOATIME);
}

static inline int zus_time_cmp(const struct zus_time *a,
			       const struct zus_time *b)
{
	if (a->sec != b->sec)
		return a->sec < b->sec ? -1 : 1;
	if (a->nsec != b->nsec)
		return a->nsec < b->nsec ? -1 : 1;
	return 0;
}

/* atime_needs_update() for inode a at time now under pol */
static inline bool zus_atime_needs_update(unsigned int pol, bool readonly,
					  const struct zus_attr *a,
					  const struct zus_time *now)
{
	if (!zus_atime_ever(pol, readonly))
		return false;
	if ((pol & ZUS_ATIME_NODIRATIME) && S_ISDIR(a->mode))
		return false;
	/* relatime_need_update() */
	if ((pol & ZUS_ATIME_RELATIME) &&
	    zus_time_cmp(&a->mtime, &a->atime) < 0 &&
	    zus_time_cmp(&a->ctime, &a->atime) < 0 &&
	    now->sec - a->atime.sec < 24 * 60 * 60)
		return false;
	return zus_time_cmp(&a->atime, now) != 0;
}

/*
 * Does an access to ino of sb (a read that returned data, a readdir) move
 * its atime under pol?  kept: an atime not written yet (lazytime), which
 * stands for the plugin's; NULL if none.  True with the new atime in *now.
 */
static inline bool zus_atime_due(const struct zus_fs_ops *ops,
				 struct zus_sb *sb, uint64_t ino,
				 unsigned int pol, const struct zus_time *kept,
				 struct zus_time *now)
{
	struct zus_attr a;
	struct timespec ts;

	if (!zus_atime_ever(pol, sb->readonly) || !ops->setattr ||
	    ops->getattr(sb, ino, &a))
		return false;
	if (kept)
		a.atime = *kept;
	clock_gettime(CLOCK_REALTIME, &ts);
	now->sec = ts.tv_sec;
	now->nsec = (uint32_t)ts.tv_nsec;
	return zus_atime_needs_update(pol, sb->readonly, &a, now);
}

/* An access: move the atime if pol says so.  Errors are ignored, as the
 * VFS ignores them. */
static inline void zus_atime_touch(const struct zus_fs_ops *ops,
				   struct zus_sb *sb, uint64_t ino,
				   unsigned int pol)
{
	struct zus_setattr sa = { .valid = ZUS_SET_ATIME | ZUS_SET_KEEP_CTIME };
	struct zus_attr a;

	if (zus_atime_due(ops, sb, ino, pol, NULL, &sa.atime))
		(void)ops->setattr(sb, ino, &sa, &a);
}

#endif /* ZUSD_ATIME_H */
