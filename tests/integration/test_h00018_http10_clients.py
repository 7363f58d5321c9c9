"""h00018: HTTP/1.0 clients: no keep-alive unless asked with "Connection: keep-alive"
(and then the response says "Connection: keep-alive" and several requests share the
connection); a chunked backend response reaches a 1.0 client without chunked framing,
body exact, close-delimited or with a Content-Length. (c00006 covers the basics.)"""

import pytest

from harness import HttpConn, gen_bytes, sha256_hex


def tokens(r, name):
    return [t.strip().lower() for v in r.header_all(name) for t in v.split(",")]


def test_no_keepalive_unless_asked(env):
    a = env.backend("a")
    s = env.sluice([a])
    for extra in ([], [("Connection", "close")]):
        with HttpConn(s.port, timeout=3) as c:
            r = c.request("GET", "/echo", headers=extra, version="HTTP/1.0")
            assert r.status == 200, r
            assert "keep-alive" not in tokens(r, "Connection"), r
            assert r.framing == "close" or c.closed_by_peer(2.0)


def test_keepalive_when_asked(env):
    a = env.backend("a")
    s = env.sluice([a])
    with HttpConn(s.port, timeout=3) as c:
        for i in range(3):
            r = c.request("GET", "/echo?i=%d" % i, headers=[("Connection", "keep-alive")],
                          version="HTTP/1.0")
            assert r.status == 200, (i, r)
            assert "keep-alive" in tokens(r, "Connection"), r
            assert r.framing == "length", r
            assert r.json()["query"] == {"i": str(i)}
        # Without keep-alive asked, the connection ends after this one.
        r = c.request("GET", "/echo", version="HTTP/1.0")
        assert r.status == 200
        assert r.framing == "close" or c.closed_by_peer(2.0)


def test_keepalive_post(env):
    a = env.backend("a")
    s = env.sluice([a])
    with HttpConn(s.port, timeout=3) as c:
        for i in range(2):
            body = gen_bytes(3000 + i, "p10")
            r = c.request("POST", "/sha256", headers=[("Connection", "keep-alive")],
                          body=body, version="HTTP/1.0")
            assert r.status == 200 and r.body.decode() == sha256_hex(body), r


@pytest.mark.parametrize("keepalive", [False, True], ids=["plain", "keepalive"])
def test_chunked_backend_to_http10(env, keepalive):
    a = env.backend("a")
    s = env.sluice([a])
    hs = [("Connection", "keep-alive")] if keepalive else []
    with HttpConn(s.port, timeout=3) as c:
        r = c.request("GET", "/chunked?n=30000&chunk=777&seed=c10", headers=hs,
                      version="HTTP/1.0")
        assert r.status == 200, r
        assert "chunked" not in ",".join(r.header_all("Transfer-Encoding")).lower(), r
        assert r.framing in ("close", "length"), r
        assert r.body == gen_bytes(30000, "c10")
        if r.framing == "close":
            assert "keep-alive" not in tokens(r, "Connection"), r
        elif keepalive:
            # De-chunked with a length: the connection may go on.
            r2 = c.request("GET", "/echo", headers=hs, version="HTTP/1.0")
            assert r2.status == 200, r2
        else:
            assert c.closed_by_peer(2.0)


def test_close_delimited_backend_to_http10_keepalive(env):
    a = env.backend("a")
    s = env.sluice([a])
    with HttpConn(s.port, timeout=3) as c:
        r = c.request("GET", "/close?n=20000&seed=k10", headers=[("Connection", "keep-alive")],
                      version="HTTP/1.0")
        assert r.status == 200, r
        assert r.body == gen_bytes(20000, "k10")
        if r.framing == "length":
            assert c.request("GET", "/echo", headers=[("Connection", "keep-alive")],
                             version="HTTP/1.0").status == 200
        else:
            assert "keep-alive" not in tokens(r, "Connection"), r
