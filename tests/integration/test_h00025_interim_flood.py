"""h00025: a backend may send a few interim (1xx) responses, not any number: up to 10
per request are relayed, the 11th makes the response malformed: the client gets 502
(its final response: the 1xx it saw were only interim), the backend connection is
closed and the source's failure is counted once. An endless 1xx stream ends the
same way, at once."""

import rawbackend
from harness import HttpConn, source_stat, stat_json

EARLY = b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n"


def hints(n):
    def respond(c, req):
        c.send(EARLY * n)
        return rawbackend.response(200, body=b"final")
    return respond


def test_ten_interim_are_fine(env):
    rb = rawbackend.start(env, "raw", responder=hints(10))
    s = env.sluice([rb.source], workers=1)
    with HttpConn(s.port, timeout=3) as c:
        r = c.request("GET", "/")
        assert r.status == 200 and r.body == b"final", r
    assert source_stat(stat_json(s), "raw")["failures"] == 0


def test_eleven_interim_are_502(env):
    rb = rawbackend.start(env, "raw", responder=hints(11))
    s = env.sluice([rb.source], workers=1, routes=[{"path": "/", "sources": ["raw"],
                                                    "retries": 0}])
    with HttpConn(s.port, timeout=3) as c:
        c.send(HttpConn.build("GET", "/", host="x"))
        n1xx = 0
        while True:
            line = c.readline()
            if not line.startswith(b"HTTP/1.1 103"):
                break
            n1xx += 1
            while c.readline() not in (b"\r\n", b"\n"):
                pass
        assert line.startswith(b"HTTP/1.1 502"), line
        assert n1xx <= 10
    assert "more than 10 interim" in s.log()
    assert source_stat(stat_json(s), "raw")["failures"] == 1


def test_endless_interim_stream_is_cut(env):
    def flood(c, req):
        for _ in range(100000):
            if not c.send(EARLY):
                return None
        return None

    rb = rawbackend.start(env, "raw", responder=flood)
    s = env.sluice([rb.source], workers=1, routes=[{"path": "/", "sources": ["raw"],
                                                    "retries": 0}])
    with HttpConn(s.port, timeout=3) as c:
        r = c.request("GET", "/")
        assert r.status == 502, r
