# What tests/soak/soak.sh compares after every session: a snapshot of each
# machine (the RDV node, every master and onsite namespace) taken while idle,
# and the daemons' fd counts and memory. Source it; needs P, D, W, PAIRS and
# the names of tests/lib/rdv-env.sh and devices.sh.
#
# The snapshot says nothing about how a session's data path is built: it is
# the namespace's links, IPv4 addresses, rules, routes of every table, where
# it forwards (ip_forward, each interface's forwarding), its nftables ruleset, the processes in it (by name, counted) and the files under
# its daemon's run directory. Anything a dead session left shows up as a
# difference from the idle baseline, whatever made it.

# machines NAME NAMESPACE RUN_DIR lines, one per machine
machines() {
	local i
	echo "rdv $P-rdv $D/run"
	for ((i = 1; i <= PAIRS; i++)); do
		echo "master$i $P-master$i $D/${P}m$i/run"
		echo "onsite$i $P-onsite$i $D/${P}o$i/run"
	done
}

# The front door's per-source sets hold every address that connected in the
# last moments (ct count): traffic, not state of a session; left out.
nft_norm() {
	awk '/set per_source_v[46] \{/ { inset = 1 }
		inset && /elements = \{/ { skip = 1 }
		skip { if (/\}/) skip = 0; next }
		inset && /^\t\t\}/ { inset = 0 }
		{ print }'
}

# snapshot NAMESPACE RUN_DIR: the namespace's state, normalized (no ifindex,
# no counters, no pid, no carrier: a cable pulled and put back is the same)
snapshot() {
	local ns=$1 run=$2 p
	echo "## links"
	ip -n "$ns" -o link show | awk '{ n = $2; sub(/@.*/, "", n); sub(/:$/, "", n)
		print n, ($3 ~ /[<,]UP[,>]/ ? "up" : "down"), $4, $5 }' | sort
	echo "## addresses"
	ip -n "$ns" -o -4 addr show | awk '{ print $2, $4 }' | sort
	echo "## rules"
	ip -n "$ns" rule show
	echo "## routes"
	ip -n "$ns" route show table all | sed 's/ linkdown//' | sort
	echo "## forwarding"
	ip netns exec "$ns" sysctl -a -r '^net\.ipv4\.(ip_forward|conf\..*\.forwarding)$' 2>/dev/null | sort
	echo "## nftables"
	ip netns exec "$ns" nft -s list ruleset | nft_norm
	# by name and parent's name: a child its daemon's death orphaned shows
	# even when the successor's own child of that name failed
	echo "## processes"
	for p in $(ip netns pids "$ns"); do
		echo "$(cat "/proc/$p/comm" 2>/dev/null) <- $(cat "/proc/$(awk '{ print $4 }' "/proc/$p/stat" 2>/dev/null)/comm" 2>/dev/null)"
	done | sort | uniq -c
	echo "## files under $run"
	find "$run" -mindepth 1 -printf '%P %y\n' 2>/dev/null | sort
}

# baseline: the idle state every later snapshot is compared with
baseline() {
	local name ns run
	mkdir -p "$W/base"
	while read -r name ns run; do
		snapshot "$ns" "$run" >"$W/base/$name"
	done < <(machines)
}

# like_baseline: every machine as it was idle; the differences in $W/diff
like_baseline() {
	local name ns run bad=0
	mkdir -p "$W/now"
	: >"$W/diff"
	while read -r name ns run; do
		snapshot "$ns" "$run" >"$W/now/$name"
		if ! cmp -s "$W/base/$name" "$W/now/$name"; then
			bad=1
			{ echo "--- $name"; diff "$W/base/$name" "$W/now/$name" | grep '^[<>]'; } >>"$W/diff"
		fi
	done < <(machines)
	return $bad
}

# rdv_idle: rdvd says the pool is empty and no vtund port is held
rdv_idle() {
	local st
	st=$(rdvctl status 2>&1) || return 1
	grep -q '^pool: 0 of [0-9]* /30s in use$' <<<"$st" && grep -qx 'sessions: 0' <<<"$st" &&
		grep -qx 'vtund ports in use: none' <<<"$st"
}

# daemons: "NAME PID" of the daemons whose fds and memory are watched
daemons() {
	local i p
	echo "rdvd $RDVD_PID"
	for p in $(ip netns pids "$P-rdv"); do
		[ "$(cat "/proc/$p/comm" 2>/dev/null)" = dbus-daemon ] && echo "rdv-dbus $p"
	done
	for ((i = 1; i <= PAIRS; i++)); do
		echo "masterd$i ${MASTERD_PID[${P}m$i]}"
		echo "onsitedev$i ${ONSITED_PID[${P}o$i]}"
	done
}

# sample ROUND: one line per daemon in $W/samples.tsv: round, name, pid, fds, RSS kB
sample() {
	local name pid fds rss
	while read -r name pid; do
		alive "$pid" || continue
		fds=$(ls "/proc/$pid/fd" 2>/dev/null | wc -l)
		rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status" 2>/dev/null)
		printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$name" "$pid" "$fds" "${rss:-0}" >>"$W/samples.tsv"
	done < <(daemons)
}

# flat: each daemon incarnation with enough samples after warm-up keeps its fd
# count within FD_TOL and its RSS within max(RSS_TOL_KB, RSS_TOL_PCT %) from the
# first third of its samples to the last third (medians). Prints a table;
# fails if any is not flat. WARM: samples skipped at the start of each.
flat() {
	awk -F'\t' -v warm="$WARM" -v fdtol="$FD_TOL" -v kb="$RSS_TOL_KB" -v pct="$RSS_TOL_PCT" -v what="$1" '
	function med(arr, from, to,    n, i, j, t, v) {
		n = 0
		for (i = from; i <= to; i++) v[++n] = arr[i]
		for (i = 2; i <= n; i++) { t = v[i]; for (j = i - 1; j >= 1 && v[j] > t; j--) v[j + 1] = v[j]; v[j + 1] = t }
		return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
	}
	{ k = $2 " " $3; n[k]++; if (n[k] > warm) { m = ++c[k]; fd[k, m] = $4; rss[k, m] = $5 }; if (!(k in seen)) { seen[k] = 1; order[++no] = k } }
	END {
		bad = 0
		for (o = 1; o <= no; o++) {
			k = order[o]; m = c[k]
			if (m < 8) continue
			third = int(m / 3)
			for (i = 1; i <= m; i++) { f[i] = fd[k, i]; r[i] = rss[k, i] }
			fmin = fmax = f[1]
			for (i = 2; i <= m; i++) { if (f[i] < fmin) fmin = f[i]; if (f[i] > fmax) fmax = f[i] }
			r0 = med(r, 1, third); r1 = med(r, m - third + 1, m)
			lim = r0 * pct / 100; if (lim < kb) lim = kb
			okf = (fmax - fmin <= fdtol); okr = (r1 - r0 <= lim)
			split(k, a, " ")
			if (what == "fd") {
				printf "| %s | %s | %d | %d-%d | %s |\n", a[1], a[2], m, fmin, fmax, okf ? "flat" : "**grows**"
				if (!okf) bad = 1
			} else {
				printf "| %s | %s | %d | %d | %d | %+d | %s |\n", a[1], a[2], m, r0, r1, r1 - r0, okr ? "flat" : "**grows**"
				if (!okr) bad = 1
			}
		}
		exit bad
	}' "$W/samples.tsv"
}
