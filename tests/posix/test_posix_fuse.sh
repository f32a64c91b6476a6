#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
#
# test_posix_fuse.sh - pmfs2 served by zusd over FUSE:
#   mkfs a 256 MiB image, mount it with zusd --transport=fuse, run posix-test,
#   write a checksummed dataset, unmount, remount, verify the dataset, unmount
#   and fsck -n the image.
#
# Runs from the top build directory (as `make check` does) or with
# ZUFS_BUILDDIR set; POSIX_TEST_ARGS adds posix-test options.  Exit 77 (skip) when FUSE cannot be used here.
# A trap always unmounts and stops zusd, whatever failed.

set -u

# shellcheck source=tests/lib/fuse-test.sh
. "$(dirname "$0")/../lib/fuse-test.sh"
POSIX_TEST=$B/tests/posix/posix-test

fuse_need_built "$POSIX_TEST"

# FUSE must be usable: the device, and a way to unmount.
fuse_require

fuse_workdir posix-fuse

mount_fs() {
	: >"$LOG"
	"$ZUSD" --transport=fuse --plugin "$PLUGIN" "$IMG" "$MNT" >>"$LOG" 2>&1 &
	ZPID=$!
	wait_mounted 20
}

truncate -s 256M "$IMG" || hard "truncate failed"
"$MKFS" "$IMG" >"$T/mkfs.log" 2>&1 || { cat "$T/mkfs.log"; die "mkfs.pmfs2 failed"; }

echo "== posix-test on pmfs2 over FUSE"
mount_fs
# POSIX_TEST_ARGS: e.g. "-x acl" to step around a known failure
# shellcheck disable=SC2086
"$POSIX_TEST" ${POSIX_TEST_ARGS:-} "$MNT"
PT=$?
kill -0 "$ZPID" 2>/dev/null || die "zusd died during posix-test"

echo "== dataset"
D=$MNT/dataset
mkdir -p "$D/a/b/c" "$D/empty" "$D/x" || die "mkdir dataset"
n=0
for size in 0 1 511 4096 4097 65537 131072 1000000 3145728 5242880; do
	n=$((n + 1))
	head -c "$size" /dev/urandom >"$D/f$n" || die "write f$n"
	head -c $((size / 3 + 7)) /dev/urandom >"$D/a/b/c/g$n" || die "write g$n"
done
# a sparse file, a hard link, a symlink, odd modes and xattrs-free metadata
dd if=/dev/urandom of="$D/x/sparse" bs=4096 count=3 seek=1000 2>/dev/null || die "sparse"
ln "$D/f5" "$D/x/f5-link" || die "link"
ln -s ../a/b/c/g3 "$D/x/sym" || die "symlink"
chmod 0640 "$D/f3"
chmod 01777 "$D/empty"
touch -d '2001-02-03 04:05:06.123456789' "$D/f2"
(cd "$D" && find . -type f | LC_ALL=C sort | xargs sha256sum) >"$T/sums" || die "checksums"
(cd "$D" && find . -printf '%p %y %s %m %n %l %T@\n' | LC_ALL=C sort) >"$T/meta" || die "listing"
unmount_fs

echo "== remount and verify"
mount_fs
(cd "$D" && sha256sum --quiet -c "$T/sums") || die "dataset checksums differ after remount"
(cd "$D" && find . -printf '%p %y %s %m %n %l %T@\n' | LC_ALL=C sort) >"$T/meta2"
diff -u "$T/meta" "$T/meta2" || die "dataset metadata differs after remount"
echo "dataset verified: $(wc -l <"$T/sums") files"
unmount_fs

echo "== fsck.pmfs2 -n"
"$FSCK" -n "$IMG" || die "fsck.pmfs2 -n found problems"

[ $PT -eq 0 ] || die "posix-test failed"
echo "PASS"
exit 0
