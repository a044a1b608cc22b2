#!/bin/bash
# make images-test: the static checks of the built images, then the boot
# tests (QEMU, serial console, no network: no namespace, no lock); one
# summary line. The networked test (test-boot-net.sh) runs apart, under
# flock /tmp/rdv-e2e.lock.
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
"$here/test-boot.sh" "$dir" | tee "$out"
tally "$out" test-boot.sh
echo "(boot tests: $(( $(date +%s) - start )) s)"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
