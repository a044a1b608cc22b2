#!/bin/bash
# rdvd under faults and hostile or careless callers, with real sshd, stunnel,
# D-Bus daemon and vtund: every failure point of session set-up (a tun name
# already taken on either side, an exhausted pool on the master side, a vtund
# that cannot start) leaves both devices free and nothing behind; session time
# limits, the attempt limit, revocation by account deletion and by an
# access-list reload; a device cannot forge rdvd log lines.
# make check runs it with every program built with ASan/UBSan.
set -u
T_NAME=rdvd-faults
REPO=${REPO:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${BUILD:-$REPO/build}
. "$REPO/tests/lib/common.sh"
. "$REPO/tests/lib/rdv-env.sh"
need_root
trap 'run_cleanup' EXIT
trap 'exit 1' INT TERM
trap '' PIPE

P=f$(printf '%04d' $(($$ % 10000)))
O1=${P}o1 O2=${P}o2 M1=${P}m1 M2=${P}m2 M3=${P}m3 X=${P}x
IDLE=5 MAX=30 ATTEMPTS=8
ACCESS="access = ( { master = \"${P}m*\"; onsite = [ \"${P}o*\" ]; } );
session = { idle_timeout = $IDLE; max_duration = $MAX; connect_attempts = $ATTEMPTS; connect_window = 60; };"

# two /30s: one session takes the whole pool
if ! RDV_TUNNEL='pool = "10.98.0.0/29";' rdv_setup "$P" "$ACCESS"; then
	not_ok "RDV server environment starts (see $D)"
	finish
	exit 1
fi
ok "rdvd, sshd, stunnel and a private D-Bus daemon run in $NS_RDV"
log=$D/rdvd.log

n=10
for d in $O1 $O2; do dev_add "$d" onsite $((n += 1)) || not_ok "device $d added"; done
for d in $M1 $M2 $M3; do dev_add "$d" master $((n += 1)) || not_ok "device $d added"; done
dev_account "$X" onsite || not_ok "account $X added"
for d in $O1 $O2 $M1 $M2 $M3; do
	check "$d logs in" dev_login "$d"
done

connect() { dev_cmd "$1" "connect_to_onsite_dev $2" >/dev/null; }
free_dev() { rdvctl devices | grep -q "^$1 .* free "; }
in_session() { rdvctl sessions | grep -q " $1 "; }
no_session() { ! in_session "$1"; }
# nothing of a refused or ended session: no tun of ours, no vtund, no pid file
clean() {
	local why=
	ip -n "$NS_RDV" -o link show | grep -qE ': rdv[0-9]+[mo][:@]' && why+=" tun;"
	ls "$D"/run/vtund-* >/dev/null 2>&1 && why+=" vtund files;"
	for p in $(ip netns pids "$NS_RDV"); do
		[ "$(cat "/proc/$p/comm" 2>/dev/null)" = vtund ] && why+=" vtund $p;"
	done
	[ -z "$why" ] && return 0
	echo "left:$why" >&2
	return 1
}
errs() { grep -c "$2" "$D/dev/$1/err"; }

# (a bridge: any link that is not a tun makes TUNSETIFF fail)
# --- item 1: a tun name taken on the master side (the master side fails first) ---------
ip -n "$NS_RDV" link add rdv0m type bridge
connect "$M1" "$O1"
check "a tun name already taken on the master side refuses the session with an error" \
	grep -q "cannot open the session" "$D/dev/$M1/err"
check "the refusal is logged with its cause" \
	grep -q "session 0: not opened, master $M1, onsite $O1: cannot start the tunnels" "$log"
check "the onsite stays free after a master-side failure" free_dev "$O1"
check "the master stays free" free_dev "$M1"
connect "$M2" "$O1"
check "another master is refused for the same fault, not told the onsite is busy" \
	bash -c "grep -q 'cannot open the session' '$D/dev/$M2/err' && ! grep -q 'busy in another session' '$D/dev/$M2/err'"
check "kicking the refused onsite works" rdvctl kick "$O1" >/dev/null
check "the kicked onsite goes offline" wait_for 5 bash -c "! DBUS_SYSTEM_BUS_ADDRESS=$BUS $BUILD/rdvctl -c $D/rdvd.conf devices | grep -q '^$O1 '"
ip -n "$NS_RDV" link del rdv0m
check "nothing of the refused sessions remains" wait_for 5 clean
check "the onsite logs in again" dev_login "$O1"

# --- a tun of that name made by someone else on the onsite side (the master side is
# made, then undone; the foreign tun is neither adopted nor removed) ---------------------------
ip -n "$NS_RDV" tuntap add dev rdv0o mode tun
before=$(errs "$M1" "cannot open the session")
connect "$M1" "$O1"
check "a tun name taken on the onsite side refuses the session (not adopted)" \
	test "$(errs "$M1" "cannot open the session")" -gt "$before"
check "the foreign tun is left alone" ip -n "$NS_RDV" link show rdv0o
ip -n "$NS_RDV" link del rdv0o
check "the master side's tun, vtund and config are undone" wait_for 5 clean
check "the master stays free" free_dev "$M1"
check "the onsite stays free" free_dev "$O1"

# --- the onsite side's vtund cannot start: its config cannot be written (a directory is
# in the way); the master side's vtund already runs and is stopped --------------------------
mkdir "$D/run/vtund-rdv0o.conf.tmp"
before=$(errs "$M1" "cannot open the session")
connect "$M1" "$O1"
check "an onsite-side vtund that cannot start refuses the session" \
	test "$(errs "$M1" "cannot open the session")" -gt "$before"
check "the cause is logged" grep -q "session 0: cannot write $D/run/vtund-rdv0o.conf" "$log"
rmdir "$D/run/vtund-rdv0o.conf.tmp"
check "the master side's vtund is stopped, nothing remains" wait_for 5 clean
check "the onsite is free again" free_dev "$O1"

# --- an exhausted pool on the master side ----------------------------------------------------
connect "$M1" "$O1"
check "a session takes the whole pool" in_session "$M1"
st=$(rdvctl status)
check "rdvctl status: the pool full (2 of 2), both sides' vtund ports held by their devices" \
	bash -c "grep -qx 'pool: 2 of 2 /30s in use' <<<\"\$1\" &&
		grep -qx '  $((RDV_PORT_BASE + $(id -u "$M1") - RDV_UID_BASE)) session [0-9]* master $M1' <<<\"\$1\" &&
		grep -qx '  $((RDV_PORT_BASE + $(id -u "$O1") - RDV_UID_BASE)) session [0-9]* onsite $O1' <<<\"\$1\"" _ "$st"
connect "$M2" "$O2"
check "the next session finds no address for its master side" \
	grep -q "no tunnel addresses left on the RDV server" "$D/dev/$M2/err"
check "its onsite stays free" free_dev "$O2"
connect "$M2" "$O2"
check "asking again gets the same clear answer (not 'busy')" \
	test "$(errs "$M2" "no tunnel addresses left")" -ge 2 -a "$(errs "$M2" "busy in another session")" -eq 0
check "the refused onsite can be kicked" rdvctl kick "$O2" >/dev/null
check "the refused onsite logs in again" dev_login "$O2"
dev_cmd "$M1" drop_vtun >/dev/null
check "the first session ends on drop_vtun" wait_for 5 no_session "$M1"
connect "$M2" "$O2"
check "the freed addresses serve the next session" in_session "$M2"
dev_cmd "$M2" drop_vtun >/dev/null
check "which ends on drop_vtun" wait_for 5 no_session "$M2"
check "nothing of any session remains" wait_for 5 clean
st=$(rdvctl status)
check "rdvctl status: back to idle, the pool empty and no vtund port held" \
	bash -c "grep -qx 'pool: 0 of 2 /30s in use' <<<\"\$1\" && grep -qx 'sessions: 0' <<<\"\$1\" &&
		grep -qx 'vtund ports in use: none' <<<\"\$1\"" _ "$st"

# --- item 15: a device calls rdvd directly with a newline in a value --------------------------
as_dev() { local u=$1; shift; ip netns exec "$NS_RDV" setpriv --reuid="$u" --regid="$(id -g "$u")" --init-groups env DBUS_SYSTEM_BUS_ADDRESS="$BUS" "$@" 2>&1; }
out=$(as_dev "$X" "$BUILD/dbus-as-device" SetLanAddress $'10.1.2.3/24\nFORGED-LAN rdvd: x')
check "a LAN address holding a newline is refused" grep -q "Invalid" <<<"$out"
out=$(as_dev "$X" "$BUILD/dbus-as-device" SetDnsServers 10.1.2.53 $'10.1.2.54\nFORGED-DNS rdvd: x')
check "a DNS server holding a newline is refused" grep -q "Invalid" <<<"$out"
check "rdvd logged both refusals" \
	bash -c "grep -qF 'bad LAN address \"10.1.2.3/24\\nFORGED-LAN' '$log' && grep -qF 'bad DNS server \"10.1.2.54\\nFORGED-DNS' '$log'"
check_not "neither value starts a log line of its own" grep -q "^FORGED-" "$log"

# --- item 12: time limits, attempt limit ----------------------------------------------------
check "a session comes up for the time limit test" session_up "$M1" "$O1"
addr=$(param "${DEV_PARAMS[$O1]}" tunnelling_dev_ip_address)
ip netns exec "${DEV_NS[$M1]}" ping -q -i 0.5 -w $((MAX + 30)) "$addr" >/dev/null 2>&1 &
pinger=$!
at_exit kill $pinger
check "a session carrying traffic ends at the time limit" wait_for $((MAX + 30)) no_session "$M1"
kill $pinger 2>/dev/null
check "with the time limit as its logged reason (not idle)" \
	grep -q "master $M1, onsite $O1, .*reason: time limit of $MAX s reached" "$log"
dev_vtun_down "$M1"; dev_vtun_down "$O1"
check "a session comes up for the idle test" session_up "$M1" "$O1"
check "a session without traffic ends after the idle limit" wait_for $((IDLE + 40)) no_session "$M1"
check "with idleness as its logged reason" \
	grep -q "master $M1, onsite $O1, .*reason: idle: no traffic for $IDLE s" "$log"
dev_vtun_down "$M1"; dev_vtun_down "$O1"
for i in $(seq $ATTEMPTS); do connect "$M3" "${P}o9"; done
check "$ATTEMPTS attempts in a row are answered" test "$(errs "$M3" "unknown or offline")" -eq $ATTEMPTS
connect "$M3" "${P}o9"
check "the next attempt is refused: too many session attempts" \
	grep -q "too many session attempts: at most $ATTEMPTS in 60 s" "$D/dev/$M3/err"
check "and logged" grep -q "device $M3: connect to ${P}o9 refused: more than $ATTEMPTS session attempts" "$log"
connect "$M1" "$O1"
check "other masters are not limited by it" in_session "$M1"

# --- item 13: an access-list reload ends sessions no longer allowed --------------------------
sed -i "s/master = \"${P}m\*\"/master = \"$M2\"/" "$D/rdvd.conf"
kill -HUP "$RDVD_PID"
check "after SIGHUP a session the new list forbids ends" wait_for 5 no_session "$M1"
check "with the reload as its logged reason" \
	grep -q "master $M1, onsite $O1, .*reason: access list reloaded: $M1 may no longer reach $O1" "$log"
check "the reload says how many sessions it ended" grep -q "SIGHUP: 1 session ended by the new access list" "$log"
connect "$M2" "$O2"
check "an allowed session opens under the new list" in_session "$M2"
kill -HUP "$RDVD_PID"
check "a second reload keeps the allowed session" \
	bash -c "sleep 1; DBUS_SYSTEM_BUS_ADDRESS=$BUS $BUILD/rdvctl -c $D/rdvd.conf sessions | grep -q ' $M2 '"

# --- item 13: rdvctl account del logs the device out and ends its session at once ------------
out=$(rdvctl account del "$O2" 2>&1)
check "account del of a device in session succeeds" grep -q "$O2: deleted" <<<"$out"
check_not "its session is gone when rdvctl returns" in_session "$M2"
check "the session end names the deletion" \
	grep -q "onsite $O2, .*reason: account deleted by the administrator" "$log"
check "the device offline line names it too" \
	grep -q "device $O2: offline after .*: account deleted by the administrator" "$log"
check "its SSH login ended" wait_for 5 bash -c "! kill -0 ${DEV_SSH_PID[$O2]} 2>/dev/null"
check_not "the account is gone" getent passwd "$O2"
check_not "its key file is gone" test -e "$D/keys/$O2"

# --- item 1: a vtund that cannot start -------------------------------------------------------
kill "$RDVD_PID"; wait "$RDVD_PID" 2>/dev/null
sed -i -e "s#^vtund = {#vtund = { path = \"$D/bin/no-such-vtund\";#" \
	-e "s/master = \"$M2\"/master = \"${P}m*\"/" "$D/rdvd.conf"
rdvd_start || not_ok "rdvd restarts with a vtund path that does not exist"
dev_login "$M1"; dev_login "$O1"
connect "$M1" "$O1"
check "a vtund that cannot start refuses the session at once" \
	grep -q "session 0: not opened, master $M1, onsite $O1: cannot start the tunnels (No such file or directory)" "$log"
check "the onsite stays free" free_dev "$O1"
check "the refused onsite can be kicked" rdvctl kick "$O1" >/dev/null
check "nothing of the refused session remains" wait_for 5 clean
kill "$RDVD_PID"; wait "$RDVD_PID"
rc=$?
check "rdvd exits with status 0 (no sanitizer report, no leak)" test "$rc" -eq 0
finish
