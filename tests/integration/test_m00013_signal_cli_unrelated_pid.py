"""m00013: while sluice runs, its pid file is overwritten with the pid of an unrelated
process (a `sleep`). `sluice -s reopen` must not send it SIGUSR1 (which would kill
it): exit status 1 and one line naming the pid file and the pid. With the right pid
back in the file, `-s reopen` works again."""

import subprocess
import time

from harness import pid_alive, run_sluice


def test_s_refuses_unrelated_pid(env):
    a = env.backend("a")
    s = env.sluice([a])
    pid_file = s.testdir / "sluice.pid"
    assert int(pid_file.read_text()) == s.pid

    sleeper = subprocess.Popen(["sleep", "30"], stdin=subprocess.DEVNULL)
    try:
        pid_file.write_text("%d\n" % sleeper.pid)
        rc, out = run_sluice(["-c", str(s.conf_path), "-s", "reopen"])
        time.sleep(0.2)
        assert pid_alive(sleeper.pid) and sleeper.poll() is None, \
            "-s reopen signalled pid %d, a sleep (rc %d: %s)" % (sleeper.pid, rc, out)
        assert rc == 1, out
        lines = out.strip().splitlines()
        assert len(lines) == 1, out
        assert str(pid_file) in lines[0] and str(sleeper.pid) in lines[0], out
    finally:
        sleeper.kill()
        sleeper.wait(2)

    pid_file.write_text("%d\n" % s.pid)
    rc, out = run_sluice(["-c", str(s.conf_path), "-s", "reopen"])
    assert rc == 0, out
    time.sleep(0.2)
    assert s.proc.poll() is None
    assert s.get("/").status == 200
