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
	"$@" "$here/zuf-hostile.sh" ${ZUF_HOSTILE_TESTS:+-- $ZUF_HOSTILE_TESTS} || rc=$?
exit "$rc"
