/*
 * Writes a generation's sources and routes into the segment under its
 * seqlock. Balancing itself is the workers' (worker/lb*.c): the master only
 * publishes which source slots each route uses.
 */
#include "master/publish.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/conf.h"
#include "shm/shm.h"

void
publish_sizes(const struct conf *c, uint32_t *max_workers, uint32_t *max_sources,
    uint32_t *max_routes)
{
	/* Room for an old and a new generation side by side during a reload. */
	*max_workers = 2 * c->workers + 8;
	*max_sources = 2 * c->nsources + 32;
	*max_routes = 2 * (c->nroutes + 32);
	if (*max_workers > SHM_LIMIT_WORKERS)
		*max_workers = SHM_LIMIT_WORKERS;
	if (*max_sources > SHM_LIMIT_SOURCES)
		*max_sources = SHM_LIMIT_SOURCES;
	if (*max_routes > SHM_LIMIT_ROUTES)
		*max_routes = SHM_LIMIT_ROUTES;
}

int
publish_conf(struct shm_seg *seg, const struct conf *c, uint32_t route_base, uint32_t *src_slot,
    char *err, size_t errlen)
{
	uint32_t src[SHM_ROUTE_SOURCES];
	uint32_t i, j;
	int slot, rc = 0;

	if (route_base + c->nroutes > seg->max_routes) {
		snprintf(err, errlen, "%u routes do not fit the shared segment (room for %u); "
		    "restart sluice to grow it", c->nroutes, seg->max_routes - route_base);
		return -1;
	}
	shm_gen_begin(seg);
	shm_source_retire_all(seg);
	for (i = 0; i < c->nsources && rc == 0; i++) {
		const struct source_conf *s = &c->sources[i];

		slot = shm_source_bind(seg, s->name, s->addr.text, s->weight, s->max_fails,
		    (uint32_t)(s->fail_timeout * 1000), s->backup);
		if (slot < 0) {
			snprintf(err, errlen, "source %s: %s", s->name, errno == ENOSPC ?
			    "no free slot in the shared segment; restart sluice to grow it" :
			    "cannot be bound in the shared segment");
			rc = -1;
			break;
		}
		src_slot[i] = (uint32_t)slot;
		atomic_store_explicit(&shm_source(seg, (uint32_t)slot)->max_conns, s->max_conns,
		    memory_order_relaxed);
	}
	for (i = 0; i < c->nroutes && rc == 0; i++) {
		const struct route_conf *r = &c->routes[i];

		for (j = 0; j < r->nsources && j < SHM_ROUTE_SOURCES; j++)
			src[j] = src_slot[r->sources[j]];
		if (shm_route_set(seg, route_base + i, r->host,
		    r->path_regex[0] != '\0' ? r->path_regex : r->path,
		    r->path_regex[0] != '\0' ? SHM_RT_F_REGEX : 0, (uint32_t)r->balancer, src,
		    j) == -1) {
			snprintf(err, errlen, "route %u cannot be written to the shared segment", i);
			rc = -1;
		}
	}
	atomic_store_explicit(&seg->hdr->nworkers, c->workers, memory_order_relaxed);
	shm_gen_end(seg);
	return rc;
}
