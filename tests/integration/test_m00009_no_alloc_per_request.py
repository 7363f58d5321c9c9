"""m00009: no heap allocation per request in steady state. The worker runs
with a preloaded malloc counter; after a warm-up, 10x more requests (new
connections and keep-alive ones) must not raise its allocation count."""

import os

import pytest

from harness import HttpConn, wait_until

TOOLS = os.environ.get("SLUICE_TOOLS", "")
SHIM = os.path.join(TOOLS, "malloc_count.so")


def worker_allocs(env, requests):
    a = env.backend("a")
    b = env.backend("b")
    outdir = env.dir / ("mc%d" % requests)
    outdir.mkdir()
    s = env.sluice([a, b], workers=1, name="s%d" % requests,
                   extra_env={"LD_PRELOAD": SHIM, "MALLOC_COUNT_DIR": str(outdir)})
    (worker,) = s.wait_workers(1)
    for i in range(requests):
        c = HttpConn(s.port, timeout=3)
        try:
            assert c.request("GET", "/n/%d" % i).status == 200
        finally:
            c.close()
    with HttpConn(s.port, timeout=3) as c:
        for i in range(requests):
            r = c.request("POST", "/sha256", body=b"x" * 1000)
            assert r.status == 200
    s.stop()
    path = outdir / str(worker)
    assert wait_until(path.exists, 3), "worker %d wrote no count" % worker
    return int(path.read_text())


@pytest.mark.skipif(os.environ.get("SLUICE_SANITIZED") == "1",
                    reason="LD_PRELOAD malloc counting does not mix with ASan")
def test_no_heap_allocation_per_request(env):
    assert os.path.exists(SHIM), "build the shim first (make all)"
    small = worker_allocs(env, 50)
    large = worker_allocs(env, 500)
    # 900 more requests and 450 more connections: not one more allocation
    # beyond a handful of start-up differences.
    print("worker allocations: %d after 100 requests, %d after 1000" % (small, large))
    assert small > 0
    assert large - small <= 5, (small, large)
