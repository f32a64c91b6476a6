#!/bin/bash
# Guest script: zuf.ko against a hostile server, one regression test per
# defect of the trust boundary (run by test_zuf_hostile.sh).  The server is
# kmod/tests/zuf-memfs with --evil modes; the application side is
# tests/vm/zuf-probe.  Each check failed on the module before its fix.
#   - ioctl races on one control fd: INIT_CHAN twice (a channel lost until
#     reboot), HANDSHAKE twice (a server counted that never leaves)
#   - map mode: the server never sees the application's memory next to a
#     read(2)/write(2) buffer, and cannot write into a write(2) source
#     (a file the application mapped read-only); kernel reads (exec of a
#     script) work in map mode
#   - listxattr shows trusted.* names to CAP_SYS_ADMIN only
#   - two creates given one inode number: never one inode under two names
#   - a live directory the server says has no links: mkdir, rename and
#     exchange in it do not take the kernel's link count below 0 or from 0
#   - i_size never moves back under a stat racing O_APPEND writes
#   - truncate does not free blocks while a page of them is pinned
#   - a hung statfs holds up no other mount, and its caller can be killed
#   - an endless readdir read by overlayfs (an in-kernel reader that never
#     fills) ends at SIGKILL
#   - a hung EVICT: memory reclaim (drop_caches) does not wait for it
#   - a busy server (slow calls queued on every channel for longer than the
#     timeout, while it keeps answering) fails no call
#   - MAP_SYNC only on a synchronous DAX device (refused on virtio-pmem, as
#     ext4 refuses it there; run-vm.sh --virtio-pmem)
#   - ZU_IOC_INVALIDATE's deferred put of an inode's last reference keeps
#     its superblock until it has run (no busy inodes at umount, no iput
#     after it)
#   - a mount unmounted while a new server's reattach is under way is
#     never handed to that server (it holds no mount once all are gone)
#   - lsm (not in the default list; needs a kernel booted with lsm=smack):
#     a new inode gets the creator's Smack label as security.SMACK64
# Arguments: the sections to run (default: all but lsm): races window xattr
# dupino nlink pmem statfs readdir evict slow mapsync invalput reattach lsm.
set -uo pipefail
. "${VM_LIB:-$(dirname "$0")/guest-lib.sh}"
# shellcheck source=tests/vm/zuf-lib.sh disable=SC1091
. "$VM_SRCDIR/tests/vm/zuf-lib.sh"
PROBE=${ZUF_PROBE:-$VM_BUILDDIR/tests/vm/zuf-probe}
: > "$VM_RESULTS/summary.txt"
m=/mnt/zm
p=/mnt/zp
mkdir -p "$m" "$p"

vm_log "zuf hostile server: kernel $(uname -r), $(nproc) CPUs"
vm_check "insmod zuf.ko" vm_insmod "$ZUF_KO" timeout=8 restart_timeout=4
vm_check "mount zuf-root" mount -t zuf nodev /sys/fs/zuf

# ---- ioctl races on one fd (no server running) ------------------------------
t_races() {
	vm_check "INIT_CHAN twice at once on one fd: no channel lost (1000 rounds)" \
		"$PROBE" initchan-race 1000
	vm_check "HANDSHAKE twice at once on one fd: no server left counted (1000 rounds)" \
		"$PROBE" handshake-race 1000
}

# ---- map mode: the window --------------------------------------------------
t_window() {
	vm_check "server (evil: window)" memfs_start --evil window
	vm_check "mount zuftmem" mount -t zuftmem none "$m"
	head -c 8192 /dev/zero | tr '\0' D > "$m/data"
	vm_check "read(2): the bytes next to the buffer stay the application's" \
		"$PROBE" window-read "$m/data"
	vm_check "write(2) from a read-only mapping: the mapped file is not changed" \
		"$PROBE" window-write "$m/w" /run/zuf-rofile
	vm_check "write(2): the server saw no application memory next to the buffer" \
		sh -c "! grep -q LEAK '$VM_RESULTS/memfs-$MEMFS_N.log'"
	printf '#!/bin/sh\necho zufs-exec-ok\n' > "$m/script"
	chmod 755 "$m/script"
	vm_check "exec of a script (kernel_read) in map mode" \
		test "$("$m/script" 2>&1)" = zufs-exec-ok
	vm_check "splice from a map-mode file" \
		sh -c "head -c 100000 /dev/urandom > /run/zuf-splice && cp /run/zuf-splice '$m/sp' && python3 -c \"
import os
src = os.open('$m/sp', os.O_RDONLY); r, w = os.pipe(); got = b''
while True:
    n = os.splice(src, w, 65536)
    if not n: break
    got += os.read(r, n)
assert got == open('/run/zuf-splice', 'rb').read()\""
}

# ---- listxattr ---------------------------------------------------------------
t_xattr() {
	: > "$m/x"
	chmod 644 "$m/x"
	chmod 755 "$m"
	setfattr -n trusted.zufs -v 1 "$m/x"
	setfattr -n user.zufs -v 1 "$m/x"
	vm_check "listxattr as root lists trusted.*" sh -c "'$PROBE' listxattr '$m/x' | grep -qx trusted.zufs"
	vm_check "listxattr as a user hides trusted.* (and sizes agree)" sh -c \
		"out=\$(setpriv --reuid=65534 --regid=65534 --clear-groups '$PROBE' listxattr '$m/x') &&
		 echo \"\$out\" | grep -qx user.zufs && ! echo \"\$out\" | grep -q '^trusted\.'"
	vm_check "umount zuftmem" umount "$m"
	memfs_stop
}

# ---- one inode number for two creates -------------------------------------
t_dupino() {
	vm_check "server (evil: dupino)" memfs_start --evil dupino
	vm_check "mount zuftmem" mount -t zuftmem none "$m"
	mkdir "$m/a" "$m/b"
	# the server answers each pair at the same moment with one number: one of
	# the two must be refused, or one inode has two names; a pair the server
	# did not manage to pair (a timing miss) gets two numbers and proves nothing
	paired=0 aliased=0
	for i in $(seq 40); do
		mkdir "$m/a/dup$i" 2>/dev/null &
		a=$!
		mkdir "$m/b/dup$i" 2>/dev/null &
		b=$!
		ra=0 rb=0
		wait "$a" || ra=1
		wait "$b" || rb=1
		if ((ra + rb == 1)); then
			paired=$((paired + 1))
		elif ((ra + rb == 0)) &&
			[[ $(stat -c %i "$m/a/dup$i") == "$(stat -c %i "$m/b/dup$i")" ]]; then
			aliased=$((aliased + 1))
		fi
	done
	vm_log "dupino: $paired pairs refused once, $aliased aliased, of 40"
	vm_check "two creates given one inode number: never one inode under two names" \
		test "$aliased" -eq 0
	vm_check "two creates given one inode number: the second is refused (EIO)" \
		test "$paired" -ge 20
	vm_check "umount zuftmem" umount "$m"
	memfs_stop
}

# ---- directories the server says have no links ------------------------------
t_nlink() {
	local d="$m/nl"
	vm_check "server (evil: nlink0)" memfs_start --evil nlink0
	vm_check "mount zuftmem" mount -t zuftmem none "$m"
	mkdir -p "$d/a/sub" "$d/a/x" "$d/b/y" && : > "$d/b/f"
	# each stat brings the server's count of 0 into the kernel's inode
	stat "$d/a" "$d/b" > /dev/null
	vm_check "mkdir in a directory with nlink 0" mkdir "$d/b/new"
	stat "$d/a" "$d/b" > /dev/null
	vm_check "rename a directory between two with nlink 0" mv "$d/a/sub" "$d/b/sub"
	stat "$d/a" "$d/b" > /dev/null
	vm_check "exchange a directory and a file between two with nlink 0" \
		"$PROBE" exchange "$d/a/x" "$d/b/f"
	stat "$d/a" "$d/b" > /dev/null
	vm_check "rmdir in a directory with nlink 0" rmdir "$d/b/new"
	vm_check "the tree is as the calls left it" \
		test -d "$d/b/sub" -a -d "$d/b/f" -a -f "$d/a/x" -a ! -e "$d/b/new"
	vm_check "umount zuftmem" umount "$m"
	memfs_stop
	# an inc_nlink/drop_nlink WARNING fails the run: run-vm.sh scans the
	# guest's kernel log (and check-vm boots with panic_on_warn)
}

# ---- direct mode on pmem: i_size and DAX layouts -----------------------------
t_pmem() {
	vm_check "server" memfs_start
	pmem=$(vm_pmem_setup namespace0.0) || vm_die "no pmem"
	vm_check "mount zuftpm" mount -t zuftpm "$pmem" "$p"
	vm_check "O_APPEND writes racing stat: no record lost (4000 appends)" \
		"$PROBE" append-race "$p/append" 4000
	vm_check "truncate waits while vmsplice pins a page of the file" \
		"$PROBE" vmsplice-trunc "$p/pinned"
	vm_check "umount zuftpm" umount "$p"
	memfs_stop
}

# ---- a hung statfs ------------------------------------------------------------
t_statfs() {
	vm_check "server (evil: statfs-hang)" memfs_start --evil statfs-hang
	vm_check "mount zuftmem twice" sh -c "mount -t zuftmem none '$m' && mkdir -p /mnt/zm2 && mount -t zuftmem none /mnt/zm2"
	# the first statfs hangs in the server (30 s); statfs of the other mount
	# must not wait behind it, and the hung caller must die at SIGKILL
	stat -f "$m" >/dev/null 2>&1 &
	s1=$!
	sleep 1
	t0=$(date +%s%N)
	stat -f /mnt/zm2 >/dev/null 2>&1
	rc=$?
	ms=$((($(date +%s%N) - t0) / 1000000))
	vm_log "statfs of another mount: ${ms} ms (exit $rc) while one statfs hangs"
	vm_check "a hung statfs holds up no other mount's statfs (< 2 s)" \
		sh -c "test $rc -eq 0 && test $ms -lt 2000"
	t0=$(date +%s%N)
	kill -KILL "$s1"
	until_ok 50 sh -c "! kill -0 $s1 2>/dev/null"
	ms=$((($(date +%s%N) - t0) / 1000000))
	vm_log "hung statfs caller gone ${ms} ms after SIGKILL"
	vm_check "a statfs waiting for a hung server dies at SIGKILL (< 2 s)" test "$ms" -lt 2000
	wait "$s1" 2>/dev/null
	memfs_stop KILL
	vm_check "server" memfs_start
	vm_check "umount both" umount "$m" /mnt/zm2
	memfs_stop
}

# ---- an endless readdir ------------------------------------------------------
t_readdir() {
	vm_check "server (evil: readdir-endless)" memfs_start --evil readdir-endless
	vm_check "mount zuftmem" mount -t zuftmem none "$m"
	mkdir -p "$m/l1/endless" "$m/l2/endless" /mnt/ovl
	# overlayfs merges two lower directories: its readdir actor never says
	# "full", so only the kernel's own bound or a fatal signal ends it
	vm_check "overlayfs over two zuftmem directories" \
		mount -t overlay overlay -o "lowerdir=$m/l1:$m/l2" /mnt/ovl
	ls /mnt/ovl/endless >/dev/null 2>&1 &
	pid=$!
	sleep 2
	kill -KILL "$pid"
	t0=$(date +%s%N)
	until_ok 50 test ! -d "/proc/$pid"
	ms=$((($(date +%s%N) - t0) / 1000000))
	vm_log "endless readdir under overlayfs: reader gone ${ms} ms after SIGKILL"
	vm_check "an in-kernel reader of an endless directory dies at SIGKILL (< 3 s)" \
		test ! -d "/proc/$pid"
	wait "$pid" 2>/dev/null
	vm_check "umount overlayfs" umount /mnt/ovl
	vm_check "umount zuftmem" umount "$m"
	memfs_stop
}

# ---- a hung EVICT ------------------------------------------------------------
t_evict() {
	vm_check "server (evil: evict-hang)" memfs_start --evil evict-hang
	vm_check "mount zuftmem" mount -t zuftmem none "$m"
	for i in $(seq 20); do : > "$m/e$i"; done
	for i in $(seq 20); do : > "$m/k$i"; done
	t0=$(date +%s%N)
	rm -f "$m"/e*
	echo 2 > /proc/sys/vm/drop_caches
	ms=$((($(date +%s%N) - t0) / 1000000))
	vm_log "rm of 20 files + drop_caches took ${ms} ms with a hung EVICT"
	# the EVICT hangs 20 s; < 10 s leaves room for the debug kernel (3.7 s)
	vm_check "eviction (unlink, memory reclaim) does not wait for a hung EVICT (< 10 s)" \
		test "$ms" -lt 10000
	vm_check "umount zuftmem" umount "$m"
	memfs_stop
}

# ---- a busy server -------------------------------------------------------------
t_slow() {
	local n=30 i pids=() bad=0 t0 ms
	vm_check "server (evil: slow)" memfs_start --evil slow
	vm_check "mount zuftmem" mount -t zuftmem none "$m"
	for i in $(seq "$n"); do echo "data $i" > "$m/s$i"; done
	# 30 reads of 1.5 s each on $(nproc) channels: the last ones wait for a
	# free channel well past the timeout (8 s) while the server answers
	t0=$(date +%s%N)
	for i in $(seq "$n"); do
		grep -qx "data $i" "$m/s$i" &
		pids+=($!)
	done
	for i in "${pids[@]}"; do wait "$i" || bad=$((bad + 1)); done
	ms=$((($(date +%s%N) - t0) / 1000000))
	vm_log "$n slow reads at once: ${ms} ms, $bad failed"
	vm_check "slow reads queued past the timeout (${ms} ms > 8000 ms)" \
		test "$ms" -gt 8000
	vm_check "a busy server fails no call waiting for a free channel ($bad of $n failed)" \
		test "$bad" -eq 0
	vm_check "umount zuftmem" umount "$m"
	memfs_stop
}

# ---- MAP_SYNC ---------------------------------------------------------------
t_mapsync() {
	local pmem vpmem
	vm_check "server" memfs_start
	pmem=$(vm_pmem_setup namespace0.0) || vm_die "no pmem"
	vm_check "mount zuftpm on the NVDIMM" mount -t zuftpm "$pmem" "$p"
	vm_check "MAP_SYNC on a synchronous DAX device (NVDIMM) is accepted" \
		"$PROBE" mapsync "$p/sync" yes
	vm_check "umount zuftpm" umount "$p"
	vpmem=$(vm_virtio_pmem_setup) || vm_die "no virtio-pmem device"
	# ext4 -o dax in the same VM is the reference: where it refuses MAP_SYNC
	# (Debian's kernel), zuf must refuse it too
	vm_check "ext4 -o dax on virtio-pmem" sh -c \
		"mkfs.ext4 -q -F -b 4096 '$vpmem' && mount -o dax '$vpmem' '$p'"
	ext4=no
	"$PROBE" mapsync "$p/sync" no 2>/dev/null || ext4=yes
	umount "$p"
	vm_check "mount zuftpm on virtio-pmem" mount -t zuftpm "$vpmem" "$p"
	if [[ $ext4 == no ]]; then
		vm_check "MAP_SYNC on an asynchronous DAX device (virtio-pmem) fails with EOPNOTSUPP, as on ext4" \
			"$PROBE" mapsync "$p/sync" no
	else
		vm_skip "MAP_SYNC on virtio-pmem: this kernel's ext4 accepts it there too (dax device synchronous?)"
	fi
	vm_check "umount zuftpm" umount "$p"
	memfs_stop
}

# ---- INVALIDATE's deferred iput against umount -----------------------------
t_invalput() {
	local pmem ino rt out rc ms held n log up
	if (($(nproc) < 2)); then
		vm_skip "INVALIDATE's deferred iput vs umount (needs 2 CPUs)"
		return
	fi
	vm_check "server (evil: inval-late)" memfs_start --evil inval-late
	pmem=$(vm_pmem_setup namespace0.0) || vm_die "no pmem"
	vm_check "mount zuftpm" mount -t zuftpm "$pmem" "$p"
	# DAX entries at two indexes make the mapping unshrinkable: drop_caches
	# then frees the dentry but keeps the inode, with no reference left, so
	# INVALIDATE's own reference to it is the last one
	head -c 8192 /dev/zero | tr '\0' I > "$p/inv"
	vm_check "mmap read of both pages (DAX entries)" python3 -c "
import mmap, os
fd = os.open('$p/inv', os.O_RDONLY)
m = mmap.mmap(fd, 8192, prot=mmap.PROT_READ)
assert m[0] == m[4096] == ord('I')
m.close(); os.close(fd)"
	ino=$(stat -c %i "$p/inv")
	echo 2 > /proc/sys/vm/drop_caches
	# the server invalidates from the last CPU and then keeps it 8 s, so the
	# put the kernel deferred to a worker there waits; on CPU 0 the
	# application unmounts meanwhile (real-time throttling off: the worker
	# must not get its 5%)
	rt=$(cat /proc/sys/kernel/sched_rt_runtime_us)
	vm_check "real-time throttling off" sh -c "echo -1 > /proc/sys/kernel/sched_rt_runtime_us"
	out=$(taskset -c 0 sh -c "stat '$p/inval-$ino' >/dev/null 2>&1
		t0=\$(date +%s%N); umount '$p'; rc=\$?
		echo \$rc \$(((\$(date +%s%N) - t0) / 1000000)) \$(grep -c '^mount .* zuftpm ' /sys/fs/zuf/state) \$(cut -d' ' -f1 /proc/uptime)")
	read -r rc ms held up <<< "$out"
	log=$VM_RESULTS/invalput-at-umount.log
	cp "$VM_RESULTS/memfs-$MEMFS_N.log" "$log"
	vm_log "invalput: umount exit $rc in ${ms} ms, done at uptime $up, zuftpm mounts listed after it: $held"
	until_ok 150 grep -q "CPU given back" "$VM_RESULTS/memfs-$MEMFS_N.log"
	echo "$rt" > /proc/sys/kernel/sched_rt_runtime_us
	vm_log "invalput: $(grep -h inval-late "$VM_RESULTS/memfs-$MEMFS_N.log" | tr '\n' ' ')"
	# by umount's end the inode was invalidated and not evicted: the
	# deferred put still held it
	vm_check "the server invalidated inode $ino, which only INVALIDATE still held" \
		sh -c "grep -q 'ino $ino invalidated (0)' '$log' &&
		       ! grep -q 'evict ino $ino\$' '$log'"
	vm_check "umount while the deferred iput waits succeeds" test "$rc" = 0
	vm_check "the superblock outlives umount until the deferred iput has run" \
		test "${held:-0}" -ge 1
	until_ok 100 sh -c "! grep -q '^mount .* zuftpm ' /sys/fs/zuf/state"
	vm_check "then it goes: the deferred iput dropped the last reference ($((UNTIL_TENTHS * 100)) ms)" \
		sh -c "! grep -q '^mount .* zuftpm ' /sys/fs/zuf/state"
	vm_check "the inode was evicted before the superblock went" \
		awk -v e="evict ino $ino" '$0 ~ e"$" { ev = NR } /\) unmounted$/ { um = NR }
			END { exit !(ev && um && ev < um) }' "$VM_RESULTS/memfs-$MEMFS_N.log"
	vm_check "no busy inodes at umount" sh -c "! dmesg | grep -q 'Busy inodes after unmount'"
	memfs_stop
}

# ---- a reattach racing umount ---------------------------------------------------
t_reattach() {
	local log pid rc
	vm_check "server (evil: mount-slow)" memfs_start --evil mount-slow
	vm_check "mount zuftmem twice" sh -c "mount -t zuftmem none '$m' && mkdir -p /mnt/zm2 && mount -t zuftmem none /mnt/zm2"
	memfs_stop KILL
	# the new server takes 2 s for each reattach: the moment it starts the
	# first, both mounts go (one being handed over, one not offered yet)
	log=$VM_RESULTS/memfs-$((MEMFS_N + 1)).log
	"$PROBE" umount-when "$log" "slow mount" "$m" /mnt/zm2 &
	pid=$!
	vm_check "server (evil: mount-slow), restarted" memfs_start --evil mount-slow
	wait "$pid"
	rc=$?
	vm_check "umount both while the first reattach is under way" test "$rc" = 0
	until_ok 100 sh -c "! grep -q '^mount ' /sys/fs/zuf/state"
	vm_check "the kernel holds no mount" sh -c "! grep -q '^mount ' /sys/fs/zuf/state"
	sleep 3	# a reattach the kernel still makes in error lands in this
	memfs_stop
	vm_log "reattach: $(grep -c reattached "$log") reattached, $(grep -c unmounted "$log") unmounted, $(grep 'held at exit' "$log")"
	vm_check "the server holds no mount the kernel dropped" \
		grep -q "0 mounts held at exit" "$log"
}

# ---- an LSM that labels new inodes ------------------------------------------
t_lsm() {
	local label=zufs-lbl attr=/proc/self/attr/smack/current got
	# /proc/PID/attr/smack answers only while Smack is the running LSM
	if ! cat "$attr" >/dev/null 2>&1; then
		vm_skip "new inodes get their Smack label (Smack not active: a kernel with it, booted with lsm=smack)"
		return
	fi
	vm_check "server" memfs_start
	vm_check "mount zuftmem" mount -t zuftmem none "$m"
	# a shell that takes a label of its own (root has CAP_MAC_ADMIN), then
	# creates a file and a directory: each must carry it as security.SMACK64
	vm_check "tmpfs labels a new file (the control)" sh -c \
		"echo -n $label > $attr && : > /run/zuf-lbl &&
		 '$PROBE' listxattr /run/zuf-lbl | grep -qx security.SMACK64"
	vm_check "create as label $label" sh -c \
		"echo -n $label > $attr && : > '$m/lbl' && mkdir '$m/lbld'"
	vm_check "a new file carries the creator's label (security.SMACK64 from security_inode_init_security)" \
		sh -c "'$PROBE' listxattr '$m/lbl' | grep -qx security.SMACK64"
	vm_check "a new directory carries it too" \
		sh -c "'$PROBE' listxattr '$m/lbld' | grep -qx security.SMACK64"
	echo 2 > /proc/sys/vm/drop_caches
	got=$(getfattr --absolute-names --only-values -n security.SMACK64 "$m/lbl" 2>&1 | od -An -c | tr -s ' ')
	vm_log "security.SMACK64 of $m/lbl after drop_caches:$got"
	vm_check "the label read back after eviction is $label" \
		test "$got" = "$(printf %s "$label" | od -An -c | tr -s ' ')"
	vm_check "umount zuftmem" umount "$m"
	memfs_stop
}

for t in ${@:-races window xattr dupino nlink pmem statfs readdir evict slow mapsync invalput reattach}; do
	"t_$t"
done

vm_check "umount zuf-root" umount /sys/fs/zuf
vm_check "rmmod zuf" rmmod zuf
vm_summary
