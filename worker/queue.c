/*
 * The max_conns queue. A source's open connections, all workers together,
 * are counted in shm (shm_conn_take/give: a CAS bounded by max_conns). A
 * request whose route has no candidate with a free slot (and no pooled
 * connection to one) waits here, FIFO per route, for queue_timeout.
 *
 * A freed slot goes to the oldest waiter in the cluster: each worker
 * publishes per source when its oldest waiter for it started waiting
 * (wsrc.q_head_ms). A worker that closes a connection holding a slot wakes
 * the worker with the oldest waiter through that worker's eventfd (one per
 * worker slot, made by the master before the fork); a worker whose
 * exchange ends on a connection that another worker's older waiter needs
 * closes it instead of pooling it; and a worker that holds idle pooled
 * connections to a source others wait for closes them. New requests queue
 * behind the waiters rather than take a slot a waiter was woken for. A
 * timer, armed only while this worker has waiters, retries the heads: the
 * net under a wake-up lost to a race or to a killed worker.
 */
#include "worker/queue.h"

#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/conf.h"
#include "common/handoff.h"
#include "common/log.h"
#include "shm/shm.h"
#include "worker/cconn.h"
#include "worker/exch.h"
#include "worker/route.h"
#include "worker/upool.h"
#include "worker/worker-t.h"
#include "worker/xport.h"

#define QUEUE_RETRY	0.05	/* seconds between retries of the heads while waiting */
/*
 * A connection that finished an exchange stays with this worker's waiter
 * unless another worker's has waited this much longer: handing a slot to
 * another worker costs a close and a connect, so it is done to keep waits
 * fair, not to keep them in strict order.
 */
#define QUEUE_LOCAL_MS	100

static void	wake_cb(struct ev_loop *loop, ev_io *io, int revents);
static void	retry_cb(struct ev_loop *loop, ev_timer *t, int revents);
static void	kick(struct cconn *c);
static void	kick_local(struct worker *w, uint32_t src_idx);
static void	wake(struct worker *w, uint32_t wslot);
static int	oldest(const struct worker *w, uint32_t sslot, uint64_t *ms);
static void	count(struct cconn *c, uint64_t mask, int add);
static struct cconn *oldest_local(const struct worker *w, uint32_t src_idx);
static int	has_src(const struct cconn *c, uint32_t src_idx);

static uint32_t
slot_of(const struct worker *w, uint32_t src_idx)
{
	return w->ho->src_slot[src_idx];
}

int
queue_init(struct worker *w)
{
	w->lq = calloc(w->conf->nsources, sizeof(*w->lq));
	if (w->lq == NULL)
		return -1;
	w->nqueued = 0;
	w->slot_freed = queue_slot_freed;
	ev_timer_init(&w->q_retry, retry_cb, QUEUE_RETRY, QUEUE_RETRY);
	if (w->ho->wake_fd != NULL && w->ho->shm_slot < w->ho->nwake &&
	    w->ho->wake_fd[w->ho->shm_slot] >= 0) {
		ev_io_init(&w->q_wake, wake_cb, w->ho->wake_fd[w->ho->shm_slot], EV_READ);
		ev_io_start(w->loop, &w->q_wake);
		ev_unref(w->loop);	/* no reason on its own to keep the loop running */
	}
	return 0;
}

/* Adds (add 1) or removes (0) c as a waiter for the sources in mask. */
static void
count(struct cconn *c, uint64_t mask, int add)
{
	struct worker *w = c->w;
	struct exch *x = c->x;
	const struct route_conf *rc = x->route->conf;
	uint32_t i, idx, slot;

	for (i = 0; mask != 0 && i < rc->nsources; i++, mask >>= 1) {
		struct shm_source *s;
		struct shm_wsrc *ws;
		uint64_t h;

		if (!(mask & 1))
			continue;
		idx = rc->sources[i];
		slot = slot_of(w, idx);
		s = shm_source(w->ho->shm, slot);
		ws = shm_wsrc(w->ho->shm, w->ho->shm_slot, slot);
		if (add) {
			w->lq[idx]++;
			h = atomic_load_explicit(&ws->q_head_ms, memory_order_relaxed);
			if (h == 0 || x->q_ms < h)
				atomic_store_explicit(&ws->q_head_ms, x->q_ms, memory_order_relaxed);
			shm_gauge_add(&ws->queued, 1);
			/* The first waiter anywhere: workers holding idle ones let them go. */
			if (atomic_fetch_add_explicit(&s->queued, 1, memory_order_relaxed) <= 0) {
				uint32_t k;

				for (k = 0; k < w->ho->nwake; k++)
					if (k != w->ho->shm_slot && atomic_load_explicit(
					    &shm_worker(w->ho->shm, k)->pid, memory_order_relaxed) != 0)
						wake(w, k);
			}
		} else {
			struct cconn *o;

			w->lq[idx]--;
			atomic_fetch_sub_explicit(&s->queued, 1, memory_order_relaxed);
			shm_gauge_add(&ws->queued, -1);
			o = w->lq[idx] == 0 ? NULL : oldest_local(w, idx);
			atomic_store_explicit(&ws->q_head_ms, o != NULL ? o->x->q_ms : 0,
			    memory_order_relaxed);
		}
	}
}

/* Does c wait for conf source src_idx? */
static int
has_src(const struct cconn *c, uint32_t src_idx)
{
	const struct route_conf *rc = c->x->route->conf;
	uint64_t m = c->x->qmask;
	uint32_t i;

	for (i = 0; m != 0 && i < rc->nsources; i++, m >>= 1)
		if ((m & 1) && rc->sources[i] == src_idx)
			return 1;
	return 0;
}

/* This worker's oldest waiter for conf source src_idx, or NULL. */
static struct cconn *
oldest_local(const struct worker *w, uint32_t src_idx)
{
	struct cconn *c, *best = NULL;
	uint32_t r;

	for (r = 0; r < w->conf->nroutes; r++)
		/* FIFO: the first one that waits for it is the route's oldest. */
		for (c = w->routes[r].qhead; c != NULL; c = c->x->qnext)
			if (has_src(c, src_idx)) {
				if (best == NULL || c->x->q_ms < best->x->q_ms)
					best = c;
				break;
			}
	return best;
}

enum step
queue_wait(struct cconn *c, uint64_t full)
{
	struct worker *w = c->w;
	struct exch *x = c->x;
	struct route_rt *r = x->route;

	if (!x->queued) {
		struct shm_wroute *wr = shm_wroute(w->ho->shm, w->ho->shm_slot,
		    w->ho->route_base + r->idx_no);

		x->queued = 1;
		x->q_t0 = ev_now(w->loop);
		x->q_ms = shm_now_ms();
		x->qnext = NULL;
		x->qprev = r->qtail;
		if (r->qtail != NULL)
			r->qtail->x->qnext = c;
		else
			r->qhead = c;
		r->qtail = c;
		r->qlen++;
		w->nqueued++;
		shm_gauge_add(&wr->queued, 1);
		shm_add(&wr->q_total, 1);
		x->qmask = full;
		count(c, full, 1);
		cconn_timer(c, TP_QUEUE);
		if (!ev_is_active(&w->q_retry))
			ev_timer_start(w->loop, &w->q_retry);
		log_debug("conn=%llu: every source of the route at line %d is at max_conns: "
		    "waiting (%u in this worker's queue)", (unsigned long long)c->id,
		    r->conf->line, r->qlen);
	} else if (full != x->qmask) {
		count(c, full, 1);
		count(c, x->qmask, 0);
		x->qmask = full;
	}
	x->ups = UP_QUEUED;
	/*
	 * Not STEP_AGAIN: called from the head parser, that would read as "the
	 * head is incomplete". The exchange state comes back through
	 * queue_step(), which blocks without watching anything.
	 */
	return STEP_NEXT;
}

enum step
queue_step(struct cconn *c)
{
	struct exch *x = c->x;
	ssize_t n;
	char ch;

	if (!x->qkick) {
		/*
		 * A client that goes away leaves the queue at once. Plain TCP only:
		 * a peek shows whether what is readable is the end; bytes (the
		 * body, a pipelined request) wait, and the interest goes (arm()).
		 */
		if (!(c->ready & RDY_CR)) {
			if (c->xp.ops == &xport_tcp)
				c->want |= RDY_CR;
			return STEP_AGAIN;
		}
		if (c->xp.ops == &xport_tcp &&
		    ((n = recv(c->xp.fd, &ch, 1, MSG_PEEK | MSG_DONTWAIT)) == 0 ||
		    (n == -1 && errno == ECONNRESET)))
			return cconn_fail(c, SHM_END_CLI_ABORT, "client closed while waiting "
			    "for a max_conns slot");
		return STEP_AGAIN;
	}
	x->qkick = 0;
	return dispatch_pick(c);
}

void
queue_leave(struct cconn *c, int why)
{
	struct worker *w = c->w;
	struct exch *x = c->x;
	struct route_rt *r = x->route;
	struct shm_wroute *wr;
	uint64_t us, max;

	if (!x->queued)
		return;
	wr = shm_wroute(w->ho->shm, w->ho->shm_slot, w->ho->route_base + r->idx_no);
	if (x->qprev != NULL)
		x->qprev->x->qnext = x->qnext;
	else
		r->qhead = x->qnext;
	if (x->qnext != NULL)
		x->qnext->x->qprev = x->qprev;
	else
		r->qtail = x->qprev;
	x->qnext = x->qprev = NULL;
	r->qlen--;
	w->nqueued--;
	x->queued = 0;
	x->qkick = 0;
	count(c, x->qmask, 0);
	x->qmask = 0;
	if (x->ups == UP_QUEUED && why != 2)	/* closing: the log says where it was */
		x->ups = UP_NONE;
	us = (uint64_t)llround((ev_now(w->loop) - x->q_t0) * 1e6);
	shm_gauge_add(&wr->queued, -1);
	shm_add(&wr->q_wait_us, us);
	max = atomic_load_explicit(&wr->q_wait_max_us, memory_order_relaxed);
	if (us > max)
		atomic_store_explicit(&wr->q_wait_max_us, us, memory_order_relaxed);
	if (why == 1)
		shm_add(&wr->q_timeouts, 1);
	if (w->nqueued == 0)
		ev_timer_stop(w->loop, &w->q_retry);
	/* Served: there may be another free slot, the next one tries too. */
	if (why == 0 && r->qhead != NULL)
		kick(r->qhead);
}

enum step
queue_expired(struct cconn *c)
{
	struct exch *x = c->x;
	double t = x->route->conf->queue_timeout;

	queue_leave(c, 1);
	log_info("conn=%llu: no source of the route at line %d had a free connection "
	    "(max_conns) within queue_timeout %gs: 503", (unsigned long long)c->id,
	    x->route->conf->line, t);
	x->retry_after = t < 1 ? 1 : (uint32_t)ceil(t);
	return errpage_reply(c, 503, x->rq_mode != BODY_NONE, SHM_END_QUEUE);
}

int
queue_others_wait(const struct worker *w, uint32_t sslot)
{
	return atomic_load_explicit(&shm_source(w->ho->shm, sslot)->queued,
	    memory_order_relaxed) > 0;
}

int
queue_keep(struct worker *w, const struct upool *p)
{
	uint32_t slot = slot_of(w, p->src_idx);
	uint64_t mine, best;
	int ow;

	if (p->src->max_conns == 0 || !queue_others_wait(w, slot))
		return 1;
	if ((ow = oldest(w, slot, &best)) < 0)
		return 1;
	mine = atomic_load_explicit(&shm_wsrc(w->ho->shm, w->ho->shm_slot, slot)->q_head_ms,
	    memory_order_relaxed);
	if ((uint32_t)ow == w->ho->shm_slot || (mine != 0 && mine < best + QUEUE_LOCAL_MS)) {
		kick_local(w, p->src_idx);
		return 1;
	}
	return 0;
}

void
queue_slot_freed(struct worker *w, uint32_t src_idx)
{
	uint32_t slot = slot_of(w, src_idx);
	int ow;

	uint64_t best;

	if (!queue_others_wait(w, slot) || (ow = oldest(w, slot, &best)) < 0)
		return;
	if ((uint32_t)ow == w->ho->shm_slot)
		kick_local(w, src_idx);
	else
		wake(w, (uint32_t)ow);
}

/*
 * The worker slot whose oldest waiter for source slot sslot is the oldest
 * in the cluster, or -1; *ms receives when that one started waiting.
 */
static int
oldest(const struct worker *w, uint32_t sslot, uint64_t *ms)
{
	uint64_t best = 0, h;
	uint32_t k;
	int who = -1;

	for (k = 0; k < w->ho->shm->max_workers; k++) {
		h = atomic_load_explicit(&shm_wsrc(w->ho->shm, k, sslot)->q_head_ms,
		    memory_order_relaxed);
		/* Ties: this worker, which needs no wake-up. */
		if (h != 0 && (best == 0 || h < best || (h == best && k == w->ho->shm_slot))) {
			best = h;
			who = (int)k;
		}
	}
	*ms = best;
	return who;
}

/* c waits: let it try again in this loop iteration (never from inside another's step). */
static void
kick(struct cconn *c)
{
	c->x->qkick = 1;
	ev_feed_event(c->w->loop, &c->io, 0);
}

static void
kick_local(struct worker *w, uint32_t src_idx)
{
	struct cconn *c = oldest_local(w, src_idx);

	if (c != NULL)
		kick(c);
}

static void
wake(struct worker *w, uint32_t wslot)
{
	uint64_t one = 1;

	if (w->ho->wake_fd == NULL || wslot >= w->ho->nwake || w->ho->wake_fd[wslot] < 0)
		return;
	/* EAGAIN: the counter is full, it will wake all the same. */
	if (write(w->ho->wake_fd[wslot], &one, sizeof(one)) == -1 && errno != EAGAIN)
		log_debug("wake worker slot %u: %s", wslot, strerror(errno));
}

void
queue_check(struct worker *w)
{
	uint32_t r, j;

	for (r = 0; r < w->conf->nroutes; r++) {
		struct route_rt *rt = &w->routes[r];

		if (rt->qhead != NULL)
			kick(rt->qhead);
		for (j = 0; j < rt->conf->nsources; j++) {
			struct upool *p = &rt->pools[j];

			if (p->nidle > 0 && p->src->max_conns > 0 && w->lq[p->src_idx] == 0 &&
			    queue_others_wait(w, slot_of(w, p->src_idx)))
				upool_flush(p);
		}
	}
}

static void
wake_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	struct worker *w = (struct worker *)((char *)io - offsetof(struct worker, q_wake));
	uint64_t n;

	(void)loop;
	(void)revents;
	if (read(io->fd, &n, sizeof(n)) == -1 && errno != EAGAIN)
		log_debug("queue wake-up: %s", strerror(errno));
	queue_check(w);
}

static void
retry_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop;
	(void)revents;
	queue_check((struct worker *)((char *)t - offsetof(struct worker, q_retry)));
}
