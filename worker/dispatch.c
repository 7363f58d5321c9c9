/*
 * Dispatch: what happens between a parsed request head and a source. The
 * path is normalized for routing, the route picked, its rules applied
 * (loop check, Upgrade policy, URL rewrite), a source balanced and a pooled
 * connection taken or a connect started; and when a source fails before its
 * response head, the replay / retry / answer policy.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/acl.h"
#include "common/conf.h"
#include "common/http1.h"
#include "common/log.h"
#include "common/ratelimit.h"
#include "common/rewrite.h"
#include "common/urlpath.h"
#include "shm/shm.h"
#include "worker/cconn.h"
#include "worker/exch.h"
#include "worker/lb.h"
#include "worker/route.h"
#include "worker/srcaddr.h"
#include "worker/uconn.h"
#include "worker/upool.h"
#include "worker/worker-t.h"

static enum step route_request(struct cconn *c);
static int	rewrite_target(struct cconn *c);
static enum step local_shortage(struct cconn *c, struct upool *p, int err);
static void	request_id(struct worker *w, struct exch *x, const char *name);
static void	client_addr(struct cconn *c, const struct route_conf *rc);
static int	rate_limited(struct cconn *c, const struct route_conf *rc);
static const char *client_text(struct cconn *c);
static int	xff_last_hop(const struct http1_req *q, uint8_t addr[16]);
static int	rid_char(unsigned char ch);
static enum step start_backend(struct cconn *c);
static struct uconn *connect_source(struct worker *w, struct upool *p);
static int	idempotent(int meth);

enum step
dispatch_start(struct cconn *c)
{
	struct worker *w = c->w;
	struct exch *x = c->x;
	struct http1_req *q = &x->req;

	x->started = 1;
	x->t_start = ev_now(w->loop);
	if (w->alog.fd != -1)
		xend_copy_request(c, 0);
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
	cconn_goto(c, CC_EXCH);
	return route_request(c);
}

/* Normalized path -> route -> the route's request policy. */
static enum step
route_request(struct cconn *c)
{
	struct worker *w = c->w;
	struct exch *x = c->x;
	struct http1_req *q = &x->req;
	const struct route_conf *rc;
	struct route_rt *gave_up;
	struct http1_str rpath;
	int n;

	/* Routes see the normalized path; the backend gets the path as received. */
	rpath = q->path;
	if (!urlpath_is_normal(q->path.p, q->path.len)) {
		n = urlpath_normalize(q->path.p, q->path.len, x->rpath, x->tcap);
		if (n < 0) {
			log_info("conn=%llu: bad request target from %s: %s",
			    (unsigned long long)c->id, c->peer, urlpath_error_text(n));
			return errpage_reply(c, 400, 1, SHM_END_CLI_BAD);
		}
		rpath = (struct http1_str){ x->rpath, (uint32_t)n };
	}
	x->rpath_v = rpath;
	x->route = route_match(w->routes, w->conf->nroutes, q->host, rpath, &gave_up);
	if (gave_up != NULL) {
		/* Fail closed: the path might belong to this route and its rules. */
		shm_add(&shm_worker(w->ho->shm, w->ho->shm_slot)->regex_aborts, 1);
		log_error("conn=%llu: route at %s:%d: path_regex gave up on \"%.*s\" "
		    "(retry limit), answering 500", (unsigned long long)c->id, w->conf->file,
		    gave_up->conf->line, (int)(rpath.len > 200 ? 200 : rpath.len), rpath.p);
		return errpage_reply(c, 500, x->rq_mode != BODY_NONE, SHM_END_INTERNAL);
	}
	if (x->route == NULL)
		return errpage_reply(c, 404, x->rq_mode != BODY_NONE, SHM_END_NO_ROUTE);
	rc = x->route->conf;
	if (rc->request_id[0] != '\0')
		request_id(w, x, rc->request_id);
	if (rc->acl != NULL || rc->rate_limit.rate > 0)
		client_addr(c, rc);
	if (rc->acl != NULL && !acl_allows16(rc->acl, x->client16)) {
		log_info("conn=%llu: 403 for %s (client %s): refused by allow/deny of the route at "
		    "line %d", (unsigned long long)c->id, c->peer, client_text(c), rc->line);
		return errpage_reply(c, 403, x->rq_mode != BODY_NONE, SHM_END_DENIED);
	}
	if (rc->rate_limit.rate > 0 && rate_limited(c, rc))
		return errpage_reply(c, 429, x->rq_mode != BODY_NONE, SHM_END_RATE);
	if (rc->max_body_size > 0 && x->rq_mode == BODY_CLEN &&
	    q->content_length > rc->max_body_size) {
		/* Said by Content-Length: refused before a byte goes anywhere (no 100). */
		log_info("conn=%llu: request body from %s of %llu bytes over max_body_size (%u) "
		    "of the route at line %d: 413", (unsigned long long)c->id, c->peer,
		    (unsigned long long)q->content_length, rc->max_body_size, rc->line);
		return errpage_reply(c, 413, 1, SHM_END_CLI_BAD);
	}
	if (rc->handler == RH_REDIRECT)
		return handler_redirect(c);
	if (rc->handler != RH_PROXY)
		return handler_reply(c);
	if (rc->via && (q->flags & HTTP1_F_VIA) && heads_via_loop(q, rc->via_name)) {
		shm_add(&shm_worker(w->ho->shm, w->ho->shm_slot)->loops, 1);
		log_warnx("conn=%llu: forwarding loop: the request from %s already passed \"%s\" "
		    "(Via), answering 508", (unsigned long long)c->id, c->peer, rc->via_name);
		return errpage_reply(c, 508, x->rq_mode != BODY_NONE, SHM_END_LOOP);
	}
	/* Upgrade: only to a protocol the route allows, for a request without a body. */
	x->upgrade = (q->flags & HTTP1_F_CONN_UPGRADE) && (q->flags & HTTP1_F_UPGRADE_HDR) &&
	    x->rq_mode == BODY_NONE && q->minor == 1 && heads_upgrade_allowed(x, rc);
	if (rc->request.nrewrite > 0 && rewrite_target(c) == -1)
		return errpage_reply(c, 500, x->rq_mode != BODY_NONE, SHM_END_INTERNAL);
	return dispatch_pick(c);
}

/*
 * The request's id: the client's (or a proxy's before us) if it is a sane
 * token, else a new one of 32 hex digits (128 bits of a per-worker
 * xorshift128+ seeded from the kernel). Forwarded, echoed and logged.
 */
static void
request_id(struct worker *w, struct exch *x, const char *name)
{
	static const char hex[] = "0123456789abcdef";
	const struct http1_header *h = http1_find(x->req.headers, x->req.nheaders, name);
	uint64_t s1, s0, r[2];
	uint32_t i;
	int k;

	if (h != NULL && h->value.len > 0 && h->value.len <= EXCH_RID_MAX) {
		for (i = 0; i < h->value.len; i++)
			if (!rid_char((unsigned char)h->value.p[i]))
				break;
		if (i == h->value.len) {
			memcpy(x->rid, h->value.p, h->value.len);
			x->rid[h->value.len] = '\0';
			x->rid_len = (uint8_t)h->value.len;
			return;
		}
	}
	for (k = 0; k < 2; k++) {
		s1 = w->rid_s[0];
		s0 = w->rid_s[1];
		w->rid_s[0] = s0;
		s1 ^= s1 << 23;
		w->rid_s[1] = s1 ^ s0 ^ (s1 >> 17) ^ (s0 >> 26);
		r[k] = w->rid_s[1] + s0;
	}
	for (i = 0; i < 32; i++)
		x->rid[i] = hex[(r[i / 16] >> ((i % 16) * 4)) & 15];
	x->rid[32] = '\0';
	x->rid_len = 32;
}

/*
 * The client's address for the route's allow/deny and rate_limit, into
 * x->client16 (and its text into x->acl_addr): the connection's peer (the
 * PROXY protocol source when the listener has it), or, when that peer is one
 * of the route's trusted_proxies, the last X-Forwarded-For hop it added.
 */
static void
client_addr(struct cconn *c, const struct route_conf *rc)
{
	struct exch *x = c->x;
	const struct sockaddr *sa = &c->peer_sa.sa;

	if (rc->ntrusted > 0 && route_peer_trusted(rc, sa) &&
	    xff_last_hop(&x->req, x->client16) == 0) {
		x->client_xff = 1;	/* its text is made only for a log line */
		return;
	}
	/* A unix peer is all zeros: one shared key, covered only by ::/0. */
	(void)acl_addr16(sa, x->client16);
}

/* The judged address as text, for a log line (x->acl_addr). */
static const char *
client_text(struct cconn *c)
{
	struct exch *x = c->x;

	if (!x->client_xff)
		return c->peer;
	inet_ntop(AF_INET6, x->client16, x->acl_addr, sizeof(x->acl_addr));
	return x->acl_addr;
}

/*
 * The route's rate_limit for this client, shared by every worker (GCRA in
 * the master's shared table): 1 if over it (x->retry_after set), else 0.
 */
static int
rate_limited(struct cconn *c, const struct route_conf *rc)
{
	struct exch *x = c->x;
	struct timespec ts;
	uint64_t now, wait;
	int evicted;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
	wait = ratelimit_take(ratelimit_key(x->route->idx_no, x->client16), now,
	    rc->rate_limit.rate, rc->rate_limit.burst, &evicted);
	if (evicted)
		shm_add(&shm_worker(c->w->ho->shm, c->w->ho->shm_slot)->rl_evictions, 1);
	if (wait == 0)
		return 0;
	x->retry_after = (uint32_t)((wait + 999999) / 1000000);
	log_info("conn=%llu: 429 for %s (client %s): over the rate_limit of the route at "
	    "line %d (%g/s, burst %u), Retry-After %u", (unsigned long long)c->id, c->peer,
	    client_text(c), rc->line, rc->rate_limit.rate, rc->rate_limit.burst, x->retry_after);
	return 1;
}

/* The last element of the last X-Forwarded-For field, as an IPv6 (or mapped) address. */
static int
xff_last_hop(const struct http1_req *q, uint8_t addr[16])
{
	const struct http1_header *h = NULL;
	char buf[INET6_ADDRSTRLEN + 2];
	const char *p, *e;
	uint32_t i;
	size_t n;

	for (i = 0; i < q->nheaders; i++)
		if (http1_str_eq(q->headers[i].name, "x-forwarded-for"))
			h = &q->headers[i];
	if (h == NULL)
		return -1;
	e = h->value.p + h->value.len;
	while (e > h->value.p && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	for (p = e; p > h->value.p && p[-1] != ','; p--)
		;
	while (p < e && (*p == ' ' || *p == '\t'))
		p++;
	if (p < e && *p == '[' && e[-1] == ']') {	/* "[v6]" */
		p++;
		e--;
	}
	n = (size_t)(e - p);
	if (n == 0 || n >= sizeof(buf))
		return -1;
	memcpy(buf, p, n);
	buf[n] = '\0';
	if (inet_pton(AF_INET6, buf, addr) == 1)
		return 0;
	memset(addr, 0, 10);
	addr[10] = addr[11] = 0xff;
	return inet_pton(AF_INET, buf, addr + 12) == 1 ? 0 : -1;
}

/* A request id from elsewhere: letters, digits and "-._~:+/=" only. */
static int
rid_char(unsigned char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	    ch == '-' || ch == '.' || ch == '_' || ch == '~' || ch == ':' || ch == '+' ||
	    ch == '/' || ch == '=';
}

/*
 * Request rewrite rules: the first regex that matches the target (path and
 * query) replaces it. The result goes to the exchange's target buffer; no
 * allocation. Returns 0 (rewritten or not), or -1 when the result is not a
 * usable origin-form target or the regex gave up.
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

enum step
dispatch_pick(struct cconn *c)
{
	struct worker *w = c->w;
	struct exch *x = c->x;
	const struct route_conf *rc = x->route->conf;
	ev_tstamp now = ev_now(w->loop);
	struct upool *p;
	struct uconn *u;
	uint64_t full = 0;	/* positions found at max_conns */
	int probe, reused;

	for (;;) {
		if (x->attempts > rc->retries) {
			queue_leave(c, 0);
			return errpage_reply(c, 502, x->rq_mode != BODY_NONE, SHM_END_SRV_CONNECT);
		}
		x->ri = lb_pick(w, x->route, &c->peer_sa.sa, x->tried | full, &probe);
		if (x->ri < 0 && full != 0)
			return queue_wait(c, full);	/* every candidate left is at max_conns */
		if (x->ri < 0) {
			queue_leave(c, 0);
			return errpage_reply(c, 502, x->rq_mode != BODY_NONE, SHM_END_SRV_CONNECT);
		}
		p = &x->route->pools[x->ri];
		u = upool_get(p, now);
		reused = u != NULL;
		if (u == NULL) {
			/* A newcomer queues behind those waiting; a waiter takes a slot. */
			if (p->src->max_conns > 0 && !x->queued &&
			    queue_others_wait(w, w->ho->src_slot[p->src_idx]))
				errno = EUSERS;
			else
				u = connect_source(w, p);
			if (u == NULL && errno == EUSERS) {
				full |= UINT64_C(1) << x->ri;
				continue;
			}
		}
		if (x->retry_from >= 0) {
			/* The source that failed is retried away from: count it there. */
			shm_add(&shm_wsrc(w->ho->shm, w->ho->shm_slot,
			    w->ho->src_slot[x->retry_from])->retries, 1);
			x->retry_from = -1;
		}
		x->probe = probe != 0;
		x->tried |= UINT64_C(1) << x->ri;
		x->attempts++;
		x->src_name = p->src->name;
		x->src_idx = (int)p->src_idx;
		if (x->t_up_start == 0)
			x->t_up_start = now;
		x->reused = reused;
		x->ups = reused ? UP_SEND : UP_CONNECT;
		if (reused)
			upool_inuse(p);
		if (u == NULL) {
			if (uconn_local_error(errno)) {
				queue_leave(c, 0);
				return local_shortage(c, p, errno);
			}
			log_warn("conn=%llu: source %s (%s): connect", (unsigned long long)c->id,
			    p->src->name, p->src->addr.text);
			lb_failed(w, p->src_idx, SHM_R_CONNECT);
			x->retry_from = (int)p->src_idx;
			continue;
		}
		break;
	}
	queue_leave(c, 0);
	x->up = u;
	shm_add(&shm_wsrc(w->ho->shm, w->ho->shm_slot, w->ho->src_slot[p->src_idx])->requests, 1);
	return start_backend(c);
}

/*
 * A new connection to p's source: its address now (srcaddr.h), a slot of
 * its max_conns, then connect. NULL with errno: EUSERS when the source is
 * full, EHOSTUNREACH when a resolved source has no address yet, or what
 * socket/connect said.
 */
static struct uconn *
connect_source(struct worker *w, struct upool *p)
{
	const struct addr_conf *a;
	struct uconn *u;
	uint32_t gen, slot = w->ho->src_slot[p->src_idx];
	int saved;

	if ((a = srcaddr_get(w, p->src_idx, &gen)) == NULL) {
		errno = EHOSTUNREACH;
		return NULL;
	}
	if (!shm_conn_take(w->ho->shm, w->ho->shm_slot, slot, p->src->max_conns)) {
		errno = EUSERS;
		return NULL;
	}
	if ((u = uconn_connect(w, p, a)) == NULL) {
		saved = errno;
		shm_conn_give(w->ho->shm, w->ho->shm_slot, slot);
		errno = saved;
		return NULL;
	}
	u->held = 1;
	u->sslot = slot;
	u->src_idx = p->src_idx;
	u->agen = gen;
	p->opened++;
	upool_inuse(p);
	return u;
}

/* x->up is set (pooled or connecting): count it active, build the head, go. */
static enum step
start_backend(struct cconn *c)
{
	struct worker *w = c->w;
	struct exch *x = c->x;
	uint32_t src = (uint32_t)x->src_idx;

	cconn_own_backend(c, x->up);
	x->act_src = (int)src;
	shm_active_inc(w->ho->shm, w->ho->shm_slot, w->ho->src_slot[src]);
	/* A fresh socket is writable once connected; a pooled one is writable now. */
	c->ready = (c->ready & ~(RDY_UR | RDY_UW)) | (x->ups == UP_CONNECT ? 0 : RDY_UW);
	cconn_timer(c, x->ups == UP_CONNECT ? TP_CONNECT : TP_BACKEND);
	switch (backend_build_request(c)) {
	case -1:
		log_info("conn=%llu: malformed chunked request body from %s",
		    (unsigned long long)c->id, c->peer);
		return errpage_reply(c, 400, 1, SHM_END_CLI_BAD);
	case -2:
		log_info("conn=%llu: request body from %s over max_body_size (%u bytes): 413",
		    (unsigned long long)c->id, c->peer, x->route->conf->max_body_size);
		return errpage_reply(c, 413, 1, SHM_END_CLI_BAD);
	default:
		break;
	}
	return STEP_NEXT;
}

/*
 * This machine ran short (descriptors, memory, ports) while connecting to a
 * source: not the source's fault, so nothing is counted against it (a
 * passive mark would take a healthy source away from every worker). 503.
 */
static enum step
local_shortage(struct cconn *c, struct upool *p, int err)
{
	backend_release(c, 0);	/* a connection we could not go on with */
	shm_add(&shm_worker(c->w->ho->shm, c->w->ho->shm_slot)->local_errors, 1);
	log_warnx("conn=%llu: cannot connect to source %s: %s (local shortage, not the "
	    "source's fault), answering 503", (unsigned long long)c->id, p->src->name,
	    strerror(err));
	return errpage_reply(c, 503, c->x->rq_mode != BODY_NONE, SHM_END_LOCAL);
}

enum step
dispatch_local_shortage(struct cconn *c, int err)
{
	return local_shortage(c, &c->x->route->pools[c->x->ri], err);
}

/*
 * The source failed before a response head reached us. Replay on a fresh
 * connection if a pooled one was closed under us, retry another source if
 * that is safe, else answer 502 (504 for a timeout). err: an errno value
 * for the log line, or 0 when what says it all (a TLS failure).
 */
enum step
dispatch_failed(struct cconn *c, int err, enum shm_end cause, const char *what)
{
	struct worker *w = c->w;
	struct exch *x = c->x;
	struct upool *p = &x->route->pools[x->ri];
	struct shm_wsrc *ws = shm_wsrc(w->ho->shm, w->ho->shm_slot, w->ho->src_slot[p->src_idx]);
	int was_reused = x->reused, replay, connecting = x->ups == UP_CONNECT;

	replay = x->views_ok && x->rb.data == 0 && !x->sent_client;
	backend_release(c, 0);
	c->ready &= ~(RDY_UR | RDY_UW);
	if (was_reused && replay) {
		/* The classic keep-alive race: the source closed an idle connection. */
		log_debug("conn=%llu: pooled connection to %s was closed, replaying",
		    (unsigned long long)c->id, p->src->name);
		x->up = connect_source(w, p);
		if (x->up != NULL) {
			shm_add(&ws->retries, 1);
			x->reused = 0;
			x->ups = UP_CONNECT;
			return start_backend(c);
		}
		if (uconn_local_error(errno))
			return local_shortage(c, p, errno);
	}
	errno = err;
	if (err != 0)
		log_warn("conn=%llu: source %s (%s): %s", (unsigned long long)c->id,
		    p->src->name, p->src->addr.text, what);
	else	/* what says it all (a TLS failure) */
		log_warnx("conn=%llu: source %s (%s): %s", (unsigned long long)c->id,
		    p->src->name, p->src->addr.text, what);
	lb_failed(w, p->src_idx, err == ETIMEDOUT ? SHM_R_TIMEOUT :
	    connecting ? SHM_R_CONNECT : SHM_R_RESET);
	if (replay && (connecting || idempotent(x->meth)) && x->attempts <= x->route->conf->retries) {
		x->retry_from = (int)p->src_idx;
		x->ups = UP_NONE;
		return dispatch_pick(c);
	}
	if (cause == SHM_END_SRV_TIMEOUT && !connecting)
		return errpage_reply(c, 504, x->rq_mode != BODY_NONE, cause);
	return errpage_reply(c, 502, x->rq_mode != BODY_NONE, cause);
}

static int
idempotent(int meth)
{
	return meth == HTTP1_M_GET || meth == HTTP1_M_HEAD || meth == HTTP1_M_PUT ||
	    meth == HTTP1_M_DELETE || meth == HTTP1_M_OPTIONS || meth == HTTP1_M_TRACE;
}
