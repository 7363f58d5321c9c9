"""b00013: X-Forwarded-For sent by an untrusted peer is replaced, not appended to."""

from harness import HttpConn, curl


def test_xff_from_untrusted_peer_replaced(env):
    b1 = env.backend("b1")
    # trusted_proxies names someone else: 127.0.0.1 is untrusted.
    s = env.sluice([b1], routes=[{"host": "*", "path": "/", "sources": ["b1"],
                                  "trusted_proxies": ["10.0.0.0/8"]}])

    r = curl(s.url("/echo"), "-H", "X-Forwarded-For: 1.2.3.4")
    assert r.status == 200, r
    xff = [v for k, v in r.json()["headers"] if k.lower() == "x-forwarded-for"]
    assert xff == ["127.0.0.1"]


def test_xff_replaced_without_trusted_proxies(env):
    b1 = env.backend("b1")
    s = env.sluice([b1])

    with s.conn() as c:
        r = c.request("GET", "/echo", headers=[("X-Forwarded-For", "1.2.3.4"),
                                               ("x-forwarded-for", "5.6.7.8")])
    assert r.status == 200, r
    xff = [v for k, v in r.json()["headers"] if k.lower() == "x-forwarded-for"]
    assert xff == ["127.0.0.1"]


def test_forwarded_and_port_dropped_from_untrusted_peer(env):
    """Forwarded (RFC 7239) and X-Forwarded-Port are forwarding claims too: from an
    untrusted peer they do not reach the source."""
    b1 = env.backend("b1")
    s = env.sluice([b1])
    with HttpConn(s.port) as c:
        r = c.request("GET", "/echo", headers=[("Forwarded", "for=6.6.6.6"),
                                               ("X-Forwarded-Port", "443"),
                                               ("X-Keep", "1")])
    names = [k.lower() for k, _ in r.json()["headers"]]
    assert "forwarded" not in names and "x-forwarded-port" not in names, names
    assert "x-keep" in names
