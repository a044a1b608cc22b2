#!/bin/bash
# The arm64 rdv-onsite and rdv-master packages for the images, built with the
# project's own debian/ (debian/build-debs.sh OUT arm64: Debian's cross
# toolchain) inside an amd64+arm64 build chroot, so the host's apt
# configuration is left alone. The chroot is cached on the machine like the
# base root (a few minutes to make once, seconds to reuse).
# Usage: debs-arm64.sh OUTDIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
out=$1
cache=${RDV_IMAGE_CACHE:-/var/cache/rdv-images}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
. "$here/lib.sh"
need_root
need_tools mmdebstrap unshare

host=$(dpkg --print-architecture)
[ "$host" = amd64 ] || die "debs-arm64.sh cross-builds from amd64 (this is $host)"
# the Build-Depends of debian/control, the libraries for the target
pkgs="build-essential,crossbuild-essential-arm64,debhelper,dpkg-dev,make,pkg-config"
for l in libconfig-dev libdbus-1-dev libnftables-dev libnl-3-dev libnl-route-3-dev libsystemd-dev; do
	pkgs="$pkgs,$l:arm64"
done
# bump RECIPE when the mmdebstrap command below changes
RECIPE=1
key=$(echo "$pkgs $mirror $RECIPE" | sha256sum | cut -c1-16)
chroot_tar=$cache/cross-amd64-arm64-$key.tar
mkdir -p "$cache"
if [ ! -s "$chroot_tar" ]; then
	log "arm64 packages: making the cross-build chroot $chroot_tar"
	tmp=$(mktemp "$cache/.cross-XXXXXX.tar")
	trap 'rm -f "$tmp"' EXIT
	mmdebstrap --variant=apt --architectures=amd64,arm64 --mode=root \
		--aptopt='APT::Install-Recommends "false"' \
		--include="$pkgs" bookworm "$tmp" "$mirror" >&2
	mv "$tmp" "$chroot_tar"
	trap - EXIT
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/rdv-debs.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir "$work/root"
tar -x -C "$work/root" -f "$chroot_tar"
mkdir "$work/root/src"
(cd "$repo" && git ls-files -z --cached --others --exclude-standard | grep -zv '^build/' | tar -c --null -T -) |
	tar -x -C "$work/root/src"
start=$(date +%s)
# a private mount namespace: /proc and /dev for the build go away with it
unshare --mount --fork sh -c '
	set -e
	mount -t proc proc "$1/proc"
	mount --rbind /dev "$1/dev"
	chroot "$1" sh -c "cd /src && debian/build-debs.sh /out arm64"
' sh "$work/root" >&2
mkdir -p "$out"
rm -f "$out"/rdv-*_arm64.deb
cp "$work/root/out"/rdv-onsite_*_arm64.deb "$work/root/out"/rdv-master_*_arm64.deb "$out/"
log "arm64 packages: $(cd "$out" && ls rdv-*_arm64.deb | tr '\n' ' ')in $(( $(date +%s) - start )) s"
