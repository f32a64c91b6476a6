/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * zufsctl.h - what every part of zufsctl shares: its name in messages, its
 * exit codes (documented in zufsctl(8)) and the cleanup attribute.
 */
#ifndef ZUFSCTL_H
#define ZUFSCTL_H

/* exit codes (zufsctl(8)) */
#define EXIT_FAIL		1
#define EXIT_USAGE		2
#define EXIT_NOT_RUNNING	3
#define EXIT_DENIED		4
#define EXIT_NO_MOUNT		5

#define _cleanup_(f)	__attribute__((cleanup(f)))

/* "zufsctl", the prefix of every message on stderr */
extern const char *prog;

#endif /* ZUFSCTL_H */
