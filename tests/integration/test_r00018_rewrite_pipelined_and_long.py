"""r00018: rewritten targets are built per request: pipelined requests that are
rewritten (some longer, some shorter than sent) each reach the backend intact,
with their header rules applied, and a rewrite may make a long target longer."""

ROUTES = [{"host": "*", "path": "/", "sources": ["b1"],
           "request": {"rewrite": [
               {"regex": "^/grow/(.*)$", "replace": "/grown/$1/$1/$1"},
               {"regex": "^/shrink/[^?]*(\\?.*)?$", "replace": "/s$1"}],
               "header_add": [{"name": "X-Added", "value": "yes"}],
               "header_hide": ["X-Internal"]}}]


def test_pipelined_rewrites(env):
    b1 = env.backend("b1")
    s = env.sluice([b1], routes=ROUTES)

    sent = [("/grow/abc?x=1", "/grown/abc?x=1/abc?x=1/abc?x=1"),
            ("/shrink/" + "z" * 500 + "?k=v", "/s?k=v"),
            ("/plain?p=1", "/plain?p=1"),
            ("/grow/" + "q" * 300, "/grown/" + "/".join(["q" * 300] * 3)),
            ("/shrink/a", "/s")]
    with s.conn() as c:
        data = b"".join(c.build("GET", t, [("X-Echo-Any", "1"), ("X-Internal", "i"),
                                           ("X-Seq", str(i))],
                                host="127.0.0.1:%d" % s.port)
                        for i, (t, _) in enumerate(sent))
        c.send(data)
        for i, (t, want) in enumerate(sent):
            r = c.read_response()
            assert r.status == 200, (t, r)
            e = r.json()
            assert e["target"] == want, (t, e["target"][:200])
            h = {k.lower(): v for k, v in e["headers"]}
            assert h.get("x-seq") == str(i), e["headers"]
            assert h.get("x-added") == "yes", e["headers"]
            assert "x-internal" not in h, e["headers"]


def test_long_target_grows(env):
    # 2000 bytes in, ~6000 out: within the default max_request_line (8192).
    b1 = env.backend("b1")
    s = env.sluice([b1], routes=ROUTES)
    seg = "".join("abcdefghij"[i % 10] for i in range(2000))
    with s.conn() as c:
        r = c.request("GET", "/grow/" + seg, headers=[("X-Echo-Any", "1")])
        assert r.status == 200, r
        assert r.json()["target"] == "/grown/%s/%s/%s" % (seg, seg, seg)
        # and the connection keeps working after it
        r = c.request("GET", "/shrink/x?y=1", headers=[("X-Echo-Any", "1")])
        assert r.status == 200, r
        assert r.json()["target"] == "/s?y=1"


def test_rewrite_result_far_too_long_500(env):
    # 8000 bytes in, ~72000 out: refused with 500 (not truncated, no crash); the
    # worker goes on serving.
    b1 = env.backend("b1")
    s = env.sluice([b1], routes=[{"host": "*", "path": "/", "sources": ["b1"],
                                  "request": {"rewrite": [
                                      {"regex": "^/grow/(.*)$",
                                       "replace": "/g/$1$1$1$1$1$1$1$1$1"}]}}])
    with s.conn() as c:
        r = c.request("GET", "/grow/" + "a" * 8000, headers=[("X-Echo-Any", "1")])
    assert r.status == 500, r
    assert b1.stats()["requests"] == 0
    with s.conn() as c:
        r = c.request("GET", "/grow/ab", headers=[("X-Echo-Any", "1")])
    assert r.status == 200, r
    assert r.json()["target"] == "/g/" + "ab" * 9
