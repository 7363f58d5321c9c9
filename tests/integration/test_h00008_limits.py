"""h00008: limits from config: a request line over max_request_line gets 414, a header
block over max_header_size or more than max_headers fields gets 431; the connection is
closed and the backend receives nothing. Also when the oversized line or block has not
ended yet (the proxy must not wait for its end). e00008 covers the basic 414/431."""

import time

import rawbackend
from harness import HttpConn, exchange

LIMITS = {"max_request_line": 1024, "max_header_size": 4096, "max_headers": 10}


def ok(conn, req):
    return rawbackend.response(200, body=b"ok")


def start(env):
    rb = rawbackend.start(env, "raw", responder=ok)
    s = env.sluice([rb.source], extra={"limits": LIMITS}, timeouts={"client_header": 5})
    return rb, s


def head(n_fields, host=True):
    out = b"GET / HTTP/1.1\r\n" + (b"Host: x\r\n" if host else b"")
    out += b"".join(b"X-F%d: v\r\n" % i for i in range(n_fields))
    return out + b"\r\n"


def test_max_headers(env):
    rb, s = start(env)
    # Host + 9 = 10 fields: allowed.
    r, _, err = exchange(s.port, head(9), close_wait=0.1)
    assert r is not None and r.status == 200, (r, err)
    # Host + 10 = 11 fields: 431.
    r, closed, err = exchange(s.port, head(10))
    assert r is not None and r.status == 431, (r, err)
    assert closed
    r, closed, err = exchange(s.port, head(200))
    assert r is not None and r.status == 431, (r, err)
    assert closed
    assert len(rb.requests) == 1


def test_request_line_over_limit_unterminated_414(env):
    rb, s = start(env)
    t0 = time.monotonic()
    # No CRLF yet: the proxy must answer once the limit is passed, not wait.
    r, closed, err = exchange(s.port, b"GET /" + b"a" * 3000, timeout=3.0)
    assert r is not None and r.status == 414, (r, err)
    assert closed
    assert time.monotonic() - t0 < 2.5
    assert rb.received_total() == 0


def test_request_line_boundary(env):
    rb, s = start(env)
    # The request line without its CRLF at exactly max_request_line bytes is fine;
    # a few bytes more is not.
    pre, post = b"GET /", b" HTTP/1.1"
    fill = 1024 - len(pre) - len(post)
    r, _, err = exchange(s.port, pre + b"a" * fill + post + b"\r\nHost: x\r\n\r\n",
                      close_wait=0.1)
    assert r is not None and r.status == 200, (r, err)
    r, closed, err = exchange(s.port, pre + b"a" * (fill + 10) + post + b"\r\nHost: x\r\n\r\n",
                      close_wait=0.1)
    assert r is not None and r.status == 414, (r, err)
    assert closed
    assert len(rb.requests) == 1


def test_header_block_over_limit_unterminated_431(env):
    rb, s = start(env)
    t0 = time.monotonic()
    r, closed, err = exchange(s.port, b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"v" * 6000,
                              timeout=3.0)
    assert r is not None and r.status == 431, (r, err)
    assert closed
    assert time.monotonic() - t0 < 2.5
    assert rb.received_total() == 0


def test_one_huge_field_431_and_next_conn_fine(env):
    rb, s = start(env)
    r, closed, err = exchange(s.port, b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"v" * 5000
                              + b"\r\n\r\n")
    assert r is not None and r.status == 431, (r, err)
    assert closed
    with HttpConn(s.port) as c:
        assert c.request("GET", "/", headers=[("X-Ok", "v" * 3000)]).status == 200
    assert len(rb.requests) == 1


def test_limits_on_second_request_of_keepalive_conn(env):
    """Limits apply to every request on a connection, not only the first."""
    rb, s = start(env)
    with HttpConn(s.port) as c:
        assert c.request("GET", "/one").status == 200
        c.send(head(20))
        r = c.read_response()
        assert r.status == 431, r
        assert c.closed_by_peer(2.0)
    assert [q.target for q in rb.requests] == ["/one"]
