"""t00006: TLS 1.0 and 1.1 are refused by the server (the client is told to
allow them, so a refusal is the server's protocol_version alert), a cipher
outside Mozilla "intermediate" (RSA key exchange, CBC) is refused, TLS 1.2
with an intermediate cipher works, and min_version = "TLSv1.3" refuses 1.2."""

import tlsutil

LOW = "DEFAULT:@SECLEVEL=0"


def test_old_protocols_and_weak_ciphers_refused(env, tmp_path):
    pki = tlsutil.Pki(tmp_path)
    b1 = env.backend("b1")
    s = tlsutil.tls_sluice(env, [b1], pki)

    for flag in ("-tls1", "-tls1_1"):
        rc, out = tlsutil.s_client(s.port, flag, "-cipher", LOW, servername="a.test")
        assert rc != 0, out
        assert "alert protocol version" in out, out
    rc, out = tlsutil.s_client(s.port, "-tls1_2", "-cipher", "AES128-SHA:@SECLEVEL=0",
                               servername="a.test")
    assert rc != 0, out
    assert "handshake failure" in out, out
    rc, out = tlsutil.s_client(s.port, "-tls1_2", "-cipher", "ECDHE-RSA-AES128-GCM-SHA256",
                               servername="a.test", ca=pki.ca)
    assert rc == 0, out
    assert "ECDHE-RSA-AES128-GCM-SHA256" in out, out
    assert "Compression: NONE" in out, out


def test_min_version_tls13(env, tmp_path):
    pki = tlsutil.Pki(tmp_path)
    b1 = env.backend("b1")
    s = tlsutil.tls_sluice(env, [b1], pki, tls={"min_version": "TLSv1.3"})

    rc, out = tlsutil.s_client(s.port, "-tls1_2", servername="a.test")
    assert rc != 0, out
    rc, out = tlsutil.s_client(s.port, "-tls1_3", servername="a.test", ca=pki.ca)
    assert rc == 0, out
