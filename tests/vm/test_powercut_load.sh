#!/bin/bash
# Host test (make check) of the power-cut test's checker (powercut-load
# check), on a plain directory: the workload SIGKILLed at random moments
# leaves nothing it must flag; a changed byte, a lost file, a file nobody
# made and a rename that left both names are each flagged, by name.
set -uo pipefail
: "${LOAD:=${ZUFS_BUILDDIR:-.}/tests/vm/powercut-load}"
[[ -x $LOAD ]] || { echo "FAIL: $LOAD is not built"; exit 1; }
t=$(mktemp -d)
trap 'pkill -KILL -f "$t/fs" 2>/dev/null; rm -rf "$t"' EXIT
pass=0 fail=0
ok() { echo "PASS: $1"; pass=$((pass + 1)); }
ko() { echo "FAIL: $1"; fail=$((fail + 1)); }

mkdir -p "$t/fs"
"$LOAD" fill "$t/fs" --mib 8 --out "$t/st0" >/dev/null || ko "fill"
for b in 0 1 2; do
	mkdir -p "$t/l$b"
	(
		"$LOAD" run "$t/fs" "$t/l$b" --boot "$b" --seed $((7 + b)) \
			--state "$t/st$b" --max-len 65536 &
		sleep "0.$((3 + 3 * b))"
		pkill -KILL -f "run $t/fs"
		wait
	) 2>/dev/null
	if "$LOAD" check "$t/fs" "$t/l$b" --state "$t/st$b" --out "$t/st$((b + 1))" > "$t/out" 2>&1; then
		ok "killed workload $b: $(tail -1 "$t/out")"
	else
		ko "killed workload $b flagged:"; cat "$t/out"
	fi
done

# expect_broken WHAT PATTERN: check fails and names the problem
expect_broken() {
	mkdir -p "$t/empty"
	if "$LOAD" check "$t/fs" "$t/empty" --state "$t/st3" --out "$t/st4" > "$t/out" 2>&1; then
		ko "$1: not flagged"
	elif grep -q "BROKEN: .*$2" "$t/out"; then
		ok "$1: flagged ($(grep -m1 BROKEN "$t/out"))"
	else
		ko "$1: flagged, but not as /$2/:"; cat "$t/out"
	fi
}
files=$(awk '$1 == "f" && $5 > 100 { print $2 }' "$t/st3")
f1=$(sed -n 1p <<< "$files") f2=$(sed -n 2p <<< "$files")
cp -a "$t/fs/$f1" "$t/keep"
printf '\x5a' | dd of="$t/fs/$f1" bs=1 seek=99 conv=notrunc status=none
cmp -s "$t/fs/$f1" "$t/keep" || expect_broken "a changed byte" "$f1: byte 99"
cp -a "$t/keep" "$t/fs/$f1"
mv "$t/fs/$f2" "$t/keep2"
expect_broken "a lost file" "$f2: missing"
mv "$t/keep2" "$t/fs/$f2"
: > "$t/fs/w0/d1/f9_9"
expect_broken "a file nobody made" "w0/d1/f9_9: exists"
rm "$t/fs/w0/d1/f9_9"
# a rename in flight at the cut must leave exactly one of the two names
ln "$t/fs/$f1" "$t/fs/w0/d2/f9_8"
printf 'S started\nB 1 move %s w0/d2/f9_8 0 0 0 0\n' "$f1" > "$t/empty/log-0"
expect_broken "a rename that left both names" "rename in flight left both names"
rm -f "$t/fs/w0/d2/f9_8" "$t/empty/log-0"

echo "$pass passed, $fail failed"
((fail == 0))
