"""l00008: reloads that change the listeners. 2 listeners -> 1: a keep-alive
connection on the removed port gets its next response (with Connection: close);
once the old workers are gone the removed port refuses connections while the kept
one serves on. 1 -> 2 with a new port: the new port serves."""

import signal
import time

from harness import HttpConn, can_connect, free_port, pid_alive, wait_until

GRACEFUL = 3


def conf(env, a, ports):
    return env.config(ports[0], [("a", a.address)],
                      [{"host": "*", "path": "/", "sources": ["a"]}], workers=2,
                      timeouts={"graceful": GRACEFUL},
                      extra={"listeners": [{"address": "127.0.0.1:%d" % p} for p in ports]})


def serves(port, n=4):
    for i in range(n):
        c = HttpConn(port, timeout=3)
        try:
            r = c.request("GET", "/on/%d/%d" % (port, i))
        finally:
            c.close()
        assert r.status == 200 and r.body == b"hello from a\n", (port, r)
    return True


def reload(s, gen):
    s.proc.send_signal(signal.SIGHUP)
    assert wait_until(lambda: "reload: generation %d started" % gen in s.log(), 3.0), \
        s.log()[-2000:]


def test_listener_removed_then_added(env):
    a = env.backend("a")
    p1, p2, p3 = free_port(), free_port(), free_port()
    s = env.sluice(conf_text=conf(env, a, [p1, p2]), port=p1)
    gen1 = s.wait_workers(2)
    assert len(gen1) == 2
    assert wait_until(lambda: can_connect(p2), 2.0)
    serves(p1)
    serves(p2)

    ka = HttpConn(p2, timeout=3)
    r = ka.request("GET", "/ka/1")
    assert r.status == 200, r

    # 2 -> 1 listener.
    s.conf_path.write_text(conf(env, a, [p1]))
    reload(s, 2)
    r = ka.request("GET", "/ka/2")
    assert r.status == 200, r
    assert "close" in (r.header("Connection") or "").lower(), r
    assert ka.closed_by_peer(2.0), "keep-alive connection on the removed port left open"
    ka.close()
    assert wait_until(lambda: not [p for p in gen1 if pid_alive(p)], GRACEFUL + 2), \
        "old workers alive: %r" % [p for p in gen1 if pid_alive(p)]
    t0 = time.monotonic()
    refused = wait_until(lambda: not can_connect(p2), 1.0)
    assert refused, "removed port %d still accepts %.1fs after the old workers exited" % (
        p2, time.monotonic() - t0)
    try:
        HttpConn(p2, timeout=1).close()
        raise AssertionError("connect to the removed port %d succeeded" % p2)
    except ConnectionRefusedError:
        pass
    serves(p1)

    # 1 -> 2 listeners, a new port.
    gen2 = s.wait_workers(2)
    s.conf_path.write_text(conf(env, a, [p1, p3]))
    reload(s, 3)
    assert wait_until(lambda: can_connect(p3), 2.0), "new port %d not listening" % p3
    serves(p3)
    serves(p1)
    assert not can_connect(p2)
    assert wait_until(lambda: not [p for p in gen2 if pid_alive(p)], GRACEFUL + 2)
    serves(p3)
