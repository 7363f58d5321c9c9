"""r00010: two routes by path prefix, each with its own source set: /static/ goes
only to s1/s2, /api/ only to a1/a2, and each pool is balanced over both of its
sources."""

from harness import curl

ROUTES = [{"host": "*", "path": "/static/", "sources": ["s1", "s2"]},
          {"host": "*", "path": "/api/", "sources": ["a1", "a2"]}]


def test_two_pools_by_path_prefix(env):
    backends = [env.backend(n) for n in ("s1", "s2", "a1", "a2")]
    s = env.sluice(backends, routes=ROUTES)

    seen = {"/static/": [], "/api/": []}
    with s.conn() as c:
        for i in range(8):
            for prefix in seen:
                r = c.request("GET", "%sfile%d?i=%d" % (prefix, i, i))
                assert r.status == 200, (prefix, r)
                seen[prefix].append(r.header("X-Backend"))
    assert set(seen["/static/"]) == {"s1", "s2"}, seen
    assert set(seen["/api/"]) == {"a1", "a2"}, seen

    # Neither prefix: no route (no catch-all here).
    r = curl(s.url("/other"))
    assert r.status == 404, r
    r = curl(s.url("/static"))      # the prefix is "/static/", with its slash
    assert r.status == 404, r
    total = sum(b.stats()["requests"] for b in backends)
    assert total == 16
