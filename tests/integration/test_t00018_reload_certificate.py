"""t00018: a HUP reload picks up a renewed certificate; a broken one is refused.

The listener serves site.crt/site.key (a copy of a.test's RSA pair) then
b.test. The files are replaced in place by a renewed pair (another serial,
subject CN=a.test, O=renewed), as certbot does, and the master gets HUP:
- every new connection (to either worker) gets the renewed certificate, and
  b.test still gets its own;
- a connection opened before the reload keeps its certificate and still gets
  its next answer (a 200).
Then site.key is replaced by something that is not a key, and HUP: the error
log names the file and the reason ("reload: FILE:LINE:
listeners[0].tls.certificates[0].key: .../site.key: cannot load the private
key ..."), the running configuration is kept (same workers), and new
connections still get the renewed certificate. The same for a key that does
not match the certificate ("does not match the certificate")."""

import shutil
import signal

import pytest

from harness import wait_until

import tlsutil

GRACEFUL = 3


def serial_and_org(port, pki, host="a.test"):
    serial, subj = tlsutil.peer_cert(port, pki, host=host)
    return int(serial, 16), subj.get("organizationName"), subj.get("commonName")


@pytest.mark.limit(30)
def test_reload_changes_certificate(env, tmp_path):
    pki = tlsutil.Pki(tmp_path)
    pki.issue("renewed", "/CN=a.test/O=renewed", "DNS:a.test")
    site_crt, site_key = tmp_path / "site.crt", tmp_path / "site.key"
    shutil.copy(pki.path("a.crt"), site_crt)
    shutil.copy(pki.path("a.key"), site_key)
    old_serial, new_serial = pki.serial("a"), pki.serial("renewed")
    assert old_serial != new_serial

    b1 = env.backend("b1")
    certs = [{"certificate": str(site_crt), "key": str(site_key)}] + pki.certs("b")
    s = tlsutil.tls_sluice(env, [b1], pki, tls={"certificates": certs}, workers=2,
                           timeouts={"graceful": GRACEFUL})
    gen1 = s.wait_workers(2)
    assert len(gen1) == 2
    assert serial_and_org(s.port, pki) == (old_serial, None, "a.test")

    before = tlsutil.TlsConn(s.port, pki)
    r = before.request("GET", "/echo?before=1")
    assert r.status == 200, r
    assert int(tlsutil.cert_id(before)[0], 16) == old_serial

    # Renewal in place, then HUP.
    shutil.copy(pki.path("renewed.crt"), site_crt)
    shutil.copy(pki.path("renewed.key"), site_key)
    s.proc.send_signal(signal.SIGHUP)
    assert wait_until(lambda: "reload: generation 2 started" in s.log(), 3.0), s.log()[-2000:]
    assert wait_until(lambda: all("[%d]: graceful stop" % p in s.log() for p in gen1), 3.0), \
        s.log()[-2000:]
    # The connection from before the reload (idle in a draining worker until
    # graceful): its certificate, and an answer.
    r = before.request("GET", "/echo?before=2")
    assert r.status == 200 and r.json()["target"] == "/echo?before=2", r
    assert int(tlsutil.cert_id(before)[0], 16) == old_serial
    before.close()

    gen2 = sorted(wait_until(lambda: len(set(s.workers()) - set(gen1)) == 2 and
                             list(set(s.workers()) - set(gen1)), 3.0) or [])
    assert len(gen2) == 2, (gen1, s.workers())
    for i in range(8):
        got = serial_and_org(s.port, pki)
        assert got == (new_serial, "renewed", "a.test"), (i, got, old_serial, new_serial)
    assert serial_and_org(s.port, pki, host="b.test")[0] == pki.serial("b")
    # The old generation is gone by graceful.
    assert wait_until(lambda: sorted(s.workers()) == gen2, GRACEFUL + 2), (gen2, s.workers())

    # A key that is not a key: refused, logged with the file and the reason.
    site_key.write_text("-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n")
    s.proc.send_signal(signal.SIGHUP)
    assert wait_until(lambda: s.log().count("is invalid; still serving") == 1, 3.0), \
        s.log()[-2000:]
    lines = [ln for ln in s.log().splitlines() if "reload: %s:" % s.conf_path in ln]
    print("\n".join(lines))
    assert any("listeners[0].tls.certificates[0].key" in ln and str(site_key) in ln and
               "cannot load the private key" in ln for ln in lines), "\n".join(lines)
    assert sorted(s.workers()) == gen2
    for i in range(4):
        assert serial_and_org(s.port, pki) == (new_serial, "renewed", "a.test"), i
    r = tlsutil.curl_https(s, pki, "/hello")
    assert r.status == 200, r

    # A key of another certificate: refused too.
    shutil.copy(pki.path("b.key"), site_key)
    s.proc.send_signal(signal.SIGHUP)
    assert wait_until(lambda: s.log().count("is invalid; still serving") == 2, 3.0), \
        s.log()[-2000:]
    lines = [ln for ln in s.log().splitlines() if "reload: %s:" % s.conf_path in ln]
    print("\n".join(lines))
    assert any("listeners[0].tls.certificates[0].key" in ln and str(site_key) in ln and
               "does not match the certificate" in ln for ln in lines), "\n".join(lines)
    assert sorted(s.workers()) == gen2
    assert serial_and_org(s.port, pki) == (new_serial, "renewed", "a.test")
    assert "reload: generation 3" not in s.log()
