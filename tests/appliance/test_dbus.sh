#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
#
# test_dbus.sh - zusd's D-Bus service (the real dbus_service.c and stats.c,
# in fake-zusd over a fake backend) and zufsctl, on private dbus-daemons
# used as the system bus through DBUS_SYSTEM_BUS_ADDRESS.
#
#  - a "strict" bus with a system-bus default-deny policy plus the shipped
#    units/org.zufs.Manager1.conf: what a real system looks like;
#  - a "permissive" bus that lets anyone call anything, to show that zusd
#    itself refuses privileged methods to non-root callers.
#
# Needs root (to own the name and to run clients as nobody with setpriv)
# and dbus-daemon; exits 77 (skip) without them.
set -u

# shellcheck source=tests/appliance/appliance-lib.sh
. "$(dirname "$0")/appliance-lib.sh"

app_require_root
app_require_cmds dbus-daemon dbus-send setpriv busctl

builddir=$(pwd)
# in /tmp, not $TMPDIR: nobody must reach $tmp/bin
app_tmpdir zufs-dbus /tmp
tmp=$T
chmod 755 "$tmp"
mkdir "$tmp/bin"
# clients run as nobody: give them copies in a directory nobody can reach
cp "$builddir/tools/zufsctl/zufsctl" "$builddir/tests/appliance/fake-zusd" \
	"$tmp/bin/" || exit 99
ZUFSCTL=$tmp/bin/zufsctl
FAKE=$tmp/bin/fake-zusd
VERSION=$("$ZUFSCTL" --version | sed 's/^zufsctl //')
NOBODY="setpriv --reuid=65534 --regid=65534 --clear-groups"
# leaks would fail the exit status checks below
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}

trap 'app_exit :' EXIT
trap 'exit 1' HUP INT PIPE TERM

# $1: name, $2: strict|permissive.  Sets bus_pid; the socket is $tmp/$1.sock
start_bus() {
	app_start_bus "$1" "$2" && return
	bad "dbus-daemon $1 did not start"
	cat "$tmp/$1.bus.log"
	exit 1
}

stop_pid() {
	kill "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	return $?
}

# start_fake NAME [ARGS...]: fake-zusd in the background, output in
# $tmp/NAME.log; sets fake_pid
start_fake() {
	name=$1
	shift
	"$FAKE" "$@" >"$tmp/$name.log" 2>&1 &
	fake_pid=$!
	app_pids="$app_pids $fake_pid"
}

# run [nobody] CMD...: rc in $rc, stdout in $tmp/out, stderr in $tmp/err
run() {
	if [ "$1" = nobody ]; then
		shift
		$NOBODY "$@" >"$tmp/out" 2>"$tmp/err"
	else
		"$@" >"$tmp/out" 2>"$tmp/err"
	fi
	rc=$?
}

expect_rc() {	# expected rc, description
	app_expect_rc "$rc" "$1" "$2" "$tmp/out" "$tmp/err"
}

expect_in() {	# file, fixed string, description
	if grep -qF -- "$2" "$1"; then
		ok "$3"
	else
		bad "$3: '$2' not in $(basename "$1")"
		sed 's/^/  | /' "$1"
	fi
}

expect_not_in() {
	if grep -qF -- "$2" "$1"; then
		bad "$3: '$2' found in $(basename "$1")"
		sed 's/^/  | /' "$1"
	else
		ok "$3"
	fi
}

expect_re() {	# file, extended regex, description
	if grep -qE -- "$2" "$1"; then
		ok "$3"
	else
		bad "$3: /$2/ not in $(basename "$1")"
		sed 's/^/  | /' "$1"
	fi
}

wait_exit() {	# pid: its exit status in $rc; killed (rc 124) after ~10 s
	if app_wait 100 app_not app_alive "$1"; then
		wait "$1"
		rc=$?
	else
		kill "$1"
		wait "$1"
		rc=124
	fi
}

zufsctl_status() { "$ZUFSCTL" status >/dev/null 2>&1; }

wait_status() {	# until zufsctl status succeeds, or fail after ~10 s
	app_wait 100 zufsctl_status
}

wait_for() {	# file, fixed string: until it appears (~10 s)
	app_wait 100 grep -qsF -- "$2" "$1"
}

# zufsctl's JSON is compact with keys in a fixed order: checked as text.
# $1: description, then strings $tmp/out must all hold
json_has() {
	what=$1
	shift
	for want in "$@"; do
		if ! grep -qF -- "$want" "$tmp/out"; then
			bad "$what: no $want in"
			sed 's/^/  | /' "$tmp/out"
			return
		fi
	done
	ok "$what"
}

# $1: description, $2: the whole expected output
json_is() {
	if [ "$(cat "$tmp/out")" = "$2" ]; then
		ok "$1"
	else
		bad "$1: expected $2, got"
		sed 's/^/  | /' "$tmp/out"
	fi
}

# The Nth (1-based) mount object of $tmp/out, on one line.
json_mount() {
	sed 's/},{"device":/}\n{"device":/g' "$tmp/out" | sed -n "${1}p"
}

# The operation names of a mount object ($1), space separated.
json_ops() {
	printf '%s\n' "$1" | grep -o '"[a-z_]*":{"count"' |
		sed 's/^"//; s/":{"count"$//' | tr '\n' ' ' | sed 's/ $//'
}

# ==== no bus at all ========================================================
export DBUS_SYSTEM_BUS_ADDRESS=unix:path=$tmp/strict.sock

run "$ZUFSCTL" status
expect_rc 3 "no system bus"
expect_in "$tmp/err" "cannot connect to the system bus" "no bus: says so"

# ==== strict bus: the shipped policy ======================================
# zusd starts before the bus (as at boot) and connects once it is up
start_fake fake1
fake1=$fake_pid
sleep 0.3
if kill -0 "$fake1" 2>/dev/null; then
	ok "fake-zusd keeps running without a bus"
else
	bad "fake-zusd exited without a bus"
	cat "$tmp/fake1.log"
fi
start_bus strict strict
strict_bus=$bus_pid
if wait_status; then
	ok "zusd connected once the bus came up"
else
	bad "zusd never connected to the bus"
	cat "$tmp/fake1.log"
	exit 1
fi
expect_in "$tmp/fake1.log" "will keep trying in the background" "zusd logged that it waits for the bus"

# -- status
run "$ZUFSCTL" status
expect_rc 0 "status"
expect_in "$tmp/out" "zusd $VERSION: running" "status: version and state"
expect_in "$tmp/out" "transport: fuse" "status: transport"
expect_in "$tmp/out" "plugins:   pmfs2, tier" "status: plugins"
expect_in "$tmp/out" "mounts:    2" "status: mounts"
expect_re "$tmp/out" '^    /data: pmfs2 on /dev/pmem0, mounted$' "status: /data"
expect_re "$tmp/out" '^      tier 4\.0 GiB of 12\.0 GiB \(33%\) used, 42 migrations, 3 promotions, queue 0, 84\.0 MiB/s$' "status: tier summary of /data"
expect_re "$tmp/out" '^    /scratch: pmfs2 on /dev/pmem1, mounted$' "status: /scratch"
[ "$(grep -c '^      tier ' "$tmp/out")" = 1 ] && ok "status: a tier line only for the tiered mount" ||
	bad "status: $(grep -c '^      tier ' "$tmp/out") tier lines"
run nobody "$ZUFSCTL" status --json
expect_rc 0 "status --json as nobody"
json_has "status --json" \
	"{\"version\":\"$VERSION\",\"state\":\"running\",\"transport\":\"fuse\",\"plugins\":[\"pmfs2\",\"tier\"],\"mounts\":2,"
json_has "status --json: tier per mount" \
	'"mount_list":[{"device":"/dev/pmem0","mountpoint":"/data","fstype":"pmfs2","state":"mounted","tier":{"backend":"uring",' \
	'"migrations":42,' \
	'{"device":"/dev/pmem1","mountpoint":"/scratch","fstype":"pmfs2","state":"mounted"}]}'

# -- mounts
run nobody "$ZUFSCTL" mounts
expect_rc 0 "mounts as nobody"
expect_re "$tmp/out" '^DEVICE +MOUNTPOINT +TYPE +STATE +PMEM +TIER +OPTIONS$' "mounts: header"
expect_re "$tmp/out" '^/dev/pmem0 +/data +pmfs2 +mounted +1\.0 GiB +12\.0 GiB +noatime$' "mounts: /data row"
expect_re "$tmp/out" '^/dev/pmem1 +/scratch +pmfs2 +mounted +256\.0 MiB +- +-$' "mounts: /scratch row"
run "$ZUFSCTL" mounts --json
expect_rc 0 "mounts --json"
json_is "mounts --json" \
	'[{"device":"/dev/pmem0","mountpoint":"/data","fstype":"pmfs2","state":"mounted","options":"noatime","pmem_bytes":1073741824,"tier_bytes":12884901888},{"device":"/dev/pmem1","mountpoint":"/scratch","fstype":"pmfs2","state":"mounted","options":"","pmem_bytes":268435456,"tier_bytes":0}]'

# -- stats: the values fake-zusd recorded through stats.c from 4 threads
run nobody "$ZUFSCTL" stats
expect_rc 0 "stats as nobody"
expect_in "$tmp/out" "/data: pmfs2 on /dev/pmem0" "stats: /data heading"
expect_re "$tmp/out" '^  OPERATION +COUNT +ERRORS +MiB +P50 +P99 +MAX$' "stats: table header"
expect_re "$tmp/out" '^  read +1000 +0 +3\.91 +2\.0 us +100\.0 us +100\.0 us$' "stats: read row"
expect_re "$tmp/out" '^  write +500 +5 +3\.87 +3\.0 us +3\.0 us +3\.0 us$' "stats: write row"
expect_re "$tmp/out" '^  lookup +200 +20 +0\.00 +700 ns +700 ns +700 ns$' "stats: lookup row"
expect_re "$tmp/out" '^  total +1700 +25 +7\.77$' "stats: /data total"
expect_re "$tmp/out" '^  getattr +50 +0 +0\.00 +300 ns +300 ns +300 ns$' "stats: /scratch getattr row"
expect_re "$tmp/out" '^  tier: uring backend, 1 device, watermarks 10%/20% free pmem$' "stats: tier heading"
expect_re "$tmp/out" '^    pmem +824\.0 MiB of 1\.0 GiB \(80%\) used$' "stats: pmem use"
expect_re "$tmp/out" '^    tier +4\.0 GiB of 12\.0 GiB \(33%\) used$' "stats: bytes on the tier"
expect_re "$tmp/out" '^    migrations +42 extents, 84\.0 MiB, 84\.0 MiB/s$' "stats: migrations and MiB/s"
expect_re "$tmp/out" '^    promotions +3 extents, 6\.0 MiB$' "stats: promotions"
expect_re "$tmp/out" '^    queue depth +0 \(max 32\)$' "stats: queue depth"
expect_not_in "$tmp/out" "migrated_bytes" "stats: raw tier counters only with --all"
expect_not_in "$tmp/out" " fsync " "stats: operations that never ran are hidden"
run "$ZUFSCTL" stats /data --all
expect_re "$tmp/out" '^    migrated_bytes +88080384 \(84\.0 MiB\)$' "stats --all: raw tier counter"
expect_re "$tmp/out" '^    low_watermark +10%$' "stats --all: tier watermark"

run "$ZUFSCTL" stats --json
expect_rc 0 "stats --json"
data=$(json_mount 1)
scratch=$(json_mount 2)
case "$data" in
'{"mounts":[{"device":"/dev/pmem0","mountpoint":"/data",'*) ok "stats --json: /data first" ;;
*) bad "stats --json: /data first: $data" ;;
esac
case "$scratch" in
'{"device":"/dev/pmem1","mountpoint":"/scratch",'*']}') ok "stats --json: /scratch second and last" ;;
*) bad "stats --json: /scratch second: $scratch" ;;
esac
# 980 reads in bucket 10 (1024..2047 ns), 20 in bucket 16, of 48
hist=
for b in $(seq 0 47); do
	case $b in 10) v=980 ;; 16) v=20 ;; *) v=0 ;; esac
	hist=$hist${hist:+,}$v
done
json_has "stats --json: /data read" \
	"\"read\":{\"count\":1000,\"errors\":0,\"bytes\":4096000,\"total_ns\":$((980 * 1500 + 20 * 100000)),\"max_ns\":100000,\"p50_ns\":2047,\"p99_ns\":100000,\"histogram\":[$hist]}"
json_has "stats --json: write and lookup" \
	"\"write\":{\"count\":500,\"errors\":5,\"bytes\":$((495 * 8192)),\"" \
	'"lookup":{"count":200,"errors":20,' '"p99_ns":700,'
json_has "stats --json: tier" '"tier":{"backend":"uring",' '"migrations":42,' \
	"\"pmem_free\":$((200 << 20)),"
case "$scratch" in
*'"tier":'*) bad "stats --json: /scratch has no tier: $scratch" ;;
*) ok "stats --json: no tier for /scratch" ;;
esac
[ "$(json_ops "$data")" = "lookup read write" ] &&
	[ "$(json_ops "$scratch")" = "getattr" ] &&
	ok "stats --json: only operations that ran" ||
	bad "stats --json: operations $(json_ops "$data") / $(json_ops "$scratch")"

run "$ZUFSCTL" stats /scratch --json --all
expect_rc 0 "stats MOUNTPOINT --all --json"
ops=$(json_ops "$(json_mount 1)")
[ -z "$(json_mount 2)" ] && [ "$(echo "$ops" | wc -w)" = 32 ] &&
	ok "stats /scratch --all: one mount, all 32 operations" ||
	bad "stats /scratch --all: $ops"
json_has "stats /scratch --all: counts" '{"mounts":[{"device":"/dev/pmem1","mountpoint":"/scratch",' \
	'"getattr":{"count":50,' '"read":{"count":0,'

run "$ZUFSCTL" stats /nowhere
expect_rc 5 "stats of an unknown mountpoint"
expect_in "$tmp/err" "no ZUFS filesystem is mounted at /nowhere" "stats /nowhere: message"

# GetStats("") sums every mount (straight over D-Bus)
run busctl --system call org.zufs.Manager1 /org/zufs/Manager1 \
	org.zufs.Manager1 GetStats s ""
expect_rc 0 "GetStats(\"\") with busctl"
expect_re "$tmp/out" '"getattr" 50 0 0 15000 300 ' "GetStats(\"\"): sums /scratch in"
run busctl --system call org.zufs.Manager1 /org/zufs/Manager1 \
	org.zufs.Manager1 GetStats s "/nowhere"
expect_rc 1 "GetStats(/nowhere) fails"
expect_in "$tmp/err" "no ZUFS filesystem is mounted at /nowhere" "GetStats: NoSuchMount message"

# -- introspection has the documented members
run busctl --system introspect org.zufs.Manager1 /org/zufs/Manager1 \
	org.zufs.Manager1
expect_rc 0 "introspect"
for member in '.GetStats +method +s +a\{s\(tttttat\)\}' \
	'.GetTierStatus +method +- +a\{sa\{sv\}\}' '.Restart +method +- +-' \
	'.Mount +method +ssss +-' '.Unmount +method +s +-' \
	'.Mounts +property +a\(ssssstt\)' '.Plugins +property +as' \
	'.State +property +s' '.Transport +property +s' \
	'.Version +property +s' '.MountAdded +signal +sss' \
	'.MountRemoved +signal +s' '.StateChanged +signal +s'; do
	expect_re "$tmp/out" "^\\$member" "introspect: $(echo "$member" | cut -d' ' -f1)"
done

# -- restart as root, seen by watch (as nobody: signals are public)
rm -f "$tmp/watch.out" "$tmp/watch.err"	# wait_for must not see old ones
$NOBODY "$ZUFSCTL" watch -n 2 >"$tmp/watch.out" 2>"$tmp/watch.err" &
watch_pid=$!
wait_for "$tmp/watch.err" "Watching" || bad "watch did not start"
run "$ZUFSCTL" restart
expect_rc 0 "restart as root"
expect_in "$tmp/fake1.log" "restart #1" "restart reached zusd"
wait_exit "$watch_pid"
cp "$tmp/watch.out" "$tmp/out"
cp "$tmp/watch.err" "$tmp/err"
expect_rc 0 "watch -n 2"
expect_re "$tmp/watch.out" '^[0-9:.]+ StateChanged state=restarting$' "watch: StateChanged restarting"
expect_re "$tmp/watch.out" '^[0-9:.]+ StateChanged state=running$' "watch: StateChanged running"
expect_re "$tmp/watch.out" '^[0-9:.]+ PropertiesChanged State=restarting$' "watch: PropertiesChanged State"

# -- privileged methods as nobody: refused by the bus policy
run nobody "$ZUFSCTL" restart
expect_rc 4 "restart as nobody"
expect_in "$tmp/err" "permission denied: restart needs root" "restart as nobody: message"
expect_not_in "$tmp/fake1.log" "restart #2" "restart as nobody did not reach zusd"
run nobody "$ZUFSCTL" mount /dev/pmem9 /mnt/x
expect_rc 4 "mount as nobody"
expect_in "$tmp/err" "permission denied: mount needs root" "mount as nobody: message"
run nobody "$ZUFSCTL" unmount /data
expect_rc 4 "unmount as nobody"
run nobody busctl --system set-property org.zufs.Manager1 /org/zufs/Manager1 \
	org.zufs.Manager1 State s broken
[ "$rc" != 0 ] && ok "properties cannot be set" || bad "a property could be set"

# -- mount and unmount as root, with their signals
rm -f "$tmp/watch.out" "$tmp/watch.err"
"$ZUFSCTL" watch --count=2 >"$tmp/watch.out" 2>"$tmp/watch.err" &
watch_pid=$!
wait_for "$tmp/watch.err" "Watching" || bad "watch did not start"
run "$ZUFSCTL" mount -t pmfs2 -o ro /dev/pmem9 /mnt/x
expect_rc 0 "mount as root"
run "$ZUFSCTL" mounts
expect_re "$tmp/out" '^/dev/pmem9 +/mnt/x +pmfs2 +mounted +64\.0 MiB +- +ro$' "mounts: the new mount"
run "$ZUFSCTL" mount /dev/pmem9 /mnt/x
expect_rc 1 "mount on a busy mountpoint"
expect_in "$tmp/err" "mount: /mnt/x is already a ZUFS mountpoint" "mount: backend message passed on"
run "$ZUFSCTL" umount /mnt/x
expect_rc 0 "unmount as root"
run "$ZUFSCTL" unmount /mnt/x
expect_rc 5 "unmount of a mountpoint that is not mounted"
wait_exit "$watch_pid"
expect_rc 0 "watch --count=2"
expect_re "$tmp/watch.out" 'MountAdded device=/dev/pmem9 mountpoint=/mnt/x fstype=pmfs2$' "watch: MountAdded"
expect_re "$tmp/watch.out" 'MountRemoved mountpoint=/mnt/x$' "watch: MountRemoved"
expect_re "$tmp/watch.out" 'PropertiesChanged Mounts$' "watch: PropertiesChanged Mounts"

# -- only root may own the name
run nobody "$FAKE" --require-bus
expect_rc 1 "fake-zusd as nobody cannot start"
expect_in "$tmp/err" "does not let this process own org.zufs.Manager1" "name ownership refused by the policy"

# -- nor a second zusd
run "$FAKE" --require-bus
expect_rc 1 "second zusd"
expect_in "$tmp/err" "is owned by another process: is another zusd running?" "second zusd: message"

# -- zusd goes away: a clear message, and watch sees it
rm -f "$tmp/watch.out" "$tmp/watch.err"
"$ZUFSCTL" watch >"$tmp/watch.out" 2>"$tmp/watch.err" &
watch_pid=$!
wait_for "$tmp/watch.err" "Watching" || bad "watch did not start"
stop_pid "$fake1"
rc=$?
expect_rc 0 "fake-zusd exits cleanly on SIGTERM"
wait_for "$tmp/watch.out" "zusd left the bus" && ok "watch: zusd left the bus" ||
	bad "watch did not see zusd leave"
expect_in "$tmp/watch.out" "StateChanged state=stopping" "watch: StateChanged stopping"
stop_pid "$watch_pid"
run "$ZUFSCTL" status
expect_rc 3 "status without zusd"
expect_in "$tmp/err" "zusd is not running (org.zufs.Manager1 not on the system bus): systemctl start zusd" "status without zusd: message"
run nobody "$ZUFSCTL" stats
expect_rc 3 "stats as nobody without zusd"

stop_pid "$strict_bus"

# ==== permissive bus: zusd's own check ===================================
export DBUS_SYSTEM_BUS_ADDRESS=unix:path=$tmp/open.sock
start_bus open permissive
open_bus=$bus_pid
start_fake fake2 --require-bus --transport=zuf
fake2=$fake_pid
wait_status || { bad "fake-zusd did not connect to the permissive bus"; cat "$tmp/fake2.log"; }
run nobody "$ZUFSCTL" restart
expect_rc 4 "restart as nobody, bus allows it: zusd refuses"
expect_in "$tmp/err" "permission denied: restart needs root" "zusd's refusal: message"
# busctl shows every AccessDenied as "Access denied": read zusd's own
# message with dbus-send
DBUS_SEND="dbus-send --system --print-reply --dest=org.zufs.Manager1 /org/zufs/Manager1"
run nobody $DBUS_SEND org.zufs.Manager1.Restart
expect_in "$tmp/err" "org.freedesktop.DBus.Error.AccessDenied: Restart needs root (caller uid 65534)" "zusd's refusal names the caller"
run nobody $DBUS_SEND org.zufs.Manager1.Mount string:/dev/pmem9 \
	string:/mnt/y string:pmfs2 string:
expect_in "$tmp/err" "AccessDenied: Mount needs root (caller uid 65534)" "zusd refuses Mount to nobody"
run nobody $DBUS_SEND org.zufs.Manager1.Unmount string:/data
expect_in "$tmp/err" "AccessDenied: Unmount needs root (caller uid 65534)" "zusd refuses Unmount to nobody"
run nobody $DBUS_SEND org.zufs.Manager1.GetStats string:/data
expect_rc 0 "GetStats as nobody on the permissive bus"
expect_not_in "$tmp/fake2.log" "restart #" "no restart reached the backend"
run "$ZUFSCTL" restart
expect_rc 0 "restart as root on the permissive bus"
expect_in "$tmp/fake2.log" "restart #1" "root's restart reached the backend"

# -- dbus-daemon restarts: zusd reconnects
stop_pid "$open_bus"
wait_for "$tmp/fake2.log" "lost the system bus" && ok "zusd noticed the bus going away" ||
	bad "zusd did not notice the bus going away"
start_bus open permissive
open_bus=$bus_pid
if wait_status; then
	ok "zusd reconnected to a restarted bus"
else
	bad "zusd did not reconnect"
	cat "$tmp/fake2.log"
fi
run "$ZUFSCTL" status
expect_in "$tmp/out" "transport: zuf" "status after reconnect"

stop_pid "$fake2"
rc=$?
expect_rc 0 "fake-zusd (permissive bus) exits cleanly"
stop_pid "$open_bus"

# ==== command line ==========================================================
run "$ZUFSCTL" --help
expect_rc 0 "--help"
for c in status mounts stats restart mount unmount watch; do
	expect_re "$tmp/out" "^  $c " "--help lists $c"
done
expect_in "$tmp/out" "Exit status:" "--help documents exit codes"
for c in status mounts stats restart mount unmount watch; do
	run "$ZUFSCTL" "$c" --help
	expect_rc 0 "$c --help"
	expect_in "$tmp/out" "Usage: zufsctl $c" "$c --help: usage line"
done
run "$ZUFSCTL"
expect_rc 2 "no command"
run "$ZUFSCTL" frobnicate
expect_rc 2 "unknown command"
expect_in "$tmp/err" "unknown command 'frobnicate'" "unknown command: message"
run "$ZUFSCTL" restart --json
expect_rc 2 "option a command does not take"
run "$ZUFSCTL" watch -n 0
expect_rc 2 "watch -n 0"
run "$ZUFSCTL" status extra
expect_rc 2 "status with an argument"
expect_in "$tmp/err" "status: unexpected argument 'extra'" "status extra: message"
run "$ZUFSCTL" mount /dev/pmem0
expect_rc 2 "mount with one argument"
expect_in "$tmp/err" "mount: missing argument" "mount /dev/pmem0: message"

if [ "$fail" = 0 ]; then
	log "PASS: test_dbus.sh"
else
	log "FAIL: test_dbus.sh"
fi
exit $fail
