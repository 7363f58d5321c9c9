"""t00015: a TLS scanner's view of a sluice listener (sslscan, Debian package
`sslscan`, offline, ~1 s): scanned with SNI a.test (RSA) and b.test (ECDSA),
its XML report shows no SSLv2/SSLv3/TLS 1.0/TLS 1.1, only ciphers of Mozilla
"intermediate" (TLS 1.2 list, TLS 1.3 suites), TLS 1.2 and 1.3 enabled, no
insecure renegotiation (sluice offers none), and every heartbleed probe not
vulnerable. This sslscan is built on an OpenSSL without compression, so its
report has no compression verdict: a hand-made TLS 1.2 ClientHello offering
DEFLATE and null checks that the ServerHello picks null.

The verdict function is first run against `openssl s_server` opened wide
(TLS 1.0 up, every cipher at security level 0), where it must find the old
protocols and the weak ciphers: the checks can fail.

The test installs nothing: without sslscan on PATH it fails (DEB_TEST)."""

import os
import shutil
import socket
import struct
import subprocess
import time
import xml.etree.ElementTree as ET

import pytest

from harness import free_port, wait_until

import tlsutil

# Mozilla "intermediate" v5.7, OpenSSL names.
INTERMEDIATE_12 = {
    "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256",
    "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-GCM-SHA384",
    "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305",
    "DHE-RSA-AES128-GCM-SHA256", "DHE-RSA-AES256-GCM-SHA384", "DHE-RSA-CHACHA20-POLY1305",
}
INTERMEDIATE_13 = {"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384",
                   "TLS_CHACHA20_POLY1305_SHA256"}
REFUSED = {("ssl", "2"), ("ssl", "3"), ("tls", "1.0"), ("tls", "1.1")}


def sslscan(port, sni):
    exe = shutil.which("sslscan")
    assert exe, ("sslscan is not installed: add the Debian package sslscan to DEB_TEST "
                 "(apt-get install sslscan)")
    p = subprocess.run([exe, "--xml=-", "--no-colour", "--sni-name=%s" % sni,
                        "127.0.0.1:%d" % port], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=60)
    assert p.returncode == 0, (p.returncode, p.stderr.decode(errors="replace"))
    out = p.stdout.decode(errors="replace")
    doc = ET.fromstring(out[out.index("<?xml"):])
    t = doc.find("ssltest")
    assert t is not None, out
    return t, out


def verdict(t):
    """(problems, facts) from one <ssltest> element."""
    problems = []
    protos = {(e.get("type"), e.get("version")): e.get("enabled")
              for e in t.findall("protocol")}
    for want in REFUSED | {("tls", "1.2"), ("tls", "1.3")}:
        if want not in protos:
            problems.append("no verdict on %s %s" % want)
    for k in sorted(REFUSED):
        if protos.get(k) == "1":
            problems.append("%s %s enabled" % k)
    ciphers = [(e.get("sslversion"), e.get("cipher")) for e in t.findall("cipher")]
    for v, c in ciphers:
        if v == "TLSv1.3" and c not in INTERMEDIATE_13 or \
           v == "TLSv1.2" and c not in INTERMEDIATE_12 or v not in ("TLSv1.2", "TLSv1.3"):
            problems.append("cipher %s %s outside intermediate" % (v, c))
    reneg = t.findall("renegotiation")
    if len(reneg) != 1:
        problems.append("no renegotiation verdict")
    elif reneg[0].get("supported") == "1" and reneg[0].get("secure") != "1":
        problems.append("insecure renegotiation")
    hb = t.findall("heartbleed")
    if not hb:
        problems.append("no heartbleed verdict")
    for e in hb:
        if e.get("vulnerable") != "0":
            problems.append("heartbleed %s vulnerable=%s" % (e.get("sslversion"),
                                                              e.get("vulnerable")))
    for e in t.findall("compression"):
        if e.get("supported") != "0":
            problems.append("compression supported")
    facts = {"protocols": protos, "ciphers": ciphers,
             "reneg": [dict(e.attrib) for e in reneg],
             "compression": [dict(e.attrib) for e in t.findall("compression")]}
    return problems, facts


# -- a TLS 1.2 ClientHello by hand, for the compression method ------------------

def client_hello(sni, compressions=(1, 0)):
    suites = [0xC02F, 0xC030, 0xC02B, 0xC02C, 0xCCA8, 0xCCA9, 0x009E, 0x009F, 0x00FF]
    name = sni.encode()
    sni_ext = struct.pack("!HBH", len(name) + 3, 0, len(name)) + name
    groups = struct.pack("!H3H", 6, 0x001D, 0x0017, 0x0018)
    sigs = [0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601]
    sig_ext = struct.pack("!H", 2 * len(sigs)) + b"".join(struct.pack("!H", x) for x in sigs)
    exts = b"".join(struct.pack("!HH", typ, len(body)) + body for typ, body in (
        (0x0000, sni_ext), (0x000A, groups), (0x000B, b"\x01\x00"), (0x000D, sig_ext),
        (0x0017, b"")))
    body = (b"\x03\x03" + os.urandom(32) + b"\x00" +
            struct.pack("!H", 2 * len(suites)) + b"".join(struct.pack("!H", x) for x in suites) +
            bytes([len(compressions)] + list(compressions)) +
            struct.pack("!H", len(exts)) + exts)
    hs = b"\x01" + struct.pack("!I", len(body))[1:] + body
    return b"\x16\x03\x01" + struct.pack("!H", len(hs)) + hs


def server_hello(port, sni):
    """Sends client_hello(); returns ("hello", compression, extension types) or
    ("alert", level, description) or ("other", first bytes)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(client_hello(sni))
        data = b""
        while len(data) < 5 or len(data) < 5 + struct.unpack("!H", data[3:5])[0]:
            d = s.recv(65536)
            if not d:
                break
            data += d
    if len(data) >= 7 and data[0] == 0x15:
        return ("alert", data[5], data[6])
    if len(data) < 9 or data[0] != 0x16 or data[5] != 0x02:
        return ("other", data[:16])
    b = data[9:]
    sid = b[34]
    comp = b[35 + sid + 2]
    rest = b[35 + sid + 3:]
    types = []
    if len(rest) >= 2:
        total = struct.unpack("!H", rest[:2])[0]
        e = rest[2:2 + total]
        while len(e) >= 4:
            typ, n = struct.unpack("!HH", e[:4])
            types.append(typ)
            e = e[4 + n:]
    return ("hello", comp, types)


@pytest.mark.limit(40)
def test_sslscan_control_server_flagged(tmp_path):
    """The verdict finds what it looks for on a server that has it."""
    pki = tlsutil.Pki(tmp_path)
    port = free_port()
    p = subprocess.Popen(["openssl", "s_server", "-accept", "127.0.0.1:%d" % port,
                          "-cert", pki.path("a.crt"), "-key", pki.path("a.key"),
                          "-cipher", "ALL:@SECLEVEL=0", "-min_protocol", "TLSv1", "-www",
                          "-quiet"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    try:
        assert wait_until(lambda: p.poll() is not None or
                          tlsutil.harness.can_connect(port), 5), "s_server did not start"
        assert p.poll() is None
        t, out = sslscan(port, "a.test")
        problems, facts = verdict(t)
        assert "tls 1.0 enabled" in problems and "tls 1.1 enabled" in problems, (problems, out)
        assert any(x.startswith("cipher TLSv1.2 ") for x in problems), (problems, out)
    finally:
        p.kill()
        p.wait(5)


@pytest.mark.limit(40)
def test_sslscan_sluice_listener(env, tmp_path):
    pki = tlsutil.Pki(tmp_path)
    b1 = env.backend("b1")
    s = tlsutil.tls_sluice(env, [b1], pki)

    for sni, kx in (("a.test", "RSA"), ("b.test", "ECDSA")):
        t0 = time.monotonic()
        t, out = sslscan(s.port, sni)
        problems, facts = verdict(t)
        print(sni, "%.1fs" % (time.monotonic() - t0), facts)
        assert problems == [], (sni, problems, out)
        assert facts["protocols"][("tls", "1.2")] == "1", out
        assert facts["protocols"][("tls", "1.3")] == "1", out
        v12 = {c for v, c in facts["ciphers"] if v == "TLSv1.2"}
        assert v12 and all(("-%s-" % kx) in c for c in v12 if c.startswith("ECDHE")), (sni, v12)
        assert {c for v, c in facts["ciphers"] if v == "TLSv1.3"}, out
        # sluice does no renegotiation at all (README: "no renegotiation").
        assert facts["reneg"][0]["supported"] == "0", facts["reneg"]

    # Compression: offered DEFLATE then null, the server picks null.
    for sni in ("a.test", "b.test"):
        got = server_hello(s.port, sni)
        assert got[0] == "hello", got
        assert got[1] == 0, "compression method %d chosen" % got[1]
        assert 0xFF01 in got[2], "no renegotiation_info in the ServerHello %r" % (got,)

    # Still serving after the scans.
    r = tlsutil.curl_https(s, pki, "/hello")
    assert r.status == 200, r
