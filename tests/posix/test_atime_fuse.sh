#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
#
# test_atime_fuse.sh - the atime options over FUSE: pmfs2 served by
# `zusd --transport=fuse -o OPTS` under the default (relatime), relatime,
# noatime, strictatime, relatime,nodiratime, strictatime,nodiratime and
# noatime,strictatime (strictatime wins, as on Linux), each time
# `posix-test -g atime -A OPTS`: reads, mmap reads and readdirs move atime
# exactly as the VFS's rules say and never move ctime.  The kernel's FUSE
# leaves atime to the server (S_NOATIME), so zusd's FUSE transport applies
# them (zusd/atime.h).  Then fsck -n.
#
# Runs from the top build directory (as `make check` does) or with
# ZUFS_BUILDDIR set.  Exit 77 (skip) when FUSE cannot be used here.

set -u

# shellcheck source=tests/lib/fuse-test.sh
. "$(dirname "$0")/../lib/fuse-test.sh"
POSIX_TEST=$B/tests/posix/posix-test

fuse_need_built "$POSIX_TEST"
fuse_require
fuse_workdir atime-fuse

# mount_fs [OPTS]
mount_fs() {
	: >"$LOG"
	"$ZUSD" --transport=fuse --plugin "$PLUGIN" ${1:+-o "$1"} "$IMG" "$MNT" \
		>>"$LOG" 2>&1 &
	ZPID=$!
	wait_mounted 20
}

truncate -s 64M "$IMG" || hard "truncate failed"
"$MKFS" "$IMG" >"$T/mkfs.log" 2>&1 || { cat "$T/mkfs.log"; die "mkfs.pmfs2 failed"; }

failed=0
# OPTS:POLICY (the policy zusd must report); an empty OPTS is the default
for c in :relatime relatime:relatime noatime:noatime strictatime:strictatime \
	relatime,nodiratime:relatime,nodiratime \
	strictatime,nodiratime:strictatime,nodiratime \
	noatime,strictatime:strictatime; do
	opts=${c%%:*}
	policy=${c#*:}
	echo "== -o ${opts:-(none)}"
	mount_fs "$opts"
	grep -q "over FUSE, .* threads, $policy\$" "$LOG" ||
		{ cat "$LOG"; die "-o ${opts:-(none)}: zusd does not serve with $policy"; }
	# only "noatime" reaches the kernel's mount (libfuse refuses the others)
	case $policy in
	noatime) want=noatime ;;
	*) want=relatime ;;
	esac
	grep " $MNT fuse" /proc/mounts | grep -q "[ ,]${want}[ ,]" ||
		die "-o ${opts:-(none)}: the kernel's mount is not $want: $(grep " $MNT fuse" /proc/mounts)"
	# no -A for the default: posix-test reads the policy from statvfs
	"$POSIX_TEST" -q -g atime ${opts:+-A "$opts"} "$MNT" || failed=1
	kill -0 "$ZPID" 2>/dev/null || die "zusd died during posix-test"
	unmount_fs
done

echo "== fsck.pmfs2 -n"
"$FSCK" -n "$IMG" || die "fsck.pmfs2 -n found problems"

[ $failed -eq 0 ] || die "posix-test -g atime failed"
echo "PASS"
exit 0
