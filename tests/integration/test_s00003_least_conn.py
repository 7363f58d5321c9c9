"""s00003: least_conn across 4 workers: with 20 concurrent clients, a source that
answers 10x slower (100 ms vs 10 ms) gets several times fewer requests (ratio at
least 3; in-flight counts equal, so about 10), and none are lost."""

import threading
import time

from harness import HttpConn, free_port

THREADS, DURATION = 20, 3.0


def test_least_conn_slow_source_gets_fewer(env):
    slow = env.backend("slow")
    fast = env.backend("fast")
    for b, d in ((slow, 0.1), (fast, 0.01)):
        with HttpConn(b.port) as c:
            assert c.request("GET", "/__mode?delay=%s" % d).status == 200
    port = free_port()
    conf = env.config(port, [("slow", slow.address), ("fast", fast.address)],
                      [{"host": "*", "path": "/", "sources": ["slow", "fast"],
                        "balancer": "least_conn"}], workers=4)
    s = env.sluice(conf_text=conf, port=port)
    assert len(s.wait_workers(4)) == 4

    errors, seen = [], {}
    lock = threading.Lock()
    stop_at = time.monotonic() + DURATION

    def client(t):
        try:
            n = 0
            while time.monotonic() < stop_at:
                # A new connection every 10 requests, so clients move between workers.
                with HttpConn(s.port, timeout=5) as c:
                    for _ in range(10):
                        if time.monotonic() >= stop_at:
                            break
                        r = c.request("GET", "/lc/%d/%d" % (t, n))
                        n += 1
                        key = (r.status, r.header("X-Backend"))
                        with lock:
                            seen[key] = seen.get(key, 0) + 1
        except Exception as e:          # noqa: BLE001
            errors.append(repr(e))

    ts = [threading.Thread(target=client, args=(t,)) for t in range(THREADS)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(DURATION + 3)
    assert not any(t.is_alive() for t in ts)
    assert not errors, errors[:5]
    assert set(k[0] for k in seen) == {200}, seen

    ns, nf = slow.stats()["requests"], fast.stats()["requests"]
    assert ns == seen.get((200, "slow"), 0) and nf == seen.get((200, "fast"), 0), (seen, ns, nf)
    assert ns > 0, "the slow source got nothing at all: %r" % seen
    assert nf >= 3 * ns, "least_conn: slow=%d fast=%d (ratio %.2f, want >= 3)" % (
        ns, nf, nf / ns)
