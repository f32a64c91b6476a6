#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# test_mkfs_fsck.sh - mkfs.pmfs2 and fsck.pmfs2 from the command line:
# refusing foreign data without -f, clean errors on bad targets, fsck exit
# codes, -n never writing, repair then clean, timestamps against the clock,
# tier headers.
#
# Run by `make check` from the top build directory; PMFS2_SBINDIR may point
# elsewhere.
set -u

sbindir=${PMFS2_SBINDIR:-$PWD/mkfs}
MKFS=$sbindir/mkfs.pmfs2
FSCK=$sbindir/fsck.pmfs2
if [ ! -x "$MKFS" ] || [ ! -x "$FSCK" ]; then
	echo "mkfs.pmfs2/fsck.pmfs2 not built in $sbindir" >&2
	exit 99
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/pmfs2-mkfs.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT
img=$tmp/pm.img
out=$tmp/out
fails=0
n=0

ok() { n=$((n + 1)); echo "ok $n - $*"; }
fail() { n=$((n + 1)); echo "not ok $n - $*"; fails=$((fails + 1)); }

# expect RC PATTERN DESCRIPTION -- CMD...: run CMD, want exit RC and (if
# PATTERN is not empty) PATTERN in its output
expect() {
	want=$1 pat=$2 desc=$3
	shift 4
	"$@" >"$out" 2>&1
	rc=$?
	if [ "$rc" -ne "$want" ]; then
		fail "$desc: exit $rc, expected $want"
		sed 's/^/#   /' "$out"
	elif [ -n "$pat" ] && ! grep -q -- "$pat" "$out"; then
		fail "$desc: output lacks \"$pat\""
		sed 's/^/#   /' "$out"
	else
		ok "$desc"
	fi
}

# check DESCRIPTION CMD...: one test that passes when CMD succeeds
check() {
	desc=$1
	shift
	if "$@"; then ok "$desc"; else fail "$desc"; fi
}

is_empty() { [ ! -s "$1" ]; }
same_sum() { [ "$(md5sum <"$1")" = "$2" ]; }

poke() {	# poke FILE OFFSET OCTAL-BYTE
	printf '%b' "\\$3" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

poke64() {	# poke64 FILE OFFSET VALUE: a little-endian 64-bit word
	_v=$3 _i=0 _b=
	while [ $_i -lt 8 ]; do
		_b="$_b\\$(printf %o $(((_v >> (8 * _i)) & 255)))"
		_i=$((_i + 1))
	done
	printf '%b' "$_b" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

# ---- mkfs -------------------------------------------------------------
truncate -s 64M "$img"
expect 0 "UUID" "mkfs on an empty file" -- "$MKFS" -L test "$img"
expect 0 "clean" "fsck -n of a fresh filesystem" -- "$FSCK" -n "$img"
expect 0 "clean" "fsck -fy of a fresh filesystem" -- "$FSCK" -fy "$img"
expect 1 "use -f to overwrite" "mkfs refuses an existing pmfs2" -- "$MKFS" "$img"
expect 0 "" "mkfs -f over pmfs2" -- "$MKFS" -q -f "$img"
check "mkfs -q prints nothing" is_empty "$out"

expect 0 "01234567-89ab-cdef-0123-456789abcdef" "mkfs -U" -- \
	"$MKFS" -f -U 01234567-89ab-cdef-0123-456789abcdef -N 1000 -J 100 "$img"
check "-N 1000 rounds up to whole inode blocks (1007)" grep -q "inodes: *1007" "$out"
expect 1 "invalid UUID" "mkfs rejects a bad UUID" -- "$MKFS" -f -U nope "$img"
expect 1 "invalid journal size" "mkfs rejects -J 10" -- "$MKFS" -f -J 10 "$img"
expect 1 "invalid inode count" "mkfs rejects -N x" -- "$MKFS" -f -N x "$img"
expect 1 "too long" "mkfs rejects a long label" -- "$MKFS" -f \
	-L 0123456789012345678901234567890123456789012345678901234567890123456789 "$img"
expect 1 "do not fit" "mkfs rejects too many inodes" -- "$MKFS" -f -N 100000000 "$img"
expect 1 "No such file" "mkfs on a missing file" -- "$MKFS" "$tmp/missing"
expect 1 "not a block device or a regular file" "mkfs on a directory" -- "$MKFS" "$tmp"
: >"$tmp/empty"
expect 1 "too small" "mkfs on an empty file" -- "$MKFS" "$tmp/empty"
truncate -s 300K "$tmp/small"
expect 1 "too small" "mkfs on a too-small file" -- "$MKFS" "$tmp/small"
expect 1 "no device" "mkfs without a device" -- "$MKFS"
if [ "$(id -u)" -ne 0 ]; then
	chmod 0444 "$tmp/small"
	expect 1 "cannot open" "mkfs on a read-only file" -- "$MKFS" "$tmp/small"
fi

# ---- foreign filesystems ------------------------------------------------
if command -v mkfs.ext4 >/dev/null 2>&1 || [ -x /sbin/mkfs.ext4 ]; then
	ext4=$(command -v mkfs.ext4 || echo /sbin/mkfs.ext4)
	truncate -s 64M "$tmp/ext4.img"
	"$ext4" -q -F "$tmp/ext4.img" >/dev/null 2>&1
	sum=$(md5sum <"$tmp/ext4.img")
	expect 1 "contains a filesystem (ext4)" "mkfs refuses ext4 without -f" -- \
		"$MKFS" "$tmp/ext4.img"
	check "message says use -f" grep -q "use -f to overwrite" "$out"
	check "refused ext4 image is untouched" same_sum "$tmp/ext4.img" "$sum"
	expect 8 "not a pmfs2" "fsck -n refuses ext4 with exit 8" -- "$FSCK" -n "$tmp/ext4.img"
	expect 8 "not a pmfs2" "fsck -y refuses ext4 with exit 8" -- "$FSCK" -y "$tmp/ext4.img"
	check "fsck -y left the ext4 image untouched" same_sum "$tmp/ext4.img" "$sum"
	expect 0 "overwriting a filesystem (ext4)" "mkfs -f over ext4" -- "$MKFS" -f "$tmp/ext4.img"
	if command -v blkid >/dev/null 2>&1; then
		blkid -p "$tmp/ext4.img" >/dev/null 2>&1
		check "ext4 signatures wiped (blkid finds nothing)" [ $? -eq 2 ]
	fi
	expect 0 "clean" "fsck of pmfs2 made over ext4" -- "$FSCK" -n "$tmp/ext4.img"
else
	echo "# mkfs.ext4 not found: ext4 cases skipped (apt-get install e2fsprogs)"
fi

# ---- fsck exit codes ----------------------------------------------------
"$MKFS" -q -f "$img" || fail "mkfs for fsck tests"
expect 16 "" "fsck -n -y is a usage error" -- "$FSCK" -n -y "$img"
expect 16 "" "fsck without a device" -- "$FSCK"
expect 16 "" "fsck with an unknown option" -- "$FSCK" -Q "$img"
expect 8 "No such file" "fsck on a missing file" -- "$FSCK" -n "$tmp/missing"

# the label in the primary superblock: checksum no longer matches
poke "$img" 160 130
sum=$(md5sum <"$img")
expect 4 "primary superblock damaged" "fsck -n finds a bad primary superblock" -- "$FSCK" -n "$img"
check "fsck -n did not write" same_sum "$img" "$sum"
expect 1 "fixed" "fsck -y repairs it (exit 1)" -- "$FSCK" -y "$img"
expect 0 "clean" "clean after repair" -- "$FSCK" -n "$img"

# root's link count (inode 1 at itable_start 2 + 256 journal blocks)
poke "$img" $(((2 + 256) * 4096 + 256 + 8)) 7
expect 4 "link count 7, should be 2" "fsck -n finds a wrong link count" -- "$FSCK" -n "$img"
expect 0 "" "fsck -p skips a cleanly unmounted filesystem" -- "$FSCK" -p "$img"
expect 1 "" "fsck -pf repairs it" -- "$FSCK" -pf "$img"
expect 0 "" "fsck -p skips a clean filesystem" -- "$FSCK" -p "$img"
check "fsck -p is quiet when clean" is_empty "$out"
expect 0 "clean" "clean after preen" -- "$FSCK" -fn "$img"

# ---- timestamps -----------------------------------------------------------
# root inode (inode 1 at itable_start 2 + 256 journal blocks): atime +40,
# mtime +48, ctime +56, btime +64, signed ns since the epoch
root=$(((2 + 256) * 4096 + 256))
now=$(date +%s)
ns=1000000000
"$MKFS" -q -f "$img" || fail "mkfs for the time tests"
poke64 "$img" $((root + 56)) $(((now + 3 * 86400) * ns))
sum=$(md5sum <"$img")
expect 4 "inode 1: ctime .* is in the future (now .*, more than 24 hours ahead): set to now" \
	"fsck -n finds a ctime 3 days ahead" -- "$FSCK" -n "$img"
check "fsck -n did not write" same_sum "$img" "$sum"
expect 0 "clean" "--broken-clock skips the time checks" -- "$FSCK" -n --broken-clock "$img"
expect 0 "clean" "PMFS2_FSCK_BROKEN_CLOCK=1 skips them too" -- \
	env PMFS2_FSCK_BROKEN_CLOCK=1 "$FSCK" -n "$img"
expect 0 "clean" "with PMFS2_FSCK_TIME 3 days on, the ctime is not in the future" -- \
	env PMFS2_FSCK_TIME=$((now + 3 * 86400)) "$FSCK" -n "$img"
expect 1 "ctime .*: set to now: fixed" "fsck -y sets it to now (exit 1)" -- "$FSCK" -y "$img"
expect 0 "clean" "clean after the time repair" -- "$FSCK" -n "$img"

poke64 "$img" $((root + 56)) $(((now + 12 * 3600) * ns))
expect 0 "clean" "a ctime 12 hours ahead is within the fudge" -- "$FSCK" -n "$img"

poke64 "$img" $((root + 64)) $(((now - 86400) * ns))
poke64 "$img" $((root + 56)) $(((now - 3 * 86400) * ns))
expect 0 "inode 1: ctime .* is before its creation time (btime .*): left alone" \
	"a ctime before btime is shown with -v, not a problem (a host may set it)" -- \
	"$FSCK" -n -v "$img"

poke64 "$img" $((root + 64)) $(((now + 10 * 86400) * ns))
expect 4 "inode 1: creation time (btime) .* is in the future" \
	"fsck -n finds a btime 10 days ahead" -- "$FSCK" -n "$img"
expect 1 "fixed" "fsck -p repairs it" -- "$FSCK" -pf "$img"
expect 0 "clean" "clean after preen" -- "$FSCK" -n "$img"

# atime and mtime are the user's (utimensat): never a problem
poke64 "$img" $((root + 48)) 4102444800000000000	# 2100-01-01
poke64 "$img" $((root + 40)) 9223372036854775807
expect 0 "clean" "a future mtime and atime are not problems" -- "$FSCK" -n "$img"
expect 0 "mtime 2100-01-01 00:00:00.000000000 UTC is in the future: left alone" \
	"fsck -v shows the future mtime" -- "$FSCK" -n -v "$img"

# the clock behind the filesystem: the superblock times are repaired, the
# inodes are left alone
expect 4 "superblock: creation time .* is in the future" \
	"PMFS2_FSCK_TIME a day before mkfs: the superblock is from the future" -- \
	env PMFS2_FSCK_TIME=$((now - 2 * 86400)) "$FSCK" -n "$img"
check "and the inode times are not checked" grep -q "inode times are not checked" "$out"
expect 16 "invalid PMFS2_FSCK_TIME" "PMFS2_FSCK_TIME=soon is a usage error" -- \
	env PMFS2_FSCK_TIME=soon "$FSCK" -n "$img"

# an interrupted transaction: fsck -n rolls it back in a private copy only
jhead=$((2 * 4096))
"$MKFS" -q -f "$img" || fail "mkfs for the journal test"
poke64 "$img" $((jhead + 8)) 77		# active_tid, no records for it
sum=$(md5sum <"$img")
expect 4 "uncommitted transaction 77" "fsck -n sees an uncommitted transaction" -- \
	"$FSCK" -n -v "$img"
check "and rolls it back in memory only" grep -q "rolled back in memory only" "$out"
check "fsck -n did not write" same_sum "$img" "$sum"
expect 1 "fixed" "fsck -y rolls it back" -- "$FSCK" -y "$img"
expect 0 "clean" "clean after the roll back" -- "$FSCK" -n "$img"

# the first 64 KiB overwritten (a partition table, a boot loader, a stray
# dd): the backup, in the last block, is far enough to survive it
cp "$img" "$tmp/head.img"
dd if=/dev/zero of="$tmp/head.img" bs=64K count=1 conv=notrunc status=none
expect 4 "the backup is good" "fsck -n: the first 64 KiB gone, the backup is good" -- \
	"$FSCK" -n "$tmp/head.img"
expect 1 "fixed" "fsck -y restores the primary (exit 1)" -- "$FSCK" -y "$tmp/head.img"
expect 0 "clean" "clean after the restore" -- "$FSCK" -n "$tmp/head.img"

# both superblocks gone: not pmfs2 any more
cp "$img" "$tmp/nosb.img"
dd if=/dev/zero of="$tmp/nosb.img" bs=4096 count=2 conv=notrunc status=none
dd if=/dev/zero of="$tmp/nosb.img" bs=4096 seek=$((64 * 256 - 1)) count=1 \
	conv=notrunc status=none
expect 8 "not a pmfs2" "fsck refuses an image without superblocks" -- "$FSCK" -y "$tmp/nosb.img"
expect 16 "invalid backup superblock" "fsck -b x is a usage error" -- "$FSCK" -n -b x "$img"

# ---- mkfs SIZE: a filesystem smaller than its device ----------------------
expect 0 "8192 blocks" "mkfs DEVICE 32M" -- "$MKFS" -f "$img" 32M
check "its backup is its last block (8191)" grep -q "backup superblock: block 8191" "$out"
expect 0 "clean" "fsck of the 32 MiB filesystem" -- "$FSCK" -n "$img"
expect 0 "8192 blocks" "mkfs DEVICE 32768 (KiB, as mkfs.ext4)" -- "$MKFS" -f "$img" 32768
expect 1 "larger than the device" "mkfs refuses a size over the device's" -- "$MKFS" -f "$img" 1G
expect 1 "too small" "mkfs refuses a tiny size" -- "$MKFS" -f "$img" 100K
expect 1 "invalid size" "mkfs refuses size 12Q" -- "$MKFS" -f "$img" 12Q
expect 1 "invalid size" "mkfs refuses size -5M" -- "$MKFS" -f "$img" -- -5M
dd if=/dev/zero of="$img" bs=4096 count=1 conv=notrunc status=none
expect 8 "give it with -b" "primary gone, backup not at the device's end: fsck says -b" -- \
	"$FSCK" -n "$img"
expect 1 "fixed" "fsck -y -b 8191 restores the primary" -- "$FSCK" -y -b 8191 "$img"
expect 0 "clean" "clean after the restore from -b" -- "$FSCK" -n "$img"
dd if=/dev/zero of="$img" bs=4096 count=1 conv=notrunc status=none
expect 8 "at the block given" "fsck -b at a block that holds no backup" -- \
	"$FSCK" -n -b 8000 "$img"
expect 0 "" "mkfs over the whole device again" -- "$MKFS" -q -f "$img"

# truncated image
cp "$img" "$tmp/trunc.img"
truncate -s 16M "$tmp/trunc.img"
expect 8 "truncated" "fsck refuses a truncated image" -- "$FSCK" -y "$tmp/trunc.img"
truncate -s 5000 "$tmp/trunc.img"
expect 8 "too small" "fsck refuses a tiny image" -- "$FSCK" -n "$tmp/trunc.img"

# ---- tiers -------------------------------------------------------------
truncate -s 256M "$tmp/tier.img"
expect 0 "tier 1:" "mkfs with --tier" -- "$MKFS" -f --tier "$tmp/tier.img" "$img"
check "tier header written" [ "$(head -c 8 "$tmp/tier.img")" = "PMS2TIER" ]
expect 0 "clean" "fsck of a tiered filesystem" -- "$FSCK" -n "$img"
truncate -s 64M "$tmp/pm2.img"
expect 1 "tier device header" "mkfs refuses a used tier without -f" -- \
	"$MKFS" --tier "$tmp/tier.img" "$tmp/pm2.img"
expect 1 "both as the pmem device and as a tier" "mkfs refuses the same file twice" -- \
	"$MKFS" -f --tier "$img" "$img"
expect 1 "No such file" "mkfs with a missing tier" -- \
	"$MKFS" -f --tier "$tmp/missing" "$img"

# ---- a real block device (loop), when we may make one --------------------
if [ "$(id -u)" -eq 0 ] && command -v losetup >/dev/null 2>&1 &&
   loop=$(losetup -f --show "$tmp/pm2.img" 2>/dev/null); then
	trap 'losetup -d "$loop"; rm -rf "$tmp"' EXIT
	expect 0 "UUID" "mkfs on a block device ($loop)" -- "$MKFS" -f "$loop"
	expect 0 "clean" "fsck -fy on a block device" -- "$FSCK" -fy "$loop"
	expect 0 "clean" "fsck -n on a block device" -- "$FSCK" -n "$loop"
else
	echo "# no loop device (not root or no losetup): block device cases skipped"
fi

echo "1..$n"
[ "$fails" -eq 0 ]
