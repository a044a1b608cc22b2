# RDV capacity and concurrent sessions, for tests/bench/bench.sh.

# --- N idle onsite devices, each a real login through stunnel and OpenSSH

# rdv_pss_kb: the proportional memory of every process on the RDV node
rdv_pss_kb() {
	local p t=0 v
	for p in $(ip netns pids "$P-rdv"); do
		v=$(awk '/^Pss:/ { print $2 }' "/proc/$p/smaps_rollup" 2>/dev/null)
		t=$((t + ${v:-0}))
	done
	echo "$t"
}

cap_online() { rdvctl devices | grep -c "^${P}c[0-9]* " ; }

# cap_setup: a namespace on the Internet side with one stunnel client
# (certificate pinned) that every scripted device logs in through
cap_setup() {
	local c=$W/cap
	mkdir -p "$c/keys"
	ip netns add "$P-cap" || return 1
	at_exit del_ns "$P-cap"
	ip -n "$P-cap" link set lo up
	ip -n "$P-inet" link add e-cap type veth peer name wan netns "$P-cap"
	ip -n "$P-inet" addr add 198.18.40.1/24 dev e-cap
	ip -n "$P-inet" link set e-cap up
	ip -n "$P-cap" addr add 198.18.40.2/24 dev wan
	ip -n "$P-cap" link set wan up
	ip -n "$P-cap" route add default via 198.18.40.1
	dev_stunnel "$P-cap" "$c"
	# every capacity device comes from this one address: the shipped per-source
	# limit on 443 (16, rdv-frontdoor.nft; tested by test-compat) would stop them
	ip netns exec "$P-rdv" nft flush chain inet rdv_frontdoor input
	CAP_MADE=0
	CAP_UP=0
}

# cap_accounts N: accounts for devices 1..N (made once, kept until exit)
cap_accounts() {
	local i name
	for ((i = CAP_MADE + 1; i <= $1; i++)); do
		name=${P}c$i
		ssh-keygen -q -t ed25519 -N '' -C "$name" -f "$W/cap/keys/$name" || return 1
		rdvctl account add "$name" --role onsite --key-file "$W/cap/keys/$name.pub" >/dev/null || return 1
		at_exit del_user "$name"
		CAP_MADE=$i
	done
}

# cap_login FROM TO: devices FROM..TO log in and announce themselves as
# onsitedev does, then stay idle (their shell waits for the next line). All
# their processes live in the namespace, which cleanup empties.
cap_login() {
	local i name c=$W/cap
	for ((i = $1; i <= $2; i++)); do
		name=${P}c$i
		{ printf '%s\n' "set_tunnelling_dev_uplink_type lan" "set_tunnelling_dev_lan_ip_address 10.1.0.10/24" \
			"set_tunnelling_dev_dns_server_list 10.1.0.20" "set_tunnelling_dev_hostname 'cap-$i'"
		  exec ip netns exec "$P-cap" sleep infinity; } |
		ip netns exec "$P-cap" ssh -F /dev/null -p 2222 -i "$c/keys/$name" -o IdentitiesOnly=yes \
			-o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile="$c/known_hosts" \
			-o GlobalKnownHostsFile=/dev/null -o ConnectTimeout=20 -o ServerAliveInterval=30 \
			-T "$name@127.0.0.1" >/dev/null 2>>"$c/ssh.err" &
	done
}

cap_enough() { [ "$(cap_online)" -ge "$1" ]; }

# cap_grow N: N devices online; logins go 8 at a time, below sshd's MaxStartups
cap_grow() {
	local n=$1 to
	cap_accounts "$n" || return 1
	while [ "$CAP_UP" -lt "$n" ]; do
		to=$((CAP_UP + 8))
		[ "$to" -gt "$n" ] && to=$n
		cap_login $((CAP_UP + 1)) "$to"
		wait_for 60 cap_enough "$to" || return 1
		CAP_UP=$to
	done
}

# masterdev -l on master1, ms
list_ms() {
	local t0 t1
	t0=$(date +%s%N)
	masterdev "${P}m1" 1 -l >"$W/list.out" 2>&1 || return 1
	t1=$(date +%s%N)
	echo $(((t1 - t0) / 1000))
}

capacity() {
	local n base pss i ms ok=0 listed
	cap_setup || return 1
	sleep 1
	base=$(rdv_pss_kb)
	res cap_base "$base"
	for n in $BENCH_CAP; do
		cap_grow "$n" || { echo "  capacity: only $(cap_online) of $n online"; ok=1; break; }
		sleep 2 # let the logins settle (sshd's and the shells' start-up memory)
		pss=$(rdv_pss_kb)
		for ((i = 0; i < 5; i++)); do
			ms=$(list_ms) || { ok=1; break; }
			res list "$n" "$i" "$ms"
		done
		listed=$(grep -c "^${P}c[0-9]* " "$W/list.out")
		res cap "$n" "$(cap_online)" "$listed" "$pss" "$(((pss - base) / n))"
		echo "  capacity: $n online, RDV PSS $((pss / 1024)) MB, $(((pss - base) / n)) kB per device, masterdev -l lists $listed"
		[ "$listed" -ge "$n" ] || ok=1
	done
	return $ok
}

# --- K concurrent sessions, pairs 1..K, iperf3 in all at once

sessions() {
	local k=$1 i dir pids mbps sum ok=0 page
	for ((i = 2; i <= k; i++)); do chain_up "$i" || ok=1; done
	for ((i = 2; i <= k; i++)); do
		wait_for 30 online_free "$i" && wait_for 30 leased "$i" || { echo "  pair $i not ready"; ok=1; }
	done
	for ((i = 1; i <= k; i++)); do session_open "$i"; done
	for ((i = 1; i <= k; i++)); do
		wait_for 40 established "$i" || { echo "  session $i not established"; ok=1; }
		[ "$i" -gt 1 ] && iperf_server "plc$i" 0.0.0.0
	done
	[ $ok = 0 ] || return 1
	for dir in up down; do
		pids=()
		for ((i = 1; i <= k; i++)); do
			local rev=()
			[ $dir = down ] && rev=(-R)
			x "laptop$i" timeout $((BENCH_SECONDS + 20)) iperf3 -c "$PLC" -t "$BENCH_SECONDS" \
				"${rev[@]}" -f m >"$W/conc-$dir-$i.txt" 2>&1 &
			pids+=($!)
		done
		sleep 1
		# isolation: while all carry traffic, each laptop gets its own customer's page
		for ((i = 1; i <= k; i++)); do
			page=$(x "laptop$i" curl -sS -m 10 "http://$PLC/" 2>&1)
			if [ "$page" = "plc$i of customer $i: hello from the customer LAN" ]; then
				res iso "$dir" "$i" ok
			else
				res iso "$dir" "$i" "bad: $page"
				ok=1
			fi
		done
		wait "${pids[@]}"
		sum=0
		for ((i = 1; i <= k; i++)); do
			mbps=$(awk '/receiver/ { for (j = 1; j <= NF; j++) if ($j == "Mbits/sec") v = $(j - 1) }
				END { print (v == "" ? 0 : v) }' "$W/conc-$dir-$i.txt")
			res conc "$k" "$dir" "$i" "$mbps"
			awk -v m="$mbps" 'BEGIN { exit !(m > 0) }' || ok=1
			sum=$(awk -v a="$sum" -v b="$mbps" 'BEGIN { print a + b }')
		done
		echo "  $k sessions $dir: $sum Mbit/s in all"
	done
	for ((i = 1; i <= k; i++)); do session_close "$i" || ok=1; done
	return $ok
}
