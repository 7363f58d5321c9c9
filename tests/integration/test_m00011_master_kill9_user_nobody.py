"""m00011: with `user = "nobody"` the workers and the health checker drop privileges,
which clears a parent-death signal set right after fork; they ask for it again
afterwards, so a kill -9 of the (root) master still makes every child exit within
timeouts.graceful + 1 s and frees the port."""

import os
import signal
import time

import pytest

from harness import can_connect, free_port, pid_alive, wait_until

GRACEFUL = 2


def uid(pid):
    with open("/proc/%d/status" % pid) as f:
        for ln in f:
            if ln.startswith("Uid:"):
                return int(ln.split()[1])
    return None


@pytest.mark.skipif(os.geteuid() != 0, reason="privilege drop needs root")
def test_master_kill9_children_exit_after_privilege_drop(env):
    a = env.backend("a")
    port = free_port()
    conf = env.config(port, [("a", a.address)],
                      [{"host": "*", "path": "/", "sources": ["a"]}], workers=2,
                      timeouts={"graceful": GRACEFUL},
                      extra={"user": "nobody",
                             "health": {"path": "/__health", "interval": 0.5, "timeout": 1,
                                        "rise": 1, "fall": 2}})
    s = env.sluice(conf_text=conf, port=port)
    kids = s.wait_workers(3)
    assert len(kids) == 3, kids
    # Workers drop before they accept; give them that moment.
    wait_until(lambda: all(uid(k) != 0 for k in kids if pid_alive(k)), 2.0)
    assert s.get("/before").status == 200

    os.kill(s.pid, signal.SIGKILL)
    t0 = time.monotonic()
    s.proc.wait(2)
    gone = wait_until(lambda: not any(pid_alive(k) for k in kids), GRACEFUL + 1.0,
                      interval=0.05)
    alive = [(k, uid(k)) for k in kids if pid_alive(k)]
    assert gone, "children (pid, uid) %r still running %.1f s after kill -9 of the master" % (
        alive, time.monotonic() - t0)
    assert not can_connect(port, timeout=0.2), "port %d still accepts" % port
