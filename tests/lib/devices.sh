# The device daemons on the topology of tests/topo.sh: onsitedev on onsiteN,
# masterd (with its own system bus) on masterN, a DHCP client on laptopN.
# Source after rdv-env.sh, with P, D, BUILD and REPO set.

# device_files NAME DIR: what an SD image holds for a device
device_files() {
	local name=$1 dir=$2
	mkdir -p "$dir"
	cp "$D/dev/$name/id" "$dir/id_ed25519"
	cp "$D/tls/rdv-server.crt" "$dir/rdv-server.crt"
	echo "$RDV_IP $(cat "$D/ssh_host_ed25519_key.pub")" >"$dir/known_hosts"
}

# (DEV_DATA_PATH: the devices' rdv.data_path, the default's when unset)
rdv_block() { # the rdv = {...} section of a device config for files in DIR
	cat <<-CONF
	rdv = { host = "$RDV_IP"; port = 443; tls = true;
	        certificate = "$1/rdv-server.crt"; known_hosts = "$1/known_hosts";
	        ${DEV_DATA_PATH:+data_path = \"$DEV_DATA_PATH\";} };
	CONF
}

# onsite_start NAME N: onsitedev on onsiteN (DNS: the customer host, after a
# local stub resolver that must never be announced)
onsite_start() {
	local name=$1 dir=$D/$1
	device_files "$name" "$dir"
	printf 'nameserver 127.0.0.53\nnameserver %s\n' "${PLC:-10.1.0.20}" >"$dir/resolv.conf"
	cat >"$dir/onsite.conf" <<-CONF
	device = "$name";
	ssh_key = "$dir/id_ed25519";
	lan_interface = "eth0";
	hostname = "plc-site-$2";
	resolv_conf = "$dir/resolv.conf";
	run_dir = "$dir/run";
	log_file = "$dir/onsitedev.log";
	log_level = "debug";
	$(rdv_block "$dir")
	CONF
	ip netns exec "$P-onsite$2" "$BUILD/onsitedev" -c "$dir/onsite.conf" &
	ONSITED_PID[$name]=$!
	at_exit kill "$!"
	at_exit cp "$dir/onsitedev.log" "$LOGS/$name-onsitedev.log"
}

# master_start NAME N: a system bus and masterd on masterN; the adapter is usb0
# (MASTER_CONF_EXTRA: more lines for its master.conf)
master_start() {
	local name=$1 dir=$D/$1
	device_files "$name" "$dir"
	# the master's own resolvers: none here, so nothing leaves the namespaces
	: >"$dir/resolv.conf"
	cat >"$dir/master.conf" <<-CONF
	device = "$name";
	ssh_key = "$dir/id_ed25519";
	resolv_conf = "$dir/resolv.conf";
	run_dir = "$dir/run";
	log_file = "$dir/masterd.log";
	log_level = "debug";
	${MASTER_CONF_EXTRA:-}
	extremity = { interfaces = "usb0"; require_usb = false; };
	$(rdv_block "$dir")
	CONF
	MBUS[$name]="unix:path=$dir/bus"
	sed -e "s#<listen>.*</listen>#<listen>${MBUS[$name]}</listen>#" \
	    -e "s#<include>.*</include>#<include>$REPO/systemd/org.rdvkit.Master.conf</include>#" \
	    "$D/bus.conf" >"$dir/bus.conf"
	ip netns exec "$P-master$2" dbus-daemon --nofork --nopidfile --config-file="$dir/bus.conf" 2>>"$dir/dbus.log" &
	at_exit kill "$!"
	wait_for 5 test -S "$dir/bus" || return 1
	ip netns exec "$P-master$2" env DBUS_SYSTEM_BUS_ADDRESS="${MBUS[$name]}" \
		"$BUILD/masterd" -c "$dir/master.conf" &
	MASTERD_PID[$name]=$!
	at_exit kill "$!"
	at_exit cp "$dir/masterd.log" "$LOGS/$name-masterd.log"
	wait_for 5 grep -qs "starting" "$dir/masterd.log"
}

# masterdev NAME N ARGS...: the technician's command on masterN
masterdev() {
	local name=$1 n=$2
	shift 2
	ip netns exec "$P-master$n" env DBUS_SYSTEM_BUS_ADDRESS="${MBUS[$name]}" "$BUILD/masterdev" "$@"
}

# laptop_dhcp N: a DHCP client on laptopN that applies address, router, MTU and DNS
laptop_dhcp() {
	local n=$1 ns=$P-laptop$1 script=$D/udhcpc-$1.sh
	mkdir -p "/etc/netns/$ns"
	at_exit rm -rf "/etc/netns/$ns"
	cat >"$script" <<-'SCRIPT'
	#!/bin/sh
	# busybox udhcpc hook: what a laptop's network manager does with a lease
	case "$1" in
	deconfig) ip -4 addr flush dev "$interface"; ip link set "$interface" up ;;
	bound|renew)
		ip -4 addr flush dev "$interface"
		ip addr add "$ip/$mask" dev "$interface"
		[ -n "$mtu" ] && ip link set "$interface" mtu "$mtu"
		[ -n "$router" ] && ip route replace default via "$router"
		: >"$RESOLV"
		for s in $dns; do echo "nameserver $s" >>"$RESOLV"; done
		echo "$ip $mtu $router $dns" >"$LEASE" ;;
	esac
	SCRIPT
	chmod +x "$script"
	rm -f "$D/lease-$n"
	ip netns exec "$ns" env RESOLV="/etc/netns/$ns/resolv.conf" LEASE="$D/lease-$n" \
		busybox udhcpc -f -i eth0 -s "$script" -O mtu -t 100 -T 1 -A 1 >>"$D/udhcpc-$n.log" 2>&1 &
	LAPTOP_DHCP[$n]=$!
	at_exit kill "$!"
}

declare -A ONSITED_PID MASTERD_PID MBUS LAPTOP_DHCP
