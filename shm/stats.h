/*
 * Reader side of the segment: sums the per-worker slots into plain structs
 * (totals, per worker, per source with latency percentiles, per route with
 * its max_conns queue) and derives rates from two snapshots. Used by
 * sluice-stat; no allocation here.
 */
#ifndef SLUICE_STATS_H
#define SLUICE_STATS_H

#include <stdint.h>

#include "shm/layout.h"

#define STATS_STALL_MS	2000	/* a worker whose heartbeat is older is "stalled" */

struct shm_seg;

struct stats_totals {
	uint64_t	requests;
	int64_t		conns_open;
	uint64_t	conns_total;
	uint64_t	bytes_in;	/* from clients */
	uint64_t	bytes_out;	/* to clients */
	uint64_t	resp[5];	/* 1xx .. 5xx */
	uint64_t	errors;
	uint64_t	accept_emfile, accept_pauses, regex_aborts, local_errors, loops;
	uint64_t	tls_full, tls_resumed, tls_failed;
	uint64_t	rl_evictions;
	uint64_t	ends[SHM_END__COUNT];	/* exchanges by how they ended */
	int64_t		active;		/* requests in flight to sources, all sources */
	uint32_t	workers_running;	/* slots held by a process, stalled or not */
	uint32_t	workers_stalled;
	double		req_s;		/* -1 until stats_rates() */
};

/*
 * A worker row: what the process now in the slot did. conns_total, requests,
 * bytes, resp and errors count from when it took the slot (counter - base);
 * the guard counters (accept_emfile .. loops) have no base in the layout and
 * stay per slot, earlier occupants included. The totals sum raw counters.
 */
struct stats_worker {
	uint32_t	idx;
	int32_t		pid;
	uint32_t	state;		/* enum shm_worker_state */
	int		stalled;	/* held, but no heartbeat for STATS_STALL_MS */
	uint64_t	heartbeat_ms;
	uint64_t	started_ms;
	int64_t		conns_open;
	uint64_t	conns_total;
	uint64_t	requests;
	uint64_t	bytes_in;
	uint64_t	bytes_out;
	uint64_t	resp[5];
	uint64_t	errors;
	uint64_t	accept_emfile, accept_pauses, regex_aborts, local_errors, loops;
	uint64_t	tls_full, tls_resumed, tls_failed;	/* per slot, like the guards */
	uint64_t	rl_evictions;			/* per slot */
	uint64_t	ends[SHM_END__COUNT];	/* exchanges by how they ended */
	uint64_t	conf_gen;
	uint64_t	spawns;
	double		req_s;		/* -1 until stats_rates() */
};

struct stats_source {
	uint32_t	slot;
	char		name[SHM_NAME_LEN];
	char		addr[SHM_ADDR_LEN];
	uint32_t	weight;
	int		backup;
	int		live;		/* in the current configuration */
	int		up;		/* not down by checker, Retry-After or passive mark */
	uint32_t	reason;		/* enum shm_reason when down, else SHM_R_NONE */
	struct {
		uint32_t	state, reason, fails, oks, status;
		uint64_t	since_ms, down_until_ms, checks;
	}		health;		/* the checker's record */
	uint32_t	down_until_s;	/* passive mark, 0 = none */
	int64_t		active;		/* global count, clamped at 0 */
	uint64_t	requests;
	uint64_t	resp[5];
	uint64_t	failures;
	uint64_t	retries;
	uint64_t	ends[SHM_END__COUNT];	/* exchanges that used it, by cause */
	uint64_t	bytes_in;	/* from the source */
	uint64_t	bytes_out;	/* to the source */
	uint64_t	lat_sum_us;
	uint64_t	lat_count;	/* responses in the histogram */
	uint64_t	hist[SHM_HIST_BUCKETS];
	double		p50_us, p90_us, p99_us;	/* 0 when no response yet */
	double		req_s;		/* -1 until stats_rates() */
	/* max_conns (4.0): the global counts, written for every source */
	int64_t		conns;		/* connections open to it, all workers, clamped at 0 */
	uint32_t	max_conns;	/* 0 = no limit */
	int64_t		queued;		/* requests waiting that it could take, clamped at 0 */
	uint64_t	conns_total;	/* connections ever opened to it */
};

/*
 * A route of the current configuration (4.0) with its max_conns queue,
 * summed over every worker slot's row (shm_wroute), reaped ones included,
 * of its slot and of the other half's slot with the same host, path and
 * kind if there is one (the same route in the previous generation: its
 * draining workers' waiters, and the counts from before the last reload).
 * A wait "ended" when its request left the queue: served, answered 503 at
 * queue_timeout, or its client gone. Ended waits are counted as q_total -
 * queued per worker row, which is exact for a live worker (up to the instant
 * between its two stores) and counts the waits a killed worker took with it
 * as ended with no time (the master zeroes its queued, its q_wait_us never
 * got them): the average can then read a little low.
 */
struct stats_route {
	uint32_t	slot;		/* route slot in the segment */
	char		host[SHM_HOST_LEN];
	char		path[SHM_PATH_LEN];	/* prefix, or the regex when regex */
	int		regex;		/* path is a path_regex (SHM_RT_F_REGEX) */
	uint32_t	balancer;	/* enum shm_lb */
	uint32_t	nsources;	/* 0: a handler route (metrics, status) */
	int		shadowed;	/* an earlier route has the same host, path and
					 * kind: first match wins, so it never matches */
	int64_t		queued;		/* requests waiting now, clamped at 0 */
	uint64_t	q_total;	/* requests that had to wait */
	uint64_t	q_timeouts;	/* of them, answered 503 after queue_timeout */
	uint64_t	q_ended;	/* waits that ended (see above) */
	uint64_t	q_wait_us;	/* sum of the waits that ended */
	uint64_t	q_wait_max_us;	/* the longest, over all workers */
	double		q_wait_avg_us;	/* q_wait_us / q_ended; 0 when none ended */
};

/*
 * One snapshot. The caller points workers/sources/routes at arrays of
 * wcap/scap/rcap entries (sized from seg->max_workers / max_sources /
 * max_routes to list everything); worker and source rows past the capacity
 * still count in the totals. routes may stay NULL: no route is listed.
 */
struct stats_snap {
	uint64_t		 taken_ms;	/* CLOCK_MONOTONIC */
	int32_t			 master_pid;
	int			 master_alive;
	uint32_t		 ver_major, ver_minor;
	uint32_t		 conf_gen;
	uint32_t		 nworkers;	/* configured */
	uint64_t		 start_time;	/* unix seconds */
	uint64_t		 start_ms;
	uint32_t		 flags;		/* SHM_HDR_F_* */
	int			 torn;		/* tables kept changing: best effort */
	struct stats_totals	 tot;
	struct stats_worker	*workers;
	uint32_t		 wcap;
	uint32_t		 nw;		/* rows filled */
	struct stats_source	*sources;
	uint32_t		 scap;
	uint32_t		 ns;		/* rows filled: bound slots, live or not */
	struct stats_route	*routes;
	uint32_t		 rcap;
	uint32_t		 nr;		/* rows filled: the current generation's routes */
	/* NULL after stats_take(); the caller may then point it at a snapshot
	 * of the old master's segment (<name>.oldbin) during a binary upgrade. */
	const struct stats_snap	*oldbin;
};

/*
 * Reads seg into snap (its arrays and capacities set by the caller). Lists
 * worker slots that are configured, occupied or have counted anything,
 * every bound source slot, and the routes of the current configuration:
 * the used slots of the half of the route table that generation hdr.conf_gen
 * was published to (slots (conf_gen % 2) * (max_routes / 2) onwards; the
 * whole table if it has a single slot), in slot order. Retries while the master is editing the tables
 * (hdr.gen); if that never settles (a master killed mid-reload) the result
 * is filled anyway with snap->torn = 1. Returns 0.
 */
int	stats_take(const struct shm_seg *seg, struct stats_snap *snap);

/*
 * Sets req_s in cur's totals, workers and sources from the counters of prev
 * (an earlier snapshot of the same segment). Rows without a counterpart
 * (for a worker: same slot and pid), or whose counters went backwards, get 0;
 * with no elapsed time, everything stays -1.
 */
void	stats_rates(const struct stats_snap *prev, struct stats_snap *cur);

/*
 * Quantile q (0 < q <= 1) of a latency histogram of nbuckets (layout.h
 * buckets), in microseconds: the upper bound of the bucket holding the
 * ceil(q * count)-th smallest value (so an over-estimate by at most one
 * quarter octave), the lower bound 2^28 for the overflow bucket, 0 for an
 * empty histogram.
 */
double	stats_percentile(const uint64_t *hist, uint32_t nbuckets, double q);

/* Bucket b's bounds in microseconds: [lower, upper). */
double	stats_bucket_lower(uint32_t b);
double	stats_bucket_upper(uint32_t b);

/* A balancer's configuration name ("round_robin", ...); "?" out of range. */
const char	*stats_lb_name(uint32_t balancer);

/* "up"/"down", "running"..., "connect"... for printing; never NULL. */
const char	*stats_worker_state_name(uint32_t state);

/* A worker row's state for printing: "stalled" when w->stalled, else its
 * state's name. Never NULL. */
const char	*stats_worker_state(const struct stats_worker *w);
const char	*stats_reason_name(uint32_t reason);

#endif
