#!/bin/bash
# Guest helpers for the pmfs2-over-zuf VM tests (zuf-pmfs2-*.sh) and the
# VM benchmark (tests/bench/vm-fio-guest.sh).  Source after guest-lib.sh:
#
#   . "$VM_LIB"; . "$VM_SRCDIR/tests/vm/zuf-lib.sh"
#
# Binaries come from the build tree ($VM_BUILDDIR), seen read-only over 9p.

ZUF_KO=${ZUF_KO:-$VM_BUILDDIR/kmod/zuf.ko}
ZUSD=${ZUSD:-$VM_BUILDDIR/zusd/zusd}
PMFS2_SO=${PMFS2_SO:-$VM_BUILDDIR/plugins/pmfs2/.libs/pmfs2.so}
MKFS_PMFS2=${MKFS_PMFS2:-$VM_BUILDDIR/mkfs/mkfs.pmfs2}
FSCK_PMFS2=${FSCK_PMFS2:-$VM_BUILDDIR/mkfs/fsck.pmfs2}
POSIX_TEST=${POSIX_TEST:-$VM_BUILDDIR/tests/posix/posix-test}
ZUF_MEMFS=${ZUF_MEMFS:-$VM_BUILDDIR/kmod/tests/zuf-memfs}

MEMFS_PID=
MEMFS_N=0

ZUSD_PID=
ZUSD_N=0
ZUSD_LOG=

# zuf_load [PARAM=VALUE...]: insmod the freshly built zuf.ko, mount zuf-root.
zuf_load() {
	vm_insmod "$ZUF_KO" "$@" || return 1
	mountpoint -q /sys/fs/zuf || mount -t zuf nodev /sys/fs/zuf
}

# until_ok TENTHS CMD...: run CMD every 0.1 s until it succeeds, at most
# TENTHS times; fails if it never did.  UNTIL_TENTHS: the waits it took.
until_ok() {
	local max=$1
	shift
	UNTIL_TENTHS=0
	until "$@"; do
		((++UNTIL_TENTHS >= max)) && return 1
		sleep 0.1
	done
	return 0
}

# zusd_start [ZUSD ARGS...]: start zusd --transport=${ZUSD_TRANSPORT:-zuf}
# with pmfs2 in the background; returns once it serves (log: $ZUSD_LOG).
zusd_start() {
	local n=0
	ZUSD_N=$((ZUSD_N + 1))
	ZUSD_LOG=$VM_RESULTS/zusd-$ZUSD_N.log
	"$ZUSD" --transport="${ZUSD_TRANSPORT:-zuf}" --plugin "$PMFS2_SO" "$@" \
		>"$ZUSD_LOG" 2>&1 &
	ZUSD_PID=$!
	while ! grep -q "serving pmfs2" "$ZUSD_LOG" 2>/dev/null; do
		if ((n++ > 150)) || ! kill -0 "$ZUSD_PID" 2>/dev/null; then
			echo "[vm] zusd did not start:" >&2
			cat "$ZUSD_LOG" >&2
			ZUSD_PID=
			return 1
		fi
		sleep 0.1
	done
}

# zusd_stop [SIGNAL]: stop zusd (TERM: mounts stay for the next zusd).
zusd_stop() {
	[[ -n $ZUSD_PID ]] || return 0
	kill "-${1:-TERM}" "$ZUSD_PID" 2>/dev/null || :
	wait "$ZUSD_PID" 2>/dev/null || :
	ZUSD_PID=
}

# zuf_cleanup MOUNTPOINT...: for traps: unmount, stop zusd (never fails).
zuf_cleanup() {
	local m
	for m in "$@"; do
		if mountpoint -q "$m" 2>/dev/null; then
			umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || :
		fi
	done
	zusd_stop TERM
}

# memfs_start [--evil MODE]: start the test server kmod/tests/zuf-memfs
# ($ZUF_MEMFS) in the background; returns once its channels are attached.
# Log: $VM_RESULTS/memfs-N.log.
memfs_start() {
	local n=0
	MEMFS_N=$((MEMFS_N + 1))
	"$ZUF_MEMFS" "$@" >"$VM_RESULTS/memfs-$MEMFS_N.log" 2>&1 &
	MEMFS_PID=$!
	while ! grep -q serving "$VM_RESULTS/memfs-$MEMFS_N.log" 2>/dev/null; do
		sleep 0.2
		n=$((n + 1))
		if ((n > 100)) || ! kill -0 "$MEMFS_PID" 2>/dev/null; then
			cat "$VM_RESULTS/memfs-$MEMFS_N.log" >&2
			return 1
		fi
	done
	sleep 0.5	# channel threads attach
}

# memfs_stop [SIGNAL]: stop it (TERM by default) and reap it.
memfs_stop() {
	[[ -n $MEMFS_PID ]] || return 0
	kill "-${1:-TERM}" "$MEMFS_PID" 2>/dev/null
	wait "$MEMFS_PID" 2>/dev/null
	MEMFS_PID=
}

# fails_with REGEX CMD...: CMD fails and its message matches REGEX.
fails_with() {
	local want=$1 out
	shift
	if out=$("$@" 2>&1); then
		echo "[vm] unexpectedly succeeded: $*" >&2
		return 1
	fi
	[[ $out =~ $want ]] || { echo "[vm] $*: '$out', wanted /$want/" >&2; return 1; }
}

# fio_ok JSON: fio's JSON says no job had an error and verify found nothing.
fio_ok() {
	python3 - "$1" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
bad = [j["jobname"] for j in d["jobs"] if j.get("error")]
if bad:
    sys.exit("fio jobs failed: %s" % bad)
EOF
}
