#!/bin/bash
# The main job: build and install zufs, run pmfs2 in-process on an emulated
# pmem image, then format a pmem device with mkfs.pmfs2, serve it with zusd
# and give the user a pmfs2 mount: an interactive shell in it on a terminal,
# else a verifying demo workload.
#
#   scripts/main-job.sh [--demo] [--vm] [--image FILE] [--mountpoint DIR]
#
# Transport: zuf (kernel module) where zuf.ko loads and a /dev/pmem* exists;
# otherwise FUSE on this host with an emulated pmem file (no VM needed).
# --vm: where zuf.ko cannot load here, boot a qemu VM with Debian's 6.1
# kernel and emulated pmem and run the demo over zuf inside it.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
image=/var/tmp/zufs-pmem0.img
mnt=/mnt/pmfs2
demo=no
vm=no
[ -t 0 ] && [ -t 1 ] || demo=yes
while [ $# -gt 0 ]; do
	case $1 in
	--demo) demo=yes ;;
	--vm) vm=yes ;;
	--image) image=$2; shift ;;
	--mountpoint) mnt=$2; shift ;;
	-h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "main-job: unknown argument '$1' (see --help)" >&2; exit 2 ;;
	esac
	shift
done

cd "$top"
if [ "$vm" = yes ]; then
	scripts/install-deps.sh --vm
	tests/vm/install-deps.sh >/dev/null
else
	scripts/install-deps.sh
fi
./autogen.sh >/dev/null
mkdir -p build-main
cd build-main
[ -f Makefile ] || ../configure -q --prefix=/usr/local --sysconfdir=/etc
make -s -j"$(nproc)"
make -s install >/dev/null
ldconfig
sbin=/usr/local/sbin

zusd_pid=
cleanup() {
	if mountpoint -q "$mnt"; then umount "$mnt" 2>/dev/null || umount -l "$mnt" || :; fi
	if [ -n "$zusd_pid" ] && kill -0 "$zusd_pid" 2>/dev/null; then
		kill -TERM "$zusd_pid"; wait "$zusd_pid" 2>/dev/null || :
	fi
}
trap cleanup EXIT

echo "== pmfs2 through the in-process host (the plugin driven directly, no kernel)"
"$top/build-main/zusd/zus-inproc-run" --plugin /usr/local/lib/zufs/pmfs2.so \
	--mkfs 256M /var/tmp/zufs-inproc.img
rm -f /var/tmp/zufs-inproc.img

if [ "$vm" = yes ]; then
	[ -f "$top/build-main/kmod/zuf.ko" ] ||
		{ echo "main-job: zuf.ko was not built (no kernel headers?)" >&2; exit 1; }
	echo "== booting a qemu VM (TCG, Debian $(ls /usr/src | sed -n 's/linux-headers-\(.*-amd64\)/\1/p' | tail -n1)) with emulated pmem"
	VM_SRCDIR=$top VM_BUILDDIR=$top/build-main \
	VM_WORKDIR=$top/build-main/tests/vm/work \
		"$top/tests/vm/run-vm.sh" --verbose --timeout 900 \
		"$top/tests/vm/zuf-main-job.sh"
	exit
fi

transport=fuse
why=""
pmem=$(ls /dev/pmem* 2>/dev/null | head -n1 || :)
if ! modprobe zuf 2>/tmp/zufs-modprobe.$$; then
	why="zuf.ko does not load on this kernel ($(uname -r)): $(tail -n1 /tmp/zufs-modprobe.$$)"
elif [ -z "$pmem" ]; then
	why="zuf.ko is loaded but there is no /dev/pmem* device"
else
	transport=zuf
fi
rm -f /tmp/zufs-modprobe.$$
mkdir -p "$mnt"

if [ "$transport" = zuf ]; then
	echo "== transport: zuf (kernel module), device $pmem"
	mountpoint -q /sys/fs/zuf || mount -t zuf nodev /sys/fs/zuf
	$sbin/mkfs.pmfs2 -f -L demo "$pmem"
	$sbin/zusd --transport=zuf --plugin pmfs2 &
	zusd_pid=$!
	sleep 1
	mount -t pmfs2 "$pmem" "$mnt"
	dev=$pmem
else
	echo "== transport: fuse — $why"
	echo "   (for the kernel transport in a VM with emulated pmem: scripts/main-job.sh --vm)"
	echo "== emulated pmem: $image (1 GiB sparse file)"
	rm -f "$image"
	truncate -s 1G "$image"
	$sbin/mkfs.pmfs2 -L demo "$image"
	$sbin/zusd --transport=fuse --plugin pmfs2 "$image" "$mnt" &
	zusd_pid=$!
	for _ in $(seq 1 50); do
		grep -qs " $mnt fuse" /proc/mounts && break
		kill -0 "$zusd_pid" 2>/dev/null || { echo "main-job: zusd exited" >&2; exit 1; }
		sleep 0.1
	done
	grep -qs " $mnt fuse" /proc/mounts || { echo "main-job: $mnt did not mount" >&2; exit 1; }
	dev=$image
fi
grep " $mnt " /proc/mounts | sed 's/^/   /'

if [ "$demo" = yes ]; then
	"$top/scripts/demo-workload.sh" "$mnt"
else
	echo "== a shell in $mnt (pmfs2 over $transport); exit to unmount"
	(cd "$mnt" && PS1="pmfs2:\w# " bash --norc -i) || :
fi

umount "$mnt"
# FUSE: zusd leaves when its mount goes; zuf: zusd serves until told to stop
[ "$transport" = zuf ] && kill -TERM "$zusd_pid"
wait "$zusd_pid" 2>/dev/null || :
zusd_pid=
echo "== fsck.pmfs2 -n $dev"
$sbin/fsck.pmfs2 -n "$dev"
