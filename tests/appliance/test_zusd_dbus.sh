#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
#
# test_zusd_dbus.sh - the real zusd as zusd.service runs it: no arguments
# but -c FILE, everything from zusd.conf, serving a pmfs2 image over FUSE,
# with org.zufs.Manager1 on a private dbus-daemon (DBUS_SYSTEM_BUS_ADDRESS,
# the system-bus default-deny policy plus units/org.zufs.Manager1.conf) and
# systemd's notification socket captured by fake-systemd --listen:
#
#  - READY=1, a readable STATUS= and WATCHDOG=1 pings (WATCHDOG_USEC=2 s);
#  - zufsctl status and mounts show the mount; I/O on it makes the counters
#    of zufsctl stats --json grow; zufsctl mount / unmount add and remove a
#    second mount; zufsctl restart exits with status 75;
#  - SIGTERM unmounts cleanly (exit 0, STOPPING=1);
#  - a bad zusd.conf stops zusd with status 78 (EX_CONFIG) and "FILE:LINE: reason".
#
# Needs root, /dev/fuse and dbus-daemon; exits 77 (skip) without.
# A trap always unmounts and stops zusd and the bus, whatever failed.
set -u

# shellcheck source=tests/appliance/appliance-lib.sh
. "$(dirname "$0")/appliance-lib.sh"

app_zusd_setup zufs-zusd-dbus
IMG=$T/pmfs2.img
MNT=$T/mnt
IMG2=$T/second.img
MNT2=$T/mnt2
CONF=$T/zusd.conf
LOG=$T/zusd.log
NOTIFY=$T/notify.log
ZPID=

# for app_exit
stop_zusd() {
	app_unmount "$MNT"
	app_unmount "$MNT2"
	app_stop "$ZPID" 10
}
trap 'app_exit stop_zusd "$LOG" "$NOTIFY"' EXIT
trap 'exit 1' HUP INT PIPE TERM

# -- a private system bus with the shipped policy
app_system_bus

# -- systemd's notification socket: every datagram, one line each
"$FAKESD" "$T" --listen &
app_pids="$app_pids $!"
app_wait 100 test -S "$T/notify.sock" || hard "notify listener did not start"

# -- the filesystem and zusd.conf
mkdir "$MNT" "$MNT2" || hard "mkdir"
truncate -s 64M "$IMG" "$IMG2" "$T/tier2" || hard "truncate"
"$MKFS" "$IMG" >"$T/mkfs.log" 2>&1 || { cat "$T/mkfs.log"; hard "mkfs"; }
# the second one is tiered: zufsctl stats and status show its tier
"$MKFS" --tier "$T/tier2" "$IMG2" >"$T/mkfs.log" 2>&1 ||
	{ cat "$T/mkfs.log"; hard "mkfs --tier"; }
app_zusd_conf "$CONF" test "$IMG" "$MNT"

# $1: what for.  Starts zusd as zusd.service would, waits for the mount.
start_zusd() {
	echo "---- zusd start: $1" >>"$LOG"
	NOTIFY_SOCKET=$T/notify.sock WATCHDOG_USEC=2000000 \
		"$ZUSD" -c "$CONF" >>"$LOG" 2>&1 &
	ZPID=$!
	i=0
	while ! mounted "$MNT" || ! grep -q '^READY=1$' "$NOTIFY"; do
		if ! kill -0 "$ZPID" 2>/dev/null; then
			wait "$ZPID"
			log "zusd exited ($?) before mounting"
			exit 1
		fi
		i=$((i + 1))
		[ $i -le 300 ] || { log "no mount and READY=1 within 30 s ($1)"; exit 1; }
		sleep 0.1
	done
	ok "zusd -c zusd.conf mounted $MNT and sent READY=1 ($1)"
}

# $1: expected exit status, $2: what
wait_zusd() {
	wait "$ZPID"
	st=$?
	ZPID=
	[ "$st" = "$1" ] && ok "$2: exit status $st" ||
		bad "$2: exit status $st, expected $1"
	if app_sanitizer_report "$LOG"; then
		bad "$2: sanitizer report in zusd's log"
	fi
	mounted "$MNT" && bad "$2: $MNT still mounted" || ok "$2: $MNT unmounted"
}

# zufsctl's JSON is compact, in a fixed key order: checked with grep.
# $1: name, $2: file, then strings it must all hold
json_has() {
	name=$1
	file=$2
	shift 2
	for want in "$@"; do
		grep -qF -- "$want" "$file" || { bad "$name: no $want"; cat "$file"; return; }
	done
	ok "$name"
}

# $1: name, $2: file, $3: how many objects with a "device" key (mounts)
json_count() {
	n=$(grep -o '{"device":' "$2" | wc -l)
	[ "$n" = "$3" ] && ok "$1" || { bad "$1: $n entries, not $3"; cat "$2"; }
}

# $1: stats --json of one mount, $2: operation, $3: counter -> its value
op_val() {
	v=$(sed -n "s/.*\"$2\":{[^}]*\"$3\":\([0-9]*\).*/\1/p" "$1")
	echo "${v:-0}"
}

start_zusd "first start"

# -- zufsctl on the bus
zufsctl_status() { "$ZUFSCTL" status >"$T/status" 2>&1; }
app_wait 100 zufsctl_status
grep -q 'running' "$T/status" && ok "zufsctl status: running" ||
	{ bad "zufsctl status"; cat "$T/status"; }
grep -q 'transport: fuse' "$T/status" && ok "zufsctl status: transport fuse" ||
	{ bad "zufsctl status: transport"; cat "$T/status"; }
"$ZUFSCTL" status --json >"$T/status.json" 2>&1
json_has "zufsctl status --json: running, 1 mount" "$T/status.json" \
	'"state":"running"' '"transport":"fuse"' '"mounts":1,'
"$ZUFSCTL" mounts >"$T/mounts" 2>&1
grep -q "$MNT" "$T/mounts" && ok "zufsctl mounts shows $MNT" ||
	{ bad "zufsctl mounts"; cat "$T/mounts"; }
"$ZUFSCTL" mounts --json >"$T/mounts.json" 2>&1
json_has "zufsctl mounts --json: device, mountpoint, type" "$T/mounts.json" \
	"{\"device\":\"$(realpath "$IMG")\",\"mountpoint\":\"$MNT\",\"fstype\":\"pmfs2\","
json_count "zufsctl mounts --json: one mount" "$T/mounts.json" 1

# -- I/O makes the counters grow
"$ZUFSCTL" stats --json "$MNT" >"$T/stats0.json" 2>&1 ||
	{ bad "zufsctl stats --json (before)"; cat "$T/stats0.json"; }
dd if=/dev/urandom of="$MNT/file" bs=64k count=16 conv=fsync 2>/dev/null ||
	bad "write to $MNT"
mkdir "$MNT/dir" && ls -l "$MNT" >/dev/null || bad "mkdir/ls on $MNT"
echo 3 > /proc/sys/vm/drop_caches 2>/dev/null
cat "$MNT/file" >/dev/null || bad "read from $MNT"
"$ZUFSCTL" stats --json "$MNT" >"$T/stats1.json" 2>&1 ||
	{ bad "zufsctl stats --json (after)"; cat "$T/stats1.json"; }
s0=$T/stats0.json
s1=$T/stats1.json
if [ "$(op_val "$s1" write count)" -gt "$(op_val "$s0" write count)" ] &&
   [ "$(op_val "$s1" write bytes)" -ge $(($(op_val "$s0" write bytes) + 1048576)) ] &&
   [ "$(op_val "$s1" mkdir count)" = $(($(op_val "$s0" mkdir count) + 1)) ] &&
   [ "$(op_val "$s1" read count)" -gt "$(op_val "$s0" read count)" ] &&
   [ "$(op_val "$s1" read bytes)" -gt "$(op_val "$s0" read bytes)" ] &&
   [ "$(op_val "$s1" write errors)" = 0 ]; then
	ok "stats --json: write, mkdir and read counts and bytes grew"
else
	bad "stats --json did not grow"; cat "$s0" "$s1"
fi
log "write $(op_val "$s1" write count) bytes $(op_val "$s1" write bytes) read $(op_val "$s1" read count) mkdir $(op_val "$s1" mkdir count)"
"$ZUFSCTL" stats --json >"$T/stats-all.json" 2>&1
json_has "stats --json (all mounts) lists $MNT" "$T/stats-all.json" \
	"\"mountpoint\":\"$MNT\""
json_count "stats --json (all mounts): one mount" "$T/stats-all.json" 1

# -- zufsctl mount / unmount (FUSE: zusd mounts itself)
if "$ZUFSCTL" mount "$IMG2" "$MNT2" -t pmfs2 -o "tier=$T/tier2" \
	>"$T/mount.out" 2>&1; then
	ok "zufsctl mount $MNT2"
else
	bad "zufsctl mount"; cat "$T/mount.out"
fi
mounted "$MNT2" && ok "$MNT2 is mounted" || bad "$MNT2 is not mounted"
mounted "$MNT2" && echo hello >"$MNT2/hello" && [ "$(cat "$MNT2/hello")" = hello ] &&
	ok "I/O on $MNT2" || bad "I/O on $MNT2"
# fill the pmem past tier_low: the migrator moves data to the tier
dd if=/dev/zero of="$MNT2/fill" bs=1M count=56 2>/dev/null || bad "fill $MNT2"
migrated() {
	"$ZUFSCTL" stats "$MNT2" --json 2>/dev/null |
		grep -q '"tier":{.*"migrations":[1-9]'
}
app_wait 100 migrated
"$ZUFSCTL" stats "$MNT2" >"$T/stats2.out" 2>&1
"$ZUFSCTL" stats "$MNT2" --json >"$T/stats2.json" 2>&1
"$ZUFSCTL" status >"$T/status2.out" 2>&1
"$ZUFSCTL" mounts >"$T/mounts2.out" 2>&1
grep -Eq "^$IMG2 +$MNT2 +pmfs2 +mounted +64\.0 MiB +[0-9.]+ MiB +" "$T/mounts2.out" &&
	ok "zufsctl mounts: the TIER column of $MNT2" ||
	{ bad "zufsctl mounts: no tier size"; cat "$T/mounts2.out"; }
if grep -Eq '^  tier: (uring|sync) backend, 1 device, watermarks 10%/20% free pmem' "$T/stats2.out" &&
   grep -Eq '^    tier +[0-9.]+ [KM]iB of 64\.0 MiB \([0-9]+%\) used$' "$T/stats2.out" &&
   grep -Eq '^    migrations +[1-9][0-9]* extents, [0-9.]+ [KM]iB, [0-9.]+ [KMG]?i?B/s$' "$T/stats2.out" &&
   grep -Eq '^    queue depth +[0-9]+ \(max [0-9]+\)$' "$T/stats2.out"; then
	ok "zufsctl stats: the tier of $MNT2 (bytes on the tier, migrations, MiB/s, queue)"
else
	bad "zufsctl stats of the tiered mount:"; cat "$T/stats2.out"
fi
grep -q '"tier":{"backend":"\(uring\|sync\)","ntier":1,' "$T/stats2.json" &&
	grep -q '"migrate_bytes_per_sec":[1-9]' "$T/stats2.json" &&
	ok "zufsctl stats --json: tier counters" ||
	{ bad "zufsctl stats --json of the tiered mount"; cat "$T/stats2.json"; }
grep -Eq "^    $MNT2: pmfs2 on $IMG2, mounted\$" "$T/status2.out" &&
	grep -Eq '^      tier [0-9.]+ [KM]iB of 64\.0 MiB \([0-9]+%\) used, [1-9][0-9]* migrations, [0-9]+ promotions, queue [0-9]+, ' "$T/status2.out" &&
	[ "$(grep -c '^      tier ' "$T/status2.out")" = 1 ] &&
	ok "zufsctl status: one tier line, for $MNT2" ||
	{ bad "zufsctl status with a tiered mount"; cat "$T/status2.out"; }
"$ZUFSCTL" mounts --json >"$T/mounts2.json" 2>&1
json_has "zufsctl mounts --json: two mounts" "$T/mounts2.json" \
	"\"mountpoint\":\"$MNT\"" "\"mountpoint\":\"$MNT2\""
json_count "zufsctl mounts --json: two entries" "$T/mounts2.json" 2
sleep 0.6
grep -q '^STATUS=serving 2 mounts over fuse' "$NOTIFY" &&
	ok "STATUS=serving 2 mounts over fuse" ||
	bad "no STATUS=serving 2 mounts over fuse"
if "$ZUFSCTL" unmount "$MNT2" >"$T/unmount.out" 2>&1; then
	ok "zufsctl unmount $MNT2"
else
	bad "zufsctl unmount"; cat "$T/unmount.out"
fi
mounted "$MNT2" && bad "$MNT2 still mounted" || ok "$MNT2 unmounted"
"$ZUFSCTL" mounts --json >"$T/mounts3.json" 2>&1
json_has "zufsctl mounts --json: one mount again" "$T/mounts3.json" \
	"\"mountpoint\":\"$MNT\""
json_count "zufsctl mounts --json: one entry again" "$T/mounts3.json" 1
if "$ZUFSCTL" mount "$T/no-such.img" "$MNT2" -t pmfs2 >"$T/mount.err" 2>&1; then
	bad "zufsctl mount of a missing device succeeded"
else
	ok "zufsctl mount of a missing device fails"
fi
mounted "$MNT2" && bad "$MNT2 mounted from a missing device"

# -- systemd notifications: READY, STATUS, WATCHDOG (every 0.5 s for 2 s)
sleep 2.5
grep -q '^STATUS=serving 1 mount over fuse' "$NOTIFY" &&
	ok "STATUS=serving 1 mount over fuse" ||
	bad "no STATUS=serving 1 mount over fuse"
n=$(grep -c '^WATCHDOG=1$' "$NOTIFY")
[ "$n" -ge 2 ] && ok "WATCHDOG=1 pings ($n)" || bad "WATCHDOG=1 pings: $n"

# -- SIGTERM: unmount, STOPPING=1, exit 0
kill -TERM "$ZPID"
wait_zusd 0 "SIGTERM"
grep -q '^STOPPING=1$' "$NOTIFY" && ok "STOPPING=1" || bad "no STOPPING=1"
grep -q 'unmounted cleanly' "$LOG" && ok "unmounted cleanly" ||
	bad "no clean unmount in the log"

# -- zufsctl restart: zusd unmounts and exits 75 (systemd restarts it)
: >"$NOTIFY"
start_zusd "second start"
zufsctl_restart() { "$ZUFSCTL" restart >"$T/restart" 2>&1; }
app_wait 50 zufsctl_restart || { bad "zufsctl restart"; cat "$T/restart"; }
wait_zusd 75 "zufsctl restart"

# -- a bad zusd.conf: exit 78 (EX_CONFIG) with FILE:LINE: reason, nothing mounted
printf '[zusd]\ntransport = fuse\nno_such_key = 1\n' >"$T/bad.conf"
"$ZUSD" -c "$T/bad.conf" >"$T/bad.out" 2>"$T/bad.err"
st=$?
[ $st -eq 78 ] && ok "bad zusd.conf: exit status 78" ||
	bad "bad zusd.conf: exit status $st"
grep -q "^zusd: $T/bad.conf:3: " "$T/bad.err" &&
	ok "bad zusd.conf: FILE:LINE: reason on stderr" ||
	{ bad "bad zusd.conf: message"; cat "$T/bad.err"; }
"$ZUSD" -c "$T/missing.conf" >/dev/null 2>"$T/missing.err"
st=$?
[ $st -eq 78 ] && ok "missing -c file: exit status 78 (EX_CONFIG)" ||
	bad "missing -c file: exit status $st"

[ $fail -eq 0 ] && log "all passed"
exit $fail
