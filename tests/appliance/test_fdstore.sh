#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
#
# test_fdstore.sh - zusd's mount table in systemd's fd store, over FUSE,
# with fake-systemd (a notify socket that keeps FDSTORE fds and restarts
# zusd with them as LISTEN_FDS) and org.zufs.Manager1 on a private bus:
#
#  - zusd stores one memfd "mount-table" with the zusd.conf mount and a
#    mount made over D-Bus, and rewrites it in place when the table changes;
#  - zusd killed (-9): the next one reads the table ("fd store: 2 mounts
#    from the previous zusd"), closes an fd it does not know, detaches the
#    dead FUSE mounts and mounts both again; data written before is there;
#  - zufsctl restart (exit 75, clean unmount): the D-Bus mount comes back;
#  - a corrupt table is rejected with a log line; zusd still starts.
#
# Needs root, /dev/fuse and dbus-daemon; exits 77 (skip) without.
set -u

fail=0
log() { printf '%s\n' "$*"; }
ok() { log "ok - $*"; }
bad() { log "FAIL - $*"; fail=1; }
skip() { log "SKIP: $*"; exit 77; }
hard() { log "ERROR: $*"; exit 99; }

[ "$(id -u)" = 0 ] || skip "needs root"
command -v dbus-daemon >/dev/null 2>&1 || skip "dbus-daemon not found"
[ -c /dev/fuse ] || skip "/dev/fuse does not exist (modprobe fuse)"
( exec 3<>/dev/fuse ) 2>/dev/null || skip "/dev/fuse cannot be opened"

srcdir=${srcdir:-.}
abs_srcdir=$(cd "$srcdir" && pwd)
B=$(pwd)
ZUSD=$B/zusd/zusd
ZUFSCTL=$B/tools/zufsctl/zufsctl
MKFS=$B/mkfs/mkfs.pmfs2
FAKESD=$B/tests/appliance/fake-systemd
PLUGIN=$B/plugins/pmfs2/.libs/pmfs2.so
for f in "$ZUSD" "$ZUFSCTL" "$MKFS" "$FAKESD"; do
	[ -x "$f" ] || hard "$f is not built"
done
[ -f "$PLUGIN" ] || hard "$PLUGIN is not built"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

T=$(mktemp -d "${TMPDIR:-/tmp}/zufs-fdstore.XXXXXX") || hard "mktemp"
SD=$T/sd
MNT=$T/mnt
MNT2=$T/mnt2
LOG=$T/zusd.log
NOTIFY=$SD/notify.log
TABLE=$SD/fdstore-mount-table
SD_PID=
BUS_PID=

mounted() { grep -qs " $1 fuse" /proc/mounts; }

cleanup() {
	rc=$?
	[ -n "$SD_PID" ] && kill -TERM "$SD_PID" 2>/dev/null
	i=0
	while [ -n "$SD_PID" ] && kill -0 "$SD_PID" 2>/dev/null && [ $i -lt 100 ]; do
		i=$((i + 1))
		sleep 0.1
	done
	[ -n "$SD_PID" ] && kill -KILL "$SD_PID" 2>/dev/null
	[ -s "$SD/pid" ] && kill -KILL "$(cat "$SD/pid")" 2>/dev/null
	for m in "$MNT" "$MNT2"; do
		mounted "$m" && { fusermount3 -u "$m" 2>/dev/null || umount -l "$m"; }
	done
	[ -n "$BUS_PID" ] && kill "$BUS_PID" 2>/dev/null
	wait 2>/dev/null
	if [ $rc -ne 0 ] && [ $rc -ne 77 ]; then
		for f in "$LOG" "$NOTIFY" "$TABLE"; do
			[ -s "$f" ] && { log "---- $f ----"; cat "$f"; }
		done
	fi
	rm -rf "$T"
	exit $rc
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# -- a private system bus with the production policy
cat > "$T/bus.conf" <<EOF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=$T/bus.sock</listen>
  <auth>EXTERNAL</auth>
  <include>$abs_srcdir/tests/appliance/system-bus-policy.conf</include>
  <include>$abs_srcdir/units/org.zufs.Manager1.conf</include>
</busconfig>
EOF
dbus-daemon --config-file="$T/bus.conf" --nofork --nopidfile >"$T/bus.log" 2>&1 &
BUS_PID=$!
i=0
while [ ! -S "$T/bus.sock" ]; do
	i=$((i + 1))
	[ $i -le 100 ] || { cat "$T/bus.log"; hard "dbus-daemon did not start"; }
	sleep 0.1
done
export DBUS_SYSTEM_BUS_ADDRESS=unix:path=$T/bus.sock

mkdir "$SD" "$MNT" "$MNT2" || hard "mkdir"
for img in "$T/a.img" "$T/b.img"; do
	truncate -s 32M "$img" && "$MKFS" -q "$img" >/dev/null 2>&1 || hard "mkfs $img"
done
cat > "$T/zusd.conf" <<EOF
[zusd]
plugins = $PLUGIN
transport = fuse
threads_per_cpu = 1

[mount.a]
device = $T/a.img
mountpoint = $MNT
type = pmfs2
EOF

# $1: start number, $2: what.  Waits for that start's READY=1 and mount.
wait_ready() {
	i=0
	while [ "$(cat "$SD/starts" 2>/dev/null)" != "$1" ] ||
	      [ "$(grep -c '^READY=1$' "$NOTIFY" 2>/dev/null)" != "$1" ] ||
	      ! mounted "$MNT"; do
		i=$((i + 1))
		[ $i -le 300 ] || { bad "start $1 ($2): no READY=1 and mount in 30 s"; exit 1; }
		sleep 0.1
	done
	ok "start $1 ($2): READY=1, $MNT mounted"
}

# $1: pattern (grep -E) the stored table must match (with $2 = no: not)
wait_table() {
	i=0
	while :; do
		if grep -qE "$1" "$TABLE" 2>/dev/null; then
			[ "${2:-yes}" = yes ] && return 0
		else
			[ "${2:-yes}" = no ] && return 0
		fi
		i=$((i + 1))
		[ $i -le 100 ] || return 1
		sleep 0.1
	done
}

# $1: mountpoint; waits up to 10 s for it
wait_mounted() {
	i=0
	while ! mounted "$1" && [ $i -lt 100 ]; do
		i=$((i + 1))
		sleep 0.1
	done
	mounted "$1"
}

FAKE_SYSTEMD_EXTRA_FD=bogus FAKE_SYSTEMD_MAX_STARTS=5 \
	"$FAKESD" "$SD" "$ZUSD" -c "$T/zusd.conf" >"$LOG" 2>&1 &
SD_PID=$!
wait_ready 1 "first"

# -- the table: stored once, rewritten in place
"$ZUFSCTL" mount "$T/b.img" "$MNT2" >/dev/null 2>&1 && mounted "$MNT2" ||
	{ bad "zufsctl mount"; exit 1; }
echo "kept across the restart" > "$MNT2/file" || bad "write $MNT2/file"
if wait_table "^mount fuse dbus pmfs2 $T/b.img $MNT2 -\$" &&
   wait_table "^mount fuse config pmfs2 $T/a.img $MNT -\$" &&
   head -1 "$TABLE" | grep -q '^zusd-mount-table 1$' &&
   tail -1 "$TABLE" | grep -q '^end 2$'; then
	ok "the fd store holds the zusd.conf mount and the D-Bus mount"
else
	bad "fd store table: $(cat "$TABLE" 2>/dev/null)"
fi
[ "$(grep -c '^FDSTORE mount-table$' "$NOTIFY")" = 1 ] &&
	ok "one memfd stored, rewritten in place" ||
	bad "memfd stored $(grep -c '^FDSTORE mount-table$' "$NOTIFY") times"
"$ZUFSCTL" unmount "$MNT2" >/dev/null 2>&1 || bad "zufsctl unmount"
wait_table " dbus " no && wait_table '^end 1$' &&
	ok "an unmount leaves the table" || bad "after unmount: $(cat "$TABLE")"
"$ZUFSCTL" mount "$T/b.img" "$MNT2" >/dev/null 2>&1 || bad "zufsctl mount again"
wait_table " dbus " || bad "no D-Bus mount in the table"

# -- crash: the next zusd mounts both again
kill -KILL "$(cat "$SD/pid")"
wait_ready 2 "after kill -9"
if wait_mounted "$MNT2" &&
   [ "$(cat "$MNT2/file" 2>/dev/null)" = "kept across the restart" ]; then
	ok "the D-Bus mount is back, with its data"
else
	bad "the D-Bus mount did not come back"
fi
for msg in "fd store: 2 mounts from the previous zusd" \
	   "fd store: closing fd 4 (name 'bogus') that this zusd does not use" \
	   "$MNT2: detached the previous zusd's dead FUSE mount" \
	   "$MNT: detached the previous zusd's dead FUSE mount"; do
	grep -qF "zusd: $msg" "$LOG" && ok "logged: $msg" || bad "not logged: $msg"
done
"$ZUFSCTL" mounts | grep -q " $MNT2 " && ok "zufsctl mounts lists it" ||
	bad "zufsctl mounts: $("$ZUFSCTL" mounts 2>&1)"

# -- zufsctl restart: exit 75, clean unmount, both back
"$ZUFSCTL" restart >/dev/null 2>&1 || bad "zufsctl restart"
wait_ready 3 "after zufsctl restart"
grep -q '^EXIT 75$' "$NOTIFY" && ok "restart: exit status 75" ||
	bad "restart: $(grep '^EXIT' "$NOTIFY")"
wait_mounted "$MNT2" &&
	[ "$(cat "$MNT2/file" 2>/dev/null)" = "kept across the restart" ] &&
	ok "restart: the D-Bus mount is back" || bad "restart: D-Bus mount lost"

# -- a corrupt table: rejected, zusd starts anyway
kill -USR1 "$SD_PID"
i=0
while ! grep -q '^CORRUPTED mount-table$' "$NOTIFY" && [ $i -lt 50 ]; do
	i=$((i + 1))
	sleep 0.1
done
kill -KILL "$(cat "$SD/pid")"
wait_ready 4 "after a corrupt table"
grep -qF "zusd: fd store: the previous zusd's mount table is unusable (line 2: not a mount record): ignored" "$LOG" &&
	ok "corrupt table rejected with a reason" || bad "corrupt table not reported"
wait_table '^end 1$' && ok "the table is written afresh" ||
	bad "table: $(cat "$TABLE")"
# dead: the table that knew it is gone
mounted "$MNT2" && umount -l "$MNT2"

# -- stop: exit 0
kill -TERM "$SD_PID"
i=0
while kill -0 "$SD_PID" 2>/dev/null && [ $i -lt 300 ]; do
	i=$((i + 1))
	sleep 0.1
done
SD_PID=
[ "$(grep '^EXIT' "$NOTIFY" | tail -1)" = "EXIT 0" ] && ok "SIGTERM: exit 0" ||
	bad "SIGTERM: $(grep '^EXIT' "$NOTIFY" | tail -1)"
grep -q "ERROR: \(Address\|Leak\)Sanitizer\|runtime error" "$LOG" &&
	bad "sanitizer report in zusd's log"

exit $fail
