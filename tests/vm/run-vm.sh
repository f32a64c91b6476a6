#!/bin/bash
# shellcheck disable=SC2054  # commas inside qemu arguments are intended
# Boot Debian's kernel under qemu (TCG) with pmem + NVMe, the host's / as a
# read-only 9p root (tmpfs overlay on top) and a writable 9p results export,
# run a guest script (or systemd, or a shell), and report.
#
#   tests/vm/run-vm.sh [options] GUEST_SCRIPT [-- ARGS...]
#   tests/vm/run-vm.sh [options] --systemd [--unit FILE | GUEST_SCRIPT [-- ARGS...]]
#   tests/vm/run-vm.sh [options] --shell [--systemd]
#
# Exit status: the guest script's exit status; 124 if the guest timed out;
# 125 if the guest never reported one (crash, panic, harness error); 1 if the
# guest kernel log shows WARNING/BUG/Oops/GPF/lockdep/KASAN (even if the
# script passed); 0 when --power-cut killed the guest as asked. The run
# directory (console log, results) is printed.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

usage() {
	cat >&2 <<EOF
usage: $0 [options] GUEST_SCRIPT [-- ARGS...]
       $0 [options] --shell [--systemd]
       $0 [options] --systemd --unit FILE
options:
  --systemd          boot systemd as PID 1 (the script runs from a generated unit)
  --unit FILE        systemd mode: install FILE (a .service) instead; it must
                     write /results/rc and power off (ExecStopPost=/bin/bash
                     /.zufs-vm/stage2.sh --finish does both)
  --mask UNIT        systemd mode: also mask UNIT (repeatable)
  --host-dir DIR     make host DIR visible in the guest even under /tmp (repeatable)
  --setup SCRIPT     run SCRIPT (bash, with the guest script's ARGS) in the new
                     root (chroot) just before its init starts (any mode):
                     install files into the overlay, write /etc/fstab, enable
                     units... A failing setup powers off (exit 125); its
                     output is in results/setup.log
  --shell            interactive shell on this terminal (Ctrl-a x kills qemu)
  --timeout SECS     kill the guest after SECS (default ${VM_TIMEOUT:-900}; 0 = none)
  --mem SIZE         guest RAM (default 2G)
  --maxmem SIZE      maxmem (default 8G)
  --smp N            vCPUs (default 2)
  --cpu MODEL        qemu -cpu (default max: clwb/clflushopt available)
  --pmem-size SIZE   emulated NVDIMM size (default 1G)
  --nvme-size SIZE   NVMe disk size (default 2G; sparse file)
  --virtio-pmem SIZE also a virtio-pmem device of SIZE (an asynchronous DAX
                     device: its region's namespace in the guest, after
                     modprobe virtio_pmem, is vm_virtio_pmem_setup's)
  --kernel VER       guest kernel version (default: newest /boot/vmlinuz-* with modules)
  --kernel-image FILE  boot FILE (a bzImage) instead of /boot/vmlinuz-VER; its
                     release comes from its header
  --modules-dir DIR  that kernel's modules (a staged /lib/modules/<release>, with
                     modules.dep and modules.builtin; default /lib/modules/<release>):
                     bound on the guest's /lib/modules/<release>
  --debug-kernel     boot the debug kernel tests/vm/debug-kernel.sh built (KASAN,
                     lockdep, kmemleak...): --kernel-image + --modules-dir of its cache
  --guest-env NAME=VALUE  export NAME=VALUE to the guest script (repeatable)
  --append ARGS      extra kernel command line
  --workdir DIR      where runs/ and the initramfs go (default \$VM_WORKDIR or
                     \$VM_BUILDDIR/tests/vm/work)
  --name NAME        run name (default: script name)
  --keep-images      keep pmem/nvme image files after the run
  --pmem-image FILE  use FILE as the NVDIMM backing file (created with
                     --pmem-size if missing, else its size is used; never
                     deleted): a later run sees what an earlier one wrote
  --nvme-image FILE  the same for the NVMe disk (--nvme-size if created)
  --root-image FILE  keep the guest root's changes (the overlay's upper
                     layer) on FILE, an ext4 image made ${VM_ROOT_IMAGE_SIZE:-4G} sparse if
                     missing, never deleted: the next run with FILE boots
                     what this one installed and configured (a reboot)
  --rundir-file FILE write the run directory's path to FILE
  --power-cut SECS   SIGKILL qemu SECS (decimal) after the guest script
                     creates results/power-cut-armed: a power cut, nothing
                     after it reaches the images; exit status 0 when the cut
                     happened (the guest then reports none)
  -v, --verbose      also stream the guest console to stdout
environment: VM_SRCDIR, VM_BUILDDIR (default: this source tree), VM_WORKDIR,
  VM_KERNEL_IMAGE, VM_MODULES_DIR, VM_DEBUG_KERNEL=1 (defaults of the three options above),
  VM_GUEST_ENV ('NAME=VALUE ...': --guest-env for every run; values without spaces),
  VM_TIMEOUT, VM_APPEND (kernel options for every run, before --append), VM_KEEP_RUNS (logs of the last N runs per name are kept, default 10),
  VM_KLOG_IGNORE (ERE of kernel log lines to ignore in the scan),
  QEMU (default qemu-system-x86_64)
EOF
	exit 2
}
die() { echo "run-vm: error: $*" >&2; exit 125; }
info() { echo "run-vm: $*"; }

mode=script unit='' shell=0 systemd=0 verbose=0 keep=0
timeout=${VM_TIMEOUT:-900} mem=2G maxmem=8G smp=2 cpu=max pmem_size=1G nvme_size=2G vpmem_size=''
kver='' append='' name='' workdir=${VM_WORKDIR:-} rundir_file=''
masks=() hostdirs=()
setup='' pmem_image='' nvme_image='' root_image='' power_cut=''
kernel_image=${VM_KERNEL_IMAGE:-} modules_dir=${VM_MODULES_DIR:-} debug_kernel=0
[[ ${VM_DEBUG_KERNEL:-0} == 0 ]] || debug_kernel=1
read -r -a guest_env <<< "${VM_GUEST_ENV:-}"
script=
args=()
while (($#)); do
	case $1 in
	--systemd) systemd=1 ;;
	--unit) unit=${2:?--unit needs a file}; shift ;;
	--mask) masks+=("${2:?}"); shift ;;
	--host-dir) hostdirs+=("$(cd "${2:?}" && pwd -P)"); shift ;;
	--shell) shell=1 ;;
	--timeout) timeout=${2:?}; shift ;;
	--mem) mem=${2:?}; shift ;;
	--maxmem) maxmem=${2:?}; shift ;;
	--smp) smp=${2:?}; shift ;;
	--cpu) cpu=${2:?}; shift ;;
	--pmem-size) pmem_size=${2:?}; shift ;;
	--nvme-size) nvme_size=${2:?}; shift ;;
	--virtio-pmem) vpmem_size=${2:?--virtio-pmem needs a size}; shift ;;
	--kernel) kver=${2:?}; shift ;;
	--kernel-image) kernel_image=${2:?--kernel-image needs a file}; shift ;;
	--modules-dir) modules_dir=${2:?--modules-dir needs a directory}; shift ;;
	--debug-kernel) debug_kernel=1 ;;
	--guest-env) guest_env+=("${2:?--guest-env needs NAME=VALUE}"); shift ;;
	--append) append=${2:?}; shift ;;
	--workdir) workdir=${2:?}; shift ;;
	--name) name=${2:?}; shift ;;
	--keep-images) keep=1 ;;
	--setup) setup=${2:?--setup needs a script}; shift ;;
	--pmem-image) pmem_image=${2:?--pmem-image needs a file}; shift ;;
	--nvme-image) nvme_image=${2:?--nvme-image needs a file}; shift ;;
	--root-image) root_image=${2:?--root-image needs a file}; shift ;;
	--rundir-file) rundir_file=${2:?}; shift ;;
	--power-cut) power_cut=${2:?--power-cut needs seconds}; shift ;;
	-v | --verbose) verbose=1 ;;
	-h | --help) usage ;;
	--) shift; args=("$@"); break ;;
	-*) echo "run-vm: unknown option $1" >&2; usage ;;
	*)
		[[ -z $script ]] || { echo "run-vm: extra argument '$1' (use -- before script args)" >&2; usage; }
		script=$1
		;;
	esac
	shift
done
[[ $timeout =~ ^[0-9]+$ ]] || die "--timeout wants seconds"
[[ -z $power_cut || $power_cut =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "--power-cut wants seconds (e.g. 2.5)"

if ((shell)); then
	if ((systemd)); then mode='systemd-shell'; else mode='shell'; fi
	[[ -z $script && -z $unit ]] || die "--shell takes no script or unit"
	[[ -t 0 ]] || die "--shell needs a terminal on stdin"
elif ((systemd)); then
	mode=systemd
	[[ -n $script || -n $unit ]] || usage
	[[ -z $script || -z $unit ]] || die "give a script or --unit, not both"
else
	[[ -n $script ]] || usage
	[[ -z $unit ]] || die "--unit needs --systemd"
fi

# ---- host side checks ---------------------------------------------------
export VM_SRCDIR=${VM_SRCDIR:-$(cd "$here/../.." && pwd)}
export VM_BUILDDIR=${VM_BUILDDIR:-$VM_SRCDIR}
VM_SRCDIR=$(cd "$VM_SRCDIR" && pwd -P)
VM_BUILDDIR=$(cd "$VM_BUILDDIR" && pwd -P)
workdir=${workdir:-$VM_BUILDDIR/tests/vm/work}
mkdir -p "$workdir"
workdir=$(cd "$workdir" && pwd -P)

# The guest gets a fresh tmpfs on /tmp and /var/tmp. Host directories it needs
# from there (source/build/work dir, the script's dir, --host-dir) are bound
# back read-only by stage 1; they must not contain spaces.
hostdirs=("$VM_SRCDIR" "$VM_BUILDDIR" "$workdir" "${hostdirs[@]}")

QEMU=${QEMU:-qemu-system-x86_64}
command -v "$QEMU" >/dev/null || die "$QEMU not found: run tests/vm/install-deps.sh"
# The release a bzImage was built as: the string its setup header points to.
bzimage_release() {
	local off
	[[ $(dd if="$1" bs=1 skip=$((0x202)) count=4 status=none) == HdrS ]] || return 1
	off=$(od -An -tu2 -j $((0x20e)) -N 2 "$1" | tr -d ' ')
	[[ -n $off ]] && ((off > 0)) || return 1
	dd if="$1" bs=1 skip=$((off + 0x200)) count=200 status=none | tr '\0' '\n' | head -n 1 | cut -d' ' -f1
}
if ((debug_kernel)); then
	dk=$("$here/debug-kernel.sh" --print-dir) ||
		die "no debug kernel: build it with tests/vm/debug-kernel.sh (~30 min on 2 cores)"
	kernel_image=${kernel_image:-$dk/bzImage}
	modules_dir=${modules_dir:-$dk/modules/lib/modules/$(cat "$dk/release")}
fi
if [[ -n $kernel_image ]]; then
	[[ -r $kernel_image ]] || die "$kernel_image not readable"
	kernel=$(cd "$(dirname "$kernel_image")" && pwd -P)/$(basename "$kernel_image")
	kver=$(bzimage_release "$kernel") || die "$kernel is not a bzImage (no release in its header)"
	[[ -n $kver ]] || die "$kernel: empty release in its header"
else
	if [[ -z $kver ]]; then
		for v in $(cd /boot 2>/dev/null && ls vmlinuz-* 2>/dev/null | sed 's/^vmlinuz-//' | sort -V); do
			[[ -f /lib/modules/$v/modules.dep ]] && kver=$v
		done
	fi
	[[ -n $kver ]] || die "no guest kernel (/boot/vmlinuz-* + /lib/modules): run tests/vm/install-deps.sh"
	kernel=/boot/vmlinuz-$kver
	[[ -r $kernel ]] || die "$kernel not readable"
fi
# A modules dir other than /lib/modules/<release>: the guest gets it bound there.
guest_moddir=
if [[ -n $modules_dir ]]; then
	[[ -f $modules_dir/modules.dep ]] || die "$modules_dir/modules.dep missing (not a modules dir)"
	modules_dir=$(cd "$modules_dir" && pwd -P)
	[[ $(basename "$modules_dir") == "$kver" ]] ||
		die "$modules_dir is not for kernel $kver (its name must be the release)"
	[[ $modules_dir == "$(cd "/lib/modules/$kver" 2>/dev/null && pwd -P)" ]] || guest_moddir=$modules_dir
else
	modules_dir=/lib/modules/$kver
	[[ -f $modules_dir/modules.dep ]] || die "$modules_dir/modules.dep missing: give --modules-dir"
fi
for e in "${guest_env[@]}"; do
	[[ $e =~ ^[A-Za-z_][A-Za-z0-9_]*= ]] || die "--guest-env wants NAME=VALUE, not '$e'"
done

if [[ -n $script ]]; then
	[[ -f $script ]] || die "guest script $script not found"
	script=$(cd "$(dirname "$script")" && pwd -P)/$(basename "$script")
	[[ -x $script ]] || die "guest script $script is not executable"
	hostdirs+=("$(dirname "$script")")
fi
if [[ -n $unit ]]; then
	[[ -f $unit ]] || die "unit file $unit not found"
fi
if [[ -n $setup ]]; then
	[[ -f $setup ]] || die "setup script $setup not found"
	setup=$(cd "$(dirname "$setup")" && pwd -P)/$(basename "$setup")
	hostdirs+=("$(dirname "$setup")")
fi

# ---- initramfs (cached per kernel; rebuilt when its sources change) -------
initrd=$workdir/initramfs-$kver.cpio.gz
if [[ ! -s $initrd || $here/mkinitramfs.sh -nt $initrd || $here/guest-stage2.sh -nt $initrd ||
	$modules_dir/modules.dep -nt $initrd ]]; then
	info "building $initrd"
	"$here/mkinitramfs.sh" -k "$kver" -m "$modules_dir" -o "$initrd" >"$workdir/mkinitramfs.log" 2>&1 ||
		{ cat "$workdir/mkinitramfs.log" >&2; die "mkinitramfs failed"; }
fi

# ---- run directory --------------------------------------------------------
if [[ -z $name ]]; then
	if [[ -n $script ]]; then name=$(basename "$script" .sh)
	elif [[ -n $unit ]]; then name=$(basename "$unit" .service)
	else name=$mode; fi
fi
mkdir -p "$workdir/runs"
# Keep the logs of the last ${VM_KEEP_RUNS:-10} runs of this name.
# (ls fails when there is no earlier run: not an error under pipefail)
{ ls -1dt "$workdir/runs/$name"-[0-9]*-[0-9]*-* 2>/dev/null || :; } |
	tail -n +"${VM_KEEP_RUNS:-10}" |
	while IFS= read -r old; do rm -rf -- "$old"; done
rundir=$(mktemp -d "$workdir/runs/$name-$(date +%Y%m%d-%H%M%S)-XXXX")
results=$rundir/results
mkdir -p "$results/.vm"
console=$rundir/console.log
[[ -z $rundir_file ]] || echo "$rundir" > "$rundir_file"
ln -sfn "$(basename "$rundir")" "$workdir/runs/last-$name"
pmem=$rundir/pmem.img
nvme=$rundir/nvme.img
vpmem=$rundir/virtio-pmem.img
[[ -z $vpmem_size ]] || truncate -s "$vpmem_size" "$vpmem"
# --pmem-image/--nvme-image: a caller's file, created if missing, kept after
# the run (its size wins over --pmem-size/--nvme-size when it exists).
image_size() { stat -c %s "$1"; }
if [[ -n $pmem_image ]]; then
	[[ -e $pmem_image ]] || truncate -s "$pmem_size" "$pmem_image"
	pmem=$(cd "$(dirname "$pmem_image")" && pwd -P)/$(basename "$pmem_image")
	pmem_size=$(image_size "$pmem")
else
	truncate -s "$pmem_size" "$pmem"
fi
if [[ -n $nvme_image ]]; then
	[[ -e $nvme_image ]] || truncate -s "$nvme_size" "$nvme_image"
	nvme=$(cd "$(dirname "$nvme_image")" && pwd -P)/$(basename "$nvme_image")
	nvme_size=$(image_size "$nvme")
else
	truncate -s "$nvme_size" "$nvme"
fi

if [[ -n $root_image ]]; then
	if [[ ! -e $root_image ]]; then
		truncate -s "${VM_ROOT_IMAGE_SIZE:-4G}" "$root_image"
		mkfs.ext4 -q -F -L zufs-vm-root "$root_image" || die "mkfs.ext4 $root_image failed"
	fi
	root_image=$(cd "$(dirname "$root_image")" && pwd -P)/$(basename "$root_image")
	append="$append zufs.upper=/dev/vda"
fi

qpid='' tailpid=''
cleanup() {
	local st=$?
	if [[ -n $qpid ]] && kill -0 "$qpid" 2>/dev/null; then
		kill -TERM "$qpid" 2>/dev/null || :
		sleep 1
		kill -KILL "$qpid" 2>/dev/null || :
	fi
	[[ -n $tailpid ]] && kill "$tailpid" 2>/dev/null || :
	if ((!keep)); then
		[[ -n $pmem_image ]] || rm -f "$pmem"
		[[ -n $nvme_image ]] || rm -f "$nvme"
		rm -f "$vpmem"
	fi
	return $st
}
trap cleanup EXIT
trap 'echo "run-vm: interrupted" >&2; exit 130' INT TERM HUP

# ---- guest configuration (read by the initramfs' /init and stage 2) --------
sq() { local s=${1//\'/\'\\\'\'}; printf "'%s'" "$s"; }
vm_unit=
if [[ $mode == systemd ]]; then
	if [[ -n $unit ]]; then
		vm_unit=$(basename "$unit")
		cp "$unit" "$results/.vm/$vm_unit"
	else
		vm_unit=zufs-vmtest.service
		cat > "$results/.vm/$vm_unit" <<EOF
[Unit]
Description=ZUFS VM test $(basename "$script")
After=multi-user.target

[Service]
Type=oneshot
ExecStart=/bin/bash /.zufs-vm/stage2.sh --unit-run
ExecStopPost=/bin/bash /.zufs-vm/stage2.sh --finish
StandardOutput=journal+console
StandardError=journal+console
TimeoutStartSec=infinity

[Install]
WantedBy=multi-user.target
EOF
	fi
fi
# Host services that only slow the guest down or fail there (no network, no VGA).
default_masks=(postgresql.service getty@tty1.service systemd-timesyncd.service
	apt-daily.timer apt-daily-upgrade.timer man-db.timer dpkg-db-backup.timer
	e2scrub_all.timer e2scrub_reap.service fstrim.timer ndctl-monitor.service)
{
	echo "VM_MODE=$(sq "$mode")"
	echo "VM_UNIT=$(sq "$vm_unit")"
	echo "VM_MASK=$(sq "${default_masks[*]} ${masks[*]:-}")"
	echo "VM_SCRIPT=$(sq "$script")"
	echo "VM_SETUP=$(sq "$setup")"
	echo "VM_SRCDIR=$(sq "$VM_SRCDIR")"
	echo "VM_BUILDDIR=$(sq "$VM_BUILDDIR")"
	echo "VM_KVER=$(sq "$kver")"
	echo "VM_MODULES_DIR=$(sq "$guest_moddir")"
	echo "VM_NAME=$(sq "$name")"
	echo "VM_TERM=$(sq "${TERM:-vt100}")"
	echo "VM_HOSTDIRS=$(sq "${hostdirs[*]}")"
} > "$results/.vm/config"
# bash-only part (stage 2): the script arguments
printf 'VM_ARGS=(' > "$results/.vm/args.bash"
for a in "${args[@]}"; do printf '%q ' "$a" >> "$results/.vm/args.bash"; done
printf ')\n' >> "$results/.vm/args.bash"
for e in "${guest_env[@]}"; do
	printf 'export %s=%q\n' "${e%%=*}" "${e#*=}" >> "$results/.vm/args.bash"
done

# ---- qemu -----------------------------------------------------------------
# VM_APPEND: options every run of a suite gets (check-vm: the memory
# debugging boot options, see vm.mk), before the caller's --append.
cmdline="console=ttyS0,115200 panic=-1 zufs.mode=$mode ${VM_APPEND:-} $append"
qemu=("$QEMU"
	-accel tcg,thread=multi -smp "$smp" -cpu "$cpu"
	-machine pc,nvdimm=on -m "$mem,slots=4,maxmem=$maxmem"
	-object "memory-backend-file,id=m1,share=on,mem-path=$pmem,size=$pmem_size"
	-device nvdimm,memdev=m1
	-drive "file=$nvme,if=none,id=n1,format=raw"
	-device nvme,serial=zufs0,drive=n1
	-virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap
	-virtfs "local,path=$results,mount_tag=results,security_model=none,multidevs=remap"
	-kernel "$kernel" -initrd "$initrd" -append "$cmdline"
	-nodefaults -nographic -no-reboot -nic none
)
[[ -z $root_image ]] || qemu+=(-drive "file=$root_image,if=virtio,format=raw")
[[ -z $vpmem_size ]] || qemu+=(
	-object "memory-backend-file,id=m2,share=on,mem-path=$vpmem,size=$vpmem_size"
	-device virtio-pmem-pci,memdev=m2,id=vpmem0
)
if ((shell)); then
	qemu+=(-chardev "stdio,id=con,mux=on,signal=off,logfile=$console"
		-serial chardev:con -mon chardev=con,mode=readline)
else
	qemu+=(-serial "file:$console" -monitor none)
fi
printf '%q ' "${qemu[@]}" > "$rundir/qemu.cmd"; echo >> "$rundir/qemu.cmd"

info "run dir  $rundir"
info "console  $console"
[[ $kernel == /boot/vmlinuz-"$kver" ]] || info "kernel   $kernel${guest_moddir:+ (modules $guest_moddir)}"
info "kernel $kver, mode $mode, ${smp} vCPU, mem $mem, pmem $pmem_size, nvme $nvme_size, timeout ${timeout}s"
[[ -n $script ]] && info "script   $script ${args[*]:-}"
[[ -n $setup ]] && info "setup    $setup"
[[ -n $pmem_image ]] && info "pmem image $pmem (kept)"
[[ -n $nvme_image ]] && info "nvme image $nvme (kept)"
[[ -n $root_image ]] && info "root image $root_image (kept)"

t0=$(date +%s.%N)
if ((shell)); then
	info "interactive: Ctrl-a x quits qemu, Ctrl-a c toggles the monitor"
	set +e
	"${qemu[@]}"
	qrc=$?
	set -e
	timed_out=0
else
	: > "$console"
	if ((verbose)); then
		tail -n +1 -F "$console" 2>/dev/null &
		tailpid=$!
	fi
	"${qemu[@]}" </dev/null >"$rundir/qemu.out" 2>&1 &
	qpid=$!
	timed_out=0 cut=0 cut_at=''
	deadline=$((SECONDS + timeout))
	while kill -0 "$qpid" 2>/dev/null; do
		if [[ -n $power_cut ]]; then
			now=$(date +%s.%N)
			if [[ -z $cut_at && -e $results/power-cut-armed ]]; then
				cut_at=$(awk -v n="$now" -v d="$power_cut" 'BEGIN { printf "%.3f", n + d }')
			fi
			if [[ -n $cut_at ]] && awk -v n="$now" -v c="$cut_at" 'BEGIN { exit !(n >= c) }'; then
				kill -KILL "$qpid" 2>/dev/null || :
				cut=1
				info "power cut ${power_cut}s after the guest armed it"
				break
			fi
		fi
		if ((timeout > 0 && SECONDS >= deadline)); then
			timed_out=1
			echo "run-vm: TIMEOUT: guest still running after ${timeout}s, killing qemu" >&2
			kill -TERM "$qpid" 2>/dev/null || :
			sleep 2
			kill -KILL "$qpid" 2>/dev/null || :
			break
		fi
		if [[ -n $cut_at ]]; then sleep 0.05; else sleep 0.5; fi
	done
	set +e
	{ wait "$qpid"; } 2>/dev/null	# no "Killed" from bash after a cut
	qrc=$?
	set -e
	qpid=
	if [[ -n $tailpid ]]; then
		sleep 0.5
		kill "$tailpid" 2>/dev/null || :
		wait "$tailpid" 2>/dev/null || :
		tailpid=
	fi
fi
t1=$(date +%s.%N)
elapsed=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
echo "$elapsed" > "$rundir/elapsed"

# ---- verdict --------------------------------------------------------------
rc=125
if ((timed_out)); then
	rc=124
elif ((${cut:-0})); then
	rc=0
elif [[ -f $results/rc ]]; then
	rc=$(tr -dc 0-9 < "$results/rc")
	[[ -n $rc ]] || rc=125
else
	echo "run-vm: the guest wrote no exit status (qemu exit $qrc); see $console" >&2
	[[ -s $rundir/qemu.out ]] && sed 's/^/run-vm: qemu: /' "$rundir/qemu.out" >&2
fi

# Scan the guest kernel log. Kernel lines on the console carry a printk time
# stamp; dmesg.txt (saved by the guest before power-off) is all kernel.
klog_re='WARNING:|BUG:|Oops|general protection|lockdep|possible circular locking|KASAN|KFENCE|UBSAN|'
klog_re+='sleeping function called|blocked for more than|soft lockup|hard LOCKUP|rcu_sched self-detected|'
klog_re+='rcu: INFO|Poison overwritten|Redzone|Object padding|Freepointer corrupt|unreferenced object|'
klog_re+='suspected memory leak|Kernel panic'
# Boot banners of a lockdep kernel (the debug kernel) that match the above.
klog_benign='rcu:[[:space:]]+RCU lockdep checking is enabled'
{
	grep -aE '^\[ *[0-9]+\.[0-9]+\] ' "$console" 2>/dev/null || :
	cat "$results/dmesg.txt" 2>/dev/null || :
} | tr -d '\r' | { grep -avE "$klog_benign" || :; } | { if [[ -n ${VM_KLOG_IGNORE:-} ]]; then grep -avE "$VM_KLOG_IGNORE" || :; else cat; fi; } |
	{ grep -aE "$klog_re" || :; } | sort -u > "$rundir/kernel-problems.txt"
if [[ -s $rundir/kernel-problems.txt ]]; then
	echo "run-vm: FAIL: the guest kernel log reports problems:" >&2
	sed 's/^/run-vm:   /' "$rundir/kernel-problems.txt" | head -40 >&2
	((rc != 0)) || rc=1
else
	rm -f "$rundir/kernel-problems.txt"
fi

if ((rc != 0 && !verbose && !shell)); then
	echo "run-vm: ---- last 40 console lines ----" >&2
	tail -n 40 "$console" >&2 || :
	echo "run-vm: ----" >&2
fi
echo "$rc" > "$rundir/rc"
info "guest exit status $rc, ${elapsed}s wall (qemu exit $qrc)"
info "console log: $console"
info "results: $results"
exit "$rc"
