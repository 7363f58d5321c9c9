"""t00002: a 10 MiB upload and a 10 MiB download over HTTPS arrive intact
(SHA-256 on both sides): the TLS read path fills the buffer record after
record, and the write path coalesces slices into full records."""

from harness import gen_bytes, sha256_hex, sha256_of_stream

import tlsutil

SIZE = 10 * 1024 * 1024


def test_https_upload_download_10mb(env, tmp_path):
    pki = tlsutil.Pki(tmp_path)
    b1 = env.backend("b1")
    s = tlsutil.tls_sluice(env, [b1], pki)
    data = gen_bytes(SIZE, "tls-up")
    f = tmp_path / "up.bin"
    f.write_bytes(data)

    r = tlsutil.curl_https(s, pki, "/sha256", "--data-binary", "@%s" % f)
    assert r.rc == 0, r
    assert r.status == 200, r
    assert r.body.decode() == sha256_hex(data)

    r = tlsutil.curl_https(s, pki, "/bytes?n=%d&seed=tls-dl" % SIZE)
    assert r.rc == 0, r
    assert r.status == 200, r
    assert len(r.body) == SIZE
    assert sha256_hex(r.body) == sha256_of_stream(SIZE, "tls-dl")
