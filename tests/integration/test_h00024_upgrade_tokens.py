"""h00024: only the Upgrade protocols a route allows are forwarded (route key
`upgrade`, default [ "websocket" ]). "Upgrade: h2c" (h2c smuggling) is removed, with
Connection: upgrade and the HTTP2-Settings it names, and the request is served as plain
HTTP/1.1 through the route's rules; a backend that still answers 101 to it is a
malformed response (502), never a tunnel. From a list, only the allowed token goes
on. upgrade = [] turns WebSocket off too; another allowed protocol is tunnelled."""

import rawbackend
from harness import HttpConn

H2C = [("Connection", "Upgrade, HTTP2-Settings"), ("Upgrade", "h2c"),
       ("HTTP2-Settings", "AAMAAABkAARAAAAAAAIAAAAA")]


def upgrading(c, req):
    """101 to whatever Upgrade the request carries, else a plain 200."""
    up = req.get("Upgrade")
    if up:
        c.send(b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: %s\r\n\r\n"
               % up.encode())
        c.echo()
        return None
    return rawbackend.response(200, body=b"plain")


def routes(**kw):
    r = {"path": "/", "sources": ["raw"],
         "request": {"header_add": [{"name": "X-Rule", "value": "applied"}]}}
    r.update(kw)
    return [r]


def test_h2c_is_not_tunnelled(env):
    rb = rawbackend.start(env, "raw", responder=upgrading)
    s = env.sluice([rb.source], routes=routes(), workers=1)
    with HttpConn(s.port, timeout=3) as c:
        r = c.request("GET", "/x", headers=H2C)
        assert r.status == 200 and r.body == b"plain", r
        assert c.request("GET", "/y").body == b"plain"
    req = rb.requests[0]
    assert req.get("Upgrade") is None, req.raw
    assert req.get("HTTP2-Settings") is None, req.raw
    assert "upgrade" not in (req.get("Connection") or "").lower(), req.raw
    assert req.get("X-Rule") == "applied"
    assert req.get("X-Forwarded-For") == "127.0.0.1"


def test_101_to_a_dropped_upgrade_is_502(env):
    def always_101(c, req):
        c.send(b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n")
        c.echo()

    rb = rawbackend.start(env, "raw", responder=always_101)
    s = env.sluice([rb.source], routes=routes(), workers=1)
    with HttpConn(s.port, timeout=3) as c:
        r = c.request("GET", "/x", headers=H2C)
        assert r.status == 502, r


def test_only_allowed_token_of_a_list(env):
    rb = rawbackend.start(env, "raw", responder=upgrading)
    s = env.sluice([rb.source], routes=routes(), workers=1)
    with HttpConn(s.port, timeout=3) as c:
        c.send(HttpConn.build("GET", "/ws", [("Connection", "Upgrade"),
                                             ("Upgrade", "h2c, WebSocket")], host="x"))
        line = c.readline()
        assert line.startswith(b"HTTP/1.1 101"), line
    assert rb.requests[0].get_all("Upgrade") == ["WebSocket"], rb.requests[0].raw


def test_upgrade_off_and_custom_protocol(env):
    rb = rawbackend.start(env, "raw", responder=upgrading)
    s = env.sluice([rb.source], workers=1,
                   routes=[{"path": "/off/", "sources": ["raw"], "upgrade": []},
                           {"path": "/", "sources": ["raw"], "upgrade": ["example-proto"]}])
    with HttpConn(s.port, timeout=3) as c:
        r = c.request("GET", "/off/ws", headers=[("Connection", "Upgrade"),
                                                 ("Upgrade", "websocket")])
        assert r.status == 200 and r.body == b"plain", r
    assert rb.requests[0].get("Upgrade") is None
    with HttpConn(s.port, timeout=3) as c:
        c.send(HttpConn.build("GET", "/p", [("Connection", "Upgrade"),
                                            ("Upgrade", "example-proto/2")], host="x"))
        line = c.readline()
        assert line.startswith(b"HTTP/1.1 101"), line
        while c.readline() not in (b"\r\n", b"\n"):
            pass
        c.send(b"ping")
        c.sock.settimeout(3)
        assert c.sock.recv(4) == b"ping"
    assert rb.requests[1].get("Upgrade") == "example-proto/2"
