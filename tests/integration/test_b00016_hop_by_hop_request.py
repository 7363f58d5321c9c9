"""b00016: hop-by-hop request headers from the client never reach the backend."""

HOP = {"x-hop", "keep-alive", "te", "proxy-connection", "trailer"}


def test_request_hop_by_hop_stripped(env):
    b1 = env.backend("b1")
    s = env.sluice([b1])

    with s.conn() as c:
        r = c.request("GET", "/echo", headers=[
            ("Connection", "keep-alive, X-Hop"),
            ("X-Hop", "bar"),
            ("Keep-Alive", "timeout=300"),
            ("TE", "trailers"),
            ("Proxy-Connection", "keep-alive"),
            ("X-Keep", "1"),
        ])
    assert r.status == 200, r
    e = r.json()
    names = [k.lower() for k, v in e["headers"]]
    assert not HOP & set(names), e["headers"]
    for k, v in e["headers"]:
        if k.lower() == "connection":
            assert "x-hop" not in v.lower(), e["headers"]
    assert ["X-Keep", "1"] in e["headers"]


def test_connection_named_header_any_case(env):
    b1 = env.backend("b1")
    s = env.sluice([b1])

    with s.conn() as c:
        r = c.request("GET", "/echo", headers=[("connection", "FOO"), ("foo", "bar"),
                                               ("X-Keep", "2")])
    assert r.status == 200, r
    names = [k.lower() for k, v in r.json()["headers"]]
    assert "foo" not in names
    assert "x-keep" in names
