#!/bin/bash
# Guest script for `scripts/main-job.sh --vm`: the appliance over the kernel
# transport on emulated pmem — insmod zuf.ko, zusd --transport=zuf,
# mkfs.pmfs2 /dev/pmem0, mount -t pmfs2, the verifying demo workload, umount,
# fsck.pmfs2 -n.
set -euo pipefail
# shellcheck source=tests/vm/guest-lib.sh disable=SC1091
. "${VM_LIB:-$(dirname "$0")/guest-lib.sh}"
# shellcheck source=tests/vm/zuf-lib.sh disable=SC1091
. "$VM_SRCDIR/tests/vm/zuf-lib.sh"

mnt=/mnt/pmfs2
trap 'zuf_cleanup "$mnt"' EXIT

vm_log "main job in the VM: kernel $(uname -r), $(nproc) CPUs"
pmem=$(vm_pmem_setup namespace0.0) || vm_die "no pmem"
echo "== transport: zuf (kernel module), device $pmem (emulated nvdimm, fsdax)"
zuf_load
"$MKFS_PMFS2" -f -L demo "$pmem"
zusd_start
mkdir -p "$mnt"
mount -t pmfs2 "$pmem" "$mnt"
findmnt "$mnt"
# /usr/include is slow to read over 9p under TCG: a smaller tree
DEMO_SRC=/usr/include/linux "$VM_SRCDIR/scripts/demo-workload.sh" "$mnt"
umount "$mnt"
zusd_stop TERM
echo "== fsck.pmfs2 -n $pmem"
"$FSCK_PMFS2" -n "$pmem"
