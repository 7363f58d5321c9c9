"""b00002: HEAD is forwarded as HEAD, keeps the entity headers and carries no body
(curl -I never reads a body, so the no-body check is done on a raw connection)."""

from harness import curl


def test_head_has_no_body_and_backend_saw_head(env):
    b1 = env.backend("b1")
    s = env.sluice([b1])

    r = curl(s.url("/echo"), "-I")
    assert r.rc == 0, r
    assert r.status == 200, r
    assert r.header("X-Echo-Method") == "HEAD"
    assert b1.stats()["requests"] == 1


def test_head_keeps_content_length_and_next_request_parses(env):
    # On one connection: HEAD of a 1234-byte resource, then GET. If the proxy
    # sent body bytes after the HEAD response, the GET response would be garbage.
    b1 = env.backend("b1")
    s = env.sluice([b1])

    with s.conn() as c:
        h = c.request("HEAD", "/bytes?n=1234&seed=h")
        assert h.status == 200, h
        assert h.header("Content-Length") == "1234"
        assert h.body == b""
        g = c.request("GET", "/echo?after=head")
        assert g.status == 200, g
        assert g.json()["target"] == "/echo?after=head"
        assert g.json()["method"] == "GET"
