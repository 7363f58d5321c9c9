"""t00005: SNI picks the certificate: a.test gets the RSA one, b.test and a name
under *.w.test the ECDSA P-256 one (both verify against the test CA); an
unknown name and no SNI at all get the first (default) certificate."""

import tlsutil


def subject(out):
    for ln in out.splitlines():
        if ln.startswith("subject="):
            return ln.split("CN", 1)[1].strip(" =")
    return None


def test_sni_selects_certificate(env, tmp_path):
    pki = tlsutil.Pki(tmp_path)
    b1 = env.backend("b1")
    s = tlsutil.tls_sluice(env, [b1], pki)

    rc, out = tlsutil.s_client(s.port, servername="a.test", ca=pki.ca)
    assert rc == 0 and subject(out) == "a.test", out
    assert "Peer signature type: RSA" in out, out
    rc, out = tlsutil.s_client(s.port, servername="b.test", ca=pki.ca)
    assert rc == 0 and subject(out) == "b.test", out
    assert "Peer signature type: ECDSA" in out, out
    rc, out = tlsutil.s_client(s.port, servername="x.w.test", ca=pki.ca)
    assert rc == 0 and subject(out) == "b.test", out
    # One label only: a.x.w.test is not covered by *.w.test.
    rc, out = tlsutil.s_client(s.port, servername="a.x.w.test")
    assert subject(out) == "a.test", out
    rc, out = tlsutil.s_client(s.port, servername="unknown.test")
    assert subject(out) == "a.test", out
    rc, out = tlsutil.s_client(s.port, "-noservername")
    assert subject(out) == "a.test", out

    # And the request goes through on either certificate.
    r = tlsutil.curl_https(s, pki, "/hello", host="b.test")
    assert r.rc == 0 and r.status == 200, r
    r = tlsutil.curl_https(s, pki, "/hello", "--tls-max", "1.2", host="a.test")
    assert r.rc == 0 and r.status == 200, r
