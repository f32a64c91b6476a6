#!/bin/bash
# Guest script: end-to-end proof of the VM harness (run by test_vm_smoke.sh
# through run-vm.sh). pmem in fsdax mode + ext4 -o dax + fio with verify,
# NVMe + fio O_DIRECT with verify. Results in $VM_RESULTS/summary.txt.
set -euo pipefail
# shellcheck source=tests/vm/guest-lib.sh disable=SC1091
. "${VM_LIB:-$(dirname "$0")/guest-lib.sh}"

size=${SMOKE_SIZE:-32M}
# Size-bound, not time-bound: a --runtime cut would also cut the verify pass
# (seen on a loaded host). The cap below is only a safety net.
runtime=${SMOKE_RUNTIME:-300}
mnt=/mnt/pmem
: > "$VM_RESULTS/summary.txt"

cpu_flags=$(grep -m1 '^flags' /proc/cpuinfo | grep -o -w -E 'clwb|clflushopt' | tr '\n' ' ' || :)
vm_log "smoke: kernel $(uname -r), $(nproc) CPUs, cache flush: ${cpu_flags:-clflush only}"

# fio: 4k random writes with a crc32c verify pass (verify_fatal: first bad block fails).
run_fio() { # NAME JSONOUT fio-args...
	local name=$1 out=$2
	shift 2
	fio --name="$name" --rw=randwrite --bs=4k --size="$size" --runtime="$runtime" \
		--randrepeat=0 \
		--verify=crc32c --do_verify=1 --verify_fatal=1 --verify_backlog=0 \
		--verify_state_save=0 --group_reporting --output-format=json \
		--output="$VM_RESULTS/$out" "$@" || return 1
	# fio exits 0 on success; also insist on no error and a full verify pass.
	perl -MJSON::PP -e '
		local $/; my $j = decode_json(<STDIN>);
		for my $b (@{$j->{jobs}}) {
			my ($w, $r) = ($b->{write}{io_bytes}, $b->{read}{io_bytes});
			printf "[vm] fio %s: %d MiB written, %d MiB verified, %.0f write IOPS\n",
				$b->{jobname}, $w >> 20, $r >> 20, $b->{write}{iops};
			exit 1 if $b->{error} || !$w || $r < $w;
		}' < "$VM_RESULTS/$out"
}

# ---- pmem: fsdax namespace --------------------------------------------------
pmem=
if pmem=$(vm_pmem_setup namespace0.0); then
	vm_pass "pmem fsdax namespace ($pmem, $(($(blockdev --getsize64 "$pmem") >> 20)) MiB, dax=1)"
else
	vm_fail "pmem fsdax namespace"
fi

if [[ -n $pmem ]]; then
	mkdir -p "$mnt"
	vm_check "mkfs.ext4 $pmem" mkfs.ext4 -F -q -b 4096 "$pmem"
	if mount -t ext4 -o dax "$pmem" "$mnt"; then
		opts=$(findmnt -n -o OPTIONS "$mnt")
		vm_log "mounted $pmem on $mnt: $opts"
		if [[ ,$opts, == *,dax* ]]; then vm_pass "ext4 mount -o dax ($opts)"; else vm_fail "ext4 mount -o dax: options '$opts' lack dax"; fi

		dd if=/dev/zero of="$mnt/probe" bs=4k count=1 status=none
		vm_check "statx STATX_ATTR_DAX on $mnt/probe" vm_statx_dax "$mnt/probe"

		vm_check "fio randwrite+verify on ext4-dax (psync)" \
			run_fio dax-psync fio-dax-psync.json --directory="$mnt" --ioengine=psync
		vm_check "fio randwrite+verify on ext4-dax (mmap, DAX faults)" \
			run_fio dax-mmap fio-dax-mmap.json --directory="$mnt" --ioengine=mmap
		vm_check "umount $mnt" umount "$mnt"
		vm_check "e2fsck -fn $pmem" e2fsck -fn "$pmem"
	else
		vm_fail "ext4 mount -o dax"
	fi
	grep -E 'EXT4-fs \(pmem|pmem|nd_pmem|dax' <(dmesg) > "$VM_RESULTS/dmesg-pmem.txt" || :
fi

# ---- NVMe ---------------------------------------------------------------------
nvme=
if nvme=$(vm_nvme_dev zufs0); then
	vm_pass "NVMe disk ($nvme, $(($(blockdev --getsize64 "$nvme") >> 20)) MiB)"
	vm_check "fio O_DIRECT randwrite+verify on $nvme (libaio)" \
		run_fio nvme-libaio fio-nvme-libaio.json --filename="$nvme" --direct=1 \
		--ioengine=libaio --iodepth=8
	vm_check "fio O_DIRECT randwrite+verify on $nvme (io_uring)" \
		run_fio nvme-uring fio-nvme-uring.json --filename="$nvme" --direct=1 \
		--ioengine=io_uring --iodepth=8 --offset=256M
else
	vm_fail "NVMe disk with serial zufs0"
fi

vm_log "smoke: done"
vm_summary
