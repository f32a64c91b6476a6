#!/bin/bash
# Guest script for the harness self-test (test_vm_harness.sh).
#   harness-guest.sh exit N         exit with status N
#   harness-guest.sh insmod KO N    vm_insmod KO, check it is live, rmmod, exit N
#   harness-guest.sh warn KO        load KO with warn=1 (a kernel WARNING), exit 0
#   harness-guest.sh hang           never finish (the host must time out)
#   harness-guest.sh pmem-write MARK   write MARK at the start of /dev/pmem0
#                                   (raw namespace of run-vm.sh --pmem-image)
#                                   and into /etc (run-vm.sh --root-image)
#   harness-guest.sh setup-check N MARK
#                                   with --setup harness-guest.sh: the setup
#                                   ran in the new root before systemd, pmem
#                                   and /etc hold MARK from an earlier boot;
#                                   exit N
# Run as a --setup script (VM_PHASE=setup): record that in
# /etc/zufs-vm-setup-marker (the overlay) and exit 0.
set -euo pipefail
# shellcheck source=tests/vm/guest-lib.sh disable=SC1091
. "${VM_LIB:-$(dirname "$0")/guest-lib.sh}"

if [[ ${VM_PHASE:-} == setup ]]; then
	echo "setup pid=$$ args=$*" > /etc/zufs-vm-setup-marker
	echo "harness-guest: setup ran (args $*)"
	exit 0
fi

case ${1:-} in
pmem-write)
	vm_modprobe nfit nd_pmem
	vm_wait_for /dev/pmem0 20 || vm_die "no /dev/pmem0"
	printf '%s\n' "$2" | dd of=/dev/pmem0 bs=4096 conv=sync,fsync status=none
	printf '%s\n' "$2" > /etc/zufs-vm-root-mark
	sync
	vm_log "wrote $2 to /dev/pmem0 and /etc/zufs-vm-root-mark"
	exit 0
	;;
setup-check)
	[[ $(cat /proc/1/comm) == systemd ]] || vm_die "PID 1 is $(cat /proc/1/comm), not systemd"
	grep -q "args=setup-check $2 $3" /etc/zufs-vm-setup-marker ||
		vm_die "the setup did not run: $(cat /etc/zufs-vm-setup-marker 2>&1)"
	[[ -s $VM_RESULTS/setup.log ]] || vm_die "no results/setup.log"
	vm_modprobe nfit nd_pmem
	vm_wait_for /dev/pmem0 20 || vm_die "no /dev/pmem0"
	got=$(head -c 4096 /dev/pmem0 | tr -d '\0')
	got=${got%%$'\n'*}
	[[ $got == "$3" ]] || vm_die "pmem holds '$got', not '$3'"
	got=$(cat /etc/zufs-vm-root-mark 2>&1 || :)
	[[ $got == "$3" ]] || vm_die "/etc/zufs-vm-root-mark holds '$got', not '$3' (--root-image)"
	vm_log "setup ran before systemd, pmem and the root image kept '$3'; exiting with $2"
	exit "$2"
	;;
exit)
	vm_log "mode $VM_MODE, pid 1 is $(cat /proc/1/comm), exiting with $2"
	exit "$2"
	;;
insmod)
	vm_insmod "$2"
	grep -q '^vmtest_warn ' /proc/modules || vm_die "module not in /proc/modules"
	dmesg | grep -q 'vmtest_warn: loaded (warn=0)' || vm_die "no load message"
	rmmod vmtest_warn
	vm_log "insmod/rmmod of $2 OK"
	exit "$3"
	;;
warn)
	vm_insmod "$2" warn=1
	exit 0
	;;
hang)
	vm_log "hanging on purpose"
	while :; do sleep 1; done
	;;
*)
	echo "usage: $0 exit N | insmod KO N | warn KO | hang | pmem-write MARK | setup-check N MARK" >&2
	exit 2
	;;
esac
