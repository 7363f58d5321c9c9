"""h00013: client_keepalive closes an idle keep-alive client after ~that many seconds,
silently (no response bytes); a client that keeps sending requests within the timeout
is not closed; the idle timeout restarts after each response."""

import time

from harness import HttpConn


def test_idle_keepalive_client_closed(env):
    a = env.backend("a")
    s = env.sluice([a], workers=1, timeouts={"client_keepalive": 1, "client_header": 5})

    with HttpConn(s.port, timeout=5) as c:
        assert c.request("GET", "/echo").status == 200
        t0 = time.monotonic()
        c.sock.settimeout(3.0)
        try:
            d = c.sock.recv(100)
        except ConnectionResetError:
            d = b""
        elapsed = time.monotonic() - t0
        assert d == b"", "bytes sent to an idle keep-alive client: %r" % d
        assert 0.7 <= elapsed <= 2.0, elapsed


def test_active_keepalive_client_not_closed(env):
    a = env.backend("a")
    s = env.sluice([a], workers=1, timeouts={"client_keepalive": 1, "client_header": 5})

    with HttpConn(s.port, timeout=3) as c:
        for i in range(5):                 # 5 x 0.6 s = 3 s > client_keepalive
            r = c.request("GET", "/echo?i=%d" % i)
            assert r.status == 200, (i, r)
            assert r.json()["conn_request"] == i + 1
            time.sleep(0.6)
