"""m00024: `sluice -t` fails where start-up would on the files the master writes:
the error and access logs must open for appending (or be creatable in their
directory), the pid file too. Each is one FILE:LINE: KEY: reason line, exit 1,
and -t creates nothing. A real start names the same reason."""

import os
import shutil
import subprocess
import tempfile

import pytest

from harness import free_port, make_config, run_sluice, sluice_bin

HEAD = """workers = 1;
listeners = ( { address = "127.0.0.1:1"; } );
sources = ( { name = "a"; address = "127.0.0.1:9"; } );
routes = ( { sources = [ "a" ]; } );
"""
# HEAD is 4 lines; the next line is 5.


def files_conf(pid, error, access):
    return HEAD + ('pid_file = "%s";\n'                  # 5
                   'log = {\n'                           # 6
                   '  error = "%s";\n'                   # 7
                   '  access = "%s";\n'                  # 8
                   '};\n') % (pid, error, access)


def test_missing_directories_and_a_directory(tmp_path):
    conf = tmp_path / "files.conf"
    conf.write_text(files_conf(tmp_path / "run" / "sluice.pid", tmp_path / "log" / "error.log",
                               tmp_path))
    rc, out = run_sluice(["-t", "-c", str(conf)])
    assert rc == 1, out
    assert ('%s:5: pid_file: cannot create "%s/run/sluice.pid": directory "%s/run": '
            'No such file or directory' % (conf, tmp_path, tmp_path)) in out, out
    assert ('%s:7: log.error: cannot create "%s/log/error.log": directory "%s/log": '
            'No such file or directory' % (conf, tmp_path, tmp_path)) in out, out
    assert ('%s:8: log.access: cannot open "%s" for appending: Is a directory'
            % (conf, tmp_path)) in out, out
    assert "configuration OK" not in out
    assert "is invalid" in out


def test_writable_files_pass_and_nothing_is_created(tmp_path):
    conf = tmp_path / "ok.conf"
    (tmp_path / "old-error.log").write_text("kept\n")
    conf.write_text(files_conf(tmp_path / "sluice.pid", tmp_path / "old-error.log",
                               tmp_path / "access.log"))
    rc, out = run_sluice(["-t", "-c", str(conf)])
    assert rc == 0 and "configuration OK" in out, out
    assert not (tmp_path / "sluice.pid").exists()
    assert not (tmp_path / "access.log").exists()
    assert (tmp_path / "old-error.log").read_text() == "kept\n"


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run -t as nobody")
def test_permission_denied_as_another_user():
    """As root every permission passes: run -t as nobody on root's files."""
    d = tempfile.mkdtemp(prefix="sluice-m00024-")
    try:
        os.chmod(d, 0o755)
        ro = os.path.join(d, "ro")
        os.mkdir(ro, 0o755)                      # root's: nobody cannot create in it
        access = os.path.join(d, "access.log")
        open(access, "w").close()
        os.chmod(access, 0o644)                  # root's: nobody cannot append
        conf = os.path.join(d, "perm.conf")
        with open(conf, "w") as f:
            f.write(files_conf(os.path.join(d, "sluice.pid"), os.path.join(ro, "error.log"),
                               access))
        os.chmod(conf, 0o644)
        p = subprocess.run([sluice_bin(), "-t", "-c", conf], user="nobody",
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=5)
        out = p.stdout.decode(errors="replace")
        assert p.returncode == 1, out
        assert ('%s:7: log.error: cannot create "%s/error.log": directory "%s" is not '
                'writable (Permission denied)' % (conf, ro, ro)) in out, out
        assert ('%s:8: log.access: cannot open "%s" for appending: Permission denied'
                % (conf, access)) in out, out
        # d itself is root's 0755: the pid file cannot be made there either.
        assert ('%s:5: pid_file: cannot create "%s/sluice.pid": directory "%s" is not '
                'writable (Permission denied)' % (conf, d, d)) in out, out
    finally:
        shutil.rmtree(d)


def test_start_names_the_same_reason(tmp_path):
    """No -t: start-up fails on its own, with the words -t uses."""
    conf = tmp_path / "start.conf"
    text = make_config(tmp_path, free_port(), [("a", "127.0.0.1:9")], [{"sources": ["a"]}])
    conf.write_text(text.replace('error = "stderr"', 'error = "%s/nodir/error.log"' % tmp_path))
    rc, out = run_sluice(["-f", "-c", str(conf)])
    assert rc == 1, out
    assert ('sluice: log.error: cannot create "%s/nodir/error.log": directory "%s/nodir": '
            'No such file or directory' % (tmp_path, tmp_path)) in out, out

    conf.write_text(text.replace('error = "stderr"', 'error = "stderr"; access = "%s/nodir/a.log"'
                                 % tmp_path))
    rc, out = run_sluice(["-f", "-c", str(conf)])
    assert rc == 1, out
    assert ('log.access: cannot create "%s/nodir/a.log": directory "%s/nodir": '
            'No such file or directory' % (tmp_path, tmp_path)) in out, out
