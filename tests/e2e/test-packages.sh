#!/bin/bash
# The Debian packages on booted machines: three Debian 12 containers under
# real systemd (systemd-nspawn) in the namespaces of tests/topo.sh, the RDV
# server, the onsite Pi and the master Pi. Each installs its package with
# apt-get and follows docs/INSTALL.md, the commands taken from the document
# itself; then a session from the laptop to the customer host, restarts,
# a power cycle, hardening, and purge leaving nothing of ours behind.
set -u
T_NAME=packages
REPO=${REPO:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${BUILD:-$REPO/build}
. "$REPO/tests/lib/common.sh"
. "$REPO/tests/lib/devices.sh"
. "$REPO/tests/lib/nspawn.sh"
need_root
TOPO=$REPO/tests/topo.sh
P=k$(printf '%04d' $(($$ % 10000)))
PLC=10.1.0.20
D=/var/tmp/rdvtest-$P
MDIR=$D/machines
LOGS=$BUILD/e2e-logs/$T_NAME
trap 'run_cleanup' EXIT
trap 'exit 1' INT TERM
trap '' PIPE
rm -rf "$LOGS"
mkdir -p "$D" "$LOGS"
at_exit rm -rf "$D"
t0=$SECONDS

# --- the packages
make -s -C "$REPO" deb DEBDIR="$D/deb" >"$LOGS/make-deb.log" 2>&1
check "make deb builds rdv-server, rdv-onsite and rdv-master" \
	bash -c "ls $D/deb/rdv-server_*.deb $D/deb/rdv-onsite_*.deb $D/deb/rdv-master_*.deb" >/dev/null
debs=$(ls "$D"/deb/rdv-{server,onsite,master}_*.deb 2>/dev/null)
lintian --fail-on error $debs >"$LOGS/lintian.log" 2>&1
check "lintian reports no error on the three packages" test $? -eq 0
grep -E '^[EW]:' "$LOGS/lintian.log"

# the Pis' packages, cross-built (Debian's cross toolchain)
t=$SECONDS
make -s -C "$REPO" deb ARCH=arm64 DEBDIR="$D/deb-arm64" >"$LOGS/make-deb-arm64.log" 2>&1
echo "# make deb ARCH=arm64 took $((SECONDS - t)) s"
arm64_built() {
	local p x
	for p in server onsite master; do
		[ "$(dpkg-deb -f "$D"/deb-arm64/rdv-${p}_*_arm64.deb Architecture)" = arm64 ] || return 1
	done
	x=$(mktemp -d "$D/x.XXXXXX")
	dpkg-deb -x "$D"/deb-arm64/rdv-onsite_*_arm64.deb "$x" &&
	od -An -tx1 -j18 -N2 "$x/usr/sbin/onsitedev" | grep -q 'b7 00' # e_machine: EM_AARCH64
}
check "make deb ARCH=arm64 builds the three packages with aarch64 programs" arm64_built
lintian --fail-on error "$D"/deb-arm64/rdv-{server,onsite,master}_*_arm64.deb >"$LOGS/lintian-arm64.log" 2>&1
check "lintian reports no error on the arm64 packages" test $? -eq 0

ROOT=$(debian_root) || { not_ok "a Debian 12 root with mmdebstrap"; finish; exit 1; }
echo "# Debian 12 root: $ROOT ($((SECONDS - t0)) s so far)"

# --- three booted machines in the topology
"$TOPO" up "$P" || { not_ok "topology comes up"; finish; exit 1; }
at_exit "$TOPO" down "$P"
declare -A MNS=([rdv]=$P-rdv [onsite]=$P-onsite1 [master]=$P-master1)
for m in rdv onsite master; do
	at_exit machine_remove "$m"
	at_exit cp -r "$MDIR/$m/upper/var/log" "$LOGS/$m-var-log"
	mkdir -p "$MDIR/$m/upper/etc" "$MDIR/$m/upper/root"
	# the test world's name service and resolvers (the onsite's: the customer's DNS)
	{ cat "$ROOT/etc/hosts"; echo "198.18.0.10 rdv.example.com"; } >"$MDIR/$m/upper/etc/hosts"
	if [ $m = onsite ]; then echo "nameserver $PLC"; fi >"$MDIR/$m/upper/etc/resolv.conf"
	cp "$D"/deb/rdv-*.deb "$MDIR/$m/upper/root/"
done
boot_all() {
	local m rc=0 pids=() p
	for m in rdv onsite master; do machine_boot "$m" "${MNS[$m]}" & pids+=($!); done
	for p in "${pids[@]}"; do wait "$p" || rc=1; done
	# the pids were set in subshells: read them again
	for m in rdv onsite master; do
		MACHINE_NSPAWN[$m]=$(pgrep -f "^systemd-nspawn -D $MDIR/$m/root " | head -1)
		MACHINE_PID1[$m]=$(pgrep -P "${MACHINE_NSPAWN[$m]:-0}" | head -1)
		wait_for 60 booted "$m" || rc=1
	done
	return $rc
}
check "three Debian 12 containers boot systemd in the RDV, onsite and master namespaces" boot_all
echo "# booted ($((SECONDS - t0)) s so far)"

# --- docs/INSTALL.md, step by step
# Blocks fenced as ```sh on=MACHINE run there (in /root); "doc-test" comments
# carry files between machines or run a line a package printed.
steps=$D/steps
mkdir -p "$steps"
awk -v dir="$steps" '
	/^```sh on=(rdv|onsite|master)$/ { n++; split($2, a, "="); f = sprintf("%s/%02d-run-%s", dir, n, a[2]); next }
	/^```/ && f { close(f); f = ""; next }
	f { print > f; next }
	/^<!-- doc-test: .* -->$/ { n++; sub(/^<!-- doc-test: /, ""); sub(/ -->$/, ""); print > sprintf("%s/%02d-do", dir, n); close(sprintf("%s/%02d-do", dir, n)) }
' "$REPO/docs/INSTALL.md"
check "docs/INSTALL.md has runnable steps for the three machines" \
	bash -c "ls $steps | grep -q run-rdv && ls $steps | grep -q run-onsite && ls $steps | grep -q run-master"
# machine:path -> a path on the host (relative paths are in /root)
hostpath() { local m=${1%%:*} p=${1#*:}; [ "${p#/}" = "$p" ] && p=/root/$p; echo "$MDIR/$m/root$p"; }
doc_step() {
	local f=$1 out=$LOGS/step-$(basename "$1").log m
	case $f in
	*-run-*)
		m=${f##*-run-}
		# apt runs maintainer scripts on a pty: their lines end in CR LF
		inside "$m" sh -ec "cd /root; $(cat "$f")" 2>&1 | tr -d '\r' >"$out"
		return "${PIPESTATUS[0]}" ;;
	*-do)
		set -- $(cat "$f")
		case $1 in
		copy) cp "$(hostpath "$2")" "$(hostpath "$3")" ;;
		run-printed)
			# the exact line the device package printed at install
			line=$(grep -h -A1 "create this device's account with:" "$LOGS"/step-*.log 2>/dev/null |
				grep "^  rdvctl account add .* --role $2 " | tail -1)
			[ -n "$line" ] && inside "$3" sh -ec "$line" 2>&1 | tr -d '\r' >"$out"
			return "${PIPESTATUS[0]}" ;;
		*) echo "unknown doc-test step: $*" >&2; return 1 ;;
		esac ;;
	esac
}
for f in "$steps"/*; do
	check "INSTALL.md step $(basename "$f"): $(head -1 "$f" | cut -c1-60)" doc_step "$f"
done
grep -h "SHA-256 fingerprint" "$LOGS"/step-*-run-rdv.log | head -1
fp=$(sed -n 's/^rdv-server: SHA-256 fingerprint //p' "$LOGS"/step-*-run-rdv.log | head -1)
check "the fingerprint rdv-server printed is the one the Pis see" \
	bash -c "[ -n '$fp' ] && grep -q 'sha256 Fingerprint=$fp' $LOGS/step-*-run-onsite.log $LOGS/step-*-run-master.log"

# the test's adapter is a veth, not on USB: the one setting a real Pi does not need
inside master sed -i -e 's/^  interfaces = .*/  interfaces = "usb0";/' \
	-e 's/^  require_usb = .*/  require_usb = false;/' /etc/rdv/master.conf
inside master systemctl restart masterd

# --- the system up
services_up() {
	inside rdv systemctl is-active -q rdvd rdv-stunnel rdv-frontdoor ssh dbus &&
	inside onsite systemctl is-active -q onsitedev &&
	inside master systemctl is-active -q masterd dbus
}
check "active: rdvd, rdv-stunnel, rdv-frontdoor, ssh, dbus (RDV); onsitedev (onsite); masterd, dbus (master)" \
	wait_for 15 services_up
both_online() {
	inside rdv rdvctl devices 2>/dev/null | grep -q "^rpi1100 .*free" &&
	inside rdv rdvctl devices 2>/dev/null | grep -q "^rpi2000 "
}
check "the onsite and the master are online on the RDV server" wait_for 20 both_online
logged_twice() { inside rdv journalctl -u rdvd -o cat | grep -q rpi1100 && inside rdv grep -q rpi1100 /var/log/rdvd.log; }
check "rdvd's log lines reach the journal as well as /var/log/rdvd.log" logged_twice
laptop_dhcp 1
leased() { [ -s "$D/lease-1" ]; }
check "the laptop gets its lease from the master container" wait_for 30 leased
lap() { ip netns exec "$P-laptop1" "$@"; }

session_up() {
	inside master runuser -u tech -- masterdev -o rpi1100 >"$LOGS/masterdev.out" 2>&1 &
	wait_for 30 grep -q "Session established" "$LOGS/masterdev.out"
}
session_end() {
	inside master sh -c 'kill -INT $(pidof masterdev)'
	wait_for 10 bash -c "! grep -q . <(ip netns exec $P-master1 nft list table inet masterd 2>/dev/null)"
}
check "masterdev -o by the unprivileged technician 'tech' opens a session" session_up
check "the laptop pings the customer host" lap ping -c 2 -i 0.3 -W 2 -q $PLC
check "and fetches its page" \
	bash -c "ip netns exec $P-laptop1 curl -sS -m 10 http://$PLC/ | grep -q 'hello from the customer LAN'"
check "the session ends on Ctrl-C" session_end

# --- restarts
onsite_free() { inside rdv rdvctl devices 2>/dev/null | grep -q "^rpi1100 .*free"; }
wait_for 10 onsite_free
inside rdv systemctl restart rdvd
t=$SECONDS
check "systemctl restart rdvd while idle: both devices back within 10 s" wait_for 10 both_online
echo "# devices back $((SECONDS - t)) s after the restart"
wait_for 10 onsite_free
check "a session for the stop test" session_up
check "traffic flows in it" lap ping -c 3 -i 0.3 -W 2 -q $PLC
rdv_clean() {
	! inside rdv pidof vtund >/dev/null &&
	! ip -n "$P-rdv" -o link show | grep -q ': rdv[0-9]' &&
	[ "$(ip -n "$P-rdv" rule | grep -vcE '^(0|32766|32767):')" = 0 ] &&
	! ip -n "$P-rdv" route show table all | grep -q 'table 7[0-9][0-9][0-9][0-9]' &&
	# the front door's table (rdv-frontdoor.service) is not rdvd's and stays
	! ip netns exec "$P-rdv" nft list tables | grep -qv 'inet rdv_frontdoor$'
}
inside rdv systemctl stop rdvd
check "systemctl stop rdvd with a session up leaves no vtund, tun, rule, route or nft table" rdv_clean
inside master sh -c 'kill -INT $(pidof masterdev) 2>/dev/null'
inside rdv systemctl start rdvd
check "rdvd started again: devices back" wait_for 15 both_online

# --- hardening, unit checks
rdvd_writes() { inside rdv sh -c "nsenter -t \$(pidof rdvd) -m sh -c 'touch $1 && rm $1'" 2>/dev/null; }
check_not "hardening in force: rdvd cannot write to /etc" rdvd_writes /etc/rdv-test
check_not "nor to /usr" rdvd_writes /usr/rdv-test
check_not "nor to /root" rdvd_writes /root/rdv-test
check "but it writes to its log directory" rdvd_writes /var/log/rdv-test
check "and to /run/rdv" rdvd_writes /run/rdv/rdv-test
for m in rdv onsite master; do
	units=$(inside "$m" sh -c 'ls /lib/systemd/system/rdv*.service /lib/systemd/system/onsitedev.service /lib/systemd/system/masterd.service 2>/dev/null')
	check "systemd-analyze verify on the units of the $m machine" \
		inside "$m" systemd-analyze verify --man=no $units
	for u in $units; do
		echo "# exposure: $(inside "$m" systemd-analyze security --no-pager "$(basename "$u")" | tail -1)"
	done
done

# --- power cycle
for m in rdv onsite master; do machine_poweroff "$m"; done
ip netns exec "$P-onsite1" nft list tables >/dev/null 2>&1
check "powered off and booted again" boot_all
check "services are active again with nothing done by hand" wait_for 30 services_up
check "both devices online again" wait_for 30 both_online
wait_for 10 onsite_free
check "a session works after the reboot" session_up
check "the laptop pings the customer host" lap ping -c 2 -i 0.3 -W 2 -q $PLC
check "the session ends" session_end

# --- purge
for m in rdv onsite master; do
	inside "$m" journalctl -b --no-pager >"$LOGS/$m-journal.log" 2>&1
	inside "$m" sh -c 'cat /var/log/*.log' >"$LOGS/$m-logs.log" 2>&1
done
ours() { # the files a package installed, as paths on the host
	dpkg-deb -c "$1" | awk '{print $6}' | sed 's#^\./#/#' | grep -v '/$'
}
purge() {
	local m=$1 pkg=$2
	ours "$D"/deb/"$pkg"_*.deb >"$D/files-$pkg"
	inside "$m" apt-get purge -y "$pkg" >"$LOGS/purge-$pkg.log" 2>&1 || return 1
	# what stays in /etc/rdv of a Pi: the two files the administrator put there
	! inside "$m" sh -c "ls -d $(tr '\n' ' ' <"$D/files-$pkg") /etc/rdv/* /var/lib/$pkg /var/log/rdvd.log /var/log/onsitedev.log /var/log/masterd.log 2>/dev/null" |
		grep -vxE '/etc/rdv/(rdv-server.crt|known_hosts)' | grep . &&
	! inside "$m" sh -c 'ls /etc/systemd/system/*/ | grep -E "^(rdv|onsitedev|masterd)"' &&
	! inside "$m" getent group rdv-onsite rdv-master rdv-tech &&
	! ip netns exec "${MNS[$m]}" nft list tables | grep -q .
}
check "apt-get purge rdv-server leaves none of its files, units, groups, nft tables" purge rdv rdv-server
check "and the device accounts are gone with it" bash -c "! nsenter -t ${MACHINE_PID1[rdv]} -a getent passwd rpi1100 rpi2000"
check "apt-get purge rdv-onsite: the same" purge onsite rdv-onsite
check "apt-get purge rdv-master: the same" purge master rdv-master
check "purge touched nothing else (the technician's account, sshd's config stay)" \
	bash -c "nsenter -t ${MACHINE_PID1[master]} -a getent passwd tech >/dev/null && test -s $MDIR/rdv/root/etc/ssh/sshd_config"
echo "# test-packages took $((SECONDS - t0)) s"
finish
