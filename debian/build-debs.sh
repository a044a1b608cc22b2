#!/bin/sh
# make deb [ARCH=arm64]: the three binary packages with dpkg-buildpackage,
# built in a copy of the tree (dpkg-buildpackage writes beside the source
# directory), and moved to OUT.
# Usage: debian/build-debs.sh OUT [ARCH]
set -eu
out=$1
host=$(dpkg --print-architecture)
arch=${2:-$host}
cd "$(dirname "$0")/.."
work=$(mktemp -d "${TMPDIR:-/tmp}/rdv-deb.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir "$work/rdv-kit"
tar -c --exclude=./build --exclude=./.git --exclude='./debian/build' . | tar -x -C "$work/rdv-kit"
opts="-b -us -uc"
if [ "$arch" != "$host" ]; then
	# Debian's cross toolchain and the :ARCH development packages
	opts="$opts -a$arch -Pcross,nocheck"
fi
start=$(date +%s)
(cd "$work/rdv-kit" && dpkg-buildpackage $opts) >"$work/build.log" 2>&1 || {
	tail -40 "$work/build.log" >&2
	echo "make deb: dpkg-buildpackage failed (log above)" >&2
	exit 1
}
mkdir -p "$out"
rm -f "$out"/rdv-*_"$arch".deb
mv "$work"/*.deb "$out"/
cp "$work/build.log" "$out/build-$arch.log"
echo "make deb: $(cd "$out" && ls rdv-*_"$arch".deb | tr '\n' ' ')in $out ($(($(date +%s) - start)) s)"
