"""m00019: `sluice -v` / `--version` prints the version, the build options and the
versions of the libraries in use, and exits 0; `-h` / `--help` prints the usage on
stdout and exits 0 (an unknown option still exits 1); the master's start line names
the version, the configuration file, every listener and the workers;
`sluice-stat --version` and its JSON carry the reader's version."""

import re
import subprocess

from harness import free_port, sluice_bin, stat_bin, stat_json, wait_until


def run(*args):
    return subprocess.run([sluice_bin(), *args], capture_output=True, text=True, timeout=5)


def test_version_and_help():
    for flag in ("-v", "--version"):
        p = run(flag)
        assert p.returncode == 0, p.stderr
        m = re.match(r"sluice (\d+\.\d+\.\d+)\n", p.stdout)
        assert m, p.stdout
        assert "build: cc " in p.stdout and "flags " in p.stdout, p.stdout
        for lib in ("libev ", "libconfig ", "oniguruma ", "OpenSSL "):
            assert lib in p.stdout, (lib, p.stdout)
    for flag in ("-h", "--help"):
        p = run(flag)
        assert p.returncode == 0 and p.stdout.startswith("usage: sluice"), p
    assert run("--no-such-option").returncode == 1
    p = subprocess.run([stat_bin(), "--version"], capture_output=True, text=True, timeout=5)
    assert p.returncode == 0 and p.stdout.startswith("sluice-stat " + m.group(1)), p


def test_start_line(env):
    a = env.backend("a")
    second = free_port()
    s = env.sluice([a], workers=2, extra={"listeners": [
        {"address": "127.0.0.1:%d" % free_port()}, {"address": "127.0.0.1:%d" % second}]},
        port=second)
    version = re.match(r"sluice (\S+)", run("-v").stdout).group(1)
    assert wait_until(lambda: " ready: " in s.log(), 3)
    line = [ln for ln in s.log().splitlines() if " ready: " in ln][0]
    assert "sluice %s ready: config %s" % (version, s.conf_path) in line, line
    assert "127.0.0.1:%d" % second in line and line.count("127.0.0.1:") == 2, line
    assert "2 worker(s)" in line, line
    assert stat_json(s)["reader_version"] == version
