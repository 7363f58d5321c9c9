"""c00005: a backend that closes a reused keep-alive connection on receiving the
next request (before a byte of answer) causes a replay on a fresh connection,
for any method (DESIGN.md, Balancers), never a 502."""

from harness import get_new_conn, sha256_hex


def test_get_replayed(env):
    a = env.backend("a", drop_after=1)
    s = env.sluice([a], workers=1)

    for i in range(10):
        r = get_new_conn(s.port, "/echo?i=%d" % i)
        assert r.status == 200, (i, r)
        assert r.json()["target"] == "/echo?i=%d" % i
    # Drops really happened: more requests reached the backend than were sent.
    assert a.stats()["requests"] > 10, "no drop: the pooled connection was never reused"


def test_post_replayed(env):
    a = env.backend("a", drop_after=1)
    s = env.sluice([a], workers=1)

    for i in range(6):
        body = bytes([i]) * 5000
        with s.conn() as c:
            r = c.request("POST", "/sha256", body=body)
        assert r.status == 200, (i, r)
        assert r.body.decode() == sha256_hex(body)
    assert a.stats()["requests"] > 6, "no drop: the pooled connection was never reused"
