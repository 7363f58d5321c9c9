"""s00002: round_robin with weights 1:2 and 4 workers: 3000 requests (keep-alive
connections, reopened every 25 requests so they spread over the workers) reach
the backends as 1000/2000 within 3%, and one sequential client sees the smooth
schedule (never "a" twice in a row, never "b" three times in a row)."""

import json
import os
import subprocess
import threading
from pathlib import Path

from harness import HttpConn, free_port, sluice_bin

STAT = (os.environ.get("SLUICE_STAT_BIN") or os.environ.get("SLUICE_STAT")
        or str(Path(sluice_bin()).parent / "sluice-stat"))


def stat_json(s):
    assert os.access(STAT, os.X_OK), "no sluice-stat binary at %s" % STAT
    p = subprocess.run([STAT, "-c", str(s.conf_path), "--json"], capture_output=True,
                       text=True, timeout=5)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


THREADS, PER_THREAD, PER_CONN = 10, 300, 25


def test_weights_1_2_over_3000(env):
    a = env.backend("a")
    b = env.backend("b")
    port = free_port()
    conf = env.config(port, [], [{"host": "*", "path": "/", "sources": ["a", "b"],
                                  "balancer": "round_robin"}], workers=4,
                      extra={"sources": [{"name": "a", "address": a.address, "weight": 1},
                                         {"name": "b", "address": b.address, "weight": 2}]})
    s = env.sluice(conf_text=conf, port=port)
    assert len(s.wait_workers(4)) == 4

    # Smoothness, from one sequential client (the ticket is global, and nobody else
    # takes tickets meanwhile): the 1:2 schedule is a permutation of "abb" per period.
    seq = []
    with HttpConn(s.port) as c:
        for i in range(30):
            r = c.request("GET", "/seq/%d" % i)
            assert r.status == 200, r
            seq.append(r.header("X-Backend"))
    order = "".join(seq)
    assert order.count("a") == 10 and order.count("b") == 20, order
    assert "aa" not in order and "bbb" not in order, "bursts in the schedule: " + order
    a.reset()
    b.reset()

    errors, statuses = [], {}
    lock = threading.Lock()

    def client(t):
        try:
            done = 0
            while done < PER_THREAD:
                with HttpConn(s.port, timeout=5) as c:
                    for _ in range(PER_CONN):
                        r = c.request("GET", "/w/%d/%d" % (t, done))
                        with lock:
                            statuses[r.status] = statuses.get(r.status, 0) + 1
                        done += 1
        except Exception as e:          # noqa: BLE001 (reported below)
            errors.append(repr(e))

    ts = [threading.Thread(target=client, args=(t,)) for t in range(THREADS)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(8)
    assert not any(t.is_alive() for t in ts), "clients still running"
    assert not errors, errors[:5]
    assert statuses == {200: THREADS * PER_THREAD}, statuses

    na, nb = a.stats()["requests"], b.stats()["requests"]
    assert na + nb == 3000, (na, nb)
    assert abs(na - 1000) <= 30 and abs(nb - 2000) <= 60, \
        "weights 1:2 over 3000 requests gave a=%d b=%d" % (na, nb)

    src = {x["name"]: x for x in stat_json(s)["sources"]}
    assert (src["a"]["weight"], src["b"]["weight"]) == (1, 2)
    assert src["a"]["requests"] == 10 + na and src["b"]["requests"] == 20 + nb, \
        (src["a"]["requests"], src["b"]["requests"], na, nb)
