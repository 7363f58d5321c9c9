"""h00016: "Expect: 100-continue" where the backend answers with a final status (417,
401, 413) before the body: the client receives that status, and the connection stays
correct: the client may still send the announced body (RFC 9110 10.1.1), which is never
taken for requests; the next request on the connection is either refused by a close
or answered with its own response -- never a desync. The backend either closes after
its answer or keeps the connection and reads and discards the body."""

import socket

import pytest

import rawbackend
from harness import HttpConn

SMUGGLED = b"GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"
BODY = SMUGGLED * 100


def make_handler(code, close):
    def handler(c):
        while True:
            req = c.head(10.0)
            if req is None:
                return
            if req.target == "/expect":
                hs = [("Connection", "close")] if close else []
                c.send(rawbackend.response(code, "Refused", hs, b"refused %d\n" % code))
                if close:
                    c.close()
                    return
                if c.body(req) is None:      # a keep-alive server discards the body
                    return
            else:
                if c.body(req) is None:
                    return
                c.send(rawbackend.response(200, body=b"for %s\n" % req.target.encode()))
    return handler


@pytest.mark.parametrize("close", [True, False], ids=["backend_closes", "backend_keeps"])
@pytest.mark.parametrize("code", [417, 401, 413])
def test_final_status_before_body(env, code, close):
    rb = rawbackend.start(env, "raw", handler=make_handler(code, close))
    sources = {"sources": [{"name": "raw", "address": rb.address, "max_fails": 0}]}
    s = env.sluice([rb.source], workers=1, extra=sources, timeouts={"backend_response": 3})

    with HttpConn(s.port, timeout=3) as c:
        c.send(b"POST /expect HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
               b"Content-Length: %d\r\n\r\n" % len(BODY))
        r = c.read_response("POST")
        assert r.status == code, r
        assert r.body == b"refused %d\n" % code, r
        # The client sends the body anyway, then its next request.
        try:
            c.send(BODY)
            c.send(b"GET /second HTTP/1.1\r\nHost: x\r\n\r\n")
        except OSError:
            pass            # the proxy closed the connection: acceptable
        c.sock.settimeout(3.0)
        try:
            r2 = c.read_response()
        except (EOFError, ConnectionResetError):
            r2 = None       # closed: acceptable
        except socket.timeout:
            raise AssertionError("no answer to /second within 3 s and not closed")
        if r2 is not None:
            # Not closed: the only thing that may come is the answer to /second.
            assert r2.status == 200 and r2.body == b"for /second\n", r2
    assert "/smuggled" not in rb.targets(), rb.targets()


@pytest.mark.parametrize("code", [417, 401, 413])
def test_final_status_before_body_client_gives_up(env, code):
    """The client does not send the body after the final status; a new connection works
    and the backend connection left waiting for a body is not reused."""
    rb = rawbackend.start(env, "raw", handler=make_handler(code, False))
    sources = {"sources": [{"name": "raw", "address": rb.address, "max_fails": 0}]}
    s = env.sluice([rb.source], workers=1, extra=sources, timeouts={"backend_response": 3})

    with HttpConn(s.port, timeout=3) as c:
        c.send(b"POST /expect HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
               b"Content-Length: %d\r\n\r\n" % len(BODY))
        r = c.read_response("POST")
        assert r.status == code, r
    with HttpConn(s.port, timeout=4) as c:
        r = c.request("GET", "/second")
        assert r.status == 200 and r.body == b"for /second\n", r


@pytest.mark.parametrize("close", [True, False], ids=["backend_closes", "backend_keeps"])
def test_final_status_while_body_in_flight(env, close):
    """The client does not wait for 100 and streams a 1 MB body at once; the backend
    answers 413 without reading it. The client must still read the 413: the proxy may
    close afterwards, but not with a reset that destroys the response (lingering close)."""
    rb = rawbackend.start(env, "raw", handler=make_handler(413, close))
    sources = {"sources": [{"name": "raw", "address": rb.address, "max_fails": 0}]}
    s = env.sluice([rb.source], workers=1, extra=sources, timeouts={"backend_response": 3})

    big = b"z" * (1 << 20)
    with HttpConn(s.port, timeout=3) as c:
        c.send(b"POST /expect HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
               b"Content-Length: %d\r\n\r\n" % len(big))
        sent = 0
        try:
            while sent < len(big):
                sent += c.sock.send(big[sent:sent + 65536])
        except (OSError, socket.timeout):
            pass
        try:
            r = c.read_response("POST")
        except (ConnectionResetError, EOFError) as e:
            raise AssertionError("413 lost after sending %d body bytes: %r" % (sent, e))
        assert r.status == 413, r
