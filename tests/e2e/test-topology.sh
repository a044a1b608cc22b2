#!/bin/bash
# The namespace topology of tests/topo.sh behaves like the field: the customer
# firewall lets only TCP 443 out, nothing comes in, the support office NATs,
# the customer LAN serves HTTP and DNS, and teardown leaves nothing.
set -u
T_NAME=topology
REPO=${REPO:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$REPO/tests/lib/common.sh"
need_root
TOPO=$REPO/tests/topo.sh
P=tp$(printf '%04d' $(($$ % 10000)))
trap '"$TOPO" down "$P"; "$TOPO" down "${P}s"' EXIT
trap 'exit 1' INT TERM
links_before=$(ip -o link | wc -l)

x() { "$TOPO" exec "$P" "$@"; }
q() { "$@" >/dev/null 2>&1; }
# listening TOPO_PREFIX PORT: a listener on rdv is up
listening() { "$TOPO" exec "$1" rdv ss -Htln | grep -q ":$2 "; }
# reach NODE HOST PORT: a TCP connection from NODE gets an answer from a listener on rdv
reach() {
	local node=$1 port=$3 pid out
	x rdv timeout 5 busybox nc -l -p "$port" -e echo pong >/dev/null 2>&1 &
	pid=$!
	wait_for 3 listening "$P" "$port"
	out=$(x "$node" timeout 3 busybox nc -w 2 "$2" "$port" </dev/null 2>/dev/null)
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	[ "$out" = pong ]
}

out=$("$TOPO" up "$P" --customer-subnet 10.1.0.0/23 2>&1)
check "a bad subnet is refused, naming it" bash -c "grep -q \"'10.1.0.0/23'\" <<<\"\$1\"" _ "$out"
check "and leaves no namespace behind" bash -c "! ip netns list | grep -q '^$P-'"
check "the topology comes up with two pairs" "$TOPO" up "$P" --pairs 2
check "the onsite reaches the RDV server on TCP 443" reach onsite1 198.18.0.10 443
check_not "the onsite cannot reach the RDV server on TCP 22 (customer firewall)" reach onsite1 198.18.0.10 22
check_not "the onsite cannot ping out" q x onsite1 ping -c 1 -W 1 198.18.0.10
check_not "the RDV server cannot reach into the customer LAN" q x rdv ping -c 1 -W 1 10.1.0.10
check "the master reaches the RDV server on any port (support office NAT)" reach master1 198.18.0.10 22
check "the onsite gets the customer host's page" \
	bash -c "'$TOPO' exec $P onsite1 curl -sS -m 5 http://10.1.0.20/ | grep -q 'hello from the customer LAN'"
check "the customer DNS knows plc.customer.lan" \
	bash -c "'$TOPO' exec $P onsite1 busybox nslookup -type=a plc.customer.lan 10.1.0.20 | grep -q 'Address: 10.1.0.20'"
check_not "the master has no route to the customer LAN" q x master1 ping -c 1 -W 1 10.1.0.20
check "the laptop's adapter is there" q x master1 ip link show usb0
"$TOPO" unplug "$P" 1
check_not "unplug removes it" q x master1 ip link show usb0
"$TOPO" plug "$P" 1
check "plug brings it back" q x master1 ip link show usb0
check "the second pair has its own customer host" \
	bash -c "'$TOPO' exec $P onsite2 curl -sS -m 5 http://10.1.0.20/ | grep -q plc2"
check "a second topology with customer and support on one subnet comes up beside it" \
	"$TOPO" up "${P}s" --customer-subnet 192.168.1.0/24 --support-subnet 192.168.1.0/24
"$TOPO" exec "${P}s" rdv timeout 5 busybox nc -l -p 443 -e echo pong >/dev/null 2>&1 &
wait_for 3 listening "${P}s" 443
check "there the onsite still reaches 443" \
	test "$("$TOPO" exec "${P}s" onsite1 timeout 3 busybox nc -w 2 198.18.0.10 443 </dev/null)" = pong
"$TOPO" down "$P"
"$TOPO" down "${P}s"
check "down removes every namespace" bash -c "! ip netns list | grep -q '^$P'"
check "no interface was added to the machine itself" test "$(ip -o link | wc -l)" -eq "$links_before"
finish
