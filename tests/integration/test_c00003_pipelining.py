"""c00003: 10 pipelined requests in one send() are answered in order."""

from harness import HttpConn


def test_pipelined_requests_answered_in_order(env):
    a = env.backend("a")
    b = env.backend("b")
    s = env.sluice([a, b])

    reqs = []
    for i in range(10):
        method = "HEAD" if i == 5 else "GET"
        reqs.append((method, "/echo?seq=%d" % i))
    data = b"".join(HttpConn.build(m, t, host="127.0.0.1:%d" % s.port) for m, t in reqs)

    with s.conn() as c:
        c.send(data)
        for i, (m, t) in enumerate(reqs):
            r = c.read_response(m)
            assert r.status == 200, (i, r)
            if m == "HEAD":
                assert r.body == b""
                assert r.header("X-Echo-Method") == "HEAD"
            else:
                assert r.json()["target"] == t, (i, r.json())


def test_pipelined_posts_with_bodies(env):
    a = env.backend("a")
    s = env.sluice([a])

    bodies = [bytes([65 + i]) * (i * 1000 + 1) for i in range(5)]
    data = b"".join(HttpConn.build("POST", "/echo?p=%d" % i, body=bd,
                                   host="127.0.0.1:%d" % s.port)
                    for i, bd in enumerate(bodies))
    with s.conn() as c:
        c.send(data)
        for i, bd in enumerate(bodies):
            r = c.read_response("POST")
            assert r.status == 200, (i, r)
            e = r.json()
            assert e["target"] == "/echo?p=%d" % i
            assert e["body_len"] == len(bd)
