"""l00001: zero-drop reload. A bounded load (8 keep-alive + 4 new-connection client
threads, ~10 s) runs while the master gets 10 SIGHUP reloads 0.8 s apart, each one
switching the route between sources [a, b] and [a, c] (config file rewritten before
each signal; all three backends run): not one connection error, not one non-2xx,
not one short read, and the backends counted exactly the requests the clients saw
answered. Every old generation drains (no worker reaches timeouts.graceful: under
load no connection is idle) and the final configuration is the one that serves."""

import signal
import time

import pytest

from harness import pid_alive, wait_until
from loadgen import Load, backend_total

RELOADS = 10
GAP = 0.8
GRACEFUL = 5
WORKERS = 2


def conf_for(env, port, srcs):
    return env.config(port, [(x.name, x.address) for x in srcs],
                      [{"host": "*", "path": "/", "sources": [x.name for x in srcs]}],
                      workers=WORKERS, timeouts={"graceful": GRACEFUL})


@pytest.mark.limit(45)
def test_ten_reloads_under_load(env):
    a, b, c = env.backend("a"), env.backend("b"), env.backend("c")
    sets = [[a, b], [a, c]]
    s = env.sluice([a, b], workers=WORKERS, timeouts={"graceful": GRACEFUL})
    first = set(s.wait_workers(WORKERS))
    assert len(first) == WORKERS, first

    load = Load(s.port, keepalive=8, newconn=4).start()
    sent = []
    try:
        time.sleep(0.8)
        for i in range(RELOADS):
            srcs = sets[(i + 1) % 2]
            s.conf_path.write_text(conf_for(env, s.port, srcs))
            s.proc.send_signal(signal.SIGHUP)
            sent.append([x.name for x in srcs])
            time.sleep(GAP)
            s.workers()         # remember every generation's pids for teardown
        time.sleep(1.0)
    finally:
        load.stop()

    report = load.report()
    print(report)
    assert s.proc.poll() is None, "master exited during the reloads\n" + report
    assert load.failures == [], "requests failed during reloads\n" + report
    assert load.ok >= 300, "load too small to mean anything\n" + report
    counted = {x.name: x.stats()["requests"] for x in (a, b, c)}
    assert sum(counted.values()) == load.ok, (
        "backends counted %r = %d requests, clients saw %d answered\n%s"
        % (counted, sum(counted.values()), load.ok, report))
    # The reloads took effect: both alternates served.
    assert counted["b"] > 0 and counted["c"] > 0, (counted, report)

    log = s.log()
    assert log.count("reload: generation") == RELOADS, log[-3000:]
    assert "reload: generation %d started" % (RELOADS + 1) in log, log[-3000:]
    assert "is invalid" not in log, log[-3000:]

    # Old generations drain; only the last one's workers remain.
    assert wait_until(lambda: len(s.workers()) == WORKERS, GRACEFUL + 2), (
        "workers alive %r after the last reload" % s.workers())
    assert not [p for p in first if pid_alive(p)], "first-generation workers still alive"
    assert wait_until(lambda: s.log().count("finished draining") == RELOADS, 2.0), \
        s.log()[-3000:]
    log = s.log()
    assert "still open after" not in log and "killing" not in log, (
        "an old worker reached timeouts.graceful although no connection was idle:\n"
        + "\n".join(ln for ln in log.splitlines() if "still open after" in ln or "killing" in ln))

    # The last file (sources [a, b]) is what serves now.
    final = sent[-1]
    before = {x.name: x.stats()["requests"] for x in (a, b, c)}
    names = set()
    for i in range(20):
        r = s.get("/after/%d" % i)
        assert r.status == 200, r
        names.add(r.header("X-Backend"))
    assert names <= set(final), (names, final)
    assert c.stats()["requests"] == before["c"] or "c" in final
    assert backend_total([a, b, c]) == sum(before.values()) + 20
