#!/usr/bin/python3
"""A hostile host on the RDV server's port 443: opens COUNT TLS connections
one after the other, completes each handshake it is allowed to, sends
nothing, and holds them all until HOLDFILE is removed (at most 10 minutes).
Writes how many handshakes completed to OUTFILE.

usage: tls-flood.py HOST PORT COUNT HOLDFILE OUTFILE
"""
import os
import socket
import ssl
import sys
import time

host, port, count, hold, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
held = []
for _ in range(count):
    try:
        s = socket.create_connection((host, port), timeout=5)
        held.append(ctx.wrap_socket(s, server_hostname="rdv"))
    except (OSError, ssl.SSLError):
        pass
with open(out + ".tmp", "w") as f:
    f.write("%d\n" % len(held))
os.rename(out + ".tmp", out)
deadline = time.time() + 600
while os.path.exists(hold) and time.time() < deadline:
    time.sleep(0.2)
