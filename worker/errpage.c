/*
 * Responses sluice makes itself (4xx, 5xx): a small HTML page, written
 * through the client transport; the exchange then ends with its cause.
 */
#include <stdio.h>
#include <string.h>

#include "common/conf.h"
#include "common/http1.h"
#include "common/io.h"
#include "common/log.h"
#include "shm/shm.h"
#include "worker/cconn.h"
#include "worker/exch.h"
#include "worker/route.h"
#include "worker/worker-t.h"

static const struct error_page_conf *find_page(struct cconn *c, int status);
static int	own_fields(struct exch *x, int n);
static enum step page_reply(struct cconn *c, const struct error_page_conf *p, int status,
    int head_only);

#define PAGE_FMT	"<html><head><title>%d %s</title></head><body><h1>%d %s</h1>" \
			"<hr>sluice</body></html>\n"

const char *
errpage_status_text(int status)
{
	switch (status) {
	case 200: return "OK";
	case 301: return "Moved Permanently";
	case 302: return "Found";
	case 303: return "See Other";
	case 307: return "Temporary Redirect";
	case 308: return "Permanent Redirect";
	case 400: return "Bad Request";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 408: return "Request Timeout";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	case 505: return "HTTP Version Not Supported";
	case 508: return "Loop Detected";
	default: return "Error";
	}
}

enum step
errpage_reply(struct cconn *c, int status, int close_after, enum shm_end cause)
{
	struct exch *x = c->x;
	const char *txt = errpage_status_text(status);
	const struct error_page_conf *page;
	int n, body, head_only, in_exch = c->state == CC_EXCH || c->next_state == CC_EXCH;

	EXCH_CHECK(x);
	backend_release(c, 0);
	x->cause = cause;
	if (x->sent_client)
		return cconn_fail(c, cause, "error after the response started");
	if (!x->started) {
		/* A head we could not parse: logged and counted all the same. */
		x->started = 1;
		x->t_start = ev_now(c->w->loop);
		if (c->w->alog.fd != -1)
			xend_copy_request(c, 1);
	}
	if (status >= 500)
		log_warnx("conn=%llu: %d %s for %s: route at line %d, source %s, cause %s, "
		    "after %.3fs", (unsigned long long)c->id, status, txt, c->peer,
		    x->route != NULL ? x->route->conf->line : 0,
		    x->src_name != NULL ? x->src_name : "-", shm_end_name(cause),
		    x->started ? ev_now(c->w->loop) - x->t_start : 0.);
	/* Outside an exchange the head was not understood: nothing can follow it. */
	head_only = in_exch && x->meth == HTTP1_M_HEAD;
	close_after |= x->cli_close || !in_exch || !x->views_ok || c->w->draining;
	x->cli_close = close_after != 0;
	x->status = status;
	x->ours = 1;
	if ((page = find_page(c, status)) != NULL)
		return page_reply(c, page, status, head_only);
	body = snprintf(NULL, 0, PAGE_FMT, status, txt, status, txt);
	n = snprintf(x->scratch, sizeof(x->scratch),
	    "HTTP/1.1 %d %s\r\nContent-Type: text/html\r\nContent-Length: %d\r\n%s",
	    status, txt, body, x->cli_close ? "Connection: close\r\n" : "");
	n = own_fields(x, n);
	n += snprintf(x->scratch + n, sizeof(x->scratch) - (size_t)n, "\r\n");
	if (!head_only)
		n += snprintf(x->scratch + n, sizeof(x->scratch) - (size_t)n, PAGE_FMT, status, txt,
		    status, txt);
	x->scur = x->siov;
	x->siov[0].iov_base = x->scratch;
	x->siov[0].iov_len = (size_t)n;
	x->sleft = 1;
	cconn_timer(c, TP_SEND);
	return cconn_goto(c, CC_ERRRESP);
}

/*
 * After the first n bytes of a head of ours in x->scratch: the route's
 * request id (set only once a route matched this exchange) and the
 * Retry-After of a 429. Returns the new length.
 */
static int
own_fields(struct exch *x, int n)
{
	if (x->rid_len > 0 && x->route != NULL)
		n += snprintf(x->scratch + n, sizeof(x->scratch) - (size_t)n, "%.*s%s\r\n",
		    (int)x->route->rid.iov_len, (const char *)x->route->rid.iov_base, x->rid);
	if (x->retry_after > 0)
		n += snprintf(x->scratch + n, sizeof(x->scratch) - (size_t)n,
		    "Retry-After: %u\r\n", x->retry_after);
	return n;
}

/* The operator's page for status: the route's error_pages, then the top level's. */
static const struct error_page_conf *
find_page(struct cconn *c, int status)
{
	const struct route_conf *rc = c->x->route != NULL ? c->x->route->conf : NULL;
	const struct conf *conf = c->w->conf;
	const struct error_page_conf *lists[2] = { rc != NULL ? rc->error_pages : NULL,
	    conf->error_pages };
	uint32_t counts[2] = { rc != NULL ? rc->nerror_pages : 0, conf->nerror_pages }, k, i, j;

	for (k = 0; k < 2; k++)
		for (i = 0; i < counts[k]; i++)
			for (j = 0; j < lists[k][i].nstatus; j++)
				if ((int)lists[k][i].status[j] == status)
					return &lists[k][i];
	return NULL;
}

/*
 * An error page from a file: its Content-Type, its bytes with the request
 * id (or nothing) wherever it says $request_id, as iovecs over the loaded
 * file; no copy, no allocation.
 */
static enum step
page_reply(struct cconn *c, const struct error_page_conf *p, int status, int head_only)
{
	struct exch *x = c->x;
	struct iovec *v = x->siov;
	uint32_t i, at = 0;
	size_t len = p->len - p->nrid * 11u + p->nrid * (size_t)x->rid_len;
	int n;

	n = snprintf(x->scratch, sizeof(x->scratch),
	    "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s", status,
	    errpage_status_text(status), p->ctype, len, x->cli_close ? "Connection: close\r\n" : "");
	n = own_fields(x, n);
	n += snprintf(x->scratch + n, sizeof(x->scratch) - (size_t)n, "\r\n");
	v->iov_base = x->scratch;
	v++->iov_len = (size_t)n;
	for (i = 0; !head_only && i <= p->nrid; i++) {
		uint32_t end = i < p->nrid ? p->rid_at[i] : p->len;

		if (end > at) {
			v->iov_base = p->data + at;
			v++->iov_len = end - at;
		}
		if (i < p->nrid && x->rid_len > 0) {
			v->iov_base = x->rid;
			v++->iov_len = x->rid_len;
		}
		at = end + 11;
	}
	x->scur = x->siov;
	x->sleft = (int)(v - x->siov);
	cconn_timer(c, TP_SEND);
	return cconn_goto(c, CC_ERRRESP);
}

enum step
errpage_body(struct cconn *c, int status, const char *ctype, char *body, size_t len,
    const char *extra, size_t extra_len)
{
	struct exch *x = c->x;
	struct iovec *v = x->siov;
	int n;

	EXCH_CHECK(x);
	x->own_body = body;
	x->cause = SHM_END_OK;
	x->status = status;
	x->ours = 1;
	/* A body we did not read cannot be skipped: close after. */
	x->cli_close |= c->w->draining || x->rq_mode != BODY_NONE || !x->views_ok;
	n = snprintf(x->scratch, sizeof(x->scratch),
	    "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
	    "Cache-Control: no-store\r\n%s", status, errpage_status_text(status), ctype, len,
	    x->cli_close ? "Connection: close\r\n" : "");
	n = own_fields(x, n);
	v->iov_base = x->scratch;
	v++->iov_len = (size_t)n;
	if (extra_len > 0) {	/* "Location: ...\r\n": not bounded by scratch */
		v->iov_base = (void *)extra;
		v++->iov_len = extra_len;
	}
	v->iov_base = (void *)"\r\n";
	v++->iov_len = 2;
	if (x->meth != HTTP1_M_HEAD && len > 0) {
		v->iov_base = body;
		v++->iov_len = len;
	}
	x->scur = x->siov;
	x->sleft = (int)(v - x->siov);
	cconn_timer(c, TP_SEND);
	return cconn_goto(c, CC_ERRRESP);
}

enum step
errpage_step(struct cconn *c)
{
	struct exch *x = c->x;
	ssize_t n;

	EXCH_CHECK(x);
	while (x->sleft > 0) {
		if (!(c->ready & RDY_CW)) {
			c->want |= RDY_CW;
			return STEP_AGAIN;
		}
		n = cconn_writev(c, x->scur, x->sleft);
		if (n == IO_AGAIN) {
			c->want |= RDY_CW;
			return STEP_AGAIN;
		}
		if (n < 0)
			return cconn_fail(c, SHM_END_CLI_ERROR, "client write error");
		io_iov_advance(&x->scur, &x->sleft, (size_t)n);
	}
	if (x->cli_close) {
		/* Let the client read the answer before the close resets anything. */
		xport_shutdown_wr(&c->xp);
		return cconn_fail(c, x->cause, "error response sent");
	}
	/* Only requests without a body keep the connection: skip the head. */
	iobuf_consume(&c->in, x->req.head_len);
	xend_finish(c, 0);
	c->head_t0 = ev_now(c->w->loop);
	return cconn_goto(c, c->in.data > 0 ? CC_READ_HEAD : CC_IDLE);
}
