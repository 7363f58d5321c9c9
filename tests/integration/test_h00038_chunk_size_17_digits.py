"""h00038: a chunk size of 17 hex digits through the real proxy. sluice reads at most
16 hex digits of a chunk size, leading zeros included (common/http1.c,
MAX_CHUNK_DIGITS), so even a small value spelled with 17 digits is refused: the
client gets 400 and its connection is closed, and nothing reaches the backend, or,
when the head already went out, only an aborted request (the backend connection is
closed before the body ends; the backend never answers it). 16 digits still pass."""

import pytest

import rawbackend
from harness import HttpConn, exchange, read_until_close, wait_until

HEAD = b"POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
SMUGGLED = b"GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"

SIZES = {
    "leading_zeros_5": b"00000000000000005",
    "leading_zeros_0": b"00000000000000000",
    "2p64_plus_5": b"10000000000000005",
    "all_f": b"fffffffffffffffff",
    "leading_zeros_A_upper": b"0000000000000000A",
}


def body(size):
    """One chunk of the given size field, data to match when the value is small."""
    n = int(size, 16)
    data = b"x" * n if n < 64 else b"hello"
    return size + b"\r\n" + data + b"\r\n0\r\n\r\n"


def start_backend(env):
    """Answers each complete request (head and whole body) with 200; rb.answered
    lists the targets answered."""
    answered = []

    def handler(conn):
        while True:
            req = conn.head(10.0)
            if req is None:
                return
            req.body = conn.body(req, timeout=10.0)
            if req.body is None:
                return
            answered.append(req.target)
            if not conn.send(rawbackend.response(200, body=b"forwarded %s\n"
                                                 % req.target.encode())):
                return

    rb = rawbackend.start(env, "raw", handler=handler)
    rb.answered = answered
    return rb


def proxy(env, rb):
    return env.sluice([rb.source], workers=1, timeouts={"client_header": 3},
                      extra={"sources": [{"name": "raw", "address": rb.address,
                                          "max_fails": 0}]})


def check_after(s, rb):
    """Nothing smuggled, every backend connection that got bytes closed, and the
    proxy still serves."""
    assert "/smuggled" not in rb.targets(), rb.targets()
    assert all(b"/smuggled" not in c.received for c in rb.conns), "smuggled bytes forwarded"
    for c in list(rb.conns):
        assert wait_until(lambda: c.eof or c.done, 3.0), "backend conn %d left open" % c.index
    r = s.get("/after")
    assert r.status == 200 and r.body == b"forwarded /after\n", r


@pytest.mark.parametrize("case", sorted(SIZES))
def test_17_digit_chunk_size_one_write(env, case):
    rb = start_backend(env)
    s = proxy(env, rb)

    r, closed, err = exchange(s.port, HEAD + body(SIZES[case]) + SMUGGLED, "POST")
    assert r is not None, "no response: %s" % err
    assert r.status == 400, r
    assert closed, "client connection not closed"
    # Head and bad size came together: refused before anything was forwarded.
    assert rb.received_total() == 0, [bytes(c.received) for c in rb.conns]
    assert rb.answered == []
    check_after(s, rb)


@pytest.mark.parametrize("case", sorted(SIZES))
def test_17_digit_chunk_size_after_head_forwarded(env, case):
    rb = start_backend(env)
    s = proxy(env, rb)

    with HttpConn(s.port, timeout=4) as c:
        c.send(HEAD)
        assert wait_until(lambda: rb.conns and rb.conns[0].heads, 3.0), \
            "the head did not reach the backend on its own"
        c.send(body(SIZES[case]) + SMUGGLED)
        got, how = read_until_close(c.sock, timeout=3.0)
    assert how in ("eof", "reset"), "client connection not closed (got %r)" % got
    assert got == b"" or got.startswith(b"HTTP/1.1 400 "), got
    # The request was aborted: the backend connection closed, no complete request.
    assert wait_until(lambda: rb.conns[0].eof, 3.0), "backend connection left open"
    assert rb.answered == [], rb.answered
    check_after(s, rb)
    assert rb.answered == ["/after"], rb.answered


def test_16_digit_chunk_size_accepted(env):
    """The control: 16 digits (leading zeros) is a valid size, and the body arrives."""
    rb = start_backend(env)
    s = proxy(env, rb)

    with HttpConn(s.port, timeout=4) as c:
        c.send(HEAD + b"0000000000000005\r\nhello\r\n0000000000000000\r\n\r\n")
        r = c.read_response("POST")
    assert r.status == 200 and r.body == b"forwarded /upload\n", r
    assert rb.answered == ["/upload"] and rb.requests[0].body == b"hello"
