"""b00014: from a trusted proxy, the incoming X-Forwarded-For is kept and the peer appended."""

from harness import curl


def test_xff_from_trusted_peer_appended(env):
    b1 = env.backend("b1")
    s = env.sluice([b1], routes=[{"host": "*", "path": "/", "sources": ["b1"],
                                  "trusted_proxies": ["127.0.0.1"]}])

    r = curl(s.url("/echo"), "-H", "X-Forwarded-For: 1.2.3.4")
    assert r.status == 200, r
    xff = [v for k, v in r.json()["headers"] if k.lower() == "x-forwarded-for"]
    # One combined field, or several lines that combine to the same list (RFC 9110 5.3).
    assert ", ".join(xff) == "1.2.3.4, 127.0.0.1"


def test_xff_trusted_by_cidr(env):
    b1 = env.backend("b1")
    s = env.sluice([b1], routes=[{"host": "*", "path": "/", "sources": ["b1"],
                                  "trusted_proxies": ["127.0.0.0/8"]}])

    r = curl(s.url("/echo"), "-H", "X-Forwarded-For: 9.9.9.9, 1.2.3.4")
    assert r.status == 200, r
    xff = [v for k, v in r.json()["headers"] if k.lower() == "x-forwarded-for"]
    assert ", ".join(xff) == "9.9.9.9, 1.2.3.4, 127.0.0.1"
