/*
 * The max_conns queue (issue 14): a request whose route has no source with
 * a free connection slot waits, FIFO per route, for at most queue_timeout.
 */
#ifndef SLUICE_QUEUE_H
#define SLUICE_QUEUE_H

#include <stdint.h>

#include "worker/exch.h"

struct cconn;
struct upool;
struct worker;

/* Per worker: the waiter counts, the wake-up eventfd watcher, the retry
 * timer. 0, or -1 with ENOMEM. */
int		queue_init(struct worker *w);
void		queue_free(struct worker *w);

/*
 * c's request found the route positions in full (a bit per position, not
 * empty) without a free slot and nothing else to try: it waits (or, already
 * waiting, waits on with full as its new set).
 */
enum step	queue_wait(struct cconn *c, uint64_t full);

/* c is waiting: try again if it was woken, else go on waiting. */
enum step	queue_step(struct cconn *c);

/* c stops waiting: it got a connection (timed_out 0) or queue_timeout
 * passed (1); also called when c closes while waiting (2). */
void		queue_leave(struct cconn *c, int why);

/* queue_timeout passed: 503 with Retry-After, end cause W. */
enum step	queue_expired(struct cconn *c);

/*
 * Should a connection to p's source that just finished an exchange go back
 * to p? 1: keep it (no one waits, or this worker's waiter is the oldest:
 * it is woken to take it); 0: close it, another worker's waiter is older
 * (the close frees the slot and wakes that worker).
 */
int		queue_keep(struct worker *w, const struct upool *p);

/* A connection holding a slot of conf source src_idx closed. */
void		queue_slot_freed(struct worker *w, uint32_t src_idx);

/* The pool tick: idle connections to a source others wait for go, and
 * this worker's waiters try again. */
void		queue_check(struct worker *w);

/* Source at shm slot sslot: does anyone in the cluster wait for it? */
int		queue_others_wait(const struct worker *w, uint32_t sslot);

#endif
