# SPDX-License-Identifier: BSD-2-Clause
# shellcheck shell=sh
# appliance-lib.sh - sourced by the appliance shell tests (test_dbus.sh,
# test_zusd_dbus.sh, test_fdstore.sh): ok/bad verdicts and the skip
# conditions, the build's programs, a temporary directory T that the EXIT
# trap removes after stopping what the test started, a private dbus-daemon
# as the system bus, and waiting for a condition.
#
# Sourcing it sets fail=0 (bad sets it to 1: the test's exit status),
# srcdir and abs_srcdir.

# shellcheck disable=SC2034 # the tests' exit status
fail=0
log() { printf '%s\n' "$*"; }
ok() { log "ok - $*"; }
bad() { log "FAIL - $*"; fail=1; }
skip() { log "SKIP: $*"; exit 77; }
hard() { log "ERROR: $*"; exit 99; }

srcdir=${srcdir:-.}
abs_srcdir=$(cd "$srcdir" && pwd)

# -- skip conditions (exit 77)
app_require_root() {
	[ "$(id -u)" = 0 ] || skip "needs root"
}

# app_require_cmds CMD...: each one in PATH
app_require_cmds() {
	for app_t in "$@"; do
		command -v "$app_t" >/dev/null 2>&1 || skip "$app_t not found"
	done
}

app_require_fuse() {
	[ -c /dev/fuse ] || skip "/dev/fuse does not exist (modprobe fuse)"
	( exec 3<>/dev/fuse ) 2>/dev/null || skip "/dev/fuse cannot be opened"
}

# -- the build (the tests run in the top build directory)
# Sets B, ZUSD, ZUFSCTL, MKFS, FAKESD, PLUGIN and ZUS_PLUGIN_PATH; ERROR (99) if one is not
# built.  Sanitizer builds: a leak or UB report makes zusd exit non-zero.
app_zusd_programs() {
	B=$(pwd)
	ZUSD=$B/zusd/zusd
	ZUFSCTL=$B/tools/zufsctl/zufsctl
	MKFS=$B/mkfs/mkfs.pmfs2
	FAKESD=$B/tests/appliance/fake-systemd
	PLUGIN=$B/plugins/pmfs2/.libs/pmfs2.so
	for app_f in "$ZUSD" "$ZUFSCTL" "$MKFS" "$FAKESD"; do
		[ -x "$app_f" ] || hard "$app_f is not built"
	done
	[ -f "$PLUGIN" ] || hard "$PLUGIN is not built"
	# the build's plugins, never an installed copy (a tier= mount loads "tier")
	ZUS_PLUGIN_PATH=$B/plugins/tier/.libs:$B/plugins/pmfs2/.libs${ZUS_PLUGIN_PATH:+:$ZUS_PLUGIN_PATH}
	export ZUS_PLUGIN_PATH
	export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
	export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
}

# app_zusd_setup PREFIX: for the tests of the real zusd over FUSE with a
# private bus: skip unless root with dbus-daemon and FUSE, the programs
# (app_zusd_programs), T (app_tmpdir PREFIX)
app_zusd_setup() {
	app_require_root
	app_require_cmds dbus-daemon
	app_require_fuse
	app_zusd_programs
	app_tmpdir "$1"
}

# app_zusd_conf FILE NAME DEVICE MOUNTPOINT: a zusd.conf that serves one
# pmfs2 mount over FUSE with the plugin of the build
app_zusd_conf() {
	cat > "$1" <<EOF
[zusd]
plugins = $PLUGIN
transport = fuse
threads_per_cpu = 1

[mount.$2]
device = $3
mountpoint = $4
type = pmfs2
EOF
}

# app_sanitizer_report FILE: prints the sanitizer report lines of FILE;
# status 0 when there are any
app_sanitizer_report() {
	grep -E 'ERROR: (Address|Leak|Undefined)Sanitizer|runtime error:' "$1"
}

# -- the temporary directory and the EXIT trap
# app_tmpdir PREFIX [PARENT]: T, a new directory in PARENT (default
# ${TMPDIR:-/tmp})
app_tmpdir() {
	T=$(mktemp -d "${2:-${TMPDIR:-/tmp}}/$1.XXXXXX") || hard "mktemp"
}

# Background helpers (dbus-daemon, notify listeners, fake zusds) that
# app_exit kills: app_pids="$app_pids $!"
app_pids=

# app_exit HOOK [LOG...], as the EXIT trap:
#	trap 'app_exit stop_zusd "$LOG"' EXIT
#	trap 'exit 1' HUP INT PIPE TERM
# runs HOOK (the test's own: stop zusd, unmount; ":" for none), kills
# $app_pids and waits for them, shows the non-empty LOGs when the test
# failed (status neither 0 nor 77), removes T and exits with the status.
app_exit() {
	app_rc=$?
	"$1"
	shift
	for app_p in $app_pids; do
		kill "$app_p" 2>/dev/null
	done
	wait 2>/dev/null
	if [ $app_rc -ne 0 ] && [ $app_rc -ne 77 ]; then
		for app_f in "$@"; do
			[ -s "$app_f" ] && { log "---- $app_f ----"; cat "$app_f"; }
		done
	fi
	rm -rf "$T"
	exit $app_rc
}

# -- checking a command's exit status
# app_expect_rc RC EXPECTED DESCRIPTION OUT ERR: ok when RC is EXPECTED, else
# bad, with the command's stdout and stderr files shown
app_expect_rc() {
	if [ "$1" = "$2" ]; then
		ok "$3 (exit $1)"
	else
		bad "$3: exit $1, expected $2"
		sed 's/^/  stdout: /' "$4"
		sed 's/^/  stderr: /' "$5"
	fi
}

# -- waiting
# app_wait TENTHS CMD [ARG]...: runs CMD every 0.1 s until it succeeds;
# status 1 when it still fails after TENTHS tenths of a second
app_wait() {
	app_n=$1
	shift
	app_i=0
	until "$@"; do
		app_i=$((app_i + 1))
		[ $app_i -le "$app_n" ] || return 1
		sleep 0.1
	done
}

# app_not CMD [ARG]...: CMD's status negated (for app_wait)
app_not() { ! "$@"; }

app_alive() { kill -0 "$1" 2>/dev/null; }

# app_stop PID TENTHS: SIGTERM, up to TENTHS/10 s to exit, then SIGKILL;
# nothing without a PID
app_stop() {
	[ -n "$1" ] || return 0
	kill -TERM "$1" 2>/dev/null
	app_wait "$2" app_not app_alive "$1" || kill -KILL "$1" 2>/dev/null
}

# -- FUSE mounts
# mounted DIR: a FUSE filesystem is mounted on DIR
mounted() { grep -qs " $1 fuse" /proc/mounts; }

# app_unmount DIR: for the EXIT trap, whatever state the mount is in
app_unmount() {
	mounted "$1" || return 0
	fusermount3 -u "$1" 2>/dev/null || umount -l "$1"
}

# -- a private system bus
# app_start_bus NAME strict|permissive: dbus-daemon listening on
# $T/NAME.sock, its configuration in $T/NAME.conf and its output in
# $T/NAME.bus.log; sets bus_pid, killed by app_exit.  "strict" is a system
# bus's default-deny policy with the shipped units/org.zufs.Manager1.conf,
# "permissive" lets anyone own, send and receive anything.  Status 1 when
# the socket is not there within 10 s.
app_start_bus() {
	if [ "$2" = strict ]; then
		app_policy="
  <include>$abs_srcdir/tests/appliance/system-bus-policy.conf</include>
  <include>$abs_srcdir/units/org.zufs.Manager1.conf</include>"
	else
		app_policy='
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
  </policy>'
	fi
	cat > "$T/$1.conf" <<EOF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=$T/$1.sock</listen>
  <auth>EXTERNAL</auth>$app_policy
</busconfig>
EOF
	dbus-daemon --config-file="$T/$1.conf" --nofork --nopidfile \
		>"$T/$1.bus.log" 2>&1 &
	bus_pid=$!
	app_pids="$app_pids $bus_pid"
	app_wait 100 test -S "$T/$1.sock"
}

# app_system_bus: a strict bus as the system bus (DBUS_SYSTEM_BUS_ADDRESS);
# ERROR (99) when it does not start
app_system_bus() {
	app_start_bus system strict ||
		{ cat "$T/system.bus.log"; hard "dbus-daemon did not start"; }
	export DBUS_SYSTEM_BUS_ADDRESS="unix:path=$T/system.sock"
}
