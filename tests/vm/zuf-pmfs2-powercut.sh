#!/bin/bash
# Guest script: one boot of the power-cut test of pmfs2 over zuf.ko (run by
# test_zuf_powercut.sh, which cuts the power: run-vm.sh --power-cut).
#   zuf-pmfs2-powercut.sh --boot K --cuts N --chain pmem|tier --seed S
#                         [--prev DIR]
# Boot 0 makes the filesystem (chain tier: with an NVMe tier, and fills more
# than the pmem holds).  Boot K > 0 mounts what cut K-1 left (recovery runs)
# and checks it against the log of boot K-1 (DIR, on the host: its state and
# logs/): every operation whose fsync returned intact, no file half-renamed;
# then umount, fsck.pmfs2 -n clean, mount again.  Boots K < N then start the
# workload (tests/vm/powercut-load.c), log to results/logs (off the pmem),
# and arm the cut; the last boot only checks.
set -euo pipefail
# shellcheck source=tests/vm/guest-lib.sh disable=SC1091
. "${VM_LIB:-$(dirname "$0")/guest-lib.sh}"
# shellcheck source=tests/vm/zuf-lib.sh disable=SC1091
. "$VM_SRCDIR/tests/vm/zuf-lib.sh"

LOAD=$VM_BUILDDIR/tests/vm/powercut-load
boot=0 cuts=0 chain=pmem seed=1 prev=
while (($#)); do
	case $1 in
	--boot) boot=$2; shift ;;
	--cuts) cuts=$2; shift ;;
	--chain) chain=$2; shift ;;
	--seed) seed=$2; shift ;;
	--prev) prev=$2; shift ;;
	*) vm_die "unknown argument $1" ;;
	esac
	shift
done

mnt=/mnt/pmfs2
: > "$VM_RESULTS/summary.txt"
trap 'zuf_cleanup "$mnt"' EXIT
export ZUS_PLUGIN_PATH=$VM_BUILDDIR/plugins/tier/.libs
B="boot $boot"

# The fsdax namespace boot 0 made comes back by itself (its info block is on
# the pmem); making it again could write over the filesystem.
pmem_again() {
	vm_modprobe nfit nd_pmem dax_pmem >&2 || return 1
	vm_wait_for /dev/pmem0 10 || return 1
	[[ $(cat /sys/block/pmem0/queue/dax) == 1 ]] || { echo "[vm] pmem0 is not fsdax" >&2; return 1; }
	echo /dev/pmem0
}
if ((boot == 0)); then
	pmem=$(vm_pmem_setup namespace0.0) || vm_die "no pmem"
else
	pmem=$(pmem_again) || vm_die "$B: the fsdax pmem of boot 0 did not come back"
fi
opts=
if [[ $chain == tier ]]; then
	nvme=$(vm_nvme_dev) || vm_die "no NVMe"
	opts="-o tier=$nvme,tier_low=25,tier_high=50"
fi
pmem_bytes=$(blockdev --getsize64 "$pmem")
vm_log "power cuts ($chain), $B of $cuts: kernel $(uname -r), pmem $((pmem_bytes >> 20)) MiB"
vm_check "$B: insmod zuf.ko" zuf_load
if ((boot == 0)); then
	vm_check "$B: mkfs.pmfs2 ${nvme:+--tier $nvme }$pmem" \
		"$MKFS_PMFS2" -f -q ${nvme:+--tier "$nvme"} "$pmem"
fi
vm_check "$B: zusd starts" zusd_start
mkdir -p "$mnt"
mount_it() {
	# shellcheck disable=SC2086
	mount -t pmfs2 $opts "$pmem" "$mnt"
}
what="mount -t pmfs2 $opts"
((boot == 0)) || what+=" (recovery after the cut)"
vm_check "$B: $what" mount_it
mountpoint -q "$mnt" || vm_die "pmfs2 is not mounted"

if ((boot > 0)); then
	[[ -f $prev/state && -d $prev/logs ]] || vm_die "$B: no state/logs in '$prev'"
	if "$LOAD" check "$mnt" "$prev/logs" --state "$prev/state" \
		--out "$VM_RESULTS/state" > "$VM_RESULTS/check.txt" 2>&1; then
		vm_pass "$B: every promise of boot $((boot - 1)) kept: $(tail -1 "$VM_RESULTS/check.txt")"
	else
		vm_fail "$B: the state after the cut:"
		sed 's/^/    /' "$VM_RESULTS/check.txt" | head -40 | tee -a "$VM_RESULTS/summary.txt"
	fi
	grep 'in flight' "$VM_RESULTS/check.txt" || :
	vm_check "$B: umount" umount "$mnt"
	if "$FSCK_PMFS2" -n "$pmem" > "$VM_RESULTS/fsck.txt" 2>&1; then
		vm_pass "$B: fsck.pmfs2 -n clean after recovery"
	else
		vm_fail "$B: fsck.pmfs2 -n after recovery:"
		sed 's/^/    /' "$VM_RESULTS/fsck.txt" | head -20 | tee -a "$VM_RESULTS/summary.txt"
	fi
	vm_check "$B: mount again" mount_it
elif [[ $chain == tier ]]; then
	# more than the pmem holds: the workload then runs against tiered data
	vm_check "$B: fill $((pmem_bytes * 5 / 4 >> 20)) MiB" \
		"$LOAD" fill "$mnt" --mib $((pmem_bytes * 5 / 4 >> 20)) --out "$VM_RESULTS/state"
	used=$(( $(stat -f -c '(%b - %f) * %S' "$mnt") ))
	vm_check "$B: data on the tier ($((used >> 20)) MiB used > pmem)" test "$used" -gt "$pmem_bytes"
else
	: > "$VM_RESULTS/state"
fi
((VM_FAIL == 0)) || { vm_summary || :; exit 1; }

if ((boot >= cuts)); then
	vm_check "$B: umount" umount "$mnt"
	vm_check "$B: fsck.pmfs2 -n clean at the end" "$FSCK_PMFS2" -n "$pmem"
	vm_summary
	exit
fi

mkdir -p "$VM_RESULTS/logs"
"$LOAD" run "$mnt" "$VM_RESULTS/logs" --boot "$boot" --seed "$seed" \
	--state "$VM_RESULTS/state" > "$VM_RESULTS/load.txt" 2>&1 &
load=$!
started() { [[ $(cat "$VM_RESULTS"/logs/log-* 2>/dev/null | grep -c '^S started') == 2 ]]; }
if until_ok 600 started; then
	vm_pass "$B: workload started (seed $seed); arming the cut"
	sync "$VM_RESULTS/summary.txt" 2>/dev/null || :
	touch "$VM_RESULTS/power-cut-armed"
fi
wait "$load" || :
vm_fail "$B: the workload stopped before the power cut:"
sed 's/^/    /' "$VM_RESULTS/load.txt" | head -20 | tee -a "$VM_RESULTS/summary.txt"
vm_summary || :
exit 1
