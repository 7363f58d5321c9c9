"""m00007: SIGTERM stops at once: master and workers exit without waiting for
in-flight requests."""

import signal
import threading
import time

from harness import pid_alive, wait_until


def test_sigterm_fast_stop(env):
    a = env.backend("a")
    s = env.sluice([a], workers=2)
    workers = s.wait_workers(2)
    result = {}

    def inflight():
        t0 = time.monotonic()
        try:
            result["r"] = s.get("/slow?delay=4", timeout=6)
        except Exception as e:
            result["err"] = e
        result["t"] = time.monotonic() - t0

    t = threading.Thread(target=inflight, daemon=True)
    t.start()
    assert wait_until(lambda: a.stats()["requests"] == 1, 2.0)

    t0 = time.monotonic()
    s.proc.send_signal(signal.SIGTERM)
    assert wait_until(lambda: s.proc.poll() is not None, 1.5), "master alive after SIGTERM"
    assert wait_until(lambda: not [w for w in workers if pid_alive(w)], 1.0), "workers alive"
    t.join(2)
    # The in-flight client was cut off, not served after 4 s.
    assert "t" in result and result["t"] < 3, result
    assert "r" not in result or result["r"].status != 200, result
    assert time.monotonic() - t0 < 3
