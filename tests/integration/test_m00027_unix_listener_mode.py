"""m00027: a unix: listener's mode, owner and group are applied to the socket
file after bind; requests over it work. On a TCP listener these keys are an
error, and an unknown user or group is an error with its line."""

import grp
import os
import stat

import pytest

from harness import curl, free_port, run_sluice


def real_group():
    for name in ("nogroup", "www-data", "nobody"):
        try:
            return grp.getgrnam(name)
        except KeyError:
            continue
    pytest.skip("no nogroup, www-data or nobody group")


def conf_text(tmp_path, port, sock, listener_extra, backend="127.0.0.1:9"):
    return ('workers = 1;\n'
            'pid_file = "%s/sluice.pid";\n'
            'shm = "/sluice-test-%d";\n'
            'listeners = ( { address = "127.0.0.1:%d"; },\n'
            '  { address = "unix:%s"; %s } );\n'
            'sources = ( { name = "a"; address = "%s"; } );\n'
            'routes = ( { sources = [ "a" ]; } );\n'
            % (tmp_path, port, port, sock, listener_extra, backend))


@pytest.mark.skipif(os.geteuid() != 0, reason="chown to another group needs root")
def test_mode_and_group_applied_and_served(env):
    g = real_group()
    b = env.backend("a")
    port = free_port()
    sock = env.dir / "s.sock"
    s = env.sluice(conf_text=conf_text(env.dir, port, sock,
                                       'mode = "0666"; group = "%s";' % g.gr_name, b.address),
                   port=port)
    st = os.stat(sock)
    assert stat.S_ISSOCK(st.st_mode)
    assert stat.S_IMODE(st.st_mode) == 0o666, oct(st.st_mode)
    assert st.st_gid == g.gr_gid
    assert st.st_uid == os.geteuid(), "owner not set: unchanged"
    r = curl("http://localhost/over-unix", "--unix-socket", str(sock))
    assert r.status == 200, r
    assert r.header("X-Backend") == "a", r
    s.stop()
    assert not sock.exists(), "the socket file is removed at exit"


def test_integer_mode_reads_as_octal(env):
    b = env.backend("a")
    port = free_port()
    sock = env.dir / "i.sock"
    env.sluice(conf_text=conf_text(env.dir, port, sock, 'mode = 0640;', b.address), port=port)
    assert stat.S_IMODE(os.stat(sock).st_mode) == 0o640


def test_check_errors_with_lines(tmp_path):
    conf = tmp_path / "bad.conf"
    conf.write_text('listeners = ( { address = "127.0.0.1:1";\n'          # 1
                    '  mode = "0660"; },\n'                                  # 2
                    '  { address = "unix:%s/x.sock";\n'                      # 3
                    '    group = "no-such-group-m00027"; owner = "no-such-user-m00027"; },\n'  # 4
                    '  { address = "unix:%s/y.sock"; mode = "0999"; } );\n'  # 5
                    'sources = ( { name = "a"; address = "127.0.0.1:9"; } );\n'
                    'routes = ( { sources = [ "a" ]; } );\n' % (tmp_path, tmp_path))
    rc, out = run_sluice(["-t", "-c", str(conf)])
    assert rc == 1, out
    assert ('%s:2: listeners[0].mode: only for unix: listeners (the address is '
            '"127.0.0.1:1")' % conf) in out, out
    assert ('%s:4: listeners[1].group: expected an existing group name, got '
            '"no-such-group-m00027"' % conf) in out, out
    assert ('%s:4: listeners[1].owner: expected an existing user name, got '
            '"no-such-user-m00027"' % conf) in out, out
    assert '%s:5: listeners[2].mode: expected an octal mode' % conf in out, out
