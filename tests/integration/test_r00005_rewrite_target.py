"""r00005: request.rewrite: /old/x?q=1 reaches the backend as /new/x?q=1
(rule ^/old/(.*)$ -> /new/$1; the regex sees path plus query); other targets
are passed unchanged."""

from harness import curl

ROUTES = [{"host": "*", "path": "/", "sources": ["b1"],
           "request": {"rewrite": [{"regex": "^/old/(.*)$", "replace": "/new/$1"}]}}]
ECHO = [("X-Echo-Any", "1")]


def test_rewrite_old_to_new(env):
    b1 = env.backend("b1")
    s = env.sluice([b1], routes=ROUTES)

    with s.conn() as c:
        for sent, want in [("/old/x?q=1", "/new/x?q=1"),
                           ("/old/x", "/new/x"),
                           ("/old/", "/new/"),
                           ("/old/a/b/c?x=1&y=%20z", "/new/a/b/c?x=1&y=%20z"),
                           ("/older/x", "/older/x"),
                           ("/x/old/y", "/x/old/y"),
                           ("/old?q=1", "/old?q=1")]:
            r = c.request("GET", sent, headers=ECHO)
            assert r.status == 200, (sent, r)
            assert r.json()["target"] == want, (sent, r.json())


def test_rewrite_with_curl_and_body(env):
    b1 = env.backend("b1")
    s = env.sluice([b1], routes=ROUTES)

    r = curl(s.url("/old/x?q=1"), "-H", "X-Echo-Any: 1", "--data-binary", "hello")
    assert r.status == 200, r
    e = r.json()
    assert e["target"] == "/new/x?q=1", e
    assert e["method"] == "POST" and e["body_len"] == 5, e
