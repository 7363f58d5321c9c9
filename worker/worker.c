/*
 * Worker process: libev loop, accept, signals (QUIT graceful, TERM/INT
 * fast, USR1 reopen logs), free lists.
 */
#include "worker/worker.h"

#include <errno.h>
#include <sys/random.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/log.h"
#include "common/pdeath.h"
#include "common/privdrop.h"
#include "common/rewrite.h"
#include "shm/shm.h"
#include "worker/cconn.h"
#include "worker/freelist.h"
#include "worker/lb.h"
#include "worker/queue.h"
#include "worker/route.h"
#include "worker/srcaddr.h"
#include "worker/uconn.h"
#include "worker/upool.h"

#define ACCEPT_BATCH	64	/* accepts per wakeup, so one listener cannot starve the rest */
#define ACCEPT_BACKOFF	0.5	/* seconds not accepting after running out of descriptors (nginx) */
#define MAXCONN_LOG_EVERY 10.0	/* seconds between two "max_connections reached" lines */

static void	accept_cb(struct ev_loop *loop, ev_io *io, int revents);
static void	accept_backoff(struct worker *w, uint32_t li, int err);
static void	backoff_cb(struct ev_loop *loop, ev_timer *t, int revents);
static void	maxconn_reached(struct worker *w);
static void	pool_tick_cb(struct ev_loop *loop, ev_timer *t, int revents);
static void	accepting(struct worker *w, int on);
static void	conn_closed(struct worker *w);
static void	sig_cb(struct ev_loop *loop, ev_signal *s, int revents);
static void	grace_cb(struct ev_loop *loop, ev_timer *t, int revents);
static void	start_drain(struct worker *w);
static void	drop_privileges(const char *user);

/*
 * `user`: the master keeps root (to bind new ports on reload); a worker
 * gives it up for good once its sockets, segment and logs are open.
 */
static void
drop_privileges(const char *user)
{
	char err[256];

	if (privdrop_user(user, err, sizeof(err)) == -1)
		fatalx("%s", err);
}
static void	beat_cb(struct ev_loop *loop, ev_timer *t, int revents);

/* Liveness for sluice-stat and the master: once a second. */
static void
beat_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct worker *w = (struct worker *)((char *)t - offsetof(struct worker, beat));

	(void)loop;
	(void)revents;
	atomic_store_explicit(&shm_worker(w->ho->shm, w->ho->shm_slot)->heartbeat_ms, shm_now_ms(),
	    memory_order_relaxed);
}

static struct worker	the_worker;

/*
 * Starts or stops the listener watchers. Stopping always works. Starting
 * works only when nothing else holds them stopped: a graceful stop (for
 * good), max_connections (until a connection closes) or an accept back-off
 * (until its timer fires or a connection closes); whoever lifts a hold
 * calls this again, so one hold never undoes another.
 */
static void
accepting(struct worker *w, int on)
{
	uint32_t i;

	if (on && (w->draining || w->nconns >= w->conf->limits.max_connections ||
	    ev_is_active(&w->acc_backoff)))
		on = 0;
	if (w->accepting == on)
		return;
	for (i = 0; i < w->ho->nlisten; i++) {
		if (on)
			ev_io_start(w->loop, &w->acc[i]);
		else
			ev_io_stop(w->loop, &w->acc[i]);
	}
	w->accepting = on;
}

/*
 * No descriptor or no memory for a new connection (listener li, errno err).
 * The connection stays queued, so accepting again at once would fail the
 * same way in a busy loop (issue 10): stop every listener of this worker for
 * ACCEPT_BACKOFF instead, serving the connections already open meanwhile.
 * One warning per ACCEPT_BACKOFF at most; the rest are counted into it.
 */
static void
accept_backoff(struct worker *w, uint32_t li, int err)
{
	struct shm_worker *sw = shm_worker(w->ho->shm, w->ho->shm_slot);
	ev_tstamp now = ev_now(w->loop);

	shm_add(&sw->accept_emfile, 1);
	shm_add(&sw->accept_pauses, 1);
	ev_timer_stop(w->loop, &w->acc_backoff);
	ev_timer_init(&w->acc_backoff, backoff_cb, ACCEPT_BACKOFF, 0.);
	ev_timer_start(w->loop, &w->acc_backoff);
	accepting(w, 0);
	if (now - w->acc_warned < ACCEPT_BACKOFF) {
		w->acc_suppressed++;
		return;
	}
	log_warnx("listener %s: cannot accept connections: %s; pausing for %.0f ms with %u "
	    "client connection(s) open, %llu failure(s) suppressed since the last warning",
	    w->conf->listeners[li].addr.text, strerror(err), ACCEPT_BACKOFF * 1000., w->nconns,
	    (unsigned long long)w->acc_suppressed);
	w->acc_warned = now;
	w->acc_suppressed = 0;
}

/*
 * max_connections reached: the operator hears of it, once per
 * MAXCONN_LOG_EVERY at most, with how often it happened in between.
 */
static void
maxconn_reached(struct worker *w)
{
	ev_tstamp now = ev_now(w->loop);

	if (w->mc_warned != 0 && now - w->mc_warned < MAXCONN_LOG_EVERY) {
		w->mc_suppressed++;
		return;
	}
	log_warnx("max_connections (%u) reached: not accepting until a client connection "
	    "closes; reached %llu more time(s) since the last warning",
	    w->conf->limits.max_connections, (unsigned long long)w->mc_suppressed);
	w->mc_warned = now;
	w->mc_suppressed = 0;
}

/* Once a second: adaptive pools retire part of their surplus (upool.h). */
static void
pool_tick_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct worker *w = (struct worker *)((char *)t - offsetof(struct worker, pool_tick));
	ev_tstamp now = ev_now(loop);
	uint32_t i, j;

	(void)revents;
	for (i = 0; i < w->conf->nroutes; i++)
		for (j = 0; j < w->conf->routes[i].nsources; j++)
			upool_tick(&w->routes[i].pools[j], now,
			    w->conf->routes[i].timeouts.backend_idle);
	queue_check(w);
}

/* The back-off is over: accept again unless another hold is still on. */
static void
backoff_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct worker *w = (struct worker *)((char *)t - offsetof(struct worker, acc_backoff));

	(void)loop;
	(void)revents;
	accepting(w, 1);
}

static void
accept_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	struct worker *w = &the_worker;
	uint32_t li = (uint32_t)(io - w->acc);
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, n, one = 1;

	(void)loop;
	(void)revents;
	for (n = 0; n < ACCEPT_BATCH; n++) {
		if (w->nconns >= w->conf->limits.max_connections) {
			/* Full: pause; conn_closed() resumes. */
			maxconn_reached(w);
			accepting(w, 0);
			return;
		}
		len = sizeof(ss);
		fd = accept4(io->fd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			int err = errno;

			if (err == EINTR || err == ECONNABORTED)
				continue;
			if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM)
				accept_backoff(w, li, err);
			else if (err != EAGAIN && err != EWOULDBLOCK)
				log_warnx("listener %s: cannot accept a connection: %s",
				    w->conf->listeners[li].addr.text, strerror(err));
			return;
		}
		if (ss.ss_family == AF_INET || ss.ss_family == AF_INET6)
			(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		shm_add(&shm_worker(w->ho->shm, w->ho->shm_slot)->conns_total, 1);
		if (cconn_accept(w, fd, &ss, w->conf->listeners[li].proxy_protocol,
		    w->conf->listeners[li].tls.srv) == -1) {
			close(fd);
			accept_backoff(w, li, ENOMEM);
			return;
		}
	}
}

/* w->conn_closed: a client connection closed (accounting, drain completion). */
static void
conn_closed(struct worker *w)
{
	w->nconns--;
	if (w->draining) {
		if (w->nconns == 0)
			ev_break(w->loop, EVBREAK_ALL);
		return;
	}
	/* A descriptor just came free: no need to sit out the whole back-off. */
	ev_timer_stop(w->loop, &w->acc_backoff);
	accepting(w, 1);
}

static void
start_drain(struct worker *w)
{
	struct cconn *c, *next;
	uint32_t i, j;

	if (w->draining)
		return;
	w->draining = 1;
	atomic_store_explicit(&shm_worker(w->ho->shm, w->ho->shm_slot)->state, SHM_W_DRAINING,
	    memory_order_relaxed);
	accepting(w, 0);
	/* Listeners belong to the master: closing ours stops the kernel waking us. */
	for (i = 0; i < w->ho->nlisten; i++)
		close(w->ho->listen_fd[i]);
	for (i = 0; i < w->conf->nroutes; i++)
		for (j = 0; j < w->conf->routes[i].nsources; j++)
			upool_flush(&w->routes[i].pools[j]);
	for (c = w->conns; c != NULL; c = next) {
		next = c->next;
		cconn_drain(c);
	}
	if (w->nconns == 0) {
		ev_break(w->loop, EVBREAK_ALL);
		return;
	}
	ev_timer_init(&w->grace, grace_cb, w->conf->timeouts.graceful, 0.);
	ev_timer_start(w->loop, &w->grace);
}

static void
grace_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)t;
	(void)revents;
	log_warnx("graceful stop: %u connection(s) still open after %.0fs, closing",
	    the_worker.nconns, the_worker.conf->timeouts.graceful);
	ev_break(loop, EVBREAK_ALL);
}

static void
sig_cb(struct ev_loop *loop, ev_signal *s, int revents)
{
	struct worker *w = &the_worker;

	(void)revents;
	switch (s->signum) {
	case SIGQUIT:
		log_info("graceful stop: %u connection(s) open", w->nconns);
		start_drain(w);
		break;
	case SIGTERM:
	case SIGINT:
		ev_break(loop, EVBREAK_ALL);
		break;
	case SIGUSR1:
		if (log_reopen() == -1)
			log_warn("%s: reopening the error log", __func__);
		if (alog_reopen(&w->alog) == -1)
			log_warn("%s: reopening the access log %s", __func__, w->alog.path);
		break;
	default:
		break;	/* SIGHUP: the master handles reloads */
	}
}

void
worker_main(const struct handoff *ho)
{
	static char role[32];
	struct worker *w = &the_worker;
	const struct conf *c = ho->conf;
	sigset_t none;
	uint32_t i;

	snprintf(role, sizeof(role), "worker %u", ho->worker_idx);
	log_role(role);
	memset(w, 0, sizeof(*w));
	w->conf = c;
	w->ho = ho;
	w->loop = ev_default_loop(EVFLAG_AUTO | EVFLAG_NOENV);
	if (w->loop == NULL)
		fatalx("%s: cannot create the event loop", __func__);
	w->bufsize = c->limits.max_header_size + 1024;
	if (w->bufsize < 16384)
		w->bufsize = 16384;
	w->fl_buf = (struct freelist){ .size = w->bufsize, .max_free = 1024 };
	w->fl_cconn = (struct freelist){ .size = sizeof(struct cconn), .max_free = 65536 };
	w->fl_uconn = (struct freelist){ .size = sizeof(struct uconn), .max_free = 65536 };
	w->fl_exch = (struct freelist){ .size = cconn_exch_size(c), .max_free = 1024 };
	w->conn_closed = conn_closed;
	/* Request ids: unpredictable across workers and restarts, cheap per request. */
	if (getrandom(w->rid_s, sizeof(w->rid_s), 0) != (ssize_t)sizeof(w->rid_s) ||
	    (w->rid_s[0] | w->rid_s[1]) == 0)
		fatalx("%s: no random seed for request ids", __func__);
	w->rwctx = rewrite_ctx_new();
	if (w->rwctx == NULL || route_init(c, &w->routes) == -1 || lb_init(w) == -1 ||
	    srcaddr_init(w) == -1 || queue_init(w) == -1)
		fatalx("%s: out of memory", __func__);
	for (i = 0; i < ho->nlisten; i++)
		ev_io_init(&w->acc[i], accept_cb, ho->listen_fd[i], EV_READ);
	ev_signal_init(&w->sig_quit, sig_cb, SIGQUIT);
	ev_signal_init(&w->sig_term, sig_cb, SIGTERM);
	ev_signal_init(&w->sig_int, sig_cb, SIGINT);
	ev_signal_init(&w->sig_usr1, sig_cb, SIGUSR1);
	ev_signal_init(&w->sig_hup, sig_cb, SIGHUP);
	ev_signal_start(w->loop, &w->sig_quit);
	ev_signal_start(w->loop, &w->sig_term);
	ev_signal_start(w->loop, &w->sig_int);
	ev_signal_start(w->loop, &w->sig_usr1);
	ev_signal_start(w->loop, &w->sig_hup);
	/* The master blocked these around fork; libev's handlers take over now. */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_IGN);
	shm_worker_claim(ho->shm, ho->shm_slot, (int32_t)getpid(), ho->generation);
	ev_timer_init(&w->pool_tick, pool_tick_cb, 1., 1.);
	ev_timer_start(w->loop, &w->pool_tick);
	ev_unref(w->loop);	/* no reason on its own to keep the loop running */
	ev_timer_init(&w->beat, beat_cb, 0., 1.);
	ev_timer_again(w->loop, &w->beat);
	ev_unref(w->loop);	/* the heartbeat alone does not keep the loop running */
	if (alog_open(&w->alog, w->loop, c->log.access) == -1)
		log_warn("cannot open access log %s; access logging is off", c->log.access);
	if (c->user[0] != '\0' && getuid() == 0) {
		drop_privileges(c->user);
		/* The uid change cleared the master-death signal spawn_one() set. */
		if (pdeath_arm(atomic_load_explicit(&ho->shm->hdr->master_pid,
		    memory_order_relaxed), SIGQUIT) == -1)
			log_warn("cannot ask for a signal at the master's death");
	}
	accepting(w, 1);
	log_debug("started, backend %s", ev_backend(w->loop) == EVBACKEND_EPOLL ? "epoll" : "other");
	ev_run(w->loop, 0);
	alog_close(&w->alog, w->loop);
	log_debug("exiting");
	exit(0);
}
