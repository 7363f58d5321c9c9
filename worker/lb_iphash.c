/*
 * ip_hash: a consistent-hash ring of the source names per route, built once
 * per worker (the same ring in every worker), and the client's address
 * hashed onto it; unusable sources are passed over clockwise, and so are
 * sources in a slow start for the clients beyond their share.
 */
#include "worker/lb_iphash.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "worker/route.h"

#define FNV_OFFSET	UINT64_C(0xcbf29ce484222325)
#define FNV_PRIME	UINT64_C(0x100000001b3)

static uint64_t	fnv1a(uint64_t h, const void *p, size_t len);
static uint64_t	fmix64(uint64_t h);
static int	point_cmp(const void *a, const void *b);
static uint64_t	point_hash(const char *name, uint32_t k);
static int	iphash_init(struct route_rt *r, const char *const *names, const uint32_t *weights,
		    uint32_t n);
static int	iphash_pick(struct lb_in *in);
static void	iphash_free(struct route_rt *r);

const struct lb_ops lb_iphash_ops = {
	.name = "ip_hash",
	.flags = 0,
	.init = iphash_init,
	.pick = iphash_pick,
	.free = iphash_free,
};

static uint64_t
fnv1a(uint64_t h, const void *p, size_t len)
{
	const unsigned char *c = p;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= c[i];
		h *= FNV_PRIME;
	}
	return h;
}

/* murmur3's 64-bit finalizer: every input bit flips each output bit ~1/2. */
static uint64_t
fmix64(uint64_t h)
{
	h ^= h >> 33;
	h *= UINT64_C(0xff51afd7ed558ccd);
	h ^= h >> 33;
	h *= UINT64_C(0xc4ceb9fe1a85ec53);
	h ^= h >> 33;
	return h;
}

uint64_t
lb_iphash_hash(const void *p, size_t len)
{
	return fmix64(fnv1a(FNV_OFFSET, p, len));
}

uint64_t
lb_iphash_peer(const struct sockaddr *peer)
{
	const void *sa = peer;

	if (peer == NULL)
		return 0;
	if (peer->sa_family == AF_INET)
		return lb_iphash_hash(&((const struct sockaddr_in *)sa)->sin_addr, 4);
	if (peer->sa_family == AF_INET6)
		return lb_iphash_hash(&((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
	return 0;
}

/* Point k of source name: hash of the name, a NUL, and k little-endian. */
static uint64_t
point_hash(const char *name, uint32_t k)
{
	unsigned char kb[5] = { 0, (unsigned char)k, (unsigned char)(k >> 8),
	    (unsigned char)(k >> 16), (unsigned char)(k >> 24) };
	uint64_t h = fnv1a(FNV_OFFSET, name, strlen(name));

	return fmix64(fnv1a(h, kb, sizeof(kb)));
}

static int
point_cmp(const void *a, const void *b)
{
	const struct lb_ring_point *x = a, *y = b;

	if (x->hash != y->hash)
		return x->hash < y->hash ? -1 : 1;
	return x->src < y->src ? -1 : x->src > y->src;
}

size_t
lb_iphash_ring_points(const uint32_t *weights, uint32_t n)
{
	size_t sum = 0;
	uint32_t i;

	for (i = 0; i < n; i++)
		sum += weights[i];
	return sum * LB_IPHASH_VNODES;
}

uint32_t
lb_iphash_ring_build(const char *const *names, const uint32_t *weights, uint32_t n,
    struct lb_ring_point *pts, uint32_t cap)
{
	uint64_t want = lb_iphash_ring_points(weights, n), np;
	uint32_t i, k, npts = 0;

	if (n == 0 || cap < n || want == 0)
		return 0;
	for (i = 0; i < n; i++) {
		if (weights[i] == 0)
			continue;
		np = (uint64_t)weights[i] * LB_IPHASH_VNODES;
		if (want > cap) {
			/* floor of the share: the sum stays <= cap - (points rounded up) */
			np = np * (cap - n) / want;
			if (np == 0)
				np = 1;
		}
		for (k = 0; k < np && npts < cap; k++) {
			pts[npts].hash = point_hash(names[i], k);
			pts[npts].src = i;
			pts[npts].pad = 0;
			npts++;
		}
	}
	qsort(pts, npts, sizeof(*pts), point_cmp);
	return npts;
}

int
lb_iphash_ring_pick(const struct lb_ring_point *pts, uint32_t npts, uint64_t h,
    const uint8_t *usable)
{
	uint32_t lo = 0, hi = npts, k, i;

	if (npts == 0)
		return -1;
	/* first point with hash >= h; past the last one wraps to 0 */
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (pts[mid].hash < h)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (k = 0; k < npts; k++) {
		i = (lo + k) % npts;
		if (usable[pts[i].src])
			return (int)pts[i].src;
	}
	return -1;
}

static int
iphash_init(struct route_rt *r, const char *const *names, const uint32_t *weights, uint32_t n)
{
	size_t npts = lb_iphash_ring_points(weights, n);

	r->nring = 0;
	r->ring = calloc(npts > 0 ? npts : 1, sizeof(*r->ring));
	if (r->ring == NULL)
		return -1;
	r->nring = lb_iphash_ring_build(names, weights, n, r->ring, (uint32_t)npts);
	return 0;
}

uint32_t
lb_iphash_draw(uint64_t h, uint32_t src)
{
	return (uint32_t)(fmix64(h ^ (UINT64_C(0x9e3779b97f4a7c15) * (src + 1))) % LB_SHARE_ONE);
}

int
lb_iphash_ring_pick_share(const struct lb_ring_point *pts, uint32_t npts, uint64_t h,
    const uint8_t *usable, const uint32_t *share, uint32_t n)
{
	uint8_t ok[LB_MAX_SOURCES];
	uint32_t k;
	int first, pick;

	first = pick = lb_iphash_ring_pick(pts, npts, h, usable);
	if (share == NULL || n > LB_MAX_SOURCES)
		return first;
	memcpy(ok, usable, n);
	/* Each pass takes out one ramping source that turned this client away. */
	for (k = 0; k < n && pick >= 0; k++) {
		if (lb_iphash_draw(h, (uint32_t)pick) < share[pick])
			return pick;
		ok[pick] = 0;
		pick = lb_iphash_ring_pick(pts, npts, h, ok);
	}
	return first;	/* every usable source turned it away: its own one */
}

static int
iphash_pick(struct lb_in *in)
{
	if (in->share != NULL)
		return lb_iphash_ring_pick_share(in->r->ring, in->r->nring,
		    lb_iphash_peer(in->peer), in->usable, in->share, in->n);
	return lb_iphash_ring_pick(in->r->ring, in->r->nring, lb_iphash_peer(in->peer),
	    in->usable);
}

static void
iphash_free(struct route_rt *r)
{
	free(r->ring);
	r->ring = NULL;
	r->nring = 0;
}
