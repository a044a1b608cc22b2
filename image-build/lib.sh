# shellcheck shell=bash
# Helpers shared by the image-build scripts.

log() { echo "image-build: $*" >&2; }
die() { echo "image-build: error: $*" >&2; exit 1; }

need_root() { [ "$(id -u)" = 0 ] || die "run as root (mmdebstrap and the chroot need it)"; }

need_tools() {
	local t
	for t in "$@"; do
		command -v "$t" >/dev/null 2>&1 || PATH=$PATH:/usr/sbin:/sbin command -v "$t" >/dev/null 2>&1 ||
			die "missing tool '$t' (image-build/deps.sh installs what is needed)"
	done
}

# qemu-user-static registers arm64 with binfmt_misc; the filesystem may not be
# mounted in a container that was restarted.
ensure_binfmt() {
	if [ "$(uname -m)" = aarch64 ]; then return 0; fi
	if [ ! -e /proc/sys/fs/binfmt_misc/status ]; then
		mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc ||
			die "cannot mount binfmt_misc"
	fi
	if [ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]; then
		update-binfmts --enable qemu-aarch64 >/dev/null 2>&1 ||
			die "arm64 binfmt_misc entry missing (install qemu-user-static binfmt-support)"
	fi
}
