"""h00011: responses to HEAD, and 204 and 304 responses, carry no body whatever the
backend claims (RFC 9112 6.3): a raw backend that sends a Content-Length or chunked
framing AND body bytes after such a head -- bytes that look like a whole second
response -- must not make the client see those bytes, and the next request on the
same client connection gets its own answer (no desync of either connection)."""

import pytest

import rawbackend
from harness import HttpConn

FAKE = b"HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\nSMUGGLED"
FAKE_CHUNKED = b"%x\r\n" % len(FAKE) + FAKE + b"\r\n0\r\n\r\n"

CASES = {
    "head_cl": ("HEAD", b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(FAKE) + FAKE),
    "head_chunked": ("HEAD", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                     + FAKE_CHUNKED),
    "204_cl": ("GET", b"HTTP/1.1 204 No Content\r\nContent-Length: %d\r\n\r\n" % len(FAKE)
               + FAKE),
    "204_chunked": ("GET", b"HTTP/1.1 204 No Content\r\nTransfer-Encoding: chunked\r\n\r\n"
                    + FAKE_CHUNKED),
    "304_cl": ("GET", b"HTTP/1.1 304 Not Modified\r\nContent-Length: %d\r\n\r\n" % len(FAKE)
               + FAKE),
    "304_chunked": ("GET", b"HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n"
                    + FAKE_CHUNKED),
    "204_plain_bytes": ("GET", b"HTTP/1.1 204 No Content\r\n\r\n" + FAKE),
}


@pytest.mark.parametrize("split", [False, True], ids=["one_write", "late_bytes"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_no_body_responses(env, case, split):
    """late_bytes: the bogus body comes 0.1 s after the head, when the backend
    connection may already sit idle in the pool."""
    method, first = CASES[case]

    def respond(conn, req):
        if req.target == "/first":
            if split:
                i = first.index(b"\r\n\r\n") + 4
                conn.send(first[:i])
                conn.sleep(0.1)
                return first[i:]
            return first
        return rawbackend.response(200, body=b"second-ok")

    rb = rawbackend.start(env, "raw", responder=respond)
    sources = {"sources": [{"name": "raw", "address": rb.address, "max_fails": 0}]}
    s = env.sluice([rb.source], workers=1, extra=sources)

    with HttpConn(s.port, timeout=4) as c:
        r1 = c.request(method, "/first")
        assert r1.status in (200, 204, 304), r1
        assert r1.body == b""
        # Nothing of the backend's bogus body may follow the head to the client.
        c.sock.settimeout(0.3)
        try:
            extra = c.sock.recv(65536)
        except OSError:
            extra = b"(nothing)"
        c.sock.settimeout(4)
        assert extra in (b"(nothing)", b""), "bytes after a bodiless response: %r" % extra
        if extra == b"":
            return          # the proxy closed the client connection: acceptable
        r2 = c.request("GET", "/second")
        assert r2.status == 200 and r2.body == b"second-ok", r2
        r3 = c.request("GET", "/third")
        assert r3.status == 200 and r3.body == b"second-ok", r3


def test_head_keeps_content_length(env):
    """A HEAD response's Content-Length is the GET body's length: relayed as is."""
    def respond(conn, req):
        return b"HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n" if req.method == "HEAD" \
            else rawbackend.response(200, body=b"x")

    rb = rawbackend.start(env, "raw", responder=respond)
    s = env.sluice([rb.source], workers=1)
    with HttpConn(s.port, timeout=4) as c:
        r = c.request("HEAD", "/h")
        assert r.status == 200 and r.header("Content-Length") == "1234", r
        r = c.request("GET", "/g")
        assert r.status == 200 and r.body == b"x", r
