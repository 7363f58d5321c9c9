"""h00009: a malformed backend status line or response head gets the client a 502; the
proxy closes that backend connection (not pooled), and the next request works on a
new backend connection. (max_fails = 0 so passive health does not interfere.)"""

import pytest

import rawbackend
from harness import HttpConn, wait_until

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
        assert r.status == 502, r
        assert b"ok" not in r.body or r.status == 502
    # The proxy closed the bad backend connection.
    assert wait_until(lambda: rb.conns[0].eof, 2.0), "bad backend connection not closed"
    with HttpConn(s.port, timeout=4) as c:
        r = c.request("GET", "/second")
        assert r.status == 200 and r.body == b"good", r
    assert len(rb.conns) == 2 and [q.target for q in rb.conns[1].heads] == ["/second"]


def test_502_then_same_client_connection_still_correct(env):
    """If the client connection stays open after the 502, the next request on it works."""
    rb = rawbackend.start(env, "raw", scripts=[
        [("head",), ("send", CASES["status_4_digits"]), ("drain", 3.0)],
        [("head",), ("send", GOOD), ("drain", 3.0)],
    ])
    sources = {"sources": [{"name": "raw", "address": rb.address, "max_fails": 0}]}
    s = env.sluice([rb.source], workers=1, extra=sources)

    with HttpConn(s.port, timeout=4) as c:
        assert c.request("GET", "/first").status == 502
        if c.closed_by_peer(0.3):
            return
        r = c.request("GET", "/second")
        assert r.status == 200 and r.body == b"good", r
