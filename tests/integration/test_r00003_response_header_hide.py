"""r00003: response.header_hide: X-Secret set by the backend never reaches the client
(raw client and curl, GET and HEAD, repeated and in any case)."""

from harness import curl

ROUTES = [{"host": "*", "path": "/", "sources": ["b1"],
           "response": {"header_hide": ["X-Secret", "x-powered-by"]}}]


def test_x_secret_never_at_client(env):
    b1 = env.backend("b1")
    s = env.sluice([b1], routes=ROUTES)

    with s.conn() as c:
        for method in ("GET", "HEAD", "GET"):
            r = c.request(method, "/headers?X-Secret=v&X-Keep=k&X-SECRET=w&X-Powered-By=php")
            assert r.status == 200, r
            names = [k.lower() for k, v in r.headers]
            assert "x-secret" not in names, (method, r.headers)
            assert "x-powered-by" not in names, (method, r.headers)
            assert r.header_all("X-Keep") == ["k"], (method, r.headers)
            assert r.header("X-Backend") == "b1"

    r = curl(s.url("/headers?X-Secret=v"))
    assert r.status == 200, r
    assert r.header("X-Secret") is None, r
    assert "x-secret" not in [k.lower() for k, v in r.headers], r
