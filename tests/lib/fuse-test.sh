# SPDX-License-Identifier: BSD-2-Clause
# fuse-test.sh - sourced by the shell tests that serve pmfs2 with
# `zusd --transport=fuse`: verdict helpers, the FUSE probe, waiting for the
# mount, unmounting with zusd's exit status, sanitizer reports, cleanup.
# The caller sets MNT (mountpoint), LOG (zusd's log) and ZPID (zusd's pid).
# Sets B (the build tree: $ZUFS_BUILDDIR, else the current directory, as
# under `make check`) and the paths of the programs every such test runs.

B=${ZUFS_BUILDDIR:-$(pwd)}
ZUSD=$B/zusd/zusd
MKFS=$B/mkfs/mkfs.pmfs2
FSCK=$B/mkfs/fsck.pmfs2
PLUGIN=$B/plugins/pmfs2/.libs/pmfs2.so
# Sanitizer builds: a report makes zusd exit non-zero and fails the test
# (libfuse needs no leak suppression).
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export UBSAN_OPTIONS

skip() { echo "SKIP: $*"; exit 77; }
die() { echo "FAIL: $*"; exit 1; }
hard() { echo "ERROR: $*"; exit 99; }

# fuse_need_built [FILE...]: zusd, mkfs, fsck, pmfs2.so and each FILE (a
# program, or a .so) are built, else a hard error.
fuse_need_built() {
	for f in "$ZUSD" "$MKFS" "$FSCK" "$PLUGIN" "$@"; do
		case $f in
		*.so) [ -f "$f" ] ;;
		*) [ -x "$f" ] ;;
		esac || hard "$f is not built (run make in $B)"
	done
}

# Skip unless FUSE is usable here; sets UNMOUNT.
fuse_require() {
	[ -c /dev/fuse ] || skip "/dev/fuse does not exist (modprobe fuse)"
	( exec 3<>/dev/fuse ) 2>/dev/null || skip "/dev/fuse cannot be opened by uid $(id -u)"
	if command -v fusermount3 >/dev/null 2>&1; then
		UNMOUNT="fusermount3 -u"
	elif [ "$(id -u)" = 0 ]; then
		UNMOUNT="umount"
	else
		skip "fusermount3 is not installed (apt-get install fuse3)"
	fi
}

is_mounted() { grep -qs " $MNT fuse" /proc/mounts; }

no_sanitizer_report() {
	if grep -E 'ERROR: (Address|Leak|Undefined)Sanitizer|runtime error:' "$1"; then
		die "sanitizer report in zusd log"
	fi
}

# wait_mounted SECONDS: until $MNT is mounted, or fail when zusd exits first.
wait_mounted() {
	i=0
	while ! is_mounted; do
		kill -0 "$ZPID" 2>/dev/null || { wait "$ZPID"; die "zusd exited ($?) before mounting"; }
		i=$((i + 1))
		[ $i -le $(($1 * 10)) ] || die "mount did not appear within $1 s"
		sleep 0.1
	done
}

# Unmount and wait for zusd: its exit status says whether umount synced.
unmount_fs() {
	$UNMOUNT "$MNT" || die "$UNMOUNT $MNT failed"
	wait "$ZPID"
	st=$?
	ZPID=
	[ $st -eq 0 ] || die "zusd exited with status $st after unmount"
	no_sanitizer_report "$LOG"
	return 0
}

# fuse_workdir NAME: a fresh work directory T (removed at exit) with MNT
# (made), LOG and IMG in it; ZPID empty; the traps that clean up after any
# exit: unmount, stop zusd, its log after a failure, rm -rf T.
fuse_workdir() {
	T=$(mktemp -d "${TMPDIR:-/tmp}/zufs-$1.XXXXXX") || hard "mktemp failed"
	IMG=$T/pmfs2.img
	MNT=$T/mnt
	LOG=$T/zusd.log
	ZPID=
	trap fuse_workdir_cleanup EXIT
	trap 'exit 1' INT TERM HUP
	mkdir "$MNT" || hard "mkdir $MNT"
}

fuse_workdir_cleanup() {
	rc=$?
	fuse_cleanup $rc
	rm -rf "$T"
	exit $rc
}

# For the EXIT trap: unmount, stop zusd, show its log after a failure.
fuse_cleanup() {
	if is_mounted; then
		$UNMOUNT "$MNT" 2>/dev/null || umount -l "$MNT" 2>/dev/null ||
			fusermount3 -uz "$MNT" 2>/dev/null
	fi
	if [ -n "$ZPID" ] && kill -0 "$ZPID" 2>/dev/null; then
		kill -TERM "$ZPID" 2>/dev/null
		sleep 1
		kill -KILL "$ZPID" 2>/dev/null
	fi
	if [ "$1" -ne 0 ] && [ "$1" -ne 77 ] && [ -s "$LOG" ]; then
		echo "---- zusd log ----"
		cat "$LOG"
	fi
}
