"""h00005: a malformed chunked request body (size not hex, signed, over 63 bits, bare
LF or missing CRLF, a broken trailer section). The head is valid, so it may already
have been forwarded; what must hold: the client gets 400 (or a close) and never a 2xx,
its connection is closed, the bytes after the bad chunk (a smuggled request) never
reach the backend, and a backend connection the head went out on is closed (not
pooled)."""

import pytest

import rawbackend
from harness import exchange, wait_until

HEAD = b"POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
SMUGGLED = b"GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"

CASES = {
    "size_not_hex": b"g\r\nhello\r\n0\r\n\r\n",
    "size_hex_prefix": b"0x5\r\nhello\r\n0\r\n\r\n",
    "size_minus": b"-5\r\nhello\r\n0\r\n\r\n",
    "size_plus": b"+5\r\nhello\r\n0\r\n\r\n",
    "size_leading_space": b" 5\r\nhello\r\n0\r\n\r\n",
    "size_empty": b"\r\nhello\r\n0\r\n\r\n",
    "size_2p63": b"8000000000000000\r\nhello\r\n0\r\n\r\n",
    "size_2p64_wraps_to_0": b"10000000000000000\r\n\r\n",
    "size_2p64_plus_5": b"10000000000000005\r\nhello\r\n0\r\n\r\n",
    "size_many_f": b"fffffffffffffffffffff\r\nhello\r\n0\r\n\r\n",
    "size_bare_lf": b"5\nhello\r\n0\r\n\r\n",
    "size_bare_cr": b"5\rhello\r\n0\r\n\r\n",
    "ext_bare_cr": b"5;a\rb\r\nhello\r\n0\r\n\r\n",
    "data_longer_than_size": b"3\r\nhello\r\n0\r\n\r\n",
    "data_missing_crlf": b"5\r\nhello0\r\n\r\n",
    "data_bare_lf": b"5\r\nhello\n0\r\n\r\n",
    "last_chunk_bare_lf": b"5\r\nhello\r\n0\n\r\n",
    "trailer_not_a_field": b"5\r\nhello\r\n0\r\n",      # SMUGGLED lands in the trailer section
    "trailer_obs_fold": b"5\r\nhello\r\n0\r\nX-T: 1\r\n folded\r\n\r\n",
}


def ok(conn, req):
    return rawbackend.response(200, body=b"forwarded %s\n" % req.target.encode())


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_chunk_never_smuggles(env, case):
    rb = rawbackend.start(env, "raw", responder=ok)
    s = env.sluice([rb.source], workers=1, timeouts={"client_header": 3})

    r, closed, err = exchange(s.port, HEAD + CASES[case] + SMUGGLED, "POST")
    if r is not None:
        assert r.status == 400, r
    assert closed, "client connection not closed (response %r, %s)" % (r, err)
    assert "/smuggled" not in rb.targets(), rb.targets()
    assert all(b"/smuggled" not in c.received for c in rb.conns), "smuggled bytes forwarded"
    # A backend connection that got the head must be closed by the proxy, not pooled.
    for c in rb.conns:
        assert wait_until(lambda: c.eof or c.done, 3.0), "backend conn %d left open" % c.index
    # The proxy still serves correctly.
    r2 = s.get("/after")
    assert r2.status == 200 and r2.body == b"forwarded /after\n", r2


def test_bad_chunk_reports_400_when_nothing_answered(env):
    """With a backend that waits for the whole body, nothing was answered yet: 400."""
    rb = rawbackend.start(env, "raw", responder=ok)
    s = env.sluice([rb.source], workers=1, timeouts={"client_header": 3})

    r, closed, err = exchange(s.port, HEAD + b"5\r\nhello\r\nzz\r\n" + SMUGGLED, "POST")
    assert r is not None, "no response: %s" % err
    assert r.status == 400, r
    assert closed
