/*
 * heads: the request head sent to a source and the response head sent to
 * the client, flattened from their iovecs and compared byte for byte, and
 * the field tests behind them (hop-by-hop, Connection tokens, Via, Upgrade).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "common/conf.h"
#include "common/http1.h"
#include "common/rewrite.h"
#include "worker/exch.h"
#include "worker/route.h"

#define MAXH		32
#define XIOV		(EXTRA_IOV + 4)		/* our lines plus the header_add lists */
#define PEER		"192.0.2.7"

static const struct http1_limits lim = { 8192, 16384, MAXH };

static struct conf		 conf;
static struct route_conf	 rc;
static struct source_conf	 src;
static uint32_t			 src_idx[1];
static struct header_conf	 q_add[2], s_add[2];
static char			 q_hide[2][CONF_NAME_MAX], s_hide[2][CONF_NAME_MAX];
static struct rewrite_conf	 s_rw[1];
static struct route_rt		*rt;
static struct rewrite_ctx	*rwctx;
static struct exch		*x;
static char			*qbuf, *sbuf;	/* heap copies the views point into */
static char			 out[8192];

static void		 setup(void);
static void		 teardown(void);
static struct exch	*exch_alloc(void);
static void		 build(void);
static void		 req(const char *s);
static void		 resp(const char *s);
static const char	*flat(const struct iovec *v, const struct iovec *end);
static const char	*fwd(int trusted);
static const char	*back(void);
static struct http1_str	 str(const char *s);

/*
 * One source, one route with the defaults conf_load gives (preserve_host,
 * x_forwarded_for, via "me", websocket upgrades); a test edits rc, then
 * calls build().
 */
static void
setup(void)
{
	memset(&conf, 0, sizeof(conf));
	memset(&rc, 0, sizeof(rc));
	memset(&src, 0, sizeof(src));
	snprintf(src.name, sizeof(src.name), "app1");
	snprintf(src.addr.hostport, sizeof(src.addr.hostport), "10.0.0.1:8080");
	src.weight = 1;
	snprintf(rc.host, sizeof(rc.host), "*");
	snprintf(rc.path, sizeof(rc.path), "/");
	rc.sources = src_idx;
	rc.nsources = 1;
	rc.reuse_max = 16;
	rc.reuse_requests = 1000;
	rc.preserve_host = true;
	rc.x_forwarded_for = true;
	rc.via = true;
	snprintf(rc.via_name, sizeof(rc.via_name), "me");
	snprintf(rc.upgrade[0], sizeof(rc.upgrade[0]), "websocket");
	rc.nupgrade = 1;
	conf.sources = &src;
	conf.nsources = 1;
	conf.routes = &rc;
	conf.nroutes = 1;
	conf.limits.max_headers = MAXH;
	conf.limits.max_request_line = 8192;
	rt = NULL;
	rwctx = NULL;
	qbuf = sbuf = NULL;
	x = exch_alloc();
}

static void
teardown(void)
{
	route_free(rt, 1);
	rt = NULL;
	rewrite_free(s_rw[0].rw);
	s_rw[0].rw = NULL;
	rewrite_ctx_free(rwctx);
	free(x);
	free(qbuf);
	free(sbuf);
}

/* An exchange laid out as cconn.c's exch_new() does, with no target buffers. */
static struct exch *
exch_alloc(void)
{
	size_t size = sizeof(struct exch) + 2 * MAXH * sizeof(struct http1_header) +
	    (3 * MAXH + 2 * XIOV) * sizeof(struct iovec) + LINES_CAP;
	struct exch *e = calloc(1, size);

	cr_assert_not_null(e);
	e->magic = EXCH_MAGIC;
	e->maxh = MAXH;
	e->hdrs = (struct http1_header *)(e + 1);
	e->rhdrs = e->hdrs + MAXH;
	e->qiov = (struct iovec *)(e->rhdrs + MAXH);
	e->siov = e->qiov + 2 * MAXH + XIOV;
	e->lines = (char *)(e->siov + MAXH + XIOV);
	e->minor = 1;
	e->src_idx = -1;
	e->act_src = -1;
	return e;
}

static void
build(void)
{
	cr_assert_eq(route_init(&conf, &rt), 0);
	x->route = rt;
	x->ri = 0;
}

/* Parses s (a heap copy, so that ASan sees any read past it) into x->req. */
static void
req(const char *s)
{
	size_t len = strlen(s);

	qbuf = malloc(len);
	cr_assert_not_null(qbuf);
	memcpy(qbuf, s, len);
	cr_assert_eq(http1_parse_req(qbuf, len, &lim, &x->req, x->hdrs, MAXH), (int)len,
	    "request did not parse: %s", x->req.error);
	x->minor = x->req.minor;
	x->meth = x->req.meth;
}

static void
resp(const char *s)
{
	size_t len = strlen(s);

	sbuf = malloc(len);
	cr_assert_not_null(sbuf);
	memcpy(sbuf, s, len);
	cr_assert_eq(http1_parse_resp(sbuf, len, 16384, &x->resp, x->rhdrs, MAXH), (int)len,
	    "response did not parse: %s", x->resp.error);
	x->status = x->resp.status;
}

/* The bytes of v[0..end) as one NUL-terminated string in out. */
static const char *
flat(const struct iovec *v, const struct iovec *end)
{
	size_t n = 0;

	cr_assert(end >= v);
	for (; v < end; v++) {
		cr_assert_lt(n + v->iov_len, sizeof(out));
		memcpy(out + n, v->iov_base, v->iov_len);
		n += v->iov_len;
	}
	out[n] = '\0';
	return out;
}

static const char *
fwd(int trusted)
{
	struct iovec *end = heads_request(x, PEER, sizeof(PEER) - 1, trusted);

	cr_assert_leq(end - x->qiov, 2 * MAXH + XIOV);
	return flat(x->qiov, end);
}

static const char *
back(void)
{
	struct iovec *end = heads_response(x, rwctx);

	cr_assert_leq(end - x->siov, MAXH + XIOV);
	cr_assert_eq(x->scur, x->siov);
	cr_assert_eq(x->sleft, (int)(end - x->siov));
	return flat(x->siov, end);
}

static struct http1_str
str(const char *s)
{
	return (struct http1_str){ s, (uint32_t)strlen(s) };
}

/* What a proxied request ends with for PEER, Host "a" and via "me". */
#define TAIL_A	"Via: 1.1 me\r\n" \
		"X-Forwarded-For: " PEER "\r\n" \
		"X-Real-IP: " PEER "\r\n" \
		"X-Forwarded-Proto: http\r\n" \
		"X-Forwarded-Host: a\r\n" \
		"\r\n"

TestSuite(heads, .init = setup, .fini = teardown);

/* --- request ------------------------------------------------------------ */

Test(heads, request_plain_get)
{
	build();
	req("GET /a?b=1 HTTP/1.1\r\nHost: a\r\nUser-Agent: t\r\nAccept: */*\r\n\r\n");
	cr_assert_str_eq(fwd(0),
	    "GET /a?b=1 HTTP/1.1\r\n"
	    "Host: a\r\n"
	    "User-Agent: t\r\n"
	    "Accept: */*\r\n"
	    TAIL_A);
}

Test(heads, request_http10_becomes_http11)
{
	build();
	req("GET / HTTP/1.0\r\nHost: a\r\n\r\n");
	cr_assert_str_eq(fwd(0), "GET / HTTP/1.1\r\nHost: a\r\n" TAIL_A);
}

Test(heads, request_host_replaced_without_preserve_host)
{
	rc.preserve_host = false;
	build();
	req("GET / HTTP/1.1\r\nHost: a\r\nX-Y: 1\r\n\r\n");
	/* X-Forwarded-Host still names what the client asked for. */
	cr_assert_str_eq(fwd(0), "GET / HTTP/1.1\r\nHost: 10.0.0.1:8080\r\nX-Y: 1\r\n" TAIL_A);
}

Test(heads, request_without_host_gets_the_source)
{
	build();
	req("GET / HTTP/1.0\r\n\r\n");
	cr_assert_str_eq(fwd(0),
	    "GET / HTTP/1.1\r\n"
	    "Host: 10.0.0.1:8080\r\n"
	    "Via: 1.1 me\r\n"
	    "X-Forwarded-For: " PEER "\r\n"
	    "X-Real-IP: " PEER "\r\n"
	    "X-Forwarded-Proto: http\r\n"
	    "\r\n");
}

Test(heads, request_absolute_form_host_from_the_target)
{
	build();
	req("GET http://b/x?y HTTP/1.1\r\nHost: a\r\n\r\n");
	cr_assert_str_eq(fwd(0),
	    "GET /x?y HTTP/1.1\r\n"
	    "Host: b\r\n"
	    "Via: 1.1 me\r\n"
	    "X-Forwarded-For: " PEER "\r\n"
	    "X-Real-IP: " PEER "\r\n"
	    "X-Forwarded-Proto: http\r\n"
	    "X-Forwarded-Host: b\r\n"
	    "\r\n");
}

Test(heads, request_rewritten_target)
{
	static char target[] = "/new/path?q";

	build();
	req("GET /old HTTP/1.1\r\nHost: a\r\n\r\n");
	x->target = target;
	x->target_len = sizeof(target) - 1;
	cr_assert_str_eq(fwd(0), "GET /new/path?q HTTP/1.1\r\nHost: a\r\n" TAIL_A);
}

Test(heads, request_hop_by_hop_removed)
{
	build();
	req("GET / HTTP/1.1\r\n"
	    "Host: a\r\n"
	    "Connection: keep-alive, X-Private\r\n"
	    "Keep-Alive: timeout=5\r\n"
	    "TE: trailers\r\n"
	    "Trailer: X-Sum\r\n"
	    "Upgrade: h2c\r\n"
	    "Proxy-Connection: keep-alive\r\n"
	    "X-Private: secret\r\n"
	    "X-Public: 1\r\n"
	    "\r\n");
	cr_assert_str_eq(fwd(0), "GET / HTTP/1.1\r\nHost: a\r\nX-Public: 1\r\n" TAIL_A);
}

Test(heads, request_chunked_transfer_encoding_is_ours)
{
	build();
	req("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nX-A: 1\r\n\r\n");
	x->rq_mode = BODY_CHUNKED;
	cr_assert_str_eq(fwd(0),
	    "POST / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\nTransfer-Encoding: chunked\r\n" TAIL_A);
}

Test(heads, request_connection_never_drops_content_length)
{
	build();
	req("POST / HTTP/1.1\r\n"
	    "Host: a\r\n"
	    "Connection: Content-Length, x-drop\r\n"
	    "Content-Length: 4\r\n"
	    "X-Drop: 1\r\n"
	    "X-Keep: 2\r\n"
	    "\r\n");
	x->rq_mode = BODY_CLEN;
	cr_assert_str_eq(fwd(0),
	    "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nX-Keep: 2\r\n" TAIL_A);
}

Test(heads, request_content_length_list_normalized)
{
	build();
	req("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4, 4\r\nX-A: 1\r\n\r\n");
	x->rq_mode = BODY_CLEN;
	cr_assert_str_eq(fwd(0),
	    "POST / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\nContent-Length: 4\r\n" TAIL_A);
}

Test(heads, request_repeated_content_length_normalized)
{
	build();
	req("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nX-A: 1\r\n"
	    "content-length: 4\r\n\r\n");
	x->rq_mode = BODY_CLEN;
	cr_assert_str_eq(fwd(0),
	    "POST / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\nContent-Length: 4\r\n" TAIL_A);
}

Test(heads, request_single_content_length_kept_in_place)
{
	build();
	req("POST / HTTP/1.1\r\nHost: a\r\ncontent-length:  4 \r\nX-A: 1\r\n\r\n");
	x->rq_mode = BODY_CLEN;
	cr_assert_str_eq(fwd(0),
	    "POST / HTTP/1.1\r\nHost: a\r\ncontent-length:  4 \r\nX-A: 1\r\n" TAIL_A);
}

Test(heads, request_untrusted_peer_forwarded_fields_replaced)
{
	build();
	req("GET / HTTP/1.1\r\n"
	    "Host: a\r\n"
	    "X-Forwarded-For: 6.6.6.6\r\n"
	    "X-Real-IP: 6.6.6.6\r\n"
	    "X-Forwarded-Proto: https\r\n"
	    "X-Forwarded-Host: evil\r\n"
	    "\r\n");
	cr_assert_str_eq(fwd(0), "GET / HTTP/1.1\r\nHost: a\r\n" TAIL_A);
}

Test(heads, request_trusted_peer_forwarded_for_appended)
{
	build();
	req("GET / HTTP/1.1\r\n"
	    "Host: a\r\n"
	    "X-Forwarded-For: 1.1.1.1, 2.2.2.2\r\n"
	    "X-Real-IP: 2.2.2.2\r\n"
	    "X-Forwarded-For: 3.3.3.3\r\n"
	    "X-Forwarded-For:\r\n"
	    "\r\n");
	cr_assert_str_eq(fwd(1),
	    "GET / HTTP/1.1\r\n"
	    "Host: a\r\n"
	    "Via: 1.1 me\r\n"
	    "X-Forwarded-For: 1.1.1.1, 2.2.2.2, 3.3.3.3, " PEER "\r\n"
	    "X-Real-IP: " PEER "\r\n"
	    "X-Forwarded-Proto: http\r\n"
	    "X-Forwarded-Host: a\r\n"
	    "\r\n");
}

Test(heads, request_x_forwarded_for_off_passes_the_client_fields)
{
	rc.x_forwarded_for = false;
	build();
	req("GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 1.1.1.1\r\nX-Real-IP: 1.1.1.1\r\n\r\n");
	cr_assert_str_eq(fwd(1),
	    "GET / HTTP/1.1\r\n"
	    "Host: a\r\n"
	    "X-Forwarded-For: 1.1.1.1\r\n"
	    "X-Real-IP: 1.1.1.1\r\n"
	    "Via: 1.1 me\r\n"
	    "\r\n");
}

Test(heads, request_via_off)
{
	rc.via = false;
	rc.x_forwarded_for = false;
	build();
	req("GET / HTTP/1.1\r\nHost: a\r\nVia: 1.0 fred\r\n\r\n");
	cr_assert_str_eq(fwd(0), "GET / HTTP/1.1\r\nHost: a\r\nVia: 1.0 fred\r\n\r\n");
}

Test(heads, request_via_appended_after_the_clients)
{
	rc.x_forwarded_for = false;
	build();
	req("GET / HTTP/1.1\r\nHost: a\r\nVia: 1.0 fred\r\n\r\n");
	cr_assert_str_eq(fwd(0),
	    "GET / HTTP/1.1\r\nHost: a\r\nVia: 1.0 fred\r\nVia: 1.1 me\r\n\r\n");
}

Test(heads, request_allowed_upgrade_forwarded_alone)
{
	build();
	req("GET /ws HTTP/1.1\r\n"
	    "Host: a\r\n"
	    "Connection: Upgrade, HTTP2-Settings\r\n"
	    "Upgrade: h2c, WebSocket, foo/2\r\n"
	    "HTTP2-Settings: AAMAAABkAAQAAP__\r\n"
	    "Sec-WebSocket-Key: k\r\n"
	    "Sec-WebSocket-Version: 13\r\n"
	    "\r\n");
	cr_assert_eq(heads_upgrade_allowed(x, &rc), 1);
	x->upgrade = 1;
	cr_assert_str_eq(fwd(0),
	    "GET /ws HTTP/1.1\r\n"
	    "Host: a\r\n"
	    "Sec-WebSocket-Key: k\r\n"
	    "Sec-WebSocket-Version: 13\r\n"
	    "Connection: upgrade\r\n"
	    "Upgrade: WebSocket\r\n"
	    TAIL_A);
}

Test(heads, request_h2c_upgrade_dropped)
{
	build();
	req("GET / HTTP/1.1\r\n"
	    "Host: a\r\n"
	    "Connection: Upgrade, HTTP2-Settings\r\n"
	    "Upgrade: h2c\r\n"
	    "HTTP2-Settings: AAMAAABkAAQAAP__\r\n"
	    "\r\n");
	cr_assert_eq(heads_upgrade_allowed(x, &rc), 0);
	cr_assert_str_eq(fwd(0), "GET / HTTP/1.1\r\nHost: a\r\n" TAIL_A);
}

Test(heads, request_header_add_and_hide)
{
	snprintf(q_add[0].name, sizeof(q_add[0].name), "X-Env");
	snprintf(q_add[0].value, sizeof(q_add[0].value), "prod");
	snprintf(q_add[1].name, sizeof(q_add[1].name), "X-Team");
	snprintf(q_add[1].value, sizeof(q_add[1].value), "web");
	snprintf(q_hide[0], sizeof(q_hide[0]), "Cookie");
	snprintf(q_hide[1], sizeof(q_hide[1]), "x-debug");
	rc.request.add = q_add;
	rc.request.nadd = 2;
	rc.request.hide = q_hide;
	rc.request.nhide = 2;
	build();
	req("GET / HTTP/1.1\r\n"
	    "Host: a\r\n"
	    "cookie: s=1\r\n"
	    "X-Env: dev\r\n"
	    "X-Debug: 1\r\n"
	    "X-Kept: 1\r\n"
	    "\r\n");
	/* A field we add replaces the client's field of the same name. */
	cr_assert_str_eq(fwd(0),
	    "GET / HTTP/1.1\r\n"
	    "Host: a\r\n"
	    "X-Kept: 1\r\n"
	    "Via: 1.1 me\r\n"
	    "X-Forwarded-For: " PEER "\r\n"
	    "X-Real-IP: " PEER "\r\n"
	    "X-Forwarded-Proto: http\r\n"
	    "X-Forwarded-Host: a\r\n"
	    "X-Env: prod\r\n"
	    "X-Team: web\r\n"
	    "\r\n");
}

Test(heads, request_most_headers_fit)
{
	char head[4096];
	size_t n = 0;
	int i;

	build();
	n += (size_t)snprintf(head + n, sizeof(head) - n, "GET / HTTP/1.1\r\nHost: a\r\n");
	for (i = 0; i < MAXH - 1; i++)
		n += (size_t)snprintf(head + n, sizeof(head) - n, "X-Forwarded-For: 10.0.0.%d\r\n",
		    i);
	snprintf(head + n, sizeof(head) - n, "\r\n");
	req(head);
	/* Two iovecs per X-Forwarded-For of a trusted peer: the worst case. */
	fwd(1);
	cr_assert(strstr(out, ", 10.0.0.30, " PEER "\r\n") != NULL, "%s", out);
}

/* --- response ----------------------------------------------------------- */

Test(heads, response_http11_always)
{
	build();
	resp("HTTP/1.0 200 OK\r\nContent-Length: 2\r\nServer: s\r\n\r\n");
	cr_assert_str_eq(back(),
	    "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nServer: s\r\nVia: 1.1 me\r\n\r\n");
}

Test(heads, response_hop_by_hop_removed)
{
	build();
	resp("HTTP/1.1 200 OK\r\n"
	    "Connection: keep-alive, X-Conn\r\n"
	    "Keep-Alive: timeout=5\r\n"
	    "X-Conn: 1\r\n"
	    "Upgrade: h2c\r\n"
	    "Trailer: X-Sum\r\n"
	    "Proxy-Authenticate: Basic\r\n"
	    "Content-Length: 2\r\n"
	    "\r\n");
	cr_assert_str_eq(back(), "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nVia: 1.1 me\r\n\r\n");
}

Test(heads, response_connection_close_to_client)
{
	build();
	resp("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
	x->cli_close = 1;
	cr_assert_str_eq(back(),
	    "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nVia: 1.1 me\r\n"
	    "Connection: close\r\n\r\n");
}

Test(heads, response_keep_alive_for_http10_client)
{
	build();
	resp("HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
	x->minor = 0;
	cr_assert_str_eq(back(),
	    "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nVia: 1.1 me\r\n"
	    "Connection: keep-alive\r\n\r\n");
}

Test(heads, response_close_wins_over_http10_keep_alive)
{
	build();
	resp("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	x->minor = 0;
	x->cli_close = 1;
	cr_assert_str_eq(back(),
	    "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nVia: 1.1 me\r\nConnection: close\r\n\r\n");
}

Test(heads, response_chunked_re_added)
{
	build();
	resp("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\nContent-Encoding: br\r\n\r\n");
	x->rs_mode = BODY_CHUNKED;
	cr_assert_str_eq(back(),
	    "HTTP/1.1 200 OK\r\nContent-Encoding: br\r\nTransfer-Encoding: chunked\r\n"
	    "Via: 1.1 me\r\n\r\n");
}

Test(heads, response_dechunked_for_http10_client)
{
	build();
	resp("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
	x->rs_mode = BODY_DECHUNK;
	x->minor = 0;
	x->cli_close = 1;
	cr_assert_str_eq(back(), "HTTP/1.1 200 OK\r\nVia: 1.1 me\r\nConnection: close\r\n\r\n");
}

Test(heads, response_content_length_list_normalized)
{
	build();
	resp("HTTP/1.1 200 OK\r\nContent-Length: 4,4\r\nServer: s\r\nContent-Length: 4\r\n\r\n");
	x->rs_mode = BODY_CLEN;
	cr_assert_str_eq(back(),
	    "HTTP/1.1 200 OK\r\nServer: s\r\nContent-Length: 4\r\nVia: 1.1 me\r\n\r\n");
}

Test(heads, response_via_off)
{
	rc.via = false;
	build();
	resp("HTTP/1.1 204 No Content\r\nVia: 1.1 origin\r\n\r\n");
	cr_assert_str_eq(back(), "HTTP/1.1 204 No Content\r\nVia: 1.1 origin\r\n\r\n");
}

Test(heads, response_header_add_and_hide)
{
	snprintf(s_add[0].name, sizeof(s_add[0].name), "X-Frame-Options");
	snprintf(s_add[0].value, sizeof(s_add[0].value), "DENY");
	snprintf(s_hide[0], sizeof(s_hide[0]), "Server");
	rc.response.add = s_add;
	rc.response.nadd = 1;
	rc.response.hide = s_hide;
	rc.response.nhide = 1;
	build();
	resp("HTTP/1.1 200 OK\r\nSERVER: s\r\nx-frame-options: SAMEORIGIN\r\n"
	    "Content-Length: 0\r\n\r\n");
	cr_assert_str_eq(back(),
	    "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nVia: 1.1 me\r\nX-Frame-Options: DENY\r\n\r\n");
}

Test(heads, response_101_tunnel)
{
	build();
	req("GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n");
	cr_assert_eq(heads_upgrade_allowed(x, &rc), 1);
	x->upgrade = 1;
	resp("HTTP/1.1 101 Switching Protocols\r\n"
	    "Connection: Upgrade\r\n"
	    "Upgrade: websocket\r\n"
	    "Sec-WebSocket-Accept: acc\r\n"
	    "\r\n");
	cr_assert_eq(heads_upgrade_agreed(x), 1);
	x->tunnel = 1;
	cr_assert_str_eq(back(),
	    "HTTP/1.1 101 Switching Protocols\r\n"
	    "Sec-WebSocket-Accept: acc\r\n"
	    "Via: 1.1 me\r\n"
	    "Connection: upgrade\r\n"
	    "Upgrade: websocket\r\n"
	    "\r\n");
}

Test(heads, response_location_rewritten)
{
	char err[REWRITE_ERR_MAX];

	s_rw[0].rw = rewrite_compile("^http://10\\.0\\.0\\.1:8080(/.*)$", "http://a$1", err,
	    sizeof(err), NULL);
	cr_assert_not_null(s_rw[0].rw, "%s", err);
	rc.response.rewrite = s_rw;
	rc.response.nrewrite = 1;
	rwctx = rewrite_ctx_new();
	cr_assert_not_null(rwctx);
	build();
	resp("HTTP/1.1 302 Found\r\n"
	    "Location: http://10.0.0.1:8080/login\r\n"
	    "Refresh: 5; url=http://10.0.0.1:8080/x\r\n"
	    "Content-Location: http://10.0.0.1:8080/y\r\n"
	    "Content-Length: 0\r\n"
	    "\r\n");
	cr_assert_str_eq(back(),
	    "HTTP/1.1 302 Found\r\n"
	    "Location: http://a/login\r\n"
	    "Refresh: 5; url=http://a/x\r\n"
	    "Content-Location: http://10.0.0.1:8080/y\r\n"
	    "Content-Length: 0\r\n"
	    "Via: 1.1 me\r\n"
	    "\r\n");
	cr_assert_eq(x->rw_gave_up, 0);
}

/* --- field tests -------------------------------------------------------- */

Test(heads, hop_by_hop_names)
{
	static const char *const yes[] = {
		"Connection", "connection", "Keep-Alive", "TE", "te", "Trailer",
		"Transfer-Encoding", "UPGRADE", "Proxy-Connection", "Proxy-Authenticate",
	};
	static const char *const no[] = {
		"", "T", "Tee", "Content-Length", "Host", "Trailers", "Upgrade-Insecure-Requests",
		"Keep-Alives", "Proxy", "Via", "X-Connection",
	};
	size_t i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		cr_expect_eq(heads_hop_by_hop(str(yes[i])), 1, "%s", yes[i]);
	for (i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		cr_expect_eq(heads_hop_by_hop(str(no[i])), 0, "%s", no[i]);
}

Test(heads, conn_names_tokens)
{
	build();
	req("GET / HTTP/1.1\r\n"
	    "Host: a\r\n"
	    "Connection: close,X-A , \tX-B\r\n"
	    "X-Other: X-C\r\n"
	    "connection: X-D\r\n"
	    "\r\n");
	cr_assert_eq(heads_conn_names(x->req.headers, x->req.nheaders, str("x-a")), 1);
	cr_assert_eq(heads_conn_names(x->req.headers, x->req.nheaders, str("X-B")), 1);
	cr_assert_eq(heads_conn_names(x->req.headers, x->req.nheaders, str("Close")), 1);
	cr_assert_eq(heads_conn_names(x->req.headers, x->req.nheaders, str("x-d")), 1);
	cr_assert_eq(heads_conn_names(x->req.headers, x->req.nheaders, str("X-C")), 0);
	cr_assert_eq(heads_conn_names(x->req.headers, x->req.nheaders, str("X-")), 0);
	cr_assert_eq(heads_conn_names(x->req.headers, x->req.nheaders, str("X-AB")), 0);
	cr_assert_eq(heads_conn_names(x->req.headers, 0, str("close")), 0);
}

Test(heads, via_loop)
{
	build();
	req("GET / HTTP/1.1\r\nHost: a\r\nVia: 1.1 a, HTTP/1.1 ME (x)\r\n\r\n");
	cr_assert_eq(heads_via_loop(&x->req, "me"), 1);
	cr_assert_eq(heads_via_loop(&x->req, "a"), 1);
	cr_assert_eq(heads_via_loop(&x->req, "x"), 0);
	cr_assert_eq(heads_via_loop(&x->req, "1.1"), 0);
	cr_assert_eq(heads_via_loop(&x->req, "HTTP/1.1"), 0);
}

Test(heads, via_loop_needs_the_whole_name)
{
	build();
	req("GET / HTTP/1.1\r\nHost: a\r\nVia: 1.1 meme\r\nvia: 1.0 m, 1.1 me.example\r\n\r\n");
	cr_assert_eq(heads_via_loop(&x->req, "me"), 0);
	cr_assert_eq(heads_via_loop(&x->req, "meme"), 1);
	cr_assert_eq(heads_via_loop(&x->req, "me.example"), 1);
}

Test(heads, via_loop_in_a_later_field)
{
	build();
	req("GET / HTTP/1.1\r\nHost: a\r\nVia: 1.1 a\r\nX: 1\r\nVia: 1.0 b,1.1 me\r\n\r\n");
	cr_assert_eq(heads_via_loop(&x->req, "me"), 1);
	cr_assert_eq(heads_via_loop(&x->req, "c"), 0);
}

Test(heads, upgrade_allowed_with_version)
{
	build();
	req("GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\nUpgrade: websocket/13\r\n\r\n");
	cr_assert_eq(heads_upgrade_allowed(x, &rc), 1);
	cr_assert_eq(x->upg.len, strlen("websocket/13"));
	cr_assert_eq(memcmp(x->upg.p, "websocket/13", x->upg.len), 0);
}

Test(heads, upgrade_allowed_from_a_list_any_case)
{
	build();
	req("GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\n"
	    "Upgrade: h2c, websocketx\r\nUpgrade: web ,WEBSOCKET \r\n\r\n");
	cr_assert_eq(heads_upgrade_allowed(x, &rc), 1);
	cr_assert_eq(x->upg.len, strlen("WEBSOCKET"));
	cr_assert_eq(memcmp(x->upg.p, "WEBSOCKET", x->upg.len), 0);
}

Test(heads, upgrade_first_allowed_of_several)
{
	snprintf(rc.upgrade[1], sizeof(rc.upgrade[1]), "foo");
	rc.nupgrade = 2;
	build();
	req("GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\n"
	    "Upgrade: h2c, Foo/1, websocket\r\n\r\n");
	cr_assert_eq(heads_upgrade_allowed(x, &rc), 1);
	cr_assert_eq(x->upg.len, 5);
	cr_assert_eq(memcmp(x->upg.p, "Foo/1", 5), 0);
}

Test(heads, upgrade_refused)
{
	build();
	req("GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\n"
	    "Upgrade: h2c, websock, /websocket\r\n\r\n");
	cr_assert_eq(heads_upgrade_allowed(x, &rc), 0);
	cr_assert_eq(x->upg.len, 0);
}

Test(heads, upgrade_none_allowed)
{
	rc.nupgrade = 0;
	build();
	req("GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n");
	cr_assert_eq(heads_upgrade_allowed(x, &rc), 0);
}

Test(heads, upgrade_without_field)
{
	build();
	req("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
	cr_assert_eq(heads_upgrade_allowed(x, &rc), 0);
}

Test(heads, upgrade_agreed)
{
	build();
	req("GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n");
	cr_assert_eq(heads_upgrade_allowed(x, &rc), 1);
	resp("HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\n"
	    "Upgrade: WebSocket\r\n\r\n");
	/* Not asked for: no 101 can be agreed. */
	cr_assert_eq(heads_upgrade_agreed(x), 0);
	x->upgrade = 1;
	cr_assert_eq(heads_upgrade_agreed(x), 1);
}

Test(heads, upgrade_not_agreed)
{
	build();
	req("GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\nUpgrade: h2c, websocket\r\n\r\n");
	cr_assert_eq(heads_upgrade_allowed(x, &rc), 1);
	x->upgrade = 1;
	resp("HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: h2c\r\n\r\n");
	cr_assert_eq(heads_upgrade_agreed(x), 0);
}

Test(heads, upgrade_not_agreed_without_field)
{
	build();
	req("GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n");
	cr_assert_eq(heads_upgrade_allowed(x, &rc), 1);
	x->upgrade = 1;
	resp("HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\n\r\n");
	cr_assert_eq(heads_upgrade_agreed(x), 0);
}
