#!/bin/bash
# Build the small busybox initramfs used by the ZUFS VM harness.
#
#   tests/vm/mkinitramfs.sh [-k KVER] [-m MODDIR] -o OUT.cpio.gz
#
# -m MODDIR: the kernel's modules dir (default /lib/modules/KVER; KVER then
# defaults to its name), e.g. a staged `make modules_install` of a kernel
# built here (tests/vm/debug-kernel.sh). What that kernel builds in
# (modules.builtin) is skipped: with everything built in, no module at all.
#
# The image holds busybox-static, the guest kernel modules needed to reach the
# host's root over virtio-9p (decompressed here on the host, so busybox insmod
# never sees a .ko.xz/.ko.zst), /init (the stage-1 script below) and
# guest-stage2.sh (stage 2, copied into the new root and run after switch_root).
# See tests/vm/README.md for the boot sequence.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

usage() {
	echo "usage: $0 [-k KERNEL_VERSION] [-m MODULES_DIR] -o OUTPUT.cpio.gz" >&2
	exit 2
}
die() { echo "mkinitramfs: error: $*" >&2; exit 1; }

kver=
out=
moddir=
while getopts "k:m:o:h" opt; do
	case $opt in
	k) kver=$OPTARG ;;
	m) moddir=$OPTARG ;;
	o) out=$OPTARG ;;
	*) usage ;;
	esac
done
[[ -n $out ]] || usage

# Default guest kernel: the newest /boot/vmlinuz-* that has modules installed.
default_kver() {
	local v best=
	for v in $(cd /boot 2>/dev/null && ls vmlinuz-* 2>/dev/null | sed 's/^vmlinuz-//' | sort -V); do
		[[ -f /lib/modules/$v/modules.dep ]] && best=$v
	done
	echo "$best"
}
if [[ -n $moddir ]]; then
	[[ -n $kver ]] || kver=$(basename "$moddir")
else
	[[ -n $kver ]] || kver=$(default_kver)
	[[ -n $kver ]] || die "no kernel in /boot with modules in /lib/modules (run tests/vm/install-deps.sh)"
	moddir=/lib/modules/$kver
fi
[[ -f $moddir/modules.dep ]] || die "$moddir/modules.dep missing (kernel $kver not installed?)"

busybox=$(command -v busybox || true)
[[ -x /bin/busybox ]] && busybox=/bin/busybox
[[ -n $busybox ]] || die "busybox not found (apt-get install busybox-static)"
if ldd "$busybox" >/dev/null 2>&1; then
	die "$busybox is dynamically linked; install busybox-static"
fi
# list once: `busybox --list | grep -q` races under pipefail (SIGPIPE)
applets=$("$busybox" --list)
for a in sh mount insmod switch_root poweroff mkdir cat sleep chroot; do
	grep -qx "$a" <<<"$applets" || die "busybox lacks applet '$a'"
done
for t in cpio gzip; do
	command -v $t >/dev/null || die "$t not found (apt-get install $t)"
done

# Modules stage 1 needs, in the order DESIGN.md §9 gives them. Each one may be
# built in (modules.builtin), a module (modules.dep), or absent in a given
# kernel; dependencies come from modules.dep (already transitive).
WANT=(virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci
	netfs fscache 9pnet 9pnet_virtio 9p overlay)
# Loaded only for run-vm.sh --root-image (zufs.upper=): the overlay's upper
# layer on an ext4 virtio disk that outlives the boot.
# (crc32c: ext4 asks the crypto API for it by name, modules.dep cannot say.)
WANT_UPPER=(virtio_blk crc32c_generic ext4)

norm() { echo "${1//-/_}"; }

declare -A dep_path=() dep_list=() builtin=()
while IFS= read -r line; do
	path=${line%%:*}
	name=$(basename "$path"); name=${name%%.ko*}
	name=$(norm "$name")
	dep_path[$name]=$path
	dep_list[$name]=${line#*:}
done < "$moddir/modules.dep"
while IFS= read -r path; do
	name=$(basename "$path"); name=$(norm "${name%%.ko*}")
	builtin[$name]=1
done < "$moddir/modules.builtin"

order=()
declare -A seen=()
add_mod() {
	local m=$1 d deps i
	[[ -n ${seen[$m]:-} ]] && return 0
	seen[$m]=1
	read -r -a deps <<< "${dep_list[$m]}"
	# modules.dep lists dependencies so that the last must load first.
	for ((i = ${#deps[@]} - 1; i >= 0; i--)); do
		d=$(basename "${deps[i]}"); d=$(norm "${d%%.ko*}")
		add_mod "$d"
	done
	order+=("$m")
}

want() { # die|warn MODULE...: append them and their dependencies to order
	local m missing=$1
	shift
	for m in "$@"; do
		m=$(norm "$m")
		if [[ -n ${builtin[$m]:-} ]]; then
			echo "mkinitramfs: $m: built into $kver"
		elif [[ -n ${dep_path[$m]:-} ]]; then
			add_mod "$m"
		else
			$missing "module $m is neither built in nor in $moddir (kernel $kver)"
		fi
	done
}
warn() { echo "mkinitramfs: warning: $* (no --root-image)" >&2; }
want die "${WANT[@]}"
nbase=${#order[@]}
want warn "${WANT_UPPER[@]}"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/zufs-initramfs.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp"/{bin,sbin,dev,proc,sys,newroot,lower,ovl,hostres,modules,etc}

cp "$busybox" "$tmp/bin/busybox"
# Minimal device nodes so /init can print before devtmpfs is mounted.
mknod -m 600 "$tmp/dev/console" c 5 1
mknod -m 666 "$tmp/dev/null" c 1 3

i=0
: > "$tmp/etc/modules.order"
: > "$tmp/etc/modules.upper"
for m in "${order[@]}"; do
	src=$moddir/${dep_path[$m]}
	dst=$(printf '%s/modules/%02d-%s.ko' "$tmp" "$i" "$m")
	case $src in
	*.ko) cp "$src" "$dst" ;;
	*.ko.xz) xz -dc "$src" > "$dst" ;;
	*.ko.zst) zstd -qdc "$src" > "$dst" ;;
	*.ko.gz) gzip -dc "$src" > "$dst" ;;
	*) die "unknown module format: $src" ;;
	esac
	if ((i < nbase)); then
		echo "$(basename "$dst")" >> "$tmp/etc/modules.order"
	else
		echo "$(basename "$dst")" >> "$tmp/etc/modules.upper"
	fi
	echo "mkinitramfs: module $m <- ${dep_path[$m]}"
	i=$((i + 1))
done
echo "$kver" > "$tmp/etc/kernel-version"

cp "$here/guest-stage2.sh" "$tmp/stage2.sh"
chmod 755 "$tmp/stage2.sh"

cat > "$tmp/init" <<'EOF'
#!/bin/busybox sh
# Stage 1 of the ZUFS VM harness (generated by tests/vm/mkinitramfs.sh).
/bin/busybox --install -s /bin
export PATH=/bin:/sbin

log() { echo "vm-init: $*"; }

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev

cmdline_arg() {
	local a
	for a in $(cat /proc/cmdline); do
		case $a in "$1="*) echo "${a#*=}"; return 0 ;; esac
	done
	return 1
}

fail() {
	log "FATAL: $*"
	if [ "$(cmdline_arg zufs.mode)" = shell ]; then
		log "dropping to a busybox shell; 'poweroff -f' to quit"
		setsid -c sh
	fi
	poweroff -f
	echo o > /proc/sysrq-trigger
	while :; do sleep 60; done
}

log "kernel $(uname -r), loading $(wc -l < /etc/modules.order) modules"
for m in $(cat /etc/modules.order); do
	insmod "/modules/$m" || fail "insmod $m failed"
done

msize=$(cmdline_arg zufs.msize || echo 262144)
# virtio-9p channels appear asynchronously: retry the mount for a few seconds.
mount9p() { # tag dir opts
	local n=0
	until mount -t 9p -o "trans=virtio,version=9p2000.L,msize=$msize,$3" "$1" "$2" 2>/dev/null; do
		n=$((n + 1))
		[ $n -ge 50 ] && return 1
		sleep 0.1
	done
}

mount9p hostroot /lower ro,cache=loose || fail "cannot mount 9p tag hostroot"
upper=$(cmdline_arg zufs.upper || :)
if [ -n "$upper" ]; then
	# run-vm.sh --root-image: the root's changes live on a disk, so the
	# next boot with the same image starts where this one stopped.
	for m in $(cat /etc/modules.upper); do
		insmod "/modules/$m" || fail "insmod $m failed"
	done
	n=0
	until [ -b "$upper" ]; do
		n=$((n + 1))
		[ $n -ge 100 ] && fail "root image $upper did not appear"
		sleep 0.1
	done
	mount -t ext4 "$upper" /ovl || fail "cannot mount the root image $upper"
	log "root image $upper: the overlay's upper layer"
else
	mount -t tmpfs -o mode=755 tmpfs /ovl || fail "tmpfs for overlay"
fi
mkdir -p /ovl/upper /ovl/work
mount -t overlay overlay -o lowerdir=/lower,upperdir=/ovl/upper,workdir=/ovl/work /newroot ||
	fail "cannot mount overlay on the 9p root"
mkdir -p /newroot/results
mount9p results /newroot/results rw,cache=none || fail "cannot mount 9p tag results"

cfg=/newroot/results/.vm/config
[ -f $cfg ] || fail "$cfg missing (run-vm.sh writes it)"
. $cfg

# A fresh /tmp and /var/tmp in every mode (systemd-tmpfiles would empty the
# host's /tmp anyway). Host directories the guest needs that live there
# (source, build, work dir: VM_HOSTDIRS) are bound back from the 9p root.
mount -t tmpfs -o mode=1777 tmpfs /newroot/tmp || fail "tmpfs on /tmp"
mount -t tmpfs -o mode=1777 tmpfs /newroot/var/tmp || fail "tmpfs on /var/tmp"
for d in $VM_HOSTDIRS; do
	case $d in
	/tmp/* | /var/tmp/*)
		mkdir -p "/newroot$d"
		mount -o bind "/lower$d" "/newroot$d" || fail "cannot bind $d"
		log "host $d bound read-only"
		;;
	esac
done

# run-vm.sh --modules-dir/--debug-kernel: a kernel built here has its
# modules staged outside /lib/modules; bind them where modprobe looks.
if [ -n "${VM_MODULES_DIR:-}" ]; then
	kmods=/newroot/lib/modules/$(uname -r)
	mkdir -p "$kmods"
	mount -o bind "/lower$VM_MODULES_DIR" "$kmods" ||
		fail "cannot bind $VM_MODULES_DIR on /lib/modules/$(uname -r)"
	log "modules: $VM_MODULES_DIR on /lib/modules/$(uname -r)"
fi

mkdir -p /newroot/.zufs-vm
cp /stage2.sh /newroot/.zufs-vm/stage2.sh
cp /etc/kernel-version /newroot/.zufs-vm/initramfs-kernel-version
# The host's machine-id would be shared by every VM; systemd makes a new one
# (kept by a --root-image, as a reboot keeps it).
[ -s /ovl/upper/etc/machine-id ] || : > /newroot/etc/machine-id
# If the host is a container, its marker files would make systemd in the guest
# believe it runs in a container (ConditionVirtualization=, udev...): hide them.
rm -f /newroot/.dockerenv /newroot/run/.containerenv 2>/dev/null

case "$VM_MODE" in
script | shell)
	init=/bin/bash
	set -- /.zufs-vm/stage2.sh --pid1
	;;
systemd | systemd-shell)
	sd=/newroot/etc/systemd/system
	mkdir -p $sd/multi-user.target.wants
	if [ -n "$VM_UNIT" ]; then
		cp "/newroot/results/.vm/$VM_UNIT" "$sd/$VM_UNIT" || fail "cannot install unit $VM_UNIT"
		ln -sf "../$VM_UNIT" "$sd/multi-user.target.wants/$VM_UNIT"
		log "installed unit $VM_UNIT"
	fi
	for u in $VM_MASK; do
		ln -sf /dev/null "$sd/$u"
	done
	if [ "$VM_MODE" = systemd-shell ]; then
		mkdir -p $sd/serial-getty@ttyS0.service.d
		cat > $sd/serial-getty@ttyS0.service.d/autologin.conf <<'UNIT'
[Service]
ExecStart=
ExecStart=-/sbin/agetty --autologin root --noclear --keep-baud 115200,57600,38400,9600 %I $TERM
UNIT
		# No password prompt: an empty root password in the throw-away overlay.
		sed -i 's/^root:[^:]*:/root::/' /newroot/etc/shadow 2>/dev/null || :
	fi
	init=/lib/systemd/systemd
	[ -x /newroot$init ] || fail "$init not found on the host root (apt-get install systemd)"
	set --
	;;
*)
	fail "unknown VM_MODE '$VM_MODE'"
	;;
esac

# Hand the pseudo file systems over to the new root (systemd accepts them
# pre-mounted); /lower and /ovl stay referenced by the overlay.
mount --move /dev /newroot/dev
mount --move /proc /newroot/proc
mount --move /sys /newroot/sys
# run-vm.sh --setup SCRIPT: prepare the new root (install files, fstab,
# units) from inside it, just before its init starts.
if [ -n "$VM_SETUP" ]; then
	log "setup: $VM_SETUP"
	chroot /newroot /bin/bash /.zufs-vm/stage2.sh --setup ||
		fail "setup script $VM_SETUP failed (results/setup.log)"
fi
log "switch_root to $init ($VM_MODE mode)"
exec switch_root /newroot $init "$@"
EOF
chmod 755 "$tmp/init"

mkdir -p "$(dirname "$out")"
(cd "$tmp" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc --quiet) |
	gzip -1 > "$out.$$.tmp"
mv "$out.$$.tmp" "$out"
echo "mkinitramfs: wrote $out ($(du -h "$out" | cut -f1), kernel $kver, ${#order[@]} modules)"
