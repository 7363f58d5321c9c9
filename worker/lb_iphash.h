/*
 * ip_hash: consistent hashing of the client address over a ring of the
 * source names, identical in every worker and across reloads; a source
 * going down moves only its own clients.
 */
#ifndef SLUICE_LB_IPHASH_H
#define SLUICE_LB_IPHASH_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "worker/lb-t.h"

/* Ring points per unit of weight, as nginx's "hash ... consistent". */
#define LB_IPHASH_VNODES	160

/* One point of a consistent-hash ring: sorted by hash, then src. */
struct lb_ring_point {
	uint64_t	hash;
	uint32_t	src;		/* index into the caller's source arrays */
	uint32_t	pad;
};

extern const struct lb_ops lb_iphash_ops;

/* Points lb_iphash_ring_build() makes for these weights with no cap: vnodes * sum. */
size_t		lb_iphash_ring_points(const uint32_t *weights, uint32_t n);

/*
 * Consistent-hash ring: LB_IPHASH_VNODES points per unit of weight for each
 * source, at hashes of the source NAME and the point number, so every
 * worker and every reload builds the same ring whatever the order of the
 * sources. If that exceeds cap, each source gets its proportional share of
 * cap (at least one point). Returns the points written to pts, sorted; 0 if
 * n == 0, cap < n, or all weights are 0.
 */
uint32_t	lb_iphash_ring_build(const char *const *names, const uint32_t *weights,
		    uint32_t n, struct lb_ring_point *pts, uint32_t cap);

/*
 * The source for a client hash h: the first point at or after h clockwise
 * whose source is usable (usable[src] != 0), so a source going down moves
 * only its own clients to the next sources on the ring. Returns the source
 * index, or -1 if none is usable.
 */
int		lb_iphash_ring_pick(const struct lb_ring_point *pts, uint32_t npts, uint64_t h,
		    const uint8_t *usable);

/*
 * Slow start: the ring pick for client hash h, where share[i]
 * (LB_SHARE_MIN..LB_SHARE_ONE) is source i's share of its weight (n
 * entries; NULL: no slow start, as lb_iphash_ring_pick()). A client whose
 * source is ramping stays on it only if lb_iphash_draw(h, src) < its share,
 * so the same clients do at every pick and their number grows with the
 * share; the others go on clockwise to the next usable source, as if it
 * were down (and are tested again if that one ramps too). If every usable
 * source turns the client away, it keeps its own. Returns the source index,
 * or -1 if none is usable.
 */
int		lb_iphash_ring_pick_share(const struct lb_ring_point *pts, uint32_t npts,
		    uint64_t h, const uint8_t *usable, const uint32_t *share, uint32_t n);

/* A client's draw for source src, 0..LB_SHARE_ONE-1: fixed for (h, src) and
 * independent of where h falls on the ring. */
uint32_t	lb_iphash_draw(uint64_t h, uint32_t src);

/* A fixed, well-mixed 64-bit hash of len bytes (FNV-1a, then the murmur3
 * finalizer): the same in every process and every build. */
uint64_t	lb_iphash_hash(const void *p, size_t len);

/* The hash of a client: its IPv4 or IPv6 address (port ignored); 0 for
 * NULL or any other family (unix sockets: every client on one source). */
uint64_t	lb_iphash_peer(const struct sockaddr *peer);

#endif
