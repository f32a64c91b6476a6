// SPDX-License-Identifier: BSD-2-Clause
/*
 * manager.c - zufsctl's side of org.zufs.Manager1 (manager.h): opening the
 * bus, reporting errors, and reading Mounts, GetStats and GetTierStatus.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>

#include "manager.h"
#include "zufsctl.h"

#define ERR_NO_SUCH_MOUNT	"org.zufs.Manager1.Error.NoSuchMount"

/* ---- errors ----------------------------------------------------------- */

int report(const char *what, const sd_bus_error *e, int r)
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

int open_bus(sd_bus **bus)
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

void mounts_free(struct mounts *ms)
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

int get_mounts(sd_bus *bus, struct mounts *ms, sd_bus_error *e)
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

void stats_free(struct stats *st)
{
	for (size_t i = 0; i < st->n; i++)
		free(st->op[i].name);
	free(st->op);
	st->op = NULL;
	st->n = 0;
}

int get_stats(sd_bus *bus, const char *mountpoint, struct stats *st,
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
uint64_t percentile(const struct op_stats *o, double pct)
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

void tier_free(struct tier *t)
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

int get_tier(sd_bus *bus, struct tier *t, sd_bus_error *e)
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

const struct tier_entry *find_tier(const struct tier *t,
				   const char *mountpoint)
{
	for (size_t i = 0; i < t->n; i++)
		if (!strcmp(t->t[i].mountpoint, mountpoint))
			return &t->t[i];
	return NULL;
}

/* A tier counter by name: its value, 0 if zusd did not send it. */
uint64_t tier_val(const struct tier_entry *te, const char *name)
{
	for (size_t i = 0; i < te->n; i++)
		if (!strcmp(te->c[i].name, name))
			return te->c[i].v;
	return 0;
}

const char *tier_str(const struct tier_entry *te, const char *name)
{
	for (size_t i = 0; i < te->n; i++)
		if (!strcmp(te->c[i].name, name) && te->c[i].str)
			return te->c[i].str;
	return "-";
}
