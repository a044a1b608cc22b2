#!/bin/bash
# End to end on the RDV server: real sshd, stunnel, D-Bus daemon, rdvd and
# vtund; devices in their own namespaces reach it through stunnel + OpenSSH.
set -u
T_NAME=rdv-server
REPO=${REPO:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${BUILD:-$REPO/build}
. "$REPO/tests/lib/common.sh"
. "$REPO/tests/lib/rdv-env.sh"
need_root
trap 'run_cleanup' EXIT
trap 'exit 1' INT TERM
trap '' PIPE

P=r$(printf '%04d' $(($$ % 10000)))
O1=${P}o1 O2=${P}o2 M1=${P}m1 M2=${P}m2 M3=${P}m3 X=${P}x
ACCESS="access = ( { master = \"$M1\"; onsite = [ \"$O1\" ]; },
                   { master = \"$M2\"; onsite = [ \"${P}o2\", \"${P}x\" ]; } );"

if ! rdv_setup "$P" "$ACCESS"; then
	not_ok "RDV server environment starts (see $D)"
	finish
	exit 1
fi
ok "rdvd, sshd, stunnel and a private D-Bus daemon run in $NS_RDV"

n=10
for d in $O1 $O2 $X; do dev_add "$d" onsite $((n += 1)) || not_ok "device $d added"; done
for d in $M1 $M2 $M3; do dev_add "$d" master $((n += 1)) || not_ok "device $d added"; done
check "rdvctl account list shows the six accounts" \
	test "$(rdvctl account list | grep -c "^$P")" -eq 6

# --- registration through TLS + SSH --------------------------------------------
for d in $O1 $O2 $M1 $M2 $M3; do
	check "$d logs in over stunnel + ssh and gets the prompt" dev_login "$d"
done
check "get_role answers onsite" test "$(dev_cmd "$O1" get_role)" = onsite
check "get_role answers master" test "$(dev_cmd "$M1" get_role)" = master
check "get_tunnel_mode answers L3" test "$(dev_cmd "$O1" get_tunnel_mode)" = L3
announce() { # what an onsite device says after each login
	dev_cmd "$1" "set_tunnelling_dev_lan_ip_address 10.1.2.$((${1: -1} + 10))/24" >/dev/null
	dev_cmd "$1" "set_tunnelling_dev_dns_server_list 10.1.2.53 10.1.2.54" >/dev/null
	dev_cmd "$1" "set_tunnelling_dev_hostname 'plc-gw-${1: -1}'" >/dev/null
	dev_cmd "$1" "set_tunnelling_dev_uplink_type lan" >/dev/null
}
announce "$O1"
announce "$O2"
dev_cmd "$O1" "set_tunnelling_dev_lan_ip_address 10.1.2.300/24" >/dev/null
check "bad address error names the value" grep -q "'10.1.2.300/24'" "$D/dev/$O1/err"
check "unknown command gives the original's error" \
	test "$(dev_cmd "$O1" "frobnicate now")" = "*** Unknown syntax: frobnicate now"
check "echo echoes" test "$(dev_cmd "$O1" "echo hello there")" = "hello there"
check "wait_master_connection answers not_ready after its bounded wait" \
	test "$(dev_cmd "$O1" wait_master_connection 10)" = not_ready
check "the master lists exactly the onsite devices of its access list" \
	test "$(dev_cmd "$M1" show_online_onsite_devs)" = "$O1"
details=$(dev_cmd "$M1" show_online_onsite_devs_details)
check "details carry hostname, LAN address, uplink and state" \
	test "$details" = "$O1	plc-gw-1	10.1.2.11/24	lan	free"
check "a master outside the access list sees no onsite device" \
	test -z "$(dev_cmd "$M3" show_online_onsite_devs)"
dev_cmd "$M3" "connect_to_onsite_dev $O1" >/dev/null
check "a master outside the access list cannot connect" grep -q "$O1: not allowed" "$D/dev/$M3/err"
check "the refusal line ends with its stable token, the D-Bus error name" \
	grep -q "^connect_to_onsite_dev: $O1: not allowed for $M3 \[org.rdvkit.Error.NotAllowed\]$" "$D/dev/$M3/err"
check "so does a refused argument" \
	grep -q "'10.1.2.300/24'.* \[org.rdvkit.Error.InvalidArgument\]$" "$D/dev/$O1/err"
dev_cmd "$M1" "connect_to_onsite_dev ${P}o9" >/dev/null
check "unknown onsite device is refused" grep -q "not allowed\|unknown or offline" "$D/dev/$M1/err"
devices=$(rdvctl devices)
check "rdvctl devices lists the five online devices" test "$(grep -c "^$P" <<<"$devices")" -eq 5
check "rdvctl devices shows announced metadata" grep -q "$O1 .*onsite .*plc-gw-1 .*10.1.2.11/24 .*lan .*free .*10.1.2.53 10.1.2.54" <<<"$devices"

# --- one session ---------------------------------------------------------------
check "session $M1 -> $O1 comes up (connect, ready, both vtund clients)" session_up "$M1" "$O1"
check "ping from the master's tunnel crosses the RDV glue to the onsite's tunnel" ping_onsite "$M1" "$O1"
check "show_remote_onsite_ip_config gives the onsite LAN address" \
	test "$(dev_cmd "$M1" show_remote_onsite_ip_config)" = 10.1.2.11/24
check "show_remote_onsite_dns_server_list gives its DNS servers" \
	test "$(dev_cmd "$M1" show_remote_onsite_dns_server_list)" = "10.1.2.53 10.1.2.54"
check "the busy onsite shows as busy" grep -q "busy" <<<"$(dev_cmd "$M1" show_online_onsite_devs_details)"
params=${DEV_PARAMS[$M1]}
check "vtun parameters: /30 prefix, netmask, .2 for the device" \
	test "$(param "$params" tunnel_ip_prefix) $(param "$params" tunnel_ip_netmask)" = "/30 255.255.255.252"
secret=$(param "$params" tunnel_secret)
check "the tunnel secret has at least 128 bits" test "${#secret}" -ge 32
check "the secrets of the two sides differ" test "$secret" != "$(param "${DEV_PARAMS[$O1]}" tunnel_secret)"
check_not "the secret is not in the log" grep -q "$secret" "$D/rdvd.log"
check "vtund configs are mode 0600" \
	test "$(stat -c %a "$D"/run/vtund-*.conf | sort -u)" = 600
check_not "vtund listens on loopback only" \
	bash -c "ip netns exec $NS_RDV ss -Htln | grep -v '127.0.0.1:' | grep -q ':4100[0-9]'"
dev_cmd "$M2" "connect_to_onsite_dev $O1" >/dev/null
check "a second master gets a clear refusal (not in its list)" grep -q "not allowed" "$D/dev/$M2/err"

# teardown when the master logs out
vtund_pids=$(cat "$D"/run/vtund-*.pid 2>/dev/null)
net_m1=$(param "${DEV_PARAMS[$M1]}" tunnel_ip_network)
dev_logout "$M1"
# gone: nothing of session 0 is left on the RDV server (says what is, if something is)
gone() {
	local p why=
	for p in $vtund_pids; do
		alive "$p" && why+=" vtund $p;"
		for c in $(pgrep -g "$p"); do alive "$c" && why+=" vtund child $c;"; done
	done
	ip -n "$NS_RDV" rule | grep -q "lookup 7000[01]" && why+=" rule;"
	[ -n "$(ip -n "$NS_RDV" route show table 70000)$(ip -n "$NS_RDV" route show table 70001)" ] && why+=" route;"
	ip netns exec "$NS_RDV" nft list set inet rdvd pairs 2>/dev/null | grep -q rdv0 && why+=" nft pair;"
	ip netns exec "$NS_RDV" nft list set inet rdvd nat_out 2>/dev/null | grep -q rdv0 && why+=" nft nat;"
	ip -n "$NS_RDV" link show rdv0m >/dev/null 2>&1 && why+=" tun rdv0m;"
	ip -n "$NS_RDV" link show rdv0o >/dev/null 2>&1 && why+=" tun rdv0o;"
	[ -z "$why" ] && return 0
	echo "left:$why" >&2
	return 1
}
check "within 2 s of the master's logout no vtund, rule, route or nft entry of the session remains" \
	wait_for 2 gone
check "the session end is logged with duration, bytes and reason" \
	grep -q "session 0: ended, master $M1, onsite $O1, duration [0-9]*s, master->onsite [0-9.]* [KMi]*B, onsite->master [0-9.]* [KMi]*B, reason: device shell disconnected" "$D/rdvd.log"
check "the onsite is still online and free" grep -q "$O1 .*free" <<<"$(rdvctl devices)"
dev_vtun_down "$M1"
dev_vtun_down "$O1"
check "the master logs in again" dev_login "$M1"
check "a new session works" session_up "$M1" "$O1"
check "ping crosses the new session" ping_onsite "$M1" "$O1"
check "the freed addresses were reused" test "$(param "${DEV_PARAMS[$M1]}" tunnel_ip_network)" = "$net_m1"

# --- two sessions at once --------------------------------------------------------
check "a second session $M2 -> $O2 comes up alongside" session_up "$M2" "$O2"
check "pair 1 still flows" ping_onsite "$M1" "$O1"
check "pair 2 flows" ping_onsite "$M2" "$O2"
ip -n "${DEV_NS[$M1]}" route replace "$(param "${DEV_PARAMS[$O2]}" tunnel_ip_network)/30" dev tun0
check_not "master 1 cannot reach onsite 2's tunnel" ping_onsite "$M1" "$O2"
rdv_end_2=$(param "${DEV_PARAMS[$M2]}" rdv_server_ip_address)
ip -n "${DEV_NS[$M1]}" route replace "$rdv_end_2/32" dev tun0
check_not "master 1 cannot reach the RDV end of pair 2's tunnel" \
	ip netns exec "${DEV_NS[$M1]}" ping -c 1 -W 1 -q "$rdv_end_2" >/dev/null
check "rdvctl sessions lists both" test "$(rdvctl sessions | grep -c established)" -eq 2

# the onsite drops its tunnel: the session ends, the other pair is untouched
dev_vtun_down "$O2"
check "the onsite's tunnel closing ends its session within 2 s" \
	wait_for 2 bash -c "! DBUS_SYSTEM_BUS_ADDRESS=$BUS $BUILD/rdvctl -c $D/rdvd.conf sessions | grep -q $M2"
check "the reason is logged" grep -q "onsite $O2, .*reason: onsite tunnel closed" "$D/rdvd.log"
check "pair 1 still flows after pair 2 ended" ping_onsite "$M1" "$O1"
dev_vtun_down "$M2"

# --- security --------------------------------------------------------------------
out=$(dev_ssh "$O2" "$O2@127.0.0.1" id 2>&1)
check "ssh dev@rdv id runs no command" bash -c "! grep -q 'uid=' <<<\"\$1\" && grep -q 'commands are not allowed' <<<\"\$1\"" _ "$out"
out=$(dev_ssh "$O2" "$O2@127.0.0.1" sh -c id 2>&1)
check "ssh dev@rdv sh -c id runs no command" bash -c "! grep -q 'uid=' <<<\"\$1\"" _ "$out"
out=$(printf 'id\nexit\n' | dev_ssh "$O2" -tt "$O2@127.0.0.1" 2>&1)
check "ssh -tt gets a pty with rdv-shell on it, no system shell" \
	bash -c "grep -q 'Unknown syntax: id' <<<\"\$1\" && ! grep -q 'uid=' <<<\"\$1\"" _ "$out"
sftp_out=$(printf '\0\0\0\5\1\0\0\0\3' | dev_ssh "$O2" -s "$O2@127.0.0.1" sftp 2>/dev/null)
check "the sftp subsystem is refused (rdv-shell runs no sftp-server)" \
	test $? -ne 0 -a -z "$sftp_out"
check "a fresh login of $O2" dev_login "$O2"
dev_ssh "$O2" -S "$D/dev/$O2/ctl" -O forward -L 127.0.0.1:6022:127.0.0.1:22 x 2>/dev/null
check_not "local forwarding to sshd's port is refused" \
	ip netns exec "${DEV_NS[$O2]}" timeout 5 bash -c 'exec 3<>/dev/tcp/127.0.0.1/6022; head -c 7 <&3 | grep -q SSH-2.0'
other_port=$((RDV_PORT_BASE + $(id -u "$O1") - RDV_UID_BASE))
dev_ssh "$O2" -S "$D/dev/$O2/ctl" -O forward -L "127.0.0.1:6023:127.0.0.1:$other_port" x 2>/dev/null
ip netns exec "${DEV_NS[$O2]}" timeout 3 bash -c 'exec 3<>/dev/tcp/127.0.0.1/6023; cat <&3 >/dev/null'
rc=$?
check "local forwarding to another device's vtund port is refused by the server" \
	test "$rc" -ne 124 -a "$(grep -c 'administratively prohibited' "$D/dev/$O2/err")" -ge 2
check_not "remote forwarding is refused" \
	dev_ssh "$O2" -S "$D/dev/$O2/ctl" -O forward -R 127.0.0.1:6024:127.0.0.1:22 x 2>/dev/null
# D-Bus: identity is the caller's uid, the role its group, nothing else
as_dev() { local u=$1; shift; ip netns exec "$NS_RDV" setpriv --reuid="$u" --regid="$(id -g "$u")" --init-groups env DBUS_SYSTEM_BUS_ADDRESS="$BUS" "$@" 2>&1; }
call() { local u=$1 m=$2; shift 2; as_dev "$u" dbus-send --system --print-reply --dest=org.rdvkit.Broker /org/rdvkit/Broker "org.rdvkit.Broker1.$m" "$@"; }
check "an onsite account cannot call master methods" grep -q "WrongRole" <<<"$(call "$X" Connect string:"$O1")"
check "a caller must register before acting" grep -q "NotRegistered" <<<"$(call "$X" GetVtunParameters)"
check "a non-device account is denied by the bus policy" grep -q "AccessDenied" <<<"$(call nobody Register)"
check "a device cannot call the admin interface" \
	grep -q "AccessDenied" <<<"$(as_dev "$X" dbus-send --system --print-reply --dest=org.rdvkit.Broker /org/rdvkit/Broker org.rdvkit.Admin1.Kick string:"$O1")"
check "device $X registering does not take over $O1" grep -q '"onsite"' <<<"$(call "$X" Register)"
check "$O1 is still the one online under its name, in session" grep -q "$O1 .*busy" <<<"$(rdvctl devices)"
# forged bus signals: any local account may address a signal to a unique name,
# and no match rule stops it. Sent to rdvd ("$O1's shell is gone") and to
# $O1's shell ("rdvd stopped"), by an account with no role, by a device, and
# by root: the bus policy keeps the first two away from rdvd, root it lets
# through, so rdvd's own check is what this proves there.
drv() { local m=$1; shift; ip netns exec "$NS_RDV" env DBUS_SYSTEM_BUS_ADDRESS="$BUS" dbus-send --system \
	--print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus "org.freedesktop.DBus.$m" "$@"; }
unique() { grep -o '":[0-9.]*"' | tr -d '"'; }
shell_of() { local n; for n in $(drv ListNames | unique); do
	drv GetConnectionUnixUser "string:$n" 2>/dev/null | grep -q "uint32 $(id -u "$1")\$" && { echo "$n"; return 0; }
done; return 1; }
shell_o1=$(shell_of "$O1")
rdvd_name=$(drv GetNameOwner string:org.rdvkit.Broker | unique)
log_mark=$(wc -l <"$D/rdvd.log")
for u in nobody "$X" root; do
	as_dev "$u" dbus-send --system --type=signal --dest="$rdvd_name" /org/freedesktop/DBus \
		org.freedesktop.DBus.NameOwnerChanged "string:$shell_o1" "string:$shell_o1" string: >/dev/null
	as_dev "$u" dbus-send --system --type=signal --dest="$shell_o1" /org/freedesktop/DBus \
		org.freedesktop.DBus.NameOwnerChanged string:org.rdvkit.Broker "string:$rdvd_name" string: >/dev/null
done
check "forged signals: $O1's shell is not logged out (it still answers)" \
	test "$(dev_cmd "$O1" "echo still here")" = "still here"
check_not "and did not say rdvd stopped" grep -q "rdvd stopped" "$D/dev/$O1/err"
check "rdvd keeps $O1 online and in session" grep -q "$O1 .*busy" <<<"$(rdvctl devices)"
check_not "rdvd logged no disconnect of it" \
	bash -c "tail -n +$((log_mark + 1)) '$D/rdvd.log' | grep -q 'device $O1: offline\\|shell disconnected'"

# --- a vtund dies; rdvd crashes -------------------------------------------------------
dev_vtun_down "$M1"; dev_vtun_down "$O1"
dev_cmd "$M1" drop_vtun >/dev/null
check "drop_vtun ends the session" wait_for 2 bash -c "! DBUS_SYSTEM_BUS_ADDRESS=$BUS $BUILD/rdvctl -c $D/rdvd.conf sessions | grep -q $M1"
check "session again for the vtund test" session_up "$M1" "$O1"
kill -9 "$(cat "$D"/run/vtund-rdv0o.pid)"
check "kill -9 of the onsite side's vtund server ends the session within 1 s" \
	wait_for 1 bash -c "! DBUS_SYSTEM_BUS_ADDRESS=$BUS $BUILD/rdvctl -c $D/rdvd.conf sessions | grep -q $M1"
check "the reason names the vtund" grep -q "onsite $O1, .*reason: .*onsite" "$D/rdvd.log"
dev_vtun_down "$M1"; dev_vtun_down "$O1"
check "session again for the crash test" session_up "$M1" "$O1"
crash_pids=$(cat "$D"/run/vtund-*.pid)
kill -9 "$RDVD_PID"; wait "$RDVD_PID" 2>/dev/null
check "after an rdvd crash its vtunds, tuns and rules are still there (the test means something)" \
	bash -c "ip -n $NS_RDV link show rdv0m >/dev/null && ip -n $NS_RDV rule | grep -q 'lookup 70000'"
rdvd_start
leftover() {
	for p in $crash_pids; do alive "$p" && return 0; done
	ip -n "$NS_RDV" link show rdv0m >/dev/null 2>&1 || ip -n "$NS_RDV" link show rdv0o >/dev/null 2>&1 ||
	ip -n "$NS_RDV" rule | grep -q "lookup 7000[01]" ||
	test -n "$(ip -n "$NS_RDV" route show table 70000)"
}
check_not "a restarted rdvd removes the vtunds, tunnels, rules and routes of its crashed predecessor" leftover
check "the restart is logged with what it removed" grep -q "left by a previous rdvd" "$D/rdvd.log"
dev_vtun_down "$M1"; dev_vtun_down "$O1"
dev_logout "$M1"; dev_logout "$O1"
check "$M1 logs in after the restart" dev_login "$M1"
check "$O1 logs in after the restart" dev_login "$O1"
announce "$O1"
dev_logout "$O2"
check "$O2 logs in after the restart" dev_login "$O2"
check "a session works after the restart" session_up "$M1" "$O1"
check "ping crosses it" ping_onsite "$M1" "$O1"

# --- kill -9 of a shell, kick, rdvd restart ----------------------------------------
shell_pid=$(pgrep -u "$M1" -f rdv-shell | head -1)
kill -9 "$shell_pid"
check "kill -9 of the master's shell ends its session within 1 s" \
	wait_for 1 bash -c "! DBUS_SYSTEM_BUS_ADDRESS=$BUS $BUILD/rdvctl -c $D/rdvd.conf sessions | grep -q $M1"
check "rdvctl kick logs a device out" rdvctl kick "$O2" >/dev/null
check "the kicked device is offline" wait_for 2 bash -c "! DBUS_SYSTEM_BUS_ADDRESS=$BUS $BUILD/rdvctl -c $D/rdvd.conf devices | grep -q $O2"
check "the kicked device's ssh session ended" wait_for 3 bash -c "! kill -0 ${DEV_SSH_PID[$O2]} 2>/dev/null"
dev_vtun_down "$M1"; dev_vtun_down "$O1"
check "$M1 logs in again" dev_login "$M1"
check "a session is up when rdvd gets SIGTERM" session_up "$M1" "$O1"
vtund_pids=$(cat "$D"/run/vtund-*.pid)
kill "$RDVD_PID"; wait "$RDVD_PID" 2>/dev/null
stopped_clean() { gone && ! ip netns exec "$NS_RDV" nft list table inet rdvd >/dev/null 2>&1; }
check "rdvd stops cleanly on SIGTERM: session torn down, its nftables table removed" stopped_clean
check "the session end names the stop" grep -q "reason: rdvd stopping" "$D/rdvd.log"
check "the shells of its devices log out when rdvd stops" \
	wait_for 3 bash -c "! pgrep -u $O1 -f rdv-shell >/dev/null"

# --- configuration errors; an exhausted pool ---------------------------------------------
printf 'tunnel = {\n  pool = "10.99.0.0/33";\n};\nbogus = 1;\n' >"$D/bad.conf"
out=$("$BUILD/rdvd" --check-config -c "$D/bad.conf" 2>&1)
check "rdvd --check-config names each bad key with its line" \
	bash -c "grep -q 'line 2:.*10.99.0.0/33' <<<\"\$1\" && grep -q \"line 4: unknown key 'bogus'\" <<<\"\$1\"" _ "$out"
check "rdvd --check-config accepts the test configuration" "$BUILD/rdvd" --check-config -c "$D/rdvd.conf" >/dev/null
sed -i 's#^tunnel = {#tunnel = { pool = "10.99.0.0/30";#' "$D/rdvd.conf"
rdvd_start
dev_vtun_down "$M1"; dev_vtun_down "$O1"
dev_login "$M1"; dev_login "$O1"
dev_cmd "$M1" "connect_to_onsite_dev $O1" >/dev/null
check "an exhausted tunnel pool is a clear error to the device" \
	grep -q "no tunnel addresses left on the RDV server" "$D/dev/$M1/err"
check "rdvd lives on after the refusal" kill -0 "$RDVD_PID"
check "and logs it" grep -q "tunnel address pool exhausted" "$D/rdvd.log"
check "nothing of the refused session remains" bash -c "! ip -n $NS_RDV link show rdv0m >/dev/null 2>&1"
check "the devices stay free" grep -q "$O1 .*free" <<<"$(rdvctl devices)"

# --- the log file -------------------------------------------------------------------
log=$D/rdvd.log
check "log: device online lines" grep -q "device $O1: online as onsite" "$log"
check "log: device offline lines with hostname, LAN and uplink" \
	grep -q "device $O1: offline after [0-9]*s (hostname 'plc-gw-1', LAN 10.1.2.11/24, uplink lan)" "$log"
check "log: session opened and established lines" \
	bash -c "grep -q 'session 0: opened, master $M1, onsite $O1' $log && grep -q 'session 0: established' $log"
check "log: refusals with their cause" grep -q "device $M3: connect to $O1 refused: not in its access list" "$log"
check "log: rdvd stop" grep -q "stopped" "$log"
finish
