"""m00008: `sluice -c CONF -s stop|quit` signals the running master through pid_file."""

from harness import can_connect, run_sluice, wait_until


def test_s_stop(env):
    a = env.backend("a")
    s = env.sluice([a])
    rc, out = run_sluice(["-c", str(s.conf_path), "-s", "stop"])
    assert rc == 0, out
    assert wait_until(lambda: s.proc.poll() is not None, 2.0), "master still running"
    assert not can_connect(s.port)


def test_s_quit(env):
    a = env.backend("a")
    s = env.sluice([a])
    rc, out = run_sluice(["-c", str(s.conf_path), "-s", "quit"])
    assert rc == 0, out
    assert wait_until(lambda: s.proc.poll() is not None, 3.0), "master still running"
