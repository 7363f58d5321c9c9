"""e00007: ambiguous or malformed requests (RFC 9112 6.3, 11.2) are answered 400 and
the connection closed; they never reach the backend (DESIGN.md, Request path)."""

import pytest

HEAD = b"POST /echo HTTP/1.1\r\nHost: x\r\n"
CASES = {
    "te_and_cl": HEAD + b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "two_cl": HEAD + b"Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
    "space_before_colon": HEAD + b"X-Foo : bar\r\nContent-Length: 0\r\n\r\n",
    "obs_fold": HEAD + b"X-Foo: a\r\n  folded\r\nContent-Length: 0\r\n\r\n",
    "bare_cr": HEAD + b"X-Foo: a\rb\r\nContent-Length: 0\r\n\r\n",
    "ctl_in_value": HEAD + b"X-Foo: a\x01b\r\nContent-Length: 0\r\n\r\n",
    "bad_cl": HEAD + b"Content-Length: 5x\r\n\r\nhello",
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_ambiguous_request_rejected(env, case):
    a = env.backend("a")
    s = env.sluice([a])

    with s.conn() as c:
        c.send(CASES[case])
        r = c.read_response("POST")
        assert r.status == 400, r
        assert c.closed_by_peer(2.0)
    assert a.stats()["requests"] == 0


def test_bad_chunk_size_400(env):
    a = env.backend("a")
    s = env.sluice([a])

    with s.conn() as c:
        c.send(HEAD + b"Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n")
        r = c.read_response("POST")
        assert r.status == 400, r
        assert c.closed_by_peer(2.0)
