#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
#
# test_tier_fuse.sh - pmfs2 with a capacity tier, served by zusd over FUSE:
#   mkfs.pmfs2 --tier on a pmem image of 8 % of the total (24 MiB pmem +
#   276 MiB tier file); mount with zusd -o tier=TIER; fill 90 % of the total
#   capacity (statfs) with checksummed files, so most of it must migrate to
#   the tier; read it all back (O_DIRECT, past the page cache); unmount;
#   remount with the sync backend and read it all again; fsck.pmfs2 -n.
#   Refusals: mounting without tier= and mounting with another filesystem's
#   tier both fail with a message naming the expected tier, and mount nothing;
#   so do an unknown option and a bad value, naming it.
#   Last, the in-process host with a tier (zus-inproc-run --tier).
#
# Runs from the top build directory (as `make check` does) or with
# ZUFS_BUILDDIR set.  Exit 77 (skip) when FUSE cannot be used here.  A trap
# always unmounts and stops zusd, whatever failed.

set -u

# shellcheck source=tests/lib/fuse-test.sh
. "$(dirname "$0")/../lib/fuse-test.sh"
INPROC=$B/zusd/zus-inproc-run
TIERPLUGIN=$B/plugins/tier/.libs/tier.so
# zusd loads the tier plugin by name ("tier")
ZUS_PLUGIN_PATH=$B/plugins/tier/.libs${ZUS_PLUGIN_PATH:+:$ZUS_PLUGIN_PATH}
export ZUS_PLUGIN_PATH

PMEM_MB=24
TIER_MB=276
FILE_MB=4

fuse_need_built "$INPROC" "$TIERPLUGIN"

fuse_require

fuse_workdir tier-fuse
TIER=$T/tier.img
IMG2=$T/other-pmem.img
TIER2=$T/other-tier.img
START=$(date +%s)

# mount_fs OPTIONS: serve $IMG on $MNT in the background
mount_fs() {
	: >"$LOG"
	"$ZUSD" --transport=fuse --plugin "$PLUGIN" -o "$1" "$IMG" "$MNT" >>"$LOG" 2>&1 &
	ZPID=$!
	wait_mounted 30
}

# refuse NAME OPTIONS: the mount must fail (zusd exits non-zero without
# mounting); its messages are left in $T/NAME.log
refuse() {
	if [ -n "$2" ]; then
		timeout 60 "$ZUSD" --transport=fuse --plugin "$PLUGIN" -o "$2" \
			"$IMG" "$MNT" >"$T/$1.log" 2>&1
	else
		timeout 60 "$ZUSD" --transport=fuse --plugin "$PLUGIN" \
			"$IMG" "$MNT" >"$T/$1.log" 2>&1
	fi
	st=$?
	echo "-- zusd ($1): exit $st:"
	sed 's/^/   /' "$T/$1.log"
	[ $st -ne 0 ] && [ $st -ne 124 ] || die "$1: zusd exited $st, want a refusal"
	is_mounted && die "$1: $MNT got mounted"
	no_sanitizer_report "$T/$1.log"
	return 0
}

# expect NAME TEXT: the refusal's messages contain TEXT
expect() {
	grep -qF -- "$2" "$T/$1.log" || die "$1: the messages do not say '$2'"
}

# read_all: verify every file's checksum, reading past the page cache
read_all() {
	(
		cd "$MNT/data" || exit 1
		while read -r sum name; do
			got=$(dd if="$name" bs=1M $DDFLAG 2>/dev/null | sha256sum) ||
				exit 1
			[ "${got%% *}" = "$sum" ] || { echo "checksum of $name differs"; exit 1; }
		done <"$T/sums"
	) || die "$1: data differs"
}

truncate -s ${PMEM_MB}M "$IMG" || hard "truncate failed"
truncate -s ${TIER_MB}M "$TIER" || hard "truncate failed"
"$MKFS" --tier "$TIER" "$IMG" >"$T/mkfs.log" 2>&1 ||
	{ cat "$T/mkfs.log"; die "mkfs.pmfs2 --tier failed"; }
FS_UUID=$(sed -n 's/^ *UUID: *//p' "$T/mkfs.log")
TIER_UUID=$(sed -n 's/.*device UUID //p' "$T/mkfs.log")
[ -n "$FS_UUID" ] && [ -n "$TIER_UUID" ] || { cat "$T/mkfs.log"; hard "no UUIDs in mkfs output"; }
echo "== ${PMEM_MB} MiB pmem + ${TIER_MB} MiB tier: fs $FS_UUID, tier $TIER_UUID"

# another filesystem with its own tier: its tier is foreign to ours
truncate -s 8M "$IMG2" && truncate -s 16M "$TIER2" || hard "truncate failed"
"$MKFS" -q --tier "$TIER2" "$IMG2" >"$T/mkfs2.log" 2>&1 ||
	{ cat "$T/mkfs2.log"; die "mkfs.pmfs2 of the other filesystem failed"; }

echo "== refusals"
refuse notier ""
expect notier "$TIER_UUID"
expect notier "$(basename "$TIER")"	# the path mkfs recorded (its tail)
expect notier "tier=PATH"
refuse foreign "tier=$TIER2"
expect foreign "is foreign"
expect foreign "expected filesystem $FS_UUID"
expect foreign "$TIER_UUID"
expect foreign "tier=PATH"
refuse missing "tier=$T/no-such-tier"
expect missing "$T/no-such-tier"
# a misspelt or unknown option fails the mount (as ext4's and xfs's do)
refuse badopt "tier=$TIER,tier_lwo=5"
expect badopt "unknown mount option 'tier_lwo=5'"
expect badopt "tier_low=PCT"
refuse badopt2 "tier=$TIER,dax"
expect badopt2 "unknown mount option 'dax'"
refuse badval "tier=$TIER,tier_high=200"
expect badval "mount option 'tier_high=200': want tier_high=N with N from 1 to 95"
refuse badmarks "tier=$TIER,tier_low=30,tier_high=20"
expect badmarks "tier_low=30 must be below tier_high=20"

echo "== fill 90 % of the capacity over FUSE (uring backend)"
mount_fs "tier=$TIER,tier_backend=uring"
grep -q "via uring" "$LOG" || die "the uring backend was not used"
# shellcheck disable=SC2046
set -- $(stat -f -c '%b %S %a' "$MNT") || die "statfs"
BLOCKS=$1 BSIZE=$2
TOTAL=$((BLOCKS * BSIZE))
[ $TOTAL -gt $(((PMEM_MB + TIER_MB * 9 / 10) << 20)) ] ||
	die "statfs reports $TOTAL bytes: pmem + tier expected"
GOAL=$((TOTAL / 10 * 9))
echo "statfs: $TOTAL bytes in all; writing $GOAL bytes"
mkdir "$MNT/data" || die "mkdir data"
t0=$(date +%s)
n=0 left=$GOAL
: >"$T/sums"
while [ $left -gt 0 ]; do
	n=$((n + 1))
	# mostly 4 MiB files, some small ones and odd sizes
	case $((n % 8)) in
	3) size=$((n * 4099 % 65536 + 1)) ;;
	5) size=$(((FILE_MB << 20) - n * 513)) ;;
	*) size=$((FILE_MB << 20)) ;;
	esac
	[ $size -le $left ] || size=$left
	# the checksum of what was written, not of what reads back
	sum=$( { head -c $size /dev/urandom | tee "$MNT/data/f$n" ||
		 echo "$?" >"$T/tee.fail"; } | sha256sum) || die "sha256sum"
	[ ! -e "$T/tee.fail" ] || die "writing f$n ($size bytes) failed"
	[ "$(stat -c %s "$MNT/data/f$n")" = $size ] || die "f$n: short write"
	echo "${sum%% *} f$n" >>"$T/sums"
	left=$((left - size))
done
t1=$(date +%s)
USED=$(( ($(stat -f -c '%b - %f' "$MNT")) * BSIZE ))
echo "wrote $n files, $GOAL bytes in $((t1 - t0)) s; $USED bytes used of $TOTAL"
[ $USED -ge $GOAL ] || die "statfs says $USED bytes used, $GOAL written"
[ $USED -gt $((PMEM_MB << 20)) ] || die "the data did not reach the tier"
# the tier file is sparse: what it holds now is what migrated to it
TIER_HELD=$(($(stat -c %b "$TIER") * 512))
echo "the tier file holds $TIER_HELD bytes"
[ $TIER_HELD -ge $((GOAL - (PMEM_MB << 20))) ] ||
	die "only $TIER_HELD bytes reached the tier file"

# O_DIRECT reads go past the page cache to zusd
DDFLAG=
dd if="$MNT/data/f1" of=/dev/null bs=1M iflag=direct 2>/dev/null && DDFLAG=iflag=direct
t0=$(date +%s)
read_all "read back"
echo "read back ${DDFLAG:-(cached)}: $(wc -l <"$T/sums") files verified in $(($(date +%s) - t0)) s"
kill -0 "$ZPID" 2>/dev/null || die "zusd died"
unmount_fs

echo "== remount (sync backend) and verify"
mount_fs "tier=$TIER,tier_backend=sync"
grep -q "via sync" "$LOG" || die "the sync backend was not used"
t0=$(date +%s)
read_all "after remount"
echo "after remount: $(wc -l <"$T/sums") files verified in $(($(date +%s) - t0)) s"
USED2=$(( ($(stat -f -c '%b - %f' "$MNT")) * BSIZE ))
# (not equal: a migration batch in flight holds its tier blocks twice)
[ $USED2 -ge $GOAL ] || die "used space fell over the remount: $USED -> $USED2"
unmount_fs

echo "== remount (default backend), colon-separated tier list, verify"
mount_fs "tier=$TIER2:$TIER"
grep -q "via uring\|via sync" "$LOG" || die "no tier attached"
t0=$(date +%s)
read_all "after the second remount"
echo "after the second remount: verified in $(($(date +%s) - t0)) s"
unmount_fs

echo "== fsck.pmfs2 -n"
"$FSCK" -n "$IMG" || die "fsck.pmfs2 -n found problems"

# The in-process host takes the same tier: zus-inproc-run --tier, on an
# 8 MiB pmem that its 13 MiB workload overflows onto the tier.
echo "== zus-inproc-run --tier (in-process host)"
truncate -s 64M "$T/inproc-tier.img" || hard "truncate failed"
"$INPROC" --plugin "$PLUGIN" --mkfs 8M --tier "$T/inproc-tier.img" \
	"$T/inproc.img" >"$T/inproc.log" 2>&1 ||
	{ cat "$T/inproc.log"; die "zus-inproc-run --tier failed"; }
no_sanitizer_report "$T/inproc.log"
grep -E "tier|OK" "$T/inproc.log"
"$INPROC" --plugin "$PLUGIN" "$T/inproc.img" >"$T/inproc2.log" 2>&1 &&
	{ cat "$T/inproc2.log"; die "zus-inproc-run without --tier mounted a tiered image"; }
grep -q "has a tier" "$T/inproc2.log" ||
	{ cat "$T/inproc2.log"; die "zus-inproc-run without --tier: no clear refusal"; }

echo "PASS ($(($(date +%s) - START)) s)"
exit 0
