"""s00020: sluice-stat during a binary upgrade (USR2) shows both generations.
1. After USR2 and before QUIT to the old master, the old master's segment is
   <shm>.oldbin: the table lists the new master's workers, then an "old binary"
   section with the old master's; --json has them under "old_binary" (its
   master_pid, workers[]); --prometheus repeats the worker series with
   binary="old". After QUIT to the old master its workers are gone from every
   output and no <shm>.oldbin is left.
2. Rolled back (the new master stopped instead): the old master gets the name
   back, sluice-stat shows it alone, no .oldbin is left.
3. A .oldbin whose master was killed is ignored by sluice-stat and removed by
   the next master that starts on that name."""

import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from harness import Sluice, children_of, pid_alive, stat_bin, wait_until

WORKERS = 2


def read_pid(path):
    try:
        return int(path.read_text().strip() or 0)
    except (OSError, ValueError):
        return 0


def stop_foreign_master(pid, binary, timeout=5.0):
    """Stops an upgraded master (no Popen of ours) by pid: SIGTERM, then SIGKILL to
    it and its workers if they outlive the bound and still run our binary."""
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


def stat(s, *args):
    p = subprocess.run([stat_bin(), "-c", str(s.conf_path)] + list(args),
                       capture_output=True, text=True, timeout=5)
    assert p.returncode == 0, p.stderr
    return p.stdout


def shm_paths(s):
    name = re.search(r'^shm = "(/[^"]+)";', s.conf_path.read_text(), re.M).group(1)
    return Path("/dev/shm" + name), Path("/dev/shm" + name + ".oldbin")


def upgrade(env, s):
    """SIGUSR2; returns the new master's pid once it runs WORKERS workers."""
    pid_file = env.dir / "sluice.pid"
    s.proc.send_signal(signal.SIGUSR2)
    new_pid = wait_until(lambda: read_pid(pid_file) not in (0, s.pid) and read_pid(pid_file),
                         5.0)
    assert new_pid, "no new master 5 s after SIGUSR2\n" + s.log()[-3000:]
    assert wait_until(lambda: len(children_of(new_pid)) == WORKERS, 5.0), children_of(new_pid)
    return new_pid


def live_pids(workers):
    return sorted(w["pid"] for w in workers if w["pid"])


def table_sections(text):
    """(pids of the worker rows before "old binary", old master pid or None, pids after)."""
    lines = text.split("\n")
    w = next(i for i, ln in enumerate(lines) if ln.startswith("WORKER "))
    new, old, old_pid, cur = [], [], None, None
    cur = new
    for ln in lines[w + 1:]:
        if not ln.strip():
            break
        m = re.match(r"^old binary  master pid (\d+) ", ln)
        if m:
            old_pid, cur = int(m.group(1)), old
            continue
        c = ln.split()
        if c[1] != "0":
            cur.append(int(c[1]))
    return sorted(new), old_pid, sorted(old)


@pytest.mark.limit(40)
def test_upgrade_overlap_shows_both(env):
    b = env.backend("b")
    s = env.sluice([b], workers=WORKERS, timeouts={"graceful": 2})
    old_pid = s.pid
    old_workers = sorted(s.wait_workers(WORKERS))
    seg, oldbin = shm_paths(s)
    assert seg.exists() and not oldbin.exists()
    d = json.loads(stat(s, "--json"))
    assert "old_binary" not in d and d["master_pid"] == old_pid
    for i in range(3):
        assert s.get("/before/%d" % i).status == 200
    new_pid = 0
    try:
        new_pid = upgrade(env, s)
        new_workers = sorted(children_of(new_pid))
        assert oldbin.exists() and seg.exists()

        d = json.loads(stat(s, "--json"))
        assert d["master_pid"] == new_pid, d["master_pid"]
        assert live_pids(d["workers"]) == new_workers, d["workers"]
        ob = d["old_binary"]
        assert ob["master_pid"] == old_pid and ob["master_alive"] is True, ob
        assert live_pids(ob["workers"]) == old_workers, ob
        assert ob["requests"] == 3, ob

        new_rows, opid, old_rows = table_sections(stat(s))
        assert (new_rows, opid, old_rows) == (new_workers, old_pid, old_workers)

        prom = stat(s, "--prometheus")
        olds = re.findall(r'^sluice_worker_running\{worker="(\d+)",binary="old"\} 1$', prom,
                          re.M)
        news = re.findall(r'^sluice_worker_running\{worker="(\d+)"\} 1$', prom, re.M)
        assert len(olds) == WORKERS and len(news) == WORKERS, prom

        s.proc.send_signal(signal.SIGQUIT)
        s.proc.wait(10)
        assert s.proc.returncode == 0
        assert not oldbin.exists(), "%s left by the old master" % oldbin
        assert seg.exists()
        d = json.loads(stat(s, "--json"))
        assert "old_binary" not in d and d["master_pid"] == new_pid, d
        assert live_pids(d["workers"]) == new_workers
        text = stat(s)
        assert "old binary" not in text, text
        assert table_sections(text) == (new_workers, None, [])
        assert 'binary="old"' not in stat(s, "--prometheus")
    finally:
        stop_foreign_master(new_pid, s.binary)
    assert not seg.exists() and not oldbin.exists()


@pytest.mark.limit(40)
def test_rolled_back_upgrade_gives_the_name_back(env):
    b = env.backend("b")
    s = env.sluice([b], workers=WORKERS, timeouts={"graceful": 2})
    old_workers = sorted(s.wait_workers(WORKERS))
    seg, oldbin = shm_paths(s)
    new_pid = 0
    try:
        new_pid = upgrade(env, s)
        assert oldbin.exists()
        os.kill(new_pid, signal.SIGQUIT)       # go back: stop the new master
        assert wait_until(lambda: not pid_alive(new_pid), 8.0), "new master ignores QUIT"
        assert wait_until(lambda: not oldbin.exists(), 2.0), "old segment not moved back"
        d = json.loads(stat(s, "--json"))
        assert d["master_pid"] == s.pid and d["master_alive"] is True, d
        assert "old_binary" not in d
        assert live_pids(d["workers"]) == old_workers
        assert s.get("/still").status == 200
    finally:
        stop_foreign_master(new_pid, s.binary)
    s.stop()
    assert not seg.exists() and not oldbin.exists()


@pytest.mark.limit(40)
def test_stale_oldbin_ignored_then_removed(env):
    b = env.backend("b")
    s = env.sluice([b], workers=WORKERS, timeouts={"graceful": 2})
    old_workers = s.wait_workers(WORKERS)
    seg, oldbin = shm_paths(s)
    new_pid = 0
    try:
        new_pid = upgrade(env, s)
        s.proc.kill()                         # the old master dies without cleaning up
        s.proc.wait(5)
        assert wait_until(lambda: not any(pid_alive(p) for p in old_workers), 5.0)
        assert oldbin.exists()
        d = json.loads(stat(s, "--json"))
        assert "old_binary" not in d and d["master_pid"] == new_pid, d
        assert "old binary" not in stat(s)
        stop_foreign_master(new_pid, s.binary)
        assert not pid_alive(new_pid)
        assert not seg.exists() and oldbin.exists(), "the stale .oldbin is not the new master's"
    finally:
        stop_foreign_master(new_pid, s.binary)
    # the next master on that name removes it
    s2 = Sluice(env.dir, s.conf_path.read_text(), s.port, name="again")
    env.sluices.append(s2)
    s2.start()
    assert wait_until(lambda: not oldbin.exists(), 2.0), "stale %s still there" % oldbin
    d = json.loads(stat(s2, "--json"))
    assert d["master_pid"] == s2.pid and "old_binary" not in d
    s2.stop()
    assert not seg.exists()
