/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * plugin.h - loading plugin shared objects and finding their fs types.
 * Used by every host (zuf, FUSE, in-process); knows nothing of transports.
 */
#ifndef ZUSD_PLUGIN_H
#define ZUSD_PLUGIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <zufs/zus.h>

struct zus_loaded_plugin {
	void *handle;				/* dlopen handle */
	const struct zus_plugin *plugin;
	char *path;
};

/*
 * Load one plugin: `name_or_path` is a path (contains '/') or a bare name
 * looked up as <dir>/<name>.so in ZUS_PLUGIN_PATH (colon separated), then
 * in the install directory (PLUGINDIR).  Refuses (-EPROTO) a plugin built
 * for an API version outside ZUS_PLUGIN_ABI_MIN..ZUS_PLUGIN_ABI_VERSION,
 * saying which versions it accepts; then calls plugin->init.  On error
 * returns -errno and writes a message to err.
 */
int zus_plugin_load(const char *name_or_path, struct zus_loaded_plugin *out,
		    char *err, size_t errlen);
void zus_plugin_unload(struct zus_loaded_plugin *lp);

/* Does this host load plugins of API version `version` (zus.h)? */
bool zus_plugin_abi_ok(uint32_t version);

/* Find an fs type by name among n loaded plugins; NULL if none. */
const struct zus_fs_type *zus_plugin_find_fs(struct zus_loaded_plugin *lps,
					     size_t n, const char *fstype);
const struct zus_tier_backend *
zus_plugin_find_tier(struct zus_loaded_plugin *lps, size_t n,
		     const char *name);

#endif /* ZUSD_PLUGIN_H */
