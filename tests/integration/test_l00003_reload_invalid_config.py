"""l00003: an invalid file on reload changes nothing. SIGHUP with a broken file: the
error is logged as "reload: FILE:LINE: ..." plus "FILE is invalid; still serving the
previous configuration", the same workers keep serving the old sources (a keep-alive
connection too, without Connection: close). `sluice -s reload -c FILE` on a broken
file (semantic or syntax error) exits 1, prints FILE:LINE and signals nothing. After
the file is fixed, `-s reload` exits 0 and the new sources serve."""

import signal
import time

from harness import pid_alive, run_sluice, wait_until

GRACEFUL = 3


def line_of(text, needle):
    for i, ln in enumerate(text.splitlines(), 1):
        if needle in ln:
            return i
    raise AssertionError("%r not in config" % needle)


def conf_for(env, port, srcs, route_sources):
    return env.config(port, [(x.name, x.address) for x in srcs],
                      [{"host": "*", "path": "/", "sources": route_sources}],
                      workers=2, timeouts={"graceful": GRACEFUL})


def backends_of(s, n=10):
    names = []
    for i in range(n):
        r = s.get("/probe/%d" % i)
        assert r.status == 200, r
        names.append(r.header("X-Backend"))
    return names


def test_invalid_reload_keeps_serving(env):
    a, b = env.backend("a"), env.backend("b")
    s = env.sluice([a], workers=2, timeouts={"graceful": GRACEFUL})
    path = str(s.conf_path)
    workers = sorted(s.wait_workers(2))
    assert len(workers) == 2
    assert backends_of(s) == ["a"] * 10

    ka = s.conn()
    r = ka.request("GET", "/ka/1")
    assert r.status == 200 and r.header("X-Backend") == "a", r

    # 1. SIGHUP with a semantic error (a route names an unknown source).
    bad = conf_for(env, s.port, [b], ["bb"])
    bad_line = line_of(bad, '"bb"')
    s.conf_path.write_text(bad)
    s.proc.send_signal(signal.SIGHUP)
    assert wait_until(lambda: "is invalid; still serving the previous configuration" in s.log(),
                      3.0), s.log()[-3000:]
    log = s.log()
    want = "reload: %s:%d: " % (path, bad_line)
    assert want in log and 'unknown source "bb"' in log, (want, log[-3000:])
    assert "reload: %s is invalid; still serving the previous configuration" % path in log
    time.sleep(0.5)
    assert sorted(s.workers()) == workers, "workers changed after an invalid reload"
    assert "reload: generation" not in s.log()
    assert backends_of(s) == ["a"] * 10
    r = ka.request("GET", "/ka/2")
    assert r.status == 200 and r.header("X-Backend") == "a", r
    assert "close" not in (r.header("Connection") or "").lower(), r

    # 2. `-s reload` on broken files: exit 1, the error printed, no signal sent.
    loads = s.log().count("reload: loading")
    rc, out = run_sluice(["-s", "reload", "-c", path])
    assert rc == 1, (rc, out)
    assert "%s:%d:" % (path, bad_line) in out and 'unknown source "bb"' in out, out

    syntax = conf_for(env, s.port, [b], ["b"]).replace(
        "  graceful = %d;\n" % GRACEFUL, "  graceful = %d;\n  graceful_x = = 1;\n" % GRACEFUL)
    syntax_line = line_of(syntax, "graceful_x")
    s.conf_path.write_text(syntax)
    rc, out = run_sluice(["-s", "reload", "-c", path])
    assert rc == 1, (rc, out)
    assert "%s:%d:" % (path, syntax_line) in out, (syntax_line, out)
    time.sleep(0.5)
    assert s.log().count("reload: loading") == loads, "-s reload signalled with a broken file"
    assert sorted(s.workers()) == workers
    assert backends_of(s, 5) == ["a"] * 5

    # 3. Fixed: -s reload exits 0 and the new sources serve.
    s.conf_path.write_text(conf_for(env, s.port, [b], ["b"]))
    rc, out = run_sluice(["-s", "reload", "-c", path])
    assert rc == 0, (rc, out)
    assert wait_until(lambda: "reload: generation 2 started" in s.log(), 3.0), s.log()[-3000:]
    # Once each old worker has taken its QUIT ("graceful stop"), it drains.
    assert wait_until(lambda: all("[%d]: graceful stop" % p in s.log() for p in workers), 3.0), \
        s.log()[-3000:]
    # The keep-alive connection of the old generation: answered, then closed.
    r = ka.request("GET", "/ka/3")
    assert r.status == 200 and r.header("X-Backend") == "a", r
    assert "close" in (r.header("Connection") or "").lower(), r
    assert ka.closed_by_peer(2.0), "old keep-alive connection left open after Connection: close"
    ka.close()
    assert wait_until(lambda: not [p for p in workers if pid_alive(p)], GRACEFUL + 2), \
        "old workers still alive"
    assert backends_of(s) == ["b"] * 10
