"""h00022: a regex that gives up (oniguruma's retry limit) fails closed. A crafted path
that makes an /admin/ path_regex route backtrack past the limit is answered 500 with
an error-log line naming the route: it does not fall through to the next route (and
its sources). A request rewrite and a rewrite_location that give up are answered 500
too (never passing on the unrewritten value). Each is counted exactly once in
sluice-stat's regex_aborts, and harmless paths keep routing as before."""

import time

import rawbackend
from harness import HttpConn, Raw, stat_json, wait_until

EVIL = "a" * 40 + "b"          # (a|aa)+ on this backtracks about fib(40) times


def regex_aborts(s):
    return stat_json(s)["totals"]["regex_aborts"]


def test_path_regex_gives_up_500_not_next_route(env):
    adm = env.backend("adm")
    pub = env.backend("pub")
    routes = [
        {"path_regex": "^/admin/(a|aa)+$", "sources": ["adm"],
         "request": {"header_add": [{"name": "X-Admin-Rule", "value": "1"}]}},
        {"path": "/", "sources": ["pub"]},
    ]
    s = env.sluice([adm, pub], routes=routes, workers=1)
    with HttpConn(s.port, timeout=5) as c:
        r = c.request("GET", "/admin/aaaa")
        assert r.status == 200 and adm.stats()["requests"] == 1
        r = c.request("GET", "/admin/" + EVIL)
        assert r.status == 500, r
    assert pub.stats()["requests"] == 0, "a crafted path fell through to the next route"
    assert adm.stats()["requests"] == 1
    assert wait_until(lambda: "path_regex gave up" in s.log(), 2), s.log()[-2000:]
    line = [ln for ln in s.log().splitlines() if "path_regex gave up" in ln][0]
    assert "route at %s:" % s.conf_path in line, line
    assert regex_aborts(s) == 1
    # Harmless paths: as before.
    with HttpConn(s.port, timeout=5) as c:
        assert c.request("GET", "/admin/aab").status == 200
    assert pub.stats()["requests"] == 1
    assert regex_aborts(s) == 1


def test_rewrite_gives_up_500_and_counted(env):
    rb = rawbackend.start(env, "raw", responder=lambda c, req: rawbackend.response(200, body=b"ok"))
    routes = [{"path": "/", "sources": ["raw"],
               "request": {"rewrite": [{"regex": "^/r/(a|aa)+$", "replace": "/new"}]}}]
    s = env.sluice([rb.source], routes=routes, workers=1)
    with HttpConn(s.port, timeout=5) as c:
        assert c.request("GET", "/r/aaaa").status == 200
        assert rb.targets() == ["/new"]
        assert c.request("GET", "/r/" + EVIL).status == 500
    assert rb.targets() == ["/new"]
    assert regex_aborts(s) == 1


def test_rewrite_location_gives_up_500(env):
    def respond(c, req):
        loc = "http://app.internal/" + (EVIL if req.target == "/evil" else "aaaa")
        return rawbackend.response(302, headers=[("Location", loc)], body=b"")

    rb = rawbackend.start(env, "raw", responder=respond)
    routes = [{"path": "/", "sources": ["raw"],
               "response": {"rewrite_location": [
                   {"regex": "^http://app\\.internal/(a|aa)+$", "replace": "/moved"}]}}]
    s = env.sluice([rb.source], routes=routes, workers=1)
    with HttpConn(s.port, timeout=5) as c:
        r = c.request("GET", "/fine")
        assert r.status == 302 and r.header("Location") == "/moved", r
    with HttpConn(s.port, timeout=5) as c:
        r = c.request("GET", "/evil")
        assert r.status == 500, r
        assert "app.internal" not in repr(r)
    assert regex_aborts(s) == 1
    assert wait_until(lambda: "rewrite_location gave up" in s.log(), 2)
