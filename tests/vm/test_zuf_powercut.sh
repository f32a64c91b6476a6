#!/bin/bash
# Host side (make check-vm, make check-vm-crash CUTS=N): power cuts on the
# kernel path.  Two chains of boots on kept images (run-vm.sh --pmem-image,
# --nvme-image): pmfs2 on pmem alone, and pmfs2 with an NVMe tier filled past
# the pmem.  Each boot checks what the previous cut left and runs a metadata-
# and fsync-heavy workload until qemu is SIGKILLed at a random moment
# (run-vm.sh --power-cut); the boot after the last cut only checks.  See
# zuf-pmfs2-powercut.sh and powercut-load.c.
# Environment: POWERCUT_CUTS (20, split between the chains), POWERCUT_SEED
#   (random; printed), POWERCUT_CHAINS ("pmem tier"), POWERCUT_MAX_DELAY
#   (seconds after the workload starts, default 4).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/vm/host-lib.sh disable=SC1091
. "$here/host-lib.sh"
: "${VM_BUILDDIR:?set VM_BUILDDIR (make check-vm does)}"

vm_need_built kmod/zuf.ko zusd/zusd plugins/pmfs2/.libs/pmfs2.so plugins/tier/.libs/tier.so \
	mkfs/mkfs.pmfs2 mkfs/fsck.pmfs2 tests/vm/powercut-load

cuts=${POWERCUT_CUTS:-20}
seed=${POWERCUT_SEED:-$(( (RANDOM << 15) | RANDOM ))}
read -r -a chains <<< "${POWERCUT_CHAINS:-pmem tier}"
max_delay=${POWERCUT_MAX_DELAY:-4}
if ! [[ $cuts =~ ^[0-9]+$ ]] || ((cuts < ${#chains[@]})); then
	echo "FAIL: POWERCUT_CUTS=$cuts: want a number, at least one cut per chain (${chains[*]})"
	exit 1
fi
work=${VM_WORKDIR:-$VM_BUILDDIR/tests/vm/work}
echo "powercut: $cuts cuts over chains ${chains[*]}, seed $seed (POWERCUT_SEED=$seed repeats the delays)"

# delay K: the cut's moment after the workload starts, 0.2 .. max_delay s
delay() {
	awk -v s="$seed" -v k="$1" -v m="$max_delay" \
		'BEGIN { srand(s + 7919 * k); printf "%.2f", 0.2 + rand() * (m - 0.2) }'
}

rc=0 nchain=${#chains[@]} i=0
for chain in "${chains[@]}"; do
	# the cuts of this chain: an even share, the first chains the rest
	n=$(( cuts / nchain + (i < cuts % nchain ? 1 : 0) ))
	i=$((i + 1))
	dir=$work/powercut-$chain
	rm -rf "$dir"
	mkdir -p "$dir"
	sizes=(--pmem-size 256M)
	[[ $chain != tier ]] || sizes=(--pmem-size 64M --nvme-size 256M)
	ops=0 inflight=0 t0=$SECONDS
	for ((k = 0; k <= n; k++)); do
		cut=()
		((k == n)) || cut=(--power-cut "$(delay "$k")")
		vm_run_report --label "powercut $chain boot $k${cut:+ (cut at +${cut[1]}s)}" \
			"powercut-$chain" --timeout "${VM_TIMEOUT:-600}" "${sizes[@]}" \
			--pmem-image "$dir/pmem.img" --nvme-image "$dir/nvme.img" --host-dir "$dir" \
			"${cut[@]}" "$here/zuf-pmfs2-powercut.sh" -- --boot "$k" --cuts "$n" \
			--chain "$chain" --seed "$((seed + k))" --prev "$dir/boot-$((k - 1))" || {
			rc=1
			echo "powercut: $chain: stopping at boot $k"
			break
		}
		mkdir -p "$dir/boot-$k"
		cp -a "$VM_RUNDIR/results/state" "$dir/boot-$k/" 2>/dev/null || :
		cp -a "$VM_RUNDIR/results/logs" "$dir/boot-$k/" 2>/dev/null || :
		if [[ -f $VM_RUNDIR/results/check.txt ]]; then
			cp -a "$VM_RUNDIR/results/check.txt" "$dir/boot-$k/"
			o=$(sed -n 's/^check: \([0-9]*\) operations done.*/\1/p' "$VM_RUNDIR/results/check.txt")
			ops=$((ops + ${o:-0}))
			inflight=$((inflight + $(grep -c 'in flight at the cut' "$VM_RUNDIR/results/check.txt" || :)))
		fi
	done
	echo "POWERCUT_SUMMARY chain=$chain cuts=$n seed=$seed boots=$k verified_ops=$ops in_flight_at_cuts=$inflight failed=$rc seconds=$((SECONDS - t0))"
done
if ((rc == 0)); then echo "PASS: powercut ($cuts cuts)"; else echo "FAIL: powercut"; fi
exit "$rc"
