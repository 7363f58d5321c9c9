"""b00024: "Expect: 100-continue": the client gets its 100 (from the proxy or relayed
from the backend) without having sent the body, then the final response."""

import socket

from harness import sha256_hex


def test_expect_100_continue(env):
    a = env.backend("a")
    s = env.sluice([a])
    body = b"q" * 5000

    with s.conn() as c:
        c.send(b"POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
               b"Content-Length: %d\r\n\r\n" % len(body))
        c.sock.settimeout(2.0)
        try:
            line = c.readline()
        except socket.timeout:
            line = b"(nothing within 2 s)"
        assert line.startswith(b"HTTP/1.1 100"), line
        while c.readline() not in (b"\r\n", b"\n"):
            pass
        c.sock.settimeout(5.0)
        c.send(body)
        r = c.read_response("POST")
        assert r.status == 200, r
        e = r.json()
        assert e["body_len"] == len(body)
        assert e["body_sha256"] == sha256_hex(body)
