"""r00006: rewrite substitution: $0-$9 are captures, $$ is a dollar, an unmatched
capture is empty, and the first matching rule (in order) wins."""

REWRITE = [
    # $2 before $1, a literal dollar, the optional query group $3.
    {"regex": "^/p/([a-z]+)/([0-9]+)(\\?.*)?$", "replace": "/q/$2/$1/$$price$3"},
    # $0 is the whole match.
    {"regex": "^/whole/.*$", "replace": "/w$0"},
    # Never reached for /whole/...: the rule above matches first.
    {"regex": "^/whole/(.*)$", "replace": "/second/$1"},
    # $$1 is a dollar followed by "1", not capture 1.
    {"regex": "^/d/(.*)$", "replace": "/d2/$$1-$1"},
    # Captures past the ninth/unmatched are empty.
    {"regex": "^/opt/(a)?(b)?$", "replace": "/o/x$1.y$2.z$9"},
]
ROUTES = [{"host": "*", "path": "/", "sources": ["b1"], "request": {"rewrite": REWRITE}}]


def test_captures_and_dollar(env):
    b1 = env.backend("b1")
    s = env.sluice([b1], routes=ROUTES)

    with s.conn() as c:
        for sent, want in [("/p/abc/42", "/q/42/abc/$price"),
                           ("/p/abc/42?x=1", "/q/42/abc/$price?x=1"),
                           ("/whole/z?k=v", "/w/whole/z?k=v"),
                           ("/d/x", "/d2/$1-x"),
                           ("/opt/a", "/o/xa.y.z"),
                           ("/opt/b", "/o/x.yb.z"),
                           ("/opt/ab", "/o/xa.yb.z"),
                           ("/p/ABC/42", "/p/ABC/42")]:
            r = c.request("GET", sent, headers=[("X-Echo-Any", "1")])
            assert r.status == 200, (sent, r)
            assert r.json()["target"] == want, (sent, r.json()["target"])
