"""s00018: the table's counts are exact below 10000 and SI above (k = 1000, so
10.2k is 10200 give or take 50, never 10.2 * 1024), its byte counts binary
(Ki = 1024, Mi = 2^20), with the unit written out. A live instance answers
N2 = 10200 requests with 200 and N4 = 1500 with 404 (pipelined on keep-alive
connections); the source row then shows REQUESTS exact (11700), 2XX "10.2k",
4XX "1500", and IN/OUT as the JSON's byte counts in Ki/Mi; the totals line's
in/out likewise."""

import re
import socket
import subprocess
import threading

import pytest

from harness import stat_bin, stat_json, wait_until

N2, N4 = 10200, 1500
CONNS = 4
BATCH = 50


def si(v):
    """What the README says a count column shows."""
    if v < 10000:
        return str(v)
    d, k = float(v), -1
    while d >= 999.95 and k < 5:
        d /= 1000
        k += 1
    return "%.1f%s" % (d, "kMGTPE"[k])


def iec(v):
    """What the README says a byte column shows."""
    if v < 10000:
        return str(v)
    d, k = float(v), -1
    while d >= 999.95 and k < 5:
        d /= 1024
        k += 1
    return "%.1f%si" % (d, "KMGTPE"[k])


def test_si_helpers_discriminate():
    assert si(10200) == "10.2k" and si(9999) == "9999" and si(999960) == "1.0M"
    assert iec(10240) == "10.0Ki" and iec(3 << 20) == "3.0Mi"
    assert si(10200) != iec(10200)


def pipeline(port, targets, errors):
    """Sends targets in batches on one keep-alive connection; counts statuses."""
    counts = {}
    try:
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        f = sock.makefile("rb")
        for i in range(0, len(targets), BATCH):
            batch = targets[i:i + BATCH]
            sock.sendall(b"".join(b"GET %s HTTP/1.1\r\nHost: t\r\n\r\n" % t.encode()
                                  for t in batch))
            for _ in batch:
                status = int(f.readline().split()[1])
                length = 0
                while True:
                    ln = f.readline()
                    if ln in (b"\r\n", b""):
                        break
                    k, _, v = ln.partition(b":")
                    if k.strip().lower() == b"content-length":
                        length = int(v)
                f.read(length)
                counts[status] = counts.get(status, 0) + 1
        sock.close()
    except Exception as e:                  # reported by the caller's assert
        errors.append(repr(e))
    return counts


@pytest.mark.limit(60)
def test_counts_si_bytes_iec(env):
    b = env.backend("b")
    s = env.sluice(sources=[b], workers=2)
    targets = ["/n/%d" % i for i in range(N2)] + ["/status?code=404"] * N4
    results, errors, threads = [], [], []
    for c in range(CONNS):
        part = targets[c::CONNS]
        t = threading.Thread(target=lambda p=part: results.append(pipeline(s.port, p, errors)))
        t.start()
        threads.append(t)
    for t in threads:
        t.join(50)
    assert not errors, errors
    got = {}
    for r in results:
        for k, v in r.items():
            got[k] = got.get(k, 0) + v
    assert got == {200: N2, 404: N4}, got
    assert wait_until(lambda: stat_json(s)["totals"]["requests"] == N2 + N4, 2.0)

    p = subprocess.run([stat_bin(), "-c", str(s.conf_path)], capture_output=True, text=True,
                       timeout=5)
    assert p.returncode == 0, p.stderr
    text = p.stdout
    d = stat_json(s)
    src = d["sources"][0]
    row = next(ln for ln in text.split("\n") if ln.startswith("b "))
    c = row.split()
    head = next(ln for ln in text.split("\n") if ln.startswith("SOURCE ")).split()
    cell = dict(zip(head, c))
    assert cell["REQUESTS"] == str(N2 + N4), row             # exact, always
    assert cell["2XX"] == "10.2k" == si(src["responses"]["2xx"]), row
    assert cell["4XX"] == "1500", row                        # exact below 10000
    assert cell["IN"] == iec(src["bytes_in"]) and cell["IN"].endswith(("Ki", "Mi")), row
    assert cell["OUT"] == iec(src["bytes_out"]) and cell["OUT"].endswith(("Ki", "Mi")), row
    t = d["totals"]
    m = re.search(r"^requests (\d+) .* conns \d+ open / (\S+) total  in (\S+)  out (\S+) ",
                  text, re.M)
    assert m, text
    assert m.group(1) == str(N2 + N4)
    assert m.group(2) == si(t["conns_total"])
    assert (m.group(3), m.group(4)) == (iec(t["bytes_in"]), iec(t["bytes_out"])), text
