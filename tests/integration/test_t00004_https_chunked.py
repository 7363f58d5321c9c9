"""t00004: chunked bodies both ways over HTTPS: a chunked upload reaches the
backend whole, a chunked response reaches the client whole."""

from harness import sha256_hex

import tlsutil


def test_https_chunked(env, tmp_path):
    pki = tlsutil.Pki(tmp_path)
    b1 = env.backend("b1")
    s = tlsutil.tls_sluice(env, [b1], pki)

    with tlsutil.TlsConn(s.port, pki) as c:
        chunks = [b"a" * 10, b"b" * 5000, b"c" * 70000]
        r = c.request("POST", "/sha256", chunks=chunks)
        assert r.status == 200, r
        assert r.body.decode() == sha256_hex(b"".join(chunks))

    r = tlsutil.curl_https(s, pki, "/chunked?n=200000&chunk=777&seed=ck")
    assert r.rc == 0, r
    assert r.status == 200, r
    assert len(r.body) == 200000
