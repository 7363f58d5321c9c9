/*
 * least_conn: fewest requests in flight per weight, over all workers; each
 * worker rotates where ties start so equal sources share the load.
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

static int
leastconn_pick(struct lb_in *in)
{
	uint32_t start = 0;

	if (in->n == 0 || in->active == NULL)
		return -1;
	if (in->rotor != NULL)
		start = (uint32_t)((*in->rotor)++ % in->n);
	return lb_leastconn_choose(in->active, in->weight, in->usable, in->n, start);
}
