"""h00014: a slow upload is not cut by client_header (the head arrived in time; body
reads have their own idle timeout): POST with Content-Length 2000 sent 100 bytes every
0.2 s (4 s in all) with client_header = 1 gets 200 and the right SHA-256; chunked too."""

import time

from harness import HttpConn, gen_bytes, sha256_hex


def test_slow_upload_content_length(env):
    a = env.backend("a")
    s = env.sluice([a], workers=1, timeouts={"client_header": 1, "client_keepalive": 1,
                                             "backend_response": 5})
    body = gen_bytes(2000, "slow")
    with HttpConn(s.port, timeout=6) as c:
        c.send(b"POST /sha256 HTTP/1.1\r\nHost: x\r\nContent-Length: 2000\r\n\r\n")
        for i in range(0, 2000, 100):
            time.sleep(0.2)
            c.send(body[i:i + 100])
        r = c.read_response("POST")
        assert r.status == 200, r
        assert r.body.decode() == sha256_hex(body)


def test_slow_upload_chunked(env):
    a = env.backend("a")
    s = env.sluice([a], workers=1, timeouts={"client_header": 1, "client_keepalive": 1,
                                             "backend_response": 5})
    body = gen_bytes(1500, "slowc")
    with HttpConn(s.port, timeout=6) as c:
        c.send(b"POST /sha256 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
        for i in range(0, 1500, 100):
            time.sleep(0.2)
            c.send(b"64\r\n" + body[i:i + 100] + b"\r\n")
        c.send(b"0\r\n\r\n")
        r = c.read_response("POST")
        assert r.status == 200, r
        assert r.body.decode() == sha256_hex(body)
