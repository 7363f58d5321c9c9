"""t00003: several requests on one TLS connection (keep-alive), then two
pipelined in one write; every answer comes back on the same connection."""

import tlsutil


def test_https_keepalive(env, tmp_path):
    pki = tlsutil.Pki(tmp_path)
    b1 = env.backend("b1")
    s = tlsutil.tls_sluice(env, [b1], pki)

    with tlsutil.TlsConn(s.port, pki) as c:
        for i in range(5):
            r = c.request("GET", "/echo?i=%d" % i)
            assert r.status == 200, r
            assert r.json()["target"] == "/echo?i=%d" % i
        c.send(c.build("GET", "/echo?p=1", host="a.test") +
               c.build("GET", "/echo?p=2", host="a.test"))
        assert c.read_response().json()["target"] == "/echo?p=1"
        assert c.read_response().json()["target"] == "/echo?p=2"
    assert b1.stats()["requests"] == 7
