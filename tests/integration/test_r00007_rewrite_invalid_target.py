"""r00007: a rewrite whose result is not an origin-form target -> 500 from sluice,
nothing reaches the backend, and the error log names the rule's FILE:LINE:
'rewrite rule at FILE:LINE turned "TARGET" into an invalid target'."""

from harness import Raw, wait_until

# Each rule on one line, so the line of the rule is unambiguous.
REWRITE = Raw('(\n'
              '  { regex = "^/bad/(.*)$"; replace = "bad$1"; },\n'
              '  { regex = "^/e(/.*)?$"; replace = "$1"; },\n'
              '  { regex = "^/abs/(.*)$"; replace = "http://elsewhere/$1"; }\n'
              ')')
ROUTES = [{"host": "*", "path": "/", "sources": ["b1"], "request": {"rewrite": REWRITE}}]


def line_of(text, needle):
    for i, ln in enumerate(text.splitlines(), 1):
        if needle in ln:
            return i
    raise AssertionError("%r not in config" % needle)


def test_invalid_rewrite_result_500_and_logged(env):
    b1 = env.backend("b1")
    s = env.sluice([b1], routes=ROUTES)
    conf = s.conf_path.read_text()

    cases = [("/bad/x?q=1", '"^/bad/'),      # no leading slash
             ("/e", '"^/e('),                 # empty result ($1 unmatched)
             ("/abs/y", '"^/abs/')]           # absolute-form is not origin-form
    for target, rule in cases:
        with s.conn() as c:
            r = c.request("GET", target, headers=[("X-Echo-Any", "1")])
        assert r.status == 500, (target, r)
        assert r.header("X-Backend") is None, (target, r)
        want = 'rewrite rule at %s:%d turned "%s" into an invalid target' % (
            s.conf_path, line_of(conf, rule), target)
        ok = wait_until(lambda: want in s.log(), 2)
        assert ok, "missing log line %r in:\n%s" % (want, s.log())

    assert b1.stats()["requests"] == 0

    # A valid result through the same rule set still works.
    with s.conn() as c:
        r = c.request("GET", "/e/fine?z=1", headers=[("X-Echo-Any", "1")])
    assert r.status == 200, r
    assert r.json()["target"] == "/fine?z=1"


def test_connection_usable_after_500(env):
    b1 = env.backend("b1")
    s = env.sluice([b1], routes=ROUTES)
    with s.conn() as c:
        r = c.request("GET", "/bad/x")
        assert r.status == 500, r
        if not c.closed_by_peer(0.3):
            r = c.request("GET", "/echo")
            assert r.status == 200, r
            assert r.json()["target"] == "/echo"
