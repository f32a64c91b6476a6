/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * dbus_service.h - zusd's D-Bus service on the system bus (sd-bus).
 *
 *   name       org.zufs.Manager1
 *   object     /org/zufs/Manager1
 *   interface  org.zufs.Manager1
 *
 * Properties (readable by anyone)
 *   s   Version     zusd's version
 *   s   Transport   "zuf", "fuse", ... (as set by zusd)
 *   s   State       "starting", "running", "restarting", "stopping",
 *                   "degraded" (as set by zusd)
 *   as  Plugins     loaded plugins
 *   a(ssssstt) Mounts   (device, mountpoint, fstype, options, state,
 *                   pmem bytes, tier bytes); state e.g. "mounted",
 *                   "waiting" (for a server to reattach)
 *   State, Transport, Plugins and Mounts send PropertiesChanged.
 *
 * Methods
 *   GetStats(s mountpoint) -> a{s(tttttat)}      anyone
 *       operation name -> (count, errors, bytes, total latency ns,
 *       max latency ns, histogram): every operation type of stats.h, in
 *       its order; the histogram has ZUSD_STATS_BUCKETS log2 buckets
 *       (bucket 0: [0, 2) ns, bucket b: [2^b, 2^(b+1)) ns, the last one
 *       open-ended).  mountpoint "" sums every mount.
 *   GetTierStatus() -> a{sa{sv}}                  anyone
 *       mountpoint -> counter name -> value, for the mounts with a tier
 *       device (names: see struct zusd_tier_status; "backend" is a string,
 *       every other value a uint64 "t").
 *   Restart()                                     root only
 *   Mount(s device, s mountpoint, s fstype, s options)   root only
 *   Unmount(s mountpoint)                         root only
 *
 * Signals
 *   StateChanged(s state)
 *   MountAdded(s device, s mountpoint, s fstype)
 *   MountRemoved(s mountpoint)
 *
 * Errors: org.freedesktop.DBus.Error.AccessDenied (privileged method, caller
 * not uid 0), org.zufs.Manager1.Error.NoSuchMount, .Failed (with the
 * backend's message), .NotSupported (no backend callback).
 *
 * The service runs in its own thread (sd_bus_process + poll).  It calls
 * back into zusd only through struct zusd_dbus_ops, from that thread; the
 * zusd_dbus_set_*() and zusd_dbus_mount_*() functions may be called from
 * any thread.  The bus is the system bus, or DBUS_SYSTEM_BUS_ADDRESS when
 * set (tests).  zusd starts before dbus.service at boot (Before=
 * local-fs.target), so if the bus is not there yet the thread keeps trying
 * to connect (and reconnects if dbus-daemon restarts).
 */
#ifndef ZUSD_DBUS_SERVICE_H
#define ZUSD_DBUS_SERVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stats.h"

#define ZUSD_DBUS_NAME		"org.zufs.Manager1"
#define ZUSD_DBUS_PATH		"/org/zufs/Manager1"
#define ZUSD_DBUS_INTERFACE	"org.zufs.Manager1"
#define ZUSD_DBUS_ERROR_NO_SUCH_MOUNT	"org.zufs.Manager1.Error.NoSuchMount"
#define ZUSD_DBUS_ERROR_FAILED		"org.zufs.Manager1.Error.Failed"
#define ZUSD_DBUS_ERROR_NOT_SUPPORTED	"org.zufs.Manager1.Error.NotSupported"

/*
 * Exit status with which zusd ends for Restart(): zusd.service has
 * SuccessExitStatus=75 RestartForceExitStatus=75, so systemd restarts it at
 * once, keeps the fd store and logs no failure.
 */
#define ZUSD_EXIT_RESTART	75

struct zusd_dbus_mount_info {
	const char *device;
	const char *mountpoint;
	const char *fstype;
	const char *options;	/* NULL: "" */
	const char *state;	/* "mounted", "waiting", ... */
	uint64_t pmem_bytes;
	uint64_t tier_bytes;	/* 0: no tier device */
};

/*
 * Tier status of one mount (GetTierStatus), field for field what a plugin
 * reports in struct zus_tier_status (zus_fs_ops.tier_status), kept apart
 * so that the D-Bus interface does not change with the plugin ABI.  Names
 * on the bus in [].
 */
struct zusd_tier_status {
	char backend[32];		/* [backend] (s) "uring", "sync"... */
	uint64_t ntier;			/* [ntier] tier devices attached */
	uint64_t low_pct;		/* [low_watermark] % of pmem free */
	uint64_t high_pct;		/* [high_watermark] */
	uint64_t migrating;		/* [migrating] 1 during a pass */
	uint64_t pmem_bytes;		/* [pmem_bytes] data area of pmem */
	uint64_t pmem_free_bytes;	/* [pmem_free] */
	uint64_t tier_bytes;		/* [tier_bytes] */
	uint64_t tier_free_bytes;	/* [tier_free] */
	uint64_t migrations;		/* [migrations] extents pmem -> tier */
	uint64_t migrated_bytes;	/* [migrated_bytes] */
	uint64_t promotions;		/* [promotions] extents tier -> pmem */
	uint64_t promoted_bytes;	/* [promoted_bytes] */
	uint64_t cold_reads;		/* [cold_reads] reads served by tier */
	uint64_t cold_read_bytes;	/* [cold_read_bytes] */
	uint64_t migrate_ns;		/* [migrate_ns] */
	uint64_t migrate_bytes_per_sec;	/* [migrate_bytes_per_sec] */
	uint64_t io_reads;		/* [io_reads] the backend's counters */
	uint64_t io_writes;		/* [io_writes] */
	uint64_t io_read_bytes;		/* [io_read_bytes] */
	uint64_t io_write_bytes;	/* [io_write_bytes] */
	uint64_t io_queue_depth;	/* [io_queue_depth] now */
	uint64_t io_max_queue_depth;	/* [io_max_queue_depth] */
};

typedef void (*zusd_dbus_emit_mount_t)(void *ectx,
				       const struct zusd_dbus_mount_info *mi);

/*
 * What the service asks of zusd.  Every callback is optional (NULL: empty
 * list, or NotSupported), runs on the service thread and may block it for
 * a while (mount).  They return 0 or -errno; where there is an err buffer a
 * message for the caller may be put there (else strerror is used).
 */
struct zusd_dbus_ops {
	/* Call emit(ectx, &info) for each mount; the strings need only live
	 * for the call. */
	int (*list_mounts)(void *ctx, zusd_dbus_emit_mount_t emit, void *ectx);
	/* Counters of the mount at mountpoint, or of all mounts summed for
	 * "" (-ENOENT: no such mount). */
	int (*get_stats)(void *ctx, const char *mountpoint,
			 struct zusd_stats_snapshot *out);
	/* -ENODATA: mountpoint has no tier device (left out of the reply). */
	int (*get_tier_status)(void *ctx, const char *mountpoint,
			       struct zusd_tier_status *out);
	/* Arrange for a restart (mounts stay) once the reply has gone out:
	 * e.g. set a flag, and the main loop exits with ZUSD_EXIT_RESTART. */
	int (*restart)(void *ctx, char *err, size_t errlen);
	int (*mount)(void *ctx, const char *device, const char *mountpoint,
		     const char *fstype, const char *options, char *err,
		     size_t errlen);
	int (*unmount)(void *ctx, const char *mountpoint, char *err,
		       size_t errlen);
};

struct zusd_dbus_opts {
	const struct zusd_dbus_ops *ops;
	void *ctx;			/* passed to every op */
	const char *transport;		/* initial Transport; NULL: "" */
	const char *const *plugins;	/* NULL-terminated; may be NULL */
	const char *state;		/* initial State; NULL: "starting" */
	/* messages, from any thread (mostly the service thread); NULL:
	 * stderr.  prio is a ZUS_LOG_* (syslog) level */
	void (*log)(void *ctx, int prio, const char *msg);
	void *log_ctx;
	/* Fail zusd_dbus_start() if the bus cannot be reached now, instead
	 * of retrying in the background (tests, interactive use). */
	bool require_bus;
};

struct zusd_dbus;

/*
 * Connect, register the object and take the name, then serve on a thread
 * of its own.  Fails (-errno, message in err) if the name is owned by
 * another process or the bus policy refuses it; if the bus is not reachable
 * it retries in the background unless opts->require_bus.
 */
int zusd_dbus_start(const struct zusd_dbus_opts *opts, struct zusd_dbus **out,
		    char *err, size_t errlen);
/* Stop the thread, release the name and free.  NULL is a no-op. */
void zusd_dbus_stop(struct zusd_dbus *svc);

/* Is the service connected to the bus and owner of the name? (tests) */
bool zusd_dbus_connected(struct zusd_dbus *svc);

/* Any thread.  The change is signalled from the service thread. */
void zusd_dbus_set_state(struct zusd_dbus *svc, const char *state);
void zusd_dbus_set_transport(struct zusd_dbus *svc, const char *transport);
void zusd_dbus_set_plugins(struct zusd_dbus *svc, const char *const *plugins);
/* MountAdded / MountRemoved and PropertiesChanged(Mounts). */
void zusd_dbus_mount_added(struct zusd_dbus *svc, const char *device,
			   const char *mountpoint, const char *fstype);
void zusd_dbus_mount_removed(struct zusd_dbus *svc, const char *mountpoint);
/* A mount's state or size changed: PropertiesChanged(Mounts). */
void zusd_dbus_mounts_changed(struct zusd_dbus *svc);

#endif /* ZUSD_DBUS_SERVICE_H */
