"""b00007: a 10 MiB Content-Length response is relayed intact."""

from harness import curl, sha256_hex, sha256_of_stream

SIZE = 10 * 1024 * 1024


def test_download_10mb(env):
    b1 = env.backend("b1")
    s = env.sluice([b1])

    r = curl(s.url("/bytes?n=%d&seed=dl" % SIZE), timeout=8)
    assert r.rc == 0, r
    assert r.status == 200, r
    assert r.header("Content-Length") == str(SIZE)
    assert len(r.body) == SIZE
    assert sha256_hex(r.body) == sha256_of_stream(SIZE, "dl")
