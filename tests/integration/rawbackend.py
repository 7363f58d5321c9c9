"""
Scripted raw TCP backend for sluice's HTTP conformance tests (stdlib only).

A RawBackend listens on a free loopback port and serves every accepted connection in
its own thread, either with a handler function or with a list of scripted actions.
It records every byte it receives (per connection) and every request head it
parsed, so a test can assert that a refused request never reached it.

    rb = RawBackend(tmpdir, "raw", scripts=[
        [("head",), ("send", b"HTTP/1.1 2000 OK\\r\\n\\r\\n"), ("close",)],   # connection 0
        [("head",), ("send", OK), ("close",)],                              # connection 1, 2, ...
    ])
    rb = RawBackend(tmpdir, "raw", handler=fn)      # fn(conn) drives connection conn
    rb = RawBackend(tmpdir, "raw", responder=fn)    # fn(conn, req) -> bytes | None, per request

Actions (also RawConn methods): ("head",) read one request head; ("body",) read the
body the last head declares (Content-Length or chunked); ("recv", n); ("send", bytes);
("sleep", s); ("shut_wr",); ("close",) FIN, then wait briefly for the peer's FIN;
("reset",) RST (SO_LINGER 0); ("echo",) echo bytes until EOF; ("drain", s) read and
record for up to s seconds or until EOF. A connection whose script/handler ends
without close or reset is closed (FIN).

With `env` (conftest), use `start(env, name, ...)`: the backend is stopped with the
test's other backends and its log is attached to a failure report.
"""

import socket
import struct
import threading
import time
from pathlib import Path

IO_TIMEOUT = 5.0
MAX_HEAD = 256 * 1024


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


class RawRequest:
    def __init__(self, raw):
        self.raw = raw
        text = raw.decode("latin-1")
        lines = text.split("\r\n")
        parts = lines[0].split(" ")
        self.line = lines[0]
        self.method = parts[0] if parts else ""
        self.target = parts[1] if len(parts) > 1 else ""
        self.version = parts[2] if len(parts) > 2 else ""
        self.headers = []
        self.body = None                # set by the responder loop
        for ln in lines[1:]:
            if not ln:
                continue
            k, _, v = ln.partition(":")
            self.headers.append((k, v.strip(" \t")))

    def get(self, name):
        n = name.lower()
        for k, v in self.headers:
            if k.lower() == n:
                return v
        return None

    def get_all(self, name):
        n = name.lower()
        return [v for k, v in self.headers if k.lower() == n]

    def __repr__(self):
        return "<RawRequest %r>" % self.line


class RawConn:
    """One accepted connection; every byte received is appended to .received."""

    def __init__(self, server, sock, index):
        self.server = server
        self.sock = sock
        self.index = index
        self.buf = bytearray()          # received, not yet consumed by head/body/recv
        self.received = bytearray()     # everything received
        self.heads = []                 # RawRequest per parsed head
        self.eof = False
        self.done = False               # closed or reset by us
        self.how = None                 # "close", "reset", "peer-eof", ...

    def log(self, msg):
        self.server.log("conn %d: %s" % (self.index, msg))

    def _fill(self, timeout=IO_TIMEOUT):
        """True if bytes arrived, False on EOF/reset, None on timeout."""
        if self.eof:
            return False
        self.sock.settimeout(timeout)
        try:
            d = self.sock.recv(65536)
        except socket.timeout:
            return None
        except OSError as e:
            self.log("recv error %r" % e)
            d = b""
        if not d:
            self.eof = True
            self.log("peer EOF (received %d bytes in all)" % len(self.received))
            return False
        self.received += d
        self.buf += d
        return True

    def head(self, timeout=IO_TIMEOUT):
        """Reads one request head; returns a RawRequest, or None on EOF/timeout."""
        deadline = time.monotonic() + timeout
        while True:
            i = self.buf.find(b"\r\n\r\n")
            if i >= 0:
                raw = bytes(self.buf[:i + 4])
                del self.buf[:i + 4]
                req = RawRequest(raw)
                self.heads.append(req)
                with self.server.lock:
                    self.server.requests.append(req)
                self.log("head %r" % req.line)
                return req
            left = deadline - time.monotonic()
            if left <= 0 or len(self.buf) > MAX_HEAD:
                return None
            if not self._fill(left):
                return None

    def recv(self, n, timeout=IO_TIMEOUT):
        """Up to n bytes (exactly n unless EOF/timeout)."""
        deadline = time.monotonic() + timeout
        while len(self.buf) < n:
            left = deadline - time.monotonic()
            if left <= 0 or not self._fill(left):
                break
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    def line(self, timeout=IO_TIMEOUT):
        deadline = time.monotonic() + timeout
        while True:
            i = self.buf.find(b"\n")
            if i >= 0:
                out = bytes(self.buf[:i + 1])
                del self.buf[:i + 1]
                return out
            left = deadline - time.monotonic()
            if left <= 0 or not self._fill(left):
                return None

    def body(self, req=None, timeout=IO_TIMEOUT):
        """Reads the body req (default: the last head) declares; returns the bytes
        (de-chunked), or None if the framing broke or the peer went away."""
        req = req or (self.heads[-1] if self.heads else None)
        if req is None:
            return b""
        te = ",".join(req.get_all("Transfer-Encoding")).lower()
        if "chunked" in te:
            out = bytearray()
            while True:
                ln = self.line(timeout)
                if ln is None:
                    return None
                try:
                    size = int(ln.split(b";")[0].strip(), 16)
                except ValueError:
                    return None
                if size == 0:
                    while True:
                        t = self.line(timeout)
                        if t is None:
                            return None
                        if t in (b"\r\n", b"\n"):
                            return bytes(out)
                data = self.recv(size, timeout)
                if len(data) < size:
                    return None
                out += data
                if self.line(timeout) not in (b"\r\n", b"\n"):
                    return None
        cl = req.get("Content-Length")
        if cl is None:
            return b""
        n = int(cl)
        data = self.recv(n, timeout)
        return data if len(data) == n else None

    def send(self, data):
        try:
            self.sock.sendall(data)
            self.log("sent %d bytes: %r" % (len(data), data[:80]))
            return True
        except OSError as e:
            self.log("send error %r" % e)
            return False

    def sleep(self, s):
        time.sleep(s)

    def shut_wr(self):
        try:
            self.sock.shutdown(socket.SHUT_WR)
            self.log("shutdown(SHUT_WR)")
        except OSError:
            pass

    def drain(self, s=1.0):
        deadline = time.monotonic() + s
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not self._fill(left):
                return

    def close(self):
        """FIN, then read (and record) until the peer's FIN or 2 s, then close."""
        if self.done:
            return
        self.shut_wr()
        self.drain(2.0)
        self.sock.close()
        self.done, self.how = True, "close"
        self.log("closed")

    def reset(self):
        if self.done:
            return
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        self.sock.close()
        self.done, self.how = True, "reset"
        self.log("reset (SO_LINGER 0)")

    def echo(self, timeout=IO_TIMEOUT):
        if self.buf:
            self.send(bytes(self.buf))
            self.buf.clear()
        while True:
            r = self._fill(timeout)
            if not r:
                return
            self.send(bytes(self.buf))
            self.buf.clear()

    def run(self, actions):
        for a in actions:
            getattr(self, a[0])(*a[1:])
            if self.done:
                return


class RawBackend:
    def __init__(self, testdir, name="raw", handler=None, scripts=None, responder=None,
                 port=None):
        self.name = name
        self.log_path = Path(testdir) / ("rawbackend-%s.log" % name)
        self.lock = threading.Lock()
        self.conns = []                 # RawConn per accepted connection, in order
        self.requests = []              # RawRequest per parsed head, all connections
        self._log = []
        if responder is not None:
            handler = self._responder_loop(responder)
        elif scripts is not None:
            scripts = list(scripts)
            handler = lambda c: c.run(scripts[min(c.index, len(scripts) - 1)])
        self.handler = handler
        self.lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind(("127.0.0.1", port or 0))
        self.lsock.listen(128)
        self.port = self.lsock.getsockname()[1]
        self.stopping = False
        threading.Thread(target=self._serve, daemon=True).start()

    @staticmethod
    def _responder_loop(fn):
        def handler(c):
            while True:
                req = c.head(30.0)
                if req is None:
                    return
                req.body = c.body(req)
                if req.body is None:
                    return
                out = fn(c, req)
                if out is None or not c.send(out):
                    return
                if c.done:
                    return
        return handler

    @property
    def address(self):
        return "127.0.0.1:%d" % self.port

    @property
    def source(self):
        return (self.name, self.address)

    @property
    def accepts(self):
        return len(self.conns)

    def received_total(self):
        return sum(len(c.received) for c in list(self.conns))

    def targets(self):
        return [r.target for r in list(self.requests)]

    def log(self, msg=None):
        if msg is None:
            with self.lock:
                text = "\n".join(self._log) + "\n"
            return text
        line = "%.3f %s" % (time.monotonic(), msg)
        with self.lock:
            self._log.append(line)
        try:
            with open(self.log_path, "a") as f:
                f.write(line + "\n")
        except OSError:
            pass

    def _serve(self):
        while not self.stopping:
            try:
                s, _ = self.lsock.accept()
            except OSError:
                if self.stopping:
                    return
                time.sleep(0.01)
                continue
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self.lock:
                c = RawConn(self, s, len(self.conns))
                self.conns.append(c)
            self.log("accept conn %d" % c.index)
            threading.Thread(target=self._run, args=(c,), daemon=True).start()

    def _run(self, c):
        try:
            if self.handler is not None:
                self.handler(c)
        except Exception as e:          # a broken script must show in the log
            self.log("conn %d: handler error %r" % (c.index, e))
        finally:
            try:
                c.close()
            except OSError:
                pass

    def stop(self):
        self.stopping = True
        try:
            self.lsock.close()
        except OSError:
            pass
        for c in list(self.conns):
            if not c.done:
                try:
                    c.sock.close()
                except OSError:
                    pass


def start(env, name="raw", **kw):
    """A RawBackend registered with the conftest env (stopped at teardown, log on failure)."""
    rb = RawBackend(env.dir, name, **kw)
    env.backends.append(rb)
    return rb


def response(status=200, reason="OK", headers=(), body=b"", length=True):
    """Bytes of a simple HTTP/1.1 response."""
    hs = list(headers)
    if length and not any(k.lower() in ("content-length", "transfer-encoding") for k, _ in hs):
        hs.append(("Content-Length", str(len(body))))
    head = "HTTP/1.1 %d %s\r\n" % (status, reason)
    head += "".join("%s: %s\r\n" % (k, v) for k, v in hs) + "\r\n"
    return head.encode("latin-1") + body
