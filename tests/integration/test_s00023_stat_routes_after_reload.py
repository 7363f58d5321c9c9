"""s00023: sluice-stat lists the routes of the current configuration only, also
after reloads that shrink it: the slots an older generation's routes held in the
same half of the route table are cleared when the new ones are published."""

import os
import signal

from harness import stat_json, wait_until


def routes_conf(env, s, paths):
    text = s.conf_path.read_text()
    head = text[:text.index("routes = ")]
    body = ", ".join('{ host = "*"; path = "%s"; sources = [ "a" ]; }' % p for p in paths)
    s.conf_path.write_text(head + "routes = ( %s );\n" % body)


def reload_to(env, s, paths):
    gen = stat_json(s).get("conf_gen")
    routes_conf(env, s, paths)
    os.kill(s.pid, signal.SIGHUP)
    assert wait_until(lambda: [r["path"] for r in stat_json(s)["routes"]] == paths, 10), \
        (gen, stat_json(s)["routes"])


def test_shrinking_reloads(env):
    a = env.backend("a")
    s = env.sluice([a], workers=1, routes=[
        {"host": "*", "path": p, "sources": ["a"]} for p in ("/x", "/y", "/")])
    assert [r["path"] for r in stat_json(s)["routes"]] == ["/x", "/y", "/"]
    reload_to(env, s, ["/p", "/q", "/"])         # the other half of the table
    reload_to(env, s, ["/"])                     # back in the first half: one route left
    reload_to(env, s, ["/only"])                 # the other half again, shrunk too
    assert len(stat_json(s)["routes"]) == 1
    assert s.get("/only/x").status == 200
