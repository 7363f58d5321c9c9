"""b00004: PUT with a 64 KiB body from a file."""

from harness import curl, gen_bytes, sha256_hex


def test_put_file(env, tmp_path):
    b1 = env.backend("b1")
    s = env.sluice([b1])
    data = gen_bytes(65536, "put")
    f = tmp_path / "put.bin"
    f.write_bytes(data)

    r = curl(s.url("/echo"), "-X", "PUT", "--data-binary", "@%s" % f)
    assert r.rc == 0, r
    assert r.status == 200, r
    e = r.json()
    assert e["method"] == "PUT"
    assert e["body_len"] == len(data)
    assert e["body_sha256"] == sha256_hex(data)
