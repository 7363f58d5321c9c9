"""c00009: a client that stops reading a large response is not buffered for in
memory: bodies stream with bounded buffers and back-pressure (DESIGN.md)."""

import time

from harness import HttpConn, gen_bytes

N = 150 * 1000 * 1000


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for ln in f:
            if ln.startswith("VmRSS:"):
                return int(ln.split()[1])
    return 0


def test_stalled_client_bounded_memory(env):
    a = env.backend("a")
    s = env.sluice([a], workers=1)
    (w,) = s.wait_workers(1)
    before = rss_kb(w)

    c = HttpConn(s.port, timeout=5)
    try:
        c.send(HttpConn.build("GET", "/bytes?n=%d&seed=bp" % N, host="x"))
        first = c.sock.recv(65536)
        assert first.startswith(b"HTTP/1.1 200"), first[:100]
        time.sleep(2.0)     # the backend could push ~150 MB in this time
        grown = rss_kb(w) - before
        assert grown < 32 * 1024, "worker RSS grew by %d KiB for one stalled client" % grown
    finally:
        c.close()
    # Still serving, and large bodies still arrive intact.
    r = s.get("/bytes?n=1000000&seed=after")
    assert r.body == gen_bytes(1000000, "after")
