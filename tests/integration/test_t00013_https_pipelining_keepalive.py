"""t00013: pipelining and keep-alive over HTTPS with real clients.

`openssl s_client` (TLS 1.3, then TLS 1.2) sends six requests (GET, a POST
with a body, HEAD, a large and a chunked response) in one write, which its
message trace shows as one TLS record: the six answers come back in order,
each with the right body, and the connection closes after the last (it asks
Connection: close). A larger batch (40 requests, several records) too.
curl fetches eight URLs in one run over one TLS connection: the first
transfer connects, the seven others reuse it (num_connects 0), sluice-stat
counts one client connection, and the backend one connection carrying the
eight requests in turn (conn_request 1..8).

The 10 MiB upload and download with SHA-256 on both sides are t00002's."""

import json

from harness import gen_bytes, sha256_hex, stat_json

import tlsutil


def batch(tag, n_extra=0):
    """(request bytes, [(method, check)]) for one pipelined write."""
    post = gen_bytes(4000, "pp-%s" % tag)
    reqs = [
        ("GET", "/echo?%s=1" % tag, None, []),
        ("POST", "/sha256", post, []),
        ("HEAD", "/hello", None, []),
        ("GET", "/bytes?n=100000&seed=pb-%s" % tag, None, []),
        ("GET", "/chunked?n=30000&chunk=1000&seed=pc-%s" % tag, None, []),
    ]
    for i in range(n_extra):
        reqs.append(("GET", "/echo?%s=x%d" % (tag, i), None, [("X-Pad", "p" * 600)]))
    reqs.append(("GET", "/echo?%s=last" % tag, None, [("Connection", "close")]))
    data = b"".join(tlsutil.harness.HttpConn.build(m, t, hs, body, host="a.test")
                    for m, t, body, hs in reqs)
    return data, reqs, post


def check(reqs, post, resps, tag):
    for (m, t, _, _), r in zip(reqs, resps):
        assert r.status == 200, (t, r)
        if t.startswith("/echo"):
            assert r.json()["target"] == t, (t, r.body[:200])
        elif t == "/sha256":
            assert r.body.decode() == sha256_hex(post), r
        elif m == "HEAD":
            assert r.body == b"" and r.header("Content-Length") == "14", r
        elif t.startswith("/bytes"):
            assert r.body == gen_bytes(100000, "pb-%s" % tag), (t, len(r.body))
        elif t.startswith("/chunked"):
            assert r.framing == "chunked" and r.body == gen_bytes(30000, "pc-%s" % tag), (
                t, r.framing, len(r.body))
    assert "close" in (resps[-1].header("Connection") or "").lower(), resps[-1]


def client_app_records(msgs):
    """Records the client sent after its Finished, close_notify alerts left out."""
    lines = msgs.splitlines()
    fin = max(i for i, ln in enumerate(lines) if ln.startswith(">>>") and "Finished" in ln)
    recs = sum(1 for ln in lines[fin + 1:] if ln.startswith(">>>") and "RecordHeader" in ln)
    alerts = sum(1 for ln in lines[fin + 1:] if ln.startswith(">>>") and ", Alert" in ln)
    return recs - alerts


def test_s_client_pipelining(env, tmp_path):
    pki = tlsutil.Pki(tmp_path)
    b1 = env.backend("b1")
    s = tlsutil.tls_sluice(env, [b1], pki, workers=1)

    for tag, proto in (("t13", "-tls1_3"), ("t12", "-tls1_2")):
        data, reqs, post = batch(tag)
        assert len(data) < 16384
        msgfile = tmp_path / ("msg-%s.txt" % tag)
        rc, out, err = tlsutil.s_client_raw(s.port, data, proto, "-msg", "-msgfile",
                                            str(msgfile), ca=pki.ca)
        assert rc == 0, (rc, err, out[:500])
        msgs = msgfile.read_text(errors="replace")
        assert client_app_records(msgs) == 1, "the batch left in more than one record:\n" + msgs
        resps, rest = tlsutil.parse_responses(out, [m for m, _, _, _ in reqs])
        assert rest == b"", ("bytes after the last response", rest[:200])
        check(reqs, post, resps, tag)

    # A batch over several records: 40 requests, ~26 KiB.
    data, reqs, post = batch("big", n_extra=34)
    assert len(data) > 20000
    rc, out, err = tlsutil.s_client_raw(s.port, data, ca=pki.ca)
    assert rc == 0, (rc, err)
    resps, rest = tlsutil.parse_responses(out, [m for m, _, _, _ in reqs])
    assert rest == b""
    check(reqs, post, resps, "big")
    assert b1.stats()["requests"] == 2 * 6 + 40


def test_curl_keepalive_reuse(env, tmp_path):
    pki = tlsutil.Pki(tmp_path)
    b1 = env.backend("b1")
    s = tlsutil.tls_sluice(env, [b1], pki, workers=1)
    before = stat_json(s)["totals"]["conns_total"]
    acc0 = b1.stats()["accepts"]

    paths = ["/echo?k=%d" % i for i in range(8)]
    res, err = tlsutil.curl_https_many(s, pki, paths, tmp_path)
    assert [st for st, _, _ in res] == [200] * 8, (res, err)
    assert [n for _, n, _ in res] == [1] + [0] * 7, ("curl did not reuse its connection", res)
    docs = [json.loads(b) for _, _, b in res]
    assert [d["target"] for d in docs] == paths
    # The backend: one pooled connection, the eight requests on it in turn.
    assert len({d["conn_id"] for d in docs}) == 1, docs
    assert [d["conn_request"] for d in docs] == list(range(1, 9)), docs
    assert b1.stats()["accepts"] - acc0 == 1, b1.stats()
    assert b1.stats()["requests"] == 8
    # sluice: one client connection for the eight.
    after = stat_json(s)["totals"]["conns_total"]
    assert after - before == 1, (before, after)
