"""e00001: a request that matches no route gets a small text/html 404 from the proxy."""

from harness import curl


def test_no_matching_route_404(env):
    a = env.backend("a")
    s = env.sluice([a], routes=[{"host": "only.test", "path": "/", "sources": ["a"]}])

    r = curl(s.url("/"), "-H", "Host: other.test")
    assert r.rc == 0, r
    assert r.status == 404, r
    assert (r.header("Content-Type") or "").startswith("text/html"), r
    assert 0 < len(r.body) < 4096
    assert r.header("X-Backend") is None
    assert a.stats()["requests"] == 0

    # The route itself works.
    r = curl(s.url("/"), "-H", "Host: only.test")
    assert r.status == 200, r
    assert r.header("X-Backend") == "a"


def test_404_keeps_connection_usable(env):
    a = env.backend("a")
    s = env.sluice([a], routes=[{"host": "only.test", "path": "/", "sources": ["a"]}])

    with s.conn() as c:
        r = c.request("GET", "/x", headers=[("Host", "nope.test")])
        assert r.status == 404, r
        r2 = c.request("GET", "/echo", headers=[("Host", "only.test")])
        assert r2.status == 200, r2
        assert r2.json()["target"] == "/echo"
