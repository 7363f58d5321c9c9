"""h00020: a real WebSocket (RFC 6455) echo through the proxy: the handshake's
Sec-WebSocket-Key/Accept pass through untouched, then masked client frames
(text, binary, 16-bit and 64-bit lengths, ping) reach the backend, which
answers with unmasked frames, and the close handshake ends both sides."""

import base64
import hashlib
import os
import socket
import struct

import rawbackend

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def accept_of(key):
    return base64.b64encode(hashlib.sha1(key + GUID).digest())


def frame(opcode, payload, mask):
    """One final frame; masked with a random key when mask (client to server)."""
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
    return head + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


def read_frame(recv):
    """(opcode, payload, masked) from recv(n) -> exactly n bytes."""
    b0, b1 = recv(2)
    n = b1 & 0x7F
    if n == 126:
        n = struct.unpack("!H", recv(2))[0]
    elif n == 127:
        n = struct.unpack("!Q", recv(8))[0]
    key = recv(4) if b1 & 0x80 else None
    data = recv(n)
    if key:
        data = bytes(b ^ key[i % 4] for i, b in enumerate(data))
    return b0 & 0x0F, data, key is not None


def ws_server(conn):
    """Backend side: handshake, then echo every data frame unmasked; pong pings."""
    req = conn.head()
    key = req.get("Sec-WebSocket-Key").encode()
    conn.send(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
              b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept_of(key) + b"\r\n\r\n")
    while True:
        op, data, masked = read_frame(lambda n: conn.recv(n, timeout=5))
        assert masked, "client frames must arrive masked"
        if op == 0x8:
            conn.send(frame(0x8, data, mask=False))
            conn.close()
            return
        conn.send(frame(0xA if op == 0x9 else op, data, mask=False))


def test_websocket_frames_echo_both_ways(env):
    rb = rawbackend.start(env, "ws", handler=ws_server)
    s = env.sluice([rb.source])

    key = base64.b64encode(os.urandom(16))
    c = socket.create_connection(("127.0.0.1", s.port), timeout=5)
    c.sendall(b"GET /chat HTTP/1.1\r\nHost: ws.test\r\nUpgrade: websocket\r\n"
              b"Connection: Upgrade\r\nSec-WebSocket-Key: " + key + b"\r\n"
              b"Sec-WebSocket-Version: 13\r\n\r\n")
    head = b""
    while b"\r\n\r\n" not in head:
        d = c.recv(1)
        assert d, head
        head += d
    lines = head.decode("latin-1").split("\r\n")
    assert lines[0].startswith("HTTP/1.1 101"), head
    hdrs = {k.lower(): v.strip() for k, v in (ln.split(":", 1) for ln in lines[1:] if ln)}
    assert hdrs["upgrade"].lower() == "websocket", head
    assert "upgrade" in hdrs["connection"].lower(), head
    assert hdrs["sec-websocket-accept"].encode() == accept_of(key), head
    # The backend saw the client's handshake fields.
    req = rb.requests[0]
    assert req.get("Sec-WebSocket-Key").encode() == key
    assert req.get("Sec-WebSocket-Version") == "13"

    buf = bytearray()

    def recv(n):
        while len(buf) < n:
            d = c.recv(65536)
            assert d, "tunnel closed early"
            buf.extend(d)
        out = bytes(buf[:n])
        del buf[:n]
        return out

    messages = [(0x1, b"hello"), (0x2, bytes(range(256)) * 4), (0x1, b"x" * 70000),
                (0x9, b"ping?")]
    for op, payload in messages:
        c.sendall(frame(op, payload, mask=True))
        rop, data, masked = read_frame(recv)
        assert not masked, "server frames must arrive unmasked"
        assert rop == (0xA if op == 0x9 else op)
        assert data == payload
    # Several frames in one write come back in order.
    c.sendall(b"".join(frame(0x1, b"m%d" % i, mask=True) for i in range(20)))
    for i in range(20):
        assert read_frame(recv)[1] == b"m%d" % i
    # Close handshake: the backend echoes the close frame and both sides end.
    c.sendall(frame(0x8, struct.pack("!H", 1000), mask=True))
    op, data, _ = read_frame(recv)
    assert op == 0x8 and data == struct.pack("!H", 1000)
    c.settimeout(3)
    assert c.recv(1) == b"", "the proxy must close the client side after the backend closes"
    c.close()
