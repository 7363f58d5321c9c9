"""r00004: response header_hide X-Foo plus header_add X-Foo: mine -> the client sees
exactly one X-Foo, with sluice's value, whether or not the backend sent any."""

ROUTES = [{"host": "*", "path": "/", "sources": ["b1"],
           "response": {"header_hide": ["X-Foo"],
                        "header_add": [{"name": "X-Foo", "value": "mine"}]}}]


def test_hide_then_add_same_name(env):
    b1 = env.backend("b1")
    s = env.sluice([b1], routes=ROUTES)

    with s.conn() as c:
        for target in ("/headers?X-Foo=theirs",
                       "/headers?X-Foo=one&x-foo=two&X-FOO=three",
                       "/headers?X-Bar=b",
                       "/echo"):
            r = c.request("GET", target)
            assert r.status == 200, (target, r)
            foo = [(k, v) for k, v in r.headers if k.lower() == "x-foo"]
            assert [v for k, v in foo] == ["mine"], (target, r.headers)


def test_add_alone_replaces_backend_header(env):
    # header_add without header_hide also replaces (README: "replaces the backend's
    # header of the same name").
    b1 = env.backend("b1")
    s = env.sluice([b1], routes=[{"host": "*", "path": "/", "sources": ["b1"],
                                  "response": {"header_add": [{"name": "X-Foo",
                                                               "value": "mine"}]}}])
    with s.conn() as c:
        r = c.request("GET", "/headers?x-foo=theirs&X-Foo=again")
    assert r.status == 200, r
    assert [v for k, v in r.headers if k.lower() == "x-foo"] == ["mine"], r.headers
