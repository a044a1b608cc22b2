#!/bin/bash
# assemble.sh ROOTDIR IMAGE: a Raspberry Pi SD-card image from a root
# directory, with no loop device and no mount: an MBR (sfdisk) with the FAT
# boot partition (mkfs.vfat + mtools, from ROOTDIR/boot/firmware) and the ext4
# root (mkfs.ext4 -d), labelled RASPIFIRM and RASPIROOT as in Debian's raspi
# images. The root gets its content plus some room; first boot grows it to
# the card.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
need_tools sfdisk mkfs.vfat mcopy mkfs.ext4
root=$(cd "$1" && pwd) img=$(cd "$(dirname "$2")" && pwd)/$(basename "$2")
FAT_MIB=256 START_MIB=4

used=$(du -smx --exclude=./boot/firmware "$root" | cut -f1)
root_mib=$(( used * 13 / 10 + 200 ))
work=$(mktemp -d "$(dirname "$img")/.assemble.XXXXXX")
trap 'rm -rf "$work"' EXIT

mkfs.vfat -C -F 32 -n RASPIFIRM "$work/fat" $((FAT_MIB * 1024)) >/dev/null
# mcopy: the FAT has no owners or modes; -s recursive, -m keep times
(cd "$root/boot/firmware" && mcopy -s -m -i "$work/fat" ./* ::)
fw_tmp=$work/fw
mkdir "$fw_tmp"
mv "$root/boot/firmware"/* "$fw_tmp"/ 2>/dev/null || true
mkfs.ext4 -q -L RASPIROOT -d "$root" -E root_owner=0:0 "$work/root" "${root_mib}M" >/dev/null
mv "$fw_tmp"/* "$root/boot/firmware"/ 2>/dev/null || true

rm -f "$img"
truncate -s $(( (START_MIB + FAT_MIB + root_mib) * 1024 * 1024 )) "$img"
sfdisk -q "$img" <<-SF
	label: dos
	unit: sectors
	start=$((START_MIB * 2048)), size=$((FAT_MIB * 2048)), type=c, bootable
	start=$(((START_MIB + FAT_MIB) * 2048)), type=83
SF
dd if="$work/fat" of="$img" bs=1M seek=$START_MIB conv=notrunc,sparse status=none
dd if="$work/root" of="$img" bs=1M seek=$((START_MIB + FAT_MIB)) conv=notrunc,sparse status=none
log "$img: FAT ${FAT_MIB} MiB + ext4 ${root_mib} MiB (content ${used} MiB)"
