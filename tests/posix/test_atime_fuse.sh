#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
#
# test_atime_fuse.sh - the atime options over FUSE: pmfs2 served by
# `zusd --transport=fuse -o OPTS` under the default (relatime), relatime,
# noatime, strictatime, relatime,nodiratime, strictatime,nodiratime and
# noatime,strictatime (strictatime wins, as on Linux), relatime,lazytime
# and strictatime,lazytime, each time `posix-test -g atime -A OPTS`: reads,
# mmap reads and readdirs move atime exactly as the VFS's rules say and
# never move ctime.  The kernel's FUSE leaves atime to the server
# (S_NOATIME), so zusd's FUSE transport applies them (zusd/atime.h).
# Then lazytime's promise, with zusd killed (-9) as a crash: an atime an
# access moved is seen at once but written only by fsync (not fdatasync),
# a setattr, the inode's eviction or umount; a crash before loses it.
# Then fsck -n.
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
	noatime,strictatime:strictatime relatime,lazytime:relatime,lazytime \
	strictatime,lazytime:strictatime,lazytime; do
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

# ---- lazytime: what reaches the image, and when ----
# crash_fs: zusd dies (SIGKILL) with the mount up; the mount goes
crash_fs() {
	kill -KILL "$ZPID" 2>/dev/null
	wait "$ZPID" 2>/dev/null
	ZPID=
	$UNMOUNT "$MNT" 2>/dev/null || umount -l "$MNT" 2>/dev/null ||
		fusermount3 -uz "$MNT" 2>/dev/null || die "cannot unmount after the crash"
}
at() { stat -c %x "$MNT/$1"; }
# step NAME WANT GOT
step() {
	if [ "$2" = "$3" ]; then
		echo "ok: lazytime: $1"
	else
		echo "not ok: lazytime: $1: atime $3, want $2"
		failed=1
	fi
}
fsync_py() {
	python3 -c "import os,sys; fd=os.open(sys.argv[1], os.O_RDONLY); os.$1(fd)" "$2" ||
		die "$1 $2 failed"
}
LZ=strictatime,lazytime
echo "== lazytime, crash with zusd killed"
mount_fs "$LZ"
mkdir "$MNT/d" && echo data >"$MNT/f" && echo data >"$MNT/g" ||
	die "cannot create files"
touch -a -d '2020-01-01 00:00:00' "$MNT/f" "$MNT/g" "$MNT/d" || die "touch -a failed"
old=$(at f)
unmount_fs
mount_fs "$LZ"
# a fresh mount: the first read reaches zusd (nothing cached)
cat "$MNT/f" >/dev/null
a1=$(at f)
[ "$a1" != "$old" ] || { echo "not ok: lazytime: a read did not move atime"; failed=1; }
ls "$MNT/d" >/dev/null
[ "$(at d)" != "$old" ] || { echo "not ok: lazytime: a readdir did not move atime"; failed=1; }
crash_fs
mount_fs "$LZ"
step "a crash loses an atime no sync wrote (file)" "$old" "$(at f)"
step "a crash loses an atime no sync wrote (directory)" "$old" "$(at d)"
cat "$MNT/f" >/dev/null
a2=$(at f)
fsync_py fsync "$MNT/f"
sleep 0.05
cat "$MNT/g" >/dev/null
fsync_py fdatasync "$MNT/g"
crash_fs
mount_fs "$LZ"
step "fsync writes it" "$a2" "$(at f)"
step "fdatasync does not" "$old" "$(at g)"
cat "$MNT/f" >/dev/null
a3=$(at f)
c3=$(stat -c %z "$MNT/f")
chmod 600 "$MNT/f" || die "chmod failed"
crash_fs
mount_fs "$LZ"
step "a setattr (chmod) carries it" "$a3" "$(at f)"
[ "$(stat -c %z "$MNT/f")" != "$c3" ] ||
	{ echo "not ok: lazytime: chmod did not move ctime"; failed=1; }
# eviction: the kernel forgets an inode it dropped from its caches
if [ -w /proc/sys/vm/drop_caches ]; then
	cat "$MNT/g" >/dev/null
	a5=$(at g)
	sync
	echo 2 >/proc/sys/vm/drop_caches
	sleep 0.5
	crash_fs
	mount_fs "$LZ"
	step "the inode's eviction writes it" "$a5" "$(at g)"
else
	echo "skip: lazytime: eviction (cannot drop the kernel's caches)"
fi
cat "$MNT/f" >/dev/null
a4=$(at f)
unmount_fs
mount_fs "$LZ"
step "umount writes it" "$a4" "$(at f)"
unmount_fs

echo "== fsck.pmfs2 -n"
"$FSCK" -n "$IMG" || die "fsck.pmfs2 -n found problems"

[ $failed -eq 0 ] || die "posix-test -g atime failed"
echo "PASS"
exit 0
