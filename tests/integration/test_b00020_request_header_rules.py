"""b00020: route request rules: header_add adds, header_hide removes (any case)."""

RULES = {"header_add": [{"name": "X-Added", "value": "yes"}],
         "header_hide": ["X-Internal"]}


def test_request_header_add_and_hide(env):
    b1 = env.backend("b1")
    s = env.sluice([b1], routes=[{"host": "*", "path": "/", "sources": ["b1"],
                                  "request": RULES}])

    with s.conn() as c:
        r = c.request("GET", "/echo", headers=[("X-Internal", "secret"),
                                               ("x-INTERNAL", "secret2"),
                                               ("X-Other", "1")])
    assert r.status == 200, r
    h = r.json()["headers"]
    names = [k.lower() for k, v in h]
    assert "x-internal" not in names, h
    assert [v for k, v in h if k.lower() == "x-added"] == ["yes"]
    assert [v for k, v in h if k.lower() == "x-other"] == ["1"]
