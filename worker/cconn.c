/*
 * The client side of one connection: accept, the request head, the run loop
 * that drives every state (and is the only code that changes it), the
 * timeouts, keep-alive and drain, and the one door a connection leaves by.
 *
 * I/O is speculative (HAProxy style): a side is read or written while its
 * ready bit is set, and a watcher is armed only after EAGAIN, so a request
 * that fits in one read costs no epoll_ctl at all.
 */
#include "worker/cconn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/conf.h"
#include "common/http1.h"
#include "common/io.h"
#include "common/log.h"
#include "common/proxyproto.h"
#include "shm/shm.h"
#include "worker/exch.h"
#include "worker/lb.h"
#include "worker/route.h"
#include "worker/tls.h"
#include "worker/uconn.h"
#include "worker/worker-t.h"

#define BUDGET		32	/* passes per wakeup before yielding to other connections */

static void	io_cb(struct ev_loop *loop, ev_io *io, int revents);
static void	up_cb(struct ev_loop *loop, ev_io *io, int revents);
static void	tmo_cb(struct ev_loop *loop, ev_timer *t, int revents);
static void	set_peer(struct cconn *c, const struct sockaddr_storage *ss);
static void	run(struct cconn *c);
static void	arm(struct cconn *c);
static void	watch(struct ev_loop *loop, ev_io *io, int *cur, int events);
static void	cconn_close(struct cconn *c);
static struct exch *exch_new(struct cconn *c);
static enum step read_head(struct cconn *c);
static enum step parse_head(struct cconn *c);
static enum step proxy_header(struct cconn *c);
static enum step tls_step(struct cconn *c);
static enum step on_timeout(struct cconn *c);
static enum step exch_step(struct cconn *c);
static enum step finish(struct cconn *c);

/*
 * iovecs beyond the header lines in each direction: our own lines plus the
 * longest header_add list of any route. Set once per worker by
 * cconn_exch_size(), before the first exchange.
 */
static uint32_t	extra_iov = EXTRA_IOV;

size_t
cconn_exch_size(const struct conf *c)
{
	uint32_t maxh = c->limits.max_headers, i, most = 0;

	for (i = 0; i < c->nroutes; i++) {
		if (c->routes[i].request.nadd > most)
			most = c->routes[i].request.nadd;
		if (c->routes[i].response.nadd > most)
			most = c->routes[i].response.nadd;
	}
	extra_iov = EXTRA_IOV + most;
	return sizeof(struct exch) + 2 * (size_t)maxh * sizeof(struct http1_header) +
	    (3 * (size_t)maxh + 2 * (size_t)extra_iov) * sizeof(struct iovec) +
	    3 * ((size_t)c->limits.max_request_line + TARGET_EXTRA) + LINES_CAP;
}

/* The client's address as logs and X-Forwarded-For show it. */
static void
set_peer(struct cconn *c, const struct sockaddr_storage *ss)
{
	memset(&c->peer_sa, 0, sizeof(c->peer_sa));
	if (ss->ss_family == AF_INET) {
		c->peer_sa.in = *(const struct sockaddr_in *)ss;
		inet_ntop(AF_INET, &c->peer_sa.in.sin_addr, c->peer, sizeof(c->peer));
	} else if (ss->ss_family == AF_INET6) {
		c->peer_sa.in6 = *(const struct sockaddr_in6 *)ss;
		inet_ntop(AF_INET6, &c->peer_sa.in6.sin6_addr, c->peer, sizeof(c->peer));
	} else {
		c->peer_sa.sa.sa_family = ss->ss_family;
		snprintf(c->peer, sizeof(c->peer), "unix");
	}
	c->peer_len = (uint8_t)strlen(c->peer);
}

int
cconn_accept(struct worker *w, int fd, const struct sockaddr_storage *ss, int proxy_hdr,
    const struct tls_srv *tls)
{
	struct cconn *c = freelist_get(&w->fl_cconn);

	if (c == NULL)
		return -1;
	*c = (struct cconn){ .magic = CCONN_MAGIC, .w = w, .id = ++w->next_id,
	    .next_state = -1 };
	xport_tcp_init(&c->xp, fd);
	c->proxy_hdr = (uint8_t)proxy_hdr;
	c->tls = tls;
	c->tls_hs = tls != NULL;
	set_peer(c, ss);
	ev_io_init(&c->io, io_cb, fd, 0);
	ev_init(&c->tmo, tmo_cb);
	c->next = w->conns;
	if (w->conns != NULL)
		w->conns->prev = c;
	w->conns = c;
	w->nconns++;
	shm_gauge_add(&shm_worker(w->ho->shm, w->ho->shm_slot)->conns_open, 1);
	/* Speculative first read: the request often arrives with the handshake. */
	c->ready = RDY_CR | RDY_CW;
	c->state = CC_IDLE;
	c->head_t0 = ev_now(w->loop);	/* the first request is due within client_header */
	run(c);
	return 0;
}

/*
 * Closing an idle keep-alive connection races with a request the client may
 * be sending at that instant (the lost-request-on-reload bug of nginx and
 * HAProxy reports). So an idle connection is left alone: its next request
 * is answered with Connection: close, or it ends at its normal keep-alive
 * timeout, exactly as without a reload; timeouts.graceful bounds it all.
 */
void
cconn_drain(struct cconn *c)
{
	/* Only a response whose head is not out yet can still say Connection: close. */
	if (c->x != NULL && c->state == CC_EXCH && c->x->ups < UP_RECV_BODY)
		c->x->cli_close = 1;
}

enum step
cconn_fail(struct cconn *c, enum shm_end cause, const char *why)
{
	c->flags |= CC_F_CLOSE;
	c->why = why;
	if (c->x != NULL && c->x->cause == SHM_END_OK)
		c->x->cause = cause;
	return STEP_CLOSE;
}

enum step
cconn_goto(struct cconn *c, int next)
{
	c->next_state = (int8_t)next;
	return STEP_NEXT;
}

ssize_t
cconn_read(struct cconn *c, struct iobuf *b)
{
	uint32_t room = iobuf_room(b);
	ssize_t n = xport_read(&c->xp, b);

	if (n > 0) {
		shm_add(&shm_worker(c->w->ho->shm, c->w->ho->shm_slot)->bytes_in, (uint64_t)n);
		if ((uint32_t)n < room)
			c->ready &= ~RDY_CR;	/* drained: the next read would say EAGAIN */
	} else if (n == IO_AGAIN) {
		c->ready &= ~RDY_CR;
	}
	return n;
}

ssize_t
cconn_writev(struct cconn *c, const struct iovec *v, int n)
{
	ssize_t r = xport_writev(&c->xp, v, n);

	if (r >= 0 && c->x != NULL)
		c->x->bytes_sent += (uint64_t)r;
	else if (r == IO_AGAIN)
		c->ready &= ~RDY_CW;
	return r;
}

static void
watch(struct ev_loop *loop, ev_io *io, int *cur, int events)
{
	if (*cur == events)
		return;
	if (*cur != 0)
		ev_io_stop(loop, io);
	ev_io_set(io, io->fd, events);
	if (events != 0)
		ev_io_start(loop, io);
	*cur = events;
}

/*
 * Sets the connection's deadline for phase. The libev timer is re-armed only
 * when the new deadline comes before the armed one; a timer that fires
 * early re-arms itself for the rest (libev's "be smart about timeouts"), so
 * a keep-alive request moves deadlines without touching the timer heap.
 * Header deadlines count from head_t0; idle phases (backend, send, tunnel)
 * restart from now on every call.
 */
void
cconn_timer(struct cconn *c, int phase)
{
	const struct timeouts_conf *t = &c->w->conf->timeouts;
	/* Once a route is chosen, its own backend and tunnel timeouts. */
	const struct route_timeouts *rt = c->x != NULL && c->x->route != NULL ?
	    &c->x->route->conf->timeouts : NULL;
	ev_tstamp now = ev_now(c->w->loop), d;

	if (phase == c->tmo_phase && phase != TP_BACKEND && phase != TP_SEND && phase != TP_TUNNEL)
		return;
	switch (phase) {
	case TP_KEEPALIVE:
		d = t->client_keepalive;
		break;
	case TP_HEADER:
		d = t->client_header - (now - c->head_t0);
		break;
	case TP_CONNECT:
		d = rt != NULL ? rt->backend_connect : t->backend_connect;
		break;
	case TP_BACKEND:
	case TP_SEND:
		d = rt != NULL ? rt->backend_response : t->backend_response;
		break;
	case TP_TUNNEL:
		d = rt != NULL ? rt->tunnel : t->tunnel;
		if (d <= 0)
			d = 3600;
		break;
	case TP_QUEUE:
		d = c->x->route->conf->queue_timeout;
		break;
	default:
		c->tmo_phase = TP_NONE;	/* an armed timer finds nothing to do */
		return;
	}
	c->tmo_phase = (uint8_t)phase;
	c->deadline = now + d;
	if (!ev_is_active(&c->tmo) || c->deadline < c->armed - 0.001) {
		ev_timer_stop(c->w->loop, &c->tmo);
		ev_timer_set(&c->tmo, d > 0 ? d : 0., 0.);
		ev_timer_start(c->w->loop, &c->tmo);
		c->armed = c->deadline;
	}
}

static void
io_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	struct cconn *c = (struct cconn *)((char *)io - offsetof(struct cconn, io));

	(void)loop;
	CCONN_CHECK(c);
	if (revents & EV_READ)
		c->ready |= RDY_CR;
	if (revents & EV_WRITE)
		c->ready |= RDY_CW;
	run(c);
}

static void
up_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	struct uconn *u = (struct uconn *)((char *)io - offsetof(struct uconn, io));
	struct cconn *c;

	(void)loop;
	if (u->magic != UCONN_MAGIC || u->owner == NULL)
		abort();
	c = u->owner;
	CCONN_CHECK(c);
	if (revents & EV_READ)
		c->ready |= RDY_UR;
	if (revents & EV_WRITE)
		c->ready |= RDY_UW;
	run(c);
}

/* The source connection now belongs to c: its events come to c's run loop. */
void
cconn_own_backend(struct cconn *c, struct uconn *u)
{
	u->owner = c;
	/* A pooled connection keeps its registered read watcher: only its callback changes. */
	if (ev_is_active(&u->io))
		ev_set_cb(&u->io, up_cb);
	else
		ev_io_init(&u->io, up_cb, u->fd, 0);
}

static void
tmo_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct cconn *c = (struct cconn *)((char *)t - offsetof(struct cconn, tmo));

	(void)revents;
	CCONN_CHECK(c);
	if (c->tmo_phase == TP_NONE)
		return;
	if (ev_now(loop) < c->deadline - 0.001) {
		/* The deadline moved on since the timer was armed: sleep the rest. */
		ev_timer_set(&c->tmo, c->deadline - ev_now(loop), 0.);
		ev_timer_start(loop, &c->tmo);
		c->armed = c->deadline;
		return;
	}
	c->flags |= CC_F_TIMEOUT;
	run(c);
}

/* The timer fired in c->tmo_phase: what that means in the current state. */
static enum step
on_timeout(struct cconn *c)
{
	struct exch *x = c->x;
	int phase = c->tmo_phase;

	c->tmo_phase = TP_NONE;
	switch (c->state) {
	case CC_IDLE:
		/* Nothing of a request came: a plain close (no byte, no 408). */
		return cconn_fail(c, SHM_END_CLI_TIMEOUT, phase == TP_KEEPALIVE ?
		    "keep-alive timeout" : "no request within client_header");
	case CC_READ_HEAD:
		log_info("conn=%llu: client sent no complete request head in %.0fs",
		    (unsigned long long)c->id, c->w->conf->timeouts.client_header);
		return errpage_reply(c, 408, 1, SHM_END_CLI_TIMEOUT);
	case CC_EXCH:
		if (x->ups == UP_QUEUED)
			return queue_expired(c);
		if (x->ups == UP_CONNECT)
			return dispatch_failed(c, ETIMEDOUT, SHM_END_SRV_TIMEOUT, "connect timed out");
		if (x->ups < UP_RECV_BODY && !x->sent_client) {
			lb_failed(c->w, (uint32_t)x->src_idx, SHM_R_TIMEOUT);
			log_warnx("conn=%llu: source %s: no response in %gs while reading response "
			    "head", (unsigned long long)c->id, x->src_name,
			    x->route->conf->timeouts.backend_response);
			return errpage_reply(c, 504, x->rq_mode != BODY_NONE, SHM_END_SRV_TIMEOUT);
		}
		if (phase == TP_SEND)
			return cconn_fail(c, SHM_END_CLI_TIMEOUT, "client stopped reading");
		lb_failed(c->w, (uint32_t)x->src_idx, SHM_R_TIMEOUT);
		return cconn_fail(c, SHM_END_SRV_TIMEOUT, "source stalled mid-response");
	case CC_TUNNEL:
		return cconn_fail(c, SHM_END_OK, "tunnel idle timeout");
	default:
		return cconn_fail(c, SHM_END_CLI_TIMEOUT, "timed out");
	}
}

/*
 * The driver: runs steps until nothing moves, applies the state a step
 * asked for, closes when a step asked for it, then arms exactly the
 * watchers the blocked steps asked for.
 */
static void
run(struct cconn *c)
{
	enum step r = STEP_NEXT;
	int budget = BUDGET;

	while (r == STEP_NEXT && budget-- > 0) {
		c->want = 0;
		if (c->flags & CC_F_TIMEOUT) {
			c->flags &= (uint8_t)~CC_F_TIMEOUT;
			r = on_timeout(c);
		} else {
			switch (c->state) {
			case CC_IDLE:
			case CC_READ_HEAD:
				r = read_head(c);
				break;
			case CC_EXCH:
				r = exch_step(c);
				break;
			case CC_ERRRESP:
				r = errpage_step(c);
				break;
			case CC_TUNNEL:
				r = tunnel_step(c);
				break;
			default:
				abort();
			}
		}
		if (c->next_state >= 0) {
			if (c->next_state >= CC__COUNT)
				abort();
			c->state = (uint8_t)c->next_state;
			c->next_state = -1;
		}
		if (r == STEP_CLOSE || (c->flags & CC_F_CLOSE)) {
			cconn_close(c);
			return;
		}
	}
	if (r == STEP_NEXT) {
		/* Budget spent: come back through the loop without blocking. */
		ev_feed_event(c->w->loop, &c->io, 0);
		return;
	}
	arm(c);
}

/*
 * A read interest nobody needs right now stays registered while nothing is
 * pending on the socket: dropping and re-adding it would cost two epoll_ctl
 * calls per request. Once bytes or EOF do wait unread (level-triggered), it
 * is dropped so the loop cannot spin.
 */
static void
arm(struct cconn *c)
{
	struct ev_loop *loop = c->w->loop;
	int ev = ((c->want & RDY_CR) ? EV_READ : 0) | ((c->want & RDY_CW) ? EV_WRITE : 0);

	if ((c->io_events & EV_READ) && !(c->ready & RDY_CR))
		ev |= EV_READ;
	watch(loop, &c->io, &c->io_events, ev);
	if (c->x != NULL && c->x->up != NULL) {
		struct uconn *u = c->x->up;
		int uev = ((c->want & RDY_UR) ? EV_READ : 0) | ((c->want & RDY_UW) ? EV_WRITE : 0);

		if (ev_is_active(&u->io) && (u->io.events & EV_READ) && !(c->ready & RDY_UR))
			uev |= EV_READ;
		if ((u->io.events & (EV_READ | EV_WRITE)) != uev || !ev_is_active(&u->io)) {
			ev_io_stop(loop, &u->io);
			ev_io_set(&u->io, u->fd, uev);
			if (uev != 0)
				ev_io_start(loop, &u->io);
		}
	}
}

/* The one door: the exchange ends (logged, counted), then the connection. */
static void
cconn_close(struct cconn *c)
{
	struct worker *w = c->w;

	log_debug("conn=%llu: closed: %s", (unsigned long long)c->id,
	    c->why != NULL ? c->why : "-");
	if (c->x != NULL)
		xend_finish(c, 0);
	ev_io_stop(w->loop, &c->io);
	ev_timer_stop(w->loop, &c->tmo);
	xport_close(&c->xp);
	if (c->in.area != NULL)
		freelist_put(&w->fl_buf, c->in.area);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		w->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	c->magic = 0;
	freelist_put(&w->fl_cconn, c);
	shm_gauge_add(&shm_worker(w->ho->shm, w->ho->shm_slot)->conns_open, -1);
	w->conn_closed(w);
}

static struct exch *
exch_new(struct cconn *c)
{
	struct worker *w = c->w;
	uint32_t maxh = w->conf->limits.max_headers;
	struct exch *x = freelist_get(&w->fl_exch);
	char *p;

	if (x == NULL)
		return NULL;
	memset(x, 0, sizeof(*x));
	x->magic = EXCH_MAGIC;
	x->maxh = maxh;
	p = (char *)(x + 1);
	x->hdrs = (struct http1_header *)p;
	x->rhdrs = x->hdrs + maxh;
	x->qiov = (struct iovec *)(x->rhdrs + maxh);
	x->siov = x->qiov + 2 * maxh + extra_iov;
	x->target = (char *)(x->siov + maxh + extra_iov);
	x->tcap = w->conf->limits.max_request_line + TARGET_EXTRA;
	x->npath = x->target + x->tcap;
	x->rpath = x->npath + x->tcap;
	x->lines = x->rpath + x->tcap;
	x->ri = -1;
	x->src_idx = -1;
	x->retry_from = -1;
	x->act_src = -1;
	x->views_ok = 1;
	x->cli_tls = c->xp.ops == &xport_tls;
	c->x = x;
	return x;
}

/* A PROXY protocol header, before anything else on the connection. */
static enum step
proxy_header(struct cconn *c)
{
	struct sockaddr_storage src;
	int r = proxyproto_parse(iobuf_ptr(&c->in), c->in.data, &src);

	if (r == -1) {
		log_info("conn=%llu: bad PROXY protocol header from %s", (unsigned long long)c->id,
		    c->peer);
		return cconn_fail(c, SHM_END_CLI_BAD, "bad PROXY protocol header");
	}
	if (r > 0) {
		if (src.ss_family != AF_UNSPEC)
			set_peer(c, &src);
		iobuf_consume(&c->in, (uint32_t)r);
		c->proxy_hdr = 0;
		return STEP_NEXT;
	}
	return STEP_AGAIN;	/* partial */
}

/*
 * A TLS listener: the handshake, after any PROXY header and before the
 * first request; client_header bounds it (head_t0 is the accept).
 */
static enum step
tls_step(struct cconn *c)
{
	struct shm_worker *sw;
	enum tls_hs r;

	if (c->xp.ops == &xport_tcp && tls_xport_init(&c->xp, c->tls) == -1)
		return cconn_fail(c, SHM_END_LOCAL, "out of memory");
	r = tls_handshake(&c->xp);
	if (r == TLS_HS_DONE) {
		sw = shm_worker(c->w->ho->shm, c->w->ho->shm_slot);
		shm_add(tls_resumed(&c->xp) ? &sw->tls_resumed : &sw->tls_full, 1);
		c->tls_hs = 0;
		c->ready |= RDY_CR;	/* the request often follows the Finished message */
		return STEP_NEXT;
	}
	if (r == TLS_HS_CLOSED)
		return cconn_fail(c, SHM_END_OK, "client closed during the TLS handshake");
	if (r == TLS_HS_ERR) {
		shm_add(&shm_worker(c->w->ho->shm, c->w->ho->shm_slot)->tls_failed, 1);
		log_info("conn=%llu: TLS handshake with %s failed: %s", (unsigned long long)c->id,
		    c->peer, tls_error());
		return cconn_fail(c, SHM_END_CLI_BAD, "TLS handshake failed");
	}
	c->ready &= r == TLS_HS_WANT_READ ? ~RDY_CR : ~RDY_CW;
	c->want |= r == TLS_HS_WANT_READ ? RDY_CR : RDY_CW;
	cconn_timer(c, TP_HEADER);
	return STEP_AGAIN;
}

/* Bytes of a request head are in c->in: parse them. */
static enum step
parse_head(struct cconn *c)
{
	struct worker *w = c->w;
	const struct limits_conf *lim = &w->conf->limits;
	struct http1_limits hl = { lim->max_request_line, lim->max_header_size, lim->max_headers };
	struct exch *x = c->x != NULL ? c->x : exch_new(c);
	int r;

	if (x == NULL)
		return cconn_fail(c, SHM_END_LOCAL, "out of memory");
	if (c->state == CC_IDLE) {
		/* The header deadline is armed only if we have to wait. */
		cconn_goto(c, CC_READ_HEAD);
		if (c->nreq > 0)
			c->head_t0 = ev_now(w->loop);
	}
	r = http1_parse_req(iobuf_ptr(&c->in), c->in.data, &hl, &x->req, x->hdrs, x->maxh);
	if (r > 0) {
		c->next_state = -1;
		c->nreq++;
		return dispatch_start(c);
	}
	if (r == HTTP1_BAD) {
		log_info("conn=%llu: bad request from %s: %s", (unsigned long long)c->id, c->peer,
		    x->req.error != NULL ? x->req.error : "malformed");
		return errpage_reply(c, x->req.status ? x->req.status : 400, 1, SHM_END_CLI_BAD);
	}
	if (iobuf_room(&c->in) == 0) {
		if (c->in.head == 0)
			return errpage_reply(c, 431, 1, SHM_END_CLI_BAD);
		iobuf_compact(&c->in);
	}
	return STEP_AGAIN;	/* partial: read more */
}

static enum step
read_head(struct cconn *c)
{
	struct worker *w = c->w;
	enum step r;
	ssize_t n;

	if (c->in.area == NULL) {
		c->in.area = freelist_get(&w->fl_buf);
		if (c->in.area == NULL)
			return cconn_fail(c, SHM_END_LOCAL, "out of memory");
		c->in.size = w->bufsize;
		c->in.head = c->in.data = 0;
	}
	for (;;) {
		if (c->tls_hs && !c->proxy_hdr && (r = tls_step(c)) != STEP_NEXT)
			return r;
		if (c->in.data > 0) {
			r = c->proxy_hdr ? proxy_header(c) : parse_head(c);
			if (r != STEP_AGAIN)
				return r;
		}
		if (!(c->ready & RDY_CR)) {
			c->want |= RDY_CR;
			/*
			 * A new connection (or one still sending its PROXY header)
			 * gets client_header for its first request, counted from
			 * the accept: silence is not keep-alive.
			 */
			if (c->state == CC_READ_HEAD || c->next_state == CC_READ_HEAD ||
			    c->nreq == 0)
				cconn_timer(c, TP_HEADER);
			else
				cconn_timer(c, TP_KEEPALIVE);
			if (c->state == CC_IDLE && c->next_state < 0 && c->in.data == 0) {
				/* An idle keep-alive connection holds no buffer. */
				freelist_put(&w->fl_buf, c->in.area);
				c->in.area = NULL;
			}
			return STEP_AGAIN;
		}
		/* Before a TLS handshake only the PROXY header is ours to read. */
		n = c->tls_hs ? tls_proxy_read(c->xp.fd, &c->in) : cconn_read(c, &c->in);
		if (n == IO_AGAIN) {
			c->ready &= ~RDY_CR;
			continue;
		}
		if (n <= 0)
			return cconn_fail(c, c->in.data > 0 || c->next_state == CC_READ_HEAD ?
			    SHM_END_CLI_ABORT : SHM_END_OK, n == 0 ? "client closed" :
			    "client read error");
	}
}

/* CC_EXCH: the backend side moves; when the response is complete, finish. */
static enum step
exch_step(struct cconn *c)
{
	struct exch *x = c->x;
	enum step r;

	EXCH_CHECK(x);
	r = backend_step(c);
	if (r != STEP_CLOSE && c->next_state < 0 && x->ups == UP_DONE)
		return finish(c);
	return r;
}

/* Both directions are done: recycle the backend, go to the next request. */
static enum step
finish(struct cconn *c)
{
	struct worker *w = c->w;
	struct exch *x = c->x;
	const struct route_conf *rc = x->route->conf;
	int reuse, close_after;

	if (x->tunnel) {
		/* Bytes the client sent after its head belong to the new protocol. */
		iobuf_consume(&c->in, x->rq_scan);
		c->ready |= RDY_CR | RDY_UR;
		cconn_timer(c, TP_TUNNEL);
		return cconn_goto(c, CC_TUNNEL);
	}
	x->up->nreq++;
	/* nginx's checklist: framed, fully exchanged, nothing extra read, under the limits. */
	reuse = !x->up_close && x->rq == RQ_DONE && x->rs_mode != BODY_CLOSE && x->rb.data == 0 &&
	    x->up->nreq < rc->reuse_requests && !w->draining && rc->reuse_max > 0;
	iobuf_consume(&c->in, x->rq_scan);
	/*
	 * While draining, a response that went out without Connection: close
	 * leaves the connection open: its next request is answered with the
	 * close, so the client never meets a close it was not told about.
	 */
	close_after = x->cli_close;
	xend_finish(c, reuse);
	if (close_after)
		return cconn_fail(c, SHM_END_OK, "response complete, closing");
	c->head_t0 = ev_now(w->loop);
	return cconn_goto(c, c->in.data > 0 ? CC_READ_HEAD : CC_IDLE);
}
