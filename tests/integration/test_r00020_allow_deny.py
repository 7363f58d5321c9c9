"""r00020: routes[].allow / deny. The most specific entry wins (a /32 deny inside an
allowed /8), deny beats allow at equal length, an allow list refuses what it does
not cover, a deny-only list lets the rest in. The address judged is the peer,
the PROXY protocol source on a listener that has it, or the last X-Forwarded-For
hop when the peer is a trusted proxy. A refused request gets 403, never reaches
the source, is logged (term=AR) and counted (ends.denied). `-t` checks a list of
10,000 networks in well under a second."""

import socket
import time

import harness
from harness import run_sluice, stat_json, wait_until


def get_from(port, src_ip, target, headers=(), prefix=b""):
    """A GET from src_ip (any 127.x works on Linux loopback); returns the status."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(5)
    s.bind((src_ip, 0))
    s.connect(("127.0.0.1", port))
    try:
        h = "".join("%s: %s\r\n" % kv for kv in headers)
        s.sendall(prefix + ("GET %s HTTP/1.1\r\nHost: a\r\n%sConnection: close\r\n\r\n"
                            % (target, h)).encode())
        data = b""
        while True:
            d = s.recv(65536)
            if not d:
                break
            data += d
    finally:
        s.close()
    return int(data.split(b" ", 2)[1])


def test_allow_deny(env):
    a = env.backend("a")
    access = env.dir / "access.log"
    routes = [
        {"host": "*", "path": "/only1", "sources": ["a"], "allow": ["127.0.0.1"]},
        {"host": "*", "path": "/not2", "sources": ["a"], "deny": ["127.0.0.2"]},
        {"host": "*", "path": "/net", "sources": ["a"], "allow": ["127.0.0.0/8", "::1"],
         "deny": ["127.0.0.2", "0.0.0.0/0"]},
        {"host": "*", "path": "/tie", "sources": ["a"], "allow": ["127.0.0.0/8"],
         "deny": ["127.0.0.0/8"]},
        {"host": "*", "path": "/xff", "sources": ["a"], "trusted_proxies": ["127.0.0.1"],
         "allow": ["192.0.2.0/24"]},
        {"host": "*", "path": "/", "sources": ["a"]},
    ]
    s = env.sluice([a], routes=routes, workers=1, extra={
        "log": {"error": "stderr", "level": "info", "access": str(access)}})
    p = s.port
    cases = [
        ("127.0.0.1", "/only1", 200), ("127.0.0.2", "/only1", 403),
        ("127.0.0.1", "/not2", 200), ("127.0.0.2", "/not2", 403), ("127.0.0.3", "/not2", 200),
        ("127.0.0.3", "/net", 200), ("127.0.0.2", "/net", 403),
        ("127.0.0.1", "/tie", 403),
        ("127.0.0.5", "/open", 200),
    ]
    for ip, path, want in cases:
        assert get_from(p, ip, path + "/echo") == want, (ip, path, want)
    # Behind a trusted proxy: the last hop it added is the client.
    assert get_from(p, "127.0.0.1", "/xff/echo",
                    [("X-Forwarded-For", "203.0.113.9, 192.0.2.5")]) == 200
    assert get_from(p, "127.0.0.1", "/xff/echo",
                    [("X-Forwarded-For", "192.0.2.5, 203.0.113.9")]) == 403
    assert get_from(p, "127.0.0.1", "/xff/echo",
                    [("X-Forwarded-For", "192.0.2.1"), ("X-Forwarded-For", "[2001:db8::1]")]) \
        == 403
    # An untrusted peer's XFF is not believed.
    assert get_from(p, "127.0.0.2", "/xff/echo", [("X-Forwarded-For", "192.0.2.5")]) == 403

    refused = sum(1 for _, _, w in cases if w == 403) + 3
    passed = sum(1 for _, _, w in cases if w == 200) + 1
    assert a.stats()["requests"] == passed, (a.stats(), passed)
    tot = stat_json(s)["totals"]
    assert tot["ends"]["denied"] == refused, tot["ends"]
    assert tot["responses"]["4xx"] == refused
    assert wait_until(lambda: access.exists() and
                      access.read_text().count(" term=AR ") == refused, 3), access.read_text()
    assert s.log().count("refused by allow/deny of the route at line") == refused


def test_proxy_protocol_address_is_judged(env):
    a = env.backend("a")
    port = harness.free_port()
    s = env.sluice([a], port=port, workers=1,
                   routes=[{"host": "*", "path": "/", "sources": ["a"],
                            "allow": ["198.51.100.0/24"]}],
                   extra={"listeners": [{"address": "127.0.0.1:%d" % port,
                                         "proxy_protocol": True}]})
    ok = b"PROXY TCP4 198.51.100.7 127.0.0.1 5555 80\r\n"
    no = b"PROXY TCP4 203.0.113.7 127.0.0.1 5555 80\r\n"
    assert get_from(port, "127.0.0.1", "/echo", prefix=ok) == 200
    assert get_from(port, "127.0.0.1", "/echo", prefix=no) == 403
    assert a.stats()["requests"] == 1


def test_ten_thousand_entries_checked_fast(env, tmp_path):
    allow = ["10.%d.%d.0/24" % (i // 256, i % 256) for i in range(10000)]
    a = env.backend("a")
    s = env.sluice([a], start=False, routes=[
        {"host": "*", "path": "/", "sources": ["a"], "allow": allow, "deny": ["10.0.0.7"]}])
    t0 = time.monotonic()
    rc, out = run_sluice(["-t", "-c", str(s.conf_path)])
    took = time.monotonic() - t0
    assert rc == 0, out
    assert took < 1.0, "-t took %.2f s" % took
    p = tmp_path / "bad.conf"
    p.write_text(s.conf_path.read_text().replace('"10.0.0.7"', '"10.0.0.300"'))
    rc, out = run_sluice(["-t", "-c", str(p)])
    assert rc != 0 and "routes[0].deny[0]: expected an address or CIDR" in out, out
