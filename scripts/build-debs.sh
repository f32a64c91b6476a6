#!/bin/bash
# Build the Debian packages (zufs, zufs-dkms, libzus-dev) from this source
# tree and check them with lintian.
#
#   scripts/build-debs.sh [--nocheck] OUTDIR
#
# The tree is copied to OUTDIR/zufs-VERSION (in a git checkout: the files
# git tracks or would track, so build directories stay out) and built with
# dpkg-buildpackage -us -uc -b; the .debs, .changes and lintian.txt land in
# OUTDIR.  --nocheck: skip the package build's make check (DEB_BUILD_OPTIONS).
# Exit status 1 when the build fails or lintian reports an error (E:).
# Needs: scripts/install-deps.sh --vm (debhelper, dh-dkms, lintian).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
nocheck=0
[[ ${1:-} == --nocheck ]] && { nocheck=1; shift; }
out=${1:?usage: $0 [--nocheck] OUTDIR}
for t in dpkg-buildpackage dh lintian; do
	command -v "$t" >/dev/null ||
		{ echo "build-debs: $t not found: run scripts/install-deps.sh --vm" >&2; exit 1; }
done
version=$(sed -n '1s/^zufs (\([^)]*\)).*/\1/p' "$top/debian/changelog")
[[ -n $version ]] || { echo "build-debs: cannot read the version from debian/changelog" >&2; exit 1; }
ac_version=$(sed -n 's/^AC_INIT(\[zufs\], \[\([^]]*\)\].*/\1/p' "$top/configure.ac")
[[ $version == "$ac_version" ]] ||
	{ echo "build-debs: debian/changelog says $version, configure.ac $ac_version: add a changelog entry (dch -v $ac_version)" >&2; exit 1; }

mkdir -p "$out"
out=$(cd "$out" && pwd)
src=$out/zufs-$version
rm -rf "$src" "$out"/*.deb "$out"/*.changes "$out"/*.buildinfo
mkdir -p "$src"
if git -C "$top" rev-parse --git-dir >/dev/null 2>&1; then
	git -C "$top" ls-files -z --cached --others --exclude-standard |
		(cd "$top" && tar --null -T - -cf -) | tar -C "$src" -xf -
else
	tar -C "$top" --exclude=./autom4te.cache -cf - . | tar -C "$src" -xf -
fi
mkdir -p "$src/m4"	# holds only generated files: git has none of it

opts=${DEB_BUILD_OPTIONS:-}
((nocheck)) && opts="${opts:+$opts }nocheck"
echo "build-debs: dpkg-buildpackage in $src (log: $out/build.log)"
if ! (cd "$src" && DEB_BUILD_OPTIONS=$opts dpkg-buildpackage -us -uc -b) >"$out/build.log" 2>&1; then
	tail -n 40 "$out/build.log"
	echo "build-debs: dpkg-buildpackage failed (see $out/build.log)" >&2
	exit 1
fi
(cd "$out" && ls -1 ./*.deb) | sed 's|^\./|build-debs: built |'
changes=$out/zufs_${version}_$(dpkg-architecture -qDEB_HOST_ARCH).changes
# lintian warns when run as root; the tags are the same
lintian --pedantic --display-info --display-experimental --show-overrides "$changes" 2>&1 |
	grep -v '^running with root privileges' > "$out/lintian.txt" || :
errors=$(grep -c '^E: ' "$out/lintian.txt" || :)
warnings=$(grep -c '^W: ' "$out/lintian.txt" || :)
overridden=$(grep -c '^O: ' "$out/lintian.txt" || :)
sed 's/^/lintian: /' "$out/lintian.txt"
echo "build-debs: lintian: $errors errors, $warnings warnings, $overridden overridden (debian/*.lintian-overrides say why)"
((errors == 0))
