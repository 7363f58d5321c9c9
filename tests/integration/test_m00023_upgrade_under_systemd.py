"""m00023: the USR2 binary upgrade as the installed unit runs it (Type=forking,
PIDFile=), without systemd.

A small supervisor (this file run as a script) does what systemd does for a
Type=forking service with PIDFile=: it is a child subreaper (as PID 1 is),
runs ExecStartPre and ExecStart from the installed unit and waits for
ExecStart to exit 0, then takes the main pid from PIDFile (it must be a live
process of its own tree, i.e. of the unit's cgroup). When the main process
exits, it reads PIDFile again: a different live process of its tree becomes
the main pid (systemd's service_sigchld_event -> service_load_pid_file); else
the service is dead and whatever is left in the tree is killed. ExecReload
runs with $MAINPID; stop sends KillSignal to the main pid.

The sequence, with sluice started without -f as ExecStart does:
1. start: ExecStart returns 0; the pid file names the main pid M, alive, no
   longer a child of the exec'd command (reparented to the supervisor).
2. `sluice -s upgrade` (USR2): pid_file.oldbin names M, pid_file names N, a
   child of M; both serve; the main pid stays M.
3. rollback: QUIT to N: N exits, pid_file names M again, .oldbin is gone, the
   main pid is still M and the service runs.
4. USR2 again, then QUIT to the pid in pid_file.oldbin (M): when M exits the
   pid file already names the new master N2, so the supervisor follows N2;
   .oldbin is gone, N2 is alive, serves, and is the supervisor's child now.
5. ExecReload ($MAINPID = N2) reloads N2; stop (QUIT to N2) ends the service
   with status 0, the pid file removed and no process left in the tree."""

import ctypes
import json
import os
import re
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import harness
from harness import pid_alive, wait_until
from test_m00021_install_tree import install
from test_m00022_service_files import exec_argv, parse_unit

PR_SET_CHILD_SUBREAPER = 36


# -- the supervisor (runs in its own process) ----------------------------------

def ppid_of(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            st = f.read()
    except OSError:
        return 0
    return int(st[st.rfind(")") + 2:].split()[1])


def tree_of(root):
    """Live descendants of root (the unit's 'cgroup')."""
    kids = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            kids.setdefault(ppid_of(int(d)), []).append(int(d))
    out, todo = [], [root]
    while todo:
        for k in kids.get(todo.pop(), []):
            if pid_alive(k):
                out.append(k)
            todo.append(k)
    return out


def read_pid(p):
    try:
        return int(Path(p).read_text().strip() or 0)
    except (OSError, ValueError):
        return 0


def supervise(spec):
    me = os.getpid()
    out = sys.stdout

    def event(**kw):
        out.write(json.dumps(kw) + "\n")
        out.flush()

    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        event(ev="error", what="prctl")
        return 1
    for argv in spec["pre"]:
        rc = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=sys.stderr).returncode
        if rc != 0:
            event(ev="failed", step="ExecStartPre", rc=rc)
            return 1
    t0 = time.monotonic()
    rc = subprocess.run(spec["start"], stdin=subprocess.DEVNULL, stdout=sys.stderr).returncode
    if rc != 0:
        event(ev="failed", step="ExecStart", rc=rc)
        return 1
    main = read_pid(spec["pidfile"])
    if not main or not pid_alive(main) or main not in tree_of(me):
        event(ev="failed", step="PIDFile", pid=main)
        return 1
    event(ev="started", main=main, ppid=ppid_of(main), secs=time.monotonic() - t0)
    stopping = False
    while True:
        r, _, _ = select.select([sys.stdin], [], [], 0.02)
        if r:
            cmd = sys.stdin.readline().strip()
            if cmd == "status":
                event(ev="status", main=main)
            elif cmd == "reload":
                rcs = [subprocess.run([a.replace("$MAINPID", str(main)) for a in argv],
                                      stdin=subprocess.DEVNULL, stdout=sys.stderr).returncode
                       for argv in spec["reload"]]
                event(ev="reloaded", rcs=rcs, main=main)
            elif cmd == "stop":
                stopping = True
                os.kill(main, signal.Signals[spec["killsignal"]])
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                pid = 0
            if pid == 0:
                break
            if pid != main:
                continue
            code = os.waitstatus_to_exitcode(status)
            new = read_pid(spec["pidfile"])
            if new and new != main and pid_alive(new) and new in tree_of(me):
                event(ev="main-changed", old=main, new=new, status=code, stopping=stopping)
                main = new
                continue
            left = tree_of(me)
            event(ev="exited", main=main, status=code, pidfile=new, left=left)
            for p in left:
                os.kill(p, signal.SIGKILL)
            return 0


# -- the test ------------------------------------------------------------------

class Supervisor:
    def __init__(self, tmp, spec):
        self.events_path = tmp / "supervisor.events"
        (tmp / "supervisor.spec").write_text(json.dumps(spec))
        with open(self.events_path, "wb") as ev, open(tmp / "supervisor.err", "wb") as err:
            self.proc = subprocess.Popen([sys.executable, __file__, str(tmp / "supervisor.spec")],
                                         stdin=subprocess.PIPE, stdout=ev, stderr=err)
        self.seen = 0

    def events(self):
        try:
            return [json.loads(x) for x in self.events_path.read_text().splitlines()]
        except (OSError, ValueError):
            return []

    def next_event(self, timeout=10):
        ev = wait_until(lambda: len(self.events()) > self.seen and self.events()[self.seen],
                        timeout)
        assert ev, "no supervisor event after %s" % (self.events(),)
        self.seen += 1
        return ev

    def send(self, cmd):
        self.proc.stdin.write((cmd + "\n").encode())
        self.proc.stdin.flush()

    def status(self):
        self.send("status")
        ev = self.next_event()
        assert ev["ev"] == "status", ev
        return ev["main"]


def serves(port, path="/"):
    try:
        r = harness.HttpConn(port, timeout=3).request("GET", path,
                                                      headers=[("Connection", "close")])
        return r.status == 200
    except OSError:
        return False


@pytest.mark.limit(60)
def test_upgrade_under_type_forking(tmp_path):
    dest = tmp_path / "dest"
    install(tmp_path, dest)
    unit = parse_unit((dest / "etc/systemd/system/sluice.service").read_text())["Service"]
    assert unit["Type"] == ["forking"]
    conf_path = dest / "etc/sluice/sluice.conf"
    text = conf_path.read_text()
    pid_file_host = unit["PIDFile"][0]
    assert '"%s"' % pid_file_host in text

    # The installed config, run here: the pid file under tmp/run instead of /run,
    # the logs in the installed log directory under DESTDIR, a loopback port, a
    # backend, 2 workers, our own segment; no user (pytest's tmp dir is 0700).
    run = tmp_path / "run"
    run.mkdir()
    pid_file = run / Path(pid_file_host).name
    port = harness.free_port()
    b = harness.BackendProc(tmp_path, "app1")
    for old, new in [('"%s"' % pid_file_host, '"%s"' % pid_file),
                     ('"/var/log/sluice/', '"%s/' % (dest / "var/log/sluice")),
                     ('"0.0.0.0:80"', '"127.0.0.1:%d"' % port),
                     ('"127.0.0.1:8080"', '"%s"' % b.address),
                     ('workers  = "auto"', "workers  = 2")]:
        assert old in text, old
        text = text.replace(old, new)
    text = re.sub(r"^user\s*=.*$", "", text, flags=re.M)
    text += '\nshm = "/sluice-test-%d";\n' % port
    conf_path.write_text(text)
    error_log = dest / "var/log/sluice/error.log"

    def mapped(argv):
        return [str(dest / a.lstrip("/")) if a.startswith("/") and (dest / a.lstrip("/")).exists()
                else a for a in argv]

    spec = {"pidfile": str(pid_file),
            "pre": [mapped(exec_argv(v)) for v in unit["ExecStartPre"]],
            "start": mapped(exec_argv(unit["ExecStart"][0])),
            "reload": [mapped(exec_argv(v)) for v in unit["ExecReload"]],
            "killsignal": unit["KillSignal"][0]}
    binary = spec["start"][0]
    assert binary == str(dest / "usr/local/sbin/sluice") and "-f" not in spec["start"]
    sup = Supervisor(tmp_path, spec)
    steps = []
    try:
        run_sequence(sup, spec, pid_file, port, binary, conf_path, error_log, steps)
    finally:
        print(steps)
        left = tree_of(sup.proc.pid) if sup.proc.poll() is None else []
        for p in [read_pid(pid_file), read_pid(str(pid_file) + ".oldbin")] + left:
            try:
                if p and os.path.realpath(os.readlink("/proc/%d/exe" % p)) == binary:
                    os.kill(p, signal.SIGKILL)
            except OSError:
                pass
        sup.proc.kill()
        sup.proc.wait(5)
        b.stop()


def run_sequence(sup, spec, pid_file, port, binary, conf_path, error_log, steps):
    oldbin = Path(str(pid_file) + ".oldbin")

    # 1. Start, as systemd does.
    ev = sup.next_event(15)
    assert ev["ev"] == "started", (ev, error_log.read_text() if error_log.exists() else "")
    m = ev["main"]
    steps.append(("started", m))
    assert read_pid(pid_file) == m and pid_alive(m)
    assert ev["ppid"] == sup.proc.pid, "the master was not reparented to the supervisor"
    assert serves(port)
    assert "ready" in error_log.read_text()

    def upgrade():
        rc, out = harness.run_sluice(["-s", "upgrade", "-c", str(conf_path)], binary=binary)
        assert rc == 0, out
        n = wait_until(lambda: read_pid(pid_file) not in (0, m) and read_pid(pid_file), 10)
        assert n, "pid_file names %r after USR2\n%s" % (read_pid(pid_file), error_log.read_text())
        assert read_pid(oldbin) == m, "pid_file.oldbin holds %r" % read_pid(oldbin)
        assert ppid_of(n) == m, "new master %d is not the old one's child" % n
        assert wait_until(lambda: any("ready:" in ln and ln.endswith(", pid %d" % n)
                                      for ln in error_log.read_text().splitlines()), 10), \
            "no ready line from %d\n%s" % (n, error_log.read_text())
        assert pid_alive(m) and serves(port)
        assert sup.status() == m, "the main pid moved before the old master exited"
        return n

    # 2. USR2.
    n = upgrade()
    steps.append(("usr2", m, n))

    # 3. Roll back: QUIT to the new master; the old one takes its pid file back.
    os.kill(n, signal.SIGQUIT)
    assert wait_until(lambda: not pid_alive(n), 10), "new master ignores QUIT"
    assert wait_until(lambda: read_pid(pid_file) == m and not oldbin.exists(), 5), \
        (read_pid(pid_file), read_pid(oldbin))
    assert sup.status() == m and pid_alive(m) and serves(port)
    steps.append(("rollback", m))

    # 4. USR2 again, then QUIT to the old master named by pid_file.oldbin.
    n2 = upgrade()
    steps.append(("usr2", m, n2))
    os.kill(read_pid(oldbin), signal.SIGQUIT)
    ev = sup.next_event(15)
    steps.append(("quit-old", ev))
    assert ev["ev"] == "main-changed", ev
    assert (ev["old"], ev["new"], ev["status"]) == (m, n2, 0), ev
    assert not pid_alive(m)
    assert not oldbin.exists(), "%s still there" % oldbin
    assert read_pid(pid_file) == n2 and pid_alive(n2)
    assert ppid_of(n2) == sup.proc.pid, "new master not adopted by the supervisor"
    assert sup.status() == n2
    assert serves(port, "/after-upgrade")

    # 5. ExecReload with $MAINPID, then stop.
    before = error_log.read_text().count("master[%d]: reload: generation" % n2)
    sup.send("reload")
    ev = sup.next_event(15)
    assert ev == {"ev": "reloaded", "rcs": [0] * len(spec["reload"]), "main": n2}, ev
    assert wait_until(lambda: error_log.read_text().count(
        "master[%d]: reload: generation" % n2) == before + 1, 10), error_log.read_text()[-2000:]
    assert serves(port, "/after-reload")
    sup.send("stop")
    ev = sup.next_event(20)
    steps.append(("stop", ev))
    assert ev == {"ev": "exited", "main": n2, "status": 0, "pidfile": 0, "left": []}, ev
    assert not pid_file.exists() and not oldbin.exists()
    assert sup.proc.wait(5) == 0


if __name__ == "__main__":
    sys.exit(supervise(json.loads(Path(sys.argv[1]).read_text())))
