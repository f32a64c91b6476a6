#!/bin/bash
# Guest script: timestamps on pmfs2 follow the VFS rules exactly as ext4's do
# (run by test_zuf_pmfs2.sh).  tests/vm/times-seq.py runs one sequence of
# operations (reads, mmap, writes, chmod, link, rename, xattr, utimensat
# NOW/OMIT, truncates, readdir, create) and prints which of atime, mtime
# and ctime each step moved, for the file and its directory.  On the same
# pmem device, under each of relatime, noatime, strictatime,
# relatime,nodiratime, lazytime and strictatime,lazytime: ext4 -o dax, then
# pmfs2 over zuf; the two tables must be the same.  Then the times pmfs2
# keeps survive umount/mount and a zusd restart to the nanosecond, and
# lazytime keeps times in memory until fsync, sync, umount or the inode's
# next change (a shutdown loses them), across a zusd restart too.  (Over
# FUSE, zusd applies the atime options itself; a read the page cache serves
# never reaches it, so atime stays: see docs/DESIGN-NOTES.md.)
set -euo pipefail
# shellcheck source=tests/vm/guest-lib.sh disable=SC1091
. "${VM_LIB:-$(dirname "$0")/guest-lib.sh}"
# shellcheck source=tests/vm/zuf-lib.sh disable=SC1091
. "$VM_SRCDIR/tests/vm/zuf-lib.sh"

mnt=/mnt/times
seq=$VM_SRCDIR/tests/vm/times-seq.py
: > "$VM_RESULTS/summary.txt"
trap 'zuf_cleanup "$mnt"' EXIT

# same_table NAME A B: the two tables are equal (else the diff, in the log)
same_table() {
	if diff -u "$2" "$3" > "$VM_RESULTS/$1.diff"; then
		return 0
	fi
	sed 's/^/[vm] /' "$VM_RESULTS/$1.diff" >&2
	return 1
}

vm_log "timestamps, ext4 -o dax vs pmfs2 over zuf: kernel $(uname -r)"
pmem=$(vm_pmem_setup namespace0.0) || vm_die "no pmem"
vm_check "insmod zuf.ko" zuf_load timeout=30 restart_timeout=15
vm_check "zusd --transport=zuf starts" zusd_start
mkdir -p "$mnt"

for opts in relatime noatime strictatime relatime,nodiratime lazytime strictatime,lazytime; do
	mkfs.ext4 -q -F -b 4096 "$pmem" >/dev/null 2>&1
	vm_check "ext4 -o dax,$opts" mount -t ext4 -o "dax,$opts" "$pmem" "$mnt"
	python3 "$seq" "$mnt" > "$VM_RESULTS/ext4-$opts.txt"
	umount "$mnt"
	"$MKFS_PMFS2" -f -q "$pmem"
	vm_check "pmfs2 -o $opts" mount -t pmfs2 -o "$opts" "$pmem" "$mnt"
	python3 "$seq" "$mnt" > "$VM_RESULTS/pmfs2-$opts.txt"
	vm_check "$opts: pmfs2 over zuf moves the times ext4 moves ($(wc -l < "$VM_RESULTS/ext4-$opts.txt") steps)" \
		same_table "$opts" "$VM_RESULTS/ext4-$opts.txt" "$VM_RESULTS/pmfs2-$opts.txt"
	if [ "$opts" = relatime ]; then
		python3 "$seq" --save "$mnt" "$VM_RESULTS/times.txt"
		umount "$mnt"
		mount -t pmfs2 "$pmem" "$mnt"
		vm_check "times survive umount/mount (ns)" python3 "$seq" --check "$mnt" "$VM_RESULTS/times.txt"
		zusd_stop TERM
		vm_check "zusd restarts" zusd_start
		vm_check "times survive a zusd restart (ns)" python3 "$seq" --check "$mnt" "$VM_RESULTS/times.txt"
	fi
	umount "$mnt"
done
# the sequence itself must tell the options apart, or the checks prove nothing
vm_check "the tables of relatime, noatime, strictatime differ (on ext4)" sh -c "
	! cmp -s '$VM_RESULTS/ext4-relatime.txt' '$VM_RESULTS/ext4-noatime.txt' &&
	! cmp -s '$VM_RESULTS/ext4-relatime.txt' '$VM_RESULTS/ext4-strictatime.txt' &&
	! cmp -s '$VM_RESULTS/ext4-relatime.txt' '$VM_RESULTS/ext4-relatime,nodiratime.txt'"

# ---- lazytime: times kept in memory until a reason to write the inode ------
# (ext4's rules: fsync, sync, umount, the inode's next change; lost to a
# crash or a shutdown that flushes nothing)
atime() { stat -c %x "$1"; }
lazy_mount() { mount -t pmfs2 -o strictatime,lazytime "$pmem" "$mnt"; }
"$MKFS_PMFS2" -f -q "$pmem"
vm_check "pmfs2 -o strictatime,lazytime" lazy_mount
vm_check "lazytime is in the mount options" sh -c "grep ' $mnt ' /proc/mounts | grep -q lazytime"
for f in fsynced kept synced umounted restarted chmodded; do
	echo "$f" > "$mnt/$f"
done
umount "$mnt"
lazy_mount
declare -A before after
for f in fsynced kept synced umounted restarted chmodded; do
	before[$f]=$(atime "$mnt/$f")
done
sleep 0.05
for f in fsynced kept synced umounted restarted chmodded; do
	cat "$mnt/$f" > /dev/null
	after[$f]=$(atime "$mnt/$f")
done
vm_check "lazytime: stat shows the new atime at once (server's older one not taken)" \
	test "${after[kept]}" != "${before[kept]}"
vm_check "lazytime: fsync writes the times" python3 -c "
import os; fd = os.open('$mnt/fsynced', os.O_RDONLY); os.fsync(fd)"
vm_check "lazytime: a chmod takes the kept times along" chmod 600 "$mnt/chmodded"
vm_check "lazytime: shutdown (NOLOGFLUSH) of a lazy mount" xfs_io -x -c shutdown "$mnt"
umount "$mnt"
lazy_mount
vm_check "lazytime: a time kept in memory is lost to the shutdown (it was lazy)" \
	test "$(atime "$mnt/kept")" = "${before[kept]}"
vm_check "lazytime: the fsynced atime survived the shutdown" \
	test "$(atime "$mnt/fsynced")" = "${after[fsynced]}"
vm_check "lazytime: the chmodded file's atime survived the shutdown" \
	test "$(atime "$mnt/chmodded")" = "${after[chmodded]}"
for f in synced umounted restarted; do
	before[$f]=$(atime "$mnt/$f")
done
sleep 0.05
for f in synced umounted restarted; do
	cat "$mnt/$f" > /dev/null
	after[$f]=$(atime "$mnt/$f")
done
zusd_stop TERM
vm_check "lazytime: zusd restarts with times kept in the kernel" zusd_start
vm_check "lazytime: sync" sync
vm_check "lazytime: shutdown after sync" xfs_io -x -c shutdown "$mnt"
umount "$mnt"
lazy_mount
vm_check "lazytime: sync wrote the atime (kept across a zusd restart)" sh -c "
	test '$(atime "$mnt/synced")' = '${after[synced]}' &&
	test '$(atime "$mnt/restarted")' = '${after[restarted]}'"
before[umounted]=$(atime "$mnt/umounted")
sleep 0.05
cat "$mnt/umounted" > /dev/null
after[umounted]=$(atime "$mnt/umounted")
umount "$mnt"
lazy_mount
vm_check "lazytime: umount wrote the atime" test "$(atime "$mnt/umounted")" = "${after[umounted]}"
vm_check "lazytime: each read moved atime (strictatime)" \
	test "${after[umounted]}" != "${before[umounted]}"
umount "$mnt"

zusd_stop TERM
vm_check "fsck.pmfs2 -n $pmem: clean" "$FSCK_PMFS2" -n "$pmem"
vm_check "umount zuf-root" umount /sys/fs/zuf
vm_check "rmmod zuf (nothing leaked)" rmmod zuf
vm_summary
