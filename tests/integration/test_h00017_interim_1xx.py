"""h00017: interim responses: a backend's 103 Early Hints reaches the client before the
final response, promptly and with its fields; several 1xx in a row; a 1xx carries no
body whatever it claims; a backend's own 100 Continue is relayed and the body then
forwarded exactly; no 1xx is sent to an HTTP/1.0 client (RFC 9110 15.2)."""

import hashlib
import socket
import time

import rawbackend
from harness import HttpConn, gen_bytes

EARLY = b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload; as=style\r\n\r\n"
FINAL = rawbackend.response(200, body=b"final")


def hints_then_final(delay, early=EARLY, n=1):
    def respond(c, req):
        for _ in range(n):
            c.send(early)
        c.sleep(delay)
        return FINAL
    return respond


def test_103_relayed_before_final(env):
    rb = rawbackend.start(env, "raw", responder=hints_then_final(0.8))
    s = env.sluice([rb.source], workers=1)

    with HttpConn(s.port, timeout=3) as c:
        t0 = time.monotonic()
        c.send(b"GET /page HTTP/1.1\r\nHost: x\r\n\r\n")
        c.sock.settimeout(0.6)
        try:
            line = c.readline()
        except socket.timeout:
            line = b"(nothing within 0.6 s)"
        assert line.startswith(b"HTTP/1.1 103"), line
        assert time.monotonic() - t0 < 0.6
        fields = []
        while True:
            ln = c.readline()
            if ln in (b"\r\n", b"\n"):
                break
            fields.append(ln)
        assert any(f.lower().startswith(b"link: </style.css>") for f in fields), fields
        c.sock.settimeout(3)
        r = c.read_response()
        assert r.status == 200 and r.body == b"final", r
        r = c.request("GET", "/again")
        assert r.status == 200 and r.body == b"final", r


def test_several_1xx_then_final(env):
    rb = rawbackend.start(env, "raw", responder=hints_then_final(0.1, n=3))
    s = env.sluice([rb.source], workers=1)

    with HttpConn(s.port, timeout=3) as c:
        c.send(b"GET /page HTTP/1.1\r\nHost: x\r\n\r\n")
        r = c.read_response()
        assert r.status == 200 and r.body == b"final", r
        assert c.request("GET", "/again").body == b"final"


def test_1xx_with_content_length_has_no_body(env):
    early = b"HTTP/1.1 103 Early Hints\r\nContent-Length: 5\r\nLink: </a>\r\n\r\n"
    rb = rawbackend.start(env, "raw", responder=hints_then_final(0.05, early=early))
    s = env.sluice([rb.source], workers=1)

    with HttpConn(s.port, timeout=3) as c:
        c.send(b"GET /page HTTP/1.1\r\nHost: x\r\n\r\n")
        r = c.read_response()
        assert r.status == 200 and r.body == b"final", r
        assert c.request("GET", "/again").body == b"final"


def test_backend_100_relayed_and_body_forwarded(env):
    body = gen_bytes(50000, "exp")

    def handler(c):
        req = c.head()
        c.sleep(0.1)
        c.send(b"HTTP/1.1 100 Continue\r\n\r\n")
        got = c.body(req)
        c.send(rawbackend.response(200, body=hashlib.sha256(got or b"").hexdigest().encode()))

    rb = rawbackend.start(env, "raw", handler=handler)
    s = env.sluice([rb.source], workers=1)

    with HttpConn(s.port, timeout=3) as c:
        c.send(b"POST /up HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
               b"Content-Length: %d\r\n\r\n" % len(body))
        c.sock.settimeout(2.0)
        line = c.readline()
        assert line.startswith(b"HTTP/1.1 100"), line
        while c.readline() not in (b"\r\n", b"\n"):
            pass
        c.send(body)
        r = c.read_response("POST")
        assert r.status == 200, r
        assert r.body.decode() == hashlib.sha256(body).hexdigest()
    assert rb.requests[0].get("Expect") in (None, "100-continue")


def test_no_1xx_to_http10_client(env):
    rb = rawbackend.start(env, "raw", responder=hints_then_final(0.1))
    s = env.sluice([rb.source], workers=1)

    with HttpConn(s.port, timeout=3) as c:
        c.send(b"GET /page HTTP/1.0\r\n\r\n")
        line = c.readline()
        assert line.split(b" ")[1] == b"200", "HTTP/1.0 client got %r" % line
