"""
A small, bounded load generator for sluice's lifecycle tests (test_l*): client
threads that send GET requests as fast as they can (or with a pause) until
stopped, and record every failure.

Two kinds of clients, mixed:
  keep-alive      one HttpConn reused for request after request; a response with
                  "Connection: close" is honoured (the connection is closed and a
                  new one opened for the next request) and is not a failure;
  new-connection  a new TCP connection per request (every other request asks
                  "Connection: close", the others are closed by the client after
                  the response).

A failure is anything but a complete 2xx response with the expected body:
  connect   the TCP connect failed (refused, reset, timeout);
  request   sending or reading failed: reset, EOF before or inside the response
            (a short read), timeout, unparsable response;
  status    a non-2xx status;
  body      a 2xx whose body is not what the backend sends for the path
            ("hello from NAME\\n" for NAME in X-Backend, unless check_body=False).

Usage:
    load = Load(port, keepalive=8, newconn=4).start()
    ... reloads ...
    load.stop()
    assert not load.failures, load.report()
    total_at_backends == load.ok

Every thread is a daemon, every socket has a timeout, stop() joins with a bound.
"""

import collections
import threading
import time

from harness import HttpConn


class Failure:
    __slots__ = ("t", "client", "kind", "detail")

    def __init__(self, t, client, kind, detail):
        self.t = t              # seconds since Load.start()
        self.client = client    # "ka3" / "nc1"
        self.kind = kind
        self.detail = detail

    def __repr__(self):
        return "<%.3fs %s %s: %s>" % (self.t, self.client, self.kind, self.detail)


class Load:
    def __init__(self, port, keepalive=8, newconn=4, path="/lg", timeout=5.0, pause=0.0,
                 check_body=True, host="127.0.0.1"):
        self.port = port
        self.host = host
        self.nka = keepalive
        self.nnc = newconn
        self.path = path
        self.timeout = timeout
        self.pause = pause
        self.check_body = check_body
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.threads = []
        self.t0 = None
        self.t_end = None
        self.ok = 0                 # complete 2xx responses with the right body
        self.attempts = 0           # requests sent (or tried to send)
        self.connects = 0           # TCP connections opened
        self.close_announced = 0    # keep-alive responses that said Connection: close
        self.failures = []
        self.by_backend = collections.Counter()
        self.per_client = collections.Counter()

    # -- control ------------------------------------------------------------

    def start(self):
        self.t0 = time.monotonic()
        for i in range(self.nka):
            self.threads.append(threading.Thread(target=self._keepalive, args=("ka%d" % i,),
                                                 daemon=True))
        for i in range(self.nnc):
            self.threads.append(threading.Thread(target=self._newconn, args=("nc%d" % i,),
                                                 daemon=True))
        for t in self.threads:
            t.start()
        return self

    def stop(self, join_timeout=None):
        """Stops the clients after their current request; returns self. A thread
        still running after join_timeout (default: request timeout + 2 s) is
        recorded as a failure."""
        self.stopping.set()
        deadline = time.monotonic() + (join_timeout or self.timeout + 2.0)
        for t in self.threads:
            t.join(max(0.0, deadline - time.monotonic()))
            if t.is_alive():
                self._fail(t.name, "hung", "client thread still running at stop()")
        self.t_end = time.monotonic()
        return self

    def elapsed(self):
        return (self.t_end or time.monotonic()) - self.t0

    def report(self, limit=30):
        """A summary for assertion messages."""
        with self.lock:
            fails = list(self.failures)
            kinds = collections.Counter(f.kind for f in fails)
            head = ("load on port %d: %.1fs, %d attempts, %d ok, %d failures %s, %d connections, "
                    "%d 'Connection: close' on keep-alive, by backend %s"
                    % (self.port, self.elapsed(), self.attempts, self.ok, len(fails),
                       dict(kinds), self.connects, self.close_announced,
                       dict(self.by_backend)))
        lines = [head] + ["  %r" % f for f in fails[:limit]]
        if len(fails) > limit:
            lines.append("  ... %d more" % (len(fails) - limit))
        return "\n".join(lines)

    # -- bookkeeping ----------------------------------------------------------

    def _fail(self, client, kind, detail):
        with self.lock:
            self.failures.append(Failure(time.monotonic() - self.t0, client, kind, detail))

    def _check(self, client, target, r):
        """True if r is a good response; records the failure otherwise."""
        if not 200 <= r.status < 300:
            self._fail(client, "status", "%s -> %d %r" % (target, r.status, r.body[:120]))
            return False
        name = r.header("X-Backend")
        if self.check_body and r.body != ("hello from %s\n" % name).encode():
            self._fail(client, "body", "%s -> %d X-Backend=%r body=%r (%s framing)"
                       % (target, r.status, name, r.body[:120], r.framing))
            return False
        with self.lock:
            self.ok += 1
            self.by_backend[name] += 1
            self.per_client[client] += 1
        return True

    def _connect(self, client):
        with self.lock:
            self.connects += 1
        try:
            return HttpConn(self.port, host=self.host, timeout=self.timeout)
        except OSError as e:
            self._fail(client, "connect", repr(e))
            return None

    # -- clients --------------------------------------------------------------

    def _keepalive(self, client):
        threading.current_thread().name = client
        conn = None
        n = 0
        try:
            while not self.stopping.is_set():
                if conn is None:
                    conn = self._connect(client)
                    if conn is None:
                        time.sleep(0.02)
                        continue
                n += 1
                target = "%s/%s/%d" % (self.path, client, n)
                with self.lock:
                    self.attempts += 1
                try:
                    r = conn.request("GET", target)
                except (OSError, EOFError, ValueError) as e:
                    self._fail(client, "request", "%s on a connection: %r" % (target, e))
                    conn.close()
                    conn = None
                    continue
                self._check(client, target, r)
                if "close" in (r.header("Connection") or "").lower() or r.framing == "close":
                    with self.lock:
                        self.close_announced += 1
                    conn.close()
                    conn = None
                if self.pause:
                    time.sleep(self.pause)
        finally:
            if conn is not None:
                conn.close()

    def _newconn(self, client):
        threading.current_thread().name = client
        n = 0
        while not self.stopping.is_set():
            conn = self._connect(client)
            if conn is None:
                time.sleep(0.02)
                continue
            n += 1
            target = "%s/%s/%d" % (self.path, client, n)
            headers = [("Connection", "close")] if n % 2 else []
            with self.lock:
                self.attempts += 1
            try:
                r = conn.request("GET", target, headers=headers)
                self._check(client, target, r)
            except (OSError, EOFError, ValueError) as e:
                self._fail(client, "request", "%s on a new connection: %r" % (target, e))
            finally:
                conn.close()
            if self.pause:
                time.sleep(self.pause)


def backend_total(backends):
    """Sum of the "requests" counters of backends (BackendProc list)."""
    return sum(b.stats()["requests"] for b in backends)
