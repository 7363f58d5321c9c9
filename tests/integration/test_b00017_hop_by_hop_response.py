"""b00017: hop-by-hop response headers from the backend never reach the client."""


def test_response_hop_by_hop_stripped(env):
    b1 = env.backend("b1")
    s = env.sluice([b1])

    with s.conn() as c:
        r = c.request("GET", "/headers?Connection=X-Resp-Hop&X-Resp-Hop=1"
                             "&Keep-Alive=timeout%3D30&X-Public=p")
        assert r.status == 200, r
        names = [k.lower() for k, v in r.headers]
        assert "x-resp-hop" not in names, r.headers
        assert "keep-alive" not in names, r.headers
        for v in r.header_all("Connection"):
            assert "x-resp-hop" not in v.lower(), r.headers
        assert r.header("X-Public") == "p"
        # The client connection is still usable afterwards.
        r2 = c.request("GET", "/echo?after=hop")
        assert r2.json()["target"] == "/echo?after=hop"
