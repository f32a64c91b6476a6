#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# host-compare.sh - pmfs2 in-process, pmfs2 over FUSE and tmpfs, side by side,
# in one host run, with the same workload (tests/bench/fsbench.c):
#
#   tmpfs         system calls on a fresh tmpfs mount
#   pmfs2-FUSE    system calls on pmfs2 served by zusd --transport=fuse
#   pmfs2-inproc  pmfs2 through the in-process host (zusd/inproc.h)
#
# One fsbench-inproc process drives all three, each unit of work (a random
# I/O run, the sequential write + read, create + stat + unlink) on the three
# in turn, the order rotating, before the next unit; every figure is the
# median of --reps repetitions.  So a burst of load on this shared machine
# hits one sample of each target, not every sample of one, and the ratios
# (of rates, higher is better: FUSE/tmpfs 0.25 means a quarter of tmpfs'
# rate) stay meaningful even when the absolute figures are not.
#
# Both pmfs2 images are files in /dev/shm, allocated whole: zusd (and the
# in-process host) map the image MAP_SHARED as emulated pmem, so on a disk
# file every first touch of a page would read the disk and every flush
# would dirty page cache for writeback to write out: the FUSE column would
# measure the disk and the writeback, not the transport.  In /dev/shm the
# image is RAM, as tmpfs' pages are: all three keep data in the same memory.
#
# zusd, the plugin and mkfs must be an optimized build without sanitizers.
# When the build directory is configured with --enable-sanitizers (or its
# CFLAGS have -O0), this script configures and builds a separate
# non-sanitized copy of just those in BUILDDIR/tests/bench/nosan (kept for
# the next run; rm -rf it to rebuild from scratch).  --no-autobuild makes
# that an error instead.  fsbench and fsbench-inproc are always built
# without sanitizers (their own CFLAGS in tests/bench/bench.mk).
#
# Usage: host-compare.sh [--builddir DIR] [--reps N] [--json]
#                        [--json-out FILE] [--quick] [--no-autobuild]
#                        [-- FSBENCH-OPTION...]
#   --builddir DIR   the configured build directory (default: $ZUFS_BUILDDIR
#                    or the current directory)
#   --reps N         repetitions, the median is shown (default 5, or
#                    $BENCH_REPS)
#   --json           print JSON instead of the table
#   --json-out FILE  also write the JSON to FILE
#   --quick          smaller and shorter (3 reps, smaller file set)
#   --zusd PATH      serve FUSE with this zusd (A/B of a transport change;
#                    it must not be a sanitizer build either)
#   -- ...           more fsbench options (they override the defaults)
# Run as root (a tmpfs mount; FUSE).  Always unmounts, stops zusd and
# removes its files on exit, whatever failed.

set -euo pipefail

PROG=host-compare
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
B=${ZUFS_BUILDDIR:-$(pwd)}
REPS=${BENCH_REPS:-5}
JSON=0
JSON_OUT=
AUTOBUILD=1
ZUSD_OVERRIDE=
IMG_MIB=1024
FSB_ARGS=(--time 0.3 --threads 2 --file-mib 64 --seq-mib 128 --files 5000)
EXTRA_ARGS=()

die() { echo "$PROG: $*" >&2; exit 1; }
say() { echo "$PROG: $*" >&2; }

usage() {
	sed -n '/^# Usage:/,/^# removes its files/s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
}

while [ $# -gt 0 ]; do
	case $1 in
	--builddir) B=$2; shift 2 ;;
	--builddir=*) B=${1#*=}; shift ;;
	--reps) REPS=$2; shift 2 ;;
	--reps=*) REPS=${1#*=}; shift ;;
	--json) JSON=1; shift ;;
	--json-out) JSON_OUT=$2; shift 2 ;;
	--json-out=*) JSON_OUT=${1#*=}; shift ;;
	--quick) REPS=3; FSB_ARGS=(--time 0.2 --threads 2 --file-mib 32
				     --seq-mib 64 --files 3000); shift ;;
	--no-autobuild) AUTOBUILD=0; shift ;;
	--zusd) ZUSD_OVERRIDE=$2; shift 2 ;;
	--zusd=*) ZUSD_OVERRIDE=${1#*=}; shift ;;
	-h|--help) usage; exit 0 ;;
	--) shift; EXTRA_ARGS=("$@"); break ;;
	*) usage >&2; exit 2 ;;
	esac
done
case $REPS in
''|*[!0-9]*|0) die "--reps wants a positive number, not '$REPS'" ;;
esac
BD=$(cd "$B" 2>/dev/null && pwd) || die "no build directory $B"
B=$BD
[ -f "$B/Makefile" ] || die "$B is not a configured build directory"

FSBENCH_INPROC=$B/tests/bench/fsbench-inproc
[ -x "$FSBENCH_INPROC" ] ||
	die "$FSBENCH_INPROC is not built (make -C $B tests/bench/fsbench-inproc)"

# ---- an optimized, non-sanitized zusd + plugin + mkfs ------------------------------
mkvar() {	# VAR BUILDDIR: the value configure gave VAR there
	awk -v v="$1" '$1 == v && $2 == "=" { sub(/^[^=]*= ?/, ""); print; exit }' "$2/Makefile"
}
needs_nosan() {	# why the build in $1 is unfit for timing, or nothing
	local san cflags
	san=$(mkvar SAN_CFLAGS "$1")
	cflags=$(mkvar CFLAGS "$1")
	if [ -n "$san" ]; then
		echo "configured with --enable-sanitizers"
	elif ! [[ " $cflags " =~ \ -O[1-3s]\  ]] || [[ " $cflags " =~ \ -O0\  ]]; then
		echo "not optimized (CFLAGS = $cflags)"
	fi
}
H=$B
why=$(needs_nosan "$B")
if [ -n "$why" ]; then
	[ $AUTOBUILD = 1 ] || die "$B is $why: the benchmark needs an optimized build
without sanitizers. Configure one (mkdir build-bench && cd build-bench &&
../configure && make) and run make bench there, or drop --no-autobuild to let
this script build a copy in $B/tests/bench/nosan."
	H=$B/tests/bench/nosan
	say "$B is $why: using a separate optimized build in $H"
	mkdir -p "$H"
	if [ ! -f "$H/Makefile" ]; then
		say "configuring $H (once)"
		(cd "$H" && "$SRC/configure" -q --disable-sanitizers \
			CFLAGS="-g -O2") >"$H/configure.log" 2>&1 ||
			{ cat "$H/configure.log" >&2; die "configure in $H failed"; }
	fi
	say "building zusd, pmfs2.so, mkfs.pmfs2 in $H"
	make -C "$H" -j"$(nproc)" zusd/zusd plugins/pmfs2/pmfs2.la \
		mkfs/mkfs.pmfs2 >"$H/make.log" 2>&1 ||
		{ tail -n 40 "$H/make.log" >&2; die "build in $H failed (log: $H/make.log)"; }
	why=$(needs_nosan "$H")
	[ -z "$why" ] || die "$H is $why"
fi
ZUSD=${ZUSD_OVERRIDE:-$H/zusd/zusd}
MKFS=$H/mkfs/mkfs.pmfs2
PLUGIN=$H/plugins/pmfs2/.libs/pmfs2.so
for f in "$ZUSD" "$MKFS" "$PLUGIN"; do
	[ -e "$f" ] || die "$f does not exist (make -C $H)"
done
libs=$(ldd "$ZUSD" "$PLUGIN" 2>/dev/null || true)
if [[ $libs =~ lib[atl]san|libubsan ]]; then
	die "$ZUSD or $PLUGIN is linked with a sanitizer runtime"
fi

# ---- the host ----------------------------------------------------------------------
# make -j runs the prerequisites of `bench` (other benchmarks too) at once
case " ${MAKEFLAGS:-} " in
*\ -j*|*jobserver*)
	say "warning: run by make -j: other benchmarks may run at the same time" \
		"and skew these figures (use plain make bench)" ;;
esac
[ -c /dev/fuse ] || die "/dev/fuse does not exist (modprobe fuse)"
( exec 3<>/dev/fuse ) 2>/dev/null || die "/dev/fuse cannot be opened by uid $(id -u)"
[ "$(stat -f -c %T /dev/shm)" = tmpfs ] || die "/dev/shm is not a tmpfs"
if command -v fusermount3 >/dev/null 2>&1; then
	UNMOUNT=(fusermount3 -u)
elif [ "$(id -u)" = 0 ]; then
	UNMOUNT=(umount)
else
	die "fusermount3 is not installed (apt-get install fuse3)"
fi
need=$((2 * IMG_MIB + 512))
avail=$(($(stat -f -c '%a * %S' /dev/shm) / 1048576))
[ "$avail" -ge "$need" ] || die "/dev/shm has $avail MiB free, $need needed"

T=$(mktemp -d /dev/shm/zufs-bench.XXXXXX)
FMNT=$T/pmfs2-fuse
TMNT=$T/tmpfs
LOG=$T/zusd.log
ZPID=
FPID=
TMPFS_MOUNTED=0

is_fuse_mounted() { grep -qs " $FMNT fuse" /proc/mounts; }

cleanup() {
	local rc=$? i
	trap - EXIT INT TERM HUP
	set +e
	if [ -n "$FPID" ] && kill -0 "$FPID" 2>/dev/null; then
		kill -TERM "$FPID" 2>/dev/null
		wait "$FPID" 2>/dev/null
	fi
	if is_fuse_mounted; then
		"${UNMOUNT[@]}" "$FMNT" 2>/dev/null || umount -l "$FMNT" 2>/dev/null ||
			fusermount3 -uz "$FMNT" 2>/dev/null
	fi
	if [ -n "$ZPID" ] && kill -0 "$ZPID" 2>/dev/null; then
		kill -TERM "$ZPID" 2>/dev/null
		for i in $(seq 50); do
			kill -0 "$ZPID" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$ZPID" 2>/dev/null
		wait "$ZPID" 2>/dev/null
	fi
	[ $TMPFS_MOUNTED = 0 ] || umount "$TMNT" 2>/dev/null || umount -l "$TMNT"
	if [ $rc -ne 0 ] && [ -s "$LOG" ]; then
		echo "---- zusd log (tail) ----" >&2
		tail -n 30 "$LOG" >&2
	fi
	rm -rf --one-file-system "$T"
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

START=$(date +%s)
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)

# tmpfs: a fresh mount (root); otherwise a directory on /dev/shm (a tmpfs)
mkdir "$TMNT" "$FMNT"
TMPFS_NOTE="fresh tmpfs mount"
if [ "$(id -u)" = 0 ] && mount -t tmpfs -o "size=${IMG_MIB}m,mode=0755" zufs-bench "$TMNT"; then
	TMPFS_MOUNTED=1
else
	TMPFS_NOTE="directory on /dev/shm (cannot mount a tmpfs as uid $(id -u))"
fi

# the two pmfs2 images, made the same way, allocated whole (fallocate) as a
# pmem device is: no run pays for allocating and zeroing tmpfs pages
for img in fuse inproc; do
	fallocate -l "${IMG_MIB}M" "$T/$img.img" 2>/dev/null ||
		dd if=/dev/zero of="$T/$img.img" bs=1M count="$IMG_MIB" status=none
	"$MKFS" -q "$T/$img.img" || die "mkfs.pmfs2 $T/$img.img failed"
done

say "starting zusd --transport=fuse on $T/fuse.img"
"$ZUSD" --transport=fuse --plugin "$PLUGIN" "$T/fuse.img" "$FMNT" >"$LOG" 2>&1 &
ZPID=$!
i=0
while ! is_fuse_mounted; do
	if ! kill -0 "$ZPID" 2>/dev/null; then
		st=0; wait "$ZPID" || st=$?; ZPID=
		die "zusd exited ($st) before mounting"
	fi
	i=$((i + 1))
	[ $i -le 200 ] || die "the FUSE mount did not appear within 20 s"
	sleep 0.1
done

# ---- the run ---------------------------------------------------------------------------
# One fsbench-inproc process drives the three targets (fsbench's system call
# backend on the two directories, the in-process host on the image), each
# unit of work on all three in turn: see fsbench.c.
SAMPLES=$T/samples
ARGS="${FSB_ARGS[*]}${EXTRA_ARGS[*]:+ ${EXTRA_ARGS[*]}}"
say "fsbench: $REPS repetitions of $ARGS"
# in the background: a signal to this script interrupts wait, not fsbench
"$FSBENCH_INPROC" --raw --reps "$REPS" "${FSB_ARGS[@]}" "${EXTRA_ARGS[@]}" \
	tmpfs="$TMNT" fuse="$FMNT" inproc=inproc:"$T/inproc.img" >"$SAMPLES" &
FPID=$!
rc=0
wait "$FPID" || rc=$?
FPID=
kill -0 "$ZPID" 2>/dev/null || die "zusd died during the run"
[ $rc -eq 0 ] || die "fsbench-inproc failed ($rc)"

# unmount cleanly: zusd's exit status says whether the unmount synced
"${UNMOUNT[@]}" "$FMNT" || die "${UNMOUNT[*]} $FMNT failed"
st=0; wait "$ZPID" || st=$?; ZPID=
[ $st -eq 0 ] || die "zusd exited with status $st after unmount"

ELAPSED=$(($(date +%s) - START))
LOAD1=$(cut -d' ' -f1-3 /proc/loadavg)
CPU=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)

# ---- the report ------------------------------------------------------------------------
report() {	# json: 0 table, 1 JSON
	awk -v json="$1" -v reps="$REPS" -v args="$ARGS" \
	    -v kernel="$(uname -r)" -v cpu="$CPU" -v ncpu="$(nproc)" \
	    -v load0="$LOAD0" -v load1="$LOAD1" -v elapsed="$ELAPSED" \
	    -v tmpfs_note="$TMPFS_NOTE" -v date="$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
	    -v zusd="$ZUSD" '
	function median(s,   v, n, i, j, x) {
		n = split(s, v, " ")
		for (i = 2; i <= n; i++) {
			x = v[i] + 0
			for (j = i - 1; j >= 1 && v[j] + 0 > x; j--)
				v[j + 1] = v[j]
			v[j + 1] = x
		}
		return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
	}
	function jstr(s) {
		gsub(/\\/, "\\\\", s); gsub(/"/, "\\\"", s)
		return "\"" s "\""
	}
	function ratio(a, b) { return (b > 0) ? a / b : 0 }
	$2 == "info" {
		v = $0; sub(/^[^ ]+ info [^ ]+ /, "", v)
		info[$1, $3] = v
		next
	}
	$2 == "sample" {
		if (!(($3) in unit)) { ops[++nops] = $3; unit[$3] = $4 }
		s[$1, $3] = s[$1, $3] " " $5
		next
	}
	END {
		nt = split("inproc fuse tmpfs", tg, " ")
		name["inproc"] = "pmfs2-inproc"; name["fuse"] = "pmfs2-FUSE"
		name["tmpfs"] = "tmpfs"
		for (i = 1; i <= nops; i++)
			for (k = 1; k <= nt; k++)
				m[tg[k], ops[i]] = median(substr(s[tg[k], ops[i]], 2))
		if (json) {
			printf "{\n  \"benchmark\": \"host-compare\",\n  \"date\": %s,\n", jstr(date)
			printf "  \"host\": {\"kernel\": %s, \"cpu\": %s, \"ncpu\": %d, ", jstr(kernel), jstr(cpu), ncpu
			printf "\"loadavg_start\": %s, \"loadavg_end\": %s},\n", jstr(load0), jstr(load1)
			printf "  \"reps\": %d,\n  \"statistic\": \"median\",\n", reps
			printf "  \"fsbench_args\": %s,\n  \"elapsed_s\": %d,\n", jstr(args), elapsed
			printf "  \"targets\": {\n"
			for (k = 1; k <= nt; k++) {
				t = tg[k]
				note = info[t, "note"]
				if (t == "tmpfs") note = tmpfs_note
				if (t == "fuse") note = "zusd " zusd "; " info[t, "note"]
				printf "    %s: {\"backend\": %s, \"io_mode\": %s, \"note\": %s}%s\n",
					jstr(name[t]), jstr(info[t, "backend"]), jstr(info[t, "io_mode"]),
					jstr(note), (k < nt) ? "," : ""
			}
			printf "  },\n  \"results\": [\n"
			for (i = 1; i <= nops; i++) {
				o = ops[i]
				printf "    {\"op\": %s, \"unit\": %s", jstr(o), jstr(unit[o])
				for (k = 1; k <= nt; k++)
					printf ", %s: %.1f", jstr(name[tg[k]]), m[tg[k], o]
				printf ",\n     \"ratio\": {\"pmfs2-FUSE/tmpfs\": %.4f, \"pmfs2-inproc/tmpfs\": %.4f, \"FUSE/inproc\": %.4f},\n",
					ratio(m["fuse", o], m["tmpfs", o]), ratio(m["inproc", o], m["tmpfs", o]),
					ratio(m["fuse", o], m["inproc", o])
				printf "     \"samples\": {"
				for (k = 1; k <= nt; k++) {
					v = substr(s[tg[k], o], 2); gsub(/ /, ", ", v)
					printf "%s%s: [%s]", (k > 1) ? ", " : "", jstr(name[tg[k]]), v
				}
				printf "}}%s\n", (i < nops) ? "," : ""
			}
			printf "  ]\n}\n"
			exit
		}
		printf "pmfs2 in-process vs pmfs2 over FUSE vs tmpfs: median of %d repetitions, %s\n", reps, date
		printf "host: %s, %d CPUs, kernel %s, load %s -> %s, %d s\n", cpu, ncpu, kernel, load0, load1, elapsed
		printf "fsbench %s\n", args
		printf "data I/O: tmpfs %s, pmfs2-FUSE %s, pmfs2-inproc %s\n",
			info["tmpfs", "io_mode"], info["fuse", "io_mode"], info["inproc", "io_mode"]
		for (k = 1; k <= nt; k++)
			if (info[tg[k], "io_mode"] == "buffered")
				printf "note: %s: %s\n", name[tg[k]], info[tg[k], "note"]
		printf "\n%-22s %6s %12s %12s %12s %10s %12s %11s\n", "operation", "unit",
			"pmfs2-inproc", "pmfs2-FUSE", "tmpfs", "FUSE/tmpfs", "inproc/tmpfs", "FUSE/inproc"
		for (i = 1; i <= nops; i++) {
			o = ops[i]
			printf "%-22s %6s %12.0f %12.0f %12.0f %10.3f %12.3f %11.3f\n", o, unit[o],
				m["inproc", o], m["fuse", o], m["tmpfs", o],
				ratio(m["fuse", o], m["tmpfs", o]), ratio(m["inproc", o], m["tmpfs", o]),
				ratio(m["fuse", o], m["inproc", o])
		}
		printf "(rates: higher is better; a ratio is the first target'"'"'s rate over the second'"'"'s)\n"
	}' "$SAMPLES"
}

if [ -n "$JSON_OUT" ]; then
	report 1 >"$JSON_OUT"
fi
if [ $JSON = 1 ]; then
	report 1
else
	report 0
	[ -z "$JSON_OUT" ] || echo "JSON in $JSON_OUT"
fi
