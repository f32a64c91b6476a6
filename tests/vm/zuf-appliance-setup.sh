#!/bin/bash
# run-vm.sh --setup script of the appliance VM test (test_zuf_appliance.sh):
# runs in a chroot of the guest's overlay root just before systemd starts.
#
#   zuf-appliance-setup.sh test STAGE [FSTAB_OPTIONS]
#
# Installs the appliance as `make install` would on a real machine: copies
# STAGE (the host's `make install DESTDIR=STAGE`) into /, with zuf.ko in
# /lib/modules/$(uname -r)/extra and its modules.dep (so modprobe@zuf.service
# and `modprobe zuf` work), ldconfig, writes zusd.conf (transport=zuf,
# plugins=pmfs2) and the /etc/fstab line, and enables zusd (+ zusd.socket).
# Anything else ("prepare" boot): nothing to do.
set -euo pipefail

[[ ${1:-} == test ]] || exit 0
stage=${2:?usage: $0 test STAGE [FSTAB_OPTIONS]}
# units/README.md's line (+ nofail: mount(8) must not hand it to the kernel)
fstab_opts=${3:-defaults,nofail,x-systemd.after=zusd.service}
[[ -d $stage ]] || { echo "setup: no staging dir $stage" >&2; exit 1; }
kver=$(uname -r)
say() { echo "appliance-setup: $*"; }

# merged /usr: /lib is a symlink to usr/lib, keep it one
tar -C "$stage" -cf - . | tar -C / -xf - --keep-directory-symlink --no-same-owner
say "installed $(find "$stage" -type f | wc -l) files from $stage"

# zuf.ko for the running kernel: the host wrapper put it and a modules.dep
# made with depmod -b on the host into the stage (a depmod here reads every
# module over 9p: minutes under TCG); else install it and depmod here.
if ! grep -q '^extra/zuf.ko:' "/lib/modules/$kver/modules.dep" 2>/dev/null; then
	ko=$(find "$stage" -name zuf.ko | head -1)
	[[ -n $ko ]] || { echo "setup: zuf.ko not in $stage" >&2; exit 1; }
	mkdir -p "/lib/modules/$kver/extra"
	cp "$ko" "/lib/modules/$kver/extra/zuf.ko"
	depmod -a "$kver"
fi
say "zuf.ko: $(modinfo -k "$kver" -F filename zuf)"

conf=$(cd "$stage" && find . -path '*/zufs/zusd.conf' | head -1)
[[ -n $conf ]] || { echo "setup: zusd.conf not installed" >&2; exit 1; }
conf=${conf#.}
# the shipped, commented file with two settings uncommented
sed -i -e 's/^#plugins = pmfs2$/plugins = pmfs2/' \
	-e 's/^#transport = auto$/transport = zuf/' "$conf"
if ! grep -q '^plugins = pmfs2$' "$conf" || ! grep -q '^transport = zuf$' "$conf"; then
	echo "setup: cannot set plugins/transport in $conf" >&2
	exit 1
fi
echo "$conf" > /etc/zufs-test-conf-path
say "zusd.conf: $conf"

mkdir -p /data
echo "/dev/pmem0 /data pmfs2 $fstab_opts 0 0" >> /etc/fstab
systemctl enable zusd.service
say "fstab: $(tail -1 /etc/fstab)"
