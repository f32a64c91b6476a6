// SPDX-License-Identifier: BSD-2-Clause
/*
 * tier_host.c - tier devices for a mount (see tier_host.h).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tier_host.h"
#include "errmsg.h"

/* Append s (len bytes) to the comma separated list *rest. */
static int rest_add(char **rest, size_t *used, const char *s, size_t len)
{
	char *p = realloc(*rest, *used + len + 2);

	if (!p)
		return -ENOMEM;
	*rest = p;
	if (*used)
		p[(*used)++] = ',';
	memcpy(p + *used, s, len);
	*used += len;
	p[*used] = 0;
	return 0;
}

/* tier=PATH[:PATH...]: add each path. */
static int add_paths(struct zusd_tier *t, const char *v, size_t len,
		     char *err, size_t errlen)
{
	const char *end = v + len;

	for (;;) {
		const char *colon = memchr(v, ':', (size_t)(end - v));
		size_t n = colon ? (size_t)(colon - v) : (size_t)(end - v);

		if (!n) {
			zus_set_err(err, errlen,
				"mount option tier=: empty path (tier=PATH, repeatable, or tier=PATH:PATH)");
			return -EINVAL;
		}
		if (t->ndev >= ZUSD_TIER_MAX) {
			zus_set_err(err, errlen, "more than %d tier devices given",
				ZUSD_TIER_MAX);
			return -E2BIG;
		}
		t->paths[t->ndev] = strndup(v, n);
		if (!t->paths[t->ndev]) {
			zus_set_err(err, errlen, "out of memory");
			return -ENOMEM;
		}
		t->dev[t->ndev].fd = -1;	/* the backend opens it O_DIRECT */
		t->dev[t->ndev].path = t->paths[t->ndev];
		t->ndev++;
		if (!colon)
			return 0;
		v = colon + 1;
	}
}

static int parse(struct zusd_tier *t, const char *opts, char *err,
		 size_t errlen)
{
	const char *p = opts;
	size_t used = 0;
	int ret;

	while (p && *p) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);

		if (len > 5 && !strncmp(p, "tier=", 5)) {
			ret = add_paths(t, p + 5, len - 5, err, errlen);
			if (ret)
				return ret;
		} else if (len >= 13 && !strncmp(p, "tier_backend=", 13)) {
			free(t->backend_name);
			t->backend_name = strndup(p + 13, len - 13);
			if (!t->backend_name) {
				zus_set_err(err, errlen, "out of memory");
				return -ENOMEM;
			}
			if (!*t->backend_name) {
				zus_set_err(err, errlen,
					"mount option tier_backend=: empty name (%s or %s)",
					ZUSD_TIER_DEF_BACKEND, ZUSD_TIER_FALLBACK);
				return -EINVAL;
			}
		} else if (len == 4 && !strncmp(p, "tier", 4)) {
			zus_set_err(err, errlen,
				"mount option tier needs a path: tier=PATH");
			return -EINVAL;
		} else if (len == 5 && !strncmp(p, "tier=", 5)) {
			zus_set_err(err, errlen,
				"mount option tier=: empty path (tier=PATH)");
			return -EINVAL;
		} else if (len) {
			if (rest_add(&t->options, &used, p, len)) {
				zus_set_err(err, errlen, "out of memory");
				return -ENOMEM;
			}
		}
		p = comma ? comma + 1 : NULL;
	}
	if (t->backend_name && !t->ndev) {
		zus_set_err(err, errlen,
			"tier_backend=%s given without a tier device (tier=PATH)",
			t->backend_name);
		return -EINVAL;
	}
	return 0;
}

static int load_plugin(struct zusd_tier *t, const char *plugin_dir,
		       char *err, size_t errlen)
{
	char first[512] = "";
	char *path;
	int ret;

	ret = zus_plugin_load(ZUSD_TIER_PLUGIN, &t->lp, first, sizeof(first));
	if (ret == -ENOENT && plugin_dir && *plugin_dir) {
		if (asprintf(&path, "%s/%s.so", plugin_dir,
			     ZUSD_TIER_PLUGIN) < 0) {
			zus_set_err(err, errlen, "out of memory");
			return -ENOMEM;
		}
		ret = zus_plugin_load(path, &t->lp, err, errlen);
		free(path);
		if (ret == -ENOENT)
			zus_set_err(err, errlen,
				"tier devices given but the tier plugin is not installed: %s (nor in %s); set ZUS_PLUGIN_PATH",
				first, plugin_dir);
	} else if (ret) {
		zus_set_err(err, errlen, "%s", first);
	}
	if (ret)
		return ret;
	t->loaded = true;
	return 0;
}

/* Can be attach the first tier device?  0 or -errno. */
static int try_attach(const struct zus_tier_backend *be,
		      struct zus_tier_dev *dev)
{
	void *ctx = NULL;
	int ret;

	if (!be->attach || !be->detach || !be->submit)
		return -ENOSYS;
	ret = be->attach(dev, 32, &ctx);
	if (!ret)
		be->detach(ctx);
	return ret > 0 ? -ret : ret;
}

static const char *plugin_name(const struct zusd_tier *t)
{
	if (t->lp.path)
		return t->lp.path;
	return t->lp.plugin && t->lp.plugin->name ? t->lp.plugin->name : "?";
}

static int pick_backend(struct zusd_tier *t, char *err, size_t errlen)
{
	const struct zus_tier_backend *be, *fb;
	int ret, ret2;

	if (t->backend_name) {
		be = zus_plugin_find_tier(&t->lp, 1, t->backend_name);
		if (!be) {
			zus_set_err(err, errlen,
				"tier_backend=%s: the tier plugin %s has no such backend (%s or %s)",
				t->backend_name, plugin_name(t),
				ZUSD_TIER_DEF_BACKEND, ZUSD_TIER_FALLBACK);
			return -EINVAL;
		}
		t->be = be;
		return 0;
	}
	be = zus_plugin_find_tier(&t->lp, 1, ZUSD_TIER_DEF_BACKEND);
	fb = zus_plugin_find_tier(&t->lp, 1, ZUSD_TIER_FALLBACK);
	ret = be ? try_attach(be, &t->dev[0]) : -ENOENT;
	if (!ret) {
		t->be = be;
		return 0;
	}
	ret2 = fb ? try_attach(fb, &t->dev[0]) : -ENOENT;
	if (!ret2) {
		t->be = fb;
		t->fell_back = be != NULL;
		return 0;
	}
	if (!be && !fb) {
		zus_set_err(err, errlen,
			"the tier plugin %s offers neither the %s nor the %s backend",
			plugin_name(t), ZUSD_TIER_DEF_BACKEND, ZUSD_TIER_FALLBACK);
		return -ENOENT;
	}
	ret = fb ? ret2 : ret;
	zus_set_err(err, errlen, "tier %s: cannot open it: %s%s", t->dev[0].path,
		strerror(-ret),
		ret == -ENOENT ? " (give the device or file the filesystem was made with: mkfs --tier PATH)" :
		ret == -ENODEV ? " (a tier must be a block device or a regular file)" :
		"");
	return ret;
}

/* @pl: a plugin the caller holds (never unloaded), else load "tier" */
static int tier_open(struct zusd_tier *t, const char *opts,
		     const char *plugin_dir, const struct zus_plugin *pl,
		     char *err, size_t errlen)
{
	int ret;

	memset(t, 0, sizeof(*t));
	ret = parse(t, opts, err, errlen);
	if (ret)
		goto fail;
	if (!t->ndev)
		return 0;
	if (pl)
		t->lp.plugin = pl;
	else
		ret = load_plugin(t, plugin_dir, err, errlen);
	if (ret)
		goto fail;
	ret = pick_backend(t, err, errlen);
	if (ret)
		goto fail;
	return 0;
fail:
	zusd_tier_release(t);
	return ret;
}

int zusd_tier_open(struct zusd_tier *t, const char *opts,
		   const char *plugin_dir, char *err, size_t errlen)
{
	return tier_open(t, opts, plugin_dir, NULL, err, errlen);
}

int zusd_tier_open_plugin(struct zusd_tier *t, const char *opts,
			  const struct zus_plugin *pl, char *err,
			  size_t errlen)
{
	return tier_open(t, opts, NULL, pl, err, errlen);
}

void zusd_tier_apply(struct zusd_tier *t, struct zus_sb *sb)
{
	sb->options = t->options;
	if (!t->ndev || !t->be)
		return;
	sb->ntier = t->ndev;
	sb->tier = t->dev;
	sb->tier_backend = t->be;
}

void zusd_tier_release(struct zusd_tier *t)
{
	if (t->loaded)
		zus_plugin_unload(&t->lp);
	for (unsigned int i = 0; i < t->ndev && i < ZUSD_TIER_MAX; i++)
		free(t->paths[i]);
	free(t->backend_name);
	free(t->options);
	memset(t, 0, sizeof(*t));
}

void zusd_tier_paths(const struct zusd_tier *t, char *buf, size_t len)
{
	size_t used = 0;

	if (!len)
		return;
	buf[0] = 0;
	for (unsigned int i = 0; i < t->ndev && used < len; i++) {
		int n = snprintf(buf + used, len - used, "%s%s", i ? ", " : "",
				 t->paths[i]);

		if (n < 0)
			break;
		used += (size_t)n;
	}
}

bool zusd_tier_mount_hint(const struct zusd_tier *t, const char *dev,
			  int err, char *buf, size_t len)
{
	char paths[512];

	if (!dev)
		dev = "the device";
	zusd_tier_paths(t, paths, sizeof(paths));
	if (err == -ENODEV && !t->ndev) {
		snprintf(buf, len,
			 "%s: its filesystem keeps data on a tier device (UUID and mkfs path above);\n"
			 "  mount it with -o tier=PATH, PATH being the device or file given to mkfs --tier",
			 dev);
		return true;
	}
	if (err == -ENODEV) {
		snprintf(buf, len,
			 "%s: the tier device given (%s) is not its filesystem's tier (UUID and mkfs path above);\n"
			 "  pass the one it was made with: -o tier=PATH",
			 dev, paths);
		return true;
	}
	if (err == -ESTALE && t->ndev) {
		snprintf(buf, len,
			 "%s: the tier device given (%s) belongs to another filesystem (see above);\n"
			 "  pass this filesystem's own tier: -o tier=PATH",
			 dev, paths);
		return true;
	}
	return false;
}
