"""c00004: a pooled backend connection that the backend closed while idle never
turns into an error: the next request through the proxy still gets 200."""

import time

from harness import get_new_conn

IDLE = 0.2


def test_pooled_connection_closed_by_backend(env):
    a = env.backend("a", idle_close=IDLE)
    s = env.sluice([a], workers=1)

    statuses = []
    for i in range(5):
        r = get_new_conn(s.port, "/echo?i=%d" % i)
        statuses.append(r.status)
        time.sleep(IDLE + 0.15)     # the backend has closed the pooled connection
    assert statuses == [200] * 5
    # The scenario really happened: every request needed a fresh backend connection.
    assert a.stats()["accepts"] >= 5


def test_close_races_next_request(env):
    # Sleep around the backend's idle limit so that some requests arrive as the
    # backend is closing: the proxy must retry, never answer 502.
    a = env.backend("a", idle_close=IDLE)
    s = env.sluice([a], workers=1)

    statuses = []
    for i in range(24):
        r = get_new_conn(s.port, "/echo?i=%d" % i)
        statuses.append(r.status)
        time.sleep(IDLE - 0.012 + 0.002 * (i % 12))
    assert statuses == [200] * 24
