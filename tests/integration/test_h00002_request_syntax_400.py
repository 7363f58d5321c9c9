"""h00002: malformed request heads (RFC 9112 2.2, 3, 5; RFC 9110 5.1, 5.5) get 400 and a
closed connection, and the backend receives not a single byte: bare CR, bare LF where
the rest of the head uses CRLF, obs-fold, whitespace before the colon, NUL or other
control characters in a field name or value, a field name that is not a token, an
invalid method token, request target or version. (e00007 covers "X-Foo : bar",
obs-fold with spaces, CR inside a value and \\x01 in a value.)"""

import pytest

import rawbackend
from harness import exchange


def req(line=b"GET /echo HTTP/1.1", fields=b"X-Test: 1\r\n"):
    return line + b"\r\nHost: x\r\n" + fields + b"\r\n"


CASES = {
    # line endings
    "bare_lf_in_fields": req(fields=b"X-A: 1\nX-B: 2\r\n"),
    "bare_lf_after_request_line": b"GET /echo HTTP/1.1\nHost: x\r\n\r\n",
    "bare_lf_ends_head": b"GET /echo HTTP/1.1\r\nHost: x\r\n\n",
    "bare_cr_in_request_line": b"GET /echo\rX HTTP/1.1\r\nHost: x\r\n\r\n",
    "bare_cr_ends_field": req(fields=b"X-A: 1\rX-B: 2\r\n"),
    "bare_cr_in_name": req(fields=b"X-\rA: 1\r\n"),
    "cr_cr_lf": req(fields=b"X-A: 1\r\r\n"),
    # obs-fold and whitespace around names
    "obs_fold_tab": req(fields=b"X-A: 1\r\n\tcontinued\r\n"),
    "obs_fold_on_host": b"GET /echo HTTP/1.1\r\nHost: x\r\n y\r\n\r\n",
    "tab_before_colon": req(fields=b"X-A\t: 1\r\n"),
    "space_before_colon_cl": b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length : 5\r\n\r\nhello",
    "space_in_name": req(fields=b"X A: 1\r\n"),
    "empty_name": req(fields=b": 1\r\n"),
    "no_colon": req(fields=b"X-A 1\r\n"),
    # characters in names and values
    "nul_in_name": req(fields=b"X-\x00A: 1\r\n"),
    "nul_in_value": req(fields=b"X-A: a\x00b\r\n"),
    "esc_in_name": req(fields=b"X-\x1bA: 1\r\n"),
    "del_in_name": req(fields=b"X-\x7fA: 1\r\n"),
    "del_in_value": req(fields=b"X-A: a\x7fb\r\n"),
    "esc_in_value": req(fields=b"X-A: a\x1bb\r\n"),
    "vt_in_value": req(fields=b"X-A: a\x0bb\r\n"),
    "paren_in_name": req(fields=b"X(A): 1\r\n"),
    "at_in_name": req(fields=b"X@A: 1\r\n"),
    "slash_in_name": req(fields=b"X/A: 1\r\n"),
    "utf8_in_name": req(fields=b"X-\xc3\xa9: 1\r\n"),
    # method
    "method_paren": req(line=b"GE(T /echo HTTP/1.1"),
    "method_ctl": req(line=b"GE\x01T /echo HTTP/1.1"),
    "method_del": req(line=b"GET\x7f /echo HTTP/1.1"),
    "method_empty": req(line=b" /echo HTTP/1.1"),
    "method_utf8": req(line=b"G\xc3\x89T /echo HTTP/1.1"),
    # target
    "target_relative": req(line=b"GET echo HTTP/1.1"),
    "target_two_words": req(line=b"GET /a b HTTP/1.1"),
    "target_ctl": req(line=b"GET /a\x01b HTTP/1.1"),
    "target_del": req(line=b"GET /a\x7fb HTTP/1.1"),
    "target_nul": req(line=b"GET /a\x00b HTTP/1.1"),
    "target_high_byte": req(line=b"GET /a\xffb HTTP/1.1"),
    "target_fragment": req(line=b"GET /a#frag HTTP/1.1"),
    "target_asterisk_get": req(line=b"GET * HTTP/1.1"),
    "target_absolute_no_host": req(line=b"GET http:///echo HTTP/1.1"),
    "target_absolute_userinfo": req(line=b"GET http://user@x/echo HTTP/1.1"),
    "target_absolute_bad_port": req(line=b"GET http://x:8o/echo HTTP/1.1"),
    "target_empty": req(line=b"GET  HTTP/1.1"),
    # version
    "version_lowercase": req(line=b"GET /echo http/1.1"),
    "version_junk": req(line=b"GET /echo HTTP/1.1x"),
    "version_no_minor": req(line=b"GET /echo HTTP/1"),
    "version_three_parts": req(line=b"GET /echo HTTP/1.1.1"),
    "version_two_digit": req(line=b"GET /echo HTTP/11"),
    "version_missing_slash": req(line=b"GET /echo HTTP1.1"),
    "four_words": req(line=b"GET /echo HTTP/1.1 extra"),
}


def ok(conn, r):
    return rawbackend.response(200, body=b"forwarded\n")


@pytest.mark.parametrize("case", sorted(CASES))
def test_malformed_head_400_nothing_forwarded(env, case):
    rb = rawbackend.start(env, "raw", responder=ok)
    s = env.sluice([rb.source], timeouts={"client_header": 3})

    r, closed, err = exchange(s.port, CASES[case])
    assert r is not None, "no response: %s" % err
    assert r.status == 400, r
    assert closed, "connection left open after 400"
    assert rb.accepts == 0 and rb.received_total() == 0, rb.targets()
    assert s.get("/fine").status == 200
