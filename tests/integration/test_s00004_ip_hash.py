"""s00004: ip_hash over 3 sources and 4 workers: each of 12 client addresses
(127.0.0.1..12, bound before connect) lands on one source for all of its 20
requests (new connections, so on any worker); when the source with the most
clients stops, only its clients move (each to one new source, consistently),
everyone else keeps its source, and no request fails."""

import socket

from harness import free_port

IPS = ["127.0.0.%d" % i for i in range(1, 13)]
PER_IP = 20


def get_from(ip, port, target):
    """One GET on a new connection from source address ip: (status, X-Backend)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.settimeout(5)
    try:
        sock.bind((ip, 0))
        sock.connect(("127.0.0.1", port))
        sock.sendall(("GET %s HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
                      % target).encode())
        data = bytearray()
        while True:
            d = sock.recv(65536)
            if not d:
                break
            data += d
    finally:
        sock.close()
    head = bytes(data).split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
    status = int(head[0].split(" ")[1])
    backend = None
    for ln in head[1:]:
        k, _, v = ln.partition(":")
        if k.strip().lower() == "x-backend":
            backend = v.strip()
    return status, backend


def mapping(port, phase):
    out = {}
    for ip in IPS:
        got = [get_from(ip, port, "/%s/%s/%d" % (phase, ip, i)) for i in range(PER_IP)]
        assert all(st == 200 for st, _ in got), (phase, ip, got)
        names = set(b for _, b in got)
        assert len(names) == 1, "%s: client %s spread over %r" % (phase, ip, got)
        out[ip] = names.pop()
    return out


def test_ip_hash_sticky_and_minimal_movement(env):
    bs = [env.backend(n) for n in ("a", "b", "c")]
    port = free_port()
    conf = env.config(port, [(b.name, b.address) for b in bs],
                      [{"host": "*", "path": "/", "sources": ["a", "b", "c"],
                        "balancer": "ip_hash"}], workers=4)
    s = env.sluice(conf_text=conf, port=port)
    assert len(s.wait_workers(4)) == 4

    before = mapping(s.port, "before")
    used = sorted(set(before.values()))
    assert len(used) >= 2, "12 client addresses all hashed to one source: %r" % before

    victim = max(used, key=lambda n: sum(1 for v in before.values() if v == n))
    [vb] = [b for b in bs if b.name == victim]
    vb.stop()

    after = mapping(s.port, "after")
    for ip in IPS:
        if before[ip] == victim:
            assert after[ip] != victim, (ip, after[ip])
        else:
            assert after[ip] == before[ip], \
                "client %s moved from %s to %s although only %s went down (%r -> %r)" % (
                    ip, before[ip], after[ip], victim, before, after)
