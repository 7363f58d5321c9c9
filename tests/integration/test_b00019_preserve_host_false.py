"""b00019: preserve_host = false sends the source's "host:port" as Host."""

from harness import curl


def test_preserve_host_false(env):
    b1 = env.backend("b1")
    s = env.sluice([b1], routes=[{"host": "*", "path": "/", "sources": ["b1"],
                                  "preserve_host": False}])

    r = curl(s.url("/echo"), "-H", "Host: app.example.test")
    assert r.status == 200, r
    hosts = [v for k, v in r.json()["headers"] if k.lower() == "host"]
    assert hosts == ["127.0.0.1:%d" % b1.port]
