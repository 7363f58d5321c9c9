"""t00001: a GET over HTTPS (curl, verified against the test CA) reaches the backend
and comes back intact; the backend sees X-Forwarded-Proto: https."""

import tlsutil


def test_https_get(env, tmp_path):
    pki = tlsutil.Pki(tmp_path)
    b1 = env.backend("b1")
    s = tlsutil.tls_sluice(env, [b1], pki)

    r = tlsutil.curl_https(s, pki, "/hello")
    assert r.rc == 0, r
    assert r.status == 200, r
    assert r.body == b"hello from b1\n"

    r = tlsutil.curl_https(s, pki, "/echo?x=1")
    assert r.status == 200, r
    e = r.json()
    assert e["method"] == "GET" and e["target"] == "/echo?x=1"
    hdrs = {k.lower(): v for k, v in e["headers"]}
    assert hdrs["x-forwarded-proto"] == "https"
    assert hdrs["host"] == "a.test:%d" % s.port
