"""t00016: client-initiated renegotiation is refused. `openssl s_client -tls1_2`
gets a response, then is told `R` (SSL_renegotiate): its message trace shows
the second ClientHello answered by the server's no_renegotiation alert, never a
second ServerHello or Finished, so no renegotiated session exists (s_client
then gives up on the connection). The one worker keeps serving: a keep-alive
TLS connection opened before still answers, new connections too, and the
worker's pid did not change."""

import re
import subprocess
import time

import pytest

from harness import wait_until

import tlsutil


def count(pattern, text):
    return len(re.findall(pattern, text, re.M))


@pytest.mark.limit(20)
def test_client_renegotiation_refused(env, tmp_path):
    pki = tlsutil.Pki(tmp_path)
    b1 = env.backend("b1")
    s = tlsutil.tls_sluice(env, [b1], pki, workers=1)
    workers = s.wait_workers(1)
    assert len(workers) == 1

    bystander = tlsutil.TlsConn(s.port, pki)
    r = bystander.request("GET", "/echo?by=1")
    assert r.status == 200, r

    outf = tmp_path / "s_client.out"
    with open(outf, "wb") as out:
        p = subprocess.Popen(["openssl", "s_client", "-connect", "127.0.0.1:%d" % s.port,
                              "-servername", "a.test", "-CAfile", pki.ca, "-tls1_2", "-msg",
                              "-crlf"], stdin=subprocess.PIPE, stdout=out,
                             stderr=subprocess.STDOUT)

    def text():
        return outf.read_bytes().decode(errors="replace")

    try:
        p.stdin.write(b"GET /echo?n=1 HTTP/1.1\nHost: a.test\n\n")
        p.stdin.flush()
        assert wait_until(lambda: '"target": "/echo?n=1"' in text(), 5), text()[-3000:]
        p.stdin.write(b"R\n")
        p.stdin.flush()
        # The refusal, or the end of the connection, comes at once.
        wait_until(lambda: p.poll() is not None or "no_renegotiation" in text(), 3)
        time.sleep(0.3)
        try:
            p.stdin.write(b"GET /echo?n=2 HTTP/1.1\nHost: a.test\n\n")
            p.stdin.flush()
            time.sleep(0.5)
        except OSError:
            pass            # s_client already gave up
    finally:
        try:
            p.stdin.close()
        except OSError:
            pass
        try:
            p.wait(5)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(5)
    out = text()
    assert "RENEGOTIATING" in out, out[-3000:]
    assert count(r"^>>> .*Handshake.*, ClientHello$", out) == 2, out[-3000:]
    # Not renegotiated: one ServerHello, one server Finished, and the refusal.
    assert count(r"^<<< .*Handshake.*, ServerHello$", out) == 1, out[-3000:]
    assert count(r"^<<< .*Handshake.*, Finished$", out) == 1, out[-3000:]
    assert re.search(r"^<<< .*Alert.*no_renegotiation$", out, re.M) or \
        '"target": "/echo?n=2"' not in out, out[-3000:]

    # The worker serves on.
    r = bystander.request("GET", "/echo?by=2")
    assert r.status == 200 and r.json()["target"] == "/echo?by=2", r
    bystander.close()
    r = tlsutil.curl_https(s, pki, "/hello", "--tls-max", "1.2")
    assert r.status == 200, r
    assert s.workers() == workers, (s.workers(), workers)
    assert s.proc.poll() is None
