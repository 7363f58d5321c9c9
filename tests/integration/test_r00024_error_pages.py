"""r00024: error_pages (per route, and at the top level for answers without a route
or a route without its own). The file is read at start and reload (-t names a
missing one with its line), served for the answers sluice makes itself with the
status it lists, with the Content-Type of its extension and the right
Content-Length, $request_id replaced by the request's id; HEAD gets the head only.
A status the page does not list keeps sluice's own page."""

import re
import signal

from harness import exchange, run_sluice, wait_until


def test_error_pages(env, tmp_path):
    a = env.backend("a")
    p50x = tmp_path / "50x.html"
    p50x.write_text("<h1>down, id $request_id</h1>\n<p>again: $request_id</p>\n")
    p403 = tmp_path / "403.json"
    p403.write_text('{"error": "forbidden"}\n')
    p404 = tmp_path / "404.txt"
    p404.write_text("nothing here\n")
    dead = ("dead", "127.0.0.1:%d" % env.dead_port())
    s = env.sluice([a, dead], workers=1, routes=[
        {"host": "*", "path": "/down", "sources": ["dead"],
         "error_pages": [{"status": [502, 503, 504], "file": str(p50x)}]},
        {"host": "*", "path": "/private", "sources": ["a"], "deny": ["127.0.0.1"],
         "error_pages": [{"status": 403, "file": str(p403)}]},
        {"host": "*", "path": "/app", "sources": ["a"]}],
        extra={"error_pages": [{"status": [404], "file": str(p404)}]})

    r = s.get("/down/x", headers=[("X-Request-ID", "req-77")])
    assert r.status == 502, r
    assert r.header("content-type") == "text/html"
    assert r.body == b"<h1>down, id req-77</h1>\n<p>again: req-77</p>\n", r.body
    assert int(r.header("content-length")) == len(r.body)
    r = s.get("/down/y")
    rid = r.header("x-request-id")
    assert re.fullmatch(r"[0-9a-f]{32}", rid)
    assert r.body == ("<h1>down, id %s</h1>\n<p>again: %s</p>\n" % (rid, rid)).encode()

    r = s.get("/private/x")
    assert r.status == 403 and r.header("content-type") == "application/json"
    assert r.body == b'{"error": "forbidden"}\n'
    r = s.get("/nowhere")
    assert r.status == 404 and r.header("content-type").startswith("text/plain")
    assert r.body == b"nothing here\n"
    c = s.conn()
    r = c.request("HEAD", "/nowhere")
    assert r.status == 404 and r.body == b""
    assert int(r.header("content-length")) == len(b"nothing here\n")
    r = c.request("GET", "/app/echo")               # the connection goes on
    assert r.status == 200
    c.close()
    # A status the route's page does not list (400 on /down): sluice's own page.
    r, _, err = exchange(s.port, b"POST /down/z HTTP/1.1\r\nHost: a\r\n"
                         b"Transfer-Encoding: chunked\r\n\r\nzz\r\n", method="POST")
    assert r is not None and r.status == 400, err
    assert b"<h1>400 Bad Request</h1>" in r.body, r.body

    # A reload reads the files again.
    p404.write_text("moved on\n")
    s.proc.send_signal(signal.SIGHUP)
    assert wait_until(lambda: "reload: generation 2 started" in s.log(), 5), s.log()[-2000:]
    assert wait_until(lambda: s.get("/nowhere").body == b"moved on\n", 5)


def test_missing_file_is_a_config_error(env, tmp_path):
    a = env.backend("a")
    s = env.sluice([a], start=False, routes=[
        {"host": "*", "path": "/", "sources": ["a"],
         "error_pages": [{"status": [502], "file": str(tmp_path / "nope.html")}]}])
    rc, out = run_sluice(["-t", "-c", str(s.conf_path)])
    assert rc != 0, out
    assert re.search(r"\.conf:\d+: routes\[0\]\.error_pages\[0\]\.file: .*nope\.html: "
                     r"No such file or directory", out), out
    s2 = env.sluice([a], start=False, name="s2", routes=[
        {"host": "*", "path": "/", "sources": ["a"],
         "error_pages": [{"status": [302], "file": str(tmp_path / "x.html")}]}])
    rc, out = run_sluice(["-t", "-c", str(s2.conf_path)])
    assert rc != 0 and "routes[0].error_pages[0].status: expected a status 400..599" in out, out
