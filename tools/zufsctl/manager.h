/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * manager.h - zufsctl's side of zusd's D-Bus interface, org.zufs.Manager1:
 * the system bus, its errors turned into messages and exit codes, and typed
 * copies of what zusd reports (mounts, per-operation stats, tier status).
 *
 * The interface is the one documented in zufsctl(8); zusd/dbus_service.h
 * is not included, zufsctl being a D-Bus client only.
 */
#ifndef ZUFSCTL_MANAGER_H
#define ZUFSCTL_MANAGER_H

#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-bus.h>

#define BUS_NAME	"org.zufs.Manager1"
#define BUS_PATH	"/org/zufs/Manager1"
#define BUS_IFACE	"org.zufs.Manager1"

/* histogram layout of GetStats: bucket 0 [0,2) ns, b: [2^b, 2^(b+1)) ns */
#define HIST_MAX_BUCKETS	64

struct mount_info {
	char *device, *mountpoint, *fstype, *options, *state;
	uint64_t pmem_bytes, tier_bytes;
};

struct mounts {
	struct mount_info *m;
	size_t n;
};

struct op_stats {
	char *name;
	uint64_t count, errors, bytes, total_ns, max_ns;
	uint64_t hist[HIST_MAX_BUCKETS];
	size_t nhist;
};

struct stats {
	struct op_stats *op;
	size_t n;
};

struct counter {
	char *name;
	char *str;	/* a string value, or NULL: v */
	uint64_t v;
};

struct tier_entry {
	char *mountpoint;
	struct counter *c;
	size_t n;
};

struct tier {
	struct tier_entry *t;
	size_t n;
};

/* The system bus, or a message and EXIT_NOT_RUNNING. */
int open_bus(sd_bus **bus);

/* A failed call of command what: a message on stderr and its exit code. */
int report(const char *what, const sd_bus_error *e, int r);

/*
 * The readers: < 0 on error (e set for report()).  The result is appended
 * to, and must be freed even on error.
 */
int get_mounts(sd_bus *bus, struct mounts *ms, sd_bus_error *e);
void mounts_free(struct mounts *ms);
int get_stats(sd_bus *bus, const char *mountpoint, struct stats *st,
	      sd_bus_error *e);
void stats_free(struct stats *st);
int get_tier(sd_bus *bus, struct tier *t, sd_bus_error *e);
void tier_free(struct tier *t);

/* The latency under which pct% of the operations completed (bucket top). */
uint64_t percentile(const struct op_stats *o, double pct);

/* The tier status of mountpoint, NULL if it has no tier. */
const struct tier_entry *find_tier(const struct tier *t,
				   const char *mountpoint);

/* A tier counter by name: its value, 0 if zusd did not send it. */
uint64_t tier_val(const struct tier_entry *te, const char *name);

/* A string tier counter by name, "-" if zusd did not send it. */
const char *tier_str(const struct tier_entry *te, const char *name);

#endif /* ZUFSCTL_MANAGER_H */
