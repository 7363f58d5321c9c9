"""s00014: the health checker probes all sources at once, each on its own
interval. 50 sources on loopback: 44 black holes (22 accept and never answer,
22 listen with a backlog that is never accepted), 2 that flood an endless
response head, and 4 real backends; health timeout 1 s, interval 1 s, fall 1.
Within 3 s of the start every black hole is down (timeout) and every flooder
is down (malformed), while the real backends stay up and have been probed at
least twice, so a silent source delays no other. A checker that probes one
source after another needs about 44 s for one round and fails this."""

import selectors
import socket
import threading
import time

from harness import free_port, source_stat, stat_json, wait_until

HOLDERS, BACKLOGS, FLOODERS, REALS = 22, 22, 2, 4
LIMIT = 3.0     # seconds after the start for every verdict


class BlackHoles:
    """Loopback listeners served by one thread: holders accept and keep every
    connection without a byte of answer; flooders accept and send an endless
    response head; backlog listeners are never accepted from."""

    def __init__(self):
        self.sel = selectors.DefaultSelector()
        self.socks = []
        self.stop = threading.Event()
        self.holders = [self._listen("hold") for _ in range(HOLDERS)]
        self.flooders = [self._listen("flood") for _ in range(FLOODERS)]
        self.backlogs = [self._listen(None, backlog=1) for _ in range(BACKLOGS)]
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _listen(self, kind, backlog=64):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind(("127.0.0.1", 0))
        s.listen(backlog)
        s.setblocking(False)
        self.socks.append(s)
        if kind is not None:
            self.sel.register(s, selectors.EVENT_READ, ("listen", kind))
        return "127.0.0.1:%d" % s.getsockname()[1]

    def _run(self):
        junk = b"HTTP/1.1 200 OK\r\n" + b"X-Endless: " + b"a" * 8192
        while not self.stop.is_set():
            for key, ev in self.sel.select(timeout=0.1):
                what, kind = key.data
                if what == "listen":
                    try:
                        c, _ = key.fileobj.accept()
                    except OSError:
                        continue
                    c.setblocking(False)
                    self.socks.append(c)
                    if kind == "flood":
                        self.sel.register(c, selectors.EVENT_WRITE, ("flood", None))
                    continue
                try:
                    key.fileobj.send(junk)
                except OSError:
                    self.sel.unregister(key.fileobj)
                    key.fileobj.close()

    def close(self):
        self.stop.set()
        self.thread.join(2)
        for s in self.socks:
            try:
                s.close()
            except OSError:
                pass
        self.sel.close()


def test_health_checks_run_in_parallel(env):
    holes = BlackHoles()
    try:
        reals = [env.backend("real%d" % i) for i in range(REALS)]
        srcs = ([("hold%02d" % i, a) for i, a in enumerate(holes.holders)] +
                [("backlog%02d" % i, a) for i, a in enumerate(holes.backlogs)] +
                [("flood%d" % i, a) for i, a in enumerate(holes.flooders)] +
                [(b.name, b.address) for b in reals])   # last: a serial checker reaches them last
        assert len(srcs) == 50
        port = free_port()
        conf = env.config(port, srcs, [{"host": "*", "path": "/",
                                        "sources": [n for n, _ in srcs]}], workers=1,
                          extra={"health": {"path": "/__health", "interval": 1, "timeout": 1,
                                            "rise": 1, "fall": 1}})
        t0 = time.monotonic()
        s = env.sluice(conf_text=conf, port=port)
        bad = {n for n, _ in srcs if not n.startswith("real")}

        def settled():
            d = {x["name"]: x for x in stat_json(s)["sources"]}
            return (all(d[n]["health"] == "down" for n in bad) and
                    all(d[b.name]["check"]["checks"] >= 2 for b in reals)) and d
        d = wait_until(settled, LIMIT - (time.monotonic() - t0), interval=0.05)
        took = time.monotonic() - t0
        if not d:
            d = {x["name"]: x for x in stat_json(s)["sources"]}
            still = sorted(n for n in bad if d[n]["health"] != "down")
            probed = {b.name: d[b.name]["check"]["checks"] for b in reals}
            raise AssertionError("%.1f s after start: %d of %d bad sources not down yet "
                                 "(%s ...), real backends probed %r"
                                 % (took, len(still), len(bad), ", ".join(still[:5]), probed))
        print("all %d bad sources down, real ones probed twice, %.2f s after start"
              % (len(bad), took))
        for n in bad:
            want = "malformed" if n.startswith("flood") else "timeout"
            assert d[n]["reason"] == want, d[n]
        for b in reals:
            x = d[b.name]
            assert x["health"] == "up" and x["check"]["state"] == "up", x
            assert x["check"]["status"] == 200, x
        # The black holes are probed again each second, without piling up.
        n0 = d["hold00"]["check"]["checks"]
        assert wait_until(lambda: source_stat(stat_json(s), "hold00")["check"]["checks"] > n0,
                          2.0)
        for i in range(4):
            r = s.get("/after/%d" % i)
            assert r.status == 200 and r.header("X-Backend", "").startswith("real"), r
    finally:
        holes.close()
