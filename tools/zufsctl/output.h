/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * output.h - zufsctl's formatting: JSON strings on stdout, and latencies and
 * byte counts in human units into a buffer.
 */
#ifndef ZUFSCTL_OUTPUT_H
#define ZUFSCTL_OUTPUT_H

#include <stddef.h>
#include <stdint.h>

/* s as a quoted, escaped JSON string on stdout */
void json_str(const char *s);

/* "812 ns", "3.4 us", "1.2 ms", "2.05 s" */
void fmt_ns(char *buf, size_t len, uint64_t ns);

/* "512 B", "1.5 MiB", ... (binary units) */
void fmt_bytes(char *buf, size_t len, uint64_t b);

/* used/size of one level, e.g. "18.0 MiB of 128.0 MiB (14%)" */
void fmt_used(char *buf, size_t len, uint64_t size, uint64_t free_b);

#endif /* ZUFSCTL_OUTPUT_H */
