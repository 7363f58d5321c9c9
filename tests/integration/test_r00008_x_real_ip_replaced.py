"""r00008: X-Real-IP is always set by sluice to the peer; a client-sent X-Real-IP
(once or several times, any case) never reaches the backend. The same for the
client's own X-Forwarded-Proto and X-Forwarded-Host (README: "client-sent values
of these are dropped")."""

from harness import curl


def values(echo, name):
    return [v for k, v in echo["headers"] if k.lower() == name.lower()]


def test_client_x_real_ip_replaced(env):
    b1 = env.backend("b1")
    s = env.sluice([b1])

    with s.conn() as c:
        r = c.request("GET", "/echo", headers=[("X-Real-IP", "6.6.6.6"),
                                               ("x-real-ip", "7.7.7.7"),
                                               ("X-REAL-IP", "8.8.8.8")])
    assert r.status == 200, r
    assert values(r.json(), "X-Real-IP") == ["127.0.0.1"], r.json()["headers"]


def test_client_x_real_ip_replaced_even_from_trusted_proxy(env):
    # trusted_proxies keeps the incoming X-Forwarded-For, but X-Real-IP is never passed.
    b1 = env.backend("b1")
    s = env.sluice([b1], routes=[{"host": "*", "path": "/", "sources": ["b1"],
                                  "trusted_proxies": ["127.0.0.0/8"]}])

    r = curl(s.url("/echo"), "-H", "X-Real-IP: 6.6.6.6", "-H", "X-Forwarded-For: 1.2.3.4")
    assert r.status == 200, r
    e = r.json()
    assert values(e, "X-Real-IP") == ["127.0.0.1"], e["headers"]
    assert ", ".join(values(e, "X-Forwarded-For")) == "1.2.3.4, 127.0.0.1", e["headers"]


def test_client_forwarded_proto_and_host_replaced(env):
    b1 = env.backend("b1")
    s = env.sluice([b1])

    with s.conn() as c:
        r = c.request("GET", "/echo", headers=[("Host", "www.example.test"),
                                               ("X-Forwarded-Proto", "https"),
                                               ("X-Forwarded-Host", "evil.test")])
    assert r.status == 200, r
    e = r.json()
    assert values(e, "X-Forwarded-Proto") == ["http"], e["headers"]
    assert values(e, "X-Forwarded-Host") == ["www.example.test"], e["headers"]
