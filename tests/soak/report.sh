# REPORT.md and soak.svg from the soak's raw results ($W), for tests/soak/soak.sh.

# med_max: median and worst of the numbers on stdin ("-" when none)
med_max() {
	sort -g | awk '{ v[NR] = $1 } END { if (!NR) { print "- -"; exit }
		printf "%s %s\n", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2, v[NR] }'
}

soak_report() {
	local out=$1/REPORT.md kind n med worst
	{
	echo "# rdv kit soak"
	echo
	echo "Written by \`make soak\` (tests/soak/soak.sh) on $(date -u '+%Y-%m-%d %H:%M UTC'): $(grep -c . "$W/sessions.tsv") sessions"
	echo "in $DONE_ROUNDS rounds of $PAIRS concurrent pairs, ${ELAPSED} s. Method and fault list: docs/soak.md."
	echo
	echo "- replay: \`make soak N=$SOAK_N PAIRS=$PAIRS SEED=$SEED SOAK_DATA_PATH=$SOAK_DATA_PATH\`"
	echo "- kit: $KIT (at the start), programs from $BUILD$([ "${SAN_BUILD:-0}" = 1 ] && echo " (ASan/UBSan)")"
	echo "- machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%d MB", $2 / 1024 }' /proc/meminfo), kernel $(uname -r); load at the end $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "- result: $T_PASS checks passed, $T_FAIL failed; $FAILS problem$([ "$FAILS" = 1 ] || echo s) recorded"
	echo
	echo "## Faults by kind"
	echo
	echo "Time to recover: from the fault's end (the kill, or the link, firewall, disk or daemon"
	echo "back) until the session carries traffic again or, if it ended, both devices are online"
	echo "and the onsite free again (polled every 0.2 s)."
	echo
	echo "| fault | sessions | opened and carried traffic | recovered (s), median | worst |"
	echo "| --- | --- | --- | --- | --- |"
	for kind in $(cut -f3 "$W/sessions.tsv" | sort | uniq); do
		n=$(awk -F'\t' -v k="$kind" '$3 == k' "$W/sessions.tsv" | grep -c .)
		read -r med worst <<<"$(awk -F'\t' -v k="$kind" '$3 == k && $6 != "timeout" { print $6 }' "$W/sessions.tsv" | med_max)"
		echo "| $kind | $n | $(awk -F'\t' -v k="$kind" '$3 == k && $4 == 1 && $5 == 1' "$W/sessions.tsv" | grep -c .) | $med | $worst$(awk -F'\t' -v k="$kind" '$3 == k && $6 == "timeout"' "$W/sessions.tsv" | grep -q . && echo ", some never") |"
	done
	read -r med worst <<<"$(awk -F'\t' '$6 != "timeout" { print $6 }' "$W/sessions.tsv" | med_max)"
	echo "| **all** | $(grep -c . "$W/sessions.tsv") | $(awk -F'\t' '$4 == 1 && $5 == 1' "$W/sessions.tsv" | grep -c .) | $med | $worst |"
	echo
	if [ -s "$W/burst.txt" ]; then
		echo "Login bursts ($BURST devices at once after an RDV restart, all online, s): $(tr '\n' ' ' <"$W/burst.txt")"
		echo
	fi
	echo "## Leaks and other problems"
	echo
	if [ -s "$W/problems.txt" ]; then
		echo "Each with its round; \`SEED=$SEED\` replays the same faults in the same order."
		echo
		echo '```'
		head -50 "$W/problems.txt"
		echo '```'
		if [ -s "$W/leaks.txt" ]; then
			echo
			echo "What differed from the idle baseline (< baseline, > after the round):"
			echo
			echo '```'
			head -80 "$W/leaks.txt"
			echo '```'
		fi
	else
		echo "None: after every one of the $(grep -c . "$W/sessions.tsv") sessions every machine (RDV node, $PAIRS masters, $PAIRS onsites)"
		echo "matched its idle baseline (links, addresses, rules, routes of all tables, nftables"
		echo "ruleset, processes, files under the run directories), rdvd's pool and vtund ports were"
		echo "idle, and every device was back online within ${RECOVER_S} s of its fault's end."
	fi
	echo
	echo "## Daemons' file descriptors and memory"
	echo
	echo "Sampled after every round, at idle. A daemon restarted by a fault starts a new series"
	echo "(pid); series with fewer than $((WARM + 8)) samples are not judged. Flat: after $WARM samples"
	echo "of warm-up, the fd count stays within $FD_TOL, and the median RSS of the last third is at"
	echo "most max($RSS_TOL_KB kB, $RSS_TOL_PCT %) above that of the first third. Chart: soak.svg."
	echo
	echo "| daemon | pid | samples | fds min-max | verdict |"
	echo "| --- | --- | --- | --- | --- |"
	cat "$W/flat-fd.md"
	echo
	if [ "${SAN_BUILD:-0}" = 1 ]; then
		echo "RSS is not judged under ASan (its quarantine holds freed memory by design)."
		echo
	fi
	echo "| daemon | pid | samples | RSS kB, first third | last third | change | verdict |"
	echo "| --- | --- | --- | --- | --- | --- | --- |"
	cat "$W/flat-rss.md"
	echo
	echo "## Checks"
	echo
	echo '```'
	grep -E '^(not )?ok - ' "$W/out.log" 2>/dev/null
	echo '```'
	} >"$out.tmp" && mv "$out.tmp" "$out"
}

# soak.svg: fds and RSS of each daemon slot (name) per round
soak_chart() {
	local dir=$1 names name plots_fd= plots_rss=
	names=$(cut -f2 "$W/samples.tsv" | awk '!s[$0]++')
	for name in $names; do
		awk -F'\t' -v n="$name" '$2 == n { print $1, $4, $5 }' "$W/samples.tsv" >"$W/chart-$name.dat"
		plots_fd+="${plots_fd:+, }'$W/chart-$name.dat' using 1:2 with linespoints pt 7 ps 0.3 title '$name'"
		plots_rss+="${plots_rss:+, }'$W/chart-$name.dat' using 1:(\$3/1024) with linespoints pt 7 ps 0.3 title '$name'"
	done
	gnuplot <<-GP || return 1
	set terminal svg size 1000,900 dynamic font "sans,11"
	set output "$dir/soak.svg"
	set multiplot layout 2,1
	set grid
	set key outside right top
	set xlabel "round ($PAIRS sessions each)"
	set title "open file descriptors per daemon, after each round (a restart shows as a jump)"
	plot $plots_fd
	set title "resident memory (RSS, MB) per daemon, after each round"
	plot $plots_rss
	unset multiplot
	GP
	[ -s "$dir/soak.svg" ]
}
