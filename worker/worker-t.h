/*
 * The worker's state as the modules of worker/ see it (HAProxy's -t.h
 * split): types only, so the client side, the pool and the balancers read
 * it without depending on worker.c, which drives them.
 */
#ifndef SLUICE_WORKER_T_H
#define SLUICE_WORKER_T_H

#include <stdint.h>

#include <ev.h>

#include "common/conf.h"
#include "common/handoff.h"
#include "worker/alog.h"
#include "worker/freelist.h"

struct cconn;
struct rewrite_ctx;
struct route_rt;

struct worker {
	struct ev_loop		*loop;
	const struct conf	*conf;
	const struct handoff	*ho;
	ev_io			 acc[HANDOFF_MAX_LISTEN];
	ev_signal		 sig_quit, sig_term, sig_int, sig_usr1, sig_hup;
	ev_timer		 grace;		/* graceful stop deadline */
	ev_timer		 beat;		/* shm heartbeat */
	ev_timer		 pool_tick;	/* adaptive pools retire their surplus */
	ev_timer		 acc_backoff;	/* active: accept paused, out of descriptors */
	ev_tstamp		 acc_warned;	/* when that was last logged */
	uint64_t		 acc_suppressed;	/* back-offs not logged since then */
	ev_tstamp		 mc_warned;	/* max_connections reached: last logged */
	uint64_t		 mc_suppressed;	/* times reached since then, not logged */
	int			 accepting;	/* listener watchers active */
	int			 draining;	/* graceful stop in progress */
	uint32_t		 nconns;	/* client connections open */
	uint64_t		 next_id;	/* connection ids for logs */
	struct cconn		*conns;		/* every open client connection */
	struct route_rt		*routes;	/* parallel to conf->routes */
	uint64_t		 lc_rotor;	/* least_conn: rotating start for ties */
	uint64_t		 rid_s[2];	/* request ids: xorshift128+ seeded by getrandom */
	uint32_t		 bufsize;	/* size of every I/O buffer */
	struct rewrite_ctx	*rwctx;		/* reused match state for rewrite rules */
	struct srcaddr		*sa;		/* per source: resolved address (srcaddr.c) */
	ev_io			 q_wake;	/* max_conns queue: our eventfd, a slot freed */
	ev_timer		 q_retry;	/* while requests wait: retry the heads */
	uint32_t		*lq;		/* per conf source: requests here waiting for it */
	uint32_t		 nqueued;	/* requests here waiting, all routes */
	struct alog		 alog;		/* access log */
	struct freelist		 fl_buf, fl_cconn, fl_uconn, fl_exch;
	void			(*conn_closed)(struct worker *w);	/* a client connection
							 * closed: accounting, drain */
	void			(*slot_freed)(struct worker *w, uint32_t src_idx);	/* a
							 * max_conns slot was given back (queue.c) */
};

#endif
