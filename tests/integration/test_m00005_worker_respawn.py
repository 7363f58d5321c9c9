"""m00005: a worker killed with SIGKILL is replaced within 3 s, and requests keep
succeeding during and after."""

import os
import signal
import time

from harness import get_new_conn


def test_kill9_worker_respawned(env):
    a = env.backend("a")
    b = env.backend("b")
    s = env.sluice([a, b], workers=2)
    before = s.wait_workers(2)
    assert len(before) == 2, before
    for i in range(4):
        assert get_new_conn(s.port, "/").status == 200

    victim = before[0]
    os.kill(victim, signal.SIGKILL)
    t0 = time.monotonic()
    respawned_at = None
    statuses = []
    while time.monotonic() - t0 < 3.0:
        statuses.append(get_new_conn(s.port, "/during", timeout=3).status)
        kids = s.workers()
        if respawned_at is None and len(kids) == 2 and victim not in kids:
            respawned_at = time.monotonic() - t0
        if respawned_at is not None and len(statuses) >= 20:
            break
        time.sleep(0.02)
    assert respawned_at is not None, "no new worker within 3 s: %r" % s.workers()
    assert set(statuses) == {200}, statuses

    after = s.workers()
    assert victim not in after and len(after) == 2
    assert s.proc.poll() is None, "master died"
    for i in range(20):
        assert get_new_conn(s.port, "/after").status == 200
