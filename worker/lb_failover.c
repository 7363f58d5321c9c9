/*
 * failover: the first usable source in list order, so traffic stays on one
 * source until it fails (backups still wait for every primary: lb.c); one
 * in a slow start takes its share and passes the rest down the list.
 */
#include "worker/lb_failover.h"

#include <stddef.h>

static int	failover_pick(struct lb_in *in);

const struct lb_ops lb_failover_ops = {
	.name = "failover",
	.flags = 0,
	.init = NULL,
	.pick = failover_pick,
	.free = NULL,
};

int
lb_failover_choose(const uint8_t *usable, const uint32_t *share, uint32_t n, uint32_t draw)
{
	uint32_t i;
	int last = -1;

	for (i = 0; i < n; i++) {
		if (!usable[i])
			continue;
		last = (int)i;
		if (share == NULL || draw < share[i])
			return (int)i;
		/* Turned away: the rest of the draw's range goes on down the list. */
		draw = (uint32_t)((uint64_t)(draw - share[i]) * LB_SHARE_ONE /
		    (LB_SHARE_ONE - share[i]));
	}
	return last;	/* the last usable source ramps too: it takes the rest */
}

static int
failover_pick(struct lb_in *in)
{
	uint32_t draw = 0;

	if (in->share != NULL && in->rotor != NULL)
		draw = lb_draw((*in->rotor)++);
	return lb_failover_choose(in->usable, in->share, in->n, draw);
}
