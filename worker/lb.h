/*
 * Balancing: the entry points the client side calls, and the table each
 * algorithm fills in (HAProxy's lb_*.c, nginx's peer get/free). lb.c keeps
 * what every algorithm shares, the usable set (health checker, passive marks,
 * probes, backups), and lb_rr.c, lb_leastconn.c, lb_iphash.c, lb_failover.c
 * each choose within it. State is in shm, so all workers act as one.
 */
#ifndef SLUICE_LB_H
#define SLUICE_LB_H

#include <stdint.h>
#include <sys/socket.h>

#include "worker/lb-t.h"

struct route_rt;
struct worker;

/* The table for enum balancer (common/conf.h); round_robin if out of range. */
const struct lb_ops *lb_ops_of(uint32_t balancer);

/*
 * The choice every balancer shares, over cand[] (n = in->n) and backup[]
 * (nonzero: a backup source): ops chooses among the usable primaries; if
 * there are none or it declines, among the usable backups; if none of those
 * either, the first source that is only passively marked down is tried
 * anyway rather than fail for sure (nginx ignores max_fails for a lone
 * server). LB_C_PROBE counts as unusable here: lb_pick() sends probes first.
 * Returns a position or -1. in->usable is set during the call only.
 */
int	lb_select(const struct lb_ops *ops, struct lb_in *in, const enum lb_cand *cand,
	    const uint8_t *backup);

/*
 * Returns the position (index into route->conf->sources) of the source for
 * this request, skipping positions in tried (bit i = position i); -1 when
 * no source may be tried. peer feeds ip_hash. *probe is set when the pick is
 * the one probe request of a source whose passive mark expired.
 */
int	lb_pick(struct worker *w, struct route_rt *r, const struct sockaddr *peer,
	    uint64_t tried, int *probe);

/*
 * Slow start: the share of its weight (LB_SHARE_MIN..LB_SHARE_ONE per mille)
 * a source has at now_ms when it came back up at start_ms (0: never down)
 * and ramps over slow_start seconds (<= 0: off). Linear in the time since
 * start_ms, rounded up, never below LB_SHARE_MIN; LB_SHARE_ONE once the
 * ramp is over or when there is none. Start-up is no recovery.
 */
uint32_t	lb_share(uint64_t now_ms, uint64_t start_ms, double slow_start);

/* Prepares every route's balancer state (schedules, rings); 0 or -1 (ENOMEM). */
int	lb_init(struct worker *w);

/* Frees route r's balancer state (what lb_init() built); accepts NULL. */
void	lb_route_free(struct route_rt *r);

/*
 * Passive health: a failure (reason: enum shm_reason) or a good response of
 * source idx; a good answer to a probe clears any mark, Retry-After included.
 */
void	lb_failed(struct worker *w, uint32_t src_idx, uint32_t reason);
void	lb_ok(struct worker *w, uint32_t src_idx, int probe);
/* A 503/429 with Retry-After: take source idx out for seconds (capped). */
void	lb_retry_after(struct worker *w, uint32_t src_idx, uint32_t seconds);

#endif
