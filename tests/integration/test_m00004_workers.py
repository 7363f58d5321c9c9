"""m00004: the master forks `workers` children running the same binary and writes
its own PID to pid_file."""

import os

from harness import get_new_conn


def test_workers_and_pid_file(env):
    a = env.backend("a")
    s = env.sluice([a], workers=3)

    kids = s.wait_workers(3)
    assert len(kids) == 3, kids
    for k in kids:
        assert os.path.realpath(os.readlink("/proc/%d/exe" % k)) == \
            os.path.realpath(s.binary)
    pid_file = env.dir / "sluice.pid"
    assert pid_file.read_text().strip() == str(s.pid)
    for i in range(6):
        assert get_new_conn(s.port, "/").status == 200
