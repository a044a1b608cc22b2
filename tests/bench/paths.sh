# The four data paths tests/bench/bench.sh compares, on tests/topo.sh's
# topology (pair 1). Source it after measure.sh. The two baselines that
# listen on the RDV node's 443 (OpenVPN, bare vtun) run before the kit's
# stunnel takes that port.
#
#   plain:   master1 -> support1 (NAT) -> inet -> rdv, no tunnel (the ceiling)
#   openvpn: master1 and onsite1 are clients of an OpenVPN 2.6 server on the
#            RDV node, TCP 443, client-to-client; master1 -> onsite1's tun address
#   vtun:    a vtund server on the RDV node's 443 with one session per device,
#            no TLS, no SSH, the RDV routes between the two tuns; master1 -> onsite1
#   chain:   the kit: laptop1 -> masterd -> rdvd -> onsitedev -> plc1

OVPN_NET=10.98.0.0
VT_NET=10.97.0

# bench_bg NODE LOG COMMAND...: a daemon in a namespace, stopped at exit
bench_bg() {
	local n=$1 log=$2
	shift 2
	# ip netns exec execs the program: $! is the daemon itself
	ip netns exec "$P-$n" "$@" >>"$log" 2>&1 &
	at_exit kill $!
	LAST_BG=$!
}

# iperf3 servers on the nodes that receive connections
iperf_server() {
	bench_bg "$1" "$W/iperf3-server-$1-$2.log" iperf3 -s -B "$2"
	wait_for 5 x "$1" bash -c "ss -Hltn 'sport = :5201' | grep -q ."
}

# the PKI of the OpenVPN baseline: a CA, the server, one client per Pi
ovpn_pki() {
	local d=$W/ovpn n eku
	mkdir -p "$d"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
		-subj /CN=bench-ca -keyout "$d/ca.key" -out "$d/ca.crt" 2>/dev/null || return 1
	for n in server master onsite; do
		eku=clientAuth
		[ $n = server ] && eku=serverAuth
		printf 'keyUsage = digitalSignature\nextendedKeyUsage = %s\n' $eku >"$d/$n.ext"
		openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=$n" \
			-keyout "$d/$n.key" -out "$d/$n.csr" 2>/dev/null &&
		openssl x509 -req -in "$d/$n.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial \
			-days 2 -extfile "$d/$n.ext" -out "$d/$n.crt" 2>/dev/null || return 1
	done
}

tun_addr() { ip -n "$P-$1" -4 -o addr show dev "$2" 2>/dev/null | awk '{ print $4 }' | cut -d/ -f1; }
has_addr() { [ -n "$(tun_addr "$1" "$2")" ]; }

OVPN_SERVER_CMD=(openvpn --dev bvpn --dev-type tun --proto tcp-server --local 198.18.0.10 --lport 443
	--server $OVPN_NET 255.255.255.0 --topology subnet --client-to-client --dh none --disable-dco
	--keepalive 10 60 --verb 3)
OVPN_CLIENT_CMD=(openvpn --client --dev bvpn --dev-type tun --proto tcp-client --remote 198.18.0.10 443
	--nobind --remote-cert-tls server --verify-x509-name server name --disable-dco --verb 3)

openvpn_up() {
	local d=$W/ovpn n
	ovpn_pki || return 1
	bench_bg rdv "$d/server.log" "${OVPN_SERVER_CMD[@]}" \
		--ca "$d/ca.crt" --cert "$d/server.crt" --key "$d/server.key"
	OVPN_PIDS=$LAST_BG
	wait_for 10 x rdv bash -c "ss -Hltn 'sport = :443' | grep -q ." || return 1
	for n in master onsite; do
		bench_bg "${n}1" "$d/$n.log" "${OVPN_CLIENT_CMD[@]}" \
			--ca "$d/ca.crt" --cert "$d/$n.crt" --key "$d/$n.key"
		OVPN_PIDS+=" $LAST_BG"
	done
	wait_for 20 has_addr master1 bvpn && wait_for 20 has_addr onsite1 bvpn || return 1
	OVPN_PEER=$(tun_addr onsite1 bvpn)
	wait_for 10 x master1 ping -c 1 -W 1 -q "$OVPN_PEER" >/dev/null
}

openvpn_down() {
	kill $OVPN_PIDS 2>/dev/null
	wait_for 5 bash -c "! ip -n $P-rdv link show bvpn && ! ip -n $P-master1 link show bvpn &&
		! ip -n $P-onsite1 link show bvpn" >/dev/null 2>&1
}

# bare vtun: the kit's vtund settings (rdv-server/vtund.c, shared/devtunnel.c),
# without SSH and TLS; tuns made up front as rdvd and the devices do
vtun_up() {
	local d=$W/vtun secret
	mkdir -p "$d"
	secret=$(openssl rand -hex 20)
	umask 077
	cat >"$d/server.conf" <<-CONF
	options { port 443; bindaddr { addr 198.18.0.10; }; timeout 30; }
	bm { passwd $secret; type tun; proto tcp; device vbm; compress no; encrypt no; keepalive yes; stat no; }
	bo { passwd $secret; type tun; proto tcp; device vbo; compress no; encrypt no; keepalive yes; stat no; }
	CONF
	for s in bm bo; do
		cat >"$d/$s.conf" <<-CONF
		options { port 443; timeout 30; }
		$s { passwd $secret; type tun; proto tcp; device bvt; persist no; keepalive yes; }
		CONF
	done
	umask 022
	VT_FWD=$(x rdv sysctl -n net.ipv4.ip_forward)
	x rdv sysctl -qw net.ipv4.ip_forward=1
	ip -n "$P-rdv" tuntap add dev vbm mode tun && ip -n "$P-rdv" tuntap add dev vbo mode tun || return 1
	ip -n "$P-rdv" addr add $VT_NET.1/30 dev vbm && ip -n "$P-rdv" addr add $VT_NET.5/30 dev vbo
	ip -n "$P-rdv" link set vbm up && ip -n "$P-rdv" link set vbo up
	ip -n "$P-master1" tuntap add dev bvt mode tun && ip -n "$P-onsite1" tuntap add dev bvt mode tun
	ip -n "$P-master1" addr add $VT_NET.2/30 dev bvt && ip -n "$P-onsite1" addr add $VT_NET.6/30 dev bvt
	ip -n "$P-master1" link set bvt up && ip -n "$P-onsite1" link set bvt up
	ip -n "$P-master1" route add $VT_NET.4/30 dev bvt && ip -n "$P-onsite1" route add $VT_NET.0/30 dev bvt
	bench_bg rdv "$d/server.log" vtund -s -n -f "$d/server.conf"
	VT_PIDS=$LAST_BG
	wait_for 10 x rdv bash -c "ss -Hltn 'sport = :443' | grep -q ." || return 1
	bench_bg master1 "$d/bm.log" vtund -n -f "$d/bm.conf" bm 198.18.0.10
	VT_PIDS+=" $LAST_BG"
	bench_bg onsite1 "$d/bo.log" vtund -n -f "$d/bo.conf" bo 198.18.0.10
	VT_PIDS+=" $LAST_BG"
	wait_for 15 x master1 ping -c 1 -W 1 -q $VT_NET.6 >/dev/null
}

vtun_down() {
	local n
	kill $VT_PIDS 2>/dev/null
	# the server's per-session children
	for n in $(ip netns pids "$P-rdv"); do
		[ "$(cat /proc/"$n"/comm 2>/dev/null)" = vtund ] && kill "$n"
	done
	sleep 0.3
	ip -n "$P-rdv" link del vbm 2>/dev/null
	ip -n "$P-rdv" link del vbo 2>/dev/null
	ip -n "$P-master1" link del bvt 2>/dev/null
	ip -n "$P-onsite1" link del bvt 2>/dev/null
	x rdv sysctl -qw net.ipv4.ip_forward="${VT_FWD:-0}"
	wait_for 5 x rdv bash -c "! ss -Hltn 'sport = :443' | grep -q ."
}

# --- the kit: RDV server (tests/lib/rdv-env.sh), onsitedev, masterd, a laptop on DHCP

# chain_up N: devices of pair N online, laptop N leased (the RDV server runs already)
chain_up() {
	local i=$1
	dev_account "${P}o$i" onsite && dev_account "${P}m$i" master || return 1
	onsite_start "${P}o$i" "$i"
	master_start "${P}m$i" "$i" || return 1
	laptop_dhcp "$i"
}

online_free() { rdvctl devices | grep -q "^${P}o$1 .*plc-site-$1 .*free"; }
leased() { [ -s "$D/lease-$1" ]; }

# session_open N: masterdev -o on master N, held until session_close
session_open() {
	local i=$1
	ip netns exec "$P-master$i" env DBUS_SYSTEM_BUS_ADDRESS="${MBUS[${P}m$i]}" \
		"$BUILD/masterdev" -o "${P}o$i" >"$D/masterdev-$i.out" 2>&1 &
	MDEV[$i]=$!
	at_exit kill "${MDEV[$i]}"
}
established() { grep -q "Session established" "$D/masterdev-$1.out"; }

ns_procs() { local p; for p in $(ip netns pids "$1"); do cat "/proc/$p/comm" 2>/dev/null; done; }
# session_gone N: what tests/e2e/test-session.sh checks after Ctrl-C
session_gone() {
	local i=$1
	! ns_procs "$P-master$i" | grep -qx vtund && ! ns_procs "$P-onsite$i" | grep -qx vtund &&
	! ip -n "$P-master$i" link show rdvtun >/dev/null 2>&1 && ! ip -n "$P-onsite$i" link show rdvtun >/dev/null 2>&1 &&
	! rdvctl sessions | grep -q "${P}o$i "
}

# int_wait PID: Ctrl-C to a child of ours and wait for its exit (killed after 15 s)
int_wait() {
	local dog
	kill -INT "$1" 2>/dev/null || return 0
	{ sleep 15; kill -9 "$1"; } >/dev/null 2>&1 &
	dog=$!
	wait "$1" 2>/dev/null
	kill "$dog" 2>/dev/null
	wait "$dog" 2>/dev/null
	return 0
}

session_close() {
	int_wait "${MDEV[$1]}"
	wait_for 10 session_gone "$1" && wait_for 10 online_free "$1"
}

declare -A MDEV
