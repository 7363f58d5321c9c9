"""s00023: sluice-stat lists the routes of the current configuration only, also
after reloads that shrink it: the slots an older generation's routes held in the
same half of the route table are cleared when the new ones are published."""

import os
import signal
import threading

from harness import HttpConn, stat_json, wait_until


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


def test_a_slot_taken_by_another_route_starts_from_zero(env):
    """A route's queue counters follow it across reloads; a different route that
    later gets the same slot of the route table does not inherit them."""
    a = env.backend("a")
    c = HttpConn(a.port, timeout=2)
    assert c.request("GET", "/__mode?delay=2").status == 200
    c.close()
    s = env.sluice([("a", a.address, {"max_conns": 1})], workers=1,
                   routes=[{"host": "*", "path": "/", "sources": ["a"], "queue_timeout": 0.3}],
                   timeouts={"backend_response": 10})
    holder = threading.Thread(target=lambda: HttpConn(s.port, timeout=10).request("GET", "/"))
    holder.start()
    assert wait_until(lambda: a.stats()["conns"] == 1, 5)
    assert HttpConn(s.port, timeout=5).request("GET", "/x").status == 503
    holder.join(10)

    def counts():
        return [(r["path"], r["queue_total"], r["queue_timeouts"])
                for r in stat_json(s)["routes"]]
    assert counts() == [("/", 1, 1)]
    reload_to(env, s, ["/"])                     # the same route, other half: counts follow
    assert counts() == [("/", 1, 1)]
    reload_to(env, s, ["/other"])                # back in the first slot: another route
    assert counts() == [("/other", 0, 0)], counts()
