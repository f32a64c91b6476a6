#!/bin/bash
# Guest script of the package test (test_zuf_deb.sh), systemd as PID 1, the
# root kept on run-vm.sh --root-image between the two boots:
#
#   zuf-deb.sh install DEBDIR   first boot: what an admin does on a new
#                               machine: apt install the three .debs (DKMS
#                               builds zuf.ko), nothing enabled or started,
#                               modprobe zuf, fsdax namespace, mkfs.pmfs2,
#                               zusd.conf, the fstab line, systemctl enable
#                               zusd, a file on /data; the example plugin
#                               built against the installed SDK and served
#                               by the installed zusd over FUSE
#   zuf-deb.sh reboot           second boot: /data mounted at boot and
#                               served over zuf, the file intact, zufsctl
#                               status; removal refused while mounted; then
#                               umount, fsck, apt purge: no module, unit,
#                               file or running zusd left
set -euo pipefail
# shellcheck source=tests/vm/guest-lib.sh disable=SC1091
. "${VM_LIB:-$(dirname "$0")/guest-lib.sh}"

R=$VM_RESULTS
: > "$R/summary.txt"
mode=${1:-}
kver=$(uname -r)
export DEBIAN_FRONTEND=noninteractive
# the packaged programs, never a /usr/local build of the host's
ZUSD=/usr/sbin/zusd MKFS=/usr/sbin/mkfs.pmfs2 FSCK=/usr/sbin/fsck.pmfs2 ZUFSCTL=/usr/bin/zufsctl
SUMFILE=/var/lib/zufs-deb-test.sum

stamp() { # prefix each line with the guest's uptime (where the time goes)
	local l
	while IFS= read -r l; do echo "[$(cut -d' ' -f1 /proc/uptime)] $l"; done
}
zusd_active() { [[ $(systemctl is-active zusd.service) == active ]]; }
data_on_zuf() { [[ $(findmnt -n -o FSTYPE /data 2>/dev/null) == pmfs2 ]]; }

install_boot() {
	local debdir=$1 t0 r sum plugindir
	[[ -d $debdir ]] || vm_die "no $debdir"
	vm_log "deb: kernel $kver, packages: $(cd "$debdir" && echo ./*.deb)"
	if dpkg-query -W -f='${Status}' zufs 2>/dev/null | grep -q 'ok installed'; then
		vm_die "zufs is already installed on the host root: the test needs a machine without it"
	fi
	# A host that ran `make install --sysconfdir=/etc` has an unowned
	# /etc/zufs/zusd.conf: a new machine has none (dpkg would ask about it).
	[[ ! -e /etc/zufs ]] || { vm_log "deb: hiding the host's /etc/zufs"; rm -rf /etc/zufs; }
	# A container host's policy-rc.d forbids every service action from
	# maintainer scripts: a real machine has none.
	rm -f /usr/sbin/policy-rc.d
	# man-db's trigger re-indexes every man page over 9p (~25 s under TCG
	# per dpkg run): what the test checks of man pages, lintian did.
	rm -f /var/lib/man-db/auto-update

	t0=$SECONDS r=0
	apt-get install -y --no-install-recommends "$debdir"/zufs_*.deb \
		"$debdir"/zufs-dkms_*.deb "$debdir"/libzus-dev_*.deb 2>&1 | stamp >"$R/apt-install.log" || r=$?
	echo "apt install: $((SECONDS - t0)) s (DKMS build of zuf.ko included)" | tee -a "$R/summary.txt"
	vm_check "apt install ./zufs_*.deb ./zufs-dkms_*.deb ./libzus-dev_*.deb" test "$r" = 0
	((r == 0)) || { tail -n 30 "$R/apt-install.log"; vm_summary; exit 1; }
	dkms status > "$R/dkms-status.txt" 2>&1 || :
	vm_check "dkms built and installed zuf.ko for $kver" \
		grep -qE "^zufs/[^,]+, $kver, [^:]+: installed" "$R/dkms-status.txt"
	vm_check "modinfo: zuf.ko is DKMS's (/lib/modules/$kver/updates/dkms)" \
		test "$(modinfo -n zuf 2>&1)" = "/lib/modules/$kver/updates/dkms/zuf.ko"
	vm_check "the installation enabled nothing (zusd, zusd.socket disabled)" \
		test "$(systemctl is-enabled zusd.service zusd.socket 2>&1 | sort -u)" = disabled
	vm_check "the installation started nothing (zusd inactive)" \
		test "$(systemctl is-active zusd.service)" = inactive
	vm_check "modprobe zuf right after install" modprobe zuf
	vm_check "zuf-root control node (/sys/fs/zuf)" test -d /sys/fs/zuf

	pmem=$(vm_pmem_setup namespace0.0) || vm_die "no pmem"
	vm_check "mkfs.pmfs2 $pmem" "$MKFS" -f -q "$pmem"
	sed -i -e 's/^#plugins = pmfs2$/plugins = pmfs2/' \
		-e 's/^#transport = auto$/transport = zuf/' /etc/zufs/zusd.conf
	vm_check "zusd.conf is the packaged conffile, edited" \
		grep -qx 'plugins = pmfs2' /etc/zufs/zusd.conf
	mkdir -p /data
	echo "$pmem /data pmfs2 defaults,nofail,x-systemd.after=zusd.service 0 0" >> /etc/fstab
	systemctl daemon-reload
	vm_check "systemctl enable zusd" systemctl enable zusd.service
	# a pmem device with no known filesystem starts zusd (60-zufs.rules):
	# restart it so it reads the edited zusd.conf
	systemctl restart zusd.service
	vm_check "zusd active after enable + restart" vm_until 30 zusd_active
	vm_check "mount /data (fstab)" mount /data
	vm_check "/data is pmfs2 over zuf" data_on_zuf
	head -c 8M /dev/urandom > /data/keep
	sum=$(sha256sum < /data/keep)
	echo "$sum" > "$SUMFILE"
	sync

	# The SDK as a plugin author uses it: the installed example, built with
	# pkg-config zus alone, loaded by the installed zusd.
	plugindir=$(pkg-config --variable=plugindir zus 2>&1 || :)
	vm_check "pkg-config zus: plugindir is zusd's (/usr/lib/x86_64-linux-gnu/zufs)" \
		test "$plugindir" = /usr/lib/x86_64-linux-gnu/zufs
	rm -rf /tmp/memfs
	cp -r /usr/share/doc/libzus-dev/examples/memfs /tmp/memfs
	vm_check "the example plugin builds against the installed SDK" \
		make -C /tmp/memfs >"$R/memfs-build.log" 2>&1
	memfs_fuse
	vm_summary
}

# memfs_fuse: /usr/sbin/zusd serves the example over FUSE: a file written
# and read back, then unmounted.
memfs_fuse() {
	local so mnt=/tmp/memfs-mnt img=/tmp/memfs.img zpid ok=1
	so=$(find /tmp/memfs -maxdepth 1 -name '*.so' | head -1)
	[[ -n $so ]] || { vm_fail "example plugin: no .so built"; return; }
	modprobe fuse || :
	mkdir -p "$mnt"
	truncate -s 16M "$img"
	"$ZUSD" --transport=fuse --plugin "$so" "$img" "$mnt" >"$R/memfs-zusd.log" 2>&1 &
	zpid=$!
	vm_until 30 mountpoint -q "$mnt" || ok=0
	if ((ok)); then
		echo hello-from-memfs > "$mnt/f" && [[ $(cat "$mnt/f") == hello-from-memfs ]] || ok=0
		umount "$mnt" || ok=0
	fi
	timeout 30 tail --pid="$zpid" -f /dev/null || kill "$zpid" 2>/dev/null || :
	if ((ok)); then
		vm_pass "the installed zusd serves the example plugin over FUSE (write, read back, umount)"
	else
		vm_fail "the installed zusd serves the example plugin over FUSE (see memfs-zusd.log)"
	fi
}

# what apt purge must leave behind: nothing
gone_zusd() { ! pgrep -x zusd && [[ $(systemctl is-active zusd.service) != active ]]; }
gone_module() {
	[[ -z $(find /lib/modules -name 'zuf.ko*') ]] && ! modinfo zuf >/dev/null 2>&1
}
gone_dkms() { [[ ! -e /var/lib/dkms/zufs ]] && ! compgen -G '/usr/src/zufs-*' >/dev/null; }
gone_files() {
	local f left=0
	for f in /lib/systemd/system/zusd.service /lib/systemd/system/zusd.socket \
		/lib/systemd/system/sys-fs-zuf.mount /lib/udev/rules.d/60-zufs.rules \
		/usr/share/dbus-1/system.d/org.zufs.Manager1.conf /usr/sbin/zusd \
		/usr/sbin/mkfs.pmfs2 /usr/sbin/fsck.pmfs2 /usr/bin/zufsctl \
		/usr/lib/x86_64-linux-gnu/zufs /usr/include/zufs /etc/zufs; do
		[[ ! -e $f ]] || { echo "left after purge: $f"; left=1; }
	done
	((left == 0))
}
gone_enablement() { [[ -z $(find /etc/systemd/system -name 'zusd*') ]]; }
gone_packages() { ! dpkg -l zufs zufs-dkms libzus-dev 2>/dev/null | grep -q '^[ir]'; }

reboot_boot() {
	local r
	vm_check "after the reboot: /data mounted from fstab, pmfs2 over zuf" vm_until 120 data_on_zuf
	vm_check "after the reboot: zusd active (enabled by the admin)" zusd_active
	vm_check "after the reboot: zuf.ko is DKMS's" \
		test "$(modinfo -n zuf 2>&1)" = "/lib/modules/$kver/updates/dkms/zuf.ko"
	vm_check "after the reboot: /data/keep is intact" \
		test "$(timeout 120 sha256sum < /data/keep)" = "$(cat "$SUMFILE")"
	"$ZUFSCTL" status > "$R/zufsctl-status.txt" 2>&1 || :
	vm_check "zufsctl status shows /data" grep -q /data "$R/zufsctl-status.txt"

	r=0
	apt-get remove -y zufs 2>&1 | stamp >"$R/apt-remove-mounted.log" || r=$?
	vm_check "apt remove zufs is refused while /data is mounted" test "$r" != 0
	vm_check "the refusal says to umount first" grep -q 'umount it' "$R/apt-remove-mounted.log"
	vm_check "zufs is still installed after the refusal" \
		test "$(dpkg-query -W -f='${Status}' zufs 2>&1)" = "install ok installed"
	vm_check "zusd still serves /data after the refusal" \
		test "$(timeout 60 sha256sum < /data/keep)" = "$(cat "$SUMFILE")"
	# a refused prerm leaves the package half-installed: dpkg puts it back
	dpkg --configure -a >/dev/null 2>&1 || :

	vm_check "umount /data" umount /data
	vm_check "fsck.pmfs2 -n after umount: clean" "$FSCK" -n /dev/pmem0
	r=0
	apt-get purge -y zufs zufs-dkms libzus-dev 2>&1 | stamp >"$R/apt-purge.log" || r=$?
	vm_check "apt purge zufs zufs-dkms libzus-dev" test "$r" = 0
	vm_check "purge: no zusd running" gone_zusd
	vm_check "purge: no zuf.ko in /lib/modules, modprobe finds none" gone_module
	vm_check "purge: DKMS forgot zufs" gone_dkms
	vm_check "purge: no program, plugin, header, unit, rule, policy or config left" gone_files
	vm_check "purge: no enablement symlink left" gone_enablement
	vm_check "purge: dpkg knows no zufs package" gone_packages
	# stopping zusd and zuf-root released the module: it unloads
	vm_check "zuf.ko (still loaded) unloads: nothing holds it" rmmod zuf
	vm_summary
}

case $mode in
install) install_boot "${2:?usage: $0 install DEBDIR}" ;;
reboot) reboot_boot ;;
*) vm_die "usage: $0 install DEBDIR | reboot" ;;
esac
