/*
 * The backend side of an exchange, one state machine (enum up_state in
 * exch.h): connect, send the head and the body as it comes, read the
 * response head (relaying 1xx), stream the body in its framing, done. The
 * head itself is built by heads.c; failures go to dispatch.c's policy.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/conf.h"
#include "common/http1.h"
#include "common/io.h"
#include "common/log.h"
#include "common/retry_after.h"
#include "shm/shm.h"
#include "worker/cconn.h"
#include "worker/exch.h"
#include "worker/lb.h"
#include "worker/route.h"
#include "worker/tls.h"
#include "worker/uconn.h"
#include "worker/upool.h"
#include "worker/worker-t.h"

static int	scan_req_body(struct exch *x, const char *p, uint32_t avail);
static int	req_body_complete(const struct exch *x);
static enum step send_request(struct cconn *c);
static enum step read_more_request(struct cconn *c);
static enum step recv_response(struct cconn *c);
static enum step send_to_client(struct cconn *c);
static enum step frame_body(struct cconn *c);
static enum step read_backend(struct cconn *c);
static enum step backend_eof(struct cconn *c, ssize_t n);
static enum step resp_head(struct cconn *c);
static enum step resp_final(struct cconn *c);
static enum step watch_client(struct cconn *c);
static int	tls_to_source(struct cconn *c, enum step *res);
static enum step body_too_large(struct cconn *c);
static int	source_handshake(struct cconn *c, enum step *res);
static ssize_t	scan_resp_body(struct exch *x, const char *p, uint32_t avail, const char **data,
	    size_t *dlen);

ssize_t
backend_read(struct cconn *c, struct iobuf *b)
{
	struct exch *x = c->x;
	uint32_t room = iobuf_room(b);
	ssize_t n = xport_read(&x->up->xp, b);

	if (n > 0) {
		x->up_in += (uint64_t)n;
		if ((uint32_t)n < room)
			c->ready &= ~RDY_UR;
	} else if (n == IO_AGAIN) {
		c->ready &= ~RDY_UR;
	}
	return n;
}

ssize_t
backend_writev(struct cconn *c, const struct iovec *v, int n)
{
	struct exch *x = c->x;
	ssize_t r = xport_writev(&x->up->xp, v, n);

	if (r > 0)
		x->up_out += (uint64_t)r;
	else if (r == IO_AGAIN)
		c->ready &= ~RDY_UW;
	return r;
}

/*
 * The head for the source, then the body bytes already read. Called again
 * for a replay, so the body framing starts over. Returns 0, -1 if the
 * body bytes already read are malformed (chunked framing), -2 if they cross
 * the route's max_body_size.
 */
int
backend_build_request(struct cconn *c)
{
	struct exch *x = c->x;
	const struct http1_req *q = &x->req;
	const struct route_conf *rc = x->route->conf;
	struct iovec *v;
	uint32_t avail;
	int n;

	v = heads_request(x, c->peer, c->peer_len, rc->x_forwarded_for &&
	    route_peer_trusted(rc, &c->peer_sa.sa));
	x->rq = RQ_HEAD;
	x->rq_left = (x->rq_mode == BODY_CLEN) ? q->content_length : 0;
	memset(&x->rq_ck, 0, sizeof(x->rq_ck));
	x->rq_scan = x->rq_fwd = q->head_len;
	avail = c->in.data - q->head_len;
	n = scan_req_body(x, iobuf_ptr(&c->in) + q->head_len, avail);
	if (n < 0)
		return n;
	if (n > 0) {
		v->iov_base = iobuf_ptr(&c->in) + q->head_len;
		v->iov_len = (size_t)n;
		v++;
		x->rq_scan += (uint32_t)n;
	}
	x->qcur = x->qiov;
	x->qleft = (int)(v - x->qiov);
	return 0;
}

/*
 * How many of avail body bytes at p belong to this request: >= 0, -1 if
 * malformed, -2 once a chunked body is over max_body_size.
 */
static int
scan_req_body(struct exch *x, const char *p, uint32_t avail)
{
	ssize_t n;

	switch (x->rq_mode) {
	case BODY_CLEN:
		n = avail < x->rq_left ? avail : (ssize_t)x->rq_left;
		x->rq_left -= (uint64_t)n;
		return (int)n;
	case BODY_CHUNKED:
		if (x->rq_ck.done)
			return 0;
		n = http1_chunked_feed(&x->rq_ck, p, avail, NULL, NULL);
		if (n >= 0 && x->route->conf->max_body_size > 0 &&
		    x->rq_ck.total > x->route->conf->max_body_size)
			return -2;	/* over max_body_size: not one more byte goes out */
		return n < 0 ? -1 : (int)n;
	default:
		return 0;
	}
}

static int
req_body_complete(const struct exch *x)
{
	return x->rq_mode == BODY_NONE || (x->rq_mode == BODY_CLEN && x->rq_left == 0) ||
	    (x->rq_mode == BODY_CHUNKED && x->rq_ck.done);
}

enum step
backend_step(struct cconn *c)
{
	struct exch *x = c->x;
	enum step r1, r2;
	int err;

	if (x->ups == UP_QUEUED)
		return queue_step(c);
	if (x->ups == UP_CONNECT) {
		if (!x->up->tls_hs) {
			if (!(c->ready & RDY_UW)) {
				c->want |= RDY_UW;
				return STEP_AGAIN;
			}
			err = uconn_connect_result(x->up);
			if (err != 0)
				return dispatch_failed(c, err, err == ETIMEDOUT ?
				    SHM_END_SRV_TIMEOUT : SHM_END_SRV_CONNECT, "connect");
			if (x->route->pools[x->ri].src->tls.enabled && !tls_to_source(c, &r1))
				return r1;
		}
		if (x->up->tls_hs && !source_handshake(c, &r1))
			return r1;
		x->ups = UP_SEND;
		cconn_timer(c, TP_BACKEND);
	}
	r1 = send_request(c);
	if (r1 == STEP_CLOSE || c->next_state >= 0 || x->ups == UP_NONE)
		return r1;
	r2 = recv_response(c);
	if (r2 == STEP_CLOSE || c->next_state >= 0 || x->ups == UP_DONE)
		return r2 == STEP_AGAIN ? STEP_NEXT : r2;
	if (r1 == STEP_NEXT || r2 == STEP_NEXT) {
		cconn_timer(c, c->tmo_phase == TP_SEND ? TP_SEND : TP_BACKEND);
		return STEP_NEXT;
	}
	if (x->ups == UP_RECV_HEAD && x->rq == RQ_DONE)
		return watch_client(c);
	return STEP_AGAIN;
}

/*
 * A chunked body crossed the route's max_body_size: the source's connection
 * is closed with the body unfinished (it sees an aborted request, never a
 * short one presented as complete) and the client gets 413 if nothing of the
 * response reached it yet.
 */
static enum step
body_too_large(struct cconn *c)
{
	log_info("conn=%llu: request body from %s over max_body_size (%u bytes) of the route "
	    "at line %d: 413", (unsigned long long)c->id, c->peer,
	    c->x->route->conf->max_body_size, c->x->route->conf->line);
	return errpage_reply(c, 413, 1, SHM_END_CLI_BAD);
}

/*
 * Connected to a TLS source: the transport becomes TLS, the handshake
 * starts. 1, or 0 with *res what the step returns (no memory: 503).
 */
static int
tls_to_source(struct cconn *c, enum step *res)
{
	struct exch *x = c->x;
	struct upool *p = &x->route->pools[x->ri];

	if (tls_xport_connect(&x->up->xp, p->src->tls.cli) == -1) {
		*res = dispatch_local_shortage(c, ENOMEM);
		return 0;
	}
	x->up->tls_hs = 1;
	c->ready |= RDY_UW;
	return 1;
}

/*
 * The client handshake with the source, within backend_connect. A failure
 * (certificate not verified, wrong name, alert) is the source's: counted
 * against it, logged with the reason, and retried elsewhere if allowed.
 */
static int
source_handshake(struct cconn *c, enum step *res)
{
	struct exch *x = c->x;
	enum tls_hs r = tls_handshake(&x->up->xp);
	char what[240];

	switch (r) {
	case TLS_HS_DONE:
		x->up->tls_hs = 0;
		c->ready |= RDY_UW;
		return 1;
	case TLS_HS_WANT_READ:
		c->ready &= ~RDY_UR;
		c->want |= RDY_UR;
		*res = STEP_AGAIN;
		return 0;
	case TLS_HS_WANT_WRITE:
		c->ready &= ~RDY_UW;
		c->want |= RDY_UW;
		*res = STEP_AGAIN;
		return 0;
	case TLS_HS_CLOSED:
		*res = dispatch_failed(c, ECONNRESET, SHM_END_SRV_CONNECT,
		    "TLS handshake: the source closed the connection");
		return 0;
	default:
		snprintf(what, sizeof(what), "TLS handshake failed: %s", tls_error());
		*res = dispatch_failed(c, 0, SHM_END_SRV_CONNECT, what);
		return 0;
	}
}

/*
 * The whole request went out and the response head is awaited: watch the
 * client too, so a client that leaves is seen (nginx's 499). Bytes it
 * pipelines meanwhile stay in c->in for the next request.
 */
static enum step
watch_client(struct cconn *c)
{
	ssize_t n;

	if (iobuf_room(&c->in) == 0)
		return STEP_AGAIN;
	if (!(c->ready & RDY_CR)) {
		c->want |= RDY_CR;
		return STEP_AGAIN;
	}
	n = cconn_read(c, &c->in);
	if (n == 0 || n == IO_ERR) {
		log_info("conn=%llu: client %s left while source %s was answering",
		    (unsigned long long)c->id, c->peer, c->x->src_name);
		return cconn_fail(c, SHM_END_CLI_ABORT, "client closed before the response");
	}
	return n > 0 ? STEP_NEXT : STEP_AGAIN;
}

/* Client -> backend: the head iovecs, then body bytes as they come. */
static enum step
send_request(struct cconn *c)
{
	struct exch *x = c->x;
	enum step res = STEP_AGAIN, r;
	ssize_t n;
	int k;

	for (;;) {
		if (x->rq == RQ_DONE || x->rq == RQ_ABORT)
			return res;	/* after RQ_ABORT the source's answer decides */
		if (x->qleft > 0) {
			if (!(c->ready & RDY_UW)) {
				c->want |= RDY_UW;
				return res;
			}
			n = backend_writev(c, x->qcur, x->qleft);
			if (n == IO_AGAIN) {
				c->want |= RDY_UW;
				return res;
			}
			if (n < 0) {
				/* The source may still answer (an early 413): read on. */
				x->rq = RQ_ABORT;
				x->up_close = 1;
				c->ready |= RDY_UR;
				if (x->ups == UP_SEND)
					x->ups = UP_RECV_HEAD;
				return STEP_NEXT;
			}
			io_iov_advance(&x->qcur, &x->qleft, (size_t)n);
			res = STEP_NEXT;
			continue;
		}
		x->rq_fwd = x->rq_scan;
		if (x->rq == RQ_HEAD)
			x->rq = RQ_BODY;
		if (req_body_complete(x)) {
			x->rq = RQ_DONE;
			if (x->ups == UP_SEND)
				x->ups = UP_RECV_HEAD;
			continue;
		}
		if (c->in.data > x->rq_scan) {
			k = scan_req_body(x, iobuf_ptr(&c->in) + x->rq_scan, c->in.data - x->rq_scan);
			if (k == -2)
				return body_too_large(c);
			if (k < 0) {
				log_info("conn=%llu: malformed chunked request body from %s",
				    (unsigned long long)c->id, c->peer);
				return cconn_fail(c, SHM_END_CLI_BAD, "malformed chunked body");
			}
			if (k > 0) {
				x->qcur = x->qiov;
				x->qiov[0].iov_base = iobuf_ptr(&c->in) + x->rq_scan;
				x->qiov[0].iov_len = (size_t)k;
				x->qleft = 1;
				x->rq_scan += (uint32_t)k;
				continue;
			}
		}
		r = read_more_request(c);
		if (r == STEP_AGAIN)
			return res;
		if (r != STEP_NEXT)
			return r;
		res = STEP_NEXT;
	}
}

/* More request body from the client into c->in: STEP_NEXT, STEP_AGAIN or STEP_CLOSE. */
static enum step
read_more_request(struct cconn *c)
{
	struct exch *x = c->x;
	ssize_t n;

	if (iobuf_room(&c->in) == 0) {
		/* Drop what went out; the request can no longer be replayed. */
		iobuf_consume(&c->in, x->rq_fwd);
		x->rq_scan -= x->rq_fwd;
		x->rq_fwd = 0;
		iobuf_compact(&c->in);
		x->views_ok = 0;
		if (iobuf_room(&c->in) == 0)
			return cconn_fail(c, SHM_END_LOCAL, "request buffer stuck");
	}
	if (!(c->ready & RDY_CR)) {
		c->want |= RDY_CR;
		return STEP_AGAIN;
	}
	n = cconn_read(c, &c->in);
	if (n == IO_AGAIN) {
		c->want |= RDY_CR;
		return STEP_AGAIN;
	}
	if (n <= 0)
		return cconn_fail(c, n == 0 ? SHM_END_CLI_ABORT : SHM_END_CLI_ERROR,
		    "client closed during the request body");
	return STEP_NEXT;
}

/* Backend -> client: the head (rewritten), then the body in its framing. */
static enum step
recv_response(struct cconn *c)
{
	struct exch *x = c->x;
	enum step res = STEP_AGAIN, r;

	if (x->rb.area == NULL) {
		x->rb.area = freelist_get(&c->w->fl_buf);
		if (x->rb.area == NULL)
			return cconn_fail(c, SHM_END_LOCAL, "out of memory");
		x->rb.size = c->w->bufsize;
	}
	for (;;) {
		if (x->sleft > 0) {
			r = send_to_client(c);
			if (r == STEP_AGAIN)
				return res;
			if (r != STEP_NEXT)
				return r;
			res = STEP_NEXT;
			continue;
		}
		if (x->rs_consume > 0) {
			iobuf_consume(&x->rb, x->rs_consume);
			x->rs_consume = 0;
		}
		if (x->ups == UP_DONE)
			return res;
		if (x->ups < UP_RECV_BODY) {
			r = resp_head(c);
			if (r != STEP_AGAIN || x->ups >= UP_RECV_BODY || c->next_state >= 0)
				return r == STEP_CLOSE ? r : STEP_NEXT;
			/* resp_head wants more bytes: fall through to read. */
		} else if (x->rs_complete) {
			x->ups = UP_DONE;
			return STEP_NEXT;
		} else if (x->rb.data > 0 && x->rs_mode != BODY_NONE) {
			r = frame_body(c);
			if (r == STEP_CLOSE)
				return r;
			res = STEP_NEXT;
			continue;
		}
		r = read_backend(c);
		if (r == STEP_AGAIN)
			return res;
		if (r != STEP_NEXT || c->next_state >= 0 || x->ups == UP_CONNECT)
			return r;	/* ended, answered, or retried elsewhere */
		res = STEP_NEXT;
	}
}

/* Writes x->siov to the client: STEP_NEXT (some went), STEP_AGAIN or STEP_CLOSE. */
static enum step
send_to_client(struct cconn *c)
{
	struct exch *x = c->x;
	ssize_t n;

	if (!(c->ready & RDY_CW)) {
		c->want |= RDY_CW;
		return STEP_AGAIN;
	}
	n = cconn_writev(c, x->scur, x->sleft);
	if (n == IO_AGAIN) {
		c->want |= RDY_CW;
		cconn_timer(c, TP_SEND);
		return STEP_AGAIN;
	}
	if (n < 0)
		return cconn_fail(c, SHM_END_CLI_ERROR, "client write error");
	io_iov_advance(&x->scur, &x->sleft, (size_t)n);
	/* A complete 1xx still leaves room for our own final answer. */
	if (x->status != 0 || x->sleft > 0)
		x->sent_client = 1;
	return STEP_NEXT;
}

/* Body bytes in rb: frame them and queue what goes to the client. */
static enum step
frame_body(struct cconn *c)
{
	struct exch *x = c->x;
	const char *data;
	size_t dlen;
	ssize_t n = scan_resp_body(x, iobuf_ptr(&x->rb), x->rb.data, &data, &dlen);

	if (n < 0) {
		log_warnx("conn=%llu: source %s: malformed chunked response body",
		    (unsigned long long)c->id, x->src_name);
		lb_failed(c->w, (uint32_t)x->src_idx, SHM_R_MALFORMED);
		return cconn_fail(c, SHM_END_SRV_MALFORMED, "malformed chunked response");
	}
	x->rs_consume = (uint32_t)n;
	if (dlen > 0) {
		x->scur = x->siov;
		x->siov[0].iov_base = (void *)data;
		x->siov[0].iov_len = dlen;
		x->sleft = 1;
	}
	return STEP_NEXT;
}

/* More bytes from the source into rb: STEP_NEXT, STEP_AGAIN, or the step of a failure. */
static enum step
read_backend(struct cconn *c)
{
	struct exch *x = c->x;
	ssize_t n;

	if (iobuf_room(&x->rb) == 0) {
		if (x->rb.head == 0) {
			if (x->ups < UP_RECV_BODY) {
				log_warnx("conn=%llu: source %s: response head too large",
				    (unsigned long long)c->id, x->src_name);
				x->views_ok = 0;
				return errpage_reply(c, 502, 1, SHM_END_SRV_MALFORMED);
			}
			return cconn_fail(c, SHM_END_LOCAL, "response buffer stuck");
		}
		iobuf_compact(&x->rb);
	}
	if (!(c->ready & RDY_UR)) {
		c->want |= RDY_UR;
		return STEP_AGAIN;
	}
	n = backend_read(c, &x->rb);
	if (n == IO_AGAIN) {
		c->want |= RDY_UR;
		return STEP_AGAIN;
	}
	if (n <= 0)
		return backend_eof(c, n);
	return STEP_NEXT;
}

/* The source closed (n == 0) or failed (n < 0) while we read. */
static enum step
backend_eof(struct cconn *c, ssize_t n)
{
	struct exch *x = c->x;
	int err = n == 0 ? ECONNRESET : errno;

	if (x->ups < UP_RECV_BODY && x->rb.data == 0 && !x->sent_client)
		return dispatch_failed(c, err, SHM_END_SRV_RESET,
		    n == 0 ? "closed before responding" : "read error");
	if (x->ups == UP_RECV_BODY && x->rs_mode == BODY_CLOSE && n == 0) {
		x->rs_complete = 1;
		x->up_close = 1;
		return STEP_NEXT;
	}
	lb_failed(c->w, (uint32_t)x->src_idx, SHM_R_RESET);
	if (x->ups < UP_RECV_BODY && !x->sent_client) {
		log_warnx("conn=%llu: source %s: truncated response head",
		    (unsigned long long)c->id, x->src_name);
		x->views_ok = 0;
		return errpage_reply(c, 502, 1, SHM_END_SRV_RESET);
	}
	/* Mid-body: never present a truncated body as complete. */
	log_warnx("conn=%llu: source %s closed in the middle of the response body",
	    (unsigned long long)c->id, x->src_name);
	return cconn_fail(c, SHM_END_SRV_RESET, "source closed mid-body");
}

/* Parses the source's head; relays 1xx; on a final head, resp_final(). */
static enum step
resp_head(struct cconn *c)
{
	struct exch *x = c->x;
	struct http1_resp *s = &x->resp;
	int r;

	if (x->rb.data == 0)
		return STEP_AGAIN;
	r = http1_parse_resp(iobuf_ptr(&x->rb), x->rb.data, x->rb.size, s, x->rhdrs, x->maxh);
	if (r == HTTP1_PARTIAL)
		return STEP_AGAIN;
	if (r == HTTP1_BAD || (s->status == 101 && !heads_upgrade_agreed(x)) ||
	    (s->status < 200 && s->status != 101 && ++x->ninterim > MAX_INTERIM)) {
		log_warnx("conn=%llu: source %s: malformed response head: %s",
		    (unsigned long long)c->id, x->src_name,
		    r == HTTP1_BAD ? (s->error ? s->error : "bad") :
		    s->status == 101 ? "101 to a protocol the request did not offer" :
		    "more than 10 interim (1xx) responses");
		lb_failed(c->w, (uint32_t)x->src_idx, SHM_R_MALFORMED);
		x->views_ok = 0;
		return errpage_reply(c, 502, 1, SHM_END_SRV_MALFORMED);
	}
	if (s->status < 200 && s->status != 101) {
		/* Interim response: relay to HTTP/1.1 clients, then wait for the final one. */
		x->rs_consume = (uint32_t)r;
		if (x->minor >= 1) {
			x->scur = x->siov;
			x->siov[0].iov_base = iobuf_ptr(&x->rb);
			x->siov[0].iov_len = (size_t)r;
			x->sleft = 1;
		}
		return STEP_NEXT;
	}
	return resp_final(c);
}

/* A final (or 101) head: account, frame the body, build our head. */
static enum step
resp_final(struct cconn *c)
{
	struct worker *w = c->w;
	struct exch *x = c->x;
	struct http1_resp *s = &x->resp;
	struct shm_wsrc *ws = shm_wsrc(w->ho->shm, w->ho->shm_slot, w->ho->src_slot[x->src_idx]);
	int cls = shm_status_class(s->status);
	uint32_t ra;

	x->status = s->status;
	x->t_up_head = ev_now(w->loop);
	if (cls >= 0)
		shm_add(&ws->resp[cls], 1);
	shm_wsrc_latency(ws, (uint64_t)((x->t_up_head - x->t_up_start) * 1e6));
	lb_ok(w, (uint32_t)x->src_idx, x->probe);
	if (s->status == 101) {
		/* Switching protocols: relay the head, then become a byte tunnel. */
		x->tunnel = 1;
		x->rs_mode = BODY_NONE;
		x->rs_complete = 1;
		heads_response(x, w->rwctx);
		backend_frame_head_body(x);
		x->ups = UP_RECV_BODY;
		return STEP_NEXT;
	}
	if (s->status == 503 || s->status == 429) {
		const struct http1_header *h = http1_find(s->headers, s->nheaders, "retry-after");

		if (h != NULL && retry_after_parse(h->value.p, h->value.len, time(NULL), &ra) == 0 &&
		    ra > 0)
			lb_retry_after(w, (uint32_t)x->src_idx, ra);
	}
	x->up_close = (s->flags & HTTP1_F_CONN_CLOSE) ||
	    (s->minor == 0 && !(s->flags & HTTP1_F_CONN_KEEPALIVE));
	if (s->keepalive_timeout > 0)
		x->up->expires = ev_now(w->loop) + s->keepalive_timeout;
	if (x->meth == HTTP1_M_HEAD || s->status == 204 || s->status == 304)
		x->rs_mode = BODY_NONE;
	else if (s->flags & HTTP1_F_CHUNKED)
		x->rs_mode = x->minor >= 1 ? BODY_CHUNKED : BODY_DECHUNK;
	else if (s->flags & HTTP1_F_CLEN)
		x->rs_mode = BODY_CLEN;
	else
		x->rs_mode = BODY_CLOSE;
	x->rs_left = s->content_length;
	x->rs_complete = x->rs_mode == BODY_NONE || (x->rs_mode == BODY_CLEN && x->rs_left == 0);
	if (x->rs_mode == BODY_CLOSE || x->rs_mode == BODY_DECHUNK) {
		x->cli_close = 1;	/* the client sees the end as a close */
		x->up_close |= x->rs_mode == BODY_CLOSE;
	}
	if (x->rq != RQ_DONE)
		x->cli_close = 1;	/* answered before the body was read: stop here */
	heads_response(x, w->rwctx);
	if (x->rw_gave_up) {
		/* Never pass on the source's own Location because a regex gave up. */
		shm_add(&shm_worker(w->ho->shm, w->ho->shm_slot)->regex_aborts, 1);
		log_error("conn=%llu: route at %s:%d: rewrite_location gave up (retry limit), "
		    "answering 500", (unsigned long long)c->id, w->conf->file, x->route->conf->line);
		x->views_ok = 0;
		return errpage_reply(c, 500, 1, SHM_END_INTERNAL);
	}
	backend_frame_head_body(x);
	x->ups = UP_RECV_BODY;
	return STEP_NEXT;
}

/* Body bytes that came with the head go out in the same writev. */
void
backend_frame_head_body(struct exch *x)
{
	const struct http1_resp *s = &x->resp;
	const char *data;
	size_t dlen;
	ssize_t n;

	x->rs_consume = s->head_len;
	if (x->rb.data <= s->head_len || x->rs_mode == BODY_NONE)
		return;
	n = scan_resp_body(x, iobuf_ptr(&x->rb) + s->head_len, x->rb.data - s->head_len, &data,
	    &dlen);
	if (n > 0) {
		x->rs_consume += (uint32_t)n;
		if (dlen > 0) {
			x->siov[x->sleft].iov_base = (void *)data;
			x->siov[x->sleft].iov_len = dlen;
			x->sleft++;
		}
	}
	/* n < 0: the body loop meets the same bytes again and reports them. */
	if (n < 0)
		memset(&x->rs_ck, 0, sizeof(x->rs_ck));
}

/*
 * Frames avail response body bytes at p: returns how many belong to the body
 * (>= 0) or -1 on malformed chunking, and the span to send to the client
 * (the same bytes, or only the payload when de-chunking).
 */
static ssize_t
scan_resp_body(struct exch *x, const char *p, uint32_t avail, const char **data, size_t *dlen)
{
	ssize_t n;

	*data = p;
	*dlen = 0;
	switch (x->rs_mode) {
	case BODY_CLEN:
		n = avail < x->rs_left ? avail : (ssize_t)x->rs_left;
		x->rs_left -= (uint64_t)n;
		x->rs_complete = x->rs_left == 0;
		*dlen = (size_t)n;
		return n;
	case BODY_CHUNKED:
	case BODY_DECHUNK:
		if (x->rs_ck.done)
			return 0;
		n = http1_chunked_feed(&x->rs_ck, p, avail, data, dlen);
		if (n < 0)
			return -1;
		x->rs_complete = x->rs_ck.done;
		if (x->rs_mode == BODY_CHUNKED) {
			*data = p;
			*dlen = (size_t)n;
		}
		return n;
	case BODY_CLOSE:
		*dlen = avail;
		return avail;
	default:
		return 0;
	}
}

/*
 * Gives the source connection back (pool or close) and ends its share of
 * the source's active count and byte counters in shm.
 */
void
backend_release(struct cconn *c, int reuse)
{
	struct worker *w = c->w;
	struct exch *x = c->x;

	if (x->act_src >= 0) {
		uint32_t slot = w->ho->src_slot[x->act_src];
		struct shm_wsrc *ws = shm_wsrc(w->ho->shm, w->ho->shm_slot, slot);

		shm_active_dec(w->ho->shm, w->ho->shm_slot, slot);
		shm_add(&ws->bytes_in, x->up_in);
		shm_add(&ws->bytes_out, x->up_out);
		x->up_in = x->up_out = 0;
		x->act_src = -1;
	}
	if (x->up == NULL)
		return;
	upool_released(x->up->pool);
	/* A connection another worker's older waiter needs is closed, not kept. */
	if (reuse && !queue_keep(w, x->up->pool))
		reuse = 0;
	if (reuse)
		upool_put(x->up, x->route != NULL ? x->route->conf->timeouts.backend_idle :
		    w->conf->timeouts.backend_idle);
	else
		uconn_close(x->up);
	x->up = NULL;
}
