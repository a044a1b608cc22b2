#!/bin/bash
# make demo: shows what works today, for real, in network namespaces on this
# machine: an RDV server (sshd, stunnel on 443, D-Bus, rdvd) and two devices
# that log in through TLS + SSH, pair, and carry traffic across the RDV glue.
# The onsite/master device software (laptop to customer LAN) comes next.
set -u
cd "$(dirname "$0")/.."
REPO=$PWD
BUILD=$REPO/build
T_NAME=demo
. tests/lib/common.sh
. tests/lib/rdv-env.sh
need_root
tests/deps.sh || exit 1
make -s -j"$(nproc)" || exit 1
trap 'run_cleanup' EXIT
trap 'exit 1' INT TERM
trap '' PIPE

say() { printf '\n\033[1m%s\033[0m\n' "$*"; }
show() { printf '%s\n' "$*" | sed 's/^/    /'; }

P=d$(printf '%04d' $(($$ % 10000)))
say "Starting an RDV server in namespace $P-rdv (sshd, stunnel on 198.18.0.1:443, D-Bus, rdvd)"
rdv_setup "$P" || { echo "demo: the RDV server did not start; see $BUILD/e2e-logs/demo"; exit 1; }
say "Creating two device accounts with rdvctl"
dev_add "${P}o" onsite 11 && dev_add "${P}m" master 12 || exit 1
show "$(rdvctl account list)"
say "Both devices log in through their stunnel client and OpenSSH, as Pis do"
dev_login "${P}o" && dev_login "${P}m" || exit 1
dev_cmd "${P}o" "set_tunnelling_dev_lan_ip_address 10.42.0.17/24" >/dev/null
dev_cmd "${P}o" "set_tunnelling_dev_hostname 'plc-gateway'" >/dev/null
dev_cmd "${P}o" "set_tunnelling_dev_uplink_type lan" >/dev/null
show "$(rdvctl devices)"
say "The master lists the onsite devices it may reach (show_online_onsite_devs_details)"
show "$(dev_cmd "${P}m" show_online_onsite_devs_details)"
say "The master connects; the onsite's wait_master_connection answers"
dev_cmd "${P}m" "connect_to_onsite_dev ${P}o" >/dev/null
show "onsite: $(dev_cmd "${P}o" wait_master_connection 30)"
say "Both fetch their vtun parameters and bring up their vtund clients over the SSH link"
dev_vtun_up "${P}m" && dev_vtun_up "${P}o" || exit 1
show "$(sed 's/^tunnel_secret: .*/tunnel_secret: (hidden)/' <<<"${DEV_PARAMS[${P}m]}")"
ip -n "${DEV_NS[${P}m]}" route replace "$(param "${DEV_PARAMS[${P}o]}" tunnel_ip_network)/30" dev tun0
wait_for 10 bash -c "DBUS_SYSTEM_BUS_ADDRESS=$BUS $BUILD/rdvctl -c $D/rdvd.conf sessions | grep -q established"
show "$(rdvctl sessions)"
target=$(param "${DEV_PARAMS[${P}o]}" tunnelling_dev_ip_address)
say "The master pings the onsite's tunnel end ($target) across the RDV server"
show "$(ip netns exec "${DEV_NS[${P}m]}" ping -c 3 -i 0.3 "$target")"
say "The master logs out: the RDV server tears the session down"
dev_logout "${P}m"
wait_for 5 grep -q "session 0: ended" "$D/rdvd.log"
show "$(grep -E 'session|online|offline' "$D/rdvd.log" | sed 's/^[^ ]* //')"
say "Done. Everything made by the demo is removed now."
