"""s00013: passive health, max_fails = 2, fail_timeout = 3, no health checker, a
source that stays dead: after the mark (2 failed tries) no request is tried on
it until fail_timeout; then exactly one probe request is (4 workers, steady
traffic on new connections): it fails, the client's request is retried on the
live source and succeeds, and the source is down again."""

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


def test_passive_single_probe(env):
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

    # The mark holds: until fail_timeout - 1 s (a clock of whole seconds is
    # tolerated here), not a single further try.
    while time.monotonic() - t_marked < FAIL_TIMEOUT - 1.1:
        r = s.get("/held")
        assert (r.status, r.header("X-Backend")) == (200, "a"), r
        time.sleep(0.02)
    x = source(s, "dead")
    assert x["failures"] == 2 and x["health"] == "down", x

    # After fail_timeout (plus a margin), one probe and only one.
    while time.monotonic() - t_marked < FAIL_TIMEOUT + 0.7:
        r = s.get("/probe")
        assert (r.status, r.header("X-Backend")) == (200, "a"), r
        time.sleep(0.02)
    x = source(s, "dead")
    assert x["failures"] == 3, "after fail_timeout: %d failed tries, want 2 + 1 probe: %r" % (
        x["failures"], x)
    assert x["health"] == "down", x
    assert a.stats()["requests"] == source(s, "a")["requests"]
