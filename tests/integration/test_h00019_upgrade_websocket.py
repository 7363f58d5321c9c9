"""h00019: Upgrade. "Connection: Upgrade" + "Upgrade: websocket" is forwarded; the
backend's 101 is relayed with its Upgrade/Connection fields and the two connections
become a byte tunnel: 1 MB echoed in several round trips, half-close in both
directions, idle timeout (timeouts.tunnel), activity keeps it open. A non-101 answer
falls back to HTTP on the same connection; an unsolicited 101 is not tunnelled."""

import socket
import time

import rawbackend
from harness import HttpConn, gen_bytes, read_until_close

UPGRADE = (b"GET %s HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
           b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")


def upgrade(c, path="/ws"):
    c.send(UPGRADE % path.encode())
    status = c.readline()
    fields = {}
    while True:
        ln = c.readline()
        if ln in (b"\r\n", b"\n"):
            break
        k, _, v = ln.decode("latin-1").partition(":")
        fields.setdefault(k.strip().lower(), []).append(v.strip())
    return status, fields


def read_exact(c, n, timeout=3.0):
    out = bytearray(c.buf)
    c.buf.clear()
    c.sock.settimeout(timeout)
    while len(out) < n:
        d = c.sock.recv(min(262144, n - len(out)))
        if not d:
            raise EOFError("tunnel closed after %d of %d bytes" % (len(out), n))
        out += d
    return bytes(out[:n]), bytes(out[n:])


def assert_101(status, fields):
    assert status.startswith(b"HTTP/1.1 101"), status
    assert "websocket" in [v.lower() for v in fields.get("upgrade", [])], fields
    assert "upgrade" in [t.strip().lower() for v in fields.get("connection", [])
                         for t in v.split(",")], fields


def test_ws_echo_1mb(env):
    a = env.backend("a")
    s = env.sluice([a], workers=1)
    with HttpConn(s.port, timeout=3) as c:
        assert_101(*upgrade(c))
        total = 0
        for i in range(16):                      # 16 x 64 KiB = 1 MiB
            piece = gen_bytes(65536, "ws%d" % i)
            c.send(piece)
            back, rest = read_exact(c, len(piece))
            assert rest == b"" and back == piece, i
            total += len(back)
        # Small messages both ways, one at a time.
        for i in range(20):
            msg = b"\x81\x05hello-%d" % i
            c.send(msg)
            assert read_exact(c, len(msg))[0] == msg
        assert total == 1 << 20
    st = a.stats()
    assert st["ws_sessions"] == 1 and st["requests"] == 1, st


def test_ws_client_half_close(env):
    a = env.backend("a")
    s = env.sluice([a], workers=1)
    with HttpConn(s.port, timeout=3) as c:
        assert_101(*upgrade(c, "/ws?bye=1"))
        c.send(b"last words")
        c.sock.shutdown(socket.SHUT_WR)
        got, how = read_until_close(c.sock, timeout=3.0)
        # The backend saw EOF (so it sent "ws-eof"), the reverse direction stayed open
        # until the backend closed, then the client got EOF.
        assert bytes(c.buf) + got == b"last words" + b"ws-eof\n", got
        assert how == "eof", how
    assert a.stats()["ws_eof"] == 1


def test_ws_backend_half_close(env):
    def handler(conn):
        conn.head()
        conn.send(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                  b"Connection: Upgrade\r\n\r\nserver-bye")
        conn.shut_wr()
        conn.drain(3.0)                          # records until the client's EOF

    rb = rawbackend.start(env, "raw", handler=handler)
    s = env.sluice([rb.source], workers=1)
    with HttpConn(s.port, timeout=3) as c:
        assert_101(*upgrade(c))
        got, how = read_until_close(c.sock, timeout=3.0)
        assert bytes(c.buf) + got == b"server-bye" and how == "eof", (got, how)
        # Client -> backend still works after the backend's FIN.
        c.send(b"after-eof")
        time.sleep(0.3)
        c.sock.shutdown(socket.SHUT_WR)
        deadline = time.monotonic() + 3
        while not rb.conns[0].eof and time.monotonic() < deadline:
            time.sleep(0.02)
    assert rb.conns[0].eof, "backend never saw the client's EOF"
    assert rb.conns[0].received.endswith(b"\r\n\r\nafter-eof"), bytes(rb.conns[0].received)


def test_non_101_falls_back_to_http(env):
    a = env.backend("a")
    s = env.sluice([a], workers=1)
    with HttpConn(s.port, timeout=3) as c:
        c.send(UPGRADE % b"/echo")
        r = c.read_response()
        assert r.status == 200, r
        e = r.json()
        hs = {k.lower(): v for k, v in e["headers"]}
        assert hs.get("upgrade", "").lower() == "websocket", e["headers"]
        assert "upgrade" in hs.get("connection", "").lower(), e["headers"]
        r = c.request("GET", "/echo?next=1")
        assert r.status == 200 and r.json()["query"] == {"next": "1"}, r


def test_426_falls_back_to_http(env):
    a = env.backend("a")
    s = env.sluice([a], workers=1)
    with HttpConn(s.port, timeout=3) as c:
        # /ws without "Upgrade: websocket" (Upgrade: other) -> 426 from the backend.
        c.send(b"GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: other\r\n\r\n")
        r = c.read_response()
        assert r.status == 426, r
        r = c.request("GET", "/echo?after=426")
        assert r.status == 200 and r.json()["query"] == {"after": "426"}, r


def test_tunnel_idle_timeout(env):
    a = env.backend("a")
    s = env.sluice([a], workers=1, timeouts={"tunnel": 1})
    with HttpConn(s.port, timeout=3) as c:
        assert_101(*upgrade(c))
        c.send(b"ping")
        assert read_exact(c, 4)[0] == b"ping"
        t0 = time.monotonic()
        got, how = read_until_close(c.sock, timeout=3.0)
        elapsed = time.monotonic() - t0
        assert how in ("eof", "reset"), "tunnel still open after 3 s with tunnel = 1"
        assert got == b"", got
        assert 0.7 <= elapsed <= 2.0, elapsed


def test_tunnel_activity_keeps_it_open(env):
    a = env.backend("a")
    s = env.sluice([a], workers=1, timeouts={"tunnel": 1})
    with HttpConn(s.port, timeout=3) as c:
        assert_101(*upgrade(c))
        for i in range(6):                       # 6 x 0.4 s = 2.4 s > tunnel
            msg = b"tick-%d" % i
            c.send(msg)
            assert read_exact(c, len(msg))[0] == msg, i
            time.sleep(0.4)


def test_bytes_right_after_upgrade_head(env):
    """Bytes the client sends right behind the upgrade request (in the same write)
    reach the backend once it switched, and are echoed back."""
    a = env.backend("a")
    s = env.sluice([a], workers=1)
    with HttpConn(s.port, timeout=3) as c:
        c.send(UPGRADE % b"/ws" + b"early-bytes")
        status = c.readline()
        assert status.startswith(b"HTTP/1.1 101"), status
        while c.readline() not in (b"\r\n", b"\n"):
            pass
        assert read_exact(c, 11)[0] == b"early-bytes"


def test_unsolicited_101_not_tunnelled(env):
    """A 101 to a request that asked for no upgrade is a broken response: 502."""
    rb = rawbackend.start(env, "raw", scripts=[
        [("head",), ("send", b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                             b"Connection: Upgrade\r\n\r\nraw-bytes"), ("drain", 2.0)],
        [("head",), ("send", rawbackend.response(200, body=b"good")), ("drain", 2.0)],
    ])
    sources = {"sources": [{"name": "raw", "address": rb.address, "max_fails": 0}]}
    s = env.sluice([rb.source], workers=1, extra=sources)
    with HttpConn(s.port, timeout=3) as c:
        c.send(b"GET /plain HTTP/1.1\r\nHost: x\r\n\r\n")
        line = c.readline()
        assert line.startswith(b"HTTP/1.1 502"), line
    with HttpConn(s.port, timeout=3) as c:
        r = c.request("GET", "/next")
        assert r.status == 200 and r.body == b"good", r
