"""e00002: no source reachable: 502 from the proxy within backend_connect."""

from harness import curl

CONNECT = 1


def test_all_sources_down_502(env):
    s = env.sluice([("a", "127.0.0.1:%d" % env.dead_port()),
                    ("b", "127.0.0.1:%d" % env.dead_port())],
                   timeouts={"backend_connect": CONNECT})

    for i in range(3):
        r = curl(s.url("/x%d" % i))
        assert r.rc == 0, r
        assert r.status == 502, r
        assert (r.header("Content-Type") or "").startswith("text/html"), r
        assert 0 < len(r.body) < 4096
        assert r.elapsed < CONNECT + 1.0, r.elapsed
