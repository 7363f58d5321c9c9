"""l00010: log reopen with `user` set (logrotate's rename + USR1). The workers run
as nobody; the master creates the error and access logs and gives them to nobody,
at start and again on USR1 after logrotate renamed them away, so every worker
reopens them: the second batch of access lines and a worker's error line land in
the new files, nothing more goes to the renamed ones, and no process logs
"Permission denied"."""

import os
import pwd
import shutil
import signal
import tempfile
import time

import pytest

from harness import wait_until


def lines(p):
    try:
        return p.read_text().splitlines()
    except FileNotFoundError:
        return []


@pytest.mark.skipif(os.geteuid() != 0, reason="privilege drop needs root")
@pytest.mark.limit(20)
def test_reopen_as_nobody_after_rename(env):
    nobody = pwd.getpwnam("nobody")
    # A log directory like /var/log/sluice: root's, 0755 (pytest's tmp dir is 0700).
    d = tempfile.mkdtemp(prefix="sluice-logs-")
    try:
        os.chmod(d, 0o755)
        from pathlib import Path
        d = Path(d)
        access, error = d / "access.log", d / "error.log"
        a = env.backend("a")
        dead = ("dead", "127.0.0.1:%d" % env.dead_port())
        s = env.sluice([a, dead], workers=2, routes=[
            {"host": "*", "path": "/dead", "sources": ["dead"]},
            {"host": "*", "path": "/", "sources": ["a"]}],
            extra={"user": "nobody",
                   "log": {"error": str(error), "level": "info", "access": str(access)}})
        assert len(s.wait_workers(2)) == 2
        assert wait_until(lambda: "ready" in error.read_text(), 3)
        for p in (access, error):
            st = p.stat()
            assert (st.st_uid, st.st_gid) == (nobody.pw_uid, nobody.pw_gid), (p, st)

        for i in range(4):
            assert s.get("/first/%d" % i).status == 200
        os.rename(access, d / "access.log.1")
        os.rename(error, d / "error.log.1")
        s.proc.send_signal(signal.SIGUSR1)
        assert wait_until(lambda: access.exists() and error.exists(), 3)
        time.sleep(0.5)                 # both workers take their USR1
        for p in (access, error):
            st = p.stat()
            assert (st.st_uid, st.st_gid) == (nobody.pw_uid, nobody.pw_gid), (p, st)
        for i in range(4):
            assert s.get("/second/%d" % i).status == 200
        # Each worker answers a 502 and logs it: worker lines in the new error log.
        for i in range(6):
            assert s.get("/dead/%d" % i).status == 502

        assert wait_until(lambda: sum("/second/" in ln for ln in lines(access)) == 4, 3), \
            lines(access)
        assert wait_until(lambda: sum("502 Bad Gateway" in ln for ln in lines(error)) >= 1, 3), \
            lines(error)
        old_access = (d / "access.log.1").read_text()
        assert old_access.count("/first/") == 4 and "/second/" not in old_access, old_access
        old_error = (d / "error.log.1").read_text()
        assert "502 Bad Gateway" not in old_error, old_error
        worker_pids = {str(p) for p in s.workers()}
        new_error = error.read_text()
        assert any("worker" in ln and "502 Bad Gateway" in ln for ln in new_error.splitlines())
        for text in (old_error, new_error):
            assert "Permission denied" not in text, text
        assert worker_pids
    finally:
        shutil.rmtree(str(d), ignore_errors=True)
