"""m00010: kill -9 of the master. Its workers and the health checker notice (parent-
death signal) and stop: the port refuses new connections within 1 s, an idle
keep-alive client is not cut before the workers' graceful drain ends, and every
child has exited within timeouts.graceful (2 s) + 1 s. A new sluice then starts on
the same port and segment and serves."""

import os
import signal
import time

from harness import HttpConn, can_connect, free_port, pid_alive, wait_until

GRACEFUL = 2


def test_master_kill9_children_exit(env):
    a = env.backend("a")
    port = free_port()
    conf = env.config(port, [("a", a.address)],
                      [{"host": "*", "path": "/", "sources": ["a"]}], workers=2,
                      timeouts={"graceful": GRACEFUL, "client_keepalive": 60},
                      extra={"health": {"path": "/__health", "interval": 0.5, "timeout": 1,
                                        "rise": 1, "fall": 2}})
    s = env.sluice(conf_text=conf, port=port)
    kids = s.wait_workers(3)            # two workers and the health checker
    assert len(kids) == 3, kids
    assert wait_until(lambda: a.stats()["health_checks"] >= 1, 2.0), "checker never probed"

    idle = HttpConn(port)
    r = idle.request("GET", "/before")
    assert r.status == 200, r

    os.kill(s.pid, signal.SIGKILL)
    t0 = time.monotonic()
    s.proc.wait(2)

    refused = wait_until(lambda: not can_connect(port, timeout=0.2), 1.0, interval=0.05)
    assert refused, "port %d still accepts 1 s after the master died" % port
    gone = wait_until(lambda: not any(pid_alive(k) for k in kids), GRACEFUL + 1.0,
                      interval=0.05)
    alive = [k for k in kids if pid_alive(k)]
    assert gone, "children %r still running %.1f s after kill -9 of the master" % (
        alive, time.monotonic() - t0)
    assert time.monotonic() - t0 <= GRACEFUL + 1.0
    idle.close()
    assert "graceful stop" in s.log(), s.log()[-2000:]

    s2 = env.sluice(conf_text=conf, port=port, name="sluice2")
    assert len(s2.wait_workers(3)) == 3
    r = s2.get("/after")
    assert r.status == 200 and r.header("X-Backend") == "a", r
