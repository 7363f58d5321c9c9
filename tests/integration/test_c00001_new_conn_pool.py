"""c00001: 1000 requests, each on a new client connection, reuse pooled backend
connections: the backends accept at most reuse_max * workers * sources."""

from harness import HttpConn

REUSE_MAX, WORKERS, N = 4, 2, 1000


def test_1000_new_client_connections_reuse_backend_pool(env):
    a = env.backend("a")
    b = env.backend("b")
    s = env.sluice([a, b], workers=WORKERS,
                   routes=[{"host": "*", "path": "/", "sources": ["a", "b"],
                            "reuse_max": REUSE_MAX}])

    bad = []
    for i in range(N):
        c = HttpConn(s.port, timeout=3)
        try:
            r = c.request("GET", "/n/%d" % i)
            if r.status != 200 or r.body not in (b"hello from a\n", b"hello from b\n"):
                bad.append((i, r))
        finally:
            c.close()
    assert not bad, "%d failures, first %r" % (len(bad), bad[:3])

    sa, sb = a.stats(), b.stats()
    assert sa["requests"] + sb["requests"] == N, (sa, sb)
    assert sa["accepts"] + sb["accepts"] <= REUSE_MAX * WORKERS * 2, (sa, sb)
