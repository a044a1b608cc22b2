#!/bin/bash
# The shared arm64 base root of both images, as a tarball in the machine's
# cache, keyed by a hash of the package list and of this script: built once
# (about 20 minutes of qemu-user emulation, mostly the initramfs), then
# reused by every build on this machine, CI's fresh clones included.
# Usage: base-root.sh   prints the path of the cached tarball
# Env: RDV_IMAGE_CACHE (default /var/cache/rdv-images), DEBIAN_MIRROR.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=${RDV_IMAGE_CACHE:-/var/cache/rdv-images}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
suite=bookworm

. "$here/lib.sh"
need_root
need_tools mmdebstrap sha256sum
ensure_binfmt

pkgs=$(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$here/base-packages.txt" | tr -s ' \n' ',' | sed 's/,$//')
# bump RECIPE when the mmdebstrap command below changes
RECIPE=1
key=$(echo "$pkgs $suite $mirror $RECIPE" | sha256sum | cut -c1-16)
out=$cache/base-$suite-arm64-$key.tar
if [ -s "$out" ]; then
	echo "$out"
	exit 0
fi
mkdir -p "$cache"
tmp=$(mktemp "$cache/.base-XXXXXX.tar")
trap 'rm -f "$tmp"' EXIT
log "base root: building $out (mmdebstrap under qemu-user, about 20 minutes)"
start=$(date +%s)
# The raspi-firmware hook writes cmdline.txt from /etc/default/raspi-firmware:
# the root by label, as Debian's raspi images do. The hook is run again after
# the edit (it only copies the kernel, initrd and device trees, no
# initramfs rebuild). No ssh host keys, no machine id: each card makes its own.
mmdebstrap --arch=arm64 --variant=minbase --mode=root \
	--components="main non-free-firmware" \
	--aptopt='APT::Install-Recommends "false"' \
	--dpkgopt='path-exclude=/usr/share/man/*' \
	--dpkgopt='path-exclude=/usr/share/locale/*' \
	--dpkgopt='path-include=/usr/share/locale/locale.alias' \
	--include="$pkgs" \
	--customize-hook='sed -i -e "s/^#\?ROOTPART=.*/ROOTPART=LABEL=RASPIROOT/" -e "s/^#\?CONSOLES=.*/CONSOLES=\"tty0 ttyS1,115200\"/" "$1/etc/default/raspi-firmware"' \
	--customize-hook='chroot "$1" sh -c "for v in /lib/modules/*; do /etc/kernel/postinst.d/z50-raspi-firmware \$(basename \$v); done"' \
	--customize-hook='rm -f "$1"/etc/ssh/ssh_host_*' \
	--customize-hook='echo uninitialized >"$1/etc/machine-id"; rm -f "$1/var/lib/dbus/machine-id"' \
	--customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin' \
	"$suite" "$tmp" "$mirror" >&2
mv "$tmp" "$out"
trap - EXIT
log "base root: $out built in $(( $(date +%s) - start )) s"
echo "$out"
