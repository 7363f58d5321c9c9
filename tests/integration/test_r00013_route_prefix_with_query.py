"""r00013: a `path` prefix is compared against path plus query, so a prefix may
include the start of a query string."""

from harness import get_new_conn

ROUTES = [{"host": "*", "path": "/search?debug", "sources": ["dbg"]},
          {"host": "*", "path": "/search", "sources": ["srch"]},
          {"host": "*", "path": "/", "sources": ["all"]}]


def test_prefix_sees_query(env):
    backends = [env.backend(n) for n in ("dbg", "srch", "all")]
    s = env.sluice(backends, routes=ROUTES)
    for target, want in [("/search?debug=1", "dbg"),
                         ("/search?debug", "dbg"),
                         ("/search?q=x&debug=1", "srch"),
                         ("/search", "srch"),
                         ("/searching", "srch"),
                         ("/x?search", "all")]:
        r = get_new_conn(s.port, target)
        assert r.status == 200, (target, r)
        assert r.header("X-Backend") == want, (target, r.header("X-Backend"))
