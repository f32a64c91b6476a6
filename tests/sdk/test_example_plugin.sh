#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
#
# test_example_plugin.sh - the plugin SDK as a third party uses it:
#   install the SDK (headers, zus.pc) from the build tree into a scratch
#   DESTDIR; build a copy of examples/memfs there with nothing but
#   `pkg-config --cflags --libs zus` pointed at that DESTDIR; check that
#   `make install` puts it in the plugindir zus.pc names and that it
#   exports only zus_plugin; check that zusd refuses a plugin built against
#   these headers for a too old and a too new API version, saying which
#   it accepts; then serve memfs with zusd over FUSE and run posix-test.
#
# Runs from the top build directory (as `make check` does) or with
# ZUFS_BUILDDIR and ZUFS_SRCDIR set.  SDK_TEST_CFLAGS: extra flags for the
# out-of-tree builds (make check passes zusd's sanitizer flags).  Exit 77
# (skip) only when FUSE cannot be used here, after the build checks.

set -u

# shellcheck source=tests/lib/fuse-test.sh
. "$(dirname "$0")/../lib/fuse-test.sh"
S=${ZUFS_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
POSIX_TEST=$B/tests/posix/posix-test
fuse_need_built "$POSIX_TEST"
command -v pkg-config >/dev/null 2>&1 || hard "pkg-config is not installed"

fuse_workdir sdk
DEST=$T/dest

echo "== install the SDK into $DEST"
# only the SDK: its headers and zus.pc; MAKEFLAGS is the outer make check's
env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s -C "$B" DESTDIR="$DEST" \
	install-zufsincludeHEADERS install-pkgconfigDATA >"$T/install.log" 2>&1 ||
	{ cat "$T/install.log"; die "installing the SDK failed"; }
PC=$(find "$DEST" -name zus.pc)
[ -n "$PC" ] || die "no zus.pc installed"
(cd "$DEST" && find . -type f | sort)

# only this zus.pc, its paths under DEST: what a packager's sysroot sees
PKG_CONFIG_LIBDIR=$(dirname "$PC")
PKG_CONFIG_PATH=
PKG_CONFIG_SYSROOT_DIR=$DEST
export PKG_CONFIG_LIBDIR PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR
FLAGS=$(pkg-config --cflags --libs zus) || die "pkg-config zus failed"
echo "pkg-config --cflags --libs zus: $FLAGS"
case $FLAGS in
*"$DEST"*) ;;
*) die "pkg-config's flags do not point into DESTDIR: $FLAGS" ;;
esac
PLUGINDIR=$(pkg-config --variable=plugindir zus)
ABI=$(pkg-config --variable=abi_version zus)
echo "plugindir: $PLUGINDIR, abi_version: $ABI, abi_min: $(pkg-config --variable=abi_min zus)"
[ -n "$PLUGINDIR" ] || die "zus.pc has no plugindir"
grep -q "^#define ZUS_PLUGIN_ABI_VERSION[[:space:]]*$ABI\$" "$S/include/zufs/zus.h" ||
	die "zus.pc's abi_version $ABI is not zus.h's"

echo "== build examples/memfs out of tree"
cp -R "$S/examples/memfs" "$T/memfs" || hard "cannot copy the example"
chmod -R u+w "$T/memfs"		# distcheck's source tree is read-only
env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -C "$T/memfs" \
	CFLAGS="-O2 -g -Werror ${SDK_TEST_CFLAGS:-}" >"$T/build.log" 2>&1 ||
	{ cat "$T/build.log"; die "the example does not build against the installed SDK"; }
cat "$T/build.log"
grep -q -- "-I$DEST" "$T/build.log" || die "the example was not built with the installed SDK's flags"
SO=$T/memfs/memfs.so
syms=$(nm -D --defined-only "$SO" | awk '{ print $3 }' | grep -v '^_' | tr '\n' ' ')
[ "$syms" = "zus_plugin " ] || die "memfs.so exports more than zus_plugin: $syms"
# pkgconf puts the sysroot in front of plugindir too: this lands in DEST
case $PLUGINDIR in
"$DEST"/*) ;;
*) die "plugindir $PLUGINDIR is not under the sysroot $DEST" ;;
esac
env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s -C "$T/memfs" install \
	>/dev/null || die "make install of the example failed"
[ -f "$PLUGINDIR/memfs.so" ] ||
	die "make install did not put memfs.so in plugindir ($PLUGINDIR)"

echo "== zusd refuses plugins of other API versions"
truncate -s 64M "$IMG" || hard "truncate failed"
for v in OLD NEW; do
	cc -std=gnu11 -shared -fPIC -D"ABI_$v" ${SDK_TEST_CFLAGS:-} $FLAGS \
		-o "$T/abi_$v.so" "$S/tests/sdk/abi_plugin.c" ||
		die "cannot build the ABI_$v plugin"
	"$ZUSD" --transport=fuse --plugin "$T/abi_$v.so" "$IMG" "$MNT" \
		>"$T/abi.log" 2>&1
	st=$?
	cat "$T/abi.log"
	[ $st -ne 0 ] || die "zusd loaded a plugin built with ABI_$v"
	grep -q "plugin API version" "$T/abi.log" &&
		grep -q "this zusd accepts versions [0-9]* to $ABI" "$T/abi.log" &&
		grep -q "libzus-dev" "$T/abi.log" ||
		die "zusd's refusal of ABI_$v does not say which versions it takes"
	! is_mounted || die "a refused plugin left a mount"
done

fuse_require

echo "== posix-test on memfs over FUSE"
"$ZUSD" --transport=fuse --plugin "$SO" -o size=128m "$IMG" "$MNT" >"$LOG" 2>&1 &
ZPID=$!
wait_mounted 20
df -k "$MNT" | awk 'NR == 2 { exit !($2 == 131072) }' ||
	die "size=128m is not the capacity: $(df -k "$MNT" | tail -n 1)"
# no group excluded: collapse, O_TMPFILE and FIEMAP skip themselves
# because FUSE does not carry them
"$POSIX_TEST" -q "$MNT"
PT=$?
kill -0 "$ZPID" 2>/dev/null || die "zusd died during posix-test"
unmount_fs
[ $PT -eq 0 ] || die "posix-test failed on memfs"
echo "PASS"
exit 0
