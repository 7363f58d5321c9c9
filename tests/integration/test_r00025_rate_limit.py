"""r00025: routes[].rate_limit, per client address, held across all workers (GCRA
cells in a table the master shares). With 4 workers, rate = 10, burst = 5 and 50
clients from one address for 3 s, between 30 and 40 requests pass (10 x 3 + 5,
give or take one interval), not 4 x that; every other one gets 429 with a
Retry-After of at least 1 s and never reaches the source; another address has
its own allowance; the 429s are counted (ends.rate_limited) and logged."""

import socket
import threading
import time

import pytest

from harness import run_sluice, stat_json, wait_until

SECONDS = 3.0


def get_from(port, src_ip, target):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(5)
    s.bind((src_ip, 0))
    s.connect(("127.0.0.1", port))
    try:
        s.sendall(("GET %s HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n" % target).encode())
        data = b""
        while True:
            d = s.recv(65536)
            if not d:
                break
            data += d
    finally:
        s.close()
    head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    return int(head.split(" ", 2)[1]), head


@pytest.mark.limit(30)
def test_rate_limit_across_workers(env):
    a = env.backend("a")
    s = env.sluice([a], workers=4, routes=[
        {"host": "*", "path": "/limited", "sources": ["a"],
         "rate_limit": {"rate": 10, "burst": 5, "key": "client"}},
        {"host": "*", "path": "/", "sources": ["a"]}])
    assert len(s.wait_workers(4)) == 4
    counts = {"ok": 0, "limited": 0, "other": 0}
    retry_ok = []
    lock = threading.Lock()
    stop = time.monotonic() + SECONDS

    def client():
        while time.monotonic() < stop:
            st, head = get_from(s.port, "127.0.0.1", "/limited/lg")
            with lock:
                if st == 200:
                    counts["ok"] += 1
                elif st == 429:
                    counts["limited"] += 1
                    ra = [ln for ln in head.split("\r\n") if ln.lower().startswith("retry-after:")]
                    retry_ok.append(len(ra) == 1 and int(ra[0].split(":")[1]) >= 1)
                else:
                    counts["other"] += 1

    threads = [threading.Thread(target=client, daemon=True) for _ in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(SECONDS + 10)
    assert counts["other"] == 0, counts
    assert 30 <= counts["ok"] <= 40, counts
    assert counts["limited"] > 100, counts
    assert all(retry_ok)
    assert a.stats()["requests"] == counts["ok"]
    tot = stat_json(s)["totals"]
    assert tot["ends"]["rate_limited"] == counts["limited"], tot["ends"]
    # Several workers really did the answering.
    busy = [w for w in stat_json(s)["workers"] if w["ends"].get("rate_limited", 0) > 0]
    assert len(busy) >= 2, busy
    # Another address: its own allowance, at once.
    assert get_from(s.port, "127.0.0.2", "/limited/x")[0] == 200
    assert "over the rate_limit of the route at line" in s.log()


def test_rate_limit_config_errors(env):
    a = env.backend("a")
    for i, (rl, want) in enumerate([
            ({"burst": 5}, "routes[0].rate_limit.rate: missing"),
            ({"rate": 0}, "routes[0].rate_limit.rate: expected requests per second"),
            ({"rate": 5, "key": "header"}, 'routes[0].rate_limit.key: expected "client"')]):
        s = env.sluice([a], start=False, name="c%d" % i, routes=[
            {"host": "*", "path": "/", "sources": ["a"], "rate_limit": rl}])
        rc, out = run_sluice(["-t", "-c", str(s.conf_path)])
        assert rc != 0 and want in out, (rl, out)
