/*
 * The max_conns queue (issue 14): a request whose route has no source with
 * a free connection slot waits, FIFO per route, for at most queue_timeout.
 */
#ifndef SLUICE_QUEUE_H
#define SLUICE_QUEUE_H

#include <stdint.h>

struct worker;

/* Per worker: the waiter counts, the wake-up eventfd watcher, the retry
 * timer. 0, or -1 with ENOMEM. */
int		queue_init(struct worker *w);

/* A connection holding a slot of conf source src_idx closed (the uconn
 * module reaches it through w->slot_freed, set by queue_init). */
void		queue_slot_freed(struct worker *w, uint32_t src_idx);

/*
 * Woken, the retry timer, or the pool tick: each route's oldest waiter here
 * tries again, and idle connections to a source that others wait for (and
 * no one here) go.
 */
void		queue_check(struct worker *w);

#endif
