"""s00019: sluice_source_response_seconds is a real Prometheus histogram, read
by the reference parser (python3-prometheus-client's
text_string_to_metric_families). A live instance with two workers sends
NSLOW requests to a source that waits 26 ms before its response head and NFAST
to one that answers at once. Per source: the family is typed histogram, no
summary quantiles are left, the buckets are the fixed bounds 0.0005 .. 10 and
+Inf, cumulative and monotone; +Inf == _count == the requests sent there;
_sum is the mean latency times the count (as --json says); and no 26 ms
response is counted under le="0.025" (a bucket goes to the first bound at or
above its upper edge, never claiming a request was faster than it was).
The table keeps p50/p90/p99."""

import json
import math
import subprocess
import threading

import pytest
from prometheus_client.parser import text_string_to_metric_families

from harness import stat_bin, stat_json, wait_until

BOUNDS = ["0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25",
          "0.5", "1", "2.5", "5", "10", "+Inf"]
NSLOW, NFAST = 24, 40
DELAY = 0.026


def stat(s, *args):
    p = subprocess.run([stat_bin(), "-c", str(s.conf_path)] + list(args),
                       capture_output=True, text=True, timeout=5)
    assert p.returncode == 0, p.stderr
    return p.stdout


def histograms(text):
    """{source: {"buckets": [(le, value)], "sum": x, "count": n}} of the family."""
    fams = {f.name: f for f in text_string_to_metric_families(text)}
    f = fams["sluice_source_response_seconds"]
    assert f.type == "histogram", f.type
    out = {}
    for smp in f.samples:
        h = out.setdefault(smp.labels["source"], {"buckets": []})
        assert "quantile" not in smp.labels, smp
        if smp.name.endswith("_bucket"):
            h["buckets"].append((smp.labels["le"], smp.value))
        elif smp.name.endswith("_sum"):
            h["sum"] = smp.value
        elif smp.name.endswith("_count"):
            h["count"] = smp.value
        else:
            raise AssertionError("histogram sample %r" % (smp,))
    return out


@pytest.mark.limit(30)
def test_latency_histogram(env):
    slow, fast = env.backend("slow"), env.backend("fast")
    routes = [{"host": "*", "path": "/slow", "sources": ["slow"]},
              {"host": "*", "path": "/", "sources": ["fast"]}]
    s = env.sluice(sources=[slow, fast], routes=routes, workers=2)
    assert len(s.wait_workers(2)) == 2

    errors = []

    def client(targets):
        for t in targets:
            r = s.get(t)
            if r.status != 200:
                errors.append((t, r.status))
    slow_t = ["/slow?delay=%s&i=%d" % (DELAY, i) for i in range(NSLOW)]
    fast_t = ["/fast/%d" % i for i in range(NFAST)]
    threads = [threading.Thread(target=client, args=(part,))
               for part in (slow_t[0::2], slow_t[1::2], fast_t[0::2], fast_t[1::2])]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert not errors, errors
    assert wait_until(lambda: stat_json(s)["totals"]["requests"] == NSLOW + NFAST, 2.0)

    text = stat(s, "--prometheus")
    d = json.loads(stat(s, "--json"))
    hs = histograms(text)
    assert set(hs) == {"slow", "fast"}, hs.keys()
    sent = {"slow": NSLOW, "fast": NFAST}
    for name, h in hs.items():
        les = [le for le, _ in h["buckets"]]
        assert les == BOUNDS, les
        vals = [v for _, v in h["buckets"]]
        assert vals == sorted(vals), "not cumulative: %r" % (h["buckets"],)
        assert all(v == int(v) and v >= 0 for v in vals), vals
        assert vals[-1] == h["count"] == sent[name], (name, h)
        lat = [x for x in d["sources"] if x["name"] == name][0]["latency_ms"]
        assert lat["count"] == sent[name]
        # the JSON mean is rounded to 0.001 ms: that much per request, no more
        assert h["sum"] == pytest.approx(lat["mean"] * lat["count"] / 1000,
                                         abs=lat["count"] * 5e-7 + 1e-6)
    # 26 ms and more: the bucket [24.576, 28.672) ms and above, never under 0.025
    sb = dict(hs["slow"]["buckets"])
    assert sb["0.025"] == 0, hs["slow"]
    assert hs["slow"]["sum"] >= NSLOW * DELAY, hs["slow"]
    # the fast source answers well inside 250 ms here: not everything is at +Inf
    fb = dict(hs["fast"]["buckets"])
    assert fb["0.25"] == NFAST and fb["0.0005"] <= fb["0.01"], hs["fast"]
    assert not math.isnan(hs["fast"]["sum"])

    # the table keeps its percentiles; p50 of the slow source is its bucket's upper edge
    table = stat(s)
    head = next(ln for ln in table.split("\n") if ln.startswith("SOURCE ")).split()
    row = dict(zip(head, next(ln for ln in table.split("\n")
                              if ln.startswith("slow ")).split()))
    assert {"P50MS", "P90MS", "P99MS"} <= set(row), table
    assert float(row["P50MS"]) >= DELAY * 1000, table
