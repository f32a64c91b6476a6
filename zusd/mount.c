// SPDX-License-Identifier: BSD-2-Clause
/*
 * mount.c - plugin + device + superblock lifetime shared by the transports.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>

#include "log.h"
#include "mount.h"

static const char *prio_name(int prio)
{
	switch (prio) {
	case ZUS_LOG_ERR: return "error";
	case ZUS_LOG_WARNING: return "warning";
	case ZUS_LOG_NOTICE: return "notice";
	case ZUS_LOG_INFO: return "info";
	default: return "debug";
	}
}

/* Plugin messages, as [log] says (log.h). */
static void mount_log(struct zus_sb *sb, int prio, const char *msg)
{
	zusd_log(prio, "%s: %s: %s", sb->dev_path ? sb->dev_path : "?",
		 prio_name(prio), msg);
}

/*
 * The plugin logged the details; add what to do about it.  Error meanings
 * follow pmfs2_lib.h: EINVAL not this fs at all (or a bad mount option),
 * EUCLEAN damaged, EOPNOTSUPP a newer format.
 */
static void mount_hint(const struct zusd_mount_args *a, const char *fstype,
		       int err)
{
	switch (err) {
	case -EINVAL:
		/* not this fs, or a bad option: the plugin said which */
		fprintf(stderr,
			"zusd: %s: not mounted: %s refused the device or the mount options (the reason is above%s)\n",
			a->device, fstype,
			strcmp(fstype, "pmfs2") ? "" : "; see pmfs2(5)");
		break;
	case -EUCLEAN:
	case -EBADMSG:
		fprintf(stderr,
			"zusd: the %s filesystem on %s is damaged.\n"
			"  Repair it with: fsck.%s -y %s\n",
			fstype, a->device, fstype, a->device);
		break;
	case -EOPNOTSUPP:
		fprintf(stderr,
			"zusd: %s: its %s format is newer than this zusd "
			"supports (unknown incompatible feature); upgrade zufs\n",
			a->device, fstype);
		break;
	default:
		fprintf(stderr, "zusd: %s: mount as %s failed: %s\n",
			a->device, fstype, strerror(-err));
		break;
	}
}

/* The directory the plugin was loaded from (tier.so is looked up there too). */
static int plugin_dir(const struct zus_loaded_plugin *lp, char *buf,
		      size_t len)
{
	const char *slash = lp->path ? strrchr(lp->path, '/') : NULL;

	if (!slash || (size_t)(slash - lp->path) >= len)
		return -ENOENT;
	memcpy(buf, lp->path, (size_t)(slash - lp->path));
	buf[slash - lp->path] = 0;
	if (!buf[0])
		snprintf(buf, len, "/");
	return 0;
}

int zusd_mount_open(struct zusd_mount *m, const struct zusd_mount_args *a)
{
	const char *fstype = a->fstype ? a->fstype : a->plugin;
	char err[512] = "", dir[512];
	int ret;

	memset(m, 0, sizeof(*m));
	m->map.fd = -1;

	ret = zus_plugin_load(a->plugin, &m->lp, err, sizeof(err));
	if (ret) {
		/* a version refusal says what to do itself */
		fprintf(stderr, "zusd: cannot load plugin '%s': %s\n%s",
			a->plugin, err, ret == -ENOENT ?
			"  (give --plugin a path, or set ZUS_PLUGIN_PATH)\n" : "");
		return ret;
	}
	m->plugin_loaded = true;

	m->fst = zus_plugin_find_fs(&m->lp, 1, fstype);
	if (!m->fst || !m->fst->ops) {
		fprintf(stderr,
			"zusd: plugin '%s' serves no filesystem type '%s'; "
			"pass --type with one it serves\n", a->plugin, fstype);
		ret = -ENODEV;
		goto fail;
	}
	m->ops = m->fst->ops;
	if (!m->ops->mount || !m->ops->root_ino || !m->ops->lookup ||
	    !m->ops->getattr) {
		fprintf(stderr, "zusd: plugin '%s': fs type '%s' lacks mandatory "
			"operations (mount, root_ino, lookup, getattr)\n",
			a->plugin, fstype);
		ret = -ENOSYS;
		goto fail;
	}

	/* tier=PATH: the tier plugin and devices, checked before the device */
	ret = plugin_dir(&m->lp, dir, sizeof(dir));
	ret = zusd_tier_open(&m->tier, a->options, ret ? NULL : dir, err,
			     sizeof(err));
	if (ret) {
		fprintf(stderr, "zusd: %s: %s\n", a->device, err);
		goto fail;
	}
	m->tier_open = true;
	if (m->tier.fell_back)
		fprintf(stderr, "zusd: %s: io_uring cannot be used for tier %s: "
			"using the %s tier backend\n", a->device,
			m->tier.dev[0].path, m->tier.be->name);
	else if (m->tier.be && getenv("ZUSD_DEBUG"))
		fprintf(stderr, "zusd: %s: %u tier device(s), %s backend\n",
			a->device, m->tier.ndev, m->tier.be->name);

	ret = zus_pmem_map_open(a->device, a->readonly, &m->map, err,
				sizeof(err));
	if (ret) {
		fprintf(stderr, "zusd: %s\n", err);
		if (ret == -ENOENT)
			fprintf(stderr, "  create an image with: truncate -s 1G %s && mkfs.%s %s\n",
				a->device, fstype, a->device);
		goto fail;
	}
	m->mapped = true;

	/* Two servers writing one device would corrupt it: refuse the second. */
	if (flock(m->map.fd, (a->readonly ? LOCK_SH : LOCK_EX) | LOCK_NB)) {
		ret = -errno;
		fprintf(stderr, "zusd: %s: %s; is it already mounted by another zusd, "
			"mkfs or fsck?\n", a->device,
			ret == -EWOULDBLOCK ? "device is busy" : strerror(-ret));
		goto fail;
	}

	m->sb.pmem = m->map.pmem;
	m->sb.dev_path = a->device;
	zusd_tier_apply(&m->tier, &m->sb);	/* options, tier devices */
	m->sb.readonly = a->readonly;
	m->sb.log = mount_log;
	m->sb.host_private = m;

	ret = m->ops->mount(&m->sb);
	if (ret) {
		if (ret > 0)
			ret = -ret;
		if (zusd_tier_mount_hint(&m->tier, a->device, ret, err,
					 sizeof(err)))
			fprintf(stderr, "zusd: %s\n", err);
		else
			mount_hint(a, fstype, ret);
		goto fail;
	}
	m->mounted = true;
	m->root_ino = m->ops->root_ino(&m->sb);
	return 0;

fail:
	zusd_mount_close(m);
	return ret;
}

int zusd_mount_close(struct zusd_mount *m)
{
	int ret = 0;

	if (m->mounted) {
		if (m->ops->sync)
			ret = m->ops->sync(&m->sb);
		if (m->ops->umount)
			m->ops->umount(&m->sb);
		m->mounted = false;
	}
	if (m->mapped) {
		/* emulated pmem: the page cache must reach the medium now */
		int r = zus_pmem_map_sync(&m->map);

		if (r) {
			fprintf(stderr, "zusd: %s: msync failed: %s\n",
				m->sb.dev_path, strerror(-r));
			if (!ret)
				ret = r;
		}
		zus_pmem_map_close(&m->map);
		m->mapped = false;
	}
	if (m->plugin_loaded) {
		zus_plugin_unload(&m->lp);
		m->plugin_loaded = false;
	}
	/* after the plugin's umount: it detached the tier backend */
	if (m->tier_open) {
		zusd_tier_release(&m->tier);
		m->tier_open = false;
	}
	m->sb.options = NULL;
	return ret;
}

int zusd_mount_tier_status(struct zusd_mount *m, struct zus_tier_status *st)
{
	memset(st, 0, sizeof(*st));
	if (!m->mounted || !m->ops->tier_status)
		return -EOPNOTSUPP;
	return m->ops->tier_status(&m->sb, st);
}
