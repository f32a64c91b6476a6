// SPDX-License-Identifier: BSD-2-Clause
/*
 * config.c - reading and validating zusd.conf (see config.h).
 *
 * iniparser keeps no line numbers, so the file is read twice: scan() walks
 * it line by line with iniparser's own rules (comments, "[section]",
 * "key = value", backslash continuation, 1023-character lines, names folded
 * to lower case), rejects what iniparser would reject or silently merge
 * (syntax errors, keys outside a section, a section or key given twice) and
 * what zusd does not know (sections, keys), and records where each key is.
 * iniparser then loads the file and every value is looked up there and
 * checked in file order, so the first error reported is the first in the
 * file.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zufs/zus.h>

#ifdef HAVE_INIPARSER_INIPARSER_H
#include <iniparser/iniparser.h>
#else
#include <iniparser.h>
#endif

#include "config.h"

#define INI_LINE_MAX	1024	/* iniparser's ASCIILINESZ */

static inline void freep(void *p)
{
	free(*(void **)p);
}

static inline void fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
}

static inline void iniparser_freedictp(dictionary **d)
{
	if (*d)
		iniparser_freedict(*d);
}

#define _cleanup_(f)		__attribute__((cleanup(f)))
#define _cleanup_free_		_cleanup_(freep)
#define _cleanup_fclose_	_cleanup_(fclosep)

/* ---- the schema ------------------------------------------------------- */

enum sec_kind { SEC_ZUSD, SEC_LOG, SEC_TIER, SEC_MOUNT };

static const char *const sec_keys[][5] = {
	[SEC_ZUSD] = { "plugins", "transport", "threads_per_cpu", "spin_us" },
	[SEC_LOG] = { "level", "target" },
	[SEC_TIER] = { "low_watermark", "high_watermark", "queue_depth",
		       "batch_size" },
	[SEC_MOUNT] = { "device", "mountpoint", "type", "options" },
};

static const char *const transport_names[] = {
	[ZUSD_TRANSPORT_AUTO] = "auto",
	[ZUSD_TRANSPORT_ZUF] = "zuf",
	[ZUSD_TRANSPORT_FUSE] = "fuse",
};

static const char *const log_target_names[] = {
	[ZUSD_LOG_TARGET_AUTO] = "auto",
	[ZUSD_LOG_TARGET_JOURNAL] = "journal",
	[ZUSD_LOG_TARGET_STDERR] = "stderr",
};

static const struct {
	const char *name;
	int level;
} log_levels[] = {
	{ "err", ZUS_LOG_ERR },
	{ "warning", ZUS_LOG_WARNING },
	{ "notice", ZUS_LOG_NOTICE },
	{ "info", ZUS_LOG_INFO },
	{ "debug", ZUS_LOG_DEBUG },
};

const char *zusd_transport_kind_name(enum zusd_transport_kind t)
{
	return (unsigned int)t < 3 ? transport_names[t] : "?";
}

const char *zusd_log_target_name(enum zusd_log_target t)
{
	return (unsigned int)t < 3 ? log_target_names[t] : "?";
}

const char *zusd_log_level_name(int level)
{
	for (size_t i = 0; i < sizeof(log_levels) / sizeof(log_levels[0]); i++)
		if (log_levels[i].level == level)
			return log_levels[i].name;
	return "?";
}

/* ---- the line-aware scan ---------------------------------------------- */

struct scan_sec {
	char *name;		/* lower case, as iniparser stores it */
	enum sec_kind kind;
	int line;
	size_t mount;		/* SEC_MOUNT: index in c->mounts */
};

struct scan_key {
	size_t sec;		/* index in sections */
	char *key;		/* lower case */
	int line;
};

struct scan {
	const char *path;
	char *err;
	size_t errlen;
	struct scan_sec *secs;
	size_t nsecs;
	struct scan_key *keys;
	size_t nkeys;
};

static void scan_free(struct scan *s)
{
	for (size_t i = 0; i < s->nsecs; i++)
		free(s->secs[i].name);
	for (size_t i = 0; i < s->nkeys; i++)
		free(s->keys[i].key);
	free(s->secs);
	free(s->keys);
}

static int __attribute__((format(printf, 4, 5)))
fail(struct scan *s, int line, int ret, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (line > 0)
		n = snprintf(s->err, s->errlen, "%s:%d: ", s->path, line);
	else
		n = snprintf(s->err, s->errlen, "%s: ", s->path);
	if (n < 0 || (size_t)n >= s->errlen)
		return ret;
	va_start(ap, fmt);
	vsnprintf(s->err + n, s->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return ret;
}

static char *strip(char *p)
{
	char *e;

	while (isspace((unsigned char)*p))
		p++;
	e = p + strlen(p);
	while (e > p && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return p;
}

static void lower(char *p)
{
	for (; *p; p++)
		*p = (char)tolower((unsigned char)*p);
}

static bool valid_mount_name(const char *n)
{
	if (!*n)
		return false;
	for (; *n; n++)
		if (!isalnum((unsigned char)*n) && *n != '_' && *n != '-')
			return false;
	return true;
}

static int scan_section(struct scan *s, struct zusd_config *c, char *name,
			int line)
{
	struct scan_sec *sec;
	enum sec_kind kind;
	char shown[INI_LINE_MAX];

	snprintf(shown, sizeof(shown), "%s", name);	/* as written */
	lower(name);
	if (!strcmp(name, "zusd")) {
		kind = SEC_ZUSD;
	} else if (!strcmp(name, "log")) {
		kind = SEC_LOG;
	} else if (!strcmp(name, "tier")) {
		kind = SEC_TIER;
	} else if (!strncmp(name, "mount.", 6)) {
		if (!valid_mount_name(name + 6))
			return fail(s, line, -EINVAL,
				    "bad section name [%s]: a mount section is [mount.NAME], NAME made of letters, digits, '_' and '-'",
				    shown);
		kind = SEC_MOUNT;
	} else {
		return fail(s, line, -EINVAL,
			    "unknown section [%s] (known: [zusd], [log], [tier], [mount.NAME])",
			    shown);
	}
	for (size_t i = 0; i < s->nsecs; i++)
		if (!strcmp(s->secs[i].name, name))
			return fail(s, line, -EINVAL,
				    "section [%s] already given at line %d",
				    shown, s->secs[i].line);

	sec = realloc(s->secs, (s->nsecs + 1) * sizeof(*sec));
	if (!sec)
		return fail(s, line, -ENOMEM, "out of memory");
	s->secs = sec;
	sec += s->nsecs;
	memset(sec, 0, sizeof(*sec));
	sec->name = strdup(name);
	if (!sec->name)
		return fail(s, line, -ENOMEM, "out of memory");
	sec->kind = kind;
	sec->line = line;
	s->nsecs++;

	if (kind == SEC_MOUNT) {
		struct zusd_conf_mount *m;

		m = realloc(c->mounts, (c->nmounts + 1) * sizeof(*m));
		if (!m)
			return fail(s, line, -ENOMEM, "out of memory");
		c->mounts = m;
		m += c->nmounts;
		memset(m, 0, sizeof(*m));
		m->line = line;
		m->name = strdup(name + 6);
		if (!m->name)
			return fail(s, line, -ENOMEM, "out of memory");
		sec->mount = c->nmounts++;
	}
	return 0;
}

static int scan_key(struct scan *s, char *key, int line)
{
	const struct scan_sec *sec;
	struct scan_key *k;
	bool known = false;
	char known_list[128] = "";
	char shown[INI_LINE_MAX];

	snprintf(shown, sizeof(shown), "%s", key);	/* as written */
	lower(key);
	if (!*key)
		return fail(s, line, -EINVAL, "syntax error: no key before '='");
	if (!s->nsecs)
		return fail(s, line, -EINVAL,
			    "key '%s' outside of any section (start with [zusd])",
			    shown);
	sec = &s->secs[s->nsecs - 1];
	for (size_t i = 0; i < 5 && sec_keys[sec->kind][i]; i++) {
		const char *n = sec_keys[sec->kind][i];

		if (!strcmp(n, key))
			known = true;
		snprintf(known_list + strlen(known_list),
			 sizeof(known_list) - strlen(known_list), "%s%s",
			 i ? ", " : "", n);
	}
	if (!known)
		return fail(s, line, -EINVAL,
			    "unknown key '%s' in [%s] (known: %s)", shown,
			    sec->name, known_list);
	for (size_t i = 0; i < s->nkeys; i++)
		if (s->keys[i].sec == s->nsecs - 1 &&
		    !strcmp(s->keys[i].key, key))
			return fail(s, line, -EINVAL,
				    "key '%s' in [%s] already set at line %d",
				    key, sec->name, s->keys[i].line);

	k = realloc(s->keys, (s->nkeys + 1) * sizeof(*k));
	if (!k)
		return fail(s, line, -ENOMEM, "out of memory");
	s->keys = k;
	k += s->nkeys;
	k->sec = s->nsecs - 1;
	k->line = line;
	k->key = strdup(key);
	if (!k->key)
		return fail(s, line, -ENOMEM, "out of memory");
	s->nkeys++;
	return 0;
}

/* One logical line (continuations joined), as iniparser_line() sees it. */
static int scan_line(struct scan *s, struct zusd_config *c, char *raw,
		     int line)
{
	char *p = strip(raw);
	size_t len = strlen(p);
	char *eq;

	if (!len || *p == '#' || *p == ';')
		return 0;
	if (*p == '[') {
		char *close = strchr(p, ']');

		if (!close || close != p + len - 1)
			return fail(s, line, -EINVAL,
				    "syntax error: a section header is [name] alone on its line");
		*close = '\0';
		return scan_section(s, c, strip(p + 1), line);
	}
	eq = strchr(p, '=');
	if (!eq)
		return fail(s, line, -EINVAL,
			    "syntax error: expected [section] or key = value");
	*eq = '\0';
	return scan_key(s, strip(p), line);
}

static int scan_file(struct scan *s, struct zusd_config *c, FILE *f)
{
	char buf[INI_LINE_MAX];
	size_t last = 0;
	int lineno = 0, start = 0;

	while (fgets(buf + last, (int)(sizeof(buf) - last), f)) {
		size_t len = strlen(buf);
		int r;

		lineno++;
		if (!last)
			start = lineno;
		if (len && buf[len - 1] != '\n' && !feof(f))
			return fail(s, lineno, -EINVAL,
				    "line too long (at most %d characters)",
				    INI_LINE_MAX - 2);
		while (len && isspace((unsigned char)buf[len - 1]))
			buf[--len] = '\0';
		if (len && buf[len - 1] == '\\') {
			/* continued: the next line overwrites the '\' */
			last = len - 1;
			continue;
		}
		last = 0;
		r = scan_line(s, c, buf, start);
		if (r)
			return r;
	}
	if (ferror(f))
		return fail(s, 0, -EIO, "read error");
	if (last)
		return fail(s, start, -EINVAL,
			    "syntax error: the last line ends with '\\'");
	return 0;
}

/* ---- values ----------------------------------------------------------- */

static int get_uint(struct scan *s, const char *key, const char *v, int line,
		    unsigned int min, unsigned int max, unsigned int *out)
{
	unsigned long n;
	char *end;

	if (!*v)
		return fail(s, line, -EINVAL,
			    "%s: empty value (a number from %u to %u)", key,
			    min, max);
	errno = 0;
	if (!isdigit((unsigned char)*v))
		goto bad;
	n = strtoul(v, &end, 10);
	if (*end)
		goto bad;
	if (errno || n < min || n > max)
		return fail(s, line, -ERANGE,
			    "%s: %s is out of range (%u to %u)", key, v, min,
			    max);
	*out = (unsigned int)n;
	return 0;
bad:
	return fail(s, line, -EINVAL,
		    "%s: '%s' is not a number (expected %u to %u)", key, v,
		    min, max);
}

static int get_choice(struct scan *s, const char *key, const char *v,
		      int line, const char *const *names, size_t n, int *out)
{
	char list[128] = "";

	for (size_t i = 0; i < n; i++) {
		if (!strcmp(v, names[i])) {
			*out = (int)i;
			return 0;
		}
		snprintf(list + strlen(list), sizeof(list) - strlen(list),
			 "%s%s", i ? ", " : "", names[i]);
	}
	return fail(s, line, -EINVAL, "%s: '%s' is not one of %s", key, v,
		    list);
}

static int get_log_level(struct scan *s, const char *v, int line, int *out)
{
	const char *names[sizeof(log_levels) / sizeof(log_levels[0])];
	int i, r;

	for (i = 0; i < (int)(sizeof(names) / sizeof(names[0])); i++)
		names[i] = log_levels[i].name;
	r = get_choice(s, "level", v, line, names, (size_t)i, &i);
	if (!r)
		*out = log_levels[i].level;
	return r;
}

static bool valid_plugin_name(const char *n)
{
	for (; *n; n++)
		if (!isalnum((unsigned char)*n) && !strchr("_-.+/", *n))
			return false;
	return true;
}

static int get_plugins(struct scan *s, struct zusd_config *c, const char *v,
		       int line)
{
	_cleanup_free_ char *copy = strdup(v);
	char *save = NULL, *tok;

	if (!copy)
		return fail(s, line, -ENOMEM, "out of memory");
	for (size_t i = 0; i < c->nplugins; i++)
		free(c->plugins[i]);
	c->nplugins = 0;

	for (tok = strtok_r(copy, ", \t", &save); tok;
	     tok = strtok_r(NULL, ", \t", &save)) {
		char **p;

		if (!valid_plugin_name(tok))
			return fail(s, line, -EINVAL,
				    "plugins: '%s' is not a plugin name or path",
				    tok);
		for (size_t i = 0; i < c->nplugins; i++)
			if (!strcmp(c->plugins[i], tok))
				return fail(s, line, -EINVAL,
					    "plugins: '%s' is listed twice",
					    tok);
		p = realloc(c->plugins, (c->nplugins + 1) * sizeof(*p));
		if (!p)
			return fail(s, line, -ENOMEM, "out of memory");
		c->plugins = p;
		p[c->nplugins] = strdup(tok);
		if (!p[c->nplugins])
			return fail(s, line, -ENOMEM, "out of memory");
		c->nplugins++;
	}
	if (!c->nplugins)
		return fail(s, line, -EINVAL,
			    "plugins: empty list (name at least one plugin, e.g. pmfs2)");
	return 0;
}

static int set_str(struct scan *s, char **dst, const char *v, int line)
{
	free(*dst);
	*dst = strdup(v);
	return *dst ? 0 : fail(s, line, -ENOMEM, "out of memory");
}

static int get_path(struct scan *s, const char *key, const char *v, int line,
		    char **dst)
{
	if (v[0] != '/')
		return fail(s, line, -EINVAL,
			    "%s: '%s' is not an absolute path", key, v);
	if (strlen(v) >= PATH_MAX)
		return fail(s, line, -ENAMETOOLONG, "%s: path too long", key);
	return set_str(s, dst, v, line);
}

static int apply_key(struct scan *s, struct zusd_config *c,
		     const struct scan_key *k, const char *v)
{
	const struct scan_sec *sec = &s->secs[k->sec];
	const char *key = k->key;
	int line = k->line, r = 0, i;

	switch (sec->kind) {
	case SEC_ZUSD:
		if (!strcmp(key, "plugins"))
			return get_plugins(s, c, v, line);
		if (!strcmp(key, "transport")) {
			r = get_choice(s, key, v, line, transport_names, 3, &i);
			if (!r)
				c->transport = (enum zusd_transport_kind)i;
			return r;
		}
		if (!strcmp(key, "threads_per_cpu"))
			return get_uint(s, key, v, line, 1, 16,
					&c->threads_per_cpu);
		if (!strcmp(key, "spin_us"))
			return get_uint(s, key, v, line, 0, 100000,
					&c->spin_us);
		break;
	case SEC_LOG:
		if (!strcmp(key, "level"))
			return get_log_level(s, v, line, &c->log_level);
		if (!strcmp(key, "target")) {
			r = get_choice(s, key, v, line, log_target_names, 3,
				       &i);
			if (!r)
				c->log_target = (enum zusd_log_target)i;
			return r;
		}
		break;
	case SEC_TIER:
		if (!strcmp(key, "low_watermark"))
			return get_uint(s, key, v, line, 1, 99,
					&c->tier_low_watermark);
		if (!strcmp(key, "high_watermark"))
			return get_uint(s, key, v, line, 1, 99,
					&c->tier_high_watermark);
		if (!strcmp(key, "queue_depth"))
			return get_uint(s, key, v, line, 1, 4096,
					&c->tier_queue_depth);
		if (!strcmp(key, "batch_size"))
			return get_uint(s, key, v, line, 1, 4096,
					&c->tier_batch_size);
		break;
	case SEC_MOUNT: {
		struct zusd_conf_mount *m = &c->mounts[sec->mount];

		if (!strcmp(key, "device"))
			return get_path(s, key, v, line, &m->device);
		if (!strcmp(key, "mountpoint"))
			return get_path(s, key, v, line, &m->mountpoint);
		if (!strcmp(key, "type")) {
			if (!*v || !valid_plugin_name(v) || strchr(v, '/'))
				return fail(s, line, -EINVAL,
					    "type: '%s' is not a filesystem type name",
					    v);
			return set_str(s, &m->fstype, v, line);
		}
		if (!strcmp(key, "options"))
			return *v ? set_str(s, &m->options, v, line) : 0;
		break;
	}
	}
	return fail(s, line, -EINVAL, "internal error: key '%s' not handled",
		    key);
}

static int key_line(const struct scan *s, const char *secname,
		    const char *key)
{
	for (size_t i = 0; i < s->nkeys; i++)
		if (!strcmp(s->keys[i].key, key) &&
		    !strcmp(s->secs[s->keys[i].sec].name, secname))
			return s->keys[i].line;
	return 0;
}

static int check_all(struct scan *s, struct zusd_config *c)
{
	if (c->tier_low_watermark >= c->tier_high_watermark) {
		int line = key_line(s, "tier", "high_watermark");

		if (!line)
			line = key_line(s, "tier", "low_watermark");
		return fail(s, line, -EINVAL,
			    "low_watermark (%u%%) must be below high_watermark (%u%%)",
			    c->tier_low_watermark, c->tier_high_watermark);
	}
	if (c->tier_batch_size > c->tier_queue_depth) {
		int line = key_line(s, "tier", "batch_size");

		if (!line)
			line = key_line(s, "tier", "queue_depth");
		return fail(s, line, -EINVAL,
			    "batch_size (%u) must not exceed queue_depth (%u)",
			    c->tier_batch_size, c->tier_queue_depth);
	}
	for (size_t i = 0; i < c->nmounts; i++) {
		struct zusd_conf_mount *m = &c->mounts[i];

		if (!m->device)
			return fail(s, m->line, -EINVAL,
				    "[mount.%s] has no device = key", m->name);
		if (!m->mountpoint)
			return fail(s, m->line, -EINVAL,
				    "[mount.%s] has no mountpoint = key",
				    m->name);
		if (!m->fstype) {
			m->fstype = strdup("pmfs2");
			if (!m->fstype)
				return fail(s, m->line, -ENOMEM,
					    "out of memory");
		}
		for (size_t j = 0; j < i; j++)
			if (!strcmp(c->mounts[j].mountpoint, m->mountpoint))
				return fail(s, m->line, -EINVAL,
					    "[mount.%s]: %s is already the mountpoint of [mount.%s]",
					    m->name, m->mountpoint,
					    c->mounts[j].name);
	}
	return 0;
}

/* iniparser's own messages would go to stderr: keep them out. */
static int ini_quiet(const char *fmt, ...)
{
	return 0;
}

int zusd_config_defaults(struct zusd_config *c)
{
	memset(c, 0, sizeof(*c));
	c->plugins = calloc(1, sizeof(*c->plugins));
	if (!c->plugins)
		return -ENOMEM;
	c->plugins[0] = strdup(ZUSD_DEFAULT_PLUGINS);
	if (!c->plugins[0]) {
		free(c->plugins);
		c->plugins = NULL;
		return -ENOMEM;
	}
	c->nplugins = 1;
	c->transport = ZUSD_TRANSPORT_AUTO;
	c->threads_per_cpu = ZUSD_DEFAULT_THREADS_PER_CPU;
	c->spin_us = ZUSD_DEFAULT_SPIN_US;
	c->log_level = ZUSD_DEFAULT_LOG_LEVEL;
	c->log_target = ZUSD_LOG_TARGET_AUTO;
	c->tier_low_watermark = ZUSD_DEFAULT_TIER_LOW;
	c->tier_high_watermark = ZUSD_DEFAULT_TIER_HIGH;
	c->tier_queue_depth = ZUSD_DEFAULT_TIER_QUEUE_DEPTH;
	c->tier_batch_size = ZUSD_DEFAULT_TIER_BATCH;
	return 0;
}

void zusd_config_free(struct zusd_config *c)
{
	for (size_t i = 0; i < c->nplugins; i++)
		free(c->plugins[i]);
	free(c->plugins);
	for (size_t i = 0; i < c->nmounts; i++) {
		free(c->mounts[i].name);
		free(c->mounts[i].device);
		free(c->mounts[i].mountpoint);
		free(c->mounts[i].fstype);
		free(c->mounts[i].options);
	}
	free(c->mounts);
	free(c->path);
	memset(c, 0, sizeof(*c));
}

static int load(struct scan *s, struct zusd_config *c)
{
	_cleanup_fclose_ FILE *f = NULL;
	_cleanup_(iniparser_freedictp) dictionary *d = NULL;
	int r;

	f = fopen(s->path, "re");
	if (!f)
		return fail(s, 0, -errno, "%s", strerror(errno));
	r = scan_file(s, c, f);
	if (r)
		return r;

	iniparser_set_error_callback(ini_quiet);
	d = iniparser_load(s->path);
	iniparser_set_error_callback(NULL);
	if (!d)
		return fail(s, 0, -EIO, "iniparser could not load the file");

	for (size_t i = 0; i < s->nkeys; i++) {
		const struct scan_key *k = &s->keys[i];
		char lookup[INI_LINE_MAX * 2];
		const char *v;

		snprintf(lookup, sizeof(lookup), "%s:%s",
			 s->secs[k->sec].name, k->key);
		v = iniparser_getstring(d, lookup, NULL);
		if (!v)
			return fail(s, k->line, -EIO,
				    "iniparser did not read key '%s'", k->key);
		r = apply_key(s, c, k, v);
		if (r)
			return r;
	}
	return check_all(s, c);
}

int zusd_config_load(const char *path, struct zusd_config *c, char *err,
		     size_t errlen)
{
	struct scan s = {
		.path = path, .err = err, .errlen = errlen,
	};
	int r;

	if (errlen)
		err[0] = '\0';
	r = zusd_config_defaults(c);
	if (r)
		return fail(&s, 0, r, "out of memory");
	c->path = strdup(path);
	if (!c->path)
		r = fail(&s, 0, -ENOMEM, "out of memory");
	else
		r = load(&s, c);
	scan_free(&s);
	if (r)
		zusd_config_free(c);
	return r;
}
