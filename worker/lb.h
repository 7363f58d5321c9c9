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

struct route_rt;
struct shm_route;
struct worker;

#define LB_MAX_SOURCES	64	/* positions per route: the bits of a tried mask */

/* LB_F_*: what a balancer's pick reads beyond usable[] and weight[]. */
#define LB_F_ACTIVE	0x0001u	/* in->active: requests in flight, all workers */

/* Where one source stands for one request; lb_pick() reads it from shm. */
enum lb_cand {
	LB_C_NO = 0,		/* tried for this request, or down by the health checker */
	LB_C_YES,		/* usable */
	LB_C_PROBE,		/* passive mark expired: one probe request may go */
	LB_C_MARKED,		/* passively marked down */
	LB_C__COUNT
};

/*
 * One choice, as the shared code hands it to a balancer. Position i is
 * r->conf->sources[i]. Arrays have n entries; all are borrowed for the call.
 */
struct lb_in {
	struct route_rt		*r;		/* the route; balancer state lives in it */
	uint32_t		 n;		/* 1..LB_MAX_SOURCES */
	const uint32_t		*weight;	/* from the config, 1..256 */
	const uint8_t		*usable;	/* nonzero: may be chosen (lb_select() sets it) */
	const int64_t		*active;	/* only with LB_F_ACTIVE, else NULL */
	const struct sockaddr	*peer;		/* the client, for ip_hash; may be NULL */
	struct shm_route	*sr;		/* the route's slot: round-robin ticket */
	uint64_t		*rotor;		/* per worker: least_conn's rotating tie start */
};

/* Builds route r's balancer state for its n sources; 0, or -1 with ENOMEM. */
typedef int	lb_init_fn(struct route_rt *r, const char *const *names, const uint32_t *weights,
		    uint32_t n);
/* Returns a position whose usable[] is set, or -1 when it will not choose. */
typedef int	lb_pick_fn(struct lb_in *in);
/* Frees what init built and clears the pointers; safe to call twice. */
typedef void	lb_free_fn(struct route_rt *r);

/* One balancing algorithm: a const table in its own lb_*.c. */
struct lb_ops {
	const char	*name;		/* as written in the config */
	uint32_t	 flags;		/* LB_F_* */
	lb_init_fn	*init;		/* NULL: no per-route state */
	lb_pick_fn	*pick;
	lb_free_fn	*free;		/* NULL: nothing to free */
};

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
