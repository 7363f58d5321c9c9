"""m00014: the pid file names one of sluice's own workers (a sluice process, but not
the master the segment records). `sluice -s stop` refuses (exit 1, one line naming
the pid file and the pid) instead of stopping that worker; the worker and the
master serve on."""

import time

from harness import pid_alive, run_sluice


def test_s_refuses_worker_pid(env):
    a = env.backend("a")
    s = env.sluice([a], workers=2)
    kids = s.wait_workers(2)
    assert len(kids) == 2, kids
    victim = kids[0]
    pid_file = s.testdir / "sluice.pid"
    pid_file.write_text("%d\n" % victim)

    rc, out = run_sluice(["-c", str(s.conf_path), "-s", "stop"])
    time.sleep(0.3)
    assert pid_alive(victim), "-s stop signalled worker %d (rc %d: %s)" % (victim, rc, out)
    assert rc == 1, out
    lines = out.strip().splitlines()
    assert len(lines) == 1 and str(pid_file) in lines[0] and str(victim) in lines[0], out
    assert s.proc.poll() is None and sorted(s.workers()) == sorted(kids)
    assert s.get("/").status == 200
