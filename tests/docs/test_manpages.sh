#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
#
# test_manpages.sh - the installed man pages: every installed program has
# one in section 8 or 1; zusd.conf(5) and pmfs2(5) exist; groff renders each
# with all warnings on (-ww) and prints none; man -l renders each to text
# with a NAME line; every zufs page a SEE ALSO names is installed too.
#
# Environment (make check sets it): MANPAGES (the pages, relative to
# SRCDIR), PROGRAMS (the installed programs), SRCDIR.

set -u
fail=0
bad() { echo "FAIL: $*"; fail=1; }

: "${SRCDIR:?set SRCDIR (make check does)}"
: "${MANPAGES:?set MANPAGES}"
command -v groff >/dev/null 2>&1 || { echo "SKIP: groff is not installed"; exit 77; }
command -v man >/dev/null 2>&1 || { echo "SKIP: man is not installed"; exit 77; }

names=
for p in $MANPAGES; do
	names="$names $(basename "$p")"
done

has() { case " $names " in *" $1 "*) return 0 ;; esac; return 1; }

for prog in ${PROGRAMS:-}; do
	n=$(basename "$prog")
	if has "$n.8" || has "$n.1"; then
		echo "ok: $n has a man page"
	else
		bad "$n is installed without a man page"
	fi
done
for want in zusd.8 zusd.conf.5 pmfs2.5; do
	has "$want" && echo "ok: $want exists" || bad "no $want"
done

for p in $MANPAGES; do
	f=$SRCDIR/$p
	n=$(basename "$p")
	[ -f "$f" ] || { bad "$p: missing"; continue; }
	w=$(LC_ALL=C.UTF-8 groff -t -man -ww -z -Tutf8 "$f" 2>&1)
	[ -z "$w" ] && echo "ok: $n: groff -ww: no warning" ||
		bad "$n: groff -ww: $w"
	w=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$f" 2>&1 >/dev/null)
	[ -z "$w" ] && echo "ok: $n: man --warnings -l: no warning" ||
		bad "$n: man --warnings -l: $w"
	LC_ALL=C.UTF-8 MANWIDTH=80 man -l "$f" 2>/dev/null | grep -q '^NAME' ||
		bad "$n: man -l shows no NAME section"
	# the zufs pages it points to: .BR name (sec)
	for ref in $(sed -n 's/^\.BR \([a-z.0-9]*\) (\([1-8]\)).*/\1.\2/p' "$f"); do
		case $ref in
		zus*|pmfs2*|mkfs.pmfs2*|fsck.pmfs2*|zufsctl*)
			has "$ref" || bad "$n: SEE ALSO $ref is not installed" ;;
		esac
	done
done

[ $fail -eq 0 ] || exit 1
echo "PASS"
