/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * log.h - zusd's messages, as zusd.conf's [log] says.
 *
 * level: messages of a lower priority (ZUS_LOG_*, syslog's numbers) than
 * the level are dropped (--debug: nothing is).  target: "stderr" writes
 * "zusd: TEXT" lines to stderr; "journal" sends each message with its
 * priority (sd_journal_print) and, when stderr is not already the journal,
 * points stderr at a journal stream so that the unlevelled messages of the
 * transports go there too; "auto" is the journal when systemd started zusd
 * ($JOURNAL_STREAM or $INVOCATION_ID), else stderr.
 *
 * Before zusd_log_setup() (and for errors in zusd.conf itself) messages go
 * to stderr, which under systemd is the journal: `systemctl status zusd`
 * shows them.
 */
#ifndef ZUSD_LOG_H
#define ZUSD_LOG_H

#include <stdbool.h>

#include "config.h"

/* The target auto resolves to, from the environment. */
enum zusd_log_target zusd_log_resolve(enum zusd_log_target t);

void zusd_log_setup(int level, enum zusd_log_target target, bool debug);

bool zusd_log_enabled(int prio);
void zusd_log_msg(int prio, const char *msg);
void zusd_log(int prio, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif /* ZUSD_LOG_H */
