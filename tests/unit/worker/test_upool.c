/*
 * upool: parking and taking keep-alive connections (most recently used
 * first), the size limit, the Keep-Alive deadline, the idle timeout, and the
 * watcher that ends a parked connection on any event. Each connection is one
 * end of a socketpair; the test holds the other end and sees EOF when the
 * pool closes it.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>

#include <criterion/criterion.h>

#include "common/conf.h"
#include "worker/freelist.h"
#include "worker/uconn.h"
#include "worker/upool.h"
#include "worker/worker-t.h"

#define MAXPEER		16

static struct worker		 w;
static struct source_conf	 src;
static struct upool		 pool;
static int			 peers[MAXPEER];
static int			 npeer;

static void		 setup(void);
static void		 teardown(void);
static struct uconn	*conn(int *peer);
static int		 closed(int peer);
static void		 spin(void);

/* A worker with just a loop and a uconn free list that keeps nothing (ASan sees reuse). */
static void
setup(void)
{
	memset(&w, 0, sizeof(w));
	w.loop = ev_loop_new(0);
	cr_assert_not_null(w.loop);
	w.fl_uconn = (struct freelist){ .size = sizeof(struct uconn), .max_free = 0 };
	memset(&src, 0, sizeof(src));
	snprintf(src.name, sizeof(src.name), "app1");
	upool_init(&pool, &src, 0, 3, 0);
	npeer = 0;
}

static void
teardown(void)
{
	int i;

	upool_flush(&pool);
	for (i = 0; i < npeer; i++)
		if (peers[i] != -1)
			close(peers[i]);
	ev_loop_destroy(w.loop);
}

/*
 * A connection of the pool as uconn_connect() makes it, on one end of a
 * socketpair; *peer is the other end (closed by teardown).
 */
static struct uconn *
conn(int *peer)
{
	struct uconn *u;
	int sv[2];

	cr_assert_lt(npeer, MAXPEER);
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
	u = freelist_get(&w.fl_uconn);
	cr_assert_not_null(u);
	*u = (struct uconn){ .magic = UCONN_MAGIC, .fd = sv[0], .pool = &pool, .w = &w };
	xport_tcp_init(&u->xp, sv[0]);
	u->owner = &w;	/* in use by someone */
	u->nreq = 1;
	peers[npeer++] = sv[1];
	*peer = sv[1];
	return u;
}

/*
 * Has the pool closed the other end of peer? EOF, or a reset when it closed
 * with bytes from us unread.
 */
static int
closed(int peer)
{
	char ch;
	ssize_t n = recv(peer, &ch, 1, MSG_DONTWAIT);

	if (n == 0 || (n == -1 && errno == ECONNRESET))
		return 1;
	cr_assert(n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK),
	    "unexpected recv: %zd", n);
	return 0;
}

/* Lets the loop deliver what is pending, without blocking. */
static void
spin(void)
{
	int i;

	for (i = 0; i < 4; i++)
		ev_run(w.loop, EVRUN_NOWAIT);
}

TestSuite(upool, .init = setup, .fini = teardown);

Test(upool, init)
{
	cr_assert_eq(pool.src, &src);
	cr_assert_eq(pool.max, 3);
	cr_assert_eq(pool.nidle, 0);
	cr_assert_null(pool.idle);
	cr_assert_null(upool_get(&pool, ev_now(w.loop)));
}

Test(upool, put_then_get)
{
	int pa;
	struct uconn *a = conn(&pa), *u;

	upool_put(a, 30.);
	cr_assert_eq(pool.nidle, 1);
	cr_assert_eq(pool.idle, a);
	cr_assert_null(a->owner);
	cr_assert(ev_is_active(&a->io));
	cr_assert_eq(a->io.events & (EV_READ | EV_WRITE), EV_READ);
	cr_assert(ev_is_active(&a->idle));
	cr_assert_eq(closed(pa), 0);

	u = upool_get(&pool, ev_now(w.loop));
	cr_assert_eq(u, a);
	cr_assert_eq(pool.nidle, 0);
	cr_assert_null(pool.idle);
	cr_assert_null(u->next);
	cr_assert_null(u->prev);
	/* The read watcher stays for the taker; the idle timer does not. */
	cr_assert(ev_is_active(&u->io));
	cr_assert_not(ev_is_active(&u->idle));
	cr_assert_eq(u->nreq, 1);
	cr_assert_eq(closed(pa), 0);
	cr_assert_null(upool_get(&pool, ev_now(w.loop)));
	uconn_close(u);
	cr_assert_eq(closed(pa), 1);
}

Test(upool, most_recently_used_first)
{
	int pa, pb, pc;
	struct uconn *a = conn(&pa), *b = conn(&pb), *c = conn(&pc), *u;
	ev_tstamp now = ev_now(w.loop);

	upool_put(a, 30.);
	upool_put(b, 30.);
	upool_put(c, 30.);
	cr_assert_eq(pool.nidle, 3);
	cr_assert_eq(pool.idle, c);
	cr_assert_eq(c->next, b);
	cr_assert_eq(b->next, a);
	cr_assert_eq(a->prev, b);
	cr_assert_null(a->next);

	u = upool_get(&pool, now);
	cr_assert_eq(u, c);
	cr_assert_eq(pool.nidle, 2);
	/* Given back, it is first again. */
	upool_put(u, 30.);
	cr_assert_eq(pool.idle, c);
	cr_assert_eq(upool_get(&pool, now), c);
	cr_assert_eq(upool_get(&pool, now), b);
	cr_assert_eq(pool.nidle, 1);
	cr_assert_eq(upool_get(&pool, now), a);
	cr_assert_eq(pool.nidle, 0);
	cr_assert_null(upool_get(&pool, now));
	uconn_close(a);
	uconn_close(b);
	uconn_close(c);
	cr_assert(closed(pa) && closed(pb) && closed(pc));
}

Test(upool, full_pool_closes_the_extra_one)
{
	int pa, pb, pc, pd;
	struct uconn *a = conn(&pa), *b = conn(&pb), *c = conn(&pc), *d = conn(&pd);

	upool_put(a, 30.);
	upool_put(b, 30.);
	upool_put(c, 30.);
	upool_put(d, 30.);
	cr_assert_eq(pool.nidle, 3);
	cr_assert_eq(pool.idle, c);
	cr_assert_eq(closed(pd), 1);
	cr_assert_eq(closed(pa) + closed(pb) + closed(pc), 0);
}

Test(upool, max_zero_keeps_nothing)
{
	int pa;
	struct uconn *a;

	upool_init(&pool, &src, 0, 0, 0);
	a = conn(&pa);
	upool_put(a, 30.);
	cr_assert_eq(pool.nidle, 0);
	cr_assert_null(pool.idle);
	cr_assert_eq(closed(pa), 1);
}

Test(upool, stale_keep_alive_skipped_and_closed)
{
	int pa, pb;
	struct uconn *a = conn(&pa), *b = conn(&pb);
	ev_tstamp now = ev_now(w.loop);

	a->expires = now + 100.;
	b->expires = now + 1.;
	upool_put(a, 30.);
	upool_put(b, 30.);
	cr_assert_eq(pool.nidle, 2);
	/* b is first, but within the half-second margin of its deadline. */
	cr_assert_eq(upool_get(&pool, now + 0.6), a);
	cr_assert_eq(pool.nidle, 0);
	cr_assert_eq(closed(pb), 1);
	cr_assert_eq(closed(pa), 0);
	uconn_close(a);
}

Test(upool, fresh_keep_alive_taken)
{
	int pa;
	struct uconn *a = conn(&pa);
	ev_tstamp now = ev_now(w.loop);

	a->expires = now + 1.;
	upool_put(a, 30.);
	cr_assert_eq(upool_get(&pool, now + 0.4), a);
	uconn_close(a);
}

Test(upool, all_stale_gives_null)
{
	int pa, pb;
	struct uconn *a = conn(&pa), *b = conn(&pb);
	ev_tstamp now = ev_now(w.loop);

	a->expires = now + 2.;
	b->expires = now + 3.;
	upool_put(a, 30.);
	upool_put(b, 30.);
	cr_assert_null(upool_get(&pool, now + 10.));
	cr_assert_eq(pool.nidle, 0);
	cr_assert_null(pool.idle);
	cr_assert(closed(pa) && closed(pb));
}

Test(upool, expired_keep_alive_not_parked)
{
	int pa;
	struct uconn *a = conn(&pa);

	a->expires = ev_now(w.loop) - 1.;
	upool_put(a, 30.);
	cr_assert_eq(pool.nidle, 0);
	cr_assert_eq(closed(pa), 1);
}

/* Within the margin of its deadline it could never be handed out: not parked. */
Test(upool, keep_alive_within_margin_not_parked)
{
	int pa;
	struct uconn *a = conn(&pa);

	a->expires = ev_now(w.loop) + 0.3;
	upool_put(a, 30.);
	cr_assert_eq(pool.nidle, 0);
	cr_assert_eq(closed(pa), 1);
}

Test(upool, keep_alive_shortens_the_idle_timer)
{
	int pa, pb;
	struct uconn *a = conn(&pa), *b = conn(&pb);

	a->expires = ev_now(w.loop) + 5.;
	upool_put(a, 30.);
	upool_put(b, 2.);
	cr_assert_leq(ev_timer_remaining(w.loop, &a->idle), 5.);
	cr_assert_gt(ev_timer_remaining(w.loop, &a->idle), 4.);
	cr_assert_leq(ev_timer_remaining(w.loop, &b->idle), 2.);
}

Test(upool, idle_timeout_closes)
{
	int pa, pb, i;
	struct uconn *a = conn(&pa), *b = conn(&pb);

	upool_put(a, 30.);
	upool_put(b, 0.02);
	for (i = 0; i < 50 && pool.nidle == 2; i++)
		ev_run(w.loop, EVRUN_ONCE);
	cr_assert_eq(pool.nidle, 1);
	cr_assert_eq(pool.idle, a);
	cr_assert_null(a->next);
	cr_assert_null(a->prev);
	cr_assert_eq(closed(pb), 1);
	cr_assert_eq(closed(pa), 0);
}

Test(upool, peer_close_ends_a_parked_connection)
{
	int pa, pb, pc;
	struct uconn *a = conn(&pa), *b = conn(&pb), *c = conn(&pc);

	upool_put(a, 30.);
	upool_put(b, 30.);
	upool_put(c, 30.);
	spin();
	cr_assert_eq(pool.nidle, 3);
	/* The middle one of the list. */
	close(pb);
	peers[1] = -1;
	spin();
	cr_assert_eq(pool.nidle, 2);
	cr_assert_eq(pool.idle, c);
	cr_assert_eq(c->next, a);
	cr_assert_eq(a->prev, c);
	cr_assert_eq(upool_get(&pool, ev_now(w.loop)), c);
	cr_assert_eq(upool_get(&pool, ev_now(w.loop)), a);
	uconn_close(a);
	uconn_close(c);
}

Test(upool, unsolicited_bytes_end_a_parked_connection)
{
	int pa;
	struct uconn *a = conn(&pa);

	upool_put(a, 30.);
	cr_assert_eq(send(pa, "HTTP/1.1 408", 12, 0), 12);
	spin();
	cr_assert_eq(pool.nidle, 0);
	cr_assert_eq(closed(pa), 1);
}

Test(upool, parked_watcher_reads_only)
{
	int pa;
	struct uconn *a = conn(&pa);

	/* It was waiting to write when the exchange ended. */
	ev_io_init(&a->io, NULL, a->fd, EV_READ | EV_WRITE);
	ev_io_start(w.loop, &a->io);
	upool_put(a, 30.);
	cr_assert(ev_is_active(&a->io));
	cr_assert_eq(a->io.events & (EV_READ | EV_WRITE), EV_READ);
	/* A writable socket does not end it. */
	spin();
	cr_assert_eq(pool.nidle, 1);
	cr_assert_eq(closed(pa), 0);
}

Test(upool, taken_connection_keeps_the_callers_callback)
{
	int pa;
	struct uconn *a = conn(&pa), *u;

	upool_put(a, 30.);
	u = upool_get(&pool, ev_now(w.loop));
	cr_assert_eq(u, a);
	ev_io_stop(w.loop, &u->io);	/* the caller takes over the watcher */
	close(pa);
	peers[0] = -1;
	spin();
	/* Nothing of the pool acts on it any more. */
	cr_assert_eq(u->magic, UCONN_MAGIC);
	cr_assert_eq(pool.nidle, 0);
	uconn_close(u);
}

Test(upool, flush_closes_everything)
{
	int pa, pb, pc;
	struct uconn *a = conn(&pa), *b = conn(&pb), *c = conn(&pc);

	upool_put(a, 30.);
	upool_put(b, 30.);
	upool_put(c, 30.);
	upool_flush(&pool);
	cr_assert_eq(pool.nidle, 0);
	cr_assert_null(pool.idle);
	cr_assert(closed(pa) && closed(pb) && closed(pc));
	/* No watcher of theirs is left in the loop. */
	spin();
	cr_assert_eq(ev_pending_count(w.loop), 0);
	upool_flush(&pool);
	cr_assert_eq(pool.nidle, 0);
}

/* The real constructor: a loopback connect, parked, then the source goes away. */
Test(upool, connected_uconn_parked_and_ended)
{
	struct addr_conf a;
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	struct uconn *u;
	int lfd, sfd, i;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_neq(lfd, -1);
	peers[npeer++] = lfd;
	cr_assert_eq(bind(lfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	cr_assert_eq(listen(lfd, 4), 0);
	cr_assert_eq(getsockname(lfd, (struct sockaddr *)&sin, &len), 0);
	memset(&a, 0, sizeof(a));
	memcpy(&a.ss, &sin, sizeof(sin));
	a.len = sizeof(sin);

	u = uconn_connect(&w, &pool, &a);
	cr_assert_not_null(u, "uconn_connect: %s", strerror(errno));
	sfd = accept(lfd, NULL, NULL);
	cr_assert_neq(sfd, -1);
	peers[npeer++] = sfd;
	cr_assert_eq(uconn_connect_result(u), 0);
	cr_assert_eq(u->pool, &pool);
	cr_assert_eq(u->w, &w);

	upool_put(u, 30.);
	spin();
	cr_assert_eq(pool.nidle, 1);
	shutdown(sfd, SHUT_WR);
	for (i = 0; i < 10 && pool.nidle > 0; i++)
		spin();
	cr_assert_eq(pool.nidle, 0);
	cr_assert_eq(closed(sfd), 1);
}

/*
 * Adaptive pool: everything that was busy at once is kept while the load
 * lasts (no close on return below reuse_limit); after it drops, the surplus
 * over the recent peak goes half at a time, least recently used first.
 */
Test(upool, adaptive_keeps_the_peak_then_retires_the_surplus)
{
	int p[10], i;
	struct uconn *u[10];

	upool_init(&pool, &src, 0, 8, 1);
	for (i = 0; i < 10; i++) {
		u[i] = conn(&p[i]);
		upool_inuse(&pool);
	}
	cr_assert_eq(pool.inuse, 10);
	cr_assert_eq(pool.peak[0], 10);
	upool_tick(&pool, 100.0, 30.0);	/* first window ends at 130, peak kept */
	cr_assert_eq(pool.peak[0], 10);
	cr_assert_eq(pool.peak[1], 0);
	for (i = 0; i < 10; i++) {
		upool_released(&pool);
		upool_put(u[i], 300.);
	}
	/* reuse_limit 8: two closed on return, eight kept although none is busy. */
	cr_assert_eq(pool.nidle, 8);
	cr_assert_eq(closed(p[8]) + closed(p[9]), 2);
	cr_assert_eq(pool.tail, u[0]);
	/* Within the window the peak (10) covers them: nothing retired. */
	upool_tick(&pool, 110.0, 30.0);
	cr_assert_eq(pool.nidle, 8);
	/* Next window: the previous peak still counts. */
	upool_tick(&pool, 131.0, 30.0);
	cr_assert_eq(pool.peak[1], 10);
	cr_assert_eq(pool.nidle, 8);
	/* Two windows without load: the peak is 0, half the surplus goes per tick, LRU first. */
	upool_tick(&pool, 162.0, 30.0);
	cr_assert_eq(pool.peak[0], 0);
	cr_assert_eq(pool.peak[1], 0);
	cr_assert_eq(pool.nidle, 4);
	cr_assert_eq(pool.retired, 4);
	cr_assert_eq(closed(p[0]) + closed(p[1]) + closed(p[2]) + closed(p[3]), 4);
	cr_assert_eq(closed(p[4]) + closed(p[5]) + closed(p[6]) + closed(p[7]), 0);
	upool_tick(&pool, 163.0, 30.0);
	cr_assert_eq(pool.nidle, 2);
	upool_tick(&pool, 164.0, 30.0);
	upool_tick(&pool, 165.0, 30.0);
	cr_assert_eq(pool.nidle, 0);
	cr_assert_null(pool.tail);
}

/* A fixed pool never retires on a tick. */
Test(upool, fixed_pool_ignores_ticks)
{
	int pa;
	struct uconn *a = conn(&pa);

	upool_put(a, 300.);
	upool_tick(&pool, 1000.0, 30.0);
	upool_tick(&pool, 2000.0, 30.0);
	cr_assert_eq(pool.nidle, 1);
	cr_assert_eq(closed(pa), 0);
}

/* The first tick (absolute ev_now time) must not take the first window for a gap. */
Test(upool, adaptive_first_tick_keeps_a_lone_connection)
{
	int pa;
	struct uconn *a = conn(&pa);

	upool_init(&pool, &src, 0, 8, 1);
	upool_inuse(&pool);
	upool_released(&pool);
	upool_put(a, 300.);
	upool_tick(&pool, 1.7e9, 30.0);
	upool_tick(&pool, 1.7e9 + 1, 30.0);
	cr_assert_eq(pool.nidle, 1);
	cr_assert_eq(closed(pa), 0);
}
