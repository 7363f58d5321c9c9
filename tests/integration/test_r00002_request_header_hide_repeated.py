"""r00002: request.header_hide removes every occurrence of a header, whatever the
case of each occurrence, and leaves the other headers in their order."""

ROUTES = [{"host": "*", "path": "/", "sources": ["b1"],
           "request": {"header_hide": ["X-Internal", "cookie"]}}]


def test_repeated_mixed_case_header_hidden_entirely(env):
    b1 = env.backend("b1")
    s = env.sluice([b1], routes=ROUTES)

    with s.conn() as c:
        r = c.request("GET", "/echo", headers=[("X-Internal", "1"),
                                               ("X-A", "a"),
                                               ("x-internal", "2"),
                                               ("Cookie", "sid=1"),
                                               ("X-B", "b"),
                                               ("X-INTERNAL", "3"),
                                               ("COOKIE", "sid=2"),
                                               ("x-InTeRnAl", "4"),
                                               ("X-C", "c"),
                                               ("X-Internal-Keep", "kept")])
    assert r.status == 200, r
    h = r.json()["headers"]
    names = [k.lower() for k, v in h]
    assert "x-internal" not in names, h
    assert "cookie" not in names, h
    # The others are untouched and keep their relative order.
    mine = [(k, v) for k, v in h if k.lower() in ("x-a", "x-b", "x-c", "x-internal-keep")]
    assert mine == [("X-A", "a"), ("X-B", "b"), ("X-C", "c"), ("X-Internal-Keep", "kept")], h


def test_hidden_header_absent_alone(env):
    # The only header besides Host: nothing of it must leak (no empty line, no stray value).
    b1 = env.backend("b1")
    s = env.sluice([b1], routes=ROUTES)

    with s.conn() as c:
        r = c.request("GET", "/echo", headers=[("x-internal", "only")])
        assert r.status == 200, r
        h = r.json()["headers"]
        assert "x-internal" not in [k.lower() for k, v in h], h
        assert "only" not in [v for k, v in h], h
        # The connection stays usable.
        r = c.request("GET", "/echo", headers=[("X-Internal", "again")])
        assert r.status == 200, r
        assert "x-internal" not in [k.lower() for k, v in r.json()["headers"]]
