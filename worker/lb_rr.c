/*
 * round_robin: every worker builds the same smooth weighted schedule for the
 * same usable set (cached per route until the set changes), and the route's
 * one shared ticket in shm walks it, so shares stay exact across workers
 * without a lock, and a down source or an idle backup skews no one. During
 * a slow start the schedule follows the effective weights, rebuilt at most
 * every RAMP_REBUILD_MS, so the workers' schedules differ for that long.
 */
#include "worker/lb_rr.h"

#include <stdlib.h>

#include "shm/shm.h"
#include "worker/route.h"

#define UNSET		UINT32_MAX
#define RAMP_REBUILD_MS	100	/* a ramp's schedule is rebuilt this often, at most */

static uint32_t	gcd(uint32_t a, uint32_t b);
static uint32_t	scaled(uint32_t w, uint32_t budget, uint64_t total);
static void	fill(const uint32_t *weights, uint32_t n, uint32_t budget, uint64_t total,
		    uint32_t g, uint32_t *out, uint32_t len);
static int	rr_init(struct route_rt *r, const char *const *names, const uint32_t *weights,
		    uint32_t n);
static int	rr_pick(struct lb_in *in);
static void	rr_free(struct route_rt *r);

_Static_assert(LB_MAX_SOURCES <= 256, "schedule entries are uint8_t route positions");

const struct lb_ops lb_rr_ops = {
	.name = "round_robin",
	.flags = 0,
	.init = rr_init,
	.pick = rr_pick,
	.free = rr_free,
};

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

/*
 * Sources from the heaviest down (ties: lower index first). Each one takes
 * its share of the positions still unset, chosen by nginx's two-way smooth
 * step between it (weight m) and the rest (weight left - m); the rest share
 * the remaining positions the same way.
 */
static void
fill(const uint32_t *weights, uint32_t n, uint32_t budget, uint64_t total, uint32_t g,
    uint32_t *out, uint32_t len)
{
	uint32_t i, pos, left = len, prev_w = 0, prev_i = 0;
	int first = 1;

	for (pos = 0; pos < len; pos++)
		out[pos] = UNSET;
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
}

uint32_t
lb_rr_sched_build(const uint32_t *weights, uint32_t n, uint32_t *out, uint32_t cap)
{
	uint64_t total = 0, sum;
	uint32_t i, g, budget, nz = 0;

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
	fill(weights, n, budget, total, g, out, (uint32_t)(sum / g));
	return (uint32_t)(sum / g);
}

/* Room for the schedule of any usable subset at any point of a slow start:
 * with effective weights its length is bounded by the cap only. */
static int
rr_init(struct route_rt *r, const char *const *names, const uint32_t *weights, uint32_t n)
{
	(void)names;
	(void)weights;
	(void)n;
	r->rr_sched = malloc(LB_RR_SCHED_MAX);
	r->rr_len = 0;
	r->rr_mask = 0;
	r->rr_ramp_ms = 0;
	return r->rr_sched == NULL ? -1 : 0;
}

static int
rr_pick(struct lb_in *in)
{
	struct route_rt *r = in->r;
	uint32_t wt[LB_MAX_SOURCES], map[LB_MAX_SOURCES], sched[LB_RR_SCHED_MAX];
	uint64_t mask = 0;
	uint32_t i, m = 0, len;
	int stale;

	for (i = 0; i < in->n; i++)
		if (in->usable[i]) {
			mask |= UINT64_C(1) << i;
			map[m] = i;
			wt[m++] = in->weight[i];
		}
	if (m == 0)
		return -1;
	if (r->rr_sched == NULL)
		return (int)map[0];	/* never initialized: still answer */
	stale = r->rr_mask != mask || r->rr_len == 0;
	/* Slow start, or the schedule of one just over: the only extra test. */
	if (in->share != NULL || r->rr_ramp_ms != 0)
		stale |= in->share == NULL || r->rr_ramp_ms == 0 ||
		    in->now_ms - r->rr_ramp_ms >= RAMP_REBUILD_MS;
	if (stale) {
		/* Effective weights are weight x share: their common factors
		 * first, or the cap's scaling rounds 1000:250 off 4:1. */
		if (in->share != NULL) {
			uint32_t g = 0;

			for (i = 0; i < m; i++)
				g = gcd(g, wt[i]);
			for (i = 0; g > 1 && i < m; i++)
				wt[i] /= g;
		}
		len = lb_rr_sched_build(wt, m, sched, LB_RR_SCHED_MAX);
		for (i = 0; i < len; i++)
			r->rr_sched[i] = (uint8_t)map[sched[i]];
		r->rr_len = len;
		r->rr_mask = mask;
		r->rr_ramp_ms = in->share == NULL ? 0 : in->now_ms != 0 ? in->now_ms : 1;
	}
	if (r->rr_len == 0)
		return (int)map[0];
	return r->rr_sched[shm_route_ticket(in->sr) % r->rr_len];
}

static void
rr_free(struct route_rt *r)
{
	free(r->rr_sched);
	r->rr_sched = NULL;
	r->rr_len = 0;
	r->rr_mask = 0;
	r->rr_ramp_ms = 0;
}
