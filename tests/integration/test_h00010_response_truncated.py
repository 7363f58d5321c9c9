"""h00010: a backend that closes or resets in the middle of a response body: the client
connection is closed before the declared length arrives (never a complete-looking
response), a chunked response never gets its terminating "0\\r\\n\\r\\n", the backend
connection is not reused, and the next request works."""

import pytest

import rawbackend
from harness import HttpConn, read_until_close

GOOD = rawbackend.response(200, body=b"good")
PART = b"x" * 30000

CASES = {
    "cl_close": (b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + PART, "close"),
    "cl_reset": (b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + PART, "reset"),
    "cl_close_no_body": (b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n", "close"),
    "chunked_close_mid_chunk": (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                                b"7530\r\n" + PART[:20000], "close"),
    "chunked_reset_mid_chunk": (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                                b"7530\r\n" + PART[:20000], "reset"),
    "chunked_close_at_boundary": (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                                  b"7530\r\n" + PART + b"\r\n", "close"),
    "chunked_reset_at_boundary": (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                                  b"7530\r\n" + PART + b"\r\n", "reset"),
    "chunked_close_in_size_line": (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                                   b"7530\r\n" + PART + b"\r\n1", "close"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_truncated_body_closes_client(env, case):
    data, how = CASES[case]
    rb = rawbackend.start(env, "raw", scripts=[
        [("head",), ("send", data), ("sleep", 0.2), (how,)],
        [("head",), ("send", GOOD), ("drain", 3.0)],
    ])
    sources = {"sources": [{"name": "raw", "address": rb.address, "max_fails": 0}]}
    s = env.sluice([rb.source], workers=1, extra=sources)

    with HttpConn(s.port, timeout=4) as c:
        c.send(b"GET /first HTTP/1.1\r\nHost: x\r\n\r\n")
        got, end = read_until_close(c.sock, timeout=3.0)
    assert end in ("eof", "reset"), "client connection still open after 3 s (%d bytes)" % len(got)
    head, _, body = got.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200"):
        # Nothing relayed yet: an error response is acceptable, a 200 is not.
        assert head.startswith(b"HTTP/1.1 502"), got[:300]
    elif case.startswith("cl_"):
        declared = 100 if case == "cl_close_no_body" else 100000
        assert b"content-length: %d\r" % declared in head.lower() + b"\r", head
        assert len(body) < declared, "complete body relayed"
    else:
        assert b"chunked" in head.lower(), head
        assert not body.endswith(b"0\r\n\r\n"), "terminating chunk sent for a truncated body"
        assert b"\r\n0\r\n" not in body
    with HttpConn(s.port, timeout=4) as c:
        r = c.request("GET", "/second")
        assert r.status == 200 and r.body == b"good", r
    assert len(rb.conns) == 2
