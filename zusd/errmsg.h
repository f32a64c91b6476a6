/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * errmsg.h - the (char *err, size_t errlen) message convention of zusd's
 * components: one line saying what is wrong and how to fix it.  Header-only
 * so that files linked on their own (the zuf transport in kmod/tests) need
 * no library for it.
 */
#ifndef ZUSD_ERRMSG_H
#define ZUSD_ERRMSG_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

static inline void zus_set_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static inline void zus_set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

#endif /* ZUSD_ERRMSG_H */
