/*
 * Cluster-wide request rate limits (routes[].rate_limit): one table of GCRA
 * cells in a shared anonymous mapping that the master makes before the
 * workers fork, so every worker counts against the same cell for a (route,
 * client address) key. Atomics only, no lock a dying worker could keep.
 *
 * A cell holds its key and its theoretical arrival time (TAT, in
 * microseconds of CLOCK_MONOTONIC). A request at t passes if
 * max(TAT, t) - t <= burst * T (T = 1 / rate), and then TAT becomes
 * max(TAT, t) + T, by compare-and-swap. So `burst` requests may come at once,
 * then one every T: over s seconds at most rate * s + burst + 1 pass.
 *
 * The table is fixed (RL_CELLS); a key looks at RL_PROBE cells from its
 * hash. When all are taken by other keys, the one whose TAT is oldest (the
 * key that would be allowed anything again soonest) is recycled, and the
 * eviction is counted. A race between two recyclings of one cell can give a
 * key a fresh cell (a few requests more, never fewer); that is the price of
 * no lock.
 */
#ifndef SLUICE_RATELIMIT_H
#define SLUICE_RATELIMIT_H

#include <stdint.h>

#define RL_CELLS	65536		/* 1 MiB of cells */
#define RL_PROBE	8

/* Master, before forking workers: the shared table. 0, or -1 with errno. */
int	ratelimit_open(void);

/*
 * Worker: one request for key (hash of route and client) at now_us. Returns 0
 * if it passes, else the microseconds until one would (> 0). *evicted is set
 * to 1 if a cell of another key was recycled for this one.
 */
uint64_t ratelimit_take(uint64_t key, uint64_t now_us, double rate, uint32_t burst,
	    int *evicted);

/* The key of a route index and a 16-byte client address (never 0). */
uint64_t ratelimit_key(uint32_t route, const uint8_t addr[16]);

#endif
