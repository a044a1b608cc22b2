# Measurements for tests/bench/bench.sh: iperf3 throughput, per-process CPU
# from pidstat, ping latency, statistics. Source it; needs P, RES (the raw
# results file), W (scratch dir) and the BENCH_* parameters.

# x NODE COMMAND...: a command in one of the topology's namespaces
x() { local n=$1; shift; ip netns exec "$P-$n" "$@"; }

# res FIELDS...: one tab-separated line of raw results
res() { local IFS=$'\t'; echo "$*" >>"$RES"; }

# stats: median min max of the numbers on stdin (one a line), "- - -" if none
stats() {
	sort -g | awk '{ v[NR] = $1 }
		END { if (NR == 0) { print "- - -"; exit }
		      m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		      printf "%.6g %.6g %.6g\n", m, v[1], v[NR] }'
}
# pct P: the P-th percentile (nearest rank) of the numbers on stdin
pct() { sort -g | awk -v p="$1" '{ v[NR] = $1 } END { if (!NR) { print "-"; exit }
	r = int((p / 100) * NR + 0.999999); if (r < 1) r = 1; print v[r] }'; }

# ns_pid_list NODE...: "pid node" lines of every process in those namespaces
ns_pid_list() {
	local n p
	for n in "$@"; do
		for p in $(ip netns pids "$P-$n" 2>/dev/null); do echo "$p $n"; done
	done
}

# iperf_client OUT NODE ADDR ARGS...: iperf3 -c, output to OUT. The server
# takes a moment between tests to listen again: a connection refused or
# reset at the start is retried.
iperf_client() {
	local out=$1 node=$2 addr=$3 try
	shift 3
	for try in 1 2 3 4 5; do
		x "$node" timeout $((BENCH_SECONDS + 20)) iperf3 -c "$addr" -f m "$@" >"$out" 2>&1 && return 0
		grep -q "unable to \(connect\|receive control\|send control\)" "$out" || return 1
		sleep 0.5
	done
	return 1
}

# iperf_run PATH DIR STREAMS RUN CLIENT_NODE SERVER_ADDR [CPU_NODES...]
# One iperf3 run of BENCH_SECONDS; with CPU_NODES, pidstat samples every
# process of those nodes during the run (the ramp-up second excluded).
# Prints the receiver's Mbit/s (0 when the run failed).
iperf_run() {
	local path=$1 dir=$2 streams=$3 run=$4 client=$5 addr=$6
	shift 6
	local out=$W/iperf-$path-$dir-$streams-$run.txt rev=() mbps pids pidmap cpu=$W/cpu-$path-$dir-$streams-$run.txt
	[ "$dir" = down ] && rev=(-R)
	pidmap=$(ns_pid_list "$@")
	iperf_client "$out" "$client" "$addr" -t "$BENCH_SECONDS" -P "$streams" "${rev[@]}" &
	local ip=$!
	if [ -n "$pidmap" ] && [ "$BENCH_SECONDS" -ge 2 ]; then
		sleep 1
		pids=$(awk '{ printf "%s%s", (NR > 1 ? "," : ""), $1 }' <<<"$pidmap")
		LC_ALL=C pidstat -h -u -p "$pids" $((BENCH_SECONDS - 1)) 1 >"$cpu" 2>&1
	elif [ -n "$pidmap" ]; then
		pids=$(awk '{ printf "%s%s", (NR > 1 ? "," : ""), $1 }' <<<"$pidmap")
		LC_ALL=C pidstat -h -u -p "$pids" 1 1 >"$cpu" 2>&1
	fi
	wait "$ip"
	mbps=$(awk '/receiver/ { for (i = 1; i <= NF; i++) if ($i == "Mbits/sec") v = $(i - 1) }
		END { print (v == "" ? 0 : v) }' "$out")
	res tput "$path" "$dir" "$streams" "$run" "$mbps"
	[ -n "$pidmap" ] && cpu_record "$path" "$dir" "$streams" "$run" "$mbps" "$cpu" "$pidmap"
	echo "$mbps"
}

# cpu_record ...: per node and process name, %CPU (of one core) during the run
cpu_record() {
	local path=$1 dir=$2 streams=$3 run=$4 mbps=$5 file=$6 pidmap=$7
	# pidstat -h: # Time UID PID %usr %system %guest %wait %CPU CPU Command
	awk -v path="$path" -v dir="$dir" -v st="$streams" -v run="$run" -v mbps="$mbps" '
		NR == FNR { node[$1] = $2; next }
		/^#/ || NF < 10 { next }
		($3 in node) { k = node[$3] "\t" $10; c[k] += $8 }
		END { for (k in c) printf "cpu\t%s\t%s\t%s\t%s\t%s\t%s\t%.2f\n", path, dir, st, run, mbps, k, c[k] }
	' <(echo "$pidmap") "$file" >>"$RES"
}

# ping_stats PATH STATE NODE ADDR COUNT: COUNT pings 10 ms apart; records
# median and 99th percentile round trip (ms), and how many came back
ping_stats() {
	local path=$1 state=$2 node=$3 addr=$4 count=$5 out=$W/ping-$1-$2.txt med p99 n
	x "$node" ping -n -q -c 20 -i 0.01 -W 2 "$addr" >/dev/null 2>&1 # warm ARP and conntrack
	x "$node" ping -n -c "$count" -i 0.01 -W 2 "$addr" >"$out" 2>&1
	n=$(grep -c 'time=' "$out")
	med=$(sed -n 's/.*time=\([0-9.]*\) ms.*/\1/p' "$out" | stats | cut -d' ' -f1)
	p99=$(sed -n 's/.*time=\([0-9.]*\) ms.*/\1/p' "$out" | pct 99)
	res lat "$path" "$state" "$med" "$p99" "$n" "$count"
	[ "$n" -gt 0 ]
}

# latency PATH CLIENT ADDR: idle, then under a 1-stream upload
latency() {
	local path=$1 node=$2 addr=$3 ok=0 lp
	ping_stats "$path" idle "$node" "$addr" "$BENCH_PINGS" || ok=1
	iperf_client "$W/iperf-$path-loadping.txt" "$node" "$addr" -t $((BENCH_PINGS / 100 * 2 + 4)) &
	lp=$!
	sleep 1
	ping_stats "$path" load "$node" "$addr" "$BENCH_PINGS" || ok=1
	wait "$lp"
	return $ok
}

# throughput PATH CLIENT_NODE SERVER_ADDR CPU_NODES...: every direction and
# stream count, BENCH_RUNS times each; fails if any run moved nothing
throughput() {
	local path=$1 client=$2 addr=$3 dir st run mbps ok=0
	shift 3
	for st in 1 4; do
		for dir in up down; do
			for ((run = 1; run <= BENCH_RUNS; run++)); do
				if [ "$st" = 1 ]; then
					mbps=$(iperf_run "$path" "$dir" "$st" "$run" "$client" "$addr" "$@")
				else
					mbps=$(iperf_run "$path" "$dir" "$st" "$run" "$client" "$addr")
				fi
				echo "  $path $dir ${st}x run $run: $mbps Mbit/s"
				awk -v m="$mbps" 'BEGIN { exit !(m > 0) }' || ok=1
			done
		done
	done
	return $ok
}
