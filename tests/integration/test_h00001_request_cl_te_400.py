"""h00001: request body framing that is ambiguous (RFC 9112 6.1, 6.3) gets 400 and a
closed connection, and the backend receives not a single byte: Content-Length that is
empty, signed, not all digits, overflowing, or listed with differing values;
Transfer-Encoding whose final coding is not exactly "chunked" (token-list compare);
Transfer-Encoding together with Content-Length; Transfer-Encoding on HTTP/1.0.
(e00007 covers TE+CL in that order, two differing CL fields and "5x".)"""

import pytest

import rawbackend
from harness import exchange

HEAD = b"POST /echo HTTP/1.1\r\nHost: x\r\n"
SMUGGLED = b"GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"
CHUNKED_BODY = b"5\r\nhello\r\n0\r\n\r\n"


def cl(v):
    return HEAD + b"Content-Length: " + v + b"\r\n\r\nhello" + SMUGGLED


def te(v, version=b"HTTP/1.1"):
    head = HEAD.replace(b"HTTP/1.1", version, 1)
    return head + b"Transfer-Encoding: " + v + b"\r\n\r\n" + CHUNKED_BODY + SMUGGLED


CASES = {
    # Content-Length
    "cl_empty": cl(b""),
    "cl_plus": cl(b"+5"),
    "cl_minus": cl(b"-5"),
    "cl_hex": cl(b"0x5"),
    "cl_5a": cl(b"5a"),
    "cl_decimal": cl(b"5.0"),
    "cl_inner_space": cl(b"5 5"),
    "cl_overflow": cl(b"99999999999999999999999999"),
    "cl_wraps_2p64": cl(b"18446744073709551621"),       # 2^64 + 5
    "cl_list_differ": cl(b"5, 6"),
    "cl_list_differ_nospace": cl(b"5,6"),
    "cl_dup_0_5": HEAD + b"Content-Length: 0\r\nContent-Length: 5\r\n\r\nhello" + SMUGGLED,
    "cl_then_te": HEAD + b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
                  + CHUNKED_BODY + SMUGGLED,
    "te_identity_and_cl": HEAD + b"Transfer-Encoding: identity\r\nContent-Length: 5\r\n\r\n"
                          b"hello" + SMUGGLED,
    # Transfer-Encoding: final coding not exactly "chunked"
    "te_chunked_identity": te(b"chunked, identity"),
    "te_chunked_identity_nospace": te(b"chunked,identity"),
    "te_identity": te(b"identity"),
    "te_gzip": te(b"gzip"),
    "te_xchunked": te(b"xchunked"),
    "te_chunkedx": te(b"chunkedx"),
    "te_chunked_dash": te(b"chunked-false"),
    "te_quoted": te(b'"chunked"'),
    "te_vtab": te(b"chunked\x0b"),
    "te_formfeed": te(b"\x0cchunked"),
    "te_nbsp": te(b"\xa0chunked"),
    "te_inner_space": te(b"chun ked"),
    "te_two_fields_last_identity": HEAD + b"Transfer-Encoding: chunked\r\n"
                                   b"Transfer-Encoding: identity\r\n\r\n" + CHUNKED_BODY + SMUGGLED,
    "te_two_fields_last_x": HEAD + b"Transfer-Encoding: chunked\r\n"
                            b"Transfer-Encoding: x\r\n\r\n" + CHUNKED_BODY + SMUGGLED,
    "te_chunked_twice": te(b"chunked, chunked"),
    "te_tab_before_colon": HEAD + b"Transfer-Encoding\t: chunked\r\n\r\n" + CHUNKED_BODY + SMUGGLED,
    # Transfer-Encoding on HTTP/1.0
    "te_http10": te(b"chunked", b"HTTP/1.0"),
    "te_http10_with_cl": HEAD.replace(b"HTTP/1.1", b"HTTP/1.0", 1)
                         + b"Transfer-Encoding: chunked\r\nContent-Length: 15\r\n\r\n"
                         + CHUNKED_BODY + SMUGGLED,
}


def ok(conn, req):
    return rawbackend.response(200, body=b"forwarded %s\n" % req.target.encode())


@pytest.mark.parametrize("case", sorted(CASES))
def test_ambiguous_framing_400_nothing_forwarded(env, case):
    rb = rawbackend.start(env, "raw", responder=ok)
    s = env.sluice([rb.source], timeouts={"client_header": 3})

    r, closed, err = exchange(s.port, CASES[case], "POST")
    assert r is not None, "no response: %s" % err
    assert r.status == 400, r
    assert closed, "connection left open after 400"
    assert rb.accepts == 0 and rb.received_total() == 0, (rb.accepts, rb.targets())
    # The proxy still serves.
    assert s.get("/fine").status == 200


# Legal optional whitespace around "chunked" (RFC 9110 5.6.3): rejecting is allowed,
# but if accepted the body must be de-chunked exactly and nothing smuggled.
OWS_CASES = {
    "te_trailing_space": b"chunked ",
    "te_tab_around": b"\tchunked\t",
    "te_upper": b"CHUNKED",
}


@pytest.mark.parametrize("case", sorted(OWS_CASES))
def test_te_ows_consistent(env, case):
    rb = rawbackend.start(env, "raw", responder=ok)
    s = env.sluice([rb.source], timeouts={"client_header": 3})

    data = HEAD + b"Transfer-Encoding: " + OWS_CASES[case] + b"\r\n\r\n" + CHUNKED_BODY
    r, closed, err = exchange(s.port, data, "POST")
    assert r is not None, "no response: %s" % err
    assert r.status in (200, 400), r
    if r.status == 400:
        assert rb.received_total() == 0
    else:
        assert r.body == b"forwarded /echo\n", r
        assert len(rb.requests) == 1 and rb.requests[0].body == b"hello", rb.requests
