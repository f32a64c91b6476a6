#!/bin/bash
# Host-side helpers for the VM test wrappers (tests/vm/test_*.sh) and the VM
# benchmarks (tests/bench/*-vm.sh, vm-fio.sh): sourced with bash, not run.
# Works under the callers' `set -euo pipefail`.
#
#   vm_need_built FILE...
#       every FILE (a path relative to $VM_BUILDDIR) must exist; else prints
#       "FAIL: $VM_BUILDDIR/FILE is not built" and exits 1.  With ZUF_KO set
#       (make check-vm-debug: zuf.ko built for the debug kernel), that file
#       stands in for kmod/zuf.ko.
#   vm_run NAME [run-vm.sh options...] SCRIPT [-- ARGS...]
#       one `run-vm.sh --name NAME` run; sets VM_RC to its exit status and
#       VM_RUNDIR to its run directory (empty when run-vm.sh made none).
#       Returns 0: the caller looks at VM_RC.  ZUF_KO, when set, is passed
#       to the guest (--guest-env), where zuf-lib.sh/zuf-smoke.sh load it.
#   vm_run_report [--label LABEL] NAME [run-vm.sh options...] SCRIPT [-- ARGS...]
#       vm_run, then the guest summary (results/summary.txt) indented, and
#       "PASS: LABEL (Ns)" or "FAIL: LABEL (exit N; console log DIR/console.log)"
#       (LABEL defaults to NAME; make check-vm's callers grep these lines).
#       Returns run-vm.sh's exit status: under set -e call it as
#       `vm_run_report ... || rc=$?`.

_vm_host_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

vm_need_built() {
	local f p
	for f in "$@"; do
		p=$VM_BUILDDIR/$f
		[[ $f != kmod/zuf.ko || -z ${ZUF_KO:-} ]] || p=$ZUF_KO
		[[ -e $p ]] || { echo "FAIL: $p is not built"; exit 1; }
	done
}

vm_run() {
	local name=$1 tmp
	shift
	tmp=$(mktemp)
	VM_RC=0
	"$_vm_host_dir/run-vm.sh" --name "$name" --rundir-file "$tmp" \
		${ZUF_KO:+--guest-env "ZUF_KO=$ZUF_KO"} "$@" || VM_RC=$?
	VM_RUNDIR=$(cat "$tmp" 2>/dev/null || :)
	rm -f "$tmp"
}

vm_run_report() {
	local label=
	if [[ $1 == --label ]]; then
		label=$2
		shift 2
	fi
	label=${label:-$1}
	vm_run "$@"
	if [[ -n $VM_RUNDIR && -f $VM_RUNDIR/results/summary.txt ]]; then
		echo "$label: guest summary ($VM_RUNDIR/results/summary.txt):"
		sed 's/^/  /' "$VM_RUNDIR/results/summary.txt"
	fi
	if ((VM_RC == 0)); then
		echo "PASS: $label (${VM_RUNDIR:+$(cat "$VM_RUNDIR/elapsed" 2>/dev/null)s})"
	else
		echo "FAIL: $label (exit $VM_RC; console log ${VM_RUNDIR:-?}/console.log)"
	fi
	return "$VM_RC"
}
