"""b00012: by default the client address is appended as X-Forwarded-For, and the
X-Real-IP / X-Forwarded-Proto / X-Forwarded-Host companions are set (DESIGN.md)."""

from harness import curl


def hdrs(echo, name):
    return [v for k, v in echo["headers"] if k.lower() == name.lower()]


def test_xff_added(env):
    b1 = env.backend("b1")
    s = env.sluice([b1])

    r = curl(s.url("/echo"))
    assert r.status == 200, r
    assert hdrs(r.json(), "X-Forwarded-For") == ["127.0.0.1"]


def test_xff_companions(env):
    b1 = env.backend("b1")
    s = env.sluice([b1])

    r = curl(s.url("/echo"), "-H", "Host: www.example.test")
    assert r.status == 200, r
    e = r.json()
    assert hdrs(e, "X-Real-IP") == ["127.0.0.1"]
    assert hdrs(e, "X-Forwarded-Proto") == ["http"]
    assert hdrs(e, "X-Forwarded-Host") == ["www.example.test"]
