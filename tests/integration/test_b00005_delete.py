"""b00005: DELETE is forwarded; a 204 answer comes back without a body."""

from harness import curl


def test_delete(env):
    b1 = env.backend("b1")
    s = env.sluice([b1])

    r = curl(s.url("/echo?id=7"), "-X", "DELETE")
    assert r.rc == 0, r
    assert r.status == 200, r
    e = r.json()
    assert e["method"] == "DELETE"
    assert e["target"] == "/echo?id=7"
    assert e["body_len"] == 0


def test_delete_204_then_next_request(env):
    b1 = env.backend("b1")
    s = env.sluice([b1])

    with s.conn() as c:
        r = c.request("DELETE", "/status?code=204")
        assert r.status == 204, r
        assert r.body == b""
        r2 = c.request("GET", "/echo?after=204")
        assert r2.status == 200, r2
        assert r2.json()["target"] == "/echo?after=204"
