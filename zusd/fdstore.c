// SPDX-License-Identifier: BSD-2-Clause
/*
 * fdstore.c - zusd's mount table in systemd's fd store (see fdstore.h).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* memfd_create */
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>
#include <zufs/zus.h>

#include "fdstore.h"
#include "log.h"

#define _cleanup_(f)	__attribute__((cleanup(f)))

static inline void freep(void *p)
{
	free(*(void **)p);
}

static inline void strv_freep(char ***p)
{
	if (!*p)
		return;
	for (char **s = *p; *s; s++)
		free(*s);
	free(*p);
}

int zusd_fdstore_read(int fd, struct zusd_mtab *t, char *err, size_t errlen)
{
	_cleanup_(freep) char *buf = NULL;
	struct stat st;
	size_t got = 0;

	memset(t, 0, sizeof(*t));
	if (fstat(fd, &st)) {
		snprintf(err, errlen, "fstat: %s", strerror(errno));
		return -errno;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "not a memfd");
		return -EBADMSG;
	}
	if (st.st_size > ZUSD_MTAB_MAX_BYTES) {
		snprintf(err, errlen, "%lld bytes: too large",
			 (long long)st.st_size);
		return -E2BIG;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = pread(fd, buf + got, (size_t)st.st_size - got,
				  (off_t)got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(err, errlen, "read: %s", strerror(errno));
			return -errno;
		}
		if (!n)
			break;
		got += (size_t)n;
	}
	return zusd_mtab_parse(buf, got, t, err, errlen);
}

void zusd_fdstore_load(struct zusd_fdstore *fs, struct zusd_mtab *prev,
		       int *zuf_control)
{
	_cleanup_(strv_freep) char **names = NULL;
	int n;

	fs->fd = -1;
	fs->stored = false;
	memset(prev, 0, sizeof(*prev));
	if (zuf_control)
		*zuf_control = -1;
	n = sd_listen_fds_with_names(1, &names);
	if (n < 0) {
		zusd_log(ZUS_LOG_WARNING, "fd store: %s", strerror(-n));
		return;
	}
	for (int i = 0; i < n; i++) {
		int fd = SD_LISTEN_FDS_START + i;
		const char *name = names && names[i] ? names[i] : "";
		char err[256];

		if (!strcmp(name, ZUSD_FDNAME_MOUNT_TABLE) && fs->fd < 0) {
			int r = zusd_fdstore_read(fd, prev, err, sizeof(err));

			if (r) {
				/* a corrupt table: start afresh, replace it */
				zusd_log(ZUS_LOG_ERR, "fd store: the previous zusd's "
				    "mount table is unusable (%s): ignored", err);
				zusd_mtab_free(prev);
			} else {
				zusd_log(ZUS_LOG_NOTICE, "fd store: %zu mount%s from "
				    "the previous zusd", prev->n,
				    prev->n == 1 ? "" : "s");
			}
			fs->fd = fd;
			fs->stored = true;	/* rewritten in place */
		} else if (!strcmp(name, ZUSD_FDNAME_ZUF_CONTROL) &&
			   zuf_control && *zuf_control < 0) {
			*zuf_control = fd;
		} else {
			zusd_log(ZUS_LOG_WARNING, "fd store: closing fd %d "
			    "(name '%s') that this zusd does not use", fd, name);
			close(fd);
		}
	}
	if (fs->fd >= 0 && fcntl(fs->fd, F_SETFD, FD_CLOEXEC) < 0)
		zusd_log(ZUS_LOG_WARNING, "fd store: cloexec: %s", strerror(errno));
}

int zusd_fdstore_save(struct zusd_fdstore *fs, const struct zusd_mtab *t)
{
	_cleanup_(freep) char *buf = NULL;
	size_t len = 0, done = 0;
	int r;

	if (!getenv("NOTIFY_SOCKET") && !fs->stored)
		return 0;
	buf = zusd_mtab_format(t, &len);
	if (!buf)
		return -ENOMEM;
	if (fs->fd < 0) {
		fs->fd = memfd_create("zusd-mount-table", MFD_CLOEXEC);
		if (fs->fd < 0)
			return -errno;
	}
	/*
	 * In place: systemd holds the same open file.  A zusd that dies in
	 * the middle leaves a table the next one rejects (no end record, or
	 * data after it), never a wrong one.
	 */
	while (done < len) {
		ssize_t n = pwrite(fs->fd, buf + done, len - done, (off_t)done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		done += (size_t)n;
	}
	if (ftruncate(fs->fd, (off_t)len))
		return -errno;
	if (!fs->stored) {
		r = sd_pid_notify_with_fds(0, 0, "FDSTORE=1\nFDNAME="
					   ZUSD_FDNAME_MOUNT_TABLE, &fs->fd, 1);
		if (r < 0)
			return r;
		fs->stored = r > 0;
		if (fs->stored)
			zusd_log(ZUS_LOG_INFO, "fd store: mount table stored "
				 "(%zu mount%s)", t->n, t->n == 1 ? "" : "s");
	}
	return 0;
}

void zusd_fdstore_close(struct zusd_fdstore *fs)
{
	if (fs->fd >= 0)
		close(fs->fd);
	fs->fd = -1;
}
