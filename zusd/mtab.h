/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mtab.h - zusd's mount table as it survives a restart (systemd's fd store,
 * fdstore.h), and where the kernel put a mount (/proc/self/mountinfo).
 *
 * Serialised form (version 1), text, one record per line, fields separated
 * by one space, every field escaped (bytes <= ' ', 0x7f and '\' as \ooo,
 * an empty field as "-", a literal "-" as \055):
 *
 *	zusd-mount-table 1
 *	mount TRANSPORT ORIGIN FSTYPE DEVICE MOUNTPOINT OPTIONS
 *	...
 *	end N
 *
 * The parser trusts nothing (the memfd comes from a previous zusd that may
 * have died while writing it, or from another program): any deviation
 * rejects the whole table with a reason.
 */
#ifndef ZUSD_MTAB_H
#define ZUSD_MTAB_H

#include <stdbool.h>
#include <stddef.h>

#define ZUSD_MTAB_MAGIC		"zusd-mount-table"
#define ZUSD_MTAB_VERSION	1
#define ZUSD_MTAB_MAX_BYTES	(1u << 20)
#define ZUSD_MTAB_MAX_MOUNTS	1024
#define ZUSD_MTAB_MAX_FIELD	4096

/* How a mount was made. */
enum zusd_mt_origin {
	ZUSD_MT_CONFIG,		/* [mount.NAME] in zusd.conf */
	ZUSD_MT_DBUS,		/* org.zufs.Manager1.Mount() */
	ZUSD_MT_KERNEL,		/* mount -t TYPE (zuf) */
	ZUSD_MT_CMDLINE,	/* zusd DEVICE MOUNTPOINT */
	ZUSD_MT_NORIGIN
};

struct zusd_mt_entry {
	char *transport;	/* "zuf", "fuse" */
	enum zusd_mt_origin origin;
	char *fstype;
	char *device;
	char *mountpoint;	/* "" when not known (zuf, not in mountinfo) */
	char *options;		/* as given, tier devices included; "" */
};

struct zusd_mtab {
	struct zusd_mt_entry *e;
	size_t n;
};

/* "config", "dbus", "kernel", "cmdline"; NULL if out of range. */
const char *zusd_mt_origin_name(enum zusd_mt_origin o);

/* Append a copy of the fields (NULL strings: "").  0 or -ENOMEM/-E2BIG. */
int zusd_mtab_add(struct zusd_mtab *t, const char *transport,
		  enum zusd_mt_origin origin, const char *fstype,
		  const char *device, const char *mountpoint,
		  const char *options);
void zusd_mtab_free(struct zusd_mtab *t);

/* The serialised table, malloc'ed, NUL-terminated, length in *len. */
char *zusd_mtab_format(const struct zusd_mtab *t, size_t *len);

/*
 * Parse len bytes (need not be NUL-terminated) into *out (empty on entry).
 * 0, or -EBADMSG / -ENOMEM / -E2BIG with the reason in err; *out is left
 * empty on error.
 */
int zusd_mtab_parse(const char *buf, size_t len, struct zusd_mtab *out,
		    char *err, size_t errlen);

/*
 * The mountpoint of a mount of type fstype whose source is device (as
 * given, or the same file after resolving links), from a mountinfo file
 * (NULL: /proc/self/mountinfo).  The first match, unescaped, into out.
 * 0, -ENOENT (no such mount), -ENAMETOOLONG, or the open error.
 */
int zusd_mountinfo_find(const char *path, const char *fstype,
			const char *device, char *out, size_t outlen);

#endif /* ZUSD_MTAB_H */
