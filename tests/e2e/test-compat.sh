#!/bin/bash
# Drop-in replacement for the original RDV server (issue 10): the original
# kit's device scripts, emulated with pexpect as they drove ssh (pty, CR line
# ends, ~C -L, the vtund session "tundev<account>", the values they sent,
# pipelined commands and EOF), through the real stunnel + OpenSSH, next to
# new-style devices on the same server. Also the shell's line loop without a
# pty (bare CR, EOF, 5000 pipelined lines, error order) and the front door
# (sshd's forced command, loopback-only forwards, pre-auth flood).
set -u
T_NAME=compat
REPO=${REPO:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${BUILD:-$REPO/build}
. "$REPO/tests/lib/common.sh"
. "$REPO/tests/lib/rdv-env.sh"
need_root
trap 'run_cleanup' EXIT
trap 'exit 1' INT TERM
trap '' PIPE

P=c$(printf '%04d' $(($$ % 10000)))
OO=${P}oo OM=${P}om NO=${P}no NM=${P}nm
if ! rdv_setup "$P"; then
	not_ok "RDV server environment starts (see $D)"
	finish
	exit 1
fi
n=30
for d in $OO $NO; do dev_add "$d" onsite $((n += 1)) || not_ok "device $d added"; done
for d in $OM $NM; do dev_add "$d" master $((n += 1)) || not_ok "device $d added"; done

# --- the shell's line loop without a pty ---------------------------------------------
# raw NAME: stdin to the shell with no pty, stdout and stderr in one file, as one reader sees them
raw() { dev_ssh "$1" -T "$1@127.0.0.1" >"$D/dev/$1/raw" 2>&1; }
printf 'get_role\recho hi\r' | raw "$NO"
check "a bare CR ends a line, and EOF ends the shell after the last answer" \
	test "$(tr -d '\n' <"$D/dev/$NO/raw")" = "$NO\$ onsite$NO\$ hi$NO\$ "
printf 'get_tunnel_mode\r\nget_role\necho a\r\nget_tunnel_mode\n' | raw "$NO"
check "CR LF is one line end; commands sent in one go then EOF are all answered, rdvd's too" \
	test "$(tr -d '\n' <"$D/dev/$NO/raw")" = "$NO\$ L3$NO\$ onsite$NO\$ a$NO\$ L3$NO\$ "
printf 'set_tunnelling_dev_lan_ip_address 10.1.2.300/24\necho after\n' | raw "$NO"
error_first() { # the error line, then the prompt and the next answer
	local t
	t=$(tr '\n' '|' <"$D/dev/$NO/raw")
	[[ $t == "$NO\$ set_tunnelling_dev_lan_ip_address: '10.1.2.300/24' is not"*"|$NO\$ after|$NO\$ " ]]
}
check "without a pty an error still comes before the next prompt" error_first
{ yes '' 2>/dev/null | head -5000; echo 'echo done'; } | raw "$NO"
check "5000 (empty) lines sent at once: a prompt for each, the last command answered, a normal exit" \
	test "$(grep -o "$NO\\$ " "$D/dev/$NO/raw" | wc -l) $(grep -c "$NO\\$ done$" "$D/dev/$NO/raw")" = "5002 1"

# --- sshd: forced command, subsystems, forwards, pty ----------------------------------
out=$(dev_ssh "$NO" "$NO@127.0.0.1" id 2>&1)
check "ssh dev@rdv id runs no command" \
	bash -c "! grep -q 'uid=' <<<\"\$1\" && grep -q 'commands are not allowed' <<<\"\$1\"" _ "$out"
sftp_out=$(ip netns exec "${DEV_NS[$NO]}" sftp -b - -F /dev/null -P 2222 -i "$D/dev/$NO/id" \
	-o IdentitiesOnly=yes -o BatchMode=yes -o UserKnownHostsFile="$D/dev/$NO/known_hosts" \
	-o GlobalKnownHostsFile=/dev/null "$NO@127.0.0.1" <<<'ls -1 /' 2>&1)
check "sshd's global internal-sftp subsystem is out of a device's reach (ForceCommand)" \
	bash -c "! grep -q '^/etc' <<<\"\$1\"" _ "$sftp_out"
out=$(printf 'id\nexit\n' | dev_ssh "$NO" -tt "$NO@127.0.0.1" 2>&1)
check "on a pty the device still gets only rdv-shell" \
	bash -c "grep -q 'Unknown syntax: id' <<<\"\$1\" && ! grep -q 'uid=' <<<\"\$1\"" _ "$out"
# a key file edited by hand to allow any forward: sshd still allows loopback only
cp "$D/keys/$NO" "$D/key.saved"
sed -i 's/,permitopen="[^"]*"//' "$D/keys/$NO"
dev_login "$NO"
mkdir -p "$D/www" && echo reached >"$D/www/probe"
ip netns exec "$NS_RDV" /usr/bin/python3 -m http.server --bind "$RDV_IP" --directory "$D/www" 6200 >/dev/null 2>&1 &
at_exit kill $!
wait_for 10 ip netns exec "$NS_RDV" curl -sf "http://$RDV_IP:6200/probe" -o /dev/null
dev_ssh "$NO" -S "$D/dev/$NO/ctl" -O forward -L "127.0.0.1:6101:$RDV_IP:6200" x 2>/dev/null
check_not "a forward to a non-loopback address is refused by sshd's PermitOpen" \
	ip netns exec "${DEV_NS[$NO]}" curl -sf -m 5 http://127.0.0.1:6101/probe -o /dev/null
check "the refusal is sshd's" grep -q "administratively prohibited" "$D/dev/$NO/err"
dev_logout "$NO"
cp "$D/key.saved" "$D/keys/$NO"

# --- original devices next to new ones ------------------------------------------------
# orig_start NAME: the original script, on a pty, in the device's namespace
orig_start() {
	local name=$1 dir=$D/dev/$1
	rm -f "$dir/params" "$dir/finish"
	ip netns exec "${DEV_NS[$name]}" env ONSITE="${ONSITE:-$OO}" LPORT=$((5000 + DEV_IDX[$name])) \
		/usr/bin/python3 "$REPO/tests/lib/orig-device.py" "${DEV_ROLE[$name]}" "$name" "$dir" \
		-F /dev/null -p 2222 -i "$dir/id" -o IdentitiesOnly=yes -o BatchMode=yes \
		-o StrictHostKeyChecking=yes -o UserKnownHostsFile="$dir/known_hosts" \
		-o GlobalKnownHostsFile=/dev/null -o EnableEscapeCommandline=yes \
		"$name@127.0.0.1" >"$dir/orig.out" 2>&1 &
	ORIG_PID[$name]=$!
	at_exit kill $!
}
# orig_vtun_up NAME: the original client asks vtund for "tundev" + its account
orig_vtun_up() {
	local name=$1 dir=$D/dev/$1
	wait_for 60 test -s "$dir/params" || return 1
	DEV_PARAMS[$name]=$(<"$dir/params")
	ip -n "${DEV_NS[$name]}" tuntap add dev tun0 mode tun 2>/dev/null
	ip -n "${DEV_NS[$name]}" addr replace "$(param "${DEV_PARAMS[$name]}" tunnelling_dev_ip_address)/30" dev tun0
	ip -n "${DEV_NS[$name]}" link set tun0 up
	umask 077
	cat >"$dir/vtund.conf" <<-CONF
	options { port $((5000 + DEV_IDX[$name])); timeout 30; }
	tundev$name {
	  passwd $(param "${DEV_PARAMS[$name]}" tunnel_secret);
	  type tun;
	  proto tcp;
	  device tun0;
	  persist no;
	}
	CONF
	umask 022
	ip netns exec "${DEV_NS[$name]}" vtund -n -f "$dir/vtund.conf" "tundev$name" 127.0.0.1 \
		>"$dir/vtund.log" 2>&1 &
	DEV_VTUND[$name]=$!
	at_exit kill $!
	wait_for 15 tun_carrier "${DEV_NS[$name]}"
}
declare -A ORIG_PID
rdv_established() { rdvctl sessions | grep -q "$1 *$2 *established"; }
ping_tunnel() { # FROM TO: the onsite's tunnel end from the master's tunnel
	ip -n "${DEV_NS[$1]}" route replace "$(param "${DEV_PARAMS[$2]}" tunnel_ip_network)/30" dev tun0
	ip netns exec "${DEV_NS[$1]}" ping -c 2 -i 0.2 -W 2 -q \
		"$(param "${DEV_PARAMS[$2]}" tunnelling_dev_ip_address)" >/dev/null 2>&1
}

orig_start "$OO"
wait_for 20 grep -q "$OO .*onsite" <(rdvctl devices)
orig_start "$OM"
check "the original master script connects, gets the forward through ~C -L (pty)" orig_vtun_up "$OM"
check "the original onsite script is called, gets its forward through ~C -L" orig_vtun_up "$OO"
check "both original vtund clients are accepted under their session names tundev<account>" \
	wait_for 10 rdv_established "$OM" "$OO"
check "a ping crosses the original-style session" ping_tunnel "$OM" "$OO"
check "the original's values were stored safely (hostname, LAN from a netmask, no DNS)" \
	grep -q "$OO .*lionel-s-onsite .*10.1.2.11/24 .*lan " <(rdvctl devices)

# new-style devices on the same server, at the same time
dev_login "$NO"
dev_login "$NM"
dev_cmd "$NO" "set_tunnelling_dev_lan_ip_address 10.9.0.2/24" >/dev/null
dev_cmd "$NM" "connect_to_onsite_dev $NO" >/dev/null
check "a new-style onsite is called next to them" test "$(dev_cmd "$NO" wait_master_connection 10)" = ready
check "the new-style master's tunnel comes up with tunnel_session_name" dev_vtun_up "$NM"
check "the new-style onsite's tunnel too" dev_vtun_up "$NO"
check "the new-style session is established" wait_for 10 rdv_established "$NM" "$NO"
check "a ping crosses the new-style session" ping_tunnel "$NM" "$NO"
check "the original-style session still flows" ping_tunnel "$OM" "$OO"

touch "$D/dev/$OO/finish" "$D/dev/$OM/finish"
wait "${ORIG_PID[$OO]}"
check "onsite: pipelined commands and EOF all answered, then the shell exited" test $? -eq 0
wait "${ORIG_PID[$OM]}"
check "master: pipelined commands and EOF all answered, then the shell exited" test $? -eq 0
check "the original-style session ended with its devices" \
	wait_for 5 bash -c "! DBUS_SYSTEM_BUS_ADDRESS=$BUS $BUILD/rdvctl -c $D/rdvd.conf sessions | grep -q $OM"

# --- a mixed session: the original master script and a new onsite that announced
# the relay data path; the session takes the classic path on both sides
RO=${P}ro
dev_add "$RO" onsite 40 && dev_login "$RO" || not_ok "device $RO added"
dev_cmd "$RO" "set_tunnelling_dev_data_path relay" >/dev/null
dev_cmd "$RO" "set_tunnelling_dev_lan_ip_address 10.1.2.11/24" >/dev/null
ONSITE=$RO orig_start "$OM"
check "mixed: the original master connects to a relay-capable onsite and gets its forward" orig_vtun_up "$OM"
check "mixed: rdvd logs the session's data path as classic" \
	grep -q "opened, master $OM, onsite $RO, tunnels .*, data path classic" "$D/rdvd.log"
pro=$(dev_cmd "$RO" get_vtun_parameters)
check "mixed: the new onsite is given classic parameters (no data path, no ticket)" \
	bash -c "grep -q '^tunnel_secret: ' <<<\"\$1\" && ! grep -q '^data_' <<<\"\$1\"" _ "$pro"
check "mixed: the new onsite's vtun comes up through its SSH forward" dev_vtun_up "$RO"
check "mixed: the session is established" wait_for 10 rdv_established "$OM" "$RO"
check "mixed: a ping crosses it" ping_tunnel "$OM" "$RO"
touch "$D/dev/$OM/finish"
wait "${ORIG_PID[$OM]}"
dev_logout "$RO"
check "mixed: the session ends with its devices" \
	wait_for 5 bash -c "! DBUS_SYSTEM_BUS_ADDRESS=$BUS $BUILD/rdvctl -c $D/rdvd.conf sessions | grep -q $OM"

# --- pre-authentication flood on 443 ---------------------------------------------------
FL=$P-fl
ip netns add "$FL"
at_exit del_ns "$FL"
ip -n "$FL" link set lo up
ip -n "$FL" link add eth0 type veth peer name dfl netns "$NS_RDV"
ip -n "$NS_RDV" link set dfl master br0 up
ip -n "$FL" addr add 198.18.0.60/24 dev eth0
ip -n "$FL" link set eth0 up
touch "$D/flood.hold"
ip netns exec "$FL" /usr/bin/python3 "$REPO/tests/lib/tls-flood.py" "$RDV_IP" 443 200 "$D/flood.hold" "$D/flood.count" &
at_exit kill $!
wait_for 120 test -s "$D/flood.count"
check "one host gets at most 16 of 200 idle TLS connections (got $(cat "$D/flood.count" 2>/dev/null))" \
	test "$(cat "$D/flood.count" 2>/dev/null)" -le 16
dev_logout "$NM"
dev_logout "$NO"
check "while they are held, a master logs in" dev_login "$NM"
check "and an onsite" dev_login "$NO"
check "and an original-style device logs in on a pty" \
	bash -c "$(declare -p D OO); printf 'get_role\rexit\r' | ip netns exec ${DEV_NS[$OO]} ssh -tt -F /dev/null -p 2222 \
		-i \$D/dev/\$OO/id -o IdentitiesOnly=yes -o BatchMode=yes -o UserKnownHostsFile=\$D/dev/\$OO/known_hosts \
		-o GlobalKnownHostsFile=/dev/null \$OO@127.0.0.1 2>&1 | grep -q '^onsite'"
rm -f "$D/flood.hold"
finish
