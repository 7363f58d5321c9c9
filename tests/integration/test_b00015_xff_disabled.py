"""b00015: x_forwarded_for = false adds no X-Forwarded-For."""

from harness import curl


def test_xff_disabled(env):
    b1 = env.backend("b1")
    s = env.sluice([b1], routes=[{"host": "*", "path": "/", "sources": ["b1"],
                                  "x_forwarded_for": False}])

    r = curl(s.url("/echo"))
    assert r.status == 200, r
    names = [k.lower() for k, v in r.json()["headers"]]
    assert "x-forwarded-for" not in names
    assert "x-real-ip" not in names
