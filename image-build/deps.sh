#!/bin/bash
# What building and testing the images need on the build machine, from
# Debian's archive; installs nothing when everything is there.
set -eu
PKGS=(
	mmdebstrap qemu-user-static binfmt-support arch-test fdisk dosfstools mtools
	e2fsprogs bmap-tools xz-utils qemu-system-arm openssh-client openssl
)
missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "image deps: missing packages: ${missing[*]}; run as root to install them" >&2
	exit 1
fi
echo "image deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
