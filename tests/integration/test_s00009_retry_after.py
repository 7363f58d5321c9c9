"""s00009: a 503 with "Retry-After: 2" is relayed to the client and takes its
source out of rotation for 2 s (for all 4 workers; sluice-stat shows it down,
reason "retry-after"); then it is "up" and back in full rotation, not just one
probe. The 503 is sent late in a second of CLOCK_MONOTONIC (the segment's
clock), so a hold kept in whole seconds cannot pass for 2 s. First, a third
source answers a 429 with Retry-After: 100000, which holds it out for 300 s
(the cap), no more."""

import json
import os
import subprocess
import time
from pathlib import Path

from harness import HttpConn, free_port, sluice_bin, wait_until

STAT = (os.environ.get("SLUICE_STAT_BIN") or os.environ.get("SLUICE_STAT")
        or str(Path(sluice_bin()).parent / "sluice-stat"))
RA = 2


def stat_json(s):
    assert os.access(STAT, os.X_OK), "no sluice-stat binary at %s" % STAT
    p = subprocess.run([STAT, "-c", str(s.conf_path), "--json"], capture_output=True,
                       text=True, timeout=5)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def source(s, name):
    [x] = [x for x in stat_json(s)["sources"] if x["name"] == name]
    return x


def set_mode(b, query):
    with HttpConn(b.port) as c:
        assert c.request("GET", "/__mode?" + query).status == 200


def test_retry_after(env):
    a = env.backend("a")
    b = env.backend("b")
    c = env.backend("c")
    port = free_port()
    conf = env.config(port, [("a", a.address), ("b", b.address), ("c", c.address)],
                      [{"host": "*", "path": "/", "sources": ["a", "b", "c"],
                        "balancer": "round_robin"}], workers=4)
    s = env.sluice(conf_text=conf, port=port)
    assert len(s.wait_workers(4)) == 4
    for i in range(6):
        assert s.get("/warm/%d" % i).status == 200

    # 429 + an absurd Retry-After: capped at 300 s.
    set_mode(c, "status=429&retry_after=100000&count=1")
    st = [s.get("/cap/%d" % i) for i in range(3)]
    assert [r.status for r in st].count(429) == 1, st
    x = source(s, "c")
    left = x["down_until_s"] - time.monotonic()
    assert x["health"] == "down" and x["reason"] == "retry-after", x
    assert 298 <= left <= 301.5, "Retry-After: 100000 holds the source %.0f s" % left
    n_c = c.stats()["requests"]

    set_mode(a, "status=503&retry_after=%d&count=1" % RA)
    # Wait for the last fifth of a second, bounded.
    assert wait_until(lambda: time.monotonic() % 1.0 >= 0.8, 1.5, interval=0.005)
    got = []
    for i in range(4):
        r = s.get("/ra/%d" % i)
        got.append(r)
        if r.status == 503:
            break
    t_ra = time.monotonic()
    assert got[-1].status == 503, got
    assert got[-1].header("X-Backend") == "a" and got[-1].header("Retry-After") == str(RA), \
        got[-1]
    assert all(r.status == 200 for r in got[:-1]), got
    n_a = a.stats()["requests"]
    x = source(s, "a")
    assert x["health"] == "down" and x["reason"] == "retry-after", x

    # Out for RA seconds: every request meanwhile goes to b.
    k = 0
    while time.monotonic() - t_ra < RA - 0.1:
        r = s.get("/out/%d" % k)
        k += 1
        assert (r.status, r.header("X-Backend")) == (200, "b"), \
            "%.2f s after a Retry-After: %d, request %d: %r" % (time.monotonic() - t_ra, RA,
                                                              k, r)
        time.sleep(0.01)
    assert a.stats()["requests"] == n_a

    # And back in rotation afterwards.
    def a_again():
        r = s.get("/back")
        assert r.status == 200, r
        return r.header("X-Backend") == "a"
    assert wait_until(a_again, 1.5, interval=0.02), "a not back %.1f s after Retry-After: %d" \
        % (time.monotonic() - t_ra, RA)
    assert source(s, "a")["health"] == "up", source(s, "a")
    back = [s.get("/after/%d" % i) for i in range(20)]
    assert all(r.status == 200 for r in back), back
    n_back = sum(1 for r in back if r.header("X-Backend") == "a")
    # Two usable sources of equal weight: about 10 each (>= 6 leaves room for how
    # the down source's turn is handed on; one probe only would give 1).
    assert n_back >= 6, "a got %d of 20 requests after the hold" % n_back
    assert c.stats()["requests"] == n_c and source(s, "c")["health"] == "down"
