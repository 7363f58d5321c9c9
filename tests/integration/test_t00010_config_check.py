"""t00010: `sluice -t` checks a TLS listener's files: an unreadable certificate,
a key that is not a key, a key of another certificate and a bad cipher list
are each reported with the file, the line and the reason; a good
configuration passes."""

import re

from harness import lc, run_sluice

import tlsutil


def conf(tmp_path, tls, source_extra=""):
    p = tmp_path / "t.conf"
    p.write_text('workers = 1;\nshm = "/sluice-test-t00010";\n'
                 'listeners = ( { address = "127.0.0.1:1";\n'
                 '  tls = %s; } );\n'
                 'sources = ( { name = "b"; address = "127.0.0.1:2";%s } );\n'
                 'routes = ( { sources = [ "b" ]; } );\n' % (lc(tls), source_extra))
    return p


def line_of(p, needle):
    for i, ln in enumerate(p.read_text().splitlines(), 1):
        if needle in ln:
            return i
    raise AssertionError(needle)


def test_config_check_tls(tmp_path):
    pki = tlsutil.Pki(tmp_path)
    good = {"certificates": pki.certs()}
    p = conf(tmp_path, good)
    rc, out = run_sluice(["-t", "-c", str(p)])
    assert rc == 0, out

    bad = tmp_path / "bad.key"
    bad.write_text("this is not a key\n")
    p = conf(tmp_path, {"certificates": [{"certificate": pki.path("a.crt"),
                                          "key": str(bad)}]})
    rc, out = run_sluice(["-t", "-c", str(p)])
    assert rc != 0, out
    want = "%s:%d: listeners[0].tls.certificates[0].key: %s: cannot load the private key" % (
        p, line_of(p, "bad.key"), bad)
    assert want in out, out

    p = conf(tmp_path, {"certificates": [{"certificate": pki.path("a.crt"),
                                          "key": pki.path("b.key")}]})
    rc, out = run_sluice(["-t", "-c", str(p)])
    assert rc != 0, out
    assert re.search(r":%d: listeners\[0\]\.tls\.certificates\[0\]\.key: .*b\.key: does not "
                     r"match the certificate" % line_of(p, "b.key"), out), out

    p = conf(tmp_path, {"certificates": [{"certificate": str(tmp_path / "missing.crt"),
                                          "key": pki.path("a.key")}]})
    rc, out = run_sluice(["-t", "-c", str(p)])
    assert rc != 0, out
    assert "certificates[0].certificate: %s: cannot read: No such file" % (
        tmp_path / "missing.crt") in out, out

    p = conf(tmp_path, dict(good, ciphers="NOTACIPHER"))
    rc, out = run_sluice(["-t", "-c", str(p)])
    assert rc != 0, out
    assert ":%d: listeners[0].tls.ciphers: no usable cipher" % line_of(p, "NOTACIPHER") in out

    p = conf(tmp_path, dict(good, alpn=["h2"]))
    rc, out = run_sluice(["-t", "-c", str(p)])
    assert rc != 0 and "listeners[0].tls.alpn[0]" in out, out

    p = conf(tmp_path, dict(good, session_tickets=False))
    rc, out = run_sluice(["-t", "-c", str(p)])
    assert rc == 0, out
    p = conf(tmp_path, dict(good, session_tickets=True, ticket_rotate=600))
    rc, out = run_sluice(["-t", "-c", str(p)])
    assert rc == 0, out
    p = conf(tmp_path, dict(good, ticket_rotate=0))
    rc, out = run_sluice(["-t", "-c", str(p)])
    assert rc != 0 and ":%d: listeners[0].tls.ticket_rotate: expected" % line_of(
        p, "ticket_rotate") in out, out

    p = conf(tmp_path, good, ' tls = { verify = true; };')
    rc, out = run_sluice(["-t", "-c", str(p)])
    assert rc == 0, out
    p = conf(tmp_path, good, ' tls = { ca = "/nonexistent/ca.pem"; };')
    rc, out = run_sluice(["-t", "-c", str(p)])
    assert rc != 0, out
    assert "sources[0].tls.ca: /nonexistent/ca.pem: cannot load CA certificates" in out, out

    p = conf(tmp_path, {"min_version": "TLSv1.2"})
    rc, out = run_sluice(["-t", "-c", str(p)])
    assert rc != 0 and "listeners[0].tls.certificates: missing" in out, out
