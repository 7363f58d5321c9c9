"""h00039: hop-by-hop fields are removed even when no Connection field names them
(b00016/b00017 name them in Connection). sluice's list (worker/heads.c,
heads_hop_by_hop): Connection, Keep-Alive, Proxy-Connection, TE, Trailer, Upgrade,
Transfer-Encoding, Proxy-Authenticate and the reserved Close. On the request side an
Upgrade without "Connection: upgrade" is not an upgrade: the request is served as
plain HTTP/1.1 and its Upgrade field dropped. End-to-end fields beside them pass."""

import pytest

import rawbackend
from harness import HttpConn

# Sent without any Connection field.
REQ_HOP = [
    ("Trailer", "X-Checksum"),
    ("Keep-Alive", "timeout=300, max=5"),
    ("Upgrade", "websocket"),
    ("TE", "trailers"),
    ("Proxy-Connection", "keep-alive"),
    ("Proxy-Authenticate", "Basic realm=\"x\""),
    ("Close", "yes"),
]
RESP_HOP = [
    ("Trailer", "X-Checksum"),
    ("Keep-Alive", "timeout=30, max=100"),
    ("Upgrade", "h2c"),
    ("TE", "trailers"),
    ("Proxy-Connection", "keep-alive"),
    ("Proxy-Authenticate", "Basic realm=\"x\""),
    ("Close", "yes"),
]


def names(headers):
    return [k.lower() for k, _ in headers]


def test_request_hop_by_hop_unnamed_not_forwarded(env):
    b1 = env.backend("b1")
    s = env.sluice([b1])

    with s.conn() as c:
        r = c.request("GET", "/echo", headers=REQ_HOP + [("X-Keep", "1")])
        assert r.status == 200, r
        got = r.json()["headers"]
        assert ["X-Keep", "1"] in got, got
        leaked = [k for k, _ in REQ_HOP if k.lower() in names(got)]
        assert not leaked, "hop-by-hop request fields forwarded: %r in %r" % (leaked, got)
        # The connection was served as plain HTTP/1.1 and stays usable.
        r = c.request("GET", "/echo?again=1")
        assert r.status == 200 and r.json()["target"] == "/echo?again=1", r


@pytest.mark.parametrize("hop", [k for k, _ in REQ_HOP])
def test_request_each_hop_by_hop_field_alone(env, hop):
    """Each field on its own (so one missing from the list shows by name)."""
    b1 = env.backend("b1")
    s = env.sluice([b1])

    value = dict(REQ_HOP)[hop]
    with s.conn() as c:
        r = c.request("POST", "/echo", headers=[(hop, value), ("X-Keep", "2")], body=b"abc")
    assert r.status == 200, r
    e = r.json()
    assert hop.lower() not in names(e["headers"]), e["headers"]
    assert ["X-Keep", "2"] in e["headers"] and e["body_len"] == 3, e


def raw_backend(env, chunked):
    def respond(conn, req):
        hs = RESP_HOP + [("X-Public", "p")]
        body = b"body for %s\n" % req.target.encode()
        if chunked:
            return rawbackend.response(200, headers=hs + [("Transfer-Encoding", "chunked")],
                                       body=b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body))
        return rawbackend.response(200, headers=hs, body=body)

    return rawbackend.start(env, "raw", responder=respond)


@pytest.mark.parametrize("chunked", [False, True], ids=["length", "chunked"])
def test_response_hop_by_hop_unnamed_not_forwarded(env, chunked):
    rb = raw_backend(env, chunked)
    s = env.sluice([rb.source], workers=1)

    with HttpConn(s.port, timeout=4) as c:
        for target in ("/one", "/two"):
            r = c.request("GET", target)
            assert r.status == 200 and r.body == b"body for %s\n" % target.encode(), r
            assert r.header("X-Public") == "p", r.headers
            leaked = [k for k, _ in RESP_HOP if k.lower() in names(r.headers)]
            assert not leaked, "hop-by-hop response fields forwarded: %r in %r" % (
                leaked, r.headers)
    # Both went over one client connection and one backend connection.
    assert rb.targets() == ["/one", "/two"] and len(rb.conns) == 1, rb.targets()
