"""s00005: active health (interval 0.5 s, rise 2, fall 2, path /__health): a stopped
backend is "down" in sluice-stat --json within fall x interval + 1 s (with no
traffic meanwhile, so only the checker can have seen it); while it is down all
requests succeed on the other source and none is tried on it; restarted on the
same port it is "up" again within rise x interval + 1 s, after rise good checks,
and takes traffic; both changes are logged."""

import json
import os
import subprocess
import time
from pathlib import Path

from harness import free_port, sluice_bin, wait_until

STAT = (os.environ.get("SLUICE_STAT_BIN") or os.environ.get("SLUICE_STAT")
        or str(Path(sluice_bin()).parent / "sluice-stat"))

INTERVAL, RISE, FALL = 0.5, 2, 2


def stat_json(s):
    assert os.access(STAT, os.X_OK), "no sluice-stat binary at %s" % STAT
    p = subprocess.run([STAT, "-c", str(s.conf_path), "--json"], capture_output=True,
                       text=True, timeout=5)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def source(s, name):
    [x] = [x for x in stat_json(s)["sources"] if x["name"] == name]
    return x


def test_active_health_down_and_up(env):
    a = env.backend("a")
    b = env.backend("b")
    port = free_port()
    conf = env.config(port, [("a", a.address), ("b", b.address)],
                      [{"host": "*", "path": "/", "sources": ["a", "b"],
                        "balancer": "round_robin"}], workers=4,
                      extra={"health": {"path": "/__health", "interval": INTERVAL,
                                        "timeout": 1, "rise": RISE, "fall": FALL}})
    s = env.sluice(conf_text=conf, port=port)
    assert wait_until(lambda: stat_json(s)["totals"]["workers_running"] == 4, 3)

    assert wait_until(lambda: a.stats()["health_checks"] >= 1 and
                      b.stats()["health_checks"] >= 1, 2.5), "checker never probed"
    for n in ("a", "b"):
        x = source(s, n)
        assert x["health"] == "up" and x["check"]["state"] == "up", x
    for i in range(10):
        r = s.get("/warm/%d" % i)
        assert r.status == 200, r
    assert a.stats()["requests"] == 5 and b.stats()["requests"] == 5

    a.stop()
    t0 = time.monotonic()
    limit = FALL * INTERVAL + 1
    down = wait_until(lambda: source(s, "a")["health"] == "down", limit, interval=0.05)
    took = time.monotonic() - t0
    assert down, "a not down %.1f s after it stopped: %r" % (took, source(s, "a"))
    x = source(s, "a")
    assert x["check"]["state"] == "down", x
    assert x["failures"] == 0, "no request went to a meanwhile: %r" % x

    for i in range(30):
        r = s.get("/down/%d" % i)
        assert (r.status, r.header("X-Backend")) == (200, "b"), (i, r)
    x = source(s, "a")
    assert x["health"] == "down" and x["requests"] == 5 and x["failures"] == 0, x

    a2 = env.backend("a", port=a.port)
    t1 = time.monotonic()
    up = wait_until(lambda: source(s, "a")["health"] == "up", RISE * INTERVAL + 1,
                    interval=0.05)
    took_up = time.monotonic() - t1
    x = source(s, "a")
    assert up, "a not up %.1f s after it restarted: %r" % (took_up, x)
    assert x["check"]["oks"] >= RISE and a2.stats()["health_checks"] >= RISE, \
        ("up before %d good checks" % RISE, x, a2.stats())

    got = [s.get("/up/%d" % i) for i in range(10)]
    assert all(r.status == 200 for r in got), got
    assert sum(1 for r in got if r.header("X-Backend") == "a") == 5, \
        [r.header("X-Backend") for r in got]

    log = s.log()
    assert "source a is down" in log and "source a is up" in log, log[-2000:]
