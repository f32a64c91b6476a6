// SPDX-License-Identifier: BSD-2-Clause
/*
 * mtab.c - the mount table's serialised form and mountinfo lookup (see
 * mtab.h).
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mtab.h"

#define _cleanup_(f)	__attribute__((cleanup(f)))

static inline void freep(void *p)
{
	free(*(void **)p);
}

static inline void fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
}

static const char *const origin_names[ZUSD_MT_NORIGIN] = {
	[ZUSD_MT_CONFIG] = "config",
	[ZUSD_MT_DBUS] = "dbus",
	[ZUSD_MT_KERNEL] = "kernel",
	[ZUSD_MT_CMDLINE] = "cmdline",
};

const char *zusd_mt_origin_name(enum zusd_mt_origin o)
{
	return (unsigned int)o < ZUSD_MT_NORIGIN ? origin_names[o] : NULL;
}

static void entry_free(struct zusd_mt_entry *e)
{
	free(e->transport);
	free(e->fstype);
	free(e->device);
	free(e->mountpoint);
	free(e->options);
	memset(e, 0, sizeof(*e));
}

void zusd_mtab_free(struct zusd_mtab *t)
{
	for (size_t i = 0; i < t->n; i++)
		entry_free(&t->e[i]);
	free(t->e);
	t->e = NULL;
	t->n = 0;
}

int zusd_mtab_add(struct zusd_mtab *t, const char *transport,
		  enum zusd_mt_origin origin, const char *fstype,
		  const char *device, const char *mountpoint,
		  const char *options)
{
	const char *f[5] = { transport, fstype, device, mountpoint, options };
	struct zusd_mt_entry *e;

	if (t->n >= ZUSD_MTAB_MAX_MOUNTS || (unsigned int)origin >= ZUSD_MT_NORIGIN)
		return -E2BIG;
	for (int i = 0; i < 5; i++)
		if (f[i] && strlen(f[i]) > ZUSD_MTAB_MAX_FIELD)
			return -E2BIG;
	e = realloc(t->e, (t->n + 1) * sizeof(*e));
	if (!e)
		return -ENOMEM;
	t->e = e;
	e += t->n;
	memset(e, 0, sizeof(*e));
	e->origin = origin;
	e->transport = strdup(transport ? transport : "");
	e->fstype = strdup(fstype ? fstype : "");
	e->device = strdup(device ? device : "");
	e->mountpoint = strdup(mountpoint ? mountpoint : "");
	e->options = strdup(options ? options : "");
	if (!e->transport || !e->fstype || !e->device || !e->mountpoint ||
	    !e->options) {
		entry_free(e);
		return -ENOMEM;
	}
	t->n++;
	return 0;
}

/* ---- formatting -------------------------------------------------------- */

struct buf {
	char *p;
	size_t len, cap;
	bool oom;
};

static void buf_put(struct buf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = (b->len + n + 1) * 2;
		char *p = realloc(b->p, cap);

		if (!p) {
			b->oom = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void buf_printf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void buf_printf(struct buf *b, const char *fmt, ...)
{
	char tmp[64];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n > 0)
		buf_put(b, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

static void buf_field(struct buf *b, const char *s)
{
	buf_put(b, " ", 1);
	if (!*s) {
		buf_put(b, "-", 1);
		return;
	}
	if (!strcmp(s, "-")) {
		buf_put(b, "\\055", 4);
		return;
	}
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c <= ' ' || c == 0x7f || c == '\\')
			buf_printf(b, "\\%03o", c);
		else
			buf_put(b, s, 1);
	}
}

char *zusd_mtab_format(const struct zusd_mtab *t, size_t *len)
{
	struct buf b = { 0 };

	buf_printf(&b, "%s %d\n", ZUSD_MTAB_MAGIC, ZUSD_MTAB_VERSION);
	for (size_t i = 0; i < t->n; i++) {
		const struct zusd_mt_entry *e = &t->e[i];

		buf_put(&b, "mount", 5);
		buf_field(&b, e->transport);
		buf_field(&b, zusd_mt_origin_name(e->origin));
		buf_field(&b, e->fstype);
		buf_field(&b, e->device);
		buf_field(&b, e->mountpoint);
		buf_field(&b, e->options);
		buf_put(&b, "\n", 1);
	}
	buf_printf(&b, "end %zu\n", t->n);
	if (b.oom) {
		free(b.p);
		return NULL;
	}
	*len = b.len;
	return b.p;
}

/* ---- parsing ----------------------------------------------------------- */

static int bad(char *err, size_t errlen, unsigned int line, const char *fmt,
	       ...) __attribute__((format(printf, 4, 5)));
static int bad(char *err, size_t errlen, unsigned int line, const char *fmt,
	       ...)
{
	char why[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	snprintf(err, errlen, "line %u: %s", line, why);
	return -EBADMSG;
}

/*
 * Unescape one field [s, s + n) into a new string.  NULL with *bad set if
 * it is malformed; NULL without it on ENOMEM.
 */
static char *unescape(const char *s, size_t n, bool *badf)
{
	char *out, *o;

	*badf = false;
	if (!n || n > 4 * ZUSD_MTAB_MAX_FIELD) {
		*badf = true;
		return NULL;
	}
	if (n == 1 && s[0] == '-')
		return strdup("");
	out = o = malloc(n + 1);
	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\\') {
			unsigned int v = 0;

			if (i + 3 >= n)	/* fewer than three digits left */
				goto fail;
			for (int k = 1; k <= 3; k++) {
				if (s[i + k] < '0' || s[i + k] > '7')
					goto fail;
				v = v * 8 + (unsigned int)(s[i + k] - '0');
			}
			if (!v || v > 0xff)	/* no NULs inside a string */
				goto fail;
			*o++ = (char)v;
			i += 3;
		} else if (c <= ' ' || c == 0x7f) {
			goto fail;
		} else {
			*o++ = (char)c;
		}
	}
	*o = '\0';
	if ((size_t)(o - out) > ZUSD_MTAB_MAX_FIELD)
		goto fail;
	return out;
fail:
	free(out);
	*badf = true;
	return NULL;
}

/* Split line [s, s + n) at single spaces into at most max fields. */
static int split(const char *s, size_t n, const char **f, size_t *fl,
		 int max)
{
	int k = 0;
	size_t start = 0;

	for (size_t i = 0; i <= n; i++) {
		if (i < n && s[i] != ' ')
			continue;
		if (k == max)
			return -1;
		f[k] = s + start;
		fl[k] = i - start;
		if (!fl[k])
			return -1;	/* two spaces, or a leading/trailing one */
		k++;
		start = i + 1;
	}
	return k;
}

int zusd_mtab_parse(const char *buf, size_t len, struct zusd_mtab *out,
		    char *err, size_t errlen)
{
	struct zusd_mtab t = { 0 };
	unsigned int line = 0;
	size_t pos = 0;
	bool ended = false;
	int ret;

	memset(out, 0, sizeof(*out));
	if (len > ZUSD_MTAB_MAX_BYTES) {
		snprintf(err, errlen, "%zu bytes: larger than %u", len,
			 ZUSD_MTAB_MAX_BYTES);
		return -E2BIG;
	}
	if (!len)
		return bad(err, errlen, 0, "empty");
	if (memchr(buf, '\0', len))
		return bad(err, errlen, 0, "contains a NUL byte");
	if (buf[len - 1] != '\n')
		return bad(err, errlen, 0, "truncated (no final newline)");

	while (pos < len) {
		const char *s = buf + pos, *nl = memchr(s, '\n', len - pos);
		size_t n = (size_t)(nl - s);
		const char *f[8];
		size_t fl[8];
		int nf;

		line++;
		pos += n + 1;
		if (ended) {
			ret = bad(err, errlen, line, "data after the end record");
			goto fail;
		}
		nf = split(s, n, f, fl, 8);
		if (nf < 1) {
			ret = bad(err, errlen, line, "malformed line");
			goto fail;
		}
		if (line == 1) {
			char ver[16];

			if (nf != 2 || fl[0] != strlen(ZUSD_MTAB_MAGIC) ||
			    memcmp(f[0], ZUSD_MTAB_MAGIC, fl[0])) {
				ret = bad(err, errlen, line, "not a zusd mount table");
				goto fail;
			}
			snprintf(ver, sizeof(ver), "%d", ZUSD_MTAB_VERSION);
			if (fl[1] != strlen(ver) || memcmp(f[1], ver, fl[1])) {
				ret = bad(err, errlen, line,
					  "version %.*s, this zusd reads %s",
					  (int)(fl[1] < 10 ? fl[1] : 10), f[1], ver);
				goto fail;
			}
			continue;
		}
		if (nf == 2 && fl[0] == 3 && !memcmp(f[0], "end", 3)) {
			char num[24], *end;
			unsigned long v;

			if (fl[1] >= sizeof(num)) {
				ret = bad(err, errlen, line, "bad count");
				goto fail;
			}
			memcpy(num, f[1], fl[1]);
			num[fl[1]] = '\0';
			errno = 0;
			v = strtoul(num, &end, 10);
			if (*end || errno || num[0] < '0' || num[0] > '9' ||
			    v != t.n) {
				ret = bad(err, errlen, line,
					  "end record says %s mounts, %zu read",
					  num, t.n);
				goto fail;
			}
			ended = true;
			continue;
		}
		if (nf != 7 || fl[0] != 5 || memcmp(f[0], "mount", 5)) {
			ret = bad(err, errlen, line, "not a mount record");
			goto fail;
		}
		{
			char *v[6] = { 0 };
			bool badf = false;
			int origin = -1;

			for (int i = 0; i < 6 && !badf; i++) {
				v[i] = unescape(f[i + 1], fl[i + 1], &badf);
				if (!v[i] && !badf) {
					for (int k = 0; k < i; k++)
						free(v[k]);
					ret = -ENOMEM;
					snprintf(err, errlen, "out of memory");
					goto fail;
				}
			}
			for (int o = 0; !badf && o < ZUSD_MT_NORIGIN; o++)
				if (!strcmp(v[1], origin_names[o]))
					origin = o;
			if (badf || origin < 0 || (strcmp(v[0], "zuf") &&
						   strcmp(v[0], "fuse")) ||
			    !*v[2] || !*v[3]) {
				for (int k = 0; k < 6; k++)
					free(v[k]);
				ret = bad(err, errlen, line, "bad field in a mount record");
				goto fail;
			}
			ret = zusd_mtab_add(&t, v[0], (enum zusd_mt_origin)origin,
					    v[2], v[3], v[4], v[5]);
			for (int k = 0; k < 6; k++)
				free(v[k]);
			if (ret) {
				if (ret == -E2BIG)
					ret = bad(err, errlen, line,
						  "more than %u mounts",
						  ZUSD_MTAB_MAX_MOUNTS);
				else
					snprintf(err, errlen, "out of memory");
				goto fail;
			}
		}
	}
	if (!ended) {
		ret = bad(err, errlen, line, "truncated (no end record)");
		goto fail;
	}
	*out = t;
	return 0;
fail:
	zusd_mtab_free(&t);
	return ret;
}

/* ---- /proc/self/mountinfo ---------------------------------------------- */

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void mi_unescape(char *s)
{
	char *o = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' &&
		    s[2] >= '0' && s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
			*o++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 +
				      (s[3] - '0'));
			s += 3;
		} else {
			*o++ = *s;
		}
	}
	*o = '\0';
}

int zusd_mountinfo_find(const char *path, const char *fstype,
			const char *device, char *out, size_t outlen)
{
	_cleanup_(fclosep) FILE *f = fopen(path ? path : "/proc/self/mountinfo",
					   "re");
	_cleanup_(freep) char *line = NULL;
	_cleanup_(freep) char *real_dev = NULL;
	size_t cap = 0;

	if (!f)
		return -errno;
	real_dev = realpath(device, NULL);
	while (getline(&line, &cap, f) > 0) {
		char *save = NULL, *tok, *mp = NULL, *type = NULL, *src = NULL;
		int field = 0;
		bool sep = false;

		line[strcspn(line, "\n")] = '\0';
		for (tok = strtok_r(line, " ", &save); tok;
		     tok = strtok_r(NULL, " ", &save), field++) {
			if (field == 4) {
				mp = tok;
			} else if (field > 5 && !sep) {
				sep = !strcmp(tok, "-");
			} else if (sep && !type) {
				type = tok;
			} else if (sep && !src) {
				src = tok;
				break;
			}
		}
		if (!mp || !type || !src || strcmp(type, fstype))
			continue;
		mi_unescape(src);
		if (strcmp(src, device)) {
			_cleanup_(freep) char *real_src = NULL;

			if (!real_dev || src[0] != '/')
				continue;
			real_src = realpath(src, NULL);
			if (!real_src || strcmp(real_src, real_dev))
				continue;
		}
		mi_unescape(mp);
		if (strlen(mp) >= outlen)
			return -ENAMETOOLONG;
		memcpy(out, mp, strlen(mp) + 1);
		return 0;
	}
	return -ENOENT;
}
