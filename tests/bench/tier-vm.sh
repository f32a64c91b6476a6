#!/bin/bash
# Host side of the tiering VM benchmark (make bench-vm): one VM run of
# tier-vm-guest.sh: the NVMe device's raw sequential write MiB/s (fio,
# O_DIRECT, 1 MiB), the pmfs2 migration MiB/s pmem -> NVMe through a real
# zuf mount with the io_uring tier backend, and 4 KiB random read latency
# (p50/p99/max) on a hot set that stays on pmem, with the tier idle and
# while the migration runs; then the sequential read MiB/s (fio O_DIRECT
# 1 MiB psync) of the migrated data, which lives on the NVMe (over zuf:
# map mode), next to the same read of the raw NVMe and of the hot set on
# pmem (direct mode), all in the same run; a table with the ratios, or JSON
# with --json.
#   tier-vm.sh [--json] [--transport zuf|fuse] [run-vm.sh options...]
# Under TCG absolute figures mean little; compare the ratios (DESIGN.md §9).
# Environment: TIER_BENCH_PMEM (default 512M), TIER_BENCH_NVME (2G),
#   TIER_BENCH_SECS, TIER_BENCH_HOT_MIB, TIER_BENCH_RAW_MIB, TIER_BENCH_QD
#   (passed to the guest), VM_TIMEOUT (900).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
vmdir=$here/../vm
# shellcheck source=tests/vm/host-lib.sh disable=SC1091
. "$vmdir/host-lib.sh"
: "${VM_BUILDDIR:?set VM_BUILDDIR (make bench-vm does)}"
json=0 transport=zuf
args=()
while (($#)); do
	case $1 in
	--json) json=1 ;;
	--transport) transport=$2; shift ;;
	*) args+=("$1") ;;
	esac
	shift
done
vm_need_built kmod/zuf.ko zusd/zusd plugins/pmfs2/.libs/pmfs2.so plugins/tier/.libs/tier.so \
	mkfs/mkfs.pmfs2 mkfs/fsck.pmfs2 >&2

vm_run tier-vm --timeout "${VM_TIMEOUT:-900}" \
	--pmem-size "${TIER_BENCH_PMEM:-512M}" --nvme-size "${TIER_BENCH_NVME:-2G}" \
	"${args[@]}" "$here/tier-vm-guest.sh" -- --transport "$transport" >&2
rc=$VM_RC rundir=$VM_RUNDIR
tsv=$rundir/results/bench.tsv
if [[ -f $rundir/results/summary.txt ]]; then
	sed 's/^/  /' "$rundir/results/summary.txt" >&2
fi
if [[ ! -s $tsv ]]; then
	echo "FAIL: tier-vm: no results (exit $rc; ${rundir:-?}/console.log)" >&2
	exit 1
fi
python3 - "$tsv" "$json" "$rc" "$(cat "$rundir/elapsed" 2>/dev/null || echo 0)" <<'PY'
import json, sys
v, unit = {}, {}
for line in open(sys.argv[1]):
    k, val, u = line.rstrip("\n").split("\t")
    try:
        val = float(val)
    except ValueError:
        pass
    v[k], unit[k] = val, u
ok = sys.argv[3] == "0"
def ratio(a, b):
    return round(v[a] / v[b], 3) if a in v and b in v and v[b] else None
res = {
    "bench": "tier-vm",
    "transport": v.get("transport"),
    "complete": ok,
    "vm_elapsed_s": float(sys.argv[4]),
    "pmem_mib": v.get("pmem_mib"), "nvme_mib": v.get("nvme_mib"),
    "raw_seq_write_mib_s": v.get("raw_seq_write"),
    "fs_seq_write_mib_s": v.get("fs_seq_write"),
    "migration_mib_s": v.get("migration"),
    "migrated_mib": v.get("migrated_mib"),
    "migration_s": v.get("migration_secs"),
    "migration_vs_raw": ratio("migration", "raw_seq_write"),
    "read4k_idle_us": {k: v.get("idle_" + k) for k in ("p50", "p99", "max")},
    "read4k_migrating_us": {k: v.get("busy_" + k) for k in ("p50", "p99", "max")},
    "read4k_ios": {"idle": v.get("idle_ios"), "migrating": v.get("busy_ios")},
    "read4k_migrating_vs_idle": {k: ratio("busy_" + k, "idle_" + k)
                                 for k in ("p50", "p99", "max")},
    "hot_read_from_nvme_kib": v.get("hot_read_from_nvme_kib"),
    "hot_seq_read_mib_s": v.get("hot_seq_read"),
    "tier_seq_read_mib_s": v.get("tier_seq_read"),
    "tier_read_mib": v.get("tier_read_mib"),
    "tier_read_from_nvme_mib": v.get("tier_read_from_nvme_mib"),
    "raw_seq_read_mib_s": v.get("raw_seq_read"),
    "tier_read_vs_raw_read": ratio("tier_seq_read", "raw_seq_read"),
    "tier_read_vs_hot_read": ratio("tier_seq_read", "hot_seq_read"),
}
if sys.argv[2] == "1":
    print(json.dumps(res, indent=2))
    sys.exit(0)
f = lambda x, fmt="%.1f": fmt % x if isinstance(x, float) else "-"
print("pmfs2 tiering in the VM (TCG; transport %s; pmem %s MiB, NVMe %s MiB)%s"
      % (res["transport"], f(res["pmem_mib"], "%.0f"), f(res["nvme_mib"], "%.0f"),
         "" if ok else "  ** INCOMPLETE: the guest reported failures **"))
print("%-44s %12s" % ("figure", "value"))
print("%-44s %12s MiB/s" % ("NVMe raw sequential write (fio O_DIRECT 1M)", f(res["raw_seq_write_mib_s"])))
print("%-44s %12s MiB/s" % ("pmfs2 sequential write (cold fill, pmem)", f(res["fs_seq_write_mib_s"])))
print("%-44s %12s MiB/s  (%s MiB in %s s)" % ("migration pmem -> NVMe", f(res["migration_mib_s"]),
      f(res["migrated_mib"], "%.0f"), f(res["migration_s"], "%.2f")))
print("%-44s %12s" % ("migration / raw write", f(res["migration_vs_raw"], "%.3f")))
print()
print("%-30s %10s %10s %10s %8s" % ("4 KiB random read, hot set", "p50 us", "p99 us", "max us", "I/Os"))
for name, key, n in (("tier idle", "read4k_idle_us", "idle"),
                     ("during migration", "read4k_migrating_us", "migrating")):
    d = res[key]
    print("%-30s %10s %10s %10s %8s" % (name, f(d["p50"]), f(d["p99"]), f(d["max"]),
                                        f(res["read4k_ios"][n], "%.0f")))
r = res["read4k_migrating_vs_idle"]
print("%-30s %10s %10s %10s" % ("migrating / idle", f(r["p50"], "%.2f"), f(r["p99"], "%.2f"),
                                f(r["max"], "%.2f")))
print()
print("%-44s %12s" % ("sequential read (fio O_DIRECT 1M psync)", "MiB/s"))
print("%-44s %12s" % ("raw NVMe", f(res["raw_seq_read_mib_s"])))
print("%-44s %12s  (%s MiB, %s MiB of it from the NVMe)" % (
      "tiered data on the NVMe (%s)" % ("map mode" if res["transport"] == "zuf" else res["transport"]),
      f(res["tier_seq_read_mib_s"]), f(res["tier_read_mib"], "%.0f"),
      f(res["tier_read_from_nvme_mib"], "%.0f")))
print("%-44s %12s" % ("hot set on pmem (%s)" % ("direct mode" if res["transport"] == "zuf" else res["transport"]),
      f(res["hot_seq_read_mib_s"])))
print("%-44s %12s" % ("tiered / raw NVMe", f(res["tier_read_vs_raw_read"], "%.3f")))
print("%-44s %12s" % ("tiered / hot set", f(res["tier_read_vs_hot_read"], "%.3f")))
print("(hot set read from the NVMe afterwards: %s KiB; VM run %s s)"
      % (f(res["hot_read_from_nvme_kib"], "%.0f"), f(res["vm_elapsed_s"], "%.0f")))
PY
echo "(TCG: emulated timings, compare ratios only; fio JSON and latency logs in $rundir/results)" >&2
exit "$rc"
