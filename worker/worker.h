/*
 * A worker process: one libev loop serving client connections on the
 * listeners inherited from the master.
 */
#ifndef SLUICE_WORKER_H
#define SLUICE_WORKER_H

#include <stdint.h>

#include <ev.h>

#include "common/conf.h"
#include "common/handoff.h"
#include "worker/alog.h"

struct cconn;
struct rewrite_ctx;
struct route_rt;

/* Fixed-size object free list: no malloc per request in steady state. */
struct freelist {
	void	*head;
	size_t	 size;		/* object size, >= sizeof(void *) */
	uint32_t nfree;
	uint32_t max_free;	/* objects beyond this go back to malloc */
};

struct worker {
	struct ev_loop		*loop;
	const struct conf	*conf;
	const struct handoff	*ho;
	ev_io			 acc[HANDOFF_MAX_LISTEN];
	ev_signal		 sig_quit, sig_term, sig_int, sig_usr1, sig_hup;
	ev_timer		 grace;		/* graceful stop deadline */
	ev_timer		 beat;		/* shm heartbeat */
	ev_timer		 acc_backoff;	/* active: accept paused, out of descriptors */
	ev_tstamp		 acc_warned;	/* when that was last logged */
	uint64_t		 acc_suppressed;	/* back-offs not logged since then */
	int			 accepting;	/* listener watchers active */
	int			 draining;	/* graceful stop in progress */
	uint32_t		 nconns;	/* client connections open */
	uint64_t		 next_id;	/* connection ids for logs */
	struct cconn		*conns;		/* every open client connection */
	struct route_rt		*routes;	/* parallel to conf->routes */
	uint64_t		 lc_rotor;	/* least_conn: rotating start for ties */
	uint32_t		 bufsize;	/* size of every I/O buffer */
	struct rewrite_ctx	*rwctx;		/* reused match state for rewrite rules */
	struct alog		 alog;		/* access log */
	struct freelist		 fl_buf, fl_cconn, fl_uconn, fl_exch;
};

/* Worker process entry point, after fork; never returns. */
_Noreturn void	worker_main(const struct handoff *ho);

void	*freelist_get(struct freelist *fl);	/* NULL on ENOMEM */
void	 freelist_put(struct freelist *fl, void *p);	/* accepts NULL */

/* Called by cconn when a connection closes: accounting, drain completion. */
void	 worker_conn_closed(struct worker *w);

#endif
