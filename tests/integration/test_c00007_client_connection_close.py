"""c00007: "Connection: close" from the client: one response, then the proxy closes."""


def test_client_connection_close(env):
    a = env.backend("a")
    s = env.sluice([a])

    with s.conn() as c:
        r = c.request("GET", "/", headers=[("Connection", "close")])
        assert r.status == 200, r
        assert r.body == b"hello from a\n"
        assert c.closed_by_peer(2.0)
