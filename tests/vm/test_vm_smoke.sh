#!/bin/bash
# Host side of the VM smoke test (make check-vm): boots the guest with
# run-vm.sh and runs smoke.sh in it (pmem fsdax + ext4 -o dax + fio verify,
# NVMe + fio O_DIRECT verify). Exit status: that of run-vm.sh.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/vm/host-lib.sh disable=SC1091
. "$here/host-lib.sh"

rc=0
vm_run_report --label test_vm_smoke smoke --timeout "${VM_TIMEOUT:-600}" \
	"$@" "$here/smoke.sh" || rc=$?
exit "$rc"
