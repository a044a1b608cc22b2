#!/bin/bash
# Installs, from Debian's archive, what building and testing need and is
# missing. Safe to run again: installs nothing when everything is there.
set -eu
PKGS=(
	gcc make pkg-config clang libclang-rt-14-dev
	libdbus-1-dev libnl-3-dev libnl-route-3-dev libconfig-dev libnftables-dev libsystemd-dev
	dbus-daemon dbus-bin nftables iproute2 iputils-ping procps util-linux passwd
	vtun stunnel4 openssh-server openssh-client openssl busybox dnsmasq-base curl
	python3-pexpect
	# make bench (and its smoke run in make check): the baselines, load, CPU, chart
	iperf3 openvpn sysstat gnuplot-nox
	# make deb and the booted-machines test
	debhelper dpkg-dev lintian mmdebstrap systemd-container
	# make deb ARCH=arm64: Debian's cross compiler and the arm64 -dev
	# packages, which install beside the amd64 ones (Multi-Arch: same)
	crossbuild-essential-arm64 libdbus-1-dev:arm64 libnl-3-dev:arm64 libnl-route-3-dev:arm64
	libconfig-dev:arm64 libnftables-dev:arm64 libsystemd-dev:arm64
)
missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "deps: missing packages: ${missing[*]}; run as root to install them" >&2
	exit 1
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
if [[ " ${missing[*]}" == *:arm64* ]] && ! dpkg --print-foreign-architectures | grep -qx arm64; then
	dpkg --add-architecture arm64
fi
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
