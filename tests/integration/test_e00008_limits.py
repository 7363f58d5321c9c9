"""e00008: limits: an oversized request line gets 414, an oversized header block 431."""

LIMITS = {"max_request_line": 1024, "max_header_size": 4096}


def test_request_line_too_long_414(env):
    a = env.backend("a")
    s = env.sluice([a], extra={"limits": LIMITS})

    with s.conn() as c:
        c.send(b"GET /" + b"a" * 2000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
        r = c.read_response()
        assert r.status == 414, r
    assert a.stats()["requests"] == 0
    # Under the limit is fine.
    assert s.get("/" + "a" * 900).status == 200


def test_header_block_too_large_431(env):
    a = env.backend("a")
    s = env.sluice([a], extra={"limits": LIMITS})

    with s.conn() as c:
        hs = [("X-Big-%d" % i, "v" * 200) for i in range(40)]
        r = c.request("GET", "/", headers=hs)
        assert r.status == 431, r
    assert a.stats()["requests"] == 0
    with s.conn() as c:
        r = c.request("GET", "/", headers=[("X-Big-%d" % i, "v" * 200) for i in range(10)])
        assert r.status == 200, r
