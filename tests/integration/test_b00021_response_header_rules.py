"""b00021: route response rules: header_hide removes backend headers, header_add adds."""

RULES = {"header_add": [{"name": "X-Served-By", "value": "sluice"}],
         "header_hide": ["X-Secret"]}


def test_response_header_add_and_hide(env):
    b1 = env.backend("b1")
    s = env.sluice([b1], routes=[{"host": "*", "path": "/", "sources": ["b1"],
                                  "response": RULES}])

    with s.conn() as c:
        r = c.request("GET", "/headers?X-Secret=s3cr3t&x-secret=two&X-Public=p")
    assert r.status == 200, r
    names = [k.lower() for k, v in r.headers]
    assert "x-secret" not in names, r.headers
    assert r.header("X-Public") == "p"
    assert r.header_all("X-Served-By") == ["sluice"]
    # The request side is untouched by response rules.
    assert "x-served-by" not in [k.lower() for k, v in r.json()["headers"]]
