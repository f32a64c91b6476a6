/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fsm.h - random filesystem operations applied to the in-process host and to
 * the reference model (model.h), with result and whole-tree comparison.
 * Shared by the model test and the crash test.
 */
#ifndef TESTS_FSM_H
#define TESTS_FSM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "inproc.h"
#include "model.h"

enum fsm_type {
	FSM_OPEN, FSM_CLOSE, FSM_PREAD, FSM_PWRITE, FSM_FSTAT, FSM_FTRUNCATE,
	FSM_FALLOCATE, FSM_LINKFD, FSM_MKDIR, FSM_RMDIR, FSM_UNLINK,
	FSM_RENAME, FSM_LINK, FSM_SYMLINK, FSM_READLINK, FSM_STAT, FSM_LSTAT,
	FSM_CHMOD, FSM_UTIMENS, FSM_TRUNCATE, FSM_SETXATTR, FSM_GETXATTR,
	FSM_LISTXATTR, FSM_REMOVEXATTR, FSM_NTYPES
};

#define FSM_PATH 600

struct fsm_op {
	enum fsm_type type;
	char p1[FSM_PATH], p2[FSM_PATH];
	char name[300];			/* xattr name */
	int hd;				/* model handle */
	int flags;
	uint32_t mode;
	int64_t off, len;
	uint64_t dseed;			/* data content */
	size_t size;			/* buffer size for reads */
	bool ts_null, follow;
	struct timespec ts[2];
};

/* Limits for the generator */
struct fsm_limits {
	uint64_t max_file;		/* largest offset + length written */
	uint64_t max_write;		/* largest single write */
	uint64_t data_budget;		/* model data bytes before shrinking */
	uint64_t max_nodes;		/* inodes before deleting */
	bool no_handles_at_end;
};

struct fsm {
	struct zus_inproc *h;
	struct model *m;		/* the model ops are generated from */
	int fd[MODEL_MAX_HANDLES];	/* host fd of each model handle */
	uint64_t *id2ino;		/* model id -> host ino */
	size_t nid;
	uint64_t rng;
	struct fsm_limits lim;
	uint64_t nops;
	uint64_t by_type[FSM_NTYPES];
	uint64_t errs_by_type[FSM_NTYPES];
	uint64_t shifts, shift_errs;	/* collapse/insert range among them */
	bool check_times;
	char msg[2048];			/* the last mismatch */
};

void fsm_init(struct fsm *f, struct zus_inproc *h, struct model *m,
	      uint64_t seed, const struct fsm_limits *lim);
void fsm_fini(struct fsm *f);
uint64_t fsm_rand(struct fsm *f);

void fsm_gen(struct fsm *f, struct fsm_op *op);
/* One-line description of op (for logs). */
void fsm_describe(const struct fsm_op *op, char *buf, size_t len);
/* Apply op to the host and the model f->m, compare: 0 or -1 (f->msg). */
int fsm_step(struct fsm *f, const struct fsm_op *op);
/* Apply op to another model only (the crash test's "before" model). */
void fsm_apply_model(struct model *m, const struct fsm_op *op);
/* Close every open handle on both sides (compared). */
int fsm_close_all(struct fsm *f);

/* Tree comparison.  tol_id/other: the data of model node tol_id may be
 * either m's or other's, byte by byte, and so may its size.  Reads update
 * the model's idea of atimes (it forgets them). */
struct fsm_tol {
	uint64_t id;
	const struct model *other;
};
int fsm_compare_tree(struct zus_inproc *h, struct model *m,
		     const struct fsm_tol *tol, bool times, char *msg,
		     size_t msglen, uint64_t *nodes_seen);

const char *fsm_type_name(enum fsm_type t);

#endif /* TESTS_FSM_H */
