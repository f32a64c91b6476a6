/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * config.h - zusd.conf: what zusd loads, how it serves and logs, the tier
 * policy and the mounts it makes itself in FUSE mode.  See conf/zusd.conf
 * for the documented format and every default.
 *
 * Loading is strict: a syntax error, an unknown section or key, a key given
 * twice or a bad value stops the start with "FILE:LINE: reason".  The file
 * is read with iniparser; a line-aware pass over the same file first checks
 * its structure and remembers the line of every section and key, so that
 * errors in values can be reported where they are.
 */
#ifndef ZUSD_CONFIG_H
#define ZUSD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

/* The file zusd reads when none is given. */
#define ZUSD_CONFIG_FILE	SYSCONFDIR "/zufs/zusd.conf"

enum zusd_transport_kind {
	ZUSD_TRANSPORT_AUTO,	/* zuf if zuf.ko is loaded, else FUSE */
	ZUSD_TRANSPORT_ZUF,
	ZUSD_TRANSPORT_FUSE,
};

enum zusd_log_target {
	ZUSD_LOG_TARGET_AUTO,	/* journal under systemd, else stderr */
	ZUSD_LOG_TARGET_JOURNAL,
	ZUSD_LOG_TARGET_STDERR,
};

/* [mount.NAME]: a filesystem zusd mounts itself (FUSE transport). */
struct zusd_conf_mount {
	char *name;		/* NAME */
	char *device;
	char *mountpoint;
	char *fstype;
	char *options;		/* NULL: none */
	int line;		/* of the [mount.NAME] header */
};

struct zusd_config {
	char *path;			/* the file read, NULL: defaults only */

	/* [zusd] */
	char **plugins;			/* names or paths, nplugins of them */
	size_t nplugins;
	enum zusd_transport_kind transport;
	unsigned int threads_per_cpu;
	unsigned int spin_us;

	/* [log] */
	int log_level;			/* ZUS_LOG_* (syslog priority) */
	enum zusd_log_target log_target;

	/* [tier] */
	unsigned int tier_low_watermark;	/* % of pmem free */
	unsigned int tier_high_watermark;
	unsigned int tier_queue_depth;
	unsigned int tier_batch_size;

	/* [mount.NAME] sections, in file order */
	struct zusd_conf_mount *mounts;
	size_t nmounts;
};

/* Defaults (as documented in conf/zusd.conf). */
#define ZUSD_DEFAULT_PLUGINS		"pmfs2"
#define ZUSD_DEFAULT_THREADS_PER_CPU	1
#define ZUSD_DEFAULT_SPIN_US		10
#define ZUSD_DEFAULT_LOG_LEVEL		6	/* info */
#define ZUSD_DEFAULT_TIER_LOW		10
#define ZUSD_DEFAULT_TIER_HIGH		20
#define ZUSD_DEFAULT_TIER_QUEUE_DEPTH	32
#define ZUSD_DEFAULT_TIER_BATCH		16

/* Fill c with the defaults.  Returns 0 or -ENOMEM. */
int zusd_config_defaults(struct zusd_config *c);

/*
 * Read path over the defaults.  Returns 0, or -errno with one message in
 * err: "PATH:LINE: reason" for anything wrong in the file, "PATH: reason"
 * if it cannot be read (-ENOENT if it does not exist: a caller reading the
 * default file may then go on with the defaults).  c is left freed on
 * error.
 */
int zusd_config_load(const char *path, struct zusd_config *c, char *err,
		     size_t errlen);

void zusd_config_free(struct zusd_config *c);

/* "auto", "zuf", "fuse" / "auto", "journal", "stderr" / "info", ... */
const char *zusd_transport_kind_name(enum zusd_transport_kind t);
const char *zusd_log_target_name(enum zusd_log_target t);
const char *zusd_log_level_name(int level);

#endif /* ZUSD_CONFIG_H */
