#!/bin/bash
# Guest script: the filesystem shutdown ioctl on pmfs2 over zuf.ko (run by
# test_zuf_pmfs2.sh), as ext4 and xfs have it (FS_IOC_SHUTDOWN, which
# xfs_io -c shutdown sends):
#   - bad flags EINVAL, a non-root caller EPERM;
#   - xfs_io -x -c shutdown (NOLOGFLUSH) with fio writing: every operation
#     then fails with EIO (open, read, write on an open fd, create, readdir,
#     stat, fsync, mmap, a store through a mapping made before: SIGBUS),
#     not one byte of the pmem changes from then on, umount included;
#     fsck sees a filesystem not cleanly unmounted; the next mount recovers
#     and every file fsynced before the shutdown is intact;
#   - shutdown -f (LOGFLUSH) and the DEFAULT flag (sync first) the same way;
#   - umount, fsck.pmfs2 -n clean, rmmod (nothing leaked).
set -euo pipefail
# shellcheck source=tests/vm/guest-lib.sh disable=SC1091
. "${VM_LIB:-$(dirname "$0")/guest-lib.sh}"
# shellcheck source=tests/vm/zuf-lib.sh disable=SC1091
. "$VM_SRCDIR/tests/vm/zuf-lib.sh"

mnt=/mnt/pmfs2
: > "$VM_RESULTS/summary.txt"
trap 'zuf_cleanup "$mnt"' EXIT

# _IOR('X', 125, __u32): FS_IOC_SHUTDOWN, XFS_IOC_GOINGDOWN
shutdown_ioctl() { # PATH FLAGS: the ioctl from python (xfs_io has no DEFAULT)
	python3 -c "
import fcntl, os, struct, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
fcntl.ioctl(fd, 0x8004587d, struct.pack('I', int(sys.argv[2])))" "$@"
}
pmem_sum() { dd if="$pmem" bs=1M iflag=direct status=none | sha256sum | cut -d' ' -f1; }
mount_it() { mount -t pmfs2 "$pmem" "$mnt"; }

# A process that maps $mnt/map (4 pages, shared), stores to it, says "mapped"
# on fd 3, waits for a line on stdin, then stores again: SIGBUS expected.
mapper() {
	python3 -u -c "
import mmap, os, sys
fd = os.open('$mnt/map', os.O_RDWR)
m = mmap.mmap(fd, 4 * 4096, mmap.MAP_SHARED)
m[0:5] = b'first'
print('mapped', flush=True)
sys.stdin.readline()
m[0:5] = b'after'
print('stored after the shutdown', flush=True)"
}

# The files whose fsync returned before the shutdown, and their sums.
make_files() { # ROUND
	local i
	mkdir -p "$mnt/d$1"
	for i in 1 2 3 4; do
		head -c $((i * 300000)) /dev/urandom > "$mnt/d$1/f$i"
		sync "$mnt/d$1/f$i"
	done
	(cd "$mnt/d$1" && sha256sum f*) > "/run/sums$1"
	sync "$mnt/d$1"
}

# after_shutdown NAME: every operation fails with EIO, nothing reaches pmem.
after_shutdown() {
	local name=$1 before
	before=$(pmem_sum)
	vm_check "$name: open fails with EIO" fails_with "Input/output error" cat "$mnt/d1/f1"
	vm_check "$name: create fails with EIO" fails_with "Input/output error" touch "$mnt/new"
	vm_check "$name: readdir fails with EIO" fails_with "Input/output error" ls "$mnt/d1"
	vm_check "$name: stat fails with EIO" fails_with "Input/output error" stat "$mnt/d1/f2"
	vm_check "$name: write on an fd opened before fails with EIO" \
		fails_with "I/O error|Input/output error" sh -c "echo more >&4"
	vm_check "$name: fsync fails with EIO" fails_with "Input/output error" \
		python3 -c "import os; os.fsync(4)"
	vm_check "$name: mkdir, rename, unlink, chmod, setxattr fail with EIO" sh -c "
		! mkdir '$mnt/nd' 2>/dev/null && ! mv '$mnt/d1/f1' '$mnt/d1/g' 2>/dev/null &&
		! rm '$mnt/d1/f3' 2>/dev/null && ! chmod 600 '$mnt/d1/f2' 2>/dev/null &&
		! setfattr -n user.x -v 1 '$mnt/d1/f2' 2>/dev/null"
	vm_check "$name: a second shutdown (on an fd opened before) is a no-op" python3 -c "
import fcntl, struct; fcntl.ioctl(4, 0x8004587d, struct.pack('I', 2))"
	sleep 1
	vm_check "$name: not one byte of pmem changed since" test "$(pmem_sum)" = "$before"
	exec 4>&-
	vm_check "$name: umount" umount "$mnt"
	vm_check "$name: umount wrote nothing either" test "$(pmem_sum)" = "$before"
	"$FSCK_PMFS2" -n -v "$pmem" > "$VM_RESULTS/fsck-$name.txt" 2>&1 || :
	vm_check "$name: fsck -n: not cleanly unmounted (nothing was written)" \
		grep -q "not cleanly unmounted" "$VM_RESULTS/fsck-$name.txt"
	vm_check "$name: the next mount recovers" mount_it
	vm_check "$name: zusd logged the recovery" grep -q "not cleanly unmounted.*recovering" "$ZUSD_LOG"
}

vm_log "pmfs2 over zuf, shutdown: kernel $(uname -r), $(nproc) CPUs"
pmem=$(vm_pmem_setup namespace0.0) || vm_die "no pmem"
vm_check "insmod zuf.ko" zuf_load timeout=20 restart_timeout=10
vm_check "mkfs.pmfs2 $pmem" "$MKFS_PMFS2" -f -q "$pmem"
vm_check "zusd starts" zusd_start
mkdir -p "$mnt"
vm_check "mount -t pmfs2" mount_it
findmnt -n "$mnt" >/dev/null || vm_die "pmfs2 is not mounted"

# ---- refusals ---------------------------------------------------------------------
vm_check "shutdown flag 3: EINVAL" fails_with "Invalid argument" shutdown_ioctl "$mnt" 3
vm_check "shutdown as a non-root user: EPERM" fails_with "Operation not permitted" \
	setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all \
	python3 -c "
import fcntl, os, struct
fcntl.ioctl(os.open('$mnt', os.O_RDONLY), 0x8004587d, struct.pack('I', 2))"
vm_check "still working after the refusals" sh -c "echo ok > '$mnt/probe' && rm '$mnt/probe'"

# ---- xfs_io -c shutdown (NOLOGFLUSH) under fio ----------------------------------------
make_files 1
head -c 16384 /dev/zero > "$mnt/map"
coproc MAPPER { mapper; }
read -r line <&"${MAPPER[0]}"
vm_check "a process maps a file and stores to it" test "$line" = mapped
fio --name=busy --directory="$mnt" --rw=randwrite --bs=4k --size=16M --numjobs=2 \
	--time_based --runtime=60 --ioengine=psync --output="$VM_RESULTS/fio-busy.txt" \
	>/dev/null 2>&1 &
fio_pid=$!
sleep 3
exec 4>>"$mnt/d1/f4"
vm_check "xfs_io -x -c shutdown $mnt (fio writing)" xfs_io -x -c shutdown "$mnt"
vm_check "dmesg: the kernel logged the shutdown" sh -c "dmesg | grep -q 'zuf: pmfs2 .*shut down (now)'"
vm_check "zusd: told of the shutdown" until_ok 50 grep -q "shut down by the kernel" "$ZUSD_LOG"
echo go >&"${MAPPER[1]}"
wait "$MAPPER_PID" && mrc=0 || mrc=$?
vm_check "a store through the mapping made before gets SIGBUS ($mrc)" test "$mrc" = $((128 + 7))
wait "$fio_pid" && frc=0 || frc=$?
vm_check "fio stops with an error ($frc), not a hang" test "$frc" != 0
vm_check "a mmap after the shutdown fails with EIO" fails_with "Input/output error" \
	python3 -c "import mmap, os; mmap.mmap(os.open('$mnt/map', os.O_RDWR), 4096)"
after_shutdown nologflush
vm_check "nologflush: every file fsynced before is intact" sh -c "cd '$mnt/d1' && sha256sum -c --quiet /run/sums1"

# ---- shutdown -f (LOGFLUSH), then DEFAULT --------------------------------------------
make_files 2
exec 4>>"$mnt/d2/f4"
vm_check "xfs_io -x -c 'shutdown -f' $mnt" xfs_io -x -c "shutdown -f" "$mnt"
vm_check "dmesg: logged (server flush)" sh -c "dmesg | grep -q 'shut down (server flush)'"
after_shutdown logflush
vm_check "logflush: every file fsynced before is intact" sh -c "
	cd '$mnt/d1' && sha256sum -c --quiet /run/sums1 && cd '$mnt/d2' && sha256sum -c --quiet /run/sums2"

make_files 3
echo "unsynced, but DEFAULT syncs" > "$mnt/d3/late"
exec 4>>"$mnt/d3/f4"
vm_check "shutdown ioctl, flag DEFAULT" shutdown_ioctl "$mnt/d3" 0
vm_check "dmesg: logged (sync)" sh -c "dmesg | grep -q 'shut down (sync)'"
after_shutdown default
vm_check "default: the files and the late one are intact" sh -c "
	cd '$mnt/d3' && sha256sum -c --quiet /run/sums3 &&
	test \"\$(cat late)\" = 'unsynced, but DEFAULT syncs'"

# ---- a new zusd does not bring a shut down mount back ----------------------------
vm_check "shutdown, then zusd restarts" shutdown_ioctl "$mnt" 2
zusd_stop TERM
vm_check "a new zusd starts" zusd_start
sleep 1
vm_check "the shut down mount was not offered to it" sh -c "! grep -q reattached '$ZUSD_LOG'"
vm_check "after the restart: still EIO, at once" fails_with "Input/output error" timeout 5 ls "$mnt/d1"
t0=$SECONDS
vm_check "umount without its server: at once" timeout 5 umount "$mnt"
umount_s=$((SECONDS - t0))
vm_log "umount of the shut down mount took ${umount_s} s"
vm_check "mount again: recovers" mount_it
vm_check "the data fsynced before is intact" sh -c "cd '$mnt/d3' && sha256sum -c --quiet /run/sums3"

# ---- teardown ----------------------------------------------------------------------------
vm_check "works again: write, read back" sh -c "echo fine > '$mnt/probe' && test \"\$(cat '$mnt/probe')\" = fine"
vm_check "umount" umount "$mnt"
zusd_stop TERM
vm_check "fsck.pmfs2 -n $pmem: clean" "$FSCK_PMFS2" -n "$pmem"
vm_check "umount zuf-root" umount /sys/fs/zuf
vm_check "rmmod zuf (nothing leaked)" rmmod zuf
dmesg | grep -E 'zuf' | tail -40 > "$VM_RESULTS/dmesg-zuf.txt" || :
vm_summary
