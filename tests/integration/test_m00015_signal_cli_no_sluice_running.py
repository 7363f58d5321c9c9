"""m00015: sluice has stopped, and its stale pid file now names an unrelated process
(a `sleep`). With no segment to ask, `sluice -s quit` checks that the process is
sluice at all: exit 1 with one line naming the pid file and the pid, and the sleep
is not signalled."""

import subprocess
import time

from harness import pid_alive, run_sluice, wait_until


def test_s_refuses_when_not_running(env):
    a = env.backend("a")
    s = env.sluice([a])
    conf = str(s.conf_path)
    pid_file = s.testdir / "sluice.pid"
    rc, out = run_sluice(["-c", conf, "-s", "stop"])
    assert rc == 0, out
    assert wait_until(lambda: s.proc.poll() is not None, 3.0)

    sleeper = subprocess.Popen(["sleep", "30"], stdin=subprocess.DEVNULL)
    try:
        pid_file.write_text("%d\n" % sleeper.pid)
        rc, out = run_sluice(["-c", conf, "-s", "quit"])
        time.sleep(0.2)
        assert pid_alive(sleeper.pid) and sleeper.poll() is None, \
            "-s quit signalled pid %d, a sleep (rc %d: %s)" % (sleeper.pid, rc, out)
        assert rc == 1, out
        lines = out.strip().splitlines()
        assert len(lines) == 1, out
        assert str(pid_file) in lines[0] and str(sleeper.pid) in lines[0], out
    finally:
        sleeper.kill()
        sleeper.wait(2)
