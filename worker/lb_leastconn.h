/*
 * least_conn: the usable source with the fewest requests in flight per unit
 * of weight, counted across all workers (shm_source.active).
 */
#ifndef SLUICE_LB_LEASTCONN_H
#define SLUICE_LB_LEASTCONN_H

#include <stdint.h>

#include "worker/lb-t.h"

extern const struct lb_ops lb_leastconn_ops;

/*
 * The usable source (usable[i] != 0, weights[i] > 0) with the fewest active
 * requests per unit of weight (active[i] / weights[i], compared by
 * cross-multiplication; negative counts are taken as 0). Ties go to the
 * first one met scanning from index start % n upward, so a caller can
 * rotate start to spread ties. Returns the index, or -1 if none is usable.
 */
int	lb_leastconn_choose(const int64_t *active, const uint32_t *weights,
	    const uint8_t *usable, uint32_t n, uint32_t start);

#endif
