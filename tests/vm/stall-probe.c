// SPDX-License-Identifier: GPL-2.0
/*
 * stall-probe - how long does an application stall while zusd restarts?
 *
 *   stall-probe FILE SECONDS [STOPFILE]
 *
 * For SECONDS (or until STOPFILE exists), writes 4 KiB blocks to FILE in a
 * ring of 64 blocks, each pwrite followed by fdatasync and a pread of the
 * same block that must return what was written.  Each block carries the
 * iteration number and a pattern derived from it.  At the end every block
 * of the ring is read back and checked against the last write to it.
 *
 * Prints one line:
 *   stall-probe: iterations N errors E max_gap_ms M at_s T
 * where M is the longest time (ms) one write+fdatasync+read took, i.e. the
 * longest stall the application saw, and T when it began (seconds after
 * start).  Exit status 0 if there was no error and every block verified.
 * Used by tests/vm/zuf-appliance.sh (VM test of the systemd appliance).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BLK 4096u
#define RING 64u

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void fill(unsigned char *b, uint64_t iter, unsigned int slot)
{
	uint64_t x = iter * 0x9e3779b97f4a7c15ull + slot + 1;

	memcpy(b, &iter, sizeof(iter));
	for (unsigned int i = sizeof(iter); i < BLK; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		b[i] = (unsigned char)x;
	}
}

int main(int argc, char **argv)
{
	static unsigned char wb[BLK], rb[BLK];
	uint64_t last[RING] = { 0 };
	uint64_t iter = 0, errors = 0;
	double t0, end, max_gap = 0, max_at = 0;
	const char *stop;
	int fd;

	if (argc < 3 || argc > 4) {
		fprintf(stderr, "usage: %s FILE SECONDS [STOPFILE]\n", argv[0]);
		return 2;
	}
	stop = argc == 4 ? argv[3] : NULL;
	fd = open(argv[1], O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0) {
		fprintf(stderr, "stall-probe: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	t0 = now_s();
	end = t0 + atof(argv[2]);
	while (now_s() < end && !(stop && !access(stop, F_OK))) {
		unsigned int slot = (unsigned int)(iter % RING);
		off_t off = (off_t)slot * BLK;
		double a, b;
		ssize_t n;

		iter++;
		fill(wb, iter, slot);
		a = now_s();
		n = pwrite(fd, wb, BLK, off);
		if (n != (ssize_t)BLK) {
			fprintf(stderr, "stall-probe: pwrite #%" PRIu64 ": %s\n",
				iter, n < 0 ? strerror(errno) : "short");
			errors++;
		} else if (fdatasync(fd)) {
			fprintf(stderr, "stall-probe: fdatasync #%" PRIu64 ": %s\n",
				iter, strerror(errno));
			errors++;
		} else {
			last[slot] = iter;
			n = pread(fd, rb, BLK, off);
			if (n != (ssize_t)BLK || memcmp(wb, rb, BLK)) {
				fprintf(stderr, "stall-probe: read back #%" PRIu64 ": %s\n",
					iter, n < 0 ? strerror(errno) : "mismatch");
				errors++;
			}
		}
		b = now_s();
		if (b - a > max_gap) {
			max_gap = b - a;
			max_at = a - t0;
		}
	}
	for (unsigned int s = 0; s < RING; s++) {
		if (!last[s])
			continue;
		fill(wb, last[s], s);
		if (pread(fd, rb, BLK, (off_t)s * BLK) != (ssize_t)BLK ||
		    memcmp(wb, rb, BLK)) {
			fprintf(stderr, "stall-probe: final verify of block %u failed\n", s);
			errors++;
		}
	}
	if (close(fd)) {
		fprintf(stderr, "stall-probe: close: %s\n", strerror(errno));
		errors++;
	}
	printf("stall-probe: iterations %" PRIu64 " errors %" PRIu64
	       " max_gap_ms %.0f at_s %.1f\n", iter, errors, max_gap * 1e3, max_at);
	return errors || !iter ? 1 : 0;
}
