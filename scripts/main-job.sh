#!/bin/bash
# The main job: build and install zufs, format an emulated pmem device with
# mkfs.pmfs2 and run a real, verifying workload on pmfs2.
# Usage (fresh Debian bookworm, as root): scripts/main-job.sh [IMAGE]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
jobs=$(nproc)

scripts/install-deps.sh
./autogen.sh >/dev/null
build="$top/build-main"
mkdir -p "$build"
cd "$build"
[ -f Makefile ] || ../configure -q --prefix=/usr/local
make -s -j"$jobs"
make -s install >/dev/null
ldconfig

image=${1:-/var/tmp/zufs-pmem0.img}
echo "== emulated pmem: $image (1 GiB sparse file; no /dev/pmem* here)"
rm -f "$image"
truncate -s 1G "$image"
/usr/local/sbin/mkfs.pmfs2 -L demo "$image"
echo "== pmfs2 through the in-process host"
/usr/local/bin/zus-inproc-run --plugin /usr/local/lib/zufs/pmfs2.so "$image"
echo "== fsck.pmfs2 -n"
/usr/local/sbin/fsck.pmfs2 -n "$image"
