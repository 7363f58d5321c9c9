"""t00012: PROXY protocol before TLS: the PROXY header (v1, and v2 sent in two
pieces) is read in plain, then the handshake starts; the header's source
address reaches the backend in X-Forwarded-For on every request of the
connection, and X-Forwarded-Proto is https."""

import socket
import time

import tlsutil
from test_l00006_proxy_protocol import v1, v2


def xff(r):
    h = {k.lower(): v for k, v in r.json()["headers"]}
    return h["x-forwarded-for"], h["x-forwarded-proto"]




def test_proxy_protocol_then_tls(env, tmp_path):
    pki = tlsutil.Pki(tmp_path)
    b1 = env.backend("b1")

    def listeners(port, group):
        return [{"address": "127.0.0.1:%d" % port, "proxy_protocol": True, "tls": group}]

    s = tlsutil.tls_sluice(env, [b1], pki, listeners=listeners)

    with tlsutil.TlsConn(s.port, pki, prefix=v1("198.51.100.7")) as c:
        for _ in range(2):
            r = c.request("GET", "/echo")
            assert r.status == 200, r
            assert xff(r) == ("198.51.100.7", "https")

    # v2 in two pieces, the handshake right behind the second.
    hdr = v2("2001:db8::5")
    raw = socket.create_connection(("127.0.0.1", s.port), timeout=5)
    raw.sendall(hdr[:10])
    time.sleep(0.2)
    raw.sendall(hdr[10:])
    c = tlsutil.TlsConn.__new__(tlsutil.TlsConn)
    c.port, c.host, c.buf, c.eof = s.port, "a.test", bytearray(), False
    c.sock = tlsutil.client_context(pki).wrap_socket(raw, server_hostname="a.test")
    with c:
        r = c.request("GET", "/echo")
        assert r.status == 200, r
        assert xff(r) == ("2001:db8::5", "https")
