"""s00010: sluice-stat --prometheus of a live instance (4 workers, 2 sources, one
down by health check, 2xx/4xx/5xx traffic) passes a strict parser of the text
exposition format 0.0.4 plus the promtool lint rules, and agrees with --json.

(promtool itself is not installed here: `apt-cache policy prometheus` shows the
package as a candidate only, and tests install nothing.)"""

import json
import math
import os
import re
import subprocess
import time
from pathlib import Path

from harness import HttpConn, free_port, sluice_bin, wait_until

STAT = (os.environ.get("SLUICE_STAT_BIN") or os.environ.get("SLUICE_STAT")
        or str(Path(sluice_bin()).parent / "sluice-stat"))


def stat(s, *args):
    assert os.access(STAT, os.X_OK), "no sluice-stat binary at %s" % STAT
    p = subprocess.run([STAT, "-c", str(s.conf_path)] + list(args), capture_output=True,
                       text=True, timeout=5)
    assert p.returncode == 0, p.stderr
    return p.stdout


# --- the text exposition format 0.0.4 ------------------------------------------

METRIC = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LNAME = r"[a-zA-Z_][a-zA-Z0-9_]*"
LVALUE = r'"((?:[^"\\\n]|\\[\\"n])*)"'
FLOAT = r"[+-]?(?:Inf|inf|NaN|nan|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)"
TYPES = ("counter", "gauge", "summary", "histogram", "untyped")
BASE_UNITS = ("seconds", "bytes", "ratio", "celsius", "meters", "volts", "amperes",
              "joules", "grams")
BAD_UNITS = ("milliseconds", "microseconds", "nanoseconds", "minutes", "hours", "days",
             "kilobytes", "megabytes", "gigabytes", "kib", "mib", "percent")


def parse_labels(text, line):
    """'a="x",b="y"' -> [(name, unescaped value)], strictly."""
    out, pos = [], 0
    pat = re.compile(r"(%s)=%s" % (LNAME, LVALUE))
    while pos < len(text):
        m = pat.match(text, pos)
        assert m, "bad label syntax at %r in %r" % (text[pos:], line)
        v = re.sub(r"\\(.)", lambda e: "\n" if e.group(1) == "n" else e.group(1), m.group(2))
        out.append((m.group(1), v))
        pos = m.end()
        if pos < len(text):
            assert text[pos] == ",", "expected ',' in labels of %r" % line
            pos += 1                    # a trailing comma is allowed by the format
    names = [k for k, _ in out]
    assert len(names) == len(set(names)), "label repeated in %r" % line
    assert not any(k.startswith("__") for k in names), "reserved label name in %r" % line
    return out


def parse(text):
    """{family: {"type", "help", "samples": [(name, {labels}, value)]}}; asserts the
    grammar, the ordering rules (HELP/TYPE once, before the family's samples, each
    family contiguous) and the per-type rules."""
    assert text.endswith("\n") and "\r" not in text, "lines must end with \\n"
    fams, current = {}, None
    seen_series = set()

    def family_of(name):
        for suffix in ("_sum", "_count", "_bucket"):
            base = name[:-len(suffix)]
            if name.endswith(suffix) and base in fams and \
                    fams[base]["type"] in ("summary", "histogram"):
                if suffix != "_bucket" or fams[base]["type"] == "histogram":
                    return base
        return name

    for line in text.split("\n")[:-1]:
        assert line == line.strip(" \t") or line.startswith("#"), "stray blanks: %r" % line
        if line.startswith("#"):
            m = re.match(r"^# (HELP|TYPE) (%s) (.*)$" % METRIC, line)
            if not m:
                assert not re.match(r"^#\s*(HELP|TYPE)\b", line), "bad HELP/TYPE: %r" % line
                continue                # a plain comment
            kind, name, rest = m.groups()
            f = fams.setdefault(name, {"type": None, "help": None, "samples": []})
            assert not f["samples"], "%s after the samples of %s" % (kind, name)
            if kind == "HELP":
                assert f["help"] is None, "second HELP for " + name
                assert re.fullmatch(r"(?:[^\\\n]|\\[\\n])*", rest), "bad HELP escape: %r" % line
                f["help"] = rest
            else:
                assert f["type"] is None, "second TYPE for " + name
                assert rest in TYPES, "bad type: %r" % line
                f["type"] = rest
            current = name
            continue
        assert line, "empty line inside the exposition"
        m = re.match(r'^(%s)(?:\{((?:[^"}]|"(?:[^"\\\n]|\\.)*")*)\})? (%s)(?: (-?[0-9]+))?$'
                     % (METRIC, FLOAT), line)
        assert m, "bad sample line: %r" % line
        name, labels, value = m.group(1), parse_labels(m.group(2) or "", line), m.group(3)
        fam = family_of(name)
        assert fam == current, "sample %s outside its family (current %s)" % (name, current)
        f = fams[fam]
        assert f["type"] is not None, "sample before TYPE: %r" % line
        key = (name, tuple(sorted(labels)))
        assert key not in seen_series, "duplicate series: %r" % line
        seen_series.add(key)
        v = float(value.replace("Inf", "inf").replace("NaN", "nan"))
        lab = dict(labels)
        if f["type"] == "counter":
            assert v >= 0 and not math.isnan(v), "negative/NaN counter: %r" % line
        if f["type"] == "summary":
            if name == fam:
                assert "quantile" in lab and 0 <= float(lab["quantile"]) <= 1, line
            else:
                assert "quantile" not in lab, line
        else:
            assert "quantile" not in lab, "quantile label outside a summary: %r" % line
        if f["type"] == "histogram":
            assert name != fam, "histogram sample without a suffix: %r" % line
            if name.endswith("_bucket"):
                assert "le" in lab, line
        else:
            assert "le" not in lab, "le label outside a histogram: %r" % line
        if name.endswith("_count") and f["type"] in ("summary", "histogram"):
            assert v == int(v) and v >= 0, line
        f["samples"].append((name, lab, v))
    # After the last line: each family has HELP and TYPE, and some samples.
    for name, f in fams.items():
        assert f["type"] is not None and f["help"], "no TYPE/HELP for " + name
        assert f["samples"], "family %s without samples" % name
    # Families are contiguous: no name comes back after another family started.
    seq = []
    for line in text.split("\n")[:-1]:
        if line.startswith("#"):
            m = re.match(r"^# (?:HELP|TYPE) (%s) " % METRIC, line)
            n = m.group(1) if m else None
        else:
            n = family_of(re.match(METRIC, line).group(0))
        if n and (not seq or seq[-1] != n):
            assert n not in seq, "family %s is not contiguous" % n
            seq.append(n)
    return fams


def lint(fams):
    """The checks of `promtool check metrics` (its lint rules)."""
    for name, f in fams.items():
        assert name == name.lower() and "__" not in name, "not snake_case: " + name
        if f["type"] == "counter":
            assert name.endswith("_total"), "counter without _total: " + name
        else:
            assert not name.endswith("_total"), "non-counter named _total: " + name
        words = name.split("_")
        assert not any(u in words for u in BAD_UNITS), "non-base unit in " + name
        for _, lab, _ in f["samples"]:
            for k in lab:
                assert k == k.lower(), "label not snake_case: %s in %s" % (k, name)
        if f["type"] == "histogram":
            buckets = {}
            for n, lab, v in f["samples"]:
                if n.endswith("_bucket"):
                    key = tuple(sorted((k, x) for k, x in lab.items() if k != "le"))
                    buckets.setdefault(key, []).append((float(lab["le"].replace("Inf", "inf")), v))
            for key, bs in buckets.items():
                assert bs[-1][0] == math.inf, "no +Inf bucket in %s%r" % (name, key)
                assert [v for _, v in bs] == sorted(v for _, v in bs), "non-cumulative " + name


GOOD = """# HELP x_total Some x.
# TYPE x_total counter
x_total{a="q}\\"\\\\\\n"} 1
# HELP y A summary.
# TYPE y summary
y{quantile="0.5"} 0.1
y_sum 3
y_count 4
"""
BAD = [
    GOOD.replace("# TYPE x_total counter\n", ""),                         # no TYPE
    GOOD.replace("# HELP x_total Some x.\n", ""),                         # no HELP
    GOOD.replace("x_total{", "x-total{"),                                 # metric name
    GOOD.replace('{a="', '{1a="'),                                        # label name
    GOOD.replace('\\n"}', '\\t"}'),                                       # label escape
    GOOD.replace(" 1\n", " one\n"),                                       # value
    GOOD.replace("y_count 4\n", "y_count 4\nx_total{a=\"z\"} 2\n"),       # split family
    GOOD + "x_total 5\n",                                                 # split family
    GOOD.replace("x_total{", "# TYPE x_total counter\nx_total{"),         # TYPE twice
    GOOD.replace("y_sum 3", "y_sum 3\ny_sum 3"),                          # duplicate series
    GOOD.rstrip("\n"),                                                    # no final newline
    GOOD.replace(" 1\n", " 1 2 3\n"),                                     # extra field
    GOOD.replace("counter", "gauge"),                                     # gauge named _total
]


def test_parser_is_strict():
    lint(parse(GOOD))
    for i, bad in enumerate(BAD):
        try:
            lint(parse(bad))
        except AssertionError:
            continue
        raise AssertionError("case %d accepted:\n%s" % (i, bad))


def test_prometheus_exposition(env):
    a = env.backend("a")
    b = env.backend("b")
    port = free_port()
    conf = env.config(port, [("a", a.address), ("b", b.address)],
                      [{"host": "*", "path": "/", "sources": ["a", "b"]}], workers=4,
                      extra={"health": {"path": "/__health", "interval": 0.5, "timeout": 1,
                                        "rise": 1, "fall": 1}})
    s = env.sluice(conf_text=conf, port=port)
    codes = {}
    for i in range(30):
        st = s.get("/status?code=%d" % (200, 404, 500)[i % 3]).status
        codes[st] = codes.get(st, 0) + 1
    assert codes == {200: 10, 404: 10, 500: 10}, codes
    with HttpConn(b.port) as c:
        assert c.request("GET", "/__mode?health=0").status == 200
    assert wait_until(lambda: [x for x in json.loads(stat(s, "--json"))["sources"]
                               if x["name"] == "b" and x["health"] == "down"], 2.5)
    time.sleep(0.1)

    text = stat(s, "--prometheus")
    d = json.loads(stat(s, "--json"))
    fams = parse(text)
    lint(fams)
    assert all(n.startswith("sluice_") for n in fams), sorted(fams)

    def series(fam, label=None):
        return {(lab.get(label) if label else None): v
                for n, lab, v in fams[fam]["samples"] if n == fam}

    assert fams["sluice_requests_total"]["type"] == "counter"
    assert series("sluice_requests_total") == {None: d["totals"]["requests"]} == {None: 30}
    assert series("sluice_worker_requests_total", "worker") == \
        {str(w["index"]): w["requests"] for w in d["workers"]}
    assert series("sluice_source_requests_total", "source") == \
        {x["name"]: x["requests"] for x in d["sources"]}
    assert series("sluice_source_up", "source") == {"a": 1, "b": 0}
    per_code = {}
    for n, lab, v in fams["sluice_worker_responses_total"]["samples"]:
        per_code[lab["code"]] = per_code.get(lab["code"], 0) + v
    assert (per_code["2xx"], per_code["4xx"], per_code["5xx"]) == (10, 10, 10), per_code
