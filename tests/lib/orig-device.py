#!/usr/bin/python3
"""Drives rdv-shell the way the original kit's device scripts did: ssh on a
pty (pexpect), CR line ends, the vtun port forward added at run time through
ssh's escape command line (~C, -L), the original values, and at the end
commands sent in one go followed by end of input.

usage: orig-device.py onsite|master NAME DIR SSH-ARGS...
Writes DIR/params (get_vtun_parameters) once the forward is up, then waits
for DIR/finish to exist. Exit status 0 when every answer was as expected.
"""
import os
import re
import sys
import time

import pexpect

role, name, out_dir = sys.argv[1:4]
ssh_args = sys.argv[4:]
prompt = re.escape(name) + r"\$ "
log = open(os.path.join(out_dir, "orig.log"), "w")


def fail(what):
    log.write("FAIL: %s\n" % what)
    log.flush()
    print("FAIL: %s" % what, file=sys.stderr)
    sys.exit(1)


child = pexpect.spawn("ssh", ssh_args, encoding="utf-8", timeout=30, logfile=log)


def cmd(line, end="\r"):
    """one command, answered before the next prompt (the echo is stripped)"""
    child.send(line + end)
    child.expect(prompt)
    text = child.before.replace("\r\n", "\n")
    echoed, _, answer = text.partition("\n")
    if echoed.strip() != line:
        fail("echo of %r was %r" % (line, echoed))
    return answer.strip()


child.expect(prompt)
if cmd("get_role") != role:
    fail("get_role")
if cmd("get_tunnel_mode", "\r\n") != "L3":  # CR LF is one line end too
    fail("get_tunnel_mode")
if role == "onsite":
    for line in ("set_tunnelling_dev_lan_ip_address 10.1.2.11/255.255.255.0",
                 "set_tunnelling_dev_dns_server_list",
                 "set_tunnelling_dev_hostname 'lionel\\'s onsite'",
                 "set_tunnelling_dev_uplink_type lan"):
        answer = cmd(line)
        if answer:
            fail("%s answered %r" % (line, answer))
    deadline = time.time() + 120
    while cmd("wait_master_connection") != "ready":
        if time.time() > deadline:
            fail("no master came")
else:
    if cmd("set_tunnel_mode L3"):
        fail("set_tunnel_mode")
    onsite = os.environ["ONSITE"]
    deadline = time.time() + 60
    while onsite not in cmd("show_online_onsite_devs").split():
        if time.time() > deadline:
            fail("%s not listed" % onsite)
        time.sleep(0.5)
    answer = cmd("connect_to_onsite_dev " + onsite)
    if answer:
        fail("connect answered %r" % answer)
    if cmd("show_remote_onsite_ip_config") != "10.1.2.11/24":
        fail("show_remote_onsite_ip_config")

params = dict(l.split(": ", 1) for l in cmd("get_vtun_parameters").splitlines() if ": " in l)
port = params["rdv_server_vtun_tcp_port"]
# ssh's escape command line: at the start of a line, ~C, then the -L spec
child.send("~C")
child.expect("ssh> ")
child.send("-L 127.0.0.1:%s:127.0.0.1:%s\r" % (os.environ["LPORT"], port))
child.expect("Forwarding port.")
with open(os.path.join(out_dir, "params.tmp"), "w") as f:
    f.write("".join("%s: %s\n" % kv for kv in params.items()))
os.rename(os.path.join(out_dir, "params.tmp"), os.path.join(out_dir, "params"))

while not os.path.exists(os.path.join(out_dir, "finish")):
    time.sleep(0.2)
# commands in one go, then end of input: every one answered, then the shell exits
child.send("echo one\recho two\nget_role\r\n")
child.sendeof()
child.expect(pexpect.EOF, timeout=30)
text = child.before.replace("\r\n", "\n")
answers = [l for l in text.split("\n") if l in ("one", "two", role)]
if answers != ["one", "two", role]:
    fail("pipelined answers were %r" % answers)
child.close()
log.write("DONE\n")
sys.exit(0)
