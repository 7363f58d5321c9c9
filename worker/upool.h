/*
 * Per-worker keep-alive pool of idle backend connections for one source of
 * one route, most recently used first, closed after backend_idle or on any
 * event while idle (the backend closed or sent junk).
 *
 * Fixed (reuse_max = N): at most N idle; one more is closed on return.
 * Adaptive (reuse_max = "auto", the default): a returning connection is
 * parked unless reuse_limit are idle already, so a busy pool never closes
 * a connection it will want again (idle can never exceed the number that
 * were busy at once). The surplus over the recent peak of busy connections
 * (the larger of this and the previous window of backend_idle seconds) is
 * retired half at a time by upool_tick(), least recently used first.
 */
#ifndef SLUICE_UPOOL_H
#define SLUICE_UPOOL_H

#include <stdint.h>

#include <ev.h>

struct source_conf;
struct uconn;

struct upool {
	const struct source_conf *src;	/* borrowed from the conf */
	uint32_t		 src_idx;	/* index in conf->sources */
	uint32_t		 max;		/* reuse_max, or reuse_limit when adaptive */
	uint8_t			 adaptive;	/* reuse_max = "auto" */
	uint32_t		 nidle;
	uint32_t		 inuse;		/* handed to exchanges, not back yet */
	uint32_t		 peak[2];	/* most in use at once: this window, the last */
	ev_tstamp		 win_end;	/* end of the current window */
	struct uconn		*idle;		/* MRU first */
	struct uconn		*tail;		/* LRU: the first to retire */
	uint64_t		 opened;	/* connections opened (for logs/tests) */
	uint64_t		 retired;	/* idle ones closed as surplus */
	uint64_t		 stale;		/* idle ones closed: their address was replaced */
};

void	upool_init(struct upool *p, const struct source_conf *src, uint32_t src_idx, uint32_t max,
	    int adaptive);

/* A connection of p now serves an exchange (taken from the pool or new). */
void	upool_inuse(struct upool *p);

/* It no longer does (about to be parked or closed). */
void	upool_released(struct upool *p);

/*
 * Adaptive pools: closes half of the idle surplus over the recent peak
 * (window: the backend_idle timeout). Called about once a second.
 */
void	upool_tick(struct upool *p, ev_tstamp now, ev_tstamp window);

/*
 * Takes the most recently used idle connection that is still fresh, or NULL.
 * Its read watcher is still active (with the pool's callback): the caller
 * sets its own callback with ev_set_cb() before returning to the loop.
 */
struct uconn *upool_get(struct upool *p, ev_tstamp now);

/*
 * Parks u (which must be reusable) in its pool, or closes it if the pool is
 * full. idle_timeout: seconds before the parked connection is closed.
 */
void	upool_put(struct uconn *u, ev_tstamp idle_timeout);

/* Closes every idle connection (graceful stop). */
void	upool_flush(struct upool *p);

#endif
