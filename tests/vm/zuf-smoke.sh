#!/bin/bash
# Guest script: zuf.ko end to end with the test server kmod/tests/zuf-memfs
# (zusd's kernel transport + an in-memory plugin).
#   run on the host:  tests/vm/run-vm.sh tests/vm/zuf-smoke.sh [-- MEMFS_BIN]
# Checks: module load, zuf-root, handshake/register, map-mode fs (zuftmem),
# direct-mode fs on pmem with DAX mmap (zuftpm), server death / restart /
# hang / bad replies, rmmod.  One PASS/FAIL line each in summary.txt.
set -uo pipefail
. "${VM_LIB:-$(dirname "$0")/guest-lib.sh}"

# shellcheck source=tests/vm/zuf-lib.sh disable=SC1091
. "$VM_SRCDIR/tests/vm/zuf-lib.sh"
ko=$ZUF_KO
[[ -z ${1:-} ]] || ZUF_MEMFS=$1
: > "$VM_RESULTS/summary.txt"

vm_log "zuf smoke: kernel $(uname -r), $(nproc) CPUs"

# ---- module, zuf-root, handshake ------------------------------------------
vm_check "insmod zuf.ko" vm_insmod "$ko" timeout=8 restart_timeout=4
vm_check "/sys/fs/zuf mountpoint" test -d /sys/fs/zuf
vm_check "mount zuf-root" mount -t zuf nodev /sys/fs/zuf
vm_check "control file root-only" test "$(stat -c %a /sys/fs/zuf/control)" = 600
vm_check "server starts (handshake, register, channels)" memfs_start
vm_check "fs types registered" grep -qw zuftpm /proc/filesystems
vm_check "zuftmem registered" grep -qw zuftmem /proc/filesystems

# ---- a filesystem test run on a mounted dir ---------------------------------
fs_tests() { # TAG DIR
	local t=$1 d=$2
	vm_check "$t: mkdir" mkdir "$d/dir"
	vm_check "$t: create+write" sh -c "echo hello-zufs > '$d/dir/f'"
	vm_check "$t: read back" test "$(cat "$d/dir/f")" = hello-zufs
	vm_check "$t: size" test "$(stat -c %s "$d/dir/f")" = 11
	head -c 3000000 /dev/urandom > /run/zuf-rand
	vm_check "$t: 3MB write" cp /run/zuf-rand "$d/dir/big"
	vm_check "$t: 3MB compare" cmp /run/zuf-rand "$d/dir/big"
	vm_check "$t: O_DIRECT read" dd if="$d/dir/big" of=/run/zuf-direct bs=1M iflag=direct status=none
	vm_check "$t: O_DIRECT compare" cmp /run/zuf-rand /run/zuf-direct
	vm_check "$t: O_DIRECT write" dd if=/run/zuf-rand of="$d/dir/big2" bs=1M oflag=direct status=none
	vm_check "$t: O_DIRECT write compare" cmp /run/zuf-rand "$d/dir/big2"
	vm_check "$t: overwrite middle" dd if=/dev/zero of="$d/dir/big" bs=4096 seek=10 count=3 conv=notrunc status=none
	vm_check "$t: overwrite readback" test "$(dd if="$d/dir/big" bs=4096 skip=10 count=3 status=none | tr -d '\0' | wc -c)" = 0
	vm_check "$t: truncate down" truncate -s 5000 "$d/dir/big"
	vm_check "$t: truncated content" cmp -n 5000 /run/zuf-rand "$d/dir/big"
	vm_check "$t: truncate up (hole reads zero)" sh -c "truncate -s 20000 '$d/dir/big' && test \$(tail -c 15000 '$d/dir/big' | tr -d '\0' | wc -c) = 0"
	vm_check "$t: symlink" ln -s dir/f "$d/sl"
	vm_check "$t: readlink" test "$(readlink "$d/sl")" = dir/f
	vm_check "$t: follow symlink" test "$(cat "$d/sl")" = hello-zufs
	vm_check "$t: hard link" ln "$d/dir/f" "$d/hl"
	vm_check "$t: nlink 2" test "$(stat -c %h "$d/dir/f")" = 2
	vm_check "$t: rename" mv "$d/hl" "$d/dir/renamed"
	vm_check "$t: renamed content" test "$(cat "$d/dir/renamed")" = hello-zufs
	vm_check "$t: chmod" sh -c "chmod 640 '$d/dir/f' && test \$(stat -c %a '$d/dir/f') = 640"
	vm_check "$t: chown" sh -c "chown 1234:5678 '$d/dir/f' && test \"\$(stat -c %u:%g '$d/dir/f')\" = 1234:5678"
	vm_check "$t: utimes" sh -c "touch -d '2001-02-03 04:05:06' '$d/dir/f' && test \$(stat -c %Y '$d/dir/f') = \$(date -d '2001-02-03 04:05:06' +%s)"
	vm_check "$t: mknod fifo" sh -c "mkfifo '$d/fifo' && test -p '$d/fifo'"
	vm_check "$t: xattr set/get" python3 -c "
import os; p='$d/dir/f'; os.setxattr(p, 'user.k', b'v'*100)
assert os.getxattr(p, 'user.k') == b'v'*100
assert 'user.k' in os.listxattr(p); os.removexattr(p, 'user.k')
assert 'user.k' not in os.listxattr(p)"
	vm_check "$t: POSIX ACL set/get (mode follows mask)" python3 -c "
import os, struct
p = '$d/dir/f'; os.chmod(p, 0o640)
ents = [(1, 6, 0xffffffff), (2, 6, 1000), (4, 4, 0xffffffff), (0x10, 6, 0xffffffff), (0x20, 0, 0xffffffff)]
blob = struct.pack('<I', 2) + b''.join(struct.pack('<HHI', *e) for e in ents)
os.setxattr(p, 'system.posix_acl_access', blob)
assert os.getxattr(p, 'system.posix_acl_access') == blob
assert oct(os.stat(p).st_mode & 0o777) == oct(0o660), oct(os.stat(p).st_mode)
os.removexattr(p, 'system.posix_acl_access')"
	vm_check "$t: fsync" python3 -c "
import os; fd = os.open('$d/dir/f', os.O_RDWR); os.fsync(fd); os.fdatasync(fd)"
	vm_check "$t: SEEK_DATA/SEEK_HOLE" python3 -c "
import os; fd = os.open('$d/dir/big2', os.O_RDONLY)
assert os.lseek(fd, 0, os.SEEK_DATA) == 0; assert os.lseek(fd, 0, os.SEEK_HOLE) == 3000000"
	vm_check "$t: fallocate unsupported by the plugin" fails_with "not supported" fallocate -l 1M "$d/dir/fa"
	vm_check "$t: O_TMPFILE" python3 -c "
import os; fd=os.open('$d/dir', os.O_TMPFILE|os.O_RDWR, 0o600); os.write(fd, b'tmp'); os.close(fd)"
	mkdir "$d/many"
	vm_check "$t: 600 creates" sh -c "for i in \$(seq 600); do : > \"$d/many/file-with-a-long-name-\$i\"; done"
	vm_check "$t: readdir of 600 (multi-call)" test "$(ls "$d/many" | wc -l)" = 600
	vm_check "$t: seekdir/telldir" python3 -c "
import os; a=sorted(os.listdir('$d/many')); assert len(a)==600"
	vm_check "$t: rm -r" rm -r "$d/many"
	vm_check "$t: unlink" rm "$d/dir/f" "$d/dir/renamed" "$d/sl" "$d/fifo"
	vm_check "$t: ENOENT" fails_with "No such file" cat "$d/dir/f"
	vm_check "$t: ENOTEMPTY" fails_with "not empty" rmdir "$d/dir"
	vm_check "$t: rm dir" rm -r "$d/dir"
	vm_check "$t: statfs" sh -c "stat -f -c %b '$d' | grep -qv '^0$'"
	vm_check "$t: ls root empty" test -z "$(ls -A "$d")"
}

# ---- map mode: zuftmem ------------------------------------------------------
mkdir -p /mnt/zm /mnt/zp
if mount -t zuftmem none /mnt/zm; then
	vm_pass "mount -t zuftmem"
	vm_check "zuftmem in mountinfo" test "$(findmnt -n -o FSTYPE /mnt/zm)" = zuftmem
	fs_tests zuftmem /mnt/zm
	vm_check "zuftmem: mmap refused (no DAX)" fails_with "No such device" python3 -c "
import mmap; f=open('/mnt/zm/x','w+b'); f.write(b'a'*4096); f.flush(); mmap.mmap(f.fileno(), 4096)"
	rm -f /mnt/zm/x
else
	vm_fail "mount -t zuftmem"
fi

# ---- direct mode on pmem: zuftpm ---------------------------------------------
pmem=
if pmem=$(vm_pmem_setup namespace0.0); then
	vm_pass "pmem fsdax namespace ($pmem)"
	if mount -t zuftpm "$pmem" /mnt/zp; then
		vm_pass "mount -t zuftpm $pmem"
		fs_tests zuftpm /mnt/zp
		: > /mnt/zp/m
		vm_check "zuftpm: statx DAX" vm_statx_dax /mnt/zp/m
		vm_check "zuftpm: mmap write, read(2) back" python3 -c "
import mmap, os
fd = os.open('/mnt/zp/m', os.O_RDWR); os.ftruncate(fd, 1<<21)
m = mmap.mmap(fd, 1<<21); m[4096:4096+11] = b'dax-mmapped'; m[(1<<21)-3:] = b'end'; m.flush(); m.close()
assert os.pread(fd, 11, 4096) == b'dax-mmapped'; assert os.pread(fd, 3, (1<<21)-3) == b'end'"
		vm_check "zuftpm: write(2), mmap read back" python3 -c "
import mmap, os
fd = os.open('/mnt/zp/m', os.O_RDWR); os.pwrite(fd, b'via-write', 8192)
m = mmap.mmap(fd, 1<<21, prot=mmap.PROT_READ); assert m[8192:8192+9] == b'via-write'"
		vm_check "zuftpm: MAP_SYNC mmap" python3 -c "
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True); libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
fd = os.open('/mnt/zp/m', os.O_RDWR)
p = libc.mmap(None, 4096, 3, 0x03 | 0x80000, fd, 0)  # MAP_SHARED_VALIDATE|MAP_SYNC
assert p not in (None, ctypes.c_void_p(-1).value), os.strerror(ctypes.get_errno())"
		rm -f /mnt/zp/m
		vm_check "umount zuftpm" umount /mnt/zp
	else
		vm_fail "mount -t zuftpm $pmem"
	fi
else
	vm_fail "pmem fsdax namespace"
fi

# ---- server death and restart: mounts stay -----------------------------------
echo keep > /mnt/zm/keep 2>/dev/null
memfs_stop KILL
vm_check "server killed: mount stays" test "$(findmnt -n -o FSTYPE /mnt/zm)" = zuftmem
t0=$(date +%s)
vm_check "no server: call fails with EIO" fails_with "Input/output error|I/O error" stat /mnt/zm/nothing-here
t1=$(date +%s)
vm_check "no server: waited for a restart, then gave up ($((t1 - t0))s)" test $((t1 - t0)) -ge 3 -a $((t1 - t0)) -le 30
vm_check "restarted server" memfs_start
vm_check "restarted server: mount reattached" ls /mnt/zm
vm_check "restarted server: create works" sh -c "echo again > /mnt/zm/again && test \$(cat /mnt/zm/again) = again"
python3 -c "
import os, sys
try:
    os.stat('/mnt/zm/nothing-here')
except FileNotFoundError:
    sys.exit(0)
except OSError as e:
    print(e); sys.exit(3)
sys.exit(4)" &
spid=$!
memfs_stop KILL
sleep 1
memfs_start
wait $spid
vm_check "call during restart completed (ENOENT, not EIO)" test $? -eq 0
vm_check "after restart: still works" ls /mnt/zm

# ---- a server that misbehaves ------------------------------------------------
memfs_stop TERM
memfs_start --evil hang
t0=$(date +%s)
vm_check "hung server: readdir fails with EIO" fails_with "Input/output error|I/O error" ls /mnt/zm
t1=$(date +%s)
vm_check "hung server: after the timeout ($((t1 - t0))s)" test $((t1 - t0)) -ge 6 -a $((t1 - t0)) -le 40
vm_check "hung server: other calls still served" stat /mnt/zm
memfs_stop KILL
memfs_start --evil crash
vm_check "crashing server: EIO" fails_with "Input/output error|I/O error" ls /mnt/zm
memfs_stop KILL
memfs_start --evil attr
echo x > /mnt/zm/attrfile 2>/dev/null
vm_check "bad attr reply: EIO" fails_with "Input/output error|I/O error" stat /mnt/zm/attrfile
memfs_stop TERM
if [[ -n $pmem ]]; then
	memfs_start --evil extents
	if mount -t zuftpm "$pmem" /mnt/zp; then
		vm_check "bad extents reply: EIO" fails_with "Input/output error|I/O error" sh -c "echo data > /mnt/zp/x"
		umount /mnt/zp
	else
		vm_fail "mount zuftpm (evil extents)"
	fi
	memfs_stop TERM
fi

# ---- teardown --------------------------------------------------------------
memfs_start
vm_check "umount zuftmem" umount /mnt/zm
memfs_stop TERM
vm_check "umount zuf-root" umount /sys/fs/zuf
vm_check "rmmod zuf" rmmod zuf
dmesg > "$VM_RESULTS/dmesg.txt"
vm_check "dmesg: no WARNING/BUG/Oops" sh -c "! grep -avE '$VM_KLOG_BENIGN' '$VM_RESULTS/dmesg.txt' | grep -E 'WARNING:|BUG:|Oops|general protection|lockdep|KASAN|UBSAN'"
grep -E 'zuf' "$VM_RESULTS/dmesg.txt" | tail -40
vm_summary
