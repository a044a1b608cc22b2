#!/bin/bash
# make bench: the kit's data path side by side with the plain routed path,
# OpenVPN 2.6 (TCP 443, client-to-client through the RDV node) and bare vtun,
# on tests/topo.sh's namespace topology, with the real programs driven as
# tests/e2e/test-session.sh drives them. Writes BENCH_OUT/REPORT.md, the raw
# results (results.tsv) and a chart (throughput.svg). Root; cleans up
# everything it made, also on failure. Ends "N passed, N failed" (the checks
# are that every measurement produced something, never how fast it was).
#
# Parameters (environment):
#   BENCH_SMOKE=1       seconds-long run for make check: one short run each
#   BENCH_RUNS=3        runs per throughput figure (median/min/max)
#   BENCH_SECONDS=8     length of each iperf3 run
#   BENCH_PINGS=300     pings per latency figure
#   BENCH_SETUPS=10     session set-ups and teardowns timed
#   BENCH_CAP="10 100 500"  idle onsite devices online at once, in steps
#   BENCH_SESSIONS=10   concurrent sessions (1 to 10)
#   BENCH_OUT=bench     where the report goes
set -u
T_NAME=bench
REPO=${REPO:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${BUILD:-$REPO/build}
. "$REPO/tests/lib/common.sh"
. "$REPO/tests/lib/rdv-env.sh"
. "$REPO/tests/lib/devices.sh"
. "$REPO/tests/bench/measure.sh"
. "$REPO/tests/bench/paths.sh"
. "$REPO/tests/bench/capacity.sh"
need_root

if [ "${BENCH_SMOKE:-0}" = 1 ]; then
	: "${BENCH_RUNS:=1}" "${BENCH_SECONDS:=1}" "${BENCH_PINGS:=20}" "${BENCH_SETUPS:=1}"
	: "${BENCH_CAP:=3}" "${BENCH_SESSIONS:=2}" "${BENCH_OUT:=$BUILD/bench-smoke}"
fi
BENCH_RUNS=${BENCH_RUNS:-3}
BENCH_SECONDS=${BENCH_SECONDS:-8}
BENCH_PINGS=${BENCH_PINGS:-300}
BENCH_SETUPS=${BENCH_SETUPS:-10}
BENCH_CAP=${BENCH_CAP:-10 100 500}
BENCH_SESSIONS=${BENCH_SESSIONS:-10}
BENCH_OUT=${BENCH_OUT:-$REPO/bench}
for v in BENCH_RUNS BENCH_SECONDS BENCH_PINGS BENCH_SETUPS BENCH_SESSIONS; do
	[[ ${!v} =~ ^[1-9][0-9]{0,3}$ ]] || { echo "bench: $v='${!v}': expected a number 1-9999" >&2; exit 2; }
done
[ "$BENCH_SESSIONS" -le 10 ] || { echo "bench: BENCH_SESSIONS=$BENCH_SESSIONS: at most 10" >&2; exit 2; }
for n in $BENCH_CAP; do
	[[ $n =~ ^[1-9][0-9]{0,2}$ ]] || { echo "bench: BENCH_CAP: '$n': expected 1-999" >&2; exit 2; }
done
for p in iperf3 openvpn pidstat gnuplot; do
	command -v $p >/dev/null || { echo "not ok - $p is missing (tests/deps.sh installs it)"; echo "0 passed, 1 failed"; exit 1; }
done

TOPO=$REPO/tests/topo.sh
P=b$(printf '%04d' $(($$ % 10000)))
PLC=10.1.0.20
trap 'run_cleanup' EXIT
trap 'exit 1' INT TERM
trap '' PIPE
# scratch: logs, configurations, raw output; kept for whoever reads a failure
W=$BUILD/bench-work
rm -rf "$W"
mkdir -p "$W"
RES=$W/results.tsv
: >"$RES"
START=$(date +%s)
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
echo "bench: $P, runs $BENCH_RUNS x ${BENCH_SECONDS}s, load $LOAD_START"

PAIRS=$BENCH_SESSIONS
"$TOPO" up "$P" --pairs "$PAIRS" || { not_ok "topology comes up"; finish; exit 1; }
at_exit "$TOPO" down "$P"
ok "topology with $PAIRS pairs is up"

phase() { echo "--- $* ($(($(date +%s) - START)) s)"; }

phase "plain routed path: master1 -> rdv"
iperf_server rdv 198.18.0.10
check "plain path: every iperf3 run moved data" throughput plain master1 198.18.0.10 rdv master1
check "plain path: pings answered" latency plain master1 198.18.0.10

phase "OpenVPN 2.6, TCP 443, client-to-client through the RDV node"
if openvpn_up; then
	ok "OpenVPN server and both clients up"
	iperf_server onsite1 "$OVPN_PEER"
	check "openvpn: every iperf3 run moved data" throughput openvpn master1 "$OVPN_PEER" rdv master1 onsite1
	check "openvpn: pings answered" latency openvpn master1 "$OVPN_PEER"
	OVPN_CIPHER=$(grep -ho "Data Channel: cipher '[^']*'" "$W"/ovpn/master.log | head -1 | cut -d"'" -f2)
	kill "$LAST_BG" 2>/dev/null # the iperf3 server on the tun address
else
	not_ok "OpenVPN server and both clients up"
	tail -n 5 "$W"/ovpn/*.log
fi
openvpn_down

phase "bare vtun along the same hops"
if vtun_up; then
	ok "bare vtun server and both clients up"
	iperf_server onsite1 $VT_NET.6
	check "vtun: every iperf3 run moved data" throughput vtun master1 $VT_NET.6 rdv master1 onsite1
	check "vtun: pings answered" latency vtun master1 $VT_NET.6
	kill "$LAST_BG" 2>/dev/null
else
	not_ok "bare vtun server and both clients up"
	tail -n 5 "$W"/vtun/*.log
fi
vtun_down

phase "our chain: laptop1 -> masterd -> rdvd -> onsitedev -> plc1"
RDV_NS=$P-rdv RDV_IP=198.18.0.10
LOGS=$BUILD/e2e-logs/bench
rdv_setup "$P" || { not_ok "RDV server starts"; finish; exit 1; }
# room for the capacity run's accounts beside the pairs' (uids 41000-41599)
sed -i 's/uid_count = 500;/uid_count = 600;/' "$D/rdvd.conf"
# the set-up phase opens a session a second from one master: no attempt limit
echo 'session = { connect_attempts = 0; };' >>"$D/rdvd.conf"
kill "$RDVD_PID"
wait "$RDVD_PID" 2>/dev/null
check "RDV server starts" rdvd_start
chain_up 1 || not_ok "pair 1 devices"
check "pair 1: the onsite is online" wait_for 30 online_free 1
check "pair 1: the laptop has a lease" wait_for 30 leased 1
iperf_server plc1 0.0.0.0
session_open 1
if check "masterdev -o establishes session 1" wait_for 40 established 1; then
	check "chain: every iperf3 run moved data" throughput chain laptop1 $PLC rdv master1 onsite1
	check "chain: pings answered" latency chain laptop1 $PLC
fi
session_close 1

phase "session set-up and teardown, $BENCH_SETUPS times"
setup_teardown() {
	local run t0 first pings fail=0
	for ((run = 1; run <= BENCH_SETUPS; run++)); do
		wait_for 15 online_free 1 || { fail=1; break; }
		# a ping every 10 ms from the laptop, then masterdev -o: set-up ends at the first reply
		ip netns exec "$P-laptop1" ping -D -n -i 0.01 -W 1 -w 20 $PLC >"$W/setup-ping.txt" 2>&1 &
		pings=$!
		sleep 0.2
		t0=$(date +%s.%N)
		session_open 1
		wait_for 20 grep -q "bytes from" "$W/setup-ping.txt" || { fail=1; kill $pings; break; }
		kill $pings 2>/dev/null
		wait $pings 2>/dev/null
		first=$(grep -m1 "bytes from" "$W/setup-ping.txt" | sed 's/^\[\([0-9.]*\)\].*/\1/')
		wait_for 10 established 1 || { fail=1; break; }
		local t1 t2 t3
		t1=$(date +%s.%N)
		int_wait "${MDEV[1]}"
		t2=$(date +%s.%N)
		wait_for 10 session_gone 1 || { fail=1; break; }
		t3=$(date +%s.%N)
		res setup "$run" "$(awk -v a="$t0" -v b="$first" 'BEGIN { printf "%.3f", b - a }')"
		res teardown "$run" "$(awk -v a="$t1" -v b="$t2" 'BEGIN { printf "%.3f", b - a }')" \
			"$(awk -v a="$t1" -v b="$t3" 'BEGIN { printf "%.3f", b - a }')"
	done
	return $fail
}
check "every session set up and torn down" setup_teardown
echo "  set-up (s, median min max): $(awk -F'\t' '$1 == "setup" { print $3 }' "$RES" | stats)"
echo "  teardown to nothing left (s): $(awk -F'\t' '$1 == "teardown" { print $4 }' "$RES" | stats)"

phase "$BENCH_SESSIONS concurrent sessions with traffic"
check "$BENCH_SESSIONS concurrent sessions carry traffic, each reaches only its own customer" \
	sessions "$BENCH_SESSIONS"

phase "RDV capacity: $BENCH_CAP idle onsite devices"
check "capacity: every device online and listed" capacity

LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
ELAPSED=$(($(date +%s) - START))
phase "report"
mkdir -p "$BENCH_OUT"
. "$REPO/tests/bench/report.sh"
check "REPORT.md written" report "$BENCH_OUT"
check "chart written" chart "$BENCH_OUT"
echo "bench: $BENCH_OUT/REPORT.md"
finish
