#!/usr/bin/env python3
"""sluice against nginx and HAProxy, side by side in one run (`make bench`).

Layout (2-core machine): each proxy is pinned alone to CPU 0; the origin, wrk
and this driver (with its deterministic clients) share CPU 1. The proxy is
meant to be the bottleneck, so requests/s measures it; the "proxy CPU" column
shows whether it was (near 100 %: yes; well below: the load side or other
load on the machine limited the run).

1. Throughput: the three contestants run at once, idle but for the one under
   load; runs are interleaved (round r: scenario s: sluice, nginx, haproxy,
   then the same load straight to the origin as the ceiling of CPU 1), each
   a warm-up then a measured wrk run. Medians, min-max, ratio to nginx, and
   the proxy's CPU time per request (user + system of all its processes),
   which other load on the machine disturbs far less than requests/s.
2. Noise-free figures, one contestant at a time, each started afresh:
   - instructions per request: the proxy under callgrind (all its processes),
     W warm-up requests then N keep-alive requests on one connection, minus
     a run with the same warm-up and an idle pause of the same length
     instead of the N requests, divided by N;
   - system calls per request: the same two runs under `strace -f -c`;
   - memory per idle client connection: RSS summed over the proxy's
     processes with IDLE client connections open, each having completed one
     keep-alive request and then left idle, minus RSS before they opened
     (after the warm-up), divided by IDLE.

Everything here runs on 127.0.0.1 only, with bounded counts and durations.
"""

import argparse
import datetime
import json
import os
import re
import resource
import signal
import select
import socket
import ssl
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
CONTESTANTS = ("sluice", "nginx", "haproxy")
MIB = 1048576

SCENARIOS = (
    # key, title, path, connections, Connection: close, upload bytes, response body bytes
    ("small", "100 B responses, keep-alive, 50 clients", "/100", 50, False, 0, 100),
    ("16k", "16 KiB responses, keep-alive, 400 clients", "/16k", 400, False, 0, 16384),
    ("close", "100 B responses, client closes after each request, 50 clients",
     "/100", 50, True, 0, 100),
    ("upload", "1 MiB uploads (POST), 8 clients", "/upload", 8, False, MIB, 100),
    ("download", "1 MiB downloads, 8 clients", "/1m", 8, False, 0, MIB),
)


def log(msg):
    print("bench: " + msg, flush=True)


# ---------------------------------------------------------------- clients

def read_response(sock, buf):
    """Reads one response with a Content-Length body; returns (status, rest)."""
    while b"\r\n\r\n" not in buf:
        data = sock.recv(65536)
        if not data:
            raise ConnectionError("connection closed before a response head")
        buf += data
    head, _, buf = buf.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    m = re.search(rb"\r\ncontent-length:\s*(\d+)", head, re.I)
    clen = int(m.group(1)) if m else 0
    while len(buf) < clen:
        data = sock.recv(max(65536, clen - len(buf)))
        if not data:
            raise ConnectionError("connection closed inside a response body")
        buf += data
    return status, buf[clen:]


def keepalive_requests(port, n, path="/100", tls=False):
    """n sequential GETs on one keep-alive connection: a deterministic client."""
    req = ("GET %s HTTP/1.1\r\nHost: bench\r\n\r\n" % path).encode()
    raw = socket.create_connection(("127.0.0.1", port), timeout=30)
    raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if tls:
        try:
            raw = tls_client_context().wrap_socket(raw, server_hostname="bench")
        except BaseException:
            raw.close()
            raise
    with raw as s:
        buf = b""
        for _ in range(n):
            s.sendall(req)
            status, buf = read_response(s, buf)
            if status != 200:
                raise RuntimeError("status %d from port %d" % (status, port))


def origin_stats(port):
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"GET /__stats HTTP/1.1\r\nHost: bench\r\n\r\n")
        buf = b""
        while True:
            data = s.recv(4096)
            buf += data
            if not data or buf.endswith(b"\n") and b"requests " in buf:
                break
    body = buf.partition(b"\r\n\r\n")[2].decode()
    return {k: int(v) for k, v in (line.split() for line in body.splitlines())}


def tls_client_context():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def wait_ready(port, timeout, tls=False):
    """Waits until the proxy answers a request through to the origin."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            keepalive_requests(port, 1, tls=tls)
            return
        except (OSError, RuntimeError, ConnectionError, ssl.SSLError):
            if time.monotonic() > deadline:
                raise RuntimeError("port %d not ready after %d s" % (port, timeout))
            time.sleep(0.2)


# ---------------------------------------------------------------- processes

def children(pid):
    """Direct children of pid (the real parent: a tracer does not count)."""
    return [p for p in descendants(pid, depth=1) if p != pid]


def descendants(pid, depth=None):
    """pid and all its descendants (by scanning /proc)."""
    children = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                st = f.read()
        except OSError:
            continue
        ppid = int(st[st.rindex(")") + 2:].split()[1])
        children.setdefault(ppid, []).append(int(d))
    out, todo = [], [(pid, 0)]
    while todo:
        p, d = todo.pop()
        out.append(p)
        if depth is None or d < depth:
            todo.extend((k, d + 1) for k in children.get(p, []))
    return out


def machine_busy_seconds():
    """CPU time the whole machine spent busy (all CPUs), from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:9]]
    return (v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / os.sysconf("SC_CLK_TCK")


def own_seconds(origin_pid):
    """CPU time of this run: the driver, its reaped children (wrk, stopped
    proxies) and the origin, which is still running."""
    t = os.times()
    return (t.user + t.system + t.children_user + t.children_system
            + cpu_ticks([origin_pid]) / os.sysconf("SC_CLK_TCK"))


def cpu_ticks(pids):
    total = 0
    for p in pids:
        try:
            with open("/proc/%d/stat" % p) as f:
                st = f.read()
        except OSError:
            continue
        fields = st[st.rindex(")") + 2:].split()
        total += int(fields[11]) + int(fields[12])  # utime + stime
    return total


def rss_bytes(pids):
    total = 0
    for p in pids:
        try:
            with open("/proc/%d/status" % p) as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
        except OSError:
            pass
    return total


class Contestant:
    """One proxy: its config, command line, and how to stop it."""

    def __init__(self, name, args, work, tls=None):
        self.name = name
        self.args = args
        self.work = work
        self.tls = tls  # None, or the certificate files {"cert", "key", "pem"}
        self.port = args.port + 1 + CONTESTANTS.index(name)
        self.dir = os.path.join(work, name)
        os.makedirs(self.dir, exist_ok=True)
        if name == "nginx":
            for sub in ("nginx", "nginx/logs"):
                os.makedirs(os.path.join(self.dir, sub), exist_ok=True)
        tmpl = {"sluice": "sluice.conf.in", "nginx": "nginx.conf.in", "haproxy": "haproxy.cfg.in"}[name]
        if tls:
            tmpl = tmpl.replace(".c", "-tls.c")
        with open(os.path.join(HERE, tmpl)) as f:
            text = f.read()
        for k, v in (("@DIR@", self.dir), ("@PORT@", str(self.port)),
                     ("@O1@", str(args.port + 11)), ("@O2@", str(args.port + 12)),
                     ("@CERT@", (tls or {}).get("cert", "")), ("@KEY@", (tls or {}).get("key", "")),
                     ("@PEM@", (tls or {}).get("pem", ""))):
            text = text.replace(k, v)
        self.conf = os.path.join(self.dir, tmpl[:-3])
        with open(self.conf, "w") as f:
            f.write(text)
        self.proc = None

    def command(self, single_process=False):
        if self.name == "sluice":
            return [self.args.sluice, "-f", "-c", self.conf]
        if self.name == "nginx":
            cmd = ["nginx", "-p", os.path.join(self.dir, "nginx"), "-c", self.conf]
            if single_process:  # what valgrind and strace need: no fork
                cmd += ["-g", "master_process off;"]
            return cmd
        return ["haproxy", "-db", "-f", self.conf]

    def start(self, wrapper=(), single_process=False, ready_timeout=20):
        check_port_free(self.port)
        out = open(os.path.join(self.dir, "stdout.log"), "ab")
        cmd = ["taskset", "-c", "0"] + list(wrapper) + self.command(single_process)
        self.proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        out.close()
        try:
            wait_ready(self.port, ready_timeout, tls=bool(self.tls))
        except RuntimeError:
            self.stop()
            raise
        # taskset execs the wrapper or the proxy in place: same pid.
        return self.proc.pid

    def target_pid(self, wrapper):
        """The proxy's main pid: strace forks it, valgrind and taskset exec."""
        if wrapper and wrapper[0] == "strace":
            kids = children(self.proc.pid)
            if len(kids) != 1:
                raise RuntimeError("strace pid %d has children %s" % (self.proc.pid, kids))
            return kids[0]
        return self.proc.pid

    def pids(self):
        return descendants(self.proc.pid)

    def stop(self, wrapper=(), timeout=60):
        if self.proc is None or self.proc.poll() is not None:
            self.proc = None
            return
        pid = self.target_pid(wrapper)
        # nginx: QUIT is its graceful stop; sluice and HAProxy: TERM. Sent
        # again every 2 s: under valgrind a signal can arrive just before
        # the proxy blocks in epoll_wait with no timer, and go unseen.
        deadline = time.monotonic() + timeout
        while True:
            try:
                os.kill(pid, signal.SIGQUIT if self.name == "nginx" else signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(2)
                break
            except subprocess.TimeoutExpired:
                if time.monotonic() > deadline:
                    log("%s did not stop in %d s: killing pid %d" % (self.name, timeout, self.proc.pid))
                    self.proc.kill()
                    self.proc.wait()
                    break
        self.proc = None


def check_port_free(port):
    s = socket.socket()
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))
    except OSError:
        sys.exit("bench: port %d is in use (set BENCH_PORT)" % port)
    finally:
        s.close()


# ---------------------------------------------------------------- throughput

def wrk(port, sc, seconds, args, scheme="http"):
    key, _, path, conns, close, upload, _ = sc
    cmd = ["wrk", "-t1", "-c%d" % conns, "-d%ds" % seconds, "--timeout", "10s",
           "-s", os.path.join(HERE, "wrk.lua")]
    if close:
        cmd += ["-H", "Connection: close"]
    cmd.append("%s://127.0.0.1:%d%s" % (scheme, port, path))
    env = dict(os.environ, BENCH_BODY=str(upload))
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout
    m = re.search(r"^BENCH (.*)$", out, re.M)
    if not m:
        raise RuntimeError("no summary from wrk:\n" + out)
    return {k: int(v) for k, v in (kv.split("=") for kv in m.group(1).split())}


def throughput(cs, args, results):
    o1 = args.port + 11
    hz = os.sysconf("SC_CLK_TCK")
    scenarios = [sc for sc in SCENARIOS if sc[0] in args.scenarios.split(",")]
    for r in range(args.rounds):
        for sc in scenarios:
            for c in cs:
                wrk(c.port, sc, args.warmup, args)
                pids = c.pids()
                st0, t0 = origin_stats(o1), cpu_ticks(pids)
                w = wrk(c.port, sc, args.seconds, args)
                st1, t1 = origin_stats(o1), cpu_ticks(pids)
                secs = w["duration_us"] / 1e6
                run = {
                    "rps": w["requests"] / secs,
                    "mbps": w["requests"] * max(sc[5], sc[6]) / secs / 1e6,
                    "p99_ms": w["p99_us"] / 1000.0,
                    "cpu": 100.0 * (t1 - t0) / hz / secs,
                    "accepts_per_1000": 1000.0 * (st1["accepts"] - st0["accepts"]) / max(1, w["requests"]),
                    "errors": sum(w[k] for k in ("connect", "read", "write", "status", "timeout")),
                }
                results.setdefault(sc[0], {}).setdefault(c.name, []).append(run)
                log("round %d/%d %-8s %-7s %9.0f req/s %8.1f MB/s p99 %6.2f ms cpu %3.0f%% "
                    "backend conns/1000 %.1f errors %d" % (
                        r + 1, args.rounds, sc[0], c.name, run["rps"], run["mbps"],
                        run["p99_ms"], run["cpu"], run["accepts_per_1000"], run["errors"]))
            # Not for closing clients: straight to the origin, the origin would
            # accept every connection itself, on CPU 1, which no proxy makes it do.
            if "direct" not in args.skip and not sc[4]:
                # The same load straight to the origin: what CPU 1 (wrk + origin)
                # can do at most, so the ceiling of every proxied figure.
                wrk(o1, sc, args.warmup, args)
                w = wrk(o1, sc, args.seconds, args)
                secs = w["duration_us"] / 1e6
                run = {"rps": w["requests"] / secs,
                       "mbps": w["requests"] * max(sc[5], sc[6]) / secs / 1e6,
                       "p99_ms": w["p99_us"] / 1000.0,
                       "errors": sum(w[k] for k in ("connect", "read", "write", "status", "timeout"))}
                results.setdefault(sc[0], {}).setdefault("direct", []).append(run)
                log("round %d/%d %-8s %-7s %9.0f req/s %8.1f MB/s p99 %6.2f ms (no proxy)" % (
                    r + 1, args.rounds, sc[0], "direct", run["rps"], run["mbps"], run["p99_ms"]))


# ---------------------------------------------------------------- noise-free figures

class Clients:
    """conns keep-alive connections driven in lockstep: a request on each,
    then each response read, so the proxy sees bursts of conns requests
    (conns = 1: strictly sequential). Deterministic request counts."""

    def __init__(self, port, conns):
        self.req = b"GET /100 HTTP/1.1\r\nHost: bench\r\n\r\n"
        self.socks = []
        for _ in range(conns):
            s = socket.create_connection(("127.0.0.1", port), timeout=60)
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.socks.append(s)
        self.bufs = [b""] * conns

    def run(self, n):
        """n requests in all (n must be a multiple of the connection count)."""
        for _ in range(n // len(self.socks)):
            for s in self.socks:
                s.sendall(self.req)
            for i, s in enumerate(self.socks):
                status, self.bufs[i] = read_response(s, self.bufs[i])
                if status != 200:
                    raise RuntimeError("status %d" % status)

    def close(self):
        for s in self.socks:
            s.close()


def measured_session(c, wrapper, n, args, conns=1):
    """Start c under wrapper, warm up, then n requests (or an equal pause if
    n is 0, lasting args._pause), stop. Returns the wall time of the n part."""
    c.start(wrapper=wrapper, single_process=True, ready_timeout=60)
    try:
        cl = Clients(c.port, conns)
        try:
            cl.run(args.warm_n)
            t = time.monotonic()
            if n:
                cl.run(n)
            else:
                time.sleep(args._pause)
            secs = time.monotonic() - t
        finally:
            cl.close()
        time.sleep(0.2)
        return secs
    finally:
        c.stop(wrapper=wrapper)


def callgrind_ir(c, n, args):
    out = os.path.join(c.dir, "cg-%d" % n)
    os.makedirs(out, exist_ok=True)
    for f in os.listdir(out):
        os.unlink(os.path.join(out, f))
    wrapper = ["valgrind", "--tool=callgrind", "--trace-children=yes",
               "--callgrind-out-file=%s/callgrind.out.%%p" % out, "--dump-instr=no",
               "--log-file=%s/valgrind.%%p.log" % out]
    secs = measured_session(c, wrapper, n, args)
    total = 0
    for f in os.listdir(out):
        if not f.startswith("callgrind.out."):
            continue
        with open(os.path.join(out, f)) as fh:
            text = fh.read()
        m = re.search(r"^summary:\s+(\d+)", text, re.M) or re.search(r"^totals:\s+(\d+)", text, re.M)
        if m:
            total += int(m.group(1))
    return total, secs


def strace_counts(c, n, args, conns):
    out = os.path.join(c.dir, "strace-%d-%d.txt" % (conns, n))
    wrapper = ["strace", "-f", "-c", "-o", out]
    secs = measured_session(c, wrapper, n, args, conns)
    calls, errors = {}, {}
    with open(out) as f:
        for line in f:
            fields = line.split()
            if len(fields) < 5 or not fields[0][0].isdigit() or fields[-1] == "total":
                continue
            name = fields[-1]
            calls[name] = calls.get(name, 0) + int(fields[3])
            errors[name] = errors.get(name, 0) + (int(fields[4]) if len(fields) == 6 else 0)
    return calls, errors, secs


def idle_memory(c, args):
    c.start()
    socks = []
    try:
        keepalive_requests(c.port, args.warm_n)
        time.sleep(0.5)
        before = rss_bytes(c.pids())
        req = b"GET /100 HTTP/1.1\r\nHost: bench\r\n\r\n"
        for _ in range(args.idle):
            s = socket.create_connection(("127.0.0.1", c.port), timeout=30)
            socks.append(s)
            s.sendall(req)
            status, rest = read_response(s, b"")
            if status != 200:
                raise RuntimeError("status %d" % status)
        time.sleep(1.0)
        after = rss_bytes(c.pids())
        return before, after
    finally:
        for s in socks:
            s.close()
        c.stop()


def noise_free(cs, args, results):
    nf = results.setdefault("noise_free", {})
    for c in cs:
        d = nf.setdefault(c.name, {})
        log("%s: callgrind, %d + %d requests" % (c.name, args.warm_n, args.n))
        ir_n, secs = callgrind_ir(c, args.n, args)
        args._pause = secs
        log("%s: callgrind, %d requests and a %.1f s pause" % (c.name, args.warm_n, secs))
        ir_0, _ = callgrind_ir(c, 0, args)
        d["instructions"] = (ir_n - ir_0) / args.n
        d["ir_runs"] = [ir_n, ir_0]

        for conns, suffix in ((1, ""), (args.burst, "_burst")):
            log("%s: strace, %d + %d requests on %d connection(s)" % (c.name, args.warm_n, args.n, conns))
            calls_n, err_n, secs = strace_counts(c, args.n, args, conns)
            args._pause = secs
            calls_0, err_0, _ = strace_counts(c, 0, args, conns)
            per = {k: (calls_n.get(k, 0) - calls_0.get(k, 0)) / args.n for k in set(calls_n) | set(calls_0)}
            per_err = {k: (err_n.get(k, 0) - err_0.get(k, 0)) / args.n for k in set(err_n) | set(err_0)}
            d["syscalls" + suffix] = sum(per.values())
            d["syscalls_by_name" + suffix] = per
            d["syscall_errors_by_name" + suffix] = per_err

        log("%s: memory with %d idle client connections" % (c.name, args.idle))
        before, after = idle_memory(c, args)
        d["rss_before"], d["rss_after"] = before, after
        d["bytes_per_idle_conn"] = (after - before) / args.idle
        log("%s: %.0f instructions/request, %.2f syscalls/request (%.2f with %d clients), "
            "%.0f bytes/idle connection" % (c.name, d["instructions"], d["syscalls"],
                                            d["syscalls_burst"], args.burst, d["bytes_per_idle_conn"]))


# ---------------------------------------------------------------- HTTPS (--tls)

TLS_SCENARIOS = (
    # key, title, client
    ("full", "full TLS handshakes: a new connection per request, no resumption", "tlsload -m full"),
    ("resumed", "resumed TLS handshakes (session tickets): a new connection per request", "tlsload -m resume"),
    ("keepalive", "keep-alive HTTPS requests, 100 B responses", "wrk"),
)
TLS_BEGIN = "<!-- bench-tls: written by `make bench-tls` (run.py --tls); `make bench` keeps it -->"
TLS_END = "<!-- /bench-tls -->"


def make_certificate(work):
    """An ECDSA P-256 self-signed certificate for all three contestants."""
    d = os.path.join(work, "cert")
    os.makedirs(d, exist_ok=True)
    cert, key, pem = (os.path.join(d, f) for f in ("cert.pem", "key.pem", "cert+key.pem"))
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-nodes", "-keyout", key, "-out", cert, "-days", "7", "-subj", "/CN=bench",
                    "-addext", "subjectAltName=DNS:bench"], check=True, capture_output=True, timeout=30)
    with open(pem, "w") as f:
        for src in (cert, key):
            with open(src) as g:
                f.write(g.read())
    return {"cert": cert, "key": key, "pem": pem}


class LineReader:
    """Lines from a child's stdout, each awaited with a deadline."""

    def __init__(self, proc):
        self.proc, self.buf = proc, b""

    def line(self, timeout):
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise RuntimeError("no output from %s in %d s" % (self.proc.args[0], timeout))
            r, _, _ = select.select([self.proc.stdout], [], [], left)
            if r:
                data = os.read(self.proc.stdout.fileno(), 4096)
                if not data:
                    raise RuntimeError("%s ended early (status %s)" % (self.proc.args[0], self.proc.wait()))
                self.buf += data
        line, _, self.buf = self.buf.partition(b"\n")
        return line.decode()


def kv(line):
    return dict(x.split("=", 1) for x in line.split()[1:])


def tlsload(c, mode, seconds, warmup, args):
    """One tlsload run against c; proxy CPU sampled at its GO and at its end."""
    cmd = [args.tlsload, "-p", str(c.port), "-c", str(args.tls_conns), "-d", str(seconds),
           "-w", str(warmup), "-m", mode]
    err = open(os.path.join(c.dir, "tlsload.err"), "ab")
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, stdin=subprocess.DEVNULL, bufsize=0)
    err.close()
    try:
        rd = LineReader(p)
        if rd.line(warmup + 40) != "GO":
            raise RuntimeError("tlsload: no GO")
        pids = c.pids()
        t0 = cpu_ticks(pids)
        out = rd.line(seconds + 20)
        t1 = cpu_ticks(pids)
        p.wait(10)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    r = kv(out)
    secs = int(r["duration_us"]) / 1e6
    hs = int(r["full"]) + int(r["resumed"])
    return {
        "hps": hs / secs,
        "rps": int(r["ok"]) / secs,
        "cpu": 100.0 * (t1 - t0) / os.sysconf("SC_CLK_TCK") / secs,
        "cpu_us_hs": 1e6 * (t1 - t0) / os.sysconf("SC_CLK_TCK") / max(1, hs),
        "resumed_share": int(r["resumed"]) / max(1, hs),
        "tickets_per_hs": int(r["tickets"]) / max(1, hs),
        "errors": int(r["errors"]),
        "negotiated": "%s %s %s" % (r["proto"], r["cipher"], r["group"]),
    }


def tls_load(cs, args, results):
    hz = os.sysconf("SC_CLK_TCK")
    ka = ("keepalive", "", "/100", args.tls_conns, False, 0, 100)
    for r in range(args.rounds):
        for key, _, _ in TLS_SCENARIOS:
            if key not in args.scenarios.split(","):
                continue
            for c in cs:
                if key == "keepalive":
                    wrk(c.port, ka, args.warmup, args, scheme="https")
                    pids = c.pids()
                    t0 = cpu_ticks(pids)
                    w = wrk(c.port, ka, args.seconds, args, scheme="https")
                    t1 = cpu_ticks(pids)
                    secs = w["duration_us"] / 1e6
                    run = {"rps": w["requests"] / secs, "p99_ms": w["p99_us"] / 1000.0,
                           "cpu": 100.0 * (t1 - t0) / hz / secs,
                           "cpu_us_req": 1e6 * (t1 - t0) / hz / max(1, w["requests"]),
                           "errors": sum(w[k] for k in ("connect", "read", "write", "status", "timeout"))}
                    log("round %d/%d tls-%-9s %-7s %9.0f req/s p99 %6.2f ms cpu %3.0f%% "
                        "%.1f us/req errors %d" % (r + 1, args.rounds, key, c.name, run["rps"],
                                                   run["p99_ms"], run["cpu"], run["cpu_us_req"],
                                                   run["errors"]))
                else:
                    run = tlsload(c, "full" if key == "full" else "resume", args.seconds,
                                  args.warmup, args)
                    log("round %d/%d tls-%-9s %-7s %7.0f handshakes/s cpu %3.0f%% %6.1f us/handshake "
                        "resumed %3.0f%% tickets/handshake %.2f errors %d (%s)" % (
                            r + 1, args.rounds, key, c.name, run["hps"], run["cpu"], run["cpu_us_hs"],
                            100 * run["resumed_share"], run["tickets_per_hs"], run["errors"],
                            run["negotiated"]))
                results.setdefault(key, {}).setdefault(c.name, []).append(run)


def tls_idle_memory(c, args):
    """RSS of c's processes with args.idle TLS connections left idle after a
    full handshake and one keep-alive request each, minus RSS before."""
    c.start(ready_timeout=30)
    try:
        # Warm-up: handshakes, tickets and the pool to the origin exist.
        tlsload(c, "full", 1, 0, args)
        keepalive_requests(c.port, args.warm_n, tls=True)
        time.sleep(0.5)
        before = rss_bytes(c.pids())
        cmd = [args.tlsload, "-p", str(c.port), "-c", str(args.idle), "-d", "300", "-m", "hold"]
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stdin=subprocess.PIPE, bufsize=0)
        try:
            rd = LineReader(p)
            held = int(rd.line(300).split()[1])
            r = kv(rd.line(10))
            time.sleep(1.0)
            after = rss_bytes(c.pids())
        finally:
            p.stdin.close()
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        if held != args.idle:
            raise RuntimeError("%s: %d of %d idle TLS connections opened" % (c.name, held, args.idle))
        return {"rss_before": before, "rss_after": after, "held": held,
                "bytes_per_idle_conn": (after - before) / held,
                "negotiated": "%s %s %s" % (r["proto"], r["cipher"], r["group"])}
    finally:
        c.stop()


def libssl(binary):
    """The libssl a binary loads (ldd), with its version if dpkg knows it."""
    out = sh(["ldd", binary])
    m = re.search(r"libssl\.so\S*\s+=>\s+(\S+)", out)
    if not m:
        return "static or none"
    owner = sh(["dpkg", "-S", os.path.realpath(m.group(1))]).split(":")[0]
    ver = sh(["dpkg-query", "-W", "-f", "${Version}", owner]) if owner and "not found" not in owner else ""
    return "%s %s" % (os.path.basename(m.group(1)), ("(%s %s)" % (owner, ver)) if ver else "")


def write_tls_report(path, info, args, results):
    """Replaces the HTTPS section of path (between TLS_BEGIN and TLS_END)."""
    if "args" in info:
        args = argparse.Namespace(**dict(vars(args), **info["args"]))
    L = [TLS_BEGIN, "## HTTPS (`make bench-tls`)", ""]
    L.append("| | |")
    L.append("|---|---|")
    L.append("| date | %s |" % info["date"])
    L.append("| machine | %d CPUs, %s, Linux %s |" % (info["nproc"], info["cpu"], info["kernel"]))
    L.append("| load average (1/5/15 min) | before: %s; after: %s |" % (info["load_before"], info["load_after"]))
    L.append("| sluice | commit %s |" % info["sluice"])
    L.append("| nginx / HAProxy / wrk | %s / %s / %s (Debian) |" % (info["nginx"], info["haproxy"], info["wrk"]))
    L.append("| libssl | %s |" % "; ".join("%s: %s" % (k, v) for k, v in info["libssl"].items()))
    L.append("| certificate | ECDSA P-256, self-signed, made by `openssl req` at bench time; the same file for all three |")
    L.append("| layout | proxy alone on CPU 0 (one worker / process / thread); origin, client and driver on CPU 1 |")
    L.append("| runs | %d rounds, contestants interleaved; each run %d s after a %d s warm-up; %d client connections |"
             % (args.rounds, args.seconds, args.warmup, args.tls_conns))
    L.append("")
    if "foreign_cpu" in info:
        L.append("Other processes on the machine used %.1f %% of its CPU time during the load runs "
                 "(machine busy time from /proc/stat minus this run's own processes)." % info["foreign_cpu"])
        if info["foreign_cpu"] > 5:
            L.append("**The machine was shared**: handshakes/s and requests/s are disturbed; the proxy CPU "
                     "time per handshake or request holds up much better. Rerun on a quiet machine for "
                     "the rates.")
        L.append("")
    t = results.get("load", {})
    if t:
        L.append("Median, min–max over the rounds; ratio = median / nginx median.")
        L.append("")
        L.append("| scenario | figure | sluice | nginx | haproxy | sluice/nginx | haproxy/nginx |")
        L.append("|---|---|---|---|---|---|---|")
        for key, title, client in TLS_SCENARIOS:
            if key not in t:
                continue
            if key == "keepalive":
                rows = [("requests/s", "rps"), ("p99 latency, ms", "p99_ms"), ("proxy CPU, %", "cpu"),
                        ("proxy CPU time per request, µs", "cpu_us_req"),
                        ("requests per second of proxy CPU", "per_cpu_s_req")]
            else:
                rows = [("handshakes/s", "hps"), ("proxy CPU, %", "cpu"),
                        ("proxy CPU time per handshake (and its request), µs", "cpu_us_hs"),
                        ("handshakes per second of proxy CPU", "per_cpu_s_hs"),
                        ("resumed, % of handshakes", "resumed_pct"),
                        ("session tickets sent per handshake", "tickets_per_hs")]
            for i, (label, k) in enumerate(rows):
                cells, med = [], {}
                for name in CONTESTANTS:
                    runs = t[key].get(name)
                    if not runs:
                        cells.append("–")
                        continue
                    if k == "per_cpu_s_hs":
                        vals = [1e6 / r["cpu_us_hs"] for r in runs if r["cpu_us_hs"] > 0]
                    elif k == "per_cpu_s_req":
                        vals = [1e6 / r["cpu_us_req"] for r in runs if r["cpu_us_req"] > 0]
                    elif k == "resumed_pct":
                        vals = [100.0 * r["resumed_share"] for r in runs]
                    else:
                        vals = [r[k] for r in runs]
                    if not vals:
                        cells.append("–")
                        continue
                    m = statistics.median(vals)
                    med[name] = m
                    cells.append("%s (%s–%s)" % (fmt_num(m), fmt_num(min(vals)), fmt_num(max(vals))))
                ratios = ["%.2f" % (med[n] / med["nginx"]) if n in med and med.get("nginx") else "–"
                          for n in ("sluice", "haproxy")]
                L.append("| %s | %s | %s | %s |" % ("%s (%s)" % (title, client) if i == 0 else "", label,
                                                    " | ".join(cells), " | ".join(ratios)))
        L.append("")
        neg = {}
        for key in t:
            for name, runs in t[key].items():
                for r in runs:
                    if "negotiated" in r:
                        neg.setdefault(name, set()).add(r["negotiated"])
        if neg:
            L.append("Negotiated (protocol, cipher suite, key exchange group): " + "; ".join(
                "%s %s" % (n, ", ".join(sorted(neg[n]))) for n in CONTESTANTS if n in neg) + ".")
            L.append("")
        errs = ["%s/%s: %d" % (key, n, sum(r["errors"] for r in runs))
                for key in t for n, runs in t[key].items() if sum(r["errors"] for r in runs)]
        L.append("Client errors (failed connections or handshakes, bad responses) summed over all runs: %s."
                 % (", ".join(errs) if errs else "none"))
        L.append("")
    idle = results.get("idle")
    if idle:
        L.append("Memory: RSS summed over the proxy's processes with %d idle TLS client connections (each "
                 "after a full handshake and one keep-alive request) minus RSS before they opened, divided "
                 "by %d; each proxy started afresh and warmed up first." % (args.idle, args.idle))
        L.append("")
        L.append("| figure | sluice | nginx | haproxy | sluice/nginx | haproxy/nginx |")
        L.append("|---|---|---|---|---|---|")
        for label, k in (("bytes of RSS per idle TLS client connection", "bytes_per_idle_conn"),
                         ("RSS before, MiB", "rss_before"), ("RSS with the idle connections, MiB", "rss_after")):
            div = MIB if k.startswith("rss") else 1
            vals = [idle[n][k] / div if n in idle else None for n in CONTESTANTS]
            cells = [("{:,.0f}" if div == 1 else "{:.1f}").format(v) if v is not None else "–" for v in vals]
            ng = idle.get("nginx", {}).get(k)
            ratios = ["%.2f" % (idle[n][k] / ng) if n in idle and ng else "–" for n in ("sluice", "haproxy")]
            L.append("| %s | %s | %s |" % (label, " | ".join(cells), " | ".join(ratios)))
        L.append("")
    notes = os.path.join(HERE, "RESULTS-tls-notes.md")
    if os.path.exists(notes):
        with open(notes) as f:
            L.append(f.read().rstrip("\n"))
        L.append("")
    L.append(TLS_END)
    splice_tls(path, "\n".join(L) + "\n")


def splice_section(path, text, begin, end_mark):
    """Replaces the section between begin and end_mark in path, or appends it;
    every other byte of the file stays as it was (bench-acl, bench-pool)."""
    try:
        with open(path) as f:
            old = f.read()
    except FileNotFoundError:
        old = "# sluice benchmark results\n"
    i = old.find(begin)
    j = old.find(end_mark, i + 1) if i >= 0 else -1
    if i >= 0 and j >= 0:
        end = j + len(end_mark)
        if old[end:end + 1] == "\n":
            end += 1
        new = old[:i] + text + old[end:]
    else:
        new = old + ("" if old.endswith("\n") else "\n") + "\n" + text
    with open(path, "w") as f:
        f.write(new)


def splice_tls(path, section):
    """path with its HTTPS section replaced by section (or appended)."""
    try:
        with open(path) as f:
            text = f.read()
    except FileNotFoundError:
        text = "# sluice benchmark results\n"
    if TLS_BEGIN in text and TLS_END in text:
        head, _, rest = text.partition(TLS_BEGIN)
        _, _, tail = rest.partition(TLS_END)
        text = head.rstrip("\n") + "\n\n" + section + tail.lstrip("\n")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    with open(path, "w") as f:
        f.write(text)


def main_tls(args, work, info):
    tls = make_certificate(work)
    o1, o2 = args.port + 11, args.port + 12
    check_port_free(o1)
    check_port_free(o2)
    origin = subprocess.Popen(["taskset", "-c", "1", args.origin, str(o1), str(o2)],
                              stdout=subprocess.PIPE, stderr=open(os.path.join(work, "origin.log"), "wb"))
    origin.stdout.readline()
    names = [n for n in CONTESTANTS if n in args.only.split(",")]
    cs = [Contestant(n, args, work, tls=tls) for n in names]
    info["args"] = {k: getattr(args, k) for k in ("rounds", "seconds", "warmup", "idle", "tls_conns", "warm_n")}
    info["libssl"] = {"sluice": libssl(args.sluice), "nginx": libssl("/usr/sbin/nginx"),
                      "haproxy": libssl("/usr/sbin/haproxy")}
    results = {"info": info}
    try:
        if "load" not in args.skip:
            busy0, own0, wall0 = machine_busy_seconds(), own_seconds(origin.pid), time.monotonic()
            for c in cs:
                c.start()
            try:
                tls_load(cs, args, results.setdefault("load", {}))
            finally:
                for c in cs:
                    c.stop()
            foreign = (machine_busy_seconds() - busy0) - (own_seconds(origin.pid) - own0)
            info["foreign_cpu"] = 100.0 * max(0.0, foreign) / ((time.monotonic() - wall0) * os.cpu_count())
        if "static" not in args.skip:
            idle = results.setdefault("idle", {})
            for c in cs:
                log("%s: memory with %d idle TLS client connections" % (c.name, args.idle))
                idle[c.name] = tls_idle_memory(c, args)
                log("%s: %.0f bytes per idle TLS connection (RSS %.1f -> %.1f MiB)" % (
                    c.name, idle[c.name]["bytes_per_idle_conn"], idle[c.name]["rss_before"] / MIB,
                    idle[c.name]["rss_after"] / MIB))
    finally:
        origin.terminate()
        origin.wait()
        with open("/proc/loadavg") as f:
            info["load_after"] = " ".join(f.read().split()[:3])
        with open(os.path.join(work, "results.json"), "w") as f:
            json.dump(results, f, indent=1)
    write_tls_report(args.out, info, args, results)
    log("wrote the HTTPS section of %s (raw figures: %s)" % (args.out, os.path.join(work, "results.json")))


# ---------------------------------------------------------------- report

def sh(cmd):
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, cwd=os.path.dirname(os.path.dirname(HERE)))
        return (p.stdout + p.stderr).strip()
    except OSError:
        return "?"


def machine_info():
    model = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    commit = sh(["git", "rev-parse", "--short", "HEAD"])
    # Read-only: GIT_OPTIONAL_LOCKS=0 keeps status from refreshing the index.
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--",
                            "common", "master", "shm", "worker"],
                           capture_output=True, text=True, env=dict(os.environ, GIT_OPTIONAL_LOCKS="0"),
                           cwd=os.path.dirname(os.path.dirname(HERE))).stdout.strip()
    if dirty:
        commit += " + uncommitted changes"
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": os.cpu_count(),
        "cpu": model,
        "kernel": os.uname().release,
        "nginx": sh(["dpkg-query", "-W", "-f", "${Version}", "nginx"]) or sh(["nginx", "-v"]),
        "haproxy": sh(["dpkg-query", "-W", "-f", "${Version}", "haproxy"]),
        "wrk": sh(["dpkg-query", "-W", "-f", "${Version}", "wrk"]),
        "valgrind": sh(["valgrind", "--version"]),
        "strace": sh(["strace", "-V"]).splitlines()[0],
        "sluice": commit,
    }


def fmt_num(x, unit=""):
    if x >= 100:
        return "{:,.0f}".format(x)
    if x >= 10:
        return "%.1f" % x
    return "%.2f" % x


def cell(runs, key):
    if key == "cpu_us":
        vals = [r["cpu"] / 100.0 / r["rps"] * 1e6 for r in runs]
    else:
        vals = [r[key] for r in runs]
    return statistics.median(vals), min(vals), max(vals)


def write_report(path, info, args, results):
    if "args" in info:  # the run's parameters, also when only re-rendering
        args = argparse.Namespace(**info["args"])
    L = []
    L.append("# sluice benchmark results")
    L.append("")
    L.append("Written by `make bench` (tests/bench/run.py); see the README's Benchmark section.")
    L.append("")
    L.append("| | |")
    L.append("|---|---|")
    L.append("| date | %s |" % info["date"])
    L.append("| machine | %d CPUs, %s, Linux %s |" % (info["nproc"], info["cpu"], info["kernel"]))
    L.append("| load average (1/5/15 min) | before: %s; after: %s |" % (info["load_before"], info["load_after"]))
    L.append("| sluice | commit %s |" % info["sluice"])
    L.append("| nginx / HAProxy / wrk | %s / %s / %s (Debian) |" % (info["nginx"], info["haproxy"], info["wrk"]))
    L.append("| layout | proxy alone on CPU 0; origin, wrk and the driver on CPU 1 (taskset) |")
    L.append("| runs | %d rounds, contestants interleaved; each run %d s of wrk -t1 after a %d s warm-up |"
             % (args.rounds, args.seconds, args.warmup))
    L.append("")
    if "foreign_cpu" in info:
        L.append("Other processes on the machine used %.1f %% of its CPU time during the load runs "
                 "(machine busy time from /proc/stat minus this run's own processes)." % info["foreign_cpu"])
        if info["foreign_cpu"] > 5:
            L.append("**That is enough to disturb them**: requests/s and latency spread wide when other "
                     "processes take CPU 0 or CPU 1; the proxy CPU time per request and the noise-free "
                     "figures below hold up much better.")
        L.append("")
    if "throughput" in results:
        L.append("## Load (median, min–max over the rounds; ratio = median / nginx median)")
        L.append("")
        L.append("| scenario | figure | sluice | nginx | haproxy | sluice/nginx | haproxy/nginx "
                 "| no proxy (ceiling) |")
        L.append("|---|---|---|---|---|---|---|---|")
        t = results["throughput"]
        for sc in SCENARIOS:
            if sc[0] not in t:
                continue
            rows = [("MB/s", "mbps")] if sc[0] in ("upload", "download") else [("req/s", "rps")]
            rows += [("p99 latency, ms", "p99_ms"), ("proxy CPU, %", "cpu"),
                     ("proxy CPU time per request, µs", "cpu_us")]
            if sc[0] == "close":
                rows.append(("backend connections opened / 1000 req", "accepts_per_1000"))
            for i, (label, key) in enumerate(rows):
                cells, med = [], {}
                for name in CONTESTANTS:
                    if name not in t[sc[0]]:
                        cells.append("–")
                        continue
                    m, lo, hi = cell(t[sc[0]][name], key)
                    med[name] = m
                    cells.append("%s (%s–%s)" % (fmt_num(m), fmt_num(lo), fmt_num(hi)))
                ratios = []
                for name in ("sluice", "haproxy"):
                    if name in med and med.get("nginx"):
                        ratios.append("%.2f" % (med[name] / med["nginx"]))
                    else:
                        ratios.append("–")
                direct = "–"
                if "direct" in t[sc[0]] and key in t[sc[0]]["direct"][0]:
                    m, lo, hi = cell(t[sc[0]]["direct"], key)
                    direct = "%s (%s–%s)" % (fmt_num(m), fmt_num(lo), fmt_num(hi))
                L.append("| %s | %s | %s | %s | %s |" % (sc[1] if i == 0 else "", label,
                                                         " | ".join(cells), " | ".join(ratios), direct))
        errs = {(sc, n): sum(r["errors"] for r in runs) for sc, d in t.items() for n, runs in d.items()}
        bad = ["%s/%s: %d" % (sc, n, e) for (sc, n), e in sorted(errs.items()) if e]
        L.append("")
        L.append("\"no proxy (ceiling)\": the same wrk load sent straight to the origin in each round. "
                 "wrk and the origin share CPU 1 in every run, so a proxied figure near this one was "
                 "limited by CPU 1, not by the proxy: a \"proxy CPU\" well under 100 % says the same. "
                 "\"proxy CPU time per request\" (user + system time of all the proxy's processes "
                 "over the requests served) is then the figure to compare. Not run for closing clients: "
                 "there the origin would accept every connection itself, which no proxy makes it do.")
        L.append("")
        L.append("wrk errors (connect, read, write, timeout, non-2xx) summed over all runs: %s."
                 % (", ".join(bad) if bad else "none"))
        L.append("")
    nf = results.get("noise_free")
    if nf:
        L.append("## Figures that do not depend on machine noise")
        L.append("")
        L.append("Per proxied `GET /100` (100 B) on keep-alive connections: N = %d requests after %d "
                 "warm-up requests, minus a run with the same warm-up and an idle pause as long as "
                 "the N requests took, divided by N. \"1 client\": one connection, strictly sequential; "
                 "\"%d clients\": %d connections in lockstep (a request on each, then each response), so "
                 "events are batched. Memory: RSS summed over the proxy's processes with %d idle client "
                 "connections (each after one request) minus RSS before they opened, divided by %d."
                 % (args.n, args.warm_n, args.burst, args.burst, args.idle, args.idle))
        L.append("")
        L.append("| figure | sluice | nginx | haproxy | sluice/nginx | haproxy/nginx |")
        L.append("|---|---|---|---|---|---|")
        for label, key, f in (("instructions per request (callgrind, 1 client)", "instructions", "{:,.0f}"),
                              ("system calls per request (strace -c -f, 1 client)", "syscalls", "{:.2f}"),
                              ("system calls per request (strace -c -f, %d clients)" % args.burst,
                               "syscalls_burst", "{:.2f}"),
                              ("bytes of RSS per idle client connection", "bytes_per_idle_conn", "{:,.0f}")):
            vals = [nf[n][key] if n in nf else None for n in CONTESTANTS]
            cells = [f.format(v) if v is not None else "–" for v in vals]
            ng = nf.get("nginx", {}).get(key)
            ratios = ["%.2f" % (nf[n][key] / ng) if n in nf and ng else "–" for n in ("sluice", "haproxy")]
            L.append("| %s | %s | %s |" % (label, " | ".join(cells), " | ".join(ratios)))
        L.append("")
        L.append("System calls per request by call, 1 client / %d clients (calls that failed, "
                 "EAGAIN or EEXIST, in brackets):" % args.burst)
        L.append("")
        L.append("| call | sluice | nginx | haproxy |")
        L.append("|---|---|---|---|")
        names = set()
        for n in nf:
            for suffix in ("", "_burst"):
                names |= {k for k, v in nf[n]["syscalls_by_name" + suffix].items() if abs(v) >= 0.005}

        def one(n, k, suffix):
            v = nf[n]["syscalls_by_name" + suffix].get(k, 0)
            e = nf[n]["syscall_errors_by_name" + suffix].get(k, 0)
            v = 0.0 if abs(v) < 0.005 else v
            return "%.2f" % v + (" (%.2f)" % e if abs(e) >= 0.005 else "")

        for k in sorted(names, key=lambda k: -max(nf[n]["syscalls_by_name"].get(k, 0) for n in nf)):
            cells = [("%s / %s" % (one(n, k, ""), one(n, k, "_burst"))) if n in nf else "–"
                     for n in CONTESTANTS]
            L.append("| %s | %s |" % (k, " | ".join(cells)))
        L.append("")
    try:  # the HTTPS section (make bench-tls) stays
        with open(path) as f:
            old = f.read()
    except FileNotFoundError:
        old = ""
    if TLS_BEGIN in old and TLS_END in old:
        L.append(TLS_BEGIN + old.partition(TLS_BEGIN)[2].partition(TLS_END)[0] + TLS_END)
        L.append("")
    # ... and so do the allow/deny one (make bench-acl, acl_cost.py) and the
    # pool churn one (make bench-pool, pool_churn.py).
    for begin, end in (("<!-- bench-acl", "<!-- /bench-acl -->"),
                       ("<!-- bench-pool", "<!-- /bench-pool -->")):
        if begin in old and end in old:
            L.append(begin + old.partition(begin)[2].partition(end)[0] + end)
            L.append("")
    with open(path, "w") as f:
        f.write("\n".join(L))


# ---------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sluice", required=True)
    ap.add_argument("--origin", required=True)
    ap.add_argument("--work", required=True, help="scratch directory (configs, logs)")
    ap.add_argument("--out", required=True, help="RESULTS.md to write")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--n", type=int, default=2000, help="requests for callgrind and strace")
    ap.add_argument("--warm-n", type=int, default=200)
    ap.add_argument("--burst", type=int, default=50, help="lockstep clients for the second syscall count")
    ap.add_argument("--idle", type=int, default=10000, help="idle client connections")
    ap.add_argument("--port", type=int, default=18080, help="base port: proxies +1..+3, origin +11, +12")
    ap.add_argument("--only", default=",".join(CONTESTANTS), help="contestants, comma-separated")
    ap.add_argument("--skip", default="", help="parts to skip: load, direct, static")
    ap.add_argument("--report-only", action="store_true",
                    help="rewrite --out from WORK/results.json, run nothing")
    ap.add_argument("--scenarios", default=None,
                    help="load scenarios, comma-separated (--tls: full,resumed,keepalive)")
    ap.add_argument("--tls", action="store_true",
                    help="the HTTPS scenarios instead (make bench-tls): writes only the HTTPS "
                         "section of --out, --idle is then the idle TLS connection count")
    ap.add_argument("--tlsload", help="the tlsload client (--tls)")
    ap.add_argument("--tls-conns", type=int, default=50, help="client connections of the HTTPS load")
    args = ap.parse_args()
    if args.scenarios is None:
        args.scenarios = ",".join(sc[0] for sc in (TLS_SCENARIOS if args.tls else SCENARIOS))
    if args.tls and not args.tlsload and not args.report_only:
        sys.exit("bench: --tls needs --tlsload")
    args._pause = 0
    if args.n % args.burst or args.warm_n % args.burst:
        sys.exit("bench: --n and --warm-n must be multiples of --burst")

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if hard < args.idle + 100:
        sys.exit("bench: RLIMIT_NOFILE hard limit %d is too low for %d idle connections" % (hard, args.idle))

    work = os.path.abspath(args.work)
    os.makedirs(work, exist_ok=True)
    if args.report_only:
        with open(os.path.join(work, "results.json")) as f:
            results = json.load(f)
        if args.tls:
            write_tls_report(args.out, results["info"], args, results)
        else:
            write_report(args.out, results["info"], args, results)
        return
    info = machine_info()
    with open("/proc/loadavg") as f:
        info["load_before"] = " ".join(f.read().split()[:3])
    log("machine: %(nproc)d CPUs, %(cpu)s, Linux %(kernel)s; sluice %(sluice)s, "
        "nginx %(nginx)s, haproxy %(haproxy)s, wrk %(wrk)s" % info)
    if args.tls:
        main_tls(args, work, info)
        return

    o1, o2 = args.port + 11, args.port + 12
    check_port_free(o1)
    check_port_free(o2)
    origin = subprocess.Popen(["taskset", "-c", "1", args.origin, str(o1), str(o2)],
                              stdout=subprocess.PIPE, stderr=open(os.path.join(work, "origin.log"), "wb"))
    origin.stdout.readline()
    names = [n for n in CONTESTANTS if n in args.only.split(",")]
    cs = [Contestant(n, args, work) for n in names]
    info["args"] = {k: getattr(args, k) for k in ("rounds", "seconds", "warmup", "n", "warm_n",
                                                   "burst", "idle")}
    results = {"info": info}
    try:
        if "load" not in args.skip:
            busy0, own0, wall0 = machine_busy_seconds(), own_seconds(origin.pid), time.monotonic()
            for c in cs:
                c.start()
            try:
                throughput(cs, args, results.setdefault("throughput", {}))
            finally:
                for c in cs:
                    c.stop()
            foreign = (machine_busy_seconds() - busy0) - (own_seconds(origin.pid) - own0)
            info["foreign_cpu"] = 100.0 * max(0.0, foreign) / ((time.monotonic() - wall0) * os.cpu_count())
        if "static" not in args.skip:
            noise_free(cs, args, results)
    finally:
        origin.terminate()
        origin.wait()
        with open("/proc/loadavg") as f:
            info["load_after"] = " ".join(f.read().split()[:3])
        with open(os.path.join(work, "results.json"), "w") as f:
            json.dump(results, f, indent=1)
    write_report(args.out, info, args, results)
    log("wrote %s (raw figures: %s)" % (args.out, os.path.join(work, "results.json")))


if __name__ == "__main__":
    main()
