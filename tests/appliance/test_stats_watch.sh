#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
#
# test_stats_watch.sh - zufsctl stats --watch against fake-zusd on a private
# (permissive) bus: fake-zusd --tier-rate=64 grows /data's tier counters at
# 64 MiB/s migrated, 16 MiB/s promoted and 4 MiB/s (1024/s) cold reads, so
# the rates zufsctl derives from its samples must come out near those;
# --count stops after N samples, SIGINT and SIGTERM end the watch with 0,
# an absent zusd is exit 3.
#
# Needs dbus-daemon; exits 77 (skip) without it.
set -u

# shellcheck source=tests/appliance/appliance-lib.sh
. "$(dirname "$0")/appliance-lib.sh"

app_require_cmds dbus-daemon

ZUFSCTL=$(pwd)/tools/zufsctl/zufsctl
FAKE=$(pwd)/tests/appliance/fake-zusd
for f in "$ZUFSCTL" "$FAKE"; do
	[ -x "$f" ] || hard "$f is not built"
done
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}

app_tmpdir zufs-watch
trap 'app_exit :' EXIT
trap 'exit 1' HUP INT PIPE TERM

app_start_bus watch permissive || hard "dbus-daemon did not start"
export DBUS_SYSTEM_BUS_ADDRESS="unix:path=$T/watch.sock"

# run CMD...: rc in $rc, stdout in $T/out, stderr in $T/err
run() {
	"$@" >"$T/out" 2>"$T/err"
	rc=$?
}

expect_rc() {	# expected rc, description
	app_expect_rc "$rc" "$1" "$2" "$T/out" "$T/err"
}

# near FILE FIELD WANT DESCRIPTION: in every line of FILE, the number after
# the word FIELD is within 25% of WANT (sanitizers and a loaded machine
# delay a sample, but the rate is over the time the samples were taken)
near() {
	if awk -v f="$2" -v want="$3" '
		{ for (i = 1; i < NF; i++) if ($i == f) { n++; v = $(i + 1) + 0
			if (v < want * 0.75 || v > want * 1.25) bad++ } }
		END { exit !(n > 0 && !bad) }' "$1"; then
		ok "$4"
	else
		bad "$4: $2 not near $3"
		sed 's/^/  | /' "$1"
	fi
}

# -- no zusd on the bus
run "$ZUFSCTL" stats --watch=0.2 --count=1
expect_rc 3 "stats --watch without zusd"
grep -q "zusd is not running" "$T/err" && ok "stats --watch without zusd: says so" ||
	bad "stats --watch without zusd: no clear error: $(cat "$T/err")"

# -- usage errors
run "$ZUFSCTL" stats --watch=0
expect_rc 2 "stats --watch=0"
run "$ZUFSCTL" stats --watch=abc
expect_rc 2 "stats --watch=abc"
run "$ZUFSCTL" stats --count=3
expect_rc 2 "stats --count without --watch"
run "$ZUFSCTL" mounts --watch
expect_rc 2 "--watch on another command"

"$FAKE" --tier-rate=64 >"$T/fake.log" 2>&1 &
fake_pid=$!
app_pids="$app_pids $fake_pid"
app_wait 100 grep -q "fake-zusd: ready" "$T/fake.log" ||
	{ cat "$T/fake.log"; hard "fake-zusd did not start"; }

# -- not a terminal: one line a mount a sample, rates from the deltas
run "$ZUFSCTL" stats --watch=0.3 --count=3
expect_rc 0 "stats --watch=0.3 --count=3"
grep ' /data ' "$T/out" >"$T/data"
grep ' /scratch ' "$T/out" >"$T/scratch"
[ "$(wc -l <"$T/data")" = 3 ] && [ "$(wc -l <"$T/scratch")" = 3 ] &&
	[ "$(wc -l <"$T/out")" = 6 ] &&
	ok "--count=3: 3 samples of each mount, nothing else" ||
	{ bad "--count=3: not 3 samples of each mount"; sed 's/^/  | /' "$T/out"; }
near "$T/data" migrated 64 "migrated MiB/s from the counter's deltas"
near "$T/data" promoted 16 "promoted MiB/s"
near "$T/data" cold-reads 1024 "cold reads per second"
grep -q 'ops 0\.0/s io 0\.00 MiB/s migrated' "$T/data" &&
	ok "constant operation counters: 0 ops/s" ||
	bad "constant operation counters: not 0 ops/s: $(head -1 "$T/data")"
grep -q ' migrating$' "$T/data" && ok "the migrating flag" ||
	bad "no migrating flag: $(head -1 "$T/data")"
grep -q 'migrated' "$T/scratch" && bad "/scratch has no tier, but tier rates" ||
	ok "/scratch: no tier figures"

run "$ZUFSCTL" stats /data -w 0.2 -n 2
expect_rc 0 "stats /data -w 0.2 -n 2 (interval as the next word)"
[ "$(grep -c ' /data ' "$T/out")" = 2 ] && [ "$(wc -l <"$T/out")" = 2 ] &&
	ok "MOUNTPOINT: only its lines" || bad "MOUNTPOINT: $(cat "$T/out")"
run "$ZUFSCTL" stats /nowhere --watch=0.2 --count=1
expect_rc 5 "stats --watch of no mount"

# -- JSON lines
run "$ZUFSCTL" stats --json --watch=0.3 --count=2
expect_rc 0 "stats --json --watch"
[ "$(wc -l <"$T/out")" = 2 ] && ok "--json: a line a sample" ||
	bad "--json: $(cat "$T/out")"
sed -n 's/.*"migrated_mib_per_sec":\([0-9.]*\).*/migrated \1/p' "$T/out" \
	>"$T/json"
near "$T/json" migrated 64 "--json: migrated_mib_per_sec"

# -- a terminal: the table redrawn in place
if command -v script >/dev/null 2>&1; then
	script -qec "$ZUFSCTL stats --watch=0.2 --count=2" /dev/null \
		>"$T/tty" 2>&1
	rc=$?
	expect_rc 0 "on a terminal"
	[ "$(grep -c "$(printf '\033')\[H" "$T/tty")" -ge 3 ] &&
		grep -q 'sample 2' "$T/tty" &&
		grep -q 'MOUNTPOINT  *OPS/s' "$T/tty" &&
		ok "on a terminal: three frames from the top, the table" ||
		{ bad "on a terminal: no redrawn table"; cat -A "$T/tty" | sed 's/^/  | /'; }
else
	log "# script(1) not found: the terminal view is not checked"
fi

# -- SIGINT and SIGTERM end it, exit 0, at once
for sig in INT TERM; do
	"$ZUFSCTL" stats --watch=10 >"$T/out" 2>"$T/err" &
	pid=$!
	sleep 0.5
	kill -"$sig" "$pid"
	if app_wait 30 app_not app_alive "$pid"; then
		wait "$pid"
		rc=$?
		expect_rc 0 "SIG$sig ends a 10 s wait at once"
	else
		kill -KILL "$pid"
		bad "SIG$sig: zufsctl stats --watch still running after 3 s"
	fi
done

exit $fail
