"""b00009: a chunked response is relayed so that the client reassembles the same bytes."""

from harness import curl, gen_bytes

N = 1000003


def test_chunked_response_curl(env):
    b1 = env.backend("b1")
    s = env.sluice([b1])

    r = curl(s.url("/chunked?n=%d&chunk=4093&seed=ch" % N))
    assert r.rc == 0, r
    assert r.status == 200, r
    assert r.body == gen_bytes(N, "ch")


def test_chunked_response_keepalive(env):
    b1 = env.backend("b1")
    s = env.sluice([b1])

    with s.conn() as c:
        r = c.request("GET", "/chunked?n=5000&chunk=7&seed=small")
        assert r.status == 200, r
        assert r.body == gen_bytes(5000, "small")
        r0 = c.request("GET", "/chunked?n=0")
        assert r0.status == 200, r0
        assert r0.body == b""
        r2 = c.request("GET", "/echo?after=chunked")
        assert r2.status == 200, r2
        assert r2.json()["target"] == "/echo?after=chunked"
