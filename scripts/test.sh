#!/bin/bash
# Run every test: host tests under ASan/UBSan (make check), then make distcheck.
# Usage (fresh Debian bookworm, as root): scripts/test.sh
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
jobs=$(nproc)

scripts/install-deps.sh
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
	summary="make check: $((pass + xfail)) passed, $((fail + xpass + error)) failed, ${skip:-0} skipped"
fi
if [ "$status" -ne 0 ]; then
	echo "${summary:-make check failed}"
	exit "$status"
fi
echo "== make distcheck"
make -s -j"$jobs" distcheck DISTCHECK_CONFIGURE_FLAGS=-q
echo "$summary"
