"""h00030: routes match the normalized path (RFC 3986 6.2.2: unreserved escapes
decoded, other escapes' hex uppercased, dot segments removed, also when their dots
are escaped, runs of slashes merged), so "/public/../admin/x", "/%61dmin/x" and
"//admin/x" cannot slip past an /admin/ route and its rules. The backend still
receives the target exactly as sent. An escaped "/" (%2F), an escaped NUL (%00)
or a malformed escape in the path is 400 and reaches no backend; the query is
neither normalized nor checked, and prefixes still see it."""

import rawbackend
from harness import exchange, get_new_conn

ROUTES = [
    {"host": "*", "path_regex": "^/img/[a-z]+\\.png$", "sources": ["img"]},
    {"host": "*", "path": "/search?debug", "sources": ["dbg"]},
    {"host": "*", "path": "/admin/", "sources": ["admin"],
     "request": {"header_add": [{"name": "X-Admin-Rule", "value": "applied"}]}},
    {"host": "*", "path": "/", "sources": ["public"]},
]
NAMES = ("img", "dbg", "admin", "public")


def responder(name):
    def answer(c, req):
        return rawbackend.response(headers=[
            ("X-Backend", name),
            ("X-Seen-Target", req.target),
            ("X-Seen-Rule", req.get("X-Admin-Rule") or "-")])
    return answer


def start(env):
    rbs = {n: rawbackend.start(env, n, responder=responder(n)) for n in NAMES}
    s = env.sluice([rb.source for rb in rbs.values()], routes=ROUTES)
    return s, rbs


def check(s, cases):
    """Each target reaches the wanted backend, unchanged, with the admin rule
    applied exactly when it went to the admin route."""
    for target, want in cases:
        r = get_new_conn(s.port, target)
        assert r.status == 200, (target, r)
        assert r.header("X-Backend") == want, (target, r.header("X-Backend"))
        assert r.header("X-Seen-Target") == target, (target, r.header("X-Seen-Target"))
        rule = "applied" if want == "admin" else "-"
        assert r.header("X-Seen-Rule") == rule, (target, r.header("X-Seen-Rule"))


def test_bypass_variants_reach_admin(env):
    s, rbs = start(env)
    check(s, [("/admin/x", "admin"),
              ("/public/../admin/x", "admin"),
              ("/%61dmin/x", "admin"),
              ("/%61%64%6D%69%6e/x", "admin"),
              ("//admin/x", "admin"),
              ("///admin//x", "admin"),
              ("/./admin/x", "admin"),
              ("/%2e/admin/x", "admin"),
              ("/%2e%2e/admin/x", "admin"),
              ("/%2E%2E/admin/x", "admin"),
              ("/public/%2e%2E/admin/x", "admin"),
              ("/public/.%2e/admin/x", "admin"),
              ("/public/./../admin/x", "admin"),
              ("/a/b/../../../admin/x", "admin"),
              ("/public/..//admin/x", "admin"),
              ("/public/..", "public"),
              ("/admin", "public"),             # the prefix is "/admin/", with its slash
              ("/adminx/y", "public"),
              ("/admin/%2e%2e/public/x", "public"),   # normalizes out of /admin/
              ("/public/x", "public")])
    assert len(rbs["admin"].requests) == 15, rbs["admin"].targets()


REJECTED = ["/admin%2Fx",
            "/admin%2fx",
            "/public/..%2Fadmin/x",
            "/a%00b",
            "/a%zz",
            "/a%4",
            "/a%",
            "/a%g1?x=1"]


def test_rejected_with_400(env):
    s, rbs = start(env)
    for target in REJECTED:
        req = ("GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % target).encode()
        r, _closed, err = exchange(s.port, req)
        assert r is not None, (target, err)
        assert r.status == 400, (target, r)
        assert all(rb.received_total() == 0 for rb in rbs.values()), \
            (target, {n: rb.targets() for n, rb in rbs.items()})
    # A clean request still goes through afterwards.
    assert get_new_conn(s.port, "/admin/ok").header("X-Backend") == "admin"


def test_path_regex_sees_normalized_path(env):
    s, _rbs = start(env)
    check(s, [("/img/a.png", "img"),
              ("/x/../img/a.png", "img"),
              ("/img/%61.png", "img"),
              ("/img/a%2epng", "img"),
              ("//img//a.png", "img"),
              ("/img/./a.png?v=1", "img"),      # the query is not in the regex subject
              ("/img/a.png/.", "public"),       # "/img/a.png/": no longer ends in .png
              ("/img/a.gif", "public")])


def test_queries_route_as_before(env):
    s, _rbs = start(env)
    check(s, [("/search?debug=1", "dbg"),
              ("/./search?debug=1", "dbg"),     # normalized path, then the query as is
              ("//search?debug", "dbg"),
              ("/search?q=x&debug=1", "public"),
              ("/x?/admin/", "public"),         # "/admin/" only in the query
              ("/x?/../admin/", "public"),
              ("/admin/x?a=%zz&b=%2F&c=%00", "admin"),   # the query is never checked
              ("/admin/x?/../..", "admin")])
