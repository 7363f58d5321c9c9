"""h00006: request smuggling attempts (CL.TE, TE.CL, TE.TE obfuscations, Connection
naming a framing header, GET with a body that looks like a request) never produce a
second request at the backend, and never poison the next client's response."""

import pytest

import rawbackend
from harness import HttpConn, exchange, read_until_close

SMUGGLED = b"GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"
NO_HOST = b"GET /smuggled HTTP/1.1\r\n\r\n"
S = b"%x" % len(SMUGGLED)
P = b"POST / HTTP/1.1\r\nHost: x\r\n"

ATTACKS = {
    "cl_te": P + b"Content-Length: %d\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
             % (5 + len(SMUGGLED)) + SMUGGLED,
    "te_cl": P + b"Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n" + S + b"\r\n"
             + SMUGGLED + b"\r\n0\r\n\r\n",
    "te_te_xchunked": P + b"Transfer-Encoding: chunked\r\nTransfer-Encoding: xchunked\r\n"
                      b"Content-Length: 4\r\n\r\n" + S + b"\r\n" + SMUGGLED + b"\r\n0\r\n\r\n",
    "te_te_space_colon": P + b"Transfer-Encoding : chunked\r\nContent-Length: 4\r\n\r\n" + S
                         + b"\r\n" + SMUGGLED + b"\r\n0\r\n\r\n",
    "te_te_vtab": P + b"Transfer-Encoding:\x0bchunked\r\nContent-Length: 4\r\n\r\n" + S
                  + b"\r\n" + SMUGGLED + b"\r\n0\r\n\r\n",
    "te_te_bare_lf": P + b"X: y\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n" + S
                     + b"\r\n" + SMUGGLED + b"\r\n0\r\n\r\n",
    "te_te_fold": P + b"Transfer-Encoding: x\r\n chunked\r\n\r\n" + S + b"\r\n" + SMUGGLED
                  + b"\r\n0\r\n\r\n",
    "te_only_obfuscated_no_cl": P + b"Transfer-Encoding: chunk\r\n\r\n" + S + b"\r\n"
                                + SMUGGLED + b"\r\n0\r\n\r\n",
    "cl_cl": P + b"Content-Length: 0\r\nContent-Length: %d\r\n\r\n" % len(SMUGGLED) + SMUGGLED,
    "cl_fold": P + b"Content-Length: 0\r\n %d\r\n\r\n" % len(SMUGGLED) + SMUGGLED,
    "cl_nul": P + b"Content-Length: %d\x00\r\n\r\n" % len(SMUGGLED) + SMUGGLED,
}

# Well-formed requests whose body looks like a request: the body must arrive as a body.
BODIES = {
    "get_with_cl_body": b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n"
                        % len(SMUGGLED) + SMUGGLED,
    "chunked_body": P + b"Transfer-Encoding: chunked\r\n\r\n" + S + b"\r\n" + SMUGGLED
                    + b"\r\n0\r\n\r\n",
    "connection_names_cl": P + b"Connection: Content-Length\r\nContent-Length: %d\r\n\r\n"
                           % len(SMUGGLED) + SMUGGLED,
    "connection_names_te": P + b"Connection: Transfer-Encoding\r\nTransfer-Encoding: chunked"
                           b"\r\n\r\n" + S + b"\r\n" + SMUGGLED + b"\r\n0\r\n\r\n",
    # A body that, read as a request, sluice would answer itself (400, no Host):
    # a desync would show only on the client connection, never at the backend.
    "get_with_cl_body_no_host": b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n"
                                % len(NO_HOST) + NO_HOST,
}


def ok(conn, req):
    return rawbackend.response(200, body=b"for %s\n" % req.target.encode())


def nothing_arrives(c, wait=0.5):
    """What reaches the client within wait seconds beyond the response already read
    (bytes already buffered included): b"" if nothing; a close is not a byte."""
    rest, _ = read_until_close(c.sock, timeout=wait)
    return bytes(c.buf) + rest


def victim(s):
    with HttpConn(s.port, timeout=3) as c:
        r = c.request("GET", "/victim")
    assert r.status == 200 and r.body == b"for /victim\n", r


@pytest.mark.parametrize("case", sorted(ATTACKS))
def test_smuggling_refused(env, case):
    rb = rawbackend.start(env, "raw", responder=ok)
    s = env.sluice([rb.source], workers=1, timeouts={"client_header": 3})

    r, closed, err = exchange(s.port, ATTACKS[case], "POST")
    assert r is not None, "no response: %s" % err
    assert r.status == 400, r
    assert closed
    assert rb.received_total() == 0, rb.targets()
    victim(s)
    assert rb.targets() == ["/victim"], rb.targets()


@pytest.mark.parametrize("case", sorted(BODIES))
def test_request_like_body_stays_a_body(env, case):
    rb = rawbackend.start(env, "raw", responder=ok)
    s = env.sluice([rb.source], workers=1, timeouts={"client_header": 3})

    with HttpConn(s.port, timeout=3) as c:
        c.send(BODIES[case])
        r = c.read_response("POST")
        assert r.status in (200, 400), r
        if r.status == 200:
            assert r.body == b"for /\n", r
            # Exactly one response: nothing more arrives for a smuggled request.
            extra = nothing_arrives(c, 0.5)
            assert extra == b"", extra
    if r.status == 200:
        assert rb.targets() == ["/"], rb.targets()
        want = NO_HOST if case.endswith("_no_host") else SMUGGLED
        assert rb.requests[0].body == want, rb.requests[0].body
    else:
        assert rb.received_total() == 0
    victim(s)
    assert "/smuggled" not in rb.targets(), rb.targets()
