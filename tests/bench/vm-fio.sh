#!/bin/bash
# Host side of the VM benchmark (make bench-vm): one VM run of
# vm-fio-guest.sh (the same fio workloads on ext4 -o dax, pmfs2 over zuf and
# pmfs2 over FUSE, all on the VM's /dev/pmem0), then a table of the figures
# and of the ratios pmfs2-zuf/ext4-dax and pmfs2-fuse/ext4-dax.
#   vm-fio.sh [--json] [run-vm.sh options...]
# Under TCG absolute figures mean little; compare the ratios (DESIGN.md §9).
# Environment: BENCH_SECS (5 s per fio job), BENCH_FILES (1000), passed on.
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

BENCH_SECS=${BENCH_SECS:-5} BENCH_FILES=${BENCH_FILES:-1000} \
vm_run vm-fio --timeout "${VM_TIMEOUT:-900}" \
	"${args[@]}" "$here/vm-fio-guest.sh" >&2
rc=$VM_RC rundir=$VM_RUNDIR
tsv=$rundir/results/bench.tsv
if [[ ! -s $tsv ]]; then
	echo "FAIL: vm-fio: no results (exit $rc; ${rundir:-?}/console.log)" >&2
	exit 1
fi
python3 - "$tsv" "$json" <<'PY'
import json, sys
rows = {}
order = []
for line in open(sys.argv[1]):
    fs, test, val, unit = line.rstrip("\n").split("\t")
    if test not in rows:
        rows[test] = {"unit": unit}
        order.append(test)
    rows[test][fs] = float(val)
fss = ["ext4-dax", "pmfs2-zuf", "pmfs2-fuse"]
def ratio(r, fs):
    b = r.get("ext4-dax")
    return round(r[fs] / b, 3) if b and fs in r else None
if sys.argv[2] == "1":
    out = []
    for t in order:
        r = rows[t]
        out.append({"test": t, "unit": r["unit"],
                    **{fs: r.get(fs) for fs in fss},
                    "pmfs2-zuf/ext4-dax": ratio(r, "pmfs2-zuf"),
                    "pmfs2-fuse/ext4-dax": ratio(r, "pmfs2-fuse")})
    print(json.dumps({"results": out}, indent=2))
    sys.exit(0)
hdr = "%-18s %-6s %10s %10s %10s %9s %9s" % ("test", "unit", *fss,
                                               "zuf/ext4", "fuse/ext4")
print(hdr)
print("-" * len(hdr))
f = lambda v: "%10.1f" % v if v is not None else "%10s" % "-"
g = lambda v: "%9.2f" % v if v is not None else "%9s" % "-"
for t in order:
    r = rows[t]
    print("%-18s %-6s %s %s %s %s %s" % (t, r["unit"], f(r.get("ext4-dax")),
          f(r.get("pmfs2-zuf")), f(r.get("pmfs2-fuse")),
          g(ratio(r, "pmfs2-zuf")), g(ratio(r, "pmfs2-fuse"))))
PY
echo "(TCG: emulated timings, compare ratios only; fio JSON in $rundir/results)" >&2
exit "$rc"
