"""h00036: a local shortage is not the source's fault (issue 10, item 2). One
worker with RLIMIT_NOFILE 256 whose descriptor table is full of idle clients,
a route with reuse_max = 0 (every request needs a new backend socket) and a
source with max_fails = 1: socket() fails with EMFILE, and the request must be
answered 503 (not 502) without a failure counted against the source (one
would mark it down for every worker). sluice-stat shows the source up with no
failures and local_errors moved by exactly the number of 503s; once clients
leave, the next request is served by the source.

The master raises RLIMIT_NOFILE at start-up (as root even the hard limit), so
the test lowers the running worker's limit with prlimit(2)."""

import json
import os
import resource
import socket
import subprocess
from pathlib import Path

from harness import HttpConn, free_port, sluice_bin, wait_until

STAT = (os.environ.get("SLUICE_STAT_BIN") or os.environ.get("SLUICE_STAT")
        or str(Path(sluice_bin()).parent / "sluice-stat"))
NOFILE = 256
SHORT = 3           # requests sent while the worker is out of descriptors
QUEUED = 20         # clients left waiting in the listen queue beyond the limit
HEAD = b"GET /idle HTTP/1.1\r\n"    # a partial head: passes TCP_DEFER_ACCEPT, then waits


def stat_json(s):
    assert os.access(STAT, os.X_OK), "no sluice-stat binary at %s" % STAT
    p = subprocess.run([STAT, "-c", str(s.conf_path), "--json"], capture_output=True,
                       text=True, timeout=5)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def source(st, name):
    [x] = [x for x in st["sources"] if x["name"] == name]
    return x


def nfds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def test_emfile_toward_source_is_503_not_a_failure(env):
    a = env.backend("a")
    port = free_port()
    elog = env.dir / "error.log"
    conf = env.config(port, [], [{"host": "*", "path": "/", "sources": ["a"],
                                  "reuse_max": 0}], workers=1,
                      timeouts={"client_header": 30, "client_keepalive": 30},
                      extra={"sources": [{"name": "a", "address": a.address, "max_fails": 1,
                                          "fail_timeout": 30}],
                             "limits": {"max_connections": 10000},
                             "log": {"error": str(elog), "level": "info"}})
    s = env.sluice(conf_text=conf, port=port)
    [wpid] = s.wait_workers(1)
    resource.prlimit(wpid, resource.RLIMIT_NOFILE, (NOFILE, NOFILE))

    # Clients with a request each already answered: they hold a descriptor and
    # no backend connection (reuse_max = 0 closes it after every response).
    keep = [HttpConn(port, timeout=3) for _ in range(SHORT + 1)]
    idle = []
    try:
        for c in keep:
            r = c.request("GET", "/echo")
            assert (r.status, r.header("X-Backend")) == (200, "a"), r
        assert wait_until(lambda: stat_json(s)["totals"]["active"] == 0, 2.0)
        st0 = stat_json(s)
        assert source(st0, "a")["failures"] == 0, source(st0, "a")

        # Fill the worker's table: accept() fails for the last QUEUED clients.
        for _ in range(NOFILE - nfds(wpid) + QUEUED):
            sk = socket.create_connection(("127.0.0.1", port), timeout=2)
            sk.sendall(HEAD)
            idle.append(sk)
        full = lambda: nfds(wpid) >= NOFILE     # noqa: E731
        assert wait_until(full, 3.0), "worker holds %d of %d descriptors" % (nfds(wpid), NOFILE)

        for i, c in enumerate(keep[:SHORT]):
            # A 503 that closes its client frees a descriptor, which a queued
            # client takes in turn: wait for the table to be full again.
            assert wait_until(full, 2.0), "request %d: worker holds %d descriptors" % (
                i, nfds(wpid))
            r = c.request("GET", "/echo?short=%d" % i)
            assert r.status == 503, "request %d while out of descriptors: %r" % (i, r)

        st1 = stat_json(s)
        x = source(st1, "a")
        assert x["health"] == "up" and x["failures"] == 0, x
        delta = st1["totals"]["local_errors"] - st0["totals"]["local_errors"]
        assert delta == SHORT, "local_errors moved by %d for %d 503s" % (delta, SHORT)
    finally:
        for sk in idle:
            sk.close()

    # Descriptors free again: the source serves (it was never marked down).
    assert wait_until(lambda: nfds(wpid) < NOFILE // 2, 3.0), nfds(wpid)
    with HttpConn(port, timeout=3) as c:
        r = c.request("GET", "/echo")
    assert (r.status, r.header("X-Backend")) == (200, "a"), r
    r = keep[SHORT].request("GET", "/echo")
    assert (r.status, r.header("X-Backend")) == (200, "a"), r
    x = source(stat_json(s), "a")
    assert x["health"] == "up" and x["failures"] == 0, x
    for c in keep:
        c.close()
    assert s.workers() == [wpid]
