// SPDX-License-Identifier: BSD-2-Clause
/*
 * zufsctl - control and inspect zusd over D-Bus (org.zufs.Manager1).
 *
 * A D-Bus client only: everything it knows about zusd is the interface
 * documented in zufsctl(8) (and zusd/dbus_service.h, which it does not
 * include).
 *
 * This file is the commands, their table and the command line; the bus and
 * its readers are manager.c, the formatting output.c, and stats --watch
 * stats_watch.c.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <systemd/sd-bus.h>
#include <time.h>

#include "manager.h"
#include "output.h"
#include "stats_watch.h"
#include "zufsctl.h"

static inline void freep(void *p)
{
	free(*(void **)p);
}

static inline void strv_freep(char ***p)
{
	if (*p)
		for (char **s = *p; *s; s++)
			free(*s);
	free(*p);
}

const char *prog = "zufsctl";

/* ---- commands --------------------------------------------------------- */

struct cmd_opts {
	bool json;
	bool all;
	long count;
	double interval;	/* stats --watch: seconds; 0: no watch */
	const char *type;
	const char *options;
};

/*
 * The JSON object of a mount, left open for the command's own keys:
 * {"device":..,"mountpoint":..,"fstype":..,"state":..
 */
static void json_mount_open(const struct mount_info *m)
{
	printf("{\"device\":");
	json_str(m->device);
	printf(",\"mountpoint\":");
	json_str(m->mountpoint);
	printf(",\"fstype\":");
	json_str(m->fstype);
	printf(",\"state\":");
	json_str(m->state);
}

/* Tier counters, with the byte counts also in human units. */
static void print_counter(const struct counter *c)
{
	size_t len = strlen(c->name);
	char human[32];

	if (c->str) {
		printf("    %-22s %s\n", c->name, c->str);
		return;
	}
	if ((len > 6 && !strcmp(c->name + len - 6, "_bytes")) ||
	    !strcmp(c->name, "pmem_free") || !strcmp(c->name, "tier_free") ||
	    !strcmp(c->name, "migrate_bytes_per_sec")) {
		fmt_bytes(human, sizeof(human), c->v);
		printf("    %-22s %" PRIu64 " (%s%s)\n", c->name, c->v, human,
		       strstr(c->name, "per_sec") ? "/s" : "");
	} else if (!strcmp(c->name, "low_watermark") ||
		   !strcmp(c->name, "high_watermark")) {
		printf("    %-22s %" PRIu64 "%%\n", c->name, c->v);
	} else {
		printf("    %-22s %" PRIu64 "\n", c->name, c->v);
	}
}

/* zufsctl status: one line per tiered mount. */
static void print_tier_line(const struct tier_entry *te)
{
	char tier[96], rate[32];

	fmt_used(tier, sizeof(tier), tier_val(te, "tier_bytes"),
		 tier_val(te, "tier_free"));
	fmt_bytes(rate, sizeof(rate), tier_val(te, "migrate_bytes_per_sec"));
	printf("tier %s used, %" PRIu64 " migrations, %" PRIu64
	       " promotions, queue %" PRIu64 ", %s/s%s", tier,
	       tier_val(te, "migrations"), tier_val(te, "promotions"),
	       tier_val(te, "io_queue_depth"), rate,
	       tier_val(te, "migrating") ? ", migrating" : "");
}

/* zufsctl stats: the tier block; every raw counter too with --all. */
static void print_tier_table(const struct tier_entry *te, bool all)
{
	char buf[96], a[32], b[32];

	printf("  tier: %s backend, %" PRIu64 " device%s, watermarks %" PRIu64
	       "%%/%" PRIu64 "%% free pmem%s\n", tier_str(te, "backend"),
	       tier_val(te, "ntier"), tier_val(te, "ntier") == 1 ? "" : "s",
	       tier_val(te, "low_watermark"), tier_val(te, "high_watermark"),
	       tier_val(te, "migrating") ? ", migrating now" : "");
	fmt_used(buf, sizeof(buf), tier_val(te, "pmem_bytes"),
		 tier_val(te, "pmem_free"));
	printf("    %-12s %s used\n", "pmem", buf);
	fmt_used(buf, sizeof(buf), tier_val(te, "tier_bytes"),
		 tier_val(te, "tier_free"));
	printf("    %-12s %s used\n", "tier", buf);
	fmt_bytes(a, sizeof(a), tier_val(te, "migrated_bytes"));
	fmt_bytes(b, sizeof(b), tier_val(te, "migrate_bytes_per_sec"));
	printf("    %-12s %" PRIu64 " extents, %s, %s/s\n", "migrations",
	       tier_val(te, "migrations"), a, b);
	fmt_bytes(a, sizeof(a), tier_val(te, "promoted_bytes"));
	printf("    %-12s %" PRIu64 " extents, %s\n", "promotions",
	       tier_val(te, "promotions"), a);
	fmt_bytes(a, sizeof(a), tier_val(te, "cold_read_bytes"));
	printf("    %-12s %" PRIu64 ", %s\n", "cold reads",
	       tier_val(te, "cold_reads"), a);
	printf("    %-12s %" PRIu64 " (max %" PRIu64 ")\n", "queue depth",
	       tier_val(te, "io_queue_depth"),
	       tier_val(te, "io_max_queue_depth"));
	if (!all)
		return;
	printf("  tier counters:\n");
	for (size_t j = 0; j < te->n; j++)
		print_counter(&te->c[j]);
}

static void print_tier_json(const struct tier_entry *te)
{
	printf("{");
	for (size_t j = 0; j < te->n; j++) {
		printf("%s", j ? "," : "");
		json_str(te->c[j].name);
		putchar(':');
		if (te->c[j].str)
			json_str(te->c[j].str);
		else
			printf("%" PRIu64, te->c[j].v);
	}
	printf("}");
}

static void print_stats_table(const struct stats *st, bool all)
{
	uint64_t count = 0, errors = 0, bytes = 0;

	printf("  %-12s %12s %8s %12s %10s %10s %10s\n", "OPERATION",
	       "COUNT", "ERRORS", "MiB", "P50", "P99", "MAX");
	for (size_t i = 0; i < st->n; i++) {
		const struct op_stats *o = &st->op[i];
		char p50[24], p99[24], max[24];

		if (!o->count && !all)
			continue;
		fmt_ns(p50, sizeof(p50), percentile(o, 50));
		fmt_ns(p99, sizeof(p99), percentile(o, 99));
		fmt_ns(max, sizeof(max), o->max_ns);
		printf("  %-12s %12" PRIu64 " %8" PRIu64 " %12.2f %10s %10s %10s\n",
		       o->name, o->count, o->errors,
		       (double)o->bytes / (1024.0 * 1024.0), p50, p99, max);
		count += o->count;
		errors += o->errors;
		bytes += o->bytes;
	}
	printf("  %-12s %12" PRIu64 " %8" PRIu64 " %12.2f\n", "total", count,
	       errors, (double)bytes / (1024.0 * 1024.0));
}

static void print_stats_json(const struct stats *st, bool all)
{
	bool first = true;

	printf("{");
	for (size_t i = 0; i < st->n; i++) {
		const struct op_stats *o = &st->op[i];

		if (!o->count && !all)
			continue;
		printf("%s", first ? "" : ",");
		first = false;
		json_str(o->name);
		printf(":{\"count\":%" PRIu64 ",\"errors\":%" PRIu64
		       ",\"bytes\":%" PRIu64 ",\"total_ns\":%" PRIu64
		       ",\"max_ns\":%" PRIu64 ",\"p50_ns\":%" PRIu64
		       ",\"p99_ns\":%" PRIu64 ",\"histogram\":[",
		       o->count, o->errors, o->bytes, o->total_ns, o->max_ns,
		       percentile(o, 50), percentile(o, 99));
		for (size_t b = 0; b < o->nhist; b++)
			printf("%s%" PRIu64, b ? "," : "", o->hist[b]);
		printf("]}");
	}
	printf("}");
}

static int cmd_status(sd_bus *bus, int argc, char **argv,
		      const struct cmd_opts *o)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	_cleanup_(freep) char *version = NULL, *transport = NULL, *state = NULL;
	_cleanup_(strv_freep) char **plugins = NULL;
	struct mounts ms = { 0 };
	struct tier tier = { 0 };
	int r;

	r = sd_bus_get_property_string(bus, BUS_NAME, BUS_PATH, BUS_IFACE,
				       "Version", &e, &version);
	if (r >= 0)
		r = sd_bus_get_property_string(bus, BUS_NAME, BUS_PATH,
					       BUS_IFACE, "State", &e, &state);
	if (r >= 0)
		r = sd_bus_get_property_string(bus, BUS_NAME, BUS_PATH,
					       BUS_IFACE, "Transport", &e,
					       &transport);
	if (r >= 0)
		r = sd_bus_get_property_strv(bus, BUS_NAME, BUS_PATH,
					     BUS_IFACE, "Plugins", &e,
					     &plugins);
	if (r >= 0)
		r = get_mounts(bus, &ms, &e);
	if (r >= 0)
		r = get_tier(bus, &tier, &e);
	if (r < 0) {
		r = report("status", &e, r);
		goto out;
	}

	if (o->json) {
		printf("{\"version\":");
		json_str(version);
		printf(",\"state\":");
		json_str(state);
		printf(",\"transport\":");
		json_str(transport);
		printf(",\"plugins\":[");
		for (size_t i = 0; plugins[i]; i++) {
			if (i)
				putchar(',');
			json_str(plugins[i]);
		}
		printf("],\"mounts\":%zu,\"mount_list\":[", ms.n);
		for (size_t i = 0; i < ms.n; i++) {
			const struct tier_entry *te =
				find_tier(&tier, ms.m[i].mountpoint);

			printf("%s", i ? "," : "");
			json_mount_open(&ms.m[i]);
			if (te) {
				printf(",\"tier\":");
				print_tier_json(te);
			}
			printf("}");
		}
		printf("]}\n");
	} else {
		printf("zusd %s: %s\n", version, state);
		printf("  transport: %s\n", transport[0] ? transport : "-");
		printf("  plugins:   ");
		for (size_t i = 0; plugins[i]; i++)
			printf("%s%s", i ? ", " : "", plugins[i]);
		printf("%s\n", plugins[0] ? "" : "-");
		printf("  mounts:    %zu\n", ms.n);
		for (size_t i = 0; i < ms.n; i++) {
			const struct mount_info *m = &ms.m[i];
			const struct tier_entry *te =
				find_tier(&tier, m->mountpoint);

			printf("    %s: %s on %s, %s\n",
			       m->mountpoint[0] ? m->mountpoint : "(mountpoint unknown)",
			       m->fstype, m->device, m->state);
			if (te) {
				printf("      ");
				print_tier_line(te);
				printf("\n");
			}
		}
	}
	r = 0;
out:
	mounts_free(&ms);
	tier_free(&tier);
	sd_bus_error_free(&e);
	return r;
}

static int cmd_mounts(sd_bus *bus, int argc, char **argv,
		      const struct cmd_opts *o)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	struct mounts ms = { 0 };
	int r;

	r = get_mounts(bus, &ms, &e);
	if (r < 0) {
		r = report("mounts", &e, r);
		goto out;
	}
	if (o->json) {
		printf("[");
		for (size_t i = 0; i < ms.n; i++) {
			const struct mount_info *m = &ms.m[i];

			printf("%s", i ? "," : "");
			json_mount_open(m);
			printf(",\"options\":");
			json_str(m->options);
			printf(",\"pmem_bytes\":%" PRIu64
			       ",\"tier_bytes\":%" PRIu64 "}",
			       m->pmem_bytes, m->tier_bytes);
		}
		printf("]\n");
	} else if (!ms.n) {
		printf("no ZUFS filesystems mounted\n");
	} else {
		printf("%-20s %-20s %-8s %-10s %10s %10s  %s\n", "DEVICE",
		       "MOUNTPOINT", "TYPE", "STATE", "PMEM", "TIER",
		       "OPTIONS");
		for (size_t i = 0; i < ms.n; i++) {
			const struct mount_info *m = &ms.m[i];
			char pmem[32], tier[32] = "-";

			fmt_bytes(pmem, sizeof(pmem), m->pmem_bytes);
			if (m->tier_bytes)
				fmt_bytes(tier, sizeof(tier), m->tier_bytes);
			printf("%-20s %-20s %-8s %-10s %10s %10s  %s\n",
			       m->device, m->mountpoint, m->fstype, m->state,
			       pmem, tier, m->options[0] ? m->options : "-");
		}
	}
	r = 0;
out:
	mounts_free(&ms);
	sd_bus_error_free(&e);
	return r;
}

static int cmd_stats(sd_bus *bus, int argc, char **argv,
		     const struct cmd_opts *o)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	struct mounts ms = { 0 };
	struct tier tier = { 0 };
	const char *only = argc > 1 ? argv[1] : NULL;
	size_t shown = 0;
	int r;

	if (o->interval > 0)
		return stats_watch(bus, only, o->interval, o->count, o->json);
	r = get_mounts(bus, &ms, &e);
	if (r >= 0)
		r = get_tier(bus, &tier, &e);
	if (r < 0) {
		r = report("stats", &e, r);
		goto out;
	}
	if (o->json)
		printf("{\"mounts\":[");
	for (size_t i = 0; i < ms.n; i++) {
		const struct mount_info *m = &ms.m[i];
		const struct tier_entry *te;
		struct stats st = { 0 };

		if (only && strcmp(only, m->mountpoint))
			continue;
		r = get_stats(bus, m->mountpoint, &st, &e);
		if (r < 0) {
			stats_free(&st);
			if (o->json)
				printf("]}\n");
			r = report("stats", &e, r);
			goto out;
		}
		te = find_tier(&tier, m->mountpoint);
		if (o->json) {
			printf("%s", shown ? "," : "");
			json_mount_open(m);
			printf(",\"operations\":");
			print_stats_json(&st, o->all);
			if (te) {
				printf(",\"tier\":");
				print_tier_json(te);
			}
			printf("}");
		} else {
			printf("%s%s: %s on %s\n", shown ? "\n" : "",
			       m->mountpoint, m->fstype, m->device);
			print_stats_table(&st, o->all);
			if (te)
				print_tier_table(te, o->all);
		}
		stats_free(&st);
		shown++;
	}
	if (o->json)
		printf("]}\n");
	r = 0;
	if (only && !shown) {
		fprintf(stderr, "%s: no ZUFS filesystem is mounted at %s\n",
			prog, only);
		r = EXIT_NO_MOUNT;
	} else if (!shown && !o->json) {
		printf("no ZUFS filesystems mounted\n");
	}
out:
	mounts_free(&ms);
	tier_free(&tier);
	sd_bus_error_free(&e);
	return r;
}

static int call_privileged(sd_bus *bus, const char *what, const char *method,
			   const char *sig, ...)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
	sd_bus_error e = SD_BUS_ERROR_NULL;
	va_list ap;
	int r;

	r = sd_bus_message_new_method_call(bus, &m, BUS_NAME, BUS_PATH,
					   BUS_IFACE, method);
	if (r >= 0 && sig) {
		va_start(ap, sig);
		r = sd_bus_message_appendv(m, sig, ap);
		va_end(ap);
	}
	if (r >= 0)
		/* a mount may take a while (recovery) */
		r = sd_bus_call(bus, m, 300 * 1000000ULL, &e, NULL);
	if (r < 0)
		r = report(what, &e, r);
	else
		r = 0;
	sd_bus_error_free(&e);
	return r;
}

static int cmd_restart(sd_bus *bus, int argc, char **argv,
		       const struct cmd_opts *o)
{
	return call_privileged(bus, "restart", "Restart", NULL);
}

static int cmd_mount(sd_bus *bus, int argc, char **argv,
		     const struct cmd_opts *o)
{
	return call_privileged(bus, "mount", "Mount", "ssss", argv[1], argv[2],
			       o->type ? o->type : "pmfs2",
			       o->options ? o->options : "");
}

static int cmd_unmount(sd_bus *bus, int argc, char **argv,
		       const struct cmd_opts *o)
{
	return call_privileged(bus, "unmount", "Unmount", "s", argv[1]);
}

/* ---- watch ------------------------------------------------------------ */

struct watch {
	long left;	/* signals of org.zufs.Manager1 still to print; <0: all */
	bool done;
};

static void stamp(void)
{
	struct timeval tv;
	struct tm tm;

	gettimeofday(&tv, NULL);
	localtime_r(&tv.tv_sec, &tm);
	printf("%02d:%02d:%02d.%03ld ", tm.tm_hour, tm.tm_min, tm.tm_sec,
	       (long)(tv.tv_usec / 1000));
}

static int print_changed(sd_bus_message *m)
{
	const char *iface, *name, *contents;
	char type;
	int r;

	r = sd_bus_message_read(m, "s", &iface);
	if (r < 0)
		return r;
	stamp();
	printf("PropertiesChanged");
	r = sd_bus_message_enter_container(m, 'a', "{sv}");
	if (r < 0)
		return r;
	while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
		r = sd_bus_message_read(m, "s", &name);
		if (r < 0)
			return r;
		r = sd_bus_message_peek_type(m, &type, &contents);
		if (r < 0)
			return r;
		if (contents && !strcmp(contents, "s")) {
			const char *v;

			r = sd_bus_message_read(m, "v", "s", &v);
			if (r < 0)
				return r;
			printf(" %s=%s", name, v);
		} else {
			r = sd_bus_message_skip(m, "v");
			if (r < 0)
				return r;
			printf(" %s", name);
		}
		r = sd_bus_message_exit_container(m);
		if (r < 0)
			return r;
	}
	if (r < 0)
		return r;
	printf("\n");
	return 0;
}

static int on_signal(sd_bus_message *m, void *userdata, sd_bus_error *e)
{
	struct watch *w = userdata;
	const char *member = sd_bus_message_get_member(m);
	const char *a, *b, *c;
	int r = 0;

	if (sd_bus_message_is_signal(m, "org.freedesktop.DBus",
				     "NameOwnerChanged")) {
		r = sd_bus_message_read(m, "sss", &a, &b, &c);
		if (r < 0 || strcmp(a, BUS_NAME))
			return 0;
		stamp();
		printf("%s\n", c[0] ? "zusd connected to the bus" :
		       "zusd left the bus");
	} else if (sd_bus_message_is_signal(m,
			"org.freedesktop.DBus.Properties",
			"PropertiesChanged")) {
		r = print_changed(m);
	} else if (sd_bus_message_is_signal(m, BUS_IFACE, "StateChanged")) {
		r = sd_bus_message_read(m, "s", &a);
		if (r >= 0) {
			stamp();
			printf("StateChanged state=%s\n", a);
		}
	} else if (sd_bus_message_is_signal(m, BUS_IFACE, "MountAdded")) {
		r = sd_bus_message_read(m, "sss", &a, &b, &c);
		if (r >= 0) {
			stamp();
			printf("MountAdded device=%s mountpoint=%s fstype=%s\n",
			       a, b, c);
		}
	} else if (sd_bus_message_is_signal(m, BUS_IFACE, "MountRemoved")) {
		r = sd_bus_message_read(m, "s", &a);
		if (r >= 0) {
			stamp();
			printf("MountRemoved mountpoint=%s\n", a);
		}
	} else {
		stamp();
		printf("%s.%s\n", sd_bus_message_get_interface(m),
		       member ? member : "?");
	}
	if (r < 0) {
		fprintf(stderr, "%s: watch: malformed %s signal: %s\n", prog,
			member ? member : "?", strerror(-r));
		r = 0;
	}
	fflush(stdout);
	if (w->left > 0 && sd_bus_message_is_signal(m, BUS_IFACE, NULL) &&
	    --w->left == 0)
		w->done = true;
	return 0;
}

static int cmd_watch(sd_bus *bus, int argc, char **argv,
		     const struct cmd_opts *o)
{
	struct watch w = { .left = o->count > 0 ? o->count : -1 };
	sd_bus_error e = SD_BUS_ERROR_NULL;
	int r;

	r = sd_bus_match_signal(bus, NULL, BUS_NAME, BUS_PATH, NULL, NULL,
				on_signal, &w);
	if (r >= 0)
		r = sd_bus_add_match(bus, NULL,
				     "type='signal',sender='org.freedesktop.DBus',"
				     "interface='org.freedesktop.DBus',"
				     "member='NameOwnerChanged',"
				     "arg0='" BUS_NAME "'", on_signal, &w);
	if (r < 0) {
		fprintf(stderr, "%s: watch: cannot subscribe to signals: %s\n",
			prog, strerror(-r));
		return EXIT_FAIL;
	}
	r = sd_bus_call_method(bus, "org.freedesktop.DBus",
			       "/org/freedesktop/DBus", "org.freedesktop.DBus",
			       "GetNameOwner", &e, NULL, "s", BUS_NAME);
	if (r < 0)
		fprintf(stderr, "%s: zusd is not running yet; waiting for it\n",
			prog);
	sd_bus_error_free(&e);
	fprintf(stderr, "Watching %s signals (Ctrl-C to stop)\n", BUS_NAME);

	while (!w.done) {
		r = sd_bus_process(bus, NULL);
		if (r < 0) {
			fprintf(stderr, "%s: watch: lost the bus: %s\n", prog,
				strerror(-r));
			return EXIT_FAIL;
		}
		if (r > 0)
			continue;
		r = sd_bus_wait(bus, UINT64_MAX);
		if (r < 0 && r != -EINTR) {
			fprintf(stderr, "%s: watch: %s\n", prog, strerror(-r));
			return EXIT_FAIL;
		}
	}
	return 0;
}

/* ---- command table and help ------------------------------------------ */

struct command {
	const char *name;
	const char *alias;
	int (*run)(sd_bus *bus, int argc, char **argv,
		   const struct cmd_opts *o);
	int min_args, max_args;	/* after the command name */
	const char *args;
	const char *summary;
	const char *help;
};

static const struct command commands[] = {
	{ "status", NULL, cmd_status, 0, 0, "[--json]",
	  "show zusd's version, state, transport and plugins",
	  "Show zusd's version, state (starting, running, restarting,\n"
	  "stopping, degraded), transport, loaded plugins and number of mounts.\n"
	  "\n"
	  "  -j, --json   print one JSON object\n" },
	{ "mounts", NULL, cmd_mounts, 0, 0, "[--json]",
	  "list the filesystems zusd serves",
	  "List the filesystems zusd serves: device, mountpoint, type, state,\n"
	  "pmem and tier capacity, options.\n"
	  "\n"
	  "  -j, --json   print a JSON array\n" },
	{ "stats", NULL, cmd_stats, 0, 1,
	  "[MOUNTPOINT] [--json] [--all] [--watch[=SECONDS] [--count=N]]",
	  "per-operation counters and latency, tier counters",
	  "Show per-operation counters of every mount (or of MOUNTPOINT): count,\n"
	  "errors, MiB moved and the 50th/99th percentile and maximum latency\n"
	  "(percentiles come from a log2 histogram: each is the top of its\n"
	  "bucket, so within a factor of 2), then the tier counters of mounts\n"
	  "with a tier device.\n"
	  "\n"
	  "  -a, --all    also list operations that never ran\n"
	  "  -j, --json   print one JSON object, with the histograms\n"
	  "  -w, --watch[=SECONDS]\n"
	  "               a live view: read the counters every SECONDS (default 2,\n"
	  "               at least 0.1) and show per-mount rates over each interval:\n"
	  "               operations/s, I/O, migrated and promoted MiB/s, cold\n"
	  "               reads; redrawn in place on a terminal, else one line a\n"
	  "               mount a sample (with --json one JSON object a sample)\n"
	  "  -n, --count=N  with --watch: stop after N samples (default: until\n"
	  "               SIGINT or SIGTERM)\n" },
	{ "restart", NULL, cmd_restart, 0, 0, "",
	  "restart zusd; mounts stay (root)",
	  "Ask zusd to restart.  systemd starts a new zusd at once; mounted\n"
	  "filesystems stay mounted and are served again by the new process.\n"
	  "Needs root.\n" },
	{ "mount", NULL, cmd_mount, 2, 2, "DEVICE MOUNTPOINT [-t TYPE] [-o OPTIONS]",
	  "have zusd mount a filesystem (FUSE transport, root)",
	  "Have zusd mount DEVICE on MOUNTPOINT itself (FUSE transport; with the\n"
	  "zuf transport use mount -t TYPE DEVICE MOUNTPOINT).  Needs root.\n"
	  "\n"
	  "  -t, --type=TYPE        filesystem type (default: pmfs2)\n"
	  "  -o, --options=OPTIONS  mount options, comma separated\n" },
	{ "unmount", "umount", cmd_unmount, 1, 1, "MOUNTPOINT",
	  "have zusd unmount a filesystem it mounted (root)",
	  "Have zusd unmount the filesystem it mounted on MOUNTPOINT.  Needs\n"
	  "root.\n" },
	{ "watch", NULL, cmd_watch, 0, 0, "[-n COUNT]",
	  "print zusd's signals as they arrive",
	  "Print zusd's D-Bus signals as they arrive (StateChanged, MountAdded,\n"
	  "MountRemoved, PropertiesChanged) and when zusd joins or leaves the\n"
	  "bus, one line each, until interrupted.  zusd need not be running.\n"
	  "\n"
	  "  -n, --count=COUNT   exit after COUNT StateChanged, MountAdded or\n"
	  "                      MountRemoved signals\n" },
};

#define NCOMMANDS	(sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *f)
{
	fprintf(f,
"Usage: %s [--help] [--version] COMMAND [ARGS]...\n"
"Control and inspect zusd, the ZUFS filesystem server, over D-Bus.\n"
"\n"
"Commands:\n", prog);
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(f, "  %-9s %s\n", commands[i].name, commands[i].summary);
	fprintf(f,
"\n"
"Run '%s COMMAND --help' for the options of a command.\n"
"\n"
"Exit status: 0 success, 1 failure, 2 usage error, 3 zusd not running (or\n"
"no system bus), 4 permission denied, 5 no such mount.  See zufsctl(8).\n",
		prog);
}

static void command_usage(const struct command *c, FILE *f)
{
	fprintf(f, "Usage: %s %s%s%s\n\n%s", prog, c->name,
		c->args[0] ? " " : "", c->args, c->help);
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "json", no_argument, NULL, 'j' },
		{ "all", no_argument, NULL, 'a' },
		{ "count", required_argument, NULL, 'n' },
		{ "watch", optional_argument, NULL, 'w' },
		{ "type", required_argument, NULL, 't' },
		{ "options", required_argument, NULL, 'o' },
		{ "version", no_argument, NULL, 'V' },
		{}
	};
	_cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
	const struct command *cmd = NULL;
	struct cmd_opts o = { 0 };
	bool help = false;
	int c, r;

	/* GNU getopt permutes: options may come before or after the command */
	while ((c = getopt_long(argc, argv, "hjan:t:o:Vw::", lopts, NULL)) != -1) {
		switch (c) {
		case 'h':
			help = true;
			break;
		case 'j':
			o.json = true;
			break;
		case 'a':
			o.all = true;
			break;
		case 'n': {
			char *end;

			errno = 0;
			o.count = strtol(optarg, &end, 10);
			if (errno || *end || o.count <= 0) {
				fprintf(stderr, "%s: --count: '%s' is not a positive number\n",
					prog, optarg);
				return EXIT_USAGE;
			}
			break;
		}
		case 'w': {
			const char *arg = optarg;
			char *end;

			/* "--watch 5" too: a number after it is its interval
			 * (a mountpoint is a path) */
			if (!arg && optind < argc && argv[optind][0] &&
			    (strtod(argv[optind], &end), !*end))
				arg = argv[optind++];
			o.interval = 2;
			if (!arg)
				break;
			errno = 0;
			o.interval = strtod(arg, &end);
			if (errno || end == arg || *end || !(o.interval >= 0.1) ||
			    o.interval > 86400) {
				fprintf(stderr, "%s: --watch: '%s' is not a number of seconds from 0.1 to 86400\n",
					prog, arg);
				return EXIT_USAGE;
			}
			break;
		}
		case 't':
			o.type = optarg;
			break;
		case 'o':
			o.options = optarg;
			break;
		case 'V':
			printf("zufsctl %s\n", PACKAGE_VERSION);
			return 0;
		default:
			fprintf(stderr, "Try '%s --help'.\n", prog);
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		for (size_t k = 0; k < NCOMMANDS; k++)
			if (!strcmp(argv[optind], commands[k].name) ||
			    (commands[k].alias &&
			     !strcmp(argv[optind], commands[k].alias)))
				cmd = &commands[k];
		if (!cmd) {
			fprintf(stderr, "%s: unknown command '%s' (see %s --help)\n",
				prog, argv[optind], prog);
			return EXIT_USAGE;
		}
	}
	if (help) {
		if (cmd)
			command_usage(cmd, stdout);
		else
			usage(stdout);
		return 0;
	}
	if (!cmd) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if ((o.json && cmd->run != cmd_status && cmd->run != cmd_mounts &&
	     cmd->run != cmd_stats) ||
	    (o.all && cmd->run != cmd_stats) ||
	    (o.interval && cmd->run != cmd_stats) ||
	    (o.count && cmd->run != cmd_watch && !o.interval) ||
	    ((o.type || o.options) && cmd->run != cmd_mount)) {
		fprintf(stderr, "%s: %s: option not accepted by this command%s (see %s %s --help)\n",
			prog, cmd->name,
			o.count && cmd->run == cmd_stats ? " without --watch" : "",
			prog, cmd->name);
		return EXIT_USAGE;
	}
	if (o.interval && o.all) {
		fprintf(stderr, "%s: stats: --all is not accepted with --watch\n",
			prog);
		return EXIT_USAGE;
	}
	if (argc - optind - 1 < cmd->min_args) {
		fprintf(stderr, "%s: %s: missing argument (usage: %s %s %s)\n",
			prog, cmd->name, prog, cmd->name, cmd->args);
		return EXIT_USAGE;
	}
	if (argc - optind - 1 > cmd->max_args) {
		fprintf(stderr, "%s: %s: unexpected argument '%s'\n", prog,
			cmd->name, argv[optind + 1 + cmd->max_args]);
		return EXIT_USAGE;
	}
	r = open_bus(&bus);
	if (r)
		return r;
	/* the command and its arguments */
	return cmd->run(bus, argc - optind, argv + optind, &o);
}
