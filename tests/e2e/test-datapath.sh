#!/bin/bash
# The relay data path's front door: a TLS client with SNI rdv-data (anyone on
# the Internet) gets nothing without the ticket of a live session signed by
# the enrolled SSH key of that session's device. Shell-driven devices, so that
# every attach line is ours to forge.
set -u
T_NAME=datapath
REPO=${REPO:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${BUILD:-$REPO/build}
. "$REPO/tests/lib/common.sh"
. "$REPO/tests/lib/rdv-env.sh"
need_root
trap 'run_cleanup' EXIT
trap 'exit 1' INT TERM
trap '' PIPE

P=a$(printf '%04d' $(($$ % 10000)))
O=${P}o M=${P}m O2=${P}p
rdv_setup "$P" || { not_ok "RDV server environment starts"; finish; exit 1; }
dev_add "$O" onsite 11 && dev_add "$M" master 12 && dev_add "$O2" onsite 13 || not_ok "devices added"
for d in $O $M $O2; do dev_login "$d" || not_ok "$d logs in"; done

# nothing but 443 for the world: sshd, vtund and rdvd's data socket are local
public=$(ip netns exec "$NS_RDV" ss -H -ltnu | awk '{print $1, $5}' |
	grep -vE ' (127\.[0-9.]+|\[::1\]|\[::ffff:127\.[0-9.]+\]):[0-9]+$' || true)
check "ss -ltnu on the RDV server: nothing on a non-loopback address but TCP 443 ($public)" \
	test "$public" = "tcp $RDV_IP:443"

dev_cmd "$O" "set_tunnelling_dev_data_path warp" >/dev/null
check "an unknown data path is refused, naming it" grep -q "'warp'" "$D/dev/$O/err"
for d in $O $M; do dev_cmd "$d" "set_tunnelling_dev_data_path relay" >/dev/null; done
dev_cmd "$M" "connect_to_onsite_dev $O" >/dev/null
pm=$(dev_cmd "$M" get_vtun_parameters) po=$(dev_cmd "$O" get_vtun_parameters)
tm=$(param "$pm" data_ticket) to=$(param "$po" data_ticket)
check "relay parameters: data_path relay, vtun roles server/client, a ticket each" \
	bash -c "[ '$(param "$pm" data_path) $(param "$po" data_path)' = 'relay relay' ] &&
		[ '$(param "$pm" vtun_role) $(param "$po" vtun_role)' = 'server client' ] &&
		[[ '$tm' =~ ^[0-9a-f]{32}$ ]] && [[ '$to' =~ ^[0-9a-f]{32}$ ]] && [ '$tm' != '$to' ]"
net=$(param "$pm" tunnel_ip_network)
check "one /30 for the session: master .1, onsite .2, each other's peer" \
	test "$(param "$pm" tunnelling_dev_ip_address) $(param "$pm" rdv_server_ip_address) $(param "$po" tunnelling_dev_ip_address) $(param "$po" tunnel_ip_network)" = \
	"${net%.*}.$((${net##*.} + 1)) ${net%.*}.$((${net##*.} + 2)) ${net%.*}.$((${net##*.} + 2)) $net"
check "the session is logged with its data path" grep -q "session [0-9]*: opened, master $M, onsite $O, data path relay" "$D/rdvd.log"

# sign DEVICE TICKET KEY: the base64 of an SSHSIG over "DEVICE\nTICKET\n"
sign() { printf '%s\n%s\n' "$1" "$2" | ssh-keygen -q -Y sign -f "$3" -n rdv-data@rdvkit | grep -v -- ----- | tr -d '\n'; }
attach() { ip netns exec "${DEV_NS[$O2]}" timeout 30 python3 "$REPO/tests/lib/attach.py" "$RDV_IP" "$D/tls/rdv-server.crt" "$@"; }
checks() { grep -c "signature check of" "$D/rdvd.log"; }
ssh-keygen -q -t ed25519 -N '' -f "$D/stranger"
sig_o=$(sign "$O" "$to" "$D/dev/$O/id") sig_m=$(sign "$M" "$tm" "$D/dev/$M/id")

n0=$(checks)
check "garbage instead of an attach line: refused" test "$(attach line 'GET / HTTP/1.0')" = "error syntax"
# (the refusal may come back as a reset: the client is still sending)
check "an overlong line (3000 bytes, no newline): refused" \
	bash -c "[[ '$(attach raw 3000)' =~ ^(error\ syntax|closed)$ ]] && grep -q 'attach refused: attach line too long' '$D/rdvd.log'"
check "no line at all: refused at the deadline" test "$(attach nothing)" = "error timeout"
check "the session's ticket without a signature: refused" test "$(attach line "attach $O $to")" = "error syntax"
check "another enrolled device's ticket-less claim on the session: refused" \
	test "$(attach line "attach $O2 $to $(sign "$O2" "$to" "$D/dev/$O2/id")")" = "error denied"
check "the peer device's ticket, with the right device's own valid signature: refused" \
	test "$(attach line "attach $O $tm $(sign "$O" "$tm" "$D/dev/$O/id")")" = "error denied"
check "an unknown ticket: refused" \
	test "$(attach line "attach $O 0123456789abcdef0123456789abcdef $sig_o")" = "error denied"
check "no signature check was run for unknown tickets, devices or garbage" test "$(checks)" -eq "$n0"
check "the session's ticket signed by a key nobody enrolled: refused" \
	test "$(attach line "attach $O $to $(sign "$O" "$to" "$D/stranger")")" = "error denied"
check "the session's ticket signed by another enrolled device's key: refused" \
	test "$(attach line "attach $O $to $(sign "$O" "$to" "$D/dev/$O2/id")")" = "error denied"
check "a signature over another message: refused" \
	test "$(attach line "attach $O $to $(sign "$O" "$tm" "$D/dev/$O/id")")" = "error denied"
check_not "no ticket in rdvd's log" grep -q "$to\|$tm" "$D/rdvd.log"
in_sessions() { rdvctl sessions | grep -q "$1"; }
check "after all that the session is still there" in_sessions "$M .*$O .*starting"
# 42 idle TLS connections from three addresses (the front door lets 16 in per
# address) crowd the 32 places for pending attaches while the devices attach
hold() {
	ip netns exec "${DEV_NS[$1]}" timeout 30 python3 "$REPO/tests/lib/attach.py" "$RDV_IP" \
		"$D/tls/rdv-server.crt" hold "$2" 4 >"$D/hold-$1" 2>&1 &
	holders+=($!)
}
holders=()
hold "$M" 15
hold "$O" 15
hold "$O2" 12
held() { grep -q '^open' "$D/hold-$M" && grep -q '^open' "$D/hold-$O" && grep -q '^open' "$D/hold-$O2"; }
check "42 idle connections hold the data path's door" wait_for 20 held
check "its two devices attach with their own signed tickets, and bytes pass between them, crowd or not" \
	test "$(attach pair "attach $M $tm $sig_m" "attach $O $to $sig_o")" = "ok | ok | relayed"
check "the crowd was thinned, oldest first, and said so" grep -q "the oldest without a ticket dropped" "$D/rdvd.log"
wait "${holders[@]}"
check "a replayed attach line: refused" test "$(attach line "attach $O $to $sig_o")" = "error denied"
check "the session was established" grep -q "session [0-9]*: established, master $M <-> onsite $O" "$D/rdvd.log"
check "no signature check or file left behind" bash -c "! ls '$D/run' | grep -q attach-"
check "a data connection closing ends the session; the end line carries the relayed bytes (18 B master->onsite)" \
	wait_for 5 grep -q "ended, master $M, onsite $O, duration [0-9]*s, master->onsite 18 B, onsite->master 0 B, reason: the master side closed its connection" "$D/rdvd.log"

# a device that never attaches
dev_cmd "$M" "connect_to_onsite_dev $O" >/dev/null
pm=$(dev_cmd "$M" get_vtun_parameters)
check "one side attached alone: it waits" \
	bash -c "timeout 3 ip netns exec '${DEV_NS[$O2]}' python3 '$REPO/tests/lib/attach.py' '$RDV_IP' '$D/tls/rdv-server.crt' line 'attach $M $(param "$pm" data_ticket) $(sign "$M" "$(param "$pm" data_ticket)" "$D/dev/$M/id")'; [ \$? -eq 124 ]"
check "a device that does not attach in time ends the session, naming it" \
	wait_for 30 grep -q "ended, master $M, onsite $O, .*reason: not attached to the data path in time: $O\$" "$D/rdvd.log"
finish
