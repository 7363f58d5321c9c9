"""s00015: sluice-stat's worker rows tell the truth.
1. N requests, reload, K requests, reload again (the third generation takes
   over the first one's slots), M requests: the live worker rows sum to M (each
   new process shows its own counts, not the previous occupant's), while
   totals.requests is N+K+M. A worker killed with SIGKILL is respawned in its
   slot and its row starts again from 0; the totals do not move.
2. A worker stopped with SIGSTOP is "stalled" (table, JSON and Prometheus)
   within about 3 s, and "running" again once it gets SIGCONT."""

import os
import re
import signal
import subprocess

from harness import free_port, stat_bin, stat_json, wait_until

WORKERS = 2
N, K, M = 12, 5, 9


def live(d):
    return [w for w in d["workers"] if w["pid"] != 0]


def reload_and_settle(s, gen):
    """SIGHUP, then wait until exactly WORKERS live rows, all of generation gen."""
    s.proc.send_signal(signal.SIGHUP)

    def settled():
        d = stat_json(s)
        rows = live(d)
        return (d["conf_gen"] == gen and len(rows) == WORKERS and
                all(w["conf_gen"] == gen and w["state"] == "running" for w in rows)) and d
    d = wait_until(settled, 4.0, interval=0.05)
    assert d, "generation %d not alone after reload: %r\n%s" % (gen, stat_json(s)["workers"],
                                                              s.log()[-2000:])
    return d


def send(s, n, tag):
    for i in range(n):
        r = s.get("/%s/%d" % (tag, i))
        assert r.status == 200, r


def test_worker_rows_count_the_current_process(env):
    b = env.backend("b")
    s = env.sluice(sources=[b], workers=WORKERS, timeouts={"graceful": 2})
    assert len(s.wait_workers(WORKERS)) == WORKERS

    send(s, N, "g1")
    assert wait_until(lambda: stat_json(s)["totals"]["requests"] == N, 1.0)
    first = {w["index"] for w in live(stat_json(s))}
    reload_and_settle(s, 2)
    send(s, K, "g2")
    d = reload_and_settle(s, 3)
    assert {w["index"] for w in live(d)} == first, ("slots were not reused", d["workers"])
    assert sum(w["requests"] for w in live(d)) == 0, d["workers"]

    send(s, M, "g3")
    assert wait_until(lambda: stat_json(s)["totals"]["requests"] == N + K + M, 1.0)
    d = stat_json(s)
    rows = live(d)
    assert sum(w["requests"] for w in rows) == M, rows
    assert sum(w["responses"]["2xx"] for w in rows) == M, rows
    assert sum(w["conns_total"] for w in rows) == M, rows
    assert d["totals"]["requests"] == N + K + M and d["totals"]["responses"]["2xx"] == N + K + M

    # A respawned process starts its row from 0 too; the totals keep everything.
    victim = max(rows, key=lambda w: w["requests"])
    os.kill(victim["pid"], signal.SIGKILL)

    def respawned():
        [w] = [w for w in stat_json(s)["workers"] if w["index"] == victim["index"]]
        return w["pid"] not in (0, victim["pid"]) and w["state"] == "running" and w
    w = wait_until(respawned, 4.0, interval=0.05)
    assert w, "worker %d not respawned: %s" % (victim["index"], s.log()[-2000:])
    assert w["requests"] == 0 and w["conns_total"] == 0, w
    assert w["spawns"] == victim["spawns"] + 1, (victim, w)
    d = stat_json(s)
    assert d["totals"]["requests"] == N + K + M, d["totals"]
    assert sum(x["requests"] for x in live(d)) == M - victim["requests"], d["workers"]


def stat_text(s, *args):
    p = subprocess.run([stat_bin(), "-c", str(s.conf_path)] + list(args),
                       capture_output=True, text=True, timeout=5)
    assert p.returncode == 0, p.stderr
    return p.stdout


def test_stopped_worker_is_stalled(env):
    b = env.backend("b")
    s = env.sluice(sources=[b], workers=WORKERS)
    assert len(s.wait_workers(WORKERS)) == WORKERS
    assert wait_until(lambda: len(live(stat_json(s))) == WORKERS, 2.0)
    d = stat_json(s)
    assert all(w["state"] == "running" for w in live(d)) and \
        d["totals"]["workers_stalled"] == 0, d["workers"]
    w = live(d)[0]
    os.kill(w["pid"], signal.SIGSTOP)
    try:
        def row():
            [x] = [x for x in stat_json(s)["workers"] if x["index"] == w["index"]]
            return x
        assert wait_until(lambda: row()["state"] == "stalled", 3.5, interval=0.1), row()
        d = stat_json(s)
        assert d["totals"]["workers_stalled"] == 1, d["totals"]
        assert [x["state"] for x in live(d) if x["index"] != w["index"]] == ["running"]
        table = stat_text(s)
        assert re.search(r"^%d\s+%d\s+stalled\s" % (w["index"], w["pid"]), table, re.M), table
        prom = stat_text(s, "--prometheus")
        assert 'sluice_worker_stalled{worker="%d"} 1' % w["index"] in prom, prom
        assert "# TYPE sluice_worker_stalled gauge" in prom
    finally:
        os.kill(w["pid"], signal.SIGCONT)
    assert wait_until(lambda: row()["state"] == "running", 3.0, interval=0.1), row()
    prom = stat_text(s, "--prometheus")
    assert 'sluice_worker_stalled{worker="%d"} 0' % w["index"] in prom, prom
