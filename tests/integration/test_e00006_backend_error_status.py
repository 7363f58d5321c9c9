"""e00006: error statuses from the backend are relayed as they are, with the
backend's own body (the proxy's error pages are only for its own errors)."""


def test_backend_5xx_and_4xx_relayed(env):
    a = env.backend("a")
    s = env.sluice([a])

    with s.conn() as c:
        for code in (500, 503, 404, 400):
            r = c.request("GET", "/status?code=%d" % code)
            assert r.status == code, r
            assert r.body == b"status %d\n" % code
            assert r.header("X-Backend") == "a"
        r = c.request("GET", "/echo?after=errors")
        assert r.status == 200, r
        assert r.json()["target"] == "/echo?after=errors"
