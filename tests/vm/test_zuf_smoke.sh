#!/bin/bash
# Host side (make check-vm): zuf.ko with the in-memory test server
# kmod/tests/zuf-memfs (map mode, direct mode on pmem, server death,
# restart, hang, bad replies, rmmod): runs zuf-smoke.sh in the VM.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
: "${VM_BUILDDIR:?set VM_BUILDDIR (make check-vm does)}"
memfs=$VM_BUILDDIR/kmod/tests/zuf-memfs
for f in "$VM_BUILDDIR/kmod/zuf.ko" "$memfs"; do
	[[ -e $f ]] || { echo "FAIL: $f is not built"; exit 1; }
done

tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
set +e
"$here/run-vm.sh" --name zuf-smoke --timeout "${VM_TIMEOUT:-600}" \
	--rundir-file "$tmp" "$@" "$here/zuf-smoke.sh" -- "$memfs"
rc=$?
set -e
rundir=$(cat "$tmp" 2>/dev/null || :)
if [[ -n $rundir && -f $rundir/results/summary.txt ]]; then
	echo "test_zuf_smoke: guest summary ($rundir/results/summary.txt):"
	sed 's/^/  /' "$rundir/results/summary.txt"
fi
if ((rc == 0)); then
	echo "PASS: test_zuf_smoke (${rundir:+$(cat "$rundir/elapsed")s})"
else
	echo "FAIL: test_zuf_smoke (exit $rc; console log ${rundir:-?}/console.log)"
fi
exit "$rc"
