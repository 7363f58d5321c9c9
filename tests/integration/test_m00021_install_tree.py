"""m00021: `make install DESTDIR=... [PREFIX=...]` and `make uninstall`.

install puts exactly these files, with these modes: the binaries under test,
the man pages of docs/man, the README and example config, the logrotate file,
the systemd unit made from etc/sluice.service.in with the prefix's paths (no
placeholder left), etc/sluice-installed.conf as /etc/sluice/sluice.conf, and the
empty log directory /var/log/sluice. A configuration already there is kept,
byte for byte. uninstall removes every file install put and the sluice
directories (/etc/sluice, /var/log/sluice, the doc dir) once empty; shared
directories (/etc, bin, sbin, man5, man8, /var/log...) stay. A configuration
that differs from the shipped one, and logs, are kept, and said so.

Helpers here (install, uninstall, files_under) are used by m00022 and m00023."""

import hashlib
import os
import re
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from harness import REPO, sluice_bin

DEFAULT_PREFIX = "/usr/local"


def stat_bin():
    return os.environ.get("SLUICE_STAT") or str(Path(sluice_bin()).parent / "sluice-stat")


def make(tmp, *args):
    """Runs make in the repo with a clean make environment (no MAKEFLAGS from a
    parent `make integration`, which would carry its B=, OPT= and SAN=).
    The binaries under test are copied to tmp/bin and named with -o, so make
    installs exactly them and never rebuilds anything."""
    b = Path(tmp) / "bin"
    b.mkdir(exist_ok=True)
    shutil.copy2(sluice_bin(), b / "sluice")
    shutil.copy2(stat_bin(), b / "sluice-stat")
    env = {k: v for k, v in os.environ.items()
           if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES", "DESTDIR",
                        "PREFIX", "B")}
    cmd = ["make", "--no-print-directory", "-C", str(REPO), "B=%s" % b,
           "-o", str(b / "sluice"), "-o", str(b / "sluice-stat")] + list(args)
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       stdin=subprocess.DEVNULL, env=env, timeout=60)
    return p.returncode, p.stdout.decode(errors="replace")


def install(tmp, destdir, prefix=None):
    args = ["install", "DESTDIR=%s" % destdir]
    if prefix:
        args.append("PREFIX=%s" % prefix)
    rc, out = make(tmp, *args)
    assert rc == 0, out
    return out


def uninstall(tmp, destdir, prefix=None):
    args = ["uninstall", "DESTDIR=%s" % destdir]
    if prefix:
        args.append("PREFIX=%s" % prefix)
    rc, out = make(tmp, *args)
    assert rc == 0, out
    return out


def files_under(root):
    """{relative path "/..." : mode} of every non-directory under root."""
    out = {}
    for d, dirs, files in os.walk(root):
        for f in files:
            p = Path(d) / f
            out["/" + str(p.relative_to(root))] = stat.S_IMODE(p.lstat().st_mode)
    return out


def dirs_under(root):
    return {"/" + str((Path(d) / x).relative_to(root))
            for d, dirs, _ in os.walk(root) for x in dirs}


def expected_files(prefix=DEFAULT_PREFIX):
    """What install puts: path -> (mode, source file in the repo or None)."""
    return {
        prefix + "/sbin/sluice": (0o755, Path(sluice_bin())),
        prefix + "/bin/sluice-stat": (0o755, Path(stat_bin())),
        prefix + "/share/man/man8/sluice.8": (0o644, REPO / "docs/man/sluice.8"),
        prefix + "/share/man/man8/sluice-stat.8": (0o644, REPO / "docs/man/sluice-stat.8"),
        prefix + "/share/man/man5/sluice.conf.5": (0o644, REPO / "docs/man/sluice.conf.5"),
        prefix + "/share/doc/sluice/README.md": (0o644, REPO / "README.md"),
        prefix + "/share/doc/sluice/example-site.conf": (0o644, REPO / "etc/example-site.conf"),
        "/etc/sluice/sluice.conf": (0o644, REPO / "etc/sluice-installed.conf"),
        "/etc/logrotate.d/sluice": (0o644, REPO / "etc/logrotate.d/sluice"),
        "/etc/systemd/system/sluice.service": (0o644, None),
    }


def sha(p):
    return hashlib.sha256(Path(p).read_bytes()).hexdigest()


@pytest.mark.limit(60)
@pytest.mark.parametrize("prefix", [None, "/opt/sluice"])
def test_install_puts_every_file(tmp_path, prefix):
    dest = tmp_path / "dest"
    install(tmp_path, dest, prefix)
    want = expected_files(prefix or DEFAULT_PREFIX)
    got = files_under(dest)
    assert sorted(got) == sorted(want), "installed %r" % sorted(got)
    for path, (mode, src) in want.items():
        assert got[path] == mode, "%s has mode %o, not %o" % (path, got[path], mode)
        if src is not None:
            assert sha(dest / path.lstrip("/")) == sha(src), "%s is not %s" % (path, src)
    log_dir = dest / "var/log/sluice"
    assert log_dir.is_dir() and not any(log_dir.iterdir())
    assert stat.S_IMODE(log_dir.stat().st_mode) == 0o755

    # The unit: the template with this prefix's paths, nothing left to fill in.
    unit = (dest / "etc/systemd/system/sluice.service").read_text()
    template = (REPO / "etc/sluice.service.in").read_text()
    assert "@" not in unit, unit
    p = prefix or DEFAULT_PREFIX
    assert unit == (template.replace("@SBINDIR@", p + "/sbin")
                    .replace("@CONFDIR@", "/etc/sluice")
                    .replace("@DOCDIR@", p + "/share/doc/sluice"))
    assert "ExecStart=%s/sbin/sluice -c /etc/sluice/sluice.conf\n" % p in unit, unit

    # The installed binaries run.
    out = subprocess.run([str(dest / p.lstrip("/") / "sbin/sluice"), "-v"],
                         stdout=subprocess.PIPE, timeout=10).stdout.decode()
    assert out.startswith("sluice "), out


@pytest.mark.limit(60)
def test_install_keeps_an_existing_config(tmp_path):
    dest = tmp_path / "dest"
    conf = dest / "etc/sluice/sluice.conf"
    conf.parent.mkdir(parents=True)
    mine = b"# the admin's own configuration\nworkers = 3;\n"
    conf.write_bytes(mine)
    out = install(tmp_path, dest)
    assert conf.read_bytes() == mine
    assert "keeping %s" % conf in out, out
    # Over an earlier install: the shipped file, then edited, is kept too.
    conf.unlink()
    install(tmp_path, dest)
    conf.write_bytes(mine)
    install(tmp_path, dest)
    assert conf.read_bytes() == mine


SHARED_DIRS = {"/etc", "/etc/systemd", "/etc/systemd/system", "/etc/logrotate.d", "/var",
               "/var/log"}


def shared_dirs(prefix):
    parts = prefix.strip("/").split("/")
    ups = {"/" + "/".join(parts[:i]) for i in range(1, len(parts) + 1)}
    return SHARED_DIRS | ups | {prefix + d for d in (
        "/bin", "/sbin", "/share", "/share/man", "/share/man/man5", "/share/man/man8",
        "/share/doc")}


@pytest.mark.limit(60)
@pytest.mark.parametrize("prefix", [None, "/opt/sluice"])
def test_uninstall_removes_what_install_put(tmp_path, prefix):
    dest = tmp_path / "dest"
    install(tmp_path, dest, prefix)
    assert files_under(dest)
    uninstall(tmp_path, dest, prefix)
    assert files_under(dest) == {}, "left behind: %r" % files_under(dest)
    left = dirs_under(dest)
    assert left <= shared_dirs(prefix or DEFAULT_PREFIX), \
        "directories left that are not shared: %r" % sorted(left - shared_dirs(prefix or DEFAULT_PREFIX))
    for d in ("/etc/sluice", "/var/log/sluice",
              (prefix or DEFAULT_PREFIX) + "/share/doc/sluice"):
        assert d not in left, d
    # Again, on nothing: no error.
    uninstall(tmp_path, dest, prefix)


@pytest.mark.limit(60)
def test_uninstall_keeps_an_edited_config_and_logs(tmp_path):
    dest = tmp_path / "dest"
    install(tmp_path, dest)
    conf = dest / "etc/sluice/sluice.conf"
    conf.write_text(conf.read_text() + "# edited\n")
    log = dest / "var/log/sluice/error.log"
    log.write_text("a line\n")
    out = uninstall(tmp_path, dest)
    assert sorted(files_under(dest)) == ["/etc/sluice/sluice.conf",
                                         "/var/log/sluice/error.log"], files_under(dest)
    assert "keeping %s" % conf in out and "keeping %s" % log.parent in out, out
    assert log.read_text() == "a line\n"


# -- man pages ----------------------------------------------------------------

MAN = REPO / "docs/man"
SECTIONS = {
    "sluice.8": ["NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "SIGNALS", "FILES", "SEE ALSO"],
    "sluice-stat.8": ["NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "SIGNALS", "FILES",
                      "SEE ALSO"],
    "sluice.conf.5": ["NAME", "SYNOPSIS", "DESCRIPTION", "FILES", "SEE ALSO"],
}


def render(page):
    """groff's text rendering, without hyphenation and with long lines (so every
    word is whole), after a check run that must be silent with all warnings on."""
    check = subprocess.run(["groff", "-t", "-man", "-Tutf8", "-ww", "-z", str(page)],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=20)
    assert check.returncode == 0 and check.stderr == b"", (page, check.stderr.decode())
    p = subprocess.run(["groff", "-t", "-man", "-Tutf8", "-rHY=0", "-rLL=1000n", "-P-cbu",
                        str(page)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=20)
    assert p.returncode == 0 and p.stderr == b"", p.stderr.decode()
    return p.stdout.decode().replace("\u2010", "-").replace("\u2212", "-")


def usage_options(binary):
    out = subprocess.run([binary, "-h"], stdout=subprocess.PIPE, timeout=10).stdout.decode()
    opts = re.findall(r"^\s+(--?[a-z]+)", out, re.M)
    opts += re.findall(r"\((--[a-z]+)\)", out)
    assert len(opts) >= 5, out
    return opts


def test_man_pages_render_and_cover_the_interface():
    assert sorted(p.name for p in MAN.iterdir()) == sorted(SECTIONS)
    text = {name: render(MAN / name) for name in SECTIONS}
    for name, heads in SECTIONS.items():
        got = re.findall(r"^([A-Z][A-Z -]+)$", text[name], re.M)
        assert [h for h in got if h in heads] == heads, (name, got)
        section = name.rsplit(".", 1)[1]
        assert text[name].startswith(name.rsplit(".", 1)[0].upper()
                                     + "(%s)" % section), text[name][:80]

    # sluice(8): every option of `sluice -h`, every -s name, every signal of the
    # README's Signals table.
    for opt in usage_options(sluice_bin()):
        assert re.search(r"(^|\W)%s\b" % re.escape(opt), text["sluice.8"]), opt
    for name in ("reload", "quit", "stop", "reopen", "upgrade"):
        assert name in text["sluice.8"], name
    readme = (REPO / "README.md").read_text()
    table = readme.split("## Signals", 1)[1].split("\n## ", 1)[0]
    signals = set(re.findall(r"`([A-Z0-9]+)`", table.split("\n\n")[1]))
    assert {"TERM", "QUIT", "HUP", "USR1", "USR2"} <= signals, signals
    for sig in signals:
        assert re.search(r"\b%s\b" % sig, text["sluice.8"]), sig
    assert "oldbin" in text["sluice.8"]

    # sluice-stat(8): every option of `sluice-stat -h`.
    for opt in usage_options(stat_bin()):
        assert re.search(r"(^|\W)%s\b" % re.escape(opt), text["sluice-stat.8"]), opt

    # sluice.conf(5): every top-level key of the schema (common/conf_load.c).
    src = (REPO / "common/conf_load.c").read_text()
    top = src.split("top_cmds[] = {", 1)[1].split("K_END", 1)[0]
    keys = re.findall(r'K_\w+\("(\w+)"', top)
    assert len(keys) >= 10, keys
    for k in keys:
        assert re.search(r"^\s+%s\b" % k, text["sluice.conf.5"], re.M), \
            "top-level key %s not described in sluice.conf(5)" % k
    assert "README" in text["sluice.conf.5"]
