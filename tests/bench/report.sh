# REPORT.md and the chart from the raw results ($RES), for tests/bench/bench.sh.

PATHS="plain openvpn vtun chain"
declare -A PATH_NAME=([plain]="plain routed path" [openvpn]="OpenVPN 2.6 TCP/443"
	[vtun]="bare vtun (no TLS)" [chain]="our chain")

# sel AWK_CONDITION FIELD: one field of the matching result lines
sel() { awk -F'\t' "$1 { print \$$2 }" "$RES"; }
tput_stats() { sel "\$1 == \"tput\" && \$2 == \"$1\" && \$3 == \"$2\" && \$4 == \"$3\"" 6 | stats; }
med() { cut -d' ' -f1; }
# ratio A B: A/B with two decimals, "-" when either is missing
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || b + 0 == 0) print "-"; else printf "%.2f", a / b }'; }
# verdict VALUE OP LIMIT: met or missed
verdict() { awk -v v="$1" -v l="$3" -v op="$2" 'BEGIN { if (v == "-") { print "not measured"; exit }
	r = (op == "<" ? v < l : v >= l); print (r ? "**met**" : "**missed**") }'; }

# cpu_node PATH DIR NODE: median over the 1-stream runs of the node's %CPU
# (iperf3, the load generator, left out) per 100 Mbit/s
cpu_node() {
	awk -F'\t' -v p="$1" -v d="$2" -v n="$3" '$1 == "cpu" && $2 == p && $3 == d && $4 == 1 && $7 == n && $8 != "iperf3" {
		c[$5] += $9; m[$5] = $6 }
		END { for (r in c) if (m[r] > 0) print c[r] / (m[r] / 100) }' "$RES" | stats | med |
		awk '{ if ($1 == "-") print; else printf "%.1f\n", $1 }'
}
cpu_procs() { # PATH: node, process, %CPU per 100 Mbit/s up and down
	awk -F'\t' -v p="$1" '$1 == "cpu" && $2 == p && $4 == 1 && $6 > 0 && $8 != "iperf3" { print $7 "\t" $8 "\t" $3 "\t" $9 / ($6 / 100) }' "$RES" |
		sort | awk -F'\t' '{ k = $1 "\t" $2; s[k, $3] += $4; n[k, $3]++; keys[k] = 1 }
		END { for (k in keys) { split(k, a, "\t")
			if (s[k, "up"] + s[k, "down"] < 0.05) continue
			printf "| %s | %s | %.1f | %.1f |\n", a[1], a[2], n[k, "up"] ? s[k, "up"] / n[k, "up"] : 0,
				n[k, "down"] ? s[k, "down"] / n[k, "down"] : 0 } }' | sort
}

report() {
	local out=$1/REPORT.md f p d st s c o r
	{
	echo "# rdv kit benchmark"
	echo
	echo "Written by \`make bench\` (tests/bench/bench.sh) on $(date -u '+%Y-%m-%d %H:%M UTC'), in ${ELAPSED} s."
	echo "Method: docs/bench.md. Raw results: results.tsv; chart: throughput.svg."
	[ "${BENCH_SMOKE:-0}" = 1 ] && echo && echo "**Smoke run (make check): one short run each; the numbers mean nothing.**"
	echo
	echo "## Machine"
	echo
	echo "- CPU: $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1), $(nproc) cores; AES instructions: $(grep -qw aes /proc/cpuinfo && echo yes || echo no)"
	echo "- memory: $(awk '/MemTotal/ { printf "%d MB", $2 / 1024 }' /proc/meminfo); kernel $(uname -r); Debian $(cat /etc/debian_version)"
	echo "- load average (1/5/15 min) at start: $LOAD_START; at end: $LOAD_END"
	if awk -v l="${LOAD_START%% *}" -v n="$(nproc)" 'BEGIN { exit !(l > n / 2) }'; then
		echo "- **measured on a loaded machine** (load average above half the cores at the start): other work shared the CPUs, numbers are noisy and low"
	fi
	echo "- all nodes are network namespaces of this one machine sharing its cores: a packet's cost on every node adds up on the same CPUs"
	echo "- kit: $(git -C "$REPO" describe --always --dirty 2>/dev/null || echo "no git")"
	echo -n "- versions:"
	for p in openvpn iperf3 vtun stunnel4 openssh-server openssl sysstat; do
		echo -n " $p $(dpkg-query -W -f='${Version}' $p 2>/dev/null);"
	done
	echo " OpenVPN data channel cipher: ${OVPN_CIPHER:-?} (userspace, --disable-dco)"
	echo "- parameters: BENCH_RUNS=$BENCH_RUNS BENCH_SECONDS=$BENCH_SECONDS BENCH_PINGS=$BENCH_PINGS BENCH_SETUPS=$BENCH_SETUPS BENCH_CAP=\"$BENCH_CAP\" BENCH_SESSIONS=$BENCH_SESSIONS"
	echo
	echo "## Throughput (iperf3 TCP, Mbit/s, median [min-max] of $BENCH_RUNS runs of ${BENCH_SECONDS} s)"
	echo
	echo "up = towards the customer side (laptop/master -> plc/onsite), down = iperf3 -R."
	echo
	echo "| path | 1 stream up | 1 stream down | 4 streams up | 4 streams down |"
	echo "| --- | --- | --- | --- | --- |"
	for p in $PATHS; do
		echo -n "| ${PATH_NAME[$p]} |"
		for st in 1 4; do for d in up down; do
			read -r s mn mx <<<"$(tput_stats $p $d $st)"
			echo -n " $s [$mn-$mx] |"
		done; done
		echo
	done
	for o in openvpn vtun plain; do
		echo -n "| ratio chain / $o |"
		for st in 1 4; do for d in up down; do
			echo -n " $(ratio "$(tput_stats chain $d $st | med)" "$(tput_stats $o $d $st | med)") |"
		done; done
		echo
	done
	echo
	echo "## CPU per 100 Mbit/s (% of one core, 1 stream, pidstat, median of the runs)"
	echo
	echo "Per node, every process of the node except iperf3 (the load generator). Kernel work done in"
	echo "softirq context (forwarding, veth) is charged to whichever process was interrupted, or to none."
	echo
	echo "| path | RDV up | RDV down | onsite up | onsite down | master up | master down |"
	echo "| --- | --- | --- | --- | --- | --- | --- |"
	for p in $PATHS; do
		echo -n "| ${PATH_NAME[$p]} |"
		for n in rdv onsite1 master1; do for d in up down; do
			c=$(cpu_node $p $d $n)
			awk -v c="$c" 'BEGIN { if (c == "-") printf " - |"; else printf " %.1f |", c }'
		done; done
		echo
	done
	echo
	echo "Per process (mean of the runs; processes under 0.05 left out):"
	echo
	for p in openvpn vtun chain; do
		echo "| ${PATH_NAME[$p]}: node | process | up | down |"
		echo "| --- | --- | --- | --- |"
		cpu_procs $p
		echo
	done
	echo "## Latency (ping every 10 ms, ms)"
	echo
	echo "Idle, and under a 1-stream upload through the same path. plain: master1 -> RDV node;"
	echo "openvpn, vtun: master1 -> onsite1's tunnel address; chain: laptop1 -> plc1."
	echo
	echo "| path | idle median | idle p99 | loaded median | loaded p99 | replies |"
	echo "| --- | --- | --- | --- | --- | --- |"
	for p in $PATHS; do
		awk -F'\t' -v p="$p" -v name="${PATH_NAME[$p]}" '$1 == "lat" && $2 == p { m[$3] = $4; q[$3] = $5; n[$3] = $6; c[$3] = $7 }
			END { printf "| %s | %s | %s | %s | %s | %s/%s, %s/%s |\n", name, m["idle"], q["idle"], m["load"], q["load"],
				n["idle"], c["idle"], n["load"], c["load"] }' "$RES"
	done
	local lat_plain lat_chain lat_ovpn added added_ovpn
	lat_plain=$(sel '$1 == "lat" && $2 == "plain" && $3 == "idle"' 4)
	lat_chain=$(sel '$1 == "lat" && $2 == "chain" && $3 == "idle"' 4)
	lat_ovpn=$(sel '$1 == "lat" && $2 == "openvpn" && $3 == "idle"' 4)
	added=$(awk -v a="${lat_chain:--}" -v b="${lat_plain:--}" 'BEGIN { if (a == "-" || b == "-") print "-"; else printf "%.3f", a - b }')
	added_ovpn=$(awk -v a="${lat_ovpn:--}" -v b="${lat_plain:--}" 'BEGIN { if (a == "-" || b == "-") print "-"; else printf "%.3f", a - b }')
	echo
	echo "Added median round trip over the plain path, idle: chain $added ms, OpenVPN $added_ovpn ms."
	echo
	local su td tc
	su=$(sel '$1 == "setup"' 3 | stats)
	td=$(sel '$1 == "teardown"' 3 | stats)
	tc=$(sel '$1 == "teardown"' 4 | stats)
	echo "## Session set-up and teardown (s, median min max of $BENCH_SETUPS)"
	echo
	echo "- set-up, \`masterdev -o\` started to the laptop's first ping reply (pings 10 ms apart): $su"
	echo "- teardown, Ctrl-C to \`masterdev\` exited: $td"
	echo "- teardown, Ctrl-C to nothing of the session left on master, RDV and onsite (polled): $tc"
	echo
	echo "## $BENCH_SESSIONS concurrent sessions (1 stream each, all at once, ${BENCH_SECONDS} s)"
	echo
	echo "| direction | aggregate Mbit/s | per session median [min-max] | fairness min/max | own customer's page only |"
	echo "| --- | --- | --- | --- | --- |"
	for d in up down; do
		local agg per iso
		agg=$(sel "\$1 == \"conc\" && \$3 == \"$d\"" 5 | awk '{ s += $1 } END { printf "%.0f", s }')
		read -r s mn mx <<<"$(sel "\$1 == \"conc\" && \$3 == \"$d\"" 5 | stats)"
		iso=$(sel "\$1 == \"iso\" && \$2 == \"$d\"" 4 | awk '{ n++; g += ($1 == "ok") } END { printf "%d of %d", g, n }')
		echo "| $d | $agg | $s [$mn-$mx] | $(ratio "$mn" "$mx") | $iso |"
	done
	echo
	echo "Isolation: while every session carries traffic, each laptop fetches http://$PLC/ (the same"
	echo "address on every customer LAN) and must get its own customer's page."
	echo
	echo "## RDV capacity (idle onsite devices, each a real login: stunnel, sshd, rdv-shell)"
	echo
	echo "RDV memory: proportional set size (PSS) of every process on the RDV node, minus before the"
	echo "devices logged in, per device (sshd's two processes, rdv-shell, stunnel's and rdvd's share)."
	echo
	echo "| devices | online | listed by masterdev -l | RDV PSS (MB) | per device (kB) | masterdev -l (ms, median [min-max] of 5) |"
	echo "| --- | --- | --- | --- | --- | --- |"
	for n in $BENCH_CAP; do
		read -r s mn mx <<<"$(sel "\$1 == \"list\" && \$2 == \"$n\"" 4 | awk '{ printf "%.1f\n", $1 / 1000 }' | stats)"
		awk -F'\t' -v n="$n" -v l="$s [$mn-$mx]" '$1 == "cap" && $2 == n { printf "| %s | %s | %s | %.1f | %s | %s |\n", n, $3, $4, $5 / 1024, $6, l }' "$RES"
	done
	echo
	echo "## Targets of issue 8"
	echo
	echo "| target | measured | verdict |"
	echo "| --- | --- | --- |"
	for st in 1 4; do for d in up down; do
		r=$(ratio "$(tput_stats chain $d $st | med)" "$(tput_stats openvpn $d $st | med)")
		echo "| chain >= 1.5x OpenVPN, $st stream(s) $d | ${r/#[0-9]*/${r}x} | $(verdict "$r" ">=" 1.5) |"
	done; done
	for d in up down; do
		local cr co
		cr=$(cpu_node chain $d rdv)
		co=$(cpu_node openvpn $d rdv)
		r=$(ratio "$cr" "$co")
		echo "| RDV CPU per 100 Mbit/s <= half OpenVPN's, $d | $cr vs $co % of a core: ${r/#[0-9]*/${r}x} | $(verdict "$r" "<" 0.5000001) |"
	done
	echo "| added median round trip < 1 ms idle | $added ms | $(verdict "$added" "<" 1) |"
	s=$(med <<<"$su")
	echo "| set-up < 0.5 s median | $s s | $(verdict "$s" "<" 0.5) |"
	s=$(med <<<"$tc")
	echo "| teardown < 1 s (median, to nothing left) | $s s | $(verdict "$s" "<" 1) |"
	local big
	big=$(for n in $BENCH_CAP; do echo "$n"; done | sort -n | tail -1)
	s=$(sel "\$1 == \"cap\" && \$2 == \"$big\"" 6)
	echo "| RDV memory < 4 MB per idle device ($big online) | ${s:--} kB | $(verdict "${s:--}" "<" 4096) |"
	s=$(sel "\$1 == \"list\" && \$2 == \"$big\"" 4 | awk '{ printf "%.1f\n", $1 / 1000 }' | stats | med)
	echo "| masterdev -l < 100 ms with $big online (500 asked) | $s ms | $(verdict "$s" "<" 100) |"
	echo
	echo "## Commands"
	echo
	echo '```'
	echo "topology: tests/topo.sh up $P --pairs $PAIRS"
	echo "iperf3 server: iperf3 -s -B ADDR   (rdv: 198.18.0.10; onsite1: its tunnel address; plcN: any)"
	echo "throughput: iperf3 -c ADDR -t $BENCH_SECONDS -P 1|4 [-R] -f m   (client: master1, or laptop1 for the chain)"
	echo "cpu: pidstat -h -u -p PIDS_OF_RDV,ONSITE1,MASTER1 $((BENCH_SECONDS > 1 ? BENCH_SECONDS - 1 : 1)) 1   (from 1 s into each 1-stream run)"
	echo "latency: ping -n -c $BENCH_PINGS -i 0.01 -W 2 ADDR   (after one warm-up round; loaded: during iperf3 -c ADDR)"
	echo "openvpn server (rdv): ${OVPN_SERVER_CMD[*]} --ca ca.crt --cert server.crt --key server.key"
	echo "openvpn clients (master1, onsite1): ${OVPN_CLIENT_CMD[*]} --ca ca.crt --cert NAME.crt --key NAME.key"
	echo "  PKI: openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 (CA), one P-256 certificate each"
	echo "bare vtun: vtund -s -n -f server.conf (rdv, port 443, tuns vbm/vbo, ip_forward); vtund -n -f bm.conf bm 198.18.0.10 (master1), bo (onsite1)"
	sed 's/passwd [0-9a-f]*/passwd SECRET/' "$W/vtun/server.conf" 2>/dev/null | sed 's/^/  /'
	echo "chain: rdvd, sshd, stunnel4, dbus-daemon on rdv (tests/lib/rdv-env.sh); onsitedev on onsite1, masterd on master1,"
	echo "  busybox udhcpc on laptop1 (tests/lib/devices.sh); masterdev -o ONSITE on master1;"
	echo "  session $(grep -m1 -o 'opened, .*data path [a-z]*' "$D/rdvd.log" 2>/dev/null | sed 's/.*data path/data path:/') (docs/datapath.md)"
	echo "set-up: ping -D -n -i 0.01 -W 1 $PLC on laptop1, then masterdev -o; teardown: kill -INT masterdev"
	echo "capacity: per device: rdvctl account add; ssh -T DEVICE@127.0.0.1 -p 2222 through one stunnel client,"
	echo "  sending set_tunnelling_dev_uplink_type/lan_ip_address/dns_server_list/hostname, then idle"
	echo "  masterdev -l on master1 (5 times); PSS from /proc/PID/smaps_rollup of every RDV process"
	echo '```'
	} >"$out.tmp" && mv "$out.tmp" "$out"
	cp "$RES" "$1/results.tsv"
	# nothing empty where a figure belongs
	! grep -q '| - \[-\]' "$out" || { grep '| - \[-\]' "$out" | head -3 >&2; return 1; }
}

chart() {
	local dir=$1 data=$W/chart.dat cpu=$W/chart-cpu.dat lat=$W/chart-lat.dat p d st n v
	{
		echo "# config plain openvpn vtun chain"
		for st in 1 4; do for d in up down; do
			echo -n "${st}x-$d"
			for p in $PATHS; do echo -n " $(tput_stats $p $d $st | med | sed 's/^-$/0.1/')"; done
			echo
		done; done
	} >"$data"
	{
		echo "# path rdv onsite master"
		for p in openvpn vtun chain; do
			echo -n "$p"
			for n in rdv onsite1 master1; do
				v=$(for d in up down; do cpu_node $p $d $n; done | grep -v '^-$' | stats | med)
				echo -n " ${v/#-/0}"
			done
			echo
		done
	} >"$cpu"
	{
		echo "# path idle_median idle_p99 load_median load_p99"
		for p in $PATHS; do
			awk -F'\t' -v p="$p" '$1 == "lat" && $2 == p { m[$3] = $4; q[$3] = $5 }
				END { printf "%s %s %s %s %s\n", p, m["idle"] + 0, q["idle"] + 0, m["load"] + 0, q["load"] + 0 }' "$RES"
		done
	} >"$lat"
	gnuplot <<-GP || return 1
	set terminal svg size 1000,1150 dynamic font "sans,12"
	set output "$dir/throughput.svg"
	set multiplot layout 3,1
	set style data histograms
	set style histogram clustered gap 1
	set style fill solid 0.8 border -1
	set grid ytics
	set key outside right top
	set title "iperf3 TCP throughput, median of $BENCH_RUNS runs of $BENCH_SECONDS s (Mbit/s, log scale)"
	set logscale y
	set yrange [10:*]
	plot "$data" using 2:xtic(1) title "plain routed", '' using 3 title "OpenVPN 2.6 TCP/443", \
	     '' using 4 title "bare vtun", '' using 5 title "our chain"
	unset logscale y
	set yrange [0:*]
	set title "CPU per 100 Mbit/s, % of one core (1 stream, median of up and down)"
	plot "$cpu" using 2:xtic(1) title "RDV node", '' using 3 title "onsite", '' using 4 title "master"
	set title "round trip, ms (ping every 10 ms)"
	plot "$lat" using 2:xtic(1) title "idle median", '' using 3 title "idle p99", \
	     '' using 4 title "loaded median", '' using 5 title "loaded p99"
	unset multiplot
	GP
	[ -s "$dir/throughput.svg" ]
}
