/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tier_host.h - what a host (zusd over FUSE or zuf, the in-process host)
 * does for a mount whose filesystem keeps data on tier devices:
 *
 *   - takes `tier=PATH` (repeatable, or PATH:PATH...) and
 *     `tier_backend=uring|sync` out of the mount options; the other options
 *     (tier_low=, tier_high=, tier_thread=, tier_qd=, ...) go to the plugin;
 *   - when a tier is given, loads the tier plugin ("tier", found like any
 *     plugin through ZUS_PLUGIN_PATH and the plugin directory) and picks its
 *     backend: the one named, else "uring", falling back to "sync" when
 *     io_uring cannot attach the first tier device;
 *   - fills zus_sb.tier/ntier/tier_backend (fd -1: the backend opens the
 *     path O_DIRECT; size 0 and no uuid: the filesystem reads the tier's
 *     header and refuses a missing or foreign tier itself).
 */
#ifndef ZUSD_TIER_HOST_H
#define ZUSD_TIER_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <zufs/zus.h>

#include "plugin.h"

#define ZUSD_TIER_MAX		16	/* tier paths per mount */
#define ZUSD_TIER_PLUGIN	"tier"
#define ZUSD_TIER_DEF_BACKEND	"uring"
#define ZUSD_TIER_FALLBACK	"sync"

struct zusd_tier {
	unsigned int ndev;
	struct zus_tier_dev dev[ZUSD_TIER_MAX];
	char *paths[ZUSD_TIER_MAX];		/* owned, dev[i].path */
	char *backend_name;			/* tier_backend=, or NULL */
	char *options;				/* the rest; NULL if empty */
	struct zus_loaded_plugin lp;
	bool loaded;
	const struct zus_tier_backend *be;	/* NULL: no tier given */
	bool fell_back;				/* uring failed, using sync */
};

/*
 * Split opts (may be NULL) into the tier options and the rest; when a tier
 * is given, load the tier plugin and pick the backend.  plugin_dir (may be
 * NULL): where the filesystem plugin came from, tried for tier.so when
 * ZUS_PLUGIN_PATH and the install directory have none.  On error returns
 * -errno with a message (what is wrong and what to do) in err, and t holds
 * nothing to release.  Call zusd_tier_release() after a success.
 */
int zusd_tier_open(struct zusd_tier *t, const char *opts,
		   const char *plugin_dir, char *err, size_t errlen);

/* The same with a tier plugin already at hand (tests, static hosts). */
int zusd_tier_open_plugin(struct zusd_tier *t, const char *opts,
			  const struct zus_plugin *pl, char *err,
			  size_t errlen);

/*
 * Give sb the tiers (a no-op without tiers) and the plugin options without
 * tier= and tier_backend= (sb->options: t->options, owned by t).
 */
void zusd_tier_apply(struct zusd_tier *t, struct zus_sb *sb);

/* After the plugin's umount (or a failed mount): unload and free. */
void zusd_tier_release(struct zusd_tier *t);

/*
 * The plugin's mount failed with err: if it is about the tier (missing,
 * foreign, unusable), write into buf (one or two lines, no trailing
 * newline) what to do and return true.  dev: the pmem device, for messages.
 */
bool zusd_tier_mount_hint(const struct zusd_tier *t, const char *dev,
			  int err, char *buf, size_t len);

/* The tier paths, comma separated, for messages ("" without tiers). */
void zusd_tier_paths(const struct zusd_tier *t, char *buf, size_t len);

#endif /* ZUSD_TIER_HOST_H */
