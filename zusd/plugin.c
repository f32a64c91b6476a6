// SPDX-License-Identifier: BSD-2-Clause
/*
 * plugin.c - loading plugin shared objects (see plugin.h).
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "plugin.h"
#include "errmsg.h"

#ifndef PLUGINDIR
#define PLUGINDIR "/usr/local/lib/zufs"
#endif

/* Try dir/name.so: 0 and *path set if it exists, else -ENOENT. */
static int try_dir(const char *dir, size_t dirlen, const char *name,
		   char **path)
{
	char *p;

	if (!dirlen)
		return -ENOENT;
	if (asprintf(&p, "%.*s/%s.so", (int)dirlen, dir, name) < 0)
		return -ENOMEM;
	if (access(p, F_OK) == 0) {
		*path = p;
		return 0;
	}
	free(p);
	return -ENOENT;
}

static int find_plugin(const char *name, char **path)
{
	const char *env = getenv("ZUS_PLUGIN_PATH");
	int ret;

	if (env) {
		const char *p = env;

		for (;;) {
			const char *colon = strchr(p, ':');
			size_t len = colon ? (size_t)(colon - p) : strlen(p);

			ret = try_dir(p, len, name, path);
			if (ret != -ENOENT)
				return ret;
			if (!colon)
				break;
			p = colon + 1;
		}
	}
	return try_dir(PLUGINDIR, strlen(PLUGINDIR), name, path);
}

bool zus_plugin_abi_ok(uint32_t version)
{
	return version >= ZUS_PLUGIN_ABI_MIN && version <= ZUS_PLUGIN_ABI_VERSION;
}

/* Which versions we take, and what the plugin's builder should do. */
static void abi_err(const char *path, uint32_t version, char *err,
		    size_t errlen)
{
	bool newer = version > ZUS_PLUGIN_ABI_VERSION;

	zus_set_err(err, errlen,
		"plugin %s: built for plugin API version %u, %s; this zusd accepts versions %u to %u: %s against the SDK of zufs %s (libzus-dev, `pkg-config --cflags zus`, ZUS_PLUGIN_ABI_VERSION %u)",
		path, version, newer ? "newer than this zusd" : "too old",
		ZUS_PLUGIN_ABI_MIN, ZUS_PLUGIN_ABI_VERSION,
		newer ? "upgrade zusd, or rebuild the plugin" : "rebuild the plugin",
		PACKAGE_VERSION, ZUS_PLUGIN_ABI_VERSION);
}

int zus_plugin_load(const char *name_or_path, struct zus_loaded_plugin *out,
		    char *err, size_t errlen)
{
	const struct zus_plugin *pl;
	char *path = NULL;
	void *h;
	int ret;

	memset(out, 0, sizeof(*out));
	if (!name_or_path || !*name_or_path) {
		zus_set_err(err, errlen, "plugin: empty plugin name");
		return -EINVAL;
	}
	if (strchr(name_or_path, '/')) {
		path = strdup(name_or_path);
		if (!path) {
			zus_set_err(err, errlen, "plugin: out of memory");
			return -ENOMEM;
		}
	} else {
		ret = find_plugin(name_or_path, &path);
		if (ret) {
			zus_set_err(err, errlen,
				"plugin %s: %s.so not found in ZUS_PLUGIN_PATH (%s) nor in %s",
				name_or_path, name_or_path,
				getenv("ZUS_PLUGIN_PATH") ?: "unset", PLUGINDIR);
			return ret;
		}
	}

	dlerror();
	h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		const char *e = dlerror();

		zus_set_err(err, errlen, "plugin %s: cannot load: %s", path,
			e ? e : "unknown dlopen error");
		ret = access(path, F_OK) ? -ENOENT : -ENOEXEC;
		goto fail;
	}
	pl = dlsym(h, ZUS_PLUGIN_SYMBOL);
	if (!pl) {
		zus_set_err(err, errlen,
			"plugin %s: no symbol '%s': not a zufs plugin", path,
			ZUS_PLUGIN_SYMBOL);
		ret = -ENOEXEC;
		goto fail_close;
	}
	/* abi_version is the first member in every version: read nothing else */
	if (!zus_plugin_abi_ok(pl->abi_version)) {
		abi_err(path, pl->abi_version, err, errlen);
		ret = -EPROTO;
		goto fail_close;
	}
	if (!pl->fs_types && !pl->tier_backends) {
		zus_set_err(err, errlen, "plugin %s: serves no fs type and no tier backend",
			path);
		ret = -ENOEXEC;
		goto fail_close;
	}
	if (pl->init) {
		ret = pl->init();
		if (ret) {
			if (ret > 0)
				ret = -ret;
			zus_set_err(err, errlen, "plugin %s (%s): init failed: %s",
				path, pl->name ? pl->name : "?", strerror(-ret));
			goto fail_close;
		}
	}
	out->handle = h;
	out->plugin = pl;
	out->path = path;
	return 0;

fail_close:
	dlclose(h);
fail:
	free(path);
	return ret;
}

void zus_plugin_unload(struct zus_loaded_plugin *lp)
{
	if (!lp || !lp->handle)
		return;
	if (lp->plugin && lp->plugin->exit)
		lp->plugin->exit();
	dlclose(lp->handle);
	free(lp->path);
	memset(lp, 0, sizeof(*lp));
}

const struct zus_fs_type *zus_plugin_find_fs(struct zus_loaded_plugin *lps,
					     size_t n, const char *fstype)
{
	for (size_t i = 0; i < n; i++) {
		const struct zus_fs_type *const *t;

		if (!lps[i].plugin || !lps[i].plugin->fs_types)
			continue;
		for (t = lps[i].plugin->fs_types; *t; t++)
			if ((*t)->name && !strcmp((*t)->name, fstype))
				return *t;
	}
	return NULL;
}

const struct zus_tier_backend *
zus_plugin_find_tier(struct zus_loaded_plugin *lps, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++) {
		const struct zus_tier_backend *const *t;

		if (!lps[i].plugin || !lps[i].plugin->tier_backends)
			continue;
		for (t = lps[i].plugin->tier_backends; *t; t++)
			if ((*t)->name && !strcmp((*t)->name, name))
				return *t;
	}
	return NULL;
}
