#!/bin/bash
# make install per role, into a staging DESTDIR: each role installs its own
# files only (the RDV server's sshd and stunnel files only with the server),
# and an administrator's edited configuration survives a new install.
set -u
T_NAME=install
REPO=${REPO:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${BUILD:-$REPO/build}
. "$REPO/tests/lib/common.sh"
W=$(mktemp -d /tmp/rdv-install.XXXXXX)
trap 'rm -rf "$W"' EXIT
inst() { make -s -C "$REPO" BUILD="$BUILD" DESTDIR="$W/$1" "$2" >>"$W/make.log" 2>&1; }

check "make install-server installs the server" inst server install-server
check "with its config, sshd drop-in, stunnel config and unit" \
	test -s "$W/server/etc/rdv/rdvd.conf" -a -s "$W/server/etc/ssh/sshd_config.d/rdv.conf" \
	-a -s "$W/server/etc/rdv/stunnel.conf" -a -s "$W/server/lib/systemd/system/rdvd.service"
check "make install-onsite installs the onsite device" inst onsite install-onsite
check_not "and nothing of the server: no sshd, stunnel or rdvd files" \
	bash -c "ls -d $W/onsite/etc/ssh $W/onsite/etc/stunnel $W/onsite/etc/rdv/stunnel.conf $W/onsite/etc/rdv/rdvd.conf $W/onsite/usr/sbin/rdvd 2>/dev/null | grep ."
check "make install-master installs the master device" inst master install-master
check_not "and nothing of the server either" \
	bash -c "ls -d $W/master/etc/ssh $W/master/etc/stunnel $W/master/etc/rdv/rdvd.conf $W/master/usr/sbin/rdvd 2>/dev/null | grep ."

# the administrator edits the access list, then installs a new version
echo 'access = ( { master = "rpi2000"; onsite = [ "rpi1100" ]; } );' >>"$W/server/etc/rdv/rdvd.conf"
echo '# edited' >>"$W/server/etc/ssh/sshd_config.d/rdv.conf"
cp "$W/server/etc/rdv/rdvd.conf" "$W/rdvd.conf.edited"
check "make install runs again over it" inst server install
check "the edited rdvd.conf (access list) is kept" cmp -s "$W/rdvd.conf.edited" "$W/server/etc/rdv/rdvd.conf"
check "the edited sshd drop-in is kept" grep -q '^# edited' "$W/server/etc/ssh/sshd_config.d/rdv.conf"
check "the new default is beside it as rdvd.conf.new" \
	cmp -s "$REPO/rdv-server/conf/rdvd.conf" "$W/server/etc/rdv/rdvd.conf.new"
check "and make install says so" grep -q "keeping .*/etc/rdv/rdvd.conf" "$W/make.log"
finish
