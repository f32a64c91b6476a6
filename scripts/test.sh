#!/bin/bash
# Run every test: host tests under ASan/UBSan (make check), make distcheck,
# then the kernel tests in a qemu VM (make check-vm: zuf.ko + zusd + pmfs2 in
# Debian's 6.1 kernel) from a separate optimised build.
# Usage (fresh Debian bookworm, as root): scripts/test.sh
#   --debug-kernel  then also the debug-kernel lane (make check-vm-debug: the
#                   zuf VM tests on Debian's 6.1 source built with KASAN,
#                   lockdep, kmemleak...; the kernel is built once, ~30 min,
#                   and cached in /var/cache/zufs-debug-kernel)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
jobs=$(nproc)
debug_kernel=0
for a in "$@"; do
	case $a in
	--debug-kernel) debug_kernel=1 ;;
	*) echo "usage: $0 [--debug-kernel]" >&2; exit 2 ;;
	esac
done

scripts/install-deps.sh --vm
if ((debug_kernel)); then
	tests/vm/install-deps.sh --debug-kernel >/dev/null
else
	tests/vm/install-deps.sh >/dev/null
fi
./autogen.sh >/dev/null

build="$top/build-test"
rm -rf "$build"
mkdir -p "$build"
cd "$build"
echo "== configure (ASan + UBSan)"
../configure -q --enable-sanitizers
echo "== build"
make -s -j"$jobs"
echo "== make check"
status=0
make -j"$jobs" check || status=$?
# Summarise the automake harness in the plain form CI reads.
if [ -f test-suite.log ]; then
	pass=$(sed -n 's/^# PASS: *//p' test-suite.log | head -n1)
	fail=$(sed -n 's/^# FAIL: *//p' test-suite.log | head -n1)
	skip=$(sed -n 's/^# SKIP: *//p' test-suite.log | head -n1)
	xfail=$(sed -n 's/^# XFAIL: *//p' test-suite.log | head -n1)
	xpass=$(sed -n 's/^# XPASS: *//p' test-suite.log | head -n1)
	error=$(sed -n 's/^# ERROR: *//p' test-suite.log | head -n1)
	[ "$status" -ne 0 ] && cat test-suite.log
	npass=$((pass + xfail)); nfail=$((fail + xpass + error)); nskip=${skip:-0}
	summary="check: $npass passed, $nfail failed, $nskip skipped"
fi
if [ "$status" -ne 0 ]; then
	echo "${summary:-check: make check failed}"
	exit "$status"
fi
echo "== make distcheck"
make -s -j"$jobs" distcheck DISTCHECK_CONFIGURE_FLAGS=-q

echo "== make check-vm (qemu, TCG)"
vmbuild="$top/build-vm"
rm -rf "$vmbuild"
mkdir -p "$vmbuild"
cd "$vmbuild"
../configure -q
make -s -j"$jobs"
vmlog="$vmbuild/check-vm.log"
# --debug-kernel: make check-vm-debug in the same build; sets dsum, dstatus.
dsum='' dstatus=0 dpass=0 dfail=0
debug_lane() {
	local dlog="$vmbuild/check-vm-debug.log"
	echo "== make check-vm-debug (qemu, TCG, debug kernel)"
	make check-vm-debug 2>&1 | tee "$dlog" || dstatus=1
	dsum=$(grep -E '^check-vm-debug: [0-9]+ passed' "$dlog" | tail -n1 || :)
	dpass=$(echo "$dsum" | sed -n 's/^check-vm-debug: \([0-9]*\) passed.*/\1/p')
	dfail=$(echo "$dsum" | sed -n 's/.* \([0-9]*\) failed.*/\1/p')
	((dstatus == 0)) || dsum="${dsum:-check-vm-debug: no summary line}; FAILED (see $dlog and the run logs it names)"
}
if ! make check-vm 2>&1 | tee "$vmlog"; then
	((debug_kernel)) && debug_lane
	echo "$summary"
	grep -E "^check-vm: [0-9]+ passed" "$vmlog" | tail -n1 || :
	echo "check-vm: FAILED (see $vmlog and the run logs it names)"
	[ -z "$dsum" ] || echo "$dsum"
	exit 1
fi
((debug_kernel)) && debug_lane
vmsum=$(grep -E '^check-vm: [0-9]+ passed' "$vmlog" | tail -n1 || :)
vpass=$(echo "$vmsum" | sed -n 's/^check-vm: \([0-9]*\) passed.*/\1/p')
vfail=$(echo "$vmsum" | sed -n 's/.* \([0-9]*\) failed.*/\1/p')
echo "$summary"
echo "${vmsum:-check-vm: no summary line}"
[ -z "$dsum" ] || echo "$dsum"
echo "total: $((npass + ${vpass:-0} + ${dpass:-0})) passed, $((nfail + ${vfail:-0} + ${dfail:-0})) failed, $nskip skipped"
exit "$dstatus"
