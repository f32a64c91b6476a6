// SPDX-License-Identifier: BSD-2-Clause
/*
 * dbus_service.c - org.zufs.Manager1 on the system bus (see dbus_service.h).
 *
 * One thread owns the sd_bus object: it connects (and reconnects), runs
 * sd_bus_process() and polls the bus fd together with an eventfd through
 * which other threads hand it state changes to signal.  The property values
 * live in struct zusd_dbus under a mutex, so setters never touch the bus and
 * getters (which run on the service thread) never block for long.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <systemd/sd-bus.h>
#include <time.h>
#include <unistd.h>
#include <zufs/zus.h>

#include "dbus_service.h"

#define _cleanup_(f)	__attribute__((cleanup(f)))

static inline void freep(void *p)
{
	free(*(void **)p);
}

#define _cleanup_free_	_cleanup_(freep)

static char *xstrdup0(const char *s)
{
	return strdup(s ? s : "");
}

static void strv_free(char **v)
{
	if (!v)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}

static char **strv_copy(const char *const *v)
{
	size_t n = 0;
	char **c;

	while (v && v[n])
		n++;
	c = calloc(n + 1, sizeof(*c));
	if (!c)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		c[i] = strdup(v[i]);
		if (!c[i]) {
			strv_free(c);
			return NULL;
		}
	}
	return c;
}

/* ---- the service ------------------------------------------------------ */

enum ev_type {
	EV_STATE,
	EV_TRANSPORT,
	EV_PLUGINS,
	EV_MOUNT_ADDED,
	EV_MOUNT_REMOVED,
	EV_MOUNTS,
};

struct event {
	struct event *next;
	enum ev_type type;
	char *a, *b, *c;
};

struct zusd_dbus {
	struct zusd_dbus_ops ops;
	void *ctx;
	void (*log)(void *ctx, int prio, const char *msg);
	void *log_ctx;

	pthread_mutex_t lock;		/* the fields below, to "connected" */
	char *state;
	char *transport;
	char **plugins;
	struct event *head, **tail;
	bool quit;

	int efd;			/* wakes the service thread */
	pthread_t thread;
	bool thread_started;
	_Atomic bool connected;

	/* service thread only (and zusd_dbus_start before the thread) */
	sd_bus *bus;
	/*
	 * State and Transport as seen on the bus: updated from the events in
	 * order, so each PropertiesChanged carries the value of its own
	 * change, not a later one.
	 */
	char *pub_state;
	char *pub_transport;
	int last_connect_error;
};

static void __attribute__((format(printf, 3, 4)))
svc_log(struct zusd_dbus *svc, int prio, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (svc->log)
		svc->log(svc->log_ctx, prio, msg);
	else
		fprintf(stderr, "zusd: dbus: %s\n", msg);
}

static void wake(struct zusd_dbus *svc)
{
	uint64_t one = 1;

	if (write(svc->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		svc_log(svc, ZUS_LOG_ERR, "eventfd write: %s", strerror(errno));
}

static void event_free(struct event *e)
{
	if (!e)
		return;
	free(e->a);
	free(e->b);
	free(e->c);
	free(e);
}

/* Queue an event for the service thread; called with svc->lock held. */
static void queue_locked(struct zusd_dbus *svc, enum ev_type type,
			 const char *a, const char *b, const char *c)
{
	struct event *e = calloc(1, sizeof(*e));

	if (!e)
		goto oom;
	e->type = type;
	if ((a && !(e->a = strdup(a))) || (b && !(e->b = strdup(b))) ||
	    (c && !(e->c = strdup(c))))
		goto oom;
	*svc->tail = e;
	svc->tail = &e->next;
	return;
oom:
	event_free(e);
	svc_log(svc, ZUS_LOG_WARNING, "out of memory: a D-Bus signal is lost");
}

/* ---- properties ------------------------------------------------------- */

static int get_version(sd_bus *bus, const char *path, const char *iface,
		       const char *prop, sd_bus_message *reply, void *userdata,
		       sd_bus_error *error)
{
	return sd_bus_message_append(reply, "s", PACKAGE_VERSION);
}

static int get_state(sd_bus *bus, const char *path, const char *iface,
		     const char *prop, sd_bus_message *reply, void *userdata,
		     sd_bus_error *error)
{
	struct zusd_dbus *svc = userdata;

	return sd_bus_message_append(reply, "s", svc->pub_state);
}

static int get_transport(sd_bus *bus, const char *path, const char *iface,
			 const char *prop, sd_bus_message *reply,
			 void *userdata, sd_bus_error *error)
{
	struct zusd_dbus *svc = userdata;

	return sd_bus_message_append(reply, "s", svc->pub_transport);
}

static int get_plugins(sd_bus *bus, const char *path, const char *iface,
		       const char *prop, sd_bus_message *reply, void *userdata,
		       sd_bus_error *error)
{
	struct zusd_dbus *svc = userdata;
	char **copy;
	int r;

	pthread_mutex_lock(&svc->lock);
	copy = strv_copy((const char *const *)svc->plugins);
	pthread_mutex_unlock(&svc->lock);
	if (!copy)
		return -ENOMEM;
	r = sd_bus_message_append_strv(reply, copy);
	strv_free(copy);
	return r;
}

struct emit_ctx {
	sd_bus_message *reply;
	int r;
};

static void emit_mount(void *ectx, const struct zusd_dbus_mount_info *mi)
{
	struct emit_ctx *ec = ectx;
	int r;

	if (ec->r < 0)
		return;
	r = sd_bus_message_append(ec->reply, "(ssssstt)",
				  mi->device ? mi->device : "",
				  mi->mountpoint ? mi->mountpoint : "",
				  mi->fstype ? mi->fstype : "",
				  mi->options ? mi->options : "",
				  mi->state ? mi->state : "",
				  mi->pmem_bytes, mi->tier_bytes);
	if (r < 0)
		ec->r = r;
}

static int get_mounts(sd_bus *bus, const char *path, const char *iface,
		      const char *prop, sd_bus_message *reply, void *userdata,
		      sd_bus_error *error)
{
	struct zusd_dbus *svc = userdata;
	struct emit_ctx ec = { .reply = reply };
	int r;

	r = sd_bus_message_open_container(reply, 'a', "(ssssstt)");
	if (r < 0)
		return r;
	if (svc->ops.list_mounts) {
		r = svc->ops.list_mounts(svc->ctx, emit_mount, &ec);
		if (r < 0)
			return sd_bus_error_set_errnof(error, -r,
					"cannot list the mounts: %m");
		if (ec.r < 0)
			return ec.r;
	}
	return sd_bus_message_close_container(reply);
}

/* ---- methods ---------------------------------------------------------- */

static int check_root(sd_bus_message *m, const char *what,
		      sd_bus_error *error)
{
	sd_bus_creds *creds = NULL;
	uid_t euid = (uid_t)-1;
	int r;

	/* no SD_BUS_CREDS_AUGMENT: only what the bus vouches for, not /proc */
	r = sd_bus_query_sender_creds(m, SD_BUS_CREDS_EUID, &creds);
	if (r >= 0) {
		r = sd_bus_creds_get_euid(creds, &euid);
		sd_bus_creds_unref(creds);
	}
	if (r < 0)
		return sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED,
					 "%s needs root: cannot check the caller's credentials (%s)",
					 what, strerror(-r));
	if (euid != 0)
		return sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED,
					 "%s needs root (caller uid %u)", what,
					 (unsigned int)euid);
	return 1;
}

static int reply_failed(sd_bus_error *error, int r, const char *err,
			const char *what)
{
	if (err[0])
		return sd_bus_error_setf(error, ZUSD_DBUS_ERROR_FAILED,
					 "%s", err);
	return sd_bus_error_setf(error, ZUSD_DBUS_ERROR_FAILED, "%s: %s",
				 what, strerror(-r));
}

static int append_op(sd_bus_message *reply, const char *name,
		     const struct zusd_op_stats *o)
{
	int r;

	r = sd_bus_message_open_container(reply, 'e', "s(tttttat)");
	if (r < 0)
		return r;
	r = sd_bus_message_append(reply, "s", name);
	if (r < 0)
		return r;
	r = sd_bus_message_open_container(reply, 'r', "tttttat");
	if (r < 0)
		return r;
	r = sd_bus_message_append(reply, "ttttt", o->count, o->errors,
				  o->bytes, o->total_ns, o->max_ns);
	if (r < 0)
		return r;
	r = sd_bus_message_append_array(reply, 't', o->hist, sizeof(o->hist));
	if (r < 0)
		return r;
	r = sd_bus_message_close_container(reply);
	if (r < 0)
		return r;
	return sd_bus_message_close_container(reply);
}

static int method_get_stats(sd_bus_message *m, void *userdata,
			    sd_bus_error *error)
{
	struct zusd_dbus *svc = userdata;
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	_cleanup_free_ struct zusd_stats_snapshot *snap = NULL;
	const char *mountpoint;
	int r;

	r = sd_bus_message_read(m, "s", &mountpoint);
	if (r < 0)
		return r;
	if (!svc->ops.get_stats)
		return sd_bus_error_set(error, ZUSD_DBUS_ERROR_NOT_SUPPORTED,
					"statistics are not available");
	snap = calloc(1, sizeof(*snap));
	if (!snap)
		return -ENOMEM;
	r = svc->ops.get_stats(svc->ctx, mountpoint, snap);
	if (r == -ENOENT)
		return sd_bus_error_setf(error, ZUSD_DBUS_ERROR_NO_SUCH_MOUNT,
					 "no ZUFS filesystem is mounted at %s",
					 mountpoint);
	if (r < 0)
		return sd_bus_error_set_errnof(error, -r,
				"cannot read the statistics: %m");

	r = sd_bus_message_new_method_return(m, &reply);
	if (r < 0)
		return r;
	r = sd_bus_message_open_container(reply, 'a', "{s(tttttat)}");
	if (r < 0)
		return r;
	for (int i = 0; i < ZUSD_OP_COUNT; i++) {
		r = append_op(reply, zusd_op_name(i), &snap->op[i]);
		if (r < 0)
			return r;
	}
	r = sd_bus_message_close_container(reply);
	if (r < 0)
		return r;
	return sd_bus_send(NULL, reply, NULL);
}

struct mp_list {
	char **v;
	size_t n;
	int r;
};

static void collect_mountpoint(void *ectx,
			       const struct zusd_dbus_mount_info *mi)
{
	struct mp_list *l = ectx;
	char **v;

	if (l->r < 0)
		return;
	v = realloc(l->v, (l->n + 2) * sizeof(*v));
	if (!v) {
		l->r = -ENOMEM;
		return;
	}
	l->v = v;
	v[l->n] = xstrdup0(mi->mountpoint);
	if (!v[l->n]) {
		l->r = -ENOMEM;
		return;
	}
	v[++l->n] = NULL;
}

static int append_tier(sd_bus_message *reply, const char *mountpoint,
		       const struct zusd_tier_status *t)
{
	const struct {
		const char *name;
		uint64_t v;
	} c[] = {
		{ "ntier", t->ntier },
		{ "low_watermark", t->low_pct },
		{ "high_watermark", t->high_pct },
		{ "migrating", t->migrating },
		{ "pmem_bytes", t->pmem_bytes },
		{ "pmem_free", t->pmem_free_bytes },
		{ "tier_bytes", t->tier_bytes },
		{ "tier_free", t->tier_free_bytes },
		{ "migrations", t->migrations },
		{ "migrated_bytes", t->migrated_bytes },
		{ "promotions", t->promotions },
		{ "promoted_bytes", t->promoted_bytes },
		{ "cold_reads", t->cold_reads },
		{ "cold_read_bytes", t->cold_read_bytes },
		{ "migrate_ns", t->migrate_ns },
		{ "migrate_bytes_per_sec", t->migrate_bytes_per_sec },
		{ "io_reads", t->io_reads },
		{ "io_writes", t->io_writes },
		{ "io_read_bytes", t->io_read_bytes },
		{ "io_write_bytes", t->io_write_bytes },
		{ "io_queue_depth", t->io_queue_depth },
		{ "io_max_queue_depth", t->io_max_queue_depth },
	};
	char backend[sizeof(t->backend) + 1];
	int r;

	memcpy(backend, t->backend, sizeof(t->backend));
	backend[sizeof(t->backend)] = '\0';
	r = sd_bus_message_open_container(reply, 'e', "sa{sv}");
	if (r < 0)
		return r;
	r = sd_bus_message_append(reply, "s", mountpoint);
	if (r < 0)
		return r;
	r = sd_bus_message_open_container(reply, 'a', "{sv}");
	if (r < 0)
		return r;
	r = sd_bus_message_append(reply, "{sv}", "backend", "s", backend);
	if (r < 0)
		return r;
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		r = sd_bus_message_append(reply, "{sv}", c[i].name, "t",
					  c[i].v);
		if (r < 0)
			return r;
	}
	r = sd_bus_message_close_container(reply);
	if (r < 0)
		return r;
	return sd_bus_message_close_container(reply);
}

static int method_get_tier_status(sd_bus_message *m, void *userdata,
				  sd_bus_error *error)
{
	struct zusd_dbus *svc = userdata;
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	struct mp_list l = { 0 };
	int r;

	if (svc->ops.list_mounts && svc->ops.get_tier_status) {
		r = svc->ops.list_mounts(svc->ctx, collect_mountpoint, &l);
		if (r >= 0)
			r = l.r;
		if (r < 0) {
			strv_free(l.v);
			return sd_bus_error_set_errnof(error, -r,
					"cannot list the mounts: %m");
		}
	}
	r = sd_bus_message_new_method_return(m, &reply);
	if (r < 0)
		goto out;
	r = sd_bus_message_open_container(reply, 'a', "{sa{sv}}");
	if (r < 0)
		goto out;
	for (size_t i = 0; i < l.n; i++) {
		struct zusd_tier_status t = { 0 };

		r = svc->ops.get_tier_status(svc->ctx, l.v[i], &t);
		if (r == -ENODATA || r == -ENOENT)
			continue;
		if (r < 0) {
			r = sd_bus_error_set_errnof(error, -r,
					"cannot read the tier status of %s: %m",
					l.v[i]);
			goto out;
		}
		r = append_tier(reply, l.v[i], &t);
		if (r < 0)
			goto out;
	}
	r = sd_bus_message_close_container(reply);
	if (r < 0)
		goto out;
	r = sd_bus_send(NULL, reply, NULL);
out:
	strv_free(l.v);
	return r;
}

static int method_restart(sd_bus_message *m, void *userdata,
			  sd_bus_error *error)
{
	struct zusd_dbus *svc = userdata;
	char err[256] = "";
	int r;

	r = check_root(m, "Restart", error);
	if (r <= 0)
		return r;
	if (!svc->ops.restart)
		return sd_bus_error_set(error, ZUSD_DBUS_ERROR_NOT_SUPPORTED,
					"this zusd cannot restart itself");
	svc_log(svc, ZUS_LOG_NOTICE, "restart requested over D-Bus");
	r = svc->ops.restart(svc->ctx, err, sizeof(err));
	if (r < 0)
		return reply_failed(error, r, err, "restart failed");
	return sd_bus_reply_method_return(m, NULL);
}

static int method_mount(sd_bus_message *m, void *userdata,
			sd_bus_error *error)
{
	struct zusd_dbus *svc = userdata;
	const char *dev, *dir, *fstype, *options;
	char err[512] = "";
	int r;

	r = sd_bus_message_read(m, "ssss", &dev, &dir, &fstype, &options);
	if (r < 0)
		return r;
	r = check_root(m, "Mount", error);
	if (r <= 0)
		return r;
	if (!svc->ops.mount)
		return sd_bus_error_set(error, ZUSD_DBUS_ERROR_NOT_SUPPORTED,
					"this zusd does not mount filesystems itself (mount -t TYPE DEVICE DIR)");
	if (dev[0] != '/' || dir[0] != '/')
		return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS,
					"device and mountpoint must be absolute paths");
	svc_log(svc, ZUS_LOG_NOTICE, "mount %s on %s (%s) requested over D-Bus",
		dev, dir, fstype);
	r = svc->ops.mount(svc->ctx, dev, dir, fstype, options, err,
			   sizeof(err));
	if (r < 0)
		return reply_failed(error, r, err, "mount failed");
	return sd_bus_reply_method_return(m, NULL);
}

static int method_unmount(sd_bus_message *m, void *userdata,
			  sd_bus_error *error)
{
	struct zusd_dbus *svc = userdata;
	const char *dir;
	char err[512] = "";
	int r;

	r = sd_bus_message_read(m, "s", &dir);
	if (r < 0)
		return r;
	r = check_root(m, "Unmount", error);
	if (r <= 0)
		return r;
	if (!svc->ops.unmount)
		return sd_bus_error_set(error, ZUSD_DBUS_ERROR_NOT_SUPPORTED,
					"this zusd does not unmount filesystems itself (umount DIR)");
	svc_log(svc, ZUS_LOG_NOTICE, "unmount of %s requested over D-Bus", dir);
	r = svc->ops.unmount(svc->ctx, dir, err, sizeof(err));
	if (r == -ENOENT && !err[0])
		return sd_bus_error_setf(error, ZUSD_DBUS_ERROR_NO_SUCH_MOUNT,
					 "no ZUFS filesystem is mounted at %s",
					 dir);
	if (r < 0)
		return reply_failed(error, r, err, "unmount failed");
	return sd_bus_reply_method_return(m, NULL);
}

static const sd_bus_vtable manager_vtable[] = {
	SD_BUS_VTABLE_START(0),
	SD_BUS_PROPERTY("Version", "s", get_version, 0,
			SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("Transport", "s", get_transport, 0,
			SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
	SD_BUS_PROPERTY("State", "s", get_state, 0,
			SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
	SD_BUS_PROPERTY("Plugins", "as", get_plugins, 0,
			SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
	SD_BUS_PROPERTY("Mounts", "a(ssssstt)", get_mounts, 0,
			SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
	SD_BUS_METHOD_WITH_NAMES("GetStats", "s", SD_BUS_PARAM(mountpoint),
				 "a{s(tttttat)}", SD_BUS_PARAM(stats),
				 method_get_stats, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_NAMES("GetTierStatus", NULL, ,
				 "a{sa{sv}}", SD_BUS_PARAM(status),
				 method_get_tier_status,
				 SD_BUS_VTABLE_UNPRIVILEGED),
	/*
	 * Privileged methods are flagged UNPRIVILEGED too: that only turns off
	 * sd-bus's own check (CAP_SYS_ADMIN or our uid), which would let a
	 * non-root caller with CAP_SYS_ADMIN in; check_root() requires euid 0
	 * instead, as the bus policy does.
	 */
	SD_BUS_METHOD("Restart", NULL, NULL, method_restart,
		      SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_NAMES("Mount", "ssss",
				 SD_BUS_PARAM(device) SD_BUS_PARAM(mountpoint)
				 SD_BUS_PARAM(fstype) SD_BUS_PARAM(options),
				 NULL, , method_mount,
				 SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_NAMES("Unmount", "s", SD_BUS_PARAM(mountpoint),
				 NULL, , method_unmount,
				 SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_SIGNAL_WITH_NAMES("StateChanged", "s", SD_BUS_PARAM(state), 0),
	SD_BUS_SIGNAL_WITH_NAMES("MountAdded", "sss",
				 SD_BUS_PARAM(device) SD_BUS_PARAM(mountpoint)
				 SD_BUS_PARAM(fstype), 0),
	SD_BUS_SIGNAL_WITH_NAMES("MountRemoved", "s",
				 SD_BUS_PARAM(mountpoint), 0),
	SD_BUS_VTABLE_END
};

/* ---- the service thread ----------------------------------------------- */

static void disconnect(struct zusd_dbus *svc)
{
	atomic_store(&svc->connected, false);
	svc->bus = sd_bus_flush_close_unref(svc->bus);
}

static int connect_bus(struct zusd_dbus *svc, char *err, size_t errlen)
{
	_cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
	int r;

	r = sd_bus_open_system(&bus);
	if (r < 0) {
		snprintf(err, errlen, "cannot connect to the system bus: %s",
			 strerror(-r));
		return r;
	}
	r = sd_bus_add_object_vtable(bus, NULL, ZUSD_DBUS_PATH,
				     ZUSD_DBUS_INTERFACE, manager_vtable, svc);
	if (r < 0) {
		snprintf(err, errlen, "cannot register %s: %s", ZUSD_DBUS_PATH,
			 strerror(-r));
		return r;
	}
	r = sd_bus_request_name(bus, ZUSD_DBUS_NAME, 0);
	if (r == -EEXIST || r == -EALREADY) {
		snprintf(err, errlen,
			 "%s is owned by another process: is another zusd running?",
			 ZUSD_DBUS_NAME);
		return -EEXIST;
	}
	if (r == -EACCES || r == -EPERM) {
		snprintf(err, errlen,
			 "the bus policy does not let this process own %s (root only: see org.zufs.Manager1.conf)",
			 ZUSD_DBUS_NAME);
		return r;
	}
	if (r < 0) {
		snprintf(err, errlen, "cannot own %s: %s", ZUSD_DBUS_NAME,
			 strerror(-r));
		return r;
	}
	svc->bus = bus;
	bus = NULL;
	atomic_store(&svc->connected, true);
	return 0;
}

static void emit_event(struct zusd_dbus *svc, const struct event *e)
{
	const char *prop = NULL;
	int r = 0;

	switch (e->type) {
	case EV_STATE:
		r = sd_bus_emit_signal(svc->bus, ZUSD_DBUS_PATH,
				       ZUSD_DBUS_INTERFACE, "StateChanged",
				       "s", svc->pub_state);
		prop = "State";
		break;
	case EV_TRANSPORT:
		prop = "Transport";
		break;
	case EV_PLUGINS:
		prop = "Plugins";
		break;
	case EV_MOUNT_ADDED:
		r = sd_bus_emit_signal(svc->bus, ZUSD_DBUS_PATH,
				       ZUSD_DBUS_INTERFACE, "MountAdded",
				       "sss", e->a, e->b, e->c);
		prop = "Mounts";
		break;
	case EV_MOUNT_REMOVED:
		r = sd_bus_emit_signal(svc->bus, ZUSD_DBUS_PATH,
				       ZUSD_DBUS_INTERFACE, "MountRemoved",
				       "s", e->a);
		prop = "Mounts";
		break;
	case EV_MOUNTS:
		prop = "Mounts";
		break;
	}
	if (r >= 0 && prop)
		r = sd_bus_emit_properties_changed(svc->bus, ZUSD_DBUS_PATH,
						   ZUSD_DBUS_INTERFACE, prop,
						   NULL);
	if (r < 0)
		svc_log(svc, ZUS_LOG_WARNING, "cannot send a signal: %s",
			strerror(-r));
}

/* Returns true when asked to quit. */
static bool drain_events(struct zusd_dbus *svc)
{
	struct event *list, *e;
	bool quit;

	pthread_mutex_lock(&svc->lock);
	list = svc->head;
	svc->head = NULL;
	svc->tail = &svc->head;
	quit = svc->quit;
	pthread_mutex_unlock(&svc->lock);

	while ((e = list)) {
		list = e->next;
		/* the event's value becomes the published one */
		if (e->type == EV_STATE) {
			free(svc->pub_state);
			svc->pub_state = e->a;
			e->a = NULL;
		} else if (e->type == EV_TRANSPORT) {
			free(svc->pub_transport);
			svc->pub_transport = e->a;
			e->a = NULL;
		}
		if (svc->bus)
			emit_event(svc, e);
		event_free(e);
	}
	return quit;
}

static int poll_timeout_ms(sd_bus *bus)
{
	struct timespec ts;
	uint64_t until, now;

	if (!bus || sd_bus_get_timeout(bus, &until) < 0 || until == UINT64_MAX)
		return -1;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
	if (until <= now)
		return 0;
	until = (until - now + 999) / 1000;
	return until > 60000 ? 60000 : (int)until;
}

static void *service_thread(void *arg)
{
	struct zusd_dbus *svc = arg;
	int backoff_ms = 250;

	for (;;) {
		struct pollfd p[2];
		int nfds = 1, timeout, r;

		if (!svc->bus) {
			char err[256];

			r = connect_bus(svc, err, sizeof(err));
			if (r < 0) {
				if (r != svc->last_connect_error)
					svc_log(svc, ZUS_LOG_WARNING,
						"%s; retrying", err);
				svc->last_connect_error = r;
			} else {
				svc_log(svc, ZUS_LOG_INFO,
					"serving %s on the system bus",
					ZUSD_DBUS_NAME);
				svc->last_connect_error = 0;
				backoff_ms = 250;
			}
		}
		if (drain_events(svc))
			break;

		if (svc->bus) {
			r = sd_bus_process(svc->bus, NULL);
			if (r < 0) {
				svc_log(svc, ZUS_LOG_WARNING,
					"lost the system bus: %s; reconnecting",
					strerror(-r));
				disconnect(svc);
				continue;
			}
			if (r > 0)
				continue;
			p[1].fd = sd_bus_get_fd(svc->bus);
			r = sd_bus_get_events(svc->bus);
			if (p[1].fd < 0 || r < 0) {
				disconnect(svc);
				continue;
			}
			p[1].events = (short)r;
			p[1].revents = 0;
			nfds = 2;
			timeout = poll_timeout_ms(svc->bus);
		} else {
			timeout = backoff_ms;
			if (backoff_ms < 4000)
				backoff_ms *= 2;
		}
		p[0].fd = svc->efd;
		p[0].events = POLLIN;
		p[0].revents = 0;
		r = poll(p, (nfds_t)nfds, timeout);
		if (r < 0 && errno != EINTR) {
			svc_log(svc, ZUS_LOG_ERR, "poll: %s", strerror(errno));
			break;
		}
		if (r > 0 && (p[0].revents & POLLIN)) {
			uint64_t n;

			if (read(svc->efd, &n, sizeof(n)) < 0 &&
			    errno != EAGAIN)
				svc_log(svc, ZUS_LOG_ERR, "eventfd read: %s",
					strerror(errno));
		}
	}
	disconnect(svc);
	return NULL;
}

/* ---- the API ---------------------------------------------------------- */

static void svc_free(struct zusd_dbus *svc)
{
	struct event *e;

	while ((e = svc->head)) {
		svc->head = e->next;
		event_free(e);
	}
	if (svc->efd >= 0)
		close(svc->efd);
	pthread_mutex_destroy(&svc->lock);
	free(svc->state);
	free(svc->transport);
	free(svc->pub_state);
	free(svc->pub_transport);
	strv_free(svc->plugins);
	free(svc);
}

int zusd_dbus_start(const struct zusd_dbus_opts *opts, struct zusd_dbus **out,
		    char *err, size_t errlen)
{
	static const struct zusd_dbus_ops no_ops;
	struct zusd_dbus *svc;
	int r;

	*out = NULL;
	svc = calloc(1, sizeof(*svc));
	if (!svc) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	svc->efd = -1;
	pthread_mutex_init(&svc->lock, NULL);
	svc->tail = &svc->head;
	svc->ops = opts->ops ? *opts->ops : no_ops;
	svc->ctx = opts->ctx;
	svc->log = opts->log;
	svc->log_ctx = opts->log_ctx;
	svc->state = xstrdup0(opts->state ? opts->state : "starting");
	svc->transport = xstrdup0(opts->transport);
	svc->plugins = strv_copy(opts->plugins);
	svc->pub_state = xstrdup0(svc->state);
	svc->pub_transport = xstrdup0(svc->transport);
	if (!svc->state || !svc->transport || !svc->plugins ||
	    !svc->pub_state || !svc->pub_transport) {
		snprintf(err, errlen, "out of memory");
		r = -ENOMEM;
		goto fail;
	}
	svc->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (svc->efd < 0) {
		r = -errno;
		snprintf(err, errlen, "eventfd: %s", strerror(errno));
		goto fail;
	}

	r = connect_bus(svc, err, errlen);
	if (r == -EEXIST || r == -EACCES || r == -EPERM ||
	    (r < 0 && opts->require_bus))
		goto fail;
	if (r < 0) {
		svc_log(svc, ZUS_LOG_WARNING,
			"%s; will keep trying in the background", err);
		svc->last_connect_error = r;
		err[0] = '\0';
	}

	r = -pthread_create(&svc->thread, NULL, service_thread, svc);
	if (r < 0) {
		snprintf(err, errlen, "cannot start the D-Bus thread: %s",
			 strerror(-r));
		goto fail;
	}
	svc->thread_started = true;
	*out = svc;
	return 0;
fail:
	disconnect(svc);
	svc_free(svc);
	return r;
}

void zusd_dbus_stop(struct zusd_dbus *svc)
{
	if (!svc)
		return;
	pthread_mutex_lock(&svc->lock);
	svc->quit = true;
	pthread_mutex_unlock(&svc->lock);
	wake(svc);
	if (svc->thread_started)
		pthread_join(svc->thread, NULL);
	disconnect(svc);
	svc_free(svc);
}

bool zusd_dbus_connected(struct zusd_dbus *svc)
{
	return svc && atomic_load(&svc->connected);
}

static void set_string(struct zusd_dbus *svc, char **field, const char *v,
		       enum ev_type type)
{
	char *copy = xstrdup0(v);

	if (!copy) {
		svc_log(svc, ZUS_LOG_WARNING, "out of memory: D-Bus state not updated");
		return;
	}
	pthread_mutex_lock(&svc->lock);
	if (!strcmp(*field, copy)) {
		pthread_mutex_unlock(&svc->lock);
		free(copy);
		return;
	}
	free(*field);
	*field = copy;
	queue_locked(svc, type, copy, NULL, NULL);
	pthread_mutex_unlock(&svc->lock);
	wake(svc);
}

void zusd_dbus_set_state(struct zusd_dbus *svc, const char *state)
{
	if (svc)
		set_string(svc, &svc->state, state, EV_STATE);
}

void zusd_dbus_set_transport(struct zusd_dbus *svc, const char *transport)
{
	if (svc)
		set_string(svc, &svc->transport, transport, EV_TRANSPORT);
}

void zusd_dbus_set_plugins(struct zusd_dbus *svc, const char *const *plugins)
{
	char **copy;

	if (!svc)
		return;
	copy = strv_copy(plugins);
	if (!copy) {
		svc_log(svc, ZUS_LOG_WARNING, "out of memory: D-Bus state not updated");
		return;
	}
	pthread_mutex_lock(&svc->lock);
	strv_free(svc->plugins);
	svc->plugins = copy;
	queue_locked(svc, EV_PLUGINS, NULL, NULL, NULL);
	pthread_mutex_unlock(&svc->lock);
	wake(svc);
}

static void queue(struct zusd_dbus *svc, enum ev_type type, const char *a,
		  const char *b, const char *c)
{
	if (!svc)
		return;
	pthread_mutex_lock(&svc->lock);
	queue_locked(svc, type, a ? a : "", b ? b : "", c ? c : "");
	pthread_mutex_unlock(&svc->lock);
	wake(svc);
}

void zusd_dbus_mount_added(struct zusd_dbus *svc, const char *device,
			   const char *mountpoint, const char *fstype)
{
	queue(svc, EV_MOUNT_ADDED, device, mountpoint, fstype);
}

void zusd_dbus_mount_removed(struct zusd_dbus *svc, const char *mountpoint)
{
	queue(svc, EV_MOUNT_REMOVED, mountpoint, NULL, NULL);
}

void zusd_dbus_mounts_changed(struct zusd_dbus *svc)
{
	queue(svc, EV_MOUNTS, NULL, NULL, NULL);
}
