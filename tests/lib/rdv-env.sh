# A real RDV server in a network namespace (private D-Bus daemon, sshd with
# the shipped drop-in, stunnel server on 443 with the shipped config, rdvd)
# and device namespaces that reach it through their own stunnel client and
# OpenSSH, as a Pi does. Source after common.sh; needs REPO and BUILD.
#
#   rdv_setup PREFIX [ACCESS_LIST]   prefix: 2-6 chars, names of this run
#   (with RDV_NS and RDV_IP set: the server in an existing namespace, e.g. topo.sh's)
#   dev_add NAME ROLE N              account + namespace 198.18.0.N + stunnel client
#   dev_login NAME / dev_cmd NAME CMD / dev_logout NAME
#   dev_vtun_up NAME                 get_vtun_parameters, SSH forward, vtund client

RDV_UID_BASE=41000
# vtund ports below the kernel's ephemeral range (32768-60999): a port in it may
# already be the local end of some outgoing connection, and vtund cannot bind it
RDV_PORT_BASE=21000

rdv_setup() {
	P=$1
	D=/run/rdvtest-$P
	NS_RDV=$P-rdv
	BUS="unix:path=$D/bus"
	declare -gA DEV_NS DEV_PORT DEV_ROLE DEV_IDX
	at_exit rm -rf "$D"
	# logs outlive the run, for whoever reads a failure
	LOGS=${LOGS:-$BUILD/e2e-logs/$T_NAME}
	rm -rf "$LOGS"
	mkdir -p "$LOGS"
	at_exit save_logs
	install -d -m 0755 "$D" "$D/keys" "$D/tls" "$D/bin" "$D/dev"
	install -d -m 0700 "$D/run"
	# login shells must be reachable by the device accounts wherever the tree lives
	install -m 0755 "$BUILD/rdv-shell" "$D/bin/rdv-shell"
	for g in rdv-onsite rdv-master; do
		if ! getent group "$g" >/dev/null; then
			groupadd --system "$g"
			at_exit groupdel "$g"
		fi
	done
	cat >"$D/rdvd.conf" <<-CONF
	log_file = "$D/rdvd.log";
	log_level = "debug";
	run_dir = "$D/run";
	tunnel = { interface_prefix = "rdv"; setup_timeout = 20; ${RDV_TUNNEL:-} };
	vtund = { port_base = $RDV_PORT_BASE; };
	devices = { uid_base = $RDV_UID_BASE; uid_count = 500; shell = "$D/bin/rdv-shell";
	            authorized_keys_dir = "$D/keys"; wait_master_timeout = 3; };
	${2:-}
	CONF

	if [ -n "${RDV_NS:-}" ]; then
		NS_RDV=$RDV_NS
	else
		RDV_IP=198.18.0.1
		ip netns add "$NS_RDV"
		at_exit del_ns "$NS_RDV"
		ip -n "$NS_RDV" link set lo up
		# a fixed MAC: otherwise the bridge takes its ports' and stale ARP entries stall devices
		ip -n "$NS_RDV" link add br0 address 02:00:00:00:00:01 type bridge
		ip -n "$NS_RDV" addr add "$RDV_IP/24" dev br0
		ip -n "$NS_RDV" link set br0 up
	fi

	"$REPO/rdv-server/conf/rdv-gen-cert" "$D/tls" rdv.test >/dev/null
	ssh-keygen -q -t ed25519 -N '' -f "$D/ssh_host_ed25519_key"
	[ -d /run/sshd ] || { mkdir -p /run/sshd; at_exit rmdir /run/sshd; }
	sed -e "s#/etc/rdv/authorized_keys#$D/keys#" -e "s#/usr/sbin/rdv-shell#$D/bin/rdv-shell#" \
	    "$REPO/rdv-server/conf/sshd-rdv.conf" >"$D/sshd-rdv.conf"
	cat >"$D/sshd_config" <<-CONF
	ListenAddress 127.0.0.1:22
	HostKey $D/ssh_host_ed25519_key
	PidFile $D/sshd.pid
	UsePAM no
	LogLevel VERBOSE
	# a global subsystem served inside sshd: device accounts must not reach it
	Subsystem sftp internal-sftp
	SetEnv DBUS_SYSTEM_BUS_ADDRESS=$BUS
	Include $D/sshd-rdv.conf
	CONF
	sed -e "s#^accept = 443#accept = $RDV_IP:443#" -e "s#/etc/rdv/tls#$D/tls#" \
	    -e "s#/run/rdv/data.sock#$D/run/data.sock#" \
	    -e '/^setuid/d' -e '/^setgid/d' "$REPO/rdv-server/conf/stunnel-rdv.conf" >"$D/stunnel.conf"
	cat >"$D/bus.conf" <<-CONF
	<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
	 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
	<busconfig>
	  <type>system</type>
	  <listen>$BUS</listen>
	  <auth>EXTERNAL</auth>
	  <policy context="default">
	    <allow user="*"/>
	    <deny own="*"/>
	    <deny send_type="method_call"/>
	    <allow send_type="signal"/>
	    <allow send_requested_reply="true" send_type="method_return"/>
	    <allow send_requested_reply="true" send_type="error"/>
	    <allow receive_type="method_call"/>
	    <allow receive_type="method_return"/>
	    <allow receive_type="error"/>
	    <allow receive_type="signal"/>
	    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
	    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Introspectable"/>
	  </policy>
	  <include>$REPO/systemd/org.rdvkit.Broker.conf</include>
	</busconfig>
	CONF
	rdv_bg dbus-daemon --nofork --nopidfile --config-file="$D/bus.conf" 2>>"$D/dbus.log"
	wait_for 5 test -S "$D/bus" || return 1
	rdv_bg /usr/sbin/sshd -D -e -f "$D/sshd_config" 2>>"$D/sshd.log"
	# the shipped per-source limit on 443, as rdv-frontdoor.service loads it
	ip netns exec "$NS_RDV" nft -f "$REPO/rdv-server/conf/rdv-frontdoor.nft" || return 1
	at_exit ip netns exec "$NS_RDV" nft delete table inet rdv_frontdoor
	rdv_bg stunnel4 "$D/stunnel.conf" >>"$D/stunnel.log" 2>&1
	rdvd_start
}

save_logs() {
	cp "$D"/*.log "$LOGS/" 2>/dev/null
	for d in "$D"/dev/*/; do
		[ -d "$d" ] || continue
		mkdir -p "$LOGS/$(basename "$d")"
		cp "$d"/out "$d"/err "$d"/*.log "$LOGS/$(basename "$d")/" 2>/dev/null
	done
	return 0
}

# runs a daemon in the RDV namespace, stopped at exit
rdv_bg() {
	ip netns exec "$NS_RDV" env DBUS_SYSTEM_BUS_ADDRESS="$BUS" "$@" &
	at_exit kill $!
}

rdvd_started() { local n; n=$(grep -cs ': ready$' "$D/rdvd.log"); [ "${n:-0}" -gt "$1" ]; }

rdvd_start() {
	local before
	before=$(grep -cs ': ready$' "$D/rdvd.log")
	ip netns exec "$NS_RDV" env DBUS_SYSTEM_BUS_ADDRESS="$BUS" "$BUILD/rdvd" -c "$D/rdvd.conf" &
	RDVD_PID=$!
	at_exit kill $RDVD_PID
	wait_for 10 rdvd_started "${before:-0}" || return 1
}

rdvctl() {
	DBUS_SYSTEM_BUS_ADDRESS="$BUS" "$BUILD/rdvctl" -c "$D/rdvd.conf" "$@"
}

# dev_account NAME onsite|master: a key pair and the account on the RDV server
dev_account() {
	local name=$1 dir=$D/dev/$1
	mkdir -p "$dir"
	ssh-keygen -q -t ed25519 -N '' -C "$name" -f "$dir/id"
	rdvctl account add "$name" --role "$2" --key-file "$dir/id.pub" >/dev/null || return 1
	at_exit del_user "$name"
	DEV_ROLE[$name]=$2
}

# dev_add NAME onsite|master N [NS]: account, stunnel client; in namespace NS,
# or in a new one at 198.18.0.N on the RDV server's bridge
dev_add() {
	local name=$1 role=$2 n=$3 dir=$D/dev/$1 ns=${4:-$P-$1}
	dev_account "$name" "$role" || return 1
	DEV_NS[$name]=$ns
	DEV_IDX[$name]=$n
	if [ -z "${4:-}" ]; then
		ip netns add "$ns"
		at_exit del_ns "$ns"
		ip -n "$ns" link set lo up
		ip -n "$ns" link add eth0 type veth peer name "d$n" netns "$NS_RDV"
		ip -n "$NS_RDV" link set "d$n" master br0 up
		ip -n "$ns" addr add "198.18.0.$n/24" dev eth0
		ip -n "$ns" link set eth0 up
	fi
	dev_stunnel "$ns" "$dir"
}

# dev_stunnel NS DIR: a device's stunnel client in NS (127.0.0.1:2222 -> the
# RDV server's 443, its certificate pinned) and the RDV host key in DIR/known_hosts
dev_stunnel() {
	local ns=$1 dir=$2
	echo "[127.0.0.1]:2222 $(cat "$D/ssh_host_ed25519_key.pub")" >"$dir/known_hosts"
	cat >"$dir/stunnel.conf" <<-CONF
	foreground = yes
	pid =
	[ssh]
	client = yes
	accept = 127.0.0.1:2222
	connect = $RDV_IP:443
	verifyPeer = yes
	CAfile = $D/tls/rdv-server.crt
	CONF
	ip netns exec "$ns" stunnel4 "$dir/stunnel.conf" >>"$dir/stunnel.log" 2>&1 &
	at_exit kill $!
	wait_for 5 ip netns exec "$ns" bash -c ': </dev/tcp/127.0.0.1/2222' 2>/dev/null
}

dev_ssh() {
	local name=$1
	shift
	ip netns exec "${DEV_NS[$name]}" ssh -F /dev/null -p 2222 -i "$D/dev/$name/id" \
		-o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=yes \
		-o UserKnownHostsFile="$D/dev/$name/known_hosts" -o GlobalKnownHostsFile=/dev/null \
		-o ConnectTimeout=10 -o ServerAliveInterval=5 "$@"
}

prompts() { grep -o "$1\\$ " "$D/dev/$1/out" 2>/dev/null | wc -l; }
# more_prompts NAME N: true once the device has seen more than N prompts
more_prompts() { [ "$(prompts "$1")" -gt "$2" ]; }

# dev_login NAME: the device's control connection, driven through a FIFO.
# A "sleep" holds the FIFO's write end, so the shell sees EOF exactly when
# dev_logout ends it (the test shell never keeps the FIFO open: every child
# it starts would inherit it).
dev_login() {
	local name=$1 dir=$D/dev/$1
	rm -f "$dir/in" "$dir/ctl"
	mkfifo "$dir/in"
	: >"$dir/out"
	: >"$dir/err"
	dev_ssh "$name" -T -M -S "$dir/ctl" "$name@127.0.0.1" <"$dir/in" >"$dir/out" 2>"$dir/err" &
	DEV_SSH_PID[$name]=$!
	at_exit kill $!
	sleep infinity 1<>"$dir/in" &
	DEV_HOLD[$name]=$!
	at_exit kill $!
	wait_for 15 more_prompts "$name" 0
}

# dev_cmd NAME LINE [TIMEOUT]: sends one line, waits for the next prompt, prints the output
dev_cmd() {
	local name=$1 before out
	before=$(prompts "$name")
	# read-write open: never blocks, never SIGPIPE, even if the shell is gone
	echo "$2" 1<>"$D/dev/$name/in"
	wait_for "${3:-15}" more_prompts "$name" "$before" || return 1
	out=$(<"$D/dev/$name/out")
	out=${out%"$name\$ "}
	printf '%s\n' "${out##*"$name\$ "}" | sed '/^$/d'
}

dev_logout() {
	local name=$1
	kill "${DEV_HOLD[$name]}" 2>/dev/null
	wait "${DEV_HOLD[$name]}" 2>/dev/null
	timeout 10 tail --pid="${DEV_SSH_PID[$name]}" -f /dev/null
}

# vtun parameter of the last get_vtun_parameters output
param() { sed -n "s/^$2: //p" <<<"$1"; }

# dev_vtun_up NAME: what a device does once in session, scripted (the daemons use shared/devtunnel.c)
dev_vtun_up() {
	local name=$1 dir=$D/dev/$1 params port session ip net secret lport
	params=$(dev_cmd "$name" get_vtun_parameters) || return 1
	port=$(param "$params" rdv_server_vtun_tcp_port)
	session=$(param "$params" tunnel_session_name)
	ip=$(param "$params" tunnelling_dev_ip_address)
	secret=$(param "$params" tunnel_secret)
	[ -n "$port" ] && [ -n "$secret" ] || { echo "no vtun parameters: $params" >&2; return 1; }
	DEV_PARAMS[$name]=$params
	lport=$((5000 + DEV_IDX[$name]))
	dev_ssh "$name" -S "$dir/ctl" -O forward -L "127.0.0.1:$lport:127.0.0.1:$port" x 2>>"$dir/err" || return 1
	# like rdvd, the device makes its tun up front and vtund attaches to it
	ip -n "${DEV_NS[$name]}" tuntap add dev tun0 mode tun 2>/dev/null
	ip -n "${DEV_NS[$name]}" addr replace "$ip/30" dev tun0
	ip -n "${DEV_NS[$name]}" link set tun0 up
	umask 077
	cat >"$dir/vtund.conf" <<-CONF
	options { port $lport; timeout 30; }
	$session {
	  passwd $secret;
	  type tun;
	  proto tcp;
	  device tun0;
	  persist no;
	}
	CONF
	umask 022
	ip netns exec "${DEV_NS[$name]}" vtund -n -f "$dir/vtund.conf" "$session" 127.0.0.1 \
		>"$dir/vtund.log" 2>&1 &
	DEV_VTUND[$name]=$!
	at_exit kill $!
	wait_for 15 tun_carrier "${DEV_NS[$name]}"
}

# the tun has a carrier once vtund is attached to it
tun_carrier() { ip -n "$1" link show dev tun0 2>/dev/null | grep -q "LOWER_UP"; }

dev_vtun_down() {
	kill "${DEV_VTUND[$1]}" 2>/dev/null
	wait "${DEV_VTUND[$1]}" 2>/dev/null
	ip -n "${DEV_NS[$1]}" link del tun0 2>/dev/null
	return 0
}

# session_up MASTER ONSITE: connect, ready, both vtund clients, established
session_up() {
	local m=$1 o=$2
	dev_cmd "$m" "connect_to_onsite_dev $o" >/dev/null
	[ "$(dev_cmd "$o" wait_master_connection 10)" = ready ] || return 1
	dev_vtun_up "$m" && dev_vtun_up "$o" || return 1
	# the master reaches the onsite's tunnel end through its own tunnel
	ip -n "${DEV_NS[$m]}" route replace \
		"$(param "${DEV_PARAMS[$o]}" tunnel_ip_network)/30" dev tun0
	wait_for 10 rdv_established "$m" "$o"
}
rdv_established() { rdvctl sessions | grep -q "$1 *$2 *established"; }
ping_onsite() { # MASTER ONSITE
	ip netns exec "${DEV_NS[$1]}" ping -c 2 -i 0.2 -W 2 -q \
		"$(param "${DEV_PARAMS[$2]}" tunnelling_dev_ip_address)" >/dev/null 2>&1
}

declare -A DEV_SSH_PID DEV_PARAMS DEV_VTUND DEV_HOLD
