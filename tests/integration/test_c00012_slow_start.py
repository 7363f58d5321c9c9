"""c00012: slow start (sources[].slow_start). A source back up ramps its
effective weight from 5 % to its full weight over slow_start seconds, so a
cold backend is not flooded: counted per backend in time slices after the
recovery, its share starts small and rises to its full share once the ramp
is over. round_robin with the health checker (b fails its checks until sluice
marks it down, then passes again); failover with a passive mark (a 503 with
Retry-After, then the probe). At start-up there is no ramp: b was never down.

Thresholds are loose on purpose (a 2-core shared machine): share s(t) =
max(5 %, t / slow_start), so round_robin over two equal sources gives b
s / (1 + s): about 12 % in the first second, 50 % after the ramp; failover
gives b s itself: about 19 % in the first second of a 3 s ramp, then all.
"""

import time

import pytest

from harness import HttpConn, source_stat, stat_json, wait_until


def mode(b, query):
    """Sets backend b's sticky switches (/__mode), straight to the backend."""
    c = HttpConn(b.port, timeout=2)
    try:
        assert c.request("GET", "/__mode?" + query,
                         headers=[("Connection", "close")]).status == 200
    finally:
        c.close()


class Client:
    """Sequential GETs on one keep-alive connection (a new one if sluice closes it)."""

    def __init__(self, port):
        self.port = port
        self.c = None
        self.n = 0

    def get(self):
        for _ in range(2):
            if self.c is None:
                self.c = HttpConn(self.port, timeout=5)
            try:
                r = self.c.request("GET", "/ss/%d" % self.n)
                self.n += 1
                if r.header("Connection", "").lower() == "close":
                    self.close()
                return r
            except (OSError, ConnectionError, ValueError):
                self.close()
        raise AssertionError("no answer from sluice")

    def close(self):
        if self.c is not None:
            self.c.close()
            self.c = None


def slices(cl, t0, bounds):
    """Requests until the last bound (seconds after t0); per slice [lo, hi), the
    count of 200s per X-Backend."""
    out = [{"a": 0, "b": 0} for _ in bounds]
    end = t0 + bounds[-1][1]
    while time.monotonic() < end:
        r = cl.get()
        t = time.monotonic() - t0
        if r.status != 200:
            continue
        for k, (lo, hi) in enumerate(bounds):
            if lo <= t < hi:
                out[k][r.header("X-Backend")] += 1
    return out


def share(c):
    n = c["a"] + c["b"]
    assert n >= 20, "too few requests in a slice to judge: %r" % c
    return c["b"] / n


@pytest.mark.limit(30)
def test_round_robin_ramps_after_health_recovery(env):
    a = env.backend("a")
    b = env.backend("b")
    s = env.sluice([a, (b.name, b.address, {"slow_start": 4})],
                   extra={"health": {"path": "/__health", "interval": 0.2, "timeout": 1,
                                     "rise": 1, "fall": 1}})
    cl = Client(s.port)

    # Start-up is no recovery: b takes its half at once.
    seen = {"a": 0, "b": 0}
    for _ in range(40):
        r = cl.get()
        assert r.status == 200, r
        seen[r.header("X-Backend")] += 1
    assert abs(seen["a"] - seen["b"]) <= 4, ("no ramp at start", seen)

    mode(b, "health=0")
    assert wait_until(lambda: source_stat(stat_json(s), "b")["health"] == "down", 3.0,
                      interval=0.05), "the checker did not take b down"
    for _ in range(10):
        r = cl.get()
        assert (r.status, r.header("X-Backend")) == (200, "a"), r
    mode(b, "health=1")

    # The ramp starts when the checker sees b up again: its first request.
    deadline = time.monotonic() + 3.0
    while time.monotonic() < deadline:
        r = cl.get()
        if r.status == 200 and r.header("X-Backend") == "b":
            break
    else:
        raise AssertionError("b never came back")
    t0 = time.monotonic()
    first, second, after = slices(cl, t0, [(0, 1), (1, 2), (4.3, 5.3)])
    cl.close()
    f, g, h = share(first), share(second), share(after)
    assert 0 < first["b"] and f < 0.22, ("first second: a small share", first, second, after)
    assert g < 0.4, ("second second: still ramping", first, second, after)
    assert 0.4 <= h <= 0.6, ("after slow_start: the full half", first, second, after)
    assert f < h - 0.2, (first, after)


@pytest.mark.limit(30)
def test_failover_ramps_after_passive_mark(env):
    a = env.backend("a")
    b = env.backend("b")
    # failover: b first, a second. b's 503 with Retry-After: 1 marks it out.
    s = env.sluice([(b.name, b.address, {"slow_start": 3}), a],
                   routes=[{"host": "*", "path": "/", "sources": ["b", "a"],
                            "balancer": "failover"}])
    cl = Client(s.port)
    for _ in range(10):
        r = cl.get()
        assert (r.status, r.header("X-Backend")) == (200, "b"), ("no ramp at start", r)

    mode(b, "status=503&retry_after=1&count=1")
    r = cl.get()
    assert (r.status, r.header("X-Backend")) == (503, "b"), r
    r = cl.get()
    assert (r.status, r.header("X-Backend")) == (200, "a"), ("b is out", r)

    # The mark runs out; the probe's success starts the ramp.
    deadline = time.monotonic() + 5.0
    while time.monotonic() < deadline:
        r = cl.get()
        if r.status == 200 and r.header("X-Backend") == "b":
            break
    else:
        raise AssertionError("b never came back")
    t0 = time.monotonic()
    first, after = slices(cl, t0, [(0, 1), (3.3, 4.0)])
    cl.close()
    f, h = share(first), share(after)
    assert 0 < first["b"] and f < 0.35, ("first second: a small share", first, after)
    assert h >= 0.97, ("after slow_start: all of it again", first, after)


@pytest.mark.limit(30)
def test_least_conn_ramps_after_passive_mark(env):
    """least_conn with sequential requests: every pick is a tie at zero in flight,
    broken by a draw weighted by the effective weights, so the ramping b gets
    s / (1 + s) of them, then half."""
    a = env.backend("a")
    b = env.backend("b")
    s = env.sluice([a, (b.name, b.address, {"slow_start": 3})],
                   routes=[{"host": "*", "path": "/", "sources": ["a", "b"],
                            "balancer": "least_conn"}])
    cl = Client(s.port)
    seen = {"a": 0, "b": 0}
    for _ in range(40):
        r = cl.get()
        assert r.status == 200, r
        seen[r.header("X-Backend")] += 1
    assert min(seen.values()) >= 10, ("no ramp at start", seen)

    mode(b, "status=503&retry_after=1&count=1")
    deadline = time.monotonic() + 3.0
    while time.monotonic() < deadline:          # until b answers its 503
        r = cl.get()
        if r.status == 503:
            break
    else:
        raise AssertionError("b never answered its 503")
    r = cl.get()
    assert (r.status, r.header("X-Backend")) == (200, "a"), ("b is out", r)
    deadline = time.monotonic() + 5.0
    while time.monotonic() < deadline:          # the probe's success starts the ramp
        r = cl.get()
        if r.status == 200 and r.header("X-Backend") == "b":
            break
    else:
        raise AssertionError("b never came back")
    t0 = time.monotonic()
    first, after = slices(cl, t0, [(0, 1), (3.3, 4.3)])
    cl.close()
    f, h = share(first), share(after)
    assert 0 < first["b"] and f < 0.3, ("first second: a small share", first, after)
    assert 0.35 <= h <= 0.65, ("after slow_start: half", first, after)
