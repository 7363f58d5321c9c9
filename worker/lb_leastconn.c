/*
 * least_conn: fewest requests in flight per weight, over all workers; each
 * worker rotates where ties start so equal sources share the load. During a
 * slow start the weights are the effective ones and a ramping source takes
 * its turn in a tie only for its share of the draws.
 */
#include "worker/lb_leastconn.h"

#include <stddef.h>

static int	leastconn_pick(struct lb_in *in);

const struct lb_ops lb_leastconn_ops = {
	.name = "least_conn",
	.flags = LB_F_ACTIVE,
	.init = NULL,
	.pick = leastconn_pick,
	.free = NULL,
};

int
lb_leastconn_choose(const int64_t *active, const uint32_t *weights, const uint8_t *usable,
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

int
lb_leastconn_choose_share(const int64_t *active, const uint32_t *weights,
    const uint32_t *share, const uint8_t *usable, uint32_t n, uint32_t draw)
{
	uint64_t a, best_a, total = 0, at;
	uint32_t best_w, i;
	int best = lb_leastconn_choose(active, weights, usable, n, 0);

	if (best == -1)
		return -1;
	best_a = active[best] <= 0 ? 0 : active[best] > INT32_MAX ? INT32_MAX :
	    (uint64_t)active[best];
	best_w = weights[best];
	/* The ties, each weighted by its share; then the one draw falls on. */
	for (i = 0; i < n; i++) {
		if (!usable[i] || weights[i] == 0)
			continue;
		a = active[i] <= 0 ? 0 : active[i] > INT32_MAX ? INT32_MAX : (uint64_t)active[i];
		if (a * best_w == best_a * weights[i])
			total += share[i];
	}
	at = (uint64_t)draw * total / LB_SHARE_ONE;
	for (i = 0; i < n; i++) {
		if (!usable[i] || weights[i] == 0)
			continue;
		a = active[i] <= 0 ? 0 : active[i] > INT32_MAX ? INT32_MAX : (uint64_t)active[i];
		if (a * best_w != best_a * weights[i])
			continue;
		if (at < share[i])
			return (int)i;
		at -= share[i];
	}
	return best;
}

static int
leastconn_pick(struct lb_in *in)
{
	uint64_t seq = 0;

	if (in->n == 0 || in->active == NULL)
		return -1;
	if (in->rotor != NULL)
		seq = (*in->rotor)++;
	if (in->share != NULL)
		return lb_leastconn_choose_share(in->active, in->weight, in->share, in->usable,
		    in->n, lb_draw(seq));
	return lb_leastconn_choose(in->active, in->weight, in->usable, in->n,
	    (uint32_t)(seq % in->n));
}
