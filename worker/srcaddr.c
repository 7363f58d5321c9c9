/*
 * Source addresses as the worker connects to them (see srcaddr.h). Until
 * live DNS lands, every source is where the configuration put it.
 */
#include "worker/srcaddr.h"

#include <stddef.h>

#include "common/conf.h"
#include "worker/worker-t.h"

int
srcaddr_init(struct worker *w)
{
	w->sa = NULL;
	return 0;
}

void
srcaddr_free(struct worker *w)
{
	w->sa = NULL;
}

const struct addr_conf *
srcaddr_get(struct worker *w, uint32_t src_idx, uint32_t *gen)
{
	*gen = 0;
	return &w->conf->sources[src_idx].addr;
}

int
srcaddr_stale(struct worker *w, uint32_t src_idx, uint32_t gen)
{
	(void)w;
	(void)src_idx;
	(void)gen;
	return 0;
}
