"""l00011: log.format = "json": one JSON object per line with every field of the
combined format plus source, times, termination code, request id and, over TLS,
protocol, cipher and SNI. Bytes that are not valid UTF-8 (and quotes,
backslashes, controls) are escaped as \\xHH in both formats, so every line is
valid UTF-8 and parses; valid UTF-8 is kept as it is. A bad format name is a
config error naming the line."""

import json
import socket

import tlsutil
from harness import run_sluice, wait_until


def raw_get(port, target, ua):
    with socket.create_connection(("127.0.0.1", port), timeout=3) as c:
        c.sendall(b"GET " + target + b" HTTP/1.1\r\nHost: a\r\nUser-Agent: " + ua +
                  b"\r\nConnection: close\r\n\r\n")
        c.settimeout(3)
        data = b""
        while True:
            d = c.recv(65536)
            if not d:
                break
            data += d
    return data


def test_json_lines(env, tmp_path):
    a = env.backend("a")
    access = env.dir / "access.log"
    s = env.sluice([a], workers=1, extra={
        "log": {"error": "stderr", "level": "info", "access": str(access), "format": "json"}})
    r = s.get("/echo?x=1", headers=[("Referer", "http://r.test/"), ("User-Agent", "ua/1")])
    assert r.status == 200
    rid = r.header("x-request-id")
    # A User-Agent with a quote, a backslash, valid UTF-8 and a bare 0xff byte.
    resp = raw_get(s.port, b"/echo?y=%C3%A9", b'q"b\\ \xc3\xa9 \xff end')
    assert resp.startswith(b"HTTP/1.1 200"), resp[:100]
    assert s.get("/status?code=404").status == 404

    assert wait_until(lambda: access.exists() and len(access.read_bytes().splitlines()) >= 3, 3)
    raw = access.read_bytes()
    lines = [json.loads(ln.decode("utf-8")) for ln in raw.splitlines()]   # strict UTF-8
    first = lines[0]
    assert first["remote_addr"] == "127.0.0.1"
    assert first["request"] == "GET /echo?x=1 HTTP/1.1"
    assert first["status"] == 200 and first["bytes_sent"] > 0
    assert first["referer"] == "http://r.test/" and first["user_agent"] == "ua/1"
    assert first["source"] == "a" and first["upstream_status"] == 200
    assert first["term"] == "--" and first["request_id"] == rid
    assert isinstance(first["request_time"], float) and isinstance(first["upstream_time"], float)
    assert first["time"].endswith("Z") and "T" in first["time"]
    assert "tls" not in first
    second = lines[1]
    assert second["user_agent"] == 'q\\x22b\\x5C \u00e9 \\xFF end', second["user_agent"]
    assert second["referer"] is None
    assert lines[2]["status"] == 404 and lines[2]["upstream_status"] == 404


def test_json_tls_fields_and_combined_escaping(env, tmp_path):
    pki = tlsutil.Pki(tmp_path)
    a = env.backend("a")
    access = env.dir / "access.log"
    s = tlsutil.tls_sluice(env, [a], pki, workers=1, extra={
        "log": {"error": "stderr", "level": "info", "access": str(access), "format": "json"}})
    r = tlsutil.curl_https(s, pki, "/echo")
    assert r.status == 200, r
    assert wait_until(lambda: access.exists() and access.read_text().strip(), 3)
    j = json.loads(access.read_text().splitlines()[0])
    assert j["tls"]["protocol"] == "TLSv1.3" and j["tls"]["sni"] == "a.test"
    assert j["tls"]["cipher"].startswith("TLS_")

    # The combined format escapes the same way and stays valid UTF-8.
    a2 = env.backend("a2")
    access2 = env.dir / "access2.log"
    s2 = env.sluice([a2], workers=1, name="s2", extra={
        "log": {"error": "stderr", "level": "info", "access": str(access2)}})
    resp = raw_get(s2.port, b"/echo", b'q"b\\ \xc3\xa9 \xff end')
    assert resp.startswith(b"HTTP/1.1 200")
    assert wait_until(lambda: access2.exists() and access2.read_bytes().strip(), 3)
    line = access2.read_bytes().decode("utf-8")
    assert '"q\\x22b\\x5C \u00e9 \\xFF end"' in line, line


def test_bad_format(env, tmp_path):
    p = tmp_path / "f.conf"
    a = env.backend("a")
    s = env.sluice([a], start=False, extra={"log": {"error": "stderr", "access": "off",
                                                    "format": "xml"}})
    rc, out = run_sluice(["-t", "-c", str(s.conf_path)])
    assert rc != 0 and "log.format: expected \"combined\" or \"json\"" in out, out
    assert p is not None
