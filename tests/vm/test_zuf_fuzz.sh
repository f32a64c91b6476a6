#!/bin/bash
# Host side (make check-vm, make check-vm-fuzz): the hostile-server fuzzer
# of zuf.ko in the VM (tests/vm/zuf-fuzz.sh): the regression seeds of
# tests/vm/fuzz-seeds.txt (FUZZ_REPLAY_SECONDS each, default 20), then a
# random run of FUZZ_SECONDS (default 120) with FUZZ_SEED (default random;
# printed).  ZUF_KO overrides the module ($VM_BUILDDIR/kmod/zuf.ko).
# Boots with the allocator checks of check-vm (VM_DEBUG_APPEND in vm.mk)
# unless VM_APPEND is set.  Exit status 0 when the run passed: no hung
# application call, umount and rmmod fine, no leaked zuf inodes, and no
# kernel report in run-vm.sh's log scan.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/vm/host-lib.sh disable=SC1091
. "$here/host-lib.sh"
: "${VM_BUILDDIR:?set VM_BUILDDIR (make check-vm does)}"
vm_need_built tests/vm/zuf-fuzz tests/vm/zuf-fuzz-app
ko=${ZUF_KO:-$VM_BUILDDIR/kmod/zuf.ko}
[[ -f $ko ]] || { echo "FAIL: $ko is not built"; exit 1; }

secs=${FUZZ_SECONDS:-120}
replay=${FUZZ_REPLAY_SECONDS:-20}
seeds=$here/fuzz-seeds.txt
nseeds=$(grep -cE '^[0-9]+' "$seeds" || :)
export VM_APPEND=${VM_APPEND-slub_debug=FZPU init_on_free=1 page_poison=1 panic_on_warn=1 sysctl.kernel.hung_task_timeout_secs=60}

rc=0
vm_run_report --label test_zuf_fuzz zuf-fuzz \
	--timeout "${VM_TIMEOUT:-$((secs + nseeds * (replay + 90) + 600))}" \
	"$@" "$here/zuf-fuzz.sh" -- "fuzz=$VM_BUILDDIR/tests/vm/zuf-fuzz" \
	"app=$VM_BUILDDIR/tests/vm/zuf-fuzz-app" "ko=$ko" "seconds=$secs" \
	${FUZZ_SEED:+"seed=$FUZZ_SEED"} "seeds=$seeds" "replay=$replay" || rc=$?
exit "$rc"
