"""m00016: with `user = "nobody"` the health checker drops privileges like the
workers: every child of the master (two workers and the checker) runs with all
four uids and gids nobody's, and the checker still probes (sources stay up, the
backend counts its checks); the master stays root."""

import os
import pwd

import pytest

from harness import free_port, wait_until


def ids(pid):
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for ln in f:
            k, _, v = ln.partition(":")
            if k in ("Uid", "Gid"):
                out[k] = [int(x) for x in v.split()]
    return out["Uid"], out["Gid"]


@pytest.mark.skipif(os.geteuid() != 0, reason="privilege drop needs root")
def test_health_checker_runs_as_nobody(env):
    nobody = pwd.getpwnam("nobody")
    a = env.backend("a")
    port = free_port()
    conf = env.config(port, [("a", a.address)],
                      [{"host": "*", "path": "/", "sources": ["a"]}], workers=2,
                      extra={"user": "nobody",
                             "health": {"path": "/__health", "interval": 0.3, "timeout": 1,
                                        "rise": 1, "fall": 2}})
    s = env.sluice(conf_text=conf, port=port)
    kids = s.wait_workers(3)
    assert len(kids) == 3, kids
    want = ([nobody.pw_uid] * 4, [nobody.pw_gid] * 4)
    wait_until(lambda: all(ids(k) == want for k in kids), 2.0)
    got = {k: ids(k) for k in kids}
    assert all(v == want for v in got.values()), \
        "children (uids, gids): %r, want %r" % (got, want)
    assert ids(s.pid)[0] == [0, 0, 0, 0]

    n = a.stats()["health_checks"]
    assert wait_until(lambda: a.stats()["health_checks"] >= n + 2, 2.0), \
        "the checker stopped probing after the drop"
    assert s.get("/").status == 200
