#!/bin/sh
# run-fuzz.sh - a bounded libFuzzer run of every pmfs2 fuzz target from a
# generated seed corpus.  SKIP (77) without clang.  Any crash fails.
#   ZUFS_FUZZ_SECONDS  per target (default 8)
set -u
builddir=${ZUFS_BUILDDIR:-.}
secs=${ZUFS_FUZZ_SECONDS:-8}
targets="fuzz-super fuzz-inode fuzz-dir"

if [ -z "${FUZZ_CC:-}" ]; then
	echo "run-fuzz: no clang (FUZZ_CC empty): SKIP"
	exit 77
fi
for t in $targets; do
	if [ ! -x "$builddir/tests/fuzz/$t" ]; then
		echo "run-fuzz: $builddir/tests/fuzz/$t not built: SKIP"
		exit 77
	fi
done
work=$(mktemp -d "${TMPDIR:-/tmp}/zufs-fuzz.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT
"$builddir/tests/fuzz/gen-corpus" "$work/seeds" || exit 1

rc=0
for t in $targets; do
	sub=${t#fuzz-}
	mkdir -p "$work/corpus-$sub" "$work/art-$sub"
	echo "run-fuzz: $t for ${secs}s"
	"$builddir/tests/fuzz/$t" -max_total_time="$secs" -timeout=20 \
		-rss_limit_mb=4096 -print_final_stats=1 \
		-artifact_prefix="$work/art-$sub/" \
		"$work/corpus-$sub" "$work/seeds/$sub" >"$work/$t.log" 2>&1
	st=$?
	grep -E '^(stat::number_of_executed_units|stat::new_units_added)' "$work/$t.log"
	if [ $st -ne 0 ]; then
		echo "run-fuzz: $t FAILED (exit $st):"
		tail -n 60 "$work/$t.log"
		for a in "$work/art-$sub"/*; do
			[ -e "$a" ] || continue
			keep="$builddir/tests/fuzz/$(basename "$a")-$sub"
			cp "$a" "$keep" && echo "run-fuzz: reproducer saved as $keep"
		done
		rc=1
	fi
done
exit $rc
