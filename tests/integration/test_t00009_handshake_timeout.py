"""t00009: a client that connects to a TLS listener and never completes the
handshake (silent, or a partial ClientHello) is closed after client_header,
without a response; a real client still gets through meanwhile."""

import socket
import time

import tlsutil


def closed_within(sock, limit):
    sock.settimeout(limit)
    t0 = time.monotonic()
    try:
        data = sock.recv(4096)
    except socket.timeout:
        return None
    except ConnectionResetError:
        data = b""
    return (time.monotonic() - t0, data)


def test_handshake_bounded_by_client_header(env, tmp_path):
    pki = tlsutil.Pki(tmp_path)
    b1 = env.backend("b1")
    s = tlsutil.tls_sluice(env, [b1], pki, timeouts={"client_header": 1})

    silent = socket.create_connection(("127.0.0.1", s.port))
    partial = socket.create_connection(("127.0.0.1", s.port))
    # A TLS record header announcing 512 bytes of handshake, then nothing.
    partial.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")
    r = tlsutil.curl_https(s, pki, "/hello")
    assert r.status == 200, r
    for sock in (silent, partial):
        got = closed_within(sock, 4)
        assert got is not None, "not closed after client_header"
        assert got[1] == b"", got
        sock.close()
    assert b1.stats()["requests"] == 1
