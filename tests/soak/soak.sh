#!/bin/bash
# make soak: a thousand faulted sessions, nothing leaked (docs/soak.md).
#
# The namespace topology of tests/topo.sh with PAIRS master/onsite pairs and
# the real daemons (tests/lib/rdv-env.sh, devices.sh). In rounds, every pair
# opens a session (masterdev -o), carries traffic (ping and curl from the
# laptop to the customer host), then most sessions end by a fault drawn from
# SEED (tests/soak/faults.sh). After every round: every device back online
# within 10 s of its fault's end, every machine as it was idle (a diff
# against a baseline snapshot, tests/soak/state.sh), rdvd's pool and vtund
# ports idle, every session end logged with its reason; the daemons' fd
# counts and RSS are sampled. Writes SOAK_OUT/REPORT.md and a chart. Root;
# bounded in time; removes everything it made, also on failure. Ends
# "N passed, N failed".
#
#   SOAK_N=1000      sessions in all
#   PAIRS=6          master/onsite pairs cycling sessions at once (1-10)
#   SEED=            replays a run's faults (default: drawn, printed)
#   SOAK_DATA_PATH=  the devices' data path: relay (default) or classic
#   SOAK_OUT=soak    where REPORT.md and soak.svg go
#   SOAK_MAX_SECONDS the time bound (default 300 + 3 s per session)
set -u
# the whole script is one block, read before it runs: editing the file
# during a run (a long one) cannot change what the run does
{
T_NAME=soak
REPO=${REPO:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${BUILD:-$REPO/build}
. "$REPO/tests/lib/common.sh"
. "$REPO/tests/lib/rdv-env.sh"
. "$REPO/tests/lib/devices.sh"
. "$REPO/tests/bench/measure.sh"
. "$REPO/tests/bench/paths.sh"
. "$REPO/tests/bench/capacity.sh"
. "$REPO/tests/soak/state.sh"
. "$REPO/tests/soak/faults.sh"
need_root

SOAK_N=${SOAK_N:-1000}
PAIRS=${PAIRS:-6}
SEED=${SEED:-$((($(date +%s%N) / 1000) % 32768))}
SOAK_OUT=${SOAK_OUT:-$REPO/soak}
SOAK_MAX_SECONDS=${SOAK_MAX_SECONDS:-$((300 + 3 * SOAK_N))}
[[ $SOAK_N =~ ^[1-9][0-9]{0,4}$ ]] || { echo "soak: N='$SOAK_N': expected 1-99999" >&2; exit 2; }
[[ $PAIRS =~ ^([1-9]|10)$ ]] || { echo "soak: PAIRS='$PAIRS': expected 1-10" >&2; exit 2; }
[[ $SEED =~ ^[0-9]{1,5}$ ]] || { echo "soak: SEED='$SEED': expected 0-32767" >&2; exit 2; }
# the devices' data path (docs/datapath.md): relay, the default, or classic
SOAK_DATA_PATH=${SOAK_DATA_PATH:-relay}
[[ $SOAK_DATA_PATH =~ ^(relay|classic)$ ]] ||
	{ echo "soak: SOAK_DATA_PATH='$SOAK_DATA_PATH': expected relay or classic" >&2; exit 2; }
export DEV_DATA_PATH=$SOAK_DATA_PATH
# "flat" (docs/soak.md): after WARM samples, fds within FD_TOL, RSS within
# max(RSS_TOL_KB, RSS_TOL_PCT %) from the first third to the last third
WARM=3 FD_TOL=2 RSS_TOL_KB=512 RSS_TOL_PCT=5
RECOVER_S=10  # every device back online within this of its fault's end
# sanitizer builds (make soak ASAN=1): their reports end up in the logs
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$REPO/tests/lsan.supp}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

TOPO=$REPO/tests/topo.sh
P=k$(printf '%04d' $(($$ % 10000)))
PLC=10.1.0.20
W=$BUILD/soak-work
rm -rf "$W"
mkdir -p "$W"
trap 'run_cleanup' EXIT
trap 'exit 1' INT TERM
trap '' PIPE
# every daemon's stderr (sanitizer reports among it) goes here; the results
# to the terminal and to out.log (the report lists them)
exec 2>>"$W/stderr.log" > >(tee -a "$W/out.log")
START=$(date +%s)
# the commit measured, taken now: the tree may move on during a long run
KIT=$(git -C "$REPO" describe --always --dirty 2>/dev/null || echo "no git")
elapsed() { echo $(($(date +%s) - START)); }
echo "soak: $P, $SOAK_N sessions, $PAIRS pairs, SEED=$SEED, bound ${SOAK_MAX_SECONDS}s, $BUILD"

plan
"$TOPO" up "$P" --pairs "$PAIRS" || { not_ok "topology comes up"; finish; exit 1; }
at_exit "$TOPO" down "$P"

# rdvd's log on a small file system of its own, so that it can be filled
D=/run/rdvtest-$P
mkdir -p "$D/logfs"
at_exit rm -rf "$D" # after the unmount below
mount -t tmpfs -o size=32m,mode=0755 soak-log "$D/logfs" || { not_ok "log tmpfs mounted"; finish; exit 1; }
at_exit umount -l "$D/logfs"
RDV_NS=$P-rdv RDV_IP=198.18.0.10
LOGS=$BUILD/e2e-logs/soak
# a technician opens a session every few seconds here, far above the
# attempt limit meant for people (10 a minute, tested by test-rdvd-faults)
rdv_setup "$P" "session = { connect_attempts = 10000; connect_window = 60; };" ||
	{ not_ok "RDV server starts"; finish; exit 1; }
at_exit cp "$D/logfs/rdvd.log" "$LOGS/rdvd.log"
stop_wait TERM "$RDVD_PID"
mv "$D/rdvd.log" "$D/logfs/rdvd.log"
ln -s logfs/rdvd.log "$D/rdvd.log"
sed -i -e "s#^log_file = .*#log_file = \"$D/logfs/rdvd.log\";#" -e 's/uid_count = 500;/uid_count = 600;/' "$D/rdvd.conf"
# the login burst's 50 devices share one address, like a support office
# behind one NAT: the front door's per-source limit raised as rdv-frontdoor.nft says
sed 's/ct count over 16/ct count over 64/' "$REPO/rdv-server/conf/rdv-frontdoor.nft" |
	ip netns exec "$NS_RDV" nft -f -
check "RDV server runs with its log on a 32 MB tmpfs" rdvd_start

ready=0
for ((i = 1; i <= PAIRS; i++)); do chain_up "$i" || ready=1; done
for ((i = 1; i <= PAIRS; i++)); do
	wait_for 40 online_free "$i" && wait_for 40 leased "$i" || ready=1
done
if grep -q 'login-burst' "$W/plan.tsv"; then
	cap_setup && cap_accounts "$BURST" || ready=1
fi
check "$PAIRS pairs online, laptops leased ($(elapsed) s)" test $ready = 0
[ $ready = 0 ] || { finish; exit 1; }

# idle baseline, once the first logins settled
sleep 1
baseline
sample 0

master_online() { grep -q "^${P}m$1 " <<<"$DEVS"; }
settled() { established "$1" || ! alive "${MDEV[$1]}"; }
master_listed() { rdvctl devices | grep -q "^${P}m$1 "; }
onsite_free() { grep -q "^${P}o$1 .*plc-site-$1 .*free" <<<"$DEVS"; }
traffic() { # I: ping and the customer's page from the laptop
	x "laptop$1" ping -c 2 -i 0.2 -W 2 -q "$PLC" >/dev/null 2>&1 &&
	[ "$(x "laptop$1" curl -sS -m 10 "http://$PLC/" 2>&1)" = "plc$1 of customer $1: hello from the customer LAN" ]
}
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }
log_count() { grep -c "$2" "$1" 2>/dev/null; }

# results: sessions.tsv "round pair kind opened traffic recover_s end_logged",
# leaks.txt, problems.txt (one line per failure, with round and seed)
: >"$W/sessions.tsv"
: >"$W/problems.txt"
: >"$W/leaks.txt"
problem() { echo "round $ROUND: $*" | tee -a "$W/problems.txt"; }

run_round() {
	local i kind g t_end rec ended mlog rlog
	local -A K T_END REC_S OPENED TRAFFIC MCOUNT
	local -a pairs=()
	while IFS=$'\t' read -r r i kind; do
		[ "$r" = "$ROUND" ] || continue
		pairs+=("$i")
		K[$i]=$kind
	done <"$W/plan.tsv"
	g=
	case ${K[${pairs[0]}]} in rdvd-* | rdv-* | log-disk-full | login-burst | kill9-stunnel-rdv) g=${K[${pairs[0]}]} ;; esac
	[ -n "$g" ] && round_before "$g"
	rlog=$(log_count "$D/rdvd.log" ": session [0-9]*: ended, .*, reason: .")
	for i in "${pairs[@]}"; do
		MCOUNT[$i]=$(log_count "$D/${P}m$i/masterd.log" "session with ${P}o$i ended after")
		: >"$D/masterdev-$i.out"
		session_open "$i"
	done
	# open and carry traffic, all pairs at once
	for i in "${pairs[@]}"; do
		( wait_for 30 settled "$i"; established "$i" || exit 2; traffic "$i" || exit 3 ) &
		OPENED[$i]=$!
	done
	for i in "${pairs[@]}"; do
		wait "${OPENED[$i]}"
		case $? in
		0) OPENED[$i]=1 TRAFFIC[$i]=1 ;;
		3) OPENED[$i]=1 TRAFFIC[$i]=0; problem "pair $i: session opened but carried no traffic" ;;
		*) OPENED[$i]=0 TRAFFIC[$i]=0; problem "pair $i: session not established in 30 s: $(tail -2 "$D/masterdev-$i.out" | tr '\n' ' ')" ;;
		esac
	done
	# the faults: a round fault, or each pair's at once, each ending after its
	# own duration (0-3 s); recovery is polled from each one's end on: the
	# session ended and both devices online (the onsite free), or the session
	# survived the fault and carries traffic again
	local -A DUE
	local t0 left=${#pairs[@]} deadline=$((SECONDS + 60)) ended_all=0
	if [ -n "$g" ]; then
		round_start "$g"
		sleep "$DUR"
		round_end "$g"
		# a burst lasts until its devices are all online
		[ "$g" = login-burst ] && { burst_wait || problem "login burst: $(tail -1 "$W/burst.txt")"; }
		t_end=$(now)
		for i in "${pairs[@]}"; do T_END[$i]=$t_end; done
	else
		for i in "${pairs[@]}"; do
			# a session that never opened has nothing to fault
			[ "${OPENED[$i]}" = 1 ] || { T_END[$i]=$(now); continue; }
			fault_start "$i" "${K[$i]}"
			DUE[$i]=$DUR
		done
	fi
	t0=$(now)
	while [ "$left" -gt 0 ] && [ $SECONDS -lt $deadline ]; do
		if [ -z "$g" ]; then
			for i in "${pairs[@]}"; do
				[ -n "${T_END[$i]:-}" ] && continue
				awk -v a="$t0" -v b="$(now)" -v d="${DUE[$i]}" 'BEGIN { exit !(b - a >= d) }' || continue
				fault_end "$i" "${K[$i]}"
				T_END[$i]=$(now)
			done
		fi
		DEVS=$(rdvctl devices 2>/dev/null)
		for i in "${pairs[@]}"; do
			[ -n "${REC_S[$i]:-}" ] || [ -z "${T_END[$i]:-}" ] && continue
			if alive "${MDEV[$i]}"; then
				[[ $SURVIVABLE == *" ${K[$i]} "* ]] || continue
				x "laptop$i" ping -c 1 -W 1 -q "$PLC" >/dev/null 2>&1 || continue
			else
				master_online "$i" && onsite_free "$i" && leased "$i" || continue
			fi
			REC_S[$i]=$(since "${T_END[$i]}")
			left=$((left - 1))
		done
		[ "$left" -gt 0 ] && sleep 0.2
	done
	# a fault not ended yet (the deadline passed first) ends now
	for i in "${pairs[@]}"; do
		[ -n "$g" ] || [ -n "${T_END[$i]:-}" ] || { fault_end "$i" "${K[$i]}"; T_END[$i]=$(now); }
	done
	if [ "$g" = login-burst ]; then
		burst_end || problem "login burst: $(tail -1 "$W/burst.txt")"
	fi
	# whatever still runs is closed by its technician
	for i in "${pairs[@]}"; do
		alive "${MDEV[$i]}" && int_wait "${MDEV[$i]}"
		wait "${MDEV[$i]}" 2>/dev/null
		forget_pid "${MDEV[$i]}"
	done
	for i in "${pairs[@]}"; do
		wait_for 15 online_free "$i" && wait_for 15 leased "$i" && wait_for 5 master_listed "$i" ||
			problem "pair $i: devices not back online and free after ${K[$i]}"
	done
	for i in "${pairs[@]}"; do
		rec=${REC_S[$i]:-timeout}
		if [ "$rec" = timeout ] || awk -v r="$rec" -v l="$RECOVER_S" 'BEGIN { exit !(r > l) }'; then
			problem "pair $i: not recovered within ${RECOVER_S} s of the end of ${K[$i]} ($rec)"
		fi
	done
	# nothing left of the sessions anywhere
	if ! wait_for 10 like_baseline; then
		{ echo "== round $ROUND (SEED=$SEED), faults: $(for i in "${pairs[@]}"; do echo -n "$i:${K[$i]} "; done)"
		  cat "$W/diff"; } >>"$W/leaks.txt"
		problem "leak: $(grep -c '^[<>]' "$W/diff") lines differ from the idle baseline (leaks.txt)"
		baseline # judge the next rounds on their own
	fi
	rdv_idle || problem "rdvd not idle: $(rdvctl status | tr '\n' ' ')"
	# every end logged with its reason: by masterd (unless it was killed),
	# by rdvd (unless killed -9 or its disk was full)
	for i in "${pairs[@]}"; do
		ended=1
		mlog=$(log_count "$D/${P}m$i/masterd.log" "session with ${P}o$i ended after [0-9]*s: .")
		[ "${K[$i]}" = kill9-masterd ] || [ "${OPENED[$i]}" = 0 ] || [ "$mlog" -gt "${MCOUNT[$i]}" ] ||
			{ ended=0; problem "pair $i: masterd logged no end for the session (${K[$i]})"; }
		printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$ROUND" "$i" "${K[$i]}" "${OPENED[$i]}" "${TRAFFIC[$i]}" \
			"${REC_S[$i]:-timeout}" "$ended" >>"$W/sessions.tsv"
	done
	if [ "$g" != rdvd-kill9 ] && [ "$g" != log-disk-full ]; then
		local n o=0
		for i in "${pairs[@]}"; do o=$((o + OPENED[$i])); done
		n=$(($(log_count "$D/rdvd.log" ": session [0-9]*: ended, .*, reason: .") - rlog))
		[ "$n" -ge "$o" ] || problem "rdvd logged $n session ends with a reason for $o sessions"
	fi
	sample "$ROUND"
}

for ((ROUND = 1; ROUND <= ROUNDS; ROUND++)); do
	if [ "$(elapsed)" -ge "$SOAK_MAX_SECONDS" ]; then
		problem "time bound of ${SOAK_MAX_SECONDS} s reached: stopped"
		break
	fi
	run_round
	echo "round $ROUND/$ROUNDS ($(elapsed) s): $(awk -F'\t' -v r="$ROUND" '$1 == r { printf "%s:%s ", $3, $6 }' "$W/sessions.tsv")"
done
DONE_ROUNDS=$((ROUND - 1))
ELAPSED=$(elapsed)

sessions=$(grep -c . "$W/sessions.tsv")
check "$sessions sessions run (of $SOAK_N) in ${ELAPSED} s, within the bound" \
	bash -c "[ $sessions -eq $SOAK_N ] && ! grep -q 'time bound' '$W/problems.txt'"
check "every session opened and carried traffic (ping, the customer's page)" \
	bash -c "! grep -q 'not established\|no traffic' '$W/problems.txt'"
check "every device back online within ${RECOVER_S} s of its fault's end" \
	bash -c "! grep -q 'not recovered\|not back online' '$W/problems.txt'"
check "after every session every machine was as idle: no process, tun, rule, route, nft element, address or file left" \
	test ! -s "$W/leaks.txt"
check "after every session rdvd's /30 pool and vtund ports were idle (rdvctl status)" \
	bash -c "! grep -q 'rdvd not idle' '$W/problems.txt'"
check "every session end logged with its reason (masterd, rdvd)" \
	bash -c "! grep -q 'logged no end\|session ends with a reason' '$W/problems.txt'"
grep -q login-burst "$W/plan.tsv" &&
	check "login bursts: $BURST devices online after an RDV restart, then offline" bash -c "! grep -q 'login burst' '$W/problems.txt'"
flat fd >"$W/flat-fd.md"; fd_rc=$?
flat rss >"$W/flat-rss.md"; rss_rc=$?
judged=$(grep -c '^|' "$W/flat-fd.md")
if [ "$judged" = 0 ]; then
	# a check that cannot fail is no check: said, not counted
	echo "# fds and RSS not judged: no daemon has $((WARM + 8)) samples (a longer run has)"
else
	if [ $fd_rc = 0 ]; then
		ok "each daemon's fd count flat after warm-up (within $FD_TOL; $judged series)"
	else
		not_ok "each daemon's fd count flat after warm-up (within $FD_TOL)"; cat "$W/flat-fd.md"
	fi
	if [ "${SAN_BUILD:-0}" = 1 ]; then
		echo "# RSS under ASan (its quarantine keeps freed memory) not judged"
	elif [ $rss_rc = 0 ]; then
		ok "each daemon's RSS flat after warm-up (within max($RSS_TOL_KB kB, $RSS_TOL_PCT %); $judged series)"
	else
		not_ok "each daemon's RSS flat after warm-up (within max($RSS_TOL_KB kB, $RSS_TOL_PCT %))"; cat "$W/flat-rss.md"
	fi
fi

# the daemons stop cleanly (a sanitizer build reports leaks at exit)
stop_rc=0
kill "$RDVD_PID"
wait "$RDVD_PID" || { echo "rdvd exited $?"; stop_rc=1; }
for ((i = 1; i <= PAIRS; i++)); do
	kill "${MASTERD_PID[${P}m$i]}" "${ONSITED_PID[${P}o$i]}" 2>/dev/null
done
for ((i = 1; i <= PAIRS; i++)); do
	for p in "${MASTERD_PID[${P}m$i]}" "${ONSITED_PID[${P}o$i]}"; do
		wait "$p"; rc=$?
		[ $rc = 0 ] || { echo "pid $p exited $rc"; stop_rc=1; }
	done
done
check "rdvd, masterd and onsitedev stop with status 0 on SIGTERM" test $stop_rc = 0
sleep 0.5
reports=$(grep -l "AddressSanitizer\|LeakSanitizer\|runtime error" "$W/stderr.log" $(find "$D" -name '*.log' 2>/dev/null) 2>/dev/null)
[ -z "$reports" ] || grep -h -A20 "Sanitizer\|runtime error" $reports | head -40
check "no sanitizer report from any daemon" test -z "$reports"
FAILS=$(grep -c . "$W/problems.txt")

mkdir -p "$SOAK_OUT"
. "$REPO/tests/soak/report.sh"
check "report written ($SOAK_OUT/REPORT.md)" soak_report "$SOAK_OUT"
check "chart written ($SOAK_OUT/soak.svg)" soak_chart "$SOAK_OUT"
finish
exit
}
