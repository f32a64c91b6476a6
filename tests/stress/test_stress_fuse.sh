#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
#
# test_stress_fuse.sh - the randomized tests on pmfs2 served by zusd over
# FUSE: the fsx exerciser (tests/stress/fsx) for FSX_SECONDS (default 120),
# then the namespace storm (tests/stress/nsstorm, 4 processes) for
# NSSTORM_SECONDS (default 120), then fsck -n.  Seeds: FSX_SEED and
# NSSTORM_SEED (default: new ones each run, printed; rerun with them).
# Runs from the top build directory (as `make check` does) or with
# ZUFS_BUILDDIR set.  Exit 77 (skip) when FUSE cannot be used here.

set -u

# shellcheck source=tests/lib/fuse-test.sh
. "$(dirname "$0")/../lib/fuse-test.sh"
FSX=$B/tests/stress/fsx
NSSTORM=$B/tests/stress/nsstorm

fuse_need_built "$FSX" "$NSSTORM"
fuse_require

fuse_workdir stress-fuse
truncate -s 256M "$IMG" || hard "truncate failed"
"$MKFS" -q "$IMG" || die "mkfs.pmfs2 failed"
"$ZUSD" --transport=fuse --plugin "$PLUGIN" "$IMG" "$MNT" >"$LOG" 2>&1 &
ZPID=$!
wait_mounted 20

seed=${FSX_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
echo "== fsx on pmfs2 over FUSE: ${FSX_SECONDS:-120} s, seed $seed"
"$FSX" -q -S "$seed" -N 0 -t "${FSX_SECONDS:-120}" "$MNT/fsx.file"
rc=$?
kill -0 "$ZPID" 2>/dev/null || die "zusd died during fsx"
[ $rc -eq 0 ] || die "fsx found a difference (seed $seed: FSX_SEED=$seed replays it)"

nseed=${NSSTORM_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
echo "== namespace storm on pmfs2 over FUSE: ${NSSTORM_SECONDS:-120} s, seed $nseed"
mkdir "$MNT/storm" || die "mkdir storm"
"$NSSTORM" -q -S "$nseed" -P 4 -t "${NSSTORM_SECONDS:-120}" "$MNT/storm"
rc=$?
kill -0 "$ZPID" 2>/dev/null || die "zusd died during the namespace storm"
unmount_fs
"$FSCK" -n "$IMG" || die "fsck.pmfs2 -n found problems after the storm"
[ $rc -eq 0 ] || die "the namespace storm left an inconsistency (seed $nseed)"
echo "PASS"
exit 0
