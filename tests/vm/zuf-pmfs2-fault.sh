#!/bin/bash
# Guest script: pmfs2 over zuf.ko when zusd misbehaves (run by
# test_zuf_pmfs2.sh).
#   - zusd SIGKILLed while fio writes: the kernel neither oopses nor hangs,
#     the calls in flight fail (EIO) or wait, a call issued while no zusd
#     runs completes once a new zusd attaches, a call with no zusd at all
#     fails with EIO after restart_timeout; the restarted zusd re-attaches
#     the mount and it works (fio verify), the data survives.
#   - a create whose caller is SIGKILLed while zusd stalls it (the hang hook):
#     the file the server makes afterwards is visible, unlink + rmdir work.
#   - zusd --test-evil=KIND sends malformed replies: every kind fails that
#     one call with EIO and a ratelimited "bad server reply" log line.
#   - umount, fsck.pmfs2 -n clean, rmmod (nothing leaked).
set -euo pipefail
# shellcheck source=tests/vm/guest-lib.sh disable=SC1091
. "${VM_LIB:-$(dirname "$0")/guest-lib.sh}"
# shellcheck source=tests/vm/zuf-lib.sh disable=SC1091
. "$VM_SRCDIR/tests/vm/zuf-lib.sh"

mnt=/mnt/pmfs2
: > "$VM_RESULTS/summary.txt"
trap 'zuf_cleanup "$mnt"' EXIT

mounted() { test "$(findmnt -n -o FSTYPE "$mnt")" = pmfs2; }
bad_replies() { dmesg | grep -c 'zuf: bad server reply' || :; }

vm_log "pmfs2 over zuf, faults: kernel $(uname -r), $(nproc) CPUs"
pmem=$(vm_pmem_setup namespace0.0) || vm_die "no pmem"
vm_check "insmod zuf.ko" zuf_load timeout=20 restart_timeout=15
vm_check "mkfs.pmfs2 $pmem" "$MKFS_PMFS2" -f -q "$pmem"
vm_check "zusd starts" zusd_start
mkdir -p "$mnt"
vm_check "mount -t pmfs2" mount -t pmfs2 "$pmem" "$mnt"
mounted || vm_die "pmfs2 is not mounted"
head -c 4M /dev/urandom > /run/keep
cp /run/keep "$mnt/keep"
sum=$(sha256sum < /run/keep)
mkdir "$mnt/dir"
for i in 1 2 3; do echo "$i" > "$mnt/dir/f$i"; done

# ---- zusd SIGKILLed under fio --------------------------------------------------
fio --name=kill --directory="$mnt" --rw=randwrite --bs=4k --size=32M --numjobs=2 \
	--ioengine=psync --direct=1 --time_based --runtime=20 --randrepeat=0 \
	--output="$VM_RESULTS/fio-kill.txt" >/dev/null 2>&1 &
fio_pid=$!
sleep 5
vm_check "fio is running when zusd is killed" kill -0 "$fio_pid"
kill -KILL "$ZUSD_PID"
wait "$ZUSD_PID" 2>/dev/null || :
ZUSD_PID=
vm_check "zusd SIGKILLed: the mount stays" mounted
sleep 2
vm_check "zusd restarted after SIGKILL" zusd_start
t0=$SECONDS
while kill -0 "$fio_pid" 2>/dev/null && ((SECONDS - t0 < 120)); do sleep 1; done
vm_check "fio finished, no hang ($((SECONDS - t0))s after the restart)" \
	sh -c "! kill -0 $fio_pid 2>/dev/null"
set +e
wait "$fio_pid"
frc=$?
set -e
kill -KILL "$fio_pid" 2>/dev/null || :
vm_log "fio exit status $frc: $(grep -m1 -o 'error=[^)]*' "$VM_RESULTS/fio-kill.txt" || echo no error)"
vm_check "fio: completed or failed with EIO only" sh -c "
	test $frc = 0 || grep -q 'Input/output error' '$VM_RESULTS/fio-kill.txt'"
vm_check "after restart: readdir works" test "$(ls "$mnt/dir" | wc -l)" = 3
vm_check "after restart: data written before the kill intact" \
	test "$(sha256sum < "$mnt/keep")" = "$sum"
vm_check "after restart: fio 4k randwrite+verify passes" \
	fio --name=after --directory="$mnt" --rw=randwrite --bs=4k --size=8M \
	--ioengine=psync --direct=1 --verify=crc32c --do_verify=1 --verify_fatal=1 \
	--verify_state_save=0 --output="$VM_RESULTS/fio-after.txt"
rm -f "$mnt"/kill.* "$mnt"/after.*

# ---- a call made while no zusd runs waits for the next one -----------------------
zusd_stop KILL
( stat "$mnt/dir/f1" >/dev/null 2>"$VM_RESULTS/stat-wait.err"; echo $? > /run/stat-wait.rc ) &
spid=$!
sleep 2
vm_check "zusd restarted while a call waits" zusd_start
wait "$spid" || :
vm_check "the waiting call completed (not EIO)" test "$(cat /run/stat-wait.rc)" = 0

# ---- ... and fails with EIO when none comes --------------------------------------
zusd_stop KILL
echo 3 > /sys/module/zuf/parameters/restart_timeout
t0=$SECONDS
vm_check "no zusd: a call fails with EIO" fails_with "Input/output error" stat "$mnt/dir/f2"
vm_check "no zusd: after restart_timeout ($((SECONDS - t0))s)" \
	test $((SECONDS - t0)) -ge 2 -a $((SECONDS - t0)) -le 20
echo 15 > /sys/module/zuf/parameters/restart_timeout
vm_check "zusd restarted" zusd_start
vm_check "mount usable again" test "$(cat "$mnt/dir/f2")" = 2

# ---- a create whose caller is killed while the server holds it -------------------
# The server still makes the file after the caller is gone: the kernel must
# not keep the negative dentry of its lookup (stat ENOENT, rmdir ENOTEMPTY).
zusd_stop TERM
export ZUSD_TEST_HANG_FILE=/run/zusd-test-hang
vm_check "zusd with the hang hook" zusd_start
unset ZUSD_TEST_HANG_FILE
mkdir "$mnt/killed"
# a create first: the directory's ACLs are cached, so that the stalled
# call is the CREATE itself, not a getxattr before it
touch "$mnt/killed/warm" && rm "$mnt/killed/warm"
stat "$mnt/killed/f" >/dev/null 2>&1 || :	# a cached negative dentry
touch /run/zusd-test-hang
touch "$mnt/killed/f" &
tpid=$!
sleep 2
kill -KILL "$tpid"
wait "$tpid" 2>/dev/null || :
rm -f /run/zusd-test-hang
vm_check "killed create: the server's file is visible" vm_until 20 stat "$mnt/killed/f"
vm_check "killed create: unlink + rmdir work (no stale dentry)" \
	sh -c "rm '$mnt/killed/f' && rmdir '$mnt/killed'"

# ---- malformed replies -----------------------------------------------------------
evil() { # KIND CHECK-NAME CMD...
	local kind=$1 name=$2 before after
	shift 2
	zusd_stop TERM
	if ! zusd_start --test-evil="$kind"; then
		vm_fail "zusd --test-evil=$kind starts"
		return
	fi
	before=$(bad_replies)
	vm_check "bad $kind reply: $name fails with EIO" fails_with "Input/output error" "$@"
	after=$(bad_replies)
	vm_check "bad $kind reply: logged by zuf" test "$after" -gt "$before"
}
evil getattr "stat" stat "$mnt/keep"
before=$(bad_replies)
t0=$SECONDS
python3 -c "
import os
for i in range(2000):
    try:
        os.stat('$mnt/keep')
    except OSError:
        pass"
secs=$((SECONDS - t0 + 1))
after=$(bad_replies)
# pr_err_ratelimited: at most 10 lines per 5 s (per call site)
vm_check "2000 bad replies in ${secs}s: log ratelimited ($((after - before)) lines)" \
	test $((after - before)) -le $((10 * (secs / 5 + 2)))
evil lookup "lookup of a new name" stat "$mnt/not-cached-name"
evil readdir "readdir" ls "$mnt/dir"
sync
echo 3 > /proc/sys/vm/drop_caches
evil extents "read (extents past the device)" cat "$mnt/keep"
evil statfs "statfs" stat -f "$mnt"
evil seq "chmod (reply with a wrong sequence number)" chmod 600 "$mnt/keep"

zusd_stop TERM
vm_check "good zusd again" zusd_start
vm_check "after bad replies: data intact" test "$(sha256sum < "$mnt/keep")" = "$sum"
vm_check "after bad replies: readdir, statfs, chmod work" sh -c "
	test \$(ls '$mnt/dir' | wc -l) = 3 && stat -f '$mnt' >/dev/null && chmod 600 '$mnt/keep'"

# ---- teardown -------------------------------------------------------------------
vm_check "umount" umount "$mnt"
zusd_stop TERM
vm_check "fsck.pmfs2 -n $pmem: clean" "$FSCK_PMFS2" -n "$pmem"
vm_check "umount zuf-root" umount /sys/fs/zuf
vm_check "rmmod zuf (nothing leaked)" rmmod zuf
dmesg | grep -E 'zuf' | tail -40 > "$VM_RESULTS/dmesg-zuf.txt" || :
vm_summary
