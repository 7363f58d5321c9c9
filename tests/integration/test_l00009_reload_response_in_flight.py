"""l00009: the deterministic form of the keep-alive race under reload (l00001,
l00002). A response is in flight on a keep-alive connection when the reload comes:
its head already reached the client without "Connection: close", its body is still
coming. The client may then reuse the connection, so the old worker must not close
it after this response: the next request on it must be answered (with Connection:
close), never met with EOF or a reset."""

import signal
import time

import rawbackend
from harness import HttpConn, wait_until

GRACEFUL = 5
BODY_DELAY = 1.5


def test_response_in_flight_at_reload_keeps_connection_usable(env):
    def responder(conn, req):
        if req.target == "/slowbody":
            conn.send(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nfirst")
            time.sleep(BODY_DELAY)
            return b"-last"
        return rawbackend.response(200, body=b"next")

    rb = rawbackend.start(env, "raw", responder=responder)
    s = env.sluice([rb.source], workers=1, timeouts={"graceful": GRACEFUL,
                                                     "backend_response": 5})
    assert len(s.wait_workers(1)) == 1

    with HttpConn(s.port, timeout=4) as c:
        c.send(HttpConn.build("GET", "/slowbody", host="x"))
        status = c.readline()
        assert status.startswith(b"HTTP/1.1 200"), status
        fields = []
        while True:
            ln = c.readline()
            if ln in (b"\r\n", b"\n"):
                break
            fields.append(ln.decode("latin-1").strip())
        conn_hdr = [f for f in fields if f.lower().startswith("connection:")]
        assert not [f for f in conn_hdr if "close" in f.lower()], fields

        # The head is out (keep-alive); the body is not finished: reload now.
        s.proc.send_signal(signal.SIGHUP)
        assert wait_until(lambda: "reload: generation 2 started" in s.log(), BODY_DELAY), \
            s.log()[-2000:]
        body = bytearray(c.buf)
        c.buf.clear()
        while len(body) < 10:
            d = c.sock.recv(100)
            assert d, "EOF after %r of the in-flight body" % bytes(body)
            body += d
        assert bytes(body) == b"first-last", bytes(body)

        # A keep-alive client reuses the connection: this must be answered.
        time.sleep(0.05)
        try:
            r = c.request("GET", "/next")
        except (EOFError, OSError) as e:
            raise AssertionError(
                "the old worker closed a connection whose last response said keep-alive "
                "(head %r): the next request got %r" % (fields, e))
        assert r.status == 200 and r.body == b"next", r
        assert "close" in (r.header("Connection") or "").lower(), r
