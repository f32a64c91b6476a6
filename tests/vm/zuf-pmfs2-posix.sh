#!/bin/bash
# Guest script: pmfs2 over zuf.ko end to end (run by test_zuf_pmfs2.sh).
#   insmod zuf.ko, zusd --transport=zuf, mkfs.pmfs2 /dev/pmem0,
#   mount -t pmfs2; DAX; posix-test (every group, exact errnos); fio 4k
#   randwrite+verify O_DIRECT and buffered (2 jobs); mmap coherence; data
#   that survives umount/mount and a zusd restart; remount ro/rw; statfs;
#   umount; fsck.pmfs2 -n; rmmod.  One PASS/FAIL line per check in
#   $VM_RESULTS/summary.txt.
set -euo pipefail
# shellcheck source=tests/vm/guest-lib.sh disable=SC1091
. "${VM_LIB:-$(dirname "$0")/guest-lib.sh}"
# shellcheck source=tests/vm/zuf-lib.sh disable=SC1091
. "$VM_SRCDIR/tests/vm/zuf-lib.sh"

mnt=/mnt/pmfs2
fio_size=${ZUF_FIO_SIZE:-16M}
: > "$VM_RESULTS/summary.txt"
trap 'zuf_cleanup "$mnt"' EXIT

vm_log "pmfs2 over zuf: kernel $(uname -r), $(nproc) CPUs"
pmem=$(vm_pmem_setup namespace0.0) || vm_die "no pmem"
vm_check "insmod zuf.ko" zuf_load timeout=30 restart_timeout=15
vm_check "mkfs.pmfs2 $pmem" "$MKFS_PMFS2" -f -q "$pmem"
vm_check "zusd --transport=zuf starts" zusd_start
vm_check "pmfs2 registered" grep -qw pmfs2 /proc/filesystems
mkdir -p "$mnt"
vm_check "mount -t pmfs2 $pmem $mnt" mount -t pmfs2 "$pmem" "$mnt"
mountpoint -q "$mnt" || vm_die "pmfs2 is not mounted"
vm_check "mountinfo: pmfs2 on $pmem" \
	test "$(findmnt -n -o FSTYPE,SOURCE "$mnt" | tr -s ' ')" = "pmfs2 $pmem"

# ---- zuf-root: root-only state and registered types ---------------------------
vm_check "zuf-root state is root-only (0400)" test "$(stat -c %a /sys/fs/zuf/state)" = 400
vm_check "zuf-root state refuses a non-root reader" \
	fails_with "Permission denied" setpriv --reuid=65534 --regid=65534 --clear-groups cat /sys/fs/zuf/state
vm_check "zuf-root state: server attached" grep -qx "server attached" /sys/fs/zuf/state
vm_check "zuf-root state: the mount is served" \
	grep -qE "^mount [0-9]+ pmfs2 $pmem served$" /sys/fs/zuf/state
vm_check "zuf-root filesystems lists pmfs2" grep -qE "^pmfs2 features=" /sys/fs/zuf/filesystems
cp /sys/fs/zuf/state "$VM_RESULTS/zuf-state.txt"

# ---- direct mode: files are DAX ----------------------------------------------
vm_check "write a small file" sh -c "echo probe > '$mnt/probe'"
vm_check "read it back" test "$(cat "$mnt/probe" 2>&1)" = probe
vm_check "statx STATX_ATTR_DAX (direct mode)" vm_statx_dax "$mnt/probe"
rm -f "$mnt/probe"

# ---- posix-test: every group -------------------------------------------------
set +e
"$POSIX_TEST" "$mnt" > "$VM_RESULTS/posix-test.txt" 2>&1
prc=$?
set -e
tail -1 "$VM_RESULTS/posix-test.txt" | sed 's/^/[vm] posix-test: /'
grep '^not ok' "$VM_RESULTS/posix-test.txt" | head -40 || :
vm_check "posix-test (all groups): exit 0" test "$prc" = 0
vm_check "posix-test: 0 failed, mmap group ran" sh -c "
	tail -1 '$VM_RESULTS/posix-test.txt' | grep -q ' 0 failed' &&
	grep -q '^ok .* - mmap MAP_SHARED' '$VM_RESULTS/posix-test.txt'"

vm_check "posix-test: the fiemap group ran (FIEMAP, not skipped)" \
	grep -q '^ok .* - extents cover every block SEEK_DATA finds$' "$VM_RESULTS/posix-test.txt"
vm_check "posix-test: the collapse group ran (COLLAPSE/INSERT_RANGE, mapped too)" \
	grep -q '^ok .* - the mapping shows the inserted hole as zeros$' "$VM_RESULTS/posix-test.txt"

# ---- fsx and the namespace storm (2 minutes each) -------------------------------
fsx_seed=${FSX_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
vm_check "fsx over zuf, ${FSX_SECONDS:-120} s, seed $fsx_seed (FSX_SEED=$fsx_seed replays)" sh -c "
	'$VM_BUILDDIR/tests/stress/fsx' -q -S '$fsx_seed' -N 0 -t '${FSX_SECONDS:-120}' '$mnt/fsx.file' \
		> '$VM_RESULTS/fsx.txt' 2>&1"
sed 's/^/[vm] /' "$VM_RESULTS/fsx.txt" | tail -40
rm -f "$mnt/fsx.file"
ns_seed=${NSSTORM_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
mkdir "$mnt/storm"
vm_check "namespace storm over zuf, 4 processes, ${NSSTORM_SECONDS:-120} s, seed $ns_seed: consistent" sh -c "
	'$VM_BUILDDIR/tests/stress/nsstorm' -q -S '$ns_seed' -P 4 -t '${NSSTORM_SECONDS:-120}' '$mnt/storm' \
		> '$VM_RESULTS/nsstorm.txt' 2>&1"
sed 's/^/[vm] /' "$VM_RESULTS/nsstorm.txt" | tail -40
rm -rf "$mnt/storm"

# ---- filefrag: FIEMAP as admins see it ---------------------------------------
dd if=/dev/urandom of="$mnt/frag" bs=64k count=1 status=none
dd if=/dev/urandom of="$mnt/frag" bs=4k seek=256 count=3 conv=notrunc status=none
filefrag -s -v -b4096 "$mnt/frag" > "$VM_RESULTS/filefrag.txt" 2>&1 || :
sed 's/^/[vm] filefrag: /' "$VM_RESULTS/filefrag.txt"
# shellcheck disable=SC2016 # an awk program
vm_check "filefrag -v: data at blocks 0 and 256, on the device, the last flagged" \
	awk -v dev="$(($(blockdev --getsize64 "$pmem") / 4096))" '
		/^ *[0-9]+:/ { n++; split($2, l, "."); split($4, p, ".")
			if (p[1] + 0 >= dev || $0 ~ /unknown_loc/) bad = 1
			if (l[1] + 0 == 0) a = 1; if (l[1] + 0 == 256) b = 1
			last = ($0 ~ /last/) }
		END { exit !(n >= 2 && a && b && last && !bad) }' "$VM_RESULTS/filefrag.txt"
rm -f "$mnt/frag"

# ---- fio: 4k random writes + verify, O_DIRECT and buffered, 2 jobs -----------
run_fio() { # NAME fio-args...
	local name=$1 out=$VM_RESULTS/fio-$1.json
	shift
	fio --name="$name" --directory="$mnt" --rw=randwrite --bs=4k \
		--size="$fio_size" --numjobs=2 --ioengine=psync --randrepeat=0 \
		--verify=crc32c --do_verify=1 --verify_fatal=1 --verify_backlog=0 \
		--verify_state_save=0 --output-format=json --output="$out" "$@" || return 1
	perl -MJSON::PP -e '
		local $/; my $j = decode_json(<STDIN>);
		for my $b (@{$j->{jobs}}) {
			my ($w, $r) = ($b->{write}{io_bytes}, $b->{read}{io_bytes});
			printf "[vm] fio %s: %d KiB written, %d KiB verified, %.0f write IOPS\n",
				$b->{jobname}, $w >> 10, $r >> 10, $b->{write}{iops};
			exit 1 if $b->{error} || !$w || $r < $w;
		}' < "$out"
}
vm_check "fio 4k randwrite+verify O_DIRECT, 2 jobs" run_fio direct --direct=1
vm_check "fio 4k randwrite+verify buffered, 2 jobs" run_fio buffered --direct=0
vm_check "fio 4k randwrite+verify mmap (DAX faults), 2 jobs" run_fio mmap --ioengine=mmap
rm -f "$mnt"/direct.* "$mnt"/buffered.* "$mnt"/mmap.*

# ---- mmap coherence (both ways), MAP_SYNC ------------------------------------
vm_check "mmap store visible to read(), write() visible to mapping" python3 -c "
import mmap, os
fd = os.open('$mnt/m', os.O_RDWR | os.O_CREAT, 0o644); os.ftruncate(fd, 1 << 21)
m = mmap.mmap(fd, 1 << 21)
m[4096:4096 + 11] = b'dax-mmapped'; m[(1 << 21) - 3:] = b'end'
assert os.pread(fd, 11, 4096) == b'dax-mmapped'
assert os.pread(fd, 3, (1 << 21) - 3) == b'end'
os.pwrite(fd, b'via-write', 8192)
assert m[8192:8192 + 9] == b'via-write'
m.close(); os.close(fd)"
vm_check "MAP_SYNC mapping" python3 -c "
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True); libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
fd = os.open('$mnt/m', os.O_RDWR)
p = libc.mmap(None, 4096, 3, 0x03 | 0x80000, fd, 0)
assert p not in (None, ctypes.c_void_p(-1).value), os.strerror(ctypes.get_errno())"

# ---- statfs follows allocation ---------------------------------------------
free0=$(stat -f -c %f "$mnt")
head -c 8M /dev/urandom > "$VM_RESULTS/.data"
cp "$VM_RESULTS/.data" "$mnt/data"
free1=$(stat -f -c %f "$mnt")
vm_check "statfs: bsize 4096, 8 MiB file uses >= 2048 blocks ($free0 -> $free1)" \
	test "$(stat -f -c %S "$mnt")" = 4096 -a $((free0 - free1)) -ge 2048
vm_check "statfs: type magic 'ZU..'" sh -c "stat -f -c %t '$mnt' | grep -q '^5a55'"

# ---- remount -------------------------------------------------------------------
vm_check "remount ro" mount -o remount,ro "$mnt"
vm_check "ro: write fails with EROFS" fails_with "Read-only file system" touch "$mnt/rofile"
vm_check "ro: reads still work" cmp "$VM_RESULTS/.data" "$mnt/data"
vm_check "remount rw" mount -o remount,rw "$mnt"
vm_check "rw again: write works" touch "$mnt/rwfile"

# ---- zusd restart keeps the mount and its data --------------------------------
sum=$(sha256sum < "$VM_RESULTS/.data")
zusd_stop TERM
# (findmnt reads mountinfo: no call into the filesystem, which would wait)
vm_check "zusd stopped: still mounted" test "$(findmnt -n -o FSTYPE "$mnt")" = pmfs2
vm_check "zuf-root state: no server, the mount waits" sh -c \
	"grep -qx 'server none' /sys/fs/zuf/state && grep -qE '^mount [0-9]+ pmfs2 .* waiting$' /sys/fs/zuf/state"
ZUSD_TRANSPORT=auto
vm_check "zusd --transport=auto restarted" zusd_start
ZUSD_TRANSPORT=zuf
vm_check "auto picked the zuf transport" grep -q "serving pmfs2 over zuf" "$ZUSD_LOG"
vm_check "after zusd restart: data intact" test "$(sha256sum < "$mnt/data")" = "$sum"
vm_check "after zusd restart: create works" sh -c "echo again > '$mnt/again' && test \"\$(cat '$mnt/again')\" = again"

# ---- umount / mount: data persists ------------------------------------------
vm_check "umount" umount "$mnt"
vm_check "mount again" mount -t pmfs2 "$pmem" "$mnt"
vm_check "after remount: 8 MiB data intact" test "$(sha256sum < "$mnt/data")" = "$sum"
vm_check "after remount: mmap-written bytes intact" python3 -c "
import os; fd = os.open('$mnt/m', os.O_RDONLY)
assert os.pread(fd, 11, 4096) == b'dax-mmapped' and os.pread(fd, 9, 8192) == b'via-write'"
vm_check "final umount" umount "$mnt"

# ---- the same image through the other transport: FUSE, then zuf again --------
zusd_stop TERM
vm_check "modprobe fuse" modprobe fuse
"$ZUSD" --transport=fuse --plugin "$PMFS2_SO" "$pmem" "$mnt" \
	>"$VM_RESULTS/zusd-fuse.log" 2>&1 &
fuse_pid=$!
for _ in $(seq 1 150); do
	grep -qs " $mnt fuse" /proc/mounts && break
	kill -0 "$fuse_pid" 2>/dev/null || break
	sleep 0.1
done
vm_check "FUSE transport mounts the image zuf wrote" grep -qs " $mnt fuse" /proc/mounts
vm_check "FUSE: 8 MiB written over zuf reads back intact" \
	test "$(sha256sum < "$mnt/data")" = "$sum"
vm_check "FUSE: mmap-written bytes intact" python3 -c "
import os; fd = os.open('$mnt/m', os.O_RDONLY)
assert os.pread(fd, 11, 4096) == b'dax-mmapped' and os.pread(fd, 9, 8192) == b'via-write'"
vm_check "FUSE: write a file" sh -c "echo from-fuse > '$mnt/from-fuse'"
vm_check "FUSE: unmount" umount "$mnt"
fuse_rc=0
wait "$fuse_pid" || fuse_rc=$?
vm_check "FUSE: zusd exited cleanly" test "$fuse_rc" -eq 0
vm_check "zusd over zuf again" zusd_start
vm_check "mount over zuf again" mount -t pmfs2 "$pmem" "$mnt"
vm_check "zuf: the file written over FUSE reads back" \
	test "$(cat "$mnt/from-fuse")" = from-fuse
vm_check "zuf: 8 MiB data still intact" test "$(sha256sum < "$mnt/data")" = "$sum"
vm_check "umount after the round trip" umount "$mnt"
rm -f "$VM_RESULTS/.data"

vm_check "fsck.pmfs2 -n $pmem: clean" "$FSCK_PMFS2" -n "$pmem"

# ---- a filesystem smaller than its device (mkfs.pmfs2 DEVICE SIZE) ---------------
vm_check "mkfs.pmfs2 -f $pmem 256M" sh -c "'$MKFS_PMFS2' -f '$pmem' 256M > '$VM_RESULTS/mkfs-256M.txt'"
vm_check "mount the 256 MiB filesystem" mount -t pmfs2 "$pmem" "$mnt"
read -r sblocks sbsize < <(stat -f -c '%b %S' "$mnt")
vm_log "statfs of the 256 MiB filesystem: $sblocks blocks of $sbsize"
vm_check "statfs: 240..256 MiB" test $((sblocks * sbsize >> 20)) -ge 240 -a $((sblocks * sbsize >> 20)) -lt 256
vm_check "write 8 MiB, read it back" sh -c "
	head -c 8M /dev/urandom > /run/small && cp /run/small '$mnt/f' &&
	cmp /run/small '$mnt/f'"
vm_check "umount" umount "$mnt"
vm_check "fsck.pmfs2 -n: the 256 MiB filesystem is clean" "$FSCK_PMFS2" -n "$pmem"

# ---- teardown ------------------------------------------------------------------
zusd_stop TERM
vm_check "umount zuf-root" umount /sys/fs/zuf
vm_check "rmmod zuf (nothing leaked)" rmmod zuf
vm_summary
