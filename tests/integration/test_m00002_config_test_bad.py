"""m00002: `sluice -t` on bad configs exits 1 naming FILE:LINE."""

from harness import run_sluice

HEAD = """workers = 2;
pid_file = "%s/sluice.pid";
log = { error = "stderr"; level = "info"; };
listeners = ( { address = "127.0.0.1:1"; } );
sources = ( { name = "a"; address = "127.0.0.1:9"; } );
"""
# HEAD is 5 lines; the next line is 6.


def check(tmp_path, tail):
    conf = tmp_path / "bad.conf"
    conf.write_text(HEAD % tmp_path + tail)
    rc, out = run_sluice(["-t", "-c", str(conf)])
    return conf, rc, out


def test_syntax_error_line(tmp_path):
    conf, rc, out = check(tmp_path, 'routes = ( { host = "*"; sources = [ "a" ]; } );\n'
                                    'timeouts = = 3;\n')
    assert rc == 1, out
    assert "%s:7" % conf in out, out
    assert "configuration OK" not in out


def test_unknown_source_line(tmp_path):
    conf, rc, out = check(tmp_path, 'routes = ( { host = "*"; sources = [ "nope" ]; } );\n')
    assert rc == 1, out
    assert "%s:6" % conf in out, out
    assert "nope" in out


def test_out_of_range_value_line(tmp_path):
    conf, rc, out = check(tmp_path, 'routes = ( { host = "*"; sources = [ "a" ];\n'
                                    '             reuse_max = 99999; } );\n')
    assert rc == 1, out
    assert "%s:7" % conf in out, out
    assert "reuse_max" in out


def test_unknown_user(tmp_path):
    """user must exist: the workers switch to it after fork."""
    conf, rc, out = check(tmp_path, 'routes = ( { host = "*"; sources = [ "a" ]; } );\n'
                                    'user = "no-such-user-for-sluice";\n')
    assert rc == 1, out
    assert "%s:7" % conf in out, out
    assert "user: expected an existing user name" in out, out


def test_unknown_balancer(tmp_path):
    conf, rc, out = check(tmp_path, 'routes = ( { host = "*"; sources = [ "a" ];\n'
                                    '             balancer = "random"; } );\n')
    assert rc == 1, out
    assert "%s:7" % conf in out, out
    assert "round_robin" in out and "least_conn" in out, out


def test_missing_file(tmp_path):
    rc, out = run_sluice(["-t", "-c", str(tmp_path / "absent.conf")])
    assert rc == 1, out
    assert "absent.conf" in out
