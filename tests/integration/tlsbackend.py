"""
A TLS origin for the tests of TLS to sources (test_t0002x): an HTTP/1.1
keep-alive server in a thread of the test process, on Python's ssl module
(OpenSSL), that records per connection what a test asserts on: the SNI the
client sent, whether the session was resumed, the client certificate's
subject, and how many requests came on it.

GET /close answers with Connection: close (the next request needs a new
connection); any other path answers 200 with "tls-origin <path>".
"""

import http.server
import socket
import ssl
import subprocess
import threading

import harness


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        srv = self.server
        sock = self.connection
        self.rec = {"sni": getattr(sock, "_sluice_sni", None),
                    "reused": sock.session_reused,
                    "version": sock.version(),
                    "peer_cn": None, "requests": 0}
        cert = sock.getpeercert()
        if cert:
            for rdn in cert.get("subject", ()):
                for k, v in rdn:
                    if k == "commonName":
                        self.rec["peer_cn"] = v
        with srv.lock:
            srv.conns.append(self.rec)

    def do_GET(self):
        with self.server.lock:
            self.rec["requests"] += 1
        body = ("tls-origin %s" % self.path).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        if self.path == "/close":
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):
        pass


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr, ctx):
        self.ctx = ctx
        self.lock = threading.Lock()
        self.conns = []
        super().__init__(addr, _Handler)

    def get_request(self):
        raw, addr = self.socket.accept()
        raw.settimeout(10)
        try:
            s = self.ctx.wrap_socket(raw, server_side=True)
        except (ssl.SSLError, OSError) as e:
            with self.lock:
                self.conns.append({"handshake_error": str(e)})
            raw.close()
            raise
        return s, addr

    def handle_error(self, request, client_address):
        pass


class TlsOrigin:
    """TlsOrigin(cert, key, ca=None, require_client_cert=False).start();
    .port, .conns (list of dicts), .stop()."""

    def __init__(self, cert, key, client_ca=None, max_version=None):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        if max_version:
            ctx.maximum_version = max_version
        if client_ca:
            ctx.verify_mode = ssl.CERT_REQUIRED
            ctx.load_verify_locations(client_ca)

        def sni_cb(sock, name, _ctx):
            sock._sluice_sni = name
            return None
        ctx.sni_callback = sni_cb
        self.port = harness.free_port()
        self.srv = _Server(("127.0.0.1", self.port), ctx)
        self.thread = threading.Thread(target=self.srv.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)

    @property
    def address(self):
        return "127.0.0.1:%d" % self.port

    @property
    def conns(self):
        with self.srv.lock:
            return [dict(c) for c in self.srv.conns]

    def handshakes(self):
        return [c for c in self.conns if "handshake_error" not in c]

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.srv.shutdown()
        self.srv.server_close()


def expired_cert(pki, name="old", cn="a.test"):
    """A certificate for cn signed by the test CA that expired in 2020 (openssl ca
    takes explicit dates, x509 -req does not)."""
    d = pki.dir
    (d / "ca.cnf").write_text(
        "[ca]\ndefault_ca = d\n[d]\ndatabase = index.txt\nnew_certs_dir = .\n"
        "serial = ca.srl2\ndefault_md = sha256\npolicy = p\ncopy_extensions = copy\n"
        "[p]\ncommonName = supplied\n")
    (d / "index.txt").write_text("")
    (d / "ca.srl2").write_text("1000\n")
    (d / ("%s.ext" % name)).write_text("subjectAltName=DNS:%s\n" % cn)
    run = lambda args: subprocess.run(["openssl"] + args, cwd=str(d), check=True,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                      timeout=30)
    run(["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
         "%s.key" % name, "-out", "%s.csr" % name, "-subj", "/CN=%s" % cn])
    run(["ca", "-batch", "-config", "ca.cnf", "-cert", "ca.crt", "-keyfile", "ca.key",
         "-in", "%s.csr" % name, "-out", "%s.crt" % name, "-startdate", "20200101000000Z",
         "-enddate", "20200201000000Z", "-extfile", "%s.ext" % name, "-notext"])
    return pki.path(name + ".crt"), pki.path(name + ".key")


def self_signed(pki, name="self", cn="a.test"):
    d = pki.dir
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", "%s.key" % name, "-out",
                    "%s.crt" % name, "-subj", "/CN=%s" % cn, "-addext",
                    "subjectAltName=DNS:%s" % cn, "-days", "2"], cwd=str(d), check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=30)
    return pki.path(name + ".crt"), pki.path(name + ".key")
