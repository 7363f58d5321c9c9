"""l00004: SIGUSR1 reopens the logs (logrotate). With log.access (and log.error) set
to files: requests, rename both files, SIGUSR1 to the master, more requests. Lines
still buffered at the rename are flushed into the renamed file before the reopen;
the renamed access log holds exactly the first requests, the new file exactly the
later ones (after the <= 1 s buffered flush), each in the documented format; the
master's later error-log lines go to the new error log."""

import os
import re
import signal
import time

from harness import wait_until

N = 6
LINE = re.compile(
    r'^127\.0\.0\.1 - - \[\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2} \+0000\] '
    r'"GET (?P<target>/\S+) HTTP/1\.1" 200 (?P<bytes>\d+) "(?P<ref>[^"]*)" "(?P<ua>[^"]*)" '
    r'src=a ustatus=200 rt=\d+\.\d{3} urt=\d+\.\d{3} term=-- rid=[0-9a-f]{32}$')


def lines(path):
    try:
        return path.read_text().splitlines()
    except FileNotFoundError:
        return []


def requests(s, tag):
    for i in range(N):
        hs = [("Referer", "http://ref.test/%s" % tag), ("User-Agent", "lg-agent/%d" % i)] \
            if i % 2 else []
        r = s.get("/%s/%d" % (tag, i), headers=hs)
        assert r.status == 200, r
    return {"/%s/%d" % (tag, i) for i in range(N)}


def check(path, want, tag):
    got = lines(path)
    targets = []
    for ln in got:
        m = LINE.match(ln)
        assert m, "access log line not in the documented format: %r" % ln
        targets.append(m.group("target"))
        i = int(m.group("target").rsplit("/", 1)[1])
        if i % 2:
            assert m.group("ref") == "http://ref.test/%s" % tag and \
                m.group("ua") == "lg-agent/%d" % i, ln
        else:
            assert m.group("ref") == "-" and m.group("ua") == "-", ln
        assert int(m.group("bytes")) > 0, ln
    assert sorted(targets) == sorted(want), "%s holds %r, expected %r" % (path, got, sorted(want))


def test_usr1_reopens_logs_after_rename(env):
    a = env.backend("a")
    access = env.dir / "access.log"
    error = env.dir / "error.log"
    s = env.sluice([a], workers=2,
                   extra={"log": {"error": str(error), "level": "info", "access": str(access)}})
    assert len(s.wait_workers(2)) == 2
    assert wait_until(lambda: "ready" in error.read_text(), 2.0), error.read_text()

    first = requests(s, "first")
    # Rename at once: lines may still sit in the workers' buffers.
    os.rename(access, env.dir / "access.log.1")
    os.rename(error, env.dir / "error.log.1")
    s.proc.send_signal(signal.SIGUSR1)
    assert wait_until(lambda: access.exists() and error.exists(), 2.0), \
        "no new log files after SIGUSR1: %r" % sorted(os.listdir(env.dir))
    time.sleep(0.3)                 # the other worker handles its USR1 too
    second = requests(s, "second")

    assert wait_until(lambda: len(lines(access)) >= N, 2.5), lines(access)
    time.sleep(0.3)
    check(env.dir / "access.log.1", first, "first")
    check(access, second, "second")

    # The master's error log moved too: a reload's lines land in the new file only.
    s.proc.send_signal(signal.SIGHUP)
    assert wait_until(lambda: "reload: generation 2 started" in error.read_text(), 3.0), \
        error.read_text()
    old = (env.dir / "error.log.1").read_text()
    assert "ready" in old and "reload:" not in old, old
