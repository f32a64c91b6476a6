#!/bin/bash
# Guest script: the ZUFS appliance with systemd as PID 1 (run by
# test_zuf_appliance.sh; the setup is zuf-appliance-setup.sh).
#
#   zuf-appliance.sh prepare      fast mode, first boot: fsdax namespace +
#                                 mkfs.pmfs2 on the kept pmem image
#   zuf-appliance.sh test STAGE   systemd mode, second boot: the installed
#                                 appliance mounted /data from /etc/fstab
#
# test checks: (a) the boot: /data mounted, zusd/socket/zuf-root active,
# fd store, D-Bus name, zufsctl status/mounts/stats; (b) fio verify +
# stall-probe while zusd is SIGKILLed, `zufsctl restart`ed and
# `systemctl restart`ed: zero errors, verify passes, the longest stall;
# (c) a watchdog restart (ZUSD_TEST_HANG_FILE); (d) a bad zusd.conf;
# (e) umount, fsck.pmfs2 -n, mount(8) drops nofail/_netdev.
set -euo pipefail
# shellcheck source=tests/vm/guest-lib.sh disable=SC1091
. "${VM_LIB:-$(dirname "$0")/guest-lib.sh}"

R=$VM_RESULTS
: > "$R/summary.txt"
mode=${1:-}

if [[ $mode == prepare ]]; then
	pmem=$(vm_pmem_setup namespace0.0) || vm_die "no pmem"
	vm_check "prepare: fsdax namespace -> $pmem" test "$pmem" = /dev/pmem0
	vm_check "prepare: mkfs.pmfs2 $pmem" "$VM_BUILDDIR/mkfs/mkfs.pmfs2" -f -q "$pmem"
	vm_summary
	exit
fi
[[ $mode == test && $VM_MODE == systemd ]] || vm_die "usage: $0 prepare | test STAGE (systemd mode)"

Z=zusd.service
PROBE=$VM_BUILDDIR/tests/vm/stall-probe
conf=$(cat /etc/zufs-test-conf-path)
zprop() { systemctl show -p "$1" --value "$Z"; }
mounted() { [[ $(findmnt -n -o FSTYPE /data 2>/dev/null) == pmfs2 ]]; }
zusd_up() { [[ $(zprop ActiveState) == active && $(zprop SubState) == running ]]; }
served() { timeout 60 stat /data/keep >/dev/null && timeout 60 ls /data >/dev/null; }
mounted_served() { mounted && served; }
# not_unmounted SINCE: no stop job for data.mount since SINCE (a zusd
# restart must leave the mount alone; Requires= would propagate it)
not_unmounted() {
	! journalctl -u data.mount --no-pager -o cat --since "@$1" | grep -E 'Unmounting|Unmounted|Failed unmounting'
}
keep_intact() { [[ $(timeout 120 sha256sum < /data/keep) == "$sum" ]]; }
jctl() { journalctl -u "$Z" --no-pager -o cat --since "@$1"; }
stats_total() { zufsctl stats 2>/dev/null | awk '$1 == "total" { n += $2 } END { print n + 0 }'; }

vm_log "appliance: kernel $(uname -r), $(nproc) CPUs, systemd $(systemctl --version | head -1)"

# ---- (a) the boot ----------------------------------------------------------------
# nofail: the boot does not wait for /data, so give it time to appear
vm_until 120 mounted || :
vm_check "boot: /data mounted from /etc/fstab (pmfs2)" mounted
findmnt /data > "$R/findmnt.txt" 2>&1 || :
systemctl status --no-pager -l "$Z" data.mount zusd.socket sys-fs-zuf.mount > "$R/status-boot.txt" 2>&1 || :
systemctl list-dependencies --no-pager data.mount > "$R/deps-data.mount.txt" 2>&1 || :
systemd-analyze critical-chain data.mount > "$R/critical-chain.txt" 2>&1 || :
vm_check "boot: zuf.ko loaded (modprobe@zuf.service)" test -d /sys/module/zuf
vm_check "boot: sys-fs-zuf.mount active" systemctl is-active -q sys-fs-zuf.mount
vm_check "boot: zusd.socket active" systemctl is-active -q zusd.socket
vm_check "boot: zusd.service active (running)" zusd_up
vm_check "boot: data.mount active" systemctl is-active -q data.mount
vm_check "boot: no ordering cycle" sh -c "! journalctl -b --no-pager | grep -i 'ordering cycle'"
opts=$(findmnt -n -o OPTIONS /data 2>/dev/null || :)
vm_log "/data options: $opts"
vm_check "boot: fstab's nofail/x-systemd.* not passed to the kernel ($opts)" \
	sh -c "! echo '$opts' | grep -Eq 'nofail|_netdev|x-systemd'"
nfd=$(zprop NFileDescriptorStore)
vm_log "NFileDescriptorStore=$nfd"
if [[ ${nfd:-0} -ge 1 ]] || jctl 0 | grep -qi 'fd store'; then
	vm_check "boot: zusd keeps fds in the fd store (NFileDescriptorStore=$nfd)" test "${nfd:-0}" -ge 1
else
	vm_skip "boot: fd store (NFileDescriptorStore=$nfd): zusd does not log 'fd store' (not implemented yet)"
fi
vm_check "boot: D-Bus name org.zufs.Manager1 owned" busctl status org.zufs.Manager1 >/dev/null
zufsctl status > "$R/zufsctl-status.txt" 2>&1 || :
zufsctl mounts > "$R/zufsctl-mounts.txt" 2>&1 || :
vm_check "zufsctl status: zusd running over zuf" grep -qiE 'zuf' "$R/zufsctl-status.txt"
vm_check "zufsctl status/mounts show /data" grep -q '/data' "$R/zufsctl-status.txt" "$R/zufsctl-mounts.txt"

head -c 4M /dev/urandom > /run/keep
cp /run/keep /data/keep
sync
sum=$(sha256sum < /run/keep)
s0=$(stats_total)
dd if=/dev/urandom of=/data/stats-io bs=64k count=64 conv=fsync status=none
mkdir -p /data/dir
for i in 1 2 3 4 5; do echo "$i" > "/data/dir/f$i"; done
cat /data/stats-io /data/dir/* > /dev/null
ls -l /data/dir > /dev/null
s1=$(stats_total)
zufsctl stats > "$R/zufsctl-stats.txt" 2>&1 || :
vm_check "zufsctl stats: counts grow after I/O ($s0 -> $s1)" test "$s1" -gt "$s0"

# ---- (b) restarts under fio verify -----------------------------------------------
fio_common=(--directory=/data --bs=4k --rw=randwrite --size=8M --ioengine=psync
	--verify=crc32c --verify_fatal=1 --verify_state_save=0)
fio_jobs() { # KIND: one O_DIRECT and one buffered job
	echo --name="direct-$1" --direct=1 --name="buffered-$1" --direct=0
}
fio_clean() { # JSON: fio ran, no job reports an error
	[[ -s $1 ]] && jq -e '[.jobs[].error] | length > 0 and all(. == 0)' "$1" >/dev/null
}
fio_max_ms() { # JSON: the longest completion latency of any I/O (ms)
	jq '[.jobs[] | (.write.clat_ns.max, .read.clat_ns.max)] | max / 1e6 | floor' "$1" 2>/dev/null || echo '?'
}

restart_under_load() { # KIND LABEL TRIGGER...
	local kind=$1 label=$2 nr0 pid0 nr1 pid1 fpid ppid frc prc t0 gap fmax vrc fok since
	shift 2
	nr0=$(zprop NRestarts) pid0=$(zprop MainPID) since=$(date +%s)
	rm -f /run/probe-stop
	"$PROBE" "/data/probe-$kind" 300 /run/probe-stop > "$R/probe-$kind.txt" 2>&1 &
	ppid=$!
	# shellcheck disable=SC2046
	fio "${fio_common[@]}" --do_verify=1 --rate_iops=250 $(fio_jobs "$kind") \
		--output-format=json+ --output="$R/fio-$kind.json" > /dev/null 2>&1 &
	fpid=$!
	sleep 4
	vm_check "$label: fio and the stall probe are running" kill -0 "$fpid" "$ppid"
	vm_log "$label: $* (MainPID $pid0, NRestarts $nr0)"
	t0=$SECONDS
	"$@" || vm_log "$label: '$*' exited with $?"
	vm_until 90 sh -c "[ \"\$(systemctl show -p MainPID --value $Z)\" != $pid0 ] &&
		[ \"\$(systemctl show -p SubState --value $Z)\" = running ]" || :
	nr1=$(zprop NRestarts) pid1=$(zprop MainPID)
	vm_log "$label: zusd back after $((SECONDS - t0))s (MainPID $pid1, NRestarts $nr1)"
	vm_check "$label: zusd restarted (MainPID $pid0 -> $pid1)" \
		test "$pid1" != "$pid0" -a "$pid1" != 0
	if [[ $kind != systemctl ]]; then
		vm_check "$label: NRestarts incremented ($nr0 -> $nr1)" test "$nr1" -eq $((nr0 + 1))
	fi
	set +e
	timeout 300 tail --pid="$fpid" -f /dev/null
	wait "$fpid"
	frc=$?
	touch /run/probe-stop
	wait "$ppid"
	prc=$?
	set -e
	fok=0
	[[ $frc == 0 ]] && fio_clean "$R/fio-$kind.json" && fok=1
	vm_check "$label: fio exit $frc, zero errors, verify passed" test "$fok" = 1
	set +e
	# shellcheck disable=SC2046
	fio "${fio_common[@]}" --verify_only=1 $(fio_jobs "$kind") \
		--output="$R/fio-$kind-verify.txt" > /dev/null 2>&1
	vrc=$?
	set -e
	vm_check "$label: separate fio verify pass" test "$vrc" = 0
	vm_check "$label: stall probe: no error, every block verified ($(tail -1 "$R/probe-$kind.txt"))" \
		test "$prc" = 0
	vm_check "$label: /data still mounted and served" mounted_served
	vm_check "$label: systemd did not try to unmount /data" not_unmounted "$since"
	vm_check "$label: data written before intact" keep_intact
	gap=$(sed -n 's/.*max_gap_ms \([0-9]*\).*/\1/p' "$R/probe-$kind.txt" | tail -1)
	fmax=$(fio_max_ms "$R/fio-$kind.json")
	echo "longest stall across $label: ${gap:-?} ms (stall-probe pwrite+fdatasync+read; fio max completion latency ${fmax} ms)" |
		tee -a "$R/summary.txt" "$R/stalls.txt"
	rm -f /data/probe-"$kind" /data/direct-"$kind".* /data/buffered-"$kind".*
}

kill_main() { kill -KILL "$(zprop MainPID)"; }
restart_under_load sigkill "SIGKILL restart" kill_main
restart_under_load zufsctl "zufsctl restart" zufsctl restart
restart_under_load systemctl "systemctl restart" timeout 120 systemctl restart "$Z"
vm_check "after restarts: data.mount still active" systemctl is-active -q data.mount

# ---- (c) watchdog ------------------------------------------------------------------
dropin=/run/systemd/system/zusd.service.d
mkdir -p "$dropin"
cat > "$dropin/test.conf" <<'EOF'
[Service]
WatchdogSec=8s
Environment=ZUSD_TEST_HANG_FILE=/run/zusd-test-hang
# no core dump of a process that maps the pmem device
LimitCORE=0
EOF
systemctl daemon-reload
timeout 120 systemctl restart "$Z" || :
vm_until 60 zusd_up || :
vm_check "watchdog: zusd up with WatchdogSec=8s ($(zprop WatchdogUSec))" zusd_up
nr0=$(zprop NRestarts) pid0=$(zprop MainPID) since=$(date +%s)
touch /run/zusd-test-hang
# a request the server must answer (a new directory and file)
( mkdir /data/wd && echo hello > /data/wd/f && cat /data/wd/f ) > /run/wd.out 2>&1 &
wpid=$!
t0=$SECONDS
# WatchdogSec=8s: systemd kills zusd 8-16 s after its last ping
vm_until 60 sh -c "[ \"\$(systemctl show -p MainPID --value $Z)\" != $pid0 ]" || :
vm_log "watchdog: waited $((SECONDS - t0))s"
rm -f /run/zusd-test-hang
jctl "$since" > "$R/journal-watchdog.txt" || :
vm_check "watchdog: systemd saw 'Watchdog timeout' ($((SECONDS - t0))s after the hang began)" \
	grep -q 'Watchdog timeout' "$R/journal-watchdog.txt"
vm_check "watchdog: zusd killed with SIGABRT, result 'watchdog'" \
	grep -qE "Failed with result 'watchdog'|status=6/ABRT|signal=ABRT" "$R/journal-watchdog.txt"
vm_until 60 zusd_up || :
vm_check "watchdog: zusd restarted (NRestarts $nr0 -> $(zprop NRestarts))" \
	test "$(zprop NRestarts)" -eq $((nr0 + 1)) -a "$(zprop MainPID)" != "$pid0"
set +e
timeout 90 tail --pid="$wpid" -f /dev/null
wait "$wpid"
wrc=$?
set -e
vm_check "watchdog: the request in flight completed (rc $wrc, '$(head -c 80 /run/wd.out)')" \
	test "$wrc" = 0 -a "$(cat /run/wd.out)" = hello
vm_check "watchdog: data intact" keep_intact
vm_check "watchdog: systemd did not try to unmount /data" not_unmounted "$since"
rm -rf "$dropin"
systemctl daemon-reload
timeout 120 systemctl restart "$Z" || :
vm_until 60 zusd_up || :

# ---- (d) a bad zusd.conf -----------------------------------------------------------
cp "$conf" /run/zusd.conf.orig
hdr=$(grep -n '^\[zusd\]' "$conf" | head -1 | cut -d: -f1)
sed -i "${hdr}a bogus = 1" "$conf"
bad=$((hdr + 1))
since=$(date +%s)
set +e
timeout 120 systemctl restart "$Z" > "$R/restart-badconf.txt" 2>&1
rrc=$?
set -e
vm_check "bad zusd.conf: systemctl restart zusd fails (exit $rrc)" test "$rrc" -ne 0
vm_check "bad zusd.conf: /data stays mounted" mounted
vm_check "bad zusd.conf: systemd did not try to unmount /data" not_unmounted "$since"
# What the admin sees once zusd has settled in 'failed': a bad config must
# not be retried by Restart=on-failure until the start limit (which leaves
# only "Start request repeated too quickly" in the status' log lines)
vm_until 60 sh -c "[ \"\$(systemctl show -p ActiveState --value $Z)\" = failed ]" || :
vm_log "bad zusd.conf: zusd is $(zprop ActiveState)/$(zprop SubState) ($(zprop Result)), NRestarts $(zprop NRestarts)"
systemctl status --no-pager -l "$Z" > "$R/status-badconf.txt" 2>&1 || :
vm_check "bad zusd.conf: zusd failed without restart attempts (NRestarts $(zprop NRestarts))" \
	test "$(zprop ActiveState)" = failed -a "$(zprop NRestarts)" = 0
jctl "$since" > "$R/journal-badconf.txt" || :
vm_check "bad zusd.conf: systemctl status shows 'zusd.conf:$bad:'" grep -q "zusd.conf:$bad:" "$R/status-badconf.txt"
vm_check "bad zusd.conf: the journal names line $bad and the key" grep -qE "zusd.conf:$bad:.*bogus" "$R/journal-badconf.txt"
( stat /data/dir/f3 > /dev/null && cat /data/dir/f3 ) > /run/bc.out 2>&1 &
bpid=$!
sleep 3
vm_check "bad zusd.conf: a call on /data waits for a server" kill -0 "$bpid"
cp /run/zusd.conf.orig "$conf"
systemctl reset-failed "$Z" || :
timeout 120 systemctl restart "$Z" || :
vm_check "bad zusd.conf: config restored, zusd starts" vm_until 60 zusd_up
set +e
timeout 60 tail --pid="$bpid" -f /dev/null
wait "$bpid"
brc=$?
set -e
vm_check "bad zusd.conf: the waiting call completed (rc $brc)" test "$brc" = 0 -a "$(cat /run/bc.out)" = 3
vm_check "bad zusd.conf: /data served again, data intact" keep_intact

# ---- (d2) activation by zusd.socket ------------------------------------------------
# zusd stopped, a mount still there: a call on it makes the control file
# poll readable and zusd.socket starts zusd (nothing else would: no
# Restart= after a stop, no udev event).
timeout 120 systemctl stop "$Z" || :
sleep 3
vm_check "socket activation: zusd stopped and stays stopped without a call" \
	sh -c "! systemctl is-active -q $Z"
vm_check "socket activation: /data stays mounted" mounted
vm_check "socket activation: zusd.socket listening" systemctl is-active -q zusd.socket
cat /data/dir/f3 > /run/sa.out 2>&1 &
spid=$!
vm_check "socket activation: a call on /data started zusd" vm_until 60 zusd_up
set +e
timeout 60 tail --pid="$spid" -f /dev/null
wait "$spid"
src=$?
set -e
vm_check "socket activation: the waiting call completed (rc $src)" test "$src" = 0 -a "$(cat /run/sa.out)" = 3
vm_check "socket activation: data intact" keep_intact

# ---- (e) the end -------------------------------------------------------------------
journalctl -u "$Z" --no-pager -o short-monotonic > "$R/journal-zusd.txt" 2>&1 || :
vm_check "umount /data" umount /data
vm_check "fsck.pmfs2 -n /dev/pmem0: clean" fsck.pmfs2 -n /dev/pmem0
# mount(8) keeps userspace options (nofail, _netdev, x-*) from mount(2):
# no mount.pmfs2 helper is needed to drop them
strace -f -e trace=mount -o "$R/strace-mount.txt" \
	mount -t pmfs2 -o nofail,_netdev,x-systemd.requires=zusd.service /dev/pmem0 /data || :
mount_call=$(grep 'mount("/dev/pmem0"' "$R/strace-mount.txt" || :)
vm_log "mount(2): $mount_call"
vm_check "mount -o nofail,_netdev,x-systemd.*: mount(2) gets none of them" \
	test -n "$mount_call" -a "$(grep -Ec 'nofail|_netdev|x-systemd' <<< "$mount_call")" = 0
vm_check "... and /data mounts" mounted
umount /data 2>/dev/null || :
vm_summary
