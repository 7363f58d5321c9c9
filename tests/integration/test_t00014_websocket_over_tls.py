"""t00014: WebSocket through a TLS listener.

1. A real RFC 6455 echo (raw backend): the Upgrade over HTTPS gets the 101 with
   the backend's Sec-WebSocket-Accept; masked client frames (text, binary,
   16- and 64-bit lengths, a 1 MiB binary frame, a ping, twenty frames in
   one write) reach the backend masked and intact and come back unmasked in
   order; the close handshake ends both sides, and the client reads a clean
   TLS end (close_notify: a ragged EOF would raise here).
2. Like l00007 over TLS: a tunnel opened before a HUP reload keeps echoing in
   the old worker until timeouts.graceful, then it is closed and the old
   workers exit; new HTTPS requests go to the new generation."""

import base64
import hashlib
import os
import signal
import struct
import time

import pytest

from harness import pid_alive, read_until_close, wait_until

import rawbackend
import tlsutil

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
BIG = 1 << 20


def accept_of(key):
    return base64.b64encode(hashlib.sha1(key + GUID).digest())


def xor(data, key):
    n = len(data)
    k = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(data, "big") ^ int.from_bytes(k, "big")).to_bytes(n, "big")


def frame(opcode, payload, mask):
    n = len(payload)
    head = bytes([0x80 | opcode])
    mbit = 0x80 if mask else 0
    if n < 126:
        head += bytes([mbit | n])
    elif n < 65536:
        head += bytes([mbit | 126]) + struct.pack("!H", n)
    else:
        head += bytes([mbit | 127]) + struct.pack("!Q", n)
    if not mask:
        return head + payload
    key = os.urandom(4)
    return head + key + xor(payload, key)


def read_frame(recv):
    b0, b1 = recv(2)
    n = b1 & 0x7F
    if n == 126:
        n = struct.unpack("!H", recv(2))[0]
    elif n == 127:
        n = struct.unpack("!Q", recv(8))[0]
    key = recv(4) if b1 & 0x80 else None
    data = recv(n)
    if key:
        data = xor(data, key)
    return b0 & 0x0F, data, key is not None


def ws_server(conn):
    """Backend: handshake, then echo every data frame unmasked (pong for ping);
    a frame that arrives unmasked is answered with a close 1002."""
    req = conn.head()
    key = req.get("Sec-WebSocket-Key").encode()
    conn.send(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
              b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept_of(key) + b"\r\n\r\n")

    def recv(n):
        d = conn.recv(n, timeout=5)
        if len(d) < n:
            raise EOFError("backend: short read")
        return d

    while True:
        op, data, masked = read_frame(recv)
        if not masked:
            conn.send(frame(0x8, struct.pack("!H", 1002), mask=False))
            conn.close()
            return
        if op == 0x8:
            conn.send(frame(0x8, data, mask=False))
            conn.close()
            return
        conn.send(frame(0xA if op == 0x9 else op, data, mask=False))


@pytest.mark.limit(20)
def test_websocket_frames_over_tls(env, tmp_path):
    pki = tlsutil.Pki(tmp_path)
    rb = rawbackend.start(env, "ws", handler=ws_server)
    s = tlsutil.tls_sluice(env, [rb.source], pki)

    key = base64.b64encode(os.urandom(16))
    c = tlsutil.TlsConn(s.port, pki, timeout=10)
    try:
        c.send(b"GET /chat HTTP/1.1\r\nHost: a.test\r\nUpgrade: websocket\r\n"
               b"Connection: Upgrade\r\nSec-WebSocket-Key: " + key + b"\r\n"
               b"Sec-WebSocket-Version: 13\r\n\r\n")
        status = c.readline()
        assert status.startswith(b"HTTP/1.1 101"), status
        hdrs = {}
        while True:
            ln = c.readline().decode("latin-1").rstrip("\r\n")
            if not ln:
                break
            k, _, v = ln.partition(":")
            hdrs[k.strip().lower()] = v.strip()
        assert hdrs.get("upgrade", "").lower() == "websocket", hdrs
        assert "upgrade" in hdrs.get("connection", "").lower(), hdrs
        assert hdrs.get("sec-websocket-accept", "").encode() == accept_of(key), hdrs
        req = rb.requests[0]
        assert req.get("Sec-WebSocket-Key").encode() == key
        assert (req.get("X-Forwarded-Proto") or "") == "https", req.headers

        buf = bytearray(c.buf)
        c.buf.clear()
        sock = c.sock
        sock.suppress_ragged_eofs = False   # the end must be a close_notify

        def recv(n):
            while len(buf) < n:
                d = sock.recv(262144)
                assert d, "tunnel closed early (%d of %d bytes)" % (len(buf), n)
                buf.extend(d)
            out = bytes(buf[:n])
            del buf[:n]
            return out

        big = os.urandom(BIG)
        messages = [(0x1, b"hello"), (0x2, bytes(range(256)) * 4), (0x1, b"x" * 70000),
                    (0x2, big), (0x9, b"ping?"), (0x1, b"after the big one")]
        for op, payload in messages:
            t0 = time.monotonic()
            sock.sendall(frame(op, payload, mask=True))
            rop, data, masked = read_frame(recv)
            assert not masked, "server frames must arrive unmasked"
            assert rop == (0xA if op == 0x9 else op), (op, rop)
            assert len(data) == len(payload) and data == payload, (op, len(data), len(payload))
            assert time.monotonic() - t0 < 5
        sock.sendall(b"".join(frame(0x1, b"m%d" % i, mask=True) for i in range(20)))
        for i in range(20):
            assert read_frame(recv)[1] == b"m%d" % i

        sock.sendall(frame(0x8, struct.pack("!H", 1000), mask=True))
        op, data, _ = read_frame(recv)
        assert op == 0x8 and data == struct.pack("!H", 1000), (op, data)
        sock.settimeout(3)
        assert sock.recv(1) == b"", "the proxy must close the client side after the backend"
    finally:
        c.close()
    log = s.log()
    assert "tunnel: client write error" not in log and "tunnel: source write error" not in log


GRACEFUL = 3
UPGRADE = (b"GET /ws HTTP/1.1\r\nHost: a.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
           b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")


def echo(c, msg, timeout=2.0):
    """Sends msg through the tunnel, reads it back; None or what went wrong."""
    try:
        c.send(msg)
        got = bytearray(c.buf)
        c.buf.clear()
        c.sock.settimeout(timeout)
        while len(got) < len(msg):
            d = c.sock.recv(65536)
            if not d:
                return "EOF after %d of %d bytes" % (len(got), len(msg))
            got += d
    except OSError as e:
        return repr(e)
    if bytes(got) != msg:
        return "echoed %r, sent %r" % (bytes(got)[:80], msg[:80])
    return None


@pytest.mark.limit(25)
def test_tls_tunnel_survives_reload_until_graceful(env, tmp_path):
    pki = tlsutil.Pki(tmp_path)
    a, b = env.backend("a"), env.backend("b")
    s = tlsutil.tls_sluice(env, [a], pki, workers=2, timeouts={"graceful": GRACEFUL})
    old = s.wait_workers(2)
    assert len(old) == 2
    conf_a = s.conf_path.read_text()

    c = tlsutil.TlsConn(s.port, pki, timeout=3)
    try:
        c.send(UPGRADE)
        status = c.readline()
        assert status.startswith(b"HTTP/1.1 101"), status
        while c.readline() not in (b"\r\n", b"\n"):
            pass
        assert echo(c, b"before-reload") is None
        assert echo(c, os.urandom(300000), timeout=5) is None

        # Same listener and certificates, route a -> b.
        conf_b = conf_a.replace('"a"', '"b"').replace(a.address, b.address)
        assert conf_b != conf_a
        s.conf_path.write_text(conf_b)
        s.proc.send_signal(signal.SIGHUP)
        t_hup = time.monotonic()
        assert wait_until(lambda: "reload: generation 2 started" in s.log(), 2.0), \
            s.log()[-2000:]
        assert wait_until(lambda: all("[%d]: graceful stop" % p in s.log() for p in old), 2.0), \
            s.log()[-2000:]

        for i in range(6):
            r = tlsutil.curl_https(s, pki, "/after-reload/%d" % i)
            assert r.status == 200 and r.header("X-Backend") == "b", r

        ok, err = 0, None
        for i in range(100):
            if time.monotonic() - t_hup > GRACEFUL + 2:
                break
            err = echo(c, b"tick-%d" % i)
            if err is not None:
                break
            ok += 1
            time.sleep(0.1)
        t_end = time.monotonic() - t_hup
        assert err is not None, "tunnel still open %.1fs after the reload (graceful = %d)" % (
            t_end, GRACEFUL)
        assert GRACEFUL - 0.5 <= t_end <= GRACEFUL + 1.5, (
            "tunnel ended %.2fs after the reload (graceful %d): %s, %d echoes" % (
                t_end, GRACEFUL, err, ok))
        assert ok >= (GRACEFUL - 1.0) / 0.2, (ok, t_end, err)
        rest, how = read_until_close(c.sock, timeout=1.0)
        assert how in ("eof", "reset"), (rest, how)
    finally:
        c.close()

    assert wait_until(lambda: not [p for p in old if pid_alive(p)], 2.0), \
        "old workers alive after graceful: %r" % [p for p in old if pid_alive(p)]
    st = a.stats()
    assert st["ws_sessions"] == 1 and st["requests"] == 1, st
    assert b.stats()["requests"] == 6
