"""b00022: routes are chosen by Host: an exact host route before the "*" route."""

from harness import curl

ROUTES = [{"host": "a.test", "path": "/", "sources": ["a"]},
          {"host": "*", "path": "/", "sources": ["b"]}]


def start(env):
    a = env.backend("a")
    b = env.backend("b")
    return env.sluice([a, b], routes=ROUTES)


def test_route_by_host(env):
    s = start(env)
    for host, want in [("a.test", "a"), ("other.test", "b"), ("a.test", "a"), ("b.test", "b")]:
        r = curl(s.url("/"), "-H", "Host: %s" % host)
        assert r.status == 200, r
        assert r.header("X-Backend") == want, (host, r)


def test_route_host_with_port_and_case(env):
    # What a browser sends for http://a.test:PORT/, and hostnames are case-insensitive.
    s = start(env)
    r = curl("http://a.test:%d/" % s.port, "--resolve", "a.test:%d:127.0.0.1" % s.port)
    assert r.status == 200, r
    assert r.header("X-Backend") == "a"
    r = curl(s.url("/"), "-H", "Host: A.Test")
    assert r.status == 200, r
    assert r.header("X-Backend") == "a"
