#!/bin/bash
# The images, booted: each one, after image-build/provision, runs under
# qemu-system-aarch64 (virt machine, the image's own kernel, initrd and
# cmdline.txt, the image as its disk) inside the namespaces of tests/topo.sh
# with a real RDV server (tests/lib/rdv-env.sh):
#   - the onsite image, its NIC a tap on the customer LAN (DHCP from the
#     customer's router, whose firewall lets only TCP 443 out), its clock two
#     days behind (a Pi has no RTC), enrolled with the line provision
#     --gen-key printed, comes online on the RDV server by itself;
#   - the master image, its uplink on the support LAN, enrolled with the line
#     its first boot wrote to the boot partition, gets a USB network adapter
#     hot-plugged through the QEMU monitor (usb-net on xhci) whose other end
#     is the laptop namespace; the laptop's lease comes from the image, a
#     technician logs in by SSH with the provisioned key, runs masterdev -o,
#     and the laptop fetches the customer host's page.
# Usage: test-boot-net.sh IMAGEDIR      (root; run under flock /tmp/rdv-e2e.lock)
set -u
T_NAME=images-boot-net
REPO=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-$REPO/build}
. "$REPO/tests/lib/common.sh"
. "$REPO/tests/lib/rdv-env.sh"
. "$REPO/tests/lib/devices.sh"
need_root
IMGDIR=$(cd "$1" && pwd)
TOPO=$REPO/tests/topo.sh
PROVISION=$REPO/image-build/provision
BOOT_TIMEOUT=${BOOT_TIMEOUT:-900}
P=i$(printf '%04d' $(($$ % 10000)))
trap 'run_cleanup' EXIT
trap 'exit 1' INT TERM
trap '' PIPE
W=$(mktemp -d /var/tmp/rdv-imgboot.XXXXXX)
at_exit rm -rf "$W"
[ -x "$BUILD/rdvd" ] || make -C "$REPO" -j2 >/dev/null || { not_ok "build the RDV server"; finish; exit 1; }

. "$REPO/image-build/tests/vm.sh"

"$TOPO" up "$P" || { not_ok "topology comes up"; finish; exit 1; }
at_exit "$TOPO" down "$P"
RDV_NS=$P-rdv RDV_IP=198.18.0.10
rdv_setup "$P" || { not_ok "RDV server starts"; finish; exit 1; }
ssh-keygen -q -t ed25519 -N '' -C technician -f "$W/tech"
O=${P}o M=${P}m

# --- onsite: provisioned with a key made by provision, enrolled before boot ---
image_copy onsite onsite
out=$("$PROVISION" "$W/onsite.img" --device "$O" --rdv-host "$RDV_IP" --rdv-cert "$D/tls/rdv-server.crt" \
	--rdv-host-key "$D/ssh_host_ed25519_key.pub" --tech-key "$W/tech.pub" --gen-key 2>&1)
check "provision (no root needed for it) writes rdv.txt and the device key" \
	bash -c "grep -qx 'device=$O' <(mtype -i '$(fat onsite)' ::rdv.txt) && mdir -b -i '$(fat onsite)' :: | grep -qx '::/rdv-device-key'"
line=$(grep '^rdvctl account add ' <<<"$out")
check "provision prints the exact rdvctl line" bash -c "[[ \"\$1\" =~ ^rdvctl\ account\ add\ $O\ --role\ onsite\ --key\ \'ssh-ed25519\ [A-Za-z0-9+/]+\'$ ]]" _ "$line"
check "that line creates the onsite's account on the RDV server" eval "$line"
at_exit del_user "$O"
# the customer's router serves DHCP on the customer LAN (DNS: the customer
# host); its firewall takes DHCP from the LAN, still only TCP 443 out
ip netns exec "$P-fw1" nft add rule inet topo_fw input iifname br-lan udp dport 67 accept
ip netns exec "$P-fw1" dnsmasq --port=0 --no-resolv --no-hosts --interface=br-lan --bind-interfaces \
	--dhcp-range=10.1.0.100,10.1.0.150,255.255.255.0,10m --dhcp-option=option:router,10.1.0.1 \
	--dhcp-option=option:dns-server,10.1.0.20 --dhcp-leasefile="$W/customer.leases" \
	--pid-file="$W/customer-dnsmasq.pid"
# its clock two days behind, as a Pi's is after a power-off (no RTC): the
# RDV certificate, made just now, is "not yet valid" for it, and the customer
# firewall lets no NTP out
vm_start onsite "$P-lan1" -rtc "base=$(date -u -d '-2 days' +%Y-%m-%dT%H:%M:%S)" -netdev tap,id=lan,ifname=vmonsite,script=no,downscript=no \
	-device virtio-net-pci,netdev=lan,romfile=,mac=52:54:00:12:01:10
wait_for 10 ip -n "$P-lan1" link show vmonsite >/dev/null 2>&1
ip -n "$P-lan1" link set vmonsite master br0 up

# --- master: its first boot makes its key and writes the enrol line to FAT ---
image_copy master master
"$PROVISION" "$W/master.img" --device "$M" --rdv-host "$RDV_IP" --rdv-cert "$D/tls/rdv-server.crt" \
	--rdv-host-key "$D/ssh_host_ed25519_key.pub" --tech-key "$W/tech.pub" >/dev/null
# its uplink on the support LAN, DHCP from the office router
ip netns exec "$P-support1" ip tuntap add mode tap name vmup
ip -n "$P-support1" addr add 10.2.9.1/24 dev vmup
ip -n "$P-support1" link set vmup up
ip netns exec "$P-support1" dnsmasq --port=0 --no-resolv --no-hosts --interface=vmup --bind-interfaces \
	--dhcp-range=10.2.9.100,10.2.9.150,255.255.255.0,10m --dhcp-option=option:router,10.2.9.1 \
	--dhcp-leasefile="$W/support.leases" --pid-file="$W/support-dnsmasq.pid"
vm_start master "$P-support1" -netdev tap,id=up,ifname=vmup,script=no,downscript=no \
	-device virtio-net-pci,netdev=up,romfile=,mac=52:54:00:12:02:10 -device qemu-xhci,id=xhci

# --- onsite online by itself ---
online() { rdvctl devices | grep -q "^$1 "; }
check "the onsite image comes online on the RDV server by itself" wait_for "$BOOT_TIMEOUT" online "$O"
check "its console showed the provisioning applied" console_has onsite "rdv: provisioned from /boot/firmware/rdv.txt: device $O"
check "its first boot grew the root filesystem" console_has onsite "root filesystem grown"
check "its clock was set forward to the RDV certificate's start" console_has onsite "rdv: clock set forward from"
check "its provisioned key was moved off the FAT partition" \
	bash -c "! mdir -b -i '$(fat onsite)' :: | grep -qx '::/rdv-device-key'"
announced() { rdvctl devices | grep -q "^$O .*10\.1\.0\.1[0-9][0-9]/24"; }
check "it announces its DHCP address on the customer LAN" wait_for 30 announced
onsite_ip=$(awk '$2=="52:54:00:12:01:10" {print $3}' "$W/customer.leases")
check "the technician logs into the onsite image by SSH (from the LAN) with the provisioned key" \
	vm_ssh "$P-plc1" "$onsite_ip" true
act=$(vm_ssh "$P-plc1" "$onsite_ip" systemctl is-active onsitedev rdv-firstboot ssh systemd-networkd 2>&1 | tr '\n' ' ')
check "onsite: onsitedev, rdv-firstboot, ssh, systemd-networkd active (got: $act)" test "$act" = "active active active active "
sr=$(vm_ssh "$P-plc1" "$onsite_ip" systemctl is-system-running 2>&1)
check "onsite: the system is running, no unit failed (got: $sr)" test "$sr" = running
vt=$(vm_ssh "$P-plc1" "$onsite_ip" systemctl is-enabled vtun.service 2>&1)
check "onsite: Debian's vtun.service is masked (got: $vt)" test "$vt" = masked
check "onsite: host name from the account" test "$(vm_ssh "$P-plc1" "$onsite_ip" hostname 2>&1)" = "$O"
check_not "onsite: no password login offered" bash -c \
	"ip netns exec $P-plc1 ssh -F /dev/null -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o PreferredAuthentications=password,keyboard-interactive root@$onsite_ip true 2>/dev/null"

# --- master: enrolled with the line its first boot wrote, online by itself ---
enrol_line() { mtype -i "$(fat master)" ::rdv-enrol.txt 2>/dev/null | grep "^rdvctl account add $M --role master --key "; }
check "the master's first boot wrote its enrol line to the boot partition" wait_for "$BOOT_TIMEOUT" enrol_line
check "that line creates the master's account" eval "$(enrol_line)"
at_exit del_user "$M"
check "the master image comes online on the RDV server by itself" wait_for 300 online "$M"

# --- the USB network adapter, hot-plugged; its other end is the laptop ---
"$TOPO" unplug "$P" 1
ip -n "$P-laptop1" link del eth0 2>/dev/null
ip netns exec "$P-support1" ip tuntap add mode tap name vmusb
monitor master "netdev_add tap,id=usb,ifname=vmusb,script=no,downscript=no" >"$W/mon.out"
monitor master "device_add usb-net,id=usbnic,netdev=usb,bus=xhci.0" >>"$W/mon.out"
usb_listed() { monitor master "info usb" | grep -q "QEMU USB Network Interface"; }
check "QEMU lists the hot-plugged USB network adapter" usb_listed
ip -n "$P-support1" link set vmusb netns "$P-laptop1"
ip -n "$P-laptop1" link set vmusb name eth0
ip -n "$P-laptop1" link set eth0 up
laptop_dhcp 1
leased() { [ -s "$D/lease-1" ]; }
check "the laptop gets its lease from the master image" wait_for 120 leased
read -r l_ip l_mtu l_router l_dns <"$D/lease-1" 2>/dev/null
check "lease in 192.168.38.226-238, router .225, MTU 1400 (got: ${l_ip:-} ${l_router:-} ${l_mtu:-})" \
	bash -c "[[ '${l_ip:-}' =~ ^192\.168\.38\.(22[6-9]|23[0-8])$ ]] && [ '${l_router:-} ${l_mtu:-}' = '192.168.38.225 1400' ]"
check "the technician logs into the master image by SSH with the provisioned key" \
	vm_ssh "$P-laptop1" 192.168.38.225 true
act=$(vm_ssh "$P-laptop1" 192.168.38.225 systemctl is-active masterd rdv-firstboot ssh systemd-networkd 2>&1 | tr '\n' ' ')
check "master: masterd, rdv-firstboot, ssh, systemd-networkd active (got: $act)" test "$act" = "active active active active "
sr=$(vm_ssh "$P-laptop1" 192.168.38.225 systemctl is-system-running 2>&1)
check "master: the system is running, no unit failed (got: $sr)" test "$sr" = running
vm_ssh "$P-laptop1" 192.168.38.225 masterdev -l >"$W/list" 2>&1
check "masterdev -l on the master lists the onsite image" grep -q "^$O " "$W/list"
vm_ssh "$P-laptop1" 192.168.38.225 masterdev -o "$O" >"$W/masterdev.out" 2>&1 &
at_exit kill "$!"
check "masterdev -o on the master image establishes the session" wait_for 120 grep -q "Session established" "$W/masterdev.out"
check "the laptop fetches the customer host's page through both images" \
	bash -c "ip netns exec $P-laptop1 curl -sS -m 20 http://10.1.0.20/ | grep -qx 'plc1 of customer 1: hello from the customer LAN'"
cp "$W/masterdev.out" "$W/list" "$W"/*.leases "$LOGS/" 2>/dev/null
finish
