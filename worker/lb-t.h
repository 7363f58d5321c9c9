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

/*
 * Slow start (sources[].slow_start): a source back up after being down
 * ramps its share of its weight from LB_SHARE_MIN to LB_SHARE_ONE, linearly
 * over slow_start seconds (lb_share()). Shares are per mille.
 */
#define LB_SHARE_ONE	1000u	/* the full weight */
#define LB_SHARE_MIN	50u	/* 5 %, where a ramp starts (HAProxy: ~6 %, nginx: 0) */

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
	/*
	 * Effective weights: the config's (1..256) when share is NULL; during a
	 * slow start the config's times share[i] (so in another unit: only
	 * their ratios mean anything).
	 */
	const uint32_t		*weight;
	/*
	 * NULL: no usable source is in a slow start (the common case). Else the
	 * share of its weight each source has, LB_SHARE_MIN..LB_SHARE_ONE
	 * (LB_SHARE_ONE: not ramping), for balancers that act on the share
	 * itself (ip_hash, failover, least_conn's ties).
	 */
	const uint32_t		*share;
	uint64_t		 now_ms;	/* shm_now_ms() of the pick; round_robin's rebuilds */
	const uint8_t		*usable;	/* nonzero: may be chosen (lb_select() sets it) */
	const int64_t		*active;	/* only with LB_F_ACTIVE, else NULL */
	const struct sockaddr	*peer;		/* the client, for ip_hash; may be NULL */
	struct shm_route	*sr;		/* the route's slot: round-robin ticket */
	uint64_t		*rotor;		/* per worker: least_conn's rotating tie start,
						 * and the draws of slow start (lb_draw()) */
};

/*
 * Slow start's draw number seq: a value in 0..LB_SHARE_ONE-1 from the
 * golden-ratio sequence frac(seq * 0.618...), whose values spread evenly
 * over any run of seq, so "draw < share" holds for a share/LB_SHARE_ONE
 * fraction of consecutive seqs, with no lumps and no state but seq.
 */
static inline uint32_t
lb_draw(uint64_t seq)
{
	uint64_t f = seq * UINT64_C(0x9e3779b97f4a7c15);	/* 2^64 / golden ratio */

	return (uint32_t)((f >> 32) * LB_SHARE_ONE >> 32);
}

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
