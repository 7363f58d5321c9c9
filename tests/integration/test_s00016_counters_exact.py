"""s00016: every counter sluice-stat prints about how exchanges end moves by exactly
what was provoked, in the table, in --json and in --prometheus, and the access log
has the line with its termination code:
retries (one source refusing connections), errors and source_reset (a backend that
resets), bad_request and client_timeout for 400/408/414/431 from bad clients (the
responses sluice makes itself count in the status classes), and client_abort with
status 499 for a client that leaves while the source is still answering (its
backend connection is not pooled)."""

import re
import socket
import subprocess
import time

import rawbackend
from harness import (HttpConn, exchange, free_port, source_stat, stat_bin, stat_json,
                     wait_until)


def prom(s):
    p = subprocess.run([stat_bin(), "-c", str(s.conf_path), "--prometheus"],
                       capture_output=True, text=True, timeout=5)
    assert p.returncode == 0, p.stderr
    out = {}
    for ln in p.stdout.splitlines():
        if ln.startswith("#") or not ln.strip():
            continue
        k, _, v = ln.rpartition(" ")
        out[k] = float(v)
    return out


def prom_sum(m, metric, **labels):
    """Sum of metric's series whose labels include labels."""
    total = 0.0
    for k, v in m.items():
        name, _, rest = k.partition("{")
        if name != metric:
            continue
        if all('%s="%s"' % (lk, lv) in rest for lk, lv in labels.items()):
            total += v
    return total


def table(s):
    p = subprocess.run([stat_bin(), "-c", str(s.conf_path)], capture_output=True, text=True,
                       timeout=5)
    assert p.returncode == 0, p.stderr
    ends = re.search(r"^ends (.*)$", p.stdout, re.M).group(1).split()
    errors = int(re.search(r"errors (\d+)", p.stdout).group(1))
    return dict(zip(ends[::2], map(int, ends[1::2]))), errors


def config(env, tmp, sources, routes, **kw):
    log = str(tmp / "access.log")
    extra = kw.pop("extra", {})
    extra["log"] = {"error": "stderr", "level": "info", "access": log}
    s = env.sluice(sources, routes=routes, workers=1, extra=extra, **kw)
    return s, log


def access_lines(path, n, timeout=3):
    """The access log's lines once it has at least n (it is flushed every second)."""
    def lines():
        try:
            with open(path) as f:
                return f.read().splitlines()
        except OSError:
            return []
    wait_until(lambda: len(lines()) >= n, timeout)
    return lines()


def test_retries_with_one_source_refusing(env, tmp_path):
    a = env.backend("a")
    dead = ("dead", "127.0.0.1:%d" % env.dead_port())
    routes = [{"path": "/", "sources": ["dead", "a"], "retries": 1}]
    s, log = config(env, tmp_path, [dead, a], routes,
                    extra={"sources": [{"name": "dead", "address": dead[1], "max_fails": 0},
                                       {"name": "a", "address": a.address}]})
    before = source_stat(stat_json(s), "dead")["retries"]
    assert before == 0
    with HttpConn(s.port, timeout=5) as c:
        for i in range(10):
            assert c.request("GET", "/echo?%d" % i).status == 200
    d = stat_json(s)
    dead_st, a_st = source_stat(d, "dead"), source_stat(d, "a")
    # Every try of the dead source failed and was retried on a: exactly as many.
    assert a_st["requests"] == 10 == a.stats()["requests"]
    assert dead_st["retries"] == dead_st["failures"] >= 5, dead_st
    assert a_st["retries"] == 0
    assert d["totals"]["errors"] == 0 and d["totals"]["ends"]["ok"] == 10
    m = prom(s)
    assert prom_sum(m, "sluice_source_retries_total", source="dead") == dead_st["retries"]
    assert prom_sum(m, "sluice_worker_errors_total") == 0
    lines = access_lines(log, 10)
    assert len(lines) == 10 and all(" term=-- rid=" in ln and " src=a " in ln
                                    for ln in lines), lines


def test_errors_with_a_resetting_backend(env, tmp_path):
    rb = rawbackend.start(env, "raw", scripts=[[("head",), ("reset",)]])
    routes = [{"path": "/", "sources": ["raw"], "retries": 0}]
    s, log = config(env, tmp_path, [rb.source], routes,
                    extra={"sources": [{"name": "raw", "address": rb.address,
                                        "max_fails": 0}]})
    for i in range(3):
        r, _, err = exchange(s.port, b"POST /p%d HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi"
                             % i)
        assert r is not None and r.status == 502, err
    d = stat_json(s)
    t = d["totals"]
    assert t["errors"] == 3 and t["ends"]["source_reset"] == 3, t
    assert t["responses"]["5xx"] == 3 and t["requests"] == 3
    assert d["workers"][0]["errors"] == 3 and d["workers"][0]["ends"]["source_reset"] == 3
    src = source_stat(d, "raw")
    assert src["failures"] == 3 and src["ends"]["source_reset"] == 3, src
    m = prom(s)
    assert prom_sum(m, "sluice_worker_errors_total") == 3
    assert prom_sum(m, "sluice_worker_exchanges_total", cause="source_reset") == 3
    assert prom_sum(m, "sluice_source_exchanges_total", source="raw", cause="source_reset") == 3
    ends, errors = table(s)
    assert errors == 3 and ends["source_reset"] == 3
    lines = access_lines(log, 3)
    assert len(lines) == 3 and all('" 502 ' in ln and " term=RH rid=" in ln for ln in lines), lines
    # The error-log line of each 502 names the route, the source, the cause and the time.
    errs = [ln for ln in s.log().splitlines() if "502 Bad Gateway for 127.0.0.1" in ln]
    assert len(errs) == 3, s.log()[-2000:]
    assert all(re.search(r"route at line \d+, source raw, cause source_reset, after \d+\.\d{3}s",
                         ln) for ln in errs), errs


def test_bad_clients_400_408_414_431(env, tmp_path):
    a = env.backend("a")
    s, log = config(env, tmp_path, [a], None, timeouts={"client_header": 1},
                    extra={"limits": {"max_request_line": 1024, "max_header_size": 4096}})
    r, _, _ = exchange(s.port, b"GET /a b HTTP/1.1\r\nHost: x\r\n\r\n")
    assert r.status == 400
    r, _, _ = exchange(s.port, b"GET /" + b"a" * 2000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    assert r.status == 414
    r, _, _ = exchange(s.port, b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 8000 +
                       b"\r\n\r\n")
    assert r.status == 431
    r, _, _ = exchange(s.port, b"GET / HTTP/1.1\r\nHost: x\r\n", timeout=4)
    assert r is not None and r.status == 408
    d = stat_json(s)
    t = d["totals"]
    assert t["requests"] == 4 and t["responses"]["4xx"] == 4, t
    assert t["ends"]["bad_request"] == 3 and t["ends"]["client_timeout"] == 1, t["ends"]
    assert t["errors"] == 4
    assert a.stats()["requests"] == 0
    m = prom(s)
    assert prom_sum(m, "sluice_worker_responses_total", code="4xx") == 4
    assert prom_sum(m, "sluice_worker_exchanges_total", cause="bad_request") == 3
    ends, errors = table(s)
    assert ends["bad_request"] == 3 and ends["client_timeout"] == 1 and errors == 4
    lines = access_lines(log, 4)
    codes = sorted(re.search(r'" (\d{3}) ', ln).group(1) + " " + ln[-7:] for ln in lines)
    assert codes == ["400 term=PR", "408 term=cR", "414 term=PR", "431 term=PR"], lines


def test_client_leaving_is_499_and_not_pooled(env, tmp_path):
    def slow(c, req):
        c.sleep(1.5)
        return rawbackend.response(200, body=b"late")

    rb = rawbackend.start(env, "raw", responder=slow)
    s, log = config(env, tmp_path, [rb.source], None)
    sk = socket.create_connection(("127.0.0.1", s.port), timeout=3)
    sk.sendall(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
    assert wait_until(lambda: len(rb.requests) == 1, 2)
    sk.close()
    d = None
    for _ in range(30):
        d = stat_json(s)
        if d["totals"]["requests"] == 1:
            break
        time.sleep(0.1)
    t = d["totals"]
    assert t["requests"] == 1 and t["ends"]["client_abort"] == 1, t
    assert t["responses"]["4xx"] == 1 and t["errors"] == 1
    assert source_stat(d, "raw")["ends"]["client_abort"] == 1
    lines = access_lines(log, 1)
    assert len(lines) == 1 and '" 499 ' in lines[0] and " term=CH rid=" in lines[0], lines
    # The aborted backend connection was closed, not pooled: the next request opens one.
    with HttpConn(s.port, timeout=5) as c:
        assert c.request("GET", "/next").body == b"late"
    assert rb.accepts == 2
    m = prom(s)
    assert prom_sum(m, "sluice_worker_exchanges_total", cause="client_abort") == 1
    ends, _ = table(s)
    assert ends["client_abort"] == 1


def test_response_cut_short_is_a_source_failure(env, tmp_path):
    def short(c, req):
        c.send(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + b"x" * 10)
        c.close()
        return None

    rb = rawbackend.start(env, "raw", responder=short)
    s, log = config(env, tmp_path, [rb.source], None,
                    extra={"sources": [{"name": "raw", "address": rb.address,
                                        "max_fails": 0}]})
    with HttpConn(s.port, timeout=3) as c:
        c.send(b"GET /cut HTTP/1.1\r\nHost: x\r\n\r\n")
        try:
            c.read_response()
            assert False, "a truncated body was presented as complete"
        except EOFError:
            pass
    d = stat_json(s)
    src = source_stat(d, "raw")
    assert src["failures"] == 1 and src["ends"]["source_reset"] == 1, src
    assert d["totals"]["errors"] == 1
    lines = access_lines(log, 1)
    assert len(lines) == 1 and '" 200 ' in lines[0] and " term=RD rid=" in lines[0], lines


def test_tunnel_bytes_are_counted(env, tmp_path):
    a = env.backend("a")
    s, log = config(env, tmp_path, [a], None)
    payload = b"w" * 300000
    with HttpConn(s.port, timeout=5) as c:
        c.send(b"GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
               b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
        assert c.readline().startswith(b"HTTP/1.1 101")
        while c.readline() not in (b"\r\n", b"\n"):
            pass
        c.send(payload)
        got = bytes(c.buf)
        c.buf.clear()
        while len(got) < len(payload):
            d = c.sock.recv(65536)
            assert d, "tunnel closed early"
            got += d
        assert got == payload
    # Closing the client ends the tunnel; its bytes land in the counters.
    wait_until(lambda: stat_json(s)["totals"]["requests"] == 1, 3)
    d = stat_json(s)
    src = source_stat(d, "a")
    assert d["totals"]["bytes_in"] >= len(payload), d["totals"]
    assert d["totals"]["bytes_out"] >= len(payload), d["totals"]
    assert src["bytes_out"] >= len(payload) and src["bytes_in"] >= len(payload), src
    lines = access_lines(log, 1)
    n = int(re.search(r'" 101 (\d+) ', lines[0]).group(1))
    assert n >= len(payload), lines[0]
