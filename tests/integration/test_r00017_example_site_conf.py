"""r00017: etc/example-site.conf passes `sluice -t`, and - with its listeners,
sources, pid file and log moved to the test's own - does what its comments say."""

import re

from harness import REPO, curl, free_port, run_sluice

EXAMPLE = REPO / "etc" / "example-site.conf"
SOURCES = ("static1", "static2", "api1", "api2", "app1", "app2", "spare")


def values(echo, name):
    return [v for k, v in echo["headers"] if k.lower() == name.lower()]


def test_example_config_checks_ok(tmp_path):
    """As written, with its log and pid file moved into the test dir: -t also
    checks that those can be written, and this machine has no /var/log/sluice."""
    text = EXAMPLE.read_text()
    for old, new in [('"/var/log/sluice/error.log"', '"%s"' % (tmp_path / "error.log")),
                     ('"/run/sluice.pid"', '"%s"' % (tmp_path / "sluice.pid"))]:
        assert old in text, old
        text = text.replace(old, new)
    conf = tmp_path / "example-site.conf"
    conf.write_text(text)
    rc, out = run_sluice(["-t", "-c", str(conf)])
    assert rc == 0, out
    assert "configuration OK" in out, out
    assert "warning" not in out, out


def localized(env, port, port6):
    """The example's text with test addresses: backends by source name, listeners
    on two loopback ports, pid file in the test dir, log to stderr."""
    text = EXAMPLE.read_text()
    backends = {n: env.backend(n) for n in SOURCES}
    for n, b in backends.items():
        text, k = re.subn(r'(name = "%s";\s*address = )"[^"]*"' % re.escape(n),
                          r'\g<1>"%s"' % b.address, text)
        assert k == 1, n
    for old, new in [('"0.0.0.0:8080"', '"127.0.0.1:%d"' % port),
                     ('"[::]:8080"', '"127.0.0.1:%d"' % port6),
                     ('"/run/sluice.pid"', '"%s"' % (env.dir / "sluice.pid")),
                     ('"/var/log/sluice/error.log"', '"stderr"'),
                     ('workers  = "auto";', 'workers  = 2;')]:
        assert old in text, old
        text = text.replace(old, new)
    return text, backends


def test_example_config_routes_and_rules(env):
    port, port6 = free_port(), free_port()
    text, backends = localized(env, port, port6)
    s = env.sluice(conf_text=text, port=port)

    # Static files: the static pool only, no credentials, long cache.
    seen = set()
    with s.conn() as c:
        for i in range(4):
            r = c.request("GET", "/static/echo", headers=[("Cookie", "sid=1"),
                                                          ("X-Echo-Any", "1")])
            assert r.status == 200, r
            seen.add(r.header("X-Backend"))
            e = r.json()
            assert e["target"] == "/static/echo"
            assert values(e, "Cookie") == [], e["headers"]
            assert values(e, "X-Forwarded-For") == [], e["headers"]    # x_forwarded_for = false
            assert r.header_all("Cache-Control") == ["public, max-age=86400"], r.headers
    assert seen == {"static1", "static2"}, seen

    # API: /api/v1 stripped, Host = the source's address, gateway header added.
    seen = set()
    with s.conn() as c:
        for i in range(3):
            r = c.request("GET", "/api/v1/users?id=3", headers=[("X-Echo-Any", "1"),
                                                               ("X-Internal-Token", "t")])
            assert r.status == 200, r
            seen.add(r.header("X-Backend"))
            e = r.json()
            assert e["target"] == "/users?id=3", e
            assert values(e, "Host") == [backends[e["name"]].address], e["headers"]
            assert values(e, "X-Api-Gateway") == ["sluice"], e["headers"]
            assert values(e, "X-Internal-Token") == [], e["headers"]
            assert values(e, "X-Forwarded-For") == ["127.0.0.1"], e["headers"]
            assert r.header_all("Cache-Control") == ["no-store"], r.headers
        r = c.request("GET", "/api/v1?page=2", headers=[("X-Echo-Any", "1")])
        assert r.status == 200, r
        assert r.json()["target"] == "/?page=2"
        r = c.request("GET", "/api/v1/headers?Location=http://127.0.0.1:9201/users/4"
                             "&X-Powered-By=php")
        assert r.status == 200, r
        assert r.header_all("Location") == ["/api/v1/users/4"], r.headers
        assert r.header("X-Powered-By") is None, r.headers
    assert seen == {"api1", "api2"}, seen

    # Everything else: the application pool, never the backup while both are up.
    seen = set()
    for i in range(4):
        r = curl(s.url("/account/echo"), "-H", "X-Echo-Any: 1", "-H", "Host: www.example.test")
        assert r.status == 200, r
        seen.add(r.header("X-Backend"))
        e = r.json()
        assert values(e, "Host") == ["www.example.test"], e["headers"]
        assert values(e, "X-Forwarded-Port") == ["8080"], e["headers"]
        assert r.header("X-Frame-Options") == "SAMEORIGIN", r
    assert seen == {"app1", "app2"}, seen
    assert backends["spare"].stats()["requests"] == 0

    # The second listener (the example's [::]:8080) serves the same routes.
    r = curl("http://127.0.0.1:%d/static/x" % port6)
    assert r.status == 200, r
    assert r.header("X-Backend") in ("static1", "static2"), r
