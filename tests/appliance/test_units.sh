#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
#
# test_units.sh - the systemd units, udev rule and D-Bus policy.
#
# systemd-analyze verify must print nothing for zusd.service, zusd.socket,
# sys-fs-zuf.mount and the data.mount example.  The service is made from
# units/zusd.service.in with ExecStart= pointing at a stand-in zusd (verify
# checks that it exists), and MANPATH holds zufsctl.8 (verify runs man for
# Documentation=).  The unit settings DESIGN.md section 8 asks for are
# checked too, the udev rule is linted and the policy file must be XML.
# Exits 77 (skip) only if systemd-analyze is absent.
set -u

command -v systemd-analyze >/dev/null 2>&1 ||
	{ echo "SKIP: systemd-analyze not found"; exit 77; }

srcdir=${srcdir:-.}
units=$srcdir/units
fail=0
ok() { echo "ok - $*"; }
bad() { echo "FAIL - $*"; fail=1; }

tmp=$(mktemp -d /tmp/zufs-units.XXXXXX) || exit 99
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/units" "$tmp/sbin" "$tmp/man/man8"
printf '#!/bin/sh\nexit 0\n' > "$tmp/sbin/zusd"
chmod 755 "$tmp/sbin/zusd"
cp "$srcdir/tools/zufsctl/zufsctl.8" "$tmp/man/man8/"
sed "s|@sbindir@|$tmp/sbin|g" "$units/zusd.service.in" > "$tmp/units/zusd.service"
cp "$units/zusd.socket" "$units/sys-fs-zuf.mount" "$units/data.mount" \
	"$tmp/units/"

# -- systemd-analyze verify: silent and successful
(cd "$tmp/units" && MANPATH=$tmp/man SYSTEMD_LOG_COLOR=0 \
	systemd-analyze verify zusd.service zusd.socket sys-fs-zuf.mount \
	data.mount) > "$tmp/verify.out" 2>&1
rc=$?
if [ $rc = 0 ] && [ ! -s "$tmp/verify.out" ]; then
	ok "systemd-analyze verify prints nothing"
else
	bad "systemd-analyze verify (exit $rc):"
	sed 's/^/  | /' "$tmp/verify.out"
fi

# the check catches a broken unit (so a silent verify means something)
sed 's/^Type=notify/Type=notifyy/' "$tmp/units/zusd.service" \
	> "$tmp/units/broken.service"
(cd "$tmp/units" && MANPATH=$tmp/man systemd-analyze verify broken.service) \
	> "$tmp/broken.out" 2>&1
[ -s "$tmp/broken.out" ] && ok "verify flags a bad Type=" ||
	bad "verify did not flag Type=notifyy"

# -- the settings section 8 asks for
has() {	# unit, line (fixed, whole line)
	if grep -qxF -- "$2" "$tmp/units/$1"; then
		ok "$1: $2"
	else
		bad "$1: no '$2'"
	fi
}
has zusd.service "Type=notify"
has zusd.service "Restart=on-failure"
has zusd.service "DefaultDependencies=no"
has zusd.service "Before=local-fs.target shutdown.target"
has zusd.service "ExecStart=$tmp/sbin/zusd"
grep -qE '^WatchdogSec=[1-9]' "$tmp/units/zusd.service" &&
	ok "zusd.service: WatchdogSec" || bad "zusd.service: no WatchdogSec"
grep -qE '^FileDescriptorStoreMax=[1-9]' "$tmp/units/zusd.service" &&
	ok "zusd.service: FileDescriptorStoreMax" ||
	bad "zusd.service: no FileDescriptorStoreMax"
# restart requested over D-Bus: exit 75 (ZUSD_EXIT_RESTART)
has zusd.service "RestartForceExitStatus=75"
has zusd.service "SuccessExitStatus=75"
if grep -qE '^(Private(Tmp|Devices|Mounts|Network|Users)|Protect(System|Home|KernelTunables|KernelModules|ControlGroups|Proc|Clock|Hostname|KernelLogs)|ReadOnlyPaths|ReadWritePaths|InaccessiblePaths|TemporaryFileSystem|BindPaths|BindReadOnlyPaths|RootDirectory|RootImage|MountFlags)=' \
	"$tmp/units/zusd.service"; then
	bad "zusd.service: an option that creates a mount namespace"
else
	ok "zusd.service: no mount-namespace options"
fi
has zusd.socket "ListenSpecial=/sys/fs/zuf/control"
has zusd.socket "Writable=yes"
has zusd.socket "DefaultDependencies=no"
has zusd.socket "Before=sockets.target"
has sys-fs-zuf.mount "Where=/sys/fs/zuf"
has sys-fs-zuf.mount "Type=zuf"

# -- the built zusd.service (make all): every @VAR@ substituted
if [ -f units/zusd.service ]; then
	if grep -qE '@[a-z_]+@' units/zusd.service; then
		bad "built units/zusd.service still has @VAR@"
	else
		ok "built units/zusd.service is substituted"
	fi
	grep -qE '^ExecStart=/.*/zusd$' units/zusd.service &&
		ok "built zusd.service: absolute ExecStart" ||
		bad "built zusd.service: ExecStart not absolute"
fi

# -- udev rule: every line a comment, blank, or KEY[{attr}]OP"value" list
awk '
	/^[ \t]*(#|$)/ { next }
	{
		line = $0
		while (length(line)) {
			if (!match(line, /^[ \t]*[A-Z_]+(\{[A-Za-z0-9_.*-]+\})?[ \t]*(==|!=|\+=|-=|:=|=)[ \t]*"[^"]*"[ \t]*(,|$)/)) {
				printf "%s:%d: cannot parse: %s\n", FILENAME, NR, $0
				bad = 1
				break
			}
			line = substr(line, RLENGTH + 1)
		}
	}
	END { exit bad }
' "$units/60-zufs.rules" > "$tmp/rules.out" 2>&1 &&
	ok "60-zufs.rules parses" || { bad "60-zufs.rules:"; cat "$tmp/rules.out"; }
for want in 'KERNEL!="pmem*"' 'SUBSYSTEM!="block"' 'TAG+="systemd"' \
	'ENV{SYSTEMD_WANTS}+="zusd.service"' 'ENV{ID_FS_TYPE}=="pmfs2"' \
	'LABEL="zufs_end"'; do
	grep -qF -- "$want" "$units/60-zufs.rules" && ok "60-zufs.rules: $want" ||
		bad "60-zufs.rules: no $want"
done
# every GOTO has its LABEL
for label in $(sed -n 's/.*GOTO="\([^"]*\)".*/\1/p' "$units/60-zufs.rules" | sort -u); do
	grep -q "LABEL=\"$label\"" "$units/60-zufs.rules" &&
		ok "60-zufs.rules: label $label" || bad "60-zufs.rules: no LABEL $label"
done

# -- D-Bus policy: well-formed XML (test_dbus.sh loads it into dbus-daemon)
if command -v python3 >/dev/null 2>&1; then
	python3 -c 'import sys, xml.dom.minidom; xml.dom.minidom.parse(sys.argv[1])' \
		"$units/org.zufs.Manager1.conf" && ok "org.zufs.Manager1.conf is XML" ||
		bad "org.zufs.Manager1.conf is not well-formed XML"
fi

[ $fail = 0 ] && echo "PASS: test_units.sh" || echo "FAIL: test_units.sh"
exit $fail
