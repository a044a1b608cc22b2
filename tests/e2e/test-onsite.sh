#!/bin/bash
# onsitedev end to end, in the topology of tests/topo.sh: the onsite Pi is
# behind a customer firewall that lets only TCP 443 out; onsitedev keeps its
# own stunnel + ssh link to the real RDV server, announces the LAN, and when
# a master picks it carries the session into the customer LAN.
set -u
T_NAME=onsite
REPO=${REPO:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${BUILD:-$REPO/build}
. "$REPO/tests/lib/common.sh"
. "$REPO/tests/lib/rdv-env.sh"
. "$REPO/tests/lib/devices.sh"
need_root
TOPO=$REPO/tests/topo.sh
P=n$(printf '%04d' $(($$ % 10000)))
trap 'run_cleanup' EXIT
trap 'exit 1' INT TERM
trap '' PIPE

"$TOPO" up "$P" || { not_ok "topology comes up"; finish; exit 1; }
at_exit "$TOPO" down "$P"
RDV_NS=$P-rdv RDV_IP=198.18.0.10
rdv_setup "$P" || { not_ok "RDV server starts"; finish; exit 1; }
ok "RDV server runs in the topology's rdv namespace"
O=${P}o M=${P}m
NS_O=$P-onsite1
dev_add "$M" master 1 "$P-master1" || not_ok "master account"
dev_account "$O" onsite || not_ok "onsite account"

OD=$D/$O
onsite_start "$O" 1
ONSITED=${ONSITED_PID[$O]}
check "onsitedev --check-config accepts the configuration" "$BUILD/onsitedev" -t -c "$OD/onsite.conf" >/dev/null
printf 'device = "Bad Name";\nrdv = { host = "x y"; port = 70000; };\n' >"$OD/bad.conf"
out=$("$BUILD/onsitedev" -t -c "$OD/bad.conf" 2>&1)
check "a bad onsite configuration is refused, every error with its line" \
	bash -c "grep -q \"line 1: 'device' = \\\"Bad Name\\\"\" <<<\"\$1\" && grep -q \"line 2: 'host'\" <<<\"\$1\" && grep -q \"'port' = 70000\" <<<\"\$1\"" _ "$out"

online_free() { rdvctl devices | grep -q "^$O .*free"; }
check "onsitedev comes online through the firewall (TLS on 443 only) within 10 s" wait_for 10 online_free
announced() { rdvctl devices | grep -q "^$O .*plc-site-1 .*10.1.0.10/24 .*lan .*10.1.0.20"; }
check "it announces hostname, LAN address, uplink and DNS" wait_for 5 announced
announces_stub() { rdvctl devices | grep -q "127\.0\.0\.53"; }
check_not "it never announces its own local resolver (127.0.0.53 in its resolv.conf)" announces_stub
check "its stunnel client refuses TLS below 1.2" grep -qx "sslVersionMin = TLSv1.2" "$OD/run/stunnel.conf"

# a master picks it (scripted over its shell here; masterd is tested in test-session.sh)
master_session() {
	dev_cmd "$M" "connect_to_onsite_dev $O" >/dev/null
	dev_vtun_up "$M" || return 1
	ip -n "$P-master1" route replace 10.1.0.0/24 dev tun0
	wait_for 15 grep -q "session established" "$OD/onsitedev.log"
}
check "the master logs in" dev_login "$M"
check "a session opens: onsitedev fetches its parameters and brings its tunnel up" master_session
check "onsitedev checked that the tunnel answers" wait_for 10 grep -q "the tunnel answers" "$OD/onsitedev.log"
check "the master gets the customer host's page through the tunnel" \
	bash -c "ip netns exec $P-master1 curl -sS -m 5 http://10.1.0.20/ | grep -q 'hello from the customer LAN'"
check "the master resolves a name only the customer DNS knows" \
	bash -c "ip netns exec $P-master1 busybox nslookup -type=a plc.customer.lan 10.1.0.20 | grep -q 'Address: 10.1.0.20'"
# a connection held open to the customer host: whose address does it see?
ip netns exec "$P-plc1" timeout 10 busybox nc -l -p 8081 -e sleep 5 >/dev/null 2>&1 &
listening() { ip netns exec "$P-plc1" ss -Htln | grep -q ':8081 '; }
wait_for 5 listening
ip netns exec "$P-master1" timeout 5 bash -c 'exec 3<>/dev/tcp/10.1.0.20/8081; sleep 4' 2>/dev/null &
# busybox listens on IPv6: an IPv4 peer shows as [::ffff:A.B.C.D]
peer_is_onsite() { ip netns exec "$P-plc1" ss -Htn state established '( sport = :8081 )' | grep -qE '(:ffff:| )10\.1\.0\.10\]?:'; }
check "the customer host sees the onsite's LAN address (NAT), not the tunnel's" wait_for 5 peer_is_onsite
check "the NAT table and the tunnel exist during the session" \
	bash -c "ip -n $NS_O link show rdvtun >/dev/null && ip netns exec $NS_O nft list table inet onsitedev >/dev/null"
# beyond the customer LAN: a web server on the Internet side of the customer's
# firewall, which lets TCP 443 out. The master sends its request into the tunnel.
mkdir -p "$D/inet-www" && echo outside >"$D/inet-www/index.html"
ip netns exec "$P-inet" busybox httpd -p 198.18.0.1:443 -h "$D/inet-www"
ip -n "$P-master1" route replace 198.18.0.1/32 dev tun0
check_not "the onsite forwards nothing beyond the announced LAN (no NATed egress to the Internet)" \
	ip netns exec "$P-master1" curl -sS -m 3 -o /dev/null http://198.18.0.1:443/
ip -n "$P-master1" route del 198.18.0.1/32 dev tun0
check "no host-wide forwarding on the onsite or the RDV server during a session" \
	bash -c "[ \$(ip netns exec $NS_O sysctl -n net.ipv4.ip_forward) = 0 ] && [ \$(ip netns exec $P-rdv sysctl -n net.ipv4.ip_forward) = 0 ]"

# ns_procs NS: the commands running in a namespace (vtund rewrites its command line: comm)
ns_procs() { local p; for p in $(ip netns pids "$1"); do cat "/proc/$p/comm" 2>/dev/null; done; }
onsite_clean() {
	! ip -n "$NS_O" link show rdvtun >/dev/null 2>&1 &&
	! ip netns exec "$NS_O" nft list table inet onsitedev >/dev/null 2>&1 &&
	! ns_procs "$NS_O" | grep -qx vtund
}
dev_logout "$M"
check "the master leaving ends the session on the onsite within 2 s" \
	wait_for 2 grep -q "session ended" "$OD/onsitedev.log"
check "the onsite removed its tunnel, NAT table and vtund" wait_for 2 onsite_clean
check "its LAN interface forwards no more (as before the session)" \
	test "$(ip netns exec "$NS_O" sysctl -n net.ipv4.conf.eth0.forwarding)" = 0
check "the onsite is back in standby" wait_for 5 online_free
dev_vtun_down "$M"
check "the master logs in again" dev_login "$M"
check "a second session right after works" master_session
check "traffic flows again" \
	bash -c "ip netns exec $P-master1 curl -sS -m 5 http://10.1.0.20/ | grep -q hello"

# faults on the onsite
n_before=$(grep -c "session ended" "$OD/onsitedev.log")
kill -9 "$(sed -n 's/.* vtund: started, pid \([0-9]*\)$/\1/p' "$OD/onsitedev.log" | tail -1)"
check "kill -9 of the onsite's vtund ends the session on the onsite" \
	wait_for 5 bash -c "[ \$(grep -c 'session ended' '$OD/onsitedev.log') -gt $n_before ]"
check "and on the RDV server" wait_for 5 bash -c "! DBUS_SYSTEM_BUS_ADDRESS=$BUS $BUILD/rdvctl -c $D/rdvd.conf sessions | grep -q $O"
check "the onsite is online and free again within 10 s" wait_for 10 online_free
check "nothing of the session is left on the onsite" wait_for 2 onsite_clean
dev_vtun_down "$M"
dev_logout "$M"
offline() { ! rdvctl devices | grep -q "^$O "; }
# back_online: the device went offline, then came back within 10 s
back_online() { wait_for 5 offline && wait_for 10 online_free; }
pkill -9 -f "ssh -F /dev/null -T -M -S $OD/run/ssh.ctl"
check "kill -9 of the onsite's ssh: offline, then online again within 10 s by itself" back_online
check "the cause is logged" grep -q "RDV server link down: ssh killed by signal 9" "$OD/onsitedev.log"
pkill -9 -f "stunnel4 $OD/run/stunnel.conf"
check "kill -9 of the onsite's stunnel: offline, then online again within 10 s by itself" back_online
kill "$RDVD_PID"; wait "$RDVD_PID" 2>/dev/null
rdvd_start
check "rdvd restarted: the onsite is online again within 10 s by itself" wait_for 10 online_free
check "it was offline in between (a new registration)" \
	test "$(grep -c "device $O: online as onsite" "$D/rdvd.log")" -ge 4
check "the link failures and retries are logged with their cause" \
	grep -q "RDV server link down: .*retrying in" "$OD/onsitedev.log"

kill "$ONSITED"
check "onsitedev stops on SIGTERM within 3 s" timeout 3 tail --pid="$ONSITED" -f /dev/null
check "and leaves no stunnel, ssh or vtund of its own" test -z "$(ns_procs "$NS_O")"
finish
