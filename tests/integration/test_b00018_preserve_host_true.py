"""b00018: preserve_host = true forwards the client's Host unchanged."""

from harness import curl


def test_preserve_host_true(env):
    b1 = env.backend("b1")
    s = env.sluice([b1], routes=[{"host": "*", "path": "/", "sources": ["b1"],
                                  "preserve_host": True}])

    r = curl(s.url("/echo"), "-H", "Host: app.example.test:8443")
    assert r.status == 200, r
    hosts = [v for k, v in r.json()["headers"] if k.lower() == "host"]
    assert hosts == ["app.example.test:8443"]


def test_preserve_host_is_default(env):
    b1 = env.backend("b1")
    s = env.sluice([b1])

    r = curl(s.url("/echo"))
    assert r.status == 200, r
    hosts = [v for k, v in r.json()["headers"] if k.lower() == "host"]
    assert hosts == ["127.0.0.1:%d" % s.port]
