// SPDX-License-Identifier: BSD-2-Clause
/*
 * zufsctl - control and inspect zusd over D-Bus (org.zufs.Manager1).
 *
 * A D-Bus client only: everything it knows about zusd is the interface
 * documented in zufsctl(8) (and zusd/dbus_service.h, which it does not
 * include).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <systemd/sd-bus.h>
#include <time.h>
#include <unistd.h>

#define BUS_NAME	"org.zufs.Manager1"
#define BUS_PATH	"/org/zufs/Manager1"
#define BUS_IFACE	"org.zufs.Manager1"
#define ERR_NO_SUCH_MOUNT	"org.zufs.Manager1.Error.NoSuchMount"

/* histogram layout of GetStats: bucket 0 [0,2) ns, b: [2^b, 2^(b+1)) ns */
#define HIST_MAX_BUCKETS	64

/* exit codes (zufsctl(8)) */
#define EXIT_FAIL		1
#define EXIT_USAGE		2
#define EXIT_NOT_RUNNING	3
#define EXIT_DENIED		4
#define EXIT_NO_MOUNT		5

#define _cleanup_(f)	__attribute__((cleanup(f)))

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

static const char *prog = "zufsctl";

/* ---- output helpers --------------------------------------------------- */

static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c == '\n')
			fputs("\\n", stdout);
		else if (c == '\t')
			fputs("\\t", stdout);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static void fmt_ns(char *buf, size_t len, uint64_t ns)
{
	if (ns < 1000)
		snprintf(buf, len, "%" PRIu64 " ns", ns);
	else if (ns < 1000000)
		snprintf(buf, len, "%.1f us", (double)ns / 1e3);
	else if (ns < 1000000000)
		snprintf(buf, len, "%.1f ms", (double)ns / 1e6);
	else
		snprintf(buf, len, "%.2f s", (double)ns / 1e9);
}

static void fmt_bytes(char *buf, size_t len, uint64_t b)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB",
					    "PiB", "EiB" };
	double v = (double)b;
	unsigned int u = 0;

	while (v >= 1024 && u < 6) {
		v /= 1024;
		u++;
	}
	if (!u)
		snprintf(buf, len, "%" PRIu64 " B", b);
	else
		snprintf(buf, len, "%.1f %s", v, unit[u]);
}

/* ---- errors ----------------------------------------------------------- */

static int report(const char *what, const sd_bus_error *e, int r)
{
	if (sd_bus_error_has_name(e, SD_BUS_ERROR_SERVICE_UNKNOWN) ||
	    sd_bus_error_has_name(e, SD_BUS_ERROR_NAME_HAS_NO_OWNER)) {
		fprintf(stderr,
			"%s: zusd is not running (%s not on the system bus): systemctl start zusd\n",
			prog, BUS_NAME);
		return EXIT_NOT_RUNNING;
	}
	if (sd_bus_error_has_name(e, SD_BUS_ERROR_ACCESS_DENIED)) {
		fprintf(stderr, "%s: permission denied: %s needs root\n", prog,
			what);
		return EXIT_DENIED;
	}
	if (sd_bus_error_has_name(e, ERR_NO_SUCH_MOUNT)) {
		fprintf(stderr, "%s: %s\n", prog, e->message);
		return EXIT_NO_MOUNT;
	}
	if (sd_bus_error_has_name(e, SD_BUS_ERROR_NO_REPLY) ||
	    sd_bus_error_has_name(e, SD_BUS_ERROR_TIMEOUT)) {
		fprintf(stderr, "%s: %s: zusd did not answer in time\n", prog,
			what);
		return EXIT_FAIL;
	}
	if (sd_bus_error_is_set(e))
		fprintf(stderr, "%s: %s: %s\n", prog, what, e->message ?
			e->message : e->name);
	else
		fprintf(stderr, "%s: %s: %s\n", prog, what, strerror(-r));
	return EXIT_FAIL;
}

static int open_bus(sd_bus **bus)
{
	int r = sd_bus_open_system(bus);

	if (r < 0) {
		const char *addr = getenv("DBUS_SYSTEM_BUS_ADDRESS");

		fprintf(stderr,
			"%s: cannot connect to the system bus%s%s%s: %s (is dbus running?)\n",
			prog, addr ? " (" : "", addr ? addr : "",
			addr ? ")" : "", strerror(-r));
		return EXIT_NOT_RUNNING;
	}
	return 0;
}

/* ---- reading the interface ------------------------------------------- */

struct mount_info {
	char *device, *mountpoint, *fstype, *options, *state;
	uint64_t pmem_bytes, tier_bytes;
};

struct mounts {
	struct mount_info *m;
	size_t n;
};

static void mounts_free(struct mounts *ms)
{
	for (size_t i = 0; i < ms->n; i++) {
		free(ms->m[i].device);
		free(ms->m[i].mountpoint);
		free(ms->m[i].fstype);
		free(ms->m[i].options);
		free(ms->m[i].state);
	}
	free(ms->m);
	ms->m = NULL;
	ms->n = 0;
}

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

static int get_mounts(sd_bus *bus, struct mounts *ms, sd_bus_error *e)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	const char *dev, *mp, *type, *opts, *state;
	uint64_t pmem, tier;
	int r;

	r = sd_bus_get_property(bus, BUS_NAME, BUS_PATH, BUS_IFACE, "Mounts",
				e, &reply, "a(ssssstt)");
	if (r < 0)
		return r;
	r = sd_bus_message_enter_container(reply, 'a', "(ssssstt)");
	if (r < 0)
		return r;
	while ((r = sd_bus_message_read(reply, "(ssssstt)", &dev, &mp, &type,
					&opts, &state, &pmem, &tier)) > 0) {
		struct mount_info *m = realloc(ms->m, (ms->n + 1) * sizeof(*m));

		if (!m)
			return -ENOMEM;
		ms->m = m;
		m += ms->n++;
		m->device = strdup(dev);
		m->mountpoint = strdup(mp);
		m->fstype = strdup(type);
		m->options = strdup(opts);
		m->state = strdup(state);
		m->pmem_bytes = pmem;
		m->tier_bytes = tier;
		if (!m->device || !m->mountpoint || !m->fstype ||
		    !m->options || !m->state)
			return -ENOMEM;
	}
	if (r < 0)
		return r;
	return sd_bus_message_exit_container(reply);
}

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

static void stats_free(struct stats *st)
{
	for (size_t i = 0; i < st->n; i++)
		free(st->op[i].name);
	free(st->op);
	st->op = NULL;
	st->n = 0;
}

static int get_stats(sd_bus *bus, const char *mountpoint, struct stats *st,
		     sd_bus_error *e)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	int r;

	r = sd_bus_call_method(bus, BUS_NAME, BUS_PATH, BUS_IFACE, "GetStats",
			       e, &reply, "s", mountpoint);
	if (r < 0)
		return r;
	r = sd_bus_message_enter_container(reply, 'a', "{s(tttttat)}");
	if (r < 0)
		return r;
	while ((r = sd_bus_message_enter_container(reply, 'e',
						   "s(tttttat)")) > 0) {
		struct op_stats *o = realloc(st->op, (st->n + 1) * sizeof(*o));
		const uint64_t *hist;
		const char *name;
		size_t size;

		if (!o)
			return -ENOMEM;
		st->op = o;
		o += st->n;
		memset(o, 0, sizeof(*o));
		r = sd_bus_message_read(reply, "s", &name);
		if (r < 0)
			return r;
		o->name = strdup(name);
		if (!o->name)
			return -ENOMEM;
		st->n++;
		r = sd_bus_message_enter_container(reply, 'r', "tttttat");
		if (r < 0)
			return r;
		r = sd_bus_message_read(reply, "ttttt", &o->count, &o->errors,
					&o->bytes, &o->total_ns, &o->max_ns);
		if (r < 0)
			return r;
		r = sd_bus_message_read_array(reply, 't', (const void **)&hist,
					      &size);
		if (r < 0)
			return r;
		o->nhist = size / sizeof(uint64_t);
		if (o->nhist > HIST_MAX_BUCKETS)
			o->nhist = HIST_MAX_BUCKETS;
		memcpy(o->hist, hist, o->nhist * sizeof(uint64_t));
		r = sd_bus_message_exit_container(reply);
		if (r < 0)
			return r;
		r = sd_bus_message_exit_container(reply);
		if (r < 0)
			return r;
	}
	if (r < 0)
		return r;
	return sd_bus_message_exit_container(reply);
}

/* The latency under which pct% of the operations completed (bucket top). */
static uint64_t percentile(const struct op_stats *o, double pct)
{
	uint64_t seen = 0, rank;

	if (!o->count)
		return 0;
	rank = (uint64_t)((double)o->count * pct / 100.0);
	if ((double)rank < (double)o->count * pct / 100.0)
		rank++;
	if (!rank)
		rank = 1;
	for (size_t b = 0; b < o->nhist; b++) {
		seen += o->hist[b];
		if (seen >= rank) {
			uint64_t top = b + 1 >= o->nhist ? UINT64_MAX :
				       (UINT64_C(2) << b) - 1;

			return top < o->max_ns ? top : o->max_ns;
		}
	}
	return o->max_ns;
}

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

static void tier_free(struct tier *t)
{
	for (size_t i = 0; i < t->n; i++) {
		for (size_t j = 0; j < t->t[i].n; j++) {
			free(t->t[i].c[j].name);
			free(t->t[i].c[j].str);
		}
		free(t->t[i].c);
		free(t->t[i].mountpoint);
	}
	free(t->t);
	t->t = NULL;
	t->n = 0;
}

static int get_tier(sd_bus *bus, struct tier *t, sd_bus_error *e)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	int r;

	r = sd_bus_call_method(bus, BUS_NAME, BUS_PATH, BUS_IFACE,
			       "GetTierStatus", e, &reply, NULL);
	if (r < 0)
		return r;
	r = sd_bus_message_enter_container(reply, 'a', "{sa{sv}}");
	if (r < 0)
		return r;
	while ((r = sd_bus_message_enter_container(reply, 'e', "sa{sv}")) > 0) {
		struct tier_entry *te = realloc(t->t, (t->n + 1) * sizeof(*te));
		const char *s;

		if (!te)
			return -ENOMEM;
		t->t = te;
		te += t->n;
		memset(te, 0, sizeof(*te));
		t->n++;
		r = sd_bus_message_read(reply, "s", &s);
		if (r < 0)
			return r;
		te->mountpoint = strdup(s);
		if (!te->mountpoint)
			return -ENOMEM;
		r = sd_bus_message_enter_container(reply, 'a', "{sv}");
		if (r < 0)
			return r;
		while ((r = sd_bus_message_enter_container(reply, 'e',
							   "sv")) > 0) {
			struct counter *c = realloc(te->c,
						    (te->n + 1) * sizeof(*c));
			const char *contents;
			char type;

			if (!c)
				return -ENOMEM;
			te->c = c;
			c += te->n;
			memset(c, 0, sizeof(*c));
			r = sd_bus_message_read(reply, "s", &s);
			if (r < 0)
				return r;
			c->name = strdup(s);
			if (!c->name)
				return -ENOMEM;
			te->n++;
			r = sd_bus_message_peek_type(reply, &type, &contents);
			if (r < 0)
				return r;
			if (contents && !strcmp(contents, "s")) {
				r = sd_bus_message_read(reply, "v", "s", &s);
				if (r < 0)
					return r;
				c->str = strdup(s);
				if (!c->str)
					return -ENOMEM;
			} else if (contents && !strcmp(contents, "t")) {
				r = sd_bus_message_read(reply, "v", "t",
							&c->v);
			} else {
				/* a newer zusd: show what we can't read as 0 */
				r = sd_bus_message_skip(reply, "v");
			}
			if (r < 0)
				return r;
			r = sd_bus_message_exit_container(reply);
			if (r < 0)
				return r;
		}
		if (r < 0)
			return r;
		r = sd_bus_message_exit_container(reply);
		if (r < 0)
			return r;
		r = sd_bus_message_exit_container(reply);
		if (r < 0)
			return r;
	}
	if (r < 0)
		return r;
	return sd_bus_message_exit_container(reply);
}

/* ---- commands --------------------------------------------------------- */

struct cmd_opts {
	bool json;
	bool all;
	long count;
	double interval;	/* stats --watch: seconds; 0: no watch */
	const char *type;
	const char *options;
};

static const struct tier_entry *find_tier(const struct tier *t,
					  const char *mountpoint);
static void print_tier_line(const struct tier_entry *te);
static void print_tier_json(const struct tier_entry *te);

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

static const struct tier_entry *find_tier(const struct tier *t,
					  const char *mountpoint)
{
	for (size_t i = 0; i < t->n; i++)
		if (!strcmp(t->t[i].mountpoint, mountpoint))
			return &t->t[i];
	return NULL;
}

/* A tier counter by name: its value, 0 if zusd did not send it. */
static uint64_t tier_val(const struct tier_entry *te, const char *name)
{
	for (size_t i = 0; i < te->n; i++)
		if (!strcmp(te->c[i].name, name))
			return te->c[i].v;
	return 0;
}

static const char *tier_str(const struct tier_entry *te, const char *name)
{
	for (size_t i = 0; i < te->n; i++)
		if (!strcmp(te->c[i].name, name) && te->c[i].str)
			return te->c[i].str;
	return "-";
}

/* used/size of one level, e.g. "18.0 MiB of 128.0 MiB (14%)" */
static void fmt_used(char *buf, size_t len, uint64_t size, uint64_t free_b)
{
	char u[32], t[32];
	uint64_t used = free_b < size ? size - free_b : 0;

	fmt_bytes(u, sizeof(u), used);
	fmt_bytes(t, sizeof(t), size);
	snprintf(buf, len, "%s of %s (%.0f%%)", u, t,
		 size ? 100.0 * (double)used / (double)size : 0.0);
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

/* ---- stats --watch ---------------------------------------------------- */

/* One mount's figures at one sample; rates come from two of these. */
struct sample_mount {
	char *mountpoint;
	uint64_t ops, bytes;		/* all operations, from GetStats */
	bool tier;
	uint64_t migrated, promoted, cold_reads, cold_bytes;
	uint64_t pmem_bytes, pmem_free, tier_bytes, tier_free, queue;
	bool migrating;
};

struct sample {
	double t;			/* CLOCK_MONOTONIC, seconds */
	time_t wall;
	struct sample_mount *m;
	size_t n;
};

static void sample_free(struct sample *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->m[i].mountpoint);
	free(s->m);
	s->m = NULL;
	s->n = 0;
}

static double mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Read every mount's counters (or only's); a report()ed exit code. */
static int take_sample(sd_bus *bus, const char *only, struct sample *s)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	struct mounts ms = { 0 };
	struct tier tier = { 0 };
	int r;

	memset(s, 0, sizeof(*s));
	r = get_mounts(bus, &ms, &e);
	if (r >= 0)
		r = get_tier(bus, &tier, &e);
	for (size_t i = 0; r >= 0 && i < ms.n; i++) {
		const struct tier_entry *te;
		struct sample_mount *sm;
		struct stats st = { 0 };

		if (only && strcmp(only, ms.m[i].mountpoint))
			continue;
		r = get_stats(bus, ms.m[i].mountpoint, &st, &e);
		sm = realloc(s->m, (s->n + 1) * sizeof(*sm));
		if (r >= 0 && !sm)
			r = -ENOMEM;
		if (r < 0) {
			stats_free(&st);
			break;
		}
		s->m = sm;
		sm += s->n++;
		memset(sm, 0, sizeof(*sm));
		sm->mountpoint = strdup(ms.m[i].mountpoint);
		if (!sm->mountpoint)
			r = -ENOMEM;
		for (size_t k = 0; k < st.n; k++) {
			sm->ops += st.op[k].count;
			sm->bytes += st.op[k].bytes;
		}
		stats_free(&st);
		te = find_tier(&tier, ms.m[i].mountpoint);
		if (!te)
			continue;
		sm->tier = true;
		sm->migrated = tier_val(te, "migrated_bytes");
		sm->promoted = tier_val(te, "promoted_bytes");
		sm->cold_reads = tier_val(te, "cold_reads");
		sm->cold_bytes = tier_val(te, "cold_read_bytes");
		sm->pmem_bytes = tier_val(te, "pmem_bytes");
		sm->pmem_free = tier_val(te, "pmem_free");
		sm->tier_bytes = tier_val(te, "tier_bytes");
		sm->tier_free = tier_val(te, "tier_free");
		sm->queue = tier_val(te, "io_queue_depth");
		sm->migrating = tier_val(te, "migrating");
	}
	s->t = mono_now();
	s->wall = time(NULL);
	mounts_free(&ms);
	tier_free(&tier);
	if (r < 0) {
		r = report("stats", &e, r);
	} else if (only && !s->n) {
		fprintf(stderr, "%s: no ZUFS filesystem is mounted at %s\n",
			prog, only);
		r = EXIT_NO_MOUNT;
	} else {
		r = 0;	/* sd-bus's > 0 */
	}
	sd_bus_error_free(&e);
	return r;
}

/* The rates of one mount over an interval; < 0: unknown. */
struct rates {
	double ops, io, migrated, promoted, cold, cold_bytes;
	double pmem_pct, tier_pct;
};

/* per second; unknown without a previous sample or if it went back
 * (zusd restarted, the mount was remounted) */
static double rate(const struct sample_mount *prev, uint64_t now,
		   uint64_t then, double dt)
{
	if (!prev || now < then || dt <= 0)
		return -1;
	return (double)(now - then) / dt;
}

static double used_pct(uint64_t size, uint64_t free_b)
{
	if (!size)
		return -1;
	return 100.0 * (double)(free_b < size ? size - free_b : 0) /
	       (double)size;
}

static void get_rates(const struct sample_mount *m,
		      const struct sample_mount *p, double dt,
		      struct rates *r)
{
	const double mib = 1024.0 * 1024.0;

	r->ops = rate(p, m->ops, p ? p->ops : 0, dt);
	r->io = rate(p, m->bytes, p ? p->bytes : 0, dt);
	if (r->io >= 0)
		r->io /= mib;
	r->migrated = r->promoted = r->cold = r->cold_bytes = -1;
	r->pmem_pct = r->tier_pct = -1;
	if (!m->tier)
		return;
	if (p && !p->tier)
		p = NULL;
	r->migrated = rate(p, m->migrated, p ? p->migrated : 0, dt);
	r->promoted = rate(p, m->promoted, p ? p->promoted : 0, dt);
	r->cold = rate(p, m->cold_reads, p ? p->cold_reads : 0, dt);
	r->cold_bytes = rate(p, m->cold_bytes, p ? p->cold_bytes : 0, dt);
	if (r->migrated >= 0)
		r->migrated /= mib;
	if (r->promoted >= 0)
		r->promoted /= mib;
	if (r->cold_bytes >= 0)
		r->cold_bytes /= mib;
	r->pmem_pct = used_pct(m->pmem_bytes, m->pmem_free);
	r->tier_pct = used_pct(m->tier_bytes, m->tier_free);
}

static const struct sample_mount *find_sample(const struct sample *s,
					      const char *mountpoint)
{
	for (size_t i = 0; s && i < s->n; i++)
		if (!strcmp(s->m[i].mountpoint, mountpoint))
			return &s->m[i];
	return NULL;
}

/* "%.*f" of v into buf, or "-" when unknown */
static const char *fmt_rate(char *buf, size_t len, double v, int prec)
{
	if (v < 0)
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%.*f", prec, v);
	return buf;
}

static void json_rate(const char *key, double v)
{
	if (v < 0)
		printf(",\"%s\":null", key);
	else
		printf(",\"%s\":%.3f", key, v);
}

/* not a terminal: one line a mount a sample */
static void print_sample_lines(const struct sample *s,
			       const struct sample *prev)
{
	char tbuf[32], a[6][32];
	struct tm tm;

	localtime_r(&s->wall, &tm);
	strftime(tbuf, sizeof(tbuf), "%H:%M:%S", &tm);
	for (size_t i = 0; i < s->n; i++) {
		const struct sample_mount *m = &s->m[i];
		struct rates r;

		get_rates(m, find_sample(prev, m->mountpoint),
			  prev ? s->t - prev->t : 0, &r);
		printf("%s %s ops %s/s io %s MiB/s", tbuf, m->mountpoint,
		       fmt_rate(a[0], sizeof(a[0]), r.ops, 1),
		       fmt_rate(a[1], sizeof(a[1]), r.io, 2));
		if (m->tier)
			printf(" migrated %s MiB/s promoted %s MiB/s cold-reads %s/s %s MiB/s pmem %s%% tier %s%% queue %" PRIu64 "%s",
			       fmt_rate(a[2], sizeof(a[2]), r.migrated, 2),
			       fmt_rate(a[3], sizeof(a[3]), r.promoted, 2),
			       fmt_rate(a[4], sizeof(a[4]), r.cold, 1),
			       fmt_rate(a[5], sizeof(a[5]), r.cold_bytes, 2),
			       fmt_rate(a[0], sizeof(a[0]), r.pmem_pct, 0),
			       fmt_rate(a[1], sizeof(a[1]), r.tier_pct, 0),
			       m->queue, m->migrating ? " migrating" : "");
		putchar('\n');
	}
}

/* --json: one object a sample, a line each */
static void print_sample_json(const struct sample *s,
			      const struct sample *prev)
{
	printf("{\"time\":%lld,\"interval_s\":", (long long)s->wall);
	if (prev)
		printf("%.3f", s->t - prev->t);
	else
		printf("null");
	printf(",\"mounts\":[");
	for (size_t i = 0; i < s->n; i++) {
		const struct sample_mount *m = &s->m[i];
		struct rates r;

		get_rates(m, find_sample(prev, m->mountpoint),
			  prev ? s->t - prev->t : 0, &r);
		printf("%s{\"mountpoint\":", i ? "," : "");
		json_str(m->mountpoint);
		printf(",\"ops\":%" PRIu64 ",\"bytes\":%" PRIu64, m->ops,
		       m->bytes);
		json_rate("ops_per_sec", r.ops);
		json_rate("io_mib_per_sec", r.io);
		if (m->tier) {
			printf(",\"migrated_bytes\":%" PRIu64
			       ",\"promoted_bytes\":%" PRIu64
			       ",\"cold_reads\":%" PRIu64
			       ",\"cold_read_bytes\":%" PRIu64
			       ",\"io_queue_depth\":%" PRIu64
			       ",\"migrating\":%s", m->migrated, m->promoted,
			       m->cold_reads, m->cold_bytes, m->queue,
			       m->migrating ? "true" : "false");
			json_rate("migrated_mib_per_sec", r.migrated);
			json_rate("promoted_mib_per_sec", r.promoted);
			json_rate("cold_reads_per_sec", r.cold);
			json_rate("cold_read_mib_per_sec", r.cold_bytes);
		}
		printf("}");
	}
	printf("]}\n");
}

/* a terminal: the whole table redrawn in place, top of the screen */
static void draw_sample(const struct sample *s, const struct sample *prev,
			double interval, unsigned long k, bool first)
{
	char tbuf[32], a[8][32];
	struct tm tm;

	localtime_r(&s->wall, &tm);
	strftime(tbuf, sizeof(tbuf), "%H:%M:%S", &tm);
	/* home, and on the first frame a clear screen; every line ends
	 * with erase-to-end-of-line, the frame with erase-below */
	printf("%s\033[H", first ? "\033[2J" : "");
	printf("zufsctl stats --watch: every %.1f s, sample %lu, %s%s\033[K\n\033[K\n",
	       interval, k, tbuf, prev ? "" : " (rates after the first interval)");
	printf("%-20s %9s %9s %10s %10s %8s %10s %5s %5s %5s\033[K\n",
	       "MOUNTPOINT", "OPS/s", "IO MiB/s", "MIGR MiB/s", "PROM MiB/s",
	       "COLD/s", "COLD MiB/s", "PMEM", "TIER", "QUEUE");
	for (size_t i = 0; i < s->n; i++) {
		const struct sample_mount *m = &s->m[i];
		struct rates r;

		get_rates(m, find_sample(prev, m->mountpoint),
			  prev ? s->t - prev->t : 0, &r);
		if (r.pmem_pct >= 0)
			snprintf(a[6], sizeof(a[6]), "%.0f%%", r.pmem_pct);
		else
			snprintf(a[6], sizeof(a[6]), "-");
		if (r.tier_pct >= 0)
			snprintf(a[7], sizeof(a[7]), "%.0f%%", r.tier_pct);
		else
			snprintf(a[7], sizeof(a[7]), "-");
		printf("%-20s %9s %9s %10s %10s %8s %10s %5s %5s ",
		       m->mountpoint, fmt_rate(a[0], sizeof(a[0]), r.ops, 1),
		       fmt_rate(a[1], sizeof(a[1]), r.io, 2),
		       fmt_rate(a[2], sizeof(a[2]), r.migrated, 2),
		       fmt_rate(a[3], sizeof(a[3]), r.promoted, 2),
		       fmt_rate(a[4], sizeof(a[4]), r.cold, 1),
		       fmt_rate(a[5], sizeof(a[5]), r.cold_bytes, 2), a[6],
		       a[7]);
		if (m->tier)
			printf("%5" PRIu64 "%s", m->queue,
			       m->migrating ? " migrating" : "");
		else
			printf("%5s", "-");
		printf("\033[K\n");
	}
	if (!s->n)
		printf("no ZUFS filesystems mounted\033[K\n");
	printf("\033[J");
}

static volatile sig_atomic_t watch_stop;

static void on_stop(int sig)
{
	(void)sig;
	watch_stop = 1;
}

/*
 * zufsctl stats --watch: a sample now (the baseline), then one every
 * interval, scheduled from the start so it does not drift; rates are over
 * the interval before each sample.  SIGINT and SIGTERM are blocked but in
 * the wait (ppoll), so one arriving anywhere ends the wait at once.
 */
static int stats_watch(sd_bus *bus, const char *only,
		       const struct cmd_opts *o)
{
	struct sample cur = { 0 }, prev = { 0 };
	bool tty = !o->json && isatty(STDOUT_FILENO);
	struct sigaction sa = { .sa_handler = on_stop };
	sigset_t stop, old;
	double start;
	int r;

	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	sigprocmask(SIG_BLOCK, &stop, &old);
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	r = take_sample(bus, only, &prev);
	if (r)
		goto out;
	start = prev.t;
	if (tty) {
		draw_sample(&prev, NULL, o->interval, 0, true);
		fflush(stdout);
	}
	for (unsigned long k = 1; !o->count || k <= (unsigned long)o->count;
	     k++) {
		double left = start + (double)k * o->interval - mono_now();

		while (left > 0 && !watch_stop) {
			struct timespec ts = {
				.tv_sec = (time_t)left,
				.tv_nsec = (long)((left - (double)(time_t)left) *
						  1e9),
			};

			ppoll(NULL, 0, &ts, &old);
			left = start + (double)k * o->interval - mono_now();
		}
		if (watch_stop)
			break;
		r = take_sample(bus, only, &cur);
		if (r)
			goto out;
		if (tty)
			draw_sample(&cur, &prev, o->interval, k, false);
		else if (o->json)
			print_sample_json(&cur, &prev);
		else
			print_sample_lines(&cur, &prev);
		/* a pipe sees each sample as it comes */
		fflush(stdout);
		sample_free(&prev);
		prev = cur;
		memset(&cur, 0, sizeof(cur));
	}
	r = 0;
out:
	sample_free(&cur);
	sample_free(&prev);
	sigprocmask(SIG_SETMASK, &old, NULL);
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
		return stats_watch(bus, only, o);
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
