"""t00011: a plain and a TLS listener side by side in one sluice: each answers
in its own protocol (HTTPS on the plain port and HTTP on the TLS port fail
cleanly), and X-Forwarded-Proto says http or https accordingly."""

from harness import HttpConn, curl

import tlsutil


def test_plain_and_tls_side_by_side(env, tmp_path):
    pki = tlsutil.Pki(tmp_path)
    b1 = env.backend("b1")
    plain = tlsutil.harness.free_port()

    def listeners(port, group):
        return [{"address": "127.0.0.1:%d" % plain}, {"address": "127.0.0.1:%d" % port,
                                                      "tls": group}]

    s = tlsutil.tls_sluice(env, [b1], pki, listeners=listeners)

    def proto(r):
        return {k.lower(): v for k, v in r.json()["headers"]}["x-forwarded-proto"]

    r = curl("http://127.0.0.1:%d/echo" % plain)
    assert r.status == 200 and proto(r) == "http", r
    r = tlsutil.curl_https(s, pki, "/echo")
    assert r.status == 200 and proto(r) == "https", r
    # Plain HTTP to the TLS port: a handshake failure, the connection closes.
    with HttpConn(s.port) as c:
        c.send(c.build("GET", "/echo", host="a.test"))
        assert c.closed_by_peer(timeout=3)
    r = curl("https://127.0.0.1:%d/echo" % plain, "-k", timeout=3)
    assert r.rc != 0, r
    # Both still serve afterwards.
    r = curl("http://127.0.0.1:%d/echo" % plain)
    assert r.status == 200 and proto(r) == "http", r
    r = tlsutil.curl_https(s, pki, "/echo")
    assert r.status == 200 and proto(r) == "https", r
