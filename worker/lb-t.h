/*
 * Balancing types (HAProxy's -t.h split): what an algorithm in lb_*.c is
 * handed and the table it fills in, apart from lb.h's functions, so the
 * algorithms and lb.c, which calls them, do not include each other.
 */
#ifndef SLUICE_LB_T_H
#define SLUICE_LB_T_H

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

#endif
