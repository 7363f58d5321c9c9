"""h00023: a Content-Length list of equal values ("4, 4", or the field twice) is
forwarded as one normalized "Content-Length: 4" (RFC 9110 §8.6), never as the list,
both ways: to the backend for a request body and to the client for a response.
Differing values stay a 400 / 502."""

import rawbackend
from harness import HttpConn, exchange


def echo_len(c, req):
    return rawbackend.response(200, body=b"got %d" % len(req.body or b""))


def test_request_list_normalized(env):
    rb = rawbackend.start(env, "raw", responder=echo_len)
    s = env.sluice([rb.source], workers=1)
    for fields in ([("Content-Length", "4, 4")], [("Content-Length", "4"), ("Content-Length", "4")],
                   [("Content-Length", "4 ,4,4")]):
        with HttpConn(s.port, timeout=3) as c:
            c.send(HttpConn.build("POST", "/up", fields, b"abcd", host="x"))
            r = c.read_response("POST")
            assert r.status == 200 and r.body == b"got 4", r
            # The next request on the connection is parsed at the right place.
            assert c.request("GET", "/next").status == 200
        req = rb.requests[-2]
        assert req.get_all("Content-Length") == ["4"], req.raw
    assert len(rb.requests) == 6


def test_request_differing_values_400(env):
    rb = rawbackend.start(env, "raw", responder=echo_len)
    s = env.sluice([rb.source], workers=1)
    r, closed, err = exchange(s.port, b"POST /up HTTP/1.1\r\nHost: x\r\n"
                              b"Content-Length: 4, 5\r\n\r\nabcde")
    assert r is not None and r.status == 400, err
    assert closed
    assert rb.requests == []


def test_response_list_normalized(env):
    def respond(c, req):
        return (b"HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\nContent-Length: 5\r\n\r\nhello")

    rb = rawbackend.start(env, "raw", responder=respond)
    s = env.sluice([rb.source], workers=1)
    with HttpConn(s.port, timeout=3) as c:
        r = c.request("GET", "/a")
        assert r.status == 200 and r.body == b"hello", r
        assert r.header_all("Content-Length") == ["5"], r.headers
        r = c.request("GET", "/b")
        assert r.header_all("Content-Length") == ["5"] and r.body == b"hello"
