"""e00003: a backend that does not answer within backend_response gets the client a
504, and its late answer is never delivered to a later request."""

import time

from harness import curl, get_new_conn

DELAY = 4


def test_slow_backend_504(env):
    a = env.backend("a")
    s = env.sluice([a], workers=1, timeouts={"backend_response": 1})

    t0 = time.monotonic()
    r = curl(s.url("/slow?delay=%d" % DELAY))
    assert r.rc == 0, r
    assert r.status == 504, r
    assert 0.8 <= r.elapsed <= 2.5, r.elapsed
    assert (r.header("Content-Type") or "").startswith("text/html"), r

    # Wait until the backend has sent its late "slow done", then check that
    # following requests get their own answers.
    time.sleep(max(0, DELAY + 0.3 - (time.monotonic() - t0)))
    for i in range(4):
        r = get_new_conn(s.port, "/echo?i=%d" % i)
        assert r.status == 200, r
        assert r.json()["target"] == "/echo?i=%d" % i
