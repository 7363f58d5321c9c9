"""m00025: a route that can never match, because an earlier route's host
pattern covers its host and the earlier path is a prefix of its path (first
match wins), is a warning: `sluice -t` prints FILE:LINE: warning: ... and
still exits 0; a real start writes the same line to the error log and serves."""

import os
import signal

from harness import curl, free_port, run_sluice, wait_until

HEAD = """workers = 1;
pid_file = "%s/sluice.pid";
shm = "/sluice-test-%d";
log = { error = "stderr"; level = "info"; };
listeners = ( { address = "127.0.0.1:%d"; } );
sources = ( { name = "a"; address = "%s"; }, { name = "b"; address = "%s"; } );
"""
# HEAD is 6 lines; "routes = (" is line 7, routes[0] line 8.

SHADOWED = """routes = (
  { host = "*.example.com"; path = "/api"; sources = [ "a" ]; },
  { host = "v1.example.com"; path = "/api/v1"; sources = [ "b" ]; },
  { host = "example.com"; path = "/api/v1"; sources = [ "b" ]; },
  { host = "*"; path_regex = "^/x"; sources = [ "a" ]; },
  { host = "*"; path = "/"; sources = [ "a" ]; },
  { host = "*"; path = "/static"; sources = [ "b" ]; }
);
"""
# routes[1] at line 9 (under routes[0], line 8); routes[5] at line 13 (under routes[4], line 12).

CLEAN = """routes = (
  { host = "v1.example.com"; path = "/api/v1"; sources = [ "b" ]; },
  { host = "*.example.com"; path = "/api"; sources = [ "a" ]; },
  { host = "*"; path = "/static"; sources = [ "b" ]; },
  { host = "*"; path = "/"; sources = [ "a" ]; }
);
"""


def write(tmp_path, routes, port=1, a="127.0.0.1:9", b="127.0.0.1:10"):
    conf = tmp_path / "routes.conf"
    conf.write_text(HEAD % (tmp_path, port, port, a, b) + routes)
    return conf


def test_check_warns_with_line_and_exits_0(tmp_path):
    conf = write(tmp_path, SHADOWED)
    rc, out = run_sluice(["-t", "-c", str(conf)])
    assert rc == 0, out
    assert "configuration OK" in out, out
    assert ('%s:9: warning: routes[1]: can never match: routes[0] (line 8) comes first and '
            'takes all its requests (host "*.example.com", path prefix "/api")' % conf) in out, out
    assert ('%s:13: warning: routes[5]: can never match: routes[4] (line 12) comes first and '
            'takes all its requests (host "*", path prefix "/")' % conf) in out, out
    # example.com is not under *.example.com; regex routes are not judged.
    assert out.count("warning:") == 2, out


def test_specific_routes_first_are_clean(tmp_path):
    conf = write(tmp_path, CLEAN)
    rc, out = run_sluice(["-t", "-c", str(conf)])
    assert rc == 0 and "configuration OK" in out, out
    assert "warning" not in out, out


def test_start_logs_the_warning_and_serves(env):
    a, b = env.backend("a"), env.backend("b")
    port = free_port()
    s = env.sluice(conf_text=HEAD % (env.dir, port, port, a.address, b.address) + SHADOWED,
                   port=port)
    assert ('%s:13: warning: routes[5]: can never match: routes[4] (line 12)' % s.conf_path) \
        in s.log(), s.log()
    assert "[warn]" in s.log()
    # The shadowed route indeed never answers: /static goes to the "/" route's source.
    r = curl(s.url("/static/x"))
    assert r.status == 200, r
    assert r.header("X-Backend") == "a", r


def test_reload_logs_the_warning(env):
    """A reload to a config with a shadowed route is taken (it is only a warning) and
    logs the same line as start-up, prefixed "reload:"."""
    a, b = env.backend("a"), env.backend("b")
    port = free_port()
    s = env.sluice(conf_text=HEAD % (env.dir, port, port, a.address, b.address) + CLEAN,
                   port=port)
    assert "warning:" not in s.log()
    s.conf_path.write_text(HEAD % (env.dir, port, port, a.address, b.address) + SHADOWED)
    os.kill(s.pid, signal.SIGHUP)
    want = ('reload: %s:13: warning: routes[5]: can never match: routes[4] (line 12)'
            % s.conf_path)
    assert wait_until(lambda: want in s.log(), 5), s.log()
    assert s.log().count("reload: %s:" % s.conf_path) == 2, s.log()
    # The new generation serves: /static now goes to the "/" route's source, a.
    assert wait_until(lambda: curl(s.url("/static/x")).header("X-Backend") == "a", 5)
