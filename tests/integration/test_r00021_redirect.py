"""r00021: handler = "redirect". redirect.to fills $scheme, $host (without the
port), $request_uri (the target as sent) and $uri (the normalized path, no query);
the status is redirect.status (301 by default); the body is a short page, none for
HEAD; the source is never asked; the answer is counted and logged like any other.
Over TLS $scheme is https. Bad `to` variables, statuses and a redirect group on a
proxy route are config errors with their line."""

import re

import tlsutil
from harness import run_sluice, stat_json, wait_until


def test_redirects(env):
    a = env.backend("a")
    access = env.dir / "access.log"
    s = env.sluice([a], workers=1, routes=[
        {"host": "*", "path": "/old", "handler": "redirect",
         "redirect": {"to": "https://$host$request_uri", "status": 308}},
        {"host": "*", "path": "/p/", "handler": "redirect",
         "redirect": {"to": "$scheme://example.org$uri?from=$$x"}},
        {"host": "*", "path": "/", "sources": ["a"]}],
        extra={"log": {"error": "stderr", "level": "info", "access": str(access)}})
    r = s.get("/old/x?y=1", headers=[("Host", "a.test:8080")])
    assert r.status == 308, r
    assert r.header("location") == "https://a.test/old/x?y=1"
    assert b"308 Permanent Redirect" in r.body
    assert int(r.header("content-length")) == len(r.body)
    r = s.get("/p/./q/../a?z=9")
    assert r.status == 301 and r.header("location") == "http://example.org/p/a?from=$x", r
    c = s.conn()
    r = c.request("HEAD", "/old/h", headers=[("Host", "[::1]:81")])
    assert r.status == 308 and r.body == b"" and r.header("location") == "https://[::1]/old/h"
    r = c.request("GET", "/echo")                  # the connection goes on
    assert r.status == 200
    c.close()
    assert a.stats()["requests"] == 1
    tot = stat_json(s)["totals"]
    assert tot["responses"]["3xx"] == 3 and tot["ends"]["ok"] == 4, tot
    assert wait_until(lambda: access.exists() and
                      access.read_text().count('" 308 ') == 2, 3), access.read_text()


def test_scheme_over_tls(env, tmp_path):
    pki = tlsutil.Pki(tmp_path)
    a = env.backend("a")
    s = tlsutil.tls_sluice(env, [a], pki, workers=1, routes=[
        {"host": "*", "path": "/", "handler": "redirect",
         "redirect": {"to": "$scheme://$host/new$uri", "status": 302}}])
    r = tlsutil.curl_https(s, pki, "/x?q")
    assert r.status == 302, r
    assert r.header("location") == "https://a.test/new/x"


def test_config_errors(env, tmp_path):
    a = env.backend("a")
    cases = [
        ({"handler": "redirect", "redirect": {"to": "https://$hostname/"}},
         r"routes\[0\]\.redirect\.to: expected a URL or path"),
        ({"handler": "redirect", "redirect": {"to": "/x", "status": 305}},
         r"routes\[0\]\.redirect\.status: expected 301, 302, 303, 307 or 308, got 305"),
        ({"handler": "redirect"}, r"routes\[0\]\.redirect: missing"),
        ({"sources": ["a"], "redirect": {"to": "/x"}},
         r"routes\[0\]\.redirect: only for handler \"redirect\""),
    ]
    for i, (extra, want) in enumerate(cases):
        route = {"host": "*", "path": "/"}
        route.update(extra)
        s = env.sluice([a], start=False, name="c%d" % i, routes=[route])
        rc, out = run_sluice(["-t", "-c", str(s.conf_path)])
        assert rc != 0 and re.search(r"\.conf:\d+: " + want, out), (extra, out)
