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

# shellcheck source=tests/appliance/appliance-lib.sh
. "$(dirname "$0")/appliance-lib.sh"

app_zusd_setup zufs-fdstore
SD=$T/sd
MNT=$T/mnt
MNT2=$T/mnt2
LOG=$T/zusd.log
NOTIFY=$SD/notify.log
TABLE=$SD/fdstore-mount-table
SD_PID=

# for app_exit: fake-systemd passes SIGTERM on to zusd
stop_zusd() {
	app_stop "$SD_PID" 100
	[ -s "$SD/pid" ] && kill -KILL "$(cat "$SD/pid")" 2>/dev/null
	app_unmount "$MNT"
	app_unmount "$MNT2"
}
trap 'app_exit stop_zusd "$LOG" "$NOTIFY" "$TABLE"' EXIT
trap 'exit 1' HUP INT PIPE TERM

# -- a private system bus with the production policy
app_system_bus

mkdir "$SD" "$MNT" "$MNT2" || hard "mkdir"
for img in "$T/a.img" "$T/b.img"; do
	truncate -s 32M "$img" && "$MKFS" -q "$img" >/dev/null 2>&1 || hard "mkfs $img"
done
app_zusd_conf "$T/zusd.conf" a "$T/a.img" "$MNT"

# $1: start number: that start's READY=1 came, and $MNT is mounted
ready() {
	[ "$(cat "$SD/starts" 2>/dev/null)" = "$1" ] &&
	[ "$(grep -c '^READY=1$' "$NOTIFY" 2>/dev/null)" = "$1" ] &&
	mounted "$MNT"
}

# $1: start number, $2: what.  Waits for that start's READY=1 and mount.
wait_ready() {
	app_wait 300 ready "$1" ||
		{ bad "start $1 ($2): no READY=1 and mount in 30 s"; exit 1; }
	ok "start $1 ($2): READY=1, $MNT mounted"
}

# $1: pattern (grep -E) the stored table must match (with $2 = no: not),
# within 10 s
wait_table() {
	if [ "${2:-yes}" = yes ]; then
		app_wait 100 grep -qsE "$1" "$TABLE"
	else
		app_wait 100 app_not grep -qsE "$1" "$TABLE"
	fi
}

# $1: mountpoint; waits up to 10 s for it
wait_mounted() { app_wait 100 mounted "$1"; }

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
app_wait 50 grep -q '^CORRUPTED mount-table$' "$NOTIFY"
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
app_wait 300 app_not app_alive "$SD_PID"
SD_PID=
[ "$(grep '^EXIT' "$NOTIFY" | tail -1)" = "EXIT 0" ] && ok "SIGTERM: exit 0" ||
	bad "SIGTERM: $(grep '^EXIT' "$NOTIFY" | tail -1)"
app_sanitizer_report "$LOG" && bad "sanitizer report in zusd's log"

exit $fail
