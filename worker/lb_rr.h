/*
 * Weighted smooth round-robin over a route's sources (per worker for now),
 * with per-worker passive health: max_fails failures within fail_timeout
 * take a source out for fail_timeout.
 */
#ifndef SLUICE_LB_RR_H
#define SLUICE_LB_RR_H

#include <stdint.h>

#include <ev.h>

struct route_rt;
struct conf;

struct source_rt {
	uint32_t	fails;		/* failures in the current window */
	ev_tstamp	window_start;
	ev_tstamp	down_until;	/* 0 = up */
};

/*
 * Picks a route source index (into route->conf->sources), skipping sources
 * in the tried mask (bit i = route source i) and sources that are down;
 * backups only when no primary is usable. When every untried source is
 * down, an untried one is picked anyway (nginx does the same).
 * Returns -1 when every source was tried.
 */
int	lb_rr_pick(struct route_rt *r, struct source_rt *src, uint64_t tried, ev_tstamp now);

/* Passive health: a connect/response failure or a success for source idx. */
void	lb_source_failed(const struct conf *c, struct source_rt *src, uint32_t idx, ev_tstamp now);
void	lb_source_ok(struct source_rt *src, uint32_t idx);

#endif
