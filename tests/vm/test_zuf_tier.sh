#!/bin/bash
# Host side (make check-vm): pmfs2 with an NVMe tier over zuf.ko in the VM
# (guest script zuf-pmfs2-tier.sh): pmem ~8 % of pmem + NVMe, 90 % of the
# capacity filled with verifiable data, read back, remounted, read again,
# fsck clean.  Exit status 0 when the guest's checks passed and the harness's
# kernel-log scan found nothing.
#   test_zuf_tier.sh [run-vm.sh options...] [-- guest args...]
# Environment: TIER_VM_PMEM (default 64M: /dev/pmem0 is 62 MiB of it),
#   TIER_VM_NVME (default 700M; 128M + 1400M doubles the run time),
#   TIER_VM_TRANSPORT (zuf; fuse checks the script over zusd's FUSE
#   transport in the guest), VM_TIMEOUT (900).
# Guest args: --fill-pct N, --file-mib N, --corrupt (must then FAIL).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/vm/host-lib.sh disable=SC1091
. "$here/host-lib.sh"
: "${VM_BUILDDIR:?set VM_BUILDDIR (make check-vm does)}"

vm_need_built kmod/zuf.ko zusd/zusd plugins/pmfs2/.libs/pmfs2.so plugins/tier/.libs/tier.so \
	mkfs/mkfs.pmfs2 mkfs/fsck.pmfs2

vmargs=() gargs=(--transport "${TIER_VM_TRANSPORT:-zuf}")
while (($#)); do
	if [[ $1 == -- ]]; then shift; gargs+=("$@"); break; fi
	vmargs+=("$1")
	shift
done

r=0
vm_run_report zuf-pmfs2-tier --timeout "${VM_TIMEOUT:-900}" \
	--pmem-size "${TIER_VM_PMEM:-64M}" --nvme-size "${TIER_VM_NVME:-700M}" \
	"${vmargs[@]}" "$here/zuf-pmfs2-tier.sh" -- "${gargs[@]}" || r=$?
exit "$r"
