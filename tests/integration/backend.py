#!/usr/bin/env python3
"""
Scriptable HTTP/1.1 origin server for sluice's integration tests (stdlib only).

Run:    python3 backend.py --port N [--host 127.0.0.1] [--name NAME]
                           [--idle-close SECONDS] [--drop-after N] [--delay SECONDS]
Import: from backend import Backend, gen_bytes   (Backend(...).start() serves in a thread)

One thread per TCP connection; keep-alive HTTP/1.1, honours "Connection: close"
and HTTP/1.0 (kept alive only with "Connection: keep-alive"). Request bodies are
read with Content-Length or chunked framing and streamed into a SHA-256, never
stored. "Expect: 100-continue" gets an interim 100 before the body is read.

Counters (reported by /__stats):
  accepts   TCP connections accepted, EXCEPT control connections: a connection
            whose first request is /__stats or /__reset is uncounted, so the
            harness can poll without disturbing the numbers;
  requests  request heads received on any path except /__stats and /__reset
            (a request dropped by --drop-after still counts);
  open      connections open right now (control connections included).
  conns     connections open right now whose first request was not a control
            path (the proxy's), and conns_max: the most open at once since
            the start or the last /__reset (which sets it to conns). A
            connection whose peer has already closed it (EOF waiting unread
            while its thread has not got to it yet) is not counted as open
            when a new one arrives: the proxy no longer holds it.
  busy_max  the most requests (not control paths) being answered at once since
            the start or the last /__reset.

Endpoints (any method; every response carries "X-Backend: NAME"; HEAD gets the
same head as GET and no body):
  /__stats                 JSON {"name", "accepts", "requests", "open", "ws_sessions",
                           "ws_eof", "health_checks"}
  /__reset                 zero accepts and requests, answer 200 "reset\\n"
  /__health                200 "ok\\n", or 503 while the health switch is off (see
                           /__mode); uncounted like /__stats, counted in /__stats
                           as "health_checks" (for sluice's active health checker)
  /__mode?K=V&...          sticky behaviour switches for the ordinary requests that
                           follow (uncounted; answers the JSON of the whole mode):
                             status=C        answer each with status C, body
                                             "mode C\\n" (status=0: normal again)
                             retry_after=V   with status: add "Retry-After: V"
                             count=K         with status: only the next K requests
                                             (then normal again); default unlimited
                             delay=S         sleep S seconds before answering each
                             health=0|1      /__health answers 503 (0) or 200 (1)
                           /__mode with no query resets status, retry_after, delay
                           (to --delay) and health
  /echo                    JSON of the request: name, method, target, path, query,
                           version, headers ([name, value] as received, in order,
                           case kept), body_len, body_sha256, conn_id (per-server
                           connection number), conn_request (1-based index of the
                           request on its connection), peer; header X-Echo-Method
  /headers?N=V&...         like /echo, plus each query pair as a response header
                           (a "Connection" pair replaces the server's own value)
  /sha256                  body = hex SHA-256 of the request body
  /bytes?n=N&seed=S        N bytes of gen_bytes(N, S), with Content-Length
  /chunked?n=N&chunk=K&seed=S
                           the same bytes, Transfer-Encoding: chunked, K per chunk
                           (close-delimited for an HTTP/1.0 request)
  /close?n=N&seed=S        the same bytes, no Content-Length, then close
  /slow?delay=SECONDS      sleep, then 200 "slow done\\n"
  /status?code=C           that status, body "status C\\n" (none for 1xx/204/304)
  /ws[?bye=1]              GET with "Connection: upgrade" and "Upgrade: websocket":
                           101 Switching Protocols, then a raw byte echo until EOF
                           (with bye=1, "ws-eof\\n" is sent after the EOF), then close;
                           without the upgrade headers: 426. Counted in /__stats as
                           "ws_sessions" (101 sent) and "ws_eof" (ended by a clean EOF)
  anything else            200 "hello from NAME\\n"
                           (or, when the request carries "X-Echo-Any: 1", the same
                           JSON as /echo: for checking a rewritten target)

Options:
  --idle-close T   close a connection that waits T seconds for a request head
                   (the backend side of a keep-alive pool race)
  --delay S        sleep S seconds before answering each ordinary request
                   (not /__stats, /__reset, /__health, /__mode)
  --drop-after N   on every connection, serve N requests, then read the next
                   request head and close without answering a byte
"""

import argparse
import hashlib
import json
import select
import socket
import sys
import threading
import time
import urllib.parse

MAX_HEAD = 64 * 1024
READ_TIMEOUT = 30.0
CONTROL_PATHS = ("/__stats", "/__reset", "/__health", "/__mode")


def byte_stream(n, seed="0", piece=65536):
    """Yields the n deterministic bytes of gen_bytes(n, seed) in pieces of at most piece."""
    seed_b = str(seed).encode()
    out = bytearray()
    i = 0
    left = n
    while left > 0:
        while len(out) < min(piece, left):
            out += hashlib.sha256(seed_b + i.to_bytes(8, "big")).digest()
            i += 1
        take = min(piece, left)
        yield bytes(out[:take])
        del out[:take]
        left -= take


def gen_bytes(n, seed="0"):
    """n deterministic pseudo-random bytes: sha256(seed || be64(i)) for i = 0, 1, ..."""
    return b"".join(byte_stream(n, seed))


def sha256_of_stream(n, seed="0"):
    h = hashlib.sha256()
    for p in byte_stream(n, seed):
        h.update(p)
    return h.hexdigest()


def peer_closed(s):
    """Has the peer closed s (its FIN or a reset arrived)? Never reads or blocks."""
    p = select.poll()
    try:
        p.register(s, select.POLLRDHUP)
        ev = p.poll(0)
    except (OSError, ValueError):
        return True
    return any(e & (select.POLLRDHUP | select.POLLHUP | select.POLLERR) for _, e in ev)


class ConnClosed(Exception):
    pass


class Reader:
    """Buffered reads from a socket; raises ConnClosed on EOF mid-message."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = bytearray()

    def fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise ConnClosed()
        self.buf += data

    def line(self, limit=MAX_HEAD):
        while True:
            i = self.buf.find(b"\n")
            if i >= 0:
                out = bytes(self.buf[:i + 1])
                del self.buf[:i + 1]
                return out
            if len(self.buf) > limit:
                raise ValueError("line too long")
            self.fill()

    def head(self):
        while True:
            i = self.buf.find(b"\r\n\r\n")
            if i >= 0:
                out = bytes(self.buf[:i + 4])
                del self.buf[:i + 4]
                return out
            if len(self.buf) > MAX_HEAD:
                raise ValueError("head too large")
            self.fill()

    def chunks(self, n):
        """Yields exactly n bytes in pieces."""
        while n > 0:
            if not self.buf:
                self.fill()
            take = min(n, len(self.buf))
            yield bytes(self.buf[:take])
            del self.buf[:take]
            n -= take


class Request:
    def __init__(self, method, target, version, headers):
        self.method = method
        self.target = target
        self.version = version
        self.headers = headers          # list of (name, value) as received
        u = urllib.parse.urlsplit(target)
        self.path = u.path
        self.query_raw = u.query
        self.query = dict(urllib.parse.parse_qsl(u.query, keep_blank_values=True))
        self.query_list = urllib.parse.parse_qsl(u.query, keep_blank_values=True)
        self.body_len = 0
        self.body_sha = hashlib.sha256()

    def get(self, name):
        n = name.lower()
        for k, v in self.headers:
            if k.lower() == n:
                return v
        return None

    def tokens(self, name):
        n = name.lower()
        out = []
        for k, v in self.headers:
            if k.lower() == n:
                out += [t.strip().lower() for t in v.split(",") if t.strip()]
        return out


class Backend:
    def __init__(self, port=0, host="127.0.0.1", name="backend", idle_close=None, drop_after=None,
                 delay=None):
        self.name = name
        self.idle_close = idle_close
        self.drop_after = drop_after
        self.lock = threading.Lock()
        self.accepts = 0
        self.requests = 0
        self.open = 0
        self.conns = 0
        self.conns_max = 0
        self.busy = 0
        self.busy_max = 0
        self.data_socks = set()
        self.conn_seq = 0
        self.ws_sessions = 0
        self.ws_eof = 0
        self.default_delay = delay or 0.0
        self.health_checks = 0
        self.mode = self.initial_mode()
        self.lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind((host, port))
        self.lsock.listen(256)
        self.host, self.port = self.lsock.getsockname()[:2]
        self.stopping = False

    # -- server loop --------------------------------------------------------

    def start(self):
        """Serves in a daemon thread; returns self."""
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self

    def stop(self):
        self.stopping = True
        try:
            self.lsock.close()
        except OSError:
            pass

    def serve_forever(self):
        while not self.stopping:
            try:
                s, peer = self.lsock.accept()
            except OSError:
                if self.stopping:
                    return
                time.sleep(0.01)
                continue
            with self.lock:
                self.accepts += 1
                self.open += 1
                self.conn_seq += 1
                cid = self.conn_seq
            threading.Thread(target=self.handle_conn, args=(s, peer, cid), daemon=True).start()

    def handle_conn(self, s, peer, cid):
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        r = Reader(s)
        nreq = 0
        data = False
        try:
            while True:
                # Waiting for a request head: the idle period of a keep-alive connection.
                if not r.buf:
                    s.settimeout(self.idle_close if self.idle_close else READ_TIMEOUT)
                    try:
                        r.fill()
                    except socket.timeout:
                        return
                s.settimeout(READ_TIMEOUT)
                req = self.read_head(r)
                req.reader = r
                nreq += 1
                control = req.path in CONTROL_PATHS
                with self.lock:
                    if control and nreq == 1:
                        self.accepts -= 1
                    if not control:
                        self.requests += 1
                    if not control and nreq == 1:
                        data = True
                        live = 1 + sum(1 for o in self.data_socks if not peer_closed(o))
                        self.data_socks.add(s)
                        self.conns = len(self.data_socks)
                        self.conns_max = max(self.conns_max, live)
                if (not control and self.drop_after is not None and
                    nreq > self.drop_after):
                    return
                self.read_body(s, r, req)
                if not control:
                    with self.lock:
                        self.busy += 1
                        self.busy_max = max(self.busy_max, self.busy)
                try:
                    keep = self.handle(s, req, cid, nreq, peer)
                finally:
                    if not control:
                        with self.lock:
                            self.busy -= 1
                if not keep:
                    return
        except (ConnClosed, ConnectionError, socket.timeout, ValueError, OSError):
            return
        finally:
            with self.lock:
                self.open -= 1
                if data:
                    self.data_socks.discard(s)
                    self.conns = len(self.data_socks)
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    # -- request parsing ----------------------------------------------------

    def read_head(self, r):
        raw = r.head().decode("latin-1")
        lines = raw.split("\r\n")
        parts = lines[0].split(" ")
        if len(parts) != 3:
            raise ValueError("bad request line")
        method, target, version = parts
        headers = []
        for ln in lines[1:]:
            if not ln:
                continue
            k, sep, v = ln.partition(":")
            if not sep:
                raise ValueError("bad header")
            headers.append((k, v.strip(" \t")))
        return Request(method, target, version, headers)

    def read_body(self, s, r, req):
        te = req.tokens("transfer-encoding")
        cl = req.get("content-length")
        has_body = (te and te[-1] == "chunked") or (cl is not None and int(cl) > 0)
        if (has_body and req.version == "HTTP/1.1" and
            (req.get("expect") or "").lower() == "100-continue"):
            s.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        if te and te[-1] == "chunked":
            while True:
                ln = r.line().decode("latin-1").strip()
                size = int(ln.split(";", 1)[0].strip(), 16)
                if size == 0:
                    while r.line() not in (b"\r\n", b"\n"):
                        pass            # trailers
                    return
                for p in r.chunks(size):
                    req.body_len += len(p)
                    req.body_sha.update(p)
                if r.line() not in (b"\r\n", b"\n"):
                    raise ValueError("bad chunk end")
        elif cl is not None:
            for p in r.chunks(int(cl)):
                req.body_len += len(p)
                req.body_sha.update(p)

    # -- responses ----------------------------------------------------------

    def wants_keepalive(self, req):
        conn = req.tokens("connection")
        if "close" in conn:
            return False
        if req.version == "HTTP/1.0":
            return "keep-alive" in conn
        return True

    def send_head(self, s, req, status, headers, keep):
        reasons = {100: "Continue", 200: "OK", 201: "Created", 204: "No Content",
               301: "Moved Permanently", 302: "Found", 304: "Not Modified",
               400: "Bad Request", 404: "Not Found", 500: "Internal Server Error",
               502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}
        out = ["HTTP/1.1 %d %s" % (status, reasons.get(status, "Status"))]
        out.append("X-Backend: %s" % self.name)
        names = {k.lower() for k, _ in headers}
        if "connection" not in names:
            if not keep:
                out.append("Connection: close")
            elif req.version == "HTTP/1.0":
                out.append("Connection: keep-alive")
        for k, v in headers:
            out.append("%s: %s" % (k, v))
        s.sendall(("\r\n".join(out) + "\r\n\r\n").encode("latin-1"))

    def send_simple(self, s, req, status, body, keep, ctype="text/plain", extra=()):
        headers = list(extra)
        if status in (204, 304) or 100 <= status < 200:
            body = b""
        else:
            headers = [("Content-Type", ctype), ("Content-Length", str(len(body)))] + headers
        self.send_head(s, req, status, headers, keep)
        if req.method != "HEAD" and body:
            s.sendall(body)

    def echo_doc(self, req, cid, nreq, peer):
        return {
            "name": self.name,
            "method": req.method,
            "target": req.target,
            "path": req.path,
            "query": req.query,
            "version": req.version,
            "headers": [[k, v] for k, v in req.headers],
            "body_len": req.body_len,
            "body_sha256": req.body_sha.hexdigest(),
            "conn_id": cid,
            "conn_request": nreq,
            "peer": "%s:%d" % peer[:2],
        }

    def ws_echo(self, s, req, q):
        """101, then echo raw bytes until EOF; the connection is closed after."""
        s.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                  b"Connection: Upgrade\r\nX-Backend: " + self.name.encode() + b"\r\n\r\n")
        with self.lock:
            self.ws_sessions += 1
        r = req.reader
        if r.buf:
            s.sendall(bytes(r.buf))
            r.buf.clear()
        s.settimeout(READ_TIMEOUT)
        while True:
            data = s.recv(65536)
            if not data:
                break
            s.sendall(data)
        with self.lock:
            self.ws_eof += 1
        if q.get("bye") == "1":
            s.sendall(b"ws-eof\n")
        return False

    def initial_mode(self):
        return {"status": 0, "retry_after": None, "count": -1,
                "delay": self.default_delay, "health": True}

    def set_mode(self, query_list):
        """/__mode: updates (or, without a query, resets) the sticky switches."""
        with self.lock:
            if not query_list:
                self.mode = self.initial_mode()
            for k, v in query_list:
                if k == "status":
                    self.mode["status"] = int(v)
                    if int(v) == 0:
                        self.mode["retry_after"] = None
                        self.mode["count"] = -1
                elif k == "retry_after":
                    self.mode["retry_after"] = v
                elif k == "count":
                    self.mode["count"] = int(v)
                elif k == "delay":
                    self.mode["delay"] = float(v)
                elif k == "health":
                    self.mode["health"] = v not in ("0", "false", "off")
                else:
                    raise ValueError("unknown /__mode key %r" % k)
            return dict(self.mode)

    def take_mode(self):
        """For one ordinary request: (delay, status or 0, retry_after or None)."""
        with self.lock:
            m = self.mode
            status, ra = m["status"], m["retry_after"]
            if status and m["count"] != -1:
                if m["count"] <= 0:
                    status, ra = 0, None
                else:
                    m["count"] -= 1
                    if m["count"] == 0:
                        m["status"], m["retry_after"], m["count"] = 0, None, -1
            return m["delay"], status, ra

    def handle(self, s, req, cid, nreq, peer):
        """Answers req; returns True if the connection stays open."""
        keep = self.wants_keepalive(req)
        q = req.query
        p = req.path
        if p not in CONTROL_PATHS:
            delay, status, ra = self.take_mode()
            if delay > 0:
                time.sleep(delay)
            if status:
                extra = [("Retry-After", ra)] if ra is not None else []
                self.send_simple(s, req, status, b"mode %d\n" % status, keep, extra=extra)
                return keep
        if p == "/__stats":
            with self.lock:
                doc = {"name": self.name, "accepts": self.accepts,
                       "requests": self.requests, "open": self.open,
                       "conns": self.conns, "conns_max": self.conns_max,
                       "busy_max": self.busy_max,
                       "ws_sessions": self.ws_sessions, "ws_eof": self.ws_eof,
                       "health_checks": self.health_checks}
            self.send_simple(s, req, 200, json.dumps(doc).encode(), keep, "application/json")
        elif p == "/__reset":
            with self.lock:
                self.accepts = 0
                self.requests = 0
                self.conns_max = self.conns
                self.busy_max = self.busy
            self.send_simple(s, req, 200, b"reset\n", keep)
        elif p == "/__health":
            with self.lock:
                self.health_checks += 1
                ok = self.mode["health"]
            if ok:
                self.send_simple(s, req, 200, b"ok\n", keep)
            else:
                self.send_simple(s, req, 503, b"unhealthy\n", keep)
        elif p == "/__mode":
            try:
                doc = self.set_mode(req.query_list)
            except ValueError as e:
                self.send_simple(s, req, 400, (str(e) + "\n").encode(), keep)
                return keep
            self.send_simple(s, req, 200, json.dumps(doc).encode(), keep, "application/json")
        elif p == "/echo":
            body = json.dumps(self.echo_doc(req, cid, nreq, peer)).encode()
            self.send_simple(s, req, 200, body, keep, "application/json",
                     [("X-Echo-Method", req.method)])
        elif p == "/headers":
            extra = []
            for k, v in req.query_list:
                if k.lower() == "connection":
                    if "close" in [t.strip().lower() for t in v.split(",")]:
                        keep = False
                    elif not keep:
                        v = "close, " + v
                extra.append((k, v))
            body = json.dumps(self.echo_doc(req, cid, nreq, peer)).encode()
            self.send_simple(s, req, 200, body, keep, "application/json", extra)
        elif p == "/sha256":
            self.send_simple(s, req, 200, req.body_sha.hexdigest().encode(), keep)
        elif p == "/bytes":
            n = int(q.get("n", "0"))
            self.send_head(s, req, 200, [("Content-Type", "application/octet-stream"),
                             ("Content-Length", str(n))], keep)
            if req.method != "HEAD":
                for piece in byte_stream(n, q.get("seed", "0")):
                    s.sendall(piece)
        elif p == "/chunked":
            n = int(q.get("n", "0"))
            k = max(1, int(q.get("chunk", "4096")))
            if req.version == "HTTP/1.0":
                keep = False
                self.send_head(s, req, 200, [("Content-Type", "application/octet-stream")], keep)
                if req.method != "HEAD":
                    for piece in byte_stream(n, q.get("seed", "0")):
                        s.sendall(piece)
                return False
            self.send_head(s, req, 200, [("Content-Type", "application/octet-stream"),
                             ("Transfer-Encoding", "chunked")], keep)
            if req.method != "HEAD":
                for piece in byte_stream(n, q.get("seed", "0"), piece=k):
                    s.sendall(b"%x\r\n" % len(piece) + piece + b"\r\n")
                s.sendall(b"0\r\n\r\n")
        elif p == "/close":
            n = int(q.get("n", "0"))
            self.send_head(s, req, 200, [("Content-Type", "application/octet-stream"),
                             ("Connection", "close")], False)
            if req.method != "HEAD":
                for piece in byte_stream(n, q.get("seed", "0")):
                    s.sendall(piece)
            return False
        elif p == "/slow":
            time.sleep(float(q.get("delay", "1")))
            self.send_simple(s, req, 200, b"slow done\n", keep)
        elif p == "/ws":
            if ("upgrade" not in req.tokens("connection") or
                    "websocket" not in req.tokens("upgrade")):
                self.send_simple(s, req, 426, b"upgrade required\n", keep,
                                 extra=[("Upgrade", "websocket")])
                return keep
            return self.ws_echo(s, req, q)
        elif p == "/status":
            code = int(q.get("code", "200"))
            self.send_simple(s, req, code, b"status %d\n" % code, keep)
        elif req.get("x-echo-any") == "1":
            body = json.dumps(self.echo_doc(req, cid, nreq, peer)).encode()
            self.send_simple(s, req, 200, body, keep, "application/json",
                     [("X-Echo-Method", req.method)])
        else:
            self.send_simple(s, req, 200, ("hello from %s\n" % self.name).encode(), keep)
        return keep


def main(argv=None):
    ap = argparse.ArgumentParser(description="scriptable HTTP/1.1 test origin")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--name", default="backend")
    ap.add_argument("--idle-close", type=float, default=None,
            help="close a connection idle for this many seconds")
    ap.add_argument("--drop-after", type=int, default=None,
            help="serve N requests per connection, then drop the next unanswered")
    ap.add_argument("--delay", type=float, default=None,
            help="sleep this many seconds before answering each ordinary request")
    a = ap.parse_args(argv)
    b = Backend(a.port, a.host, a.name, a.idle_close, a.drop_after, a.delay)
    print("backend %s listening on %s:%d" % (a.name, b.host, b.port), flush=True)
    try:
        b.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
