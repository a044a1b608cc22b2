#!/bin/bash
# The device daemons killed -9 in a session and started again (systemd's
# Restart=): their successor finds nothing in its way and leaves nothing of
# the dead one. Each check was a leak or a failure the soak test found
# (tests/soak/soak.sh): a killed onsitedev's stunnel held its port, a killed
# masterd's policy rules made the next session fail, its dnsmasq held the
# adapter's ports, vtund's config (with the session secret) stayed behind, a
# killed onsitedev left its LAN interface forwarding.
set -u
T_NAME=restart
REPO=${REPO:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${BUILD:-$REPO/build}
. "$REPO/tests/lib/common.sh"
. "$REPO/tests/lib/rdv-env.sh"
. "$REPO/tests/lib/devices.sh"
. "$REPO/tests/bench/measure.sh"
. "$REPO/tests/bench/paths.sh"
need_root
TOPO=$REPO/tests/topo.sh
P=r$(printf '%04d' $(($$ % 10000)))
PLC=10.1.0.20
trap 'run_cleanup' EXIT
trap 'exit 1' INT TERM
trap '' PIPE

"$TOPO" up "$P" || { not_ok "topology comes up"; finish; exit 1; }
at_exit "$TOPO" down "$P"
RDV_NS=$P-rdv RDV_IP=198.18.0.10
rdv_setup "$P" || { not_ok "RDV server starts"; finish; exit 1; }
chain_up 1 || not_ok "devices of pair 1"
ready() { wait_for 30 online_free 1 && wait_for 30 leased 1; }
check "the onsite is online, the laptop leased" ready
M=${P}m1 O=${P}o1
ns_children() { # NS COMM PARENT_PID: processes of that name in NS, with their parent
	local p
	for p in $(ip netns pids "$1"); do
		[ "$(cat "/proc/$p/comm" 2>/dev/null)" = "$2" ] && echo "$p $(awk '{ print $4 }' "/proc/$p/stat")"
	done
}
opened() { : >"$D/masterdev-1.out"; session_open 1; wait_for 30 established 1; }
traffic() { x laptop1 ping -c 2 -i 0.2 -W 2 -q "$PLC" >/dev/null 2>&1; }

# --- masterd killed -9 in a session
session_traffic() { opened && traffic; }
check "a session opens and carries traffic" session_traffic
kill -9 "${MASTERD_PID[$M]}"
wait "${MASTERD_PID[$M]}" 2>/dev/null
ip netns exec "$P-master1" env DBUS_SYSTEM_BUS_ADDRESS="${MBUS[$M]}" "$BUILD/masterd" -c "$D/$M/master.conf" &
MASTERD_PID[$M]=$!
at_exit kill "$!"
master_back() { rdvctl devices | grep -q "^$M "; }
check "masterd started again is online within 10 s" wait_for 10 master_back
wait_for 10 online_free 1
one_dnsmasq() { [ "$(ns_children "$P-master1" dnsmasq | grep -c .)" = 1 ] && ns_children "$P-master1" dnsmasq | grep -q " ${MASTERD_PID[$M]}$"; }
check "one dnsmasq on the adapter, the new masterd's: the dead one's was killed" wait_for 5 one_dnsmasq
check_not "no policy rule of the dead session is left" bash -c "ip -n $P-master1 rule | grep -q 'lookup 7100'"
check_not "no vtund config (with its secret) of the dead session is left" test -e "$D/$M/run/vtund.conf"
int_wait "${MDEV[1]}" # masterdev ended with masterd; reaped
check "the next session opens" opened
check "and carries traffic" traffic
int_wait "${MDEV[1]}"
wait_for 10 online_free 1

# --- onsitedev killed -9 in a session
check "a session for the onsitedev kill" opened
fwd() { ip netns exec "$P-onsite1" sysctl -n net.ipv4.conf.eth0.forwarding; }
fwd_is() { [ "$(fwd)" = "$1" ]; }
check "the onsite's LAN interface forwards during it" wait_for 5 fwd_is 1
kill -9 "${ONSITED_PID[$O]}"
wait "${ONSITED_PID[$O]}" 2>/dev/null
ip netns exec "$P-onsite1" "$BUILD/onsitedev" -c "$D/$O/onsite.conf" &
ONSITED_PID[$O]=$!
at_exit kill "$!"
int_wait "${MDEV[1]}"
check "onsitedev started again is online and free within 10 s (no stunnel of the dead one holds its port)" \
	wait_for 10 online_free 1
check "the LAN interface forwards no more" fwd_is 0
check_not "no vtund config of the dead session is left on the onsite" test -e "$D/$O/run/vtund.conf"
no_orphans() { ! ns_children "$P-onsite1" stunnel4 | grep -vq " ${ONSITED_PID[$O]}$"; }
check "its only stunnel is the new onsitedev's" no_orphans
check "the next session opens" opened
check "and carries traffic" traffic
int_wait "${MDEV[1]}"
finish
