"""r00001: request.header_add sets the header at the backend, replacing every
header of the same name (any case) that the client sent."""

ROUTES = [{"host": "*", "path": "/", "sources": ["b1"],
           "request": {"header_add": [{"name": "X-Added", "value": "yes"},
                                      {"name": "X-Second", "value": "two words, and a comma"}]}}]


def values(echo, name):
    return [v for k, v in echo["headers"] if k.lower() == name.lower()]


def test_header_add_present_at_backend(env):
    b1 = env.backend("b1")
    s = env.sluice([b1], routes=ROUTES)

    with s.conn() as c:
        r = c.request("GET", "/echo", headers=[("X-Other", "1")])
        assert r.status == 200, r
        e = r.json()
        assert values(e, "X-Added") == ["yes"], e["headers"]
        assert values(e, "X-Second") == ["two words, and a comma"], e["headers"]
        assert values(e, "X-Other") == ["1"], e["headers"]
        # Again on the same (keep-alive) client connection: added once, not twice.
        r = c.request("GET", "/echo")
        assert r.status == 200, r
        assert values(r.json(), "X-Added") == ["yes"], r.json()["headers"]


def test_header_add_replaces_client_header(env):
    b1 = env.backend("b1")
    s = env.sluice([b1], routes=ROUTES)

    with s.conn() as c:
        r = c.request("GET", "/echo", headers=[("X-Added", "from-client"),
                                               ("X-Other", "1"),
                                               ("x-ADDED", "again"),
                                               ("X-Added-Not", "kept")])
    assert r.status == 200, r
    e = r.json()
    assert values(e, "X-Added") == ["yes"], e["headers"]
    # A longer name that merely starts with the same letters is another header.
    assert values(e, "X-Added-Not") == ["kept"], e["headers"]
    assert values(e, "X-Other") == ["1"], e["headers"]
