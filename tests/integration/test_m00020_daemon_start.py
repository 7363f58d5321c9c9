"""m00020: without -f, sluice detaches but its parent waits until the master is ready
(exit 0: the pid file is written and the port answers the moment the command
returns) or has failed after the fork (exit 1 with the cause on stderr: the shm
segment is in use by another running sluice, the pid file cannot be written).
With -f and a log file, a start-up error is on stderr as well as in the log."""

import os
import signal
import subprocess
import time

import pytest

import harness
from harness import can_connect, pid_alive, wait_until


def conf_text(env, port, shm, pid_file, log):
    a = ("a", "127.0.0.1:%d" % env.dead_port())
    text = harness.make_config(env.dir, port, [a], [{"host": "*", "path": "/", "sources": ["a"]}],
                               workers=1)
    text = text.replace('pid_file = "%s"' % (env.dir / "sluice.pid"), 'pid_file = "%s"' % pid_file)
    text = text.replace('shm = "/sluice-test-%d"' % port, 'shm = "%s"' % shm)
    return text.replace('error = "stderr"', 'error = "%s"' % log)


def start(conf, *args):
    return subprocess.run([harness.sluice_bin()] + list(args) + ["-c", str(conf)],
                          stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=15)


def read_pid(p):
    try:
        return int(p.read_text().strip() or 0)
    except (OSError, ValueError):
        return 0


def stop(pid):
    if pid and pid_alive(pid):
        os.kill(pid, signal.SIGTERM)
        wait_until(lambda: not pid_alive(pid), 8)


@pytest.mark.limit(40)
def test_detach_waits_for_ready_and_reports_failures(env):
    shm = "/sluice-test-daemon-%d" % os.getpid()
    port = harness.free_port()
    pid_file = env.dir / "d.pid"
    conf = env.dir / "d.conf"
    conf.write_text(conf_text(env, port, shm, pid_file, env.dir / "d.log"))
    master = 0
    try:
        p = start(conf)
        assert p.returncode == 0, p.stderr.decode()
        # Ready when the command returned: no waiting here.
        master = read_pid(pid_file)
        assert master and pid_alive(master), pid_file
        assert can_connect(port), "the port did not answer when sluice returned"
        assert "ready" in (env.dir / "d.log").read_text()

        # Same segment, another port: the listener opens, then the segment is in
        # use by a live master: exit 1 and the reason on stderr.
        port2 = harness.free_port()
        conf2 = env.dir / "d2.conf"
        conf2.write_text(conf_text(env, port2, shm, env.dir / "d2.pid", env.dir / "d2.log"))
        t0 = time.monotonic()
        p2 = start(conf2)
        err = p2.stderr.decode()
        assert p2.returncode == 1, (p2.returncode, err)
        assert shm in err and "in use" in err, err
        assert "start-up failed" in err, err
        assert time.monotonic() - t0 < 10
        assert not (env.dir / "d2.pid").exists()

        # With -f and a log file, the same error is on stderr too.
        p3 = start(conf2, "-f")
        err = p3.stderr.decode()
        assert p3.returncode == 1, (p3.returncode, err)
        assert shm in err and "in use" in err, err
        assert "in use" in (env.dir / "d2.log").read_text()
    finally:
        stop(master or read_pid(pid_file))


@pytest.mark.limit(30)
def test_pid_file_unwritable(env):
    port = harness.free_port()
    conf = env.dir / "p.conf"
    conf.write_text(conf_text(env, port, "/sluice-test-pf-%d" % port,
                              env.dir / "no-such-dir" / "p.pid", env.dir / "p.log"))
    p = start(conf)
    err = p.stderr.decode()
    assert p.returncode == 1, (p.returncode, err)
    assert "cannot write pid file" in err and "no-such-dir" in err, err
    # Nothing left running on the port.
    assert wait_until(lambda: not can_connect(port), 5)
