"""c00010: the adaptive idle pool (reuse_max = "auto", the default). One worker, two
sources; 60 keep-alive clients keep about 60 backend requests in flight (each holds
its backend connection 20 ms). After a warm-up, the backends see at most 2 new
connections per 1,000 requests: everything that was busy at once stays pooled.
The same load with reuse_max = 1 churns (more than 10 per 1,000), which shows
the measure can fail. After the load stops, the pool never holds more connections
than were busy at once, and they are gone after two idle windows."""

import time

import pytest

from harness import HttpConn, wait_until
from loadgen import Load

CLIENTS = 60


def run(s, seconds):
    load = Load(s.port, keepalive=CLIENTS, newconn=0, timeout=10).start()
    time.sleep(seconds)
    load.stop()
    assert not load.failures, load.report()
    return load.ok


def churn(env, reuse_max):
    a, b = env.backend("a"), env.backend("b")
    route = {"host": "*", "path": "/", "sources": ["a", "b"]}
    if reuse_max is not None:
        route["reuse_max"] = reuse_max
    s = env.sluice([a, b], routes=[route], workers=1, timeouts={"backend_idle": 3})
    for be in (a, b):                         # each request holds its connection 20 ms
        c = HttpConn(be.port, timeout=2)
        assert c.request("GET", "/__mode?delay=0.02").status == 200
        c.close()
    run(s, 2.0)                               # warm-up: the pool grows to the load
    a.reset()
    b.reset()
    n = run(s, 4.0)
    accepts = a.stats()["accepts"] + b.stats()["accepts"]
    requests = a.stats()["requests"] + b.stats()["requests"]
    assert requests == n
    return s, (a, b), accepts, requests


@pytest.mark.limit(40)
def test_auto_pool_does_not_churn(env):
    s, backends, accepts, requests = churn(env, None)
    assert requests > 1000, requests
    assert accepts * 1000 <= 2 * requests, "%d new backend connections for %d requests" % (
        accepts, requests)
    # Load gone: each source's pool holds no more than were busy at once there
    # (the most requests the backend answered at once during the load), give or
    # take a few (a connection sluice holds while it relays the end of a response
    # is busy to sluice, not to the backend), and after two idle windows
    # (backend_idle = 3 s) none left. The pools are per source, so together they
    # may hold more than CLIENTS: round-robin's split of the requests in flight
    # wanders, and each source's peak counts. ("open" counts the stats query's
    # own connection, and a connection sluice closed until the backend's thread
    # has seen the EOF: a slow sanitizer build needs a moment for that.)
    for be in backends:
        peak = be.stats()["busy_max"]
        assert 0 < peak <= CLIENTS, be.stats()
        assert wait_until(lambda: be.stats()["open"] - 1 <= peak + 4, 2), (peak, be.stats())
    assert wait_until(lambda: sum(b.stats()["open"] - 1 for b in backends) == 0, 12), \
        [b.stats() for b in backends]


@pytest.mark.limit(40)
def test_small_fixed_pool_churns(env):
    _, _, accepts, requests = churn(env, 1)
    assert accepts * 1000 > 10 * requests, (accepts, requests)
