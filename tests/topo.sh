#!/bin/bash
# The test and demo network of DESIGN.md, in network namespaces of this
# machine, nothing of it bridged or routed to the machine's own interfaces:
#
#   laptopN --usb0-- masterN -- supportN (NAT) --\
#                                                 inet (198.18.0.0/15) -- rdv
#   plcN ---- customer LAN ---- onsiteN -- fwN --/
#                                  (fw: only TCP 443 goes out)
#
# Usage:
#   topo.sh up PREFIX [--pairs N (1-10)] [--customer-subnet CIDR/24] [--support-subnet CIDR/24]
#   topo.sh exec PREFIX NODE COMMAND...     NODE: rdv inet fwN lanN onsiteN plcN supportN masterN laptopN
#   topo.sh unplug PREFIX N / plug PREFIX N  the USB-Ethernet adapter of masterN (usb0)
#   topo.sh down PREFIX
#   topo.sh addr PREFIX NODE                 the node's main IPv4 address
#
# PREFIX (2-8 letters/digits) names every namespace of the run: PREFIX-NODE.
# The customer and support subnets may be the same. Every node filters
# reverse paths strictly (rp_filter=1; RP_FILTER=0 in the environment: off).
# plcN serves HTTP on :80 and DNS for plc.customer.lan (only inside the
# customer LAN).
set -eu

STATE_ROOT=/run/rdv-topo

die() { echo "topo: $*" >&2; exit 2; }
ns() { echo "$P-$1"; }
nsx() { local n=$1; shift; ip netns exec "$(ns "$n")" "$@"; }

# base of a /24 given as A.B.C.0/24
subnet_base() {
	[[ $1 =~ ^([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})\.0/24$ ]] ||
		die "'$1' is not a /24 network such as 10.1.0.0/24"
	local o
	for o in "${BASH_REMATCH[@]:1}"; do [ "$o" -le 255 ] || die "'$1': octet $o > 255"; done
	echo "${BASH_REMATCH[1]}.${BASH_REMATCH[2]}.${BASH_REMATCH[3]}"
}

add_ns() {
	ip netns add "$(ns "$1")"
	echo "$1" >>"$STATE/nodes"
	ip -n "$(ns "$1")" link set lo up
	nsx "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
	# strict reverse-path filtering everywhere, as hardened hosts have it:
	# sessions must work with it (RP_FILTER=0 for a run without)
	nsx "$1" sysctl -qw net.ipv4.conf.all.rp_filter="${RP_FILTER:-1}" \
		net.ipv4.conf.default.rp_filter="${RP_FILTER:-1}"
}

# link NODE_A IF_A NODE_B IF_B: a veth made directly inside the two namespaces
link() {
	ip -n "$(ns "$1")" link add "$2" type veth peer name "$4" netns "$(ns "$3")"
	ip -n "$(ns "$1")" link set "$2" up
	ip -n "$(ns "$3")" link set "$4" up
}

router() { nsx "$1" sysctl -qw net.ipv4.ip_forward=1; }

up_core() {
	add_ns inet
	router inet
	add_ns rdv
	link inet e-rdv rdv eth0
	ip -n "$(ns inet)" addr add 198.18.0.1/24 dev e-rdv
	ip -n "$(ns rdv)" addr add 198.18.0.10/24 dev eth0
	ip -n "$(ns rdv)" route add default via 198.18.0.1
}

# edge_router NODE INET_IF OCTET: a site's router, its "wan" on 198.18.OCTET.0/24 to inet
edge_router() {
	add_ns "$1"
	router "$1"
	link inet "$2" "$1" wan
	ip -n "$(ns inet)" addr add "198.18.$3.1/24" dev "$2"
	ip -n "$(ns "$1")" addr add "198.18.$3.2/24" dev wan
	ip -n "$(ns "$1")" route add default via "198.18.$3.1"
}

# customer side i: fw (NAT, only TCP 443 out), onsite, plc on a LAN bridge in fw
up_customer() {
	local i=$1 lan=$2 fw=fw$1
	edge_router "$fw" "e-fw$i" $((10 + i))
	# the LAN switch is a namespace of its own: bridged frames then meet no
	# firewall, even where br_netfilter is loaded
	add_ns "lan$i"
	ip -n "$(ns "lan$i")" link add br0 address "$(printf '02:00:00:00:01:%02x' "$i")" type bridge
	ip -n "$(ns "lan$i")" link set br0 up
	link "lan$i" p-fw "$fw" br-lan
	ip -n "$(ns "lan$i")" link set p-fw master br0
	ip -n "$(ns "$fw")" addr add "$lan.1/24" dev br-lan
	nsx "$fw" nft -f - <<-NFT
	table inet topo_fw {
	  chain forward {
	    type filter hook forward priority filter; policy drop;
	    ct state established,related accept
	    iifname "br-lan" oifname "wan" tcp dport 443 accept
	  }
	  chain input {
	    type filter hook input priority filter; policy drop;
	    iifname "lo" accept
	    ct state established,related accept
	    iifname "br-lan" icmp type echo-request accept
	  }
	  chain postrouting {
	    type nat hook postrouting priority srcnat; policy accept;
	    oifname "wan" masquerade
	  }
	}
	NFT
	local n
	for n in "onsite$i:10" "plc$i:20"; do
		add_ns "${n%%:*}"
		link "lan$i" "p-${n%%:*}" "${n%%:*}" eth0
		ip -n "$(ns "lan$i")" link set "p-${n%%:*}" master br0
		ip -n "$(ns "${n%%:*}")" addr add "$lan.${n##*:}/24" dev eth0
		ip -n "$(ns "${n%%:*}")" route add default via "$lan.1"
	done
	start_plc "$i" "$lan"
}

# plcN: a web page and the customer's DNS, which knows names no one else does
start_plc() {
	local i=$1 lan=$2 dir=$STATE/plc$1
	mkdir -p "$dir/www"
	echo "plc$i of customer $i: hello from the customer LAN" >"$dir/www/index.html"
	nsx "plc$i" busybox httpd -p 80 -h "$dir/www"
	# DNS only: no DHCP, no upstream servers, never the machine's resolvers
	nsx "plc$i" dnsmasq --port=53 --no-resolv --no-hosts --no-dhcp-interface=eth0 \
		--listen-address="$lan.20" --bind-interfaces --pid-file="$dir/dnsmasq.pid" \
		--address="/plc.customer.lan/$lan.20" --address="/onsite.customer.lan/$lan.10"
}

# support side i: NAT router, master, laptop on the master's usb0
up_support() {
	local i=$1 lan=$2 nat=support$1
	edge_router "$nat" "e-sup$i" $((20 + i))
	nsx "$nat" nft -f - <<-NFT
	table inet topo_nat {
	  chain postrouting {
	    type nat hook postrouting priority srcnat; policy accept;
	    oifname "wan" masquerade
	  }
	}
	NFT
	add_ns "master$i"
	link "$nat" lan "master$i" eth0
	ip -n "$(ns "$nat")" addr add "$lan.1/24" dev lan
	ip -n "$(ns "master$i")" addr add "$lan.10/24" dev eth0
	ip -n "$(ns "master$i")" route add default via "$lan.1"
	add_ns "laptop$i"
	plug "$i"
}

plug() {
	ip -n "$(ns "master$1")" link show usb0 >/dev/null 2>&1 && return 0
	link "master$1" usb0 "laptop$1" eth0
}

unplug() {
	ip -n "$(ns "master$1")" link del usb0 2>/dev/null || true
}

cmd_up() {
	local pairs=1 cust=10.1.0.0/24 sup=10.2.0.0/24 i
	while [ $# -gt 0 ]; do
		case $1 in
		--pairs) pairs=$2; shift 2 ;;
		--customer-subnet) cust=$2; shift 2 ;;
		--support-subnet) sup=$2; shift 2 ;;
		*) die "unknown option '$1'" ;;
		esac
	done
	# 10 at most: the sites' uplinks are 198.18.11-20.0/24 and 198.18.21-30.0/24
	[[ $pairs =~ ^([1-9]|10)$ ]] || die "--pairs '$pairs': expected 1 to 10"
	cust=$(subnet_base "$cust")
	sup=$(subnet_base "$sup")
	[ -e "$STATE" ] && die "a topology named '$P' is up already (topo.sh down $P)"
	mkdir -p "$STATE"
	echo "$pairs $cust $sup" >"$STATE/params"
	trap 'cmd_down' ERR
	up_core
	for ((i = 1; i <= pairs; i++)); do
		up_customer "$i" "$cust"
		up_support "$i" "$sup"
	done
	trap - ERR
}

cmd_down() {
	local n pids
	[ -d "$STATE" ] || return 0
	if [ -f "$STATE/nodes" ]; then
		for n in $(tac "$STATE/nodes"); do
			pids=$(ip netns pids "$(ns "$n")" 2>/dev/null || true)
			[ -n "$pids" ] && kill $pids 2>/dev/null
		done
		sleep 0.2
		for n in $(tac "$STATE/nodes"); do
			pids=$(ip netns pids "$(ns "$n")" 2>/dev/null || true)
			[ -n "$pids" ] && kill -9 $pids 2>/dev/null
			ip netns del "$(ns "$n")" 2>/dev/null || true
		done
	fi
	rm -rf "$STATE"
}

cmd_addr() {
	ip -n "$(ns "$1")" -4 -o addr show scope global | awk '{print $4}' | cut -d/ -f1 | head -1
}

[ $# -ge 2 ] || { sed -n '2,/^set -eu/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 2; }
verb=$1 P=$2
shift 2
[[ $P =~ ^[a-z0-9]{2,8}$ ]] || die "prefix '$P': expected 2 to 8 lower-case letters or digits"
[ "$(id -u)" = 0 ] || die "must run as root"
STATE=$STATE_ROOT/$P
case $verb in
up) cmd_up "$@" ;;
down) cmd_down ;;
exec) [ $# -ge 2 ] || die "exec PREFIX NODE COMMAND..."; n=$1; shift; nsx "$n" "$@" ;;
unplug) unplug "$1" ;;
plug) plug "$1" ;;
addr) cmd_addr "$1" ;;
*) die "unknown verb '$verb' (up, exec, unplug, plug, addr, down)" ;;
esac
