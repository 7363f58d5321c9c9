/*
 * round_robin: smooth weighted round-robin over the usable sources, walked
 * by every worker through the route's one shared ticket in shm.
 */
#ifndef SLUICE_LB_RR_H
#define SLUICE_LB_RR_H

#include <stdint.h>

#include "worker/lb-t.h"

#define LB_RR_SCHED_MAX	1024	/* schedule entries per route, at most */

extern const struct lb_ops lb_rr_ops;

/*
 * Smooth weighted round-robin schedule, walked cyclically by a shared ticket:
 * out[t % len] is the source to use for ticket t. Built with nginx's smooth
 * step (add the weight, pick the largest current value, subtract the total)
 * applied as "heaviest source vs all the rest", then recursively inside the
 * positions of the rest; unlike one flat nginx cycle, whose wrap-around can
 * repeat the heaviest source (5:1:1 gives a a b a c a a, i.e. four a in a row
 * across the wrap), this bounds every run of the heaviest source, cyclically,
 * by ceil(w_max / (total - w_max)), the least any order can do: 5:1:1 gives
 * a b a a a c a. The price: a lighter source may wait up to ~2.5 times its
 * ideal interval (flat nginx: ~2 times, but heaviest-source bursts up to 2
 * longer than needed).
 * Weights: 0 = never picked. Weights are divided by their gcd; if their sum
 * still exceeds cap they are scaled down proportionally with every nonzero
 * weight kept >= 1. Each source i then appears exactly w'_i times.
 * Returns len (1..cap), or 0 if no weight is nonzero or more sources have
 * weight than cap can hold. This is the only place a schedule is built.
 */
uint32_t	lb_rr_sched_build(const uint32_t *weights, uint32_t n, uint32_t *out, uint32_t cap);

#endif
