#!/bin/bash
# Install the Debian bookworm packages the build, the tests and the appliance
# need.  Idempotent; needs root.  Usage: scripts/install-deps.sh [--vm]
set -euo pipefail

pkgs=(
	build-essential autoconf automake libtool pkg-config
	libsystemd-dev libblkid-dev uuid-dev liburing-dev check
	libfuse3-dev fuse3 libiniparser-dev
	clang libclang-rt-14-dev
	e2fsprogs util-linux fio attr dbus man-db
)
if [ "${1:-}" = "--vm" ]; then
	pkgs+=(qemu-system-x86 linux-image-amd64 linux-headers-amd64
	       busybox-static ndctl cpio kmod
	       debhelper dh-dkms dkms lintian)
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: must run as root (apt-get install)" >&2
	exit 1
fi
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
	echo "install-deps: all ${#pkgs[@]} packages present"
	exit 0
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
