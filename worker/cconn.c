/*
 * The proxy path of one client connection: read and parse a request head,
 * pick a route and a source, take a pooled backend connection or connect,
 * send the rewritten head with writev, stream the body both ways with
 * back-pressure, and park the backend connection again when it is reusable.
 *
 * I/O is speculative (HAProxy style): a side is read or written while its
 * ready bit is set, and a watcher is armed only after EAGAIN, so a request
 * that fits in one read costs no epoll_ctl at all.
 */
#include "worker/cconn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/conf.h"
#include "common/http1.h"
#include "common/io.h"
#include "common/log.h"
#include "common/proxyproto.h"
#include "common/rewrite.h"
#include "common/urlpath.h"
#include "worker/alog.h"
#include "worker/lb.h"
#include "shm/shm.h"
#include "worker/route.h"
#include "worker/uconn.h"
#include "worker/upool.h"
#include "worker/worker.h"

enum step { STEP_AGAIN = 0, STEP_NEXT, STEP_DONE };

enum body_mode { BODY_NONE = 0, BODY_CLEN, BODY_CHUNKED, BODY_DECHUNK, BODY_CLOSE };

enum rq_state { RQ_HEAD = 0, RQ_BODY, RQ_DONE, RQ_ABORT };

enum rs_state { RS_HEAD = 0, RS_BODY, RS_DONE };

enum tmo_phase { TP_NONE = 0, TP_KEEPALIVE, TP_HEADER, TP_CONNECT, TP_BACKEND, TP_SEND, TP_TUNNEL };

#define BUDGET		32	/* passes per wakeup before yielding to other connections */
#define EXTRA_IOV	40	/* iovecs beyond the header lines: request line, added headers */
#define LINES_CAP	4096	/* rewritten Location + Refresh header lines */
#define TARGET_EXTRA	1024	/* a rewrite may make the target this much longer */
#define MAX_INTERIM	10	/* 1xx responses per request before the response is malformed */

/*
 * One request/response exchange. Allocated from a free list when a request
 * head starts, returned when the response is complete; owned by its cconn.
 */
struct exch {
	struct http1_req	 req;		/* views into c->in, valid while views_ok */
	struct http1_resp	 resp;		/* views into rb, valid until rb is consumed */
	struct route_rt		*route;		/* borrowed */
	struct uconn		*up;		/* owned while in use */
	struct iobuf		 rb;		/* backend bytes */
	int			 ri;		/* index of the source in the route */
	uint64_t		 tried;		/* route sources tried (bit per index) */
	uint32_t		 attempts;	/* sources tried, for `retries` */
	int			 connecting;
	int			 reused;	/* up came from the pool */
	int			 views_ok;	/* req views and the whole request still in c->in */
	int			 meth;
	int			 minor;
	int			 cli_close;	/* close the client after this response */
	int			 up_close;	/* the backend asked to close */
	int			 sent_client;	/* bytes of the response reached the client */
	int			 status;
	int			 upgrade;	/* the client asked for a protocol upgrade */
	int			 tunnel;	/* the backend agreed (101): tunnel after the head */
	int			 t_cli_eof;	/* tunnel: client sent FIN (backend got shutdown) */
	int			 t_up_eof;	/* tunnel: backend sent FIN (client got shutdown) */
	int			 ninterim;	/* 1xx responses received for this request */
	int			 rw_gave_up;	/* a rewrite_location regex hit its limit */
	struct http1_str	 upg;		/* the allowed Upgrade token the client asked for */
	char			 qclen[48];	/* normalized Content-Length lines (RFC 9110 §8.6) */
	char			 sclen[48];
	/* client -> backend */
	enum rq_state		 rq;
	enum body_mode		 rq_mode;
	uint64_t		 rq_left;
	struct http1_chunked	 rq_ck;
	uint32_t		 rq_scan;	/* bytes of c->in that belong to this request */
	uint32_t		 rq_fwd;	/* of which written to the backend */
	struct iovec		*qiov, *qcur;
	int			 qleft;
	/* backend -> client */
	enum rs_state		 rs;
	enum body_mode		 rs_mode;
	int			 rs_complete;
	uint64_t		 rs_left;
	struct http1_chunked	 rs_ck;
	uint32_t		 rs_consume;	/* rb bytes to drop once siov is written */
	struct iovec		*siov, *scur;
	int			 sleft;
	uint32_t		 maxh;
	struct http1_header	*hdrs, *rhdrs;
	char			*target;	/* rewritten request target (tcap bytes) */
	char			*npath;		/* "/" + path for an absolute-form target without one */
	char			*rpath;		/* the normalized path routes are matched on (tcap) */
	uint32_t		 target_len;	/* 0: not rewritten */
	uint32_t		 tcap;
	char			*lines;		/* rewritten Location/Refresh lines (LINES_CAP) */
	char			 scratch[640];	/* our own responses */
	/* access log: times, bytes and the request's strings, copied at start */
	int			 started;	/* a request head was accepted */
	ev_tstamp		 t_start, t_up_start, t_up_head;
	uint64_t		 bytes_sent;
	const char		*src_name;	/* last source tried, or NULL */
	uint64_t		 up_in, up_out;	/* bytes from / to the current source */
	int			 act_src;	/* conf source index counted active in shm, or -1 */
	int			 probe;		/* this request probes a source marked down */
	char			 alog_req[512];	/* request line, Referer, User-Agent (NUL-separated) */
	/* followed by hdrs[maxh], rhdrs[maxh], qiov[2*maxh+extra_iov], siov[maxh+extra_iov],
	 * target[tcap], npath[tcap], rpath[tcap], lines[LINES_CAP] */
};

static void	io_cb(struct ev_loop *loop, ev_io *io, int revents);
static void	set_peer(struct cconn *c, const struct sockaddr_storage *ss);
static void	up_cb(struct ev_loop *loop, ev_io *io, int revents);
static void	tmo_cb(struct ev_loop *loop, ev_timer *t, int revents);
static void	run(struct cconn *c);
static void	close_conn(struct cconn *c, const char *why);
static void	watch(struct ev_loop *loop, ev_io *io, int *cur, int events);
static void	set_timer(struct cconn *c, int phase);
static struct exch *exch_new(struct cconn *c);
static void	exch_free(struct cconn *c, int reuse_up);
static enum step step_read_head(struct cconn *c);
static enum step start_request(struct cconn *c);
static enum step pick_source(struct cconn *c);
static int	rewrite_target(struct cconn *c);
static struct iovec *rewrite_location(struct cconn *c, const struct http1_header *h,
	    struct iovec *v, uint32_t *used);
static int	build_request(struct cconn *c);
static int	scan_req_body(struct exch *x, const char *p, uint32_t avail);
static enum step step_exch(struct cconn *c);
static enum step fwd_request(struct cconn *c);
static enum step relay_response(struct cconn *c);
static ssize_t	scan_resp_body(struct exch *x, const char *p, uint32_t avail, const char **data,
	    size_t *dlen);
static enum step resp_head(struct cconn *c);
static void	build_response(struct cconn *c);
static enum step backend_failed(struct cconn *c, int err, const char *what);
static enum step finish(struct cconn *c);
static enum step error_response(struct cconn *c, int status, int close_after);
static enum step step_errresp(struct cconn *c);
static enum step step_tunnel(struct cconn *c);
static enum step tunnel_pipe(struct cconn *c, int from, int to, struct iobuf *b, uint32_t rdy_r,
	    uint32_t rdy_w, int *eof);
static int	conn_names(const struct http1_header *h, uint32_t n, struct http1_str name);
static int	hop_by_hop(struct http1_str name);
static int	peer_trusted(const struct cconn *c, const struct route_conf *rc);
static int	idempotent(int meth);
static enum step local_shortage(struct cconn *c, struct upool *p, int err);
static int	via_loop(const struct http1_req *q, const char *name);
static int	upgrade_allowed(struct exch *x, const struct route_conf *rc);
static int	upgrade_agreed(const struct exch *x);
static struct iovec *clen_line(struct iovec *v, char *buf, size_t cap, uint64_t n);
static void	up_release(struct cconn *c, int reuse);
static int	retry_after(const struct http1_resp *s);
static size_t	copy_esc(char *dst, size_t cap, const char *p, uint32_t len);
static void	access_copy(struct cconn *c);
static void	access_log(struct cconn *c);

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
cconn_accept(struct worker *w, int fd, const struct sockaddr_storage *ss, int proxy_hdr)
{
	struct cconn *c = freelist_get(&w->fl_cconn);

	if (c == NULL)
		return -1;
	*c = (struct cconn){ .magic = CCONN_MAGIC, .w = w, .fd = fd, .id = ++w->next_id };
	c->proxy_hdr = (uint8_t)proxy_hdr;
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
	if (c->x != NULL && c->state == CC_EXCH && c->x->rs == RS_HEAD)
		c->x->cli_close = 1;
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
 * Header deadlines count from the request's first byte (head_t0); idle
 * phases (backend, send, tunnel) restart from now on every call.
 */
static void
set_timer(struct cconn *c, int phase)
{
	const struct timeouts_conf *t = &c->w->conf->timeouts;
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
		d = t->backend_connect;
		break;
	case TP_BACKEND:
	case TP_SEND:
		d = t->backend_response;
		break;
	case TP_TUNNEL:
		d = t->tunnel > 0 ? t->tunnel : 3600;
		break;
	default:
		c->tmo_phase = TP_NONE;	/* an armed timer finds nothing to do */
		return;
	}
	c->tmo_phase = phase;
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
	if (c->magic != CCONN_MAGIC)
		return;
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
		return;
	c = u->owner;
	if (c->magic != CCONN_MAGIC)
		return;
	if (revents & EV_READ)
		c->ready |= RDY_UR;
	if (revents & EV_WRITE)
		c->ready |= RDY_UW;
	run(c);
}

static void
tmo_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct cconn *c = (struct cconn *)((char *)t - offsetof(struct cconn, tmo));
	struct exch *x = c->x;
	enum step r = STEP_DONE;

	(void)revents;
	if (c->magic != CCONN_MAGIC || c->tmo_phase == TP_NONE)
		return;
	if (ev_now(loop) < c->deadline - 0.001) {
		/* The deadline moved on since the timer was armed: sleep the rest. */
		ev_timer_set(&c->tmo, c->deadline - ev_now(loop), 0.);
		ev_timer_start(loop, &c->tmo);
		c->armed = c->deadline;
		return;
	}
	c->tmo_phase = TP_NONE;
	switch (c->state) {
	case CC_READ_HEAD:
		log_info("conn=%llu: client sent no complete request head in %.0fs",
		    (unsigned long long)c->id, c->w->conf->timeouts.client_header);
		r = error_response(c, 408, 1);
		break;
	case CC_EXCH:
		if (x->connecting) {
			r = backend_failed(c, ETIMEDOUT, "connect timed out");
		} else if (x->rs == RS_HEAD && !x->sent_client) {
			lb_failed(c->w, x->up->pool->src_idx, SHM_R_TIMEOUT);
			log_warnx("conn=%llu: source %s: no response in %.0fs while reading response head",
			    (unsigned long long)c->id, x->up->pool->src->name,
			    c->w->conf->timeouts.backend_response);
			r = error_response(c, 504, x->rq_mode != BODY_NONE);
		} else {
			close_conn(c, "timed out while relaying");
			return;
		}
		break;
	default:
		close_conn(c, "timed out");
		return;
	}
	if (r != STEP_DONE)
		run(c);
}

/*
 * The driver: runs steps until nothing moves, then arms exactly the
 * watchers the blocked steps asked for.
 */
static void
run(struct cconn *c)
{
	struct worker *w = c->w;
	enum step r = STEP_NEXT;
	int budget = BUDGET, ev;

	while (r == STEP_NEXT && budget-- > 0) {
		c->want = 0;
		switch (c->state) {
		case CC_IDLE:
		case CC_READ_HEAD:
			r = step_read_head(c);
			break;
		case CC_EXCH:
			r = step_exch(c);
			break;
		case CC_ERRRESP:
			r = step_errresp(c);
			break;
		case CC_TUNNEL:
			r = step_tunnel(c);
			break;
		default:
			r = STEP_DONE;
			break;
		}
	}
	if (r == STEP_DONE)
		return;		/* closed */
	if (r == STEP_NEXT) {
		/* Budget spent: come back through the loop without blocking. */
		ev_feed_event(w->loop, &c->io, 0);
		return;
	}
	/*
	 * A read interest nobody needs right now stays registered while nothing
	 * is pending on the socket: dropping and re-adding it would cost two
	 * epoll_ctl calls per request. Once bytes or EOF do wait unread
	 * (level-triggered), it is dropped so the loop cannot spin.
	 */
	ev = ((c->want & RDY_CR) ? EV_READ : 0) | ((c->want & RDY_CW) ? EV_WRITE : 0);
	if ((c->io_events & EV_READ) && !(c->ready & RDY_CR))
		ev |= EV_READ;
	watch(w->loop, &c->io, &c->io_events, ev);
	if (c->x != NULL && c->x->up != NULL) {
		struct uconn *u = c->x->up;
		int uev = ((c->want & RDY_UR) ? EV_READ : 0) | ((c->want & RDY_UW) ? EV_WRITE : 0);

		if (ev_is_active(&u->io) && (u->io.events & EV_READ) && !(c->ready & RDY_UR))
			uev |= EV_READ;
		if ((u->io.events & (EV_READ | EV_WRITE)) != uev || !ev_is_active(&u->io)) {
			ev_io_stop(w->loop, &u->io);
			ev_io_set(&u->io, u->fd, uev);
			if (uev != 0)
				ev_io_start(w->loop, &u->io);
		}
	}
}

static void
close_conn(struct cconn *c, const char *why)
{
	struct worker *w = c->w;

	log_debug("conn=%llu: closed: %s", (unsigned long long)c->id, why);
	if (c->x != NULL)
		exch_free(c, 0);
	ev_io_stop(w->loop, &c->io);
	ev_timer_stop(w->loop, &c->tmo);
	close(c->fd);
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
	worker_conn_closed(w);
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
	x->act_src = -1;
	x->views_ok = 1;
	c->x = x;
	return x;
}

/* Releases the exchange; the backend goes back to the pool only if reuse_up. */
static void
exch_free(struct cconn *c, int reuse_up)
{
	struct worker *w = c->w;
	struct exch *x = c->x;

	if (x->started) {
		struct shm_worker *sw = shm_worker(w->ho->shm, w->ho->shm_slot);
		int cls = shm_status_class(x->status ? x->status : 499);

		shm_add(&sw->requests, 1);
		if (cls >= 0)
			shm_add(&sw->resp[cls], 1);
		shm_add(&sw->bytes_out, x->bytes_sent);
		if (w->alog.fd != -1)
			access_log(c);
	}
	up_release(c, reuse_up);
	if (x->rb.area != NULL)
		freelist_put(&w->fl_buf, x->rb.area);
	freelist_put(&w->fl_exch, x);
	c->x = NULL;
}

static enum step
step_read_head(struct cconn *c)
{
	struct worker *w = c->w;
	const struct limits_conf *lim = &w->conf->limits;
	struct http1_limits hl = { lim->max_request_line, lim->max_header_size, lim->max_headers };
	struct exch *x;
	uint32_t room;
	ssize_t n;
	int r;

	if (c->in.area == NULL) {
		c->in.area = freelist_get(&w->fl_buf);
		if (c->in.area == NULL) {
			close_conn(c, "out of memory");
			return STEP_DONE;
		}
		c->in.size = w->bufsize;
		c->in.head = c->in.data = 0;
	}
	for (;;) {
		if (c->in.data > 0 && c->proxy_hdr) {
			struct sockaddr_storage src;

			r = proxyproto_parse(iobuf_ptr(&c->in), c->in.data, &src);
			if (r == -1) {
				log_info("conn=%llu: bad PROXY protocol header from %s",
				    (unsigned long long)c->id, c->peer);
				close_conn(c, "bad PROXY protocol header");
				return STEP_DONE;
			}
			if (r > 0) {
				if (src.ss_family != AF_UNSPEC)
					set_peer(c, &src);
				iobuf_consume(&c->in, (uint32_t)r);
				c->proxy_hdr = 0;
				continue;
			}
		} else if (c->in.data > 0) {
			if (c->state == CC_IDLE) {
				/* The header deadline is armed only if we have to wait. */
				c->state = CC_READ_HEAD;
				if (c->nreq > 0)
					c->head_t0 = ev_now(w->loop);
			}
			x = c->x != NULL ? c->x : exch_new(c);
			if (x == NULL) {
				close_conn(c, "out of memory");
				return STEP_DONE;
			}
			r = http1_parse_req(iobuf_ptr(&c->in), c->in.data, &hl, &x->req, x->hdrs,
			    x->maxh);
			if (r > 0)
				return start_request(c);
			if (r == HTTP1_BAD) {
				log_info("conn=%llu: bad request from %s: %s", (unsigned long long)c->id,
				    c->peer, x->req.error != NULL ? x->req.error : "malformed");
				return error_response(c, x->req.status ? x->req.status : 400, 1);
			}
			if (iobuf_room(&c->in) == 0) {
				if (c->in.head == 0)
					return error_response(c, 431, 1);
				iobuf_compact(&c->in);
			}
		} else if (c->state == CC_IDLE) {
			/*
			 * A new connection (or one still sending its PROXY
			 * header) gets client_header for its first request,
			 * counted from the accept: silence is not keep-alive.
			 */
			set_timer(c, c->nreq == 0 ? TP_HEADER : TP_KEEPALIVE);
		}
		if (!(c->ready & RDY_CR)) {
			c->want |= RDY_CR;
			if (c->state == CC_READ_HEAD || c->nreq == 0)
				set_timer(c, TP_HEADER);
			if (c->state == CC_IDLE && c->in.data == 0 && c->in.area != NULL) {
				/* An idle keep-alive connection holds no buffer. */
				freelist_put(&w->fl_buf, c->in.area);
				c->in.area = NULL;
			}
			return STEP_AGAIN;
		}
		room = iobuf_room(&c->in);
		n = io_read(c->fd, &c->in);
		if (n == IO_AGAIN) {
			c->ready &= ~RDY_CR;
			continue;
		}
		if (n > 0)
			shm_add(&shm_worker(w->ho->shm, w->ho->shm_slot)->bytes_in, (uint64_t)n);
		if (n <= 0) {
			close_conn(c, n == 0 ? "client closed" : "client read error");
			return STEP_DONE;
		}
		if ((uint32_t)n < room)
			c->ready &= ~RDY_CR;	/* drained: the next read would say EAGAIN */
	}
}

/* The head is parsed: route it, frame its body, pick a source. */
static enum step
start_request(struct cconn *c)
{
	struct worker *w = c->w;
	struct exch *x = c->x;
	struct http1_req *q = &x->req;
	const struct route_conf *rc;
	struct route_rt *gave_up;
	int n;

	c->nreq++;
	x->started = 1;
	x->t_start = ev_now(w->loop);
	if (w->alog.fd != -1)
		access_copy(c);
	x->meth = q->meth;
	x->minor = q->minor;
	x->cli_close = (q->flags & HTTP1_F_CONN_CLOSE) ||
	    (q->minor == 0 && !(q->flags & HTTP1_F_CONN_KEEPALIVE)) || w->draining;
	if (q->flags & HTTP1_F_CHUNKED)
		x->rq_mode = BODY_CHUNKED;
	else if ((q->flags & HTTP1_F_CLEN) && q->content_length > 0) {
		x->rq_mode = BODY_CLEN;
		x->rq_left = q->content_length;
	}
	if (q->flags & HTTP1_F_EMPTY_PATH) {
		/* "http://h?q": the origin-form is "/?q" (RFC 9112 §3.2.1). */
		x->npath[0] = '/';
		memcpy(x->npath + 1, q->path.p, q->path.len);
		q->path.p = x->npath;
		q->path.len++;
	}
	c->state = CC_EXCH;
	/* Routes see the normalized path; the backend gets the path as received. */
	n = urlpath_normalize(q->path.p, q->path.len, x->rpath, x->tcap);
	if (n < 0) {
		log_info("conn=%llu: bad request target from %s: %s", (unsigned long long)c->id,
		    c->peer, urlpath_error_text(n));
		return error_response(c, 400, 1);	/* as for any malformed head */
	}
	x->route = route_match(w->routes, w->conf->nroutes, q->host,
	    (struct http1_str){ x->rpath, (uint32_t)n }, &gave_up);
	if (gave_up != NULL) {
		/* Fail closed: the path might belong to this route and its rules. */
		shm_add(&shm_worker(w->ho->shm, w->ho->shm_slot)->regex_aborts, 1);
		log_error("conn=%llu: route at %s:%d: path_regex gave up on \"%.*s\" "
		    "(retry limit), answering 500", (unsigned long long)c->id, w->conf->file,
		    gave_up->conf->line, (int)(q->path.len > 200 ? 200 : q->path.len), q->path.p);
		return error_response(c, 500, x->rq_mode != BODY_NONE);
	}
	if (x->route == NULL)
		return error_response(c, 404, x->rq_mode != BODY_NONE);
	rc = x->route->conf;
	if (rc->via && via_loop(q, rc->via_name)) {
		shm_add(&shm_worker(w->ho->shm, w->ho->shm_slot)->loops, 1);
		log_warnx("conn=%llu: forwarding loop: the request from %s already passed \"%s\" "
		    "(Via), answering 508", (unsigned long long)c->id, c->peer, rc->via_name);
		return error_response(c, 508, x->rq_mode != BODY_NONE);
	}
	/* Upgrade: only to a protocol the route allows, for a request without a body. */
	x->upgrade = (q->flags & HTTP1_F_CONN_UPGRADE) && (q->flags & HTTP1_F_UPGRADE_HDR) &&
	    x->rq_mode == BODY_NONE && q->minor == 1 && upgrade_allowed(x, rc);
	if (rc->request.nrewrite > 0 && rewrite_target(c) == -1)
		return error_response(c, 500, x->rq_mode != BODY_NONE);
	return pick_source(c);
}

/*
 * Does a Via field of the request name us (received-by == name, any
 * protocol)? Then it went around: a source leads back to this proxy.
 */
static int
via_loop(const struct http1_req *q, const char *name)
{
	size_t nlen = strlen(name);
	uint32_t i, j, k;

	for (i = 0; i < q->nheaders; i++) {
		const struct http1_str v = q->headers[i].value;

		if (!http1_str_eq(q->headers[i].name, "via"))
			continue;
		/* Entries: protocol RWS received-by [RWS comment], comma separated. */
		for (j = 0; j < v.len; j = k + 1) {
			uint32_t s, e;

			for (k = j; k < v.len && v.p[k] != ','; k++)
				;
			for (s = j; s < k && (v.p[s] == ' ' || v.p[s] == '\t'); s++)
				;
			while (s < k && v.p[s] != ' ' && v.p[s] != '\t')
				s++;	/* the protocol */
			while (s < k && (v.p[s] == ' ' || v.p[s] == '\t'))
				s++;
			for (e = s; e < k && v.p[e] != ' ' && v.p[e] != '\t'; e++)
				;
			if (e - s == nlen && strncasecmp(v.p + s, name, nlen) == 0)
				return 1;
		}
	}
	return 0;
}

/*
 * Finds, in the request's Upgrade fields, the first protocol the route
 * allows (compared without its "/version"), and keeps it in x->upg. Any
 * other token (h2c, ...) is dropped with the hop-by-hop Upgrade field, and
 * the request goes on as plain HTTP/1.1. Returns 1 if one was found.
 */
static int
upgrade_allowed(struct exch *x, const struct route_conf *rc)
{
	const struct http1_req *q = &x->req;
	uint32_t i, j, k, t;

	for (i = 0; i < q->nheaders; i++) {
		const struct http1_str v = q->headers[i].value;

		if (!http1_str_eq(q->headers[i].name, "upgrade"))
			continue;
		for (j = 0; j < v.len; j = k + 1) {
			uint32_t s, e, n;

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

/*
 * Request rewrite rules: the first regex that matches the target (path and
 * query) replaces it. The result goes to the exchange's target buffer; no
 * allocation. Returns 0 (rewritten or not), or -1 when the result is not a
 * usable origin-form target.
 */
static int
rewrite_target(struct cconn *c)
{
	struct exch *x = c->x;
	const struct rules_conf *r = &x->route->conf->request;
	uint32_t i;
	int n;

	for (i = 0; i < r->nrewrite; i++) {
		n = rewrite_apply(r->rewrite[i].rw, c->w->rwctx, x->req.path.p, x->req.path.len,
		    x->target, x->tcap);
		if (n == REWRITE_NOMATCH)
			continue;
		if (n == REWRITE_ERROR)
			shm_add(&shm_worker(c->w->ho->shm, c->w->ho->shm_slot)->regex_aborts, 1);
		if (n < 0 || !rewrite_valid_target(x->target, (size_t)n)) {
			log_error("conn=%llu: rewrite rule at %s:%d turned \"%.*s\" into %s "
			    "(route at line %d), answering 500", (unsigned long long)c->id,
			    c->w->conf->file, r->rewrite[i].line,
			    (int)(x->req.path.len > 200 ? 200 : x->req.path.len), x->req.path.p,
			    n == REWRITE_TOOLONG ? "a target too long" :
			    n < 0 ? "an error (regex gave up)" : "an invalid target",
			    x->route->conf->line);
			return -1;
		}
		x->target_len = (uint32_t)n;
		log_debug("conn=%llu: rewrote target to %.*s", (unsigned long long)c->id, n, x->target);
		return 0;
	}
	return 0;
}

/* Takes a pooled connection to the next source, or starts a connect. */
static enum step
pick_source(struct cconn *c)
{
	struct worker *w = c->w;
	struct exch *x = c->x;
	const struct route_conf *rc = x->route->conf;
	ev_tstamp now = ev_now(w->loop);
	struct upool *p;
	struct uconn *u;

	for (;;) {
		if (x->attempts > rc->retries)
			return error_response(c, 502, x->rq_mode != BODY_NONE);
		x->ri = lb_pick(w, x->route, &c->peer_sa.sa, x->tried, &x->probe);
		if (x->ri < 0)
			return error_response(c, 502, x->rq_mode != BODY_NONE);
		x->tried |= UINT64_C(1) << x->ri;
		x->attempts++;
		p = &x->route->pools[x->ri];
		x->src_name = p->src->name;
		if (x->t_up_start == 0)
			x->t_up_start = ev_now(w->loop);
		u = upool_get(p, now);
		x->reused = u != NULL;
		x->connecting = 0;
		if (u == NULL) {
			u = uconn_connect(w, p);
			if (u == NULL && uconn_local_error(errno))
				return local_shortage(c, p, errno);
			if (u == NULL) {
				log_warn("conn=%llu: source %s (%s): connect", (unsigned long long)c->id,
				    p->src->name, p->src->addr.text);
				lb_failed(w, p->src_idx, SHM_R_CONNECT);
				continue;
			}
			x->connecting = 1;
		}
		break;
	}
	u->owner = c;
	/* A pooled connection keeps its registered read watcher: only its callback changes. */
	if (ev_is_active(&u->io))
		ev_set_cb(&u->io, up_cb);
	else
		ev_io_init(&u->io, up_cb, u->fd, 0);
	x->up = u;
	x->act_src = (int)p->src_idx;
	shm_active_inc(w->ho->shm, w->ho->shm_slot, w->ho->src_slot[p->src_idx]);
	shm_add(&shm_wsrc(w->ho->shm, w->ho->shm_slot, w->ho->src_slot[p->src_idx])->requests, 1);
	/* A fresh socket is writable once connected; a pooled one is writable now. */
	c->ready = (c->ready & ~(RDY_UR | RDY_UW)) | (x->connecting ? 0 : RDY_UW);
	set_timer(c, x->connecting ? TP_CONNECT : TP_BACKEND);
	if (build_request(c) == -1) {
		log_info("conn=%llu: malformed chunked request body from %s",
		    (unsigned long long)c->id, c->peer);
		return error_response(c, 400, 1);
	}
	return STEP_NEXT;
}

/* Is name one of the tokens of the message's Connection fields? */
static int
conn_names(const struct http1_header *h, uint32_t n, struct http1_str name)
{
	uint32_t i, j, k;

	for (i = 0; i < n; i++) {
		if (!http1_str_eq(h[i].name, "connection"))
			continue;
		for (j = 0; j < h[i].value.len; j = k + 1) {
			uint32_t s, e;

			for (k = j; k < h[i].value.len && h[i].value.p[k] != ','; k++)
				;
			for (s = j; s < k && (h[i].value.p[s] == ' ' || h[i].value.p[s] == '\t'); s++)
				;
			for (e = k; e > s && (h[i].value.p[e - 1] == ' ' || h[i].value.p[e - 1] == '\t'); e--)
				;
			if (e - s == name.len && strncasecmp(h[i].value.p + s, name.p, name.len) == 0)
				return 1;
		}
	}
	return 0;
}

/*
 * RFC 9110 §7.6.1: fields that only mean something on one connection.
 * By length first: this runs for every header of every message.
 */
static int
hop_by_hop(struct http1_str n)
{
	switch (n.len) {
	case 2:
		return http1_caseeq(n.p, "te", 2);
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

static int
peer_trusted(const struct cconn *c, const struct route_conf *rc)
{
	const uint8_t *a;
	int fam = c->peer_sa.sa.sa_family;
	uint32_t i;

	if (fam == AF_INET)
		a = (const uint8_t *)&c->peer_sa.in.sin_addr;
	else if (fam == AF_INET6)
		a = (const uint8_t *)&c->peer_sa.in6.sin6_addr;
	else
		return 0;
	for (i = 0; i < rc->ntrusted; i++) {
		const struct cidr_conf *t = &rc->trusted[i];
		uint8_t bits = t->prefix, k;

		if (t->family != fam)
			continue;
		for (k = 0; bits >= 8; k++, bits -= 8)
			if (a[k] != t->addr[k])
				break;
		if (bits >= 8)
			continue;
		if (bits == 0 || ((a[k] ^ t->addr[k]) & (uint8_t)(0xff << (8 - bits))) == 0)
			return 1;
	}
	return 0;
}

#define IOV_LIT(v, s)	((v)->iov_base = (void *)(s), (v)->iov_len = sizeof(s) - 1, (v) + 1)
#define IOV_MEM(v, p, l) ((v)->iov_base = (void *)(p), (v)->iov_len = (l), (v) + 1)

/*
 * Builds the head for the backend as slices of the client's head plus our
 * lines, and appends the body bytes already read. Called again for a
 * replay, so it resets the body framing too. Returns 0, or -1 if the body
 * bytes already read are malformed (chunked framing).
 */
static int
build_request(struct cconn *c)
{
	struct exch *x = c->x;
	const struct http1_req *q = &x->req;
	const struct route_conf *rc = x->route->conf;
	const struct source_conf *src = x->route->pools[x->ri].src;
	struct iovec *v = x->qiov;
	int xff = rc->x_forwarded_for, trusted = xff && peer_trusted(c, rc);
	uint32_t i, avail;
	int n;

	v = IOV_MEM(v, q->method.p, q->method.len);
	v = IOV_LIT(v, " ");
	if (x->target_len > 0)
		v = IOV_MEM(v, x->target, x->target_len);
	else
		v = IOV_MEM(v, q->path.p, q->path.len);
	v = IOV_LIT(v, " HTTP/1.1\r\n");
	if (rc->preserve_host && q->host.len > 0) {
		v = IOV_LIT(v, "Host: ");
		v = IOV_MEM(v, q->host.p, q->host.len);
		v = IOV_LIT(v, "\r\n");
	} else {
		v = IOV_LIT(v, "Host: ");
		v = IOV_MEM(v, src->addr.hostport, strlen(src->addr.hostport));
		v = IOV_LIT(v, "\r\n");
	}
	for (i = 0; i < q->nheaders; i++) {
		const struct http1_header *h = &q->headers[i];

		if (hop_by_hop(h->name) || http1_str_eq(h->name, "host") ||
		    route_hdr_listed(&rc->request, h->name))
			continue;
		if ((q->flags & HTTP1_F_CLEN_LIST) && http1_str_eq(h->name, "content-length"))
			continue;	/* one normalized field follows */
		/* Connection may drop end-to-end extras, never the framing. */
		if (conn_names(q->headers, q->nheaders, h->name) &&
		    !http1_str_eq(h->name, "content-length"))
			continue;
		if (xff && (http1_str_eq(h->name, "x-forwarded-for") ||
		    http1_str_eq(h->name, "x-real-ip") ||
		    http1_str_eq(h->name, "x-forwarded-proto") ||
		    http1_str_eq(h->name, "x-forwarded-host")))
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
	if (xff) {
		v = IOV_LIT(v, "X-Forwarded-For: ");
		if (trusted)
			for (i = 0; i < q->nheaders; i++)
				if (http1_str_eq(q->headers[i].name, "x-forwarded-for") &&
				    q->headers[i].value.len > 0) {
					v = IOV_MEM(v, q->headers[i].value.p, q->headers[i].value.len);
					v = IOV_LIT(v, ", ");
				}
		v = IOV_MEM(v, c->peer, c->peer_len);
		v = IOV_LIT(v, "\r\nX-Real-IP: ");
		v = IOV_MEM(v, c->peer, c->peer_len);
		v = IOV_LIT(v, "\r\n");
		v = IOV_LIT(v, "X-Forwarded-Proto: http\r\n");
		if (q->host.len > 0) {
			v = IOV_LIT(v, "X-Forwarded-Host: ");
			v = IOV_MEM(v, q->host.p, q->host.len);
			v = IOV_LIT(v, "\r\n");
		}
	}
	for (i = 0; i < rc->request.nadd; i++)
		*v++ = x->route->req_add[i];
	v = IOV_LIT(v, "\r\n");

	/* Body framing starts over: this may be a replay of the same bytes. */
	x->rq = RQ_HEAD;
	x->rq_left = (x->rq_mode == BODY_CLEN) ? q->content_length : 0;
	memset(&x->rq_ck, 0, sizeof(x->rq_ck));
	x->rq_scan = x->rq_fwd = q->head_len;
	avail = c->in.data - q->head_len;
	n = scan_req_body(x, iobuf_ptr(&c->in) + q->head_len, avail);
	if (n > 0) {
		v = IOV_MEM(v, iobuf_ptr(&c->in) + q->head_len, (size_t)n);
		x->rq_scan += (uint32_t)n;
	} else if (n < 0) {
		return -1;
	}
	x->qcur = x->qiov;
	x->qleft = (int)(v - x->qiov);
	return 0;
}

/* How many of avail body bytes at p belong to this request: >= 0, or -1 if malformed. */
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

static enum step
step_exch(struct cconn *c)
{
	struct exch *x = c->x;
	enum step r1, r2;
	int err;

	if (x->connecting) {
		if (!(c->ready & RDY_UW)) {
			c->want |= RDY_UW;
			return STEP_AGAIN;
		}
		err = uconn_connect_result(x->up);
		if (err != 0)
			return backend_failed(c, err, "connect");
		x->connecting = 0;
		set_timer(c, TP_BACKEND);
	}
	r1 = fwd_request(c);
	if (r1 == STEP_DONE)
		return STEP_DONE;
	if (c->state != CC_EXCH || c->x != x)
		return STEP_NEXT;
	r2 = relay_response(c);
	if (r2 == STEP_DONE)
		return STEP_DONE;
	if (c->state != CC_EXCH || c->x != x)
		return STEP_NEXT;
	if (x->rs == RS_DONE)
		return finish(c);
	if (r1 == STEP_NEXT || r2 == STEP_NEXT) {
		set_timer(c, c->tmo_phase == TP_SEND ? TP_SEND : TP_BACKEND);
		return STEP_NEXT;
	}
	return STEP_AGAIN;
}

/* Client -> backend: the head iovecs, then body bytes as they come. */
static enum step
fwd_request(struct cconn *c)
{
	struct exch *x = c->x;
	enum step res = STEP_AGAIN;
	uint32_t room;
	ssize_t n;
	int k;

	for (;;) {
		if (x->rq == RQ_DONE)
			return res;
		if (x->rq == RQ_ABORT)
			return res;	/* the backend stopped reading; its answer decides */
		if (x->qleft > 0) {
			if (!(c->ready & RDY_UW)) {
				c->want |= RDY_UW;
				return res;
			}
			n = io_writev(x->up->fd, x->qcur, x->qleft);
			if (n == IO_AGAIN) {
				c->ready &= ~RDY_UW;
				c->want |= RDY_UW;
				return res;
			}
			if (n < 0) {
				/* The backend may still answer (an early 413): read on. */
				x->rq = RQ_ABORT;
				x->up_close = 1;
				c->ready |= RDY_UR;
				return STEP_NEXT;
			}
			x->up_out += (uint64_t)n;
			io_iov_advance(&x->qcur, &x->qleft, (size_t)n);
			res = STEP_NEXT;
			continue;
		}
		x->rq_fwd = x->rq_scan;
		if (x->rq == RQ_HEAD)
			x->rq = RQ_BODY;
		if (req_body_complete(x)) {
			x->rq = RQ_DONE;
			continue;
		}
		if (c->in.data > x->rq_scan) {
			k = scan_req_body(x, iobuf_ptr(&c->in) + x->rq_scan, c->in.data - x->rq_scan);
			if (k < 0) {
				log_info("conn=%llu: malformed chunked request body from %s",
				    (unsigned long long)c->id, c->peer);
				close_conn(c, "malformed chunked body");
				return STEP_DONE;
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
		if (iobuf_room(&c->in) == 0) {
			/* Drop what went out; the request can no longer be replayed. */
			iobuf_consume(&c->in, x->rq_fwd);
			x->rq_scan -= x->rq_fwd;
			x->rq_fwd = 0;
			iobuf_compact(&c->in);
			x->views_ok = 0;
			if (iobuf_room(&c->in) == 0) {
				close_conn(c, "request buffer stuck");
				return STEP_DONE;
			}
		}
		if (!(c->ready & RDY_CR)) {
			c->want |= RDY_CR;
			return res;
		}
		room = iobuf_room(&c->in);
		n = io_read(c->fd, &c->in);
		if (n == IO_AGAIN) {
			c->ready &= ~RDY_CR;
			c->want |= RDY_CR;
			return res;
		}
		if (n <= 0) {
			close_conn(c, "client closed during the request body");
			return STEP_DONE;
		}
		shm_add(&shm_worker(c->w->ho->shm, c->w->ho->shm_slot)->bytes_in, (uint64_t)n);
		if ((uint32_t)n < room)
			c->ready &= ~RDY_CR;
		res = STEP_NEXT;
	}
}

/*
 * The backend failed before a response head reached us. Replay on a fresh
 * connection if a pooled one was closed under us, retry another source if
 * that is safe, else answer 502.
 */
static enum step
backend_failed(struct cconn *c, int err, const char *what)
{
	struct worker *w = c->w;
	struct exch *x = c->x;
	struct upool *p = x->up->pool;
	int was_reused = x->reused, replay;

	replay = x->views_ok && x->rb.data == 0 && !x->sent_client;
	up_release(c, 0);
	c->ready &= ~(RDY_UR | RDY_UW);
	if (was_reused && replay) {
		/* The classic keep-alive race: the backend closed an idle connection. */
		log_debug("conn=%llu: pooled connection to %s was closed, replaying",
		    (unsigned long long)c->id, p->src->name);
		x->up = uconn_connect(w, p);
		if (x->up != NULL) {
			x->reused = 0;
			x->connecting = 1;
			x->act_src = (int)p->src_idx;
			shm_active_inc(w->ho->shm, w->ho->shm_slot, w->ho->src_slot[p->src_idx]);
			x->up->owner = c;
			ev_io_init(&x->up->io, up_cb, x->up->fd, 0);
			set_timer(c, TP_CONNECT);
			(void)build_request(c);	/* these bytes parsed fine the first time */
			return STEP_NEXT;
		}
		if (uconn_local_error(errno))
			return local_shortage(c, p, errno);
	}
	errno = err;
	log_warn("conn=%llu: source %s (%s): %s", (unsigned long long)c->id, p->src->name,
	    p->src->addr.text, what);
	lb_failed(w, p->src_idx, err == ETIMEDOUT ? SHM_R_TIMEOUT :
	    x->connecting ? SHM_R_CONNECT : SHM_R_RESET);
	if (replay && (x->connecting || idempotent(x->meth))) {
		x->connecting = 0;
		return pick_source(c);
	}
	return error_response(c, 502, x->rq_mode != BODY_NONE);
}

/*
 * This machine ran short (descriptors, memory, ports) while connecting to a
 * source: not the source's fault, so nothing is counted against it (a
 * passive mark would take a healthy source away from every worker). 503.
 */
static enum step
local_shortage(struct cconn *c, struct upool *p, int err)
{
	shm_add(&shm_worker(c->w->ho->shm, c->w->ho->shm_slot)->local_errors, 1);
	log_warnx("conn=%llu: cannot connect to source %s: %s (local shortage, not the "
	    "source's fault), answering 503", (unsigned long long)c->id, p->src->name,
	    strerror(err));
	return error_response(c, 503, c->x->rq_mode != BODY_NONE);
}

static int
idempotent(int meth)
{
	return meth == HTTP1_M_GET || meth == HTTP1_M_HEAD || meth == HTTP1_M_PUT ||
	    meth == HTTP1_M_DELETE || meth == HTTP1_M_OPTIONS || meth == HTTP1_M_TRACE;
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

/* Backend -> client: the head (rewritten), then the body in its framing. */
static enum step
relay_response(struct cconn *c)
{
	struct exch *x = c->x;
	enum step res = STEP_AGAIN;
	const char *data;
	uint32_t room;
	size_t dlen;
	ssize_t n;

	if (x->rb.area == NULL) {
		x->rb.area = freelist_get(&c->w->fl_buf);
		if (x->rb.area == NULL) {
			close_conn(c, "out of memory");
			return STEP_DONE;
		}
		x->rb.size = c->w->bufsize;
	}
	for (;;) {
		if (x->sleft > 0) {
			if (!(c->ready & RDY_CW)) {
				c->want |= RDY_CW;
				return res;
			}
			n = io_writev(c->fd, x->scur, x->sleft);
			if (n == IO_AGAIN) {
				c->ready &= ~RDY_CW;
				c->want |= RDY_CW;
				set_timer(c, TP_SEND);
				return res;
			}
			if (n < 0) {
				close_conn(c, "client write error");
				return STEP_DONE;
			}
			x->bytes_sent += (uint64_t)n;
			io_iov_advance(&x->scur, &x->sleft, (size_t)n);
			/* A complete 1xx still leaves room for our own final answer. */
			if (x->status != 0 || x->sleft > 0)
				x->sent_client = 1;
			res = STEP_NEXT;
			continue;
		}
		if (x->rs_consume > 0) {
			iobuf_consume(&x->rb, x->rs_consume);
			x->rs_consume = 0;
		}
		if (x->rs == RS_DONE)
			return res;
		if (x->rs == RS_HEAD) {
			enum step r = resp_head(c);

			if (r != STEP_AGAIN || x->rs != RS_HEAD || c->state != CC_EXCH)
				return r == STEP_DONE ? STEP_DONE : STEP_NEXT;
			/* resp_head wants more bytes: fall through to read. */
		} else if (x->rs_complete) {
			x->rs = RS_DONE;
			return STEP_NEXT;
		} else if (x->rb.data > 0 && x->rs_mode != BODY_NONE) {
			n = scan_resp_body(x, iobuf_ptr(&x->rb), x->rb.data, &data, &dlen);
			if (n < 0) {
				log_warnx("conn=%llu: source %s: malformed chunked response body",
				    (unsigned long long)c->id, x->up->pool->src->name);
				close_conn(c, "malformed chunked response");
				return STEP_DONE;
			}
			x->rs_consume = (uint32_t)n;
			if (dlen > 0) {
				x->scur = x->siov;
				x->siov[0].iov_base = (void *)data;
				x->siov[0].iov_len = dlen;
				x->sleft = 1;
			}
			res = STEP_NEXT;
			continue;
		}
		/* Need backend bytes. */
		if (iobuf_room(&x->rb) == 0) {
			if (x->rb.head == 0) {
				if (x->rs == RS_HEAD) {
					log_warnx("conn=%llu: source %s: response head too large",
					    (unsigned long long)c->id, x->up->pool->src->name);
					x->views_ok = 0;
					return error_response(c, 502, 1);
				}
				close_conn(c, "response buffer stuck");
				return STEP_DONE;
			}
			iobuf_compact(&x->rb);
		}
		if (!(c->ready & RDY_UR)) {
			c->want |= RDY_UR;
			return res;
		}
		room = iobuf_room(&x->rb);
		n = io_read(x->up->fd, &x->rb);
		if (n > 0) {
			x->up_in += (uint64_t)n;
			if ((uint32_t)n < room)
				c->ready &= ~RDY_UR;
		}
		if (n == IO_AGAIN) {
			c->ready &= ~RDY_UR;
			c->want |= RDY_UR;
			return res;
		}
		if (n <= 0) {
			int err = n == 0 ? ECONNRESET : errno;

			if (x->rs == RS_HEAD && x->rb.data == 0 && !x->sent_client)
				return backend_failed(c, err,
				    n == 0 ? "closed before responding" : "read error");
			if (x->rs == RS_BODY && x->rs_mode == BODY_CLOSE && n == 0) {
				x->rs_complete = 1;
				x->up_close = 1;
				continue;
			}
			if (x->rs == RS_HEAD && !x->sent_client) {
				log_warnx("conn=%llu: source %s: truncated response head",
				    (unsigned long long)c->id, x->up->pool->src->name);
				lb_failed(c->w, x->up->pool->src_idx, SHM_R_RESET);
				x->views_ok = 0;
				return error_response(c, 502, 1);
			}
			/* Mid-body: never present a truncated body as complete. */
			log_warnx("conn=%llu: source %s closed in the middle of the response body",
			    (unsigned long long)c->id, x->up->pool->src->name);
			close_conn(c, "backend closed mid-body");
			return STEP_DONE;
		}
		res = STEP_NEXT;
	}
}

/* Parses the backend's head; relays 1xx; frames the body; builds our head. */
static enum step
resp_head(struct cconn *c)
{
	struct worker *w = c->w;
	struct exch *x = c->x;
	struct http1_resp *s = &x->resp;
	int r, ra;

	if (x->rb.data == 0)
		return STEP_AGAIN;
	r = http1_parse_resp(iobuf_ptr(&x->rb), x->rb.data, x->rb.size, s, x->rhdrs, x->maxh);
	if (r == HTTP1_PARTIAL)
		return STEP_AGAIN;
	if (r == HTTP1_BAD || (s->status == 101 && !upgrade_agreed(x)) ||
	    (s->status < 200 && ++x->ninterim > MAX_INTERIM)) {
		log_warnx("conn=%llu: source %s: malformed response head: %s",
		    (unsigned long long)c->id, x->up->pool->src->name,
		    r == HTTP1_BAD ? (s->error ? s->error : "bad") :
		    s->status == 101 ? "101 to a protocol the request did not offer" :
		    "more than 10 interim (1xx) responses");
		lb_failed(w, x->up->pool->src_idx, SHM_R_MALFORMED);
		x->views_ok = 0;
		return error_response(c, 502, 1);
	}
	if (s->status == 101) {
		/* Switching protocols: relay the head, then become a byte tunnel. */
		x->status = 101;
		x->tunnel = 1;
		x->rs_mode = BODY_NONE;
		x->rs_complete = 1;
		lb_ok(w, x->up->pool->src_idx, x->probe);
		build_response(c);
		x->rs = RS_BODY;
		return STEP_NEXT;
	}
	if (s->status < 200) {
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
	x->status = s->status;
	x->t_up_head = ev_now(w->loop);
	{
		struct shm_wsrc *ws = shm_wsrc(w->ho->shm, w->ho->shm_slot,
		    w->ho->src_slot[x->up->pool->src_idx]);
		int cls = shm_status_class(s->status);

		if (cls >= 0)
			shm_add(&ws->resp[cls], 1);
		shm_wsrc_latency(ws, (uint64_t)((x->t_up_head - x->t_up_start) * 1e6));
	}
	lb_ok(w, x->up->pool->src_idx, x->probe);
	if ((s->status == 503 || s->status == 429) && (ra = retry_after(s)) > 0)
		lb_retry_after(w, x->up->pool->src_idx, (uint32_t)ra);
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
	build_response(c);
	if (x->rw_gave_up) {
		/* Never pass on the backend's own Location because a regex gave up. */
		shm_add(&shm_worker(w->ho->shm, w->ho->shm_slot)->regex_aborts, 1);
		log_error("conn=%llu: route at %s:%d: rewrite_location gave up (retry limit), "
		    "answering 500", (unsigned long long)c->id, w->conf->file, x->route->conf->line);
		x->views_ok = 0;
		return error_response(c, 500, 1);
	}
	x->rs = RS_BODY;
	return STEP_NEXT;
}

/* A 101 must switch to the protocol we asked for (RFC 9110 §7.8). */
static int
upgrade_agreed(const struct exch *x)
{
	const struct http1_header *u;

	if (!x->upgrade)
		return 0;
	u = http1_find(x->resp.headers, x->resp.nheaders, "upgrade");
	return u != NULL && u->value.len == x->upg.len &&
	    strncasecmp(u->value.p, x->upg.p, x->upg.len) == 0;
}

static void
build_response(struct cconn *c)
{
	struct exch *x = c->x;
	const struct http1_resp *s = &x->resp;
	const struct route_rt *rt = x->route;
	struct iovec *v = x->siov;
	uint32_t i, used = 0;

	/* We speak HTTP/1.1 to the client whatever the backend spoke. */
	v = IOV_LIT(v, "HTTP/1.1");
	v = IOV_MEM(v, s->line.p + 8, s->line.len - 8);
	for (i = 0; i < s->nheaders; i++) {
		const struct http1_header *h = &s->headers[i];

		if (hop_by_hop(h->name) || route_hdr_listed(&rt->conf->response, h->name))
			continue;
		if ((s->flags & HTTP1_F_CLEN_LIST) && http1_str_eq(h->name, "content-length"))
			continue;	/* one normalized field follows */
		if (conn_names(s->headers, s->nheaders, h->name) &&
		    !http1_str_eq(h->name, "content-length"))
			continue;
		if (rt->conf->response.nrewrite > 0 && (http1_str_eq(h->name, "location") ||
		    http1_str_eq(h->name, "refresh"))) {
			v = rewrite_location(c, h, v, &used);
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
	/* Body bytes that came with the head go out in the same writev. */
	x->rs_consume = s->head_len;
	if (x->rb.data > s->head_len && x->rs_mode != BODY_NONE) {
		const char *data;
		size_t dlen;
		ssize_t n = scan_resp_body(x, iobuf_ptr(&x->rb) + s->head_len,
		    x->rb.data - s->head_len, &data, &dlen);

		if (n > 0) {
			x->rs_consume += (uint32_t)n;
			if (dlen > 0)
				v = IOV_MEM(v, data, dlen);
		}
		/* n < 0: the body loop meets the same bytes again and reports them. */
		if (n < 0)
			memset(&x->rs_ck, 0, sizeof(x->rs_ck));
	}
	x->scur = x->siov;
	x->sleft = (int)(v - x->siov);
}

/* "Content-Length: n\r\n" in buf, as an iovec appended at v. */
static struct iovec *
clen_line(struct iovec *v, char *buf, size_t cap, uint64_t n)
{
	int len = snprintf(buf, cap, "Content-Length: %llu\r\n", (unsigned long long)n);

	return IOV_MEM(v, buf, (size_t)len);
}

/*
 * rewrite_location rules on a Location or Refresh field (for Refresh, on
 * the URL after "url="), like nginx's proxy_redirect: the first matching
 * rule wins. Appends the iovec(s) for the field to v and returns the end.
 */
static struct iovec *
rewrite_location(struct cconn *c, const struct http1_header *h, struct iovec *v, uint32_t *used)
{
	struct exch *x = c->x;
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
		n = rewrite_apply(r->rewrite[i].rw, c->w->rwctx, u, ulen, out + pre,
		    LINES_CAP - *used - pre - 2);
		if (n == REWRITE_NOMATCH)
			continue;
		if (n == REWRITE_ERROR)
			x->rw_gave_up = 1;	/* resp_head answers 500 instead */
		if (n < 0)
			break;
		memcpy(out + pre + n, "\r\n", 2);
		*used += pre + (uint32_t)n + 2;
		return IOV_MEM(v, out, pre + (uint32_t)n + 2);
	}
	return IOV_MEM(v, h->line.p, h->line.len);
}

/* Both directions are done: recycle the backend, go to the next request. */
static enum step
finish(struct cconn *c)
{
	struct worker *w = c->w;
	struct exch *x = c->x;
	const struct route_conf *rc = x->route->conf;
	int reuse;

	if (x->tunnel) {
		/* Bytes the client sent after its head belong to the new protocol. */
		iobuf_consume(&c->in, x->rq_scan);
		c->state = CC_TUNNEL;
		c->ready |= RDY_CR | RDY_UR;
		set_timer(c, TP_TUNNEL);
		return STEP_NEXT;
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
	if (x->cli_close) {
		exch_free(c, reuse);
		close_conn(c, "response complete, closing");
		return STEP_DONE;
	}
	exch_free(c, reuse);
	c->state = c->in.data > 0 ? CC_READ_HEAD : CC_IDLE;
	c->head_t0 = ev_now(w->loop);
	return STEP_NEXT;
}

static const char *
status_text(int status)
{
	switch (status) {
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 408: return "Request Timeout";
	case 414: return "URI Too Long";
	case 500: return "Internal Server Error";
	case 431: return "Request Header Fields Too Large";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	case 505: return "HTTP Version Not Supported";
	case 508: return "Loop Detected";
	default: return "Error";
	}
}

/*
 * Answers the current request ourselves. The backend connection, if any, is
 * closed. close_after: the request bytes cannot be skipped reliably (a body
 * was not read, or the head was malformed), so the client is closed after.
 */
static enum step
error_response(struct cconn *c, int status, int close_after)
{
	struct exch *x = c->x;
	const char *txt = status_text(status);
	int n, body, head_only;

	up_release(c, 0);
	if (x->sent_client) {
		close_conn(c, "error after the response started");
		return STEP_DONE;
	}
	if (status >= 500)
		log_warnx("conn=%llu: %d %s for %s", (unsigned long long)c->id, status, txt, c->peer);
	head_only = c->state == CC_EXCH && x->meth == HTTP1_M_HEAD;
	close_after |= x->cli_close || c->state != CC_EXCH || !x->views_ok || c->w->draining;
	x->cli_close = close_after;
	x->status = status;
	body = snprintf(NULL, 0, "<html><head><title>%d %s</title></head><body><h1>%d %s</h1>"
	    "<hr>sluice</body></html>\n", status, txt, status, txt);
	n = snprintf(x->scratch, sizeof(x->scratch),
	    "HTTP/1.1 %d %s\r\nContent-Type: text/html\r\nContent-Length: %d\r\n%s\r\n",
	    status, txt, body, close_after ? "Connection: close\r\n" : "");
	if (!head_only)
		n += snprintf(x->scratch + n, sizeof(x->scratch) - (size_t)n,
		    "<html><head><title>%d %s</title></head><body><h1>%d %s</h1>"
		    "<hr>sluice</body></html>\n", status, txt, status, txt);
	x->scur = x->siov;
	x->siov[0].iov_base = x->scratch;
	x->siov[0].iov_len = (size_t)n;
	x->sleft = 1;
	c->state = CC_ERRRESP;
	set_timer(c, TP_SEND);
	return STEP_NEXT;
}

static enum step
step_errresp(struct cconn *c)
{
	struct exch *x = c->x;
	ssize_t n;

	while (x->sleft > 0) {
		if (!(c->ready & RDY_CW)) {
			c->want |= RDY_CW;
			return STEP_AGAIN;
		}
		n = io_writev(c->fd, x->scur, x->sleft);
		if (n == IO_AGAIN) {
			c->ready &= ~RDY_CW;
			c->want |= RDY_CW;
			return STEP_AGAIN;
		}
		if (n < 0) {
			close_conn(c, "client write error");
			return STEP_DONE;
		}
		x->bytes_sent += (uint64_t)n;
		io_iov_advance(&x->scur, &x->sleft, (size_t)n);
	}
	if (x->cli_close) {
		/* Let the client read the answer before the close resets anything. */
		shutdown(c->fd, SHUT_WR);
		close_conn(c, "error response sent");
		return STEP_DONE;
	}
	/* Only requests without a body keep the connection: skip the head. */
	iobuf_consume(&c->in, x->req.head_len);
	exch_free(c, 0);
	c->state = c->in.data > 0 ? CC_READ_HEAD : CC_IDLE;
	c->head_t0 = ev_now(c->w->loop);
	return STEP_NEXT;
}

/*
 * Moves bytes one way through the tunnel: from's buffer b to to. On EOF
 * from the source, the write side of the destination is shut down once b
 * is empty, so half-closes pass through.
 */
static enum step
tunnel_pipe(struct cconn *c, int from, int to, struct iobuf *b, uint32_t rdy_r, uint32_t rdy_w,
    int *eof)
{
	enum step res = STEP_AGAIN;
	ssize_t n;

	for (;;) {
		if (b->data > 0) {
			if (!(c->ready & rdy_w)) {
				c->want |= rdy_w;
				return res;
			}
			n = io_write(to, iobuf_ptr(b), b->data);
			if (n == IO_AGAIN) {
				c->ready &= ~rdy_w;
				c->want |= rdy_w;
				return res;
			}
			if (n < 0) {
				close_conn(c, "tunnel write error");
				return STEP_DONE;
			}
			iobuf_consume(b, (uint32_t)n);
			res = STEP_NEXT;
			continue;
		}
		if (*eof)
			return res;
		if (!(c->ready & rdy_r)) {
			c->want |= rdy_r;
			return res;
		}
		iobuf_compact(b);
		n = io_read(from, b);
		if (n == IO_AGAIN) {
			c->ready &= ~rdy_r;
			c->want |= rdy_r;
			return res;
		}
		if (n <= 0) {
			*eof = 1;
			shutdown(to, SHUT_WR);
			return STEP_NEXT;
		}
		res = STEP_NEXT;
	}
}

static enum step
step_tunnel(struct cconn *c)
{
	struct exch *x = c->x;
	enum step r1, r2;

	r1 = tunnel_pipe(c, c->fd, x->up->fd, &c->in, RDY_CR, RDY_UW, &x->t_cli_eof);
	if (r1 == STEP_DONE)
		return STEP_DONE;
	r2 = tunnel_pipe(c, x->up->fd, c->fd, &x->rb, RDY_UR, RDY_CW, &x->t_up_eof);
	if (r2 == STEP_DONE)
		return STEP_DONE;
	if (x->t_cli_eof && x->t_up_eof) {
		close_conn(c, "tunnel closed by both sides");
		return STEP_DONE;
	}
	if (r1 == STEP_NEXT || r2 == STEP_NEXT) {
		set_timer(c, TP_TUNNEL);
		return STEP_NEXT;
	}
	return STEP_AGAIN;
}

/* Copies a view into dst for the access log: quotes and controls become '?'. */
static size_t
copy_esc(char *dst, size_t cap, const char *p, uint32_t len)
{
	size_t i, n = len < cap - 1 ? len : cap - 1;

	for (i = 0; i < n; i++)
		dst[i] = (p[i] == '"' || p[i] == '\\' || (unsigned char)p[i] < 0x20 ||
		    p[i] == 0x7f) ? '?' : p[i];
	dst[n] = '\0';
	return n + 1;
}

/*
 * The request's views do not outlive the exchange's buffer moves, so the
 * strings the access log needs are copied when the head is accepted.
 */
static void
access_copy(struct cconn *c)
{
	struct exch *x = c->x;
	const struct http1_req *q = &x->req;
	const struct http1_header *ref = http1_find(q->headers, q->nheaders, "referer");
	const struct http1_header *ua = http1_find(q->headers, q->nheaders, "user-agent");
	uint32_t linelen = q->line.len;
	size_t off;

	while (linelen > 0 && (q->line.p[linelen - 1] == '\r' || q->line.p[linelen - 1] == '\n'))
		linelen--;
	off = copy_esc(x->alog_req, 300, q->line.p, linelen);
	off += copy_esc(x->alog_req + off, 100, ref ? ref->value.p : "-", ref ? ref->value.len : 1);
	copy_esc(x->alog_req + off, sizeof(x->alog_req) - off, ua ? ua->value.p : "-",
	    ua ? ua->value.len : 1);
}

/*
 * One access-log line: the combined format, then the source, the backend's
 * status and the request and backend times (nginx's $upstream_* spirit).
 */
static void
access_log(struct cconn *c)
{
	struct worker *w = c->w;
	struct exch *x = c->x;
	const char *line = x->alog_req, *ref = line + strlen(line) + 1, *ua = ref + strlen(ref) + 1;
	ev_tstamp now = ev_now(w->loop);
	char urt[32], ust[8];
	char *p = alog_reserve(&w->alog, 1024);
	int n;

	if (p == NULL)
		return;
	if (x->t_up_head > 0)
		snprintf(urt, sizeof(urt), "%.3f", x->t_up_head - x->t_up_start);
	else
		snprintf(urt, sizeof(urt), "-");
	if (x->t_up_head > 0)
		snprintf(ust, sizeof(ust), "%d", x->status);
	else
		snprintf(ust, sizeof(ust), "-");
	n = snprintf(p, 1024, "%s - - [%s] \"%s\" %d %llu \"%s\" \"%s\" src=%s ustatus=%s rt=%.3f urt=%s\n",
	    c->peer, alog_stamp(&w->alog, now), line, x->status ? x->status : 499,
	    (unsigned long long)x->bytes_sent, ref, ua, x->src_name ? x->src_name : "-", ust,
	    now - x->t_start, urt);
	if (n > 0)
		alog_commit(&w->alog, (size_t)n < 1024 ? (size_t)n : 1023);
}

/*
 * Gives the backend connection back (pool or close) and ends its share of
 * the source's active count and byte counters in shm.
 */
static void
up_release(struct cconn *c, int reuse)
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
	if (reuse)
		upool_put(x->up, w->conf->timeouts.backend_idle);
	else
		uconn_close(x->up);
	x->up = NULL;
}

/* Retry-After as delta-seconds (an HTTP-date is not honoured): seconds, or 0. */
static int
retry_after(const struct http1_resp *s)
{
	const struct http1_header *h = http1_find(s->headers, s->nheaders, "retry-after");
	uint32_t i;
	int v = 0;

	if (h == NULL || h->value.len == 0 || h->value.len > 9)
		return 0;
	for (i = 0; i < h->value.len; i++) {
		if (h->value.p[i] < '0' || h->value.p[i] > '9')
			return 0;
		v = v * 10 + (h->value.p[i] - '0');
	}
	return v;
}
