"""h00004: an HTTP/2 connection preface or an HTTP/0.9 request line on the HTTP/1.1
port gets 400 and a close, promptly (not after client_header), and the backend
receives nothing."""

import time

import pytest

import rawbackend
from harness import exchange

CASES = {
    "h2_preface": b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
    "h2_preface_and_settings": b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00",
    "http09_line": b"GET /\r\n",
    "http09_line_blank": b"GET /echo\r\n\r\n",
}


def ok(conn, r):
    return rawbackend.response(200, body=b"forwarded\n")


@pytest.mark.parametrize("case", sorted(CASES))
def test_preface_or_09_400(env, case):
    rb = rawbackend.start(env, "raw", responder=ok)
    s = env.sluice([rb.source], timeouts={"client_header": 5})

    t0 = time.monotonic()
    r, closed, err = exchange(s.port, CASES[case], timeout=3.0)
    assert r is not None, "no response after %.1f s: %s" % (time.monotonic() - t0, err)
    assert r.status == 400, r
    assert closed, "connection left open after 400"
    assert time.monotonic() - t0 < 2.5
    assert rb.accepts == 0 and rb.received_total() == 0, rb.targets()
    assert s.get("/fine").status == 200
