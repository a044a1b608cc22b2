# The faults of tests/soak/soak.sh: a weighted list, a plan drawn from SEED,
# and for each kind what starts it and what ends it. Source it after soak.sh's
# helpers; every action runs in the soak's own shell.
#
# A session fault hits one pair's session; a round fault hits the RDV server,
# so every session of that round. The harness plays systemd: a daemon killed
# or stopped is started again (at once: its RestartSec is not what is tested).

SESSION_FAULTS="ctrlc:12 kill9-masterdev:4 kill9-vtund-master:6 kill9-vtund-onsite:6
	kill9-vtund-rdv:6 kill9-ssh-master:5 kill9-ssh-onsite:5 kill9-stunnel-master:4
	kill9-stunnel-onsite:4 kill9-sshd-rdv:4 kill9-shell-master:3 kill9-shell-onsite:3
	kill9-masterd:2 term-masterd:2 kill9-onsitedev:2 term-onsitedev:2
	fw-drop-443:5 adapter-unplugged:5 adapter-link-down:4"
# A relay session has no vtund on the RDV server (rdvd splices the two data
# connections): its RDV-side fault is the onsite's connections reset there
# instead (ss -K), as a middlebox or a crashed relay would leave them.
if [ "${SOAK_DATA_PATH:-relay}" = relay ]; then
	SESSION_FAULTS=${SESSION_FAULTS/kill9-vtund-rdv:/reset-onsite-rdv:}
fi
ROUND_FAULTS="rdvd-term:3 rdvd-kill9:3 rdv-link-down:3 log-disk-full:3 login-burst:2 kill9-stunnel-rdv:2"
# one round in ROUND_EVERY draws a round fault
ROUND_EVERY=8
# faults a session may live through (TCP outlasts them): recovered once it
# carries traffic again; after any other the session must have ended
SURVIVABLE=" fw-drop-443 adapter-link-down rdv-link-down "

# pick "KIND:WEIGHT ...": one kind, drawn with $RANDOM
pick() {
	local kw total=0 r
	for kw in $1; do total=$((total + ${kw##*:})); done
	r=$((RANDOM % total))
	for kw in $1; do
		r=$((r - ${kw##*:}))
		[ $r -lt 0 ] && { echo "${kw%%:*}"; return; }
	done
}

# plan: $W/plan.tsv, "round pair kind" for N sessions over PAIRS pairs, from SEED.
# A run of more than two rounds has a round fault by its third at the latest.
plan() {
	local n=0 r=0 i g had=0
	RANDOM=$SEED
	: >"$W/plan.tsv"
	while [ $n -lt "$SOAK_N" ]; do
		r=$((r + 1))
		g=
		if [ $((RANDOM % ROUND_EVERY)) -eq 0 ] || { [ $r -eq 3 ] && [ $had = 0 ]; }; then
			g=$(pick "$ROUND_FAULTS")
			had=1
		fi
		for ((i = 1; i <= PAIRS && n < SOAK_N; i++, n++)); do
			printf '%s\t%s\t%s\n' "$r" "$i" "${g:-$(pick "$SESSION_FAULTS")}" >>"$W/plan.tsv"
		done
	done
	ROUNDS=$r
}

# --- helpers of the actions

ns_pid_of() { # NAMESPACE COMM: the first process of that name in the namespace
	local p
	for p in $(ip netns pids "$1"); do
		[ "$(cat "/proc/$p/comm" 2>/dev/null)" = "$2" ] && { echo "$p"; return 0; }
	done
	return 1
}

# kill9 PIDS: kill -9; no pid means the fault found nothing to hit, a harness
# problem, reported
kill9() {
	[ -n "$1" ] || { problem "fault $FAULT: no such process"; return 1; }
	kill -9 $1 2>/dev/null
}

# the vtund serving pair I's onsite (SIDE onsite|master) on the RDV server:
# the one listening on that side's port, as rdvctl status says
rdv_vtund_pid() {
	local i=$1 side=$2 port
	port=$(rdvctl status | awk -v s="$side" -v d="${P}${side:0:1}$i" '$2 == "session" && $4 == s && $5 == d { print $1 }')
	[ -n "$port" ] || return 1
	ip netns exec "$P-rdv" ss -Hltnp "sport = :$port" | grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2
}

masterd_start() { # I: masterd of pair I again, on its bus (systemd's Restart=)
	local m=${P}m$1
	ip netns exec "$P-master$1" env DBUS_SYSTEM_BUS_ADDRESS="${MBUS[$m]}" \
		"$BUILD/masterd" -c "$D/$m/master.conf" &
	MASTERD_PID[$m]=$!
}

onsitedev_start() {
	local o=${P}o$1
	ip netns exec "$P-onsite$1" "$BUILD/onsitedev" -c "$D/$o/onsite.conf" &
	ONSITED_PID[$o]=$!
}

# forget_pid PID: a process that is gone leaves the cleanup list. With pids
# counting to 32768 and thousands of processes a run, its pid would be
# someone else's by the end: never kill that at exit.
forget_pid() {
	local i
	for i in "${!T_CLEANUP[@]}"; do
		[ "${T_CLEANUP[$i]}" = "kill $1 " ] && unset 'T_CLEANUP[i]'
	done
	T_CLEANUP=("${T_CLEANUP[@]}")
}

stop_wait() { # SIGNAL PID: signal a child of this shell and reap it
	kill -"$1" "$2" 2>/dev/null
	wait "$2" 2>/dev/null
	forget_pid "$2"
	return 0
}

laptop_replug() { # I: the laptop asks for a lease again, as on any new link
	stop_wait TERM "${LAPTOP_DHCP[$1]}"
	laptop_dhcp "$1"
}

# --- session faults: fault_start I KIND starts it and sets DUR, how long it
# lasts (s); fault_end I KIND ends it

fault_start() {
	local i=$1 kind=$2 m=${P}m$1 o=${P}o$1
	DUR=0
	FAULT=$kind
	case $kind in
	ctrlc) kill -INT "${MDEV[$i]}" 2>/dev/null ;;
	kill9-masterdev) kill9 "${MDEV[$i]}" ;;
	kill9-vtund-master) kill9 "$(ns_pid_of "$P-master$i" vtund)" ;;
	kill9-vtund-onsite) kill9 "$(ns_pid_of "$P-onsite$i" vtund)" ;;
	kill9-vtund-rdv) kill9 "$(rdv_vtund_pid "$i" onsite)" ;;
	reset-onsite-rdv) # every TCP connection of pair I's site (its firewall's address) on the RDV
		[ -n "$(ip netns exec "$P-rdv" ss -Htn "dst 198.18.$((10 + i)).2")" ] ||
			{ problem "fault $FAULT: no connection of site $i on the RDV server"; return 1; }
		ip netns exec "$P-rdv" ss -K "dst 198.18.$((10 + i)).2" >/dev/null 2>&1 ;;
	kill9-ssh-master) kill9 "$(pgrep -f "(^|/)ssh -F /dev/null -T -M -S $D/$m/run/")" ;;
	kill9-ssh-onsite) kill9 "$(pgrep -f "(^|/)ssh -F /dev/null -T -M -S $D/$o/run/")" ;;
	kill9-stunnel-master) kill9 "$(pgrep -f "(^|/)stunnel4 $D/$m/run/")" ;;
	kill9-stunnel-onsite) kill9 "$(pgrep -f "(^|/)stunnel4 $D/$o/run/")" ;;
	kill9-sshd-rdv) kill9 "$(pgrep -u "$o" -x sshd)" ;;
	kill9-shell-master) kill9 "$(pgrep -u "$m" -x rdv-shell)" ;;
	kill9-shell-onsite) kill9 "$(pgrep -u "$o" -x rdv-shell)" ;;
	kill9-masterd) stop_wait 9 "${MASTERD_PID[$m]}" ;;
	term-masterd) stop_wait TERM "${MASTERD_PID[$m]}" ;;
	kill9-onsitedev) stop_wait 9 "${ONSITED_PID[$o]}" ;;
	term-onsitedev) stop_wait TERM "${ONSITED_PID[$o]}" ;;
	fw-drop-443)
		ip netns exec "$P-fw$i" nft -f - <<-NFT
		table inet soak_drop {
		  chain forward { type filter hook forward priority -10; tcp dport 443 drop; }
		}
		NFT
		DUR=3 ;;
	adapter-unplugged) "$TOPO" unplug "$P" "$i"; DUR=1 ;;
	adapter-link-down) ip -n "$P-master$i" link set usb0 down; DUR=2 ;;
	esac
	return 0
}

fault_end() {
	local i=$1 kind=$2
	case $kind in
	kill9-masterd | term-masterd) masterd_start "$i" ;;
	kill9-onsitedev | term-onsitedev) onsitedev_start "$i" ;;
	fw-drop-443) ip netns exec "$P-fw$i" nft delete table inet soak_drop ;;
	adapter-unplugged) "$TOPO" plug "$P" "$i"; laptop_replug "$i" ;;
	adapter-link-down) ip -n "$P-master$i" link set usb0 up ;;
	esac
	return 0
}

# --- round faults. log-disk-full is in force before the sessions open
# (round_before) and ends after they ended; the others hit sessions under way.

LOGFS_FILL=

round_before() {
	case $1 in
	log-disk-full)
		LOGFS_FILL=$D/logfs/filler
		dd if=/dev/zero of="$LOGFS_FILL" bs=64k 2>/dev/null
		dd if=/dev/zero of="$LOGFS_FILL.small" bs=1 2>/dev/null ;;
	esac
	return 0
}

rdvd_restart() { # SIGNAL
	stop_wait "$1" "$RDVD_PID"
	rdvd_start
}

round_start() {
	DUR=0
	FAULT=$1
	case $1 in
	rdvd-term) rdvd_restart TERM ;;
	rdvd-kill9) rdvd_restart 9 ;;
	rdv-link-down) ip -n "$P-inet" link set e-rdv down; DUR=3 ;;
	log-disk-full) for i in "${!MDEV[@]}"; do kill -INT "${MDEV[$i]}" 2>/dev/null; done ;;
	login-burst) rdvd_restart TERM; burst_start ;;
	kill9-stunnel-rdv)
		local p
		p=$(pgrep -f "(^|/)stunnel4 $D/stunnel.conf")
		kill9 "$p"
		forget_pid "$p"
		rdv_bg stunnel4 "$D/stunnel.conf" >>"$D/stunnel.log" 2>&1 ;;
	esac
	return 0
}

round_end() {
	case $1 in
	rdv-link-down) ip -n "$P-inet" link set e-rdv up ;;
	log-disk-full) rm -f "$LOGFS_FILL" "$LOGFS_FILL.small"; LOGFS_FILL= ;;
	esac
	return 0
}

# --- 50 devices logging in at once right after an RDV restart (the bench's
# capacity devices: one stunnel client, scripted logins). sshd's MaxStartups
# drops some of so many logins at once: a device whose login failed tries again
# (every 2 s here), as onsitedev does with its backoff.

BURST=${SOAK_BURST:-50}
burst_start() {
	BURST_T0=$(date +%s.%N)
	cap_login 1 "$BURST"
}

burst_online() {
	local i on
	on=$(rdvctl devices | awk '{ print $1 }')
	[ "$(grep -c "^${P}c[0-9]*$" <<<"$on")" -ge "$BURST" ] && return 0
	# the ones not online and no longer trying: again
	for ((i = 1; i <= BURST; i++)); do
		grep -qx "${P}c$i" <<<"$on" && continue
		pgrep -f "ssh .*-i $W/cap/keys/${P}c$i " >/dev/null || cap_login "$i" "$i"
	done
	return 1
}

# burst_wait: all online within 90 s (the time from the restart logged)
burst_wait() {
	local t
	if wait_for 90 retry_every 2 burst_online; then
		t=$(awk -v a="$BURST_T0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
		echo "$t" >>"$W/burst.txt"
		return 0
	fi
	echo "only $(cap_online) of $BURST online after 90 s" >>"$W/burst.txt"
	return 1
}

# burst_end: the burst's devices log out and go offline
burst_end() {
	local ok=0 p
	for p in $(ip netns pids "$P-cap"); do
		[ "$(cat "/proc/$p/comm" 2>/dev/null)" = stunnel4 ] || kill "$p" 2>/dev/null
	done
	wait_for 30 bash -c "[ \$(DBUS_SYSTEM_BUS_ADDRESS=$BUS $BUILD/rdvctl -c $D/rdvd.conf devices | grep -c '^${P}c[0-9]* ') -eq 0 ]" ||
		{ echo "burst devices still online after logging out" >>"$W/burst.txt"; ok=1; }
	return $ok
}

# retry_every S COMMAND: the command, at most once every S seconds
retry_every() {
	local s=$1
	shift
	"$@" && return 0
	sleep "$s"
	return 1
}
