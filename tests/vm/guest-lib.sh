#!/bin/bash
# Helpers for guest scripts of the ZUFS VM harness. Source it from a script
# that run-vm.sh runs inside the guest:
#
#   . "${VM_LIB:-$(dirname "$0")/guest-lib.sh}"
#
# Environment set by the harness (guest-stage2.sh):
#   VM_RESULTS   writable 9p export, the host's <rundir>/results (cwd at start)
#   VM_SRCDIR    source tree (the host's path; the host / is the guest's /)
#   VM_BUILDDIR  build tree (where kmod/zuf.ko will be)
#   VM_MODE      script | systemd
# Everything here works the same with or without systemd as PID 1.

VM_RESULTS=${VM_RESULTS:-/results}
# Kernel log lines a script's own dmesg check must not count as reports: the
# debug kernel's (tests/vm/debug-kernel.sh) boot banners that say "lockdep"
# or "kmemleak", and the command line (kmemleak=on). Use it as
#   grep -avE "$VM_KLOG_BENIGN" dmesg.txt | grep -E 'WARNING:|...'
# shellcheck disable=SC2034  # used by the scripts that source this
VM_KLOG_BENIGN='rcu:[[:space:]]+RCU lockdep checking is enabled|kmemleak: Kernel memory leak detector initialized|kmemleak: Automatic memory scanning thread started|[Cc]ommand line: '

vm_log() { echo "[vm $(cut -d' ' -f1 /proc/uptime)] $*"; }
vm_die() { echo "[vm] FATAL: $*" >&2; exit 1; }

# vm_wait_for PATH [SECONDS]: wait for a file or device node to appear.
vm_wait_for() {
	local p=$1 t=${2:-10} n=0
	while [[ ! -e $p ]]; do
		((n >= t * 10)) && { echo "[vm] timed out waiting for $p" >&2; return 1; }
		sleep 0.1
		n=$((n + 1))
	done
}

# vm_until SECS CMD...: poll CMD every 0.5 s until it succeeds; 1 after SECS.
vm_until() {
	local t=$1 n=0
	shift
	until "$@"; do
		((n++ < t * 2)) || return 1
		sleep 0.5
	done
}

# vm_modprobe MOD...: load modules of the guest kernel (skips built-ins).
vm_modprobe() {
	local m
	for m in "$@"; do
		modprobe "$m" || { echo "[vm] modprobe $m failed" >&2; return 1; }
	done
}

# vm_insmod KO [PARAM=VALUE...]: load a module from the build tree (e.g.
# "$VM_BUILDDIR/kmod/zuf.ko"), after modprobing what it depends on (the
# "depends=" of its modinfo) from the guest kernel's tree.
vm_insmod() {
	local ko=$1 dep deps name
	shift
	[[ -f $ko ]] || { echo "[vm] $ko: no such module (not built?)" >&2; return 1; }
	name=$(modinfo -F name "$ko" 2>/dev/null || basename "$ko" .ko)
	if [[ -d /sys/module/${name//-/_} ]]; then
		vm_log "$name already loaded; removing it first"
		rmmod "$name" || return 1
	fi
	deps=$(modinfo -F depends "$ko" 2>/dev/null || :)
	for dep in ${deps//,/ }; do
		modprobe "$dep" || { echo "[vm] modprobe $dep (needed by $ko) failed" >&2; return 1; }
	done
	insmod "$ko" "$@" || { echo "[vm] insmod $ko $* failed" >&2; return 1; }
	vm_log "loaded $ko ($name)"
}

# vm_pmem_setup [NAMESPACE]: load the NVDIMM stack, turn the emulated NVDIMM's
# namespace into fsdax mode (raw mode has no DAX) and print the block device
# (/dev/pmem0).
vm_pmem_setup() {
	local ns=${1:-namespace0.0} dev
	vm_modprobe nfit nd_pmem dax_pmem >&2 || return 1
	vm_wait_for "/sys/bus/nd/devices/$ns" 10 || { echo "[vm] no $ns: NVDIMM missing?" >&2; return 1; }
	ndctl create-namespace -f -e "$ns" --mode=fsdax >"$VM_RESULTS/ndctl-$ns.json" ||
		{ echo "[vm] ndctl create-namespace -e $ns --mode=fsdax failed" >&2; return 1; }
	dev=/dev/$(sed -n 's/.*"blockdev":"\([^"]*\)".*/\1/p' "$VM_RESULTS/ndctl-$ns.json" | head -1)
	[[ $dev != /dev/ ]] || dev=/dev/pmem0
	vm_wait_for "$dev" 10 || return 1
	if [[ $(cat "/sys/block/${dev#/dev/}/queue/dax" 2>/dev/null) != 1 ]]; then
		echo "[vm] $dev does not support DAX" >&2
		return 1
	fi
	echo "$dev"
}

# vm_virtio_pmem_setup: the same for run-vm.sh's --virtio-pmem device (an
# asynchronous region: no MAP_SYNC); prints its block device.
vm_virtio_pmem_setup() {
	local r ns='' i
	vm_modprobe virtio_pmem nd_pmem >&2 || return 1
	for ((i = 0; i < 100; i++)); do
		for r in /sys/bus/nd/devices/region*; do
			[[ $(readlink -f "$r") == */virtio* ]] || continue
			ns=namespace${r##*/region}.0
		done
		[[ -z $ns ]] || break
		sleep 0.1
	done
	[[ -n $ns ]] || { echo "[vm] no virtio-pmem region (run-vm.sh --virtio-pmem?)" >&2; return 1; }
	vm_pmem_setup "$ns"
}

# vm_nvme_dev [SERIAL]: load nvme and print the namespace block device of the
# controller with that serial (run-vm.sh uses serial zufs0): /dev/nvme0n1.
vm_nvme_dev() {
	local serial=${1:-zufs0} c n=0 dev
	vm_modprobe nvme >&2 || return 1
	while ((n < 100)); do
		for c in /sys/class/nvme/nvme*; do
			[[ -e $c/serial ]] || continue
			[[ $(tr -d ' ' < "$c/serial") == "$serial" ]] || continue
			for dev in "$c"/nvme*n1; do
				[[ -e $dev ]] || continue
				dev=/dev/$(basename "$dev")
				vm_wait_for "$dev" 10 || return 1
				echo "$dev"
				return 0
			done
		done
		sleep 0.1
		n=$((n + 1))
	done
	echo "[vm] no NVMe namespace with serial $serial" >&2
	return 1
}

# vm_statx_dax FILE: true if statx(2) reports STATX_ATTR_DAX on FILE.
# (Perl is Essential in Debian; statx is syscall 332 on x86_64.)
vm_statx_dax() {
	perl -e '
		my $buf = "\0" x 256;
		my $r = syscall(332, -100, $ARGV[0], 0, 0xfff, $buf);
		die "statx: $!\n" if $r != 0;
		my ($attr_lo, $attr_hi) = unpack("x8 L L", $buf);
		my ($mask_lo, $mask_hi) = unpack("x56 L L", $buf);
		my $DAX = 0x00200000;           # STATX_ATTR_DAX
		exit(($mask_lo & $DAX) && ($attr_lo & $DAX) ? 0 : 1);
	' "$1"
}

# vm_save FILE...: copy files to the results export (the host's rundir/results).
vm_save() {
	local f
	for f in "$@"; do
		cp -a "$f" "$VM_RESULTS/" || echo "[vm] could not save $f" >&2
	done
}

# Summary helpers: one line per check in $VM_RESULTS/summary.txt, and the
# "N passed, N failed" line at the end (vm_summary).
VM_PASS=0 VM_FAIL=0 VM_SKIP=0
vm_pass() { VM_PASS=$((VM_PASS + 1)); echo "PASS: $*" | tee -a "$VM_RESULTS/summary.txt"; }
vm_fail() { VM_FAIL=$((VM_FAIL + 1)); echo "FAIL: $*" | tee -a "$VM_RESULTS/summary.txt"; }
vm_skip() { VM_SKIP=$((VM_SKIP + 1)); echo "SKIP: $*" | tee -a "$VM_RESULTS/summary.txt"; }
# vm_check NAME CMD...: run CMD, record PASS/FAIL NAME.
vm_check() {
	local name=$1
	shift
	if "$@"; then vm_pass "$name"; else vm_fail "$name"; fi
}
vm_summary() {
	echo "$VM_PASS passed, $VM_FAIL failed, $VM_SKIP skipped" | tee -a "$VM_RESULTS/summary.txt"
	((VM_FAIL == 0))
}
