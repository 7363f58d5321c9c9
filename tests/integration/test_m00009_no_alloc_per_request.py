"""m00009: no heap allocation per request in steady state. The worker runs
with a preloaded malloc counter; after a warm-up, 10x more requests (new
connections and keep-alive ones) must not raise its allocation count.

Besides plain GET and POST, each feature on the request path is measured on
its own (so an allocation shows under the feature's name): chunked request
and response bodies, a URL rewrite (oniguruma), header add/hide rules on both
sides, the access log, and a retry (a source that refuses, max_fails = 0, so
every other request is retried on the good source). The other two regex
users ride along: a path_regex route and response.rewrite_location."""

import hashlib
import os

import pytest

from harness import HttpConn, free_port, gen_bytes, stat_json, source_stat, wait_until

TOOLS = os.environ.get("SLUICE_TOOLS", "")
SHIM = os.path.join(TOOLS, "malloc_count.so")
SANITIZED = os.environ.get("SLUICE_SANITIZED") == "1"
SMALL, LARGE = 50, 500
SLACK = 5                       # start-up differences between two runs


def worker_allocs(env, requests):
    a = env.backend("a")
    b = env.backend("b")
    outdir = env.dir / ("mc%d" % requests)
    outdir.mkdir()
    s = env.sluice([a, b], workers=1, name="s%d" % requests,
                   extra_env={"LD_PRELOAD": SHIM, "MALLOC_COUNT_DIR": str(outdir)})
    (worker,) = s.wait_workers(1)
    for i in range(requests):
        c = HttpConn(s.port, timeout=3)
        try:
            assert c.request("GET", "/n/%d" % i).status == 200
        finally:
            c.close()
    with HttpConn(s.port, timeout=3) as c:
        for i in range(requests):
            r = c.request("POST", "/sha256", body=b"x" * 1000)
            assert r.status == 200
    s.stop()
    path = outdir / str(worker)
    assert wait_until(path.exists, 3), "worker %d wrote no count" % worker
    return int(path.read_text())


@pytest.mark.skipif(SANITIZED, reason="LD_PRELOAD malloc counting does not mix with ASan")
def test_no_heap_allocation_per_request(env):
    assert os.path.exists(SHIM), "build the shim first (make all)"
    small = worker_allocs(env, 50)
    large = worker_allocs(env, 500)
    # 900 more requests and 450 more connections: not one more allocation
    # beyond a handful of start-up differences.
    print("worker allocations: %d after 100 requests, %d after 1000" % (small, large))
    assert small > 0
    assert large - small <= 5, (small, large)


# -- one feature at a time ------------------------------------------------------

CHUNKS = [b"a" * 700, b"b" * 300, b"c" * 24]
CHUNKS_SHA = hashlib.sha256(b"".join(CHUNKS)).hexdigest()
RESP_N = 3000


def req_chunked_request(c, i):
    r = c.request("POST", "/sha256", chunks=CHUNKS)
    assert r.status == 200 and r.body.decode().strip() == CHUNKS_SHA, r


def req_chunked_response(c, i):
    r = c.request("GET", "/chunked?n=%d&chunk=1000&seed=%d" % (RESP_N, i % 3))
    assert r.status == 200 and r.framing == "chunked", r
    assert r.body == gen_bytes(RESP_N, str(i % 3)), "body %d differs" % i


def req_rewrite(c, i):
    r = c.request("GET", "/old/%d?q=%d" % (i, i), headers=[("X-Echo-Any", "1")])
    assert r.status == 200 and r.json()["target"] == "/new/%d?q=%d" % (i, i), r


def req_header_rules(c, i):
    r = c.request("GET", "/headers?X-Secret=s&X-Public=p%d" % i,
                  headers=[("X-Internal", "i"), ("X-Client", "c")])
    assert r.status == 200, r
    assert r.header("X-Served-By") == "sluice" and r.header("X-Secret") is None, r
    assert r.header("X-Public") == "p%d" % i, r
    got = {k.lower(): v for k, v in r.json()["headers"]}
    assert got.get("x-added") == "yes" and "x-internal" not in got, got
    assert got.get("x-client") == "c", got


def req_path_regex(c, i):
    r = c.request("GET", "/re/%d" % i, headers=[("X-Echo-Any", "1")])
    assert r.status == 200 and r.json()["target"] == "/re/%d" % i, r


def req_rewrite_location(c, i):
    r = c.request("GET", "/headers?Location=http://old.example/p/%d" % i)
    assert r.status == 200 and r.header("Location") == "http://new.example/p/%d" % i, r


def req_access_log(c, i):
    r = c.request("GET", "/logged/%d" % i)
    assert r.status == 200, r


def req_retry(c, i):
    r = c.request("GET", "/retry/%d" % i)
    assert r.status == 200 and r.header("X-Backend") == c.good, r


RULES = {"request": {"header_add": [{"name": "X-Added", "value": "yes"}],
                     "header_hide": ["X-Internal"]},
         "response": {"header_add": [{"name": "X-Served-By", "value": "sluice"}],
                      "header_hide": ["X-Secret"]}}

FEATURES = {
    "chunked_request": (req_chunked_request, {}),
    "chunked_response": (req_chunked_response, {}),
    "rewrite": (req_rewrite, {"request": {"rewrite": [{"regex": "^/old/(.*)$",
                                                       "replace": "/new/$1"}]}}),
    "path_regex_route": (req_path_regex, {"path": None, "path_regex": "^/re/[0-9]+$"}),
    "rewrite_location": (req_rewrite_location, {"response": {"rewrite_location": [
        {"regex": "^http://old\\.example/(.*)$", "replace": "http://new.example/$1"}]}}),
    "header_rules": (req_header_rules, RULES),
    "access_log": (req_access_log, {}),
    "retry": (req_retry, {}),
}


def feature_allocs(env, feature, requests):
    """Runs sluice (one worker, malloc counter preloaded) with the feature on,
    sends requests of that kind (a new client connection every 10), stops it and
    returns the worker's allocation count."""
    fn, route_extra = FEATURES[feature]
    a = env.backend("a%d" % requests)       # its X-Backend; the source is "a"
    outdir = env.dir / ("mc-%s-%d" % (feature, requests))
    outdir.mkdir()
    port = free_port()
    extra = {}
    names = ["a"]
    sources = [("a", a.address)]
    if feature == "retry":
        dead = "127.0.0.1:%d" % free_port()
        names = ["dead", "a"]
        sources = [("dead", dead), ("a", a.address)]
        extra["sources"] = [{"name": "dead", "address": dead, "max_fails": 0},
                            {"name": "a", "address": a.address}]
    if feature == "access_log":
        extra["log"] = {"error": "stderr", "level": "info",
                        "access": str(outdir / "access.log")}
    route = {"host": "*", "path": "/", "sources": names}
    route.update(route_extra)
    route = {k: v for k, v in route.items() if v is not None}
    conf = env.config(port, sources, [route], workers=1, extra=extra)
    s = env.sluice(conf_text=conf, port=port, name="s-%s-%d" % (feature, requests),
                   extra_env={"LD_PRELOAD": SHIM, "MALLOC_COUNT_DIR": str(outdir)})
    (worker,) = s.wait_workers(1)
    c = None
    try:
        for i in range(requests):
            if i % 10 == 0:
                if c is not None:
                    c.close()
                c = HttpConn(s.port, timeout=3)
                c.good = a.name
            fn(c, i)
    finally:
        if c is not None:
            c.close()
    if feature == "retry":
        # Every other request went to the refusing source first, then to a.
        d = source_stat(stat_json(s), "dead")
        assert d["retries"] >= requests // 2 - 1, d
        assert a.stats()["requests"] == requests
    s.stop()
    if feature == "access_log":
        lines = (outdir / "access.log").read_text().splitlines()
        assert len(lines) == requests, "%d access log lines" % len(lines)
        assert all("/logged/" in ln and " 200 " in ln for ln in lines), lines[:3]
    path = outdir / str(worker)
    assert wait_until(path.exists, 3), "worker %d wrote no count" % worker
    return int(path.read_text())


class PerRequestAllocation(AssertionError):
    """The allocation count grew with the requests (only this failure is expected
    for the features in KNOWN_ALLOCATING; any other failure fails the test)."""


# Known product bug (issue 16 report): every oniguruma search mallocs (and frees)
# a copy of its backtrack stack: match_at()'s STACK_SAVE in libonig 6.9.x, reached
# from onig_search_with_param() in common/rewrite.c search(). strict: once fixed,
# the test fails as XPASS until its name is taken out of this set.
KNOWN_ALLOCATING = {"rewrite", "path_regex_route", "rewrite_location"}


def feature_param(f):
    if f in KNOWN_ALLOCATING:
        return pytest.param(f, marks=pytest.mark.xfail(
            raises=PerRequestAllocation, strict=True,
            reason="libonig mallocs its backtrack stack on every search"))
    return f


@pytest.mark.limit(60)
@pytest.mark.skipif(SANITIZED, reason="LD_PRELOAD malloc counting does not mix with ASan")
@pytest.mark.parametrize("feature", [feature_param(f) for f in FEATURES])
def test_no_heap_allocation_per_request_feature(env, feature):
    assert os.path.exists(SHIM), "build the shim first (make all)"
    small = feature_allocs(env, feature, SMALL)
    large = feature_allocs(env, feature, LARGE)
    print("%s: worker allocations: %d after %d requests, %d after %d" % (
        feature, small, SMALL, large, LARGE))
    assert small > 0
    if large - small > SLACK:
        raise PerRequestAllocation("%s: %d more allocations for %d more requests" % (
            feature, large - small, LARGE - SMALL))
