#!/bin/bash
# The built images, read without booting and without mounting: partition
# table, the FAT partition's files, the root's packages and enabled units,
# and no password hash, no private key (the build machine's or any other)
# anywhere in them.
# Usage: test-static.sh IMAGEDIR
set -u
T_NAME=images-static
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../../tests/lib/common.sh"
dir=$1
work=$(mktemp -d "${TMPDIR:-/tmp}/rdv-imgtest.XXXXXX")
trap 'rm -rf "$work"' EXIT
export MTOOLS_SKIP_CHECK=1

# the build machine's private keys: none of their lines may be in an image
: >"$work/host-secrets"
for f in /etc/ssh/ssh_host_*_key /root/.ssh/id_*; do
	case $f in *.pub) continue ;; esac
	[ -f "$f" ] && grep -v -- '-----' "$f" >>"$work/host-secrets"
done

# enabled ROOT UNIT: wanted by some target
enabled() { compgen -G "$1/etc/systemd/system/*.target.wants/$2" >/dev/null; }
# pkg_installed STATUSFILE PACKAGE
pkg_installed() {
	awk -v p="$2" '$0=="Package: "p{f=1} f&&/^Status:/{print; exit}' "$1" | grep -q 'install ok installed'
}

for role in onsite master; do
	img=$dir/$role.img
	check "$role: image and its .bmap and .img.xz exist" test -s "$img" -a -s "$img.bmap" -a -s "$img.xz"
	[ -s "$img" ] || continue
	sfdisk --dump "$img" >"$work/pt" 2>/dev/null
	check "$role: MBR with the FAT boot partition (type c) at 4 MiB" \
		grep -Eq '^[^:]*1 : start= *8192, size= *524288, type=c, bootable' "$work/pt"
	check "$role: ext4 root partition (type 83) after it" grep -Eq '^[^:]*2 : start= *532480, .*type=83' "$work/pt"
	check "$role: exactly two partitions" test "$(grep -c ' : start=' "$work/pt")" = 2

	fat="$img@@$((8192 * 512))"
	mdir -b -i "$fat" :: >"$work/fat" 2>/dev/null
	for f in config.txt cmdline.txt rdv.txt bcm2837-rpi-3-b.dtb bcm2837-rpi-3-b-plus.dtb \
		bcm2711-rpi-4-b.dtb bootcode.bin start4.elf; do
		check "$role: FAT holds $f" grep -qx "::/$f" "$work/fat"
	done
	check "$role: FAT holds the kernel and initrd" grep -q '::/vmlinuz-' "$work/fat"
	check "$role: FAT holds the initrd" grep -q '::/initrd.img-' "$work/fat"
	check_not "$role: no device key on the FAT partition before provisioning" grep -q 'rdv-device-key$' "$work/fat"
	mtype -i "$fat" ::cmdline.txt >"$work/cmdline" 2>/dev/null
	check "$role: cmdline.txt mounts the root by label" grep -q 'root=LABEL=RASPIROOT' "$work/cmdline"
	check "$role: cmdline.txt has kernel interface names (eth0, wlan0)" grep -q 'net.ifnames=0' "$work/cmdline"
	mtype -i "$fat" ::rdv.txt >"$work/rdvtxt" 2>/dev/null
	check "$role: rdv.txt template names the role" grep -qx "role=$role" "$work/rdvtxt"
	check "$role: rdv.txt template is not provisioned" grep -qx "device=" "$work/rdvtxt"

	# the root filesystem, copied out of the image with debugfs (no mount)
	dd if="$img" of="$work/root.ext4" bs=1M skip=260 conv=sparse status=none
	check "$role: root is ext4 labelled RASPIROOT" test "$(blkid -o value -s LABEL "$work/root.ext4")" = RASPIROOT
	rm -rf "$work/root"
	mkdir "$work/root"
	debugfs -R "rdump / $work/root" "$work/root.ext4" >/dev/null 2>&1
	rm -f "$work/root.ext4"
	r=$work/root/
	st=$r/var/lib/dpkg/status
	for p in "rdv-$role" linux-image-arm64 raspi-firmware firmware-brcm80211 openssh-server \
		systemd-sysv wpasupplicant stunnel4 vtun; do
		check "$role: package $p installed" pkg_installed "$st" "$p"
	done
	unit=onsitedev.service
	[ $role = master ] && unit=masterd.service
	for u in $unit rdv-firstboot.service ssh.service systemd-networkd.service systemd-resolved.service; do
		check "$role: $u enabled" enabled "$r" "$u"
	done
	check "$role: the boot waits for one network at most 60 s (wait-online --any, bounded)" \
		grep -Eqx 'ExecStart=-/lib/systemd/systemd-networkd-wait-online --any --timeout=60' \
		"$r/etc/systemd/system/systemd-networkd-wait-online.service.d/rdv-image.conf"
	# its init script's links stay (dpkg's), the mask keeps systemd from running it
	check "$role: Debian's vtun.service (a vtund server of its own) masked: not started at boot" \
		test "$(readlink "$r/etc/systemd/system/vtun.service")" = /dev/null
	[ $role = onsite ] && check_not "onsite: masterd not installed" test -e "$r/usr/sbin/masterd"
	[ $role = master ] && check_not "master: onsitedev not installed" test -e "$r/usr/sbin/onsitedev"
	check "$role: sshd keys only" grep -qx 'PasswordAuthentication no' "$r/etc/ssh/sshd_config.d/rdv-image.conf"
	check "$role: no root login over SSH" grep -qx 'PermitRootLogin no' "$r/etc/ssh/sshd_config.d/rdv-image.conf"
	check "$role: no password hash in /etc/shadow" \
		awk -F: '$2 !~ /^(\*|!|!\*|)$/ {bad=1} END {exit bad}' "$r/etc/shadow"
	check "$role: shadow readable for the check (root present)" grep -q '^root:' "$r/etc/shadow"
	check_not "$role: no SSH host key (each card makes its own)" compgen -G "$r/etc/ssh/ssh_host_*"
	check_not "$role: no device key (provisioned or made at first boot)" test -e "$r/etc/rdv/id_ed25519"
	check "$role: initramfs updates on (the base root may have had them off)" \
		grep -qx 'update_initramfs=yes' "$r/etc/initramfs-tools/update-initramfs.conf"
	check "$role: machine id made at first boot (empty or uninitialized)" \
		bash -c "[ ! -s '$r/etc/machine-id' ] || grep -qx uninitialized '$r/etc/machine-id'"
	# any private key at all, in any file of the root (documentation has samples)
	grep -rlIE --exclude-dir=doc -- '^-----BEGIN ([A-Z]+ )?PRIVATE KEY-----' "$r" >"$work/keys" 2>/dev/null
	check "$role: no private key anywhere in the root" test ! -s "$work/keys"
	[ -s "$work/keys" ] && sed 's/^/#   /' "$work/keys"
	if [ -s "$work/host-secrets" ]; then
		check_not "$role: none of the build machine's private keys in the root" \
			grep -rqF -f "$work/host-secrets" "$r"
	fi
	rm -rf "$work/root"
done
finish
