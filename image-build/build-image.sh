#!/bin/bash
# build-image.sh ROLE OUTDIR: OUTDIR/ROLE.img (onsite or master) from the
# cached base root (base-root.sh), the arm64 rdv-ROLE package and the files
# of overlay/: packages installed and units enabled in the root under
# qemu-user, then assemble.sh. A few minutes once the base root is cached.
# Env: DEBS (directory of the arm64 .debs; default: built by debs-arm64.sh).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
role=$1 out=$2
case $role in onsite) unit=onsitedev.service ;; master) unit=masterd.service ;;
*) echo "usage: build-image.sh onsite|master OUTDIR" >&2; exit 2 ;; esac
. "$here/lib.sh"
need_root
ensure_binfmt
mkdir -p "$out"
out=$(cd "$out" && pwd)
start=$(date +%s)

base=$("$here/base-root.sh")
debs=${DEBS:-$out/debs}
ls "$debs"/rdv-"$role"_*_arm64.deb >/dev/null 2>&1 || "$here/debs-arm64.sh" "$debs"
deb=$(ls "$debs"/rdv-"$role"_*_arm64.deb | tail -n 1)

work=$(mktemp -d "$out/.$role.XXXXXX")
trap 'rm -rf "$work"' EXIT
root=$work/root
mkdir "$root"
tar -x -C "$root" -f "$base"

# in_root CMD...: a command in the arm64 root (qemu-user through binfmt_misc),
# with /proc and /dev in a private mount namespace
in_root() {
	unshare --mount --fork sh -c 'r=$1; shift; mount -t proc proc "$r/proc" &&
		mount --rbind /dev "$r/dev" && exec chroot "$r" "$@"' sh "$root" "$@"
}

cp "$deb" "$root/tmp/"
in_root env DEBIAN_FRONTEND=noninteractive dpkg -i "/tmp/$(basename "$deb")" >&2
rm -f "$root/tmp/"*.deb
# the key postinst made here would be the same on every card: each card
# gets the provisioned one, or makes its own at first boot
rm -f "$root"/etc/rdv/id_ed25519 "$root"/etc/rdv/id_ed25519.pub "$root"/etc/ssh/ssh_host_*

# initramfs updates on: the base root may have been built with them off
# (the initramfs was made once, not again by the later trigger)
sed -i 's/^update_initramfs=no$/update_initramfs=yes/' "$root/etc/initramfs-tools/update-initramfs.conf"
cp -a "$here/overlay/common/." "$root/"
[ -d "$here/overlay/$role" ] && cp -a "$here/overlay/$role/." "$root/"
echo "$role" >"$root/usr/lib/rdv-image/role"
# the daemons read the DNS servers DHCP gave (systemd-resolved's list)
sed -i 's|^\(resolv_conf[[:space:]]*=\).*|\1 "/run/systemd/resolve/resolv.conf";|' "$root/etc/rdv/$role.conf"
cp "$root/etc/rdv/$role.conf" "$root/usr/lib/rdv-image/$role.conf"
install -d "$root/usr/share/doc/rdv-image"
cp "$repo/docs/IMAGES.md" "$root/usr/share/doc/rdv-image/" 2>/dev/null || true
ln -sf ../run/systemd/resolve/stub-resolv.conf "$root/etc/resolv.conf"
echo "rdv-$role" >"$root/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.1.1\trdv-%s\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' "$role" >"$root/etc/hosts"
cat >"$root/etc/fstab" <<-FSTAB
	# the card's two partitions, by label (as Debian's raspi images)
	LABEL=RASPIROOT  /               ext4  rw,noatime          0 1
	LABEL=RASPIFIRM  /boot/firmware  vfat  rw,noatime,umask=0077  0 2
FSTAB
# Debian's vtun package runs vtund from an init script (vtun.service, made by
# systemd's sysv generator): our daemons start their own vtund per session,
# nothing else may
ln -sf /dev/null "$root/etc/systemd/system/vtun.service"
systemctl --root="$root" enable systemd-networkd.service systemd-resolved.service \
	systemd-timesyncd.service ssh.service rdv-firstboot.service "$unit" >&2
# the raspi-firmware hook again: cmdline.txt, config.txt, kernel, initrd and
# device trees on the boot partition (its cmdline has net.ifnames=0: kernel
# interface names, eth0, wlan0, then USB adapters, on the Pi and under QEMU)
in_root env DEB_MAINT_PARAMS=configure sh -c 'for v in /lib/modules/*; do /etc/kernel/postinst.d/z50-raspi-firmware "${v##*/}"; done' >&2
sed "s/@ROLE@/$role/g" "$here/rdv.txt.in" >"$root/boot/firmware/rdv.txt"
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/tmp/* "$root"/var/tmp/*

"$here/assemble.sh" "$root" "$work/$role.img"
mv "$work/$role.img" "$out/$role.img"
log "$out/$role.img built in $(( $(date +%s) - start )) s"
