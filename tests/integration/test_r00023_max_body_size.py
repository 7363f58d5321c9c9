"""r00023: routes[].max_body_size ("1k"-style sizes, also accepted by limits'
sizes). A Content-Length over the limit gets 413 before anything reaches the
source (no 100 Continue either); one at the limit passes whole. A chunked body is
forwarded until it crosses the limit: then the client gets 413 and the source sees
its connection closed with the body unfinished (an aborted request, never a short
one presented as complete), and the next request uses a fresh connection."""

import hashlib

import rawbackend
from harness import HttpConn, read_until_close, run_sluice, stat_json, wait_until

LIMIT = 1024


def start_backend(env):
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
            answered.append((conn.index, req.target, hashlib.sha256(req.body).hexdigest()))
            if not conn.send(rawbackend.response(200, body=b"ok %s\n" % req.target.encode())):
                return

    rb = rawbackend.start(env, "raw", handler=handler)
    rb.answered = answered
    return rb


def sluice(env, rb):
    return env.sluice([rb.source], workers=1, timeouts={"client_header": 3}, routes=[
        {"host": "*", "path": "/", "sources": ["raw"], "max_body_size": "1k"}],
        extra={"sources": [{"name": "raw", "address": rb.address, "max_fails": 0}],
               "limits": {"max_header_size": "32k"}})


def test_content_length(env):
    rb = start_backend(env)
    s = sluice(env, rb)
    body = b"x" * LIMIT
    with HttpConn(s.port) as c:
        r = c.request("POST", "/at-limit", body=body)
        assert r.status == 200 and r.body == b"ok /at-limit\n", r
    with HttpConn(s.port) as c:
        c.send(b"POST /over HTTP/1.1\r\nHost: a\r\nContent-Length: 1025\r\n"
               b"Expect: 100-continue\r\n\r\n")
        got, how = read_until_close(c.sock, timeout=3.0)
    assert got.startswith(b"HTTP/1.1 413 Content Too Large\r\n"), got
    assert b"100 Continue" not in got
    assert how in ("eof", "reset")
    assert [t for _, t, _ in rb.answered] == ["/at-limit"]
    assert all(b"/over" not in bytes(k.received) for k in rb.conns)
    assert stat_json(s)["totals"]["responses"]["4xx"] == 1


def test_chunked_crossing_the_limit(env):
    rb = start_backend(env)
    s = sluice(env, rb)
    head = b"POST /chunked HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
    first = b"258\r\n" + b"a" * 600 + b"\r\n"          # 600 bytes: within the limit
    second = b"258\r\n" + b"b" * 600 + b"\r\n0\r\n\r\n"  # 1200 in all: over it
    with HttpConn(s.port, timeout=4) as c:
        c.send(head)
        assert wait_until(lambda: rb.conns and rb.conns[0].heads, 3.0)
        c.send(first)
        assert wait_until(lambda: bytes(rb.conns[0].received).endswith(first), 3.0)
        c.send(second)
        got, how = read_until_close(c.sock, timeout=3.0)
    assert got.startswith(b"HTTP/1.1 413 "), got
    assert how in ("eof", "reset")
    b0 = rb.conns[0]
    assert wait_until(lambda: b0.eof, 3.0), "the source's connection was not closed"
    assert rb.answered == [], "a request presented as complete: %r" % rb.answered
    assert b"bbbb" not in bytes(b0.received), "bytes over the limit went out"
    # Within the limit, chunked passes whole; on a fresh connection.
    with HttpConn(s.port, timeout=4) as c:
        r = c.request("POST", "/small", chunks=[b"c" * 500, b"d" * 500])
    assert r.status == 200, r
    assert rb.answered == [(1, "/small", hashlib.sha256(b"c" * 500 + b"d" * 500).hexdigest())]


def test_sizes_in_config(env, tmp_path):
    rb = start_backend(env)
    s = env.sluice([rb.source], start=False, routes=[
        {"host": "*", "path": "/", "sources": ["raw"], "max_body_size": "10m"}],
        extra={"limits": {"max_header_size": "16k", "max_request_line": "4k"}})
    rc, out = run_sluice(["-t", "-c", str(s.conf_path)])
    assert rc == 0, out
    for bad in ('"10x"', '"-1k"', '"k"', '"5g"'):
        p = tmp_path / "bad.conf"
        p.write_text(s.conf_path.read_text().replace('"10m"', bad))
        rc, out = run_sluice(["-t", "-c", str(p)])
        assert rc != 0 and "routes[0].max_body_size: expected a size" in out, (bad, out)
