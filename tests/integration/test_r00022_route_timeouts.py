"""r00022: routes[].timeouts override the global backend timeouts for that route
only: a route with backend_response = 0.5 answers 504 after about 0.5 s where the
global 3 s lets the same slow source answer on another route; a route's
backend_idle keeps its pooled connections that long. Keys that are not per route
are config errors."""

import time

from harness import HttpConn, run_sluice

# "/fast/slow?x" reaches the backend as "/slow?x".
STRIP = {"rewrite": [{"regex": "^/[a-z]+(/.*)$", "replace": "$1"}]}


def test_route_backend_response(env):
    a = env.backend("a")
    s = env.sluice([a], workers=1, timeouts={"backend_response": 3}, routes=[
        {"host": "*", "path": "/fast", "sources": ["a"],
         "timeouts": {"backend_response": 0.5}, "request": STRIP},
        {"host": "*", "path": "/", "sources": ["a"]}])
    t0 = time.monotonic()
    r = s.get("/fast/slow?delay=1.5", timeout=5)
    took = time.monotonic() - t0
    assert r.status == 504, r
    assert 0.4 <= took < 1.4, took
    t0 = time.monotonic()
    r = s.get("/slow?delay=1", timeout=5)
    assert r.status == 200 and time.monotonic() - t0 >= 0.9, r


def test_route_backend_idle(env):
    a = env.backend("a")
    s = env.sluice([a], workers=1, timeouts={"backend_idle": 30}, routes=[
        {"host": "*", "path": "/short", "sources": ["a"], "timeouts": {"backend_idle": 0.5},
         "request": STRIP},
        {"host": "*", "path": "/long", "sources": ["a"], "request": STRIP}])
    assert s.get("/short/echo").status == 200
    assert s.get("/long/echo").status == 200
    time.sleep(1.5)
    # The /short pool closed its idle connection; the other keeps its own.
    st = a.stats()
    assert st["open"] == 2, st                    # /long's pooled one + this query
    c = HttpConn(s.port)
    r = c.request("GET", "/long/echo")
    assert r.json()["conn_request"] == 2           # reused
    r = c.request("GET", "/short/echo")
    assert r.json()["conn_request"] == 1           # a new one
    c.close()


def test_not_per_route(env):
    a = env.backend("a")
    s = env.sluice([a], start=False, routes=[
        {"host": "*", "path": "/", "sources": ["a"], "timeouts": {"client_header": 1}}])
    rc, out = run_sluice(["-t", "-c", str(s.conf_path)])
    assert rc != 0 and 'unknown key "client_header" in routes[0].timeouts' in out, out
