/*
 * failover: the first usable source in list order, so traffic stays on one
 * source until it fails (backups still wait for every primary: lb.c).
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

static int
failover_pick(struct lb_in *in)
{
	uint32_t i;

	for (i = 0; i < in->n; i++)
		if (in->usable[i])
			return (int)i;
	return -1;
}
