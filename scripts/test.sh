#!/bin/bash
# Run every test: host tests under ASan/UBSan (make check), make distcheck,
# then the kernel tests in a qemu VM (make check-vm: zuf.ko + zusd + pmfs2 in
# Debian's 6.1 kernel) from a separate optimised build.
# Usage (fresh Debian bookworm, as root): scripts/test.sh
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
jobs=$(nproc)

scripts/install-deps.sh --vm
tests/vm/install-deps.sh >/dev/null
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
if ! make check-vm 2>&1 | tee "$vmlog"; then
	echo "$summary"
	grep -E "^check-vm: [0-9]+ passed" "$vmlog" | tail -n1 || :
	echo "check-vm: FAILED (see $vmlog and the run logs it names)"
	exit 1
fi
vmsum=$(grep -E '^check-vm: [0-9]+ passed' "$vmlog" | tail -n1 || :)
vpass=$(echo "$vmsum" | sed -n 's/^check-vm: \([0-9]*\) passed.*/\1/p')
vfail=$(echo "$vmsum" | sed -n 's/.* \([0-9]*\) failed.*/\1/p')
echo "$summary"
echo "${vmsum:-check-vm: no summary line}"
echo "total: $((npass + ${vpass:-0})) passed, $((nfail + ${vfail:-0})) failed, $nskip skipped"
