/*
 * Balancer arithmetic: round-robin schedules, least-conn choice and the
 * consistent-hash ring. Pure functions over caller-provided arrays.
 */
#include "worker/lb_sched.h"

#include <stdlib.h>
#include <string.h>

#define FNV_OFFSET	UINT64_C(0xcbf29ce484222325)
#define FNV_PRIME	UINT64_C(0x100000001b3)
#define UNSET		UINT32_MAX

static uint32_t	gcd(uint32_t a, uint32_t b);
static uint32_t	scaled(uint32_t w, uint32_t budget, uint64_t total);
static uint64_t	fnv1a(uint64_t h, const void *p, size_t len);
static uint64_t	fmix64(uint64_t h);
static int	point_cmp(const void *a, const void *b);
static uint64_t	point_hash(const char *name, uint32_t k);

static uint32_t
gcd(uint32_t a, uint32_t b)
{
	while (b != 0) {
		uint32_t t = a % b;

		a = b;
		b = t;
	}
	return a;
}

/* w's share of budget (total = sum of weights), at least 1 unless w is 0. */
static uint32_t
scaled(uint32_t w, uint32_t budget, uint64_t total)
{
	uint64_t v;

	if (w == 0)
		return 0;
	v = (uint64_t)w * budget / total;
	return v == 0 ? 1 : (uint32_t)v;
}

uint32_t
lb_sched_build(const uint32_t *weights, uint32_t n, uint32_t *out, uint32_t cap)
{
	uint64_t total = 0, sum;
	uint32_t i, g, budget, len, left, pos, nz = 0;
	uint32_t prev_w = 0, prev_i = 0;
	int first = 1;

	for (i = 0; i < n; i++) {
		total += weights[i];
		nz += weights[i] != 0;
	}
	if (nz == 0 || nz > cap)
		return 0;

	/* Weights w'_i = scaled(w_i, budget, total): the largest budget whose
	 * sum fits cap. The sum only grows with the budget and is nz <= cap at
	 * budget 0, so stepping down by the excess ends. */
	budget = total > cap ? cap : (uint32_t)total;
	for (;;) {
		sum = 0;
		for (i = 0; i < n; i++)
			sum += scaled(weights[i], budget, total);
		if (sum <= cap)
			break;
		budget -= (uint32_t)(sum - cap) < budget ? (uint32_t)(sum - cap) : budget;
	}
	g = 0;
	for (i = 0; i < n; i++)
		g = gcd(g, scaled(weights[i], budget, total));
	len = (uint32_t)(sum / g);

	for (pos = 0; pos < len; pos++)
		out[pos] = UNSET;
	/*
	 * Sources from the heaviest down (ties: lower index first). Each one
	 * takes its share of the positions still unset, chosen by nginx's
	 * two-way smooth step between it (weight m) and the rest (weight
	 * left - m); the rest share the remaining positions the same way.
	 */
	left = len;
	while (left > 0) {
		uint32_t best = UINT32_MAX, bw = 0, m;
		int64_t cur_h = 0, cur_o = 0;

		for (i = 0; i < n; i++) {
			uint32_t w = scaled(weights[i], budget, total) / g;

			if (w == 0)
				continue;
			/* strictly after (prev_w, prev_i) in (weight desc, index asc) order */
			if (!first && (w > prev_w || (w == prev_w && i <= prev_i)))
				continue;
			if (best == UINT32_MAX || w > bw) {
				best = i;
				bw = w;
			}
		}
		m = bw;
		for (pos = 0; pos < len; pos++) {
			if (out[pos] != UNSET)
				continue;
			cur_h += m;
			cur_o += left - m;
			if (cur_h >= cur_o) {	/* tie: the heavier side, as nginx's first max */
				out[pos] = best;
				cur_h -= left;
			} else {
				cur_o -= left;
			}
		}
		left -= m;
		prev_w = bw;
		prev_i = best;
		first = 0;
	}
	return len;
}

int
lb_pick_leastconn(const int64_t *active, const uint32_t *weights, const uint8_t *usable,
    uint32_t n, uint32_t start)
{
	uint64_t best_a = 0, a;
	uint32_t best_w = 0, k, i;
	int best = -1;

	for (k = 0; k < n; k++) {
		i = (uint32_t)(((uint64_t)start + k) % n);
		if (!usable[i] || weights[i] == 0)
			continue;
		/* Clamped to 31 bits, the products below fit in 63. */
		a = active[i] <= 0 ? 0 : active[i] > INT32_MAX ? INT32_MAX : (uint64_t)active[i];
		if (best == -1 || a * best_w < best_a * weights[i]) {
			best = (int)i;
			best_a = a;
			best_w = weights[i];
		}
	}
	return best;
}

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
lb_hash_addr(const void *addr, size_t len)
{
	return fmix64(fnv1a(FNV_OFFSET, addr, len));
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
lb_ring_points(const uint32_t *weights, uint32_t n)
{
	size_t sum = 0;
	uint32_t i;

	for (i = 0; i < n; i++)
		sum += weights[i];
	return sum * LB_RING_VNODES;
}

uint32_t
lb_ring_build(const char *const *names, const uint32_t *weights, uint32_t n,
    struct lb_ring_point *pts, uint32_t cap)
{
	uint64_t want = lb_ring_points(weights, n), np;
	uint32_t i, k, npts = 0;

	if (n == 0 || cap < n || want == 0)
		return 0;
	for (i = 0; i < n; i++) {
		if (weights[i] == 0)
			continue;
		np = (uint64_t)weights[i] * LB_RING_VNODES;
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
lb_ring_pick(const struct lb_ring_point *pts, uint32_t npts, uint64_t h, const uint8_t *usable)
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
