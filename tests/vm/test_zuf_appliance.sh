#!/bin/bash
# Host side (make check-vm): the ZUFS appliance with systemd as PID 1.
#
#   1. make install DESTDIR=<workdir>/appliance-stage from the build dir
#   2. boot 1 (fast mode): fsdax namespace + mkfs.pmfs2 on a kept pmem image
#      (run-vm.sh --pmem-image; the kernel finds the fsdax info block at the
#      next boot)
#   3. boot 2 (--systemd): zuf-appliance-setup.sh (run-vm.sh --setup)
#      installs the stage into the overlay root, writes zusd.conf and
#      /etc/fstab (/dev/pmem0 /data pmfs2 defaults,nofail,
#      x-systemd.after=zusd.service), enables zusd; systemd boots and
#      mounts /data; zuf-appliance.sh runs the checks (see its header).
# APPLIANCE_FSTAB_OPTS overrides the fstab options (default, as in
# units/README.md: defaults,nofail,x-systemd.after=zusd.service).
# Prints each guest summary, including "longest stall across ...: N ms".
# Exit status 0 when both runs passed (and the kernel log is clean).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/vm/host-lib.sh disable=SC1091
. "$here/host-lib.sh"
: "${VM_BUILDDIR:?set VM_BUILDDIR (make check-vm does)}"
VM_WORKDIR=${VM_WORKDIR:-$VM_BUILDDIR/tests/vm/work}
export VM_WORKDIR

vm_need_built kmod/zuf.ko zusd/zusd plugins/pmfs2/.libs/pmfs2.so mkfs/mkfs.pmfs2 \
	mkfs/fsck.pmfs2 tools/zufsctl/zufsctl tests/vm/stall-probe

t0=$SECONDS
mkdir -p "$VM_WORKDIR"
stage=$VM_WORKDIR/appliance-stage
rm -rf "$stage"
if ! make -s -C "$VM_BUILDDIR" install DESTDIR="$stage" > "$VM_WORKDIR/appliance-install.log" 2>&1; then
	cat "$VM_WORKDIR/appliance-install.log"
	echo "FAIL: make install DESTDIR=$stage"
	exit 1
fi
echo "appliance: installed into $stage ($(find "$stage" -type f | wc -l) files)"

# The guest kernel (run-vm.sh's default) and the release zuf.ko was built for.
kver=${VM_KVER:-}
if [[ -z $kver ]]; then
	# shellcheck disable=SC2012
	for v in $(cd /boot && ls vmlinuz-* 2>/dev/null | sed 's/^vmlinuz-//' | sort -V); do
		[[ -f /lib/modules/$v/modules.dep ]] && kver=$v
	done
fi
[[ -n $kver ]] || { echo "FAIL: no guest kernel"; exit 1; }
vermagic=$(modinfo -F vermagic "$VM_BUILDDIR/kmod/zuf.ko" | cut -d' ' -f1)
installed=$(cd "$stage" && find . -name zuf.ko | sed 's/^\.//')
rc=0
if [[ $installed == "/lib/modules/$vermagic/extra/zuf.ko" ]]; then
	echo "PASS: make install puts zuf.ko where modprobe finds it ($installed)"
else
	echo "FAIL: make install puts zuf.ko in $installed, but it is built for $vermagic:" \
		"modprobe zuf will not find it (configure's KRELEASE)"
	rc=1
fi
# modules.dep for the guest kernel + zuf.ko, made here: depmod in the guest
# reads every module over 9p (minutes under TCG).  zuf-appliance-setup.sh
# copies the stage, index included, into the guest's /lib/modules.
dm=$VM_WORKDIR/appliance-depmod
rm -rf "$dm"
mkdir -p "$dm/lib/modules/$kver/extra" "$stage/lib/modules/$kver/extra"
for f in /lib/modules/"$kver"/*; do
	case ${f##*/} in
	modules.order | modules.builtin | modules.builtin.modinfo | kernel) ln -s "$f" "$dm/lib/modules/$kver/" ;;
	esac
done
cp "$VM_BUILDDIR/kmod/zuf.ko" "$dm/lib/modules/$kver/extra/zuf.ko"
cp "$VM_BUILDDIR/kmod/zuf.ko" "$stage/lib/modules/$kver/extra/zuf.ko"
depmod -b "$dm" "$kver"
grep -q '^extra/zuf.ko:' "$dm/lib/modules/$kver/modules.dep" || { echo "FAIL: depmod -b for $kver"; exit 1; }
find "$dm/lib/modules/$kver" -maxdepth 1 -type f -name 'modules.*' -exec cp {} "$stage/lib/modules/$kver/" \;
rm -rf "$dm"

img=$VM_WORKDIR/appliance-pmem.img
rm -f "$img"
trap 'rm -f "$img"' EXIT
run() { # NAME ARGS...: one boot; prints its summary
	local name=$1 r=0
	shift
	vm_run_report "$name" --timeout "${VM_TIMEOUT:-900}" \
		--pmem-image "$img" --pmem-size 1G "$@" || r=$?
	((r == 0)) || rc=1
	return "$r"
}

if run zuf-appliance-prepare "$here/zuf-appliance.sh" -- prepare; then
	run zuf-appliance --systemd --setup "$here/zuf-appliance-setup.sh" \
		"$here/zuf-appliance.sh" -- test "$stage" ${APPLIANCE_FSTAB_OPTS:+"$APPLIANCE_FSTAB_OPTS"} || :
fi
echo "appliance: $((SECONDS - t0))s in all"
exit "$rc"
