"""r00012: a path_regex route and a prefix route that both match: the first in the
config wins. path_regex is matched against the path without the query."""

from harness import get_new_conn

REGEX = {"host": "*", "path_regex": "^/img/.*\\.(png|jpg)$", "sources": ["img"]}
PREFIX = {"host": "*", "path": "/img/", "sources": ["pre"]}
ALL = {"host": "*", "path": "/", "sources": ["all"]}


def start(env, routes):
    backends = [env.backend(n) for n in ("img", "pre", "all")]
    return env.sluice(backends, routes=routes)


def check(s, cases):
    for target, want in cases:
        r = get_new_conn(s.port, target)
        assert r.status == 200, (target, r)
        assert r.header("X-Backend") == want, (target, r.header("X-Backend"))


def test_regex_before_prefix(env):
    s = start(env, [REGEX, PREFIX, ALL])
    check(s, [("/img/a.png", "img"),
              ("/img/dir/b.jpg", "img"),
              ("/img/a.png?v=2", "img"),        # the query is not part of the regex subject
              ("/img/a.jpg?x=.gif", "img"),
              ("/img/a.gif", "pre"),
              ("/img/a.png.txt", "pre"),
              ("/img/", "pre"),
              ("/img/a.gif?f=.png", "pre"),      # ".png" only in the query: no regex match
              ("/imgs/a.png", "all"),
              ("/x/img/a.png", "all")])


def test_prefix_before_regex(env):
    # Same routes, the prefix first: it shadows the regex route for /img/.
    s = start(env, [PREFIX, REGEX, ALL])
    check(s, [("/img/a.png", "pre"),
              ("/img/a.gif", "pre"),
              ("/other.png", "all")])


def test_regex_only_route_elsewhere(env):
    # A regex route after a catch-all is never reached.
    s = start(env, [ALL, REGEX])
    check(s, [("/img/a.png", "all")])
