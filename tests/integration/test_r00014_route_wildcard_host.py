"""r00014: host "*.example.com" matches any subdomain depth (a.example.com,
a.b.example.com), case-insensitively and without the port, but not example.com
itself nor a name that merely ends in "example.com"."""

from harness import curl

ROUTES = [{"host": "*.example.com", "path": "/", "sources": ["wild"]},
          {"host": "example.com", "path": "/", "sources": ["apex"]}]


def test_wildcard_host(env):
    wild = env.backend("wild")
    apex = env.backend("apex")
    s = env.sluice([wild, apex], routes=ROUTES)

    with s.conn() as c:
        for host, want in [("a.example.com", "wild"),
                           ("a.b.example.com", "wild"),
                           ("A.Example.COM", "wild"),
                           ("a.example.com:%d" % s.port, "wild"),
                           ("www.EXAMPLE.com:80", "wild"),
                           ("example.com", "apex"),
                           ("Example.Com:8080", "apex")]:
            r = c.request("GET", "/echo", headers=[("Host", host)])
            assert r.status == 200, (host, r)
            assert r.header("X-Backend") == want, (host, r.header("X-Backend"))
            # preserve_host (default): the backend gets the client's Host as sent.
            assert [v for k, v in r.json()["headers"] if k.lower() == "host"] == [host]

    for host in ("xexample.com", "example.com.evil.test", "example.org", "a.example.co"):
        r = curl(s.url("/"), "-H", "Host: %s" % host)
        assert r.status == 404, (host, r)
        assert r.header("X-Backend") is None, (host, r)


def test_star_catches_the_rest(env):
    wild = env.backend("wild")
    other = env.backend("other")
    s = env.sluice([wild, other], routes=[ROUTES[0],
                                          {"host": "*", "path": "/", "sources": ["other"]}])
    for host, want in [("x.example.com", "wild"), ("example.com", "other"),
                       ("anything.test", "other")]:
        r = curl(s.url("/"), "-H", "Host: %s" % host)
        assert r.status == 200, (host, r)
        assert r.header("X-Backend") == want, (host, r)
    # No Host at all (HTTP/1.0): only "*" can match.
    with s.conn() as c:
        c.send(b"GET / HTTP/1.0\r\n\r\n")
        r = c.read_response()
    assert r.status == 200, r
    assert r.header("X-Backend") == "other"
