"""c00002: 100 requests on one keep-alive client connection."""

N = 100


def test_100_requests_one_connection(env):
    a = env.backend("a")
    b = env.backend("b")
    s = env.sluice([a, b])

    with s.conn() as c:
        for i in range(N):
            r = c.request("GET", "/echo?i=%d" % i)
            assert r.status == 200, (i, r)
            assert r.json()["target"] == "/echo?i=%d" % i
            assert "close" not in (r.header("Connection") or "").lower(), (i, r)
    sa, sb = a.stats(), b.stats()
    assert sa["requests"] + sb["requests"] == N
    # One client connection lives in one worker, its requests are sequential:
    # one pooled connection per source is enough.
    assert sa["accepts"] <= 1 and sb["accepts"] <= 1, (sa, sb)
