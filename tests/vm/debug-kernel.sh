#!/bin/bash
# The VM test lane's debug kernel: Debian's 6.1 source (linux-source-6.1)
# built with a trimmed config (tests/vm/debug-kernel.config: what run-vm.sh
# boots, plus KASAN, KFENCE, lockdep, kmemleak, ...), cached on the machine.
#
#   tests/vm/debug-kernel.sh [--force]   build it unless cached; print its dir
#   tests/vm/debug-kernel.sh --print-dir print the cached dir; exit 1 if not built
#   tests/vm/debug-kernel.sh --kmod OUTDIR [--srcdir DIR]
#                                        build zuf.ko (DIR/kmod, default this
#                                        source tree) against the cached tree
#                                        into OUTDIR (builds the kernel first
#                                        if missing); prints OUTDIR/zuf.ko
#
# The cache: $ZUFS_DEBUG_KERNEL_CACHE (default /var/cache/zufs-debug-kernel)
# /<linux-source-6.1 version>-<12 hex of the fragment's sha256>/ holding
#   bzImage, System.map, vmlinux, config   the kernel
#   tree/                                  the build tree (make clean'ed: what
#                                          `make -C tree M=DIR modules` needs)
#   modules/lib/modules/<release>/         modules_install staging (depmod'ed;
#                                          modules.builtin: run-vm.sh binds it
#                                          into the guest's /lib/modules)
#   release, source-version, fragment, build.log, build-seconds, .complete
# The release is 6.1.<y>-zufs-debug-<the same 12 hex>: zuf.ko's vermagic
# ties it to one cache entry.
# Built once (~30 min with 2 jobs); rebuilt only when the source package
# version or the fragment changes.  A dir without .complete is a failed or
# interrupted build and is started over.  Concurrent callers wait on a lock.
# Environment: DEBUG_KERNEL_JOBS (make -j, default 2), ZUFS_DEBUG_KERNEL_CACHE.
# Everything heavy runs under nice -n 19.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
fragment=$here/debug-kernel.config
tarball=/usr/src/linux-source-6.1.tar.xz
srcpkg=linux-source-6.1
cache=${ZUFS_DEBUG_KERNEL_CACHE:-/var/cache/zufs-debug-kernel}
jobs=${DEBUG_KERNEL_JOBS:-2}

die() { echo "debug-kernel: error: $*" >&2; exit 1; }
say() { echo "debug-kernel: $*" >&2; }
usage() {
	sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//' >&2
	exit 2
}

mode=build force=0 kmod_out='' srcdir=$(cd "$here/../.." && pwd)
while (($#)); do
	case $1 in
	--force) force=1 ;;
	--print-dir) mode=print ;;
	--kmod) mode=kmod; kmod_out=${2:?--kmod needs a directory}; shift ;;
	--srcdir) srcdir=${2:?--srcdir needs a directory}; shift ;;
	-h | --help) usage ;;
	*) echo "debug-kernel: unknown argument $1" >&2; usage ;;
	esac
	shift
done

[[ -f $fragment ]] || die "$fragment missing"
srcver=$(dpkg-query -W -f='${Version}' "$srcpkg" 2>/dev/null || :)
[[ -n $srcver && -r $tarball ]] ||
	die "$srcpkg is not installed ($tarball): run tests/vm/install-deps.sh --debug-kernel"
hash=$(sha256sum "$fragment" | cut -c1-12)
key=$srcver-$hash
dir=$cache/$key

built() { [[ -f $dir/.complete && -s $dir/bzImage && -f $dir/release ]]; }

# ---- the fragment, applied and checked ---------------------------------------
# fragment lines: CONFIG_X=y | CONFIG_X=m | CONFIG_X="str" | CONFIG_X=N |
# "# CONFIG_X is not set"; anything else is a comment.
config_args() {
	local l s v
	while IFS= read -r l; do
		case $l in
		CONFIG_*=y) echo --enable; echo "${l%%=*}" ;;
		CONFIG_*=m) echo --module; echo "${l%%=*}" ;;
		CONFIG_*=\"*\")
			v=${l#*=}; v=${v#\"}; v=${v%\"}
			echo --set-str; echo "${l%%=*}"; echo "$v" ;;
		CONFIG_*=*) echo --set-val; echo "${l%%=*}"; echo "${l#*=}" ;;
		"# CONFIG_"*" is not set") s=${l#\# }; echo --disable; echo "${s%% *}" ;;
		esac
	done < "$fragment"
}
# Prints every fragment line the final .config does not honour.
config_check() { # DOTCONFIG
	local l s sym
	while IFS= read -r l; do
		case $l in
		CONFIG_*=*)
			grep -qxF -- "$l" "$1" && continue
			sym=${l%%=*}
			echo "  wanted $l, got: $(grep -E "^$sym=|^# $sym is not set" "$1" || echo 'absent (dependencies not met)')"
			;;
		"# CONFIG_"*" is not set")
			s=${l#\# }; sym=${s%% *}
			if grep -q "^$sym=" "$1"; then echo "  wanted $sym off, got: $(grep "^$sym=" "$1")"; fi
			;;
		esac
	done < "$fragment"
}

build_kernel() {
	local t0 tree log rel args=() bad m
	for m in gcc make bc bison flex perl xz; do
		command -v "$m" >/dev/null || die "$m not found: run tests/vm/install-deps.sh --debug-kernel"
	done
	[[ -f /usr/include/libelf.h ]] || die "libelf-dev missing: run tests/vm/install-deps.sh --debug-kernel"
	command -v depmod >/dev/null || [[ -x /sbin/depmod ]] || die "depmod missing (apt-get install kmod)"
	mkdir -p "$cache"
	rm -rf "$dir"
	mkdir -p "$dir"
	tree=$dir/tree
	log=$dir/build.log
	t0=$SECONDS
	say "building the debug kernel in $dir (log: $log); ~30 min with -j$jobs"
	say "unpacking $tarball"
	nice -n 19 tar -C "$dir" -xJf "$tarball"
	mv "$dir/linux-source-6.1" "$tree"
	cp "$fragment" "$dir/fragment"

	# allnoconfig, then the fragment, then olddefconfig. ARCH=x86_64 here: the
	# kernel's default ARCH (x86) starts from a 32-bit allnoconfig, whose
	# leftovers (FRAME_WARN=1024, the frame-pointer unwinder) would survive
	# the fragment's CONFIG_64BIT=y.  Later makes use the default ARCH (x86,
	# with 64BIT=y from .config), as Debian's own build does.
	mapfile -t args < <(config_args)
	{
		make -C "$tree" ARCH=x86_64 allnoconfig
		"$tree/scripts/config" --file "$tree/.config" "${args[@]}"
		make -C "$tree" olddefconfig
	} >>"$log" 2>&1 || { tail -n 30 "$log" >&2; die "configuring failed"; }
	bad=$(config_check "$tree/.config")
	if [[ -n $bad ]]; then
		echo "$bad" >&2
		die "olddefconfig dropped options of $fragment (fix their dependencies there)"
	fi
	say "config: every line of $(basename "$fragment") holds ($(grep -c '=y$' "$tree/.config") options =y)"

	# The release names the cache key too (6.1.y-zufs-debug-<hash>): a zuf.ko
	# built against another build of the fragment has another vermagic, and
	# insmod refuses it instead of loading it with the wrong struct layouts.
	say "make -j$jobs LOCALVERSION=-$hash (nice -n 19)"
	if ! nice -n 19 make -C "$tree" -j"$jobs" LOCALVERSION="-$hash" >>"$log" 2>&1; then
		grep -E 'error|Error' "$log" | tail -n 20 >&2 || :
		tail -n 20 "$log" >&2
		die "kernel build failed (full log: $log)"
	fi
	rel=$(cat "$tree/include/config/kernel.release")
	[[ $rel == *"-zufs-debug-$hash" ]] || die "unexpected release '$rel' (CONFIG_LOCALVERSION + -$hash)"
	nice -n 19 make -C "$tree" modules_install INSTALL_MOD_PATH="$dir/modules" >>"$log" 2>&1 ||
		{ tail -n 20 "$log" >&2; die "modules_install failed"; }
	# The guest sees the staged dir, not the tree: no dangling build/source links.
	rm -f "$dir/modules/lib/modules/$rel/build" "$dir/modules/lib/modules/$rel/source"
	for m in modules.dep modules.builtin modules.builtin.bin modules.builtin.alias.bin; do
		[[ -f $dir/modules/lib/modules/$rel/$m ]] || die "modules_install made no $m (is depmod installed?)"
	done
	cp "$tree/arch/x86/boot/bzImage" "$dir/bzImage"
	cp "$tree/System.map" "$dir/System.map"
	cp "$tree/vmlinux" "$dir/vmlinux"
	cp "$tree/.config" "$dir/config"
	# Keep only what external module builds need (make clean leaves it).
	nice -n 19 make -C "$tree" clean >>"$log" 2>&1
	echo "$rel" > "$dir/release"
	echo "$srcver" > "$dir/source-version"
	echo $((SECONDS - t0)) > "$dir/build-seconds"
	touch "$dir/.complete"
	say "built $rel in $((SECONDS - t0)) s: $dir"
}

ensure_built() {
	if ((!force)) && built; then return 0; fi
	mkdir -p "$cache"
	exec 9>"$cache/.lock-$key"
	flock 9
	# Someone else may have built it while we waited.
	if ((force)) || ! built; then
		build_kernel
	fi
	force=0
	exec 9>&-
}

build_kmod() {
	local tree=$dir/tree rel f vermagic
	rel=$(cat "$dir/release")
	[[ -f $srcdir/kmod/Kbuild ]] || die "$srcdir/kmod/Kbuild not found (--srcdir)"
	mkdir -p "$kmod_out"
	kmod_out=$(cd "$kmod_out" && pwd -P)
	# Kbuild writes next to the sources: build copies (as kmod/kmod.mk does).
	for f in "$srcdir"/kmod/*.c "$srcdir"/kmod/*.h "$srcdir"/kmod/Kbuild; do
		cmp -s "$f" "$kmod_out/$(basename "$f")" || cp -p "$f" "$kmod_out/"
	done
	say "zuf.ko for $rel in $kmod_out"
	nice -n 19 make -C "$tree" M="$kmod_out" ZUFS_INCLUDE="$srcdir/include" -j"$jobs" modules >&2 ||
		die "zuf.ko did not build against $tree"
	vermagic=$(modinfo -F vermagic "$kmod_out/zuf.ko" | cut -d' ' -f1)
	[[ $vermagic == "$rel" ]] || die "$kmod_out/zuf.ko is for $vermagic, not $rel"
	echo "$kmod_out/zuf.ko"
}

case $mode in
print)
	built || { echo "debug-kernel: not built yet ($dir): run tests/vm/debug-kernel.sh" >&2; exit 1; }
	echo "$dir"
	;;
build)
	ensure_built
	echo "$dir"
	;;
kmod)
	ensure_built
	build_kmod
	;;
esac
