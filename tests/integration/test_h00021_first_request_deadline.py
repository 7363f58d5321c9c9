"""h00021: the first request of a connection is due within timeouts.client_header,
counted from the accept (listeners use TCP_DEFER_ACCEPT of 1 s, so the kernel holds a
silent connection for about a second before sluice sees it): a connection that sends nothing, or only part of a PROXY
protocol header, is closed then (plainly: no byte was received, so no 408), not held
for client_keepalive; a client that waits and then starts its head late still has
only what is left of client_header. After a first request, the idle wait is
client_keepalive again."""

import socket
import time

from harness import HttpConn, free_port


def wait_close(sk, limit):
    """Seconds until the peer closes sk (EOF or reset), and the bytes it sent first."""
    t0 = time.monotonic()
    got = b""
    sk.settimeout(limit)
    try:
        while True:
            d = sk.recv(4096)
            if not d:
                break
            got += d
    except ConnectionResetError:
        pass
    except socket.timeout:
        return None, got
    return time.monotonic() - t0, got


def test_silent_connection_closed_at_client_header(env):
    a = env.backend("a")
    s = env.sluice([a], workers=1, timeouts={"client_header": 1, "client_keepalive": 30})
    sk = socket.create_connection(("127.0.0.1", s.port), timeout=5)
    try:
        el, got = wait_close(sk, 5)
    finally:
        sk.close()
    assert el is not None, "a silent connection was still open after 5 s (client_header = 1)"
    assert 0.8 <= el <= 3.2, el
    assert got == b"", got
    assert a.stats()["requests"] == 0


def test_partial_proxy_header_closed_at_client_header(env):
    a = env.backend("a")
    pp = free_port()
    s = env.sluice([a], workers=1, timeouts={"client_header": 1, "client_keepalive": 30},
                   extra={"listeners": [{"address": "127.0.0.1:%d" % pp,
                                         "proxy_protocol": True}]}, port=pp)
    sk = socket.create_connection(("127.0.0.1", s.port), timeout=5)
    try:
        sk.sendall(b"PROXY TCP4 192.0.2.7 ")
        el, got = wait_close(sk, 5)
    finally:
        sk.close()
    assert el is not None, "a partial PROXY header held the connection for over 5 s"
    assert 0.8 <= el <= 2.0, el
    assert got == b""
    assert a.stats()["requests"] == 0


def test_late_head_gets_only_the_rest_of_client_header(env):
    a = env.backend("a")
    s = env.sluice([a], workers=1, timeouts={"client_header": 3, "client_keepalive": 30})
    sk = socket.create_connection(("127.0.0.1", s.port), timeout=5)
    try:
        t0 = time.monotonic()
        time.sleep(2.5)
        sk.sendall(b"GET /echo HTTP/1.1\r\nHost: x\r\n")   # never finished
        el, got = wait_close(sk, 6)
        total = time.monotonic() - t0
    finally:
        sk.close()
    assert el is not None
    # Counted from the accept (about 1 s after the connect): about 4 s in all, not
    # 2.5 + 3 as when the clock started at the first byte.
    assert 2.9 <= total <= 4.9, total
    assert got == b"" or got.startswith(b"HTTP/1.1 408"), got[:100]
    assert a.stats()["requests"] == 0


def test_keepalive_after_first_request_uses_client_keepalive(env):
    a = env.backend("a")
    s = env.sluice([a], workers=1, timeouts={"client_header": 1, "client_keepalive": 30})
    with HttpConn(s.port, timeout=3) as c:
        assert c.request("GET", "/echo").status == 200
        time.sleep(1.6)                 # longer than client_header
        assert c.request("GET", "/echo").status == 200
    assert a.stats()["requests"] == 2
