"""s00012: counters and health survive a reload. 60 requests, a source passively
marked down (nothing listening, max_fails 1, fail_timeout 60); then SIGHUP with a
changed config (new weight, a response header added; same source names): once
the new generation answers, sluice-stat --json shows conf_gen 2, totals.requests
and the per-source counts carry on from where they were (exactly the number of
requests sent), and the marked source is still down and never tried again."""

import json
import os
import signal
import subprocess
from pathlib import Path

from harness import free_port, sluice_bin, wait_until

STAT = (os.environ.get("SLUICE_STAT_BIN") or os.environ.get("SLUICE_STAT")
        or str(Path(sluice_bin()).parent / "sluice-stat"))


def stat_json(s):
    assert os.access(STAT, os.X_OK), "no sluice-stat binary at %s" % STAT
    p = subprocess.run([STAT, "-c", str(s.conf_path), "--json"], capture_output=True,
                       text=True, timeout=5)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def conf(env, port, a, dead, gen):
    route = {"host": "*", "path": "/", "sources": ["a", "dead"], "balancer": "round_robin"}
    if gen == 2:
        route["response"] = {"header_add": [{"name": "X-Gen", "value": "2"}]}
    return env.config(port, [], [route], workers=2, timeouts={"graceful": 2},
                      extra={"sources": [
                          {"name": "a", "address": a.address, "weight": gen},
                          {"name": "dead", "address": dead, "max_fails": 1,
                           "fail_timeout": 60}]})


def test_reload_keeps_counters_and_health(env):
    a = env.backend("a")
    dead = "127.0.0.1:%d" % env.dead_port()
    port = free_port()
    s = env.sluice(conf_text=conf(env, port, a, dead, 1), port=port)
    assert len(s.wait_workers(2)) == 2

    sent = 0
    for i in range(60):
        r = s.get("/g1/%d" % i)
        assert (r.status, r.header("X-Backend")) == (200, "a"), r
        sent += 1
    assert wait_until(lambda: stat_json(s)["totals"]["requests"] == sent, 1.0)
    d1 = stat_json(s)
    src1 = {x["name"]: x for x in d1["sources"]}
    assert src1["dead"]["health"] == "down" and src1["dead"]["failures"] == 1, src1["dead"]
    assert src1["a"]["requests"] == 60 and d1["conf_gen"] == 1

    s.conf_path.write_text(conf(env, port, a, dead, 2))
    s.proc.send_signal(signal.SIGHUP)

    def new_gen():
        nonlocal sent
        r = s.get("/switch")
        sent += 1
        assert (r.status, r.header("X-Backend")) == (200, "a"), r
        return r.header("X-Gen") == "2"
    assert wait_until(new_gen, 3.0, interval=0.05), "new configuration not serving: " + \
        s.log()[-2000:]
    for i in range(40):
        r = s.get("/g2/%d" % i)
        assert (r.status, r.header("X-Backend"), r.header("X-Gen")) == (200, "a", "2"), r
        sent += 1

    assert wait_until(lambda: stat_json(s)["totals"]["requests"] == sent, 1.0)
    d2 = stat_json(s)
    src2 = {x["name"]: x for x in d2["sources"]}
    assert d2["conf_gen"] == 2, d2["conf_gen"]
    assert d2["totals"]["requests"] == sent, (d2["totals"]["requests"], sent)
    assert sum(w["requests"] for w in d2["workers"]) == sent, d2["workers"]
    assert src2["a"]["requests"] == sent == a.stats()["requests"], (src2["a"], sent)
    assert src2["a"]["weight"] == 2, src2["a"]
    assert src2["dead"]["health"] == "down", "the mark did not survive the reload: %r" \
        % src2["dead"]
    assert src2["dead"]["failures"] == 1, src2["dead"]
