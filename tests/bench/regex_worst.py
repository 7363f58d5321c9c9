#!/usr/bin/env python3
"""Worst case of a regex that gives up (issue 10, item 4), per request.

Starts sluice (one worker) with a path_regex route written to backtrack,
^/admin/(a|aa)+$, in front of the bench origin, then sends N requests over one
keep-alive connection: harmless ones (/100: the regex fails at once) and crafted ones
(/admin/aaaa...ab: exponential backtracking, cut by oniguruma's retry limit
and answered 500). Prints, for each kind, wall time per request and the
worker's CPU time per request (utime + stime from /proc), and checks that the
crafted ones got 500. Usage:

    tests/bench/regex_worst.py --sluice build/sluice --origin build/bench/origin [--n 200]
"""

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time

CONF = """
workers = 1; pid_file = "%(dir)s/sluice.pid"; shm = "/sluice-regex-%(port)d";
log = { error = "%(dir)s/error.log"; level = "warn"; };
listeners = ( { address = "127.0.0.1:%(port)d"; } );
sources = ( { name = "origin"; address = "127.0.0.1:%(oport)d"; } );
routes = (
  { path_regex = "^/admin/(a|aa)+$"; sources = [ "origin" ]; },
  { path = "/"; sources = [ "origin" ]; }
);
"""


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def wait_port(port, timeout=5.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    sys.exit("port %d not ready" % port)


def cpu_s(pid):
    with open("/proc/%d/stat" % pid) as f:
        st = f.read()
    fields = st[st.rfind(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(port, path, n):
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    req = ("GET %s HTTP/1.1\r\nHost: bench\r\n\r\n" % path).encode()
    statuses = []
    t0 = time.monotonic()
    buf = b""
    for _ in range(n):
        s.sendall(req)
        while True:
            i = buf.find(b"\r\n\r\n")
            if i >= 0:
                head = buf[:i].decode("latin-1")
                clen = 0
                for ln in head.split("\r\n")[1:]:
                    k, _, v = ln.partition(":")
                    if k.strip().lower() == "content-length":
                        clen = int(v)
                if len(buf) >= i + 4 + clen:
                    statuses.append(int(head.split(" ")[1]))
                    buf = buf[i + 4 + clen:]
                    break
            d = s.recv(65536)
            if not d:
                sys.exit("connection closed")
            buf += d
    s.close()
    return (time.monotonic() - t0) / n, statuses


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sluice", required=True)
    ap.add_argument("--origin", required=True)
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--evil-len", type=int, default=40, help="number of a's in the crafted path")
    a = ap.parse_args()
    d = tempfile.mkdtemp(prefix="sluice-regex-")
    port, oport = free_port(), free_port()
    origin = subprocess.Popen([a.origin, str(oport)], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    conf = os.path.join(d, "sluice.conf")
    with open(conf, "w") as f:
        f.write(CONF % {"dir": d, "port": port, "oport": oport})
    sl = subprocess.Popen([a.sluice, "-f", "-c", conf], stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL)
    try:
        wait_port(oport)
        wait_port(port)
        time.sleep(0.3)
        kids = subprocess.run(["pgrep", "-P", str(sl.pid)], capture_output=True,
                              text=True).stdout.split()
        worker = int(kids[0])
        results = {}
        for kind, path in (("harmless", "/100"),
                           ("crafted", "/admin/" + "a" * a.evil_len + "b")):
            c0 = cpu_s(worker)
            wall, st = run(port, path, a.n)
            cpu = (cpu_s(worker) - c0) / a.n
            results[kind] = (wall, cpu, st)
            print("%-9s %5d requests  wall %8.3f ms/request  worker CPU %8.3f ms/request  "
                  "statuses %s" % (kind, a.n, wall * 1e3, cpu * 1e3, sorted(set(st))))
        if set(results["crafted"][2]) != {500}:
            sys.exit("crafted requests were not all answered 500")
    finally:
        sl.terminate()
        origin.terminate()
        sl.wait(5)
        origin.wait(5)


if __name__ == "__main__":
    main()
