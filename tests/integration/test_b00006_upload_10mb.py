"""b00006: a 10 MiB upload is streamed to the backend intact (SHA-256 on the far side)."""

from harness import curl, gen_bytes, sha256_hex

SIZE = 10 * 1024 * 1024


def test_upload_10mb(env, tmp_path):
    b1 = env.backend("b1")
    s = env.sluice([b1])
    data = gen_bytes(SIZE, "upload")
    f = tmp_path / "up.bin"
    f.write_bytes(data)

    # curl's default for a body this size includes "Expect: 100-continue".
    r = curl(s.url("/sha256"), "--data-binary", "@%s" % f, timeout=8)
    assert r.rc == 0, r
    assert r.status == 200, r
    assert r.body.decode() == sha256_hex(data)
