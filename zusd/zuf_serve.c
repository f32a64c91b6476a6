// SPDX-License-Identifier: BSD-2-Clause
/*
 * zuf_serve.c - zusd over zuf.ko (see zuf_serve.h).
 *
 * The kernel owns the mounts: zusd registers the plugin's types, and every
 * `mount -t TYPE DEV DIR` arrives as ZUFS_OP_MOUNT on the transport's mount
 * thread (which grabs the pmem and calls the plugin's mount).  When zusd
 * stops, the mounts stay: their calls wait for the next zusd, which
 * re-attaches them.  Only a mount zusd made itself (DEVICE MOUNTPOINT on the
 * command line) is unmounted at exit.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "plugin.h"
#include "tier_host.h"
#include "zuf_serve.h"
#include "zuf_transport.h"

bool zusd_zuf_available(void)
{
	return !access("/sys/fs/zuf", F_OK) || !access("/sys/module/zuf", F_OK);
}

static const struct {
	const char *name;
	unsigned long set, clear;
} zuf_flags[] = {
	{ "ro", MS_RDONLY, 0 }, { "rw", 0, MS_RDONLY },
	{ "nosuid", MS_NOSUID, 0 }, { "suid", 0, MS_NOSUID },
	{ "nodev", MS_NODEV, 0 }, { "dev", 0, MS_NODEV },
	{ "noexec", MS_NOEXEC, 0 }, { "exec", 0, MS_NOEXEC },
	{ "sync", MS_SYNCHRONOUS, 0 }, { "async", 0, MS_SYNCHRONOUS },
	{ "dirsync", MS_DIRSYNC, 0 },
	{ "noatime", MS_NOATIME, 0 }, { "atime", 0, MS_NOATIME },
	{ "nodiratime", MS_NODIRATIME, 0 }, { "diratime", 0, MS_NODIRATIME },
	{ "relatime", MS_RELATIME, 0 }, { "norelatime", 0, MS_RELATIME },
	{ "strictatime", MS_STRICTATIME, 0 },
	{ "lazytime", MS_LAZYTIME, 0 }, { "nolazytime", 0, MS_LAZYTIME },
};

bool zusd_zuf_mount_flag(const char *opt, unsigned long *flags)
{
	for (size_t i = 0; i < sizeof(zuf_flags) / sizeof(zuf_flags[0]); i++) {
		if (strcmp(opt, zuf_flags[i].name))
			continue;
		*flags = (*flags | zuf_flags[i].set) & ~zuf_flags[i].clear;
		return true;
	}
	return false;
}

static bool zs_debug;

/*
 * zusd's mount hooks (zusd_zuf_config.mount_begin/end), and the transport
 * for zusd_zuf_with_mount() (NULL once it stops; under zs_zt_lock).
 */
static const struct zusd_zuf_config *zs_cfg;
static struct zuf_transport *zs_zt;
static pthread_rwlock_t zs_zt_lock = PTHREAD_RWLOCK_INITIALIZER;

static void zs_log(void *ctx, int prio, const char *msg)
{
	(void)ctx;
	if (prio > ZUS_LOG_INFO && !zs_debug)
		return;
	fprintf(stderr, "zusd: %s\n", msg);
}

/*
 * Each kernel mount: tier=PATH / tier_backend= in its options give the
 * filesystem its tier devices (tier_host.h); ctx is the directory the
 * filesystem plugin came from.
 */
static int zs_mount_prepare(void *ctx, struct zus_sb *sb, void **host_data)
{
	const char *options = sb->options;	/* as the kernel sent them */
	struct zusd_tier *t = malloc(sizeof(*t));
	char err[512];
	int ret;

	if (!t)
		return -ENOMEM;
	ret = zusd_tier_open(t, sb->options, ctx, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "zusd: %s: %s\n", sb->dev_path, err);
		free(t);
		return ret;
	}
	if (t->fell_back)
		fprintf(stderr, "zusd: %s: io_uring cannot be used for tier %s: "
			"using the %s tier backend\n", sb->dev_path,
			t->dev[0].path, t->be->name);
	zusd_tier_apply(t, sb);
	if (zs_cfg && zs_cfg->mount_begin)
		zs_cfg->mount_begin(zs_cfg->ctx, sb,
				    zuf_transport_sb_type(sb)->name, options);
	*host_data = t;
	return 0;
}

static void zs_mount_release(void *ctx, struct zus_sb *sb, void *host_data,
			     int mount_err)
{
	struct zusd_tier *t = host_data;
	char hint[1024];

	(void)ctx;
	if (zs_cfg && zs_cfg->mount_end)
		zs_cfg->mount_end(zs_cfg->ctx, sb, mount_err);
	/* still mounted in the kernel (zusd stops): the plugin may use it */
	if (!t || mount_err > 0)
		return;
	if (mount_err < 0 &&
	    zusd_tier_mount_hint(t, sb->dev_path, mount_err, hint, sizeof(hint)))
		fprintf(stderr, "zusd: %s\n", hint);
	zusd_tier_release(t);
	free(t);
}

struct zs_sig {
	struct zuf_transport *zt;
	sigset_t set;
	const struct zusd_zuf_config *cfg;
	bool *mounted;
};

/* Waits for SIGTERM/SIGINT/SIGHUP: unmount our own mount, then stop. */
static void *zs_sig_thread(void *arg)
{
	struct zs_sig *s = arg;
	int sig = 0;

	while (sigwait(&s->set, &sig))
		;
	if (sig == SIGUSR1)	/* from main: the transport failed */
		return NULL;
	fprintf(stderr, "zusd: %s: stopping\n", strsignal(sig));
	if (*s->mounted) {
		/* the server must still be there to answer UMOUNT */
		if (umount2(s->cfg->mountpoint, 0))
			fprintf(stderr, "zusd: umount %s: %s (it stays mounted "
				"for the next zusd)\n", s->cfg->mountpoint,
				strerror(errno));
		else
			*s->mounted = false;
	}
	zuf_transport_request_stop(s->zt);
	return NULL;
}

/* The types to serve: all of the plugin's, or the one named. */
static const struct zus_fs_type **zs_types(struct zus_loaded_plugin *lp,
					   const char *fstype)
{
	const struct zus_fs_type *const *t = lp->plugin->fs_types;
	const struct zus_fs_type **out;
	size_t n = 0, k = 0;

	while (t && t[n])
		n++;
	out = calloc(n + 1, sizeof(*out));
	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (!fstype || !strcmp(t[i]->name, fstype))
			out[k++] = t[i];
	return out;
}

int zusd_zuf_serve(const struct zusd_zuf_config *cfg)
{
	struct zuf_transport_opts opts = { 0 };
	struct zus_loaded_plugin lp = { 0 };
	struct zuf_transport *zt = NULL;
	const struct zus_fs_type **types = NULL;
	struct zs_sig sig = { 0 };
	sigset_t old;
	pthread_t sig_tid;
	bool mounted = false, sig_started = false;
	char err[512] = "", plugin_dir[512] = "";
	const char *slash;
	int ret = 1, r;

	zs_debug = cfg->debug || getenv("ZUSD_DEBUG");
	zs_cfg = cfg;
	r = zus_plugin_load(cfg->plugin, &lp, err, sizeof(err));
	if (r) {
		fprintf(stderr, "zusd: cannot load plugin '%s': %s\n"
			"  (give --plugin a path, or set ZUS_PLUGIN_PATH)\n",
			cfg->plugin, err);
		return 1;
	}
	slash = strrchr(lp.path, '/');
	if (slash && (size_t)(slash - lp.path) < sizeof(plugin_dir)) {
		memcpy(plugin_dir, lp.path, (size_t)(slash - lp.path));
		plugin_dir[slash - lp.path] = 0;
	}
	types = zs_types(&lp, cfg->fstype);
	if (!types) {
		fprintf(stderr, "zusd: out of memory\n");
		goto out;
	}
	if (!types[0]) {
		fprintf(stderr, "zusd: plugin '%s' serves no filesystem type%s%s\n",
			cfg->plugin, cfg->fstype ? " " : "",
			cfg->fstype ? cfg->fstype : "");
		goto out;
	}

	/* every thread the transport starts inherits the blocked signals */
	sigemptyset(&sig.set);
	sigaddset(&sig.set, SIGTERM);
	sigaddset(&sig.set, SIGINT);
	sigaddset(&sig.set, SIGHUP);
	sigaddset(&sig.set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &sig.set, &old);

	opts.mount_prepare = zs_mount_prepare;
	opts.mount_release = zs_mount_release;
	opts.mount_ctx = plugin_dir;
	opts.root = cfg->root;
	opts.nthreads = cfg->threads;
	opts.log = zs_log;
	opts.evil = cfg->evil;
	opts.op_begin = cfg->op_begin;
	opts.op_end = cfg->op_end;
	opts.op_ctx = cfg->ctx;
	r = zuf_transport_start(types, &opts, &zt, err, sizeof(err));
	if (r) {
		fprintf(stderr, "zusd: %s\n", err);
		if (r == -ENOENT || r == -ENODEV)
			fprintf(stderr, "  load the kernel module first: modprobe zuf "
				"(or use --transport=fuse)\n");
		goto out_mask;
	}
	pthread_rwlock_wrlock(&zs_zt_lock);
	zs_zt = zt;
	pthread_rwlock_unlock(&zs_zt_lock);
	sig.zt = zt;
	sig.cfg = cfg;
	sig.mounted = &mounted;
	r = pthread_create(&sig_tid, NULL, zs_sig_thread, &sig);
	if (r) {
		fprintf(stderr, "zusd: thread: %s\n", strerror(r));
		goto out_stop;
	}
	sig_started = true;
	for (const struct zus_fs_type **t = types; *t; t++)
		fprintf(stderr, "zusd: serving %s over zuf%s\n", (*t)->name,
			cfg->evil ? " (test mode: bad replies)" : "");
	if (cfg->serving)
		cfg->serving(cfg->ctx);

	if (cfg->device && cfg->mountpoint) {
		if (mount(cfg->device, cfg->mountpoint, types[0]->name,
			  cfg->mount_flags, cfg->mount_opts)) {
			fprintf(stderr, "zusd: mount -t %s %s %s: %s\n",
				types[0]->name, cfg->device, cfg->mountpoint,
				strerror(errno));
			goto out_stop;
		}
		mounted = true;
		fprintf(stderr, "zusd: %s mounted on %s\n", cfg->device,
			cfg->mountpoint);
	}

	r = zuf_transport_wait(zt);
	if (r)
		fprintf(stderr, "zusd: transport failed: %s\n", strerror(-r));
	ret = r ? 1 : 0;
out_stop:
	if (sig_started) {
		pthread_kill(sig_tid, SIGUSR1);
		pthread_join(sig_tid, NULL);
	}
	if (mounted && umount2(cfg->mountpoint, 0))
		fprintf(stderr, "zusd: umount %s: %s\n", cfg->mountpoint,
			strerror(errno));
	pthread_rwlock_wrlock(&zs_zt_lock);
	zs_zt = NULL;
	pthread_rwlock_unlock(&zs_zt_lock);
	zuf_transport_stop(zt);
out_mask:
	pthread_sigmask(SIG_SETMASK, &old, NULL);
out:
	free(types);
	zus_plugin_unload(&lp);
	zs_cfg = NULL;
	return ret;
}

int zusd_zuf_with_mount(const struct zus_sb *sb,
			int (*fn)(struct zus_sb *sb,
				  const struct zus_fs_type *type, void *arg),
			void *arg)
{
	int ret = -ENOENT;

	pthread_rwlock_rdlock(&zs_zt_lock);
	if (zs_zt)
		ret = zuf_transport_with_mount(zs_zt, sb, fn, arg);
	pthread_rwlock_unlock(&zs_zt_lock);
	return ret;
}
