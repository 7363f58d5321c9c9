"""h00012: client_header bounds the whole request head: a client trickling one header
byte every 0.3 s gets 408 (or a close) at ~client_header seconds even though it is
never idle; meanwhile other clients are served at once. Slowloris: 50 such clients
do not delay a normal request, and all of them are closed by client_header."""

import select
import socket
import time

from harness import HttpConn

TRICKLE = b"GET /echo HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 1000


def trickle_until_closed(socks, period, deadline):
    """Sends one byte to every open socket each period until each is closed by the
    peer or deadline passes. Returns {sock: (seconds_from_start, bytes_received)}."""
    t0 = time.monotonic()
    pos = {s: 0 for s in socks}
    got = {s: b"" for s in socks}
    ended = {}
    next_send = t0
    while len(ended) < len(socks) and time.monotonic() < deadline:
        now = time.monotonic()
        if now >= next_send:
            for s in socks:
                if s in ended:
                    continue
                try:
                    s.send(TRICKLE[pos[s]:pos[s] + 1])
                    pos[s] += 1
                except OSError:
                    pass            # closed; recv below tells
            next_send += period
        live = [s for s in socks if s not in ended]
        r, _, _ = select.select(live, [], [], max(0.0, min(next_send, deadline) - now))
        for s in r:
            try:
                d = s.recv(65536)
            except OSError:
                d = b""
            if d:
                got[s] += d
            else:
                ended[s] = (time.monotonic() - t0, got[s])
    return ended, got


def check_closed_as_408(data):
    if data:
        assert data.startswith(b"HTTP/1.1 408"), data[:200]


def test_trickling_client_timed_out_others_served(env):
    a = env.backend("a")
    s = env.sluice([a], workers=1, timeouts={"client_header": 1})

    slow = socket.create_connection(("127.0.0.1", s.port), timeout=5)
    try:
        # A normal client served while the slow one trickles (checked half-way).
        t0 = time.monotonic()
        ended, got = trickle_until_closed([slow], 0.3, t0 + 0.5)
        assert not ended, "slow client closed too early: %r" % ended
        t1 = time.monotonic()
        with HttpConn(s.port, timeout=3) as c:
            assert c.request("GET", "/echo").status == 200
        assert time.monotonic() - t1 < 0.5
        ended, got2 = trickle_until_closed([slow], 0.3, t0 + 3.0)
        assert slow in ended, "slow client still open after 3 s with client_header = 1"
        elapsed = time.monotonic() - t0
        assert 0.8 <= elapsed <= 2.0, elapsed
        check_closed_as_408(got[slow] + ended[slow][1])
    finally:
        slow.close()
    assert a.stats()["requests"] == 1


def test_slowloris_50_clients(env):
    a = env.backend("a")
    s = env.sluice([a], workers=1, timeouts={"client_header": 1},
                   extra={"limits": {"max_connections": 1000}})

    socks = [socket.create_connection(("127.0.0.1", s.port), timeout=5) for _ in range(50)]
    try:
        t0 = time.monotonic()
        trickle_until_closed(socks, 0.2, t0 + 0.4)
        # Normal requests while 50 slow clients are connected: fast.
        worst = 0.0
        for _ in range(5):
            t1 = time.monotonic()
            with HttpConn(s.port, timeout=3) as c:
                assert c.request("GET", "/echo").status == 200
            worst = max(worst, time.monotonic() - t1)
        assert worst < 0.1, "a normal request took %.3f s next to 50 slow clients" % worst
        ended, got = trickle_until_closed(socks, 0.2, t0 + 3.5)
        assert len(ended) == 50, "%d of 50 slow clients still open after 3.5 s" % (50 - len(ended))
        latest = max(t for t, _ in ended.values())
        assert latest <= 2.5, latest
        for sk in socks:
            check_closed_as_408(got[sk])
    finally:
        for sk in socks:
            sk.close()
    assert a.stats()["requests"] == 5
