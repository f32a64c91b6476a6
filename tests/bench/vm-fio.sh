#!/bin/bash
# Host side of the VM benchmark (make bench-vm): one VM run of
# vm-fio-guest.sh (the same fio workloads on ext4 -o dax, pmfs2 over zuf and
# pmfs2 over FUSE, all on the VM's /dev/pmem0), BENCH_ROUNDS rounds of the
# three in turn.  Prints, per workload, the median of each filesystem over
# the rounds and the median of the per-round ratios pmfs2-zuf/ext4-dax and
# pmfs2-fuse/ext4-dax with their min..max spread; --json gives every round.
#   vm-fio.sh [--json] [run-vm.sh options...]
# Under TCG absolute figures mean little; compare the ratios (DESIGN.md §9),
# and trust a ratio only as far as its spread.
# Environment: BENCH_ROUNDS (3), BENCH_SECS (5 s per fio job), BENCH_FILES
# (1000), passed on; VM_TIMEOUT (300 + 500 per round).  3 rounds take about
# 10-14 min of VM time on a loaded 2-core host.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
vmdir=$here/../vm
# shellcheck source=tests/vm/host-lib.sh disable=SC1091
. "$vmdir/host-lib.sh"
: "${VM_BUILDDIR:?set VM_BUILDDIR (make bench-vm does)}"
json=0
args=()
for a in "$@"; do
	if [[ $a == --json ]]; then json=1; else args+=("$a"); fi
done

rounds=${BENCH_ROUNDS:-3}
[[ $rounds =~ ^[1-9][0-9]*$ ]] || { echo "BENCH_ROUNDS must be >= 1" >&2; exit 2; }
BENCH_ROUNDS=$rounds BENCH_SECS=${BENCH_SECS:-5} BENCH_FILES=${BENCH_FILES:-1000} \
vm_run vm-fio --timeout "${VM_TIMEOUT:-$((300 + 500 * rounds))}" \
	"${args[@]}" "$here/vm-fio-guest.sh" >&2
rc=$VM_RC rundir=$VM_RUNDIR
tsv=$rundir/results/bench.tsv
if [[ ! -s $tsv ]]; then
	echo "FAIL: vm-fio: no results (exit $rc; ${rundir:-?}/console.log)" >&2
	exit 1
fi
python3 - "$tsv" "$json" "$rc" <<'PY'
import json, statistics, sys
fss = ["ext4-dax", "pmfs2-zuf", "pmfs2-fuse"]
rows, order, rounds = {}, [], set()
for line in open(sys.argv[1]):
    f = line.rstrip("\n").split("\t")
    if len(f) == 4:             # (one-round format of earlier runs)
        f = ["1"] + f
    rnd, fs, test, val, unit = int(f[0]), f[1], f[2], float(f[3]), f[4]
    if test not in rows:
        rows[test] = {"unit": unit, "rounds": {}}
        order.append(test)
    rows[test]["rounds"].setdefault(rnd, {})[fs] = val
    rounds.add(rnd)

def stats(xs):
    return ({"median": round(statistics.median(xs), 3), "min": round(min(xs), 3),
             "max": round(max(xs), 3), "n": len(xs)} if xs else None)

res = []
for t in order:
    r = rows[t]
    per = [dict(round=k, **v) for k, v in sorted(r["rounds"].items())]
    e = {"test": t, "unit": r["unit"], "rounds": per}
    for fs in fss:
        xs = [p[fs] for p in per if fs in p]
        e[fs] = round(statistics.median(xs), 1) if xs else None
    for fs in fss[1:]:
        rs = [p[fs] / p["ext4-dax"] for p in per
              if fs in p and p.get("ext4-dax")]
        for p in per:
            if fs in p and p.get("ext4-dax"):
                p[fs + "/ext4-dax"] = round(p[fs] / p["ext4-dax"], 3)
        e[fs + "/ext4-dax"] = stats(rs)
    res.append(e)

if sys.argv[2] == "1":
    print(json.dumps({"bench": "vm-fio", "rounds": len(rounds),
                      "complete": sys.argv[3] == "0", "results": res}, indent=2))
    sys.exit(0)
print("vm-fio: %d round(s); figures: median over the rounds; ratios: median of"
      " the per-round ratios (min..max)%s" % (len(rounds), "" if sys.argv[3] == "0"
      else "  ** INCOMPLETE: the guest reported failures **"))
hdr = "%-18s %-6s %10s %10s %10s  %-18s %-18s" % ("test", "unit", *fss,
                                                   "zuf/ext4", "fuse/ext4")
print(hdr.rstrip())
print("-" * len(hdr.rstrip()))
f = lambda v: "%10.1f" % v if v is not None else "%10s" % "-"
def g(s):
    if not s:
        return "%-18s" % "-"
    return "%-18s" % ("%.2f (%.2f..%.2f)" % (s["median"], s["min"], s["max"]))
for e in res:
    print(("%-18s %-6s %s %s %s  %s %s" % (e["test"], e["unit"], f(e["ext4-dax"]),
           f(e["pmfs2-zuf"]), f(e["pmfs2-fuse"]),
           g(e["pmfs2-zuf/ext4-dax"]), g(e["pmfs2-fuse/ext4-dax"]))).rstrip())
PY
echo "(TCG: emulated timings, compare ratios only; fio JSON in $rundir/results)" >&2
exit "$rc"
