"""s00017: sluice-stat's table lines its columns up whatever the data: a live
instance whose source names are 60 characters long (the longest the config
takes is 63) beside a 1-character one, and one whose names are all shorter
than the heading "SOURCE". In the worker, source and route tables, every
row's cells sit under their heading: a text column (WORKER, PID, STATE,
SOURCE, HEALTH, HOST, PATH, BALANCER) starts where its heading starts, a
number column ends where its heading ends."""

import re
import subprocess

import pytest

from harness import stat_bin, stat_json, wait_until

LONG = "src-" + "x" * 52 + "-end"           # 60 characters, [A-Za-z0-9_.-]
assert len(LONG) == 60

WORKER_LEFT = ("WORKER", "PID", "STATE")
SOURCE_LEFT = ("SOURCE", "HEALTH")
ROUTE_LEFT = ("HOST", "PATH", "BALANCER")


def table(s):
    p = subprocess.run([stat_bin(), "-c", str(s.conf_path)], capture_output=True, text=True,
                       timeout=5)
    assert p.returncode == 0, p.stderr
    return p.stdout


def cells(line):
    """[(start, end, text)] of the blank-separated cells of a line."""
    return [(m.start(), m.end(), m.group(0)) for m in re.finditer(r"\S+", line)]


def check_block(lines, heading, left):
    """lines[0] is the heading line, the rest its rows: asserts the alignment and
    returns the rows' cells."""
    head = cells(lines[0])
    assert [h[2] for h in head] == list(heading), lines[0]
    rows = []
    for ln in lines[1:]:
        c = cells(ln)
        # a down source's row ends with "(reason)" after its last column
        if len(c) == len(head) + 1 and c[-1][2].startswith("("):
            c = c[:-1]
        assert len(c) == len(head), "row %r has %d cells, heading %d" % (ln, len(c), len(head))
        for (hs, he, name), (cs, ce, text) in zip(head, c):
            if name in left:
                assert cs == hs, "%r: %s cell %r starts at %d, heading at %d\n%s" % (
                    ln, name, text, cs, hs, "\n".join(lines))
            else:
                assert ce == he, "%r: %s cell %r ends at %d, heading at %d\n%s" % (
                    ln, name, text, ce, he, "\n".join(lines))
        rows.append(c)
    return rows


def blocks(text):
    """The worker table's lines, the source table's and the route table's."""
    lines = text.split("\n")
    w = next(i for i, ln in enumerate(lines) if ln.startswith("WORKER "))
    s = next(i for i, ln in enumerate(lines) if ln.startswith("SOURCE "))
    r = next(i for i, ln in enumerate(lines) if ln.startswith("HOST "))
    wl = [ln for ln in lines[w:s] if ln.strip()]
    sl = [ln for ln in lines[s:r] if ln.strip()]
    rl = [ln for ln in lines[r:] if ln.strip()]
    return wl, sl, rl


WHEAD = ("WORKER", "PID", "STATE", "CONNS", "REQUESTS", "REQ/S")
SHEAD = ("SOURCE", "HEALTH", "ACTIVE", "CONNS", "QUEUED", "REQUESTS", "1XX", "2XX", "3XX", "4XX",
         "5XX", "FAILS", "IN", "OUT", "P50MS", "P90MS", "P99MS")
RHEAD = ("HOST", "PATH", "BALANCER", "QUEUED", "WAITED", "TIMEOUTS", "AVGMS", "MAXMS")


@pytest.mark.parametrize("names", [(LONG, "b"), ("ab", "c")], ids=["long", "short"])
def test_table_columns_aligned(env, names):
    backs = [env.backend(n) for n in names]
    routes = [{"host": "long-host-name.example.com", "path": "/a/much/longer/path/prefix/",
               "sources": list(names), "balancer": "least_conn"},
              {"host": "*", "path": "/", "sources": list(names)}]
    s = env.sluice(sources=backs, routes=routes, workers=3)
    assert len(s.wait_workers(3)) == 3
    for i in range(7):
        assert s.get("/t/%d" % i).status == 200
    assert s.get("/status?code=404").status == 404
    assert wait_until(lambda: stat_json(s)["totals"]["requests"] == 8, 2.0)
    # one source down (its backend stopped, then a request fails on it), so a
    # row carries the "(reason)" tail too
    backs[1].stop()
    for i in range(4):
        s.get("/after/%d" % i)
    assert wait_until(lambda: stat_json(s)["totals"]["requests"] == 12, 2.0)

    text = table(s)
    wl, sl, rl = blocks(text)
    wrows = check_block(wl, WHEAD, WORKER_LEFT)
    srows = check_block(sl, SHEAD, SOURCE_LEFT)
    rrows = check_block(rl, RHEAD, ROUTE_LEFT)
    d = stat_json(s)
    assert sorted(int(r[1][2]) for r in wrows if r[1][2] != "0") == \
        sorted(w["pid"] for w in d["workers"] if w["pid"]), text
    assert [r[0][2] for r in srows] == [x["name"] for x in d["sources"]], text
    assert {r[0][2]: int(r[5][2]) for r in srows} == \
        {x["name"]: x["requests"] for x in d["sources"]}, text
    assert [(r[0][2], r[1][2], r[2][2]) for r in rrows] == \
        [(x["host"], x["path"], x["balancer"]) for x in d["routes"]] == \
        [("long-host-name.example.com", "/a/much/longer/path/prefix/", "least_conn"),
         ("*", "/", "round_robin")], text
    # the name column is exactly as wide as the longest name (or the heading)
    width = max(len(n) for n in names + ("SOURCE",))
    assert cells(sl[0])[1][0] == width + 1, sl[0]
