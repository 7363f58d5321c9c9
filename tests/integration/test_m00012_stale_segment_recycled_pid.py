"""m00012: a segment left by a crashed sluice (master and workers SIGKILLed) whose
recorded master pid now belongs to an unrelated live process (a `sleep` we start
and write into the header) is stale: sluice-stat says the master is not alive, and
a new sluice on the same configuration starts (it used to refuse: "segment ... is
in use by pid N"), replaces the segment and serves."""

import json
import mmap
import os
import signal
import struct
import subprocess
from pathlib import Path

from harness import free_port, pid_alive, sluice_bin, wait_until

STAT = (os.environ.get("SLUICE_STAT_BIN") or os.environ.get("SLUICE_STAT")
        or str(Path(sluice_bin()).parent / "sluice-stat"))
MASTER_PID_OFF = 32     # shm_hdr.master_pid, stable in every layout


def stat_json(conf_path):
    p = subprocess.run([STAT, "-c", str(conf_path), "--json"], capture_output=True,
                       text=True, timeout=5)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def test_stale_segment_with_recycled_pid(env):
    a = env.backend("a")
    port = free_port()
    shm = "/sluice-test-%d" % port
    conf = env.config(port, [("a", a.address)],
                      [{"host": "*", "path": "/", "sources": ["a"]}], workers=1)
    s = env.sluice(conf_text=conf, port=port)
    kids = s.wait_workers(1)
    assert len(kids) == 1, kids
    assert s.get("/").status == 200

    # The crash: everything SIGKILLed, the segment stays behind.
    os.kill(s.pid, signal.SIGKILL)
    for k in kids:
        os.kill(k, signal.SIGKILL)
    s.proc.wait(2)
    assert wait_until(lambda: not any(pid_alive(k) for k in kids), 2.0)
    assert os.path.exists("/dev/shm" + shm)

    sleeper = subprocess.Popen(["sleep", "30"], stdin=subprocess.DEVNULL)
    try:
        with open("/dev/shm" + shm, "r+b") as f:
            m = mmap.mmap(f.fileno(), 256)
            m[MASTER_PID_OFF:MASTER_PID_OFF + 4] = struct.pack("<i", sleeper.pid)
            m.close()
        d = stat_json(s.conf_path)
        assert d["master_pid"] == sleeper.pid, d["master_pid"]
        assert d["master_alive"] is False, \
            "sluice-stat calls pid %d (a sleep) the live master" % sleeper.pid

        s2 = env.sluice(conf_text=conf, port=port, name="sluice2", start=False)
        s2.start(wait=False)
        up = wait_until(lambda: s2.proc.poll() is not None or
                        (lambda w: len(w) == 1)(s2.workers()), 5.0)
        assert s2.proc.poll() is None, "new sluice exited %s:\n%s" % (
            s2.proc.returncode, s2.log())
        assert up
        s2.wait_listening()
        assert s2.get("/again").status == 200
        d = stat_json(s2.conf_path)
        assert d["master_pid"] == s2.pid and d["master_alive"] is True, d
        assert pid_alive(sleeper.pid), "the unrelated process was left alone"
    finally:
        sleeper.kill()
        sleeper.wait(2)
