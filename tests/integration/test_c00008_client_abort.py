"""c00008: clients that vanish mid-response or mid-upload do not disturb the proxy:
no worker dies, and the next requests are served."""

import socket
import struct

from harness import HttpConn


def test_client_aborts(env):
    a = env.backend("a")
    s = env.sluice([a], workers=2)
    workers = sorted(s.wait_workers(2))

    for i in range(5):
        # Abort a 20 MB download after the first 64 KiB.
        c = HttpConn(s.port)
        c.send(HttpConn.build("GET", "/bytes?n=20000000&seed=%d" % i, host="x"))
        got = 0
        while got < 65536:
            d = c.sock.recv(65536)
            assert d, "proxy closed early"
            got += len(d)
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        c.close()       # RST
        # Abort an upload half-way.
        c = HttpConn(s.port)
        c.send(b"POST /sha256 HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n"
               + b"z" * 300000)
        c.close()

    for i in range(10):
        assert s.get("/echo?i=%d" % i).json()["target"] == "/echo?i=%d" % i
    assert sorted(s.workers()) == workers, "a worker died"
