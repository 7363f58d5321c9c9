"""m00006: SIGQUIT: the in-flight request completes with 200, new connections are
refused, the master exits within timeouts.graceful."""

import signal
import threading
import time

from harness import can_connect, pid_alive, wait_until

GRACEFUL = 5
DELAY = 1.5


def test_sigquit_graceful(env):
    a = env.backend("a")
    s = env.sluice([a], workers=2, timeouts={"graceful": GRACEFUL})
    workers = s.wait_workers(2)

    result = {}

    def inflight():
        try:
            result["r"] = s.get("/slow?delay=%s" % DELAY, timeout=5)
        except Exception as e:  # reported by the main thread
            result["err"] = e

    t = threading.Thread(target=inflight, daemon=True)
    t.start()
    assert wait_until(lambda: a.stats()["requests"] == 1, 2.0), "request not at backend"

    t0 = time.monotonic()
    s.proc.send_signal(signal.SIGQUIT)
    assert wait_until(lambda: not can_connect(s.port), 1.5), "still accepting after SIGQUIT"

    t.join(DELAY + 3)
    assert "err" not in result, result
    assert result["r"].status == 200, result["r"]
    assert result["r"].body == b"slow done\n"

    try:
        s.proc.wait(GRACEFUL + 1 - (time.monotonic() - t0))
    except Exception:
        pass
    assert s.proc.poll() is not None, "master still running %.1fs after SIGQUIT" % (
        time.monotonic() - t0)
    assert not [w for w in workers if pid_alive(w)]
