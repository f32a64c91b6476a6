#!/bin/bash
# Guest script for the harness self-test (test_vm_harness.sh).
#   harness-guest.sh exit N         exit with status N
#   harness-guest.sh insmod KO N    vm_insmod KO, check it is live, rmmod, exit N
#   harness-guest.sh warn KO        load KO with warn=1 (a kernel WARNING), exit 0
#   harness-guest.sh hang           never finish (the host must time out)
set -euo pipefail
# shellcheck source=tests/vm/guest-lib.sh disable=SC1091
. "${VM_LIB:-$(dirname "$0")/guest-lib.sh}"

case ${1:-} in
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
	echo "usage: $0 exit N | insmod KO N | warn KO | hang" >&2
	exit 2
	;;
esac
