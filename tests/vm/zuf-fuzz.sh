#!/bin/bash
# Guest script: the hostile-server fuzzer of zuf.ko (DESIGN.md §4).
#   run on the host:  tests/vm/test_zuf_fuzz.sh  (or make check-vm-fuzz)
# Arguments (KEY=VALUE, all optional):
#   fuzz=BIN app=BIN ko=ZUF_KO  the programs (default: $VM_BUILDDIR's)
#   seconds=N   the random run (default 120)      seed=N  its seed (random)
#   seeds=FILE  regression seeds, replayed first (tests/vm/fuzz-seeds.txt)
#   replay=N    seconds per regression seed (20)  slack=N  watchdog slack (5)
# Per session (each regression seed, then the random seed): zuf-fuzz serves
# zfuzz (map mode) and, with pmem, zfuzzpm (direct mode) calmly until both
# are mounted, turns hostile while zuf-fuzz-app hammers both mounts as root
# and as uid 65534, then a calm server takes the mounts back: they must
# work, umount must succeed.  At the end: zuf_inode_cache objects back to
# where they were, umount of zuf-root and rmmod zuf succeed.  Kernel
# reports (WARNING, BUG, KASAN, lockdep, hung task...) fail the run in
# run-vm.sh's log scan.  One PASS/FAIL line per check in summary.txt.
set -uo pipefail
. "${VM_LIB:-$(dirname "$0")/guest-lib.sh}"

for a in "$@"; do
	case $a in
	*=*) declare "FZ_${a%%=*}=${a#*=}" ;;
	*) vm_die "bad argument '$a' (KEY=VALUE)" ;;
	esac
done
fuzz=${FZ_fuzz:-$VM_BUILDDIR/tests/vm/zuf-fuzz}
app=${FZ_app:-$VM_BUILDDIR/tests/vm/zuf-fuzz-app}
ko=${FZ_ko:-$VM_BUILDDIR/kmod/zuf.ko}
secs=${FZ_seconds:-120}
seed=${FZ_seed:-$(( $(od -An -N4 -tu4 /dev/urandom) % 1000000000 ))}
seeds=${FZ_seeds:-$VM_SRCDIR/tests/vm/fuzz-seeds.txt}
replay=${FZ_replay:-20}
slack=${FZ_slack:-5}
T=5 RT=5		# zuf.ko timeout= and restart_timeout=
# What zuf.ko promises: one server command waits at most restart_timeout +
# timeout while the server makes no progress (kmod/channel.c: one deadline
# per call, resends included), and once a call gave up on a hung server the
# next ones fail at once.  A system call sends a few commands (lookup, then
# create, then the write...), each of which may meet a server that died and
# came back: the watchdog allows three.
hang_ms=$(((3 * (T + RT) + slack) * 1000))
: > "$VM_RESULTS/summary.txt"
sup=

note() { echo "$*" | tee -a "$VM_RESULTS/summary.txt"; }

slab_objs() { # active zuf_inode_cache objects (after RCU frees)
	sleep 2
	awk '$1 == "zuf_inode_cache" { print $2 }' /proc/slabinfo
}

wait_log() { # FILE REGEX SECS
	local n=0
	while ! grep -qE "$2" "$1" 2>/dev/null; do
		((n++ > $3 * 10)) && return 1
		sleep 0.1
	done
}

mounts_served() { # every zuf mount is served by the current server
	local n=0
	while ((n++ < 300)); do
		if ! grep -q '^mount .* waiting$' /sys/fs/zuf/state &&
			grep -q '^server attached' /sys/fs/zuf/state; then
			return 0
		fi
		sleep 0.1
	done
	cat /sys/fs/zuf/state >&2
	return 1
}

# calm_served LOG: the server the supervisor started for the calm phase
# serves every mount
calm_served() {
	wait_log "$1" 'serving \(.*calm again\)' 60 && mounts_served
}

try_mount() { # TYPE DEV DIR [OPTS]: the calm server may still be starting
	local i
	for i in 1 2 3 4 5; do
		mount -t "$1" ${4:+-o "$4"} "$2" "$3" && return 0
		sleep 1
	done
	return 1
}

# works_after TAG TYPE DIR LOG: a file written and read back, the directory
# listed; on failure what served it (the kernel's state, the server log,
# the fuzz processes) goes to the output
works_after() {
	local tag=$1 type=$2 dir=$3 log=$4
	if sh -c "echo after > '$dir/after-fuzz' && test \"\$(cat '$dir/after-fuzz')\" = after && ls '$dir' >/dev/null"; then
		vm_pass "$tag: $type works after the fuzz"
		return
	fi
	vm_fail "$tag: $type works after the fuzz"
	{
		echo "--- /sys/fs/zuf/state"; cat /sys/fs/zuf/state
		echo "--- $log"; cat "$log"
		echo "--- zuf-fuzz threads"; ps -eLo pid,lwp,stat,wchan:24,comm | grep zuf-fuzz
	} >&2
}

# session TAG SEED SECONDS
session() {
	local tag=$1 s=$2 n=$3
	local out=$VM_RESULTS/fuzz-$tag.out log=$VM_RESULTS/fuzz-$tag.log
	local state=/dev/shm/zuf-fuzz-$tag.state rc_map=0 rc_pm=0 pm_ok=0 opts= p

	vm_log "fuzz session $tag: seed $s, $n s"
	"$fuzz" --seed "$s" --state "$state" --timeout "$T" --restart-timeout "$RT" \
		>"$out" 2>"$log" &
	sup=$!
	if ! wait_log "$log" serving 60; then
		vm_fail "$tag: zuf-fuzz serves"
		cat "$log" >&2
		kill -TERM "$sup"; wait "$sup"; sup=
		return
	fi
	vm_check "$tag: mount zfuzz (map mode)" try_mount zfuzz none /mnt/fz
	if [[ -n $pmem ]]; then
		((s % 2)) && opts=nomapped
		if try_mount zfuzzpm "$pmem" /mnt/fzp "$opts"; then
			vm_pass "$tag: mount zfuzzpm $pmem (direct mode${opts:+, $opts})"
			pm_ok=1
		else
			vm_fail "$tag: mount zfuzzpm $pmem"
		fi
	fi
	kill -USR2 "$sup"	# hostile from now on
	"$app" --dir /mnt/fz --seconds "$n" --procs 4 --uid 65534 --seed "$s" \
		--hang-ms "$hang_ms" >"$VM_RESULTS/app-$tag-map.txt" 2>&1 &
	p=$!
	if ((pm_ok)); then
		"$app" --dir /mnt/fzp --seconds "$n" --procs 4 --uid 65534 \
			--seed "$((s + 1))" --hang-ms "$hang_ms" \
			>"$VM_RESULTS/app-$tag-pm.txt" 2>&1 || rc_pm=$?
	fi
	wait "$p" || rc_map=$?
	kill -USR1 "$sup"	# a calm server takes the mounts back
	vm_check "$tag: mounts served again by a calm server" calm_served "$log"
	works_after "$tag" zfuzz /mnt/fz "$log"
	((pm_ok)) && works_after "$tag" zfuzzpm /mnt/fzp "$log"
	grep -h '^HUNG' "$VM_RESULTS/app-$tag-"*.txt >&2
	vm_check "$tag: every zfuzz call returned within ${hang_ms} ms" test "$rc_map" -eq 0
	((pm_ok)) && vm_check "$tag: every zfuzzpm call returned within ${hang_ms} ms" test "$rc_pm" -eq 0
	vm_check "$tag: umount zfuzz" umount /mnt/fz
	((pm_ok)) && vm_check "$tag: umount zfuzzpm" umount /mnt/fzp
	for p in /mnt/fz /mnt/fzp; do	# go on with the next session anyway
		mountpoint -q "$p" && umount -l "$p"
	done
	kill -TERM "$sup"
	wait "$sup"
	sup=
	rm -f "$state"
	note "  $tag: $(grep -h '^FUZZ_SUMMARY' "$out")"
	note "  $tag: $(grep -h '^APP_SUMMARY' "$VM_RESULTS/app-$tag-map.txt")"
	((pm_ok)) && note "  $tag: $(grep -h '^APP_SUMMARY' "$VM_RESULTS/app-$tag-pm.txt")"
	vm_check "$tag: no mount left in /sys/fs/zuf/state" sh -c '! grep -q "^mount " /sys/fs/zuf/state'
}

cleanup() {
	[[ -n $sup ]] && kill -TERM "$sup" 2>/dev/null
	for m in /mnt/fz /mnt/fzp; do
		mountpoint -q "$m" && umount -l "$m"
	done
}
trap cleanup EXIT

vm_log "zuf fuzz: kernel $(uname -r), $(nproc) CPUs, seed $seed, $secs s"
note "seed $seed, $secs s; regression seeds from $seeds, $replay s each"
# tasks blocked (D state) this long are reported by the kernel: a call may
# legitimately wait restart_timeout + timeout, a lock behind it somewhat more
echo 30 > /proc/sys/kernel/hung_task_timeout_secs
vm_check "insmod zuf.ko timeout=$T restart_timeout=$RT" vm_insmod "$ko" timeout=$T restart_timeout=$RT
vm_check "mount zuf-root" mount -t zuf nodev /sys/fs/zuf
mkdir -p /mnt/fz /mnt/fzp
pmem=
if pmem=$(vm_pmem_setup namespace0.0); then
	vm_pass "pmem fsdax namespace ($pmem)"
else
	vm_fail "pmem fsdax namespace"
	pmem=
fi
slab_before=$(slab_objs)
aliased=0
[[ -L /sys/kernel/slab/zuf_inode_cache ]] && aliased=1
# KASAN (the debug kernel) keeps freed objects in its quarantine, where
# /proc/slabinfo still counts them; rmmod's kmem_cache_destroy drains it and
# reports real leftovers ("Objects remaining"), which fails the log scan.
kasan=0
dmesg | grep -q 'KernelAddressSanitizer initialized' && kasan=1

if [[ -f $seeds ]]; then
	while read -r s _; do
		[[ $s =~ ^[0-9]+$ ]] || continue
		session "replay-$s" "$s" "$replay"
	done < "$seeds"
fi
session "seed-$seed" "$seed" "$secs"

slab_after=$(slab_objs)
if ((aliased)); then
	vm_skip "zuf_inode_cache objects (merged with another cache: boot with slub_debug)"
elif ((kasan)); then
	vm_skip "zuf_inode_cache objects ($slab_before, $slab_after: KASAN's quarantine; rmmod checks instead)"
else
	vm_check "zuf_inode_cache objects: before $slab_before, after $slab_after" \
		test "$slab_before" = "$slab_after"
fi
# kmemleak (debug kernel, kmemleak=on): unreferenced objects allocated by
# zuf, while the module is still loaded (its backtraces resolve)
if [[ -w /sys/kernel/debug/kmemleak ]]; then
	echo scan > /sys/kernel/debug/kmemleak; sleep 6
	echo scan > /sys/kernel/debug/kmemleak
	cat /sys/kernel/debug/kmemleak > "$VM_RESULTS/kmemleak.txt"
	note "kmemleak: $(grep -c '^unreferenced object' "$VM_RESULTS/kmemleak.txt") unreferenced objects (all of the kernel; see kmemleak.txt)"
	vm_check "kmemleak: nothing leaked by zuf" \
		sh -c "! grep -q '\[zuf\]\|zuf_' '$VM_RESULTS/kmemleak.txt'"
else
	vm_skip "kmemleak (not in this kernel: the debug kernel has it)"
fi
vm_check "umount zuf-root" umount /sys/fs/zuf
vm_check "rmmod zuf" rmmod zuf
dmesg > "$VM_RESULTS/dmesg.txt"
vm_check "dmesg: no kernel report" sh -c "! grep -avE '$VM_KLOG_BENIGN' '$VM_RESULTS/dmesg.txt' | grep -E 'WARNING:|BUG:|Oops|general protection|lockdep|KASAN|UBSAN|KFENCE|blocked for more than|soft lockup|rcu.*stall|kmemleak'"
note "zuf log lines: $(grep -c 'zuf:' "$VM_RESULTS/dmesg.txt") (bad server reply: $(grep -c 'bad server reply' "$VM_RESULTS/dmesg.txt"))"
vm_summary
