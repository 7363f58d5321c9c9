/*
 * Unit tests for common/http1.c: request and response head parsing under
 * every split of the input, the strictness rules, and the chunked scanner.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/http1.h"

#define NHDR	32
/* most body-framing cases share this start */
#define POST_A	"POST / HTTP/1.1\r\nHost: a\r\n"

static const struct http1_limits lim = { 8192, 16384, 100 };

static struct http1_header hdrs[NHDR];

/*
 * Parses a heap copy of exactly len bytes, so that ASan catches any read
 * past the end of what the parser was given.
 */
static int
req_n(const char *s, size_t len, const struct http1_limits *l, struct http1_req *r)
{
	char *copy = malloc(len ? len : 1);
	int ret;

	cr_assert_not_null(copy);
	memcpy(copy, s, len);
	ret = http1_parse_req(copy, len, l, r, hdrs, NHDR);
	free(copy);
	return ret;
}

static int
req(const char *s, struct http1_req *r)
{
	return http1_parse_req(s, strlen(s), &lim, r, hdrs, NHDR);
}

static int
resp_n(const char *s, size_t len, struct http1_resp *r)
{
	char *copy = malloc(len ? len : 1);
	int ret;

	cr_assert_not_null(copy);
	memcpy(copy, s, len);
	ret = http1_parse_resp(copy, len, 16384, r, hdrs, NHDR);
	free(copy);
	return ret;
}

static int
resp(const char *s, struct http1_resp *r)
{
	return http1_parse_resp(s, strlen(s), 16384, r, hdrs, NHDR);
}

static int
view_is(struct http1_str v, const char *lit)
{
	return v.len == strlen(lit) && memcmp(v.p, lit, v.len) == 0;
}

/* Every proper prefix is PARTIAL and the whole is accepted. */
static void
assert_req_splits(const char *s)
{
	struct http1_req r;
	size_t i, n = strlen(s);

	for (i = 0; i < n; i++)
		cr_assert_eq(req_n(s, i, &lim, &r), HTTP1_PARTIAL, "prefix %zu of %zu", i, n);
	cr_assert_eq(req_n(s, n, &lim, &r), (int)n);
}

/*
 * A malformed head: the whole gets status, and no prefix is ever accepted
 * (every prefix is PARTIAL or BAD, never a head length).
 */
static void
assert_req_bad(const char *s, int status)
{
	struct http1_req r;
	size_t i, n = strlen(s);

	cr_assert_eq(req_n(s, n, &lim, &r), HTTP1_BAD, "input: %s", s);
	cr_assert_eq(r.status, status, "input: %s -> %d (%s)", s, r.status, r.error);
	cr_assert_not_null(r.error);
	for (i = 0; i < n; i++)
		cr_assert_lt(req_n(s, i, &lim, &r), 0, "prefix %zu of: %s", i, s);
}

static void
assert_resp_bad(const char *s)
{
	struct http1_resp r;
	size_t i, n = strlen(s);

	cr_assert_eq(resp_n(s, n, &r), HTTP1_BAD, "input: %s", s);
	cr_assert_not_null(r.error);
	for (i = 0; i < n; i++)
		cr_assert_lt(resp_n(s, i, &r), 0, "prefix %zu of: %s", i, s);
}

/* --- requests: accepted --- */

Test(http1, simple_get)
{
	struct http1_req r;
	static const char in[] = "GET /index.html?q=1 HTTP/1.1\r\nHost: example.com\r\n\r\n";

	cr_assert_eq(req(in, &r), (int)sizeof(in) - 1);
	cr_assert_eq(r.head_len, sizeof(in) - 1);
	cr_assert_eq(r.meth, HTTP1_M_GET);
	cr_assert(view_is(r.method, "GET"));
	cr_assert(view_is(r.target, "/index.html?q=1"));
	cr_assert(view_is(r.path, "/index.html?q=1"));
	cr_assert(view_is(r.host, "example.com"));
	cr_assert(view_is(r.line, "GET /index.html?q=1 HTTP/1.1\r\n"));
	cr_assert_eq(r.minor, 1);
	cr_assert_eq(r.flags, HTTP1_F_HAS_HOST);
	cr_assert_eq(r.nheaders, 1);
	cr_assert_eq(r.headers, hdrs);
	cr_assert(view_is(hdrs[0].name, "Host"));
	cr_assert(view_is(hdrs[0].value, "example.com"));
	cr_assert(view_is(hdrs[0].line, "Host: example.com\r\n"));
}

Test(http1, head_split_across_reads_is_partial)
{
	struct http1_req r;
	static const char in[] = "GET / HTTP/1.1\r\nHost: a\r\n";

	cr_assert_eq(http1_parse_req(in, sizeof(in) - 1, &lim, &r, hdrs, NHDR), HTTP1_PARTIAL);
}

Test(http1, every_split_position)
{
	assert_req_splits("\r\n\r\nPOST /a/b?c=d HTTP/1.1\r\nHost: h.example:8080\r\n"
	    "Content-Length: 5\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n"
	    "Expect: 100-Continue\r\nX-Empty:\r\nX-Ws: \t a b \t\r\n\r\n");
	assert_req_splits("GET http://example.com HTTP/1.1\r\nHost: x\r\n\r\n");
	assert_req_splits("OPTIONS * HTTP/1.0\r\n\r\n");
}

Test(http1, byte_by_byte_growing_buffer)
{
	static const char in[] = "PUT /up HTTP/1.1\r\nHost: a\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n";
	char buf[sizeof(in)];
	struct http1_req r;
	size_t i;
	int ret = HTTP1_PARTIAL;

	for (i = 0; i < sizeof(in) - 1; i++) {
		cr_assert_eq(ret, HTTP1_PARTIAL);
		buf[i] = in[i];
		ret = http1_parse_req(buf, i + 1, &lim, &r, hdrs, NHDR);
	}
	cr_assert_eq(ret, (int)sizeof(in) - 1);
	cr_assert_eq(r.flags & HTTP1_F_CHUNKED, HTTP1_F_CHUNKED);
}

Test(http1, leading_empty_lines_skipped)
{
	struct http1_req r;
	static const char in[] = "\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n";

	cr_assert_eq(req(in, &r), (int)sizeof(in) - 1);
	cr_assert_eq(r.line.p, in + 4);
	/* nine empty lines is one too many */
	assert_req_bad("\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n"
	    "GET / HTTP/1.1\r\nHost: a\r\n\r\n", 400);
}

Test(http1, pipelined_requests)
{
	static const char in[] = "GET /1 HTTP/1.1\r\nHost: a\r\n\r\n"
	    "POST /2 HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc"
	    "GET /3 HTTP/1.0\r\n\r\n";
	const char *p = in;
	size_t left = sizeof(in) - 1;
	struct http1_req r;
	int n;

	n = http1_parse_req(p, left, &lim, &r, hdrs, NHDR);
	cr_assert_eq(n, (int)strlen("GET /1 HTTP/1.1\r\nHost: a\r\n\r\n"));
	cr_assert(view_is(r.path, "/1"));
	p += n;
	left -= (size_t)n;
	n = http1_parse_req(p, left, &lim, &r, hdrs, NHDR);
	cr_assert_gt(n, 0);
	cr_assert(view_is(r.path, "/2"));
	cr_assert_eq(r.content_length, 3);
	p += n + r.content_length;
	left -= (size_t)n + r.content_length;
	n = http1_parse_req(p, left, &lim, &r, hdrs, NHDR);
	cr_assert_eq(n, (int)left);
	cr_assert(view_is(r.path, "/3"));
	cr_assert_eq(r.minor, 0);
}

Test(http1, post_content_length)
{
	struct http1_req r;

	cr_assert_gt(req("POST /f HTTP/1.1\r\nHost: a\r\nContent-Length: 42\r\n\r\n", &r), 0);
	cr_assert_eq(r.meth, HTTP1_M_POST);
	cr_assert_eq(r.flags, HTTP1_F_HAS_HOST | HTTP1_F_CLEN);
	cr_assert_eq(r.content_length, 42);
	/* identical duplicates are one value (RFC 9110 §8.6) */
	cr_assert_gt(req(POST_A "Content-Length: 5, 5\r\n"
	    "Content-Length: 5\r\n\r\n", &r), 0);
	cr_assert_eq(r.content_length, 5);
	cr_assert_gt(req(POST_A "Content-Length: 9223372036854775807\r\n\r\n",
	    &r), 0);
	cr_assert_eq(r.content_length, UINT64_C(9223372036854775807));
	cr_assert_gt(req(POST_A "Content-Length: 0\r\n\r\n", &r), 0);
	cr_assert_eq(r.flags & HTTP1_F_CLEN, HTTP1_F_CLEN);
	cr_assert_eq(r.content_length, 0);
}

Test(http1, chunked_request)
{
	struct http1_req r;

	cr_assert_gt(req(POST_A "Transfer-Encoding: Chunked\r\n\r\n", &r), 0);
	cr_assert_eq(r.flags, HTTP1_F_HAS_HOST | HTTP1_F_CHUNKED);
	/* the coding list runs across fields; empty elements are ignored */
	cr_assert_eq(req(POST_A "Transfer-Encoding: ,\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n", &r) > 0, 1);
	/* a known-shaped coding we do not implement */
	cr_assert_eq(req(POST_A "Transfer-Encoding: gzip, chunked\r\n\r\n",
	    &r), HTTP1_BAD);
	cr_assert_eq(r.status, 501);
}

Test(http1, absolute_form)
{
	struct http1_req r;

	cr_assert_gt(req("GET http://Example.com:81/p?q HTTP/1.1\r\nHost: other\r\n\r\n", &r), 0);
	cr_assert(view_is(r.target, "http://Example.com:81/p?q"));
	cr_assert(view_is(r.path, "/p?q"));
	cr_assert(view_is(r.host, "Example.com:81"));
	cr_assert_eq(r.flags, HTTP1_F_HAS_HOST);

	cr_assert_gt(req("GET HTTPS://[::1]:8443 HTTP/1.0\r\n\r\n", &r), 0);
	cr_assert(view_is(r.path, "/"));
	cr_assert(view_is(r.host, "[::1]:8443"));
	cr_assert_eq(r.flags, HTTP1_F_HAS_HOST);

	assert_req_bad("GET ftp://a/ HTTP/1.1\r\nHost: a\r\n\r\n", 400);
	assert_req_bad("GET http://u@a/ HTTP/1.1\r\nHost: a\r\n\r\n", 400);
	assert_req_bad("GET http:///x HTTP/1.1\r\nHost: a\r\n\r\n", 400);
	/* An empty path with a query: the caller sends "/" + path (RFC 9112 §3.2.1). */
	cr_assert_gt(req("GET http://a?q HTTP/1.1\r\nHost: a\r\n\r\n", &r), 0);
	cr_assert(view_is(r.path, "?q"));
	cr_assert(r.flags & HTTP1_F_EMPTY_PATH);
	assert_req_bad("GET http://a/p#frag HTTP/1.1\r\nHost: a\r\n\r\n", 400);
	assert_req_bad("GET /p#frag HTTP/1.1\r\nHost: a\r\n\r\n", 400);
	assert_req_bad("GET http://a b/ HTTP/1.1\r\nHost: a\r\n\r\n", 400);
	/* 1.1 still needs its Host field, even if the authority overrides it */
	assert_req_bad("GET http://a/ HTTP/1.1\r\n\r\n", 400);
}

Test(http1, http10_without_host)
{
	struct http1_req r;

	cr_assert_gt(req("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", &r), 0);
	cr_assert_eq(r.minor, 0);
	cr_assert_eq(r.flags, HTTP1_F_CONN_KEEPALIVE);
	cr_assert_null(r.host.p);
}

Test(http1, asterisk_and_authority_forms)
{
	struct http1_req r;

	cr_assert_gt(req("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", &r), 0);
	cr_assert_eq(r.meth, HTTP1_M_OPTIONS);
	cr_assert(view_is(r.path, "*"));
	cr_assert_gt(req("CONNECT a.example:443 HTTP/1.1\r\nHost: a.example:443\r\n\r\n", &r), 0);
	cr_assert_eq(r.meth, HTTP1_M_CONNECT);
	cr_assert(view_is(r.target, "a.example:443"));
	cr_assert_eq(r.path.len, 0);
	assert_req_bad("GET * HTTP/1.1\r\nHost: a\r\n\r\n", 400);
	assert_req_bad("OPTIONS *x HTTP/1.1\r\nHost: a\r\n\r\n", 400);
	assert_req_bad("CONNECT / HTTP/1.1\r\nHost: a\r\n\r\n", 400);
	assert_req_bad("CONNECT a.example HTTP/1.1\r\nHost: a\r\n\r\n", 400);
	assert_req_bad("GET a.example:443 HTTP/1.1\r\nHost: a\r\n\r\n", 400);
}

Test(http1, methods_are_case_sensitive)
{
	static const struct {
		const char		*m;
		enum http1_method	 e;
	} tab[] = {
		{ "GET", HTTP1_M_GET }, { "HEAD", HTTP1_M_HEAD }, { "POST", HTTP1_M_POST },
		{ "PUT", HTTP1_M_PUT }, { "DELETE", HTTP1_M_DELETE },
		{ "TRACE", HTTP1_M_TRACE }, { "PATCH", HTTP1_M_PATCH },
		{ "get", HTTP1_M_OTHER }, { "PROPFIND", HTTP1_M_OTHER }, { "GETX", HTTP1_M_OTHER },
	};
	struct http1_req r;
	char in[128];
	size_t i;

	for (i = 0; i < sizeof(tab) / sizeof(tab[0]); i++) {
		snprintf(in, sizeof(in), "%s / HTTP/1.1\r\nHost: a\r\n\r\n", tab[i].m);
		cr_assert_gt(req(in, &r), 0, "%s", tab[i].m);
		cr_assert_eq(r.meth, tab[i].e, "%s", tab[i].m);
	}
}

Test(http1, connection_expect_upgrade_flags)
{
	struct http1_req r;

	cr_assert_gt(req("GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, ,CLOSE\r\n"
	    "Upgrade: h2c\r\nExpect: 100-continue\r\n\r\n", &r), 0);
	cr_assert_eq(r.flags, HTTP1_F_HAS_HOST | HTTP1_F_CONN_UPGRADE | HTTP1_F_CONN_CLOSE |
	    HTTP1_F_UPGRADE_HDR | HTTP1_F_EXPECT_CONTINUE);
	/* RFC 9110 §10.1.1: 100-continue from an HTTP/1.0 client is ignored */
	cr_assert_gt(req("GET / HTTP/1.0\r\nExpect: 100-continue\r\n\r\n", &r), 0);
	cr_assert_eq(r.flags, 0);
	assert_req_bad("GET / HTTP/1.1\r\nHost: a\r\nConnection: a b\r\n\r\n", 400);
}

Test(http1, field_values_trimmed_and_obs_text)
{
	struct http1_req r;

	cr_assert_gt(req("GET / HTTP/1.1\r\nHost:a\r\nX-A:  \t v \xe9\xff \t \r\nX-B:\r\n\r\n", &r),
	    0);
	cr_assert_eq(r.nheaders, 3);
	cr_assert(view_is(hdrs[0].value, "a"));
	cr_assert(view_is(hdrs[1].value, "v \xe9\xff"));
	cr_assert(view_is(hdrs[1].line, "X-A:  \t v \xe9\xff \t \r\n"));
	cr_assert_eq(hdrs[2].value.len, 0);
}

Test(http1, host_values)
{
	struct http1_req r;

	cr_assert_gt(req("GET / HTTP/1.1\r\nHost: 10.0.0.1:65535\r\n\r\n", &r), 0);
	cr_assert(view_is(r.host, "10.0.0.1:65535"));
	cr_assert_gt(req("GET / HTTP/1.1\r\nHost: [2001:db8::1]\r\n\r\n", &r), 0);
	cr_assert_gt(req("GET / HTTP/1.1\r\nHost: xn--bcher-kva.example\r\n\r\n", &r), 0);
	/* RFC 9110 §7.2 allows an empty Host */
	cr_assert_gt(req("GET / HTTP/1.1\r\nHost:\r\n\r\n", &r), 0);
	cr_assert_eq(r.flags, HTTP1_F_HAS_HOST);
	cr_assert_eq(r.host.len, 0);
}

/* --- requests: rejected --- */

Test(http1, te_and_cl)
{
	assert_req_bad(POST_A "Content-Length: 5\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n", 400);
	assert_req_bad(POST_A "Transfer-Encoding: chunked\r\n"
	    "Content-Length: 5\r\n\r\n", 400);
}

Test(http1, bad_content_length)
{
	assert_req_bad(POST_A "Content-Length: 5\r\nContent-Length: 6\r\n\r\n",
	    400);
	assert_req_bad(POST_A "Content-Length: 5, 6\r\n\r\n", 400);
	assert_req_bad(POST_A "Content-Length: 5,\r\n\r\n", 400);
	assert_req_bad(POST_A "Content-Length: +5\r\n\r\n", 400);
	assert_req_bad(POST_A "Content-Length: -5\r\n\r\n", 400);
	assert_req_bad(POST_A "Content-Length:\r\n\r\n", 400);
	assert_req_bad(POST_A "Content-Length: 5a\r\n\r\n", 400);
	assert_req_bad(POST_A "Content-Length: 0x5\r\n\r\n", 400);
	assert_req_bad(POST_A "Content-Length: 5 5\r\n\r\n", 400);
	assert_req_bad(POST_A "Content-Length: 9223372036854775808\r\n\r\n",
	    400);
	assert_req_bad(POST_A "Content-Length: 99999999999999999999999\r\n\r\n",
	    400);
}

Test(http1, bad_transfer_encoding)
{
	assert_req_bad(POST_A "Transfer-Encoding: chunked, identity\r\n\r\n",
	    400);
	assert_req_bad(POST_A "Transfer-Encoding: xchunked\r\n\r\n", 400);
	assert_req_bad(POST_A "Transfer-Encoding: chunked\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n", 400);
	assert_req_bad(POST_A "Transfer-Encoding: gzip\r\n\r\n", 400);
	assert_req_bad(POST_A "Transfer-Encoding:\r\n\r\n", 400);
	assert_req_bad(POST_A "Transfer-Encoding: chunked;x=1\r\n\r\n", 400);
	assert_req_bad(POST_A "Transfer-Encoding: \"chunked\"\r\n\r\n", 400);
	assert_req_bad("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400);
}

Test(http1, bad_field_syntax)
{
	assert_req_bad("GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n c\r\n\r\n", 400);
	assert_req_bad("GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n\tc\r\n\r\n", 400);
	assert_req_bad("GET / HTTP/1.1\r\n Host: a\r\n\r\n", 400);
	assert_req_bad("GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400);
	assert_req_bad("GET / HTTP/1.1\r\nHost\t: a\r\n\r\n", 400);
	assert_req_bad("GET / HTTP/1.1\r\n: a\r\nHost: a\r\n\r\n", 400);
	assert_req_bad("GET / HTTP/1.1\r\nHost a\r\n\r\n", 400);
	assert_req_bad("GET / HTTP/1.1\r\nX\x01Y: a\r\nHost: a\r\n\r\n", 400);
	assert_req_bad("GET / HTTP/1.1\r\nX(Y): a\r\nHost: a\r\n\r\n", 400);
	assert_req_bad("GET / HTTP/1.1\r\nHost: a\r\nX-A: b\x7f\r\n\r\n", 400);
	assert_req_bad("GET / HTTP/1.1\r\nHost: a\r\nX-A: b\x0b\r\n\r\n", 400);
}

Test(http1, nul_in_value)
{
	static const char in[] = "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\0c\r\n\r\n";
	struct http1_req r;

	cr_assert_eq(req_n(in, sizeof(in) - 1, &lim, &r), HTTP1_BAD);
	cr_assert_eq(r.status, 400);
}

Test(http1, bare_lf_and_bare_cr)
{
	assert_req_bad("GET / HTTP/1.1\nHost: a\r\n\r\n", 400);
	assert_req_bad("GET / HTTP/1.1\r\nHost: a\n\r\n", 400);
	assert_req_bad("GET / HTTP/1.1\r\nHost: a\r\n\n", 400);
	assert_req_bad("\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", 400);
	assert_req_bad("GET / HTTP/1.1\rHost: a\r\n\r\n", 400);
	assert_req_bad("GET / HTTP/1.1\r\nHost: a\rX: b\r\n\r\n", 400);
	assert_req_bad("GET / HTTP/1.1\r\nHost: a\r\n\rX", 400);
	assert_req_bad("\rGET / HTTP/1.1\r\nHost: a\r\n\r\n", 400);
}

Test(http1, bad_request_line)
{
	assert_req_bad("G(T / HTTP/1.1\r\nHost: a\r\n\r\n", 400);
	assert_req_bad("GE\x01T / HTTP/1.1\r\nHost: a\r\n\r\n", 400);
	assert_req_bad(" GET / HTTP/1.1\r\nHost: a\r\n\r\n", 400);
	assert_req_bad("GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400);
	assert_req_bad("GET /a b HTTP/1.1\r\nHost: a\r\n\r\n", 400);
	assert_req_bad("GET /a\tb HTTP/1.1\r\nHost: a\r\n\r\n", 400);
	assert_req_bad("GET /a\x7f HTTP/1.1\r\nHost: a\r\n\r\n", 400);
	assert_req_bad("GET /\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n", 400);
	assert_req_bad("GET / HTTP/1.1 \r\nHost: a\r\n\r\n", 400);
	assert_req_bad("GET / http/1.1\r\nHost: a\r\n\r\n", 400);
	assert_req_bad("GET / HTTP/1.x\r\nHost: a\r\n\r\n", 400);
	assert_req_bad("GET / HTTP/11\r\nHost: a\r\n\r\n", 400);
	assert_req_bad("GET / FOO\r\nHost: a\r\n\r\n", 400);
}

Test(http1, http09_is_rejected)
{
	assert_req_bad("GET /\r\n", 400);
	assert_req_bad("GET /\r\n\r\n", 400);
}

Test(http1, other_versions_505)
{
	assert_req_bad("GET / HTTP/3.0\r\nHost: a\r\n\r\n", 505);
	assert_req_bad("GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505);
	assert_req_bad("GET / HTTP/1.2\r\nHost: a\r\n\r\n", 505);
	assert_req_bad("GET / HTTP/0.9\r\n\r\n", 505);
}

Test(http1, http2_preface_detected_early)
{
	static const char pri[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
	struct http1_req r;

	assert_req_bad(pri, 400);
	/* known bad as soon as "PRI *" is in */
	cr_assert_eq(req_n(pri, 5, &lim, &r), HTTP1_BAD);
	cr_assert_eq(req_n(pri, 4, &lim, &r), HTTP1_PARTIAL);
}

Test(http1, host_rules)
{
	assert_req_bad("GET / HTTP/1.1\r\n\r\n", 400);
	assert_req_bad("GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", 400);
	assert_req_bad("GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n", 400);
	assert_req_bad("GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400);
	assert_req_bad("GET / HTTP/1.1\r\nHost: a,b\r\n\r\n", 400);
	assert_req_bad("GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400);
	assert_req_bad("GET / HTTP/1.1\r\nHost: u@a\r\n\r\n", 400);
	assert_req_bad("GET / HTTP/1.1\r\nHost: a:http\r\n\r\n", 400);
	assert_req_bad("GET / HTTP/1.1\r\nHost: a:\r\n\r\n", 400);
	assert_req_bad("GET / HTTP/1.1\r\nHost: a:65536\r\n\r\n", 400);
	assert_req_bad("GET / HTTP/1.1\r\nHost: :80\r\n\r\n", 400);
	assert_req_bad("GET / HTTP/1.1\r\nHost: [::1\r\n\r\n", 400);
	assert_req_bad("GET / HTTP/1.1\r\nHost: [::1]x\r\n\r\n", 400);
	assert_req_bad("GET / HTTP/1.1\r\nHost: a%zz\r\n\r\n", 400);
	assert_req_bad("GET / HTTP/1.1\r\nHost: a\xc3\xa9\r\n\r\n", 400);
}

/* --- limits --- */

Test(http1, request_line_too_long_414)
{
	struct http1_limits l = { 20, 1000, 10 };
	struct http1_req r;
	/* request lines of 27 and of exactly 20 bytes */
	static const char ok[] = "GET /123456789012 HTTP/1.1\r\nHost: a\r\n\r\n";
	static const char ok20[] = "GET /12345 HTTP/1.1\r\nHost: a\r\n\r\n";

	cr_assert_eq(req_n(ok, strlen(ok), &l, &r), HTTP1_BAD);
	cr_assert_eq(r.status, 414);
	cr_assert_gt(req_n(ok20, strlen(ok20), &l, &r), 0);
	/* while partial: 21 bytes and no line end yet */
	cr_assert_eq(req_n(ok, 20, &l, &r), HTTP1_PARTIAL);
	cr_assert_eq(req_n(ok, 21, &l, &r), HTTP1_BAD);
	cr_assert_eq(r.status, 414);
	/* garbage within the limit is still a 400 */
	cr_assert_eq(req_n("GET /\x01xxxxxxxxxxxxxxxxxxxxxxxxxxxx", 30, &l, &r), HTTP1_BAD);
	cr_assert_eq(r.status, 400);
}

Test(http1, header_section_too_large_431)
{
	struct http1_limits l = { 100, 40, 10 };
	struct http1_req r;
	/* heads of 38 and 41 bytes against a 40-byte limit */
	static const char in40[] = "GET / HTTP/1.1\r\nHost: a\r\nX: 123456\r\n\r\n";
	static const char in41[] = "GET / HTTP/1.1\r\nHost: a\r\nX: 123456789\r\n\r\n";

	cr_assert_eq(strlen(in40), 38);
	cr_assert_eq(strlen(in41), 41);
	cr_assert_eq(req_n(in40, strlen(in40), &l, &r), 38);
	cr_assert_eq(req_n(in41, strlen(in41), &l, &r), HTTP1_BAD);
	cr_assert_eq(r.status, 431);
	/* while partial: 40 bytes in and the head has not ended */
	cr_assert_eq(req_n(in41, 39, &l, &r), HTTP1_PARTIAL);
	cr_assert_eq(req_n(in41, 40, &l, &r), HTTP1_BAD);
	cr_assert_eq(r.status, 431);
	/* a head of exactly the limit fits */
	l.max_header_size = 38;
	cr_assert_eq(req_n(in40, strlen(in40), &l, &r), 38);
}

Test(http1, too_many_fields_431)
{
	struct http1_limits l = { 100, 1000, 3 };
	struct http1_req r;
	static const char in3[] = "GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\n\r\n";
	static const char in4[] = "GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n";

	cr_assert_gt(req_n(in3, strlen(in3), &l, &r), 0);
	cr_assert_eq(req_n(in4, strlen(in4), &l, &r), HTTP1_BAD);
	cr_assert_eq(r.status, 431);
	/* known as soon as the fourth field starts */
	cr_assert_eq(req_n(in4, strlen(in3) - 1, &l, &r), HTTP1_BAD);
	cr_assert_eq(r.status, 431);
	/* the caller's array is the other bound */
	l.max_headers = 100;
	cr_assert_eq(http1_parse_req(in4, strlen(in4), &l, &r, hdrs, 3), HTTP1_BAD);
	cr_assert_eq(r.status, 431);
	cr_assert_gt(http1_parse_req(in4, strlen(in4), &l, &r, hdrs, 4), 0);
}

/* --- responses --- */

Test(http1, resp_200_content_length)
{
	struct http1_resp r;
	static const char in[] = "HTTP/1.1 200 OK\r\nContent-Length: 12\r\nServer: x\r\n\r\nhello";

	cr_assert_eq(resp(in, &r), (int)sizeof(in) - 1 - 5);
	cr_assert_eq(r.status, 200);
	cr_assert_eq(r.minor, 1);
	cr_assert(view_is(r.reason, "OK"));
	cr_assert(view_is(r.line, "HTTP/1.1 200 OK\r\n"));
	cr_assert_eq(r.flags, HTTP1_F_CLEN);
	cr_assert_eq(r.content_length, 12);
	cr_assert_eq(r.nheaders, 2);
	cr_assert_eq(r.keepalive_timeout, -1);
	cr_assert_eq(r.head_len, sizeof(in) - 1 - 5);
}

Test(http1, resp_chunked_204_close_delimited)
{
	struct http1_resp r;

	cr_assert_gt(resp("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", &r), 0);
	cr_assert_eq(r.flags, HTTP1_F_CHUNKED);
	cr_assert_gt(resp("HTTP/1.1 204 No Content\r\n\r\n", &r), 0);
	cr_assert_eq(r.status, 204);
	cr_assert_eq(r.flags, 0);
	/* neither framing field: the body runs to connection close */
	cr_assert_gt(resp("HTTP/1.0 200 OK\r\nConnection: close\r\n\r\n", &r), 0);
	cr_assert_eq(r.flags, HTTP1_F_CONN_CLOSE);
	/* RFC 9112 §6.3: chunked not final in a response => close-delimited */
	cr_assert_gt(resp("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", &r), 0);
	cr_assert_eq(r.flags, 0);
	cr_assert_gt(resp("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", &r), 0);
	cr_assert_eq(r.flags, 0);
}

Test(http1, resp_keepalive_timeout)
{
	struct http1_resp r;

	cr_assert_gt(resp("HTTP/1.1 200 OK\r\nKeep-Alive: timeout=5, max=100\r\n"
	    "Content-Length: 0\r\n\r\n", &r), 0);
	cr_assert_eq(r.keepalive_timeout, 5);
	cr_assert_gt(resp("HTTP/1.1 200 OK\r\nKeep-Alive: max=3,Timeout = 30\r\n\r\n", &r), 0);
	cr_assert_eq(r.keepalive_timeout, 30);
	cr_assert_gt(resp("HTTP/1.1 200 OK\r\nKeep-Alive: max=3\r\n\r\n", &r), 0);
	cr_assert_eq(r.keepalive_timeout, -1);
	cr_assert_gt(resp("HTTP/1.1 200 OK\r\nKeep-Alive: timeout=x\r\n\r\n", &r), 0);
	cr_assert_eq(r.keepalive_timeout, -1);
}

Test(http1, resp_status_lines)
{
	struct http1_resp r;

	cr_assert_gt(resp("HTTP/1.1 200\r\n\r\n", &r), 0);
	cr_assert_eq(r.reason.len, 0);
	cr_assert_gt(resp("HTTP/1.1 200 \r\n\r\n", &r), 0);
	cr_assert_eq(r.reason.len, 0);
	cr_assert_gt(resp("HTTP/1.0 599 Whatever \xe9 you\tsay\r\n\r\n", &r), 0);
	cr_assert_eq(r.status, 599);
	cr_assert_eq(r.minor, 0);
	/* RFC 9110 §15: status codes are 100..599. */
	cr_assert_eq(resp("HTTP/1.1 600 Nope\r\n\r\n", &r), HTTP1_BAD);
	cr_assert_gt(resp("HTTP/1.1 100 Continue\r\n\r\n", &r), 0);
	cr_assert_eq(r.status, 100);

	assert_resp_bad("HTTP/1.1 20 OK\r\n\r\n");
	assert_resp_bad("HTTP/1.1 2000 OK\r\n\r\n");
	assert_resp_bad("HTTP/1.1 abc OK\r\n\r\n");
	assert_resp_bad("HTTP/1.1 099 OK\r\n\r\n");
	assert_resp_bad("HTP/1.1 200 OK\r\n\r\n");
	assert_resp_bad("HTTP/2.0 200 OK\r\n\r\n");
	assert_resp_bad("HTTP/1.1  200 OK\r\n\r\n");
	assert_resp_bad("HTTP/1.1 200 O\x01K\r\n\r\n");
	assert_resp_bad("HTTP/1.1 200 OK\n\r\n");
	assert_resp_bad("\r\nHTTP/1.1 200 OK\r\n\r\n");
}

Test(http1, resp_malformed_framing)
{
	assert_resp_bad("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n");
	assert_resp_bad("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n");
	assert_resp_bad("HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n");
	assert_resp_bad("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n");
	assert_resp_bad("HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
	assert_resp_bad("HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n");
	assert_resp_bad("HTTP/1.1 200 OK\r\nX : a\r\n\r\n");
	assert_resp_bad("HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n");
}

Test(http1, resp_every_split_and_limits)
{
	static const char in[] = "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\n"
	    "Transfer-Encoding: chunked\r\nKeep-Alive: timeout=2\r\n\r\n";
	struct http1_resp r;
	size_t i, n = sizeof(in) - 1;

	for (i = 0; i < n; i++)
		cr_assert_eq(resp_n(in, i, &r), HTTP1_PARTIAL, "prefix %zu", i);
	cr_assert_eq(resp_n(in, n, &r), (int)n);
	cr_assert_eq(r.status, 404);
	cr_assert_eq(r.flags, HTTP1_F_CHUNKED);
	cr_assert_eq(r.keepalive_timeout, 2);

	cr_assert_eq(http1_parse_resp(in, n, (uint32_t)n, &r, hdrs, NHDR), (int)n);
	cr_assert_eq(http1_parse_resp(in, n, (uint32_t)n - 1, &r, hdrs, NHDR), HTTP1_BAD);
	cr_assert_eq(http1_parse_resp(in, 20, 20, &r, hdrs, NHDR), HTTP1_BAD);
	cr_assert_eq(http1_parse_resp(in, n, 1000, &r, hdrs, 2), HTTP1_BAD);
	cr_assert_eq(http1_parse_resp(in, n, 1000, &r, hdrs, 3), (int)n);
}

/* --- chunked scanner --- */

static const char body[] = "5;ext=\"v\";x\r\nhello\r\n"
    "00b ; name=val\r\n, big world\r\n"
    "1\r\n!\r\n"
    "0\r\nTrailer-A: 1\r\nTrailer-B:\t2\r\n\r\n";
static const char payload[] = "hello, big world!";

/*
 * Feeds body cut at each position in cuts, copying out the payload spans.
 * Returns the total consumed.
 */
static size_t
feed_split(const char *in, size_t n, size_t step, char *out, size_t *outlen)
{
	struct http1_chunked c = { 0 };
	size_t off = 0, end, dl;
	const char *d;
	ssize_t r;

	*outlen = 0;
	while (!c.done) {
		end = off + step < n ? off + step : n;
		cr_assert(off < n || c.done, "ran out of input at %zu", off);
		r = http1_chunked_feed(&c, in + off, end - off, &d, &dl);
		cr_assert_geq(r, 0, "step %zu off %zu", step, off);
		if (dl > 0) {
			cr_assert(d >= in + off && d + dl <= in + off + (size_t)r);
			memcpy(out + *outlen, d, dl);
			*outlen += dl;
		}
		off += (size_t)r;
		/* a call consuming nothing must be waiting for the next read */
		if (r == 0 && !c.done)
			cr_assert_eq(end, n);
	}
	return off;
}

Test(http1, chunked_simple)
{
	static const char in[] = "4\r\nWiki\r\n0\r\n\r\n";
	struct http1_chunked c = { 0 };

	cr_assert_eq(http1_chunked_feed(&c, in, sizeof(in) - 1, NULL, NULL),
	    (ssize_t)sizeof(in) - 1);
	cr_assert_eq(c.done, 1);
	cr_assert_eq(http1_chunked_feed(&c, "x", 1, NULL, NULL), 0);
}

Test(http1, chunked_every_split_and_spans)
{
	char out[64];
	size_t i, n = sizeof(body) - 1, outlen;

	/* two pieces cut at every position */
	for (i = 0; i <= n; i++) {
		struct http1_chunked c = { 0 };
		const char *d;
		size_t dl, got = 0, off = 0;
		ssize_t r;

		while (off < i) {
			r = http1_chunked_feed(&c, body + off, i - off, &d, &dl);
			cr_assert_geq(r, 0);
			if (dl > 0)
				memcpy(out + got, d, dl);
			got += dl;
			off += (size_t)r;
			if (dl == 0)
				break;
		}
		cr_assert_eq(c.done, i == n, "cut %zu", i);
		while (!c.done) {
			r = http1_chunked_feed(&c, body + off, n - off, &d, &dl);
			cr_assert_geq(r, 0, "cut %zu", i);
			cr_assert(r > 0 || c.done);
			if (dl > 0)
				memcpy(out + got, d, dl);
			got += dl;
			off += (size_t)r;
		}
		cr_assert_eq(off, n, "cut %zu", i);
		cr_assert_eq(got, sizeof(payload) - 1);
		cr_assert_eq(memcmp(out, payload, got), 0);
	}
	/* fixed step sizes, byte-by-byte included */
	for (i = 1; i <= n; i++) {
		cr_assert_eq(feed_split(body, n, i, out, &outlen), n, "step %zu", i);
		cr_assert_eq(outlen, sizeof(payload) - 1);
		cr_assert_eq(memcmp(out, payload, outlen), 0, "step %zu", i);
	}
}

Test(http1, chunked_byte_by_byte_no_data_ptr)
{
	struct http1_chunked c = { 0 };
	size_t i, n = sizeof(body) - 1;

	for (i = 0; i < n; i++) {
		cr_assert_eq(c.done, 0);
		cr_assert_eq(http1_chunked_feed(&c, body + i, 1, NULL, NULL), 1, "byte %zu", i);
	}
	cr_assert_eq(c.done, 1);
}

Test(http1, chunked_leaves_pipelined_bytes)
{
	char buf[256];
	struct http1_chunked c = { 0 };
	size_t n = sizeof(body) - 1;

	memcpy(buf, body, n);
	memcpy(buf + n, "GET / HTTP/1.1\r\n", 16);
	cr_assert_eq(http1_chunked_feed(&c, buf, n + 16, NULL, NULL), (ssize_t)n);
	cr_assert_eq(c.done, 1);
}

Test(http1, chunked_large_sizes)
{
	struct http1_chunked c = { 0 };
	const char *d;
	size_t dl;

	cr_assert_eq(http1_chunked_feed(&c, "7fffffffffffffff\r\nab", 20, &d, &dl), 20);
	cr_assert_eq(dl, 2);
	cr_assert_eq(c.remaining, UINT64_C(0x7fffffffffffffff) - 2);
	memset(&c, 0, sizeof(c));
	cr_assert_eq(http1_chunked_feed(&c, "000000000000000a\r\n", 18, NULL, NULL), 18);
	cr_assert_eq(c.remaining, 10);
}

static void
assert_chunked_bad(const char *in)
{
	struct http1_chunked c = { 0 };
	size_t i, n = strlen(in);
	ssize_t r = 0;

	cr_assert_eq(http1_chunked_feed(&c, in, n, NULL, NULL), HTTP1_BAD, "input: %s", in);
	/* and fed byte by byte, it fails too and stays failed */
	memset(&c, 0, sizeof(c));
	for (i = 0; i < n && r >= 0; i++)
		r = http1_chunked_feed(&c, in + i, 1, NULL, NULL);
	cr_assert_eq(r, HTTP1_BAD, "bytewise: %s", in);
	cr_assert_eq(http1_chunked_feed(&c, "0\r\n\r\n", 5, NULL, NULL), HTTP1_BAD);
}

Test(http1, chunked_malformed)
{
	assert_chunked_bad("x\r\n");
	assert_chunked_bad("\r\n");
	assert_chunked_bad(";a\r\n");
	assert_chunked_bad("-1\r\n");
	assert_chunked_bad("+1\r\n");
	assert_chunked_bad("0x5\r\n");
	assert_chunked_bad("8000000000000000\r\n");
	assert_chunked_bad("10000000000000000\r\n");
	assert_chunked_bad("00000000000000001\r\n");
	assert_chunked_bad("5\nhello\r\n");
	assert_chunked_bad("5\rhello\r\n");
	assert_chunked_bad("5 \r\nhello\r\n");
	assert_chunked_bad("5 x\r\nhello\r\n");
	assert_chunked_bad("5;a\x01\r\nhello\r\n");
	assert_chunked_bad("5;a\nhello\r\n");
	assert_chunked_bad("5\r\nhelloX\r\n");
	assert_chunked_bad("5\r\nhello\n0\r\n\r\n");
	assert_chunked_bad("5\r\nhello\r0\r\n\r\n");
	assert_chunked_bad("0\r\n\n");
	assert_chunked_bad("0\r\nT: a\n\r\n");
	assert_chunked_bad("0\r\nT: a\x01\r\n\r\n");
	assert_chunked_bad("0\r\n\rX");
	/* Trailers are field lines: a name, a colon; no obs-fold, no bare text. */
	assert_chunked_bad("0\r\nnot a field\r\n\r\n");
	assert_chunked_bad("0\r\n folded: x\r\n\r\n");
	assert_chunked_bad("0\r\nT: a\r\n continued\r\n\r\n");
	assert_chunked_bad("0\r\n: novalue\r\n\r\n");
}

Test(http1, chunked_extension_whitespace_and_case)
{
	static const char in[] = "A \t; a = b\r\n0123456789\r\n0\r\n\r\n";
	struct http1_chunked c = { 0 };

	cr_assert_eq(http1_chunked_feed(&c, in, sizeof(in) - 1, NULL, NULL),
	    (ssize_t)sizeof(in) - 1);
	cr_assert_eq(c.done, 1);
}

/* --- helpers --- */

Test(http1, str_eq_and_find)
{
	struct http1_req r;
	struct http1_str s = { "Content-Length", 14 };
	const struct http1_header *h;

	cr_assert(http1_str_eq(s, "content-length"));
	cr_assert(http1_str_eq(s, "CONTENT-LENGTH"));
	cr_assert_not(http1_str_eq(s, "content-lengt"));
	cr_assert_not(http1_str_eq(s, "content-lengthx"));
	s.len = 0;
	cr_assert(http1_str_eq(s, ""));
	cr_assert_gt(req("GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\nx-a: 2\r\n\r\n", &r), 0);
	h = http1_find(r.headers, r.nheaders, "X-a");
	cr_assert_not_null(h);
	cr_assert(view_is(h->value, "1"));
	cr_assert_null(http1_find(r.headers, r.nheaders, "X-B"));
	cr_assert_null(http1_find(r.headers, 0, "Host"));
}
