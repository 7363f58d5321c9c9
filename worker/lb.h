/*
 * Balancing across all workers through the shared segment: a route's
 * balancer picks among its usable sources (passive marks and the health
 * checker's state live in shm, so every worker agrees), backups only when
 * no primary is usable. The algorithms' math is in lb_sched.c.
 */
#ifndef SLUICE_LB_H
#define SLUICE_LB_H

#include <stdint.h>
#include <sys/socket.h>

struct route_rt;
struct worker;

/*
 * Returns the position (index into route->conf->sources) of the source for
 * this request, skipping positions in tried (bit i = position i); -1 when
 * no source may be tried. peer feeds ip_hash. *probe is set when the pick is
 * the one probe request of a source whose passive mark expired.
 */
int	lb_pick(struct worker *w, struct route_rt *r, const struct sockaddr *peer,
	    uint64_t tried, int *probe);

/* Prepares per-route balancer state (ip_hash rings); 0 or -1 (ENOMEM). */
int	lb_init(struct worker *w);

/*
 * Passive health: a failure (reason: enum shm_reason) or a good response of
 * source idx; a good answer to a probe clears any mark, Retry-After included.
 */
void	lb_failed(struct worker *w, uint32_t src_idx, uint32_t reason);
void	lb_ok(struct worker *w, uint32_t src_idx, int probe);
/* A 503/429 with Retry-After: take source idx out for seconds (capped). */
void	lb_retry_after(struct worker *w, uint32_t src_idx, uint32_t seconds);

#endif
