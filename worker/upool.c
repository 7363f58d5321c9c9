/*
 * Keep-alive pool: a doubly linked MRU list of parked backend connections.
 * A parked connection has a read watcher that closes it on any event: the
 * backend may not send anything unasked, so data or EOF both mean "gone"
 * (over TLS, records that carry no data, like session tickets, are read and
 * the connection stays).
 */
#include "worker/upool.h"

#include <stddef.h>
#include <stdlib.h>

#include "common/conf.h"
#include "worker/srcaddr.h"
#include "worker/uconn.h"
#include "worker/worker-t.h"

#define UPOOL_KA_MARGIN	0.5	/* seconds kept from a source's Keep-Alive timeout */

static void	unlink_idle(struct uconn *u);
static void	idle_end(struct uconn *u);
static void	idle_io_cb(struct ev_loop *loop, ev_io *io, int revents);
static void	idle_tmo_cb(struct ev_loop *loop, ev_timer *t, int revents);

void
upool_init(struct upool *p, const struct source_conf *src, uint32_t src_idx, uint32_t max,
    int adaptive)
{
	*p = (struct upool){ .src = src, .src_idx = src_idx, .max = max,
	    .adaptive = adaptive != 0 };
}

static void
unlink_idle(struct uconn *u)
{
	struct upool *p = u->pool;

	if (u->prev != NULL)
		u->prev->next = u->next;
	else
		p->idle = u->next;
	if (u->next != NULL)
		u->next->prev = u->prev;
	else
		p->tail = u->prev;
	u->next = u->prev = NULL;
	p->nidle--;
}

void
upool_inuse(struct upool *p)
{
	p->inuse++;
	if (p->inuse > p->peak[0])
		p->peak[0] = p->inuse;
}

void
upool_released(struct upool *p)
{
	if (p->inuse > 0)
		p->inuse--;
}

void
upool_tick(struct upool *p, ev_tstamp now, ev_tstamp window)
{
	uint32_t want, surplus;
	struct uconn *u, *next;

	/* Connections to an address the resolver no longer publishes go first. */
	for (u = p->idle; u != NULL; u = next) {
		next = u->next;
		if (srcaddr_stale(u->w, p->src_idx, u->agen)) {
			unlink_idle(u);
			uconn_close(u);
			p->stale++;
		}
	}
	if (!p->adaptive)
		return;
	if (p->win_end == 0) {
		p->win_end = now + window;	/* the first window: what it saw so far counts */
	} else if (now >= p->win_end) {
		/* A new window starts with what is in use now; the last one's peak stays. */
		p->peak[1] = now - p->win_end < window ? p->peak[0] : 0;
		p->peak[0] = p->inuse;
		p->win_end = now + window;
	}
	want = p->peak[0] > p->peak[1] ? p->peak[0] : p->peak[1];
	if (p->inuse + p->nidle <= want)
		return;
	surplus = p->inuse + p->nidle - want;
	if (surplus > p->nidle)
		surplus = p->nidle;
	for (surplus = (surplus + 1) / 2; surplus > 0 && (u = p->tail) != NULL; surplus--) {
		unlink_idle(u);
		uconn_close(u);
		p->retired++;
	}
}

/* Any event on a parked connection, or its idle timeout, ends it. */
static void
idle_end(struct uconn *u)
{
	if (u->magic != UCONN_MAGIC)
		abort();	/* a callback on a freed connection: never carry on */
	unlink_idle(u);
	uconn_close(u);
}

static void
idle_io_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	struct uconn *u = (struct uconn *)((char *)io - offsetof(struct uconn, io));

	(void)loop;
	(void)revents;
	/* TLS: a session ticket or the like is no reason to close. */
	if (u->magic == UCONN_MAGIC && xport_idle(&u->xp) == 0)
		return;
	idle_end(u);
}

static void
idle_tmo_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop;
	(void)revents;
	idle_end((struct uconn *)((char *)t - offsetof(struct uconn, idle)));
}

struct uconn *
upool_get(struct upool *p, ev_tstamp now)
{
	struct uconn *u;

	while ((u = p->idle) != NULL) {
		unlink_idle(u);
		/* The read watcher stays registered; the caller switches its callback. */
		ev_timer_stop(u->w->loop, &u->idle);
		/* Leave a margin so we never send just as the backend times out. */
		if ((u->expires == 0 || u->expires - UPOOL_KA_MARGIN > now) &&
		    !srcaddr_stale(u->w, p->src_idx, u->agen))
			return u;
		uconn_close(u);
	}
	return NULL;
}

void
upool_put(struct uconn *u, ev_tstamp idle_timeout)
{
	struct upool *p = u->pool;
	struct ev_loop *loop = u->w->loop;
	ev_tstamp tmo = idle_timeout;

	if (p->nidle >= p->max) {
		uconn_close(u);
		return;
	}
	u->owner = NULL;
	/*
	 * The idle timer ends where upool_get() would stop handing it out: a
	 * connection within the margin of its Keep-Alive deadline is of no use
	 * and is not parked holding a descriptor.
	 */
	if (u->expires != 0 && u->expires - UPOOL_KA_MARGIN - ev_now(loop) < tmo)
		tmo = u->expires - UPOOL_KA_MARGIN - ev_now(loop);
	if (tmo <= 0) {
		uconn_close(u);
		return;
	}
	u->prev = NULL;
	u->next = p->idle;
	if (p->idle != NULL)
		p->idle->prev = u;
	else
		p->tail = u;
	p->idle = u;
	p->nidle++;
	if (ev_is_active(&u->io) && (u->io.events & (EV_READ | EV_WRITE)) == EV_READ) {
		ev_set_cb(&u->io, idle_io_cb);	/* already watching reads: no epoll_ctl */
	} else {
		ev_io_stop(loop, &u->io);
		ev_io_init(&u->io, idle_io_cb, u->fd, EV_READ);
		ev_io_start(loop, &u->io);
	}
	ev_timer_init(&u->idle, idle_tmo_cb, tmo, 0.);
	ev_timer_start(loop, &u->idle);
}

void
upool_flush(struct upool *p)
{
	struct uconn *u;

	while ((u = p->idle) != NULL) {
		unlink_idle(u);
		uconn_close(u);
	}
}
