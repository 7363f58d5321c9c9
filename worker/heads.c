/*
 * Pure head builders: the request head for a source and the response head
 * for the client, as iovecs over the parsed head plus our own lines, and the
 * field tests they need (hop-by-hop, Connection tokens, Via loops, Upgrade
 * policy). No socket and no allocation: unit-tested on their own.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "common/conf.h"
#include "common/http1.h"
#include "common/rewrite.h"
#include "worker/exch.h"
#include "worker/route.h"
#include "worker/upool.h"

#define IOV_LIT(v, s)	((v)->iov_base = (void *)(s), (v)->iov_len = sizeof(s) - 1, (v) + 1)
#define IOV_MEM(v, p, l) ((v)->iov_base = (void *)(p), (v)->iov_len = (l), (v) + 1)

static struct iovec *clen_line(struct iovec *v, char *buf, size_t cap, uint64_t n);
static struct iovec *forwarded(struct iovec *v, const struct exch *x, const char *peer,
	    uint32_t peer_len, int trusted);
static struct iovec *rewrite_location(struct exch *x, struct rewrite_ctx *rwctx,
	    const struct http1_header *h, struct iovec *v, uint32_t *used);
static int	list_has(struct http1_str v, const char *name, size_t nlen, int second);
static int	rid_field(const struct exch *x, struct http1_str n);
static struct iovec *rid_line(struct iovec *v, const struct exch *x);

int
heads_conn_names(const struct http1_header *h, uint32_t n, struct http1_str name)
{
	uint32_t i;

	for (i = 0; i < n; i++)
		if (http1_str_eq(h[i].name, "connection") &&
		    list_has(h[i].value, name.p, name.len, 0))
			return 1;
	return 0;
}

/*
 * Is name one of the comma-separated elements of v (second: the second
 * word of each element, as Via's received-by)? Case-insensitive.
 */
static int
list_has(struct http1_str v, const char *name, size_t nlen, int second)
{
	uint32_t j, k, s, e;

	for (j = 0; j < v.len; j = k + 1) {
		for (k = j; k < v.len && v.p[k] != ','; k++)
			;
		for (s = j; s < k && (v.p[s] == ' ' || v.p[s] == '\t'); s++)
			;
		if (second) {
			while (s < k && v.p[s] != ' ' && v.p[s] != '\t')
				s++;	/* the protocol */
			while (s < k && (v.p[s] == ' ' || v.p[s] == '\t'))
				s++;
			for (e = s; e < k && v.p[e] != ' ' && v.p[e] != '\t'; e++)
				;
		} else {
			for (e = k; e > s && (v.p[e - 1] == ' ' || v.p[e - 1] == '\t'); e--)
				;
		}
		if (e - s == nlen && strncasecmp(v.p + s, name, nlen) == 0)
			return 1;
	}
	return 0;
}

/*
 * RFC 9110 §7.6.1: fields that only mean something on one connection.
 * By length first: this runs for every header of every message.
 */
int
heads_hop_by_hop(struct http1_str n)
{
	switch (n.len) {
	case 2:
		return http1_caseeq(n.p, "te", 2);
	case 5:
		return http1_caseeq(n.p, "close", 5);	/* reserved (RFC 9110 §7.6.1) */
	case 7:
		return http1_caseeq(n.p, "trailer", 7) || http1_caseeq(n.p, "upgrade", 7);
	case 10:
		return http1_caseeq(n.p, "connection", 10) || http1_caseeq(n.p, "keep-alive", 10);
	case 16:
		return http1_caseeq(n.p, "proxy-connection", 16);
	case 17:
		return http1_caseeq(n.p, "transfer-encoding", 17);
	case 18:
		return http1_caseeq(n.p, "proxy-authenticate", 18);
	default:
		return 0;
	}
}

int
heads_via_loop(const struct http1_req *q, const char *name)
{
	size_t nlen = strlen(name);
	uint32_t i;

	for (i = 0; i < q->nheaders; i++)
		if (http1_str_eq(q->headers[i].name, "via") &&
		    list_has(q->headers[i].value, name, nlen, 1))
			return 1;
	return 0;
}

/*
 * Finds, in the request's Upgrade fields, the first protocol the route
 * allows (compared without its "/version"), and keeps it in x->upg. Any
 * other token (h2c, ...) is dropped with the hop-by-hop Upgrade field, and
 * the request goes on as plain HTTP/1.1.
 */
int
heads_upgrade_allowed(struct exch *x, const struct route_conf *rc)
{
	const struct http1_req *q = &x->req;
	uint32_t i, j, k, t, s, e, n;

	for (i = 0; i < q->nheaders; i++) {
		const struct http1_str v = q->headers[i].value;

		if (!http1_str_eq(q->headers[i].name, "upgrade"))
			continue;
		for (j = 0; j < v.len; j = k + 1) {
			for (k = j; k < v.len && v.p[k] != ','; k++)
				;
			for (s = j; s < k && (v.p[s] == ' ' || v.p[s] == '\t'); s++)
				;
			for (e = k; e > s && (v.p[e - 1] == ' ' || v.p[e - 1] == '\t'); e--)
				;
			for (n = s; n < e && v.p[n] != '/'; n++)
				;
			for (t = 0; t < rc->nupgrade; t++)
				if (strlen(rc->upgrade[t]) == n - s &&
				    strncasecmp(v.p + s, rc->upgrade[t], n - s) == 0) {
					x->upg.p = v.p + s;
					x->upg.len = e - s;
					return 1;
				}
		}
	}
	return 0;
}

/* A 101 must switch to the protocol we asked for (RFC 9110 §7.8). */
int
heads_upgrade_agreed(const struct exch *x)
{
	const struct http1_header *u;

	if (!x->upgrade)
		return 0;
	u = http1_find(x->resp.headers, x->resp.nheaders, "upgrade");
	return u != NULL && u->value.len == x->upg.len &&
	    strncasecmp(u->value.p, x->upg.p, x->upg.len) == 0;
}

/* Is n the route's request id field? */
static int
rid_field(const struct exch *x, struct http1_str n)
{
	return n.len + 2 == x->route->rid.iov_len &&
	    http1_caseeq(n.p, x->route->rid.iov_base, n.len);
}

/* "<request_id>: <id>\r\n" appended at v. */
static struct iovec *
rid_line(struct iovec *v, const struct exch *x)
{
	*v++ = x->route->rid;
	v = IOV_MEM(v, x->rid, x->rid_len);
	return IOV_LIT(v, "\r\n");
}

/* "Content-Length: n\r\n" in buf, as an iovec appended at v. */
static struct iovec *
clen_line(struct iovec *v, char *buf, size_t cap, uint64_t n)
{
	int len = snprintf(buf, cap, "Content-Length: %llu\r\n", (unsigned long long)n);

	return IOV_MEM(v, buf, (size_t)len);
}

/* X-Forwarded-For (after a trusted peer's own), X-Real-IP, -Proto, -Host. */
static struct iovec *
forwarded(struct iovec *v, const struct exch *x, const char *peer, uint32_t peer_len,
    int trusted)
{
	const struct http1_req *q = &x->req;
	uint32_t i;

	v = IOV_LIT(v, "X-Forwarded-For: ");
	if (trusted)
		for (i = 0; i < q->nheaders; i++)
			if (http1_str_eq(q->headers[i].name, "x-forwarded-for") &&
			    q->headers[i].value.len > 0) {
				v = IOV_MEM(v, q->headers[i].value.p, q->headers[i].value.len);
				v = IOV_LIT(v, ", ");
			}
	v = IOV_MEM(v, peer, peer_len);
	v = IOV_LIT(v, "\r\nX-Real-IP: ");
	v = IOV_MEM(v, peer, peer_len);
	v = IOV_LIT(v, "\r\n");
	if (x->cli_tls)
		v = IOV_LIT(v, "X-Forwarded-Proto: https\r\n");
	else
		v = IOV_LIT(v, "X-Forwarded-Proto: http\r\n");
	if (q->host.len > 0) {
		v = IOV_LIT(v, "X-Forwarded-Host: ");
		v = IOV_MEM(v, q->host.p, q->host.len);
		v = IOV_LIT(v, "\r\n");
	}
	return v;
}

struct iovec *
heads_request(struct exch *x, const char *peer, uint32_t peer_len, int trusted)
{
	const struct http1_req *q = &x->req;
	const struct route_conf *rc = x->route->conf;
	const struct source_conf *src = x->route->pools[x->ri].src;
	struct iovec *v = x->qiov;
	int xff = rc->x_forwarded_for;
	uint32_t i;

	v = IOV_MEM(v, q->method.p, q->method.len);
	v = IOV_LIT(v, " ");
	if (x->target_len > 0)
		v = IOV_MEM(v, x->target, x->target_len);
	else
		v = IOV_MEM(v, q->path.p, q->path.len);
	v = IOV_LIT(v, " HTTP/1.1\r\nHost: ");
	if (rc->preserve_host && q->host.len > 0)
		v = IOV_MEM(v, q->host.p, q->host.len);
	else
		v = IOV_MEM(v, src->addr.hostport, strlen(src->addr.hostport));
	v = IOV_LIT(v, "\r\n");
	for (i = 0; i < q->nheaders; i++) {
		const struct http1_header *h = &q->headers[i];

		if (heads_hop_by_hop(h->name) || http1_str_eq(h->name, "host") ||
		    route_hdr_listed(&rc->request, h->name))
			continue;
		if (x->rid_len > 0 && rid_field(x, h->name))
			continue;	/* ours follows, once */
		if ((q->flags & HTTP1_F_CLEN_LIST) && http1_str_eq(h->name, "content-length"))
			continue;	/* one normalized field follows */
		/* Connection may drop end-to-end extras, never the framing. */
		if ((q->flags & HTTP1_F_CONN_OTHER) &&
		    heads_conn_names(q->headers, q->nheaders, h->name) &&
		    !http1_str_eq(h->name, "content-length"))
			continue;
		if (xff && (http1_str_eq(h->name, "x-forwarded-for") ||
		    http1_str_eq(h->name, "x-real-ip") ||
		    http1_str_eq(h->name, "x-forwarded-proto") ||
		    http1_str_eq(h->name, "x-forwarded-host")))
			continue;
		/* Other client-side forwarding claims pass only from a trusted peer. */
		if (xff && !trusted && (http1_str_eq(h->name, "forwarded") ||
		    http1_str_eq(h->name, "x-forwarded-port")))
			continue;
		v = IOV_MEM(v, h->line.p, h->line.len);
	}
	if (x->rq_mode == BODY_CHUNKED)
		v = IOV_LIT(v, "Transfer-Encoding: chunked\r\n");
	else if (q->flags & HTTP1_F_CLEN_LIST)
		v = clen_line(v, x->qclen, sizeof(x->qclen), q->content_length);
	if (x->upgrade) {
		/* Only the protocol the route allows, never the client's whole list. */
		v = IOV_LIT(v, "Connection: upgrade\r\nUpgrade: ");
		v = IOV_MEM(v, x->upg.p, x->upg.len);
		v = IOV_LIT(v, "\r\n");
	}
	if (x->route->via.iov_len > 0)
		*v++ = x->route->via;
	if (x->rid_len > 0)
		v = rid_line(v, x);
	if (xff)
		v = forwarded(v, x, peer, peer_len, trusted);
	for (i = 0; i < rc->request.nadd; i++)
		*v++ = x->route->req_add[i];
	return IOV_LIT(v, "\r\n");
}

struct iovec *
heads_response(struct exch *x, struct rewrite_ctx *rwctx)
{
	const struct http1_resp *s = &x->resp;
	const struct route_rt *rt = x->route;
	struct iovec *v = x->siov;
	uint32_t i, used = 0;

	/* We speak HTTP/1.1 to the client whatever the backend spoke. */
	v = IOV_LIT(v, "HTTP/1.1");
	v = IOV_MEM(v, s->line.p + 8, s->line.len - 8);
	for (i = 0; i < s->nheaders; i++) {
		const struct http1_header *h = &s->headers[i];

		if (heads_hop_by_hop(h->name) || route_hdr_listed(&rt->conf->response, h->name))
			continue;
		if (x->rid_len > 0 && rid_field(x, h->name))
			continue;	/* the client gets the id we forwarded */
		if ((s->flags & HTTP1_F_CLEN_LIST) && http1_str_eq(h->name, "content-length"))
			continue;	/* one normalized field follows */
		if ((s->flags & HTTP1_F_CONN_OTHER) &&
		    heads_conn_names(s->headers, s->nheaders, h->name) &&
		    !http1_str_eq(h->name, "content-length"))
			continue;
		if (rt->conf->response.nrewrite > 0 && (http1_str_eq(h->name, "location") ||
		    http1_str_eq(h->name, "refresh"))) {
			v = rewrite_location(x, rwctx, h, v, &used);
			continue;
		}
		v = IOV_MEM(v, h->line.p, h->line.len);
	}
	if (x->rs_mode == BODY_CHUNKED)
		v = IOV_LIT(v, "Transfer-Encoding: chunked\r\n");
	else if ((s->flags & (HTTP1_F_CLEN_LIST | HTTP1_F_CHUNKED)) == HTTP1_F_CLEN_LIST)
		v = clen_line(v, x->sclen, sizeof(x->sclen), s->content_length);
	if (rt->via.iov_len > 0)
		*v++ = rt->via;
	if (x->rid_len > 0)
		v = rid_line(v, x);
	if (x->tunnel) {
		const struct http1_header *u = http1_find(s->headers, s->nheaders, "upgrade");

		v = IOV_LIT(v, "Connection: upgrade\r\n");
		if (u != NULL)
			v = IOV_MEM(v, u->line.p, u->line.len);
	} else if (x->cli_close)
		v = IOV_LIT(v, "Connection: close\r\n");
	else if (x->minor == 0)
		v = IOV_LIT(v, "Connection: keep-alive\r\n");
	for (i = 0; i < rt->conf->response.nadd; i++)
		*v++ = rt->resp_add[i];
	v = IOV_LIT(v, "\r\n");
	x->scur = x->siov;
	x->sleft = (int)(v - x->siov);
	return v;
}

/*
 * rewrite_location rules on a Location or Refresh field (for Refresh, on
 * the URL after "url="), like nginx's proxy_redirect: the first matching
 * rule wins. Appends the iovec(s) for the field to v and returns the end.
 * A regex that gives up sets x->rw_gave_up (the caller answers 500).
 */
static struct iovec *
rewrite_location(struct exch *x, struct rewrite_ctx *rwctx, const struct http1_header *h,
    struct iovec *v, uint32_t *used)
{
	const struct rules_conf *r = &x->route->conf->response;
	const char *u = h->value.p;
	uint32_t ulen = h->value.len, pre, i, k;
	char *out;
	int n;

	if (http1_str_eq(h->name, "refresh")) {
		for (k = 0; k + 4 <= h->value.len; k++)
			if (strncasecmp(h->value.p + k, "url=", 4) == 0)
				break;
		if (k + 4 > h->value.len)
			return IOV_MEM(v, h->line.p, h->line.len);
		u = h->value.p + k + 4;
		ulen = h->value.len - k - 4;
	}
	/* "Name: " and the value up to the URL are kept as they are. */
	pre = (uint32_t)(u - h->line.p);
	for (i = 0; i < r->nrewrite; i++) {
		if (*used + pre + 2 >= LINES_CAP)
			break;
		out = x->lines + *used;
		memcpy(out, h->line.p, pre);
		n = rewrite_apply(r->rewrite[i].rw, rwctx, u, ulen, out + pre,
		    LINES_CAP - *used - pre - 2);
		if (n == REWRITE_NOMATCH)
			continue;
		if (n == REWRITE_ERROR)
			x->rw_gave_up = 1;
		if (n < 0)
			break;
		memcpy(out + pre + n, "\r\n", 2);
		*used += pre + (uint32_t)n + 2;
		return IOV_MEM(v, out, pre + (uint32_t)n + 2);
	}
	return IOV_MEM(v, h->line.p, h->line.len);
}
