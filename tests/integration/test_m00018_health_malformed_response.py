"""m00018: the health checker parses answers with the same strict HTTP/1.1 response
parser as the workers: a check answered "HTTP/1.1 200 OK" with a malformed field
line ("X-Bad : 1", whitespace before the colon) is a failed check, so after fall
such answers the source is down with reason "malformed" and takes no requests;
well-formed 200s bring it back."""

import json
import os
import subprocess
import threading
from pathlib import Path

import rawbackend
from harness import free_port, sluice_bin, wait_until

STAT = (os.environ.get("SLUICE_STAT_BIN") or os.environ.get("SLUICE_STAT")
        or str(Path(sluice_bin()).parent / "sluice-stat"))
BAD = b"HTTP/1.1 200 OK\r\nX-Bad : 1\r\nContent-Length: 3\r\n\r\nok\n"


def source(conf_path, name):
    p = subprocess.run([STAT, "-c", str(conf_path), "--json"], capture_output=True,
                       text=True, timeout=5)
    assert p.returncode == 0, p.stderr
    [x] = [x for x in json.loads(p.stdout)["sources"] if x["name"] == name]
    return x


def test_health_malformed_response_is_a_failure(env):
    state = {"bad": False}
    lock = threading.Lock()

    def respond(conn, req):
        if req.target == "/__health":
            with lock:
                if state["bad"]:
                    return BAD
            return rawbackend.response(200, body=b"ok\n")
        return rawbackend.response(200, headers=[("X-Backend", "a")], body=b"a\n")

    a = rawbackend.start(env, "a", responder=respond)
    b = env.backend("b")
    port = free_port()
    conf = env.config(port, [("a", a.address), ("b", b.address)],
                      [{"host": "*", "path": "/", "sources": ["a", "b"]}], workers=2,
                      extra={"health": {"path": "/__health", "interval": 0.3, "timeout": 1,
                                        "rise": 1, "fall": 2}})
    s = env.sluice(conf_text=conf, port=port)
    assert wait_until(lambda: source(s.conf_path, "a")["check"]["checks"] >= 1, 2.0)
    assert source(s.conf_path, "a")["health"] == "up"

    with lock:
        state["bad"] = True
    down = wait_until(lambda: source(s.conf_path, "a")["health"] == "down", 2.0,
                      interval=0.05)
    x = source(s.conf_path, "a")
    assert down, "malformed health answers left the source up: %r" % x
    assert x["reason"] == "malformed" and x["check"]["state"] == "down", x
    for i in range(4):
        r = s.get("/down/%d" % i)
        assert (r.status, r.header("X-Backend")) == (200, "b"), r
    assert "source a is down: malformed response" in s.log(), s.log()[-2000:]

    with lock:
        state["bad"] = False
    assert wait_until(lambda: source(s.conf_path, "a")["health"] == "up", 2.0,
                      interval=0.05), source(s.conf_path, "a")
