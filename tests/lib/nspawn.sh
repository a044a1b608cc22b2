# Booted Debian 12 machines under real systemd, in systemd-nspawn containers
# placed in namespaces of tests/topo.sh (see the field note in DESIGN.md:
# --keep-unit --register=no, nsenter into PID 1). Source after common.sh.
#
#   debian_root            prints the cached root (built once, see below)
#   machine_boot NAME NS   boots a container from an overlay of that root, in
#                          network namespace NS; its changes live in $MDIR/NAME
#   inside NAME CMD...     runs a command in the booted container
#   machine_poweroff NAME  shuts it down cleanly (SIGTERM to nspawn), keeps its disk
#   machine_remove NAME    powers off and removes its overlay

# Everything our packages need at run time (and logrotate, their Recommends):
# apt-get install ./PKG.deb inside a container then needs no network, and the
# containers have no route out. The cache is keyed by this list and the suite.
ROOT_SUITE=bookworm
ROOT_PKGS=systemd,systemd-sysv,dbus,dbus-bin,iproute2,nftables,procps,iputils-ping,openssl,passwd,vtun,stunnel4,openssh-server,openssh-client,dnsmasq-base,libnl-3-200,libnl-route-3-200,libconfig9,libnftables1,libdbus-1-3,libsystemd0,logrotate
ROOT_CACHE=${ROOT_CACHE:-/var/cache/rdv-test}

debian_root() {
	local key dir tmp
	key=$(printf '%s %s v1' "$ROOT_SUITE" "$ROOT_PKGS" | sha256sum | cut -c1-16)
	dir=$ROOT_CACHE/$ROOT_SUITE-$key
	if [ ! -x "$dir/root/lib/systemd/systemd" ]; then
		mkdir -p "$ROOT_CACHE"
		rm -rf "$ROOT_CACHE"/*.tmp.*
		tmp=$(mktemp -d "$dir.tmp.XXXXXX")
		mmdebstrap --quiet --variant=minbase --include="$ROOT_PKGS" "$ROOT_SUITE" "$tmp/root" \
			"deb http://deb.debian.org/debian $ROOT_SUITE main" \
			"deb http://deb.debian.org/debian $ROOT_SUITE-updates main" \
			"deb http://deb.debian.org/debian-security $ROOT_SUITE-security main" >&2 || {
			rm -rf "$tmp"
			return 1
		}
		rm -rf "$dir"
		mv "$tmp" "$dir"
		# roots of older package lists are of no use any more
		find "$ROOT_CACHE" -mindepth 1 -maxdepth 1 -name "$ROOT_SUITE-*" ! -path "$dir" -exec rm -rf {} +
	fi
	echo "$dir/root"
}

declare -A MACHINE_NSPAWN MACHINE_PID1 MACHINE_NS

# machine_boot NAME NS: needs MDIR (this run's machines) and ROOT (debian_root)
machine_boot() {
	local name=$1 ns=$2 dir=$MDIR/$1 np
	mkdir -p "$dir/upper" "$dir/work" "$dir/root"
	if ! mountpoint -q "$dir/root"; then
		mount -t overlay overlay -o "lowerdir=$ROOT,upperdir=$dir/upper,workdir=$dir/work" "$dir/root" ||
			return 1
	fi
	MACHINE_NS[$name]=$ns
	# CAP_NET_ADMIN: nspawn drops it when handed an existing namespace, and
	# the daemons need it there (tunnels, routes, nftables)
	systemd-nspawn -D "$dir/root" --boot --keep-unit --register=no --console=passive \
		--network-namespace-path="/run/netns/$ns" --capability=CAP_NET_ADMIN \
		--hostname="$name" --resolv-conf=off --timezone=off --link-journal=no \
		>>"$dir/console.log" 2>&1 &
	np=$!
	MACHINE_NSPAWN[$name]=$np
	wait_for 30 pgrep -P "$np" >/dev/null || return 1
	MACHINE_PID1[$name]=$(pgrep -P "$np" | head -1)
	# "degraded" is fine here: the test looks at our units itself
	wait_for 60 booted "$name" || return 1
	cgroup_retry "$name"
}

# A unit that failed with status 219/CGROUP never ran: the container could not
# place it in its cgroup (a race of nspawn on a loaded host, seen with
# systemd-user-sessions, whose failure leaves /run/nologin and refuses every
# login). Started once more, and said so; any other failure stays for the test.
cgroup_retry() {
	local u
	for u in $(inside "$1" systemctl list-units --state=failed --plain --no-legend 2>/dev/null | awk '{print $1}'); do
		[ "$(inside "$1" systemctl show -p ExecMainStatus --value "$u")" = 219 ] || continue
		echo "# $1: $u failed with 219/CGROUP (container runtime), started again" >&2
		inside "$1" systemctl reset-failed "$u"
		inside "$1" systemctl start "$u"
	done
	return 0
}

booted() {
	local s
	s=$(inside "$1" systemctl is-system-running 2>/dev/null)
	[ "$s" = running ] || [ "$s" = degraded ]
}

inside() {
	local name=$1
	shift
	nsenter -t "${MACHINE_PID1[$name]}" -a "$@"
}

machine_poweroff() {
	local np=${MACHINE_NSPAWN[$1]:-}
	[ -n "$np" ] || return 0
	kill "$np" 2>/dev/null
	timeout 60 tail --pid="$np" -f /dev/null
	kill -9 "$np" 2>/dev/null
	MACHINE_NSPAWN[$1]=
	return 0
}

machine_remove() {
	machine_poweroff "$1"
	umount "$MDIR/$1/root" 2>/dev/null
	rm -rf "${MDIR:?}/$1"
}
