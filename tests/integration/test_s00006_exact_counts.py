"""s00006: after exactly 500 requests through 4 workers (200 on new connections,
300 over 6 keep-alive connections), sluice-stat --json sums to exactly 500:
totals.requests, the per-worker "requests", the per-source "requests" (each
equal to what that backend counted) and the 2xx responses; totals.bytes_in (bytes
received from clients) is exactly what the clients sent."""

import json
import os
import subprocess
import time
from pathlib import Path

from harness import HttpConn, free_port, sluice_bin, wait_until

STAT = (os.environ.get("SLUICE_STAT_BIN") or os.environ.get("SLUICE_STAT")
        or str(Path(sluice_bin()).parent / "sluice-stat"))
N = 500


def stat_json(s):
    assert os.access(STAT, os.X_OK), "no sluice-stat binary at %s" % STAT
    p = subprocess.run([STAT, "-c", str(s.conf_path), "--json"], capture_output=True,
                       text=True, timeout=5)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def sums(d):
    return (d["totals"]["requests"], sum(w["requests"] for w in d["workers"]),
            sum(x["requests"] for x in d["sources"]))


def test_exact_request_counts(env):
    a = env.backend("a")
    b = env.backend("b")
    port = free_port()
    conf = env.config(port, [("a", a.address), ("b", b.address)],
                      [{"host": "*", "path": "/", "sources": ["a", "b"]}], workers=4)
    s = env.sluice(conf_text=conf, port=port)
    assert len(s.wait_workers(4)) == 4
    d = stat_json(s)
    assert sums(d) == (0, 0, 0), d

    sent = nbytes = 0
    host = "127.0.0.1:%d" % s.port
    for i in range(200):
        r = s.get("/new/%d" % i)
        assert r.status == 200, r
        sent += 1
        nbytes += len(HttpConn.build("GET", "/new/%d" % i, host=host))
    conns = [HttpConn(s.port) for _ in range(6)]
    try:
        for i in range(50):
            for k, c in enumerate(conns):
                r = c.request("GET", "/ka/%d/%d" % (k, i))
                assert r.status == 200, r
                sent += 1
                nbytes += len(HttpConn.build("GET", "/ka/%d/%d" % (k, i), host=host))
    finally:
        for c in conns:
            c.close()
    assert sent == N

    # A counter may be bumped just after the response went out: wait, bounded.
    wait_until(lambda: sums(stat_json(s)) == (N, N, N), 1.0)
    time.sleep(0.2)
    d = stat_json(s)
    assert sums(d) == (N, N, N), "totals, workers, sources after %d requests: %r" % (N, sums(d))
    assert len(d["workers"]) == 4, d["workers"]
    assert sum(w["responses"]["2xx"] for w in d["workers"]) == N
    assert d["totals"]["responses"]["2xx"] == N
    src = {x["name"]: x for x in d["sources"]}
    assert src["a"]["requests"] == a.stats()["requests"], (src["a"], a.stats())
    assert src["b"]["requests"] == b.stats()["requests"], (src["b"], b.stats())
    assert src["a"]["responses"]["2xx"] + src["b"]["responses"]["2xx"] == N
    assert d["totals"]["active"] == 0 and all(x["active"] == 0 for x in d["sources"]), d
    assert d["totals"]["bytes_out"] > 0, d["totals"]
    assert d["totals"]["bytes_in"] == nbytes, \
        "bytes_in from clients %d, the clients sent %d" % (d["totals"]["bytes_in"], nbytes)
    assert sum(w["bytes_in"] for w in d["workers"]) == nbytes, d["workers"]
