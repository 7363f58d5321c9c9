"""h00035: running out of descriptors (issue 10, item 1). One worker with
RLIMIT_NOFILE 256 and ~600 clients queued on its listener: accept() fails with
EMFILE for as long as they wait. The worker must not spin on it (the old build
took 100 % CPU and wrote ~370 000 log lines a second): it stops accepting for a
short back-off, logs one warning per back-off naming the listener (with the
count of failures suppressed since the last one), keeps serving the clients it
already has, counts accept_emfile / accept_pauses in shm, and serves new
clients again as soon as descriptors come free. A graceful stop during a
back-off stays a stop: the back-off timer does not restart accepting.

The master raises RLIMIT_NOFILE to max_connections * 2 + 256 at start-up, and as
root it may raise the hard limit too, so a limit set before exec does not stick;
the test lowers the running worker's limit with prlimit(2) instead."""

import json
import os
import re
import resource
import signal
import socket
import subprocess
import time
from pathlib import Path

from harness import HttpConn, pid_alive, sluice_bin, wait_until

STAT = (os.environ.get("SLUICE_STAT_BIN") or os.environ.get("SLUICE_STAT")
        or str(Path(sluice_bin()).parent / "sluice-stat"))
NOFILE = 256
KEEPALIVE = 5           # clients connected before the shortage
FLOOD = 600             # connections that cannot all get a descriptor
WINDOW = 2.0            # seconds of exhaustion measured
HEAD = b"GET /flood HTTP/1.1\r\n"   # a partial head: passes TCP_DEFER_ACCEPT, then waits


def stat_json(s):
    assert os.access(STAT, os.X_OK), "no sluice-stat binary at %s" % STAT
    p = subprocess.run([STAT, "-c", str(s.conf_path), "--json"], capture_output=True,
                       text=True, timeout=5)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def nfds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def cpu_ticks(pid):
    with open("/proc/%d/stat" % pid) as f:
        st = f.read()
    fields = st[st.rfind(")") + 2:].split()
    return int(fields[11]) + int(fields[12])        # utime + stime


def log_lines(path):
    n = 0
    with open(path, "rb") as f:
        while True:
            b = f.read(1 << 20)
            if not b:
                return n
            n += b.count(b"\n")


def test_accept_backs_off_when_out_of_descriptors(env):
    a = env.backend("a")
    elog = env.dir / "error.log"
    s = env.sluice([a], workers=1, timeouts={"client_header": 30, "client_keepalive": 30},
                   extra={"limits": {"max_connections": 10000},
                          "log": {"error": str(elog), "level": "info"}})
    [wpid] = s.wait_workers(1)
    resource.prlimit(wpid, resource.RLIMIT_NOFILE, (NOFILE, NOFILE))
    assert resource.prlimit(wpid, resource.RLIMIT_NOFILE) == (NOFILE, NOFILE)

    keep = [HttpConn(s.port, timeout=3) for _ in range(KEEPALIVE)]
    flood = []
    try:
        for c in keep:
            assert c.request("GET", "/echo").status == 200
        for _ in range(FLOOD):
            sk = socket.create_connection(("127.0.0.1", s.port), timeout=2)
            sk.sendall(HEAD)
            flood.append(sk)
        # The worker fills its table, then accept() fails for the rest.
        assert wait_until(lambda: nfds(wpid) >= NOFILE - 2, 3.0), \
            "worker holds only %d descriptors with %d clients queued" % (nfds(wpid), FLOOD)
        time.sleep(0.2)

        lines0, cpu0, t0 = log_lines(elog), cpu_ticks(wpid), time.monotonic()
        served = 0
        while time.monotonic() - t0 < WINDOW:
            for c in keep:
                r = c.request("GET", "/echo")
                assert r.status == 200, "keep-alive client not served while exhausted: %r" % r
                served += 1
            # Churn: an accepted client leaves, a queued one takes its descriptor,
            # and accept() fails again: more back-offs than warnings.
            flood.pop(0).close()
            time.sleep(0.2)
        lines1, cpu1, t1 = log_lines(elog), cpu_ticks(wpid), time.monotonic()
        wall = t1 - t0
        rate = (lines1 - lines0) / wall
        cpu = (cpu1 - cpu0) / os.sysconf("SC_CLK_TCK") / wall
        print("exhausted %.2f s: %.1f log lines/s, worker CPU %.1f %%, %d requests served"
              % (wall, rate, cpu * 100, served))
        assert rate < 100, "error log grew by %.0f lines/s while out of descriptors" % rate
        assert cpu < 0.10, "worker used %.0f %% CPU while out of descriptors" % (cpu * 100)
    finally:
        for sk in flood:
            sk.close()

    # Descriptors come free: a new client is served at once (within 1 s).
    t2 = time.monotonic()
    r = None
    while r is None and time.monotonic() - t2 < 3.0:
        try:
            with HttpConn(s.port, timeout=1) as c:
                r = c.request("GET", "/echo")
        except OSError:
            pass
    back = time.monotonic() - t2
    print("served again %.3f s after the clients left" % back)
    assert r is not None and r.status == 200, r
    assert back < 1.0, "first new client served %.2f s after descriptors came free" % back
    for c in keep:
        assert c.request("GET", "/echo").status == 200
        c.close()

    st = stat_json(s)
    [w] = [x for x in st["workers"] if x["pid"] == wpid]
    assert w["accept_pauses"] >= 1 and w["accept_emfile"] >= 1, w
    assert st["totals"]["accept_pauses"] >= 1 and st["totals"]["accept_emfile"] >= 1, st["totals"]
    assert w["accept_emfile"] >= w["accept_pauses"], w
    text = elog.read_text(errors="replace")
    warn = re.findall(r"^.*listener 127\.0\.0\.1:%d\b.*Too many open files.*\b(\d+) "
                      r"failure\(s\) suppressed.*$" % s.port, text, re.M)
    assert warn, "no back-off warning naming the listener in the error log:\n%s" % text[-2000:]
    assert len(warn) <= 2 * (WINDOW + 3) + 2, len(warn)
    # Every back-off is either logged or counted into the next warning.
    assert sum(int(n) for n in warn) >= 1, warn
    assert s.workers() == [wpid]


def test_backoff_timer_does_not_undo_a_drain(env):
    """A graceful stop during a back-off: the timer firing later must not start
    the listener watchers again (their descriptors are closed by then)."""
    a = env.backend("a")
    elog = env.dir / "error.log"
    s = env.sluice([a], workers=1, timeouts={"client_header": 30, "client_keepalive": 30,
                                             "graceful": 1},
                   extra={"limits": {"max_connections": 10000},
                          "log": {"error": str(elog), "level": "info"}})
    [wpid] = s.wait_workers(1)
    resource.prlimit(wpid, resource.RLIMIT_NOFILE, (NOFILE, NOFILE))
    flood = []
    try:
        for _ in range(NOFILE + 50):
            sk = socket.create_connection(("127.0.0.1", s.port), timeout=2)
            sk.sendall(HEAD)
            flood.append(sk)
        assert wait_until(lambda: "Too many open files" in elog.read_text(errors="replace"),
                          3.0), elog.read_text(errors="replace")[-2000:]
        os.kill(wpid, signal.SIGQUIT)
        # graceful = 1: the worker exits about 1 s later, the back-off timer
        # (0.5 s) having fired in between.
        assert wait_until(lambda: not pid_alive(wpid), 3.0), "worker still running"
    finally:
        for sk in flood:
            sk.close()
    text = elog.read_text(errors="replace")
    after = text[text.index("graceful stop"):]
    assert "cannot accept" not in after, after[:2000]
    assert "killed by signal" not in after, after[:2000]
    assert re.search(r"worker 0 \(pid %d\) exited with status 0" % wpid, after), after[:2000]
