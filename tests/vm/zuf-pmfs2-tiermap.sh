#!/bin/bash
# Guest script: pmfs2 with an NVMe tier over zuf.ko (run by test_zuf_pmfs2.sh
# with a small pmem, --pmem-size 128M): data that the migrator moved to the
# tier is read (and rewritten) through zuf's map-mode fallback for
# ZUFS_EXTENT_MAPPED extents, mmap faults promote it back to pmem, and the
# kernel's extent cache is invalidated when blocks move.
#   mkfs.pmfs2 --tier /dev/nvme0n1 /dev/pmem0; mount -t pmfs2 -o tier=...;
#   write more than pmem holds (statfs: pmem + tier; used > pmem);
#   sha256 of every file by buffered, O_DIRECT and mmap reads; files read
#   over and over while a writer forces migration (blocks reused under
#   stale extents would show); fio write+verify, then verify-only through
#   O_DIRECT, buffered and mmap; remount and read it all again; a server
#   that says "off pmem" for everything (reads still right, a fault that
#   asked for pmem gets SIGBUS and a logged bad reply, no oops); fsck -n.
set -euo pipefail
# shellcheck source=tests/vm/guest-lib.sh disable=SC1091
. "${VM_LIB:-$(dirname "$0")/guest-lib.sh}"
# shellcheck source=tests/vm/zuf-lib.sh disable=SC1091
. "$VM_SRCDIR/tests/vm/zuf-lib.sh"

mnt=/mnt/pmfs2
: > "$VM_RESULTS/summary.txt"
trap 'zuf_cleanup "$mnt"' EXIT
# zusd loads the tier plugin by name
export ZUS_PLUGIN_PATH=$VM_BUILDDIR/plugins/tier/.libs

sum_buffered() { sha256sum < "$1" | cut -d' ' -f1; }
sum_direct() { dd if="$1" bs=1M iflag=direct status=none | sha256sum | cut -d' ' -f1; }
sum_mmap() {
	python3 - "$1" <<'EOF'
import hashlib, mmap, sys
with open(sys.argv[1], 'rb') as f:
    m = mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ)
    h = hashlib.sha256()
    for i in range(0, len(m), 1 << 20):
        h.update(m[i:i + (1 << 20)])
    print(h.hexdigest())
EOF
}
# check_sums LABEL FILE SUM: the three ways of reading give SUM
check_sums() {
	local how
	for how in buffered direct mmap; do
		vm_check "$1: $(basename "$2") by $how read" \
			test "$("sum_$how" "$2")" = "$3"
	done
}
used_bytes() { echo $(( $(stat -f -c '(%b - %f) * %S' "$mnt") )); }
bad_replies() { dmesg | grep -c "zuf: bad server reply" || :; }
# zuf-root counters: invalidations, map_fallbacks, fault_fills
zstat() { sed -n "s/^$1 //p" /sys/fs/zuf/state; }

vm_log "pmfs2 + NVMe tier over zuf: kernel $(uname -r), $(nproc) CPUs"
pmem=$(vm_pmem_setup namespace0.0) || vm_die "no pmem"
nvme=$(vm_nvme_dev) || vm_die "no NVMe"
pmem_bytes=$(blockdev --getsize64 "$pmem")
nvme_bytes=$(blockdev --getsize64 "$nvme")
vm_log "pmem $pmem $((pmem_bytes >> 20)) MiB, tier $nvme $((nvme_bytes >> 20)) MiB"
vm_check "insmod zuf.ko" zuf_load timeout=60 restart_timeout=30
vm_check "mkfs.pmfs2 --tier $nvme $pmem" "$MKFS_PMFS2" -f -q --tier "$nvme" "$pmem"
vm_check "zusd --transport=zuf starts" zusd_start
opts="tier=$nvme,tier_low=25,tier_high=50"
mkdir -p "$mnt"
vm_check "mount -t pmfs2 -o $opts" mount -t pmfs2 -o "$opts" "$pmem" "$mnt"
mountpoint -q "$mnt" || vm_die "pmfs2 is not mounted"
vm_check "zusd attached the tier" grep -q "tier $nvme" "$ZUSD_LOG"
total=$(( $(stat -f -c '%b * %S' "$mnt") ))
vm_log "statfs: $((total >> 20)) MiB"
vm_check "statfs: pmem + tier capacity" test "$total" -gt $((pmem_bytes + nvme_bytes / 2))
: > "$mnt/probe"
vm_check "files are DAX (direct mode)" vm_statx_dax "$mnt/probe"
rm -f "$mnt/probe"

# ---- more data than pmem holds --------------------------------------------------
sum_a=$(head -c 64M /dev/urandom | tee "$mnt/a" | sha256sum | cut -d' ' -f1)
vm_check "write a (64 MiB, buffered)" test "$(stat -c %s "$mnt/a")" = $((64 << 20))
# the source in the guest's RAM (tmpfs), written with O_DIRECT
head -c 128M /dev/urandom > /var/tmp/b.src
sum_b=$(sum_buffered /var/tmp/b.src)
vm_check "write b (128 MiB, O_DIRECT)" \
	dd if=/var/tmp/b.src of="$mnt/b" bs=1M oflag=direct status=none
rm -f /var/tmp/b.src
vm_check "b: size" test "$(stat -c %s "$mnt/b")" = $((128 << 20))
used=$(used_bytes)
vm_log "used $((used >> 20)) MiB of $((pmem_bytes >> 20)) MiB pmem"
vm_check "statfs: more in use than pmem holds (data on the tier)" test "$used" -gt "$pmem_bytes"
cat "$ZUSD_LOG" > "$VM_RESULTS/zusd-after-fill.log"

fb0=$(zstat map_fallbacks) ff0=$(zstat fault_fills)
check_sums "after migration" "$mnt/a" "$sum_a"
check_sums "after migration" "$mnt/b" "$sum_b"
vm_log "zuf: $(($(zstat map_fallbacks) - fb0)) map-mode fallbacks, $(($(zstat fault_fills) - ff0)) fault fills, $(zstat invalidations) invalidations"
vm_check "zuf read tiered ranges in map mode" test "$(zstat map_fallbacks)" -gt "$fb0"
vm_check "zuf faults asked the server for pmem" test "$(zstat fault_fills)" -gt "$ff0"
vm_check "the migrator invalidated the kernel's extents" test "$(zstat invalidations)" -gt 0

# ---- reads while blocks move: the extent cache must be invalidated -----------
# a is read (extents cached) over and over while c forces migration; a block
# migrated under a stale extent and reused for c would show as a bad sum
inv0=$(zstat invalidations)
head -c 96M /dev/urandom > "$mnt/.c-pending" 2>/dev/null &
wpid=$!
rounds=0 bad=0
while kill -0 "$wpid" 2>/dev/null || ((rounds < 2)); do
	for how in buffered direct mmap; do
		got=$("sum_$how" "$mnt/a" 2>&1) || got="error: $got"
		if [[ $got != "$sum_a" ]]; then
			bad=$((bad + 1))
			echo "[vm] round $rounds: a by $how read: $got" >&2
		fi
	done
	rounds=$((rounds + 1))
	((rounds < 20)) || break
done
wrc=0
wait "$wpid" || wrc=$?
vm_log "a read $rounds rounds (x3) while writing c"
vm_check "writer of c (96 MiB) during the reads" test "$wrc" = 0
vm_check "a read $rounds times x3 while migrating: always intact" test "$bad" = 0
vm_log "$(($(zstat invalidations) - inv0)) invalidations during the reads"
vm_check "blocks moved (invalidations) during the reads" test "$(zstat invalidations)" -gt "$inv0"
sum_c=$(sum_buffered "$mnt/.c-pending")
mv "$mnt/.c-pending" "$mnt/c"
check_sums "after the race" "$mnt/b" "$sum_b"
vm_check "c by O_DIRECT read" test "$(sum_direct "$mnt/c")" = "$sum_c"

# ---- fio: write + verify, then verify only (other read paths) -------------------
fio_job() { # NAME fio-args...
	local name=$1
	shift
	fio --name=fv --directory="$mnt" --rw=write --bs=64k --size=24M \
		--numjobs=2 --ioengine=psync --verify=crc32c --verify_fatal=1 \
		--verify_state_save=0 --output-format=json \
		--output="$VM_RESULTS/fio-$name.json" "$@" && fio_ok "$VM_RESULTS/fio-$name.json"
}
vm_check "fio write+verify O_DIRECT, 2 jobs" fio_job write --direct=1 --do_verify=1
vm_check "fio verify-only O_DIRECT" fio_job vdirect --direct=1 --verify_only
vm_check "fio verify-only buffered" fio_job vbuffered --direct=0 --verify_only
vm_check "fio verify-only mmap" fio_job vmmap --ioengine=mmap --verify_only
used=$(used_bytes)
vm_check "statfs: still more in use than pmem holds" test "$used" -gt "$pmem_bytes"

# ---- writes into tiered data (promoted by the server), read back -----------------
vm_check "overwrite 1 MiB in the middle of b (O_DIRECT)" \
	dd if=/dev/zero of="$mnt/b" bs=1M seek=64 count=1 conv=notrunc oflag=direct status=none
sum_b=$(sum_direct "$mnt/b")
vm_check "b: the zeros are there" \
	test "$(dd if="$mnt/b" bs=1M skip=64 count=1 status=none | tr -d '\0' | wc -c)" = 0
vm_check "b: buffered and mmap agree with O_DIRECT" \
	test "$(sum_buffered "$mnt/b")" = "$sum_b" -a "$(sum_mmap "$mnt/b")" = "$sum_b"

# ---- remount: everything again -------------------------------------------------
vm_check "umount" umount "$mnt"
vm_check "mount again" mount -t pmfs2 -o "$opts" "$pmem" "$mnt"
check_sums "after remount" "$mnt/a" "$sum_a"
check_sums "after remount" "$mnt/b" "$sum_b"
vm_check "after remount: c by buffered read" test "$(sum_buffered "$mnt/c")" = "$sum_c"
vm_check "after remount: fio verify-only O_DIRECT" fio_job vremount --direct=1 --verify_only

# ---- a server that says "off pmem" for everything ---------------------------------
zusd_stop TERM
if zusd_start --test-evil=mapped; then
	vm_pass "zusd --test-evil=mapped reattaches"
	vm_check "all MAPPED: a by buffered read (map mode)" \
		test "$(sum_buffered "$mnt/a")" = "$sum_a"
	vm_check "all MAPPED: c by O_DIRECT read (map mode)" \
		test "$(sum_direct "$mnt/c")" = "$sum_c"
	before=$(bad_replies)
	# a fault asked for pmem and got "off pmem": SIGBUS, not a hang
	set +e
	timeout 120 python3 -c "
import mmap
f = open('$mnt/a', 'rb')
m = mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ)
m[12345]" 2>/dev/null
	prc=$?
	set -e
	vm_check "all MAPPED: mmap fault fails with SIGBUS (got $prc)" test "$prc" = $((128 + 7))
	vm_check "all MAPPED: the bad reply is logged" test "$(bad_replies)" -gt "$before"
	zusd_stop TERM
else
	vm_fail "zusd --test-evil=mapped reattaches"
fi
vm_check "zusd restarted" zusd_start
vm_check "after the restart: a by mmap read" test "$(sum_mmap "$mnt/a")" = "$sum_a"

# ---- teardown, fsck ---------------------------------------------------------------
cat "$ZUSD_LOG" > "$VM_RESULTS/zusd-last.log"
vm_check "final umount" umount "$mnt"
zusd_stop TERM
vm_check "fsck.pmfs2 -n $pmem: clean" "$FSCK_PMFS2" -n "$pmem"
vm_check "umount zuf-root" umount /sys/fs/zuf
vm_check "rmmod zuf (nothing leaked)" rmmod zuf
vm_summary
