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

    def __init__(self, port, pki, host="a.test", timeout=5, prefix=b""):
        self.port = port
        self.host = host
        raw = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if prefix:
            raw.sendall(prefix)
        self.sock = client_context(pki).wrap_socket(raw, server_hostname=host)
        self.buf = bytearray()
        self.eof = False

    def request(self, method, target, headers=(), body=None, version="HTTP/1.1", chunks=None):
        self.send(self.build(method, target, headers, body, version, host=self.host,
                             chunks=chunks))
        return self.read_response(method)


def openssl_available():
    return any(os.access(os.path.join(p, "openssl"), os.X_OK)
               for p in os.environ.get("PATH", "").split(os.pathsep))
