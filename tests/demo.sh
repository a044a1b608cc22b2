#!/bin/bash
# make demo: the whole system, for real, in network namespaces on this
# machine (tests/topo.sh): RDV server, onsite Pi behind a customer firewall
# that lets only TCP 443 out, master Pi in a support office, the technician's
# laptop on the master's USB-Ethernet adapter, and a host on the customer LAN.
# Everything it makes is removed at the end, also when it fails.
set -u
cd "$(dirname "$0")/.."
REPO=$PWD
BUILD=$REPO/build
T_NAME=demo
. tests/lib/common.sh
. tests/lib/rdv-env.sh
. tests/lib/devices.sh
need_root
tests/deps.sh || exit 1
make -s -j"$(nproc)" || exit 1
trap 'run_cleanup' EXIT
trap 'exit 1' INT TERM
trap '' PIPE

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() { printf '%s\n' "$@" | sed 's/^/   /'; }
fail() { echo "demo: $*; logs in $BUILD/e2e-logs/demo" >&2; exit 1; }

P=d$(printf '%04d' $(($$ % 10000)))
O=rpi1100 M=rpi2000
getent passwd "$O" "$M" >/dev/null && fail "accounts $O or $M exist on this machine already"
say "Network: RDV server 198.18.0.10, customer LAN 10.1.0.0/24 (firewall: only TCP 443 out), support office 10.2.0.0/24"
tests/topo.sh up "$P" || fail "the namespaces did not come up"
at_exit tests/topo.sh down "$P"
RDV_NS=$P-rdv RDV_IP=198.18.0.10
rdv_setup "$P" || fail "the RDV server did not start"
show "RDV server: sshd, stunnel on :443, D-Bus, rdvd running in namespace $P-rdv"

say "The RDV administrator creates one account per Pi (rdvctl account add)"
dev_account "$O" onsite && dev_account "$M" master || fail "accounts"
show "$(rdvctl account list | grep -E "^(NAME|$O|$M)")"

say "The onsite Pi boots on the customer LAN: onsitedev connects out over TLS/443"
onsite_start "$O" 1
wait_for 20 bash -c "DBUS_SYSTEM_BUS_ADDRESS=$BUS $BUILD/rdvctl -c $D/rdvd.conf devices | grep -q '^$O .*plc-site-1 .* lan '" ||
	fail "the onsite did not come online"
show "$ rdvctl devices" "$(rdvctl devices)"

say "The master Pi boots in the support office; the laptop on its USB-Ethernet adapter gets an address"
master_start "$M" 1 || fail "masterd"
laptop_dhcp 1
wait_for 30 test -s "$D/lease-1" || fail "no DHCP lease for the laptop"
read -r ip mtu router dns <"$D/lease-1"
show "laptop: address $ip, router $router, DNS $dns, MTU $mtu (from the master's dnsmasq)"

say "The technician lists the onsite devices: masterdev -l"
show "$ masterdev -l" "$(masterdev "$M" 1 -l)"

say "... and opens a session: masterdev -o $O"
ip netns exec "$P-master1" env DBUS_SYSTEM_BUS_ADDRESS="${MBUS[$M]}" "$BUILD/masterdev" -o "$O" >"$D/masterdev.out" 2>&1 &
MD=$!
at_exit kill "$MD"
wait_for 40 grep -q "Session established" "$D/masterdev.out" || { cat "$D/masterdev.out"; fail "no session"; }
show "$(cat "$D/masterdev.out")"

say "From the laptop: the customer host's web page, by IP, through the customer firewall"
show "$ curl http://10.1.0.20/" "$(ip netns exec "$P-laptop1" curl -sS -m 10 http://10.1.0.20/)"
say "... a name only the customer's DNS knows"
show "$ nslookup plc.customer.lan" "$(ip netns exec "$P-laptop1" busybox nslookup -type=a plc.customer.lan "$dns" | grep -A1 '^Name')"
say "... and ping"
show "$(ip netns exec "$P-laptop1" ping -c 3 -i 0.3 10.1.0.20 | tail -3)"
say "The RDV administrator sees the session: rdvctl sessions"
show "$(rdvctl sessions)"

say "The technician presses Ctrl-C"
kill -INT "$MD"
wait_for 5 grep -q "ended" "$D/masterdev.out"
show "$(tail -1 "$D/masterdev.out")"
wait_for 5 bash -c "! DBUS_SYSTEM_BUS_ADDRESS=$BUS $BUILD/rdvctl -c $D/rdvd.conf sessions | grep -q $O"
if ip netns exec "$P-laptop1" ping -c 1 -W 1 10.1.0.20 >/dev/null 2>&1; then
	show "(the laptop still reaches the customer LAN: unexpected)"
else
	show "the laptop no longer reaches the customer LAN; the onsite is back in standby"
fi

say "What the RDV server logged (/var/log/rdvd.log on a real server)"
show "$(grep -E 'online as|session [0-9]+: (opened|established|ended)' "$D/rdvd.log" | sed 's/^[^ ]* //')"
say "Done: removing every namespace, account and process the demo made"
