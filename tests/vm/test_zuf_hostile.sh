#!/bin/bash
# Host side (make check-vm): zuf.ko against a hostile server, one regression
# test per trust-boundary defect: runs zuf-hostile.sh in the VM.
# ZUF_HOSTILE_TESTS: the sections to run (default: all; see zuf-hostile.sh).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/vm/host-lib.sh disable=SC1091
. "$here/host-lib.sh"
: "${VM_BUILDDIR:?set VM_BUILDDIR (make check-vm does)}"
vm_need_built kmod/zuf.ko kmod/tests/zuf-memfs tests/vm/zuf-probe

rc=0
vm_run_report --label test_zuf_hostile zuf-hostile --timeout "${VM_TIMEOUT:-600}" \
	--virtio-pmem 512M "$@" "$here/zuf-hostile.sh" ${ZUF_HOSTILE_TESTS:+-- $ZUF_HOSTILE_TESTS} || rc=$?
# Labels of new inodes need an LSM that sets them: Debian's kernel has none
# active without a loaded policy, the debug kernel has Smack (off unless
# booted with lsm=smack): one more boot for that section alone.
if [[ ${VM_DEBUG_KERNEL:-0} != 0 && -z ${ZUF_HOSTILE_TESTS:-} ]]; then
	vm_run_report --label test_zuf_hostile_lsm zuf-hostile-lsm --timeout "${VM_TIMEOUT:-600}" \
		--append lsm=smack "$@" "$here/zuf-hostile.sh" -- lsm || rc=$?
fi
exit "$rc"
