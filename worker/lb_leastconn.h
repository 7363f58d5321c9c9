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

/*
 * The same during a slow start: weights are the effective ones, and share[i]
 * (LB_SHARE_MIN..LB_SHARE_ONE) is each source's share of its weight. Among
 * the sources tied for the fewest active per weight, each owns a slice of
 * 0..LB_SHARE_ONE-1 as wide as its share (scaled to fill it), in index
 * order, and draw (0..LB_SHARE_ONE-1, lb_draw()) picks the slice: with no
 * load at all, a ramping source still gets only its share of the requests.
 * Returns the index, or -1 if none is usable.
 */
int	lb_leastconn_choose_share(const int64_t *active, const uint32_t *weights,
	    const uint32_t *share, const uint8_t *usable, uint32_t n, uint32_t draw);

#endif
