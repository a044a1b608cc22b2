#!/bin/bash
# make images-test: the static checks of the built images, the boot tests
# (QEMU, serial console, no network), then the networked test (the images
# booted into the namespaces of tests/topo.sh with a real RDV server: onsite
# online by itself, USB adapter hot-plugged on the master, laptop to customer
# host); one summary line. The networked test makes namespaces and accounts:
# on a shared machine run the whole target under flock /tmp/rdv-e2e.lock,
# as make check. Each test is bounded (timeout) and cleans up on any exit.
set -u
here=$(cd "$(dirname "$0")" && pwd)
dir=$1
pass=0 fail=0
tally() {
	local line
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$1" | tail -n 1)
	if [ -z "$line" ]; then
		echo "not ok - $2 printed no summary"
		fail=$((fail + 1))
		return
	fi
	pass=$((pass + $(cut -d' ' -f1 <<<"$line")))
	fail=$((fail + $(cut -d' ' -f3 <<<"$line")))
}
out=$(mktemp)
trap 'rm -f "$out"' EXIT
echo "=== images: static checks"
"$here/test-static.sh" "$dir" | tee "$out"
tally "$out" test-static.sh
echo "=== images: booted under QEMU (serial console, no network)"
start=$(date +%s)
timeout 40m "$here/test-boot.sh" "$dir" | tee "$out"
tally "$out" test-boot.sh
echo "(boot tests: $(( $(date +%s) - start )) s)"
echo "=== images: booted into the test network (onsite online, master with a hot-plugged USB adapter)"
start=$(date +%s)
timeout 40m "$here/test-boot-net.sh" "$dir" | tee "$out"
tally "$out" test-boot-net.sh
echo "(networked boot test: $(( $(date +%s) - start )) s)"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
