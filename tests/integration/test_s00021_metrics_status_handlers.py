"""s00021: handler = "metrics" serves the Prometheus text of the segment over HTTP
(parsed by the official Python client's parser: counters, gauges and the latency
histogram with _bucket/_sum/_count) and handler = "status" the same JSON
document as sluice-stat --json; both guarded by allow/deny (403 from elsewhere),
both counted like any request. A handler route with sources is a config error."""

import json
import socket

from prometheus_client.parser import text_string_to_metric_families

from harness import run_sluice, stat_json


def get_from(port, src_ip, target):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(5)
    s.bind((src_ip, 0))
    s.connect(("127.0.0.1", port))
    s.sendall(("GET %s HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n" % target).encode())
    data = b""
    while True:
        d = s.recv(65536)
        if not d:
            break
        data += d
    s.close()
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), head.decode(), body


def test_metrics_and_status(env):
    a = env.backend("a")
    s = env.sluice([a], workers=2, routes=[
        {"host": "*", "path": "/metrics", "handler": "metrics", "allow": ["127.0.0.1"]},
        {"host": "*", "path": "/status", "handler": "status", "allow": ["127.0.0.1"]},
        {"host": "*", "path": "/", "sources": ["a"]}])
    s.wait_workers(2)
    for i in range(7):
        assert s.get("/echo?%d" % i).status == 200

    st, head, body = get_from(s.port, "127.0.0.1", "/metrics")
    assert st == 200, head
    assert "text/plain; version=0.0.4" in head
    assert "Content-Length: %d" % len(body) in head
    fams = {f.name: f for f in text_string_to_metric_families(body.decode())}
    hist = fams["sluice_source_response_seconds"]
    assert hist.type == "histogram"
    buckets = [smp for smp in hist.samples if smp.name.endswith("_bucket")
               and smp.labels.get("source") == "a"]
    count = [smp.value for smp in hist.samples if smp.name.endswith("_count")
             and smp.labels.get("source") == "a"]
    assert count == [7], count
    values = [smp.value for smp in buckets]
    assert values == sorted(values) and values[-1] == 7
    assert buckets[-1].labels["le"] == "+Inf"
    reqs = fams["sluice_source_requests"]         # a counter (the client drops _total)
    assert reqs.type == "counter"
    assert [smp.value for smp in reqs.samples if smp.labels.get("source") == "a"
            and smp.name.endswith("_total")] == [7]
    # max_conns counts (4.0): every connection sluice opened to a, none waiting, no budget
    opened = fams["sluice_source_connections_opened"]
    assert opened.type == "counter"
    accepts = a.stats()["accepts"]
    assert [smp.value for smp in opened.samples if smp.labels.get("source") == "a"
            and smp.name.endswith("_total")] == [accepts]
    assert fams["sluice_source_connections"].type == "gauge"
    assert [smp.value for smp in fams["sluice_source_queued"].samples
            if smp.labels.get("source") == "a"] == [0]
    assert "sluice_source_max_connections" not in fams, "only for a source with max_conns"

    st, head, body = get_from(s.port, "127.0.0.1", "/status")
    assert st == 200 and "application/json" in head
    doc = json.loads(body)
    ref = stat_json(s)
    assert set(doc) == set(ref)
    assert [w["pid"] for w in doc["workers"]] == [w["pid"] for w in ref["workers"]]
    src = [x for x in doc["sources"] if x["name"] == "a"][0]
    assert src["requests"] == 7
    assert src["conns_total"] == accepts and src["max_conns"] == 0 and src["queued"] == 0
    # The routes of the configuration, as sluice-stat lists them.
    assert [(r["path"], r["balancer"]) for r in doc["routes"]] == \
        [(r["path"], r["balancer"]) for r in ref["routes"]] == \
        [("/metrics", "round_robin"), ("/status", "round_robin"), ("/", "round_robin")], \
        doc["routes"]
    assert all(r["queue_total"] == 0 for r in doc["routes"])
    assert [smp.labels["path"] for smp in fams["sluice_route_queue"].samples
            if smp.name.endswith("_total")] == ["/metrics", "/status", "/"]

    # Guarded: from another address, 403 and nothing served.
    assert get_from(s.port, "127.0.0.2", "/metrics")[0] == 403
    assert get_from(s.port, "127.0.0.2", "/status")[0] == 403
    tot = stat_json(s)["totals"]
    assert tot["ends"]["denied"] == 2
    assert a.stats()["requests"] == 7


def test_handler_with_sources_is_an_error(env):
    a = env.backend("a")
    s = env.sluice([a], start=False, routes=[
        {"host": "*", "path": "/metrics", "handler": "metrics", "sources": ["a"]},
        {"host": "*", "path": "/", "sources": ["a"]}])
    rc, out = run_sluice(["-t", "-c", str(s.conf_path)])
    assert rc != 0 and 'routes[0].sources: not used by handler "metrics"' in out, out
    s2 = env.sluice([a], start=False, name="s2", routes=[
        {"host": "*", "path": "/", "handler": "proxy"}])
    rc, out = run_sluice(["-t", "-c", str(s2.conf_path)])
    assert rc != 0 and "routes[0].sources: missing" in out, out
