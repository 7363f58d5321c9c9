"""s00008: passive health, max_fails = 2, fail_timeout = 3, no health checker: a
source with nothing listening is tried exactly twice, then marked down for all
4 workers (sluice-stat "down", log "marked down") while every request succeeds
on the other source and none is tried on it until fail_timeout; a backend that
starts on its address meanwhile gets traffic again once fail_timeout is over
(the probe request succeeds and the source is back in rotation)."""

import json
import os
import subprocess
import time
from pathlib import Path

from harness import free_port, sluice_bin

STAT = (os.environ.get("SLUICE_STAT_BIN") or os.environ.get("SLUICE_STAT")
        or str(Path(sluice_bin()).parent / "sluice-stat"))
FAIL_TIMEOUT = 3


def stat_json(s):
    assert os.access(STAT, os.X_OK), "no sluice-stat binary at %s" % STAT
    p = subprocess.run([STAT, "-c", str(s.conf_path), "--json"], capture_output=True,
                       text=True, timeout=5)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def source(s, name):
    [x] = [x for x in stat_json(s)["sources"] if x["name"] == name]
    return x


def test_passive_max_fails(env):
    a = env.backend("a")
    dead = "127.0.0.1:%d" % env.dead_port()
    port = free_port()
    conf = env.config(port, [], [{"host": "*", "path": "/", "sources": ["a", "dead"],
                                  "balancer": "round_robin", "retries": 1}], workers=4,
                      extra={"sources": [
                          {"name": "a", "address": a.address},
                          {"name": "dead", "address": dead, "max_fails": 2,
                           "fail_timeout": FAIL_TIMEOUT}]})
    s = env.sluice(conf_text=conf, port=port)
    assert len(s.wait_workers(4)) == 4

    # New connections, so the requests (and failures) come from all the workers.
    # t_marked: when the request that made the 2nd failure was sent (a lower bound
    # of the time of the mark).
    t_marked = None
    for i in range(40):
        t_req = time.monotonic()
        r = s.get("/p/%d" % i)
        assert (r.status, r.header("X-Backend")) == (200, "a"), (i, r)
        if t_marked is None and source(s, "dead")["failures"] >= 2:
            t_marked = t_req
    assert t_marked is not None, source(s, "dead")
    x = source(s, "dead")
    assert x["health"] == "down", x
    assert x["failures"] == 2, "max_fails = 2 but %d failed tries: %r" % (x["failures"], x)
    assert source(s, "a")["health"] == "up"
    assert "source dead marked down" in s.log(), s.log()[-2000:]

    # The mark holds: until fail_timeout - 1 s (a clock of whole seconds is
    # tolerated here), not a single further try.
    while time.monotonic() - t_marked < FAIL_TIMEOUT - 1.1:
        r = s.get("/held")
        assert (r.status, r.header("X-Backend")) == (200, "a"), r
        time.sleep(0.02)
    x = source(s, "dead")
    assert x["failures"] == 2 and x["health"] == "down", x

    # The backend comes back before the mark ends; after it, traffic reaches it.
    revived = env.backend("dead", port=int(dead.rsplit(":", 1)[1]))
    seen = {}
    while time.monotonic() - t_marked < FAIL_TIMEOUT + 1.5:
        r = s.get("/back")
        assert r.status == 200, r
        seen[r.header("X-Backend")] = seen.get(r.header("X-Backend"), 0) + 1
        time.sleep(0.02)
    x = source(s, "dead")
    assert revived.stats()["requests"] > 0 and seen.get("dead", 0) > 0, \
        "no request reached the source %.1f s after it was marked down for %d s: " \
        "clients saw %r; stat %r" % (time.monotonic() - t_marked, FAIL_TIMEOUT, seen, x)
    assert x["health"] == "up" and x["failures"] == 2, x
    assert seen.get("a", 0) > 0
