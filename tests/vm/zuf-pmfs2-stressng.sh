#!/bin/bash
# Guest script: stress-ng's filesystem stressors on pmfs2 over zuf.ko (run
# by test_zuf_pmfs2.sh).  Every stressor of stress-ng's "filesystem" class
# that exercises a filesystem, one after another, with --verify where it
# has one, for STRESSNG_SECONDS in all (default 120; the issue's long run is
# 600); two instances each, so each also races itself.  Then: stress-ng
# reports no failed stressor, umount, fsck.pmfs2 -n clean, rmmod (nothing
# leaked); the harness scans the kernel log.
set -euo pipefail
# shellcheck source=tests/vm/guest-lib.sh disable=SC1091
. "${VM_LIB:-$(dirname "$0")/guest-lib.sh}"
# shellcheck source=tests/vm/zuf-lib.sh disable=SC1091
. "$VM_SRCDIR/tests/vm/zuf-lib.sh"

mnt=/mnt/stressng
total=${STRESSNG_SECONDS:-120}
: > "$VM_RESULTS/summary.txt"
trap 'zuf_cleanup "$mnt"' EXIT

# not about a filesystem: bind mounts (stress-ng calls it pathological),
# binderfs and procfs (other filesystems), ioprio (the I/O scheduler)
exclude=bind-mount,binderfs,procfs,ioprio

vm_log "stress-ng on pmfs2 over zuf: kernel $(uname -r), $(nproc) CPUs, $(stress-ng --version)"
command -v stress-ng > /dev/null || vm_die "stress-ng is not installed (tests/vm/install-deps.sh)"
pmem=$(vm_pmem_setup namespace0.0) || vm_die "no pmem"
vm_check "insmod zuf.ko" zuf_load timeout=30 restart_timeout=15
vm_check "mkfs.pmfs2 $pmem" "$MKFS_PMFS2" -f -q "$pmem"
vm_check "zusd --transport=zuf starts" zusd_start
mkdir -p "$mnt"
vm_check "mount -t pmfs2 $pmem $mnt" mount -t pmfs2 "$pmem" "$mnt"
mountpoint -q "$mnt" || vm_die "pmfs2 is not mounted"
mkdir "$mnt/work"

stressors=$(stress-ng --class 'filesystem?' 2>&1 | sed 's/.*stressors: //' | tr ' ' '\n' |
	grep -vxE "${exclude//,/|}" | grep -c .)
per=$((total / stressors))
((per >= 1)) || per=1
vm_log "stress-ng: $stressors stressors, $per s each, 2 instances"
log=$VM_RESULTS/stress-ng.log
set +e
(cd "$mnt/work" && stress-ng --temp-path "$mnt/work" --class filesystem --sequential 2 \
	--exclude "$exclude" --timeout "$per" --verify --metrics-brief \
	--hdd-bytes 64M --iomix-bytes 64M --fallocate-bytes 64M \
	--log-file "$log") > /dev/null 2>&1
rc=$?
set -e
grep -E "skipping stressor|not supported|fail|successful run|unsuccessful" "$log" |
	sed 's/^/[vm] /' | sort -u | head -40 >&2 || :
vm_check "stress-ng: every stressor passed (exit $rc)" sh -c \
	"[ $rc -eq 0 ] && grep -q '] successful run completed' '$log' && ! grep -q ' fail: ' '$log'"
vm_check "zusd still serving" kill -0 "$ZUSD_PID"
vm_check "umount $mnt" umount "$mnt"
zusd_stop TERM
vm_check "fsck.pmfs2 -n $pmem: clean" "$FSCK_PMFS2" -n "$pmem"
vm_check "umount zuf-root" umount /sys/fs/zuf
vm_check "rmmod zuf (nothing leaked)" rmmod zuf
vm_summary
