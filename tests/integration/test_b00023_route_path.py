"""b00023: routes are chosen by path prefix."""

from harness import get_new_conn

ROUTES = [{"host": "*", "path": "/api/", "sources": ["a"]},
          {"host": "*", "path": "/", "sources": ["b"]}]


def test_route_by_path_prefix(env):
    a = env.backend("a")
    b = env.backend("b")
    s = env.sluice([a, b], routes=ROUTES)
    for target, want in [("/api/users", "a"), ("/", "b"), ("/apix", "b"),
                         ("/api/", "a"), ("/static/x.css", "b")]:
        r = get_new_conn(s.port, target)
        assert r.status == 200, r
        assert r.header("X-Backend") == want, (target, r)
