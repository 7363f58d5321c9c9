"""b00008: a chunked request body reaches the backend reassembled."""

from harness import curl, gen_bytes, sha256_hex


def test_chunked_request_raw(env):
    b1 = env.backend("b1")
    s = env.sluice([b1])
    chunks = [b"x", gen_bytes(1000, "c1"), gen_bytes(70000, "c2"), b"end"]
    whole = b"".join(chunks)

    with s.conn() as c:
        r = c.request("POST", "/echo", chunks=chunks)
        assert r.status == 200, r
        e = r.json()
        assert e["method"] == "POST"
        assert e["body_len"] == len(whole)
        assert e["body_sha256"] == sha256_hex(whole)
        # The proxy consumed exactly the chunked body: the next request on the
        # same connection is parsed as a request.
        r2 = c.request("GET", "/echo?after=chunked")
        assert r2.status == 200, r2
        assert r2.json()["target"] == "/echo?after=chunked"


def test_chunked_request_curl(env, tmp_path):
    b1 = env.backend("b1")
    s = env.sluice([b1])
    data = gen_bytes(300000, "curl-chunked")
    f = tmp_path / "body.bin"
    f.write_bytes(data)

    r = curl(s.url("/sha256"), "-H", "Transfer-Encoding: chunked", "--data-binary", "@%s" % f)
    assert r.rc == 0, r
    assert r.status == 200, r
    assert r.body.decode() == sha256_hex(data)
