"""h00026: sluice adds "Via: 1.1 <name>" to forwarded requests and responses (RFC 9110
§7.6.3), after any Via already there; the name is the host name by default, or the
route's `via = "name"`; `via = false` turns it off. A request that already carries
our own name is a forwarding loop (a source that leads back to sluice): it is answered
508 without being forwarded, logged and counted in sluice-stat's loops."""

import socket

import rawbackend
from harness import HttpConn, free_port, stat_json, wait_until


def ok(c, req):
    return rawbackend.response(200, headers=[("Via", "1.0 origin-cache")], body=b"ok")


def test_via_default_is_host_name(env):
    rb = rawbackend.start(env, "raw", responder=ok)
    s = env.sluice([rb.source], workers=1)
    name = socket.gethostname()
    with HttpConn(s.port, timeout=3) as c:
        r = c.request("GET", "/", headers=[("Via", "1.1 cdn-edge")])
        assert r.status == 200
        assert r.header_all("Via") == ["1.0 origin-cache", "1.1 %s" % name], r.headers
    assert rb.requests[0].get_all("Via") == ["1.1 cdn-edge", "1.1 %s" % name]


def test_via_named_and_off(env):
    rb = rawbackend.start(env, "raw", responder=ok)
    s = env.sluice([rb.source], workers=1,
                   routes=[{"path": "/off/", "sources": ["raw"], "via": False},
                           {"path": "/", "sources": ["raw"], "via": "edge-1"}])
    with HttpConn(s.port, timeout=3) as c:
        r = c.request("GET", "/a")
        assert r.header_all("Via") == ["1.0 origin-cache", "1.1 edge-1"]
        r = c.request("GET", "/off/a")
        assert r.header_all("Via") == ["1.0 origin-cache"]
        # Our name seen on the way in: a loop, not forwarded.
        r = c.request("GET", "/b", headers=[("Via", "1.1 other, HTTP/1.1 EDGE-1 (sluice)")])
        assert r.status == 508, r
    assert [q.target for q in rb.requests] == ["/a", "/off/a"]
    assert stat_json(s)["totals"]["loops"] == 1


def test_source_pointing_back_is_508(env):
    port = free_port()
    s = env.sluice([("self", "127.0.0.1:%d" % port)], port=port, workers=2,
                   routes=[{"path": "/", "sources": ["self"], "via": "loop-test"}])
    with HttpConn(s.port, timeout=5) as c:
        r = c.request("GET", "/loop")
        assert r.status == 508, r
        assert c.request("GET", "/again").status == 508
    d = stat_json(s)
    assert d["totals"]["loops"] == 2
    # One pass forwarded each request once, the second pass refused it.
    assert d["totals"]["requests"] == 4
    assert wait_until(lambda: "forwarding loop" in s.log(), 2)
