"""s00001: sluice-stat against a segment written here byte by byte after the
golden layout of tests/unit/shm/test_layout.c (so this is also a second,
independent reading of the ABI): the table, --json, --prometheus (checked by
a parser of the text format), -w, and the refusals (no segment, another
layout version). Every test fails (never skips) when the sluice-stat binary
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
MW, MS, MR = 3, 4, 1


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
        self.put(56, "IIIIII", nworkers, MW, nsources, MS, 1, MR)
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


def test_table(seg):
    rc, out, err = stat("-n", seg.name)
    assert rc == 0, err
    assert re.search(r"^requests 15\b", out, re.M), out
    assert re.search(r"^app1\s+up\s+2\s+10\b", out, re.M), out
    assert re.search(r"\s+down\s+0\s+2\b.*\(connect\)", out), out
    assert "old" not in out


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
