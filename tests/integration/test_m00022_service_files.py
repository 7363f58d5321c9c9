"""m00022: the installed unit, logrotate file and configuration fit together.

After `make install DESTDIR=D`:
- the unit parses (configparser, strict=False, and a line parser that keeps
  repeated keys such as the two ExecReload=); it is Type=forking with PIDFile=
  the installed config's pid_file, which is under /run; ExecStart starts sluice
  without -f and ExecStartPre runs -t, both on the installed config; every
  command's program exists under D (or on this host: /bin/kill); the
  Documentation= man pages and README are installed;
- the installed config passes `-t` as ExecStartPre runs it (the installed binary
  on the installed file), and so does a copy with /run and /var/log mapped into
  the test dir; it has pid_file under /run, both logs under /var/log/sluice and
  a `user`;
- the logrotate file uses only known directives, rotates the installed logs
  (its glob is the installed log directory and matches both files), never
  copytruncate, and its postrotate sends USR1 through the installed pid_file:
  run as logrotate would (after renaming the logs) against a master started
  from the installed config (mapped), the master makes new files, owned by
  `user` when root, and the next lines land in them; with no pid file the
  script still exits 0 and signals nothing."""

import configparser
import fnmatch
import os
import pwd
import re
import shlex
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

import harness
from harness import REPO, pid_alive, wait_until
from test_m00021_install_tree import install

MAN_SECTIONS = {"sluice": "8", "sluice-stat": "8", "sluice.conf": "5"}


def parse_unit(text):
    """{section: {key: [values in order]}} as systemd reads it: '#'/';' comments,
    backslash continuations, repeated keys kept."""
    out, sec, pending = {}, None, ""
    for raw in text.splitlines():
        line = pending + raw.strip() if pending else raw.strip()
        pending = ""
        if not line or line[0] in "#;":
            continue
        if line.endswith("\\"):
            pending = line[:-1] + " "
            continue
        if line.startswith("[") and line.endswith("]"):
            sec = line[1:-1]
            out.setdefault(sec, {})
            continue
        assert sec is not None and "=" in line, "bad unit line %r" % line
        k, v = line.split("=", 1)
        out[sec].setdefault(k.strip(), []).append(v.strip())
    return out


def exec_argv(value):
    """ExecX= value -> argv, without systemd's '-', '@', '+', '!', ':' prefixes."""
    return shlex.split(value.lstrip("-@+!:"))


def conf_value(text, key):
    """The string value of `key = "...";` in a libconfig text (first one, any depth)."""
    m = re.search(r'^\s*%s\s*=\s*"([^"]*)"\s*;' % re.escape(key), text, re.M)
    return m.group(1) if m else None


def installed(tmp_path):
    dest = tmp_path / "dest"
    install(tmp_path, dest)
    unit_text = (dest / "etc/systemd/system/sluice.service").read_text()
    conf_text = (dest / "etc/sluice/sluice.conf").read_text()
    return dest, unit_text, conf_text


def under(dest, path):
    return dest / path.lstrip("/")


@pytest.mark.limit(60)
def test_unit_matches_the_installed_tree(tmp_path):
    dest, unit_text, conf_text = installed(tmp_path)
    cp = configparser.ConfigParser(strict=False, interpolation=None)
    cp.optionxform = str
    cp.read_string(unit_text)
    assert cp.sections() == ["Unit", "Service", "Install"], cp.sections()
    unit = parse_unit(unit_text)
    svc = unit["Service"]
    for k, vals in svc.items():
        # configparser (last one wins) and the line parser read the same file.
        assert cp["Service"][k] == vals[-1], k

    pid_file = conf_value(conf_text, "pid_file")
    assert svc["Type"] == ["forking"], svc["Type"]
    assert svc["PIDFile"] == [pid_file], (svc["PIDFile"], pid_file)
    assert pid_file.startswith("/run/"), pid_file
    assert svc["KillSignal"] == ["SIGQUIT"]
    assert unit["Install"]["WantedBy"] == ["multi-user.target"]

    conf = "/etc/sluice/sluice.conf"
    start, pre = exec_argv(svc["ExecStart"][0]), exec_argv(svc["ExecStartPre"][0])
    assert len(svc["ExecStart"]) == 1 and len(svc["ExecStartPre"]) == 1
    assert start[1:] == ["-c", conf], start        # detaches: no -f with Type=forking
    assert pre[1:] == ["-t", "-c", conf], pre
    assert start[0] == pre[0] == "/usr/local/sbin/sluice"
    reload_ = [exec_argv(v) for v in svc["ExecReload"]]
    assert reload_ == [[start[0], "-t", "-c", conf], ["/bin/kill", "-HUP", "$MAINPID"]], reload_
    assert under(dest, conf).is_file()
    for argv in [start, pre] + reload_:
        prog = under(dest, argv[0]) if argv[0] != "/bin/kill" else Path("/bin/kill")
        assert prog.is_file() and os.access(prog, os.X_OK), argv[0]

    for doc in unit["Unit"]["Documentation"][0].split():
        if doc.startswith("man:"):
            m = re.fullmatch(r"man:([\w.-]+)\((\d)\)", doc)
            assert m and MAN_SECTIONS.get(m.group(1)) == m.group(2), doc
            page = "usr/local/share/man/man%s/%s.%s" % (m.group(2), m.group(1), m.group(2))
            assert (dest / page).is_file(), page
        else:
            assert doc.startswith("file:///"), doc
            assert under(dest, doc[len("file://"):]).is_file(), doc


def map_host_paths(text, tmp_path):
    """The installed config with /run and /var/log moved into the test dir."""
    run, logs = tmp_path / "run", tmp_path / "log"
    run.mkdir(exist_ok=True)
    logs.mkdir(exist_ok=True)
    assert '"/run/' in text and '"/var/log/sluice/' in text
    return text.replace('"/run/', '"%s/' % run).replace('"/var/log/sluice/', '"%s/' % logs)


@pytest.mark.limit(60)
def test_installed_config_checks_ok(tmp_path):
    dest, unit_text, conf_text = installed(tmp_path)
    pre = exec_argv(parse_unit(unit_text)["Service"]["ExecStartPre"][0])
    # As ExecStartPre runs it: the installed binary on the installed file.
    argv = [str(under(dest, pre[0]))] + pre[1:-1] + [str(under(dest, pre[-1]))]
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=10)
    out = p.stdout.decode()
    if os.path.isdir("/var/log/sluice"):
        assert p.returncode == 0 and "configuration OK" in out, out
    else:
        # Installed into a DESTDIR: the host has no /var/log/sluice, and -t says
        # exactly that (start-up would fail on it), nothing else.
        bad = [ln for ln in out.splitlines() if ": " in ln and "invalid" not in ln]
        assert p.returncode == 1, out
        assert bad and all('directory "/var/log/sluice": No such file or directory' in ln
                           for ln in bad), out

    copy = tmp_path / "mapped.conf"
    copy.write_text(map_host_paths(conf_text, tmp_path))
    rc, out = harness.run_sluice(["-t", "-c", str(copy)], binary=argv[0])
    assert rc == 0 and "configuration OK" in out, out

    # What the host gets: pid file under /run, logs under /var/log/sluice, a user.
    assert conf_value(conf_text, "pid_file") == "/run/sluice.pid"
    assert conf_value(conf_text, "error") == "/var/log/sluice/error.log"
    assert conf_value(conf_text, "access") == "/var/log/sluice/access.log"
    assert conf_value(conf_text, "user"), "no user in the installed config"
    # ... and `make run` keeps its /tmp paths.
    run_conf = (REPO / "etc/sluice.conf").read_text()
    assert conf_value(run_conf, "pid_file") == "/tmp/sluice.pid"


LOGROTATE_DIRECTIVES = {"daily", "weekly", "monthly", "rotate", "missingok", "notifempty",
                        "compress", "delaycompress", "sharedscripts", "nocreate", "create",
                        "su", "dateext", "maxage", "size", "minsize", "maxsize"}


def parse_logrotate(text):
    """[(patterns, [directive lines], postrotate script)] of a logrotate file."""
    blocks, cur, script, in_script = [], None, [], False
    for raw in text.splitlines():
        line = raw.strip()
        if in_script:
            if line == "endscript":
                in_script = False
                cur[2] = "\n".join(script)
            else:
                script.append(raw)
            continue
        if not line or line.startswith("#"):
            continue
        if line.endswith("{"):
            assert cur is None, "nested block"
            cur = [line[:-1].split(), [], None]
        elif line == "}":
            blocks.append(tuple(cur))
            cur = None
        elif line in ("postrotate", "prerotate", "firstaction", "lastaction"):
            assert line == "postrotate", "unexpected script %s" % line
            in_script, script = True, []
        else:
            assert cur is not None, "directive outside a block: %r" % line
            cur[1].append(line)
    assert cur is None and not in_script, "unterminated block"
    return blocks


def start_daemon(binary, conf):
    """As ExecStart: without -f; returns when the master is ready."""
    p = subprocess.run([str(binary), "-c", str(conf)], stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=15)
    return p.returncode, p.stdout.decode(errors="replace")


def read_pid(p):
    try:
        return int(Path(p).read_text().strip() or 0)
    except (OSError, ValueError):
        return 0


@pytest.mark.limit(40)
def test_logrotate_file_rotates_the_installed_logs(tmp_path):
    dest, unit_text, conf_text = installed(tmp_path)
    lr_text = (dest / "etc/logrotate.d/sluice").read_text()
    blocks = parse_logrotate(lr_text)
    assert len(blocks) == 1, blocks
    patterns, directives, post = blocks[0]
    words = {d.split()[0] for d in directives}
    assert words <= LOGROTATE_DIRECTIVES, words - LOGROTATE_DIRECTIVES
    assert "copytruncate" not in words and "sharedscripts" in words, words
    err_log, acc_log = conf_value(conf_text, "error"), conf_value(conf_text, "access")
    assert patterns == [os.path.dirname(err_log) + "/*.log"], patterns
    assert under(dest, os.path.dirname(err_log)).is_dir()
    for f in (err_log, acc_log):
        assert fnmatch.fnmatch(f, patterns[0]), f
    pid_file = conf_value(conf_text, "pid_file")
    assert post and pid_file in post and "USR1" in post, post

    # Run it: a master from the installed config (mapped: loopback port, a
    # backend, logs in a 0755 dir of ours, the pid file in the test dir).
    # A log directory like /var/log/sluice: root's, 0755, which `user` can reach
    # (pytest's tmp dirs are 0700).
    logdir = Path(tempfile.mkdtemp(prefix="sluice-m00022-"))
    os.chmod(logdir, 0o755)
    port = harness.free_port()
    b = harness.BackendProc(tmp_path, "app1")
    user = conf_value(conf_text, "user")
    text = conf_text.replace('"/var/log/sluice/', '"%s/' % logdir)
    text = text.replace('"%s"' % pid_file, '"%s"' % (tmp_path / "sluice.pid"))
    text = text.replace('"0.0.0.0:80"', '"127.0.0.1:%d"' % port)
    text = text.replace('"127.0.0.1:8080"', '"%s"' % b.address)
    text = text.replace('"auto"', "2")
    if os.geteuid() != 0:
        text = re.sub(r'^user\s*=.*$', "", text, flags=re.M)
    text += '\nshm = "/sluice-test-%d";\n' % port
    conf = tmp_path / "sluice.conf"
    conf.write_text(text)
    binary = under(dest, "/usr/local/sbin/sluice")
    script = post.replace(pid_file, str(tmp_path / "sluice.pid"))
    master = 0
    try:
        rc, out = start_daemon(binary, conf)
        assert rc == 0, out
        master = read_pid(tmp_path / "sluice.pid")
        assert master and pid_alive(master)
        for i in range(3):
            assert harness.HttpConn(port).request("GET", "/before/%d" % i,
                                                  headers=[("Connection", "close")]).status == 200
        err, acc = logdir / "error.log", logdir / "access.log"
        assert wait_until(lambda: acc.exists() and "/before/2" in acc.read_text(), 3), \
            "access log %r" % (acc.read_text() if acc.exists() else None)
        # What logrotate does: rename, then postrotate (sharedscripts: once).
        os.rename(err, logdir / "error.log.1")
        os.rename(acc, logdir / "access.log.1")
        p = subprocess.run(["sh", "-c", script], timeout=10)
        assert p.returncode == 0
        assert wait_until(lambda: err.exists() and acc.exists(), 3), "no new log files"
        if os.geteuid() == 0:
            pw = pwd.getpwnam(user)
            for f in (err, acc):
                st = f.stat()
                assert (st.st_uid, st.st_gid) == (pw.pw_uid, pw.pw_gid), (f, st.st_uid)
        time.sleep(0.3)                     # every worker takes its USR1
        for i in range(4):
            assert harness.HttpConn(port).request("GET", "/after/%d" % i,
                                                  headers=[("Connection", "close")]).status == 200
        assert wait_until(lambda: acc.read_text().count("/after/") == 4, 3), acc.read_text()
        assert "/after/" not in (logdir / "access.log.1").read_text()
        assert "Permission denied" not in err.read_text() + (logdir / "error.log.1").read_text()
        assert pid_alive(master)

        # No pid file (sluice not running): the script succeeds and signals nothing.
        os.kill(master, signal.SIGQUIT)
        assert wait_until(lambda: not pid_alive(master), 10)
        assert not (tmp_path / "sluice.pid").exists()
        p = subprocess.run(["sh", "-c", script], timeout=10)
        assert p.returncode == 0
    finally:
        if master and pid_alive(master):
            os.kill(master, signal.SIGTERM)
            wait_until(lambda: not pid_alive(master), 8)
        b.stop()
        shutil.rmtree(logdir, ignore_errors=True)
