"""l00006: PROXY protocol. On a listener with proxy_protocol = true, a v1 or v2
header must come first and its source address becomes the client address: in the
access log, in X-Forwarded-For and X-Real-IP at the backend (/echo), for every
request of the connection (keep-alive) and also when the header arrives in pieces.
v1 UNKNOWN and v2 LOCAL keep the socket peer (127.0.0.1). A listener without
proxy_protocol answers a PROXY line with 400. A missing or malformed header on a
proxy_protocol listener closes the connection without a response and without
reaching the backend."""

import socket
import struct
import time

from harness import HttpConn, can_connect, exchange, free_port, wait_until

V2SIG = b"\r\n\r\n\x00\r\nQUIT\n"


def v1(src, dst="192.0.2.1", sport=51234, dport=80):
    fam = "TCP6" if ":" in src else "TCP4"
    return ("PROXY %s %s %s %d %d\r\n" % (fam, src, dst, sport, dport)).encode()


def v2(src=None, dst=None, sport=51234, dport=80, local=False, tlv=b""):
    if local:
        return V2SIG + bytes([0x20, 0x00]) + struct.pack("!H", len(tlv)) + tlv
    if ":" in src:
        fam, af = 0x21, socket.AF_INET6
        dst = dst or "2001:db8::1"
    else:
        fam, af = 0x11, socket.AF_INET
        dst = dst or "192.0.2.1"
    addr = (socket.inet_pton(af, src) + socket.inet_pton(af, dst) +
            struct.pack("!HH", sport, dport))
    body = addr + tlv
    return V2SIG + bytes([0x21, fam]) + struct.pack("!H", len(body)) + body


def req(case):
    return HttpConn.build("GET", "/echo?case=%s" % case, host="proxied.test")


def hdrs(echo, name):
    return [v for k, v in echo["headers"] if k.lower() == name.lower()]


def via(port, header, case, pieces=1):
    """Sends header + a request (in `pieces` writes 0.1 s apart) on a new connection,
    then a second request on the same connection; returns both echoes."""
    with HttpConn(port, timeout=3) as c:
        data = header + req(case)
        step = max(1, len(header) // pieces) if pieces > 1 else len(data)
        for i in range(0, len(data), step):
            c.send(data[i:i + step])
            if pieces > 1:
                time.sleep(0.1)
        r1 = c.read_response()
        assert r1.status == 200, (case, r1)
        c.send(req(case + "-again"))
        r2 = c.read_response()
        assert r2.status == 200, (case, r2)
        return r1.json(), r2.json()


def test_proxy_protocol(env):
    a = env.backend("a")
    pp, plain = free_port(), free_port()
    access = env.dir / "access.log"
    s = env.sluice([a], port=pp, workers=2, extra={
        "listeners": [{"address": "127.0.0.1:%d" % pp, "proxy_protocol": True},
                      {"address": "127.0.0.1:%d" % plain}],
        "log": {"error": "stderr", "level": "info", "access": str(access)},
    })
    assert wait_until(lambda: can_connect(plain), 3.0)

    cases = [  # (case, header, address the backend and the log must see, pieces)
        ("v1-tcp4", v1("203.0.113.7"), "203.0.113.7", 1),
        ("v1-tcp6", v1("2001:db8::7", "2001:db8::1"), "2001:db8::7", 1),
        ("v2-tcp4", v2("198.51.100.9", tlv=b"\x04\x00\x03abc"), "198.51.100.9", 1),
        ("v2-tcp6", v2("2001:db8::17"), "2001:db8::17", 1),
        ("v1-split", v1("192.0.2.33"), "192.0.2.33", 3),
        ("v2-split", v2("192.0.2.44"), "192.0.2.44", 3),
        ("v1-unknown", b"PROXY UNKNOWN\r\n", "127.0.0.1", 1),
        ("v1-unknown-full", b"PROXY UNKNOWN ffff:f::1 ffff:f::2 1 2\r\n", "127.0.0.1", 1),
        ("v2-local", v2(local=True), "127.0.0.1", 1),
    ]
    for case, header, addr, pieces in cases:
        for echo in via(pp, header, case, pieces):
            assert hdrs(echo, "X-Forwarded-For") == [addr], (case, echo["headers"])
            assert hdrs(echo, "X-Real-IP") == [addr], (case, echo["headers"])

    # Without proxy_protocol a PROXY line is a bad request.
    before = a.stats()["requests"]
    r, closed, err = exchange(plain, v1("203.0.113.99") + req("plain-proxy"))
    assert r is not None and r.status == 400, (r, err)
    assert closed, "connection left open after the 400"
    # Missing or malformed headers on the proxy_protocol listener: closed, no response.
    bad = [
        ("no-header", b""),
        ("garbage", b"PROXZ TCP4 203.0.113.7 192.0.2.1 1 2\r\n"),
        ("bad-address", v1("203.0.113.700")),
        ("short-v1", b"PROXY TCP4 203.0.113.7 192.0.2.1 51234\r\n"),
        ("bare-lf", b"PROXY TCP4 203.0.113.7 192.0.2.1 51234 80\n"),
        ("v2-bad-version", V2SIG + b"\x11\x11\x00\x0c" + b"\x00" * 12),
        ("v2-udp", V2SIG + b"\x21\x12\x00\x0c" + b"\xcb\x00\x71\x07" + b"\x00" * 8),
    ]
    for case, header in bad:
        r, closed, err = exchange(pp, header + req(case), close_wait=2.0)
        assert r is None and closed, "%s: expected a close without response, got %r %r" % (
            case, r, err)
    time.sleep(0.2)
    assert a.stats()["requests"] == before, "a bad or refused header reached the backend"

    # Access log: the header's address for each proxied request (flushed within ~1 s).
    want = {}
    for case, _, addr, _ in cases:
        want["/echo?case=%s" % case] = addr
        want["/echo?case=%s-again" % case] = addr

    def logged():
        out = {}
        for ln in access.read_text().splitlines() if access.exists() else []:
            peer, _, rest = ln.partition(" - - [")
            target = rest.split('"', 2)[1].split(" ")[1] if '"' in rest else ""
            out[target] = (peer, ln)
        return out
    assert wait_until(lambda: set(want) <= set(logged()), 2.5), sorted(logged())
    got = logged()
    for target, addr in want.items():
        assert got[target][0] == addr, (target, got[target][1])
