#!/bin/bash
# Guest script: pmfs2 with an NVMe capacity tier over zuf.ko (run by
# test_zuf_tier.sh).  The VM's pmem (/dev/pmem0, fsdax) is ~8 % of
# pmem + NVMe (/dev/nvme0n1):
#   mkfs.pmfs2 --tier NVMe PMEM; a mount without tier= is refused, and so
#   are an unknown option and a bad value (the messages name them);
#   mount -t pmfs2 -o tier=NVMe,tier_backend=uring; fill 90 % of the
#   capacity statfs reports with verifiable files (no write may fail, e.g.
#   with ENOSPC); most of it must have been migrated to the NVMe (the
#   device's own write counter); read everything back and compare byte for
#   byte; over zuf, a remount changes the watermarks and refuses a new
#   queue depth or an unknown option; umount, mount (default backend), read everything again; umount;
#   fsck.pmfs2 -n clean.  One PASS/FAIL line per check and INFO lines with
#   the figures in $VM_RESULTS/summary.txt.
# Arguments (after -- on run-vm.sh's command line):
#   --transport zuf|fuse  zuf (default) or zusd over FUSE in the guest
#   --fill-pct N          fill N % of the capacity (default 90)
#   --file-mib N          size of most files (default 32)
#   --corrupt             deliberately change one byte of a tiered file after
#                         the first read-back: the second one must then FAIL
set -euo pipefail
# shellcheck source=tests/vm/guest-lib.sh disable=SC1091
. "${VM_LIB:-$(dirname "$0")/guest-lib.sh}"
# shellcheck source=tests/vm/zuf-lib.sh disable=SC1091
. "$VM_SRCDIR/tests/vm/zuf-lib.sh"

fill_pct=90 file_mib=32 corrupt=0
while (($#)); do
	case $1 in
	--transport) TIER_TRANSPORT=$2; shift ;;
	--fill-pct) fill_pct=$2; shift ;;
	--file-mib) file_mib=$2; shift ;;
	--corrupt) corrupt=1 ;;
	*) vm_die "unknown argument $1" ;;
	esac
	shift
done
export TIER_TRANSPORT
# shellcheck source=tests/vm/tier-lib.sh disable=SC1091
. "$VM_SRCDIR/tests/vm/tier-lib.sh"

mnt=/mnt/tier
man=$VM_RESULTS/manifest.txt
sum=$VM_RESULTS/summary.txt
: > "$sum"
trap 'tier_cleanup "$mnt"' EXIT
info() { echo "INFO: $*" | tee -a "$sum"; }

vm_log "pmfs2 + NVMe tier over $TIER_TRANSPORT: kernel $(uname -r), $(nproc) CPUs"
pmem=$(vm_pmem_setup namespace0.0) || vm_die "no pmem"
nvme=$(vm_nvme_dev zufs0) || vm_die "no NVMe"
pmem_b=$(blockdev --getsize64 "$pmem")
nvme_b=$(blockdev --getsize64 "$nvme")
pct=$(awk -v p="$pmem_b" -v n="$nvme_b" 'BEGIN { printf "%.1f", 100 * p / (p + n) }')
info "devices: $pmem $((pmem_b >> 20)) MiB (fsdax), $nvme $((nvme_b >> 20)) MiB: pmem is $pct % of the total; transport $TIER_TRANSPORT"
vm_check "pmem is 5-11 % of pmem + NVMe ($pct %)" \
	awk -v p="$pct" 'BEGIN { exit !(p >= 5 && p <= 11) }'

t0=$(tier_now)
tier_gen 1 $((64 << 20)) > /dev/null
info "data generator (tier_gen): $(tier_mibs $((64 << 20)) "$(tier_secs "$t0" "$(tier_now)")") MiB/s"
vm_check "mkfs.pmfs2 --tier $nvme $pmem" sh -c \
	"'$MKFS_PMFS2' -f --tier '$nvme' '$pmem' > '$VM_RESULTS/mkfs.txt' 2>&1"
tier_server_start || vm_die "cannot start the $TIER_TRANSPORT server"

# ---- refusal: the tier is required ----------------------------------------------
if tier_mount "$pmem" "$mnt" "tier_low=10" 2>"$VM_RESULTS/notier.txt"; then
	vm_fail "mount without tier= is refused"
	tier_umount "$mnt" || :
else
	vm_pass "mount without tier= is refused"
fi
tier_uuid=$(sed -n 's/.*device UUID //p' "$VM_RESULTS/mkfs.txt" | head -1)
vm_check "the refusal names the tier's UUID ($tier_uuid) and tier=PATH" sh -c \
	"cat '$VM_RESULTS/notier.txt' '$TIER_LOG' | grep -qF -- '$tier_uuid' &&
	 cat '$VM_RESULTS/notier.txt' '$TIER_LOG' | grep -qF 'tier=PATH'"

# ---- refusal: an unknown option or a bad value, as ext4 refuses them -------------
for bad in "tier=$nvme,tier_lwo=5:unknown mount option 'tier_lwo=5'" \
	"tier=$nvme,tier_qd=999:want tier_qd=N with N from 1 to 256"; do
	o=${bad%%:*} why=${bad#*:}
	if tier_mount "$pmem" "$mnt" "$o" 2>"$VM_RESULTS/badopt.txt"; then
		vm_fail "mount -o $o is refused"
		tier_umount "$mnt" || :
	else
		vm_pass "mount -o $o is refused"
	fi
	vm_check "the refusal says: $why" sh -c \
		"cat '$VM_RESULTS/badopt.txt' '$TIER_LOG' | grep -qF -- \"$why\""
done

# ---- mount with the tier, fill 90 % ------------------------------------------------
opts="tier=$nvme,tier_backend=uring,tier_low=10,tier_high=20"
vm_check "mount ($TIER_TRANSPORT) -o $opts" tier_mount "$pmem" "$mnt" "$opts"
mountpoint -q "$mnt" || vm_die "not mounted"
vm_check "the tier is attached via io_uring" grep -q "$nvme.* via uring" "$TIER_LOG"
read -r blocks bsize < <(stat -f -c '%b %S' "$mnt")
total=$((blocks * bsize))
goal=$((total * fill_pct / 100))
info "statfs: $total bytes ($((total >> 20)) MiB); filling $fill_pct %: $goal bytes"
vm_check "statfs counts pmem + NVMe" test "$total" -gt $(((pmem_b + nvme_b) * 9 / 10))
mkdir "$mnt/data"
tier_plan "$goal" "$file_mib" > "$man"
nfiles=$(wc -l < "$man")
read -r _ nvw0 < <(tier_blkstat "$nvme")
t0=$(tier_now)
vm_check "write $nfiles files, $goal bytes: no write fails (no ENOSPC)" \
	tier_all write "$mnt/data" "$man"
t1=$(tier_now)
read -r _ nvw1 < <(tier_blkstat "$nvme")
secs=$(tier_secs "$t0" "$t1")
info "wrote $goal bytes ($((goal >> 20)) MiB) in $nfiles files in $secs s: $(tier_mibs "$goal" "$secs") MiB/s"
read -r bfree < <(stat -f -c '%f' "$mnt")
used=$(((blocks - bfree) * bsize))
vm_check "statfs: $used bytes used >= $goal written" test "$used" -ge "$goal"
moved=$((nvw1 - nvw0))
on_tier=$(awk -v m="$moved" -v g="$goal" 'BEGIN { printf "%.1f", 100 * m / g }')
info "migrated to the NVMe while filling: $moved bytes ($((moved >> 20)) MiB, $on_tier % of the data; $(tier_mibs "$moved" "$secs") MiB/s)"
vm_check "most data was migrated to the NVMe ($on_tier %; >= written - pmem)" \
	test "$moved" -ge $((goal - pmem_b))

# ---- read back -----------------------------------------------------------------------
readback() { # NAME
	local r0 r1 t0 t1 secs ok=0 errs=$VM_RESULTS/${1// /-}.errors
	read -r r0 _ < <(tier_blkstat "$nvme")
	t0=$(tier_now)
	tier_all verify "$mnt/data" "$man" 2>"$errs" || ok=$?
	head -20 "$errs" >&2
	t1=$(tier_now)
	read -r r1 _ < <(tier_blkstat "$nvme")
	secs=$(tier_secs "$t0" "$t1")
	info "$1: read $goal bytes in $secs s: $(tier_mibs "$goal" "$secs") MiB/s, $(((r1 - r0) >> 20)) MiB of it from the NVMe"
	((ok == 0)) || info "$1: of $nfiles files, $(grep -c 'WRONG DATA' "$errs") read back wrong data," \
		"$(grep -c 'read error' "$errs") failed with a read error (see $(basename "$errs"))"
	vm_check "$1: all $nfiles files read back exactly as written" test "$ok" = 0
	vm_check "$1: the reads reached the NVMe (>= half of what lives there)" \
		test $((r1 - r0)) -ge $(((goal - pmem_b) / 2))
}
readback "read-back"
if [ "$TIER_TRANSPORT" = zuf ]; then
	# f1 was written first: long since on the NVMe, with no pmem address
	filefrag -s -v "$mnt/data/f1" > "$VM_RESULTS/filefrag-f1.txt" 2>&1 || :
	info "filefrag f1: $(tail -1 "$VM_RESULTS/filefrag-f1.txt")," \
		"$(grep -c unknown_loc "$VM_RESULTS/filefrag-f1.txt") of them unknown_loc"
	vm_check "filefrag -v of migrated f1: its extents on the NVMe are unknown_loc" \
		grep -q 'unknown_loc' "$VM_RESULTS/filefrag-f1.txt"
fi
if ((corrupt)); then
	# f1 was written first: long since migrated; the write promotes its block
	python3 -c "
import os, sys
fd = os.open(sys.argv[1], os.O_RDWR); off = 3 << 20
b = os.pread(fd, 1, off); os.pwrite(fd, bytes([b[0] ^ 0xff]), off); os.close(fd)" "$mnt/data/f1"
	info "--corrupt: flipped the bits of byte $((3 << 20)) of f1 (the next read-back must FAIL)"
fi
if [[ $TIER_TRANSPORT != fuse ]]; then
	# a remount moves the watermarks; the queue depth is fixed at mount
	vm_check "mount -o remount,tier_low=12,tier_high=25 (zuf)" \
		mount -o "remount,tier_low=12,tier_high=25" "$mnt"
	vm_check "the server applied the watermarks" \
		grep -q "tier watermarks now 12%/25%" "$TIER_LOG"
	# what a restarted zusd gets at re-attach: the remount's keys merged
	vm_check "/proc/mounts keeps tier=$nvme and shows tier_low=12,tier_high=25" \
		sh -c "grep ' $mnt pmfs2 ' /proc/mounts | grep 'tier=$nvme,' |
		       grep -q 'tier_low=12,tier_high=25'"
	if mount -o remount,tier_qd=8 "$mnt" 2>/dev/null; then
		vm_fail "mount -o remount,tier_qd=8 is refused"
	else
		vm_pass "mount -o remount,tier_qd=8 is refused"
	fi
	vm_check "the refusal says why" grep -q "tier_qd= cannot change" "$TIER_LOG"
	if mount -o remount,bogus "$mnt" 2>/dev/null; then
		vm_fail "mount -o remount,bogus is refused"
	else
		vm_pass "mount -o remount,bogus is refused"
	fi
	vm_check "still mounted read-write after the refused remounts" \
		sh -c "touch '$mnt/after-remount' && grep ' $mnt pmfs2 rw' /proc/mounts"
fi
vm_check "umount" tier_umount "$mnt"
vm_check "mount again -o tier=$nvme (default backend)" tier_mount "$pmem" "$mnt" "tier=$nvme"
vm_check "the tier is attached again" grep -q "$nvme.* via uring" "$TIER_LOG"
readback "after remount"
vm_check "final umount" tier_umount "$mnt"
tier_server_stop
vm_check "no tier I/O errors logged" sh -c "! grep -h 'I/O failed' '$VM_RESULTS'/zusd-*.log"
vm_check "fsck.pmfs2 -n $pmem: clean" sh -c "'$FSCK_PMFS2' -n '$pmem' > '$VM_RESULTS/fsck.txt' 2>&1"
cat "$VM_RESULTS/fsck.txt"
vm_summary
