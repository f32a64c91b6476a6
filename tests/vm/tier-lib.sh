#!/bin/bash
# Guest helpers for the tiering VM test (zuf-pmfs2-tier.sh) and the tiering
# VM benchmark (tests/bench/tier-vm-guest.sh).  Source after guest-lib.sh and
# zuf-lib.sh:
#
#   . "$VM_LIB"; . "$VM_SRCDIR/tests/vm/zuf-lib.sh"; . "$VM_SRCDIR/tests/vm/tier-lib.sh"
#
# Transport: TIER_TRANSPORT=zuf (default: mount -t pmfs2 through zuf.ko and a
# zusd --transport=zuf started by tier_server_start) or fuse (one
# zusd --transport=fuse per mount, for checking a script's logic while a zuf
# feature is missing).
#
# Verifiable data: every 4 KiB block of file IDX names the file and the block
# (tier_gen), so a block of another file, a stale or shifted block or a hole
# all fail the byte-for-byte compare.

TIER_TRANSPORT=${TIER_TRANSPORT:-zuf}
TIER_SO_DIR=${TIER_SO_DIR:-$VM_BUILDDIR/plugins/tier/.libs}
# zusd finds the tier plugin ("tier") through ZUS_PLUGIN_PATH
export ZUS_PLUGIN_PATH=$TIER_SO_DIR${ZUS_PLUGIN_PATH:+:$ZUS_PLUGIN_PATH}
TIER_FUSE_PID=
TIER_FUSE_N=0
TIER_LOG=		# the log of the zusd serving the current mount

# tier_now: seconds since boot, with fractions (for durations)
tier_now() { cut -d' ' -f1 /proc/uptime; }

# tier_secs T0 T1: T1 - T0 with 2 decimals
tier_secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

# tier_mibs BYTES SECS: MiB/s with 1 decimal
tier_mibs() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.1f", (s > 0 ? n / 1048576 / s : 0) }'; }

# tier_blkstat DEV: "READ_BYTES WRITE_BYTES" done on block device DEV so far
tier_blkstat() {
	local s
	read -r -a s < "/sys/block/${1#/dev/}/stat" || return 1
	echo "$((s[2] * 512)) $((s[6] * 512))"
}

# tier_server_start: zuf: load zuf.ko and start zusd over zuf; fuse: modprobe fuse
tier_server_start() {
	if [[ $TIER_TRANSPORT == fuse ]]; then
		modprobe fuse
	else
		zuf_load timeout=60 restart_timeout=30 && zusd_start
	fi
}

# tier_server_stop: stop zusd (zuf) after the last umount
tier_server_stop() {
	[[ $TIER_TRANSPORT == fuse ]] || zusd_stop TERM
}

# tier_mount DEV MNT OPTIONS: mount pmfs2 with OPTIONS (tier=... etc.)
tier_mount() {
	local dev=$1 mnt=$2 opts=$3 n=0
	mkdir -p "$mnt"
	if [[ $TIER_TRANSPORT != fuse ]]; then
		TIER_LOG=$ZUSD_LOG
		mount -t pmfs2 -o "$opts" "$dev" "$mnt"
		return
	fi
	TIER_FUSE_N=$((TIER_FUSE_N + 1))
	TIER_LOG=$VM_RESULTS/zusd-fuse-$TIER_FUSE_N.log
	"$ZUSD" --transport=fuse --plugin "$PMFS2_SO" -o "$opts" "$dev" "$mnt" \
		>"$TIER_LOG" 2>&1 &
	TIER_FUSE_PID=$!
	until grep -qs " $mnt fuse" /proc/mounts; do
		if ((n++ > 600)) || ! kill -0 "$TIER_FUSE_PID" 2>/dev/null; then
			cat "$TIER_LOG" >&2
			TIER_FUSE_PID=
			return 1
		fi
		sleep 0.1
	done
}

# tier_umount MNT: unmount; over FUSE also wait for that mount's zusd, which
# must exit 0
tier_umount() {
	local rc=0
	umount "$1" || return 1
	if [[ -n $TIER_FUSE_PID ]]; then
		wait "$TIER_FUSE_PID" || rc=$?
		TIER_FUSE_PID=
		((rc == 0)) || { echo "[vm] zusd (FUSE) exited $rc" >&2; return 1; }
	fi
}

# tier_cleanup MNT...: for traps
tier_cleanup() {
	local m
	tier_watchdog_stop
	for m in "$@"; do
		if mountpoint -q "$m" 2>/dev/null; then
			umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || :
		fi
	done
	[[ -z $TIER_FUSE_PID ]] || { kill "$TIER_FUSE_PID" 2>/dev/null; wait "$TIER_FUSE_PID" 2>/dev/null; } || :
	zusd_stop TERM
}

# tier_stop_or_dump PID SECS COMM...: SIGTERM PID and wait up to SECS for it
# to exit; if it does not, write the kernel stacks of every task of the
# processes named COMM... and the blocked tasks (sysrq w, in dmesg) to
# $VM_RESULTS/hang.txt and return 1 (PID is then left running)
tier_stop_or_dump() {
	local pid=$1 end=$((EPOCHSECONDS + $2)) t p sfd
	shift 2
	kill -TERM "$pid" 2>/dev/null || :
	exec {sfd}<> <(:)
	while ((EPOCHSECONDS < end)); do
		tier_progress
		if ! kill -0 "$pid" 2>/dev/null; then
			exec {sfd}<&-
			wait "$pid" 2>/dev/null || :
			return 0
		fi
		read -r -t 0.2 -u "$sfd" _ || :	# (no fork: see tier_watchdog_start)
	done
	exec {sfd}<&-
	{
		for p in $(pgrep -d ' ' -x "$(IFS='|'; echo "$*")"); do
			for t in /proc/"$p"/task/*; do
				echo "== $p/${t##*/} $(cat "$t/comm" 2>/dev/null) state $(awk '{print $3}' "$t/stat" 2>/dev/null) wchan $(cat "$t/wchan" 2>/dev/null)"
				cat "$t/stack" 2>/dev/null
			done
		done
		echo w > /proc/sysrq-trigger
		sleep 1
		echo "== dmesg (sysrq w: blocked tasks)"
		dmesg | tail -200
	} > "$VM_RESULTS/hang.txt" 2>&1
	return 1
}

# tier_watchdog_start [SECS]: a background watchdog that logs, every 5 s,
# the load and every running (R) or blocked (D) thread to the kernel log
# (/dev/kmsg: the console, even if userspace output stalls), using bash
# builtins only (no exec).  If tier_progress was not called for SECS
# (default 30) seconds it also dumps the blocked tasks and every CPU's
# backtrace once (sysrq w, l).  tier_watchdog_stop ends it.
TIER_WD_PID=
TIER_PROGRESS=/tmp/.tier-progress
tier_progress() { echo "${EPOCHSECONDS:-0}" > "$TIER_PROGRESS"; }
tier_watchdog_start() {
	local limit=${1:-30}
	tier_progress
	(
		exec {sfd}<> <(:)
		dumped=0
		while :; do
			read -r -t 5 -u "$sfd" _ || :
			read -r load < /proc/loadavg
			out="tier-watchdog: load $load; R/D threads:"
			for st in /proc/[0-9]*/task/[0-9]*/stat; do
				read -r line 2>/dev/null < "$st" || continue
				state=${line##*) } state=${state%% *}
				[[ $state == [RD] ]] || continue
				comm=${line#*(} comm=${comm%)*}
				t=${st%/stat} t=${t##*/}
				out+=" $comm/$t:$state"
			done
			echo "$out" > /dev/kmsg
			read -r last < "$TIER_PROGRESS" || last=0
			if ((!dumped && EPOCHSECONDS - last > limit)); then
				echo "tier-watchdog: no progress for $((EPOCHSECONDS - last)) s: sysrq w, l" > /dev/kmsg
				echo w > /proc/sysrq-trigger
				echo l > /proc/sysrq-trigger
				dumped=1
			fi
		done
	) &
	TIER_WD_PID=$!
}
tier_watchdog_stop() {
	[[ -z $TIER_WD_PID ]] || { kill "$TIER_WD_PID" 2>/dev/null; wait "$TIER_WD_PID" 2>/dev/null; } || :
	TIER_WD_PID=
}

# ---- verifiable data ---------------------------------------------------------

# tier_gen IDX SIZE: the content of file IDX (SIZE bytes) on stdout.  Every
# 4 KiB block starts with (IDX, block number) as two little-endian 64-bit
# words; the rest is pseudo-random bytes (a fixed-seed 64 KiB random string,
# repeated), at an offset that depends on IDX and the block.  (Perl: openssl's
# AES-CTR runs at ~10 MiB/s under TCG, this at memcpy speed.)
tier_gen() {
	perl -e '
		use strict; use warnings;
		my ($idx, $size) = @ARGV;
		srand(20261121);
		my $s = pack("L*", map { int(rand(4294967296)) } 1 .. 16411);
		my $b = $s x 18;	# > 1 MiB + 64 KiB
		my $blk = 0;
		while ($size > 0) {
			my $buf = substr($b, ($blk * 4099 + $idx * 7919) % length($s), 1 << 20);
			substr($buf, $_ << 12, 16, pack("Q<Q<", $idx, $blk + $_)) for 0 .. 255;
			$blk += 256;
			my $n = $size < (1 << 20) ? $size : 1 << 20;
			for (my $off = 0; $off < $n;) {
				my $w = syswrite(STDOUT, $buf, $n - $off, $off);
				exit 1 unless defined $w;	# the reader went away
				$off += $w;
			}
			$size -= $n;
		}' "$1" "$2"
}

# tier_plan GOAL FILE_MIB > MANIFEST: "IDX SIZE" lines adding up to GOAL
# bytes: mostly FILE_MIB MiB files, every 5th of an odd size, a few small.
tier_plan() {
	local fsz=$(($2 << 20)) left=$1 i=0 size
	while ((left > 0)); do
		i=$((i + 1))
		case $((i % 10)) in
		3) size=$((i * 4099 % 65536 + 1)) ;;		# small, unaligned
		5 | 0) size=$((fsz - i * 4097 - 511)) ;;	# odd tail
		*) size=$fsz ;;
		esac
		((size <= left)) || size=$left
		echo "$i $size"
		left=$((left - size))
	done
}

# tier_write_one DIR IDX SIZE: create DIR/fIDX; fails (with the error, e.g.
# ENOSPC) if a write fails or the file does not end up SIZE bytes long
tier_write_one() {
	local f=$1/f$2 err
	if ! err=$(tier_gen "$2" "$3" | dd of="$f" bs=1M iflag=fullblock status=none 2>&1); then
		echo "[vm] writing $f ($3 bytes) failed: $err" >&2
		return 1
	fi
	[[ $(stat -c %s "$f") == "$3" ]] || { echo "[vm] $f: size $(stat -c %s "$f"), wanted $3" >&2; return 1; }
}

# tier_verify_one DIR IDX SIZE: DIR/fIDX reads back (O_DIRECT: past any page
# cache) exactly as written
tier_verify_one() {
	local f=$1/f$2 out err rc=0
	[[ $(stat -c %s "$f" 2>/dev/null) == "$3" ]] ||
		{ echo "[vm] $f: size $(stat -c %s "$f" 2>&1), wanted $3" >&2; return 1; }
	err=$(mktemp)
	out=$(cmp <(dd if="$f" bs=1M iflag=direct status=none 2>"$err") \
		<(tier_gen "$2" "$3") 2>&1) || rc=1
	if ((rc)); then
		if [[ -s $err ]]; then
			echo "[vm] $f: read error: $(head -1 "$err")" >&2
		else
			echo "[vm] $f: WRONG DATA: $out" >&2
		fi
	fi
	rm -f "$err"
	return "$rc"
}

# tier_all write|verify DIR MANIFEST [JOBS]: every file of MANIFEST, JOBS
# (default 2) at a time; fails if any file failed (each one is named)
tier_all() {
	local what=$1 dir=$2 man=$3 jobs=${4:-2}
	export -f tier_gen tier_write_one tier_verify_one
	# shellcheck disable=SC2016 # expanded by the bash that xargs runs
	xargs -P "$jobs" -L 1 bash -c 'tier_'"$what"'_one "$0" "$1" "$2"' "$dir" < "$man"
}

# tier_manifest_bytes MANIFEST: the sum of the sizes
tier_manifest_bytes() { awk '{ n += $2 } END { printf "%d", n }' "$1"; }
