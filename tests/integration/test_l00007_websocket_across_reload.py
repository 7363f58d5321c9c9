"""l00007: a WebSocket tunnel (/ws on backend a) opened before a reload keeps
echoing after it, in the old generation's worker, until timeouts.graceful (3 s)
after the reload; then it is closed and that worker exits. New requests after the
reload go to the new generation (the reload switched the route from a to b)."""

import signal
import time

from harness import HttpConn, pid_alive, read_until_close, wait_until

GRACEFUL = 3
UPGRADE = (b"GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
           b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")


def echo(c, msg, timeout=2.0):
    """Sends msg, reads it back; returns None or what went wrong."""
    try:
        c.send(msg)
        got = bytearray(c.buf)
        c.buf.clear()
        c.sock.settimeout(timeout)
        while len(got) < len(msg):
            d = c.sock.recv(65536)
            if not d:
                return "EOF after %d of %d bytes" % (len(got), len(msg))
            got += d
    except OSError as e:
        return repr(e)
    if bytes(got) != msg:
        return "echoed %r, sent %r" % (bytes(got), msg)
    return None


def test_tunnel_survives_reload_until_graceful(env):
    a, b = env.backend("a"), env.backend("b")
    s = env.sluice([a], workers=2, timeouts={"graceful": GRACEFUL})
    old = s.wait_workers(2)
    assert len(old) == 2

    c = HttpConn(s.port, timeout=3)
    try:
        c.send(UPGRADE)
        status = c.readline()
        assert status.startswith(b"HTTP/1.1 101"), status
        while c.readline() not in (b"\r\n", b"\n"):
            pass
        assert echo(c, b"before-reload") is None

        s.conf_path.write_text(env.config(
            s.port, [("b", b.address)], [{"host": "*", "path": "/", "sources": ["b"]}],
            workers=2, timeouts={"graceful": GRACEFUL}))
        s.proc.send_signal(signal.SIGHUP)
        t_hup = time.monotonic()
        assert wait_until(lambda: "reload: generation 2 started" in s.log(), 2.0), \
            s.log()[-2000:]
        # An old worker may still accept until it has taken its QUIT; from its
        # "graceful stop" line on, it no longer does.
        assert wait_until(lambda: all("[%d]: graceful stop" % p in s.log() for p in old), 2.0), \
            s.log()[-2000:]

        # New requests: the new generation (route -> b).
        for i in range(6):
            r = s.get("/after-reload/%d" % i)
            assert r.status == 200 and r.header("X-Backend") == "b", r

        # The tunnel echoes until graceful; count the round trips that worked.
        ok, err = 0, None
        for i in range(100):
            if time.monotonic() - t_hup > GRACEFUL + 2:
                break
            err = echo(c, b"tick-%d" % i)
            if err is not None:
                break
            ok += 1
            time.sleep(0.1)
        t_end = time.monotonic() - t_hup
        assert err is not None, "tunnel still open %.1fs after the reload (graceful = %d)" % (
            t_end, GRACEFUL)
        # Every echo before graceful - 0.5 s worked, the close came near graceful.
        assert GRACEFUL - 0.5 <= t_end <= GRACEFUL + 1.5, (
            "tunnel ended %.2fs after the reload (graceful %d): %s, %d echoes" % (
                t_end, GRACEFUL, err, ok))
        assert ok >= (GRACEFUL - 0.5) / 0.2, (ok, t_end, err)
        rest, how = read_until_close(c.sock, timeout=1.0)
        assert how in ("eof", "reset"), (rest, how)
    finally:
        c.close()

    assert wait_until(lambda: not [p for p in old if pid_alive(p)], 2.0), \
        "old workers alive after graceful: %r" % [p for p in old if pid_alive(p)]
    st = a.stats()
    assert st["ws_sessions"] == 1 and st["requests"] == 1, st
    assert b.stats()["requests"] == 6
