/*
 * Per-worker keep-alive pool of idle backend connections for one source of
 * one route: at most max idle, most recently used first, closed after
 * backend_idle or on any event while idle (the backend closed or sent junk).
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
	uint32_t		 max;		/* reuse_max */
	uint32_t		 nidle;
	struct uconn		*idle;		/* MRU first */
	uint64_t		 opened;	/* connections opened (for logs/tests) */
};

void	upool_init(struct upool *p, const struct source_conf *src, uint32_t src_idx, uint32_t max);

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
