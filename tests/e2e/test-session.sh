#!/bin/bash
# The whole chain, for real: laptop --usb0-- masterd/masterdev --TLS/443--
# rdvd --TLS/443-- onsitedev -- customer LAN, through a customer firewall
# that lets only TCP 443 out. The laptop gets its lease from the master.
set -u
T_NAME=session
REPO=${REPO:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${BUILD:-$REPO/build}
. "$REPO/tests/lib/common.sh"
. "$REPO/tests/lib/rdv-env.sh"
. "$REPO/tests/lib/devices.sh"
need_root
TOPO=$REPO/tests/topo.sh
P=s$(printf '%04d' $(($$ % 10000)))
# SAME_SUBNET=1: the customer LAN and the support office use one subnet, and
# it holds the master's adapter subnet (192.168.38.224/28) too
if [ "${SAME_SUBNET:-0}" = 1 ]; then
	NET=192.168.38 SUP=192.168.38
	TOPO_ARGS=(--customer-subnet 192.168.38.0/24 --support-subnet 192.168.38.0/24)
	T_NAME=session-same-subnet
else
	NET=10.1.0 SUP=10.2.0 TOPO_ARGS=()
fi
PLC=$NET.20
trap 'run_cleanup' EXIT
trap 'exit 1' INT TERM
trap '' PIPE

"$TOPO" up "$P" "${TOPO_ARGS[@]}" || { not_ok "topology comes up"; finish; exit 1; }
at_exit "$TOPO" down "$P"
RDV_NS=$P-rdv RDV_IP=198.18.0.10
# the office router knows the way back to the laptops: only the master's
# forwarding decides whether a laptop reaches the office LAN
ip -n "$P-support1" route add 192.168.38.224/28 via "$SUP.10"
rdv_setup "$P" || { not_ok "RDV server starts"; finish; exit 1; }
O=${P}o M=${P}m
dev_account "$O" onsite && dev_account "$M" master || not_ok "device accounts"
# a 10 MB file on the customer host, for an intact transfer
WWW=/run/rdv-topo/$P/plc1/www
head -c 10485760 /dev/urandom >"$WWW/big.bin"
big_sum=$(sha256sum <"$WWW/big.bin")

# Technicians on the master: T1 only in the group master.conf names (not
# rdv-tech), T2 and T3 in both, so that the old bus policy let them through.
TECH=${P}tech T1=${P}t1 T2=${P}t2 T3=${P}t3
groupadd "$TECH" && at_exit groupdel "$TECH"
if ! getent group rdv-tech >/dev/null; then groupadd --system rdv-tech && at_exit groupdel rdv-tech; fi
for u in "$T1:41481:$TECH" "$T2:41482:$TECH,rdv-tech" "$T3:41483:$TECH,rdv-tech"; do
	IFS=: read -r name uid groups <<<"$u"
	useradd -M -N -u "$uid" -G "$groups" -s /usr/sbin/nologin "$name" && at_exit del_user "$name" ||
		not_ok "technician account $name"
done
install -m 0755 "$BUILD/masterdev" "$D/bin/masterdev"
MASTER_CONF_EXTRA="access_group = \"$TECH\";"

onsite_start "$O" 1
master_start "$M" 1 || not_ok "masterd starts"
online_free() { rdvctl devices | grep -q "^$O .*plc-site-1 .*free"; }
check "the onsite device is online and announced" wait_for 15 online_free
laptop_dhcp 1
leased() { [ -s "$D/lease-1" ]; }
check "the laptop gets a lease from the master's dnsmasq" wait_for 20 leased
read -r l_ip l_mtu l_router l_dns <"$D/lease-1" 2>/dev/null
check "the lease is in 192.168.38.226-238, router and DNS .225, MTU 1400" \
	bash -c "[[ '$l_ip' =~ ^192\.168\.38\.(22[6-9]|23[0-8])$ ]] && [ '$l_router $l_dns $l_mtu' = '192.168.38.225 192.168.38.225 1400' ]"
lap() { ip netns exec "$P-laptop1" "$@"; }
# quiet, and inside the check: a redirect after "check" would hide its result line
lap_ping() { ip netns exec "$P-laptop1" ping "$@" >/dev/null; }
check_not "outside a session the laptop does not reach the customer host" lap_ping -c 1 -W 1 -q $PLC

list=$(masterdev "$M" 1 -l)
check "masterdev -l lists the onsite with hostname and LAN address" \
	bash -c "grep -q '^$O .*plc-site-1 .*$NET.10/24 .*lan .*free' <<<\"\$1\" && grep -q '1 onsite device online' <<<\"\$1\"" _ "$list"

# masterdev -o ID: holds the session until Ctrl-C
open_session() {
	# emptied before the start: the redirection of a background job happens
	# later, and the last session's "Session established" must not count
	: >"$D/masterdev.out"
	ip netns exec "$P-master1" env DBUS_SYSTEM_BUS_ADDRESS="${MBUS[$M]}" \
		"$BUILD/masterdev" -o "$O" >"$D/masterdev.out" 2>&1 &
	MASTERDEV=$!
	at_exit kill "$MASTERDEV"
	wait_for 30 grep -q "Session established" "$D/masterdev.out"
}
check "masterdev -o establishes the session and says so" open_session
check "it prints the onsite's LAN address" grep -q "customer LAN $NET.10/24, DNS $PLC" "$D/masterdev.out"
ADAPTER=192.168.38.225
if [ "${SAME_SUBNET:-0}" = 1 ]; then
	check "masterdev names the overlap with the adapter subnet and the move to the alternative" \
		grep -q "Warning: the customer LAN 192.168.38.0/24 overlaps this master's adapter subnet 192.168.38.224/28: the adapter moved to 172.31.38.225/28" "$D/masterdev.out"
	check "and so does masterd's log" grep -q "overlaps this master's adapter subnet .*moved to 172.31.38.225/28" "$D/$M/masterd.log"
	# the laptop asks again, as laptops do when their link comes back (masterd bounced it)
	kill "${LAPTOP_DHCP[1]}" 2>/dev/null
	laptop_dhcp 1
	check "the laptop follows: a lease in 172.31.38.226-238" wait_for 20 leased
	read -r l_ip l_mtu l_router l_dns <"$D/lease-1" 2>/dev/null
	check "router and DNS 172.31.38.225" bash -c "[[ '$l_ip' =~ ^172\.31\.38\.(22[6-9]|23[0-8])$ ]] && [ '$l_router $l_dns' = '172.31.38.225 172.31.38.225' ]"
	ADAPTER=172.31.38.225
	# a customer host inside the adapter's former /28
	ip -n "$P-plc1" addr add 192.168.38.230/24 dev eth0
	check "the laptop reaches a customer host inside the former adapter subnet (192.168.38.230)" \
		bash -c "ip netns exec $P-laptop1 curl -sS -m 10 http://192.168.38.230/ | grep -q 'hello from the customer LAN'"
fi
check "the laptop pings the customer host" lap_ping -c 2 -i 0.3 -W 2 -q $PLC
check "curl from the laptop returns the customer host's page (HTTP 200, its body)" \
	bash -c "[ \"\$(ip netns exec $P-laptop1 curl -sS -m 10 -o /dev/stderr -w '%{http_code}' http://$PLC/ 2>&1 | tr '\n' ' ')\" = 'plc1 of customer 1: hello from the customer LAN 200' ]"
got_sum=$(lap curl -sS -m 60 http://$PLC/big.bin | sha256sum)
check "a 10 MB transfer arrives intact (sha256)" test "$got_sum" = "$big_sum"
check "a ping with DF set at the MTU the laptop was given (1400) passes" \
	lap_ping -M do -s 1372 -c 2 -i 0.3 -W 2 -q $PLC
check "the laptop resolves a name only the customer LAN's DNS knows" \
	bash -c "ip netns exec $P-laptop1 busybox nslookup -type=a plc.customer.lan $ADAPTER | grep -q 'Address: $PLC'"
check_not "the master itself has no route to the customer LAN" \
	bash -c "ip netns exec $P-master1 ping -c 1 -W 1 -q $PLC >/dev/null 2>&1"
out=$(masterdev "$M" 1 -o "$O" 2>&1); rc=$?
check "a second masterdev -o gets a clear refusal while the session is open" \
	bash -c "[ $rc -eq 4 ] && grep -q 'a session is already open' <<<\"\$1\"" _ "$out"
# the relay data path: both devices announced it, so the RDV server only splices
check "rdvd logged the session's data path: relay" \
	grep -q "session [0-9]*: opened, master $M, onsite $O, data path relay" "$D/rdvd.log"
ns_procs() { local p; for p in $(ip netns pids "$1"); do cat "/proc/$p/comm" 2>/dev/null; done; }
check_not "relay: no tunnel interface, route or rule of the session in the RDV namespace" \
	bash -c "ip -n '$NS_RDV' -o link show | grep -q ': rdv[0-9]' || ip -n '$NS_RDV' rule | grep -q 'iif rdv'"
check_not "relay: no vtund in the RDV namespace" bash -c "$(declare -f ns_procs); ns_procs '$NS_RDV' | grep -qx vtund"
# a hostile onsite (the tunnel's other end) reaches nothing on the master through it
mtun=$(ip -n "$P-master1" -4 -o addr show dev rdvtun | awk '{print $4}' | cut -d/ -f1)
check_not "from the tunnel, the master answers no ping (input drops all but replies)" \
	ip netns exec "$P-onsite1" ping -c 1 -W 1 -q -I rdvtun "$mtun"
ip -n "$P-onsite1" route add "$ADAPTER/32" dev rdvtun
check_not "from the tunnel, the master's dnsmasq does not answer" \
	ip netns exec "$P-onsite1" timeout 3 busybox nslookup plc.customer.lan "$ADAPTER"
ip -n "$P-onsite1" route del "$ADAPTER/32" dev rdvtun 2>/dev/null
check_not "a local user on the master does not resolve through the customer's DNS (no dnsmasq on lo)" \
	ip netns exec "$P-master1" timeout 3 busybox nslookup plc.customer.lan 127.0.0.1
fwd() { ip netns exec "$1" sysctl -n "net.ipv4.$2"; }
check "no host-wide forwarding on master, RDV server or onsite during a session" \
	bash -c "[ \"\$1\" = '0 0 0' ]" _ "$(fwd "$P-master1" ip_forward) $(fwd "$P-rdv" ip_forward) $(fwd "$P-onsite1" ip_forward)"

# Ctrl-C
all_clean() {
	! ns_procs "$P-master1" | grep -qx vtund && ! ns_procs "$P-onsite1" | grep -qx vtund &&
	! ip -n "$P-master1" link show rdvtun >/dev/null 2>&1 && ! ip -n "$P-onsite1" link show rdvtun >/dev/null 2>&1 &&
	! ip -n "$P-master1" rule | grep -q "lookup 7100" && [ -z "$(ip -n "$P-master1" route show table 7100)" ] &&
	! ip netns exec "$P-master1" nft list table inet masterd >/dev/null 2>&1 &&
	! ip netns exec "$P-onsite1" nft list table inet onsitedev >/dev/null 2>&1 &&
	! rdvctl sessions | grep -q "$O" && ! ip -n "$NS_RDV" link show rdv0m >/dev/null 2>&1
}
kill -INT "$MASTERDEV"
check "Ctrl-C: within 2 s no vtund, tunnel, rule or nftables table of the session on master, RDV or onsite" \
	wait_for 2 all_clean
check "masterdev says why it ended" grep -q "ended: closed by masterdev" "$D/masterdev.out"
check "rdvd logs the relayed bytes with the end (the 10 MB download: onsite->master >= 10 MiB)" \
	grep -Eq "session [0-9]+: ended, master $M, onsite $O, .*master->onsite [0-9.]+ [KM]?i?B, onsite->master (1[0-9]|[2-9][0-9])\.[0-9] MiB, reason: dropped by master $M: closed by masterdev" "$D/rdvd.log"
check "the onsite is back in standby" wait_for 5 online_free
check_not "the laptop no longer reaches the customer host" lap_ping -c 1 -W 1 -q $PLC
check_not "between sessions the laptop is not routed into the office LAN" lap_ping -c 1 -W 1 -q "$SUP.1"
check "the adapter forwards nothing between sessions" test "$(fwd "$P-master1" conf.usb0.forwarding)" = 0
# --- who may drive masterd, and signals forged by other local users -------------
# as_user USER COMMAND...: on the master, as that account, on masterd's bus
as_user() {
	local u=$1
	shift
	ip netns exec "$P-master1" setpriv --reuid="$u" --regid="$(id -g "$u")" --init-groups \
		env DBUS_SYSTEM_BUS_ADDRESS="${MBUS[$M]}" "$@"
}
bus_driver() { # METHOD ARGS...: ask the master's bus daemon
	local m=$1
	shift
	ip netns exec "$P-master1" env DBUS_SYSTEM_BUS_ADDRESS="${MBUS[$M]}" dbus-send --system \
		--print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus "org.freedesktop.DBus.$m" "$@"
}
unique() { grep -o '":[0-9.]*"' | tr -d '"'; }
bus_name_of_uid() { # the unique name of that account's one bus connection
	local n
	for n in $(bus_driver ListNames | unique); do
		bus_driver GetConnectionUnixUser "string:$n" 2>/dev/null | grep -q "uint32 $1\$" && { echo "$n"; return 0; }
	done
	return 1
}
tech_lists() { as_user "$T1" "$D/bin/masterdev" -l 2>&1 | grep -q "^$O "; }
check "a member of the group master.conf names (access_group, not rdv-tech) may use masterdev" tech_lists
out=$(as_user nobody "$D/bin/masterdev" -l 2>&1)
check "an account outside it is refused by masterd, naming the group" \
	grep -q "only root and members of $TECH" <<<"$out"
ip netns exec "$P-master1" setpriv --reuid="$T2" --regid="$(id -g "$T2")" --init-groups \
	env DBUS_SYSTEM_BUS_ADDRESS="${MBUS[$M]}" "$D/bin/masterdev" -o "$O" >"$D/masterdev-t2.out" 2>&1 &
TECHDEV=$!
at_exit kill "$TECHDEV"
check "technician $T2 opens a session" wait_for 30 grep -q "Session established" "$D/masterdev-t2.out"
mdev=$(bus_name_of_uid "$(id -u "$T2")")
mastd=$(bus_driver GetNameOwner string:org.rdvkit.Master | unique)
ESC=$'\e' BEL=$'\a'
mark=$(wc -l <"$D/$M/masterd.log")
# unicast signals straight to the unique names: no match rule stops them. The
# bus policy keeps all but root from masterd's other interfaces, so root's
# forgery is the one that proves masterd's own check.
for u in nobody "$T3" root; do
	as_user "$u" dbus-send --system --type=signal --dest="$mdev" /org/rdvkit/Master \
		org.rdvkit.Master1.SessionEnded "string:${ESC}]0;owned${BEL}${ESC}[2J${ESC}[31mforged by $u"
	as_user "$u" dbus-send --system --type=signal --dest="$mdev" /org/freedesktop/DBus \
		org.freedesktop.DBus.NameOwnerChanged string:org.rdvkit.Master "string:$mastd" string:
	as_user "$u" dbus-send --system --type=signal --dest="$mastd" /org/freedesktop/DBus \
		org.freedesktop.DBus.NameOwnerChanged "string:$mdev" "string:$mdev" string:
done
masterdev_gone() { ! alive "$TECHDEV"; }
check_not "forged SessionEnded and NameOwnerChanged signals from other local users: masterdev runs on" \
	wait_for 3 masterdev_gone
check_not "masterdev printed no end, no raw escape reached its terminal" \
	grep -q "ended\|$ESC\|$BEL" "$D/masterdev-t2.out"
check_not "masterd ended nothing" \
	bash -c "tail -n +$((mark + 1)) '$D/$M/masterd.log' | grep -q 'session with .* ended'"
out=$(as_user "$T3" dbus-send --system --print-reply --dest=org.rdvkit.Master /org/rdvkit/Master \
	org.rdvkit.Master1.Close 2>&1)
check "another technician cannot close $T2's session (AccessDenied)" grep -q "AccessDenied" <<<"$out"
check_not "and the session lives on: masterdev runs" wait_for 3 masterdev_gone
check "the laptop still reaches the customer host" lap ping -c 2 -i 0.3 -W 2 -q $PLC >/dev/null
kill -INT "$TECHDEV"
check "its own technician's Ctrl-C ends it" wait_for 5 all_clean
check "a second session right after works" open_session
check "traffic flows in it" lap_ping -c 2 -i 0.3 -W 2 -q $PLC

# the adapter unplugged mid-session
"$TOPO" unplug "$P" 1
check "unplugging the adapter ends the session, masterdev says why" \
	wait_for 5 grep -q "ended: the extremity interface (USB-Ethernet adapter) was removed" "$D/masterdev.out"
check "the RDV server ends it too, logging why" \
	wait_for 5 grep -q "reason: dropped by master $M: the extremity interface (USB-Ethernet adapter) was removed" "$D/rdvd.log"
check "nothing of it is left anywhere" wait_for 5 all_clean
check "and the onsite logs it, with the same reason" \
	wait_for 5 grep -q "ended on the RDV server: dropped by master $M: the extremity interface (USB-Ethernet adapter) was removed" "$D/$O/onsitedev.log"
out=$(masterdev "$M" 1 -o "$O" 2>&1); rc=$?
check "without the adapter masterdev -o refuses clearly (exit 5)" \
	bash -c "[ $rc -eq 5 ] && grep -q 'plug the USB-Ethernet adapter' <<<\"\$1\"" _ "$out"
# dnsmasq dying must not leave the adapter half served: masterd starts it again
n_dnsmasq=$(grep -c "dnsmasq usb0: started" "$D/$M/masterd.log")
"$TOPO" plug "$P" 1
dnsmasq_started() { [ "$(grep -c "dnsmasq usb0: started" "$D/$M/masterd.log")" -gt "$1" ]; }
wait_for 5 dnsmasq_started "$n_dnsmasq"
kill -9 "$(sed -n 's/.*dnsmasq usb0: started, pid \([0-9]*\)$/\1/p' "$D/$M/masterd.log" | tail -1)"
check "dnsmasq killed: masterd starts it again by itself" wait_for 5 dnsmasq_started $((n_dnsmasq + 1))
kill "${LAPTOP_DHCP[1]}" 2>/dev/null
laptop_dhcp 1
check "plugged again, the laptop gets a lease again" wait_for 20 leased
check "and a new session works" open_session
check "traffic flows in it" lap_ping -c 2 -i 0.3 -W 2 -q $PLC
kill -INT "$MASTERDEV"
wait_for 5 all_clean

# faults on the onsite during a session
ended_remotely() { grep -q "ended: the tunnel closed (ended by the RDV server" "$D/masterdev.out"; }
check "a session for the fault tests" open_session
vtund_pid=$(sed -n 's/.* vtund: started, pid \([0-9]*\)$/\1/p' "$D/$O/onsitedev.log" | tail -1)
kill -9 "$vtund_pid"
check "kill -9 of the onsite's vtund: masterdev reports the end" wait_for 10 ended_remotely
check "the session is cleaned up everywhere" wait_for 5 all_clean
check "the onsite is online and free again within 10 s" wait_for 10 online_free
check "a session for the next fault" open_session
pkill -9 -f "ssh -F /dev/null -T -M -S $D/$O/run/ssh.ctl"
check "kill -9 of the onsite's ssh: masterdev reports the end" wait_for 10 ended_remotely
check "the session is cleaned up everywhere" wait_for 5 all_clean
check "the onsite is online again within 10 s" wait_for 10 online_free
check "a session for the stunnel fault" open_session
pkill -9 -f "stunnel4 $D/$O/run/stunnel.conf"
check "kill -9 of the onsite's stunnel: masterdev reports the end" wait_for 10 ended_remotely
check "the session is cleaned up everywhere" wait_for 5 all_clean
check "the onsite is online again within 10 s" wait_for 10 online_free

# the original's environment variables
out=$(MASTERDEV_USERNAME=$M RDV_SERVER_HOSTNAME=198.18.0.10 masterdev "$M" 1 -l 2>&1)
check "MASTERDEV_USERNAME and RDV_SERVER_HOSTNAME matching masterd's configuration are fine" \
	grep -q "^$O " <<<"$out"
out=$(ip netns exec "$P-master1" env DBUS_SYSTEM_BUS_ADDRESS="${MBUS[$M]}" MASTERDEV_USERNAME=rpi9999 \
	"$BUILD/masterdev" -l 2>&1); rc=$?
check "a MASTERDEV_USERNAME naming another account is refused, naming both" \
	bash -c "[ $rc -eq 2 ] && grep -q \"MASTERDEV_USERNAME is 'rpi9999' but this master is '$M'\" <<<\"\$1\"" _ "$out"

# refusals
M2=${P}n
dev_add "$M2" master 2 "$P-master1" && dev_login "$M2" || not_ok "a second master"
dev_cmd "$M2" "connect_to_onsite_dev $O" >/dev/null
out=$(masterdev "$M" 1 -d -o "$O" 2>&1); rc=$?
check "an onsite busy with another master is refused clearly (exit 4)" \
	bash -c "[ $rc -eq 4 ] && grep -q 'busy in another session' <<<\"\$1\"" _ "$out"
check "masterd named it by the shell's token: org.rdvkit.Master.Error.Busy, words without the token" \
	bash -c "grep -qx 'masterdev: (org.rdvkit.Master.Error.Busy)' <<<\"\$1\" && ! grep -q 'org.rdvkit.Error' <<<\"\$1\"" _ "$out"
dev_logout "$M2"
check "it is free again once that master leaves" wait_for 5 online_free
printf 'access = ( { master = "%s"; onsite = [ "%s" ]; } );\n' "$M2" "$O" >>"$D/rdvd.conf"
kill -HUP "$RDVD_PID"
check "rdvd reloads its access list on SIGHUP" wait_for 5 grep -q "access list reloaded" "$D/rdvd.log"
out=$(masterdev "$M" 1 -d -o "$O" 2>&1); rc=$?
check "an onsite outside this master's access list is refused clearly (exit 4)" \
	bash -c "[ $rc -eq 4 ] && grep -q 'not allowed' <<<\"\$1\"" _ "$out"
check "masterd named it by the shell's token: org.rdvkit.Master.Error.NotAllowed, words without the token" \
	bash -c "grep -qx 'masterdev: (org.rdvkit.Master.Error.NotAllowed)' <<<\"\$1\" && ! grep -q 'org.rdvkit.Error' <<<\"\$1\"" _ "$out"
check "and masterdev -l does not list it" \
	bash -c "ip netns exec $P-master1 env DBUS_SYSTEM_BUS_ADDRESS=${MBUS[$M]} $BUILD/masterdev -l | grep -q 'No onsite device'"
sed -i '/^access = /d' "$D/rdvd.conf"
kill -HUP "$RDVD_PID"
out=$(masterdev "$M" 1 -d -o "${P}zz" 2>&1); rc=$?
check "an unknown onsite is refused clearly (exit 4)" \
	bash -c "[ $rc -eq 4 ] && grep -q 'unknown or offline onsite device' <<<\"\$1\"" _ "$out"
check "masterd named it by the shell's token: org.rdvkit.Master.Error.UnknownDevice, words without the token" \
	bash -c "grep -qx 'masterdev: (org.rdvkit.Master.Error.UnknownDevice)' <<<\"\$1\" && ! grep -q 'org.rdvkit.Error' <<<\"\$1\"" _ "$out"
kill "$RDVD_PID"; wait "$RDVD_PID" 2>/dev/null
down() { masterdev "$M" 1 -l 2>&1 | grep -q "RDV server unreachable"; }
check "with the RDV server down, masterdev says it is unreachable" wait_for 5 down
rdvd_start
check "the onsite is online again within 10 s by itself" wait_for 10 online_free

# what the technician is told when the master's link cannot come up
restart_masterd() {
	kill "${MASTERD_PID[$M]}"
	wait "${MASTERD_PID[$M]}" 2>/dev/null
	ip netns exec "$P-master1" env DBUS_SYSTEM_BUS_ADDRESS="${MBUS[$M]}" "$BUILD/masterd" -c "$1" &
	MASTERD_PID[$M]=$!
	at_exit kill "$!"
}
says() { masterdev "$M" 1 -l 2>&1 | grep -q "$1"; }
MC=$D/$M
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=impostor \
	-keyout "$MC/other.key" -out "$MC/other.crt" 2>/dev/null
sed "s#$MC/rdv-server.crt#$MC/other.crt#" "$MC/master.conf" >"$MC/master-badcert.conf"
restart_masterd "$MC/master-badcert.conf"
check "a TLS certificate that is not the pinned one: masterdev says so" \
	wait_for 10 says "RDV server unreachable: TLS certificate mismatch"
ssh-keygen -q -t ed25519 -N '' -f "$MC/other_id"
sed "s#$MC/id_ed25519#$MC/other_id#" "$MC/master.conf" >"$MC/master-badkey.conf"
restart_masterd "$MC/master-badkey.conf"
check "a key the RDV server does not know: masterdev says it was refused" \
	wait_for 10 says "refused this device's key"
out=$(masterdev "$M" 1 -l 2>&1); rc=$?
check "and exits 3" test "$rc" -eq 3
# without its dnsmasq user, masterd refuses sessions rather than mark root's DNS into the tunnel
sed 's#require_usb = false;#require_usb = false; dnsmasq_user = "rdvnosuchuser";#' "$MC/master.conf" >"$MC/master-nouser.conf"
restart_masterd "$MC/master-nouser.conf"
wait_for 10 says "$O"
out=$(ip netns exec "$P-master1" env DBUS_SYSTEM_BUS_ADDRESS="${MBUS[$M]}" timeout 20 "$BUILD/masterdev" -o "$O" 2>&1)
check "without the dnsmasq user, masterd refuses the session (fails closed) and says why" \
	bash -c "grep -q 'cannot relay the customer.s DNS safely' <<<\"\$1\" && ! grep -q 'Session established' <<<\"\$1\"" _ "$out"
check "and its log names the missing user" grep -q "no unprivileged user 'rdvnosuchuser' for dnsmasq" "$MC/masterd.log"
restart_masterd "$MC/master.conf"
check "with its own key and the pinned certificate masterd is back" \
	wait_for 10 says "$O"
kill "${MASTERD_PID[$M]}"
masterd_gone() {
	! ns_procs "$P-master1" | grep -qxE 'masterd|dnsmasq|vtund' && ! pgrep -f "$D/$M/run/" >/dev/null &&
	! ip -n "$P-master1" addr show dev usb0 | grep -qE '192.168.38.225|172.31.38.225'
}
check "masterd stopped leaves no child and takes its address off the adapter" wait_for 5 masterd_gone
finish
