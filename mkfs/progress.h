/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * progress.h - progress of mkfs.pmfs2 and fsck.pmfs2 where a person waits.
 *
 * fsck: -C FD as e2fsck's.  FD > 0: one line "PASS CURRENT MAX DEVICE" a
 * step to FD (what fsck(8) and GUIs read); 0: a completion bar on stdout,
 * only when stdout is a terminal; a negative FD is |FD|, silent until
 * SIGUSR1.  SIGUSR1 starts the output, SIGUSR2 stops it.
 *
 * mkfs: a phase ("Writing the inode table") with a count that redraws in
 * place, then "done"; on a terminal only.
 *
 * Nothing here writes to a terminal that is not one.
 */
#ifndef PMFS2_PROGRESS_H
#define PMFS2_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- fsck -C ----------------------------------------------------------- */

struct fsck_progress;

/*
 * Parse -C's argument and validate its descriptor (one a process: there
 * is nothing to free).  NULL with a message in err (for "fsck.pmfs2: ...")
 * when arg is not a number or FD is not open for writing.
 */
struct fsck_progress *fsck_progress_new(const char *arg, const char *dev,
					char *err, size_t errlen);

/* The check library's progress callback (ctx: the struct fsck_progress). */
void fsck_progress_update(void *ctx, unsigned int pass, uint64_t cur,
			  uint64_t max);

/* Erase the bar before other output (it comes back at the next update),
 * and when the check is over; nothing if no bar is shown.  p may be NULL. */
void fsck_progress_clear(struct fsck_progress *p);

/* ---- mkfs phases ------------------------------------------------------- */

/*
 * A phase on stdout when show (not -q) and stdout is a terminal:
 * "what: done/total MiB", redrawn in place at most 10 times a second, then
 * "what: done".
 */
struct phase {
	const char *what;
	bool show;
	uint64_t last_ms;
	int width;		/* of the line last drawn */
};

void phase_begin(struct phase *ph, const char *what, bool show);
/* done and total bytes; a library callback too (ctx: the struct phase) */
void phase_update(void *ctx, uint64_t done, uint64_t total);
void phase_end(struct phase *ph);

#endif /* PMFS2_PROGRESS_H */
