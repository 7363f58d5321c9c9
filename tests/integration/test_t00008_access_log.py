"""t00008: the access log line of a request over TLS ends with
tls=<protocol>/<cipher>/<sni>; a plain listener's lines have no tls= field."""

import time

from harness import curl, wait_until

import tlsutil


def test_access_log_tls(env, tmp_path):
    pki = tlsutil.Pki(tmp_path)
    b1 = env.backend("b1")
    access = tmp_path / "access.log"
    plain = tlsutil.harness.free_port()

    def listeners(port, group):
        return [{"address": "127.0.0.1:%d" % port, "tls": group},
                {"address": "127.0.0.1:%d" % plain}]

    s = tlsutil.tls_sluice(env, [b1], pki, listeners=listeners, extra={
        "log": {"error": "stderr", "level": "info", "access": str(access)}})

    r = tlsutil.curl_https(s, pki, "/hello?tls13", host="b.test")
    assert r.status == 200, r
    r = tlsutil.curl_https(s, pki, "/hello?tls12", "--tls-max", "1.2")
    assert r.status == 200, r
    r = curl("http://127.0.0.1:%d/hello?plain" % plain)
    assert r.status == 200, r

    def lines():
        return access.read_text().splitlines() if access.exists() else []

    assert wait_until(lambda: len(lines()) >= 3, 3), lines()
    time.sleep(0.1)
    by = {q: ln for ln in lines() for q in ("tls13", "tls12", "plain") if q in ln}
    assert by["tls13"].endswith(" tls=TLSv1.3/TLS_AES_256_GCM_SHA384/b.test") or \
        " tls=TLSv1.3/" in by["tls13"] and by["tls13"].endswith("/b.test"), by
    assert " tls=TLSv1.2/ECDHE-RSA-" in by["tls12"] and by["tls12"].endswith("/a.test"), by
    assert "tls=" not in by["plain"], by
