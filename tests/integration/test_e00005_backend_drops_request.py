"""e00005: a backend that closes every connection on receiving a request, without
answering: the client gets a 502 from the proxy, promptly (no hang, no empty reply)."""

import time


def test_backend_closes_without_answer_502(env):
    a = env.backend("a", drop_after=0)
    s = env.sluice([a], workers=1)

    for method, body in [("GET", None), ("POST", b"x" * 1000)]:
        t0 = time.monotonic()
        with s.conn() as c:
            r = c.request(method, "/echo", body=body)
        assert r.status == 502, (method, r)
        assert (r.header("Content-Type") or "").startswith("text/html"), r
        assert time.monotonic() - t0 < 3
    assert a.stats()["requests"] >= 2
