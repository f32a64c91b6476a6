#!/bin/bash
# Host side of the VM smoke test (make check-vm): boots the guest with
# run-vm.sh and runs smoke.sh in it (pmem fsdax + ext4 -o dax + fio verify,
# NVMe + fio O_DIRECT verify). Exit status: that of run-vm.sh.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
set +e
"$here/run-vm.sh" --name smoke --timeout "${VM_TIMEOUT:-600}" --rundir-file "$tmp" \
	"$@" "$here/smoke.sh"
rc=$?
set -e
rundir=$(cat "$tmp" 2>/dev/null || :)
if [[ -n $rundir && -f $rundir/results/summary.txt ]]; then
	echo "test_vm_smoke: guest summary ($rundir/results/summary.txt):"
	sed 's/^/  /' "$rundir/results/summary.txt"
fi
if ((rc == 0)); then
	echo "PASS: test_vm_smoke (${rundir:+$(cat "$rundir/elapsed")s})"
else
	echo "FAIL: test_vm_smoke (exit $rc; console log ${rundir:-?}/console.log)"
fi
exit "$rc"
