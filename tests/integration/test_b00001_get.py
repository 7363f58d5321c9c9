"""b00001: a plain GET through the proxy reaches the backend and comes back intact."""

from harness import curl


def test_get_default_page(env):
    b1 = env.backend("b1")
    s = env.sluice([b1])

    r = curl(s.url("/hello"))
    assert r.rc == 0, r
    assert r.status == 200, r
    assert r.body == b"hello from b1\n"
    assert r.header("X-Backend") == "b1"


def test_get_echo_shows_method_target_and_no_body(env):
    b1 = env.backend("b1")
    s = env.sluice([b1])

    r = curl(s.url("/echo?x=1&y=two"))
    assert r.status == 200, r
    e = r.json()
    assert e["name"] == "b1"
    assert e["method"] == "GET"
    assert e["target"] == "/echo?x=1&y=two"
    assert e["version"] == "HTTP/1.1"
    assert e["body_len"] == 0
    assert b1.stats()["requests"] == 1
