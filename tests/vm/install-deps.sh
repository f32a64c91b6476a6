#!/bin/bash
# Install (idempotently) what the ZUFS qemu VM test harness needs on a
# Debian bookworm host.  Safe to re-run: only missing packages are installed.
#
#   tests/vm/install-deps.sh           install what is missing
#   tests/vm/install-deps.sh --check   only report, exit 1 if something is missing
#   ... --debug-kernel                 also what tests/vm/debug-kernel.sh needs to
#                                      build the debug kernel (with or without --check)
set -euo pipefail

# What each package is for:
#   qemu-system-x86     the emulator (TCG; the host's /dev/kvm is not usable)
#   qemu-utils          qemu-img (NVMe backing file)
#   linux-image-amd64   the guest kernel + its modules (booted with -kernel/-initrd)
#   linux-headers-amd64 Kbuild for zuf.ko against the guest kernel
#   busybox-static      the initramfs' only binary
#   cpio, gzip          to pack the initramfs
#   xz-utils, zstd      to decompress modules on the host while building the initramfs
#   kmod                modprobe/insmod/depmod used inside the guest (after switch_root)
#   ndctl, daxctl       pmem namespace setup inside the guest
#   fio                 I/O workloads (smoke test, benchmarks)
#   e2fsprogs           mkfs.ext4 / e2fsck for the ext4 -o dax reference; filefrag
#   xfsprogs            xfs_io -c shutdown (the filesystem shutdown ioctl)
#   util-linux          mount, findmnt, blkid, ...
#   systemd, systemd-sysv  --systemd guest mode (systemd as PID 1)
#   procps, coreutils   ps, timeout, stat ... in the guest
#   perl                statx() and fio JSON checks in guest scripts (JSON::PP)
#   stress-ng           its filesystem stressors on a zuf mount (zuf-pmfs2-stressng.sh)
PKGS=(
	qemu-system-x86 qemu-utils
	linux-image-amd64 linux-headers-amd64
	busybox-static cpio gzip xz-utils zstd
	kmod ndctl daxctl fio e2fsprogs xfsprogs util-linux
	systemd systemd-sysv procps coreutils perl stress-ng
)
# --debug-kernel: building Debian's 6.1 source (tests/vm/debug-kernel.sh)
#   linux-source-6.1    the source tarball (/usr/src/linux-source-6.1.tar.xz)
#   gcc, make, bc, bison, flex, libelf-dev (objtool), libssl-dev, dwarves,
#   rsync               the kernel's build requirements
DEBUG_KERNEL_PKGS=(
	linux-source-6.1 gcc make bc bison flex libelf-dev libssl-dev dwarves rsync
)

check_only=0
for a in "$@"; do
	case $a in
	--check) check_only=1 ;;
	--debug-kernel) PKGS+=("${DEBUG_KERNEL_PKGS[@]}") ;;
	*) echo "usage: $0 [--check] [--debug-kernel]" >&2; exit 2 ;;
	esac
done

missing=()
for p in "${PKGS[@]}"; do
	st=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)
	if [[ $st == ii* ]]; then
		echo "install-deps: ok       $p"
	else
		echo "install-deps: missing  $p"
		missing+=("$p")
	fi
done

if ((${#missing[@]} == 0)); then
	echo "install-deps: all ${#PKGS[@]} packages present"
	exit 0
fi
if ((check_only)); then
	echo "install-deps: missing: ${missing[*]}" >&2
	exit 1
fi
if [[ $(id -u) -ne 0 ]]; then
	echo "install-deps: must run as root to install: ${missing[*]}" >&2
	exit 1
fi

export DEBIAN_FRONTEND=noninteractive
echo "install-deps: + apt-get update"
apt-get update -q
echo "install-deps: + apt-get install -y --no-install-recommends ${missing[*]}"
apt-get install -y -q --no-install-recommends "${missing[@]}"
echo "install-deps: done"
