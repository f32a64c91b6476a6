#!/bin/bash
# A real, verifying workload on a mounted filesystem: copy a source tree and
# compare it, fio random writes with verification, a metadata storm, statfs.
# Usage: scripts/demo-workload.sh DIR
set -euo pipefail
dir=${1:?usage: demo-workload.sh DIR}
[ -d "$dir" ] || { echo "demo: $dir is not a directory" >&2; exit 1; }
work="$dir/demo.$$"
mkdir "$work"

step() { printf '== %-48s' "$1"; t0=$(date +%s%N); }
done_step() {
	local ms=$((($(date +%s%N) - t0) / 1000000))
	printf '%4d.%03d s  %s\n' $((ms / 1000)) $((ms % 1000)) "${1:-}"
}

src=${DEMO_SRC:-/usr/include}
step "copy $src ($(du -sh "$src" | cut -f1))"
cp -a "$src" "$work/include"
done_step "$(find "$work/include" -type f | wc -l) files"

step "compare the copy byte for byte"
diff -r --no-dereference "$src" "$work/include"
done_step "identical"

step "fio 4 KiB random write + verify (64 MiB)"
out=$(fio --name=demo --directory="$work" --rw=randwrite --bs=4k --size=64m \
	--ioengine=psync --verify_state_save=0 --verify=crc32c --do_verify=1 --verify_fatal=1 \
	--output-format=terse --terse-version=3 2>&1) || { echo "$out"; exit 1; }
iops=$(echo "$out" | awk -F';' '/^3;/ {print $49; exit}')
done_step "${iops:-?} write IOPS, verify ok"

step "create, stat and unlink 10000 files"
mkdir "$work/meta"
for i in $(seq 1 10000); do : > "$work/meta/f$i"; done
n=$(find "$work/meta" -type f -printf . | wc -c)
rm -rf "$work/meta"
done_step "$n files"

step "hard link, symlink, rename, xattr"
echo hello > "$work/a"
ln "$work/a" "$work/b"
ln -s a "$work/c"
mv "$work/b" "$work/d"
setfattr -n user.demo -v 42 "$work/a"
[ "$(getfattr --absolute-names --only-values -n user.demo "$work/a")" = 42 ]
[ "$(cat "$work/c")" = hello ] && [ "$(stat -c %h "$work/a")" = 2 ]
done_step "ok"

step "remove everything"
rm -rf "$work"
done_step

echo "== statfs"
df -h "$dir" | sed 's/^/   /'
