"""m00017: the health checker reads Retry-After as the HTTP allows it, also as an
HTTP-date: a 503 to a check with "Retry-After: <IMF-fixdate 3 s ahead>" takes the
source out at once (sluice-stat: down, reason "retry-after"; requests go to the
other source) although one failed check is below fall; after the date it is up."""

import email.utils
import json
import os
import subprocess
import threading
import time
from pathlib import Path

import rawbackend
from harness import free_port, sluice_bin, wait_until

STAT = (os.environ.get("SLUICE_STAT_BIN") or os.environ.get("SLUICE_STAT")
        or str(Path(sluice_bin()).parent / "sluice-stat"))
HOLD = 3


def source(conf_path, name):
    p = subprocess.run([STAT, "-c", str(conf_path), "--json"], capture_output=True,
                       text=True, timeout=5)
    assert p.returncode == 0, p.stderr
    [x] = [x for x in json.loads(p.stdout)["sources"] if x["name"] == name]
    return x


def test_health_retry_after_http_date(env):
    state = {"mode": "ok", "sent_503": None}
    lock = threading.Lock()

    def respond(conn, req):
        if req.target == "/__health":
            with lock:
                if state["mode"] == "503":
                    state["mode"] = "ok"
                    state["sent_503"] = time.monotonic()
                    date = email.utils.formatdate(time.time() + HOLD, usegmt=True)
                    return rawbackend.response(503, "Unavailable",
                                               headers=[("Retry-After", date)], body=b"no\n")
            return rawbackend.response(200, body=b"ok\n")
        return rawbackend.response(200, headers=[("X-Backend", "a")], body=b"a\n")

    a = rawbackend.start(env, "a", responder=respond)
    b = env.backend("b")
    port = free_port()
    conf = env.config(port, [("a", a.address), ("b", b.address)],
                      [{"host": "*", "path": "/", "sources": ["a", "b"]}], workers=2,
                      extra={"health": {"path": "/__health", "interval": 0.3, "timeout": 1,
                                        "rise": 1, "fall": 3}})
    s = env.sluice(conf_text=conf, port=port)
    assert wait_until(lambda: source(s.conf_path, "a")["check"]["checks"] >= 1, 2.0)
    assert source(s.conf_path, "a")["health"] == "up"

    with lock:
        state["mode"] = "503"
    assert wait_until(lambda: state["sent_503"] is not None, 2.0), "no check after 503 mode"
    held = wait_until(lambda: (lambda x: x["health"] == "down" and
                               x["reason"] == "retry-after")(source(s.conf_path, "a")), 1.0,
                      interval=0.05)
    x = source(s.conf_path, "a")
    assert held, "a 503 with an HTTP-date Retry-After did not hold the source: %r" % x
    assert x["check"]["state"] == "up", "one failed check is below fall = 3: %r" % x
    for i in range(4):
        r = s.get("/held/%d" % i)
        assert (r.status, r.header("X-Backend")) == (200, "b"), r

    back = wait_until(lambda: source(s.conf_path, "a")["health"] == "up", HOLD + 1.5,
                      interval=0.05)
    took = time.monotonic() - state["sent_503"]
    assert back, "a still held %.1f s after a %d s Retry-After date" % (took, HOLD)
    assert took >= HOLD - 1.2, "held only %.1f s" % took
