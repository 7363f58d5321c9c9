"""t00021: TLS to sources (sources[].tls). The chain is verified against `ca` and
the name against `sni` by default; an expired certificate, a wrong name or an
unknown CA is a source failure: 502, counted against the source, with the
reason in the error log, never a silent fallback. verify = false talks to a
self-signed source. SNI is sent. A client certificate (mTLS) is presented
when configured. Pooled TLS connections are reused like plain ones, and a new
connection to the source resumes the TLS session. -t names a bad CA file or
a certificate without its key, with the line."""

import re

import pytest

import harness
import tlsbackend
import tlsutil
from harness import run_sluice, source_stat, stat_json, wait_until


def sluice_to(env, origin, tls, workers=1, **kw):
    src = {"name": "o", "address": origin.address, "tls": tls}
    return env.sluice([("o", origin.address)], workers=workers,
                      extra={"sources": [src]}, **kw)


@pytest.fixture
def pki(tmp_path):
    return tlsutil.Pki(tmp_path)


def origin(pki, cert="a", **kw):
    return tlsbackend.TlsOrigin(pki.path(cert + ".crt"), pki.path(cert + ".key"), **kw).start()


@pytest.mark.limit(20)
def test_verified_sni_pool_and_resumption(env, pki):
    o = origin(pki)
    try:
        s = sluice_to(env, o, {"ca": pki.ca, "sni": "a.test"})
        with s.conn() as c:
            for i in range(5):
                r = c.request("GET", "/k%d" % i)
                assert r.status == 200 and r.body == b"tls-origin /k%d" % i, r
        hs = o.handshakes()
        assert len(hs) == 1, hs                      # five requests, one pooled connection
        assert hs[0]["requests"] == 5
        assert hs[0]["sni"] == "a.test"
        assert hs[0]["reused"] is False
        # The origin closes after /close: the next request needs a new connection,
        # which resumes the session the first one got.
        assert s.get("/close").status == 200
        r = s.get("/after")
        assert r.status == 200 and r.body == b"tls-origin /after"
        hs = o.handshakes()
        assert len(hs) == 2, hs
        assert hs[1]["reused"] is True, hs
        st = source_stat(stat_json(s), "o")
        assert st["failures"] == 0
    finally:
        o.stop()


@pytest.mark.limit(20)
def test_tls12_source_resumes_too(env, pki):
    import ssl
    o = origin(pki, max_version=ssl.TLSVersion.TLSv1_2)
    try:
        s = sluice_to(env, o, {"ca": pki.ca, "sni": "a.test"})
        assert s.get("/close").status == 200
        assert s.get("/close").status == 200
        hs = o.handshakes()
        assert [h["version"] for h in hs] == ["TLSv1.2", "TLSv1.2"], hs
        assert [h["reused"] for h in hs] == [False, True], hs
    finally:
        o.stop()


@pytest.mark.parametrize("case", ["expired", "wrong_name", "unknown_ca"])
@pytest.mark.limit(20)
def test_unverified_source_is_a_failure(env, pki, case):
    if case == "expired":
        cert, key = tlsbackend.expired_cert(pki)
        tls, reason = {"ca": pki.ca, "sni": "a.test"}, "certificate has expired"
    elif case == "wrong_name":
        cert, key = pki.path("a.crt"), pki.path("a.key")
        tls, reason = {"ca": pki.ca, "sni": "b.test"}, "hostname mismatch"
    else:
        cert, key = tlsbackend.self_signed(pki)
        tls, reason = {"ca": pki.ca, "sni": "a.test"}, "self-signed certificate"
    o = tlsbackend.TlsOrigin(cert, key).start()
    try:
        s = sluice_to(env, o, tls)
        r = s.get("/x")
        assert r.status == 502, r
        assert o.handshakes() == [], "a request reached an unverified source"
        assert wait_until(lambda: re.search(
            r"source o \(127\.0\.0\.1:%d\): TLS handshake failed: certificate verify "
            r"failed: %s" % (o.port, reason), s.log()), 3), s.log()[-2000:]
        st = source_stat(stat_json(s), "o")
        assert st["failures"] == 1, st
    finally:
        o.stop()


@pytest.mark.limit(20)
def test_verify_false_talks_to_self_signed(env, pki):
    cert, key = tlsbackend.self_signed(pki)
    o = tlsbackend.TlsOrigin(cert, key).start()
    try:
        s = sluice_to(env, o, {"verify": False})
        r = s.get("/y")
        assert r.status == 200 and r.body == b"tls-origin /y"
        # An IP address is never sent as SNI (RFC 6066).
        assert o.handshakes()[0]["sni"] is None
    finally:
        o.stop()


@pytest.mark.limit(20)
def test_client_certificate(env, pki):
    o = origin(pki, client_ca=pki.ca)
    try:
        s = sluice_to(env, o, {"ca": pki.ca, "sni": "a.test",
                               "certificate": pki.path("b.crt"), "key": pki.path("b.key")})
        r = s.get("/m")
        assert r.status == 200 and r.body == b"tls-origin /m"
        assert o.handshakes()[0]["peer_cn"] == "b.test"
    finally:
        o.stop()
    # Without a client certificate the origin refuses: 502, never a 200.
    o = origin(pki, client_ca=pki.ca)
    try:
        s2 = sluice_to(env, o, {"ca": pki.ca, "sni": "a.test"}, name="s2")
        r = s2.get("/m")
        assert r.status == 502, r
        assert all(h.get("requests", 0) == 0 for h in o.conns), o.conns
    finally:
        o.stop()


def test_config_check(env, pki, tmp_path):
    conf = harness.make_config(tmp_path, 8080, [("o", "127.0.0.1:9")], [
        {"host": "*", "path": "/", "sources": ["o"]}])

    def with_tls(tls_text):
        p = tmp_path / "c.conf"
        p.write_text(conf.replace('address = "127.0.0.1:9";',
                                  'address = "127.0.0.1:9";\n    tls = %s;' % tls_text))
        return p

    p = with_tls('{ ca = "%s"; }' % (tmp_path / "nope.pem"))
    rc, out = run_sluice(["-t", "-c", str(p)])
    assert rc != 0, out
    assert re.search(r"c\.conf:\d+: sources\[0\]\.tls\.ca: .*nope\.pem: cannot load CA", out), out
    p = with_tls('{ ca = "%s"; certificate = "%s"; }' % (pki.ca, pki.path("b.crt")))
    rc, out = run_sluice(["-t", "-c", str(p)])
    assert rc != 0 and "sources[0].tls.key: missing" in out, out
    p = with_tls('{ ca = "%s"; certificate = "%s"; key = "%s"; }' % (
        pki.ca, pki.path("b.crt"), pki.path("a.key")))
    rc, out = run_sluice(["-t", "-c", str(p)])
    assert rc != 0 and "does not match the certificate" in out, out
    p = with_tls('{ ca = "%s"; sni = "a.test"; }' % pki.ca)
    rc, out = run_sluice(["-t", "-c", str(p)])
    assert rc == 0, out


@pytest.mark.limit(20)
def test_health_checks_over_tls(env, pki):
    """The checker probes a TLS source over TLS, verified like the workers: a good
    one stays up (its probes arrive as TLS requests with our SNI), one whose
    certificate names another host goes down with the reason logged."""
    good = origin(pki)
    bad = origin(pki)           # serves a.test; configured to expect b.test
    try:
        srcs = [{"name": "g", "address": good.address, "tls": {"ca": pki.ca, "sni": "a.test"}},
                {"name": "b", "address": bad.address, "tls": {"ca": pki.ca, "sni": "b.test"}}]
        s = env.sluice([("g", good.address), ("b", bad.address)], workers=1,
                       extra={"sources": srcs,
                              "health": {"path": "/health", "interval": 0.2, "timeout": 1,
                                         "rise": 1, "fall": 2}})
        assert wait_until(lambda: sum(1 for h in good.handshakes()
                                      if h.get("requests", 0) >= 1) >= 3, 5), good.conns
        assert all(h["sni"] == "a.test" for h in good.handshakes())
        assert wait_until(lambda: source_stat(stat_json(s), "b")["health"] == "down", 5), \
            source_stat(stat_json(s), "b")
        assert source_stat(stat_json(s), "g")["health"] == "up"
        assert re.search(r"source b is down: TLS handshake failed: certificate verify failed: "
                         r"hostname mismatch", s.log()), s.log()[-2000:]
        assert bad.handshakes() == [] or all(h["requests"] == 0 for h in bad.handshakes())
        # Requests go to the good one only.
        for i in range(4):
            r = s.get("/r%d" % i)
            assert r.status == 200 and r.body == b"tls-origin /r%d" % i, r
    finally:
        good.stop()
        bad.stop()
