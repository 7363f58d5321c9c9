"""t00007: ALPN: a client offering http/1.1 gets it; a client offering only h2
gets a no_application_protocol alert at once (not a hang), and the
connection is closed."""

import time

import tlsutil


def test_alpn(env, tmp_path):
    pki = tlsutil.Pki(tmp_path)
    b1 = env.backend("b1")
    s = tlsutil.tls_sluice(env, [b1], pki)

    rc, out = tlsutil.s_client(s.port, "-alpn", "h2,http/1.1", servername="a.test", ca=pki.ca)
    assert rc == 0, out
    assert "ALPN protocol: http/1.1" in out, out

    t0 = time.monotonic()
    rc, out = tlsutil.s_client(s.port, "-alpn", "h2", servername="a.test", timeout=5)
    assert time.monotonic() - t0 < 3
    assert rc != 0, out
    assert "no application protocol" in out, out
