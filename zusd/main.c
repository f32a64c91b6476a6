// SPDX-License-Identifier: BSD-2-Clause
/*
 * main.c - zusd: serve a user-space filesystem plugin to the kernel.
 *
 *   zusd --transport=zuf --plugin pmfs2 [DEVICE MOUNTPOINT]
 *   zusd --transport=fuse --plugin pmfs2 [-o opts] DEVICE MOUNTPOINT
 *   zusd --transport=auto ...   zuf when zuf.ko is loaded, else fuse
 *
 * Parses the command line and hands over to a transport: zuf (the kernel
 * sends the mounts: zuf_serve.c) or FUSE (zusd mounts the plugin on the
 * device itself: mount.c + fuse_transport.c).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuse_transport.h"
#include "mount.h"
#include "zuf_serve.h"
#include "zuf_transport.h"

struct zusd_opts {
	const char *transport;
	const char *plugin;
	const char *fstype;
	const char *device;
	const char *mountpoint;
	char *plugin_opts;	/* -o options for the plugin */
	char *fuse_opts;	/* -o options for the kernel mount */
	unsigned long ms_flags;	/* zuf: MS_* from -o */
	const char *evil;	/* zuf: tests only */
	bool readonly;
	bool debug;
	unsigned int threads;
};

static void usage(FILE *f)
{
	fprintf(f,
"Usage: zusd --transport=zuf --plugin NAME [OPTION]... [DEVICE MOUNTPOINT]\n"
"  or:  zusd --transport=fuse --plugin NAME [OPTION]... DEVICE MOUNTPOINT\n"
"Serve filesystems through a user-space plugin.\n"
"\n"
"With zuf (the kernel module zuf.ko), zusd registers the plugin's types and\n"
"serves every `mount -t TYPE DEVICE DIR`; mounts survive a zusd restart.\n"
"Given DEVICE MOUNTPOINT, it also mounts that itself (and unmounts at exit).\n"
"With FUSE, zusd serves the filesystem on DEVICE (pmem, block device or\n"
"image file) at MOUNTPOINT until it is unmounted.\n"
"\n"
"  -t, --transport=T      zuf, fuse, or auto (default: zuf when zuf.ko is\n"
"                         loaded, else fuse)\n"
"  -p, --plugin=NAME      plugin name (NAME.so in $ZUS_PLUGIN_PATH or\n"
"                         %s) or path to a plugin .so\n"
"      --type=FSTYPE      filesystem type in the plugin (default: NAME)\n"
"  -o OPT[,OPT]...        mount options: ro, rw, nosuid, nodev, noexec,\n"
"                         noatime, ... go to the kernel, the rest to the\n"
"                         plugin\n"
"  -j, --threads=N        request threads (default: one per CPU)\n"
"  -d, --debug            trace every FUSE request / more zuf messages\n"
"      --test-evil=KIND   zuf, tests only: send malformed replies of one\n"
"                         kind (getattr, lookup, readdir, extents, statfs,\n"
"                         seq) to check that zuf.ko rejects them\n"
"  -h, --help             show this help and exit\n"
"  -V, --version          show the version and exit\n"
"\n"
"zusd runs in the foreground.  With FUSE it stops when the filesystem is\n"
"unmounted (fusermount3 -u MOUNTPOINT, umount) or on SIGTERM or SIGINT; it\n"
"then unmounts the plugin and syncs the device.  With zuf it stops on\n"
"SIGTERM, SIGINT or SIGHUP; the kernel's mounts wait for the next zusd.\n",
		PLUGINDIR);
}

/* Append opt to *list (comma separated). */
static int opt_append(char **list, const char *opt, size_t len)
{
	size_t old = *list ? strlen(*list) : 0;
	char *n = realloc(*list, old + len + 2);

	if (!n)
		return -ENOMEM;
	if (old)
		n[old++] = ',';
	memcpy(n + old, opt, len);
	n[old + len] = '\0';
	*list = n;
	return 0;
}

/* Split one -o argument between the kernel mount and the plugin. */
static int parse_mount_opts(struct zusd_opts *o, const char *arg)
{
	const char *p = arg;

	while (*p) {
		size_t len = strcspn(p, ",");
		char one[256];
		int ret = 0;

		if (len >= sizeof(one))
			return -EINVAL;
		memcpy(one, p, len);
		one[len] = '\0';
		if (len)	/* the zuf transport's own mount, if any */
			zusd_zuf_mount_flag(one, &o->ms_flags);
		if (!strcmp(one, "ro"))
			o->readonly = true;
		else if (!strcmp(one, "rw"))
			o->readonly = false;
		else if (len && zusd_fuse_is_mount_opt(one))
			ret = opt_append(&o->fuse_opts, one, len);

		else if (len)
			ret = opt_append(&o->plugin_opts, one, len);
		if (ret)
			return ret;
		p += len;
		if (*p == ',')
			p++;
	}
	return 0;
}

static int parse_args(int argc, char **argv, struct zusd_opts *o)
{
	enum { OPT_TYPE = 256, OPT_EVIL };
	static const struct option lopts[] = {
		{ "transport", required_argument, NULL, 't' },
		{ "plugin", required_argument, NULL, 'p' },
		{ "type", required_argument, NULL, OPT_TYPE },
		{ "threads", required_argument, NULL, 'j' },
		{ "debug", no_argument, NULL, 'd' },
		{ "test-evil", required_argument, NULL, OPT_EVIL },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "t:p:o:j:dhV", lopts, NULL)) != -1) {
		switch (c) {
		case 't':
			o->transport = optarg;
			break;
		case 'p':
			o->plugin = optarg;
			break;
		case OPT_TYPE:
			o->fstype = optarg;
			break;
		case OPT_EVIL:
			if (zuf_transport_evil_mode(optarg) < 0) {
				fprintf(stderr, "zusd: --test-evil wants getattr, "
					"lookup, readdir, extents, statfs or seq\n");
				return 2;
			}
			o->evil = optarg;
			break;
		case 'o':
			if (parse_mount_opts(o, optarg)) {
				fprintf(stderr, "zusd: bad -o '%s'\n", optarg);
				return 2;
			}
			break;
		case 'j': {
			char *end;
			unsigned long n = strtoul(optarg, &end, 10);

			if (*end || !n || n > 1024) {
				fprintf(stderr, "zusd: --threads wants 1..1024, "
					"not '%s'\n", optarg);
				return 2;
			}
			o->threads = (unsigned int)n;
			break;
		}
		case 'd':
			o->debug = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case 'V':
			printf("zusd (%s) %s\n", PACKAGE_NAME, PACKAGE_VERSION);
			exit(0);
		default:
			fprintf(stderr, "Try 'zusd --help'.\n");
			return 2;
		}
	}
	if (!o->transport || !strcmp(o->transport, "auto")) {
		/* the kernel transport when zuf.ko is there, else FUSE */
		o->transport = zusd_zuf_available() ? "zuf" : "fuse";
	} else if (strcmp(o->transport, "fuse") && strcmp(o->transport, "zuf")) {
		fprintf(stderr, "zusd: --transport=%s: use zuf, fuse or auto\n",
			o->transport);
		return 2;
	}
	if (!strcmp(o->transport, "zuf") && argc - optind == 0) {
		/* a pure server: the kernel sends the mounts */
	} else if (argc - optind != 2) {
		fprintf(stderr, "zusd: expected DEVICE and MOUNTPOINT%s\n"
			"Try 'zusd --help'.\n", strcmp(o->transport, "zuf") ? "" :
			" (or neither, with --transport=zuf)");
		return 2;
	} else {
		o->device = argv[optind];
		o->mountpoint = argv[optind + 1];
	}
	if (o->evil && strcmp(o->transport, "zuf")) {
		fprintf(stderr, "zusd: --test-evil needs --transport=zuf\n");
		return 2;
	}
	if (!o->plugin) {
		fprintf(stderr, "zusd: --plugin NAME is required (e.g. --plugin pmfs2)\n");
		return 2;
	}
	return 0;
}

/* Fail before touching the device if the mountpoint cannot work. */
static int check_mountpoint(const char *path)
{
	struct stat st;

	if (stat(path, &st)) {
		fprintf(stderr, "zusd: mountpoint %s: %s\n", path,
			strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		fprintf(stderr, "zusd: mountpoint %s is not a directory\n", path);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct zusd_opts o;
	struct zusd_mount_args ma;
	struct zusd_fuse_config fc;
	struct zusd_mount m;
	const char *fstype;
	char *device = NULL;
	int ret;

	memset(&o, 0, sizeof(o));
	ret = parse_args(argc, argv, &o);
	if (ret)
		goto out;
	if (o.mountpoint && check_mountpoint(o.mountpoint)) {
		ret = 1;
		goto out;
	}
	if (!strcmp(o.transport, "zuf")) {
		struct zusd_zuf_config zc;

		memset(&zc, 0, sizeof(zc));
		zc.plugin = o.plugin;
		zc.fstype = o.fstype;
		zc.threads = o.threads;
		zc.device = o.device;
		zc.mountpoint = o.mountpoint;
		zc.mount_opts = o.plugin_opts;
		zc.mount_flags = o.ms_flags;
		zc.debug = o.debug;
		zc.evil = o.evil;
		ret = zusd_zuf_serve(&zc);
		goto out;
	}
	fstype = o.fstype ? o.fstype : o.plugin;
	/* a path names the plugin file; its fs type is the file's base name */
	if (!o.fstype && strchr(o.plugin, '/')) {
		const char *b = strrchr(o.plugin, '/') + 1;
		static char name[64];
		size_t n = strcspn(b, ".");

		if (n >= sizeof(name))
			n = sizeof(name) - 1;
		memcpy(name, b, n);
		name[n] = '\0';
		fstype = name;
	}

	/* /proc/mounts and systemd name the device by its absolute path */
	device = realpath(o.device, NULL);

	memset(&ma, 0, sizeof(ma));
	ma.plugin = o.plugin;
	ma.fstype = fstype;
	ma.device = device ? device : o.device;
	ma.options = o.plugin_opts;
	ma.readonly = o.readonly;
	if (zusd_mount_open(&m, &ma)) {
		ret = 1;
		goto out;
	}

	memset(&fc, 0, sizeof(fc));
	fc.mountpoint = o.mountpoint;
	fc.fsname = ma.device;
	fc.subtype = fstype;
	fc.fuse_opts = o.fuse_opts;
	fc.readonly = o.readonly;
	fc.debug = o.debug;
	fc.threads = o.threads;
	ret = zusd_fuse_serve(&m, &fc) ? 1 : 0;

	if (zusd_mount_close(&m))
		ret = 1;
	if (!ret)
		fprintf(stderr, "zusd: %s unmounted cleanly\n", ma.device);
out:
	free(device);
	free(o.plugin_opts);
	free(o.fuse_opts);
	return ret;
}
