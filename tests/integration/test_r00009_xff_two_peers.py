"""r00009: one route, two client addresses: from the trusted peer (127.0.0.2) the
incoming X-Forwarded-For is kept and the peer appended; from an untrusted peer
(127.0.0.1) it is replaced by the peer. X-Real-IP is each time the peer."""

from harness import curl

ROUTES = [{"host": "*", "path": "/", "sources": ["b1"],
           "trusted_proxies": ["127.0.0.2/32"]}]


def values(echo, name):
    return [v for k, v in echo["headers"] if k.lower() == name.lower()]


def test_trusted_and_untrusted_peer_same_route(env):
    b1 = env.backend("b1")
    s = env.sluice([b1], routes=ROUTES)

    for peer, want in [("127.0.0.2", "1.2.3.4, 10.0.0.1, 127.0.0.2"),
                       ("127.0.0.1", "127.0.0.1"),
                       ("127.0.0.3", "127.0.0.3"),
                       ("127.0.0.2", "1.2.3.4, 10.0.0.1, 127.0.0.2")]:
        r = curl(s.url("/echo"), "--interface", peer,
                 "-H", "X-Forwarded-For: 1.2.3.4, 10.0.0.1", "-H", "X-Real-IP: 9.9.9.9")
        assert r.status == 200, (peer, r)
        e = r.json()
        assert ", ".join(values(e, "X-Forwarded-For")) == want, (peer, e["headers"])
        assert values(e, "X-Real-IP") == [peer], (peer, e["headers"])


def test_trusted_peer_without_incoming_xff(env):
    b1 = env.backend("b1")
    s = env.sluice([b1], routes=ROUTES)

    r = curl(s.url("/echo"), "--interface", "127.0.0.2")
    assert r.status == 200, r
    assert values(r.json(), "X-Forwarded-For") == ["127.0.0.2"], r.json()["headers"]
