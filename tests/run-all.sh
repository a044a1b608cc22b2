#!/bin/bash
# make check: installs what it needs, builds, runs every test (unit tests
# under ASan/UBSan, fuzz smoke runs, end-to-end tests in namespaces) and ends
# with one line "N passed, N failed".
set -u
cd "$(dirname "$0")/.."
REPO=$PWD
FUZZ_SECONDS=${FUZZ_SECONDS:-20}
export LSAN_OPTIONS="suppressions=$REPO/tests/lsan.supp"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
pass=0 fail=0
# files not in git before the run: whatever else appears was left by the run
untracked() { git -C "$REPO" status --porcelain --untracked-files=all 2>/dev/null | sed -n 's/^?? //p' | sort; }
git -C "$REPO" rev-parse 2>/dev/null && untracked_before=$(untracked)

step() { echo; echo "=== $*"; }
# adds a test program's "N passed, N failed" line to the totals
tally() {
	local out=$1 line
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$out" | tail -1)
	if [ -z "$line" ]; then
		echo "not ok - $2 printed no summary"
		fail=$((fail + 1))
		return
	fi
	pass=$((pass + $(cut -d' ' -f1 <<<"$line")))
	fail=$((fail + $(cut -d' ' -f3 <<<"$line")))
}
# one result for a step that either works or does not
one() {
	if [ "$1" -eq 0 ]; then pass=$((pass + 1)); echo "ok - $2"; else fail=$((fail + 1)); echo "not ok - $2"; fi
}

step "dependencies"
tests/deps.sh
one $? "build and test dependencies present"

step "build (-Werror)"
make -j"$(nproc)" WERROR=1
one $? "make"
make -j"$(nproc)" BUILD=build/asan SAN=1 WERROR=1 unit-tests all >/dev/null
one $? "make with ASan/UBSan"

step "unit tests (ASan/UBSan)"
for t in build/asan/test-*; do
	[ -x "$t" ] || continue
	(cd "$REPO" && "$t") >"build/$(basename "$t").log" 2>&1
	rc=$?
	tally "build/$(basename "$t").log" "$t"
	grep -E '^FAIL|ERROR|runtime error' "build/$(basename "$t").log"
	[ $rc -eq 0 ] || { grep -q "failed" "build/$(basename "$t").log" || one 1 "$t exited $rc"; }
	tail -1 "build/$(basename "$t").log" | sed "s|^|$(basename "$t"): |"
done

step "fuzz smoke (${FUZZ_SECONDS}s each)"
if make BUILD=build/fuzz fuzzers >/dev/null; then
	for f in shell-parse conf vtun-params; do
		corpus=$(mktemp -d)
		(cd build/fuzz && ./fuzz-$f -max_total_time="$FUZZ_SECONDS" -print_final_stats=0 \
			"$corpus" "$REPO/tests/fuzz/corpus-${f%%-*}") >"build/fuzz-$f.log" 2>&1
		rc=$?
		rm -rf "$corpus"
		[ $rc -eq 0 ] || tail -30 "build/fuzz-$f.log"
		one $rc "fuzz-$f ran ${FUZZ_SECONDS}s with no crash, leak or UB"
	done
else
	one 1 "fuzzers build"
fi

step "end to end (network namespaces)"
# e2e NAME SCRIPT [VAR=VALUE...]
e2e() {
	local name=$1 t=$2 log
	shift 2
	log=build/$name.log
	echo "--- $name"
	# every stream of the test goes to its log, none to a file in the tree
	env REPO="$REPO" BUILD="$REPO/build" "$@" timeout 1200 "$t" </dev/null >"$log" 2>&1
	rc=$?
	grep -oE '(not )?ok - .*' "$log"
	tally "$log" "$name"
	[ $rc -eq 0 ] || { grep -q "not ok" "$log" || one 1 "$name exited $rc"; }
}
for t in tests/e2e/test-*.sh; do
	# rdvd's fault test runs once, under ASan/UBSan, below
	[ "$t" = tests/e2e/test-rdvd-faults.sh ] && continue
	e2e "$(basename "$t" .sh)" "$t"
done
e2e test-session-same-subnet tests/e2e/test-session.sh SAME_SUBNET=1
# make bench's harness, seconds long: every path, session and capacity step once
e2e bench-smoke tests/bench/bench.sh BENCH_SMOKE=1
# make soak's harness, 20 faulted sessions (a fixed seed: the same faults each time)
e2e soak-smoke tests/soak/soak.sh SOAK_N=20 PAIRS=4 SEED=11 SOAK_BURST=10 SOAK_OUT="$REPO/build/soak-smoke"

# the whole chain once more, every program of ours built with ASan/UBSan
make -j"$(nproc)" BUILD=build/asan SAN=1 WERROR=1 all >/dev/null
e2e test-session-asan tests/e2e/test-session.sh BUILD="$REPO/build/asan"
# every failure point of rdvd's session set-up, limits and revocation (issue 9 items 1, 12, 13, 15)
e2e test-rdvd-faults-asan tests/e2e/test-rdvd-faults.sh BUILD="$REPO/build/asan"
reports=$(grep -l "AddressSanitizer\|LeakSanitizer\|runtime error" build/test-session-asan.log \
	build/test-rdvd-faults-asan.log \
	$(find build/asan/e2e-logs -type f 2>/dev/null) 2>/dev/null)
[ -z "$reports" ] || grep -h -A20 "Sanitizer\|runtime error" $reports | head -60
one "$([ -z "$reports" ]; echo $?)" "no sanitizer report from rdvd, rdv-shell, rdvctl, onsitedev, masterd or masterdev (session and rdvd fault runs)"
leftover=$(ip netns list 2>/dev/null | grep -c . || true)
one "$leftover" "no network namespace left behind"
# the tests' device accounts live in uids 41000-41499 (tests/lib/rdv-env.sh)
leftover=$(getent passwd | awk -F: '$3 >= 41000 && $3 < 41500' | grep -c . || true)
one "$leftover" "no test account left behind"
if [ -n "${untracked_before+set}" ]; then
	stray=$(comm -13 <(echo "$untracked_before") <(untracked))
	[ -z "$stray" ] || echo "left in the tree: $stray"
	one "$([ -z "$stray" ]; echo $?)" "the run left no stray file in the source tree"
fi

echo
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
