"""h00041: a connect that hangs (e00002 only uses a refused port, which fails at
once). The source is a listener whose accept queue is full: listen(0), filled with
connections this test never accepts, so the kernel drops further SYNs and a connect
to it neither succeeds nor fails. As the only source: every request waits
backend_connect (not much less, not much more), then gets 502 (README: "on expiry
the next source is tried, then 502"); the exchange ends as connect_failed (access
log term S, sluice-stat ends.connect_failed) and the source is marked with reason
"timeout". Before a good source (failover): after backend_connect, the good source
answers."""

import re
import socket
import time

import pytest

from harness import HttpConn, stat_json, source_stat, wait_until

CONNECT = 1.0       # backend_connect
RESPONSE = 3.0      # backend_response: far from CONNECT, so a mixed-up timer shows


@pytest.fixture
def hanging():
    """(host, port) of a listener whose connects hang; closed at teardown."""
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.bind(("127.0.0.1", 0))
    ls.listen(0)
    addr = ls.getsockname()
    fillers = []
    try:
        full = False
        for _ in range(8):
            f = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            f.setblocking(False)
            f.connect_ex(addr)
            fillers.append(f)
            time.sleep(0.05)
            # Full once a blocking connect gets no answer at all.
            p = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            p.settimeout(0.3)
            try:
                p.connect(addr)
            except socket.timeout:
                full = True
            except OSError as e:
                raise AssertionError("connect to the full listener failed: %r" % e)
            finally:
                p.close()
            if full:
                break
        assert full, "could not fill the accept queue of a listen(0) socket"
        yield addr
    finally:
        for f in fillers:
            f.close()
        ls.close()


def timeouts():
    return {"backend_connect": CONNECT, "backend_response": RESPONSE}


def timed_get(s, target):
    t0 = time.monotonic()
    with HttpConn(s.port, timeout=RESPONSE + 3) as c:
        r = c.request("GET", target)
    return r, time.monotonic() - t0


def test_only_source_hangs_502_after_backend_connect(env, hanging):
    alog = env.dir / "access.log"
    s = env.sluice([("hang", "%s:%d" % hanging)], workers=1, timeouts=timeouts(),
                   extra={"log": {"error": "stderr", "level": "info", "access": str(alog)}})

    for i in range(2):
        r, took = timed_get(s, "/x%d" % i)
        assert r.status == 502, r
        assert b"502 Bad Gateway" in r.body, r.body
        # Waited for the connect deadline, then answered at once.
        assert CONNECT - 0.05 <= took < CONNECT + 0.6, "502 after %.3f s" % took
    d = source_stat(stat_json(s), "hang")
    assert d["ends"]["connect_failed"] == 2, d
    assert d["reason"] == "timeout", d
    assert d["failures"] == 2, d
    assert d["responses"]["2xx"] == 0 and d["active"] == 0, d
    s.stop()
    lines = alog.read_text().splitlines()
    assert len(lines) == 2, lines
    for ln in lines:
        assert re.search(r'"GET /x\d HTTP/1\.1" 502 .* src=hang ustatus=- .*term=SC', ln), ln


def test_hanging_source_then_good_source(env, hanging):
    good = env.backend("good")
    sources = {"sources": [{"name": "hang", "address": "%s:%d" % hanging, "max_fails": 0},
                           {"name": "good", "address": good.address}]}
    s = env.sluice([("hang", "%s:%d" % hanging), good], workers=1, timeouts=timeouts(),
                   routes=[{"host": "*", "path": "/", "sources": ["hang", "good"],
                            "balancer": "failover"}], extra=sources)

    for i in range(2):
        r, took = timed_get(s, "/y%d" % i)
        assert r.status == 200 and r.header("X-Backend") == "good", r
        assert CONNECT - 0.05 <= took < CONNECT + 0.6, "200 after %.3f s" % took
    d = stat_json(s)
    hang = source_stat(d, "hang")
    # max_fails = 0: never marked down, so each request tried it and retried away.
    assert hang["failures"] == 2 and hang["retries"] == 2 and hang["health"] == "up", hang
    assert wait_until(lambda: good.stats()["requests"] == 2, 2.0), good.stats()
