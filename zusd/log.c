// SPDX-License-Identifier: BSD-2-Clause
/*
 * log.c - zusd's messages (see log.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#include "log.h"

static int log_level = ZUSD_DEFAULT_LOG_LEVEL;
static bool log_journal;

/* Is fd 2 the journal stream systemd gave us ($JOURNAL_STREAM=DEV:INO)? */
static bool stderr_is_journal(void)
{
	const char *e = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2 || fstat(2, &st))
		return false;
	return (unsigned long long)st.st_dev == dev &&
	       (unsigned long long)st.st_ino == ino;
}

enum zusd_log_target zusd_log_resolve(enum zusd_log_target t)
{
	if (t != ZUSD_LOG_TARGET_AUTO)
		return t;
	return getenv("JOURNAL_STREAM") || getenv("INVOCATION_ID") ?
	       ZUSD_LOG_TARGET_JOURNAL : ZUSD_LOG_TARGET_STDERR;
}

void zusd_log_setup(int level, enum zusd_log_target target, bool debug)
{
	log_level = debug || getenv("ZUSD_DEBUG") ? 7 : level;
	log_journal = zusd_log_resolve(target) == ZUSD_LOG_TARGET_JOURNAL;
	if (log_journal && !stderr_is_journal()) {
		/* the transports' plain fprintf(stderr) lines follow */
		int fd = sd_journal_stream_fd("zusd", 5 /* notice */, 0);

		if (fd >= 0) {
			fflush(stderr);
			dup2(fd, 2);
			close(fd);
		}
	}
}

bool zusd_log_enabled(int prio)
{
	return prio <= log_level;
}

void zusd_log_msg(int prio, const char *msg)
{
	if (!zusd_log_enabled(prio))
		return;
	if (log_journal && sd_journal_print(prio, "%s", msg) >= 0)
		return;
	fprintf(stderr, "zusd: %s\n", msg);
}

void zusd_log(int prio, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (!zusd_log_enabled(prio))
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	zusd_log_msg(prio, msg);
}
