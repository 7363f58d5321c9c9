"""c00006: an HTTP/1.0 client is served; sluice still speaks HTTP/1.1 to the source."""

from harness import gen_bytes


def test_http10_get(env):
    a = env.backend("a")
    s = env.sluice([a])

    with s.conn() as c:
        r = c.request("GET", "/echo", version="HTTP/1.0")
        assert r.status == 200, r
        assert r.json()["version"] == "HTTP/1.1"
        # No keep-alive asked for: the proxy closes after the response.
        assert c.closed_by_peer(2.0)


def test_http10_client_never_gets_chunked(env):
    a = env.backend("a")
    s = env.sluice([a])

    with s.conn() as c:
        c.send(b"GET /chunked?n=20000&chunk=1000&seed=h10 HTTP/1.0\r\n\r\n")
        r = c.read_response()
        assert r.status == 200, r
        assert "chunked" not in ",".join(r.header_all("Transfer-Encoding")).lower(), r
        assert r.body == gen_bytes(20000, "h10")
