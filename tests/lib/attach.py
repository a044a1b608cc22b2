#!/usr/bin/env python3
"""A TLS client of the RDV server's data path (SNI rdv-data), for the tests.

attach.py HOST CAFILE MODE [ARGS]: prints what the server answered (its first
line, or "closed"/"timeout").
  line TEXT         sends TEXT and a newline
  raw N             sends N bytes of 'A', no newline
  nothing           sends nothing
  pair LINE1 LINE2  two connections; both lines; then bytes from the first
                    must come out of the second: prints "A1 | A2 | relayed"
  hold N SECONDS    N connections that send nothing: prints "open N" once all
                    are open, then keeps them SECONDS
"""
import socket
import ssl
import sys
import time


def connect(host, cafile):
    ctx = ssl.create_default_context(cafile=cafile)
    ctx.check_hostname = False  # pinned by CAfile, as the devices' stunnel does
    raw = socket.create_connection((host, 443), timeout=15)
    return ctx.wrap_socket(raw, server_hostname="rdv-data")


def answer(s, timeout=12):
    s.settimeout(timeout)
    buf = b""
    try:
        while not buf.endswith(b"\n"):
            b = s.recv(1)
            if not b:
                return buf.decode(errors="replace").strip() or "closed"
            buf += b
    except (socket.timeout, TimeoutError):
        return "timeout"
    except (ssl.SSLError, OSError):
        return buf.decode(errors="replace").strip() or "closed"
    return buf.decode(errors="replace").strip()


def main():
    host, cafile, mode = sys.argv[1:4]
    if mode == "pair":
        a, b = connect(host, cafile), connect(host, cafile)
        a.sendall(sys.argv[4].encode() + b"\n")
        time.sleep(0.2)
        b.sendall(sys.argv[5].encode() + b"\n")
        ra, rb = answer(a), answer(b)
        relayed = "not relayed"
        if ra == "ok" and rb == "ok":
            a.sendall(b"through the relay\n")
            if answer(b) == "through the relay":
                relayed = "relayed"
        print(f"{ra} | {rb} | {relayed}")
        return
    if mode == "hold":
        held = [connect(host, cafile) for _ in range(int(sys.argv[4]))]
        print(f"open {len(held)}", flush=True)
        time.sleep(float(sys.argv[5]))
        return
    s = connect(host, cafile)
    if mode == "line":
        s.sendall(sys.argv[4].encode() + b"\n")
    elif mode == "raw":
        try:
            s.sendall(b"A" * int(sys.argv[4]))
        except OSError:
            pass
    print(answer(s))


main()
