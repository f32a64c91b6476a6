#!/bin/bash
# Host side (make check-vm): pmfs2 over zuf.ko in the VM.  Boots the guest
# once per guest script:
#   zuf-pmfs2-posix.sh  mount -t pmfs2, posix-test, fio verify, mmap,
#                       remount, zusd restart, umount, fsck
#   zuf-pmfs2-fault.sh  zusd SIGKILLed under fio, malformed replies
#   zuf-pmfs2-shutdown.sh  the shutdown ioctl (xfs_io -c shutdown): EIO,
#                       nothing more written, recovery at the next mount
#   zuf-pmfs2-times.sh  atime/mtime/ctime under relatime, noatime,
#                       strictatime, nodiratime, lazytime: the same as ext4's
#   zuf-pmfs2-stressng.sh  stress-ng's filesystem stressors, then fsck
#   zuf-pmfs2-tiermap.sh  NVMe tier behind a 128 MiB pmem: tiered data read
#                       in map mode, mmap promotes, extent invalidation
# Exit status 0 when every run passed (guest checks and the harness's
# kernel-log scan: no WARNING/BUG/Oops/lockdep).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/vm/host-lib.sh disable=SC1091
. "$here/host-lib.sh"
: "${VM_BUILDDIR:?set VM_BUILDDIR (make check-vm does)}"

vm_need_built kmod/zuf.ko zusd/zusd plugins/pmfs2/.libs/pmfs2.so mkfs/mkfs.pmfs2 \
	mkfs/fsck.pmfs2 tests/posix/posix-test tests/stress/fsx tests/stress/nsstorm

rc=0
# run-vm.sh options a script needs (before the caller's, which win)
script_args() {
	case $1 in
	zuf-pmfs2-tiermap.sh) echo --pmem-size 128M --timeout "${VM_TIMEOUT:-1200}" ;;
	zuf-pmfs2-shutdown.sh) echo --pmem-size 256M ;;
	zuf-pmfs2-stressng.sh)
		# a long run (STRESSNG_SECONDS=600) needs its time and more
		if [[ -n ${STRESSNG_SECONDS:-} ]]; then
			echo --guest-env "STRESSNG_SECONDS=$STRESSNG_SECONDS" \
				--timeout "$((STRESSNG_SECONDS + 480))"
		fi ;;
	esac
}

for script in ${ZUF_VM_SCRIPTS:-zuf-pmfs2-posix.sh zuf-pmfs2-fault.sh zuf-pmfs2-shutdown.sh zuf-pmfs2-times.sh zuf-pmfs2-stressng.sh zuf-pmfs2-tiermap.sh}; do
	# shellcheck disable=SC2046
	vm_run_report "${script%.sh}" --timeout "${VM_TIMEOUT:-600}" \
		$(script_args "$script") "$@" "$here/$script" || rc=1
done
exit "$rc"
