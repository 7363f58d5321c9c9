"""l00002: binary upgrade under load. While 8 keep-alive + 4 new-connection clients
run: SIGUSR2 to the master (pid_file -> pid_file.oldbin, the binary on disk is
exec'd with the listening sockets inherited); once the new master wrote pid_file and
runs its workers, QUIT to the old master. Zero failures; the old master and its
workers exit; the new master serves on alone; pid_file names it and .oldbin is gone."""

import os
import signal
import time

import pytest

from harness import children_of, pid_alive, wait_until
from loadgen import Load

GRACEFUL = 5
WORKERS = 2


def read_pid(path):
    try:
        return int(path.read_text().strip() or 0)
    except (OSError, ValueError):
        return 0


def stop_foreign_master(pid, binary, timeout=5.0):
    """Stops the upgraded master (started by our sluice, not a Popen of ours) by pid:
    SIGTERM, then SIGKILL to it and to its workers if they outlive the bound."""
    if not pid or not pid_alive(pid):
        return
    kids = children_of(pid)
    os.kill(pid, signal.SIGTERM)
    wait_until(lambda: not pid_alive(pid), timeout)
    for p in [pid] + kids:
        if not pid_alive(p):
            continue
        try:
            if os.path.realpath(os.readlink("/proc/%d/exe" % p)) == os.path.realpath(binary):
                os.kill(p, signal.SIGKILL)
        except OSError:
            pass


@pytest.mark.limit(45)
def test_upgrade_then_quit_old_under_load(env):
    a, b = env.backend("a"), env.backend("b")
    s = env.sluice([a, b], workers=WORKERS, timeouts={"graceful": GRACEFUL})
    old_pid = s.pid
    old_workers = set(s.wait_workers(WORKERS))
    assert len(old_workers) == WORKERS
    pid_file = env.dir / "sluice.pid"
    oldbin = env.dir / "sluice.pid.oldbin"
    assert read_pid(pid_file) == old_pid

    state = {"new_pid": 0}
    try:
        run(env, s, a, b, old_pid, old_workers, pid_file, oldbin, state)
    finally:
        # The new master is no Popen of ours: stop it (and its workers) by pid.
        stop_foreign_master(state["new_pid"], s.binary)


def run(env, s, a, b, old_pid, old_workers, pid_file, oldbin, state):
    load = Load(s.port, keepalive=8, newconn=4).start()
    new_pid = 0
    steps = {}
    try:
        time.sleep(2.0)                     # the old master alone
        s.proc.send_signal(signal.SIGUSR2)
        t_usr2 = time.monotonic()
        new_pid = wait_until(lambda: (read_pid(pid_file) not in (0, old_pid)
                                      and read_pid(pid_file)), 5.0) or 0
        state["new_pid"] = new_pid
        steps["new_pid"] = (new_pid, round(time.monotonic() - t_usr2, 3))
        assert new_pid, "pid_file still names %d 5 s after SIGUSR2\n%s" % (
            read_pid(pid_file), s.log()[-3000:])
        assert new_pid in children_of(old_pid), "new master %d is not the old one's child" % new_pid
        new_workers = wait_until(lambda: len(children_of(new_pid)) == WORKERS
                                 and children_of(new_pid), 5.0)
        assert new_workers, "new master %d has children %r" % (new_pid, children_of(new_pid))
        assert read_pid(oldbin) == old_pid, "pid_file.oldbin holds %r" % read_pid(oldbin)
        assert s.proc.poll() is None and all(pid_alive(p) for p in old_workers)
        time.sleep(2.5)                     # both masters' workers accept
        s.proc.send_signal(signal.SIGQUIT)
        t_quit = time.monotonic()
        try:
            s.proc.wait(GRACEFUL + 3)
        except Exception:
            pass
        steps["old_exit"] = (s.proc.returncode, round(time.monotonic() - t_quit, 3))
        assert s.proc.poll() is not None, "old master still running %.1fs after QUIT" % (
            time.monotonic() - t_quit)
        assert s.proc.returncode == 0, s.proc.returncode
        assert not [p for p in old_workers if pid_alive(p)], "old workers outlived their master"
        # Right after the old master exited: its .oldbin is gone, pid_file is the new one's.
        assert not oldbin.exists(), "%s still there after the old master exited" % oldbin
        assert read_pid(pid_file) == new_pid
        time.sleep(3.0)                     # the new master serves alone
        assert pid_alive(new_pid), "new master died\n" + s.log()[-3000:]
        assert sorted(children_of(new_pid)) == sorted(new_workers)
    finally:
        load.stop()
        report = load.report()
        print(report, steps)

    assert load.failures == [], "requests failed around the upgrade %r\n%s" % (steps, report)
    assert load.ok >= 300, report
    counted = a.stats()["requests"] + b.stats()["requests"]
    assert counted == load.ok, "backends counted %d, clients saw %d answered\n%s" % (
        counted, load.ok, report)
    log = s.log()
    assert "upgrade: started" in log and "as pid %d" % new_pid in log, log[-3000:]

    # Still serving after the load, then the new master stops cleanly on TERM.
    r = s.get("/after-upgrade")
    assert r.status == 200, r
    kids = children_of(new_pid)
    os.kill(new_pid, signal.SIGTERM)
    assert wait_until(lambda: not pid_alive(new_pid), 5.0), "new master ignores SIGTERM"
    assert wait_until(lambda: not [p for p in kids if pid_alive(p)], 2.0)
    assert not pid_file.exists(), "pid_file left behind by the new master"
