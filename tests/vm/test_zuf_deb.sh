#!/bin/bash
# Host side (make check-vm): the Debian packages, installed as an admin would.
#
#   1. scripts/build-debs.sh --nocheck: zufs, zufs-dkms, libzus-dev from this
#      tree (make check already ran), lintian: no error
#   2. boot 1 (systemd, root on a kept --root-image): zuf-deb.sh install
#   3. boot 2 (the same root and pmem images: a reboot): zuf-deb.sh reboot
# Prints lintian's output and each guest summary.  Exit status 0 when the
# packages built without a lintian error and both boots passed.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/vm/host-lib.sh disable=SC1091
. "$here/host-lib.sh"
: "${VM_BUILDDIR:?set VM_BUILDDIR (make check-vm does)}"
VM_WORKDIR=${VM_WORKDIR:-$VM_BUILDDIR/tests/vm/work}
export VM_WORKDIR
src=${VM_SRCDIR:-$(cd "$here/../.." && pwd)}

t0=$SECONDS
debdir=$VM_WORKDIR/deb
if "$src/scripts/build-debs.sh" --nocheck "$debdir"; then
	echo "PASS: packages built, lintian shows no error ($((SECONDS - t0)) s)"
else
	echo "FAIL: package build or lintian (see $debdir/build.log, $debdir/lintian.txt)"
	exit 1
fi

# check-vm's slab/page poisoning doubles the DKMS build under TCG (the zuf
# tests run with it); the warn/hang checks stay.
VM_APPEND=$(tr ' ' '\n' <<<"${VM_APPEND:-}" | { grep -vE '^(slub_debug|init_on_free|page_poison)=' || :; } | xargs)
export VM_APPEND

root=$VM_WORKDIR/deb-root.img
img=$VM_WORKDIR/deb-pmem.img
rm -f "$root" "$img"
trap 'rm -f "$root" "$img"' EXIT
rc=0
run() { # NAME ARGS...: one boot
	local name=$1 r=0
	shift
	vm_run_report "$name" --timeout "${VM_TIMEOUT:-900}" --root-image "$root" \
		--pmem-image "$img" --pmem-size 1G --systemd "$here/zuf-deb.sh" "$@" || r=$?
	((r == 0)) || rc=1
	return "$r"
}
if run zuf-deb-install -- install "$debdir"; then
	run zuf-deb-reboot -- reboot || :
fi
echo "packages: $((SECONDS - t0))s in all"
exit "$rc"
