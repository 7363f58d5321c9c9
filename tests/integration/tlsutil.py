"""
Helpers for the TLS tests (test_t*): a throw-away PKI made with the `openssl`
CLI in the test's tmp dir (a CA, an RSA certificate for a.test, an ECDSA P-256
one for b.test and *.w.test), a sluice with a TLS listener, curl over HTTPS,
`openssl s_client`, and an HttpConn over TLS (Python's ssl module).
"""

import os
import socket
import ssl
import subprocess

import harness


def _openssl(args, cwd):
    subprocess.run(["openssl"] + args, cwd=str(cwd), check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.PIPE, timeout=30)


class Pki:
    """Files: ca.crt, a.crt/a.key (RSA 2048, a.test), b.crt/b.key (ECDSA P-256,
    b.test and *.w.test)."""

    def __init__(self, d):
        self.dir = d
        _openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                  "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-subj", "/CN=sluice test CA",
                  "-days", "2"], d)
        self._leaf("a", "a.test", ["-newkey", "rsa:2048"], "DNS:a.test")
        self._leaf("b", "b.test", ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"],
                   "DNS:b.test,DNS:*.w.test")

    def _leaf(self, name, cn, keyargs, san):
        d = self.dir
        (d / ("%s.ext" % name)).write_text("subjectAltName=%s\n" % san)
        _openssl(["req"] + keyargs + ["-nodes", "-keyout", "%s.key" % name, "-out",
                  "%s.csr" % name, "-subj", "/CN=%s" % cn], d)
        _openssl(["x509", "-req", "-in", "%s.csr" % name, "-CA", "ca.crt", "-CAkey", "ca.key",
                  "-CAcreateserial", "-out", "%s.crt" % name, "-days", "2", "-extfile",
                  "%s.ext" % name], d)

    def issue(self, name, subject, san, keyargs=("-newkey", "rsa:2048")):
        """Another leaf signed by the CA: name.crt/name.key with that subject
        ("/CN=a.test/O=renewed") and subjectAltName ("DNS:a.test")."""
        d = self.dir
        (d / ("%s.ext" % name)).write_text("subjectAltName=%s\n" % san)
        _openssl(["req"] + list(keyargs) + ["-nodes", "-keyout", "%s.key" % name, "-out",
                  "%s.csr" % name, "-subj", subject], d)
        _openssl(["x509", "-req", "-in", "%s.csr" % name, "-CA", "ca.crt", "-CAkey", "ca.key",
                  "-CAcreateserial", "-out", "%s.crt" % name, "-days", "2", "-extfile",
                  "%s.ext" % name], d)

    def serial(self, name):
        """The serial number (int) of name.crt."""
        out = subprocess.run(["openssl", "x509", "-noout", "-serial", "-in", self.path(
            name + ".crt")], check=True, stdout=subprocess.PIPE, timeout=10).stdout.decode()
        return int(out.strip().split("=", 1)[1], 16)

    def path(self, f):
        return str(self.dir / f)

    @property
    def ca(self):
        return self.path("ca.crt")

    def certs(self, *names):
        """The certificates list of a tls group, default a then b."""
        return [{"certificate": self.path(n + ".crt"), "key": self.path(n + ".key")}
                for n in (names or ("a", "b"))]


def tls_sluice(env, backends, pki, tls=None, listeners=None, extra=None, **kw):
    """A sluice whose one listener (127.0.0.1:port) is TLS with a.test then b.test;
    tls: keys merged over that group; listeners: a function port -> listener list."""
    port = harness.free_port()
    group = {"certificates": pki.certs()}
    group.update(tls or {})
    ex = dict(extra or {})
    ex["listeners"] = (listeners(port, group) if listeners
                       else [{"address": "127.0.0.1:%d" % port, "tls": group}])
    return env.sluice(backends, port=port, extra=ex, **kw)


def https_url(s, path="/", host="a.test"):
    return "https://%s:%d%s" % (host, s.port, path)


def curl_https(s, pki, path="/", *args, host="a.test", timeout=8):
    return harness.curl(https_url(s, path, host), "--cacert", pki.ca, "--resolve",
                        "%s:%d:127.0.0.1" % (host, s.port), *args, timeout=timeout)


def s_client(port, *args, servername=None, ca=None, stdin=b"", timeout=8):
    """Runs `openssl s_client` against 127.0.0.1:port; returns (rc, output)."""
    cmd = ["openssl", "s_client", "-connect", "127.0.0.1:%d" % port]
    if servername:
        cmd += ["-servername", servername]
    if ca:
        cmd += ["-CAfile", ca, "-verify_return_error"]
    cmd += list(args)
    p = subprocess.run(cmd, input=stdin, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=timeout)
    return p.returncode, p.stdout.decode(errors="replace")


def client_context(pki):
    ctx = ssl.create_default_context(cafile=pki.ca)
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


class TlsConn(harness.HttpConn):
    """HttpConn over TLS; prefix: bytes sent in plain before the handshake (PROXY)."""

    def __init__(self, port, pki, host="a.test", timeout=5, prefix=b"", ctx=None):
        self.port = port
        self.host = host
        raw = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if prefix:
            raw.sendall(prefix)
        try:
            self.sock = (ctx or client_context(pki)).wrap_socket(raw, server_hostname=host)
        except BaseException:
            raw.close()
            raise
        self.buf = bytearray()
        self.eof = False

    def request(self, method, target, headers=(), body=None, version="HTTP/1.1", chunks=None):
        self.send(self.build(method, target, headers, body, version, host=self.host,
                             chunks=chunks))
        return self.read_response(method)


def openssl_available():
    return any(os.access(os.path.join(p, "openssl"), os.X_OK)
               for p in os.environ.get("PATH", "").split(os.pathsep))


# -- helpers of t00013..t00019 ------------------------------------------------------

class _BytesSock:
    """A socket stand-in that yields data, then EOF (to parse a captured stream)."""

    def __init__(self, data):
        self.data = bytes(data)

    def recv(self, n):
        out, self.data = self.data[:n], self.data[n:]
        return out

    def settimeout(self, t):
        pass


def parse_responses(data, methods):
    """Parses len(methods) responses off the bytes data (a captured stream);
    returns (responses, rest). Raises EOFError/ValueError on broken framing."""
    c = harness.HttpConn.__new__(harness.HttpConn)
    c.sock, c.buf, c.eof = _BytesSock(data), bytearray(), False
    out = [c.read_response(m) for m in methods]
    return out, bytes(c.buf) + c.sock.data


def s_client_raw(port, data, *args, servername="a.test", ca=None, timeout=10):
    """`openssl s_client -quiet` (it keeps reading after its stdin ends, until the
    server closes) fed data at once: returns (rc, stdout bytes, stderr text).
    s_client reads its stdin 16 KiB at a time and writes each read with one
    SSL_write, so data under 16 KiB leaves in one write, one record."""
    cmd = ["openssl", "s_client", "-quiet", "-connect", "127.0.0.1:%d" % port,
           "-servername", servername]
    if ca:
        cmd += ["-CAfile", ca, "-verify_return_error"]
    cmd += list(args)
    p = subprocess.run(cmd, input=data, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=timeout)
    return p.returncode, p.stdout, p.stderr.decode(errors="replace")


def curl_https_many(s, pki, paths, outdir, *args, host="a.test", timeout=15):
    """One curl run fetching every path in turn (curl reuses its connection when it
    can); returns [(status, num_connects, body)] in order, and curl's stderr."""
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    cmd = ["curl", "-sS", "--noproxy", "*", "--max-time", str(timeout), "--cacert", pki.ca,
           "--resolve", "%s:%d:127.0.0.1" % (host, s.port),
           "-w", "%{http_code} %{num_connects}\\n"] + list(args)
    files = []
    for i, p in enumerate(paths):
        f = os.path.join(str(outdir), "curl-body-%d" % i)
        files.append(f)
        cmd += ["-o", f, https_url(s, p, host)]
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                       timeout=timeout + 2)
    out = []
    lines = p.stdout.decode().split()
    for i, f in enumerate(files):
        status = int(lines[2 * i]) if 2 * i < len(lines) else 0
        nconn = int(lines[2 * i + 1]) if 2 * i + 1 < len(lines) else -1
        body = open(f, "rb").read() if os.path.exists(f) else b""
        out.append((status, nconn, body))
    return out, p.stderr.decode(errors="replace")


def peer_cert(port, pki, host="a.test", timeout=5):
    """(serialNumber, subject dict) of the certificate a new verified connection gets."""
    with TlsConn(port, pki, host=host, timeout=timeout) as c:
        return cert_id(c)


def cert_id(conn):
    """(serialNumber, subject dict) of a TlsConn's peer certificate."""
    pc = conn.sock.getpeercert()
    return pc["serialNumber"], {k: v for rdn in pc["subject"] for k, v in rdn}


def rss_kib(pid):
    """Resident set size of pid in KiB (VmRSS), None if it is gone."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for ln in f:
                if ln.startswith("VmRSS:"):
                    return int(ln.split()[1])
    except OSError:
        return None
    return None


def tls_load(port, pki, **kw):
    """A loadgen.Load whose clients speak HTTPS (one shared client context;
    keep-alive and new-connection clients as in loadgen)."""
    import loadgen

    class TlsLoad(loadgen.Load):
        def __init__(self):
            super().__init__(port, **kw)
            self.ctx = client_context(pki)

        def _connect(self, client):
            with self.lock:
                self.connects += 1
            try:
                return TlsConn(self.port, pki, timeout=self.timeout, ctx=self.ctx)
            except OSError as e:        # ssl.SSLError is an OSError
                self._fail(client, "connect", repr(e))
                return None

    return TlsLoad()
