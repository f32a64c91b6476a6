#!/bin/bash
# Host side (make check-vm): zuf.ko with the in-memory test server
# kmod/tests/zuf-memfs (map mode, direct mode on pmem, server death,
# restart, hang, bad replies, rmmod): runs zuf-smoke.sh in the VM.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/vm/host-lib.sh disable=SC1091
. "$here/host-lib.sh"
: "${VM_BUILDDIR:?set VM_BUILDDIR (make check-vm does)}"
vm_need_built kmod/zuf.ko kmod/tests/zuf-memfs

rc=0
vm_run_report --label test_zuf_smoke zuf-smoke --timeout "${VM_TIMEOUT:-600}" \
	"$@" "$here/zuf-smoke.sh" -- "$VM_BUILDDIR/kmod/tests/zuf-memfs" || rc=$?
exit "$rc"
