"""l00005: `user = "nobody";` drops privileges in the workers after bind: every
worker's real, effective, saved and filesystem uid and gid are nobody's (and it has
no supplementary root group), the master stays root (it binds new ports on reload);
requests work; the workers of a new generation after a reload drop too."""

import os
import pwd
import signal
import subprocess

import pytest

from harness import wait_until


def ids(pid):
    """(uids, gids, groups) of pid from /proc/PID/status."""
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for ln in f:
            k, _, v = ln.partition(":")
            if k in ("Uid", "Gid", "Groups"):
                out[k] = [int(x) for x in v.split()]
    return out["Uid"], out["Gid"], out["Groups"]


def check_worker(pid, nobody):
    # A worker drops right after its start-up (before it accepts): allow it that time.
    wait_until(lambda: ids(pid)[0] == [nobody.pw_uid] * 4, 2.0)
    uids, gids, groups = ids(pid)
    assert uids == [nobody.pw_uid] * 4, "worker %d uids %r" % (pid, uids)
    assert gids == [nobody.pw_gid] * 4, "worker %d gids %r" % (pid, gids)
    assert 0 not in groups, "worker %d keeps group 0: %r" % (pid, groups)


@pytest.mark.skipif(os.geteuid() != 0, reason="privilege drop needs root")
def test_workers_run_as_nobody(env):
    nobody = pwd.getpwnam("nobody")
    a = env.backend("a")
    s = env.sluice([a], workers=2, extra={"user": "nobody"})
    workers = s.wait_workers(2)
    assert len(workers) == 2, workers

    for w in workers:
        check_worker(w, nobody)
    assert ids(s.pid)[0] == [0, 0, 0, 0], "master uids %r" % (ids(s.pid)[0],)
    # What an operator sees in ps.
    ps = subprocess.run(["ps", "-o", "pid=,user=", "-p", ",".join(map(str, [s.pid] + workers))],
                        stdout=subprocess.PIPE, timeout=5).stdout.decode()
    users = {int(p): u for p, u in (ln.split() for ln in ps.splitlines() if ln.strip())}
    assert users == dict([(s.pid, "root")] + [(w, "nobody") for w in workers]), ps
    for i in range(6):
        r = s.get("/as-nobody/%d" % i)
        assert r.status == 200 and r.body == b"hello from a\n", r

    # A reload: the master (still root) forks a new generation, which drops too.
    s.proc.send_signal(signal.SIGHUP)
    assert wait_until(lambda: "reload: generation 2 started" in s.log(), 3.0), s.log()[-2000:]
    new = wait_until(lambda: [p for p in s.workers() if p not in workers]
                     if len([p for p in s.workers() if p not in workers]) == 2 else None, 3.0)
    assert new, "new generation's workers: %r (old %r)" % (s.workers(), workers)
    for w in new:
        check_worker(w, nobody)
    assert ids(s.pid)[0] == [0, 0, 0, 0]
    r = s.get("/after-reload")
    assert r.status == 200, r
