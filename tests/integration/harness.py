"""
Helpers for sluice's integration tests: free ports, backend and sluice processes,
config rendering, a raw HTTP/1.1 client and a curl wrapper.

Every wait here is bounded in time and in count; everything listens on loopback.
Processes are stopped by the PIDs this module started (never by name).
"""

import hashlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
BACKEND_PY = HERE / "backend.py"
START_TIMEOUT = 5.0        # seconds to wait for a listener to accept
STOP_TIMEOUT = 3.0         # seconds between SIGTERM and SIGKILL (backends)
SURVIVOR_WAIT = 2.0        # seconds a child left behind by the master has to exit on its own


def master_stop_grace():
    """The master's STOP_GRACE (master/spawn.c): how long a stopping master waits for
    its workers and health checker before it SIGKILLs them. 5.0 if not found."""
    try:
        text = (REPO / "master" / "spawn.c").read_text()
    except OSError:
        return 5.0
    m = re.search(r"^#define\s+STOP_GRACE\s+([0-9.]+)", text, re.M)
    return float(m.group(1)) if m else 5.0


# SIGTERM to SIGKILL for a sluice master: past its own grace, plus the time to kill
# and reap its children and to run its leak check at exit. Killing it sooner would
# lose its sanitizer report, and those of the children it had not reaped yet.
SLUICE_STOP_TIMEOUT = master_stop_grace() + 3.0

sys.path.insert(0, str(HERE))
import backend as backend_mod  # noqa: E402  (gen_bytes, sha256_of_stream)

gen_bytes = backend_mod.gen_bytes
sha256_of_stream = backend_mod.sha256_of_stream


def sluice_bin():
    """The binary under test: $SLUICE_BIN, else build/sluice of this repo."""
    return os.environ.get("SLUICE_BIN") or str(REPO / "build" / "sluice")


def free_port():
    """A loopback TCP port that was free a moment ago (bind port 0, close)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


def wait_until(pred, timeout, interval=0.02):
    """Polls pred() until it is truthy or timeout seconds pass; returns its last value."""
    deadline = time.monotonic() + timeout
    n = int(timeout / interval) + 2
    v = None
    for _ in range(n):
        v = pred()
        if v or time.monotonic() >= deadline:
            return v
        time.sleep(interval)
    return v


def can_connect(port, host="127.0.0.1", timeout=0.5):
    try:
        socket.create_connection((host, port), timeout=timeout).close()
        return True
    except OSError:
        return False


def pid_alive(pid):
    """True if pid exists and is not a zombie."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            st = f.read()
    except OSError:
        return False
    return st[st.rfind(")") + 2:].split()[0] != "Z"


def children_of(pid):
    """PIDs of the live children of pid (the sluice master's workers)."""
    path = "/proc/%d/task/%d/children" % (pid, pid)
    try:
        with open(path) as f:
            kids = [int(x) for x in f.read().split()]
    except FileNotFoundError:
        kids = []
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                with open("/proc/%s/stat" % d) as f:
                    st = f.read()
            except OSError:
                continue
            if int(st[st.rfind(")") + 2:].split()[1]) == pid:
                kids.append(int(d))
    except OSError:
        return []
    return [k for k in kids if pid_alive(k)]


# -- config rendering ---------------------------------------------------------

def render(template, **vars):
    """Replaces %%NAME%% placeholders (nginx-tests style) with str(value)."""
    out = template
    for k, v in vars.items():
        out = out.replace("%%" + k.upper() + "%%", str(v))
    if "%%" in out:
        raise ValueError("unfilled placeholder in config:\n" + out)
    return out


def lc(value, indent=""):
    """Python value -> libconfig text: dict = group, list of scalars = array,
    list of dicts = list, str/bool/int/float = scalar. Raw(x) is copied as is."""
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, dict):
        inner = indent + "  "
        body = "".join("%s%s = %s;\n" % (inner, k, lc(v, inner)) for k, v in value.items())
        return "{\n" + body + indent + "}"
    if isinstance(value, (list, tuple)):
        if value and all(isinstance(v, dict) for v in value):
            inner = indent + "  "
            return "(\n" + ",\n".join(inner + lc(v, inner) for v in value) + "\n" + indent + ")"
        return "[ " + ", ".join(lc(v, indent) for v in value) + " ]"
    raise TypeError("cannot express %r in libconfig" % (value,))


class Raw:
    def __init__(self, text):
        self.text = text


def make_config(testdir, port, sources, routes, workers=2, timeouts=None, level="info",
                extra=None):
    """A whole sluice config. sources: list of (name, "host:port"[, {more keys}]); routes: list of
    dicts (route groups); timeouts: dict merged over the test defaults; extra: dict
    of further top-level settings."""
    t = {"backend_connect": 1, "backend_response": 2}
    t.update(timeouts or {})
    top = {
        "workers": workers,
        "pid_file": str(Path(testdir) / "sluice.pid"),
        "shm": "/sluice-test-%d" % port,
        "log": {"error": "stderr", "level": level},
        "timeouts": t,
        "listeners": [{"address": "127.0.0.1:%d" % port}],
        "sources": [dict({"name": s[0], "address": s[1]}, **(s[2] if len(s) > 2 else {}))
                    for s in sources],
        "routes": routes,
    }
    top.update(extra or {})
    return "".join("%s = %s;\n" % (k, lc(v)) for k, v in top.items())


# -- processes ----------------------------------------------------------------

class BackendProc:
    """A backend.py subprocess on a free loopback port."""

    def __init__(self, testdir, name, port=None, idle_close=None, drop_after=None):
        self.name = name
        self.port = port or free_port()
        self.log_path = Path(testdir) / ("backend-%s.log" % name)
        cmd = [sys.executable, str(BACKEND_PY), "--port", str(self.port), "--name", name]
        if idle_close is not None:
            cmd += ["--idle-close", str(idle_close)]
        if drop_after is not None:
            cmd += ["--drop-after", str(drop_after)]
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL)
        ok = wait_until(lambda: self.proc.poll() is not None or self._try_stats(), START_TIMEOUT)
        if not ok or self.proc.poll() is not None:
            self.stop()
            raise RuntimeError("backend %s did not start on port %d:\n%s"
                               % (name, self.port, self.log()))

    @property
    def address(self):
        return "127.0.0.1:%d" % self.port

    def _try_stats(self):
        try:
            return self.stats()
        except (OSError, ValueError):
            return None

    def stats(self):
        """{"name", "accepts", "requests", "open"} (the query itself is not counted)."""
        c = HttpConn(self.port, timeout=2)
        try:
            r = c.request("GET", "/__stats", headers=[("Connection", "close")])
            return r.json()
        finally:
            c.close()

    def reset(self):
        c = HttpConn(self.port, timeout=2)
        try:
            assert c.request("GET", "/__reset", headers=[("Connection", "close")]).status == 200
        finally:
            c.close()

    def log(self):
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def stop(self):
        stop_pid(self.proc)


def stop_pid(proc, sig=signal.SIGTERM, timeout=STOP_TIMEOUT):
    """Signals a Popen we started, waits timeout seconds, then SIGKILLs it.
    Returns its exit status (negative: the signal that ended it)."""
    return _stop(proc, sig, timeout)[0]


def _stop(proc, sig, timeout):
    """stop_pid(); returns (status, seconds waited, True if it had to be SIGKILLed)."""
    if proc.poll() is not None:
        return proc.returncode, 0.0, False
    t0 = time.monotonic()
    try:
        proc.send_signal(sig)
    except ProcessLookupError:
        pass
    try:
        return proc.wait(timeout), time.monotonic() - t0, False
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait(STOP_TIMEOUT), time.monotonic() - t0, True


class Sluice:
    """The binary under test, run as `sluice -f -c CONF`, stderr+stdout to a log file."""

    def __init__(self, testdir, conf_text, port, binary=None, name="sluice", extra_env=None):
        self.testdir = Path(testdir)
        self.extra_env = extra_env
        self.port = port
        self.binary = binary or sluice_bin()
        self.conf_path = self.testdir / ("%s.conf" % name)
        if not re.search(r"^\s*shm\s*=", conf_text, re.M):
            # Each instance gets its own segment, so tests never share one.
            conf_text += '\nshm = "/sluice-test-%d";\n' % port
        self.conf_path.write_text(conf_text)
        self.log_path = self.testdir / ("%s.log" % name)
        self.proc = None
        self.seen_workers = set()

    def start(self, wait=True):
        if not os.access(self.binary, os.X_OK):
            raise RuntimeError("SLUICE_BIN %s is not an executable (run make?)" % self.binary)
        with open(self.log_path, "wb") as log:
            env = None
            if self.extra_env:
                env = dict(os.environ)
                env.update(self.extra_env)
            self.proc = subprocess.Popen([self.binary, "-f", "-c", str(self.conf_path)],
                                         stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, env=env)
        if wait:
            self.wait_listening()
        return self

    @property
    def pid(self):
        return self.proc.pid

    def wait_listening(self, timeout=START_TIMEOUT):
        ok = wait_until(lambda: self.proc.poll() is not None or can_connect(self.port), timeout)
        if self.proc.poll() is not None:
            raise RuntimeError("sluice exited with %s before listening:\n%s"
                               % (self.proc.returncode, self.log()))
        if not ok:
            raise RuntimeError("sluice not accepting on 127.0.0.1:%d after %.1fs:\n%s"
                               % (self.port, timeout, self.log()))
        # The kernel accepts as soon as the socket listens, before the master
        # has made its segment and pid file: wait for its "ready" line (an info
        # line; a config that logs less just waits the short bound).
        wait_until(lambda: self.proc.poll() is not None or "ready:" in self.log(), 2.0)

    def workers(self):
        """Live children of the master."""
        kids = children_of(self.pid)
        self.seen_workers.update(kids)
        return kids

    def wait_workers(self, n, timeout=START_TIMEOUT):
        kids = wait_until(lambda: len(self.workers()) == n and self.workers(), timeout)
        return kids or self.workers()

    def url(self, path="/"):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def conn(self, timeout=5):
        return HttpConn(self.port, timeout=timeout)

    def get(self, target, headers=(), timeout=5, **kw):
        """One request on a new connection (closed after)."""
        c = HttpConn(self.port, timeout=timeout)
        try:
            return c.request("GET", target, headers=list(headers), **kw)
        finally:
            c.close()

    def log(self):
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def stop(self):
        """SIGTERM the master and wait SLUICE_STOP_TIMEOUT, longer than the master's
        own stop grace; then SIGKILL any child we saw that outlived it (by PID, and
        only if it still runs our binary) once it had SURVIVOR_WAIT to exit alone
        (the master's death signals it). A master that had to be SIGKILLed failed
        to stop: that is written to its log as a "runtime error:" line, which the
        env fixture's sanitizer-report check turns into a test failure (a killed
        process prints no sanitizer report, so the run must not pass silently)."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.workers()
        _, waited, killed = _stop(self.proc, signal.SIGTERM, SLUICE_STOP_TIMEOUT)
        left = [pid for pid in sorted(self.seen_workers) if self._ours(pid)]
        if left:
            wait_until(lambda: not any(pid_alive(pid) for pid in left), SURVIVOR_WAIT)
        for pid in left:
            if not self._ours(pid):
                continue
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if left:
            wait_until(lambda: not any(pid_alive(pid) for pid in left), STOP_TIMEOUT)
        if killed:
            # Written once no process of ours is left to write over it: they share
            # one file offset, which an append does not move.
            self._report("sluice-harness: runtime error: the master (pid %d) was still "
                         "running %.1f s after SIGTERM (its stop grace is %.1f s); "
                         "SIGKILLed, so its sanitizer report, if any, is lost"
                         % (self.proc.pid, waited, master_stop_grace()))

    def _ours(self, pid):
        """True if pid is alive and runs the binary under test."""
        if not pid_alive(pid):
            return False
        try:
            exe = os.readlink("/proc/%d/exe" % pid)
        except OSError:
            return False
        return os.path.realpath(exe) == os.path.realpath(self.binary)

    def _report(self, line):
        """Appends a harness line to the sluice log (what the fixture checks)."""
        with open(self.log_path, "a") as f:
            f.write("\n%s\n" % line)


def run_sluice(args, timeout=5, binary=None):
    """Runs the binary to completion (for -t, -s, start errors): (rc, output)."""
    p = subprocess.run([binary or sluice_bin()] + list(args), stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, timeout=timeout)
    return p.returncode, p.stdout.decode(errors="replace")


# -- raw HTTP/1.1 client ------------------------------------------------------

class Response:
    def __init__(self, version, status, reason, headers, body, framing):
        self.version = version
        self.status = status
        self.reason = reason
        self.headers = headers      # list of (name, value) in order
        self.body = body
        self.framing = framing      # "length", "chunked", "close" or "none"

    def header(self, name, default=None):
        n = name.lower()
        for k, v in self.headers:
            if k.lower() == n:
                return v
        return default

    def header_all(self, name):
        n = name.lower()
        return [v for k, v in self.headers if k.lower() == n]

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return "<Response %s %s %r body=%d bytes>" % (self.status, self.reason, self.headers,
                                                       len(self.body))


class HttpConn:
    """One client TCP connection; requests and responses are parsed strictly enough
    to notice broken framing (a truncated body raises EOFError)."""

    def __init__(self, port, host="127.0.0.1", timeout=5):
        self.port = port
        self.host = host
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = bytearray()
        self.eof = False

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()

    @staticmethod
    def build(method, target, headers=(), body=None, version="HTTP/1.1", host=None,
              chunks=None):
        """Request bytes. Adds Host unless given; Content-Length for body; chunked
        framing when chunks (a list of byte strings) is given."""
        hs = list(headers)
        names = {k.lower() for k, _ in hs}
        if "host" not in names and host is not None:
            hs.insert(0, ("Host", host))
        if chunks is not None:
            if "transfer-encoding" not in names:
                hs.append(("Transfer-Encoding", "chunked"))
            body = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks if c) + b"0\r\n\r\n"
        elif body is not None and "content-length" not in names:
            hs.append(("Content-Length", str(len(body))))
        head = "%s %s %s\r\n" % (method, target, version)
        head += "".join("%s: %s\r\n" % (k, v) for k, v in hs) + "\r\n"
        return head.encode("latin-1") + (body or b"")

    def send(self, data):
        self.sock.sendall(data)

    def request(self, method, target, headers=(), body=None, version="HTTP/1.1", chunks=None):
        self.send(self.build(method, target, headers, body, version,
                             host="127.0.0.1:%d" % self.port, chunks=chunks))
        return self.read_response(method)

    def _fill(self):
        data = self.sock.recv(262144)
        if not data:
            self.eof = True
            return False
        self.buf += data
        return True

    def _line(self):
        while True:
            i = self.buf.find(b"\n")
            if i >= 0:
                out = bytes(self.buf[:i + 1])
                del self.buf[:i + 1]
                return out
            if len(self.buf) > 1 << 20:
                raise ValueError("line too long")
            if not self._fill():
                raise EOFError("connection closed inside a response head (got %r)"
                               % bytes(self.buf[:200]))

    def readline(self):
        """One raw line (CRLF included), e.g. of an interim 1xx response."""
        return self._line()

    def _exact(self, n):
        while len(self.buf) < n:
            if not self._fill():
                raise EOFError("connection closed with %d of %d body bytes" % (len(self.buf), n))
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    def read_response(self, method="GET"):
        """Reads one final response (1xx interim responses are skipped)."""
        while True:
            status_line = self._line().decode("latin-1").rstrip("\r\n")
            parts = status_line.split(" ", 2)
            if len(parts) < 2 or not parts[0].startswith("HTTP/"):
                raise ValueError("bad status line %r" % status_line)
            version, status = parts[0], int(parts[1])
            reason = parts[2] if len(parts) > 2 else ""
            headers = []
            while True:
                ln = self._line().decode("latin-1").rstrip("\r\n")
                if not ln:
                    break
                k, sep, v = ln.partition(":")
                if not sep:
                    raise ValueError("bad header line %r" % ln)
                headers.append((k, v.strip(" \t")))
            if 100 <= status < 200 and status != 101:
                continue
            break
        r = Response(version, status, reason, headers, b"", "none")
        te = ",".join(r.header_all("Transfer-Encoding")).lower()
        if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
            return r
        if "chunked" in te:
            body = bytearray()
            while True:
                size = int(self._line().split(b";")[0].strip(), 16)
                if size == 0:
                    while self._line() not in (b"\r\n", b"\n"):
                        pass
                    break
                body += self._exact(size)
                if self._line() not in (b"\r\n", b"\n"):
                    raise ValueError("bad chunk terminator")
            r.body, r.framing = bytes(body), "chunked"
        elif r.header("Content-Length") is not None:
            r.body, r.framing = self._exact(int(r.header("Content-Length"))), "length"
        else:
            while self._fill():
                pass
            r.body, r.framing = bytes(self.buf), "close"
            self.buf.clear()
        return r

    def closed_by_peer(self, timeout=1.0):
        """True if the peer closes (EOF or reset) within timeout with no further bytes."""
        self.sock.settimeout(timeout)
        try:
            return self.sock.recv(1) == b""
        except ConnectionResetError:
            return True
        except socket.timeout:
            return False


def get_new_conn(port, target, headers=(), timeout=5):
    c = HttpConn(port, timeout=timeout)
    try:
        return c.request("GET", target, headers=list(headers))
    finally:
        c.close()


# -- curl ---------------------------------------------------------------------

class CurlResult:
    def __init__(self, rc, status, headers, body, elapsed, stderr):
        self.rc = rc
        self.status = status
        self.headers = headers
        self.body = body
        self.elapsed = elapsed
        self.stderr = stderr

    def header(self, name, default=None):
        n = name.lower()
        for k, v in self.headers:
            if k.lower() == n:
                return v
        return default

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return "<curl rc=%d status=%s headers=%r body=%r... stderr=%r>" % (
            self.rc, self.status, self.headers, self.body[:200], self.stderr)


def curl(url, *args, timeout=8):
    """Runs curl (no proxy from the environment) and returns the final response."""
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    with tempfile.TemporaryDirectory(prefix="sluice-curl-") as d:
        hfile, bfile = os.path.join(d, "h"), os.path.join(d, "b")
        t0 = time.monotonic()
        p = subprocess.run(["curl", "-sS", "--noproxy", "*", "--max-time", str(timeout),
                            "-D", hfile, "-o", bfile, "-w", "%{http_code}"] + list(args) + [url],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                           timeout=timeout + 2)
        elapsed = time.monotonic() - t0
        headers = []
        if os.path.exists(hfile):
            raw = open(hfile, "rb").read().decode("latin-1")
            blocks = [b for b in raw.replace("\r\n", "\n").split("\n\n") if b.strip()]
            if blocks:
                for ln in blocks[-1].split("\n")[1:]:
                    k, sep, v = ln.partition(":")
                    if sep:
                        headers.append((k, v.strip()))
        body = open(bfile, "rb").read() if os.path.exists(bfile) else b""
        if "-I" in args or "--head" in args:
            body = b""      # curl -I writes the head to -o and never reads a body
        out = p.stdout.decode().strip()
        status = int(out) if out.isdigit() else 0
        return CurlResult(p.returncode, status, headers, body, elapsed,
                          p.stderr.decode(errors="replace"))


def sha256_hex(data):
    return hashlib.sha256(data).hexdigest()


# -- HTTP conformance helpers (test_h*) -----------------------------------------

def exchange(port, data, method="GET", timeout=3.0, close_wait=2.0):
    """Sends data on a new connection and reads the first response.

    Returns (response, closed, error): response is a Response or None (the peer
    closed or reset without a complete response, or nothing came within timeout);
    closed is True if the peer closed the connection (after the response, if any)
    within close_wait seconds; error says what ended the read when response is None."""
    c = HttpConn(port, timeout=timeout)
    try:
        try:
            c.send(data)
        except OSError as e:
            return None, True, "send: %r" % e
        try:
            r = c.read_response(method)
        except (EOFError, ConnectionResetError, BrokenPipeError) as e:
            return None, True, repr(e)
        except socket.timeout:
            return None, False, "no response within %.1f s" % timeout
        except ValueError as e:
            return None, False, "unparsable response: %r" % e
        if r.framing == "close":
            return r, True, None
        return r, c.closed_by_peer(close_wait), None
    finally:
        c.close()


def read_until_close(sock, timeout=3.0, limit=64 << 20):
    """Reads from sock until EOF/reset or timeout; returns (bytes, how), how in
    "eof", "reset", "timeout"."""
    out = bytearray()
    deadline = time.monotonic() + timeout
    while len(out) < limit:
        left = deadline - time.monotonic()
        if left <= 0:
            return bytes(out), "timeout"
        sock.settimeout(left)
        try:
            d = sock.recv(65536)
        except socket.timeout:
            return bytes(out), "timeout"
        except ConnectionResetError:
            return bytes(out), "reset"
        if not d:
            return bytes(out), "eof"
        out += d
    return bytes(out), "limit"


# -- sluice-stat -----------------------------------------------------------------

def stat_bin():
    """sluice-stat under test: $SLUICE_STAT_BIN, $SLUICE_STAT, else next to sluice."""
    return (os.environ.get("SLUICE_STAT_BIN") or os.environ.get("SLUICE_STAT")
            or str(Path(sluice_bin()).parent / "sluice-stat"))


def stat_json(s):
    """sluice-stat -c <s's config> --json, parsed; fails the test if it fails."""
    b = stat_bin()
    assert os.access(b, os.X_OK), "no sluice-stat binary at %s" % b
    p = subprocess.run([b, "-c", str(s.conf_path), "--json"], capture_output=True,
                       text=True, timeout=5)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def source_stat(d, name):
    """The "sources" entry of a stat_json() document for the source called name."""
    for o in d["sources"]:
        if o["name"] == name:
            return o
    raise KeyError(name)
