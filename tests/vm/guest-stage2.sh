#!/bin/bash
# Stage 2 of the ZUFS VM harness: runs INSIDE the guest, after switch_root,
# from the overlay root (/.zufs-vm/stage2.sh, copied there by the initramfs).
#
#   --pid1      fast mode: we are PID 1 (no systemd). Mount the basics, run
#               the test script as our child, store its exit status in
#               /results/rc, power off. (VM_MODE=shell: interactive shell.)
#   --unit-run  systemd mode: ExecStart= of the generated test unit.
#   --finish    systemd mode: ExecStopPost= of a test unit: record rc (from
#               $EXIT_STATUS if the script did not), dmesg, journal; power off.
#   --setup     run-vm.sh --setup SCRIPT: run by stage 1 in a chroot of the
#               new root before its init starts; runs SCRIPT with the guest
#               script's arguments (VM_PHASE=setup), output to the console
#               and /results/setup.log; exits with its status.
#
# Settings come from /results/.vm/config (written by run-vm.sh on the host).
# No `set -e` here: PID 1 must never exit (the kernel would panic).
set -uo pipefail

RESULTS=/results
CFG=$RESULTS/.vm/config

log() { echo "vm-stage2: $*" >&2; }

load_config() {
	if [[ -f $CFG ]]; then
		# shellcheck disable=SC1090
		. "$CFG"
		VM_ARGS=()
		# shellcheck disable=SC1091
		[[ -f $RESULTS/.vm/args.bash ]] && . "$RESULTS/.vm/args.bash"
	else
		log "missing $CFG"
		VM_MODE=script VM_SCRIPT=/bin/false
		VM_ARGS=()
	fi
	export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
	export HOME=/root TERM=${TERM:-linux} LANG=C.UTF-8
	export VM_RESULTS=$RESULTS VM_SRCDIR VM_BUILDDIR VM_LIB="$VM_SRCDIR/tests/vm/guest-lib.sh"
	export VM_MODE
}

# A kernel with kmemleak enabled (the debug kernel, kmemleak=on): scan now,
# so what the script leaked is in the log before it is saved. Two scans: an
# object is only reported once a scan finds it unchanged since the last one
# (and at least 5 s old). The report goes to results/kmemleak-final.txt
# (a script may keep its own kmemleak.txt) and, with kmemleak.verbose=1, to
# the kernel log as "unreferenced object" lines.
kmemleak_scan() {
	local f=/sys/kernel/debug/kmemleak n=0
	[[ -e $f ]] || return 0
	echo scan 2>/dev/null > "$f" || return 0
	sleep 6
	echo scan 2>/dev/null > "$f" || :
	cat "$f" > "$RESULTS/kmemleak-final.txt" 2>/dev/null || :
	if [[ -s $RESULTS/kmemleak-final.txt ]]; then
		n=$(grep -c '^unreferenced object' "$RESULTS/kmemleak-final.txt" || :)
	else
		rm -f "$RESULTS/kmemleak-final.txt"
	fi
	log "kmemleak: scanned, $n unreferenced objects (results/kmemleak-final.txt)"
}

save_logs() {
	kmemleak_scan
	dmesg > "$RESULTS/dmesg.txt" 2>/dev/null || :
	if [[ ${VM_MODE:-} == systemd* ]] && command -v journalctl >/dev/null; then
		journalctl -b --no-pager -o short-monotonic > "$RESULTS/journal.txt" 2>/dev/null || :
	fi
}

power_off() {
	sync
	if [[ $$ -eq 1 ]]; then
		umount "$RESULTS" 2>/dev/null || :
		# Force: there is no init system to ask. busybox does reboot(2) itself.
		/bin/busybox poweroff -f 2>/dev/null || echo o > /proc/sysrq-trigger
		while :; do sleep 60; done
	else
		systemctl --no-block poweroff || echo o > /proc/sysrq-trigger
	fi
}

run_script() { # runs the test script; its exit status is returned
	local rc
	cd "$RESULTS" || return 125
	log "running ${VM_SCRIPT} ${VM_ARGS[*]:-}"
	local t0=$SECONDS
	"$VM_SCRIPT" "${VM_ARGS[@]}" 2>&1 | tee "$RESULTS/output.log"
	rc=${PIPESTATUS[0]}
	log "script exited with status $rc after $((SECONDS - t0))s"
	echo "$rc" > "$RESULTS/rc.tmp" && mv "$RESULTS/rc.tmp" "$RESULTS/rc"
	return "$rc"
}

pid1() {
	mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts /dev/pts 2>/dev/null ||
		{ mkdir -p /dev/pts && mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts /dev/pts; }
	mkdir -p /dev/shm && mount -t tmpfs -o mode=1777 tmpfs /dev/shm
	mount -t tmpfs -o mode=755 tmpfs /run
	# /tmp and /var/tmp are fresh tmpfs, mounted by stage 1.
	mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null || :
	mount -t configfs configfs /sys/kernel/config 2>/dev/null || :
	mkdir -p /run/lock
	ln -sf /proc/self/fd /dev/fd 2>/dev/null || :
	hostname zufs-vm
	log "up $(cut -d' ' -f1 /proc/uptime)s after boot"

	if [[ $VM_MODE == shell ]]; then
		log "interactive shell on the console; 'exit' or Ctrl-D powers off"
		cd "$RESULTS" || :
		local tty=/dev/ttyS0
		[[ -c $tty ]] || tty=/dev/console
		export TERM=${VM_TERM:-vt100}
		setsid -c /bin/bash -l <$tty >$tty 2>&1
		echo 0 > "$RESULTS/rc"
	else
		run_script
	fi
	save_logs
	log "powering off"
	power_off
}

run_setup() {
	local rc
	log "setup: ${VM_SETUP} ${VM_ARGS[*]:-}"
	VM_PHASE=setup /bin/bash "$VM_SETUP" "${VM_ARGS[@]}" 2>&1 | tee "$RESULTS/setup.log"
	rc=${PIPESTATUS[0]}
	log "setup exited with status $rc"
	return "$rc"
}

load_config
case ${1:-} in
--setup)
	run_setup
	exit $?
	;;
--pid1) pid1 ;;
--unit-run) run_script ;;
--finish)
	if [[ ! -f $RESULTS/rc ]]; then
		# EXIT_STATUS is set by systemd for ExecStopPost=.
		log "unit ended (${SERVICE_RESULT:-?}/${EXIT_CODE:-?}/${EXIT_STATUS:-?}) without rc"
		st=${EXIT_STATUS:-125}
		[[ $st =~ ^[0-9]+$ ]] || st=125
		echo "$st" > "$RESULTS/rc"
	fi
	save_logs
	power_off
	;;
*)
	echo "usage: $0 --pid1|--unit-run|--finish|--setup" >&2
	exit 2
	;;
esac
