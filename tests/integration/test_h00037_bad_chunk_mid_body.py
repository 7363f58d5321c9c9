"""h00037: a malformed chunk that arrives mid-body, after the head and a valid chunk
already went to the backend (h00005 sends head and bad chunk in one write, so sluice
refuses both before forwarding anything). The head, then the valid chunk, then the
bad chunk are sent in separate writes, each after the backend has what came before.
What must hold: the client gets 400 or a close (never a 2xx) and its connection is
closed; the backend sees that connection closed without a complete request (so it
never answers it), none of the bytes after the bad chunk reach it, and the next
request goes out on a fresh backend connection: a bug that pooled the half-sent
connection (a desync) fails here."""

import pytest

import rawbackend
from harness import HttpConn, read_until_close, wait_until

HEAD = b"POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
GOOD_CHUNK = b"5\r\nhello\r\n"
SMUGGLED = b"GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"

BAD = {
    "size_not_hex": b"zz\r\n",
    "size_minus": b"-5\r\nworld\r\n0\r\n\r\n",
    "size_17_hex_digits": b"00000000000000005\r\nworld\r\n0\r\n\r\n",
    "data_longer_than_size": b"3\r\nworld\r\n0\r\n\r\n",
    "data_missing_crlf": b"5\r\nworld0\r\n\r\n",
    "last_chunk_bare_lf": b"0\n\r\n",
    "trailer_obs_fold": b"0\r\nX-T: 1\r\n folded\r\n\r\n",
}


def start_backend(env):
    """A raw backend that answers each complete request (head and whole body) with
    200, records the targets it answered in rb.answered, and stops on a broken body."""
    answered = []

    def handler(conn):
        while True:
            req = conn.head(10.0)
            if req is None:
                return
            req.body = conn.body(req, timeout=10.0)
            if req.body is None:
                conn.log("incomplete body for %r" % req.target)
                return
            answered.append((conn.index, req.target))
            if not conn.send(rawbackend.response(200, body=b"forwarded %s\n"
                                                 % req.target.encode())):
                return

    rb = rawbackend.start(env, "raw", handler=handler)
    rb.answered = answered
    return rb


def chunk_forwarded(rb):
    """The backend's first connection has the head and the valid chunk, nothing more."""
    return bytes(rb.conns[0].received).endswith(b"\r\n\r\n" + GOOD_CHUNK)


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_chunk_after_forwarded_chunk(env, case):
    rb = start_backend(env)
    s = env.sluice([rb.source], workers=1, timeouts={"client_header": 3},
                   extra={"sources": [{"name": "raw", "address": rb.address,
                                       "max_fails": 0}]})

    with HttpConn(s.port, timeout=4) as c:
        c.send(HEAD)
        assert wait_until(lambda: rb.conns and rb.conns[0].heads, 3.0), \
            "the head did not reach the backend on its own"
        c.send(GOOD_CHUNK)
        assert wait_until(lambda: chunk_forwarded(rb), 3.0), \
            "the valid chunk did not reach the backend: %r" % bytes(rb.conns[0].received)
        c.send(BAD[case] + SMUGGLED)
        got, how = read_until_close(c.sock, timeout=3.0)
    # The client: a 400 or nothing, then the close; never a 2xx.
    assert how in ("eof", "reset"), "client connection not closed (got %r)" % got
    assert got == b"" or got.startswith(b"HTTP/1.1 400 "), got
    # The backend: that connection closed, its request never complete.
    b0 = rb.conns[0]
    assert wait_until(lambda: b0.eof, 3.0), "backend connection left open (pooled?)"
    assert [q.target for q in b0.heads] == ["/upload"], b0.heads
    assert rb.answered == [], "a complete request reached the backend: %r" % rb.answered
    assert b"/smuggled" not in bytes(b0.received), bytes(b0.received)
    # The next request: served, on a fresh backend connection.
    with HttpConn(s.port, timeout=4) as c:
        r = c.request("GET", "/after")
    assert r.status == 200 and r.body == b"forwarded /after\n", r
    assert len(rb.conns) == 2, "requests went out on %d backend connections" % len(rb.conns)
    assert rb.answered == [(1, "/after")], rb.answered
    assert [q.target for q in b0.heads] == ["/upload"], b0.heads
    assert b"/after" not in bytes(b0.received), "the next request went to the half-sent conn"
    assert all(b"/smuggled" not in q.received for q in rb.conns), "smuggled bytes forwarded"


def test_valid_body_in_separate_writes_control(env):
    """The same writes with a valid last chunk: one complete request, answered 200,
    and the backend connection is kept for the next request (so the checks above can
    tell a close from a pool)."""
    rb = start_backend(env)
    s = env.sluice([rb.source], workers=1, timeouts={"client_header": 3})

    with HttpConn(s.port, timeout=4) as c:
        c.send(HEAD)
        assert wait_until(lambda: rb.conns and rb.conns[0].heads, 3.0)
        c.send(GOOD_CHUNK)
        assert wait_until(lambda: chunk_forwarded(rb), 3.0)
        c.send(b"0\r\n\r\n")
        r = c.read_response("POST")
        assert r.status == 200 and r.body == b"forwarded /upload\n", r
        r = c.request("GET", "/after")
        assert r.status == 200 and r.body == b"forwarded /after\n", r
    assert rb.answered == [(0, "/upload"), (0, "/after")], rb.answered
    assert rb.conns[0].heads[0].body == b"hello"
