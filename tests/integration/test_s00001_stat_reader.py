"""s00001: sluice-stat against a segment written here byte by byte after the
golden layout of tests/unit/shm/test_layout.c (so this is also a second,
independent reading of the ABI): the table, --json, --prometheus (checked by
a parser of the text format), -w, and the refusals (no segment, another
layout version), and the max_conns counts of layout 4.0 (source
connections and queue, the routes of the current configuration with their
queues). Every test fails (never skips) when the sluice-stat binary
is missing: $SLUICE_STAT_BIN, else $SLUICE_STAT, else next to the sluice binary."""

import json
import os
import re
import signal
import struct
import subprocess
import time
from pathlib import Path

import pytest

from harness import sluice_bin

STAT = (os.environ.get("SLUICE_STAT_BIN") or os.environ.get("SLUICE_STAT")
        or str(Path(sluice_bin()).parent / "sluice-stat"))


def need_stat():
    assert os.access(STAT, os.X_OK), "no sluice-stat binary at %s (run make?)" % STAT


# Golden layout 4.0 (shm/layout.h; tests/unit/shm/test_layout.c).
MAGIC = 0x3130454349554C53
VER_MAJOR = 4
HDR, WORKER, WSRC, SOURCE, ROUTE, WROUTE = 256, 448, 1216, 384, 768, 64
HIST_BUCKETS = 114
MW, MS, MR = 3, 4, 4        # route slots: two halves of 2 (master/spawn.c)


def bucket(us):
    """shm_hist_bucket(): log-linear, 4 sub-buckets per power of two."""
    if us == 0:
        return 0
    if us >= 1 << 28:
        return HIST_BUCKETS - 1
    k = us.bit_length() - 1
    return 1 + k * 4 + (((us - (1 << k)) * 4) >> k)


class Segment:
    """A segment in /dev/shm, as a master would have filled it."""

    def __init__(self, name):
        self.name = name
        self.path = "/dev/shm" + name
        self.off_workers = HDR
        self.off_wsrc = self.off_workers + MW * WORKER
        self.off_sources = self.off_wsrc + MW * MS * WSRC
        self.off_routes = self.off_sources + MS * SOURCE
        self.off_wroute = self.off_routes + MR * ROUTE
        self.size = self.off_wroute + MW * MR * WROUTE
        self.buf = bytearray(self.size)

    def put(self, off, fmt, *v):
        struct.pack_into("<" + fmt, self.buf, off, *v)

    def header(self, ver_major=VER_MAJOR, nworkers=2, nsources=3):
        self.put(0, "QHHIQQiIQQ", MAGIC, ver_major, 0, HDR, self.size, 2, os.getpid(), 1,
                 int(time.time()), int(time.monotonic() * 1000))
        # nroutes: the master's high-water mark (generation 1 used slots 2, 3)
        self.put(56, "IIIIII", nworkers, MW, nsources, MS, MR, MR)
        self.put(80, "QQQQ", self.off_workers, self.off_wsrc, self.off_sources, self.off_routes)
        self.put(112, "IIIIII", WORKER, WSRC, SOURCE, ROUTE, HIST_BUCKETS, 4)
        # master_start (since 1.1): the master's /proc/PID/stat starttime (field 22)
        with open("/proc/self/stat") as f:
            st = f.read()
        self.put(144, "Q", int(st[st.rfind(")") + 2:].split()[19]))
        self.put(152, "QI", self.off_wroute, WROUTE)     # 4.0: per worker/route queues

    def worker(self, w, pid, state, requests, resp):
        o = self.off_workers + w * WORKER
        # a live worker beats (CLOCK_MONOTONIC ms), else the reader calls it stalled
        self.put(o, "iIQ", pid, state, int(time.monotonic() * 1000) if pid else 0)
        self.put(o + 40, "Q", requests)
        self.put(o + 64, "5Q", *resp)

    def source(self, s, name, addr, flags, weight, active, hstate=0, hreason=0):
        o = self.off_sources + s * SOURCE
        self.buf[o:o + len(name)] = name.encode()
        self.buf[o + 64:o + 64 + len(addr)] = addr.encode()
        self.put(o + 192, "II", flags, weight)
        self.put(o + 224, "QII", 2, hstate, hreason)
        self.put(o + 320, "q", active)

    def ends(self, w, cause, n):
        """worker w's ends[cause] (enum shm_end)."""
        self.put(self.off_workers + w * WORKER + 168 + 8 * cause, "Q", n)

    def conns(self, s, max_conns, conns, queued, conns_total):
        """4.0: the max_conns copy and the global counts of source slot s."""
        o = self.off_sources + s * SOURCE
        self.put(o + 268, "I", max_conns)
        self.put(o + 328, "qqQ", conns, queued, conns_total)

    def route(self, r, host, path, flags, balancer, nsources=1):
        o = self.off_routes + r * ROUTE
        self.buf[o:o + len(host)] = host.encode()
        self.buf[o + 128:o + 128 + len(path)] = path.encode()
        self.put(o + 384, "III", 0x1 | flags, balancer, nsources)

    def wroute(self, w, r, queued, total, timeouts, wait_us, max_us):
        self.put(self.off_wroute + (w * MR + r) * WROUTE, "qQQQQ", queued, total, timeouts,
                 wait_us, max_us)

    def wsrc(self, w, s, requests, lat_us):
        o = self.off_wsrc + (w * MS + s) * WSRC
        self.put(o, "Q", requests)
        self.put(o + 16, "Q", requests)                 # resp[1]: 2xx
        self.put(o + 88, "Q", requests * lat_us)        # lat_sum_us
        self.put(o + 128 + 8 * bucket(lat_us), "Q", requests)

    def write(self):
        with open(self.path, "wb") as f:
            f.write(self.buf)

    def remove(self):
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass


WEIRD = 'we"ird\\name'
END_QUEUE = 16                                  # SHM_END_QUEUE, "queue_timeout"
RX = '^/a"\\d+'                                   # a path_regex that needs escaping


@pytest.fixture
def seg():
    s = Segment("/sluice-stat-test-%d" % os.getpid())
    s.header()
    s.worker(0, os.getpid(), 1, 10, (0, 9, 0, 0, 1))
    s.worker(1, 0, 0, 5, (0, 5, 0, 0, 0))          # reaped: counts stay in the sums
    s.source(0, "app1", "127.0.0.1:9001", 0x3, 1, 2)
    s.source(1, WEIRD, "[::1]:9002", 0x3 | 0x4, 2, 0, hstate=1, hreason=1)
    s.source(2, "old", "127.0.0.1:9003", 0x1, 1, 0)  # bound, not in the config
    s.wsrc(0, 0, 7, 1000)
    s.wsrc(1, 0, 3, 1000)
    s.wsrc(0, 1, 2, 300000)
    s.conns(0, 8, 3, 2, 41)                         # app1: max_conns 8
    s.conns(1, 0, 1, 0, 5)                          # no limit: counted all the same
    s.conns(2, 4, 1, 1, 9)                          # "old" is not listed
    # conf_gen 1: the current routes are in slots 2, 3; slot 0 is an older
    # generation's, with counts that must not show
    s.route(0, "stale.example", "/stale", 0, 0)
    s.wroute(0, 0, 1, 99, 9, 99000000, 9000000)
    s.route(2, "*", "/", 0, 0)
    s.route(3, "api.example", RX, 0x2, 1)           # regex, least_conn
    # "/": worker 0 has 10 waits, 8 ended, 2 waiting; worker 1 (reaped, its
    # queued zeroed by the master) 4 ended: 12 ended, 10 s, avg 0.8333 s
    s.wroute(0, 2, 2, 10, 1, 8000000, 2500000)
    s.wroute(1, 2, 0, 4, 2, 2000000, 900000)
    s.wroute(2, 3, 1, 1, 0, 0, 0)                   # one waiting, none ended
    s.ends(0, END_QUEUE, 3)                         # the 3 timeouts' end cause W
    s.write()
    yield s
    s.remove()


def stat(*args, timeout=5):
    need_stat()
    p = subprocess.run([STAT] + list(args), capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def test_json(seg):
    rc, out, err = stat("-n", seg.name, "--json")
    assert rc == 0, err
    d = json.loads(out)
    assert d["totals"]["requests"] == 15
    assert sum(w["requests"] for w in d["workers"]) == 15
    assert [(w["pid"], w["state"]) for w in d["workers"]] == [(os.getpid(), "running"),
                                                               (0, "free")]
    src = {s["name"]: s for s in d["sources"]}
    assert set(src) == {"app1", WEIRD}
    assert src["app1"]["health"] == "up"
    assert src["app1"]["active"] == 2
    assert src["app1"]["requests"] == 10
    assert src["app1"]["responses"]["2xx"] == 10
    assert src["app1"]["latency_ms"]["p50"] == pytest.approx(1.024)
    assert src[WEIRD]["health"] == "down"
    assert src[WEIRD]["reason"] == "connect"
    assert src[WEIRD]["backup"] is True
    assert src[WEIRD]["latency_ms"]["p99"] == pytest.approx(327.68)
    assert d["totals"]["active"] == 2
    assert d["master_alive"] is True
    assert d["totals"]["ends"]["queue_timeout"] == 3
    assert d["workers"][0]["ends"]["queue_timeout"] == 3
    assert (src["app1"]["conns"], src["app1"]["max_conns"], src["app1"]["queued"],
            src["app1"]["conns_total"]) == (3, 8, 2, 41)
    assert (src[WEIRD]["conns"], src[WEIRD]["max_conns"], src[WEIRD]["queued"],
            src[WEIRD]["conns_total"]) == (1, 0, 0, 5)
    assert [(r["host"], r["path"], r["regex"], r["balancer"]) for r in d["routes"]] == \
        [("*", "/", False, "round_robin"), ("api.example", RX, True, "least_conn")]
    r = d["routes"][0]
    assert (r["queued"], r["queue_total"], r["queue_timeouts"], r["queue_waits_ended"]) == \
        (2, 14, 3, 12)
    assert r["queue_wait_seconds_sum"] == pytest.approx(10.0)
    assert r["queue_wait_avg_seconds"] == pytest.approx(10.0 / 12, abs=1e-6)
    assert r["queue_wait_max_seconds"] == pytest.approx(2.5)
    r = d["routes"][1]
    assert (r["queued"], r["queue_total"], r["queue_timeouts"], r["queue_waits_ended"]) == \
        (1, 1, 0, 0)
    assert r["queue_wait_seconds_sum"] == 0 and r["queue_wait_avg_seconds"] == 0
    assert r["queue_wait_max_seconds"] == 0


def test_table(seg):
    rc, out, err = stat("-n", seg.name)
    assert rc == 0, err
    assert re.search(r"^requests 15\b", out, re.M), out
    # ACTIVE, CONNS (/max_conns when set), QUEUED, REQUESTS
    assert re.search(r"^SOURCE\s+HEALTH\s+ACTIVE\s+CONNS\s+QUEUED\s+REQUESTS\s", out, re.M), out
    assert re.search(r"^app1\s+up\s+2\s+3/8\s+2\s+10\b", out, re.M), out
    assert re.search(r"\s+down\s+0\s+1\s+0\s+2\b.*\(connect\)", out), out
    assert "old" not in out
    # the routes of the current configuration, "~" before a regex; waits in ms
    assert re.search(r"^HOST\s+PATH\s+BALANCER\s+QUEUED\s+WAITED\s+TIMEOUTS\s+AVGMS\s+MAXMS$",
                     out, re.M), out
    assert re.search(r"^\*\s+/\s+round_robin\s+2\s+14\s+3\s+833\s+2500$", out, re.M), out
    assert re.search(r"^api\.example\s+~%s\s+least_conn\s+1\s+1\s+0\s+-\s+-$"
                     % re.escape(RX), out, re.M), out
    assert "stale" not in out
    assert re.search(r"^ends ok 0 queue_timeout 3$", out, re.M), out


# --- a parser of the Prometheus text exposition format 0.0.4 ---

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"'
SAMPLE = re.compile(r"^(%s)(?:\{((?:%s)(?:,%s)*)?\})? (\S+)$" % (NAME, LABEL, LABEL))


def unescape(v):
    return re.sub(r"\\(.)", lambda m: {"n": "\n"}.get(m.group(1), m.group(1)), v)


def parse_prom(text):
    """Returns {family: (type, [(name, labels, value)])}; asserts the format rules."""
    fams, helped, seen, current = {}, set(), set(), None
    assert text.endswith("\n")
    for line in text.splitlines():
        if line.startswith("# HELP "):
            name = line.split(" ")[2]
            assert re.fullmatch(NAME, name) and name not in helped, line
            helped.add(name)
        elif line.startswith("# TYPE "):
            _, _, name, typ = line.split(" ")
            assert typ in ("counter", "gauge", "summary", "histogram", "untyped"), line
            assert name not in fams, "TYPE twice: " + line
            assert name in helped, "TYPE before HELP: " + line
            fams[name] = (typ, [])
            current = name
        else:
            m = SAMPLE.match(line)
            assert m, "bad sample line: %r" % line
            name, value = m.group(1), m.group(m.lastindex)
            labels = dict((k, unescape(v)) for k, v in re.findall(LABEL, m.group(2) or ""))
            float(value)                                    # NaN, +Inf are fine
            fam = current
            typ = fams[fam][0]
            ok = name == fam or (typ == "summary" and name in (fam + "_sum", fam + "_count")) \
                or (typ == "histogram" and name in (fam + "_bucket", fam + "_sum", fam + "_count"))
            assert ok, "sample %s outside its family %s" % (name, fam)
            if typ == "counter":
                assert name.endswith("_total") and float(value) >= 0, line
            key = (name, tuple(sorted(labels.items())))
            assert key not in seen, "duplicate sample: " + line
            seen.add(key)
            fams[fam][1].append((name, labels, float(value)))
    return fams


def test_prometheus(seg):
    rc, out, err = stat("-n", seg.name, "--prometheus")
    assert rc == 0, err
    fams = parse_prom(out)
    assert all(f.startswith("sluice_") for f in fams)
    req = {s[1]["source"]: s[2] for s in fams["sluice_source_requests_total"][1]}
    assert req == {"app1": 10, WEIRD: 2}, "label values escaped and read back"
    up = {s[1]["source"]: s[2] for s in fams["sluice_source_up"][1]}
    assert up == {"app1": 1, WEIRD: 0}
    workers = {s[1]["worker"]: s[2] for s in fams["sluice_worker_requests_total"][1]}
    assert workers == {"0": 10, "1": 5}
    assert fams["sluice_requests_total"][1][0][2] == 15
    typ, lat = fams["sluice_source_response_seconds"]
    assert typ == "histogram"
    h = {(s[0], s[1].get("le")): s[2] for s in lat if s[1]["source"] == "app1"}
    # 10 responses of 1000 us: bucket [896, 1024) us, counted at le 0.0025 (its upper
    # edge 1.024 ms is above 0.001), never claimed faster than they were
    assert h[("sluice_source_response_seconds_bucket", "0.001")] == 0
    assert h[("sluice_source_response_seconds_bucket", "0.0025")] == 10
    assert h[("sluice_source_response_seconds_bucket", "+Inf")] == 10
    assert h[("sluice_source_response_seconds_count", None)] == 10
    assert h[("sluice_source_response_seconds_sum", None)] == pytest.approx(0.01)
    assert not [s for s in lat if "quantile" in s[1]], "no summary lines left"

    def by_source(fam):
        return {s[1]["source"]: s[2] for s in fams[fam][1]}

    assert fams["sluice_source_connections"][0] == "gauge"
    assert by_source("sluice_source_connections") == {"app1": 3, WEIRD: 1}
    assert by_source("sluice_source_max_connections") == {"app1": 8}, "only when set"
    assert fams["sluice_source_connections_opened_total"][0] == "counter"
    assert by_source("sluice_source_connections_opened_total") == {"app1": 41, WEIRD: 5}
    assert by_source("sluice_source_queued") == {"app1": 2, WEIRD: 0}

    def by_route(fam, name=None):
        return {(s[1]["host"], s[1]["path"]): s[2] for s in fams[fam][1]
                if name is None or s[0] == name}

    ex = {(s[1]["worker"], s[1]["cause"]): s[2] for s in fams["sluice_worker_exchanges_total"][1]}
    assert ex[("0", "queue_timeout")] == 3 and ex[("1", "queue_timeout")] == 0

    rx = ("api.example", "~" + RX)
    assert by_route("sluice_route_queued") == {("*", "/"): 2, rx: 1}
    assert fams["sluice_route_queue_total"][0] == "counter"
    assert by_route("sluice_route_queue_total") == {("*", "/"): 14, rx: 1}
    assert by_route("sluice_route_queue_timeouts_total") == {("*", "/"): 3, rx: 0}
    assert fams["sluice_route_queue_wait_seconds"][0] == "summary"
    assert by_route("sluice_route_queue_wait_seconds",
                    "sluice_route_queue_wait_seconds_sum") == {("*", "/"): 10.0, rx: 0}
    assert by_route("sluice_route_queue_wait_seconds",
                    "sluice_route_queue_wait_seconds_count") == {("*", "/"): 12, rx: 0}
    assert by_route("sluice_route_queue_wait_max_seconds") == {("*", "/"): 2.5, rx: 0}


def test_watch_refreshes_until_sigint(seg):
    need_stat()
    p = subprocess.Popen([STAT, "-n", seg.name, "-w", "0.2"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    time.sleep(0.9)
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=3)
    assert p.returncode == 0, err
    assert out.count("\033[H\033[2J") >= 3
    assert "req/s 0.0" in out, "rates from successive snapshots"


def test_missing_segment():
    rc, out, err = stat("-n", "/sluice-stat-test-none-%d" % os.getpid())
    assert rc == 1
    assert err == "sluice-stat: no sluice running with shm /sluice-stat-test-none-%d?\n" \
        % os.getpid()


@pytest.mark.parametrize("major", [VER_MAJOR - 1, VER_MAJOR + 1])
def test_other_layout_version(seg, major):
    """An older (1.x: no ends[] counters, 1792-byte routes) or a newer
    segment is refused in one line that names both versions."""
    seg.header(ver_major=major)
    seg.write()
    for fmt in ("--json", "--prometheus", None):
        rc, out, err = stat("-n", seg.name, *([fmt] if fmt else []))
        assert rc == 1 and out == ""
        assert err == "sluice-stat: shm %s has layout version %d.0; this program reads %d.x\n" \
            % (seg.name, major, VER_MAJOR), err


def test_name_from_config(seg, tmp_path):
    conf = tmp_path / "s.conf"
    conf.write_text('shm = "%s";\nlisteners = ( { address = "127.0.0.1:1"; } );\n'
                    'sources = ( { name = "a"; address = "127.0.0.1:2"; } );\n'
                    'routes = ( { sources = [ "a" ]; } );\n' % seg.name)
    rc, out, err = stat("-c", str(conf), "--json")
    assert rc == 0, err
    assert json.loads(out)["totals"]["requests"] == 15, out
