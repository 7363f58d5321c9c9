"""h00003: an HTTP/1.1 request without exactly one valid Host gets 400 and a closed
connection, and the backend receives nothing (RFC 9112 3.2); HTTP/1.0 without Host
is served."""

import pytest

import rawbackend
from harness import exchange

CASES = {
    "no_host": b"GET /echo HTTP/1.1\r\nX-A: 1\r\n\r\n",
    "two_hosts_same": b"GET /echo HTTP/1.1\r\nHost: x\r\nHost: x\r\n\r\n",
    "two_hosts_differ": b"GET /echo HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n",
    "host_list": b"GET /echo HTTP/1.1\r\nHost: x, y\r\n\r\n",
    "host_space": b"GET /echo HTTP/1.1\r\nHost: a b\r\n\r\n",
    "host_slash": b"GET /echo HTTP/1.1\r\nHost: a/b\r\n\r\n",
    "host_userinfo": b"GET /echo HTTP/1.1\r\nHost: u@a\r\n\r\n",
    "host_bad_port": b"GET /echo HTTP/1.1\r\nHost: a:8o\r\n\r\n",
    "host_two_colons": b"GET /echo HTTP/1.1\r\nHost: a:1:2\r\n\r\n",
    "host_open_bracket": b"GET /echo HTTP/1.1\r\nHost: [::1\r\n\r\n",
    "host_ctl": b"GET /echo HTTP/1.1\r\nHost: a\x01b\r\n\r\n",
    "host_question": b"GET /echo HTTP/1.1\r\nHost: a?b\r\n\r\n",
    "host_hash": b"GET /echo HTTP/1.1\r\nHost: a#b\r\n\r\n",
    "host_backslash": b"GET /echo HTTP/1.1\r\nHost: a\\b\r\n\r\n",
}


def ok(conn, r):
    return rawbackend.response(200, body=b"forwarded\n")


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_host_400(env, case):
    rb = rawbackend.start(env, "raw", responder=ok)
    s = env.sluice([rb.source], timeouts={"client_header": 3})

    r, closed, err = exchange(s.port, CASES[case])
    assert r is not None, "no response: %s" % err
    assert r.status == 400, r
    assert closed, "connection left open after 400"
    assert rb.accepts == 0 and rb.received_total() == 0, rb.targets()


@pytest.mark.parametrize("host", [b"x", b"example.test:8080", b"[::1]:80", b"127.0.0.1"])
def test_good_host_served(env, host):
    rb = rawbackend.start(env, "raw", responder=ok)
    s = env.sluice([rb.source])

    r, _, err = exchange(s.port, b"GET /echo HTTP/1.1\r\nHost: " + host + b"\r\n\r\n",
                         close_wait=0.1)
    assert r is not None and r.status == 200, (r, err)
    assert rb.requests[0].get_all("Host") == [host.decode()], rb.requests[0].headers


def test_http10_without_host_served(env):
    rb = rawbackend.start(env, "raw", responder=ok)
    s = env.sluice([rb.source])

    r, closed, err = exchange(s.port, b"GET /echo HTTP/1.0\r\n\r\n")
    assert r is not None and r.status == 200, (r, err)
    assert len(rb.requests) == 1
