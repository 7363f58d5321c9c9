"""r00011: two routes by host, each with its own source set; host compared
case-insensitively and without the port; an unknown host gets sluice's 404."""

from harness import curl

ROUTES = [{"host": "static.test", "path": "/", "sources": ["s1", "s2"]},
          {"host": "api.test", "path": "/", "sources": ["a1", "a2"]}]


def test_two_pools_by_host(env):
    backends = [env.backend(n) for n in ("s1", "s2", "a1", "a2")]
    s = env.sluice(backends, routes=ROUTES)

    seen = {"static.test": [], "api.test": []}
    with s.conn() as c:
        for i in range(6):
            for host, hdr in [("static.test", "static.test"),
                              ("api.test", "API.Test:%d" % s.port),
                              ("static.test", "STATIC.TEST:80")]:
                r = c.request("GET", "/x%d" % i, headers=[("Host", hdr)])
                assert r.status == 200, (hdr, r)
                seen[host].append(r.header("X-Backend"))
    assert set(seen["static.test"]) == {"s1", "s2"}, seen
    assert set(seen["api.test"]) == {"a1", "a2"}, seen

    for host in ("other.test", "static.test.evil", "xstatic.test", "api.tes"):
        r = curl(s.url("/x"), "-H", "Host: %s" % host)
        assert r.status == 404, (host, r)
        assert r.header("X-Backend") is None, (host, r)
