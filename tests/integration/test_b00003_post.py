"""b00003: POST with a Content-Length body reaches the backend byte for byte."""

from harness import curl, sha256_hex


def test_post_form_body(env):
    b1 = env.backend("b1")
    s = env.sluice([b1])
    body = b"hello=world&x=1&blob=" + bytes(range(32, 127))

    r = curl(s.url("/echo"), "--data-binary", body.decode())
    assert r.rc == 0, r
    assert r.status == 200, r
    e = r.json()
    assert e["method"] == "POST"
    assert e["body_len"] == len(body)
    assert e["body_sha256"] == sha256_hex(body)
    cl = [v for k, v in e["headers"] if k.lower() == "content-length"]
    assert cl == [str(len(body))]


def test_post_sha256(env):
    b1 = env.backend("b1")
    s = env.sluice([b1])
    body = bytes(range(256)) * 40

    with s.conn() as c:
        r = c.request("POST", "/sha256", body=body)
        assert r.status == 200, r
        assert r.body.decode() == sha256_hex(body)
