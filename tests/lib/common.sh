# Helpers for the end-to-end tests: results, polling, and cleanup that runs
# whatever happens (trap EXIT). Source it; set T_NAME first.

T_PASS=0
T_FAIL=0
T_CLEANUP=()

ok() { T_PASS=$((T_PASS + 1)); echo "ok - $*"; }
not_ok() { T_FAIL=$((T_FAIL + 1)); echo "not ok - $*"; }
# check DESCRIPTION COMMAND...: passes when the command succeeds
check() {
	local what=$1
	shift
	if "$@"; then ok "$what"; else not_ok "$what"; fi
}
# check_not DESCRIPTION COMMAND...: passes when the command fails
check_not() {
	local what=$1
	shift
	if "$@"; then not_ok "$what"; else ok "$what"; fi
}

# wait_for SECONDS COMMAND...: polls every 0.1 s until the command succeeds
wait_for() {
	local deadline=$((SECONDS * 10 + ${1%.*} * 10)) now
	shift
	while :; do
		"$@" && return 0
		now=$((SECONDS * 10))
		[ "$now" -ge "$deadline" ] && { "$@"; return; }
		sleep 0.1
	done
}

# at_exit COMMAND...: run at exit, last registered first
at_exit() {
	local cmd
	printf -v cmd '%q ' "$@"
	T_CLEANUP=("$cmd" "${T_CLEANUP[@]}")
}

run_cleanup() {
	local c
	for c in "${T_CLEANUP[@]}"; do
		eval "$c" >/dev/null 2>&1 || true
	done
	T_CLEANUP=()
}

finish() {
	echo "$T_PASS passed, $T_FAIL failed"
	[ "$T_FAIL" -eq 0 ]
}

# kill_ns_procs NS: every process in a namespace, then the namespace
del_ns() {
	local pids
	pids=$(ip netns pids "$1" 2>/dev/null)
	[ -n "$pids" ] && kill $pids 2>/dev/null
	sleep 0.2
	pids=$(ip netns pids "$1" 2>/dev/null)
	[ -n "$pids" ] && kill -9 $pids 2>/dev/null
	ip netns del "$1" 2>/dev/null
	return 0
}

# alive PID: a running process (a zombie waiting for its reaper is gone)
alive() {
	[ -r "/proc/$1/stat" ] && ! grep -q '^[0-9]* (.*) Z' "/proc/$1/stat" 2>/dev/null
}

# del_user NAME: an account a test made, with whatever still runs as it
del_user() {
	local i
	for i in 1 2 3 4 5; do
		pkill -9 -u "$1" 2>/dev/null
		userdel "$1" 2>/dev/null && return 0
		sleep 0.2
	done
	echo "warning: could not remove account $1" >&2
	return 1
}

need_root() {
	if [ "$(id -u)" != 0 ]; then
		echo "not ok - $T_NAME must run as root (network namespaces, accounts)"
		echo "0 passed, 1 failed"
		exit 1
	fi
}
