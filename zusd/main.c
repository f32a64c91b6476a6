// SPDX-License-Identifier: BSD-2-Clause
/*
 * main.c - zusd: serve a user-space filesystem plugin to the kernel.
 *
 *   zusd --transport=zuf --plugin pmfs2 [DEVICE MOUNTPOINT]
 *   zusd --transport=fuse --plugin pmfs2 [-o opts] DEVICE MOUNTPOINT
 *   zusd --transport=auto ...   zuf when zuf.ko is loaded, else fuse
 *
 *   zusd [-c FILE]      as a daemon (zusd.service): everything from
 *                       zusd.conf, FUSE mounts from its [mount.NAME]
 *
 * Parses the command line and zusd.conf and hands over to a transport: zuf
 * (the kernel sends the mounts: zuf_serve.c) or FUSE (zusd mounts the
 * plugin on the device itself: mount.c + fuse_transport.c, one thread per
 * mount).  The main thread then runs the service loop: signals, systemd
 * notifications (READY, STATUS, WATCHDOG) and the D-Bus service's requests.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "dbus_service.h"
#include "fdstore.h"
#include "fuse_transport.h"
#include "health.h"
#include "kmounts.h"
#include "log.h"
#include "mount.h"
#include "mtab.h"
#include "stats.h"
#include "zuf_serve.h"
#include "zuf_transport.h"
#include <zufs/zufs_api.h>

struct zusd_opts {
	const char *transport;
	const char *plugin;
	const char *fstype;
	const char *device;
	const char *mountpoint;
	char *plugin_opts;	/* -o options for the plugin */
	char *fuse_opts;	/* -o options for the kernel mount */
	unsigned long ms_flags;	/* zuf: MS_* from -o */
	const char *evil;	/* zuf: tests only */
	bool readonly;
	bool debug;
	bool dbus;		/* serve D-Bus with DEVICE MOUNTPOINT too */
	unsigned int threads;
	const char *config;	/* -c FILE */
};

static void usage(FILE *f)
{
	fprintf(f,
"Usage: zusd --transport=zuf --plugin NAME [OPTION]... [DEVICE MOUNTPOINT]\n"
"  or:  zusd --transport=fuse --plugin NAME [OPTION]... DEVICE MOUNTPOINT\n"
"  or:  zusd [-c FILE]\n"
"Serve filesystems through a user-space plugin.\n"
"\n"
"With zuf (the kernel module zuf.ko), zusd registers the plugin's types and\n"
"serves every `mount -t TYPE DEVICE DIR`; mounts survive a zusd restart.\n"
"Given DEVICE MOUNTPOINT, it also mounts that itself (and unmounts at exit).\n"
"With FUSE, zusd serves the filesystem on DEVICE (pmem, block device or\n"
"image file) at MOUNTPOINT until it is unmounted.\n"
"Without DEVICE MOUNTPOINT and --plugin, zusd runs as the daemon of\n"
"zusd.service: plugins, transport, threads and the FUSE mounts\n"
"([mount.NAME]) come from zusd.conf, and it serves org.zufs.Manager1 on\n"
"the system bus (zufsctl).  It always notifies systemd (READY, STATUS,\n"
"WATCHDOG) when started as a Type=notify service.\n"
"\n"
"  -c, --config=FILE      read FILE instead of %s\n"
"                         (command-line options override it)\n"
"  -t, --transport=T      zuf, fuse, or auto (default: zuf when zuf.ko is\n"
"                         loaded, else fuse)\n"
"  -p, --plugin=NAME      plugin name (NAME.so in $ZUS_PLUGIN_PATH or\n"
"                         %s) or path to a plugin .so\n"
"      --type=FSTYPE      filesystem type in the plugin (default: NAME)\n"
"  -o OPT[,OPT]...        mount options: ro, rw, nosuid, nodev, noexec,\n"
"                         noatime, ... go to the kernel, the rest to the\n"
"                         plugin\n"
"  -j, --threads=N        request threads (default: one per CPU)\n"
"  -d, --debug            trace every FUSE request / more zuf messages\n"
"      --dbus             serve D-Bus also when not run as the daemon\n"
"      --test-evil=KIND   zuf, tests only: send malformed replies of one\n"
"                         kind (getattr, lookup, readdir, extents, mapped,\n"
"                         statfs, seq) to check that zuf.ko rejects them\n"
"  -h, --help             show this help and exit\n"
"  -V, --version          show the version and exit\n"
"\n"
"zusd runs in the foreground.  With FUSE it stops when the filesystem is\n"
"unmounted (fusermount3 -u MOUNTPOINT, umount) or on SIGTERM or SIGINT; it\n"
"then unmounts the plugin and syncs the device.  With zuf it stops on\n"
"SIGTERM, SIGINT or SIGHUP; the kernel's mounts wait for the next zusd.\n",
		ZUSD_CONFIG_FILE, PLUGINDIR);
}

/* Append opt to *list (comma separated). */
static int opt_append(char **list, const char *opt, size_t len)
{
	size_t old = *list ? strlen(*list) : 0;
	char *n = realloc(*list, old + len + 2);

	if (!n)
		return -ENOMEM;
	if (old)
		n[old++] = ',';
	memcpy(n + old, opt, len);
	n[old + len] = '\0';
	*list = n;
	return 0;
}

/* Split one -o argument between the kernel mount and the plugin. */
static int parse_mount_opts(struct zusd_opts *o, const char *arg)
{
	const char *p = arg;

	while (*p) {
		size_t len = strcspn(p, ",");
		char one[256];
		int ret = 0;

		if (len >= sizeof(one))
			return -EINVAL;
		memcpy(one, p, len);
		one[len] = '\0';
		if (len)	/* the zuf transport's own mount, if any */
			zusd_zuf_mount_flag(one, &o->ms_flags);
		if (!strcmp(one, "ro"))
			o->readonly = true;
		else if (!strcmp(one, "rw"))
			o->readonly = false;
		else if (len && zusd_fuse_is_mount_opt(one))
			ret = opt_append(&o->fuse_opts, one, len);

		else if (len)
			ret = opt_append(&o->plugin_opts, one, len);
		if (ret)
			return ret;
		p += len;
		if (*p == ',')
			p++;
	}
	return 0;
}

static int parse_args(int argc, char **argv, struct zusd_opts *o)
{
	enum { OPT_TYPE = 256, OPT_EVIL, OPT_DBUS };
	static const struct option lopts[] = {
		{ "transport", required_argument, NULL, 't' },
		{ "plugin", required_argument, NULL, 'p' },
		{ "type", required_argument, NULL, OPT_TYPE },
		{ "threads", required_argument, NULL, 'j' },
		{ "debug", no_argument, NULL, 'd' },
		{ "dbus", no_argument, NULL, OPT_DBUS },
		{ "config", required_argument, NULL, 'c' },
		{ "test-evil", required_argument, NULL, OPT_EVIL },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "t:p:o:j:c:dhV", lopts, NULL)) != -1) {
		switch (c) {
		case 't':
			o->transport = optarg;
			break;
		case 'p':
			o->plugin = optarg;
			break;
		case OPT_TYPE:
			o->fstype = optarg;
			break;
		case OPT_EVIL:
			if (zuf_transport_evil_mode(optarg) < 0) {
				fprintf(stderr, "zusd: --test-evil wants getattr, "
					"lookup, readdir, extents, mapped, statfs "
					"or seq\n");
				return 2;
			}
			o->evil = optarg;
			break;
		case 'o':
			if (parse_mount_opts(o, optarg)) {
				fprintf(stderr, "zusd: bad -o '%s'\n", optarg);
				return 2;
			}
			break;
		case 'j': {
			char *end;
			unsigned long n = strtoul(optarg, &end, 10);

			if (*end || !n || n > 1024) {
				fprintf(stderr, "zusd: --threads wants 1..1024, "
					"not '%s'\n", optarg);
				return 2;
			}
			o->threads = (unsigned int)n;
			break;
		}
		case 'd':
			o->debug = true;
			break;
		case OPT_DBUS:
			o->dbus = true;
			break;
		case 'c':
			o->config = optarg;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case 'V':
			printf("zusd (%s) %s\n", PACKAGE_NAME, PACKAGE_VERSION);
			exit(0);
		default:
			fprintf(stderr, "Try 'zusd --help'.\n");
			return 2;
		}
	}
	if (o->transport && strcmp(o->transport, "auto") &&
	    strcmp(o->transport, "fuse") && strcmp(o->transport, "zuf")) {
		fprintf(stderr, "zusd: --transport=%s: use zuf, fuse or auto\n",
			o->transport);
		return 2;
	}
	if (argc - optind == 2) {
		o->device = argv[optind];
		o->mountpoint = argv[optind + 1];
	} else if (argc - optind != 0) {
		fprintf(stderr, "zusd: expected DEVICE and MOUNTPOINT (or "
			"neither)\nTry 'zusd --help'.\n");
		return 2;
	}
	return 0;
}

/* After the config: the transport and what to serve. */
static int check_args(struct zusd_opts *o, const struct zusd_config *cfg)
{
	if (!o->transport)
		o->transport = zusd_transport_kind_name(cfg->transport);
	if (!strcmp(o->transport, "auto")) {
		/* the kernel transport when zuf.ko is there, else FUSE */
		o->transport = zusd_zuf_available() ? "zuf" : "fuse";
	}
	if (!o->device && !strcmp(o->transport, "fuse") && o->plugin) {
		fprintf(stderr, "zusd: expected DEVICE and MOUNTPOINT\n"
			"Try 'zusd --help'.\n");
		return 2;
	}
	if (o->evil && strcmp(o->transport, "zuf")) {
		fprintf(stderr, "zusd: --test-evil needs --transport=zuf\n");
		return 2;
	}
	if (!o->plugin && cfg->nplugins)
		o->plugin = cfg->plugins[0];
	if (!o->plugin) {
		fprintf(stderr, "zusd: --plugin NAME is required (e.g. --plugin pmfs2)\n");
		return 2;
	}
	return 0;
}

/* Fail before touching the device if the mountpoint cannot work. */
static int check_mountpoint(const char *path)
{
	struct stat st;

	if (stat(path, &st)) {
		fprintf(stderr, "zusd: mountpoint %s: %s\n", path,
			strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		fprintf(stderr, "zusd: mountpoint %s is not a directory\n", path);
		return -1;
	}
	return 0;
}

/* The fs type of --plugin: its name, or a .so path's base name. */
static const char *zd_fstype(const struct zusd_opts *o)
{
	static char name[64];
	const char *b;
	size_t n;

	if (!strchr(o->plugin, '/'))
		return o->plugin;
	b = strrchr(o->plugin, '/') + 1;
	n = strcspn(b, ".");
	if (n >= sizeof(name))
		n = sizeof(name) - 1;
	memcpy(name, b, n);
	name[n] = '\0';
	return name;
}

/* ---- the service: mounts, systemd, D-Bus ------------------------------ */

enum zd_state { ZM_STARTING, ZM_SERVING, ZM_DONE };

/* One FUSE mount, served by a thread of its own. */
struct zd_mnt {
	struct zd_mnt *next;
	struct zusd *zd;
	char *device;		/* absolute path when it exists */
	char *mountpoint;
	char *fstype;
	char *plugin;
	char *plugin_opts;	/* the plugin's part of options */
	char *fuse_opts;	/* the kernel's */
	char *options;		/* as given, for D-Bus */
	bool readonly;
	struct zusd_mount m;
	struct zusd_fuse_ctl ctl;
	pthread_t tid;
	_Atomic int state;	/* enum zd_state */
	int ret;		/* 0 or 1, once ZM_DONE */
	bool announced;		/* MountAdded sent */
	bool held;		/* under lock: a D-Bus Mount() waits on it */
	enum zusd_mt_origin origin;	/* for the fd store */
};

struct zusd {
	struct zusd_opts *o;
	struct zusd_config cfg;
	pthread_t main_tid;
	pthread_mutex_t lock;	/* the mount list, and stats of its mounts */
	struct zd_mnt *mounts;
	struct zusd_dbus *svc;
	atomic_bool restart;	/* D-Bus Restart() */
	bool stopping;		/* under lock: no new mounts */
	unsigned int threads;
	uint64_t watchdog_usec;	/* 0: no watchdog */
	char status[256];	/* the last STATUS= sent */
	bool stuck;		/* a request outlived the watchdog interval */
	/* zuf: the transport runs zusd_zuf_serve() on the main thread */
	bool zuf;
	atomic_bool zuf_ready;	/* zusd_zuf_serve() serves */
	atomic_bool zuf_done;	/* and has returned */
	struct zusd_stats *zuf_stats;	/* commands for no known mount */
	struct zusd_kmounts km;		/* the kernel's mounts (zuf) */
	atomic_bool table_dirty;	/* the mount table changed */
	struct zusd_fdstore fdstore;	/* the table, in systemd's fd store */
	struct zusd_mtab prev;		/* the previous zusd's table */
	int zuf_control_fd;		/* from zusd.socket, -1: none */
	int fdstore_err;		/* the last save error logged */
};

/* Wake the main loop (from any thread). */
static void zd_wake(struct zusd *zd)
{
	pthread_kill(zd->main_tid, SIGUSR1);
}

static void zd_status(struct zusd *zd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void zd_status(struct zusd *zd, const char *fmt, ...)
{
	char buf[sizeof(zd->status)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (!strcmp(buf, zd->status))
		return;
	snprintf(zd->status, sizeof(zd->status), "%s", buf);
	sd_notifyf(0, "STATUS=%s", buf);
}

static void zd_mnt_free(struct zd_mnt *zm)
{
	free(zm->device);
	free(zm->mountpoint);
	free(zm->fstype);
	free(zm->plugin);
	free(zm->plugin_opts);
	free(zm->fuse_opts);
	free(zm->options);
	pthread_mutex_destroy(&zm->ctl.lock);
	free(zm);
}

/* the FUSE transport mounted it and starts serving */
static void zd_mnt_mounted(void *ctx)
{
	struct zd_mnt *zm = ctx;
	struct zusd *zd = zm->zd;

	pthread_mutex_lock(&zd->lock);
	atomic_store(&zm->state, ZM_SERVING);
	atomic_store(&zd->table_dirty, true);
	zm->announced = true;
	zusd_dbus_mount_added(zd->svc, zm->device, zm->mountpoint, zm->fstype);
	pthread_mutex_unlock(&zd->lock);
	zd_wake(zd);
}

static void *zd_mnt_thread(void *arg)
{
	struct zd_mnt *zm = arg;
	struct zusd *zd = zm->zd;
	struct zusd_mount_args ma;
	struct zusd_fuse_config fc;
	struct zusd_stats *stats;
	int ret = 1;

	memset(&ma, 0, sizeof(ma));
	ma.plugin = zm->plugin;
	ma.fstype = zm->fstype;
	ma.device = zm->device;
	ma.options = zm->plugin_opts;
	ma.readonly = zm->readonly;
	if (zusd_mount_open(&zm->m, &ma))
		goto out;
	zm->m.stats = zusd_stats_new();

	memset(&fc, 0, sizeof(fc));
	fc.mountpoint = zm->mountpoint;
	fc.fsname = zm->device;
	fc.subtype = zm->fstype;
	fc.fuse_opts = zm->fuse_opts;
	fc.readonly = zm->readonly;
	fc.debug = zd->o->debug;
	fc.threads = zd->threads;
	fc.ctl = &zm->ctl;
	ret = zusd_fuse_serve(&zm->m, &fc) ? 1 : 0;

	/* no thread serves it any more: out of the D-Bus service's sight */
	pthread_mutex_lock(&zd->lock);
	stats = zm->m.stats;
	zm->m.stats = NULL;
	if (zm->announced)
		zusd_dbus_mount_removed(zd->svc, zm->mountpoint);
	zm->announced = false;
	pthread_mutex_unlock(&zd->lock);
	zusd_stats_free(stats);

	if (zusd_mount_close(&zm->m))
		ret = 1;
	if (!ret)
		fprintf(stderr, "zusd: %s unmounted cleanly\n", zm->device);
out:
	zm->ret = ret;
	atomic_store(&zm->state, ZM_DONE);
	zd_wake(zd);
	return NULL;
}

/* The plugin of a mount of type fstype: the configured one of that name. */
static const char *zd_plugin_for(struct zusd *zd, const char *fstype)
{
	const struct zusd_config *c = &zd->cfg;

	if (zd->o->plugin && (zd->o->device || !c->nplugins))
		return zd->o->plugin;
	for (size_t i = 0; i < c->nplugins; i++) {
		const char *b = strrchr(c->plugins[i], '/');
		size_t n;

		b = b ? b + 1 : c->plugins[i];
		n = strcspn(b, ".");
		if (strlen(fstype) == n && !strncmp(b, fstype, n))
			return c->plugins[i];
	}
	return c->nplugins ? c->plugins[0] : fstype;
}

/* Does the option list opts have an option key (as "key" or "key=...")? */
static bool zd_has_opt(const char *opts, const char *key)
{
	size_t n = strlen(key);

	for (const char *p = opts; p && *p; p += strcspn(p, ","), p += !!*p)
		if (!strncmp(p, key, n) && (p[n] == '=' || p[n] == ',' ||
					    !p[n]))
			return true;
	return false;
}

/*
 * The options of a [mount.NAME] with a tier device (tier=PATH): [tier]'s
 * policy first, unless the mount's options set it.  NULL: out of memory.
 */
static char *zd_conf_opts(const struct zusd_config *c, const char *opts)
{
	char buf[128] = "", *out = NULL;
	int n = 0;

	if (!zd_has_opt(opts, "tier"))
		return strdup(opts ? opts : "");
	if (!zd_has_opt(opts, "tier_low") && !zd_has_opt(opts, "tier_high"))
		n = snprintf(buf, sizeof(buf), "tier_low=%u,tier_high=%u,",
			     c->tier_low_watermark, c->tier_high_watermark);
	if (!zd_has_opt(opts, "tier_qd"))
		snprintf(buf + n, sizeof(buf) - (size_t)n, "tier_qd=%u,",
			 c->tier_queue_depth < 256 ? c->tier_queue_depth : 256);
	if (asprintf(&out, "%s%s", buf, opts) < 0)
		return NULL;
	return out;
}

/* Start serving one FUSE mount (its thread reports back). */
static int zd_mnt_start(struct zusd *zd, const char *device,
			const char *mountpoint, const char *fstype,
			const char *options, enum zusd_mt_origin origin,
			char *err, size_t errlen, struct zd_mnt **out)
{
	struct zusd_opts po;
	struct zd_mnt *zm;
	char *dev;
	int r;

	if (check_mountpoint(mountpoint)) {
		snprintf(err, errlen, "mountpoint %s is not a directory",
			 mountpoint);
		return -ENOTDIR;
	}
	zm = calloc(1, sizeof(*zm));
	if (!zm)
		return -ENOMEM;
	memset(&po, 0, sizeof(po));
	if (options && parse_mount_opts(&po, options)) {
		free(po.plugin_opts);
		free(po.fuse_opts);
		free(zm);
		snprintf(err, errlen, "bad mount options '%s'", options);
		return -EINVAL;
	}
	/* /proc/mounts and systemd name the device by its absolute path */
	dev = realpath(device, NULL);
	zm->zd = zd;
	zm->device = dev ? dev : strdup(device);
	zm->mountpoint = strdup(mountpoint);
	zm->fstype = strdup(fstype);
	zm->plugin = strdup(zd_plugin_for(zd, fstype));
	zm->options = strdup(options ? options : "");
	zm->plugin_opts = po.plugin_opts;
	zm->fuse_opts = po.fuse_opts;
	zm->readonly = po.readonly;
	zm->origin = origin;
	pthread_mutex_init(&zm->ctl.lock, NULL);
	zm->ctl.mounted = zd_mnt_mounted;
	zm->ctl.ctx = zm;
	if (!zm->device || !zm->mountpoint || !zm->fstype || !zm->plugin ||
	    !zm->options) {
		zd_mnt_free(zm);
		return -ENOMEM;
	}
	pthread_mutex_lock(&zd->lock);
	if (zd->stopping) {
		pthread_mutex_unlock(&zd->lock);
		zd_mnt_free(zm);
		snprintf(err, errlen, "zusd is stopping");
		return -ESHUTDOWN;
	}
	zm->next = zd->mounts;
	zd->mounts = zm;
	zm->held = out != NULL;
	r = pthread_create(&zm->tid, NULL, zd_mnt_thread, zm);
	if (r) {
		zd->mounts = zm->next;
		pthread_mutex_unlock(&zd->lock);
		zd_mnt_free(zm);
		snprintf(err, errlen, "thread: %s", strerror(r));
		return -r;
	}
	pthread_mutex_unlock(&zd->lock);
	if (out)
		*out = zm;
	return 0;
}

/* Join and free the mounts whose thread has ended; how many failed. */
static unsigned int zd_reap(struct zusd *zd, unsigned int *nreaped)
{
	struct zd_mnt **pp, *zm;
	unsigned int failed = 0, n = 0;

	pthread_mutex_lock(&zd->lock);
	for (pp = &zd->mounts; (zm = *pp);) {
		if (atomic_load(&zm->state) != ZM_DONE || zm->held) {
			pp = &zm->next;
			continue;
		}
		*pp = zm->next;
		pthread_join(zm->tid, NULL);
		failed += zm->ret != 0;
		n++;
		zd_mnt_free(zm);
	}
	pthread_mutex_unlock(&zd->lock);
	if (n)
		atomic_store(&zd->table_dirty, true);
	if (nreaped)
		*nreaped = n;
	return failed;
}

static struct zd_mnt *zd_find(struct zusd *zd, const char *mountpoint)
{
	for (struct zd_mnt *zm = zd->mounts; zm; zm = zm->next)
		if (atomic_load(&zm->state) == ZM_SERVING &&
		    !strcmp(zm->mountpoint, mountpoint))
			return zm;
	return NULL;
}

/* ---- D-Bus callbacks (the service's thread) ---- */

static int zd_list_mounts(void *ctx, zusd_dbus_emit_mount_t emit, void *ectx)
{
	struct zusd *zd = ctx;

	pthread_mutex_lock(&zd->lock);
	for (struct zd_mnt *zm = zd->mounts; zm; zm = zm->next) {
		struct zusd_dbus_mount_info mi = {
			.device = zm->device, .mountpoint = zm->mountpoint,
			.fstype = zm->fstype, .options = zm->options,
			.state = "mounted",
		};

		if (atomic_load(&zm->state) != ZM_SERVING)
			continue;
		mi.pmem_bytes = zm->m.sb.pmem.size;
		if (zm->m.sb.ntier) {
			struct zus_tier_status st;

			/* the plugin knows the tier's data size */
			zusd_busy_begin();
			if (!zusd_mount_tier_status(&zm->m, &st))
				mi.tier_bytes = st.tier_bytes;
			zusd_busy_end();
		}
		emit(ectx, &mi);
	}
	pthread_mutex_unlock(&zd->lock);
	return 0;
}

static int zd_get_stats(void *ctx, const char *mountpoint,
			struct zusd_stats_snapshot *out)
{
	struct zusd *zd = ctx;
	int ret = *mountpoint ? -ENOENT : 0;

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&zd->lock);
	for (struct zd_mnt *zm = zd->mounts; zm; zm = zm->next) {
		struct zusd_stats_snapshot one;

		if (atomic_load(&zm->state) != ZM_SERVING || !zm->m.stats ||
		    (*mountpoint && strcmp(zm->mountpoint, mountpoint)))
			continue;
		zusd_stats_snapshot(zm->m.stats, &one);
		zusd_stats_merge(out, &one);
		ret = 0;
	}
	pthread_mutex_unlock(&zd->lock);
	return ret;
}

/* A plugin's tier counters as D-Bus shows them. */
static void zd_tier_copy(const struct zus_tier_status *st,
			 struct zusd_tier_status *out)
{
	memset(out, 0, sizeof(*out));
	snprintf(out->backend, sizeof(out->backend), "%.*s",
		 (int)sizeof(st->backend), st->backend);
	out->ntier = st->ntier;
	out->low_pct = st->low_pct;
	out->high_pct = st->high_pct;
	out->migrating = st->migrating;
	out->pmem_bytes = st->pmem_bytes;
	out->pmem_free_bytes = st->pmem_free_bytes;
	out->tier_bytes = st->tier_bytes;
	out->tier_free_bytes = st->tier_free_bytes;
	out->migrations = st->migrations;
	out->migrated_bytes = st->migrated_bytes;
	out->promotions = st->promotions;
	out->promoted_bytes = st->promoted_bytes;
	out->cold_reads = st->cold_reads;
	out->cold_read_bytes = st->cold_read_bytes;
	out->migrate_ns = st->migrate_ns;
	out->migrate_bytes_per_sec = st->migrate_bytes_per_sec;
	out->io_reads = st->io.reads;
	out->io_writes = st->io.writes;
	out->io_read_bytes = st->io.read_bytes;
	out->io_write_bytes = st->io.write_bytes;
	out->io_queue_depth = st->io.queue_depth;
	out->io_max_queue_depth = st->io.max_queue_depth;
}

/* A tier_status result as GetTierStatus wants it: -ENODATA for no tier. */
static int zd_tier_result(int ret, const struct zus_tier_status *st)
{
	if (ret == -EOPNOTSUPP || ret == -ENODEV || (!ret && !st->ntier))
		return -ENODATA;
	return ret;
}

static int zd_get_tier_status(void *ctx, const char *mountpoint,
			      struct zusd_tier_status *out)
{
	struct zusd *zd = ctx;
	struct zus_tier_status st;
	struct zd_mnt *zm;
	int ret;

	/* under the lock: the mount's thread cannot close it meanwhile */
	pthread_mutex_lock(&zd->lock);
	zm = zd_find(zd, mountpoint);
	if (!zm) {
		ret = -ENOENT;
	} else {
		zusd_busy_begin();
		ret = zd_tier_result(zusd_mount_tier_status(&zm->m, &st), &st);
		zusd_busy_end();
	}
	pthread_mutex_unlock(&zd->lock);
	if (!ret)
		zd_tier_copy(&st, out);
	return ret;
}

static int zd_restart(void *ctx, char *err, size_t errlen)
{
	struct zusd *zd = ctx;

	atomic_store(&zd->restart, true);
	zd_wake(zd);
	return 0;
}

static int zd_mount(void *ctx, const char *device, const char *mountpoint,
		    const char *fstype, const char *options, char *err,
		    size_t errlen)
{
	struct zusd *zd = ctx;
	struct zd_mnt *zm;
	int r, st;

	pthread_mutex_lock(&zd->lock);
	for (zm = zd->mounts; zm; zm = zm->next)
		if (!strcmp(zm->mountpoint, mountpoint))
			break;
	pthread_mutex_unlock(&zd->lock);
	if (zm) {
		snprintf(err, errlen, "%s is mounted already", mountpoint);
		return -EBUSY;
	}
	r = zd_mnt_start(zd, device, mountpoint, *fstype ? fstype : "pmfs2",
			 options, ZUSD_MT_DBUS, err, errlen, &zm);
	if (r)
		return r;
	/* held: the main loop does not free it until we let go */
	for (;;) {
		pthread_mutex_lock(&zd->lock);
		st = atomic_load(&zm->state);
		if (st != ZM_STARTING)
			zm->held = false;
		pthread_mutex_unlock(&zd->lock);
		if (st != ZM_STARTING)
			break;
		usleep(10000);
	}
	zd_wake(zd);	/* to reap it if it failed */
	if (st == ZM_DONE) {
		snprintf(err, errlen, "cannot mount %s on %s (see zusd's log)",
			 device, mountpoint);
		return -EIO;
	}
	return 0;
}

static int zd_unmount(void *ctx, const char *mountpoint, char *err,
		      size_t errlen)
{
	struct zusd *zd = ctx;

	for (int i = 0; ; i++) {
		struct zd_mnt *zm;
		bool done;

		pthread_mutex_lock(&zd->lock);
		for (zm = zd->mounts; zm; zm = zm->next)
			if (!strcmp(zm->mountpoint, mountpoint))
				break;
		done = !zm || atomic_load(&zm->state) == ZM_DONE;
		if (!done)
			zusd_fuse_stop(&zm->ctl);
		pthread_mutex_unlock(&zd->lock);
		if (done)
			return i ? 0 : -ENOENT;
		if (i == 300) {
			snprintf(err, errlen, "%s is still busy", mountpoint);
			return -EBUSY;
		}
		usleep(50000);
	}
}

static const struct zusd_dbus_ops zd_dbus_fuse_ops = {
	.list_mounts = zd_list_mounts,
	.get_stats = zd_get_stats,
	.get_tier_status = zd_get_tier_status,
	.restart = zd_restart,
	.mount = zd_mount,
	.unmount = zd_unmount,
};

/* ---- zuf: the kernel's mounts ---- */

static int zd_zuf_get_tier_status(void *ctx, const char *mountpoint,
				  struct zusd_tier_status *out);

static int zd_zuf_list_mounts(void *ctx, zusd_dbus_emit_mount_t emit,
			      void *ectx)
{
	struct zusd *zd = ctx;
	struct zusd_kmounts *k = &zd->km;
	char (*mps)[PATH_MAX] = calloc(ZUSD_KMOUNTS_MAX, PATH_MAX);
	int n = 0;

	zusd_kmounts_refresh(k);	/* the kernel does not tell zusd */
	/* tier sizes, from the plugin once (not under k->lock: see below) */
	pthread_mutex_lock(&k->lock);
	for (int i = 0; mps && i < ZUSD_KMOUNTS_MAX; i++)
		if (k->m[i].state == ZUSD_KM_MOUNTED && !k->m[i].tier_bytes &&
		    k->m[i].mountpoint[0] && strstr(k->m[i].options, "tier="))
			snprintf(mps[n++], PATH_MAX, "%s", k->m[i].mountpoint);
	pthread_mutex_unlock(&k->lock);
	for (int i = 0; i < n; i++) {
		struct zusd_tier_status t;

		zd_zuf_get_tier_status(zd, mps[i], &t);	/* caches it */
	}
	free(mps);
	pthread_mutex_lock(&k->lock);
	for (int i = 0; i < ZUSD_KMOUNTS_MAX; i++) {
		const struct zusd_kmount *m = &k->m[i];
		struct zusd_dbus_mount_info mi = {
			.device = m->device, .mountpoint = m->mountpoint,
			.fstype = m->fstype, .options = m->options,
			.state = zusd_km_state_name(m->state),
			.pmem_bytes = m->pmem_bytes,
			.tier_bytes = m->tier_bytes,
		};

		if (m->state != ZUSD_KM_FREE)
			emit(ectx, &mi);
	}
	pthread_mutex_unlock(&k->lock);
	return 0;
}

/* zuf: one kernel mount's counters, or every mount's summed ("") */
static int zd_zuf_get_stats(void *ctx, const char *mountpoint,
			    struct zusd_stats_snapshot *out)
{
	struct zusd *zd = ctx;
	struct zusd_kmounts *k = &zd->km;
	int ret = *mountpoint ? -ENOENT : 0;

	memset(out, 0, sizeof(*out));
	if (*mountpoint)
		zusd_kmounts_refresh(k);
	else if (zd->zuf_stats)	/* commands for no mount count in the sum */
		zusd_stats_snapshot(zd->zuf_stats, out);
	pthread_mutex_lock(&k->lock);
	for (int i = 0; i < ZUSD_KMOUNTS_MAX; i++) {
		const struct zusd_kmount *m = &k->m[i];
		struct zusd_stats_snapshot one;

		if (!m->stats || (*mountpoint &&
				  strcmp(m->mountpoint, mountpoint)))
			continue;
		zusd_stats_snapshot(m->stats, &one);
		zusd_stats_merge(out, &one);
		ret = 0;
	}
	pthread_mutex_unlock(&k->lock);
	return ret;
}

struct zd_zuf_tier {
	const char *device;
	struct zus_tier_status st;
};

/* On the mount, held by the transport (an umount waits for us). */
static int zd_zuf_tier_fn(struct zus_sb *sb, const struct zus_fs_type *type,
			  void *arg)
{
	struct zd_zuf_tier *zt = arg;
	int ret;

	/* the slot may have been reused by another mount meanwhile */
	if (!sb->dev_path || strcmp(sb->dev_path, zt->device))
		return -ENOENT;
	if (!type->ops->tier_status)
		return -EOPNOTSUPP;
	zusd_busy_begin();
	ret = type->ops->tier_status(sb, &zt->st);
	zusd_busy_end();
	return ret;
}

static int zd_zuf_get_tier_status(void *ctx, const char *mountpoint,
				  struct zusd_tier_status *out)
{
	struct zusd *zd = ctx;
	struct zusd_kmounts *k = &zd->km;
	struct zd_zuf_tier zt;
	const void *key = NULL;
	char *device = NULL;
	int ret;

	/*
	 * Not under k->lock: the transport takes it inside its own mount
	 * lock (mount hooks), and zusd_zuf_with_mount() takes that one.
	 */
	pthread_mutex_lock(&k->lock);
	for (int i = 0; i < ZUSD_KMOUNTS_MAX && !key; i++) {
		const struct zusd_kmount *m = &k->m[i];

		if (m->state == ZUSD_KM_MOUNTED &&
		    !strcmp(m->mountpoint, mountpoint)) {
			key = atomic_load(&m->key);
			device = strdup(m->device);
		}
	}
	pthread_mutex_unlock(&k->lock);
	if (!key)
		return -ENOENT;
	if (!device)
		return -ENOMEM;
	memset(&zt, 0, sizeof(zt));
	zt.device = device;
	ret = zd_tier_result(zusd_zuf_with_mount(key, zd_zuf_tier_fn, &zt),
			     &zt.st);
	free(device);
	if (ret)
		return ret;
	zd_tier_copy(&zt.st, out);
	/* for Mounts: the tier's size */
	pthread_mutex_lock(&k->lock);
	for (int i = 0; i < ZUSD_KMOUNTS_MAX; i++)
		if (atomic_load(&k->m[i].key) == key)
			k->m[i].tier_bytes = zt.st.tier_bytes;
	pthread_mutex_unlock(&k->lock);
	return 0;
}

/* zuf: the kernel owns the mounts; zusd can only be restarted */
static const struct zusd_dbus_ops zd_dbus_zuf_ops = {
	.list_mounts = zd_zuf_list_mounts,
	.get_stats = zd_zuf_get_stats,
	.get_tier_status = zd_zuf_get_tier_status,
	.restart = zd_restart,
};

/* the table changed: the service thread rewrites the fd store */
static void zd_table_changed(void *ctx)
{
	struct zusd *zd = ctx;

	atomic_store(&zd->table_dirty, true);
	zusd_dbus_mounts_changed(zd->svc);
}

/* zuf_serve.c's mount hooks, on the transport's mount thread */
static void zd_zuf_mount_begin(void *ctx, struct zus_sb *sb,
			       const char *fstype, const char *options)
{
	struct zusd *zd = ctx;
	uint64_t tier_bytes = 0;
	int r;

	for (unsigned int i = 0; i < sb->ntier; i++)
		tier_bytes += sb->tier[i].size;
	r = zusd_kmounts_begin(&zd->km, sb, fstype, sb->dev_path, options,
			       sb->readonly, sb->pmem.size, tier_bytes);
	if (r)
		fprintf(stderr, "zusd: %s: not listed over D-Bus: %s\n",
			sb->dev_path, strerror(-r));
}

static void zd_zuf_mount_end(void *ctx, struct zus_sb *sb, int mount_err)
{
	struct zusd *zd = ctx;

	if (mount_err > 0)	/* zusd stops: the next one re-attaches it */
		zusd_kmounts_detach(&zd->km, sb);
	else
		zusd_kmounts_end(&zd->km, sb);
}

/* ---- zuf channel commands: statistics and watchdog ---- */

static _Thread_local uint64_t zd_zuf_t0;

static void zd_zuf_op_begin(void *ctx)
{
	zusd_busy_begin();
	zd_zuf_t0 = zusd_stats_clock();
}

static enum zusd_op zd_zuf_op(uint32_t op)
{
	switch (op) {
	case ZUFS_OP_MOUNT: return ZUSD_OP_MOUNT;
	case ZUFS_OP_UMOUNT: return ZUSD_OP_UMOUNT;
	case ZUFS_OP_REMOUNT: return ZUSD_OP_REMOUNT;
	case ZUFS_OP_STATFS: return ZUSD_OP_STATFS;
	case ZUFS_OP_SYNC: return ZUSD_OP_SYNC;
	case ZUFS_OP_LOOKUP: return ZUSD_OP_LOOKUP;
	case ZUFS_OP_CREATE: return ZUSD_OP_CREATE;
	case ZUFS_OP_MKDIR: return ZUSD_OP_MKDIR;
	case ZUFS_OP_SYMLINK: return ZUSD_OP_SYMLINK;
	case ZUFS_OP_LINK: return ZUSD_OP_LINK;
	case ZUFS_OP_UNLINK: return ZUSD_OP_UNLINK;
	case ZUFS_OP_RMDIR: return ZUSD_OP_RMDIR;
	case ZUFS_OP_RENAME: return ZUSD_OP_RENAME;
	case ZUFS_OP_TMPFILE: return ZUSD_OP_TMPFILE;
	case ZUFS_OP_READLINK: return ZUSD_OP_READLINK;
	case ZUFS_OP_READDIR: return ZUSD_OP_READDIR;
	case ZUFS_OP_GETATTR: return ZUSD_OP_GETATTR;
	case ZUFS_OP_SETATTR: return ZUSD_OP_SETATTR;
	case ZUFS_OP_EVICT: return ZUSD_OP_EVICT;
	case ZUFS_OP_READ: return ZUSD_OP_READ;
	case ZUFS_OP_WRITE: return ZUSD_OP_WRITE;
	case ZUFS_OP_GET_EXTENTS: return ZUSD_OP_GET_EXTENTS;
	case ZUFS_OP_FALLOCATE: return ZUSD_OP_FALLOCATE;
	case ZUFS_OP_LLSEEK: return ZUSD_OP_LSEEK;
	case ZUFS_OP_FSYNC: return ZUSD_OP_FSYNC;
	case ZUFS_OP_GETXATTR: return ZUSD_OP_GETXATTR;
	case ZUFS_OP_SETXATTR: return ZUSD_OP_SETXATTR;
	case ZUFS_OP_LISTXATTR: return ZUSD_OP_LISTXATTR;
	case ZUFS_OP_REMOVEXATTR: return ZUSD_OP_REMOVEXATTR;
	default: return ZUSD_OP_OTHER;
	}
}

/*
 * sb is the mount's (NULL: no such mount, e.g. after UMOUNT): its own
 * counters, found without a lock (kmounts.h).
 */
static void zd_zuf_op_end(void *ctx, struct zus_sb *sb, uint32_t op,
			  uint64_t bytes, int err)
{
	struct zusd *zd = ctx;
	struct zusd_stats *s = zusd_kmounts_stats(&zd->km, sb);

	zusd_stats_done(s ? s : zd->zuf_stats, zd_zuf_op(op), zd_zuf_t0,
			bytes, err);
	if (op == ZUFS_OP_MOUNT && sb && !err)
		zusd_kmounts_mounted(&zd->km, sb);
	zusd_busy_end();
}

static void zd_dbus_log(void *ctx, int prio, const char *msg)
{
	zusd_log_msg(prio, msg);
}

/* ---- the fd store ---- */

/* Write the mount table to the fd store (zusd's main loop only). */
static void zd_table_save(struct zusd *zd)
{
	struct zusd_mtab t = { 0 };
	int r = 0;

	pthread_mutex_lock(&zd->lock);
	/* starting ones too: a restored mount must survive a crash meanwhile */
	for (struct zd_mnt *zm = zd->mounts; zm && !r; zm = zm->next)
		if (atomic_load(&zm->state) != ZM_DONE)
			r = zusd_mtab_add(&t, "fuse", zm->origin, zm->fstype,
					  zm->device, zm->mountpoint,
					  zm->options);
	pthread_mutex_unlock(&zd->lock);
	if (!r)
		r = zusd_kmounts_to_mtab(&zd->km, &t);
	if (!r)
		r = zusd_fdstore_save(&zd->fdstore, &t);
	if (r && r != zd->fdstore_err)
		zusd_log(ZUS_LOG_WARNING, "fd store: cannot save the mount "
			 "table: %s (a restarted zusd will not know the mounts "
			 "made over D-Bus)", strerror(-r));
	zd->fdstore_err = r;
	zusd_mtab_free(&t);
}

/*
 * A FUSE mount of a zusd that died is dead (ENOTCONN): detach it so that
 * the mountpoint can be mounted again.
 */
static void zd_fuse_clear_dead(const char *mountpoint)
{
	struct stat st;

	if (!*mountpoint || !stat(mountpoint, &st) || errno != ENOTCONN)
		return;
	if (umount2(mountpoint, MNT_DETACH))
		zusd_log(ZUS_LOG_WARNING, "%s: cannot detach the previous "
			 "zusd's dead FUSE mount: %s", mountpoint,
			 strerror(errno));
	else
		zusd_log(ZUS_LOG_NOTICE, "%s: detached the previous zusd's "
			 "dead FUSE mount", mountpoint);
}

/* FUSE daemon: the previous zusd's mounts made over D-Bus, made again. */
static unsigned int zd_fuse_restore(struct zusd *zd)
{
	unsigned int failed = 0;
	char err[512];

	for (size_t i = 0; i < zd->prev.n; i++) {
		const struct zusd_mt_entry *e = &zd->prev.e[i];

		if (strcmp(e->transport, "fuse"))
			continue;
		zd_fuse_clear_dead(e->mountpoint);
		if (e->origin != ZUSD_MT_DBUS)
			continue;	/* zusd.conf makes its own again */
		if (zd_mnt_start(zd, e->device, e->mountpoint, e->fstype,
				 e->options, ZUSD_MT_DBUS, err, sizeof(err),
				 NULL)) {
			zusd_log(ZUS_LOG_ERR, "fd store: cannot mount %s on %s "
				 "again: %s", e->device, e->mountpoint, err);
			failed++;
		} else {
			zusd_log(ZUS_LOG_INFO, "fd store: mounting %s on %s "
				 "again (made over D-Bus)", e->device,
				 e->mountpoint);
		}
	}
	return failed;
}

static uint64_t zd_now_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000;
}

/*
 * WATCHDOG=1, if every serving thread is alive: none has been inside one
 * request for longer than the watchdog interval.
 */
static void zd_watchdog(struct zusd *zd, uint64_t *last)
{
	uint64_t now = zd_now_usec(), stuck;

	if (!zd->watchdog_usec || now - *last < zd->watchdog_usec / 4)
		return;
	stuck = zusd_busy_stuck(zd->watchdog_usec * 1000);
	zd->stuck = stuck != 0;
	if (stuck) {
		zd_status(zd, "a request has been running for %llu s: not "
			  "pinging the watchdog",
			  (unsigned long long)(stuck / 1000000000u));
		return;
	}
	sd_notify(0, "WATCHDOG=1");
	*last = now;
}

/* How many FUSE mounts serve, and are any still starting? */
static unsigned int zd_count(struct zusd *zd, bool *starting)
{
	unsigned int n = 0;

	*starting = false;
	pthread_mutex_lock(&zd->lock);
	for (struct zd_mnt *zm = zd->mounts; zm; zm = zm->next) {
		int st = atomic_load(&zm->state);

		n += st == ZM_SERVING;
		*starting |= st == ZM_STARTING;
	}
	pthread_mutex_unlock(&zd->lock);
	return n;
}

static void zd_start_dbus(struct zusd *zd, const char *transport, int *ret)
{
	const char *plugins[2] = { zd->o->plugin, NULL };
	struct zusd_dbus_opts dopts = {
		.ops = zd->zuf ? &zd_dbus_zuf_ops : &zd_dbus_fuse_ops,
		.ctx = zd,
		.transport = transport,
		.plugins = zd->cfg.nplugins && !zd->o->device ?
			(const char *const *)zd->cfg.plugins : plugins,
		.log = zd_dbus_log,
		.log_ctx = zd,
	};
	char err[512] = "";
	const char **list = NULL;

	/* cfg.plugins is not NULL-terminated */
	if (dopts.plugins != plugins) {
		list = calloc(zd->cfg.nplugins + 1, sizeof(*list));
		if (!list) {
			*ret = 1;
			return;
		}
		for (size_t i = 0; i < zd->cfg.nplugins; i++)
			list[i] = zd->cfg.plugins[i];
		dopts.plugins = list;
	}
	if (zusd_dbus_start(&dopts, &zd->svc, err, sizeof(err))) {
		fprintf(stderr, "zusd: D-Bus: %s\n", err);
		*ret = 1;
	}
	free(list);
}

/* zuf_serve.c serves: the kernel can send mounts */
static void zd_zuf_serving(void *ctx)
{
	struct zusd *zd = ctx;

	atomic_store(&zd->zuf_ready, true);
}

/* How long a new zusd waits for the kernel to re-attach the old mounts. */
#define ZD_REATTACH_USEC	(10 * 1000000ull)

/*
 * The previous zusd's mounts that the kernel did not re-attach in time
 * (unmounted meanwhile?): logged, listed in lost, and forgotten.
 */
static void zd_zuf_lost(struct zusd *zd, char *lost, size_t len)
{
	struct zusd_kmounts *k = &zd->km;
	size_t used = 0;

	lost[0] = '\0';
	pthread_mutex_lock(&k->lock);
	for (int i = 0; i < ZUSD_KMOUNTS_MAX; i++) {
		const struct zusd_kmount *m = &k->m[i];
		int n;

		if (m->state != ZUSD_KM_WAITING)
			continue;
		zusd_log(ZUS_LOG_ERR, "fd store: %s %s (%s) was not re-attached "
			 "by the kernel within %llu s", m->fstype, m->device,
			 m->mountpoint[0] ? m->mountpoint : "mountpoint unknown",
			 ZD_REATTACH_USEC / 1000000);
		n = snprintf(lost + used, len - used, "%s%s", used ? ", " : "",
			     m->device);
		if (n > 0 && (size_t)n < len - used)
			used += (size_t)n;
	}
	pthread_mutex_unlock(&k->lock);
	zusd_kmounts_drop_waiting(k);
}

/* zuf: zusd_zuf_serve() runs on the main thread; this one does the rest */
static void *zd_zuf_service(void *arg)
{
	struct zusd *zd = arg;
	uint64_t last = 0, last_refresh = 0, serving_since = 0;
	bool ready = false, restarting = false;
	unsigned int missing = 0;
	char lost[160] = "";

	while (!atomic_load(&zd->zuf_done)) {
		uint64_t now = zd_now_usec();

		/* a new mount is in mountinfo only after zusd answered it */
		if ((missing || atomic_load(&zd->table_dirty)) &&
		    now - last_refresh >= 1000000) {
			last_refresh = now;
			missing = zusd_kmounts_refresh(&zd->km);
		}
		if (!ready && atomic_load(&zd->zuf_ready)) {
			unsigned int waiting = zusd_kmounts_count(&zd->km,
								  ZUSD_KM_WAITING);

			if (!serving_since)
				serving_since = now;
			if (waiting && now - serving_since < ZD_REATTACH_USEC) {
				zd_status(zd, "waiting for the kernel to re-attach "
					  "%u mount%s", waiting,
					  waiting == 1 ? "" : "s");
			} else {
				if (waiting)
					zd_zuf_lost(zd, lost, sizeof(lost));
				ready = true;
				zusd_dbus_set_state(zd->svc, waiting ? "degraded" :
						    "running");
				sd_notify(0, "READY=1");
				zd_status(zd, "serving %s over zuf (the kernel "
					  "mounts)%s%s", zd->o->plugin,
					  lost[0] ? "; not re-attached: " : "",
					  lost);
			}
		}
		if (atomic_exchange(&zd->table_dirty, false))
			zd_table_save(zd);
		if (atomic_load(&zd->restart) && !restarting) {
			/* zuf_serve.c's signal thread stops the transport */
			restarting = true;
			zusd_dbus_set_state(zd->svc, "restarting");
			zd_status(zd, "restarting");
			kill(getpid(), SIGTERM);
		}
		zd_watchdog(zd, &last);
		usleep(100000);
	}
	return NULL;
}

static int zd_run_zuf(struct zusd *zd)
{
	struct zusd_opts *o = zd->o;
	struct zusd_zuf_config zc;

	memset(&zc, 0, sizeof(zc));
	zc.plugin = o->plugin;
	zc.fstype = o->fstype;
	zc.threads = zd->threads;
	zc.device = o->device;
	zc.mountpoint = o->mountpoint;
	zc.mount_opts = o->plugin_opts;
	zc.mount_flags = o->ms_flags;
	zc.debug = o->debug;
	zc.evil = o->evil;
	zc.serving = zd_zuf_serving;
	zc.op_begin = zd_zuf_op_begin;
	zc.op_end = zd_zuf_op_end;
	zc.mount_begin = zd_zuf_mount_begin;
	zc.mount_end = zd_zuf_mount_end;
	zc.ctx = zd;
	return zusd_zuf_serve(&zc);
}

/* FUSE: the mounts run on their threads; this loop serves the rest. */
static int zd_run_fuse(struct zusd *zd, const sigset_t *sigs)
{
	struct zusd_opts *o = zd->o;
	const char *what = o->device ? "" : " (from zusd.conf)";
	unsigned int failed = 0, nreaped;
	uint64_t last_ping = 0;
	bool ready = false, stopping = false;
	char err[512];
	int ret = 0;

	if (o->device) {
		char *opts = NULL;
		int r;

		/* the command line's -o, already split */
		if (o->fuse_opts && opt_append(&opts, o->fuse_opts,
					       strlen(o->fuse_opts)))
			return 1;
		if (o->plugin_opts && opt_append(&opts, o->plugin_opts,
						 strlen(o->plugin_opts))) {
			free(opts);
			return 1;
		}
		if (o->readonly && opt_append(&opts, "ro", 2)) {
			free(opts);
			return 1;
		}
		r = zd_mnt_start(zd, o->device, o->mountpoint,
				 o->fstype ? o->fstype : zd_fstype(o), opts,
				 ZUSD_MT_CMDLINE, err, sizeof(err), NULL);
		free(opts);
		if (r) {
			fprintf(stderr, "zusd: %s\n", err);
			return 1;
		}
	} else {
		/* first: it detaches dead mounts on zusd.conf's mountpoints */
		failed += zd_fuse_restore(zd);
		for (size_t i = 0; i < zd->cfg.nmounts; i++) {
			const struct zusd_conf_mount *cm = &zd->cfg.mounts[i];
			char *opts = zd_conf_opts(&zd->cfg, cm->options);
			int r = -ENOMEM;

			/* even without a table (a corrupt one, no systemd) */
			zd_fuse_clear_dead(cm->mountpoint);
			snprintf(err, sizeof(err), "out of memory");
			if (opts)
				r = zd_mnt_start(zd, cm->device, cm->mountpoint,
						 cm->fstype ? cm->fstype : "pmfs2",
						 opts, ZUSD_MT_CONFIG, err,
						 sizeof(err), NULL);
			free(opts);
			if (r) {
				fprintf(stderr, "zusd: [mount.%s]: %s\n",
					cm->name, err);
				failed++;
			}
		}
	}

	for (;;) {
		struct timespec ts = { 0, stopping ? 100000000 : 250000000 };
		unsigned int n;
		bool starting;
		int sig;

		sig = sigtimedwait(sigs, NULL, &ts);
		if ((sig == SIGTERM || sig == SIGINT || sig == SIGHUP) &&
		    !stopping) {
			fprintf(stderr, "zusd: %s: stopping\n", strsignal(sig));
			stopping = true;
			zusd_dbus_set_state(zd->svc, "stopping");
			sd_notify(0, "STOPPING=1");
			zd_status(zd, "stopping: unmounting");
		}
		if (atomic_load(&zd->restart) && !stopping) {
			fprintf(stderr, "zusd: restart requested\n");
			stopping = true;
			zusd_dbus_set_state(zd->svc, "restarting");
			sd_notify(0, "STOPPING=1");
			zd_status(zd, "restarting: unmounting");
		}
		failed += zd_reap(zd, &nreaped);
		n = zd_count(zd, &starting);
		if (stopping) {
			bool left;

			pthread_mutex_lock(&zd->lock);
			zd->stopping = true;
			for (struct zd_mnt *zm = zd->mounts; zm; zm = zm->next)
				zusd_fuse_stop(&zm->ctl);
			left = zd->mounts != NULL;
			pthread_mutex_unlock(&zd->lock);
			if (!left)
				break;
			continue;
		}
		if (o->device && !n && !starting) {
			/* the command line's mount ended (unmounted) */
			ret = failed ? 1 : 0;
			break;
		}
		if (!ready && !starting) {
			if (zd->cfg.nmounts && !n && !o->device) {
				fprintf(stderr, "zusd: no mount could be made\n");
				ret = 1;
				break;
			}
			ready = true;
			zusd_dbus_set_state(zd->svc, failed ? "degraded" :
					    "running");
			sd_notify(0, "READY=1");
		}
		/* not while stopping: the next zusd needs the table as it was */
		if (atomic_exchange(&zd->table_dirty, false))
			zd_table_save(zd);
		zd_watchdog(zd, &last_ping);
		if (ready && !zd->stuck)
			zd_status(zd, "serving %u mount%s over fuse%s%s", n,
				  n == 1 ? "" : "s", what,
				  failed ? ", some mounts failed" : "");
	}
	return ret;
}

int main(int argc, char **argv)
{
	static struct zusd zd;
	struct zusd_opts o;
	bool daemon;
	char err[512] = "";
	sigset_t sigs;
	long ncpu;
	int ret;

	memset(&o, 0, sizeof(o));
	ret = parse_args(argc, argv, &o);
	if (ret)
		goto out;
	ret = zusd_config_load(o.config ? o.config : ZUSD_CONFIG_FILE,
			       &zd.cfg, err, sizeof(err));
	if (ret == -ENOENT && !o.config)
		ret = zusd_config_defaults(&zd.cfg);
	if (ret) {
		fprintf(stderr, "zusd: %s\n", err[0] ? err : strerror(-ret));
		/* EX_CONFIG: the unit's RestartPreventExitStatus= does not retry */
		ret = 78;
		goto out;
	}
	/* the daemon (zusd.service): neither DEVICE MOUNTPOINT nor --plugin */
	daemon = !o.device && !o.plugin;
	ret = check_args(&o, &zd.cfg);
	if (ret)
		goto out_cfg;
	if (o.mountpoint && check_mountpoint(o.mountpoint)) {
		ret = 1;
		goto out_cfg;
	}
	zd.o = &o;
	zd.main_tid = pthread_self();
	pthread_mutex_init(&zd.lock, NULL);
	zusd_kmounts_init(&zd.km);
	zd.zuf_control_fd = -1;
	zd.km.changed = zd_table_changed;
	zd.km.ctx = &zd;
	ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	zd.threads = o.threads ? o.threads :
		zd.cfg.threads_per_cpu * (unsigned int)(ncpu > 0 ? ncpu : 1);
	zd.zuf = !strcmp(o.transport, "zuf");
	if (sd_watchdog_enabled(0, &zd.watchdog_usec) <= 0)
		zd.watchdog_usec = 0;
	/* [log]; errors in zusd.conf itself went to stderr above */
	zusd_log_setup(zd.cfg.log_level, zd.cfg.log_target, o.debug);

	/*
	 * The previous zusd's mount table.  Only the table and zusd.socket's
	 * unused control fd come from systemd: handshaken zuf channel fds are
	 * never stored (fdstore.h), so the kernel sees a dead zusd die.
	 */
	zusd_fdstore_load(&zd.fdstore, &zd.prev, &zd.zuf_control_fd);
	atomic_store(&zd.table_dirty, true);	/* stored from the start */
	for (size_t i = 0; zd.zuf && i < zd.prev.n; i++) {
		const struct zusd_mt_entry *e = &zd.prev.e[i];

		if (!strcmp(e->transport, "zuf") &&
		    zusd_kmounts_add_waiting(&zd.km, e->fstype, e->device,
					     e->mountpoint, e->options))
			zusd_log(ZUS_LOG_WARNING, "fd store: too many mounts");
	}

	/*
	 * Every thread inherits these blocked: the FUSE loop takes them with
	 * sigtimedwait (zuf: zuf_serve.c's signal thread).
	 */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);

	/* D-Bus for the daemon; from the command line only if asked */
	if (daemon || o.dbus) {
		zd_start_dbus(&zd, o.transport, &ret);
		if (ret)
			goto out_cfg;
	}
	zd_status(&zd, "starting (%s)", o.transport);

	if (zd.zuf) {
		pthread_t tid;
		bool svc_thread;

		zd.zuf_stats = zusd_stats_new();
		svc_thread = !pthread_create(&tid, NULL, zd_zuf_service, &zd);
		ret = zd_run_zuf(&zd);
		atomic_store(&zd.zuf_done, true);
		if (svc_thread)
			pthread_join(tid, NULL);
	} else {
		ret = zd_run_fuse(&zd, &sigs);
	}
	if (atomic_load(&zd.restart) && !ret) {
		zusd_dbus_set_state(zd.svc, "restarting");
		ret = ZUSD_EXIT_RESTART;
	} else {
		zusd_dbus_set_state(zd.svc, "stopping");
	}
	zusd_dbus_stop(zd.svc);
	/* the transport's threads and the D-Bus service have stopped */
	zusd_stats_free(zd.zuf_stats);
	zusd_kmounts_destroy(&zd.km);
	zusd_fdstore_close(&zd.fdstore);
	zusd_mtab_free(&zd.prev);
	if (zd.zuf_control_fd >= 0)
		close(zd.zuf_control_fd);
	pthread_mutex_destroy(&zd.lock);
out_cfg:
	zusd_config_free(&zd.cfg);
out:
	free(o.plugin_opts);
	free(o.fuse_opts);
	return ret;
}
