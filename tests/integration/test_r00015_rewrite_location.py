"""r00015: response.rewrite_location rewrites the Location header and the URL after
"url=" in Refresh; other headers and non-matching values are passed unchanged."""

from urllib.parse import quote

RULES = {"rewrite_location": [
    {"regex": "^http://app1:9001/(.*)$", "replace": "/$1"},
    {"regex": "^http://app2:9002(/.*)$", "replace": "http://www.example.test/two$1"},
]}
ROUTES = [{"host": "*", "path": "/", "sources": ["b1"], "response": RULES}]


def get(s, **hdrs):
    q = "&".join("%s=%s" % (k, quote(v, safe="")) for k, v in hdrs.items())
    with s.conn() as c:
        r = c.request("GET", "/headers?" + q)
    assert r.status == 200, r
    return r


def test_location_rewritten(env):
    b1 = env.backend("b1")
    s = env.sluice([b1], routes=ROUTES)

    for sent, want in [("http://app1:9001/foo/bar?x=1", "/foo/bar?x=1"),
                       ("http://app1:9001/", "/"),
                       ("http://app2:9002/p?q", "http://www.example.test/two/p?q"),
                       ("http://other:9001/foo", "http://other:9001/foo"),
                       ("/relative/path", "/relative/path")]:
        r = get(s, Location=sent)
        assert r.header_all("Location") == [want], (sent, r.headers)


def test_refresh_url_rewritten(env):
    b1 = env.backend("b1")
    s = env.sluice([b1], routes=ROUTES)

    for sent, want in [("5; url=http://app1:9001/z?a=b", "5; url=/z?a=b"),
                       ("0;url=http://app2:9002/y", "0;url=http://www.example.test/two/y"),
                       ("5; url=http://other/z", "5; url=http://other/z"),
                       ("30", "30")]:
        r = get(s, Refresh=sent)
        assert r.header_all("Refresh") == [want], (sent, r.headers)


def test_refresh_url_case_insensitive(env):
    # The Refresh syntax (HTML "meta refresh") treats "URL=" case-insensitively.
    b1 = env.backend("b1")
    s = env.sluice([b1], routes=ROUTES)
    r = get(s, Refresh="5; URL=http://app1:9001/z")
    assert r.header_all("Refresh") == ["5; URL=/z"], r.headers


def test_other_headers_untouched(env):
    b1 = env.backend("b1")
    s = env.sluice([b1], routes=ROUTES)
    r = get(s, **{"Content-Location": "http://app1:9001/c", "X-Link": "http://app1:9001/l",
                  "Location": "http://app1:9001/l"})
    assert r.header_all("Content-Location") == ["http://app1:9001/c"], r.headers
    assert r.header_all("X-Link") == ["http://app1:9001/l"], r.headers
    assert r.header_all("Location") == ["/l"], r.headers
