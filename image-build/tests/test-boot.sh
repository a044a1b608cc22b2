#!/bin/bash
# The images booted under qemu-system-aarch64 (virt machine, the image's own
# kernel, initrd and cmdline.txt, the image file as its disk), read from the
# serial console, with no network at all (-nic none: needs no namespace and no
# lock). Three copies boot side by side:
#   - onsite, after provision --gen-key: provisioning applied, key moved off
#     the FAT partition, root grown, multi-user reached with onsitedev,
#     rdv-firstboot, ssh and systemd-networkd started and no unit failed
#     (systemd's status lines; no getty on that console, it would stop them);
#   - master, after provision without a key: the same with masterd, and its
#     first boot made a key and wrote the enrol line to the boot partition;
#   - onsite with a wrong rdv.txt: the console says what is wrong, nothing is
#     applied, the daemon stays stopped.
# Usage: test-boot.sh IMAGEDIR
set -u
T_NAME=images-boot
REPO=$(cd "$(dirname "$0")/../.." && pwd)
. "$REPO/tests/lib/common.sh"
IMGDIR=$(cd "$1" && pwd)
PROVISION=$REPO/image-build/provision
BOOT_TIMEOUT=${BOOT_TIMEOUT:-1500}
LOGS=${LOGS:-$REPO/build/images/boot-logs}
trap 'run_cleanup' EXIT
trap 'exit 1' INT TERM
W=$(mktemp -d /var/tmp/rdv-imgboot.XXXXXX)
at_exit rm -rf "$W"
rm -rf "$LOGS"
mkdir -p "$LOGS"
. "$REPO/image-build/tests/vm.sh"

# what an RDV server hands out: its certificate and SSH host key (made here)
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$W/tls.key" \
	-out "$W/rdv-server.crt" -subj /CN=rdv.test -days 30 2>/dev/null
ssh-keygen -q -t ed25519 -N '' -f "$W/hostkey"
ssh-keygen -q -t ed25519 -N '' -C technician -f "$W/tech"
args=(--rdv-host 198.18.0.10 --rdv-cert "$W/rdv-server.crt" --rdv-host-key "$W/hostkey.pub" --tech-key "$W/tech.pub")

image_copy onsite onsite
chmod 755 "$W"
chown nobody "$W/onsite.img"
out=$(setpriv --reuid=nobody --regid=nogroup --clear-groups env HOME=/ "$PROVISION" "$W/onsite.img" \
	--device rpi1100 "${args[@]}" --gen-key 2>&1)
check "provision (run as nobody) writes rdv.txt and the device key into the image" \
	bash -c "mtype -i '$(fat onsite)' ::rdv.txt | grep -qx device=rpi1100 && mdir -b -i '$(fat onsite)' :: | grep -qx '::/rdv-device-key'"
check "provision prints the exact rdvctl line" \
	grep -Eqx "rdvctl account add rpi1100 --role onsite --key 'ssh-ed25519 [A-Za-z0-9+/]+'" <<<"$out"
line=$(grep '^rdvctl account add' <<<"$out")
vm_start onsite - -nic none

image_copy master master
"$PROVISION" "$W/master.img" --device rpi2000 "${args[@]}" >/dev/null
vm_start master - -nic none -device qemu-xhci,id=xhci

image_copy onsite bad
mtype -i "$(fat bad)" ::rdv.txt | sed -e 's/^device=.*/device=rpi1101/' -e 's/^rdv_host=.*/rdv_host=198.18.0.10/' \
	-e 's/^rdv_port=.*/rdv_port=99999/' >"$W/bad-rdv.txt"
mcopy -o -i "$(fat bad)" "$W/bad-rdv.txt" ::rdv.txt
# a second console (virtio, hvc0) with a login prompt: what a Pi's screen shows
VM_APPEND=systemd.wants=serial-getty@hvc0.service vm_start bad - -nic none -device virtio-serial-pci \
	-chardev "file,id=hvc,path=$W/bad.hvc" -device virtconsole,chardev=hvc
at_exit cp "$W/bad.hvc" "$LOGS/bad.hvc"

for vm in onsite master bad; do
	check "$vm: boots to multi-user (serial console)" \
		wait_for "$BOOT_TIMEOUT" console_has "$vm" "Reached target multi-user.target"
done

for vm in onsite master; do
	case $vm in onsite) unit=onsitedev name=rpi1100 ;; master) unit=masterd name=rpi2000 ;; esac
	check "$vm: the console shows the provisioning applied" \
		console_has "$vm" "rdv: provisioned from /boot/firmware/rdv.txt: device $name, RDV server 198.18.0.10:443"
	check "$vm: the first boot grew the root filesystem to the disk" console_has "$vm" "rdv: root filesystem grown"
	for u in rdv-firstboot "$unit" ssh systemd-networkd; do
		check "$vm: $u started" console_has "$vm" "(Started|Finished) $u.service"
	done
	check_not "$vm: no unit failed" console_has "$vm" "FAILED"
done
key_gone() { # the FAT is readable and has rdv.txt, not the key
	mdir -b -i "$(fat onsite)" :: >"$W/onsite.fat" 2>/dev/null && grep -qx '::/rdv.txt' "$W/onsite.fat" &&
		! grep -qx '::/rdv-device-key' "$W/onsite.fat"
}
check "onsite: the provisioned device key was moved off the FAT partition" wait_for 60 key_gone
enrol_is() { [ "$(mtype -i "$(fat "$1")" ::rdv-enrol.txt 2>/dev/null)" = "$2" ]; }
check "onsite: the enrol line on the boot partition is the one provision printed" wait_for 60 enrol_is onsite "$line"
master_pub() { mtype -i "$(fat master)" ::rdv-device-key.pub 2>/dev/null | grep -q '^ssh-ed25519 '; }
check "master: with no key provisioned, first boot made one and wrote it to the boot partition" wait_for 60 master_pub
check "master: and the rdvctl line" \
	bash -c "mtype -i '$(fat master)' ::rdv-enrol.txt | grep -Eqx \"rdvctl account add rpi2000 --role master --key 'ssh-ed25519 [A-Za-z0-9+/]+'\""

check "wrong rdv.txt: the console says it was rejected" console_has bad "PROVISIONING FILE REJECTED, nothing was changed"
check "and names the bad value" console_has bad "rdv_port='99999': a TCP port"
banner() { sed 's/\x1b\[[0-9;]*[A-Za-z]//g' "$W/bad.hvc" | grep -Eqa -- "$1"; }
check "the login prompt's banner says so too" \
	wait_for 120 banner "rdv kit onsite Pi: /boot/firmware/rdv.txt REJECTED: rdv_port='99999': a TCP port"
check "and is followed by the login prompt" banner "login: *$"
check "the wrong rdv.txt is left as it was" cmp -s <(mtype -i "$(fat bad)" ::rdv.txt) "$W/bad-rdv.txt"
check_not "onsitedev was not started with it" console_has bad "Started onsitedev.service"
bad_enrol() { mtype -i "$(fat bad)" ::rdv-enrol.txt 2>/dev/null | grep -q '^rdvctl account add .* --role onsite --key '; }
check "a key was made and the enrol line written all the same" wait_for 60 bad_enrol
for vm in onsite master bad; do monitor "$vm" quit >/dev/null 2>&1; done
finish
