/*
 * failover: the first usable source in the route's list order.
 */
#ifndef SLUICE_LB_FAILOVER_H
#define SLUICE_LB_FAILOVER_H

#include <stdint.h>

#include "worker/lb-t.h"

extern const struct lb_ops lb_failover_ops;

/*
 * The first usable source (usable[i] != 0) in list order. During a slow
 * start (share non-NULL: share[i] is source i's share of its weight,
 * LB_SHARE_MIN..LB_SHARE_ONE) a ramping source takes the request only if
 * draw (0..LB_SHARE_ONE-1, lb_draw()) is below its share, i.e. for that
 * share of the draws, and passes the others on to the next usable source;
 * the last usable source takes what is left. Returns the index, or -1 if
 * none is usable.
 */
int	lb_failover_choose(const uint8_t *usable, const uint32_t *share, uint32_t n,
	    uint32_t draw);

#endif
