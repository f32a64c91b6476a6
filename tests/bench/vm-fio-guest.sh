#!/bin/bash
# Guest script of tests/bench/vm-fio.sh: the same fio workloads, in one VM
# run, on the same pmem device (/dev/pmem0) with
#   ext4-dax     mkfs.ext4 + mount -o dax
#   pmfs2-zuf    mkfs.pmfs2 + zusd --transport=zuf + mount -t pmfs2
#   pmfs2-fuse   mkfs.pmfs2 + zusd --transport=fuse /dev/pmem0 DIR
# ${BENCH_ROUNDS:-3} rounds, each one the three filesystems in that order
# (fresh mkfs, server and mount every time), so that TCG's drift over the
# run hits all three alike and the host can take per-round ratios.
# Workloads (each ${BENCH_SECS:-5} s, time based): 4 KiB randwrite and
# randread (O_DIRECT, psync) at 1 and 2 jobs, 64 KiB sequential write and
# read (O_DIRECT, psync, 1 job), then file create, stat and unlink rates
# (fio's filecreate/filestat/filedelete engines, ${BENCH_FILES:-1000} files).
# Results: $VM_RESULTS/bench.tsv (round, fs, test, value, unit), the fio JSON
# of every run next to it (fio-rROUND-FS-JOB.json).
set -euo pipefail
# shellcheck source=tests/vm/guest-lib.sh disable=SC1091
. "${VM_LIB:-$(dirname "$0")/../vm/guest-lib.sh}"
# shellcheck source=tests/vm/zuf-lib.sh disable=SC1091
. "$VM_SRCDIR/tests/vm/zuf-lib.sh"

secs=${BENCH_SECS:-5}
rounds=${BENCH_ROUNDS:-3}
nfiles=${BENCH_FILES:-1000}
fsize=${BENCH_FILE_SIZE:-64M}
mnt=/mnt/bench
fuse_pid=
out=$VM_RESULTS/bench.tsv
: > "$out"
: > "$VM_RESULTS/summary.txt"

cleanup() {
	if mountpoint -q "$mnt" 2>/dev/null; then
		umount "$mnt" 2>/dev/null || umount -l "$mnt" 2>/dev/null || :
	fi
	if [[ -n $fuse_pid ]]; then
		kill "$fuse_pid" 2>/dev/null || :
		wait "$fuse_pid" 2>/dev/null || :
	fi
	zusd_stop TERM
}
trap cleanup EXIT

# record FS TEST JSON FIELD UNIT: one figure of round $round from a fio JSON
record() {
	local fs=$1 test=$2 json=$3 field=$4 unit=$5 v
	v=$(python3 - "$json" "$field" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
dirn, what = sys.argv[2].split(".")
tot = 0.0
for j in d["jobs"]:
    if j.get("error"):
        sys.exit("fio job %s failed: error %d" % (j["jobname"], j["error"]))
    tot += j[dirn][what]
if what == "bw":            # KiB/s -> MiB/s
    tot /= 1024.0
print("%.1f" % tot)
EOF
) || { vm_fail "r$round $fs: $test"; return 0; }
	printf '%s\t%s\t%s\t%s\t%s\n' "$round" "$fs" "$test" "$v" "$unit" >> "$out"
	vm_pass "r$round $fs: $test = $v $unit"
}

# run_suite FS: every workload on the filesystem mounted at $mnt
run_suite() {
	local fs=$1 j f
	local common=(--directory="$mnt" --ioengine=psync --direct=1
		--time_based --runtime="$secs" --size="$fsize" --randrepeat=0
		--group_reporting=0 --output-format=json)
	fio_run() { # NAME ARGS...
		local n=$1
		shift
		f=$VM_RESULTS/fio-r$round-$fs-$n.json
		fio --name="$n" "${common[@]}" --output="$f" "$@" >/dev/null 2>&1 ||
			vm_log "r$round $fs $n: fio exited with $?"
	}
	# sequential first: it lays out the files the random jobs reuse
	fio_run seqwrite --rw=write --bs=64k --numjobs=1 --filename_format='seq.$jobnum'
	record "$fs" "seqwrite 64k 1j" "$f" write.bw MiB/s
	fio_run seqread --rw=read --bs=64k --numjobs=1 --filename_format='seq.$jobnum'
	record "$fs" "seqread 64k 1j" "$f" read.bw MiB/s
	for j in 1 2; do
		fio_run "randwrite$j" --rw=randwrite --bs=4k --numjobs="$j" \
			--filename_format='rand.$jobnum'
		record "$fs" "randwrite 4k ${j}j" "$f" write.iops IOPS
	done
	for j in 1 2; do
		fio_run "randread$j" --rw=randread --bs=4k --numjobs="$j" \
			--filename_format='rand.$jobnum'
		record "$fs" "randread 4k ${j}j" "$f" read.iops IOPS
	done
	mkdir -p "$mnt/meta"
	local meta=(--directory="$mnt/meta" --nrfiles="$nfiles" --openfiles=1
		--filesize=4k --fallocate=none --filename_format='m.$filenum'
		--create_on_open=1 --output-format=json)
	f=$VM_RESULTS/fio-r$round-$fs-create.json
	fio --name=meta --ioengine=filecreate "${meta[@]}" --output="$f" >/dev/null 2>&1 || :
	record "$fs" "create" "$f" read.iops ops/s
	f=$VM_RESULTS/fio-r$round-$fs-stat.json
	fio --name=meta --ioengine=filestat "${meta[@]}" --output="$f" >/dev/null 2>&1 || :
	record "$fs" "stat" "$f" read.iops ops/s
	f=$VM_RESULTS/fio-r$round-$fs-unlink.json
	fio --name=meta --ioengine=filedelete "${meta[@]}" --output="$f" >/dev/null 2>&1 || :
	record "$fs" "unlink" "$f" read.iops ops/s
	vm_check "r$round $fs: all files unlinked" test -z "$(ls -A "$mnt/meta")"
}

vm_log "vm-fio: kernel $(uname -r), $(nproc) CPUs, $rounds rounds, ${secs}s per fio job"
pmem=$(vm_pmem_setup namespace0.0) || vm_die "no pmem"
mkdir -p "$mnt"
zuf_load timeout=30
modprobe fuse 2>/dev/null || :

# ---- ext4 -o dax ---------------------------------------------------------------
bench_ext4() {
	mkfs.ext4 -F -q -b 4096 "$pmem"
	mount -t ext4 -o dax "$pmem" "$mnt"
	run_suite ext4-dax
	umount "$mnt"
}

# ---- pmfs2 over zuf -------------------------------------------------------------
bench_zuf() {
	"$MKFS_PMFS2" -f -q "$pmem"
	zusd_start --threads=2 || vm_die "zusd did not start"
	mount -t pmfs2 "$pmem" "$mnt"
	echo x > "$mnt/probe"
	vm_check "r$round pmfs2-zuf: files are DAX" vm_statx_dax "$mnt/probe"
	rm -f "$mnt/probe"
	run_suite pmfs2-zuf
	umount "$mnt"
	zusd_stop TERM
	vm_check "r$round pmfs2-zuf: fsck clean" "$FSCK_PMFS2" -n "$pmem"
}

# ---- pmfs2 over FUSE ----------------------------------------------------------
bench_fuse() {
	local n=0 log=$VM_RESULTS/zusd-fuse-r$round.log
	"$MKFS_PMFS2" -f -q "$pmem"
	"$ZUSD" --transport=fuse --plugin "$PMFS2_SO" "$pmem" "$mnt" > "$log" 2>&1 &
	fuse_pid=$!
	until [[ $(findmnt -n -o FSTYPE "$mnt" 2>/dev/null) == fuse* ]]; do
		if ((n++ > 100)) || ! kill -0 "$fuse_pid" 2>/dev/null; then
			cat "$log" >&2
			vm_die "FUSE mount failed"
		fi
		sleep 0.1
	done
	run_suite pmfs2-fuse
	umount "$mnt"
	wait "$fuse_pid" || :
	fuse_pid=
	vm_check "r$round pmfs2-fuse: fsck clean" "$FSCK_PMFS2" -n "$pmem"
}

for ((round = 1; round <= rounds; round++)); do
	vm_log "vm-fio: round $round of $rounds"
	bench_ext4
	bench_zuf
	bench_fuse
done
vm_summary
