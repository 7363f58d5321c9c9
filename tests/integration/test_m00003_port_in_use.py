"""m00003: the listener's port is taken: sluice exits 1 with one line naming the address."""

import socket
import subprocess


def test_port_in_use(env):
    a = env.backend("a")
    hog = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    hog.bind(("127.0.0.1", 0))
    hog.listen(8)
    port = hog.getsockname()[1]
    try:
        s = env.sluice([a], port=port, start=False)
        s.start(wait=False)
        try:
            rc = s.proc.wait(5)
        except subprocess.TimeoutExpired:
            rc = None
        out = s.log()
        assert rc == 1, (rc, out)
        addr = "127.0.0.1:%d" % port
        lines = [ln for ln in out.splitlines() if addr in ln]
        assert len(lines) == 1, out
    finally:
        hog.close()
