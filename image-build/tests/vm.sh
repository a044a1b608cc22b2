# QEMU helpers of the image boot tests: source after tests/lib/common.sh with
# W (work directory), IMGDIR and LOGS set.
FATOFF=$((8192 * 512))
export MTOOLS_SKIP_CHECK=1

# image_copy ROLE NAME: a sparse copy with 512 MiB more for first boot to grow into
image_copy() {
	cp --sparse=always "$IMGDIR/$1.img" "$W/$2.img"
	truncate -s +512M "$W/$2.img"
}
fat() { echo "$W/$1.img@@$FATOFF"; }

# vm_start NAME NS QEMU_ARGS...: the image NAME booted in namespace NS (- for
# none: then give -nic none, no network at all), its serial console in
# $W/NAME.console, its monitor on $W/NAME.mon (VM_APPEND: more kernel
# command line). One CPU each: the machine has two.
vm_start() {
	local name=$1 ns=$2 k i cmdline nsx=()
	shift 2
	[ "$ns" = - ] || nsx=(ip netns exec "$ns")
	k=$(mdir -b -i "$(fat "$name")" :: | sed -n 's|^::/\(vmlinuz-.*\)|\1|p' | head -n 1)
	i=$(mdir -b -i "$(fat "$name")" :: | sed -n 's|^::/\(initrd.img-.*\)|\1|p' | head -n 1)
	mcopy -n -i "$(fat "$name")" "::$k" "$W/$name.vmlinuz"
	mcopy -n -i "$(fat "$name")" "::$i" "$W/$name.initrd"
	# the Pi's own command line, with the serial console of the virt machine
	# (unit names only in systemd's status lines: a serial console is 80 columns)
	cmdline="$(mtype -i "$(fat "$name")" ::cmdline.txt | tr -d '\r\n' | sed 's/console=[^ ]*//g') console=ttyAMA0"
	# no login prompt there: systemd stops its status lines while a getty
	# holds the console, and they are what the test reads
	cmdline="$cmdline systemd.status_unit_format=name systemd.mask=serial-getty@ttyAMA0.service ${VM_APPEND:-}"
	"${nsx[@]}" qemu-system-aarch64 -M virt -cpu cortex-a72 -smp 1 -m 1024 \
		-display none -no-reboot -serial "file:$W/$name.console" \
		-monitor "unix:$W/$name.mon,server,nowait" \
		-kernel "$W/$name.vmlinuz" -initrd "$W/$name.initrd" -append "$cmdline" \
		-drive "file=$W/$name.img,format=raw,if=none,id=disk" \
		-device virtio-blk-pci,drive=disk "$@" >"$W/$name.qemu.log" 2>&1 &
	at_exit kill "$!"
	at_exit cp "$W/$name.console" "$LOGS/$name.console"
}

# monitor NAME COMMAND: one HMP command on the VM's monitor; prints its answer
monitor() {
	python3 - "$W/$1.mon" "$2" <<-'PY'
	import socket, sys, time
	s = socket.socket(socket.AF_UNIX)
	s.connect(sys.argv[1])
	s.settimeout(5)
	def until_prompt():
	    buf = b""
	    while not buf.endswith(b"(qemu) "):
	        chunk = s.recv(4096)
	        if not chunk:
	            break
	        buf += chunk
	    return buf.decode(errors="replace")
	until_prompt()
	s.sendall(sys.argv[2].encode() + b"\n")
	print(until_prompt())
	PY
}

# console_has NAME ERE: the serial console showed it (colours removed)
console_has() { sed 's/\x1b\[[0-9;]*[A-Za-z]//g' "$W/$1.console" | grep -Eqa -- "$2"; }
vm_ssh() { # vm_ssh NS ADDR COMMAND...: the technician's SSH login
	local ns=$1 addr=$2
	shift 2
	ip netns exec "$ns" ssh -F /dev/null -i "$W/tech" -o IdentitiesOnly=yes -o BatchMode=yes \
		-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR \
		-o ConnectTimeout=10 "tech@$addr" "$@"
}

