#!/bin/bash
# make images: OUTDIR/onsite.img and OUTDIR/master.img, each with a .bmap and
# an .img.xz. The base root comes from the machine's cache (base-root.sh),
# the arm64 packages from debs-arm64.sh (or DEBS=DIR).
# Usage: make-images.sh OUTDIR [ROLE...]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=$1
shift
roles=("$@")
[ ${#roles[@]} -gt 0 ] || roles=(onsite master)
. "$here/lib.sh"
need_root
"$here/deps.sh"
mkdir -p "$out"
start=$(date +%s)
"$here/base-root.sh" >/dev/null
debs=${DEBS:-$out/debs}
if [ -z "${DEBS:-}" ]; then
	"$here/debs-arm64.sh" "$debs"
fi
for role in "${roles[@]}"; do
	DEBS=$debs "$here/build-image.sh" "$role" "$out"
	bmaptool -q create -o "$out/$role.img.bmap" "$out/$role.img"
	rm -f "$out/$role.img.xz"
	xz -T2 -1 -k "$out/$role.img"
done
log "images in $out: $(cd "$out" && ls ./*.img ./*.img.xz ./*.bmap | tr '\n' ' ')($(( $(date +%s) - start )) s)"
