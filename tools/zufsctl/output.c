// SPDX-License-Identifier: BSD-2-Clause
/*
 * output.c - zufsctl's formatting helpers (output.h).
 */
#include <inttypes.h>
#include <stdio.h>

#include "output.h"

void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c == '\n')
			fputs("\\n", stdout);
		else if (c == '\t')
			fputs("\\t", stdout);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

void fmt_ns(char *buf, size_t len, uint64_t ns)
{
	if (ns < 1000)
		snprintf(buf, len, "%" PRIu64 " ns", ns);
	else if (ns < 1000000)
		snprintf(buf, len, "%.1f us", (double)ns / 1e3);
	else if (ns < 1000000000)
		snprintf(buf, len, "%.1f ms", (double)ns / 1e6);
	else
		snprintf(buf, len, "%.2f s", (double)ns / 1e9);
}

void fmt_bytes(char *buf, size_t len, uint64_t b)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB",
					    "PiB", "EiB" };
	double v = (double)b;
	unsigned int u = 0;

	while (v >= 1024 && u < 6) {
		v /= 1024;
		u++;
	}
	if (!u)
		snprintf(buf, len, "%" PRIu64 " B", b);
	else
		snprintf(buf, len, "%.1f %s", v, unit[u]);
}

void fmt_used(char *buf, size_t len, uint64_t size, uint64_t free_b)
{
	char u[32], t[32];
	uint64_t used = free_b < size ? size - free_b : 0;

	fmt_bytes(u, sizeof(u), used);
	fmt_bytes(t, sizeof(t), size);
	snprintf(buf, len, "%s of %s (%.0f%%)", u, t,
		 size ? 100.0 * (double)used / (double)size : 0.0);
}
