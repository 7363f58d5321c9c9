"""b00010: a response delimited by the backend closing (no Content-Length) arrives whole."""

from harness import curl, gen_bytes

N = 300001


def test_close_delimited_curl(env):
    b1 = env.backend("b1")
    s = env.sluice([b1])

    r = curl(s.url("/close?n=%d&seed=cd" % N))
    assert r.rc == 0, r
    assert r.status == 200, r
    assert r.body == gen_bytes(N, "cd")


def test_close_delimited_raw_then_backend_still_usable(env):
    b1 = env.backend("b1")
    s = env.sluice([b1])

    c = s.conn()
    try:
        r = c.request("GET", "/close?n=%d&seed=raw" % N)
        assert r.status == 200, r
        assert r.body == gen_bytes(N, "raw")
        if r.framing != "close":
            # Re-framed for the client (chunked): the connection must still work.
            r2 = c.request("GET", "/echo?after=close")
            assert r2.json()["target"] == "/echo?after=close"
    finally:
        c.close()
    # The backend connection that carried the close-delimited body is not reused.
    for i in range(3):
        r = s.get("/echo?i=%d" % i)
        assert r.status == 200, r
        assert r.json()["target"] == "/echo?i=%d" % i
