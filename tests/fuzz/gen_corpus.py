#!/usr/bin/env python3
"""Writes the seed corpora under tests/fuzz/corpus/ (readable here, bytes there).

One seed per realistic message and per malformed class from issue 3. Run from
the repository root after editing a list; existing seeds of the same name are
overwritten, others are left alone.
"""
import os
import shutil
import sys

H = "Host: example.com\r\n"

REQ = {
    # valid
    "get_simple": "GET / HTTP/1.1\r\n" + H + "\r\n",
    "get_query_headers": "GET /index.html?q=1&r=%20x HTTP/1.1\r\n" + H +
        "User-Agent: curl/7.88.1\r\nAccept: */*\r\nAccept-Encoding: gzip, br\r\n"
        "Cookie: a=1; b=2\r\n\r\n",
    "get_http10": "GET /old HTTP/1.0\r\n\r\n",
    "get_http10_keepalive": "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
    "head": "HEAD /x HTTP/1.1\r\nHost: a:8080\r\n\r\n",
    "post_clen": "POST /form HTTP/1.1\r\n" + H +
        "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 7\r\n\r\na=1&b=2",
    "post_clen_list_same": "POST / HTTP/1.1\r\n" + H + "Content-Length: 5, 5\r\n\r\nhello",
    "post_chunked": "POST /up HTTP/1.1\r\n" + H +
        "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    "put_expect": "PUT /f HTTP/1.1\r\n" + H +
        "Content-Length: 3\r\nExpect: 100-continue\r\n\r\n",
    "pipelined": "GET /1 HTTP/1.1\r\n" + H + "\r\nGET /2 HTTP/1.1\r\n" + H +
        "\r\nPOST /3 HTTP/1.1\r\n" + H + "Content-Length: 0\r\n\r\n",
    "absolute_form": "GET http://example.com:81/p?q HTTP/1.1\r\nHost: other\r\n\r\n",
    "absolute_form_nopath": "GET https://[::1]:8443 HTTP/1.0\r\n\r\n",
    "absolute_form_query_only": "GET http://example.com?q=1 HTTP/1.1\r\nHost: x\r\n\r\n",
    "connect": "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
    "options_star": "OPTIONS * HTTP/1.1\r\n" + H + "\r\n",
    "upgrade_ws": "GET /chat HTTP/1.1\r\n" + H + "Connection: Upgrade\r\nUpgrade: websocket\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    "leading_crlf": "\r\n\r\nGET / HTTP/1.1\r\n" + H + "\r\n",
    "host_ipv6": "GET / HTTP/1.1\r\nHost: [2001:db8::1]:8080\r\n\r\n",
    "obs_text_value": "GET / HTTP/1.1\r\n" + H + "X-Name: caf\xe9\r\n\r\n",
    "empty_value": "GET / HTTP/1.1\r\n" + H + "X-Empty:\r\nX-Ows: \t v \t\r\n\r\n",
    "delete_patch": "DELETE /r/1 HTTP/1.1\r\n" + H + "\r\nPATCH /r/1 HTTP/1.1\r\n" + H +
        "Content-Length: 2\r\n\r\n{}",
    "partial_head": "GET / HTTP/1.1\r\n" + H,
    # malformed: framing
    "bad_te_and_clen": "POST / HTTP/1.1\r\n" + H +
        "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
    "bad_clen_differ": "POST / HTTP/1.1\r\n" + H + "Content-Length: 5\r\nContent-Length: 6\r\n\r\n",
    "bad_clen_list_differ": "POST / HTTP/1.1\r\n" + H + "Content-Length: 5, 6\r\n\r\n",
    "bad_clen_empty": "POST / HTTP/1.1\r\n" + H + "Content-Length:\r\n\r\n",
    "bad_clen_signed": "POST / HTTP/1.1\r\n" + H + "Content-Length: +5\r\n\r\n",
    "bad_clen_negative": "POST / HTTP/1.1\r\n" + H + "Content-Length: -1\r\n\r\n",
    "bad_clen_hex": "POST / HTTP/1.1\r\n" + H + "Content-Length: 0x10\r\n\r\n",
    "bad_clen_overflow": "POST / HTTP/1.1\r\n" + H + "Content-Length: 99999999999999999999\r\n\r\n",
    "bad_te_chunked_identity": "POST / HTTP/1.1\r\n" + H +
        "Transfer-Encoding: chunked, identity\r\n\r\n",
    "bad_te_xchunked": "POST / HTTP/1.1\r\n" + H + "Transfer-Encoding: xchunked\r\n\r\n",
    "bad_te_vtab": "POST / HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked\x0b\r\n\r\n",
    "bad_te_two_fields": "POST / HTTP/1.1\r\n" + H +
        "Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n",
    "bad_te_gzip_chunked": "POST / HTTP/1.1\r\n" + H + "Transfer-Encoding: gzip, chunked\r\n\r\n",
    "bad_te_params": "POST / HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked;q=1\r\n\r\n",
    "bad_te_http10": "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
    # malformed: line endings and field syntax
    "bad_bare_lf": "GET / HTTP/1.1\n" + "Host: a\n\n",
    "bad_bare_lf_field": "GET / HTTP/1.1\r\nHost: a\nX: y\r\n\r\n",
    "bad_bare_cr": "GET / HTTP/1.1\r\nHost: a\rX: y\r\n\r\n",
    "bad_obs_fold": "GET / HTTP/1.1\r\n" + H + "X-Long: a\r\n b\r\n\r\n",
    "bad_space_before_colon": "GET / HTTP/1.1\r\n" + H + "Content-Length : 0\r\n\r\n",
    "bad_nul_in_name": "GET / HTTP/1.1\r\n" + H + "X-\0A: b\r\n\r\n",
    "bad_nul_in_value": "GET / HTTP/1.1\r\n" + H + "X-A: b\0c\r\n\r\n",
    "bad_ctl_in_value": "GET / HTTP/1.1\r\n" + H + "X-A: b\x01\x7f\r\n\r\n",
    "bad_empty_name": "GET / HTTP/1.1\r\n" + H + ": v\r\n\r\n",
    # malformed: request line
    "bad_method": "G(T / HTTP/1.1\r\n" + H + "\r\n",
    "bad_target_ctl": "GET /a\x01b HTTP/1.1\r\n" + H + "\r\n",
    "bad_target_start": "GET %2F HTTP/1.1\r\n" + H + "\r\n",
    "bad_fragment": "GET /a?b#frag HTTP/1.1\r\n" + H + "\r\n",
    "bad_fragment_absolute": "GET http://example.com#f HTTP/1.1\r\n" + H + "\r\n",
    "bad_two_spaces": "GET  / HTTP/1.1\r\n" + H + "\r\n",
    "bad_scheme": "GET ftp://a/ HTTP/1.1\r\nHost: a\r\n\r\n",
    "bad_userinfo": "GET http://u@a/ HTTP/1.1\r\nHost: a\r\n\r\n",
    "bad_asterisk_get": "GET * HTTP/1.1\r\n" + H + "\r\n",
    "bad_http2_preface": "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
    "bad_http09": "GET /\r\n",
    "bad_version_12": "GET / HTTP/1.2\r\n" + H + "\r\n",
    "bad_version_20": "GET / HTTP/2.0\r\n" + H + "\r\n",
    "bad_version_case": "GET / http/1.1\r\n" + H + "\r\n",
    # malformed: Host
    "bad_no_host": "GET / HTTP/1.1\r\nAccept: */*\r\n\r\n",
    "bad_two_hosts": "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
    "bad_host_comma": "GET / HTTP/1.1\r\nHost: a,b\r\n\r\n",
    "bad_host_port": "GET / HTTP/1.1\r\nHost: a:99999\r\n\r\n",
    "bad_host_space": "GET / HTTP/1.1\r\nHost: a b\r\n\r\n",
    # malformed: limits (414, 431)
    "bad_long_line": "GET /" + "a" * 9000 + " HTTP/1.1\r\n" + H + "\r\n",
    "bad_big_head": "GET / HTTP/1.1\r\n" + H + "".join(
        "X-Pad-%d: %s\r\n" % (i, "v" * 200) for i in range(80)) + "\r\n",
    "bad_many_headers": "GET / HTTP/1.1\r\n" + H + "".join(
        "X-%d: v\r\n" % i for i in range(120)) + "\r\n",
    "bad_many_empty_lines": "\r\n" * 10 + "GET / HTTP/1.1\r\n" + H + "\r\n",
}

RESP = {
    "ok_clen": "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello",
    "ok_chunked": "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    "ok_close_delimited": "HTTP/1.0 200 OK\r\nServer: x\r\n\r\nbody until close",
    "ok_gzip_close_delimited": "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n\x1f\x8b",
    "ok_keepalive": "HTTP/1.1 200 OK\r\nConnection: keep-alive\r\n"
        "Keep-Alive: timeout=5, max=100\r\nContent-Length: 0\r\n\r\n",
    "no_content": "HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n",
    "not_modified": "HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n\r\n",
    "switching": "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
        "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n",
    "continue_then_ok": "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
    "early_hints": "HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n",
    "no_reason": "HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n",
    "empty_reason": "HTTP/1.1 404 \r\nContent-Length: 0\r\n\r\n",
    "obs_text_reason": "HTTP/1.1 200 \xc3\x9c\tok\r\n\r\n",
    "expect_417": "HTTP/1.1 417 Expectation Failed\r\nConnection: close\r\n\r\n",
    "partial": "HTTP/1.1 200 OK\r\nContent-Le",
    "bad_status_short": "HTTP/1.1 20 OK\r\n\r\n",
    "bad_status_600": "HTTP/1.1 600 Beyond\r\nContent-Length: 0\r\n\r\n",
    "bad_status_zero": "HTTP/1.1 099 X\r\n\r\n",
    "bad_version_2": "HTTP/2 200 OK\r\n\r\n",
    "bad_version_09": "HTTP/0.9 200 OK\r\n\r\n",
    "bad_no_space": "HTTP/1.1 200OK\r\n\r\n",
    "bad_icy": "ICY 200 OK\r\n\r\n",
    "bad_bare_lf": "HTTP/1.1 200 OK\nContent-Length: 0\n\n",
    "bad_bare_cr": "HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n",
    "bad_te_and_clen": "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
    "bad_clen_differ": "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n",
    "bad_te_http10": "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
    "bad_te_chunked_twice": "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n",
    "bad_obs_fold": "HTTP/1.1 200 OK\r\nX: a\r\n\tb\r\n\r\n",
    "bad_nul_value": "HTTP/1.1 200 OK\r\nX: a\0b\r\n\r\n",
    "bad_space_colon": "HTTP/1.1 200 OK\r\nContent-Length : 0\r\n\r\n",
    "bad_ctl_reason": "HTTP/1.1 200 O\x01K\r\n\r\n",
    "bad_connection": "HTTP/1.1 200 OK\r\nConnection: close, \"x\"\r\n\r\n",
}

CHUNKED = {
    "one_chunk": "5\r\nhello\r\n0\r\n\r\n",
    "two_chunks": "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
    "upper_hex": "A\r\n0123456789\r\n1F\r\n" + "x" * 31 + "\r\n0\r\n\r\n",
    "leading_zeros": "0005\r\nhello\r\n000\r\n\r\n",
    "extensions": "5;name=value;flag\r\nhello\r\n0;last\r\n\r\n",
    "bws_ext": "5 \t;x=1\r\nhello\r\n0\r\n\r\n",
    "trailers": "5\r\nhello\r\n0\r\nX-Checksum: abc\r\nX-B: 1\r\n\r\n",
    "then_pipelined": "3\r\nabc\r\n0\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
    "empty_body": "0\r\n\r\n",
    "incomplete": "10\r\n0123456",
    "max_digits": "7fffffffffffffff\r\nabc",
    "binary_data": "8\r\n\0\r\n\n\r\xff\x80\x7f\r\n0\r\n\r\n",
    "bad_not_hex": "g\r\nhello\r\n0\r\n\r\n",
    "bad_no_digits": "\r\nhello\r\n",
    "bad_bare_lf_size": "5\nhello\r\n0\r\n\r\n",
    "bad_missing_crlf_after_data": "5\r\nhelloX0\r\n\r\n",
    "bad_bare_lf_after_data": "5\r\nhello\n0\r\n\r\n",
    "bad_overflow": "FFFFFFFFFFFFFFFFF\r\n",
    "bad_17_digits": "00000000000000001\r\nx\r\n",
    "bad_space_before_size": " 5\r\nhello\r\n0\r\n\r\n",
    "bad_negative": "-1\r\n",
    "bad_space_no_ext": "5 \r\nhello\r\n0\r\n\r\n",
    "bad_ctl_in_ext": "5;a\x01\r\nhello\r\n0\r\n\r\n",
    "bad_trailer_bare_lf": "0\r\nX: y\n\r\n",
    "bad_trailer_obs_fold": "0\r\nX: a\r\n b\r\n\r\n",
    "bad_trailer_no_colon": "0\r\nfoo\r\n\r\n",
    "bad_trailer_ctl": "0\r\n\x01X: y\r\n\r\n",
    # limits at their edges: 16 digits up to INT64_MAX, no further
    "max_digits_zeros": "000000000000000f\r\n" + "x" * 15 + "\r\n0\r\n\r\n",
    "bad_over_int64": "8000000000000000\r\n",
    "bad_trailer_empty_name": "0\r\n: v\r\n\r\n",
    "bad_cr_cr_after_data": "1\r\nx\r\r\n0\r\n\r\n",
    "bad_bws_no_ext_last": "1 ;a\r\nx\r\n0 \r\n\r\n",
    "ext_obs_text": "1;n=\"\xe9\t\"\r\nx\r\n0\r\nT: \xe9\t\r\n\r\n",
}


def v2(cmd, fam, addr, tlv=b""):
    """A PROXY v2 header: signature, version 2 + cmd, family, length, addresses, TLVs."""
    body = addr + tlv
    return (b"\r\n\r\n\x00\r\nQUIT\n" + bytes([0x20 | cmd, fam]) +
            len(body).to_bytes(2, "big") + body)


V4 = bytes([192, 0, 2, 1, 198, 51, 100, 7]) + (51234).to_bytes(2, "big") + (443).to_bytes(2, "big")
V6 = (bytes.fromhex("20010db8000000000000000000000001") + bytes.fromhex("20010db8000000000000000000000002") +
      (1).to_bytes(2, "big") + (80).to_bytes(2, "big"))
REQ1 = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"

# PROXY protocol headers, each followed by the request that comes after it.
PROXYPROTO = {
    "v1_tcp4": b"PROXY TCP4 192.0.2.1 198.51.100.7 51234 443\r\n" + REQ1,
    "v1_tcp6": b"PROXY TCP6 2001:db8::1 2001:db8::2 1 80\r\n" + REQ1,
    "v1_tcp6_v4mapped": b"PROXY TCP6 ::ffff:192.0.2.1 ::1 65535 0\r\n",
    "v1_unknown": b"PROXY UNKNOWN\r\n" + REQ1,
    "v1_unknown_fields": b"PROXY UNKNOWN ffff:f...f:ffff ffff:f...f:ffff 65535 65535\r\n",
    "v1_longest": (b"PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
                   b"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n"),
    "v1_partial": b"PROXY TCP4 192.0.2.1 198.5",
    "v1_bad_port_zero": b"PROXY TCP4 192.0.2.1 198.51.100.7 0443 443\r\n",
    "v1_bad_port_big": b"PROXY TCP4 192.0.2.1 198.51.100.7 65536 443\r\n",
    "v1_bad_addr": b"PROXY TCP4 192.0.2.256 198.51.100.7 1 2\r\n",
    "v1_bad_family": b"PROXY TCP4 2001:db8::1 198.51.100.7 1 2\r\n",
    "v1_bad_bare_lf": b"PROXY TCP4 192.0.2.1 198.51.100.7 1 2\n",
    "v1_bad_extra_field": b"PROXY TCP4 192.0.2.1 198.51.100.7 1 2 3\r\n",
    "v1_bad_nul": b"PROXY TCP4 192.0.2.1\x00198.51.100.7 1 2\r\n",
    "v1_107_bytes": b"PROXY UNKNOWN " + b"x" * 91 + b"\r\n",   # the longest line allowed
    "v1_bad_108_bytes": b"PROXY UNKNOWN " + b"x" * 92 + b"\r\n",
    "v1_bad_too_long": b"PROXY UNKNOWN " + b"x" * 100 + b"\r\n",
    "v2_tcp4": v2(1, 0x11, V4) + REQ1,
    "v2_tcp6": v2(1, 0x21, V6) + REQ1,
    "v2_tcp4_tlvs": v2(1, 0x11, V4, b"\x01\x00\x02h2\x04\x00\x00") + REQ1,
    "v2_local": v2(0, 0x00, b"") + REQ1,
    "v2_unspec": v2(1, 0x00, b"\x00" * 4),
    "v2_partial": v2(1, 0x21, V6)[:30],
    "v2_bad_version": b"\r\n\r\n\x00\r\nQUIT\n\x11\x11\x00\x0c" + V4,
    "v2_bad_command": v2(2, 0x11, V4),
    "v2_bad_udp": v2(1, 0x12, V4),
    "v2_bad_short_addr": v2(1, 0x21, V4),
    "not_proxy": REQ1,
}

# Rewrite rules as "regex NUL replacement NUL subject" (one NUL: match-only).
REWRITE = {
    "prefix": "^/old/(.*)$\0/new/$1\0/old/a/b?c=d",
    "no_match": "^/old/(.*)$\0/new/$1\0/other",
    "named_and_plain": "^/(?<ver>v\\d+)/(\\w+)/(.*)$\0/api/$1/$2?rest=$3&v=$$\0/v2/users/42",
    "group_zero_and_unset": "^/a(x)?(/.*)?$\0[$0][$1][$2][$9]\0/a/zz",
    "dollar_dollar": "^/p$\0/$$$$/$$1\0/p",
    "case_insensitive": "(?i)^/IMG/(.+)\\.PNG$\0/img/$1.png\0/img/Cat.PnG",
    "alternation": "^/(a|b|c)+/(\\d{2,4})$\0/x/$2/$1\0/abcab/2024",
    "many_groups": "^" + "(.)" * 40 + "\0$1$9$0\0/" + "abcdefghij" * 5,
    "match_only": "^/api/(v\\d+)/\0/api/v2/users",
    "bad_replace": "^/(.*)$\0/x/$a\0/y",
    "bad_replace_end": "^/(.*)$\0/x/$\0/y",
    "bad_regex": "^/(unclosed\0/x\0/unclosed",
    "bomb": "^(a+)+$\0/x\0" + "a" * 40 + "b",
    "bomb_alt": "^(a|a?)+$\0$1\0" + "a" * 30 + "!",
    "bytes": "[\\x80-\\xff]+\0<$0>\0/caf\xe9/\xff\xfe",
    "lookaround": "(?<=/)(?!x)([^/]+)\0$1$1\0/x/yy/z",
    "backref": "^/(\\w+)/\\1$\0/twice/$1\0/ab/ab",
}


def write(kind, seeds):
    d = os.path.join("tests/fuzz/corpus", kind)
    os.makedirs(d, exist_ok=True)
    for name, text in seeds.items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(text if isinstance(text, bytes) else text.encode("latin-1"))


def main():
    if not os.path.isdir("tests/fuzz"):
        sys.exit("run from the repository root")
    write("req", REQ)
    write("resp", RESP)
    write("chunked", CHUNKED)
    write("proxyproto", PROXYPROTO)
    write("rewrite", REWRITE)
    # config seeds: the shipped config and every unit-test fixture
    d = "tests/fuzz/corpus/conf"
    os.makedirs(d, exist_ok=True)
    shutil.copy("etc/sluice.conf", os.path.join(d, "sluice.conf"))
    fx = "tests/unit/common/conf"
    for name in sorted(os.listdir(fx)):
        if name.endswith(".conf"):
            shutil.copy(os.path.join(fx, name), os.path.join(d, name))


if __name__ == "__main__":
    main()
