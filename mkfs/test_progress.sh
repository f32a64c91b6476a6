#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# test_progress.sh - progress of fsck.pmfs2 -C and mkfs.pmfs2: the
# "PASS CURRENT MAX DEVICE" lines of -C FD (passes 1 to 5 in order, each
# from 0 to a fixed MAX, never going back), the completion bar of -C 0 on a
# terminal only, problems printed on lines of their own, bad -C arguments,
# fsck(8) handing -C on to fsck.pmfs2, mkfs's phases on a terminal only.
#
# Run by `make check` from the top build directory; PMFS2_SBINDIR may point
# elsewhere.  The terminal cases need script(1), fsck(8)'s needs fsck.
set -u

sbindir=${PMFS2_SBINDIR:-$PWD/mkfs}
MKFS=$sbindir/mkfs.pmfs2
FSCK=$sbindir/fsck.pmfs2
if [ ! -x "$MKFS" ] || [ ! -x "$FSCK" ]; then
	echo "mkfs.pmfs2/fsck.pmfs2 not built in $sbindir" >&2
	exit 99
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/pmfs2-progress.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT
img=$tmp/pm.img
out=$tmp/out
prog=$tmp/prog
fails=0
n=0

ok() { n=$((n + 1)); echo "ok $n - $*"; }
fail() { n=$((n + 1)); echo "not ok $n - $*"; fails=$((fails + 1)); }
check() {	# check DESCRIPTION CMD...
	desc=$1
	shift
	if "$@"; then ok "$desc"; else fail "$desc"; fi
}
show() { sed 's/^/#   /' "$1"; }
has_script() { command -v script >/dev/null 2>&1; }
# on_tty CMD: CMD's output as a terminal shows it (util-linux script)
on_tty() { script -qec "$1" /dev/null; }

# lines_ok FILE DEVICE FIRSTPASS: every line is "PASS CUR MAX DEVICE",
# passes FIRSTPASS..5 each present, in order, starting at 0 and ending at
# MAX, MAX fixed in a pass and >= 1, CUR never going back nor past MAX
lines_ok() {
	awk -v dev="$2" -v first="$3" '
	NF != 4 || $4 != dev || $1 !~ /^[0-9]+$/ || $2 !~ /^[0-9]+$/ ||
	    $3 !~ /^[0-9]+$/ { print "bad line " NR ": " $0; bad = 1; next }
	{ p = $1 + 0; c = $2 + 0; m = $3 + 0 }
	p != pass {
		if (pass && last != max) { print "pass " pass " ended at " last " of " max; bad = 1 }
		if (p != (pass ? pass + 1 : first) || c != 0 || m < 1) {
			print "pass " p " starts badly: " $0; bad = 1 }
		pass = p; max = m; last = c; next
	}
	m != max || c < last || c > m { print "line " NR " goes wrong: " $0; bad = 1 }
	{ last = c }
	END {
		if (pass != 5 || last != max) { print "ended in pass " pass " at " last " of " max; bad = 1 }
		exit bad
	}' "$1" >"$tmp/why" || { show "$tmp/why"; return 1; }
}

truncate -s 64M "$img"
"$MKFS" -q "$img" || exit 99

# ---- fsck -C FD ---------------------------------------------------------
"$FSCK" -n -C 3 "$img" >"$out" 2>&1 3>"$prog"
rc=$?
check "fsck -n -C 3: exit 0 ($rc)" [ "$rc" = 0 ]
check "fsck -n -C 3: passes 1-5, each from 0 to MAX, never back" \
	lines_ok "$prog" "$img" 1
check "fsck -n -C 3: steps shown, not only the ends ($(wc -l <"$prog") lines)" \
	[ "$(grep -c '^1 ' "$prog")" -gt 10 ]
# pass 1 counts the inode slots: mkfs's "inodes:" figure
"$MKFS" -f "$img" >"$tmp/mkfs.out" || exit 99
inodes=$(sed -n 's/^  inodes: *//p' "$tmp/mkfs.out")
check "pass 1's MAX is the inode count ($inodes)" \
	grep -q "^1 0 $inodes $img\$" "$prog"
check "fsck -C 3: its usual report on stdout" grep -q "$img: clean" "$out"
check "fsck -C 3: no progress on stdout" \
	sh -c "! grep -q '^[0-9]* [0-9]* [0-9]* ' '$out'"

"$FSCK" -n "$img" >"$tmp/plain" 2>&1
"$FSCK" -n -C 0 "$img" >"$out" 2>&1
check "fsck -C 0 with stdout not a terminal: the same output as without" \
	cmp -s "$out" "$tmp/plain"

"$FSCK" -n -C -3 "$img" >"$out" 2>&1 3>"$prog"
rc=$?
check "fsck -C -3: silent until SIGUSR1 (exit $rc, $(wc -c <"$prog") bytes)" \
	[ "$rc" = 0 ] && [ ! -s "$prog" ]

# a repair: problems and progress together
poke() {	# poke FILE OFFSET OCTAL-BYTE
	printf '%b' "\\$3" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}
root=$(((2 + 256) * 4096 + 256))	# inode 1 at itable_start 2 + 256
poke "$img" $((root + 8)) 7		# root's link count
"$FSCK" -fy -C 3 "$img" >"$out" 2>&1 3>"$prog"
rc=$?
check "fsck -fy -C 3 repairs (exit $rc)" [ "$rc" = 1 ]
check "fsck -fy -C 3: passes 1-5 while repairing" lines_ok "$prog" "$img" 1
check "fsck -fy -C 3: the problem reported" grep -q "link count 7" "$out"

# ---- bad -C --------------------------------------------------------------
"$FSCK" -n -C x "$img" >"$out" 2>&1
rc=$?
check "fsck -C x: usage error (exit $rc)" [ "$rc" = 16 ]
check "fsck -C x: says why" grep -q 'invalid -C argument "x"' "$out"
"$FSCK" -n -C 3x "$img" >"$out" 2>&1
check "fsck -C 3x: usage error" [ $? = 16 ]
"$FSCK" -n -C 9 "$img" >"$out" 2>&1 9>&-
rc=$?
check "fsck -C 9 with 9 closed: usage error (exit $rc)" [ "$rc" = 16 ]
check "fsck -C 9 with 9 closed: says why" \
	grep -q "file descriptor 9 is not open for writing" "$out"
"$FSCK" -n -C 3 "$img" >"$out" 2>&1 3</dev/null
check "fsck -C 3 with 3 read-only: usage error" [ $? = 16 ]
"$FSCK" -n -C >"$out" 2>&1
check "fsck -C without its argument: usage error" [ $? = 16 ]

# ---- fsck -C 0 on a terminal ----------------------------------------------
poke "$img" $((root + 8)) 7
if has_script; then
	on_tty "'$FSCK' -fy -C 0 '$img'" >"$out" 2>&1
	cr=$(printf '\r')
	# what each line shows in the end: the text after its last CR
	sed "s/$cr\$//; s/.*$cr//" "$out" >"$tmp/screen"
	check "fsck -C 0 on a terminal: a bar reaching 100%" \
		grep -q "$img: |=*| 100.0%" "$out"
	check "fsck -C 0 on a terminal: a problem on a line of its own" \
		grep -q "^$img: inode 1: link count 7, should be 2: fixed\$" \
		"$tmp/screen"
	check "fsck -C 0 on a terminal: the summary on a clean line" \
		grep -q "^$img: 1 inodes used" "$tmp/screen"
	check "fsck -C 0 on a terminal: the bar erased at the end" \
		grep -q "$cr *$cr$img: 1 inodes used" "$out"
	on_tty "'$FSCK' -n '$img'" >"$out" 2>&1
	check "fsck without -C on a terminal: no bar" \
		sh -c "! grep -q '|' '$out'"
else
	echo "# script(1) not found: the bar is not checked"
fi

# ---- through fsck(8) ------------------------------------------------------
# fsck(8) (util-linux 2.38) gives -C only to ext2/3/4 checkers: other
# checkers get it after "--"
if command -v fsck >/dev/null 2>&1; then
	PATH=$sbindir:$PATH fsck -t pmfs2 "$img" -- -n -C3 >"$out" 2>&1 \
		3>"$prog"
	rc=$?
	check "fsck -t pmfs2 IMAGE -- -n -C3: exit 0 ($rc)" [ "$rc" = 0 ]
	check "fsck -t pmfs2 IMAGE -- -n -C3: the lines reach fd 3" \
		lines_ok "$prog" "$img" 1
else
	echo "# fsck(8) not found: not checked through it"
fi

# ---- mkfs -----------------------------------------------------------------
"$MKFS" -f "$img" >"$out" 2>&1
check "mkfs not on a terminal: no phases" sh -c "! grep -q 'Writing' '$out'"
check "mkfs not on a terminal: no carriage returns" \
	sh -c "! grep -q \"\$(printf '\\r')\" '$out'"
if has_script; then
	on_tty "'$MKFS' -f '$img'" >"$out" 2>&1
	check "mkfs on a terminal: the inode table's phase, done" \
		grep -q "Writing the inode table: [0-9]*/[0-9]* MiB.*Writing the inode table: done" "$out"
	check "mkfs on a terminal: writing to the device, done" \
		grep -q "Writing to the device: done" "$out"
	check "mkfs on a terminal: then the summary" grep -q "^  inodes:" "$out"
	on_tty "'$MKFS' -q -f '$img'" >"$out" 2>&1
	check "mkfs -q on a terminal: nothing" [ ! -s "$out" ]
fi
"$FSCK" -n "$img" >"$out" 2>&1
check "the filesystem mkfs made is clean" grep -q "$img: clean" "$out"

echo "1..$n"
[ "$fails" -eq 0 ]
