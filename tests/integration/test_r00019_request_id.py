"""r00019: request ids (route key request_id, default "X-Request-ID"). A request
without one gets 32 hex digits, different per request, forwarded once, echoed in
the response (the source's own field of that name is replaced) and logged as
rid=. A client's sane id is kept; a bad one (a space, 65 characters) is
replaced; several fields become one. sluice's own answers (502) carry it too.
request_id = "X-Trace" renames it; "" turns it off (nothing added, the client's
field passes as any other)."""

import re

from harness import wait_until

HEX32 = re.compile(r"^[0-9a-f]{32}$")


def fwd(r, name="x-request-id"):
    return [v for k, v in r.json()["headers"] if k.lower() == name]


def test_request_id_default(env):
    a = env.backend("a")
    dead = ("dead", "127.0.0.1:%d" % env.dead_port())
    access = env.dir / "access.log"
    s = env.sluice([a, dead], workers=1, routes=[
        {"host": "*", "path": "/dead", "sources": ["dead"]},
        {"host": "*", "path": "/", "sources": ["a"]}],
        extra={"log": {"error": "stderr", "level": "info", "access": str(access)}})

    r1 = s.get("/echo?n=1")
    r2 = s.get("/echo?n=2")
    ids = []
    for r in (r1, r2):
        assert r.status == 200
        sent = fwd(r)
        assert len(sent) == 1 and HEX32.match(sent[0]), sent
        assert r.header_all("x-request-id") == sent, (r.headers, sent)
        ids.append(sent[0])
    assert ids[0] != ids[1]

    r = s.get("/echo?n=3", headers=[("X-Request-ID", "client-id-42:a/b+c=")])
    assert fwd(r) == ["client-id-42:a/b+c="] and r.header_all("x-request-id") == fwd(r)
    r = s.get("/echo?n=4", headers=[("X-Request-ID", "first"), ("x-request-id", "second")])
    assert fwd(r) == ["first"], fwd(r)
    for bad in ("has space", "x" * 65, "semi;colon"):
        r = s.get("/echo?n=5", headers=[("X-Request-ID", bad)])
        sent = fwd(r)
        assert len(sent) == 1 and HEX32.match(sent[0]), (bad, sent)
        assert r.header_all("x-request-id") == sent

    # The source's own field of that name is replaced by ours, once.
    r = s.get("/headers?X-Request-ID=from-source")
    assert len(r.header_all("x-request-id")) == 1
    assert r.header("x-request-id") == fwd(r)[0] != "from-source"

    # Our own 502 carries it.
    r = s.get("/dead/x", headers=[("X-Request-ID", "dead-one")])
    assert r.status == 502 and r.header("x-request-id") == "dead-one", r

    # The access log has rid= for each of them.
    assert wait_until(lambda: access.exists() and access.read_text().count("\n") >= 9, 3)
    log = access.read_text()
    for i in ids + ["client-id-42:a/b+c=", "first", "dead-one"]:
        assert " rid=%s" % i in log, (i, log)


def test_request_id_renamed_and_off(env):
    a = env.backend("a")
    s = env.sluice([a], workers=1, routes=[
        {"host": "*", "path": "/headers", "sources": ["a"], "request_id": "X-Trace"},
        {"host": "*", "path": "/", "sources": ["a"], "request_id": ""}])
    r = s.get("/headers")
    assert r.status == 200
    assert len(fwd(r, "x-trace")) == 1 and HEX32.match(fwd(r, "x-trace")[0])
    assert fwd(r) == [] and r.header("x-trace") == fwd(r, "x-trace")[0]
    r = s.get("/echo")
    assert fwd(r) == [] and r.header("x-request-id") is None
    r = s.get("/echo", headers=[("X-Request-ID", "passes as is")])
    assert fwd(r) == ["passes as is"]
