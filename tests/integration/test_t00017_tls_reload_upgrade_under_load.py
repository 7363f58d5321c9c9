"""t00017: l00001 and l00002 with the clients on HTTPS (tlsutil.tls_load: Python
ssl, 8 keep-alive + 4 new-connection client threads, a handshake per new
connection, Connection: close honoured by reconnecting).

1. Ten SIGHUP reloads 0.8 s apart on a TLS listener, each switching the route
   between [a, b] and [a, c]: every request sent gets a complete 200 with the
   right body (no connect, handshake, reset or short-read failure), the
   backends counted exactly the requests the clients saw answered, both
   alternates served, every old generation drained before graceful.
2. Binary upgrade (USR2, then QUIT to the old master) under the same HTTPS load:
   zero failures, the counts match, the new master serves TLS alone."""

import os
import signal
import time

import pytest

from harness import children_of, pid_alive, wait_until
from loadgen import backend_total
from test_l00002_upgrade_under_load import read_pid, stop_foreign_master

import tlsutil

RELOADS = 10
GAP = 0.8
GRACEFUL = 5
WORKERS = 2
MIN_OK = 200        # Python TLS clients on 2 shared cores: fewer than plain l00001's


def tls_conf(env, s, pki, srcs):
    return env.config(s.port, [(x.name, x.address) for x in srcs],
                      [{"host": "*", "path": "/", "sources": [x.name for x in srcs]}],
                      workers=WORKERS, timeouts={"graceful": GRACEFUL},
                      extra={"listeners": [{"address": "127.0.0.1:%d" % s.port,
                                            "tls": {"certificates": pki.certs()}}]})


@pytest.mark.limit(60)
def test_ten_reloads_under_https_load(env, tmp_path):
    pki = tlsutil.Pki(tmp_path)
    a, b, c = env.backend("a"), env.backend("b"), env.backend("c")
    sets = [[a, b], [a, c]]
    s = tlsutil.tls_sluice(env, [a, b], pki, workers=WORKERS, timeouts={"graceful": GRACEFUL})
    first = set(s.wait_workers(WORKERS))
    assert len(first) == WORKERS, first

    load = tlsutil.tls_load(s.port, pki, keepalive=8, newconn=4).start()
    sent = []
    try:
        time.sleep(0.8)
        for i in range(RELOADS):
            srcs = sets[(i + 1) % 2]
            s.conf_path.write_text(tls_conf(env, s, pki, srcs))
            s.proc.send_signal(signal.SIGHUP)
            sent.append([x.name for x in srcs])
            time.sleep(GAP)
            s.workers()
        time.sleep(1.0)
    finally:
        load.stop()

    report = load.report()
    print(report)
    assert s.proc.poll() is None, "master exited during the reloads\n" + report
    assert load.failures == [], "requests failed during reloads\n" + report
    assert load.ok >= MIN_OK, "load too small to mean anything\n" + report
    assert load.ok == load.attempts, report
    counted = {x.name: x.stats()["requests"] for x in (a, b, c)}
    assert sum(counted.values()) == load.ok, (
        "backends counted %r = %d requests, clients saw %d answered\n%s"
        % (counted, sum(counted.values()), load.ok, report))
    assert counted["b"] > 0 and counted["c"] > 0, (counted, report)

    log = s.log()
    assert log.count("reload: generation") == RELOADS, log[-3000:]
    assert "reload: generation %d started" % (RELOADS + 1) in log, log[-3000:]
    assert "is invalid" not in log, log[-3000:]
    assert wait_until(lambda: len(s.workers()) == WORKERS, GRACEFUL + 2), (
        "workers alive %r after the last reload" % s.workers())
    assert not [p for p in first if pid_alive(p)], "first-generation workers still alive"
    assert wait_until(lambda: s.log().count("finished draining") == RELOADS, 2.0), \
        s.log()[-3000:]
    log = s.log()
    assert "still open after" not in log and "killing" not in log, (
        "an old worker reached timeouts.graceful although no connection was idle:\n"
        + "\n".join(ln for ln in log.splitlines() if "still open after" in ln or "killing" in ln))

    final = sent[-1]
    before = {x.name: x.stats()["requests"] for x in (a, b, c)}
    names = set()
    for i in range(20):
        with tlsutil.TlsConn(s.port, pki) as cn:
            r = cn.request("GET", "/after/%d" % i)
        assert r.status == 200, r
        names.add(r.header("X-Backend"))
    assert names <= set(final), (names, final)
    assert backend_total([a, b, c]) == sum(before.values()) + 20


@pytest.mark.limit(60)
def test_upgrade_under_https_load(env, tmp_path):
    pki = tlsutil.Pki(tmp_path)
    a, b = env.backend("a"), env.backend("b")
    s = tlsutil.tls_sluice(env, [a, b], pki, workers=WORKERS, timeouts={"graceful": GRACEFUL})
    old_pid = s.pid
    old_workers = set(s.wait_workers(WORKERS))
    assert len(old_workers) == WORKERS
    pid_file = env.dir / "sluice.pid"
    oldbin = env.dir / "sluice.pid.oldbin"
    assert read_pid(pid_file) == old_pid

    state = {"new_pid": 0}
    try:
        run_upgrade(s, pki, a, b, old_pid, old_workers, pid_file, oldbin, state)
    finally:
        stop_foreign_master(state["new_pid"], s.binary)


def run_upgrade(s, pki, a, b, old_pid, old_workers, pid_file, oldbin, state):
    load = tlsutil.tls_load(s.port, pki, keepalive=8, newconn=4).start()
    steps = {}
    try:
        time.sleep(2.0)
        s.proc.send_signal(signal.SIGUSR2)
        t_usr2 = time.monotonic()
        new_pid = wait_until(lambda: (read_pid(pid_file) not in (0, old_pid)
                                      and read_pid(pid_file)), 5.0) or 0
        state["new_pid"] = new_pid
        steps["new_pid"] = (new_pid, round(time.monotonic() - t_usr2, 3))
        assert new_pid, "pid_file still names %d 5 s after SIGUSR2\n%s" % (
            read_pid(pid_file), s.log()[-3000:])
        new_workers = wait_until(lambda: len(children_of(new_pid)) == WORKERS
                                 and children_of(new_pid), 5.0)
        assert new_workers, "new master %d has children %r" % (new_pid, children_of(new_pid))
        assert read_pid(oldbin) == old_pid
        time.sleep(2.5)
        s.proc.send_signal(signal.SIGQUIT)
        t_quit = time.monotonic()
        try:
            s.proc.wait(GRACEFUL + 3)
        except Exception:
            pass
        steps["old_exit"] = (s.proc.returncode, round(time.monotonic() - t_quit, 3))
        assert s.proc.poll() is not None, "old master still running after QUIT"
        assert s.proc.returncode == 0, s.proc.returncode
        assert not [p for p in old_workers if pid_alive(p)], "old workers outlived their master"
        assert read_pid(pid_file) == new_pid
        time.sleep(3.0)
        assert pid_alive(new_pid), "new master died\n" + s.log()[-3000:]
    finally:
        load.stop()
        report = load.report()
        print(report, steps)

    assert load.failures == [], "requests failed around the upgrade %r\n%s" % (steps, report)
    assert load.ok >= MIN_OK, report
    assert load.ok == load.attempts, report
    counted = a.stats()["requests"] + b.stats()["requests"]
    assert counted == load.ok, "backends counted %d, clients saw %d answered\n%s" % (
        counted, load.ok, report)

    # The new master serves HTTPS alone, then stops on TERM.
    r = tlsutil.curl_https(s, pki, "/after-upgrade")
    assert r.status == 200, r
    new_pid = state["new_pid"]
    kids = children_of(new_pid)
    os.kill(new_pid, signal.SIGTERM)
    assert wait_until(lambda: not pid_alive(new_pid), 5.0), "new master ignores SIGTERM"
    assert wait_until(lambda: not [p for p in kids if pid_alive(p)], 2.0)
