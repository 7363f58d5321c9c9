/*
 * Pure balancer arithmetic over plain arrays, shared by the master (which
 * computes round-robin schedules into shm) and the workers (least-conn
 * choice, consistent-hash ring for ip_hash). No shm, libev or allocation.
 */
#ifndef SLUICE_LB_SCHED_H
#define SLUICE_LB_SCHED_H

#include <stddef.h>
#include <stdint.h>

#define LB_RING_VNODES	160	/* ring points per unit of weight (as nginx's hash consistent) */

/* One point of a consistent-hash ring: sorted by hash, then src. */
struct lb_ring_point {
	uint64_t	hash;
	uint32_t	src;		/* index into the caller's source arrays */
	uint32_t	pad;
};

/*
 * Smooth weighted round-robin schedule, walked cyclically by a shared ticket:
 * out[t % len] is the source to use for ticket t. Built with nginx's smooth
 * step (add the weight, pick the largest current value, subtract the total)
 * applied as "heaviest source vs all the rest", then recursively inside the
 * positions of the rest; unlike one flat nginx cycle, whose wrap-around can
 * repeat the heaviest source (5:1:1 gives a a b a c a a, i.e. four a in a row
 * across the wrap), this bounds every run of the heaviest source, cyclically,
 * by ceil(w_max / (total - w_max)), the least any order can do. The price:
 * a lighter source may wait up to ~2.5 times its ideal interval (flat nginx:
 * ~2 times, but heaviest-source bursts up to 2 longer than needed).
 * Weights: 0 = never picked. Weights are divided by their gcd; if their sum
 * still exceeds cap they are scaled down proportionally with every nonzero
 * weight kept >= 1. Each source i then appears exactly w'_i times.
 * Returns len (1..cap), or 0 if no weight is nonzero or more sources have
 * weight than cap can hold.
 */
uint32_t	lb_sched_build(const uint32_t *weights, uint32_t n, uint32_t *out, uint32_t cap);

/*
 * Least connections: the usable source (usable[i] != 0, weights[i] > 0) with
 * the fewest active requests per unit of weight (active[i] / weights[i],
 * compared by cross-multiplication; negative counts are taken as 0). Ties go
 * to the first one met scanning from index start % n upward, so a caller can
 * rotate start to spread ties. Returns the index, or -1 if none is usable.
 */
int	lb_pick_leastconn(const int64_t *active, const uint32_t *weights, const uint8_t *usable,
	    uint32_t n, uint32_t start);

/* Points lb_ring_build() produces for these weights with no cap: vnodes * sum. */
size_t	lb_ring_points(const uint32_t *weights, uint32_t n);

/*
 * Consistent-hash ring for ip_hash: LB_RING_VNODES points per unit of
 * weight for each source, at hashes of the source NAME and the point number,
 * so every worker and every reload builds the same ring whatever the order
 * of the sources. If that exceeds cap, each source gets its proportional
 * share of cap (at least one point). Returns the points written to pts,
 * sorted; 0 if n == 0, cap < n, or all weights are 0.
 */
uint32_t	lb_ring_build(const char *const *names, const uint32_t *weights, uint32_t n,
		    struct lb_ring_point *pts, uint32_t cap);

/*
 * The source for a client hash h: the first point at or after h clockwise
 * whose source is usable (usable[src] != 0), so a source going down moves
 * only its own clients to the next sources on the ring. Returns the source
 * index, or -1 if none is usable.
 */
int	lb_ring_pick(const struct lb_ring_point *pts, uint32_t npts, uint64_t h,
	    const uint8_t *usable);

/* A fixed, well-mixed 64-bit hash of len bytes (FNV-1a, then the murmur3
 * finalizer): the same in every process and every build. For client
 * addresses (4 or 16 bytes) and source names. */
uint64_t	lb_hash_addr(const void *addr, size_t len);

#endif
