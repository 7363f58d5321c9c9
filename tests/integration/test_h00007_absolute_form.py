"""h00007: an absolute-form target (RFC 9112 3.2.2) works: the backend gets the
origin-form target and Host = the target's authority (one Host field, whatever Host
the client sent); routing by host uses that authority."""

import pytest

import rawbackend
from harness import HttpConn, exchange


def echo(conn, req):
    return rawbackend.response(200, body=b"ok")


CASES = [
    (b"http://example.test/path", b"", "/path", "example.test"),
    (b"http://example.test/path?q=1&r=2", b"", "/path?q=1&r=2", "example.test"),
    (b"http://example.test:8080/p", b"", "/p", "example.test:8080"),
    (b"http://example.test", b"", "/", "example.test"),
    (b"http://example.test?q=1", b"", "/?q=1", "example.test"),
    (b"HTTP://Example.Test/path", b"", "/path", None),      # scheme/host case-insensitive
    (b"http://example.test/path", b"Host: other.test\r\n", "/path", "example.test"),
]


@pytest.mark.parametrize("target,host_line,path,host", CASES,
                         ids=["plain", "query", "port", "no_path", "no_path_query",
                              "upper", "host_differs"])
def test_absolute_form(env, target, host_line, path, host):
    rb = rawbackend.start(env, "raw", responder=echo)
    s = env.sluice([rb.source])

    data = b"GET " + target + b" HTTP/1.1\r\n" + (host_line or b"Host: example.test\r\n") + b"\r\n"
    r, _, err = exchange(s.port, data, close_wait=0.1)
    assert r is not None and r.status == 200, (r, err)
    req = rb.requests[0]
    assert req.target == path, req
    hosts = req.get_all("Host")
    assert len(hosts) == 1, req.headers
    if host is None:
        assert hosts[0].lower() == "example.test", hosts
    else:
        assert hosts == [host], req.headers


def test_absolute_form_without_host_header(env):
    """HTTP/1.1 requires a Host field even with absolute-form; a proxy may refuse (400)
    or take the authority; never forward without a Host."""
    rb = rawbackend.start(env, "raw", responder=echo)
    s = env.sluice([rb.source])

    r, _, err = exchange(s.port, b"GET http://example.test/path HTTP/1.1\r\n\r\n",
                           close_wait=0.1)
    assert r is not None and r.status in (200, 400), (r, err)
    if r.status == 200:
        assert rb.requests[0].target == "/path"
        assert rb.requests[0].get_all("Host") == ["example.test"]
    else:
        assert rb.received_total() == 0


def test_absolute_form_routes_by_its_host(env):
    a = rawbackend.start(env, "a", responder=lambda c, r: rawbackend.response(200, body=b"A"))
    b = rawbackend.start(env, "b", responder=lambda c, r: rawbackend.response(200, body=b"B"))
    routes = [{"host": "example.test", "path": "/", "sources": ["a"]},
              {"host": "*", "path": "/", "sources": ["b"]}]
    s = env.sluice([a.source, b.source], routes=routes)

    with HttpConn(s.port) as c:
        c.send(b"GET http://example.test/x HTTP/1.1\r\nHost: other.test\r\n\r\n")
        assert c.read_response().body == b"A"
        c.send(b"GET http://other.test/x HTTP/1.1\r\nHost: example.test\r\n\r\n")
        assert c.read_response().body == b"B"
