#!/bin/bash
# Self-test of the VM harness (make check-vm): exit status propagation, a
# module from the build tree loaded with vm_insmod, a guest kernel WARNING
# failing the run, the timeout, systemd mode, and (two more boots)
# --pmem-image and --root-image kept across boots + --setup before systemd.
# Seven short boots.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
srcdir=${VM_SRCDIR:-$(cd "$here/../.." && pwd)}
builddir=${VM_BUILDDIR:-$srcdir}
work=${VM_WORKDIR:-$builddir/tests/vm/work}
export VM_SRCDIR=$srcdir VM_BUILDDIR=$builddir VM_WORKDIR=$work

kver=${VM_KVER:-}
if [[ -z $kver ]]; then
	for v in $(cd /boot 2>/dev/null && ls vmlinuz-* 2>/dev/null | sed 's/^vmlinuz-//' | sort -V); do
		[[ -f /lib/modules/$v/modules.dep ]] && kver=$v
	done
fi
[[ -n $kver && -d /lib/modules/$kver/build ]] ||
	{ echo "test_vm_harness: no kernel headers for the guest kernel: run tests/vm/install-deps.sh" >&2; exit 1; }

pass=0 fail=0
check() { # NAME EXPECTED_RC ACTUAL_RC
	if [[ $2 == "$3" ]]; then
		echo "PASS: $1"; pass=$((pass + 1))
	else
		echo "FAIL: $1 (exit $3, expected $2)"; fail=$((fail + 1))
	fi
}

# Build the self-test module out of tree, in the build dir (the guest sees it
# through the read-only 9p root at the same path).
mod=$work/warnmod
mkdir -p "$mod"
cp "$here/warnmod/vmtest_warn.c" "$here/warnmod/Kbuild" "$mod/"
if ! make -s -C "/lib/modules/$kver/build" M="$mod" modules >"$mod/build.log" 2>&1; then
	cat "$mod/build.log" >&2
	echo "FAIL: build vmtest_warn.ko for $kver"
	echo "0 passed, 1 failed"
	exit 1
fi
ko=$mod/vmtest_warn.ko
echo "PASS: build vmtest_warn.ko for $kver"; pass=$((pass + 1))

run() { "$here/run-vm.sh" --timeout "${VM_TIMEOUT:-300}" "$@" >"$work/harness-last.log" 2>&1; local rc=$?; sed 's/^/    /' "$work/harness-last.log" | grep -E 'run-vm: (guest exit|TIMEOUT|FAIL|  )' || :; return $rc; }

run --name harness-insmod "$here/harness-guest.sh" -- insmod "$ko" 7
check "exit status propagates; vm_insmod of a build-tree module" 7 $?

# check-vm boots with panic_on_warn=1 (VM_APPEND): without it a WARNING
# still fails a run that passed; with it the guest panics on the spot.
VM_APPEND=${VM_APPEND//panic_on_warn=1/} run --name harness-warn "$here/harness-guest.sh" -- warn "$ko"
rc=$?
check "a guest kernel WARNING fails the run" 1 $rc
VM_APPEND="${VM_APPEND:-} panic_on_warn=1" run --name harness-warn-panic "$here/harness-guest.sh" -- warn "$ko"
rc=$?
check "with panic_on_warn=1 a WARNING panics the guest (no exit status)" 125 $rc

run --name harness-hang --timeout 30 "$here/harness-guest.sh" -- hang
check "a hung guest is killed at the timeout" 124 $?

run --name harness-systemd --systemd "$here/harness-guest.sh" -- exit 5
check "systemd mode runs the script from a unit and powers off" 5 $?

# --pmem-image and --root-image: what one boot writes, the next one reads;
# --setup runs in the new root before systemd starts.
img=$work/harness-pmem.img
rimg=$work/harness-root.img
mark="zufs-harness-$$-$RANDOM"
rm -f "$img" "$rimg"
run --name harness-pmem --pmem-image "$img" --root-image "$rimg" "$here/harness-guest.sh" -- pmem-write "$mark"
check "--pmem-image: a guest writes the image" 0 $?
if [[ -f $img && $(head -c 4096 "$img" | tr -d '\0') == "$mark"* ]]; then
	echo "PASS: --pmem-image: the file is kept and holds what the guest wrote"; pass=$((pass + 1))
else
	echo "FAIL: --pmem-image: $img missing or without the mark"; fail=$((fail + 1))
fi
run --name harness-setup --systemd --pmem-image "$img" --root-image "$rimg" \
	--setup "$here/harness-guest.sh" "$here/harness-guest.sh" -- setup-check 6 "$mark"
check "--setup runs before systemd; --pmem-image and --root-image reused by the next boot" 6 $?
rm -f "$img" "$rimg"

echo "$pass passed, $fail failed"
((fail == 0))
