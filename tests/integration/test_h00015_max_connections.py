"""h00015: limits.max_connections per worker: with max_connections = 5 (1 worker) and
20 idle connections open (each sent a partial head, so a deferred accept delivers
them), a request on a new connection still succeeds once idle ones are closed by
client_header (accepting pauses and resumes); the worker never crashes. Reaching
the limit is logged once (at most one line per 10 s)."""

import socket
import time

from harness import HttpConn, read_until_close


def test_max_connections_pause_and_resume(env):
    a = env.backend("a")
    s = env.sluice([a], workers=1, extra={"limits": {"max_connections": 5}},
                   timeouts={"client_header": 1, "client_keepalive": 1})
    workers = s.wait_workers(1)
    assert len(workers) == 1
    idle = []
    try:
        for _ in range(20):
            sk = socket.create_connection(("127.0.0.1", s.port), timeout=2)
            sk.sendall(b"GET /idle HTTP/1.1\r\n")
            idle.append(sk)
        time.sleep(0.3)
        t0 = time.monotonic()
        # Queued behind up to 20 idle connections closed in batches of 5 after ~1 s.
        with HttpConn(s.port, timeout=8) as c:
            r = c.request("GET", "/echo")
        assert r.status == 200, r
        waited = time.monotonic() - t0
        assert waited < 7.0
        # The limit held: the request waited for idle ones to be closed (>= 1 s).
        assert waited >= 0.8, "served after %.2f s: 20 idle connections + 1 > 5" % waited
        # The idle connections served before ours were answered 408 (or closed).
        closed = 0
        for sk in idle:
            data, how = read_until_close(sk, timeout=0.05)
            if how in ("eof", "reset"):
                assert data == b"" or data.startswith(b"HTTP/1.1 408"), data[:100]
                closed += 1
        assert closed >= 5, closed
    finally:
        for sk in idle:
            sk.close()
    # Served normally afterwards; the same worker process.
    for _ in range(10):
        assert s.get("/echo", timeout=3).status == 200
    assert s.workers() == workers, (workers, s.workers())
    assert s.proc.poll() is None
    # Reaching the limit is logged, once per 10 s however often it happens.
    log = s.log()
    assert log.count("max_connections (5) reached: not accepting until a client connection "
                     "closes") == 1, log[-3000:]


def test_max_connections_burst_never_crashes(env):
    a = env.backend("a")
    s = env.sluice([a], workers=1, extra={"limits": {"max_connections": 5}},
                   timeouts={"client_header": 1, "client_keepalive": 1})
    workers = s.wait_workers(1)
    conns = []
    try:
        # 30 clients each send a full request at once; all get an answer eventually.
        for i in range(30):
            sk = socket.create_connection(("127.0.0.1", s.port), timeout=8)
            sk.sendall(b"GET /echo?i=%d HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % i)
            conns.append(sk)
        ok = 0
        for sk in conns:
            data = b""
            while True:
                d = sk.recv(65536)
                if not d:
                    break
                data += d
            ok += data.startswith(b"HTTP/1.1 200")
        assert ok == 30, ok
    finally:
        for sk in conns:
            sk.close()
    assert s.workers() == workers
