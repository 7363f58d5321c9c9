"""h00009: a malformed backend status line or response head gets the client a 502 (sluice's
own error page, with "Connection: close", none of the backend's bytes); the proxy closes
that backend connection (not pooled) and the client connection after the 502 (a request
pipelined behind the first is never forwarded), and the next request works on a new
backend connection. (max_fails = 0 so passive health does not interfere.)"""

import pytest

import rawbackend
from harness import HttpConn, read_until_close, wait_until

GOOD = rawbackend.response(200, body=b"good")
CL2 = b"Content-Length: 2\r\n\r\nok"

CASES = {
    "status_4_digits": b"HTTP/1.1 2000 OK\r\n" + CL2,
    "status_2_digits": b"HTTP/1.1 20 OK\r\n" + CL2,
    "status_letters": b"HTTP/1.1 abc\r\n" + CL2,
    "status_negative": b"HTTP/1.1 -200 OK\r\n" + CL2,
    "status_099": b"HTTP/1.1 099 Low\r\n" + CL2,
    "status_600": b"HTTP/1.1 600 High\r\n" + CL2,
    "garbage": b"garbage\r\n\r\n",
    "garbage_binary": b"\x00\x01\x02\xff\xfe\r\n\r\n",
    "not_http": b"ICY 200 OK\r\n" + CL2,
    "version_lowercase": b"http/1.1 200 OK\r\n" + CL2,
    "version_2": b"HTTP/2.0 200 OK\r\n" + CL2,
    "no_status": b"HTTP/1.1\r\n" + CL2,
    "ctl_in_reason": b"HTTP/1.1 200 O\x01K\r\n" + CL2,
    "space_in_name": b"HTTP/1.1 200 OK\r\nX Bad: v\r\n" + CL2,
    "space_before_colon": b"HTTP/1.1 200 OK\r\nX-Bad : v\r\n" + CL2,
    "no_colon": b"HTTP/1.1 200 OK\r\nNoColonHere\r\n" + CL2,
    "obs_fold": b"HTTP/1.1 200 OK\r\nX-A: a\r\n folded\r\n" + CL2,
    "nul_in_value": b"HTTP/1.1 200 OK\r\nX-A: a\x00b\r\n" + CL2,
    "bare_cr": b"HTTP/1.1 200 OK\r\nX-A: a\rb\r\n" + CL2,
    "cl_differ": b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok!",
    "cl_letters": b"HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\nok",
    "cl_negative": b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\nok",
    "cl_overflow": b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\nok",
}


def check_502_then_close(c, r):
    """r is sluice's own 502 page (none of the backend's bytes: its bodies here are
    "ok"), announced as the last response, and the client connection then closes
    without one more byte."""
    assert r.status == 502, r
    assert r.header("Content-Type") == "text/html", r
    assert b"<h1>502 Bad Gateway</h1>" in r.body and b"ok" not in r.body, r.body
    assert (r.header("Connection") or "").lower() == "close", r
    rest, how = read_until_close(c.sock, timeout=2.0)
    assert bytes(c.buf) + rest == b"" and how in ("eof", "reset"), \
        "after the 502: %r, then %s" % (bytes(c.buf) + rest, how)


@pytest.mark.parametrize("case", sorted(CASES))
def test_malformed_response_502(env, case):
    rb = rawbackend.start(env, "raw", scripts=[
        [("head",), ("send", CASES[case]), ("drain", 3.0)],
        [("head",), ("send", GOOD), ("drain", 3.0)],
    ])
    sources = {"sources": [{"name": "raw", "address": rb.address, "max_fails": 0}]}
    s = env.sluice([rb.source], workers=1, extra=sources)

    with HttpConn(s.port, timeout=4) as c:
        r = c.request("GET", "/first")
        check_502_then_close(c, r)
    # The proxy closed the bad backend connection.
    assert wait_until(lambda: rb.conns[0].eof, 2.0), "bad backend connection not closed"
    with HttpConn(s.port, timeout=4) as c:
        r = c.request("GET", "/second")
        assert r.status == 200 and r.body == b"good", r
    assert len(rb.conns) == 2 and [q.target for q in rb.conns[1].heads] == ["/second"]


def test_502_closes_client_connection_pipelined_request_not_forwarded(env):
    """sluice closes the client connection after a 502 for a malformed response (the
    head views are gone): a request pipelined behind the first one is neither answered
    nor forwarded, and a new client connection is served on a new backend connection."""
    rb = rawbackend.start(env, "raw", scripts=[
        [("head",), ("send", CASES["status_4_digits"]), ("drain", 3.0)],
        [("head",), ("send", GOOD), ("drain", 3.0)],
    ])
    sources = {"sources": [{"name": "raw", "address": rb.address, "max_fails": 0}]}
    s = env.sluice([rb.source], workers=1, extra=sources)

    with HttpConn(s.port, timeout=4) as c:
        host = "127.0.0.1:%d" % s.port
        c.send(HttpConn.build("GET", "/first", host=host) +
               HttpConn.build("GET", "/second", host=host))
        check_502_then_close(c, c.read_response("GET"))
    assert wait_until(lambda: rb.conns[0].eof, 2.0), "bad backend connection not closed"
    assert rb.targets() == ["/first"], rb.targets()
    assert all(b"/second" not in q.received for q in rb.conns), "pipelined request forwarded"
    with HttpConn(s.port, timeout=4) as c:
        r = c.request("GET", "/third")
        assert r.status == 200 and r.body == b"good", r
    assert rb.targets() == ["/first", "/third"], rb.targets()
    assert len(rb.conns) == 2 and [q.target for q in rb.conns[1].heads] == ["/third"]
