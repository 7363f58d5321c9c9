/*
 * failover: the first usable source in the route's list order.
 */
#ifndef SLUICE_LB_FAILOVER_H
#define SLUICE_LB_FAILOVER_H

#include "worker/lb-t.h"

extern const struct lb_ops lb_failover_ops;

#endif
